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
        let lang = lang::current();
        let (status, keys) = match self {
            PageError::BadRequest(message) => {
                (StatusCode::BAD_REQUEST, ErrorKeys::bad_request(message))
            }
            PageError::NotAllowed(message) => (
                StatusCode::FORBIDDEN,
                ErrorKeys {
                    title: "error.not_allowed_title",
                    message,
                    hint: "",
                },
            ),
            PageError::Forbidden => (StatusCode::FORBIDDEN, ErrorKeys::FORBIDDEN),
            PageError::NotFound => (StatusCode::NOT_FOUND, ErrorKeys::NOT_FOUND),
            PageError::Blocked(title, blocked) => return blocked_page(lang, title, &blocked),
            PageError::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorKeys::INTERNAL)
            }
        };
        error_page(status, lang, &keys)
    }
}

/// The i18n keys of an error page's title, message and hint; an empty key shows no
/// text.
struct ErrorKeys {
    title: &'static str,
    message: &'static str,
    hint: &'static str,
}

impl ErrorKeys {
    /// 403: a missing or wrong CSRF token or Origin.
    const FORBIDDEN: Self = Self {
        title: "error.forbidden_title",
        message: "error.forbidden_message",
        hint: "error.forbidden_hint",
    };
    /// 404.
    const NOT_FOUND: Self = Self {
        title: "error.not_found_title",
        message: "error.not_found_message",
        hint: "",
    };
    /// 5xx: nothing more than "something went wrong".
    const INTERNAL: Self = Self {
        title: "error.internal_title",
        message: "error.internal_message",
        hint: "error.internal_hint",
    };

    /// 400 with the i18n key of its `message`.
    fn bad_request(message: &'static str) -> Self {
        Self {
            title: "error.bad_request_title",
            message,
            hint: "error.bad_request_hint",
        }
    }
}

/// The error page with the texts of `keys` in `lang`, answered with `status`.
fn error_page(status: StatusCode, lang: &'static str, keys: &ErrorKeys) -> Response {
    let text = |key: &str| {
        if key.is_empty() {
            String::new()
        } else {
            i18n::text(lang, key, &[])
        }
    };
    let error = ErrorPage {
        base: PageBase::titled(lang, text(keys.title), String::new()),
        message: text(keys.message),
        hint: text(keys.hint),
    };
    page(status, &error)
}

/// 429: the page titled `title` (an i18n key) that says when to try again.
fn blocked_page(lang: &'static str, title: &str, blocked: &Blocked) -> Response {
    let minutes = blocked.minutes().to_string();
    let error = ErrorPage {
        base: PageBase::new(lang, title, String::new()),
        message: i18n::text(lang, "throttle.try_again", &[("minutes", &minutes)]),
        hint: String::new(),
    };
    page(StatusCode::TOO_MANY_REQUESTS, &error)
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
    if !is_framework_error(&path, &response) {
        return response;
    }
    let status = response.status();
    let mut replaced = if answers_json(&path) {
        json_error(status)
    } else {
        let lang = i18n::negotiate(None, None, accept_language.as_deref());
        error_page(status, lang, &default_error_keys(status))
    };
    *replaced.status_mut() = status;
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = response.headers().get(&name) {
            replaced.headers_mut().insert(name, v.clone());
        }
    }
    replaced
}

/// Whether `response` to `path` is an error in a framework's default form: a 4xx or
/// 5xx that is plain text or has no content type, except from the probes.
fn is_framework_error(path: &str, response: &Response) -> bool {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || path == "/healthz"
        || path == "/readyz"
    {
        return false;
    }
    match response.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(v) => v.as_bytes().starts_with(b"text/plain"),
    }
}

/// The protocol's error object (RFC 6749 §5.2) for a framework's default error
/// with `status`.
fn json_error(status: StatusCode) -> Response {
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
}

/// The error page's texts for a framework's default error with `status`.
fn default_error_keys(status: StatusCode) -> ErrorKeys {
    match status {
        StatusCode::NOT_FOUND => ErrorKeys::NOT_FOUND,
        s if s.is_server_error() => ErrorKeys::INTERNAL,
        _ => ErrorKeys::bad_request("error.params"),
    }
}
