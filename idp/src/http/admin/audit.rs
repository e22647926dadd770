//! `/admin/audit`: the whole audit trail for operators, newest first, filtered by
//! company domain and action.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::db::audit::{self, Filter};
use crate::db::companies;
use crate::http::error::{page, PageError};
use crate::http::extract::signed_in::Operator;
use crate::http::lang;
use crate::http::pages::company::activity::views;
use crate::state::AppState;
use crate::ui::pages::{AdminAuditPage, PageBase};

/// The filter: a company's domain and an action (empty: all).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    company: String,
    action: String,
}

/// `GET /admin/audit[?company=DOMAIN&action=ACTION]`: the newest 500 events. An
/// unknown company shows none.
pub async fn show(
    State(state): State<AppState>,
    Operator(me): Operator,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Ok(Query(q)) = query else {
        return Err(PageError::BadRequest("error.malformed_link"));
    };
    let lang = lang::preferred(me.locale.as_deref(), None);
    let all = companies::list(state.db.pool()).await?;
    let domain = q.company.trim().to_lowercase();
    let company_id = if domain.is_empty() {
        None
    } else {
        Some(
            companies::find_by_domain(state.db.pool(), &domain)
                .await?
                .map_or_else(|| "-".to_owned(), |c| c.id),
        )
    };
    let action = q.action.trim();
    let rows = audit::list(
        state.db.pool(),
        &Filter {
            company_id: company_id.as_deref(),
            user_id: None,
            action: Some(action).filter(|a| !a.is_empty()),
            limit: 500,
        },
    )
    .await?;
    let domains: HashMap<String, String> = all.into_iter().map(|c| (c.id, c.domain)).collect();
    let view = AdminAuditPage {
        base: PageBase::new(lang, "admin_audit.title", String::new()),
        company: domain,
        action: action.to_owned(),
        events: views(
            lang,
            me.zoneinfo.as_deref(),
            rows,
            &HashMap::new(),
            &domains,
        ),
    };
    Ok(page(StatusCode::OK, &view))
}
