//! `/admin/companies`: companies with their support level and region, set by an
//! operator.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use tower_cookies::Cookies;

use crate::account::support;
use crate::db::{companies, users};
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::signed_in::Operator;
use crate::http::lang;
use crate::state::AppState;
use crate::ui::i18n;

const COMPANIES: &str = "/admin/companies";

/// A company row of the page.
#[derive(Serialize)]
struct CompanyView {
    name: String,
    domain: String,
    level: String,
    region: Option<String>,
    users: i64,
}

/// Query of the companies page: `saved`, the domain of a company just saved (shown
/// only if such a company exists).
#[derive(Deserialize)]
pub struct CompaniesQuery {
    saved: Option<String>,
}

/// `GET /admin/companies`.
pub async fn list(
    State(state): State<AppState>,
    cookies: Cookies,
    Operator(me): Operator,
    query: Result<Query<CompaniesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let lang = lang::preferred(me.locale.as_deref(), None);
    let mut rows = Vec::new();
    for c in companies::list(state.db.pool()).await? {
        rows.push(CompanyView {
            users: users::count_in_company(&state.db, &c.id).await?,
            name: c.name,
            domain: c.domain,
            level: c.support_level,
            region: c.region,
        });
    }
    // The notice names a company from the database, never text from the URL.
    let saved = query.ok().and_then(|Query(q)| q.saved);
    let notice = saved
        .and_then(|saved| {
            rows.iter()
                .find(|c| c.domain == saved.trim().to_lowercase())
        })
        .map(|c| i18n::text(lang, "admin_companies.saved", &[("domain", &c.domain)]));
    let browser = browser::browser_id(&state, &cookies);
    Ok(page(
        StatusCode::OK,
        "admin_companies.html",
        context! {
            lang,
            title => i18n::text(lang, "admin_companies.title", &[]),
            operator => me.username,
            csrf_token => browser::csrf_token(&state, &browser),
            companies => rows,
            levels => support::LEVELS,
            regions => state.config.support.regions.keys().collect::<Vec<_>>(),
            notice,
        },
    ))
}

/// `POST /admin/companies/{domain}/support` with `level` and `region`.
pub async fn set_support(
    State(state): State<AppState>,
    Operator(me): Operator,
    Path(domain): Path<String>,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let level = params.get("level").unwrap_or_default();
    let region = params.get("region").filter(|r| !r.is_empty());
    if support::set_company_support(
        &state,
        &domain,
        level,
        region,
        &format!("operator:{}", me.username),
    )
    .await
    .is_err()
    {
        return Err(PageError::BadRequest("admin_companies.invalid"));
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("saved", &domain.trim().to_lowercase())
        .finish();
    Ok(Redirect::to(&format!("{COMPANIES}?{query}")).into_response())
}
