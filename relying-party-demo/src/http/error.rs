//! Error pages: a handler returns a [`PageError`]; a response middleware renders it
//! with the portal's layout (an `IntoResponse` alone does not know the portal).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;

use crate::oidc::CallbackError;
use crate::portal::{LogoutError, Portal, RefreshError};

/// Longest provider `error_description` shown, in characters.
const MAX_DESCRIPTION_CHARS: usize = 300;

/// An error shown as a page: status, title, message and, for errors the provider
/// sent, its `error` code and description.
#[derive(Debug, Clone)]
pub struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
    error: Option<String>,
    error_description: Option<String>,
}

impl PageError {
    fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            title,
            message: message.into(),
            error: None,
            error_description: None,
        }
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
    }

    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", message)
    }
}

impl From<CallbackError> for PageError {
    fn from(e: CallbackError) -> Self {
        let status = match e {
            CallbackError::ProviderUnavailable(_) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::BAD_REQUEST,
        };
        tracing::warn!(error = %e, "sign-in refused");
        let mut page = Self::new(status, "Sign-in failed", e.to_string());
        match e {
            CallbackError::Provider { error, description }
            | CallbackError::CodeExchange { error, description } => {
                page.message = "The identity provider did not complete the sign-in.".into();
                page.error = Some(error);
                page.error_description =
                    description.map(|d| d.chars().take(MAX_DESCRIPTION_CHARS).collect());
            }
            CallbackError::ProviderUnavailable(_) => {
                page.message =
                    "The identity provider could not be reached. Please try again.".into();
            }
            _ => {}
        }
        page
    }
}

impl From<LogoutError> for PageError {
    fn from(e: LogoutError) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Sign-out refused", e.to_string())
    }
}

impl From<RefreshError> for PageError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::Forbidden => {
                Self::new(StatusCode::FORBIDDEN, "Refresh refused", e.to_string())
            }
            RefreshError::Refused(e) | RefreshError::Failed(e) => e.into(),
            RefreshError::NoSession | RefreshError::NoRefreshToken => {
                Self::new(StatusCode::BAD_REQUEST, "Refresh refused", e.to_string())
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut response = status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Renders a [`PageError`] left in a response's extensions as the portal's page.
pub async fn render_error_pages(State(portal): State<Portal>, response: Response) -> Response {
    let Some(error) = response.extensions().get::<PageError>().cloned() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    let page = super::render::page(
        &portal,
        error.status,
        "error.html",
        context! {
            title => error.title,
            message => error.message,
            error => error.error,
            error_description => error.error_description,
        },
    );
    let (page_parts, body) = page.into_parts();
    parts.status = page_parts.status;
    for (name, value) in &page_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}
