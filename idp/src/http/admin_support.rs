//! Operator pages for support: companies with their support level and region, and
//! checking the support PIN a caller reads out (throttled and audited).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use tower_cookies::Cookies;

use super::client_ip::ClientIp;
use super::error::{page, PageError};
use super::fields::{FieldErrors, Fields, PIN_DIGITS, PIN_FORMAT};
use super::forms::{CsrfForm, Operator};
use super::{lang, session};
use crate::account::support;
use crate::db::{companies, users};
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
pub async fn companies(
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
    let browser = session::browser_id(&state, &cookies);
    Ok(page(
        StatusCode::OK,
        "admin_companies.html",
        context! {
            lang,
            title => i18n::text(lang, "admin_companies.title", &[]),
            operator => me.username,
            csrf_token => session::csrf_token(&state, &browser),
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

/// `GET /admin/support`: the PIN check form.
pub async fn pin_form(
    State(state): State<AppState>,
    cookies: Cookies,
    Operator(me): Operator,
) -> Result<Response, PageError> {
    let browser = session::browser_id(&state, &cookies);
    let view = PinView {
        email: "",
        notice: None,
        error: None,
        errors: &FieldErrors::new(),
    };
    Ok(render_pin(
        &state,
        &browser,
        &me.locale,
        view,
        StatusCode::OK,
    ))
}

/// `POST /admin/support`: checks `pin` for the account `email`. A missing,
/// repeated or unreadable field, an address that is not one, or a PIN that is not
/// 4 to 10 digits gets the field's message (400) and is neither counted nor audited.
pub async fn pin_check(
    State(state): State<AppState>,
    cookies: Cookies,
    Operator(me): Operator,
    client: ClientIp,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let lang = lang::preferred(me.locale.as_deref(), None);
    let browser = session::browser_id(&state, &cookies);
    let typed = params.get("email").unwrap_or_default();
    let mut fields = Fields::new(&params);
    let email = fields.email("email");
    let pin = fields.digits("pin", PIN_DIGITS, PIN_FORMAT);
    let email = match (fields.finish(), email) {
        (Ok(()), Some(email)) => email,
        (checked, _) => {
            let errors = checked.err().unwrap_or_default();
            let view = PinView {
                email: typed,
                notice: None,
                error: None,
                errors: &errors,
            };
            return Ok(render_pin(
                &state,
                &browser,
                &me.locale,
                view,
                StatusCode::BAD_REQUEST,
            ));
        }
    };
    let actor = format!("operator:{}", me.username);
    let (notice, error, status) =
        match support::verify_pin(&state, &email, pin, &actor, &client.network()).await? {
            Ok(true) => (
                Some(i18n::text(
                    lang,
                    "admin_support.match",
                    &[("email", email.as_str())],
                )),
                None,
                StatusCode::OK,
            ),
            Ok(false) => (
                None,
                Some(i18n::text(lang, "admin_support.no_match", &[])),
                StatusCode::OK,
            ),
            Err(blocked) => {
                let minutes = blocked.minutes().to_string();
                (
                    None,
                    Some(i18n::text(
                        lang,
                        "throttle.try_again",
                        &[("minutes", &minutes)],
                    )),
                    StatusCode::TOO_MANY_REQUESTS,
                )
            }
        };
    let view = PinView {
        email: "",
        notice,
        error,
        errors: &FieldErrors::new(),
    };
    Ok(render_pin(&state, &browser, &me.locale, view, status))
}

/// What the PIN check page shows besides the form.
struct PinView<'a> {
    email: &'a str,
    notice: Option<String>,
    error: Option<String>,
    errors: &'a FieldErrors,
}

fn render_pin(
    state: &AppState,
    browser: &str,
    locale: &Option<String>,
    view: PinView<'_>,
    status: StatusCode,
) -> Response {
    let lang = lang::preferred(locale.as_deref(), None);
    page(
        status,
        "admin_support.html",
        context! {
            lang,
            title => i18n::text(lang, "admin_support.title", &[]),
            csrf_token => session::csrf_token(state, browser),
            email => view.email,
            notice => view.notice,
            error => view.error,
            errors => view.errors,
        },
    )
}
