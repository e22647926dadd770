//! Users an operator creates (the CLI and the tests); self-registered users come
//! from [`crate::account::approval`]. No printing here; callers present the results.

use anyhow::{bail, Context as _};

use crate::crypto;
use crate::crypto::password_hash::{self, Passwords};
use crate::db::companies;
use crate::db::users::{self, InsertUserError, Role, User};
use crate::db::Db;
use crate::policy::email;
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

/// Creates a user with a verified e-mail address.
///
/// # Errors
/// An invalid username, e-mail or password length; a name or company that breaks
/// the registration form's rules ([`text::text_field_error`]: no web or
/// e-mail addresses); a taken username or e-mail.
pub async fn create_user(
    db: &Db,
    passwords: &Passwords,
    spec: UserSpec,
    now: i64,
) -> anyhow::Result<CreatedUser> {
    let username = spec.username.trim().to_lowercase();
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        bail!("a username is 1 to 64 letters, digits, '.', '_', '-' or '@'");
    }
    let email = match email::normalize(&spec.email) {
        Ok(email) => email,
        Err(e) => bail!("{}: {e}", spec.email.trim()),
    };
    // The registration form's rules: names and company reach pages and mails.
    let company = spec
        .company
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    for (field, value) in [
        ("given_name", spec.given_name.trim()),
        ("family_name", spec.family_name.trim()),
        ("company", company.unwrap_or_default()),
    ] {
        if let Some(key) = text::text_field_error(field, value, Some(email.domain())) {
            bail!("{field} {value:?}: {}", i18n::text("en", key, &[]));
        }
    }
    let email = email.to_string();
    let (password, generated) = match spec.password {
        Some(p) => (p, false),
        None => (crypto::random_token(15), true),
    };
    let length = password_hash::normalize(&password).chars().count();
    if !(8..=128).contains(&length) {
        bail!("a password must have 8 to 128 characters");
    }
    let hash = passwords
        .hash(&password)
        .await
        .context("hashing the password")?;
    let mut user = User::new(crypto::random_id(), username, email, now);
    user.email_verified = true;
    user.given_name = spec.given_name.trim().to_owned();
    user.family_name = spec.family_name.trim().to_owned();
    user.locale = spec.locale;
    user.zoneinfo = spec.zoneinfo;
    user.password_hash = Some(hash);
    user.is_operator = spec.operator;
    user.roles = spec.roles;
    if let Some(name) = company {
        let domain = user
            .email
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        let company = match companies::find_by_domain(db.pool(), &domain).await? {
            Some(c) => c,
            None => {
                let c = companies::CompanyRow::new(name, &domain, None, now);
                companies::insert(db.pool(), &c).await?;
                c
            }
        };
        user.company_id = Some(company.id);
    }
    match users::insert(db.pool(), &user).await {
        Ok(()) => Ok(CreatedUser {
            user,
            generated_password: generated.then_some(password),
        }),
        Err(InsertUserError::Exists) => bail!("a user with this username or e-mail already exists"),
        Err(InsertUserError::Db(e)) => Err(e.into()),
    }
}
