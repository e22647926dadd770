//! The token endpoint (RFC 6749 §3.2): client authentication, then the grant.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::error::no_store_json;
use crate::http::extract::params::{ParamsError, RequestParams};
use crate::http::oauth::client_auth;
use crate::oauth::error::TokenError;
use crate::oauth::token;
use crate::state::AppState;

/// `POST /token`.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<RequestParams, ParamsError>,
) -> Response {
    match exchange(&state, &headers, params).await {
        Ok(body) => no_store_json(StatusCode::OK, body),
        Err(e) => e.into_response(),
    }
}

async fn exchange(
    state: &AppState,
    headers: &HeaderMap,
    params: Result<RequestParams, ParamsError>,
) -> Result<serde_json::Value, TokenError> {
    let RequestParams(params) = params.map_err(|e| TokenError::invalid_request(e.to_string()))?;
    params.check()?;
    let client = client_auth::authenticate(state, headers, &params).await?;
    let response = token::exchange(state, &client, &params).await?;
    Ok(serde_json::to_value(response).map_err(anyhow::Error::from)?)
}
