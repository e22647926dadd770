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

use crate::crypto;
use crate::db::registrations::{self, RegistrationRow};
use crate::db::users::{self, UserRow};
use crate::db::{audit, companies, is_unique_violation, outbox};
use crate::email_policy::NormalizedEmail;
use crate::mail;
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
        for (field, value, max) in [
            ("given_name", &mut self.given_name, 100),
            ("family_name", &mut self.family_name, 100),
            ("company", &mut self.company, 200),
            ("job_title", &mut self.job_title, 100),
        ] {
            *value = value.trim().to_owned();
            if value.chars().count() > max {
                errors.insert(field, "form.too_long");
            } else if !value.is_empty()
                && !is_plain_text(value, field != "company" && field != "job_title")
            {
                errors.insert(field, "form.invalid_characters");
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
        let email = match state.email_policy.check(&self.email) {
            Ok(email) => Some(email),
            Err(rejection) => {
                if !self.email.trim().is_empty() {
                    errors.insert("email", rejection.message_key());
                }
                None
            }
        };
        match email {
            Some(email) if errors.is_empty() => Ok(ValidRegistration { form: self, email }),
            _ => Err(errors),
        }
    }
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
                context! {
                    name => f.given_name,
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
    let Ok(email) = crate::email_policy::normalize(raw_email) else {
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
            context! {
                name => row.given_name,
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
}
