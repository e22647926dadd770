//! A company's members as its Super Admin manages them: listing, roles, disabling and
//! removal (anonymisation). Callers hold the company's lock
//! ([`super::companies::lock`]) in the same transaction for every change.

use sqlx::{Any, Executor};

use super::users::{roles_json, Role, User, UserRow, COLUMNS};

/// The members of company `id` (removed accounts are no longer members), by name.
///
/// # Errors
/// Database errors; a bad stored value names its column.
pub async fn list<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<Vec<User>> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE company_id = $1 ORDER BY given_name, family_name, email"
    ))
    .bind(id)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(User::try_from).collect()
}

/// Every user that is not removed, by e-mail address: the operator's `idp users
/// list`, a whole read of the table by design (like the companies list), in the
/// order of the `email` unique index.
///
/// # Errors
/// Database errors; a bad stored value names its column.
pub async fn list_all<'e>(ex: impl Executor<'e, Database = Any>) -> sqlx::Result<Vec<User>> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE removed_at IS NULL ORDER BY email"
    ))
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(User::try_from).collect()
}

/// The user `user_id` if a member of company `company_id` (`None` for any company).
///
/// # Errors
/// Database errors.
pub async fn find<'e>(
    ex: impl Executor<'e, Database = Any>,
    company_id: Option<&str>,
    user_id: &str,
) -> sqlx::Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1 AND removed_at IS NULL \
         AND (CAST($2 AS TEXT) IS NULL OR company_id = $2)"
    ))
    .bind(user_id)
    .bind(company_id)
    .fetch_optional(ex)
    .await?;
    row.map(User::try_from).transpose()
}

/// The user whose e-mail address is `email` (lower case), if not removed.
///
/// # Errors
/// Database errors.
pub async fn find_by_email<'e>(
    ex: impl Executor<'e, Database = Any>,
    email: &str,
) -> sqlx::Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE email = $1 AND removed_at IS NULL"
    ))
    .bind(email)
    .fetch_optional(ex)
    .await?;
    row.map(User::try_from).transpose()
}

/// Active (not disabled) Super Admins of company `company_id` other than `except`.
///
/// # Errors
/// Database errors.
pub async fn other_active_super_admins<'e>(
    ex: impl Executor<'e, Database = Any>,
    company_id: &str,
    except: &str,
) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM users WHERE company_id = $1 AND id <> $2 AND disabled = 0 \
         AND roles LIKE '%\"super_admin\"%'",
    )
    .bind(company_id)
    .bind(except)
    .fetch_one(ex)
    .await?;
    Ok(n)
}

/// Replaces the roles of user `id`.
///
/// # Errors
/// Database errors.
pub async fn set_roles<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    roles: &[Role],
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET roles = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(roles_json(roles))
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// Disables or re-enables user `id`.
///
/// # Errors
/// Database errors.
pub async fn set_disabled<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    disabled: bool,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(i64::from(disabled))
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// Removes user `id`: the row stays (grants, sessions and the audit trail point to
/// it) but is anonymised — no name, address, password, PIN, phone, roles or company,
/// a placeholder username and address that cannot log in, disabled.
///
/// # Errors
/// Database errors.
pub async fn anonymise<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET username = $2, email = $3, email_verified = 0, given_name = '', \
         family_name = '', password_hash = NULL, disabled = 1, company_id = NULL, roles = '[]', \
         must_change_password = 0, password_expires_at = NULL, job_title = NULL, phone = NULL, \
         support_pin = NULL, removed_at = $4, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(format!("removed-{id}"))
    .bind(format!("removed-{id}@removed.invalid"))
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Records a successful sign-in of user `id`.
///
/// # Errors
/// Database errors.
pub async fn signed_in<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET last_login_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}
