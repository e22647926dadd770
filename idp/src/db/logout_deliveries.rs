//! Back-Channel Logout deliveries: logout tokens queued for relying parties, sent by
//! a worker with retries (like the mail outbox).

use sqlx::{Any, Executor};

use super::queue::{durable_queue, Queue};
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
    .bind(crypto::ordered_id())
    .bind(client_id)
    .bind(uri)
    .bind(logout_token)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// The deliveries as a durable queue: a row is open until it is delivered or given
/// up (both set `delivered_at`; a given-up one keeps its `last_error`).
const QUEUE: Queue = durable_queue! {
    table: "logout_deliveries",
    open: "delivered_at IS NULL",
    done: "delivered_at",
    erase: "logout_token = ''",
    returning: "id, client_id, uri, logout_token, attempts",
};

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
    QUEUE.claim(db, now, lease_seconds, limit).await
}

/// Marks a delivery done (or given up on, with `error`) and drops the token.
///
/// # Errors
/// Database errors.
pub async fn mark_delivered(db: &Db, id: &str, now: i64, error: Option<&str>) -> sqlx::Result<()> {
    QUEUE.finish(db, id, now, error).await
}

/// Records a failed attempt and when to retry.
///
/// # Errors
/// Database errors.
pub async fn mark_failed(db: &Db, id: &str, error: &str, next_attempt_at: i64) -> sqlx::Result<()> {
    QUEUE.retry(db, id, error, next_attempt_at).await
}
