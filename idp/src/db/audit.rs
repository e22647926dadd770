//! The audit trail: who did what to what, and when; for company administration also
//! the company, the client IP and the browser.

use sqlx::{Any, Executor};

use crate::crypto;

/// An audit event as stored.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AuditRow {
    /// Event id.
    pub id: String,
    /// Unix seconds.
    pub at: i64,
    /// Who: `operator:<username>`, `cli:<name>`, `user:<sub>` or `system`.
    pub actor: String,
    /// What, e.g. `registration.approved`.
    pub action: String,
    /// To what (an id).
    pub subject: String,
    /// The company the event belongs to, if any.
    pub company_id: Option<String>,
    /// The client IP of the request (none for the CLI and background jobs).
    pub ip: Option<String>,
    /// The browser's User-Agent (shortened).
    pub user_agent: Option<String>,
    /// JSON details.
    pub details: String,
}

/// An event to record; see [`AuditRow`] for the fields.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// Who.
    pub actor: &'a str,
    /// What.
    pub action: &'a str,
    /// To what.
    pub subject: &'a str,
    /// The company, if any.
    pub company_id: Option<&'a str>,
    /// Client IP.
    pub ip: Option<&'a str>,
    /// User-Agent.
    pub user_agent: Option<&'a str>,
}

/// Records an event without company or request (in the caller's transaction when
/// given one).
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
    let event = NewEvent {
        actor,
        action,
        subject,
        company_id: None,
        ip: None,
        user_agent: None,
    };
    record_event(ex, now, &event, details).await
}

/// Records `event` with its `details`.
///
/// # Errors
/// Database errors.
pub async fn record_event<'e>(
    ex: impl Executor<'e, Database = Any>,
    now: i64,
    event: &NewEvent<'_>,
    details: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, at, actor, action, subject, company_id, ip, user_agent, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(crypto::ordered_id())
    .bind(now)
    .bind(event.actor)
    .bind(event.action)
    .bind(event.subject)
    .bind(event.company_id)
    .bind(event.ip)
    .bind(event.user_agent)
    .bind(details.to_string())
    .execute(ex)
    .await?;
    Ok(())
}

const COLUMNS: &str = "id, at, actor, action, subject, company_id, ip, user_agent, details";

/// Events about `subject`, oldest first.
///
/// # Errors
/// Database errors.
pub async fn for_subject<'e>(
    ex: impl Executor<'e, Database = Any>,
    subject: &str,
) -> sqlx::Result<Vec<AuditRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE subject = $1 ORDER BY at, id"
    ))
    .bind(subject)
    .fetch_all(ex)
    .await
}

/// Which events [`list`] returns: all given conditions hold.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    /// Only this company's events.
    pub company_id: Option<&'a str>,
    /// Only events whose subject or actor is this user (`<sub>` / `user:<sub>`).
    pub user_id: Option<&'a str>,
    /// Only this action (`invitation.created`, ...).
    pub action: Option<&'a str>,
    /// At most this many, newest first (1 to 10 000).
    pub limit: i64,
}

/// Events matching `filter`, newest first. Only the given conditions enter the
/// statement, so a company's events are read through `audit_events_company`.
///
/// # Errors
/// Database errors.
pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    filter: &Filter<'_>,
) -> sqlx::Result<Vec<AuditRow>> {
    let actor = filter.user_id.map(|u| format!("user:{u}"));
    let mut conditions = Vec::new();
    let mut binds: Vec<&str> = Vec::new();
    if let Some(company) = filter.company_id {
        binds.push(company);
        conditions.push(format!("company_id = ${}", binds.len()));
    }
    if let (Some(user), Some(actor)) = (filter.user_id, actor.as_deref()) {
        binds.push(user);
        binds.push(actor);
        conditions.push(format!(
            "(subject = ${} OR actor = ${})",
            binds.len() - 1,
            binds.len()
        ));
    }
    if let Some(action) = filter.action {
        binds.push(action);
        conditions.push(format!("action = ${}", binds.len()));
    }
    let mut sql = format!("SELECT {COLUMNS} FROM audit_events");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(&format!(
        " ORDER BY at DESC, id DESC LIMIT ${}",
        binds.len() + 1
    ));
    let mut query = sqlx::query_as(&sql);
    for b in binds {
        query = query.bind(b);
    }
    query
        .bind(filter.limit.clamp(1, 10_000))
        .fetch_all(ex)
        .await
}
