//! The HTTP layer, the only code that knows axum: thin handlers that extract, call
//! the protocol or account logic, and respond. Split by audience: [`oauth`] (what
//! relying parties call), [`pages`] (end users), [`admin`] (operators), plus
//! [`extract`] (what handlers get from a request), [`browser`] (cookies and CSRF),
//! [`error`] (how failures look) and [`server`] (the connection loop).

pub mod admin;
pub mod assets;
pub mod browser;
pub mod error;
pub mod extract;
pub mod lang;
pub mod oauth;
pub mod pages;
pub mod server;

use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::Router;
use tower_cookies::CookieManagerLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use self::error::PageError;
use crate::state::AppState;

/// The Content-Security-Policy of every response: no inline script, no framing;
/// scripts, styles and images from this origin only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

/// Builds the router with every endpoint and the security headers.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.http.max_body_bytes;
    let query_limit =
        axum::middleware::from_fn_with_state(state.clone(), extract::params::limit_query_params);
    let https = state.config.is_https();
    let mut app = Router::new()
        .merge(oauth::routes())
        .merge(pages::routes())
        .merge(admin::routes())
        .merge(assets::routes())
        .fallback(|| async { PageError::NotFound })
        .with_state(state)
        .layer(query_limit)
        .layer(axum::middleware::from_fn(lang::negotiate))
        .layer(CookieManagerLayer::new())
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::new())
        // Outside every layer and extractor that can answer on its own.
        .layer(axum::middleware::from_fn(error::replace_default_errors))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .layer(header_layer(header::CONTENT_SECURITY_POLICY, CSP));
    if https {
        app = app.layer(header_layer(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ));
    }
    app.layer(TraceLayer::new_for_http())
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}
