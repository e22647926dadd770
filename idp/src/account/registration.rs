//! Customer onboarding (the seed's "Registering for the Customer Portal"):
//! registration with the business-only e-mail policy, confirmation link, operator
//! approval or rejection, and the one-time password that must be replaced at the
//! first login.
//!
//! Every state change and the mail it causes are written in one transaction (the
//! outbox), so a registration never fails or loses its mail because SMTP is down.

use std::collections::BTreeMap;

use minijinja::context;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization as _;

use crate::crypto;
use crate::db::registrations::{self, RegistrationRow};
use crate::db::users::{self, UserRow};
use crate::db::{audit, companies, is_unique_violation, outbox};
use crate::outbox::mail;
use crate::policy::email::NormalizedEmail;
use crate::state::AppState;

/// Raw form input of the registration page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegistrationForm {
    /// Given name (required).
    pub given_name: String,
    /// Family name (required).
    pub family_name: String,
    /// Business e-mail (required).
    pub email: String,
    /// Company (required).
    pub company: String,
    /// ISO 3166-1 alpha-2 country (required).
    pub country: String,
    /// Job title (optional).
    pub job_title: String,
    /// Phone (optional).
    pub phone: String,
    /// Terms accepted (required).
    pub terms: bool,
}

/// Every field of the form.
pub const FIELDS: &[&str] = &[
    "given_name",
    "family_name",
    "email",
    "company",
    "country",
    "job_title",
    "phone",
    "terms",
];

/// The required fields, in form order.
pub const REQUIRED: &[&str] = &[
    "given_name",
    "family_name",
    "email",
    "company",
    "country",
    "terms",
];

/// A registration that passed validation.
#[derive(Debug, Clone)]
pub struct ValidRegistration {
    form: RegistrationForm,
    email: NormalizedEmail,
}

/// Field → i18n message key of what is wrong with it.
pub type FieldErrors = BTreeMap<&'static str, &'static str>;

impl RegistrationForm {
    /// The required fields still empty (the summary beside the form).
    pub fn missing(&self) -> Vec<&'static str> {
        REQUIRED
            .iter()
            .copied()
            .filter(|f| match *f {
                "given_name" => self.given_name.trim().is_empty(),
                "family_name" => self.family_name.trim().is_empty(),
                "email" => self.email.trim().is_empty(),
                "company" => self.company.trim().is_empty(),
                "country" => self.country.trim().is_empty(),
                "terms" => !self.terms,
                _ => false,
            })
            .collect()
    }

    /// Validates every field and applies the e-mail policy.
    ///
    /// # Errors
    /// The message key per offending field (missing fields included).
    pub fn validate(mut self, state: &AppState) -> Result<ValidRegistration, FieldErrors> {
        let mut errors = FieldErrors::new();
        for field in self.missing() {
            errors.insert(field, "form.required");
        }
        // The e-mail domain first: a company name may contain its own domain.
        let email = match state.email_policy.check(&self.email) {
            Ok(email) => Some(email),
            Err(rejection) => {
                if !self.email.trim().is_empty() {
                    errors.insert("email", rejection.message_key());
                }
                None
            }
        };
        let own_domain = email.as_ref().map(NormalizedEmail::domain);
        for (field, value) in [
            ("given_name", &mut self.given_name),
            ("family_name", &mut self.family_name),
            ("company", &mut self.company),
            ("job_title", &mut self.job_title),
        ] {
            *value = value.trim().to_owned();
            if let Some(key) = text_field_error(field, value, own_domain) {
                errors.insert(field, key);
            }
        }
        self.phone = self.phone.trim().to_owned();
        if !self.phone.is_empty() && !is_phone(&self.phone) {
            errors.insert("phone", "form.phone");
        }
        self.country = self.country.trim().to_ascii_uppercase();
        if !self.country.is_empty() && isocountry::CountryCode::for_alpha2(&self.country).is_err() {
            errors.insert("country", "form.country");
        }
        match email {
            Some(email) if errors.is_empty() => Ok(ValidRegistration { form: self, email }),
            _ => Err(errors),
        }
    }
}

/// What is wrong with the trimmed value of a free-text field (`given_name`,
/// `family_name`, `company` or `job_title`), as an i18n key; `None` when it is fine
/// (an empty value included: required fields are checked apart).
///
/// The rules (the same for self-registration and for users an operator creates):
/// at most 100 characters (company 200); letters, marks, spaces and `-'.` (company
/// and job title also digits and `&,()/+`); and no web or e-mail address
/// ([`contains_url_like`]), because these fields reach operators and mails. A
/// company name may contain `own_domain`, the registrant's e-mail domain or a
/// parent of it ("Booking.com" from an address at booking.com).
pub fn text_field_error(
    field: &str,
    value: &str,
    own_domain: Option<&str>,
) -> Option<&'static str> {
    let (max, name) = match field {
        "given_name" | "family_name" => (100, true),
        "company" => (200, false),
        _ => (100, false),
    };
    let own_domain = own_domain.filter(|_| field == "company");
    if value.chars().count() > max {
        Some("form.too_long")
    } else if value.is_empty() {
        None
    } else if contains_url_like(value, own_domain) {
        Some("form.url_like")
    } else if !is_plain_text(value, name) {
        Some("form.invalid_characters")
    } else {
        None
    }
}

/// IDN full stops (RFC 3490 §3.1) that browsers and mail clients read as `.`.
const DOTS: [char; 4] = ['.', '\u{3002}', '\u{FF0E}', '\u{FF61}'];

/// Whether `value`, after NFKC, contains something a reader or a mail client takes
/// for a web or e-mail address: `://`, `@`, a word starting with `www.`, or a
/// domain-like run: two or more labels of letters, digits and inner hyphens joined
/// by a dot (also `。．｡`), the last of them with at least two letters
/// ("evil-phish.example", "bit.ly"). Initials and abbreviations stay valid
/// ("J. R. R. Tolkien", "St. John", "B.V.", "e.V.", "Co. KG", "Ph.D.").
///
/// A run that is `allowed_domain` or a parent domain of it (compared in A-label
/// spelling) does not count.
pub fn contains_url_like(value: &str, allowed_domain: Option<&str>) -> bool {
    let text: String = value
        .nfkc()
        .flat_map(char::to_lowercase)
        .map(|c| if DOTS.contains(&c) { '.' } else { c })
        .collect();
    if text.contains("://") || text.contains('@') {
        return true;
    }
    let is_word_char = |c: char| {
        c.is_alphanumeric()
            || c == '-'
            || c == '.'
            || unicode_normalization::char::is_combining_mark(c)
    };
    text.split(|c: char| !is_word_char(c)).any(|word| {
        word.starts_with("www.")
            || domain_runs(word)
                .any(|run| !allowed_domain.is_some_and(|own| is_domain_or_parent(&run, own)))
    })
}

/// The domain-like runs of a word: maximal sequences of at least two valid labels in
/// which some label after the first has two or more letters.
fn domain_runs(word: &str) -> impl Iterator<Item = String> + '_ {
    let is_label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| {
                c.is_alphanumeric() || c == '-' || unicode_normalization::char::is_combining_mark(c)
            })
    };
    let letters = |l: &str| l.chars().filter(|c| c.is_alphabetic()).count();
    let mut runs = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for label in word.split('.').chain(std::iter::once("")) {
        if is_label(label) {
            run.push(label);
            continue;
        }
        if run.len() >= 2 && run[1..].iter().any(|l| letters(l) >= 2) {
            runs.push(run.join("."));
        }
        run.clear();
    }
    runs.into_iter()
}

/// Whether `run` names `domain` or one of its parents (`booking.com` for
/// `eu.booking.com`), compared in A-label spelling.
fn is_domain_or_parent(run: &str, domain: &str) -> bool {
    let Ok(run) = idna::domain_to_ascii(run) else {
        return false;
    };
    domain == run || domain.ends_with(&format!(".{run}"))
}

/// Letters (any script), marks, spaces and `-'.` for names; for company and job
/// title also digits and `&,()/+`. No markup, no control or invisible characters.
fn is_plain_text(value: &str, name: bool) -> bool {
    value.chars().all(|c| {
        c.is_alphabetic()
            || c == ' '
            || matches!(c, '-' | '\'' | '.' | '’')
            || (!name && (c.is_ascii_digit() || matches!(c, '&' | ',' | '(' | ')' | '/' | '+')))
            || unicode_normalization::char::is_combining_mark(c)
    })
}

/// `+`, digits, spaces and `()-/`, with 5 to 20 digits.
fn is_phone(value: &str) -> bool {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    value.len() <= 32
        && (5..=20).contains(&digits)
        && value.chars().enumerate().all(|(i, c)| {
            c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-' | '/') || (c == '+' && i == 0)
        })
}

/// Registers: stores an unconfirmed registration (replacing an older unconfirmed one
/// for the address) and queues its confirmation mail; or, when the address already
/// has an account or a confirmed registration waiting for approval, queues a short
/// notice to that address instead. The caller shows the same page either way.
///
/// # Errors
/// Database or template failures.
pub async fn register(
    state: &AppState,
    valid: ValidRegistration,
    lang: &str,
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let email = valid.email.as_str().to_owned();
    let token = crypto::random_token(32);
    let mut tx = state.db.begin().await?;
    // An unconfirmed registration is replaced by the newer one (its link stops
    // working): whoever owns the mailbox confirms what they submitted, and nobody can
    // squat an address by registering it first with made-up data.
    let open = registrations::find_open_by_email(&mut *tx, &email).await?;
    if open.as_ref().is_some_and(|r| r.status == "unconfirmed") {
        registrations::supersede_unconfirmed(&mut *tx, &email, now).await?;
    }
    let known = users::login_exists(&mut *tx, &email).await?
        || open.as_ref().is_some_and(|r| r.status == "pending");
    let mut inserted = false;
    if !known {
        let f = &valid.form;
        let row = RegistrationRow {
            id: crypto::random_id(),
            email: email.clone(),
            given_name: f.given_name.clone(),
            family_name: f.family_name.clone(),
            company_name: f.company.clone(),
            country: f.country.clone(),
            job_title: non_empty(&f.job_title),
            phone: non_empty(&f.phone),
            locale: lang.to_owned(),
            status: "unconfirmed".into(),
            created_at: now,
            confirmed_at: None,
            decided_at: None,
            decided_by: None,
            reason: None,
        };
        let expires = now + state.config.registration.confirmation_seconds;
        // In a savepoint: on PostgreSQL a failed statement aborts the transaction, and
        // the notice below must still be queued in it.
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
        match registrations::insert(
            &mut *savepoint,
            &row,
            &crypto::sha256_b64(token.as_bytes()),
            expires,
        )
        .await
        {
            Ok(()) => {
                savepoint.commit().await?;
                inserted = true;
            }
            // A concurrent registration won: send the notice.
            Err(e) if is_unique_violation(&e) => savepoint.rollback().await?,
            Err(e) => return Err(e.into()),
        }
        if inserted {
            let mail = mail::render(
                "confirm",
                lang,
                // To a not yet confirmed address: nothing the registrant typed.
                context! {
                    link => state.config.url(&format!("/register/confirm?token={token}")),
                    hours => state.config.registration.confirmation_seconds / 3600,
                },
            )?;
            outbox::enqueue(&mut *tx, &mail.to(&email), now).await?;
        }
    }
    if !inserted {
        let mail = mail::render(
            "already_registered",
            lang,
            context! { login => state.config.portal_login_url() },
        )?;
        outbox::enqueue(&mut *tx, &mail.to(&email), now).await?;
    }
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(())
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Sends a new confirmation link (voiding the old one) if `raw_email` has an
/// unconfirmed registration; does nothing visible otherwise.
///
/// # Errors
/// Database or template failures.
pub async fn resend(state: &AppState, raw_email: &str) -> anyhow::Result<()> {
    let Ok(email) = crate::policy::email::normalize(raw_email) else {
        return Ok(());
    };
    let now = state.clock.now();
    let token = crypto::random_token(32);
    let expires = now + state.config.registration.confirmation_seconds;
    let mut tx = state.db.begin().await?;
    if let Some(row) = registrations::renew_token(
        &mut *tx,
        email.as_str(),
        &crypto::sha256_b64(token.as_bytes()),
        expires,
    )
    .await?
    {
        let mail = mail::render(
            "confirm",
            &row.locale,
            // To a not yet confirmed address: nothing the registrant typed.
            context! {
                link => state.config.url(&format!("/register/confirm?token={token}")),
                hours => state.config.registration.confirmation_seconds / 3600,
            },
        )?;
        outbox::enqueue(&mut *tx, &mail.to(&row.email), now).await?;
    }
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(())
}

/// Whether a confirmation token is currently valid (for the GET page; does not
/// consume it).
///
/// # Errors
/// Database failures.
pub async fn token_is_valid(state: &AppState, token: &str) -> anyhow::Result<bool> {
    Ok(registrations::find_by_token(
        &state.db,
        &crypto::sha256_b64(token.as_bytes()),
        state.clock.now(),
    )
    .await?
    .is_some())
}

/// Confirms the address of the registration with `token`: single use, within its
/// lifetime. `None` when the token is unknown, used or expired.
///
/// # Errors
/// Database failures.
pub async fn confirm(state: &AppState, token: &str) -> anyhow::Result<Option<RegistrationRow>> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let row = registrations::confirm(&mut *tx, &crypto::sha256_b64(token.as_bytes()), now).await?;
    if let Some(r) = &row {
        audit::record(
            &mut *tx,
            now,
            &format!("registrant:{}", r.email),
            "registration.confirmed",
            &r.id,
            &serde_json::json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// Why a decision could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// No such registration, or it is not waiting for a decision.
    #[error("the registration is not pending (unknown, unconfirmed or already decided)")]
    NotPending,
    /// An account with the address exists already.
    #[error("an account with this e-mail address already exists")]
    AccountExists,
    /// Any other failure.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for DecisionError {
    fn from(e: sqlx::Error) -> Self {
        DecisionError::Internal(e.into())
    }
}

/// The outcome of an approval.
#[derive(Debug, Clone, Serialize)]
pub struct Approved {
    /// The new user's subject.
    pub user_id: String,
    /// The username (the e-mail address).
    pub username: String,
    /// The company.
    pub company_id: String,
    /// Whether the company was created now (the user is then its Super Admin).
    pub new_company: bool,
}

/// Characters of one-time passwords: no look-alikes (0/O, 1/l/I).
const OTP_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// A one-time password: 16 characters from a 57-symbol alphabet (≈ 93 bits),
/// grouped in fours for reading.
pub fn one_time_password() -> String {
    let bytes = crypto::random_bytes(64);
    let chars: Vec<char> = bytes
        .iter()
        .filter(|b| usize::from(**b) < OTP_ALPHABET.len() * (256 / OTP_ALPHABET.len()))
        .map(|b| char::from(OTP_ALPHABET[usize::from(*b) % OTP_ALPHABET.len()]))
        .take(16)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Approves a pending registration: creates the user (username = e-mail address),
/// and the company if its domain is new (the user then becomes its Super Admin),
/// sets a one-time password valid `registration.one_time_password_seconds`, records
/// the decision, and queues the welcome mail — all in one transaction.
///
/// # Errors
/// [`DecisionError`].
pub async fn approve(state: &AppState, id: &str, actor: &str) -> Result<Approved, DecisionError> {
    let otp = one_time_password();
    let otp_hash = state.passwords.hash(&otp).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let reg = registrations::decide(&mut *tx, id, "approved", actor, None, now)
        .await?
        .ok_or(DecisionError::NotPending)?;
    if users::login_exists(&mut *tx, &reg.email).await? {
        return Err(DecisionError::AccountExists);
    }
    let domain = reg
        .email
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or_default()
        .to_owned();
    let (company, new_company) = match companies::find_by_domain(&mut *tx, &domain).await? {
        Some(c) => (c, false),
        None => {
            let c = companies::CompanyRow::new(&reg.company_name, &domain, Some(&reg.country), now);
            companies::insert(&mut *tx, &c).await?;
            (c, true)
        }
    };
    let mut user = UserRow::new(
        crypto::random_id(),
        reg.email.clone(),
        reg.email.clone(),
        now,
    );
    user.email_verified = 1;
    user.given_name = reg.given_name.clone();
    user.family_name = reg.family_name.clone();
    user.locale = Some(reg.locale.clone());
    user.company_id = Some(company.id.clone());
    user.roles = if new_company {
        r#"["super_admin"]"#
    } else {
        "[]"
    }
    .into();
    user.password_hash = Some(otp_hash);
    user.must_change_password = 1;
    user.password_expires_at = Some(now + state.config.registration.one_time_password_seconds);
    user.job_title = reg.job_title.clone();
    user.phone = reg.phone.clone();
    user.country = Some(reg.country.clone());
    users::insert(&mut *tx, &user).await.map_err(|e| match e {
        users::InsertUserError::Exists => DecisionError::AccountExists,
        users::InsertUserError::Db(e) => e.into(),
    })?;
    audit::record(
        &mut *tx,
        now,
        actor,
        "registration.approved",
        &reg.id,
        &serde_json::json!({ "user": user.id, "company": company.id, "new_company": new_company }),
    )
    .await?;
    let mail = mail::render(
        "approved",
        &reg.locale,
        context! {
            name => reg.given_name,
            username => user.username,
            password => otp,
            hours => state.config.registration.one_time_password_seconds / 3600,
            login => state.config.portal_login_url(),
            super_admin => new_company,
            company => company.name,
        },
    )?;
    outbox::enqueue(&mut *tx, &mail.to(&reg.email), now).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(Approved {
        user_id: user.id,
        username: user.username,
        company_id: company.id,
        new_company,
    })
}

/// Rejects a pending registration with a reason, which is mailed to the registrant.
///
/// # Errors
/// [`DecisionError::NotPending`], or internal failures.
pub async fn reject(
    state: &AppState,
    id: &str,
    actor: &str,
    reason: &str,
) -> Result<(), DecisionError> {
    let reason = reason.trim();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let reg = registrations::decide(&mut *tx, id, "rejected", actor, Some(reason), now)
        .await?
        .ok_or(DecisionError::NotPending)?;
    audit::record(
        &mut *tx,
        now,
        actor,
        "registration.rejected",
        &reg.id,
        &serde_json::json!({ "reason": reason }),
    )
    .await?;
    let mail = mail::render(
        "rejected",
        &reg.locale,
        context! { name => reg.given_name, reason => reason },
    )?;
    outbox::enqueue(&mut *tx, &mail.to(&reg.email), now).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_are_long_and_unambiguous() {
        let a = one_time_password();
        assert_eq!(a.len(), 19, "{a}");
        assert_ne!(a, one_time_password());
        assert!(a
            .chars()
            .all(|c| c == '-' || OTP_ALPHABET.contains(&(c as u8))));
    }

    #[test]
    fn field_rules() {
        assert!(is_plain_text("Anne-Marie O'Neil", true));
        assert!(is_plain_text("Jürgen Müller", true));
        assert!(is_plain_text("李小龍", true));
        assert!(!is_plain_text("<script>alert(1)</script>", true));
        assert!(!is_plain_text("Robert'); DROP TABLE", true));
        assert!(!is_plain_text("Eve\u{202E}", true));
        assert!(is_plain_text("ACME Industries (EMEA) & Co", false));
        assert!(is_phone("+49 (421) 123-456"));
        assert!(!is_phone("call me"));
        assert!(!is_phone("12+345678"));
    }

    /// Item 9 of issue 8: free-text fields refuse web and e-mail addresses.
    #[test]
    fn url_like_runs_are_refused_and_initials_are_not() {
        for bad in [
            "Visit www.evil-phish.example now",
            "evil-phish.example",
            "bit.ly",
            "See bit.ly/x",
            "https://evil.example",
            "hxxp://evil",
            "mail me@evil.example",
            "Jane @ ACME",
            "WWW.EVIL",
            "www.1",
            "ｗｗｗ．ｅｖｉｌ．ｃｏｍ",
            "evil。example",
            "evil．example",
            "evil｡example",
            "пример.рф",
            "münchen.de",
            "x.example.c",
            "sub.evil-phish.example",
        ] {
            assert!(contains_url_like(bad, None), "{bad:?} must be refused");
        }
        for good in [
            "J. R. R. Tolkien",
            "St. John",
            "ACME B.V.",
            "Verein e.V.",
            "Müller GmbH & Co. KG",
            "Jane Ph.D.",
            "U.S.A.",
            "Anne-Marie O'Neil",
            "Dipl.-Ing. (FH)",
            "Version 2.0",
            "李小龍",
        ] {
            assert!(!contains_url_like(good, None), "{good:?} must stay valid");
        }
        // A company may carry its own e-mail domain, in either spelling.
        assert!(!contains_url_like("Booking.com", Some("booking.com")));
        assert!(!contains_url_like("Booking.com", Some("eu.booking.com")));
        assert!(!contains_url_like("Müller.de", Some("xn--mller-kva.de")));
        assert!(contains_url_like("Booking.com", Some("acme.com")));
        assert!(contains_url_like(
            "Booking.com.evil.example",
            Some("booking.com")
        ));
        assert!(contains_url_like("kbooking.com", Some("booking.com")));
        assert_eq!(
            text_field_error("company", "Booking.com", Some("booking.com")),
            None
        );
        assert_eq!(
            text_field_error("given_name", "Booking.com", Some("booking.com")),
            Some("form.url_like"),
            "only the company may name its domain"
        );
        assert_eq!(
            text_field_error("job_title", "CTO at www.evil.example", None),
            Some("form.url_like")
        );
        assert_eq!(
            text_field_error("family_name", &"x".repeat(101), None),
            Some("form.too_long")
        );
        assert_eq!(text_field_error("company", "", None), None);
    }
}
