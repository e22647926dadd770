//! Token revocation (RFC 7009): a client gives up a token it holds.

use serde_json::Value;

use crate::crypto;
use crate::crypto::keys::JwtType;
use crate::db::{grants, tokens};
use crate::state::AppState;

use crate::oauth::access_token::looks_like_jwt;

/// Revokes `token` if it was issued to `client_id` (RFC 7009 §2.1): any refresh token
/// of a family (the live one or one it replaced) takes its whole grant (and so its
/// access tokens) with it; an access token is revoked alone. Unknown and foreign
/// tokens, and JWTs that are not access tokens, are silently ignored.
///
/// # Errors
/// Database failures.
pub async fn revoke(state: &AppState, client_id: &str, token: &str) -> sqlx::Result<()> {
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
