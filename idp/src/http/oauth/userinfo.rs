//! The UserInfo endpoint (OIDC Core §5.3), GET and POST, with the access token in
//! the `Authorization: Bearer` header (RFC 6750 §2.1).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::db::users;
use crate::http::error::no_store_json;
use crate::oauth::access_token::{self, InvalidToken};
use crate::oauth::claims::product_claims;
use crate::oauth::issue::user_claims;
use crate::oauth::scope::Scope;
use crate::state::AppState;

/// `GET|POST /userinfo`.
pub async fn handle(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return challenge(StatusCode::UNAUTHORIZED, None, "");
    };
    let at = match access_token::validate(&state, token).await {
        Ok(at) => at,
        Err(InvalidToken::Internal(e)) => return internal(e),
        Err(e) => {
            return challenge(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                &e.to_string(),
            )
        }
    };
    let scope = Scope::from_stored(at.claim("scope").unwrap_or_default());
    if !scope.contains("openid") {
        return challenge(
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            "the access token lacks the openid scope",
        );
    }
    let user = match users::find_by_id(&state.db, at.claim("sub").unwrap_or_default()).await {
        Ok(Some(user)) if user.is_active() => user,
        Ok(_) => {
            return challenge(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "the user is gone",
            )
        }
        Err(e) => return internal(e.into()),
    };
    let mut claims = user_claims(&user, &scope);
    match product_claims(&state, &user, &scope, true).await {
        Ok(product) => claims.extend(product),
        Err(e) => return internal(e),
    }
    no_store_json(StatusCode::OK, serde_json::Value::Object(claims))
}

/// The token of a single `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let mut all = headers.get_all(header::AUTHORIZATION).iter();
    let value = all.next()?;
    if all.next().is_some() {
        return None;
    }
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A 401/403 with `WWW-Authenticate: Bearer` (RFC 6750 §3).
fn challenge(status: StatusCode, error: Option<&str>, description: &str) -> Response {
    let (value, body) = match error {
        // RFC 6750 §3.1: no error code when the request carried no credentials.
        None => ("Bearer".to_owned(), json!({})),
        Some(code) => (
            format!("Bearer error=\"{code}\", error_description=\"{description}\""),
            json!({ "error": code, "error_description": description }),
        ),
    };
    let mut response = no_store_json(status, body);
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

fn internal(e: anyhow::Error) -> Response {
    tracing::error!(error = %format!("{e:#}"), "internal error");
    no_store_json(
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({ "error": "server_error" }),
    )
    .into_response()
}
