//! The JSON Web Key Set (RFC 7517 §5): public parts of every published key.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// `GET /jwks.json`: `Cache-Control: public, max-age=N` (`keys.jwks_max_age_seconds`,
/// default 300) and a strong `ETag`; a request whose `If-None-Match` names the
/// current tag (or `*`) gets `304 Not Modified` without a body (RFC 9110 §13.1.2).
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let set = state.keys.current();
    let cache = format!("public, max-age={}", state.config.keys.jwks_max_age_seconds);
    let etag = set.etag();
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        // Weak comparison (§13.1.2): a W/ prefix does not matter.
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag);
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/jwk-set+json")],
            set.jwks_json(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cache) {
        h.insert(header::CACHE_CONTROL, v);
    }
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    response
}
