//! `/admin/companies`: companies with their support level and region, set by an
//! operator.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
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
use crate::ui::pages::{CompaniesPage, CompanyView, PageBase};

const COMPANIES: &str = "/admin/companies";

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
            level: c.support_level.as_str().to_owned(),
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
    let view = CompaniesPage {
        base: PageBase::new(
            lang,
            "admin_companies.title",
            browser::csrf_token(&state, &browser),
        ),
        operator: me.username,
        companies: rows,
        levels: support::LEVELS,
        regions: state.config.support.regions.keys().cloned().collect(),
        notice,
    };
    Ok(page(StatusCode::OK, &view))
}

/// The support form of a company.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SupportForm {
    level: String,
    region: Option<String>,
}

/// `POST /admin/companies/{domain}/support` with `level` and `region`: an unknown
/// level, region or company is a 400 page; a failure to store it is logged (500).
pub async fn set_support(
    State(state): State<AppState>,
    Operator(me): Operator,
    Path(domain): Path<String>,
    CsrfForm(form, _): CsrfForm<SupportForm>,
) -> Result<Response, PageError> {
    let actor = format!("operator:{}", me.username);
    let region = form.region.as_deref();
    support::set_company_support(&state, &domain, &form.level, region, &actor).await?;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("saved", &domain.trim().to_lowercase())
        .finish();
    Ok(Redirect::to(&format!("{COMPANIES}?{query}")).into_response())
}
