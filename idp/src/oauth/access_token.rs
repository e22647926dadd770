//! Validating the JWT access tokens we issued (RFC 9068 §4), for UserInfo,
//! introspection and revocation.

use serde_json::{Map, Value};

use crate::crypto::keys::JwtType;
use crate::db::tokens;
use crate::error::Internal;
use crate::state::AppState;

/// The validated claims of a live access token.
#[derive(Debug)]
pub struct AccessToken {
    /// All claims.
    pub claims: Map<String, Value>,
}

impl AccessToken {
    /// A string claim.
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// Why an access token was refused (RFC 6750 §3.1 `invalid_token`).
#[derive(Debug, thiserror::Error)]
pub enum InvalidToken {
    /// Not our signature, not an access token, or not for this issuer.
    #[error("the access token is malformed or not issued here")]
    Malformed,
    /// Past `exp`.
    #[error("the access token has expired")]
    Expired,
    /// Revoked, or its grant or user was.
    #[error("the access token was revoked")]
    Revoked,
    /// A database failure.
    #[error(transparent)]
    Internal(#[from] Internal),
}

/// Validates an access token: our signature with an allowed algorithm, `typ` at+jwt
/// (RFC 9068 §4; an ID token or a logout token is refused), our `iss`, unexpired,
/// and still live in the database (not revoked, grant and user active).
///
/// # Errors
/// See [`InvalidToken`].
pub async fn validate(state: &AppState, token: &str) -> Result<AccessToken, InvalidToken> {
    let claims = state
        .keys
        .verify(token, JwtType::AccessToken)
        .map_err(|_| InvalidToken::Malformed)?;
    if claims.get("iss").and_then(Value::as_str) != Some(state.config.issuer.as_str()) {
        return Err(InvalidToken::Malformed);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(InvalidToken::Malformed)?;
    if exp <= state.clock.now() {
        return Err(InvalidToken::Expired);
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .ok_or(InvalidToken::Malformed)?;
    if !tokens::access_token_is_live(&state.db, jti)
        .await
        .map_err(Internal::from)?
    {
        return Err(InvalidToken::Revoked);
    }
    Ok(AccessToken { claims })
}

/// Whether a token has the shape of a compact JWS (our access tokens) rather than an
/// opaque refresh token.
pub fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}
