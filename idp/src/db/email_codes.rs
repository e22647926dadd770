//! E-mailed verification codes, bound to a user and a purpose.

use sqlx::{Any, Executor};

use super::Db;

/// A live code.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CodeRow {
    /// Id.
    pub id: String,
    /// Keyed hash of the code.
    pub code_hash: String,
    /// Tries counted so far (wrong entries, and the one in progress).
    pub attempts: i64,
}

/// Voids the user's unused codes for `purpose` and stores a new one.
///
/// # Errors
/// Database errors.
pub async fn replace(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    user_id: &str,
    purpose: &str,
    code_hash: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE email_codes SET voided_at = $3 \
         WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(user_id)
    .bind(purpose)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO email_codes (id, user_id, purpose, code_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(purpose)
    .bind(code_hash)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Reserves one try on the user's newest code for `purpose` before it is compared:
/// counts the try on that code if it is unused, not voided, unexpired and has had
/// fewer than `max_attempts` tries, in one statement (so concurrent entries can
/// never exceed `max_attempts` tries), and returns it with the try counted. `None`
/// when there is no such code.
///
/// # Errors
/// Database errors.
pub async fn reserve_attempt(
    db: &Db,
    user_id: &str,
    purpose: &str,
    now: i64,
    max_attempts: i64,
) -> sqlx::Result<Option<CodeRow>> {
    // The conditions are repeated outside the subquery so PostgreSQL re-checks them
    // on the newest row version after waiting for a concurrent try's lock.
    sqlx::query_as(
        "UPDATE email_codes SET attempts = attempts + 1 \
         WHERE id = (SELECT id FROM email_codes \
                     WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND voided_at IS NULL \
                     AND expires_at > $3 ORDER BY created_at DESC, id LIMIT 1) \
         AND used_at IS NULL AND voided_at IS NULL AND expires_at > $3 AND attempts < $4 \
         RETURNING id, code_hash, attempts",
    )
    .bind(user_id)
    .bind(purpose)
    .bind(now)
    .bind(max_attempts)
    .fetch_optional(db.pool())
    .await
}

/// Gives back a try reserved by [`reserve_attempt`] (the code matched).
///
/// # Errors
/// Database errors.
pub async fn give_back_attempt(db: &Db, id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE email_codes SET attempts = attempts - 1 WHERE id = $1 AND attempts > 0")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Marks a code used, once: `false` if it was already used or voided.
///
/// # Errors
/// Database errors.
pub async fn consume<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE email_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(r.rows_affected() == 1)
}
