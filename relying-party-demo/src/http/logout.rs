//! `POST /logout`: ends the portal's session and sends the browser to the provider's
//! end_session_endpoint (RP-Initiated Logout 1.0 §2), which ends the provider session
//! and, over the back channel, every other portal's session.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Redirect;
use axum::Form;
use tower_cookies::Cookies;

use super::cookies::{self, LOGOUT_STATE, SESSION, SSO_CHECKED};
use super::PageError;
use crate::portal::Portal;

/// How long the browser has to come back from the provider's logout, in seconds.
const LOGOUT_STATE_SECONDS: i64 = 600;

/// The logout form.
#[derive(Debug, serde::Deserialize)]
pub struct LogoutForm {
    /// The session's CSRF token.
    csrf_token: Option<String>,
}

/// `POST /logout`.
pub async fn submit(
    State(portal): State<Portal>,
    cookies: Cookies,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Result<Redirect, PageError> {
    let Form(form) = form.map_err(|_| PageError::bad_request("Malformed form."))?;
    let origin = headers
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or("invalid"));
    let session = cookies::get(&portal, &cookies, SESSION);
    let target = portal.logout(session.as_deref(), form.csrf_token.as_deref(), origin)?;
    cookies::remove(&portal, &cookies, SESSION);
    // Back on the landing page, do not bounce through a silent login.
    let sso_seconds = portal.config().sso_check_seconds;
    cookies::set(&portal, &cookies, SSO_CHECKED, "1".into(), sso_seconds);
    match target {
        Some((url, state)) => {
            cookies::set(&portal, &cookies, LOGOUT_STATE, state, LOGOUT_STATE_SECONDS);
            Ok(Redirect::to(url.as_str()))
        }
        None => Ok(Redirect::to("/")),
    }
}
