//! The audit trail: who did what to what, and when.

use sqlx::{Any, Executor};

use crate::crypto;

/// An audit event as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    /// Unix seconds.
    pub at: i64,
    /// Who: `operator:<username>`, `cli:<name>`, `user:<sub>` or `system`.
    pub actor: String,
    /// What, e.g. `registration.approved`.
    pub action: String,
    /// To what (an id).
    pub subject: String,
    /// JSON details.
    pub details: String,
}

/// Records an event (in the caller's transaction when given one).
///
/// # Errors
/// Database errors.
pub async fn record<'e>(
    ex: impl Executor<'e, Database = Any>,
    now: i64,
    actor: &str,
    action: &str,
    subject: &str,
    details: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO audit_events (id, at, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(crypto::random_id())
        .bind(now)
        .bind(actor)
        .bind(action)
        .bind(subject)
        .bind(details.to_string())
        .execute(ex)
        .await?;
    Ok(())
}

/// Events about `subject`, oldest first.
///
/// # Errors
/// Database errors.
pub async fn for_subject<'e>(
    ex: impl Executor<'e, Database = Any>,
    subject: &str,
) -> sqlx::Result<Vec<AuditRow>> {
    sqlx::query_as("SELECT at, actor, action, subject, details FROM audit_events WHERE subject = $1 ORDER BY at, id")
        .bind(subject)
        .fetch_all(ex)
        .await
}
