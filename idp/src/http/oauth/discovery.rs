//! `GET /.well-known/openid-configuration` (OIDC Discovery 1.0 §4): the metadata
//! document of [`crate::oauth::discovery`].

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::AppState;

/// `GET /.well-known/openid-configuration`.
pub async fn get(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.discovery.clone(),
    )
}
