//! Operator pages: the approval queue of confirmed registrations.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use crate::account::approval::{self, DecisionError};
use crate::db::companies;
use crate::db::registrations::{self, RegistrationStatus};
use crate::error::internal_from;
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
) -> Result<Response, QueueError> {
    let pending = pending_rows(&state).await?;
    let lang = lang::preferred(me.locale.as_deref(), None);
    let (notice, error) = match query {
        Ok(Query(QueueQuery {
            notice: Some(notice),
            reg,
        })) => decision_message(&state, lang, &notice, reg.as_deref()).await?,
        _ => (None, None),
    };
    let browser = browser::browser_id(&state, &cookies);
    let view = QueuePage {
        base: PageBase::new(lang, "admin.title", browser::csrf_token(&state, &browser)),
        operator: me.username,
        pending,
        notice,
        error,
    };
    Ok(page(StatusCode::OK, &view))
}

/// The queue's rows: the confirmed registrations waiting for a decision, oldest
/// first, each with whether a company with its e-mail domain exists already.
async fn pending_rows(state: &AppState) -> Result<Vec<QueueRow>, QueueError> {
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
    Ok(rows)
}

/// The queue's `(notice, error)` in `lang` after the redirect of a decision with
/// `notice` about the registration `reg`. The address and the decision come from
/// the registration, never from the URL: "approved" shows only for a registration
/// that was approved; an unknown `notice` shows nothing.
async fn decision_message(
    state: &AppState,
    lang: &'static str,
    notice: &str,
    reg: Option<&str>,
) -> Result<(Option<String>, Option<String>), QueueError> {
    let (email, status) = match reg {
        Some(id) => registrations::find(state.db.pool(), id)
            .await?
            .map(|r| (r.email, Some(r.status))),
        None => None,
    }
    .unwrap_or_default();
    let text = |key: &str| i18n::text(lang, key, &[("email", &email)]);
    Ok(match notice {
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
    })
}

/// `POST /admin/registrations/{id}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    CsrfForm((), _): CsrfForm,
) -> Result<Response, QueueError> {
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
) -> Result<Response, QueueError> {
    decide(state, operator, id, Some(form.reason)).await
}

/// Approves the registration `id`, or rejects it with `reject_reason`, and goes
/// back to the queue, which says what happened.
async fn decide(
    state: AppState,
    Operator(me): Operator,
    id: String,
    reject_reason: Option<String>,
) -> Result<Response, QueueError> {
    if registrations::find(state.db.pool(), &id).await?.is_none() {
        return Err(QueueError::NotFound);
    }
    let actor = format!("operator:{}", me.username);
    let decided = match &reject_reason {
        Some(reason) => {
            let reason =
                rejection_reason(reason).ok_or_else(|| QueueError::InvalidReason(id.clone()))?;
            approval::reject(&state, &id, &actor, reason)
                .await
                .map(|()| "rejected")
        }
        None => approval::approve(&state, &id, &actor)
            .await
            .map(|_| "approved"),
    };
    let notice = decided.map_err(|e| QueueError::refused(e, &id))?;
    Ok(back_to_queue(notice, &id))
}

/// The rejection reason as typed, trimmed; `None` if that is empty, longer than 500
/// characters or has control characters.
fn rejection_reason(reason: &str) -> Option<&str> {
    let reason = reason.trim();
    let valid = !reason.is_empty()
        && reason.chars().count() <= 500
        && !reason.chars().any(char::is_control);
    valid.then_some(reason)
}

/// Why the approval queue or a decision on a registration failed. A refused decision
/// goes back to the queue (303), whose `notice` (the i18n key `admin.<notice>`) says
/// why, about the registration `reg`; only `Internal` is an error page.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// 303 to the queue with `notice=not_pending` and no `reg`: no registration
    /// with this id.
    #[error("no such registration")]
    NotFound,
    /// 303, `notice=not_pending`: the registration (the id) is not waiting for a
    /// decision (unconfirmed, or already decided).
    #[error("registration {0} is not pending")]
    NotPending(String),
    /// 303, `notice=account_exists`: an account with the address of the
    /// registration (the id) exists already.
    #[error("an account with the address of registration {0} exists already")]
    AccountExists(String),
    /// 303, `notice=reason_required`: a rejection of the registration (the id)
    /// without a reason, or with one over 500 characters or with control characters.
    #[error("the rejection of registration {0} needs a reason")]
    InvalidReason(String),
    /// 500 error page (logged).
    #[error(transparent)]
    Internal(anyhow::Error),
}

internal_from!(QueueError: sqlx::Error, anyhow::Error, crate::error::Internal);

impl QueueError {
    /// Why the decision on the registration `id` was refused.
    fn refused(e: DecisionError, id: &str) -> Self {
        match e {
            DecisionError::NotPending => QueueError::NotPending(id.to_owned()),
            DecisionError::AccountExists => QueueError::AccountExists(id.to_owned()),
            DecisionError::Internal(e) => QueueError::Internal(e.into()),
        }
    }
}

impl IntoResponse for QueueError {
    fn into_response(self) -> Response {
        match self {
            QueueError::NotFound => back_to_queue("not_pending", ""),
            QueueError::NotPending(id) => back_to_queue("not_pending", &id),
            QueueError::AccountExists(id) => back_to_queue("account_exists", &id),
            QueueError::InvalidReason(id) => back_to_queue("reason_required", &id),
            QueueError::Internal(e) => PageError::Internal(e).into_response(),
        }
    }
}

/// 303 to the queue with `notice` about the registration `reg`.
fn back_to_queue(notice: &str, reg: &str) -> Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("notice", notice)
        .append_pair("reg", reg)
        .finish();
    Redirect::to(&format!("{QUEUE}?{query}")).into_response()
}
