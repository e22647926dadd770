//! `GET /callback`: the redirect_uri. Completes the login attempt of this browser
//! (OIDC Core §3.1.2.5–3.1.3.7) or shows why not; the attempt cookie is used once.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Redirect;
use tower_cookies::Cookies;

use super::cookies::{self, ATTEMPT, SESSION};
use super::PageError;
use crate::portal::{AuthorizationResponse, CallbackOutcome, Portal};

/// `GET /callback`.
pub async fn handle(
    State(portal): State<Portal>,
    cookies: Cookies,
    query: Result<Query<AuthorizationResponse>, QueryRejection>,
) -> Result<Redirect, PageError> {
    let attempt = cookies::get(&portal, &cookies, ATTEMPT);
    cookies::remove(&portal, &cookies, ATTEMPT);
    let Query(response) =
        query.map_err(|_| PageError::bad_request("Malformed sign-in response."))?;
    match portal.finish_login(attempt.as_deref(), response).await? {
        CallbackOutcome::SignedIn(session) => {
            if let Some(old) = cookies::get(&portal, &cookies, SESSION) {
                portal.end_local_session(&old);
            }
            let max_age = portal.config().session_seconds;
            cookies::set(&portal, &cookies, SESSION, session, max_age);
            Ok(Redirect::to("/"))
        }
        CallbackOutcome::InteractionRequired => Ok(Redirect::to("/")),
    }
}
