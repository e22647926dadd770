//! Operator pages: the approval queue of confirmed registrations.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use crate::account::approval::{self, DecisionError};
use crate::db::companies;
use crate::db::registrations::{self, RegistrationStatus};
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::signed_in::Operator;
use crate::http::lang;
use crate::state::AppState;
use crate::ui::i18n;
use crate::ui::pages::{PageBase, QueuePage, QueueRow};

const QUEUE: &str = "/admin/registrations";

/// Query of the queue page.
#[derive(Deserialize)]
pub struct QueueQuery {
    notice: Option<String>,
    reg: Option<String>,
}

/// `GET /admin/registrations`: confirmed registrations waiting for a decision,
/// oldest first, with whether their company (by e-mail domain) already exists.
pub async fn queue(
    State(state): State<AppState>,
    cookies: Cookies,
    Operator(me): Operator,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let mut rows = Vec::new();
    for r in registrations::list_by_status(&state.db, RegistrationStatus::Pending).await? {
        let domain = r
            .email
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        let company_exists = companies::find_by_domain(state.db.pool(), &domain)
            .await?
            .is_some();
        rows.push(QueueRow {
            id: r.id,
            age_hours: (now - r.confirmed_at.unwrap_or(r.created_at)).max(0) / 3600,
            name: format!("{} {}", r.given_name, r.family_name),
            email: r.email,
            job_title: r.job_title,
            company: r.company_name,
            country: r.country,
            domain,
            company_exists,
        });
    }
    let lang = lang::preferred(me.locale.as_deref(), None);
    let (notice, error) = match query.ok().map(|Query(q)| q) {
        Some(QueueQuery {
            notice: Some(n),
            reg,
        }) => {
            // The address and the decision come from the registration, never from
            // the URL: "approved" shows only for a registration that was approved.
            let (email, status) = match reg {
                Some(id) => registrations::find(state.db.pool(), &id)
                    .await?
                    .map(|r| (r.email, Some(r.status))),
                None => None,
            }
            .unwrap_or_default();
            let text = |key: &str| i18n::text(lang, key, &[("email", &email)]);
            match n.as_str() {
                "approved" if status == Some(RegistrationStatus::Approved) => {
                    (Some(text("admin.approved")), None)
                }
                "rejected" if status == Some(RegistrationStatus::Rejected) => {
                    (Some(text("admin.rejected")), None)
                }
                "not_pending" => (None, Some(text("admin.not_pending"))),
                "account_exists" => (None, Some(text("admin.account_exists"))),
                "reason_required" => (None, Some(text("admin.reason_required"))),
                _ => (None, None),
            }
        }
        _ => (None, None),
    };
    let browser = browser::browser_id(&state, &cookies);
    let view = QueuePage {
        base: PageBase::new(lang, "admin.title", browser::csrf_token(&state, &browser)),
        operator: me.username,
        pending: rows,
        notice,
        error,
    };
    Ok(page(StatusCode::OK, &view))
}

/// `POST /admin/registrations/{id}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    CsrfForm((), _): CsrfForm,
) -> Result<Response, PageError> {
    decide(state, operator, id, None).await
}

/// The reject form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RejectForm {
    reason: String,
}

/// `POST /admin/registrations/{id}/reject` with a `reason`.
pub async fn reject(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    CsrfForm(form, _): CsrfForm<RejectForm>,
) -> Result<Response, PageError> {
    decide(state, operator, id, Some(form.reason)).await
}

async fn decide(
    state: AppState,
    Operator(me): Operator,
    id: String,
    reject_reason: Option<String>,
) -> Result<Response, PageError> {
    let back = |notice: &str, reg: &str| -> Response {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("notice", notice)
            .append_pair("reg", reg)
            .finish();
        Redirect::to(&format!("{QUEUE}?{query}")).into_response()
    };
    if registrations::find(state.db.pool(), &id).await?.is_none() {
        return Ok(back("not_pending", ""));
    }
    let actor = format!("operator:{}", me.username);
    let result = if let Some(reason) = &reject_reason {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control)
        {
            return Ok(back("reason_required", &id));
        }
        approval::reject(&state, &id, &actor, reason)
            .await
            .map(|()| "rejected")
    } else {
        approval::approve(&state, &id, &actor)
            .await
            .map(|_| "approved")
    };
    match result {
        Ok(notice) => Ok(back(notice, &id)),
        Err(DecisionError::NotPending) => Ok(back("not_pending", &id)),
        Err(DecisionError::AccountExists) => Ok(back("account_exists", &id)),
        Err(DecisionError::Internal(e)) => Err(PageError::Internal(e.into())),
    }
}
