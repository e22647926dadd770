//! The durable e-mail outbox. Messages are inserted in the same transaction as the
//! change that causes them; a worker claims due ones, sends them, and retries
//! failures with backoff. Several provider processes may run workers: a claim is
//! one atomic statement with a lease (`locked_until`).

use sqlx::{Any, Executor};

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
    let id = crypto::random_id();
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
    sqlx::query_as(
        "UPDATE outbox SET locked_until = $2 \
         WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 \
                      AND given_up_at IS NULL AND (locked_until IS NULL OR locked_until <= $1) \
                      ORDER BY next_attempt_at, id LIMIT $3) \
         AND sent_at IS NULL AND (locked_until IS NULL OR locked_until <= $1) \
         RETURNING id, recipient, subject, text_body, html_body, attempts",
    )
    .bind(now)
    .bind(now + lease_seconds)
    .bind(limit)
    .fetch_all(db.pool())
    .await
}

/// Marks a message sent and drops its bodies (they may hold a one-time secret).
///
/// # Errors
/// Database errors.
pub async fn mark_sent(db: &Db, id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outbox SET sent_at = $2, locked_until = NULL, text_body = '', html_body = '', \
         last_error = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
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
    .bind(error.chars().take(500).collect::<String>())
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
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, locked_until = NULL, \
         last_error = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(next_attempt_at)
    .bind(error.chars().take(500).collect::<String>())
    .execute(db.pool())
    .await?;
    Ok(())
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
