//! Throttling counters, one row per key, shared by every provider process.

use super::Db;

/// The longest `blocked_until` among `keys` (0 when none is blocked).
///
/// # Errors
/// Database errors.
pub async fn blocked_until(db: &Db, keys: &[String]) -> sqlx::Result<i64> {
    let mut until = 0;
    for key in keys {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT blocked_until FROM throttle WHERE key = $1")
                .bind(key)
                .fetch_optional(db.pool())
                .await?;
        if let Some((t,)) = row {
            until = until.max(t);
        }
    }
    Ok(until)
}

/// Counts a failure for `key` (restarting the count when the last one is older than
/// `window_start`) and returns the new count.
///
/// # Errors
/// Database errors.
pub async fn add_failure(db: &Db, key: &str, now: i64, window_start: i64) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "INSERT INTO throttle (key, failures, blocked_until, updated_at) VALUES ($1, 1, 0, $2) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN throttle.updated_at < $3 THEN 1 ELSE throttle.failures + 1 END, \
           updated_at = $2 \
         RETURNING failures",
    )
    .bind(key)
    .bind(now)
    .bind(window_start)
    .fetch_one(db.pool())
    .await?;
    Ok(n)
}

/// Blocks `key` until `until` (never shortening an existing block).
///
/// # Errors
/// Database errors.
pub async fn block(db: &Db, key: &str, until: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE throttle SET blocked_until = $2 WHERE key = $1 AND blocked_until < $2")
        .bind(key)
        .bind(until)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Forgets `key` (after a success).
///
/// # Errors
/// Database errors.
pub async fn clear(db: &Db, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM throttle WHERE key = $1")
        .bind(key)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Deletes counters idle since before `cutoff` and not blocked.
///
/// # Errors
/// Database errors.
pub async fn purge(db: &Db, cutoff: i64) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM throttle WHERE updated_at < $1 AND blocked_until < $1")
            .bind(cutoff)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}
