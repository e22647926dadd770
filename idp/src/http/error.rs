//! Error responses: HTML error pages for browser-facing endpoints, JSON for the
//! token, revocation and introspection endpoints (RFC 6749 §5.2).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::account::support::SupportError;
use crate::error::internal_from;
use crate::http::lang;
use crate::oauth::error::{ErrorCode, OAuthError, TokenError};
use crate::policy::throttle::Blocked;
use crate::ui::i18n;
use crate::ui::pages::{ErrorPage, Page, PageBase};
use crate::ui::templates;

/// An error shown to a person as a page, in the request's language.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// 400: the request cannot be served as sent; the i18n key of the message.
    #[error("{0}")]
    BadRequest(&'static str),
    /// 403 for a signed-in user without the right (the i18n key of the message).
    #[error("{0}")]
    NotAllowed(&'static str),
    /// 403: a missing or wrong CSRF token or Origin.
    #[error("forbidden")]
    Forbidden,
    /// 404.
    #[error("not found")]
    NotFound,
    /// 429: throttled; the i18n key of the page's title, the message is
    /// `throttle.try_again` with the minutes left.
    #[error("{1}")]
    Blocked(&'static str, Blocked),
    /// 500: logged with its cause; the page says nothing more.
    #[error(transparent)]
    Internal(anyhow::Error),
}

internal_from!(
    PageError: sqlx::Error,
    anyhow::Error,
    crate::error::Internal,
    crate::db::BadStoredValue,
);

impl From<SupportError> for PageError {
    /// The operator pages' answers: an unknown level, region or company is 400
    /// `admin_companies.invalid`; no phone support is 403 `support.not_included`;
    /// throttled is 429 on the PIN check's title; anything else is logged, 500.
    fn from(e: SupportError) -> Self {
        match e {
            SupportError::UnknownLevel
            | SupportError::UnknownRegion(_)
            | SupportError::NoCompany => PageError::BadRequest("admin_companies.invalid"),
            SupportError::NoPhoneSupport => PageError::NotAllowed("support.not_included"),
            SupportError::Blocked(blocked) => PageError::Blocked("admin_support.title", blocked),
            SupportError::Internal(e) => PageError::Internal(e.into()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message, hint) = match &self {
            PageError::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "error.bad_request_title",
                *message,
                "error.bad_request_hint",
            ),
            PageError::NotAllowed(message) => (
                StatusCode::FORBIDDEN,
                "error.not_allowed_title",
                *message,
                "",
            ),
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "error.forbidden_title",
                "error.forbidden_message",
                "error.forbidden_hint",
            ),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "error.not_found_title",
                "error.not_found_message",
                "",
            ),
            PageError::Blocked(title, blocked) => {
                let lang = lang::current();
                let minutes = blocked.minutes().to_string();
                let error = ErrorPage {
                    base: PageBase::new(lang, title, String::new()),
                    message: i18n::text(lang, "throttle.try_again", &[("minutes", &minutes)]),
                    hint: String::new(),
                };
                return page(StatusCode::TOO_MANY_REQUESTS, &error);
            }
            PageError::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error.internal_title",
                    "error.internal_message",
                    "error.internal_hint",
                )
            }
        };
        let lang = lang::current();
        let text = |key: &str| {
            if key.is_empty() {
                String::new()
            } else {
                i18n::text(lang, key, &[])
            }
        };
        let error = ErrorPage {
            base: PageBase::new(lang, title, String::new()),
            message: text(message),
            hint: text(hint),
        };
        page(status, &error)
    }
}

/// Renders `page` (its template, [`Page::TEMPLATE`]) as an HTML response with
/// `status` (no caching).
pub fn page(status: StatusCode, page: &impl Page) -> Response {
    match templates::render(page.template(), page) {
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

/// Paths whose errors are protocol JSON (RFC 6749 §5.2), not pages.
fn answers_json(path: &str) -> bool {
    use crate::oauth::discovery::paths;
    [
        paths::TOKEN,
        paths::USERINFO,
        paths::JWKS,
        paths::REVOCATION,
        paths::INTROSPECTION,
        "/.well-known/openid-configuration",
    ]
    .contains(&path)
}

/// Middleware: no error reaches a client in a framework's default form. Any 4xx or
/// 5xx response that is plain text or has no content type (axum's extractor
/// rejections: `Path`, `Query`, `Form`, `Json`, a body that cannot be read; a wrong
/// method; the body limit; the timeout; a caught panic) is replaced by the
/// provider's own error page in the request's language, or on the JSON endpoints by
/// the protocol's error object (`invalid_request`, `server_error` for 5xx). The
/// status and the `Allow` and `Retry-After` headers stay. The probes `/healthz` and
/// `/readyz` keep their plain text.
pub async fn replace_default_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let accept_language = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || path == "/healthz"
        || path == "/readyz"
    {
        return response;
    }
    let framework_default = match response.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(v) => v.as_bytes().starts_with(b"text/plain"),
    };
    if !framework_default {
        return response;
    }
    let mut replaced = if answers_json(&path) {
        let (code, description) = match status {
            StatusCode::METHOD_NOT_ALLOWED => ("invalid_request", "method not allowed"),
            StatusCode::PAYLOAD_TOO_LARGE => ("invalid_request", "the request is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ("invalid_request", "unsupported content type"),
            StatusCode::NOT_FOUND => ("invalid_request", "not found"),
            s if s.is_server_error() => ("server_error", "internal error"),
            _ => ("invalid_request", "the request could not be read"),
        };
        no_store_json(
            status,
            json!({ "error": code, "error_description": description }),
        )
    } else {
        let lang = i18n::negotiate(None, None, accept_language.as_deref());
        let (title, message, hint) = match status {
            StatusCode::NOT_FOUND => ("error.not_found_title", "error.not_found_message", ""),
            s if s.is_server_error() => (
                "error.internal_title",
                "error.internal_message",
                "error.internal_hint",
            ),
            _ => (
                "error.bad_request_title",
                "error.params",
                "error.bad_request_hint",
            ),
        };
        let text = |key: &str| {
            if key.is_empty() {
                String::new()
            } else {
                i18n::text(lang, key, &[])
            }
        };
        page(
            status,
            &ErrorPage {
                base: PageBase::titled(lang, text(title), String::new()),
                message: text(message),
                hint: text(hint),
            },
        )
    };
    *replaced.status_mut() = status;
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = response.headers().get(&name) {
            replaced.headers_mut().insert(name, v.clone());
        }
    }
    replaced
}
