//! The refresh_token grant with rotation and reuse detection (RFC 6749 §6,
//! RFC 9700 §4.14.2).
//!
//! A grant is one refresh-token family with at most one live token at any moment.
//! Rotation is one conditional UPDATE of the grant row ([`tokens::rotate_refresh`]),
//! so concurrent requests are serialised by the database, in one process or many.
//! The child of a rotation is derived from the presented token (an HMAC under a key
//! derived from the KEK), so a retry of the newest rotation, and every request that
//! lost a race to rotate the same token, gets the same new refresh token.

use serde_json::json;

use super::{active_user, unauthorized};
use crate::crypto;
use crate::db::audit;
use crate::db::tokens::{self, FamilyRow, Rotation};
use crate::error::Internal;
use crate::oauth::client::{Client, GrantType};
use crate::oauth::error::{ErrorCode, OAuthError, TokenError};
use crate::oauth::issue::{issue_tokens, Refresh, Subject, TokenResponse};
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;
use crate::state::AppState;

/// Label of the KEK-derived key that derives children of refresh tokens.
const CHILD_KEY_LABEL: &str = "refresh-token";

/// Rotates a refresh token. The presented token must be its family's live token (then
/// its child becomes the live one) or the token the newest rotation replaced, presented
/// again within `tokens.refresh_token_reuse_grace_seconds` of that rotation (a retry,
/// or a request that lost a race: it gets the same child, and nothing changes). Any
/// other token of a live family is reuse: the whole family is revoked, with every
/// access token issued from it, and the event is audited.
///
/// # Errors
/// `invalid_grant` for unknown, foreign, expired, revoked or reused tokens and
/// disabled users; `invalid_scope` when the requested scope is wider than the granted
/// one (checked before anything changes).
pub async fn exchange(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, TokenError> {
    if !client.allows(GrantType::RefreshToken) {
        return Err(unauthorized("refresh_token"));
    }
    let token = params.require("refresh_token")?;
    let requested = requested_scope(params)?;
    let now = state.clock.now();
    let hash = crypto::sha256_b64(token.as_bytes());
    // Another client's token is "unknown": it learns nothing and cannot harm the family.
    let family = match tokens::find_family(&state.db, &hash).await? {
        Some(f) if f.client_id == client.client_id => f,
        _ => return Err(TokenError::invalid_grant("unknown refresh token")),
    };
    let scope = granted_scope(&family, requested)?;
    let user = active_user(state, &family.user_id).await?;
    let child = child_token(state, &family.grant_id, token);
    let child_hash = crypto::sha256_b64(child.as_bytes());
    let cfg = &state.config.tokens;
    let rotation = Rotation {
        grant_id: &family.grant_id,
        client_id: &client.client_id,
        presented_hash: &hash,
        child_hash: &child_hash,
        now,
        retry_since: now - cfg.refresh_token_reuse_grace_seconds,
        idle_expires_at: now + cfg.refresh_token_idle_seconds,
    };
    let Some(grant) = tokens::rotate_refresh(&state.db, &rotation).await? else {
        return Err(refused(state, &rotation, &family.user_id).await?);
    };
    let subject = Subject::User {
        grant: &grant,
        user: &user,
        nonce: None,
        refresh: Refresh::Rotated(&child),
    };
    Ok(issue_tokens(state, client, subject, &scope).await?)
}

/// The `scope` parameter, if sent; `invalid_scope` if it does not parse.
fn requested_scope(params: &Params) -> Result<Option<Scope>, TokenError> {
    let Some(scope) = params.get("scope") else {
        return Ok(None);
    };
    match Scope::parse(scope) {
        Ok(scope) => Ok(Some(scope)),
        Err(_) => Err(OAuthError::new(ErrorCode::InvalidScope, "malformed scope").into()),
    }
}

/// The scope of the new tokens: the `requested` one if it is within what `family`
/// was granted (else `invalid_scope`), or the whole granted scope.
fn granted_scope(family: &FamilyRow, requested: Option<Scope>) -> Result<Scope, TokenError> {
    let granted = Scope::from_stored(&family.scope);
    match requested {
        Some(requested) if !requested.is_subset(&granted) => Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the requested scope exceeds the granted scope",
        )
        .into()),
        Some(requested) => Ok(requested),
        None => Ok(granted),
    }
}

/// Why a rotation did not match: reuse (then the family is revoked here, atomically
/// with the check, and audited), or a family that is revoked, expired or idle.
async fn refused(
    state: &AppState,
    rotation: &Rotation<'_>,
    user_id: &str,
) -> Result<TokenError, Internal> {
    let mut tx = state.db.begin().await?;
    if !tokens::revoke_reused(&mut *tx, rotation).await? {
        tx.rollback().await?;
        return Ok(TokenError::invalid_grant(
            "the refresh token has expired or was revoked",
        ));
    }
    audit::record(
        &mut *tx,
        rotation.now,
        "system",
        "refresh_token.reused",
        user_id,
        &json!({ "client_id": rotation.client_id, "grant": rotation.grant_id }),
    )
    .await?;
    tx.commit().await?;
    tracing::warn!(client_id = %rotation.client_id, grant = %rotation.grant_id,
        "refresh token reused after rotation; the family is revoked");
    Ok(TokenError::invalid_grant(
        "the refresh token was already used; its family is revoked",
    ))
}

/// The child of `presented` in the family `grant_id`: base64url of
/// HMAC-SHA-256(KEK-derived key, grant_id ‖ 0x00 ‖ presented), 256 bits. Every
/// process derives the same child, so retries and racing requests agree on it.
fn child_token(state: &AppState, grant_id: &str, presented: &str) -> String {
    let key = state.kek.derive(CHILD_KEY_LABEL);
    let mut message = Vec::with_capacity(grant_id.len() + 1 + presented.len());
    message.extend_from_slice(grant_id.as_bytes());
    message.push(0);
    message.extend_from_slice(presented.as_bytes());
    crypto::b64url(&crypto::hmac_sha256(&key, &message))
}
