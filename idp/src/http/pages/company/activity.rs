//! `/company/activity`: the company's audit trail for its Super Admin — invitations,
//! acceptances, role changes, disabling, enabling, removal — newest first, filtered
//! by member and action, and the same as CSV (`/company/activity.csv`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use crate::db::audit::{self, AuditRow, Filter};
use crate::db::members;
use crate::http::error::{page, PageError};
use crate::http::extract::signed_in::SuperAdmin;
use crate::http::lang;
use crate::http::pages::profile::local_time;
use crate::state::AppState;
use crate::ui::i18n;
use crate::ui::pages::{ActivityPage, AuditView, FilterOption, PageBase};

/// The actions a company's trail has, in the filter's order.
pub const COMPANY_ACTIONS: &[&str] = &[
    "invitation.created",
    "invitation.resent",
    "invitation.revoked",
    "invitation.accepted",
    "invitation.renewal_requested",
    "member.roles_changed",
    "member.super_admin_granted",
    "member.disabled",
    "member.enabled",
    "member.removed",
    "company.domain_added",
    "company.domain_removed",
];

/// Most events a page or export shows.
const LIMIT: i64 = 1000;

/// The filter: a member's subject and an action (empty: all).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActivityQuery {
    user: String,
    action: String,
}

impl ActivityQuery {
    fn filter<'a>(&'a self, company_id: &'a str) -> Filter<'a> {
        Filter {
            company_id: Some(company_id),
            user_id: Some(self.user.as_str()).filter(|u| !u.is_empty()),
            // Literal: an action that is not one of the company's shows no events
            // rather than silently all of them.
            action: Some(self.action.as_str()).filter(|a| !a.is_empty()),
            limit: LIMIT,
        }
    }
}

/// The action `action` in words (its name if it has none).
pub fn action_label(lang: &str, action: &str) -> String {
    let key = format!("audit.actions.{}", action.replace('.', "_"));
    let text = i18n::text(lang, &key, &[]);
    if text.is_empty() || text.ends_with(&key) || text == key {
        action.to_owned()
    } else {
        text
    }
}

/// Event rows in `lang` and time zone `zone`; `names` maps user ids to names (the
/// actor `user:<id>` and member subjects are shown by name when known).
pub fn views(
    lang: &str,
    zone: Option<&str>,
    rows: Vec<AuditRow>,
    names: &HashMap<String, String>,
    companies: &HashMap<String, String>,
) -> Vec<AuditView> {
    rows.into_iter()
        .map(|e| {
            let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
            let actor = e
                .actor
                .strip_prefix("user:")
                .and_then(|id| names.get(id))
                .cloned()
                .unwrap_or_else(|| e.actor.clone());
            let subject = details
                .get("email")
                .and_then(Value::as_str)
                .or_else(|| details.get("domain").and_then(Value::as_str))
                .map_or_else(|| e.subject.clone(), str::to_owned);
            AuditView {
                at: local_time(e.at, zone),
                actor,
                action_label: action_label(lang, &e.action),
                action: e.action,
                subject,
                company: e
                    .company_id
                    .as_ref()
                    .and_then(|c| companies.get(c))
                    .cloned()
                    .unwrap_or_default(),
                ip: e.ip.unwrap_or_default(),
                details: detail_words(&details),
            }
        })
        .collect()
}

/// Roles before → after (`—` for none), or the roles an invitation grants.
fn detail_words(details: &Value) -> String {
    let list = |v: Option<&Value>| {
        let names: Vec<&str> = v
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if names.is_empty() {
            "—".to_owned()
        } else {
            names.join(", ")
        }
    };
    if details.get("before").is_some() {
        return format!(
            "{} → {}",
            list(details.get("before")),
            list(details.get("after"))
        );
    }
    match details.get("roles") {
        Some(roles) if roles.as_array().is_some_and(|a| !a.is_empty()) => list(Some(roles)),
        _ => String::new(),
    }
}

async fn company_rows(
    state: &AppState,
    me: &SuperAdmin,
    query: &ActivityQuery,
) -> Result<(Vec<AuditRow>, HashMap<String, String>), PageError> {
    let company_id = me.acting.company_id.as_deref().unwrap_or_default();
    let rows = audit::list(state.db.pool(), &query.filter(company_id)).await?;
    let names = members::list(state.db.pool(), company_id)
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u.display_name()))
        .collect();
    Ok((rows, names))
}

/// `GET /company/activity[?user=SUB&action=ACTION]`.
pub async fn show(
    State(state): State<AppState>,
    me: SuperAdmin,
    query: Result<Query<ActivityQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    // A repeated or malformed filter is a 400, never "no filter".
    let Ok(Query(query)) = query else {
        return Err(PageError::BadRequest("error.malformed_link"));
    };
    let lang = lang::preferred(me.user.locale.as_deref(), None);
    let (rows, names) = company_rows(&state, &me, &query).await?;
    let company_id = me.acting.company_id.as_deref().unwrap_or_default();
    let company = crate::db::companies::find(state.db.pool(), company_id)
        .await?
        .map(|c| c.name)
        .unwrap_or_default();
    let mut users: Vec<FilterOption> = names
        .iter()
        .map(|(id, name)| FilterOption {
            selected: *id == query.user,
            value: id.clone(),
            label: name.clone(),
        })
        .collect();
    users.sort_by(|a, b| a.label.cmp(&b.label));
    let actions = COMPANY_ACTIONS
        .iter()
        .map(|a| FilterOption {
            value: (*a).to_owned(),
            label: action_label(lang, a),
            selected: *a == query.action,
        })
        .collect();
    let csv_query = form_urlencoded::Serializer::new(String::new())
        .append_pair("user", &query.user)
        .append_pair("action", &query.action)
        .finish();
    let view = ActivityPage {
        base: PageBase::new(lang, "company.activity_title", String::new()),
        company,
        users,
        actions,
        events: views(
            lang,
            me.user.zoneinfo.as_deref(),
            rows,
            &names,
            &HashMap::new(),
        ),
        csv_url: format!("/company/activity.csv?{csv_query}"),
    };
    Ok(page(StatusCode::OK, &view))
}

/// A CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection):
/// a value starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`.
fn cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

/// `GET /company/activity.csv[?user=SUB&action=ACTION]`: the same events as CSV
/// (UTF-8, a header row; times in UTC, RFC 3339).
pub async fn csv(
    State(state): State<AppState>,
    me: SuperAdmin,
    query: Result<Query<ActivityQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    // A repeated or malformed filter is a 400, never "no filter".
    let Ok(Query(query)) = query else {
        return Err(PageError::BadRequest("error.malformed_link"));
    };
    let (rows, names) = company_rows(&state, &me, &query).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let header_row = [
        "time",
        "actor",
        "action",
        "subject",
        "ip",
        "user_agent",
        "details",
    ];
    out.write_record(header_row).map_err(anyhow::Error::from)?;
    for e in rows {
        let at = chrono::DateTime::from_timestamp(e.at, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        let actor = e
            .actor
            .strip_prefix("user:")
            .and_then(|id| names.get(id))
            .map_or_else(|| e.actor.clone(), |n| format!("{n} ({})", e.actor));
        let record = [
            at,
            actor,
            e.action.clone(),
            e.subject.clone(),
            e.ip.clone().unwrap_or_default(),
            e.user_agent.clone().unwrap_or_default(),
            e.details.clone(),
        ];
        out.write_record(record.iter().map(|v| cell(v)))
            .map_err(anyhow::Error::from)?;
    }
    let body = out.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"activity.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}
