//! The `users` table. Rows are converted to [`User`] here: 0/1 flags become
//! `bool`, the JSON roles [`Role`]s, and a bad stored value is an error naming the
//! column.

use sqlx::{Any, Executor};

use super::{is_unique_violation, Db};

/// A role a user holds: the built-in `super_admin` of a company, or a role of the
/// configured catalogue, by name (`customer-portal:licenses`). Serialized as its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// `super_admin`: the company's administrator (the first approved user).
    SuperAdmin,
    /// Any other role, by name: 1 to 100 of `a-z 0-9 : . _ -`.
    Named(String),
}

impl Role {
    /// The built-in Super Admin role's name.
    pub const SUPER_ADMIN: &'static str = "super_admin";

    /// The role named `name`.
    ///
    /// # Errors
    /// A name that is empty, longer than 100 bytes, or has other characters than
    /// `a-z 0-9 : . _ -`.
    pub fn parse(name: &str) -> Result<Self, InvalidRole> {
        let valid = !name.is_empty()
            && name.len() <= 100
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":._-".contains(&b));
        match name {
            Self::SUPER_ADMIN => Ok(Self::SuperAdmin),
            _ if valid => Ok(Self::Named(name.to_owned())),
            _ => Err(InvalidRole(name.to_owned())),
        }
    }

    /// The role's name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::SuperAdmin => Self::SUPER_ADMIN,
            Self::Named(name) => name,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = InvalidRole;
    fn from_str(s: &str) -> Result<Self, InvalidRole> {
        Self::parse(s)
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A role name that is not one (see [`Role::parse`]).
#[derive(Debug, thiserror::Error)]
#[error("not a role name: {0:?} (1 to 100 of a-z 0-9 : . _ -)")]
pub struct InvalidRole(pub String);

/// A user account.
#[derive(Debug, Clone)]
pub struct User {
    /// The stable, opaque subject identifier (`sub`).
    pub id: String,
    /// Login name, lower-cased.
    pub username: String,
    /// E-mail address, lower-cased.
    pub email: String,
    /// Whether the e-mail address was verified.
    pub email_verified: bool,
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
    /// Whether the account is disabled (no login, no tokens).
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; the `updated_at` claim.
    pub updated_at: i64,
    /// The customer company.
    pub company_id: Option<String>,
    /// The roles, in stored order.
    pub roles: Vec<Role>,
    /// A provider operator (admin pages, approvals).
    pub is_operator: bool,
    /// The password is a one-time password that must be replaced at login.
    pub must_change_password: bool,
    /// When the one-time password expires (Unix seconds).
    pub password_expires_at: Option<i64>,
    /// Job title.
    pub job_title: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<String>,
    /// The user allows product analytics.
    pub analytics_consent: bool,
    /// The last successful sign-in (Unix seconds).
    pub last_login_at: Option<i64>,
}

impl User {
    /// A new active user with no company, roles or password; callers fill the rest.
    pub fn new(id: String, username: String, email: String, now: i64) -> Self {
        Self {
            id,
            username,
            email,
            email_verified: false,
            given_name: String::new(),
            family_name: String::new(),
            locale: None,
            zoneinfo: None,
            password_hash: None,
            disabled: false,
            created_at: now,
            updated_at: now,
            company_id: None,
            roles: Vec::new(),
            is_operator: false,
            must_change_password: false,
            password_expires_at: None,
            job_title: None,
            phone: None,
            country: None,
            analytics_consent: false,
            last_login_at: None,
        }
    }

    /// Whether the account may log in and receive tokens.
    pub fn is_active(&self) -> bool {
        !self.disabled
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

/// The `users` row as stored: 0/1 flags and the roles as a JSON array in TEXT.
#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: String,
    username: String,
    email: String,
    email_verified: i64,
    given_name: String,
    family_name: String,
    locale: Option<String>,
    zoneinfo: Option<String>,
    password_hash: Option<String>,
    disabled: i64,
    created_at: i64,
    updated_at: i64,
    company_id: Option<String>,
    roles: String,
    is_operator: i64,
    must_change_password: i64,
    password_expires_at: Option<i64>,
    job_title: Option<String>,
    phone: Option<String>,
    country: Option<String>,
    analytics_consent: i64,
    last_login_at: Option<i64>,
}

impl TryFrom<UserRow> for User {
    type Error = sqlx::Error;

    /// Fails on a stored value that is not one: a flag other than 0/1 or roles that
    /// are not a JSON array of role names, naming the table and column.
    fn try_from(row: UserRow) -> Result<Self, sqlx::Error> {
        let roles: Vec<String> =
            serde_json::from_str(&row.roles).map_err(|e| bad_value("roles", e))?;
        let roles = roles
            .iter()
            .map(|r| Role::parse(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad_value("roles", e))?;
        Ok(Self {
            id: row.id,
            username: row.username,
            email: row.email,
            email_verified: flag("email_verified", row.email_verified)?,
            given_name: row.given_name,
            family_name: row.family_name,
            locale: row.locale,
            zoneinfo: row.zoneinfo,
            password_hash: row.password_hash,
            disabled: flag("disabled", row.disabled)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
            company_id: row.company_id,
            roles,
            is_operator: flag("is_operator", row.is_operator)?,
            must_change_password: flag("must_change_password", row.must_change_password)?,
            password_expires_at: row.password_expires_at,
            job_title: row.job_title,
            phone: row.phone,
            country: row.country,
            analytics_consent: flag("analytics_consent", row.analytics_consent)?,
            last_login_at: row.last_login_at,
        })
    }
}

/// A stored value of `users.<column>` that is not one.
fn bad_value(column: &str, source: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: format!("users.{column}"),
        source: Box::new(source),
    }
}

/// A 0/1 column of `users` as `bool`.
fn flag(column: &str, value: i64) -> sqlx::Result<bool> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(bad_value(column, super::BadFlag(value))),
    }
}

/// The stored roles: a JSON array of names.
pub(super) fn roles_json(roles: &[Role]) -> String {
    let names: Vec<&str> = roles.iter().map(Role::as_str).collect();
    serde_json::Value::from(names).to_string()
}

pub(super) const COLUMNS: &str = "id, username, email, email_verified, given_name, family_name, locale, \
                       zoneinfo, password_hash, disabled, created_at, updated_at, company_id, roles, \
                       is_operator, must_change_password, password_expires_at, job_title, phone, country, \
                       analytics_consent, last_login_at";

/// The user whose username or e-mail address equals `login` (already lower-cased).
///
/// # Errors
/// Database errors.
pub async fn find_by_login(db: &Db, login: &str) -> sqlx::Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE username = $1 OR email = $1"
    ))
    .bind(login)
    .fetch_optional(db.pool())
    .await?;
    row.map(User::try_from).transpose()
}

/// The user with subject `id`.
///
/// # Errors
/// Database errors.
pub async fn find_by_id(db: &Db, id: &str) -> sqlx::Result<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    row.map(User::try_from).transpose()
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
    user: &User,
) -> Result<(), InsertUserError> {
    let result = sqlx::query(&format!(
        "INSERT INTO users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
    ))
    .bind(&user.id)
    .bind(&user.username)
    .bind(&user.email)
    .bind(i64::from(user.email_verified))
    .bind(&user.given_name)
    .bind(&user.family_name)
    .bind(&user.locale)
    .bind(&user.zoneinfo)
    .bind(&user.password_hash)
    .bind(i64::from(user.disabled))
    .bind(user.created_at)
    .bind(user.updated_at)
    .bind(&user.company_id)
    .bind(roles_json(&user.roles))
    .bind(i64::from(user.is_operator))
    .bind(i64::from(user.must_change_password))
    .bind(user.password_expires_at)
    .bind(&user.job_title)
    .bind(&user.phone)
    .bind(&user.country)
    .bind(i64::from(user.analytics_consent))
    .bind(user.last_login_at)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> UserRow {
        UserRow {
            id: "u1".into(),
            username: "anna".into(),
            email: "anna@example.com".into(),
            email_verified: 1,
            given_name: "Anna".into(),
            family_name: "Berg".into(),
            locale: None,
            zoneinfo: None,
            password_hash: None,
            disabled: 0,
            created_at: 1,
            updated_at: 1,
            company_id: None,
            roles: r#"["super_admin","customer-portal:licenses"]"#.into(),
            is_operator: 0,
            must_change_password: 1,
            password_expires_at: None,
            job_title: None,
            phone: None,
            country: None,
            analytics_consent: 0,
            last_login_at: None,
        }
    }

    #[test]
    fn a_row_becomes_a_user_with_flags_and_roles() {
        let user = User::try_from(row()).unwrap();
        assert!(user.email_verified && user.must_change_password && !user.disabled);
        assert_eq!(
            user.roles,
            [
                Role::SuperAdmin,
                Role::Named("customer-portal:licenses".into())
            ]
        );
        assert_eq!(
            roles_json(&user.roles),
            r#"["super_admin","customer-portal:licenses"]"#
        );
    }

    #[test]
    fn a_bad_stored_value_is_an_error_naming_its_column() {
        for (bad, column) in [
            (
                UserRow {
                    roles: "not json".into(),
                    ..row()
                },
                "users.roles",
            ),
            (
                UserRow {
                    roles: r#"["Has Spaces"]"#.into(),
                    ..row()
                },
                "users.roles",
            ),
            (
                UserRow {
                    disabled: 2,
                    ..row()
                },
                "users.disabled",
            ),
            (
                UserRow {
                    is_operator: -1,
                    ..row()
                },
                "users.is_operator",
            ),
        ] {
            let err = User::try_from(bad).unwrap_err();
            assert!(
                matches!(&err, sqlx::Error::ColumnDecode { index, .. } if index == column),
                "{err:?}"
            );
        }
    }

    #[test]
    fn role_names() {
        assert_eq!(Role::parse("super_admin").unwrap(), Role::SuperAdmin);
        assert!(Role::parse("app-portal:apps.install").is_ok());
        for bad in ["", "Admin", "a b", "<x>", &"r".repeat(101)] {
            assert!(Role::parse(bad).is_err(), "{bad:?}");
        }
    }
}
