//! Error responses: HTML error pages for browser-facing endpoints, JSON for the
//! token, revocation and introspection endpoints (RFC 6749 §5.2).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use minijinja::context;
use serde_json::json;

use crate::oauth::error::{ErrorCode, OAuthError, TokenError};
use crate::templates;

/// An error shown to a person as a page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// 400: the request cannot be served as sent.
    #[error("{0}")]
    BadRequest(String),
    /// 403: a missing or wrong CSRF token or Origin.
    #[error("forbidden")]
    Forbidden,
    /// 404.
    #[error("not found")]
    NotFound,
    /// 500: logged with its cause; the page says nothing more.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        PageError::Internal(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message, hint) = match &self {
            PageError::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "Request not valid",
                message.as_str(),
                "Return to the application you came from and try again.",
            ),
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form was not sent from this browser's sign-in page, or it expired.",
                "Go back, reload the page and try again.",
            ),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is no page at this address.",
                "",
            ),
            PageError::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The service could not complete your request.",
                    "Please try again in a moment.",
                )
            }
        };
        page(status, "error.html", context! { title, message, hint })
    }
}

/// Renders `template` as an HTML response with `status` (no caching).
pub fn page(status: StatusCode, template: &str, ctx: minijinja::Value) -> Response {
    match templates::render(template, ctx) {
        Ok(html) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A JSON body with `Cache-Control: no-store` and `Pragma: no-cache`
/// (RFC 6749 §5.1).
pub fn no_store_json(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The JSON error body of RFC 6749 §5.2.
pub fn oauth_error_body(error: &OAuthError) -> serde_json::Value {
    json!({ "error": error.code.as_str(), "error_description": error.description })
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        match self {
            TokenError::OAuth(error) => {
                let status = match error.code {
                    ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
                    ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::BAD_REQUEST,
                };
                let mut response = no_store_json(status, oauth_error_body(&error));
                if error.code == ErrorCode::InvalidClient {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"token\", charset=\"UTF-8\""),
                    );
                }
                response
            }
            TokenError::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "internal error");
                no_store_json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "error": "server_error", "error_description": "internal error" }),
                )
            }
        }
    }
}
