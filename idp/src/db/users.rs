//! User rows.

use sqlx::{Any, Executor};

use super::{flag, is_unique_violation, Db};

/// A user account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    /// The stable, opaque subject identifier (`sub`).
    pub id: String,
    /// Login name, lower-cased.
    pub username: String,
    /// E-mail address, lower-cased.
    pub email: String,
    /// 0/1.
    pub email_verified: i64,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// BCP 47 language tag.
    pub locale: Option<String>,
    /// IANA time zone.
    pub zoneinfo: Option<String>,
    /// argon2id PHC string.
    pub password_hash: Option<String>,
    /// 0/1.
    pub disabled: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; the `updated_at` claim.
    pub updated_at: i64,
    /// The customer company.
    pub company_id: Option<String>,
    /// JSON array of role names (`super_admin`, ...).
    pub roles: String,
    /// 0/1: a provider operator (admin pages, approvals).
    pub is_operator: i64,
    /// 0/1: the password is a one-time password that must be replaced at login.
    pub must_change_password: i64,
    /// When the one-time password expires (Unix seconds).
    pub password_expires_at: Option<i64>,
    /// Job title.
    pub job_title: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<String>,
    /// 0/1: the user allows product analytics.
    pub analytics_consent: i64,
}

impl UserRow {
    /// A new active user with no company, roles or password; callers fill the rest.
    pub fn new(id: String, username: String, email: String, now: i64) -> Self {
        Self {
            id,
            username,
            email,
            email_verified: 0,
            given_name: String::new(),
            family_name: String::new(),
            locale: None,
            zoneinfo: None,
            password_hash: None,
            disabled: 0,
            created_at: now,
            updated_at: now,
            company_id: None,
            roles: "[]".into(),
            is_operator: 0,
            must_change_password: 0,
            password_expires_at: None,
            job_title: None,
            phone: None,
            country: None,
            analytics_consent: 0,
        }
    }

    /// The role names.
    pub fn roles(&self) -> Vec<String> {
        serde_json::from_str(&self.roles).unwrap_or_default()
    }

    /// Whether the user is a provider operator.
    pub fn is_operator(&self) -> bool {
        flag(self.is_operator)
    }

    /// Whether the current password is a one-time password to be replaced.
    pub fn must_change_password(&self) -> bool {
        flag(self.must_change_password)
    }

    /// Whether the e-mail address was verified.
    pub fn email_verified(&self) -> bool {
        flag(self.email_verified)
    }

    /// Whether the account may log in and receive tokens.
    pub fn is_active(&self) -> bool {
        !flag(self.disabled)
    }

    /// "Given Family", or the username when both are empty.
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.given_name, self.family_name);
        let name = name.trim();
        if name.is_empty() {
            self.username.clone()
        } else {
            name.to_owned()
        }
    }
}

const COLUMNS: &str = "id, username, email, email_verified, given_name, family_name, locale, \
                       zoneinfo, password_hash, disabled, created_at, updated_at, company_id, roles, \
                       is_operator, must_change_password, password_expires_at, job_title, phone, country, \
                       analytics_consent";

/// The user whose username or e-mail address equals `login` (already lower-cased).
///
/// # Errors
/// Database errors.
pub async fn find_by_login(db: &Db, login: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE username = $1 OR email = $1"
    ))
    .bind(login)
    .fetch_optional(db.pool())
    .await
}

/// The user with subject `id`.
///
/// # Errors
/// Database errors.
pub async fn find_by_id(db: &Db, id: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    /// The username or e-mail address is taken.
    #[error("a user with this username or e-mail address already exists")]
    Exists,
    /// Any other database error.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Inserts `user` (all columns as given).
///
/// # Errors
/// [`InsertUserError::Exists`] on a duplicate username or e-mail.
pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    user: &UserRow,
) -> Result<(), InsertUserError> {
    let result = sqlx::query(&format!(
        "INSERT INTO users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    ))
    .bind(&user.id)
    .bind(&user.username)
    .bind(&user.email)
    .bind(user.email_verified)
    .bind(&user.given_name)
    .bind(&user.family_name)
    .bind(&user.locale)
    .bind(&user.zoneinfo)
    .bind(&user.password_hash)
    .bind(user.disabled)
    .bind(user.created_at)
    .bind(user.updated_at)
    .bind(&user.company_id)
    .bind(&user.roles)
    .bind(user.is_operator)
    .bind(user.must_change_password)
    .bind(user.password_expires_at)
    .bind(&user.job_title)
    .bind(&user.phone)
    .bind(&user.country)
    .bind(user.analytics_consent)
    .execute(ex)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(InsertUserError::Exists),
        Err(e) => Err(e.into()),
    }
}

/// Whether a user has this value as username or e-mail address.
///
/// # Errors
/// Database errors.
pub async fn login_exists<'e>(
    ex: impl Executor<'e, Database = Any>,
    login: &str,
) -> sqlx::Result<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM users WHERE email = $1 OR username = $1")
            .bind(login)
            .fetch_optional(ex)
            .await?;
    Ok(row.is_some())
}

/// Whether a user with this e-mail address exists.
///
/// # Errors
/// Database errors.
pub async fn email_exists<'e>(
    ex: impl Executor<'e, Database = Any>,
    email: &str,
) -> sqlx::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(ex)
        .await?;
    Ok(row.is_some())
}

/// Consumes a one-time password after a successful login with it: expires it (the
/// hash stays, so the forced change can refuse the same password again), only if it
/// is still the one that was verified and unexpired, so it works exactly once.
/// Returns whether this call consumed it.
///
/// # Errors
/// Database errors.
pub async fn consume_one_time_password(
    db: &Db,
    id: &str,
    verified_hash: &str,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE users SET password_expires_at = 0 \
         WHERE id = $1 AND password_hash = $2 AND must_change_password = 1 AND password_expires_at > 0",
    )
    .bind(id)
    .bind(verified_hash)
    .execute(db.pool())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Sets a new password hash, ending any forced change.
///
/// # Errors
/// Database errors.
pub async fn set_password<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    hash: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, must_change_password = 0, password_expires_at = NULL, \
         updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(hash)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Users of a company.
///
/// # Errors
/// Database errors.
pub async fn count_in_company(db: &Db, company_id: &str) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE company_id = $1")
        .bind(company_id)
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// Saves the profile settings: language, time zone and analytics consent.
///
/// # Errors
/// Database errors.
pub async fn update_settings(
    db: &Db,
    id: &str,
    locale: &str,
    zoneinfo: &str,
    analytics_consent: bool,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET locale = $2, zoneinfo = $3, analytics_consent = $4, updated_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(locale)
    .bind(zoneinfo)
    .bind(i64::from(analytics_consent))
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}
