//! Pending authorization requests: a validated request waiting for the browser that
//! made it to finish logging in.

use super::Db;

/// A pending request.
#[derive(Debug, sqlx::FromRow)]
pub struct PendingRow {
    /// JSON of the validated request.
    pub params: String,
    /// When it was stored (Unix seconds).
    pub created_at: i64,
}

/// Stores a pending request.
///
/// # Errors
/// Database errors.
pub async fn insert(
    db: &Db,
    id_hash: &str,
    browser_hash: &str,
    params: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO authorization_requests (id_hash, browser_hash, params, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id_hash)
    .bind(browser_hash)
    .bind(params)
    .bind(now)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The unexpired pending request with this id, if it belongs to this browser.
///
/// # Errors
/// Database errors.
pub async fn find(
    db: &Db,
    id_hash: &str,
    browser_hash: &str,
    now: i64,
) -> sqlx::Result<Option<PendingRow>> {
    sqlx::query_as(
        "SELECT params, created_at FROM authorization_requests \
         WHERE id_hash = $1 AND browser_hash = $2 AND expires_at > $3",
    )
    .bind(id_hash)
    .bind(browser_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await
}

/// Takes the pending request out (single use): deletes it and returns it, atomically.
///
/// # Errors
/// Database errors.
pub async fn take(
    db: &Db,
    id_hash: &str,
    browser_hash: &str,
    now: i64,
) -> sqlx::Result<Option<PendingRow>> {
    sqlx::query_as(
        "DELETE FROM authorization_requests \
         WHERE id_hash = $1 AND browser_hash = $2 AND expires_at > $3 \
         RETURNING params, created_at",
    )
    .bind(id_hash)
    .bind(browser_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await
}

/// Moves every pending request of one browser-binding id to another (at a login,
/// when the browser gets a new id); returns how many moved. One statement, so a
/// request is bound to exactly one of the two ids at any time.
///
/// # Errors
/// Database errors.
pub async fn rebind(db: &Db, old_browser_hash: &str, new_browser_hash: &str) -> sqlx::Result<u64> {
    let done =
        sqlx::query("UPDATE authorization_requests SET browser_hash = $2 WHERE browser_hash = $1")
            .bind(old_browser_hash)
            .bind(new_browser_hash)
            .execute(db.pool())
            .await?;
    Ok(done.rows_affected())
}
