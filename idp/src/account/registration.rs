//! Self-registration (the seed's "Registering for the Customer Portal"): the form
//! with the business-only e-mail policy, the confirmation link and its resend. The
//! operator's decision is [`crate::account::approval`].
//!
//! Every state change and the mail it causes are written in one transaction (the
//! outbox), so a registration never fails or loses its mail because SMTP is down.

use std::collections::BTreeMap;

use minijinja::context;
use serde::Serialize;

use crate::crypto;
use crate::db::registrations::{self, RegistrationRow, RegistrationStatus};
use crate::db::users::{self};
use crate::db::{audit, is_unique_violation, outbox};
use crate::error::Internal;
use crate::outbox::mail;
use crate::policy::email::NormalizedEmail;
use crate::policy::text::{is_phone, text_field_error};
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
) -> Result<(), Internal> {
    let now = state.clock.now();
    let email = valid.email.as_str().to_owned();
    let mut tx = state.db.begin().await?;
    // An unconfirmed registration is replaced by the newer one (its link stops
    // working): whoever owns the mailbox confirms what they submitted, and nobody can
    // squat an address by registering it first with made-up data.
    let open = registrations::find_open_by_email(&mut *tx, &email).await?;
    if open
        .as_ref()
        .is_some_and(|r| r.status == RegistrationStatus::Unconfirmed)
    {
        registrations::supersede_unconfirmed(&mut *tx, &email, now).await?;
    }
    let known = users::login_exists(&mut *tx, &email).await?
        || open
            .as_ref()
            .is_some_and(|r| r.status == RegistrationStatus::Pending);
    let inserted = !known && insert_unconfirmed(&mut tx, state, &valid, lang, now).await?;
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

/// Stores `valid` as an unconfirmed registration with a fresh confirmation link and
/// queues the link's mail, inside the caller's transaction. `false` (nothing
/// stored) when a concurrent registration of the address won.
async fn insert_unconfirmed(
    tx: &mut sqlx::AnyConnection,
    state: &AppState,
    valid: &ValidRegistration,
    lang: &str,
    now: i64,
) -> Result<bool, Internal> {
    let token = crypto::random_token(32);
    let email = valid.email.as_str();
    let f = &valid.form;
    let row = RegistrationRow {
        id: crypto::random_id(),
        email: email.to_owned(),
        given_name: f.given_name.clone(),
        family_name: f.family_name.clone(),
        company_name: f.company.clone(),
        country: f.country.clone(),
        job_title: non_empty(&f.job_title),
        phone: non_empty(&f.phone),
        locale: lang.to_owned(),
        status: RegistrationStatus::Unconfirmed,
        created_at: now,
        confirmed_at: None,
        decided_at: None,
        decided_by: None,
        reason: None,
    };
    let expires = now + state.config.registration.confirmation_seconds;
    // In a savepoint: on PostgreSQL a failed statement aborts the transaction, and
    // the caller's notice must still be queued in it.
    let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
    match registrations::insert(
        &mut *savepoint,
        &row,
        &crypto::sha256_b64(token.as_bytes()),
        expires,
    )
    .await
    {
        Ok(()) => savepoint.commit().await?,
        // A concurrent registration won: the caller sends the notice.
        Err(e) if is_unique_violation(&e) => {
            savepoint.rollback().await?;
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    }
    let mail = mail::render(
        "confirm",
        lang,
        // To a not yet confirmed address: nothing the registrant typed.
        context! {
            link => state.config.url(&format!("/register/confirm?token={token}")),
            hours => state.config.registration.confirmation_seconds / 3600,
        },
    )?;
    outbox::enqueue(&mut *tx, &mail.to(email), now).await?;
    Ok(true)
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
pub async fn resend(state: &AppState, raw_email: &str) -> Result<(), Internal> {
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
pub async fn token_is_valid(state: &AppState, token: &str) -> sqlx::Result<bool> {
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
pub async fn confirm(state: &AppState, token: &str) -> sqlx::Result<Option<RegistrationRow>> {
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
