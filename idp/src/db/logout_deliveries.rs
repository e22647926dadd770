//! Back-Channel Logout deliveries: logout tokens queued for relying parties, sent by
//! a worker with retries (like the mail outbox).

use sqlx::{Any, Executor};

use super::Db;
use crate::crypto;

/// A claimed delivery.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    /// Id.
    pub id: String,
    /// The relying party.
    pub client_id: String,
    /// Its backchannel_logout_uri.
    pub uri: String,
    /// The signed logout token.
    pub logout_token: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// The clients that were issued tokens through the browser session `sid`, with their
/// back-channel logout URIs (only clients that registered one).
///
/// # Errors
/// Database errors.
pub async fn clients_of_session<'e>(
    ex: impl Executor<'e, Database = Any>,
    sid: &str,
) -> sqlx::Result<Vec<(String, String, String)>> {
    sqlx::query_as(
        "SELECT DISTINCT c.client_id, c.backchannel_logout_uri, c.id_token_signed_response_alg \
         FROM grants g JOIN clients c ON c.client_id = g.client_id \
         WHERE g.sid = $1 AND c.backchannel_logout_uri IS NOT NULL ORDER BY c.client_id",
    )
    .bind(sid)
    .fetch_all(ex)
    .await
}

/// Queues a logout token for delivery, due now.
///
/// # Errors
/// Database errors.
pub async fn enqueue<'e>(
    ex: impl Executor<'e, Database = Any>,
    client_id: &str,
    uri: &str,
    logout_token: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO logout_deliveries (id, client_id, uri, logout_token, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(crypto::random_id())
    .bind(client_id)
    .bind(uri)
    .bind(logout_token)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Claims up to `limit` due deliveries for `lease_seconds`.
///
/// # Errors
/// Database errors.
pub async fn claim(
    db: &Db,
    now: i64,
    lease_seconds: i64,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as(
        "UPDATE logout_deliveries SET locked_until = $2 \
         WHERE id IN (SELECT id FROM logout_deliveries WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
                      AND (locked_until IS NULL OR locked_until <= $1) ORDER BY next_attempt_at, id LIMIT $3) \
         AND delivered_at IS NULL AND (locked_until IS NULL OR locked_until <= $1) \
         RETURNING id, client_id, uri, logout_token, attempts",
    )
    .bind(now)
    .bind(now + lease_seconds)
    .bind(limit)
    .fetch_all(db.pool())
    .await
}

/// Marks a delivery done (or given up on) and drops the token.
///
/// # Errors
/// Database errors.
pub async fn mark_delivered(db: &Db, id: &str, now: i64, error: Option<&str>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE logout_deliveries SET delivered_at = $2, locked_until = NULL, logout_token = '', last_error = $3 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(error)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records a failed attempt and when to retry.
///
/// # Errors
/// Database errors.
pub async fn mark_failed(db: &Db, id: &str, error: &str, next_attempt_at: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE logout_deliveries SET attempts = attempts + 1, next_attempt_at = $2, locked_until = NULL, \
         last_error = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(next_attempt_at)
    .bind(error.chars().take(500).collect::<String>())
    .execute(db.pool())
    .await?;
    Ok(())
}
