//! The end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0), GET and POST.
//!
//! With a valid `id_token_hint` (an ID token of ours, never another kind of JWT:
//! [`id_token_hint::verify`]; expired is fine) for the browser's user, the session
//! ends at once, every relying party that got tokens through it is told over the back
//! channel, and the browser goes to `post_logout_redirect_uri` (only if registered for
//! the hint's client, compared exactly) with `state`, or to the URI exactly as
//! registered without one. Without a valid hint the user confirms on a page, and no
//! redirect follows: an unverified request never sends the browser anywhere.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tower_cookies::Cookies;

use crate::account::sessions;
use crate::db::sessions::SessionRow;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::params::{ParamsError, RequestParams};
use crate::http::lang;
use crate::oauth::authorization_response;
use crate::oauth::id_token_hint::{self, IdTokenHint};
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::ui::pages::{LogoutPage, PageBase};

/// `GET|POST /logout`.
pub async fn handle(
    State(state): State<AppState>,
    cookies: Cookies,
    headers: HeaderMap,
    params: Result<RequestParams, ParamsError>,
) -> Result<Response, PageError> {
    let params = logout_params(params)?;
    // The confirmation form posts back here with its CSRF token.
    if params.get("confirm").is_some() {
        return confirmed(&state, &cookies, &headers, &params).await;
    }
    let hint = checked_hint(&state, &params).await?;
    let current = browser::current(&state, &cookies).await?;
    match hint {
        Some(hint) => end_for_hint(&state, &cookies, &params, &hint, current.as_ref()).await,
        // No (valid) hint: ask, and never redirect.
        None => {
            let browser = browser::browser_id(&state, &cookies);
            Ok(confirm_page(&state, &browser, current.is_some()))
        }
    }
}

/// The request's parameters: each at most once, and a `state` that follows the rules
/// of /authorize's `state` (it goes back to the relying party); else 400
/// `error.params`.
fn logout_params(params: Result<RequestParams, ParamsError>) -> Result<Params, PageError> {
    let RequestParams(params) = params.map_err(|_| PageError::BadRequest("error.params"))?;
    if params.check().is_err() {
        return Err(PageError::BadRequest("error.params"));
    }
    if params
        .get("state")
        .is_some_and(|s| !crate::oauth::authorize::is_acceptable_value("state", s))
    {
        return Err(PageError::BadRequest("error.params"));
    }
    Ok(params)
}

/// The user confirmed on the page (with this browser's CSRF token, else 403): this
/// browser's session ends, and the page says so.
async fn confirmed(
    state: &AppState,
    cookies: &Cookies,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Response, PageError> {
    if !browser::check_form(state, cookies, headers, params.get("csrf_token")) {
        return Err(PageError::Forbidden);
    }
    if let Some(s) = browser::current(state, cookies).await? {
        sessions::end_session(state, &s.user_id, &s.sid, &format!("user:{}", s.user_id)).await?;
    }
    browser::clear(state, cookies);
    Ok(signed_out())
}

/// The verified `id_token_hint`, if one was sent and is valid; 400 if `client_id`
/// names another client than the hint's, or `post_logout_redirect_uri` is not
/// registered for the hint's client.
async fn checked_hint(state: &AppState, params: &Params) -> Result<Option<IdTokenHint>, PageError> {
    let hint = match params.get("id_token_hint") {
        Some(token) => id_token_hint::verify(state, token).await?,
        None => None,
    };
    let Some(hint) = hint else {
        return Ok(None);
    };
    if params
        .get("client_id")
        .is_some_and(|asked| hint.client.client_id != asked)
    {
        return Err(PageError::BadRequest("logout.client_mismatch"));
    }
    if let Some(uri) = params.get("post_logout_redirect_uri") {
        if !hint.client.allows_post_logout_redirect(uri) {
            return Err(PageError::BadRequest("logout.redirect_unregistered"));
        }
    }
    Ok(Some(hint))
}

/// Logout with a valid `hint`: asks if the browser is signed in as another user;
/// else ends this browser's `current` session (if any) and goes to the
/// `post_logout_redirect_uri` (with `state`) or to the signed-out page.
async fn end_for_hint(
    state: &AppState,
    cookies: &Cookies,
    params: &Params,
    hint: &IdTokenHint,
    current: Option<&SessionRow>,
) -> Result<Response, PageError> {
    match current {
        // The browser is signed in as someone else than the hint names: ask.
        Some(s) if s.user_id != hint.sub => {
            let browser = browser::browser_id(state, cookies);
            return Ok(confirm_page(state, &browser, true));
        }
        Some(s) => {
            let actor = format!("rp:{}", hint.client.client_id);
            sessions::end_session(state, &s.user_id, &s.sid, &actor).await?;
        }
        None => {}
    }
    // Only this browser's own session ends: an ID token alone (it travels in URLs) must
    // not sign its user out of other browsers.
    browser::clear(state, cookies);
    match params.get("post_logout_redirect_uri") {
        Some(uri) => {
            let target = authorization_response(uri, &[("state", params.get("state"))]);
            Ok(Redirect::to(&target).into_response())
        }
        None => Ok(signed_out()),
    }
}

fn confirm_page(state: &AppState, browser: &str, signed_in: bool) -> Response {
    let lang = lang::current();
    let logout = LogoutPage {
        base: PageBase::new(lang, "logout.title", browser::csrf_token(state, browser)),
        confirm: true,
        signed_in,
    };
    page(StatusCode::OK, &logout)
}

fn signed_out() -> Response {
    let lang = lang::current();
    let logout = LogoutPage {
        base: PageBase::new(lang, "logout.done_title", String::new()),
        confirm: false,
        signed_in: false,
    };
    page(StatusCode::OK, &logout)
}
