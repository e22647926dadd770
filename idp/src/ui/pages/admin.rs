//! The operator's pages: the approval queue, companies, the support-PIN check, the
//! signing keys.

use serde::Serialize;

use super::account::some_errors;
use super::{FieldErrors, Page, PageBase};
use crate::account::support::LEVELS;
use crate::ui::i18n;

/// One registration of [`QueuePage`].
#[derive(Debug, Clone, Serialize)]
pub struct QueueRow {
    /// Registration id.
    pub id: String,
    /// Hours since it was confirmed.
    pub age_hours: i64,
    /// Given and family name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Job title.
    pub job_title: Option<String>,
    /// Company name as typed.
    pub company: String,
    /// Country code.
    pub country: String,
    /// The address's domain.
    pub domain: String,
    /// A company with that domain exists already.
    pub company_exists: bool,
}

/// `admin_registrations.html`: the approval queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueuePage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// The operator's login name.
    pub operator: String,
    /// Confirmed registrations waiting, oldest first.
    pub pending: Vec<QueueRow>,
    /// The outcome of the last decision, in words.
    pub notice: Option<String>,
    /// Why the last decision failed, in words.
    pub error: Option<String>,
}

impl Page for QueuePage {
    const TEMPLATE: &'static str = "admin_registrations.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let row = |company_exists, job_title: Option<&str>| QueueRow {
            id: "reg-1".into(),
            age_hours: 3,
            name: "Jane Doe".into(),
            email: "jane@acme.example".into(),
            job_title: job_title.map(str::to_owned),
            company: "ACME".into(),
            country: "DE".into(),
            domain: "acme.example".into(),
            company_exists,
        };
        let empty = Self {
            base: PageBase::sample(lang, "admin.title"),
            operator: "op".into(),
            pending: Vec::new(),
            notice: None,
            error: None,
        };
        let full = Self {
            pending: vec![row(true, Some("Buyer")), row(false, None)],
            notice: Some(i18n::text(
                lang,
                "admin.approved",
                &[("email", "a@b.example")],
            )),
            error: Some(i18n::text(lang, "admin.not_pending", &[])),
            ..empty.clone()
        };
        vec![empty, full]
    }
}

/// A company of [`CompaniesPage`].
#[derive(Debug, Clone, Serialize)]
pub struct CompanyView {
    /// Name.
    pub name: String,
    /// E-mail domain.
    pub domain: String,
    /// Support level.
    pub level: String,
    /// Support region.
    pub region: Option<String>,
    /// Number of users.
    pub users: i64,
}

/// `admin_companies.html`: companies with their support level and region.
#[derive(Debug, Clone, Serialize)]
pub struct CompaniesPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// The operator's login name.
    pub operator: String,
    /// The companies.
    pub companies: Vec<CompanyView>,
    /// The support levels to choose from.
    pub levels: [&'static str; 4],
    /// The configured regions.
    pub regions: Vec<String>,
    /// "Saved", in words.
    pub notice: Option<String>,
}

impl Page for CompaniesPage {
    const TEMPLATE: &'static str = "admin_companies.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let company = |region: Option<&str>| CompanyView {
            name: "ACME".into(),
            domain: "acme.example".into(),
            level: "plus".into(),
            region: region.map(str::to_owned),
            users: 2,
        };
        let empty = Self {
            base: PageBase::sample(lang, "admin_companies.title"),
            operator: "op".into(),
            companies: Vec::new(),
            levels: LEVELS,
            regions: Vec::new(),
            notice: None,
        };
        let full = Self {
            companies: vec![company(Some("EMEA")), company(None)],
            regions: vec!["EMEA".into(), "AMER".into()],
            notice: Some(i18n::text(
                lang,
                "admin_companies.saved",
                &[("domain", "acme.example")],
            )),
            ..empty.clone()
        };
        vec![empty, full]
    }
}

/// `admin_support.html`: the support-PIN check.
#[derive(Debug, Clone, Serialize)]
pub struct SupportPinPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// The address typed (kept after a field error only).
    pub email: String,
    /// The match, in words.
    pub notice: Option<String>,
    /// No match or throttled, in words.
    pub error: Option<String>,
    /// The fields' problems.
    pub errors: FieldErrors,
}

impl Page for SupportPinPage {
    const TEMPLATE: &'static str = "admin_support.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let empty = Self {
            base: PageBase::sample(lang, "admin_support.title"),
            email: String::new(),
            notice: None,
            error: None,
            errors: FieldErrors::new(),
        };
        let full = Self {
            email: "jane@acme.example".into(),
            notice: Some(i18n::text(
                lang,
                "admin_support.match",
                &[("email", "a@b.example")],
            )),
            error: Some(i18n::text(lang, "admin_support.no_match", &[])),
            errors: some_errors(&[
                ("pin", "admin_support.pin_format"),
                ("form", "form.unreadable"),
            ]),
            ..empty.clone()
        };
        vec![empty, full]
    }
}

/// A signing key of [`AdminKeysPage`], its times in words (UTC).
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// `next`, `active`, `retired` or `removed` (the template translates it).
    pub state: &'static str,
    /// Created.
    pub created: String,
    /// Signs from.
    pub activates: String,
    /// Stops signing, once a successor exists.
    pub retires: Option<String>,
    /// Leaves the JWKS, once a successor exists.
    pub removes: Option<String>,
}

/// The keys of one algorithm of [`AdminKeysPage`].
#[derive(Debug, Clone, Serialize)]
pub struct KeyGroup {
    /// The JOSE algorithm (`RS256`, `ES256`, `EdDSA`).
    pub alg: &'static str,
    /// Its keys, in activation order.
    pub keys: Vec<KeyView>,
}

/// `admin_keys.html`: the signing keys per algorithm, their rotation and emergency
/// revocation.
#[derive(Debug, Clone, Serialize)]
pub struct AdminKeysPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// The operator's login name.
    pub operator: String,
    /// One group per algorithm.
    pub groups: Vec<KeyGroup>,
    /// The JWKS `Cache-Control` max-age, in words.
    pub jwks_cache: String,
    /// How long a new key is published before it signs, in words.
    pub publish_delay: String,
    /// How long a retired key stays published, in words.
    pub retain: String,
    /// The outcome of the last action, in words.
    pub notice: Option<String>,
    /// Why the last action was refused, in words.
    pub error: Option<String>,
}

impl Page for AdminKeysPage {
    const TEMPLATE: &'static str = "admin_keys.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let key = |state, retires: Option<&str>| KeyView {
            kid: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into(),
            state,
            created: "2026-01-01 10:00:00 UTC".into(),
            activates: "2026-01-01 10:08:00 UTC".into(),
            retires: retires.map(str::to_owned),
            removes: retires.map(|_| "2026-04-02 11:00:00 UTC".to_owned()),
        };
        let empty = Self {
            base: PageBase::sample(lang, "admin_keys.title"),
            operator: "op".into(),
            groups: Vec::new(),
            jwks_cache: "300 s".into(),
            publish_delay: "480 s".into(),
            retain: "3960 s".into(),
            notice: None,
            error: None,
        };
        let full = Self {
            groups: vec![
                KeyGroup {
                    alg: "RS256",
                    keys: vec![
                        key("removed", Some("2026-01-01 10:08:00 UTC")),
                        key("retired", Some("2026-04-01 10:08:00 UTC")),
                        key("active", None),
                        key("next", None),
                    ],
                },
                KeyGroup {
                    alg: "EdDSA",
                    keys: Vec::new(),
                },
            ],
            notice: Some(i18n::text(
                lang,
                "admin_keys.rotated",
                &[("alg", "RS256"), ("kid", "k1"), ("at", "2026-01-01")],
            )),
            error: Some(i18n::text(lang, "admin_keys.reauthenticate", &[])),
            ..empty.clone()
        };
        vec![empty, full]
    }
}
