//! The end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0), GET and POST.
//!
//! With a valid `id_token_hint` (our signature; expired is fine) for the browser's
//! user, the session ends at once, every relying party that got tokens through it is
//! told over the back channel, and the browser goes to `post_logout_redirect_uri`
//! (only if registered for the hint's client, compared exactly) with `state`. Without
//! a valid hint the user confirms on a page, and no redirect follows: an unverified
//! request never sends the browser anywhere.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde_json::Value;
use tower_cookies::Cookies;

use super::error::{page, PageError};
use super::extract::{ParamsError, RequestParams};
use super::{lang, session};
use crate::db::clients;
use crate::i18n;
use crate::logout;
use crate::oauth::authorization_response;
use crate::oauth::client::Client;
use crate::state::AppState;

/// What a valid id_token_hint says.
struct Hint {
    client_id: String,
    sub: String,
}

fn verify_hint(state: &AppState, token: &str) -> Option<Hint> {
    let (_, claims) = state.keys.verify(token).ok()?;
    if claims.get("iss").and_then(Value::as_str) != Some(state.config.issuer.as_str()) {
        return None;
    }
    let client_id = match claims.get("aud")? {
        Value::String(aud) => aud.clone(),
        Value::Array(list) => list.first()?.as_str()?.to_owned(),
        _ => return None,
    };
    Some(Hint {
        client_id,
        sub: claims.get("sub")?.as_str()?.to_owned(),
    })
}

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
    // The confirmation form posts back here with its CSRF token.
    if params.get("confirm").is_some() {
        if !session::check_form(&state, &cookies, &headers, params.get("csrf_token")) {
            return Err(PageError::Forbidden);
        }
        if let Some(s) = session::current(&state, &cookies).await? {
            logout::end_session(&state, &s.user_id, &s.sid, &format!("user:{}", s.user_id)).await?;
        }
        session::clear(&state, &cookies);
        return Ok(signed_out());
    }
    let hint = params
        .get("id_token_hint")
        .and_then(|t| verify_hint(&state, t));
    if let (Some(hint), Some(asked)) = (&hint, params.get("client_id")) {
        if hint.client_id != asked {
            return Err(PageError::BadRequest("logout.client_mismatch"));
        }
    }
    let redirect = params.get("post_logout_redirect_uri");
    let client: Option<Client> = match &hint {
        Some(h) => clients::find(&state.db, &h.client_id)
            .await?
            .map(Client::from_row)
            .transpose()?,
        None => None,
    };
    if let Some(uri) = redirect {
        let allowed = client
            .as_ref()
            .is_some_and(|c| c.allows_post_logout_redirect(uri));
        if hint.is_some() && !allowed {
            return Err(PageError::BadRequest("logout.redirect_unregistered"));
        }
    }
    let current = session::current(&state, &cookies).await?;
    let Some(hint) = hint else {
        // No (valid) hint: ask, and never redirect.
        let browser = session::browser_id(&state, &cookies);
        return Ok(confirm_page(&state, &browser, current.is_some()));
    };
    match &current {
        // The browser is signed in as someone else than the hint names: ask.
        Some(s) if s.user_id != hint.sub => {
            let browser = session::browser_id(&state, &cookies);
            return Ok(confirm_page(&state, &browser, true));
        }
        Some(s) => {
            logout::end_session(
                &state,
                &s.user_id,
                &s.sid,
                &format!("rp:{}", hint.client_id),
            )
            .await?;
        }
        None => {}
    }
    // Only this browser's own session ends: an ID token alone (it travels in URLs) must
    // not sign its user out of other browsers.
    session::clear(&state, &cookies);
    match (redirect, client) {
        (Some(uri), Some(_)) => {
            let target = authorization_response(uri, &[("state", params.get("state"))]);
            Ok(Redirect::to(&target).into_response())
        }
        _ => Ok(signed_out()),
    }
}

fn confirm_page(state: &AppState, browser: &str, signed_in: bool) -> Response {
    let lang = lang::current();
    page(
        StatusCode::OK,
        "logout.html",
        context! {
            title => i18n::text(lang, "logout.title", &[]),
            csrf_token => session::csrf_token(state, browser),
            confirm => true,
            signed_in,
        },
    )
}

fn signed_out() -> Response {
    let lang = lang::current();
    page(
        StatusCode::OK,
        "logout.html",
        context! { title => i18n::text(lang, "logout.done_title", &[]), confirm => false },
    )
}
