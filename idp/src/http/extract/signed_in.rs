//! Extractors of the signed-in pages: the user and session, with the gates of the
//! forced password change and of operator pages, so every handler gets them.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};

use crate::account::members::Acting;
use crate::db::sessions::SessionRow;
use crate::db::users::{self, User};
use crate::http::browser;
use crate::http::error::PageError;
use crate::http::extract::client_ip::ClientIp;
use crate::state::AppState;

/// The signed-in user and their browser session, for every signed-in page and
/// action except `/password/new`. Without a session: a redirect to the login page
/// that comes back here (for GET requests). While the user still has to replace a
/// one-time password: GET requests go to `/password/new`, anything else is refused
/// (403 page), like token issuance waits for the new password.
pub struct SignedIn {
    /// The user.
    pub user: User,
    /// The browser session.
    pub session: SessionRow,
}

/// The signed-in user of `/password/new`: like [`SignedIn`], but also while the
/// one-time password still has to be replaced (that is what the page is for).
pub struct SignedInForNewPassword {
    /// The user.
    pub user: User,
    /// The browser session.
    pub session: SessionRow,
}

/// A signed-in provider operator (the admin pages): [`SignedIn`] whose user is an
/// operator; 403 page for other users.
pub struct Operator(pub User);

/// A signed-in Super Admin of a company (the company pages): [`SignedIn`] whose
/// user holds `super_admin` in a company, as the [`Acting`] of the company
/// functions (with the request's client IP and browser); 403 page for other users.
pub struct SuperAdmin {
    /// The acting Super Admin, scoped to their own company.
    pub acting: Acting,
    /// The user.
    pub user: User,
    /// The browser session.
    pub session: SessionRow,
}

/// Why [`SignedIn`] was not available.
pub enum NotSignedIn {
    /// No session (go and log in), or a password to replace first: a redirect there.
    Login(String),
    /// A failure looking the session up, or a refused action (an error page).
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

/// The session and user of the request, whatever the state of the password.
async fn session_user(
    parts: &mut Parts,
    app: &AppState,
) -> Result<(User, SessionRow), NotSignedIn> {
    let cookies = super::cookies(parts, app)
        .await
        .map_err(NotSignedIn::Error)?;
    let back = match parts.method {
        Method::GET => safe_return_to(Some(parts.uri.path())).unwrap_or("/"),
        _ => "/",
    };
    let login = || NotSignedIn::Login(format!("/login?return_to={back}"));
    let session = browser::current(app, &cookies)
        .await
        .map_err(|e| NotSignedIn::Error(PageError::Internal(e)))?
        .ok_or_else(login)?;
    let user = users::find_by_id(&app.db, &session.user_id)
        .await
        .map_err(|e| NotSignedIn::Error(e.into()))?
        .ok_or_else(login)?;
    Ok((user, session))
}

impl<S> FromRequestParts<S> for SignedInForNewPassword
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = NotSignedIn;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (user, session) = session_user(parts, &AppState::from_ref(state)).await?;
        Ok(Self { user, session })
    }
}

impl<S> FromRequestParts<S> for SignedIn
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = NotSignedIn;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (user, session) = session_user(parts, &AppState::from_ref(state)).await?;
        if user.must_change_password {
            return Err(match parts.method {
                Method::GET | Method::HEAD => NotSignedIn::Login("/password/new".to_owned()),
                _ => NotSignedIn::Error(PageError::NotAllowed("password_new.first")),
            });
        }
        Ok(Self { user, session })
    }
}

impl<S> FromRequestParts<S> for Operator
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = NotSignedIn;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let SignedIn { user, session: _ } = SignedIn::from_request_parts(parts, state).await?;
        if !user.is_operator {
            return Err(NotSignedIn::Error(PageError::NotAllowed(
                "error.operator_only",
            )));
        }
        Ok(Self(user))
    }
}

impl<S> FromRequestParts<S> for SuperAdmin
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = NotSignedIn;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let SignedIn { user, session } = SignedIn::from_request_parts(parts, state).await?;
        let Ok(ip) = ClientIp::from_request_parts(parts, state).await;
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let acting = Acting::super_admin(&user, &ip.0, ip.network(), user_agent).ok_or(
            NotSignedIn::Error(PageError::NotAllowed("error.super_admin_only")),
        )?;
        Ok(Self {
            acting,
            user,
            session,
        })
    }
}

/// Where a login without an authorization request may return: a local path only.
pub fn safe_return_to(path: Option<&str>) -> Option<&str> {
    path.filter(|p| {
        p.starts_with('/')
            && !p.starts_with("//")
            && p.len() <= 200
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
    })
}
