//! The UserInfo endpoint (OIDC Core §5.3), GET and POST, with the access token in
//! the `Authorization: Bearer` header (RFC 6750 §2.1).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::db::users::{self, User};
use crate::error::internal_from;
use crate::http::error::no_store_json;
use crate::oauth::access_token::{self, InvalidToken};
use crate::oauth::claims::product_claims;
use crate::oauth::issue::user_claims;
use crate::oauth::scope::Scope;
use crate::state::AppState;

/// Why UserInfo refused or failed; one `IntoResponse` writes the `WWW-Authenticate`
/// challenge of RFC 6750 §3 (JSON body with the same error, `no-store`).
#[derive(Debug, thiserror::Error)]
pub enum UserInfoError {
    /// 401, `Bearer` without an error code (RFC 6750 §3.1): no single
    /// `Authorization: Bearer` header.
    #[error("no bearer token")]
    NoToken,
    /// 401 `invalid_token`: the token's own reason (expired, revoked, malformed …).
    #[error(transparent)]
    InvalidToken(InvalidToken),
    /// 403 `insufficient_scope`: the token lacks the openid scope.
    #[error("the access token lacks the openid scope")]
    InsufficientScope,
    /// 401 `invalid_token` "the user is gone": no such user, or not active.
    #[error("the user is gone")]
    UserGone,
    /// 500 `server_error` (logged).
    #[error(transparent)]
    Internal(anyhow::Error),
}

internal_from!(
    UserInfoError: sqlx::Error,
    anyhow::Error,
    crate::error::Internal,
    crate::db::BadStoredValue,
    crate::account::support::SupportError,
);

impl From<InvalidToken> for UserInfoError {
    fn from(e: InvalidToken) -> Self {
        match e {
            InvalidToken::Internal(e) => UserInfoError::Internal(e.into()),
            e => UserInfoError::InvalidToken(e),
        }
    }
}

impl IntoResponse for UserInfoError {
    fn into_response(self) -> Response {
        let description = self.to_string();
        match self {
            UserInfoError::NoToken => challenge(StatusCode::UNAUTHORIZED, None, ""),
            UserInfoError::InvalidToken(_) | UserInfoError::UserGone => challenge(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                &description,
            ),
            UserInfoError::InsufficientScope => challenge(
                StatusCode::FORBIDDEN,
                Some("insufficient_scope"),
                &description,
            ),
            UserInfoError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                no_store_json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "error": "server_error" }),
                )
            }
        }
    }
}

/// `GET|POST /userinfo`.
pub async fn handle(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, UserInfoError> {
    let token = bearer(&headers).ok_or(UserInfoError::NoToken)?;
    let at = access_token::validate(&state, token).await?;
    let scope = Scope::from_stored(at.claim("scope").unwrap_or_default());
    if !scope.contains("openid") {
        return Err(UserInfoError::InsufficientScope);
    }
    let user = users::find_by_id(&state.db, at.claim("sub").unwrap_or_default())
        .await?
        .filter(User::is_active)
        .ok_or(UserInfoError::UserGone)?;
    let mut claims = user_claims(&user, &scope);
    let client_id = at.claim("client_id").unwrap_or_default();
    claims.extend(product_claims(&state, &user, &scope, client_id, true).await?);
    Ok(no_store_json(
        StatusCode::OK,
        serde_json::Value::Object(claims),
    ))
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
