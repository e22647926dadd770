//! Extractors: what a handler gets from a request before it runs. Each refuses bad
//! input with the answer its audience expects (a protocol error, or a page).

pub mod client_ip;
pub mod csrf_form;
pub mod fields;
pub mod params;
pub mod signed_in;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tower_cookies::Cookies;

use crate::http::error::PageError;

/// The request's cookies, which the router's `CookieManagerLayer` puts on every
/// request. Their absence is a programming error (the layer is missing), not bad
/// input: [`PageError::Internal`], logged at error level, the 500 page.
async fn cookies<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<Cookies, PageError> {
    Cookies::from_request_parts(parts, state)
        .await
        .map_err(|(_, message)| {
            PageError::Internal(anyhow::anyhow!(
                "the tower-cookies layer is missing: {message}"
            ))
        })
}
