//! Token introspection (RFC 7662): what a resource server learns about a token.

use serde_json::{json, Map, Value};

use crate::crypto;
use crate::db::tokens;
use crate::error::Internal;
use crate::state::AppState;

use crate::oauth::access_token::{self, looks_like_jwt, InvalidToken};

/// The RFC 7662 §2.2 introspection response for `token` as seen by `client_id`:
/// `{"active": false}` for anything unknown, inactive or issued to another client. A
/// refresh token is active only while it is its family's live token (RFC 9700
/// §4.14.2); a JWT only if it is one of our access tokens (never an ID token or a
/// logout token, RFC 8725 §3.11).
///
/// # Errors
/// Database failures.
pub async fn introspect(state: &AppState, client_id: &str, token: &str) -> Result<Value, Internal> {
    let inactive = json!({ "active": false });
    if looks_like_jwt(token) {
        let at = match access_token::validate(state, token).await {
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
