//! The portals' HTTP layer: thin axum handlers that read cookies and parameters, call
//! [`crate::portal::Portal`], and answer with a page, a redirect or a status.

mod backchannel;
mod callback;
mod cookies;
mod error;
mod landing;
mod login;
mod logout;
mod refresh;
mod render;

use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use tower_cookies::CookieManagerLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

pub use self::error::PageError;
use crate::pages::STYLE_CSS;
use crate::portal::Portal;

/// Largest request body accepted, in bytes (a logout token is a few KiB).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The Content-Security-Policy of every response: nothing but this origin's
/// stylesheet; no script at all; forms may go to this portal and the provider (the
/// logout and login redirect chains); no framing.
pub fn content_security_policy(issuer_origin: &str) -> String {
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' {issuer_origin}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// The router of one portal, with its security headers.
pub fn router(portal: Portal) -> Router {
    let issuer_origin = url::Url::parse(portal.issuer())
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let csp = HeaderValue::from_str(&content_security_policy(&issuer_origin)).unwrap_or(
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    Router::new()
        .route("/", get(landing::show))
        .route("/login", get(login::start))
        .route("/callback", get(callback::handle))
        .route("/logout", post(logout::submit))
        .route("/refresh", post(refresh::submit))
        .route("/backchannel-logout", post(backchannel::receive))
        .route("/static/style.css", get(style))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { PageError::not_found() })
        .layer(axum::middleware::map_response_with_state(
            portal.clone(),
            error::render_error_pages,
        ))
        .with_state(portal)
        .layer(CookieManagerLayer::new())
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::new())
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE_CSS,
    )
}
