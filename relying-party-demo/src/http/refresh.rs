//! `POST /refresh`: the landing page's "Refresh" button. Exchanges the session's
//! refresh token (RFC 6749 §6, OIDC Core §12) and shows the profile as the provider
//! has it now: a role granted or removed since the login appears or disappears
//! without signing out.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Redirect;
use axum::Form;
use tower_cookies::Cookies;

use super::cookies::{self, SESSION};
use super::PageError;
use crate::portal::{Portal, RefreshError};

/// The refresh form.
#[derive(Debug, serde::Deserialize)]
pub struct RefreshForm {
    /// The session's CSRF token.
    csrf_token: Option<String>,
}

/// `POST /refresh`: 303 to `/` when refreshed, and also when the provider refused the
/// refresh token (the local session has ended; the landing page then checks the
/// provider session again).
pub async fn submit(
    State(portal): State<Portal>,
    cookies: Cookies,
    headers: HeaderMap,
    form: Result<Form<RefreshForm>, FormRejection>,
) -> Result<Redirect, PageError> {
    let Form(form) = form.map_err(|_| PageError::bad_request("Malformed form."))?;
    let origin = headers
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or("invalid"));
    let session = cookies::get(&portal, &cookies, SESSION);
    match portal
        .refresh(session.as_deref(), form.csrf_token.as_deref(), origin)
        .await
    {
        Ok(()) | Err(RefreshError::NoSession) => Ok(Redirect::to("/")),
        Err(RefreshError::Refused(e)) => {
            tracing::info!(error = %e, "refresh refused; the local session has ended");
            cookies::remove(&portal, &cookies, SESSION);
            Ok(Redirect::to("/"))
        }
        Err(e) => Err(e.into()),
    }
}
