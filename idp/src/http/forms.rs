//! Extractors for the pages' state-changing forms and signed-in pages, so every
//! handler gets the same checks without repeating them.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use tower_cookies::Cookies;

use super::error::PageError;
use super::extract::RequestParams;
use super::login::safe_return_to;
use super::session;
use crate::db::sessions::SessionRow;
use crate::db::users::{self, UserRow};
use crate::oauth::params::Params;
use crate::state::AppState;

/// The parameters of a POSTed form whose CSRF token belongs to this browser and whose
/// `Origin`, if sent, is the issuer's.
///
/// Rejections: 400 page for a body that is not a form (or too large, or with more
/// than `http.max_params` fields), 403 "Form expired" for a missing or wrong token.
pub struct CsrfForm(pub Params);

impl<S> FromRequest<S> for CsrfForm
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let (mut parts, body) = req.into_parts();
        let cookies = Cookies::from_request_parts(&mut parts, state)
            .await
            .map_err(|_| PageError::BadRequest("error.params"))?;
        let headers = parts.headers.clone();
        let RequestParams(params) =
            RequestParams::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(|_| PageError::BadRequest("error.params"))?;
        if params.too_many() {
            return Err(PageError::BadRequest(super::extract::TOO_MANY_PARAMS));
        }
        if !session::check_form(&app, &cookies, &headers, params.get("csrf_token")) {
            return Err(PageError::Forbidden);
        }
        Ok(Self(params))
    }
}

/// The signed-in user and their browser session. Without a session, a redirect to
/// the login page that comes back here (for GET requests).
pub struct SignedIn {
    /// The user.
    pub user: UserRow,
    /// The browser session.
    pub session: SessionRow,
}

/// Why [`SignedIn`] was not available.
pub enum NotSignedIn {
    /// No session: go and log in.
    Login(String),
    /// A failure looking the session up.
    Error(PageError),
}

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        match self {
            NotSignedIn::Login(target) => Redirect::to(&target).into_response(),
            NotSignedIn::Error(e) => e.into_response(),
        }
    }
}

impl<S> FromRequestParts<S> for SignedIn
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = NotSignedIn;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let cookies = Cookies::from_request_parts(parts, state)
            .await
            .map_err(|_| NotSignedIn::Error(PageError::BadRequest("error.params")))?;
        let back = match parts.method {
            Method::GET => safe_return_to(Some(parts.uri.path())).unwrap_or("/"),
            _ => "/",
        };
        let login = || NotSignedIn::Login(format!("/login?return_to={back}"));
        let session = session::current(&app, &cookies)
            .await
            .map_err(|e| NotSignedIn::Error(PageError::Internal(e)))?
            .ok_or_else(login)?;
        let user = users::find_by_id(&app.db, &session.user_id)
            .await
            .map_err(|e| NotSignedIn::Error(e.into()))?
            .ok_or_else(login)?;
        Ok(Self { user, session })
    }
}
