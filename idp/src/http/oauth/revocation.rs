//! The revocation endpoint (RFC 7009 §2).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::error::no_store_json;
use crate::http::extract::params::{ParamsError, RequestParams};
use crate::http::oauth::client_auth;
use crate::oauth::error::TokenError;
use crate::state::AppState;

/// `POST /revoke`: 200 with an empty JSON object whether or not the token was known
/// (RFC 7009 §2.2); `invalid_client` (401) without valid client authentication.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<RequestParams, ParamsError>,
) -> Response {
    let result: Result<(), TokenError> = async {
        let RequestParams(params) =
            params.map_err(|e| TokenError::invalid_request(e.to_string()))?;
        params.check()?;
        let client = client_auth::authenticate(&state, &headers, &params).await?;
        let token = params.require("token")?;
        crate::oauth::revocation::revoke(&state, &client.client_id, token).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => no_store_json(StatusCode::OK, serde_json::json!({})),
        Err(e) => e.into_response(),
    }
}
