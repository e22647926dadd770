//! The durable e-mail outbox. Messages are inserted in the same transaction as the
//! change that causes them; a worker claims due ones, sends them, and retries
//! failures with backoff. Several provider processes may run workers: a claim is
//! one atomic statement with a lease (`locked_until`).

use sqlx::{Any, Executor};

use super::queue::{self, durable_queue, Queue};
use super::Db;
use crate::crypto;

/// A rendered message.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    /// Recipient address.
    pub to: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// text/plain part.
    pub text: &'a str,
    /// text/html part.
    pub html: &'a str,
}

/// A claimed message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    /// Id.
    pub id: String,
    /// Recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// text/plain.
    pub text_body: String,
    /// text/html.
    pub html_body: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// Queues a message, due now. Returns its id.
///
/// # Errors
/// Database errors.
pub async fn enqueue<'e>(
    ex: impl Executor<'e, Database = Any>,
    mail: &NewMail<'_>,
    now: i64,
) -> sqlx::Result<String> {
    let id = crypto::ordered_id();
    sqlx::query(
        "INSERT INTO outbox (id, recipient, subject, text_body, html_body, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(mail.to)
    .bind(mail.subject)
    .bind(mail.text)
    .bind(mail.html)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(id)
}

/// The outbox as a durable queue: a row is open until it is sent or given up.
const QUEUE: Queue = durable_queue! {
    table: "outbox",
    open: "sent_at IS NULL AND given_up_at IS NULL",
    done: "sent_at",
    erase: "text_body = '', html_body = ''",
    returning: "id, recipient, subject, text_body, html_body, attempts",
};

/// Claims up to `limit` due, unsent, unleased messages for `lease_seconds`.
///
/// # Errors
/// Database errors.
pub async fn claim(
    db: &Db,
    now: i64,
    lease_seconds: i64,
    limit: i64,
) -> sqlx::Result<Vec<OutboxRow>> {
    QUEUE.claim(db, now, lease_seconds, limit).await
}

/// Marks a message sent and drops its bodies (they may hold a one-time secret).
///
/// # Errors
/// Database errors.
pub async fn mark_sent(db: &Db, id: &str, now: i64) -> sqlx::Result<()> {
    QUEUE.finish(db, id, now, None).await
}

/// Gives a message up after a permanent failure (its bodies are dropped).
///
/// # Errors
/// Database errors.
pub async fn mark_given_up(db: &Db, id: &str, error: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outbox SET given_up_at = $3, attempts = attempts + 1, locked_until = NULL, \
         text_body = '', html_body = '', last_error = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(queue::truncate(error))
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records a failed attempt and when to try again.
///
/// # Errors
/// Database errors.
pub async fn mark_failed(db: &Db, id: &str, error: &str, next_attempt_at: i64) -> sqlx::Result<()> {
    QUEUE.retry(db, id, error, next_attempt_at).await
}

/// Counts of (unsent, sent) messages; for readiness and tests.
///
/// # Errors
/// Database errors.
pub async fn counts(db: &Db) -> sqlx::Result<(i64, i64)> {
    let (unsent, sent): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN sent_at IS NULL AND given_up_at IS NULL THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN sent_at IS NULL THEN 0 ELSE 1 END), 0) FROM outbox",
    )
    .fetch_one(db.pool())
    .await?;
    Ok((unsent, sent))
}
