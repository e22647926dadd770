//! Recognising tokens we issued: JWT access tokens (RFC 9068 §4 validation) and
//! opaque refresh tokens. Shared by UserInfo, revocation and introspection.

use serde_json::{json, Map, Value};

use crate::crypto;
use crate::crypto::keys::JwtType;
use crate::db::{grants, tokens};
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
    Internal(#[from] anyhow::Error),
}

/// Validates an access token: our signature with an allowed algorithm, `typ` at+jwt
/// (RFC 9068 §4; an ID token or a logout token is refused), our `iss`, unexpired,
/// and still live in the database (not revoked, grant and user active).
///
/// # Errors
/// See [`InvalidToken`].
pub async fn access_token(state: &AppState, token: &str) -> Result<AccessToken, InvalidToken> {
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
        .map_err(anyhow::Error::from)?
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

/// The RFC 7662 §2.2 introspection response for `token` as seen by `client_id`:
/// `{"active": false}` for anything unknown, inactive or issued to another client. A
/// refresh token is active only while it is its family's live token (RFC 9700
/// §4.14.2); a JWT only if it is one of our access tokens (never an ID token or a
/// logout token, RFC 8725 §3.11).
///
/// # Errors
/// Database failures.
pub async fn introspect(state: &AppState, client_id: &str, token: &str) -> anyhow::Result<Value> {
    let inactive = json!({ "active": false });
    if looks_like_jwt(token) {
        let at = match access_token(state, token).await {
            Ok(at) => at,
            Err(InvalidToken::Internal(e)) => return Err(e),
            Err(_) => return Ok(inactive),
        };
        if at.claim("client_id") != Some(client_id) {
            return Ok(inactive);
        }
        let mut body = Map::new();
        body.insert("active".into(), json!(true));
        body.insert("token_type".into(), json!("Bearer"));
        for name in [
            "scope",
            "client_id",
            "sub",
            "aud",
            "iss",
            "exp",
            "iat",
            "jti",
            "auth_time",
        ] {
            if let Some(v) = at.claims.get(name) {
                body.insert(name.into(), v.clone());
            }
        }
        return Ok(Value::Object(body));
    }
    let now = state.clock.now();
    let hash = crypto::sha256_b64(token.as_bytes());
    match tokens::find_family(&state.db, &hash).await? {
        Some(f) if f.client_id == client_id && f.is_live_head(&hash, now) => Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": f.scope,
            "client_id": f.client_id,
            "sub": f.user_id,
            "iss": state.config.issuer,
            "exp": f.refresh_expires_at,
        })),
        _ => Ok(inactive),
    }
}

/// Revokes `token` if it was issued to `client_id` (RFC 7009 §2.1): any refresh token
/// of a family (the live one or one it replaced) takes its whole grant (and so its
/// access tokens) with it; an access token is revoked alone. Unknown and foreign
/// tokens, and JWTs that are not access tokens, are silently ignored.
///
/// # Errors
/// Database failures.
pub async fn revoke(state: &AppState, client_id: &str, token: &str) -> anyhow::Result<()> {
    let now = state.clock.now();
    if looks_like_jwt(token) {
        if let Ok(claims) = state.keys.verify(token, JwtType::AccessToken) {
            let owner = claims.get("client_id").and_then(Value::as_str);
            if let (Some(jti), Some(owner)) = (claims.get("jti").and_then(Value::as_str), owner) {
                if owner == client_id {
                    tokens::revoke_access(&state.db, jti, client_id, now).await?;
                }
            }
        }
        return Ok(());
    }
    if let Some(family) =
        tokens::find_family(&state.db, &crypto::sha256_b64(token.as_bytes())).await?
    {
        if family.client_id == client_id {
            grants::revoke(&state.db, &family.grant_id, now).await?;
        }
    }
    Ok(())
}
