//! The end user's pages: login, registration, passwords and the profile.

use serde::Serialize;

use super::{FieldErrors, Page, PageBase};
use crate::account::registration::{RegistrationForm, REQUIRED};
use crate::account::support::SupportInfo;
use crate::ui::i18n;

pub(super) fn some_errors(pairs: &[(&'static str, &'static str)]) -> FieldErrors {
    pairs.iter().copied().collect()
}

/// `login.html`.
#[derive(Debug, Clone, Serialize)]
pub struct LoginPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// The pending authorization request.
    pub request_id: Option<String>,
    /// Where to go after a login without an authorization request (a local path).
    pub return_to: Option<String>,
    /// The name typed (or the request's login_hint).
    pub username: String,
    /// The relying party the login continues to.
    pub client_name: Option<String>,
    /// The failure, in words.
    pub error: Option<String>,
    /// A notice, in words.
    pub notice: Option<String>,
    /// The fields' problems.
    pub errors: FieldErrors,
}

impl Page for LoginPage {
    const TEMPLATE: &'static str = "login.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let plain = Self {
            base: PageBase::sample(lang, "login.title"),
            request_id: None,
            return_to: None,
            username: String::new(),
            client_name: None,
            error: None,
            notice: None,
            errors: FieldErrors::new(),
        };
        let full = Self {
            request_id: Some("req-1".into()),
            return_to: Some("/profile".into()),
            username: "jane".into(),
            client_name: Some("Portal".into()),
            error: Some(i18n::text(lang, "login.failed", &[])),
            notice: Some(i18n::text(lang, "login.password_changed", &[])),
            errors: some_errors(&[("username", "form.required"), ("form", "form.unreadable")]),
            ..plain.clone()
        };
        vec![plain, full]
    }
}

/// A country option of the registration form.
#[derive(Debug, Clone, Serialize)]
pub struct Country {
    /// ISO 3166-1 alpha-2.
    pub code: &'static str,
    /// English name.
    pub name: &'static str,
}

/// `register.html`: the form, with a message per field and what is still required.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// What was typed.
    pub form: RegistrationForm,
    /// The fields' problems.
    pub errors: FieldErrors,
    /// The required fields, in form order.
    pub required: &'static [&'static str],
    /// The required fields still empty.
    pub missing: Vec<&'static str>,
    /// The country options.
    pub countries: Vec<Country>,
    /// The pending authorization request.
    pub request_id: Option<String>,
}

impl RegisterPage {
    /// The page for `form` (missing fields and countries filled in).
    pub fn new(base: PageBase, form: RegistrationForm, errors: FieldErrors) -> Self {
        let mut countries: Vec<Country> = isocountry::CountryCode::iter()
            .map(|c| Country {
                code: c.alpha2(),
                name: c.name(),
            })
            .collect();
        countries.sort_by(|a, b| a.name.cmp(b.name));
        Self {
            base,
            missing: form.missing(),
            form,
            errors,
            required: REQUIRED,
            countries,
            request_id: None,
        }
    }
}

impl Page for RegisterPage {
    const TEMPLATE: &'static str = "register.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let empty = Self::new(
            PageBase::sample(lang, "register.title"),
            RegistrationForm::default(),
            FieldErrors::new(),
        );
        let form = RegistrationForm {
            given_name: "Jane".into(),
            family_name: "Doe".into(),
            email: "jane@gmail.example".into(),
            company: "ACME".into(),
            country: "DE".into(),
            job_title: "Buyer".into(),
            phone: "+49 30 1234".into(),
            terms: true,
        };
        let mut filled = Self::new(
            PageBase::sample(lang, "register.title"),
            form,
            some_errors(&[("email", "email.free_mail"), ("form", "form.unreadable")]),
        );
        filled.request_id = Some("req-1".into());
        vec![empty, filled]
    }
}

/// `register_sent.html`: "check your mailbox".
#[derive(Debug, Clone, Serialize)]
pub struct RegisterSentPage {
    /// Language and title.
    #[serde(flatten)]
    pub base: PageBase,
    /// What was sent where, in words.
    pub message: String,
    /// Offer to send the link again.
    pub show_resend: bool,
}

impl Page for RegisterSentPage {
    const TEMPLATE: &'static str = "register_sent.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        [true, false]
            .into_iter()
            .map(|show_resend| Self {
                base: PageBase::sample(lang, "register.sent_title"),
                message: i18n::text(lang, "register.sent", &[("email", "jane@acme.example")]),
                show_resend,
            })
            .collect()
    }
}

/// `register_confirm.html`: ask to confirm (`ask`), `done` or `invalid`.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterConfirmPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// `ask`, `done` or `invalid`.
    pub state: &'static str,
    /// The link's token (for `ask`).
    pub token: Option<String>,
}

impl Page for RegisterConfirmPage {
    const TEMPLATE: &'static str = "register_confirm.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        ["ask", "done", "invalid"]
            .into_iter()
            .map(|state| Self {
                base: PageBase::sample(lang, "confirm.title"),
                state,
                token: (state == "ask").then(|| "token".to_owned()),
            })
            .collect()
    }
}

/// `register_resend.html`: send the confirmation link again.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterResendPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// The address typed.
    pub email: String,
    /// The fields' problems.
    pub errors: FieldErrors,
}

impl Page for RegisterResendPage {
    const TEMPLATE: &'static str = "register_resend.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        vec![
            Self {
                base: PageBase::sample(lang, "resend.title"),
                email: String::new(),
                errors: FieldErrors::new(),
            },
            Self {
                base: PageBase::sample(lang, "resend.title"),
                email: "nope".into(),
                errors: some_errors(&[("email", "email.syntax"), ("form", "form.unreadable")]),
            },
        ]
    }
}

/// The user shown on [`ProfilePage`].
#[derive(Debug, Clone, Serialize)]
pub struct ProfileUser {
    /// Display name.
    pub name: String,
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// The company's name.
    pub company: Option<String>,
    /// Roles.
    pub roles: Vec<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// The chosen language (the page's if none).
    pub locale: String,
    /// The time zone (UTC if none).
    pub zoneinfo: String,
    /// Analytics consent.
    pub analytics: bool,
    /// A provider operator.
    pub operator: bool,
    /// A Super Admin of the company (links Users and Activity).
    pub super_admin: bool,
}

/// One signed-in browser on [`ProfilePage`].
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    /// The session id (to end it).
    pub sid: String,
    /// Browser and OS, in words.
    pub browser: String,
    /// The address it signed in from.
    pub ip: String,
    /// Last seen, local time.
    pub last_seen: String,
    /// Signed in, local time.
    pub signed_in: String,
    /// This browser.
    pub current: bool,
}

/// `profile.html`.
#[derive(Debug, Clone, Serialize)]
pub struct ProfilePage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// The user.
    pub user: ProfileUser,
    /// The languages to choose from.
    pub languages: &'static [&'static str],
    /// The time zones to choose from.
    pub time_zones: Vec<&'static str>,
    /// The user's signed-in browsers.
    pub sessions: Vec<SessionView>,
    /// Support information (phone-support levels only).
    pub support: Option<SupportInfo>,
    /// A notice, in words.
    pub notice: Option<String>,
}

impl ProfilePage {
    /// Every IANA time zone name.
    pub fn time_zones() -> Vec<&'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect()
    }
}

impl Page for ProfilePage {
    const TEMPLATE: &'static str = "profile.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let user = ProfileUser {
            name: "Jane Doe".into(),
            username: "jane".into(),
            email: "jane@acme.example".into(),
            company: None,
            roles: Vec::new(),
            job_title: None,
            phone: None,
            locale: lang.into(),
            zoneinfo: "UTC".into(),
            analytics: false,
            operator: false,
            super_admin: true,
        };
        let session = |sid: &str, current| SessionView {
            sid: sid.into(),
            browser: "Firefox 133 · Linux".into(),
            ip: "203.0.113.7".into(),
            last_seen: "2026-12-01 10:00".into(),
            signed_in: "2026-12-01 09:00".into(),
            current,
        };
        let plain = Self {
            base: PageBase::sample(lang, "profile.title"),
            user: user.clone(),
            languages: i18n::LANGUAGES,
            time_zones: vec!["UTC", "Europe/Berlin"],
            sessions: vec![session("s1", true)],
            support: None,
            notice: None,
        };
        let full = Self {
            user: ProfileUser {
                company: Some("ACME".into()),
                roles: vec!["super_admin".into()],
                job_title: Some("Buyer".into()),
                phone: Some("+49 30 1234".into()),
                zoneinfo: "Europe/Berlin".into(),
                analytics: true,
                operator: true,
                super_admin: false,
                ..user
            },
            sessions: vec![session("s1", true), session("s2", false)],
            support: Some(SupportInfo {
                level: crate::account::support::SupportLevel::Plus,
                region: Some("EMEA".into()),
                phone: Some("+49 800 1234".into()),
                pin: "1234".into(),
            }),
            notice: Some(i18n::text(lang, "profile.saved", &[])),
            ..plain.clone()
        };
        vec![plain, full]
    }
}
