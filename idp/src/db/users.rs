//! User rows.

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
}

impl UserRow {
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
                       zoneinfo, password_hash, disabled, created_at, updated_at";

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
pub async fn insert(db: &Db, user: &UserRow) -> Result<(), InsertUserError> {
    let result = sqlx::query(&format!(
        "INSERT INTO users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
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
    .execute(db.pool())
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(InsertUserError::Exists),
        Err(e) => Err(e.into()),
    }
}
