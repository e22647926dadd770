//! The introspection endpoint (RFC 7662 §2).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::error::no_store_json;
use crate::http::extract::params::{ParamsError, RequestParams};
use crate::http::oauth::client_auth;
use crate::oauth::error::TokenError;
use crate::state::AppState;

/// `POST /introspect`: the token's metadata for the client it was issued to, and
/// `{"active":false}` for anything else. Needs confidential-client authentication;
/// public clients get `invalid_client`.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<RequestParams, ParamsError>,
) -> Response {
    let result: Result<serde_json::Value, TokenError> = async {
        let RequestParams(params) =
            params.map_err(|e| TokenError::invalid_request(e.to_string()))?;
        params.check()?;
        let client = client_auth::authenticate(&state, &headers, &params).await?;
        if client.is_public() {
            // A public client cannot prove who it is, so it may not learn about tokens.
            return Err(TokenError::invalid_client());
        }
        let token = params.require("token")?;
        Ok(crate::oauth::introspection::introspect(&state, &client.client_id, token).await?)
    }
    .await;
    match result {
        Ok(body) => no_store_json(StatusCode::OK, body),
        Err(e) => e.into_response(),
    }
}
