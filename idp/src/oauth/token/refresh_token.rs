//! The refresh_token grant with rotation and reuse detection (RFC 6749 §6,
//! RFC 9700 §4.14.2).

use super::unauthorized;
use crate::crypto;
use crate::db::{grants, tokens, users};
use crate::oauth::client::{Client, GrantType};
use crate::oauth::error::{ErrorCode, OAuthError, TokenError};
use crate::oauth::issue::{issue_tokens, Subject, TokenResponse};
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;
use crate::state::AppState;

/// Rotates a refresh token: the presented token is marked used and a new one issued
/// in the same family. A used token presented again within
/// `tokens.refresh_token_reuse_grace_seconds` (a network retry) gets a new child and
/// the earlier child is revoked, so only one chain stays alive; after the window, or
/// when a revoked child is presented, reuse revokes the whole family.
///
/// # Errors
/// `invalid_grant` for unknown, foreign, expired, revoked or reused tokens;
/// `invalid_scope` when the requested scope is wider than the granted one.
pub async fn exchange(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, TokenError> {
    if !client.allows(GrantType::RefreshToken) {
        return Err(unauthorized("refresh_token"));
    }
    let token = params.require("refresh_token")?;
    let requested = match params.get("scope") {
        Some(s) => Some(
            Scope::parse(s)
                .map_err(|_| OAuthError::new(ErrorCode::InvalidScope, "malformed scope"))?,
        ),
        None => None,
    };
    let now = state.clock.now();
    let hash = crypto::sha256_b64(token.as_bytes());
    let row = match tokens::rotate_refresh(&state.db, &hash, &client.client_id, now).await? {
        Some(row) => row,
        None => match tokens::find_refresh(&state.db, &hash).await? {
            Some(row) if row.client_id == client.client_id => {
                let used_at = row.used_at.unwrap_or(now);
                // Outside the grace window, or a token already replaced by a retry:
                // somebody else holds a copy of this family.
                if row.revoked_at.is_some()
                    || now - used_at > state.config.tokens.refresh_token_reuse_grace_seconds
                {
                    grants::revoke(&state.db, &row.grant_id, now).await?;
                    tracing::warn!(client_id = %client.client_id, grant = %row.grant_id,
                        "refresh token reused after rotation; the family is revoked");
                    return Err(TokenError::invalid_grant(
                        "the refresh token was already used; its family is revoked",
                    ));
                }
                // A retry within the grace window: the child issued first stops
                // working, so a copy of the token cannot start a second live chain.
                tokens::revoke_children(&state.db, &hash, now).await?;
                row
            }
            _ => return Err(TokenError::invalid_grant("unknown refresh token")),
        },
    };
    let grant = match grants::find(&state.db, &row.grant_id).await? {
        Some(g) if g.revoked_at.is_none() && g.expires_at > now && row.expires_at > now => g,
        _ => {
            return Err(TokenError::invalid_grant(
                "the refresh token has expired or was revoked",
            ))
        }
    };
    let granted = Scope::from_stored(&grant.scope);
    let scope = match requested {
        Some(requested) if !requested.is_subset(&granted) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "the requested scope exceeds the granted scope",
            )
            .into())
        }
        Some(requested) => requested,
        None => granted,
    };
    let user = match users::find_by_id(&state.db, &grant.user_id).await? {
        Some(user) if user.is_active() => user,
        _ => return Err(TokenError::invalid_grant("the user can no longer sign in")),
    };
    Ok(issue_tokens(
        state,
        client,
        Subject::User {
            grant: &grant,
            user: &user,
            nonce: None,
            rotated_from: Some(&hash),
        },
        &scope,
    )
    .await?)
}
