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
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::params::{ParamsError, RequestParams};
use crate::http::lang;
use crate::oauth::{authorization_response, id_token_hint};
use crate::state::AppState;
use crate::ui::pages::{LogoutPage, PageBase};

/// `GET|POST /logout`.
pub async fn handle(
    State(state): State<AppState>,
    cookies: Cookies,
    headers: HeaderMap,
    params: Result<RequestParams, ParamsError>,
) -> Result<Response, PageError> {
    let RequestParams(params) = params.map_err(|_| PageError::BadRequest("error.params"))?;
    if params.check().is_err() {
        return Err(PageError::BadRequest("error.params"));
    }
    // `state` goes back to the relying party: the rules of /authorize's `state`.
    if params
        .get("state")
        .is_some_and(|s| !crate::oauth::authorize::is_acceptable_value("state", s))
    {
        return Err(PageError::BadRequest("error.params"));
    }
    // The confirmation form posts back here with its CSRF token.
    if params.get("confirm").is_some() {
        if !browser::check_form(&state, &cookies, &headers, params.get("csrf_token")) {
            return Err(PageError::Forbidden);
        }
        if let Some(s) = browser::current(&state, &cookies).await? {
            sessions::end_session(&state, &s.user_id, &s.sid, &format!("user:{}", s.user_id))
                .await?;
        }
        browser::clear(&state, &cookies);
        return Ok(signed_out());
    }
    let hint = match params.get("id_token_hint") {
        Some(token) => id_token_hint::verify(&state, token).await?,
        None => None,
    };
    if let (Some(hint), Some(asked)) = (&hint, params.get("client_id")) {
        if hint.client.client_id != asked {
            return Err(PageError::BadRequest("logout.client_mismatch"));
        }
    }
    let redirect = params.get("post_logout_redirect_uri");
    if let (Some(hint), Some(uri)) = (&hint, redirect) {
        if !hint.client.allows_post_logout_redirect(uri) {
            return Err(PageError::BadRequest("logout.redirect_unregistered"));
        }
    }
    let current = browser::current(&state, &cookies).await?;
    let Some(hint) = hint else {
        // No (valid) hint: ask, and never redirect.
        let browser = browser::browser_id(&state, &cookies);
        return Ok(confirm_page(&state, &browser, current.is_some()));
    };
    match &current {
        // The browser is signed in as someone else than the hint names: ask.
        Some(s) if s.user_id != hint.sub => {
            let browser = browser::browser_id(&state, &cookies);
            return Ok(confirm_page(&state, &browser, true));
        }
        Some(s) => {
            sessions::end_session(
                &state,
                &s.user_id,
                &s.sid,
                &format!("rp:{}", hint.client.client_id),
            )
            .await?;
        }
        None => {}
    }
    // Only this browser's own session ends: an ID token alone (it travels in URLs) must
    // not sign its user out of other browsers.
    browser::clear(&state, &cookies);
    match redirect {
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
