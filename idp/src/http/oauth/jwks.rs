//! The JSON Web Key Set (RFC 7517 §5): public parts of every published key.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::AppState;

/// `GET /jwks.json`, cacheable for five minutes.
pub async fn get(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/jwk-set+json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        state.keys.current().jwks_json(),
    )
}
