//! The login page: username (or e-mail) and password. Every failure gets the same
//! message, and unknown users cost the same argon2 verification as known ones.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use tower_cookies::Cookies;

use super::authorize::{Pending, EXPIRED};
use super::error::{page, PageError};
use super::extract::{ParamsError, RequestParams};
use super::session;
use crate::crypto;
use crate::db::{auth_requests, clients, users};
use crate::state::AppState;

/// The one message for every failed login.
pub const LOGIN_FAILED: &str = "The username or password is incorrect.";

/// Query of `GET /login`.
#[derive(Deserialize)]
pub struct LoginQuery {
    request_id: Option<String>,
}

/// `GET /login[?request_id=…]`: the form, pre-filled with a login_hint.
pub async fn form(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let request_id = match query {
        Ok(Query(q)) => q.request_id,
        Err(_) => {
            return Err(PageError::BadRequest(
                "The sign-in link is malformed.".into(),
            ))
        }
    };
    let browser = session::browser_id(&state, &cookies);
    let (hint, client_name) = match &request_id {
        Some(id) => {
            let pending = load_pending(&state, &browser, id).await?;
            let client = clients::find(&state.db, &pending.request.client_id).await?;
            (
                pending.request.login_hint.unwrap_or_default(),
                client.map(|c| c.client_name),
            )
        }
        None => (String::new(), None),
    };
    Ok(render_form(
        &state,
        &browser,
        request_id.as_deref(),
        &hint,
        client_name,
        None,
    ))
}

/// `POST /login`: checks CSRF, then the credentials; on success starts a new session
/// and continues the pending authorization request.
pub async fn submit(
    State(state): State<AppState>,
    cookies: Cookies,
    headers: HeaderMap,
    params: Result<RequestParams, ParamsError>,
) -> Result<Response, PageError> {
    let RequestParams(params) = params.map_err(|e| PageError::BadRequest(e.to_string()))?;
    if !session::check_form(&state, &cookies, &headers, params.get("csrf_token")) {
        return Err(PageError::Forbidden);
    }
    let browser = session::browser_id(&state, &cookies);
    let request_id = params.get("request_id").map(str::to_owned);
    let client_name = match &request_id {
        Some(id) => {
            let pending = load_pending(&state, &browser, id).await?;
            clients::find(&state.db, &pending.request.client_id)
                .await?
                .map(|c| c.client_name)
        }
        None => None,
    };
    let login = params
        .get("username")
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    let password = params.get("password").unwrap_or_default();
    let user = if login.is_empty() || login.len() > 254 {
        None
    } else {
        users::find_by_login(&state.db, &login).await?
    };
    let phc = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let password_ok = state.passwords.verify(password, phc).await?;
    let user = match user {
        Some(user) if password_ok && user.is_active() => user,
        _ => {
            tracing::info!("failed login");
            let mut response = render_form(
                &state,
                &browser,
                request_id.as_deref(),
                &login,
                client_name,
                Some(LOGIN_FAILED),
            );
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            return Ok(response);
        }
    };
    session::start(&state, &cookies, &headers, &user).await?;
    tracing::info!(user = %user.id, "login");
    Ok(match request_id {
        Some(id) => Redirect::to(&format!("/authorize/resume?request_id={id}")),
        None => Redirect::to("/"),
    }
    .into_response())
}

async fn load_pending(state: &AppState, browser: &str, id: &str) -> Result<Pending, PageError> {
    let row = auth_requests::find(
        &state.db,
        &crypto::sha256_b64(id.as_bytes()),
        &crypto::sha256_b64(browser.as_bytes()),
        state.clock.now(),
    )
    .await?
    .ok_or_else(|| PageError::BadRequest(EXPIRED.into()))?;
    serde_json::from_str(&row.params).map_err(|e| PageError::Internal(e.into()))
}

fn render_form(
    state: &AppState,
    browser: &str,
    request_id: Option<&str>,
    username: &str,
    client_name: Option<String>,
    error: Option<&str>,
) -> Response {
    page(
        StatusCode::OK,
        "login.html",
        context! {
            title => "Sign in",
            csrf_token => session::csrf_token(state, browser),
            request_id,
            username,
            client_name,
            error,
        },
    )
}
