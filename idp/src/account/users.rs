//! Users an operator creates (the CLI and the tests); self-registered users come
//! from [`crate::account::approval`]. No printing here; callers present the results.

use crate::crypto;
use crate::crypto::password_hash::{self, Passwords};
use crate::db::companies;
use crate::db::users::{self, InsertUserError, Role, User};
use crate::db::Db;
use crate::error::{internal_from, Internal};
use crate::policy::email::{self, EmailRejection};
use crate::policy::text;
use crate::ui::i18n;

/// A user to create.
#[derive(Debug, Clone, Default)]
pub struct UserSpec {
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// The password; generated when `None`.
    pub password: Option<String>,
    /// BCP 47 locale.
    pub locale: Option<String>,
    /// IANA time zone.
    pub zoneinfo: Option<String>,
    /// Whether the user is a provider operator (admin pages, approvals).
    pub operator: bool,
    /// The user's company: found by the e-mail domain, or created with this name.
    pub company: Option<String>,
    /// Roles, e.g. [`Role::SuperAdmin`].
    pub roles: Vec<Role>,
}

/// A created user and the generated password, if one was generated.
#[derive(Debug)]
pub struct CreatedUser {
    /// The stored row.
    pub user: User,
    /// The generated password.
    pub generated_password: Option<String>,
}

/// Why [`create_user`] refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The username is not 1 to 64 of letters, digits, `.`, `_`, `-`, `@`.
    #[error("a username is 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    InvalidUsername,
    /// The e-mail address is not one.
    #[error("{email}: {reason}")]
    InvalidEmail {
        /// The address as given (trimmed).
        email: String,
        /// What is wrong with it.
        reason: EmailRejection,
    },
    /// A name or the company breaks the registration form's rules.
    #[error("{field} {value:?}: {message}")]
    InvalidText {
        /// `given_name`, `family_name` or `company`.
        field: &'static str,
        /// The value as given (trimmed).
        value: String,
        /// The form's message, in English.
        message: String,
    },
    /// The password has fewer than 8 or more than 128 characters.
    #[error("a password must have 8 to 128 characters")]
    PasswordLength,
    /// The username or the e-mail address is taken.
    #[error("a user with this username or e-mail already exists")]
    Exists,
    /// Database or hashing failures.
    #[error("{0}")]
    Internal(Internal),
}

internal_from!(CreateUserError: sqlx::Error, anyhow::Error);

/// Creates a user with a verified e-mail address.
///
/// # Errors
/// [`CreateUserError`]: an invalid username, e-mail or password length; a name or
/// company that breaks the registration form's rules ([`text::text_field_error`]:
/// no web or e-mail addresses); a taken username or e-mail.
pub async fn create_user(
    db: &Db,
    passwords: &Passwords,
    spec: UserSpec,
    now: i64,
) -> Result<CreatedUser, CreateUserError> {
    let username = username(&spec.username)?;
    let email = checked_email(&spec)?;
    let (password, generated) = match spec.password {
        Some(p) => (p, false),
        None => (crypto::random_token(15), true),
    };
    let length = password_hash::normalize(&password).chars().count();
    if !(8..=128).contains(&length) {
        return Err(CreateUserError::PasswordLength);
    }
    let mut user = User::new(crypto::random_id(), username, email, now);
    user.email_verified = true;
    user.given_name = spec.given_name.trim().to_owned();
    user.family_name = spec.family_name.trim().to_owned();
    user.locale = spec.locale;
    user.zoneinfo = spec.zoneinfo;
    user.password_hash = Some(passwords.hash(&password).await?);
    user.is_operator = spec.operator;
    user.roles = spec.roles;
    if let Some(name) = company_name(spec.company.as_deref()) {
        user.company_id = Some(company_for(db, &user.email, name, now).await?);
    }
    match users::insert(db.pool(), &user).await {
        Ok(()) => Ok(CreatedUser {
            user,
            generated_password: generated.then_some(password),
        }),
        Err(InsertUserError::Exists) => Err(CreateUserError::Exists),
        Err(InsertUserError::Db(e)) => Err(e.into()),
    }
}

/// The login name: trimmed, lower-cased, 1 to 64 of `[a-z0-9._@-]`.
fn username(typed: &str) -> Result<String, CreateUserError> {
    let username = typed.trim().to_lowercase();
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(CreateUserError::InvalidUsername);
    }
    Ok(username)
}

fn company_name(company: Option<&str>) -> Option<&str> {
    company.map(str::trim).filter(|n| !n.is_empty())
}

/// The normalised address, after the registration form's rules for the names and
/// the company (they reach pages and mails).
fn checked_email(spec: &UserSpec) -> Result<String, CreateUserError> {
    let email = email::normalize(&spec.email).map_err(|reason| CreateUserError::InvalidEmail {
        email: spec.email.trim().to_owned(),
        reason,
    })?;
    for (field, value) in [
        ("given_name", spec.given_name.trim()),
        ("family_name", spec.family_name.trim()),
        (
            "company",
            company_name(spec.company.as_deref()).unwrap_or_default(),
        ),
    ] {
        if let Some(key) = text::text_field_error(field, value, Some(email.domain())) {
            return Err(CreateUserError::InvalidText {
                field,
                value: value.to_owned(),
                message: i18n::text("en", key, &[]),
            });
        }
    }
    Ok(email.to_string())
}

/// The id of the company of `email`'s domain, created with `name` when new.
async fn company_for(db: &Db, email: &str, name: &str, now: i64) -> sqlx::Result<String> {
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if let Some(c) = companies::find_by_domain(db.pool(), domain).await? {
        return Ok(c.id);
    }
    let c = companies::CompanyRow::new(name, domain, None, now);
    let mut conn = db.pool().acquire().await?;
    companies::insert(&mut conn, &c).await?;
    Ok(c.id)
}
