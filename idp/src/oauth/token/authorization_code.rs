//! The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core §3.1.3).

use super::unauthorized;
use crate::crypto;
use crate::db::{grants, users};
use crate::oauth::client::{Client, GrantType};
use crate::oauth::error::TokenError;
use crate::oauth::issue::{issue_tokens, Refresh, Subject, TokenResponse};
use crate::oauth::params::Params;
use crate::oauth::pkce;
use crate::oauth::scope::Scope;
use crate::state::AppState;

/// Redeems a code: marks it used in one atomic statement, then checks expiry,
/// redirect_uri and the PKCE verifier. A code presented again revokes every token
/// issued from it.
///
/// # Errors
/// `invalid_grant` for an unknown, foreign, used, expired or mismatched code or a bad
/// verifier; `invalid_request` for a missing code.
pub async fn exchange(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, TokenError> {
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(unauthorized("authorization_code"));
    }
    let code = params.require("code")?;
    let now = state.clock.now();
    let code_hash = crypto::sha256_b64(code.as_bytes());
    let Some(grant) = grants::redeem_code(&state.db, &code_hash, &client.client_id, now).await?
    else {
        if grants::revoke_replayed_code(&state.db, &code_hash, &client.client_id, now).await? {
            tracing::warn!(client_id = %client.client_id, "authorization code replayed; its grant is revoked");
            return Err(TokenError::invalid_grant(
                "the code was already used; tokens issued from it are revoked",
            ));
        }
        return Err(TokenError::invalid_grant("unknown or expired code"));
    };
    if grant.code_expires_at <= now {
        return Err(TokenError::invalid_grant("unknown or expired code"));
    }
    match params.get("redirect_uri") {
        Some(given) if given != grant.redirect_uri => {
            return Err(TokenError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ))
        }
        None if grant.redirect_uri_given != 0 => {
            return Err(TokenError::invalid_request(
                "missing parameter 'redirect_uri'",
            ))
        }
        _ => {}
    }
    match (grant.code_challenge.as_deref(), params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            if !pkce::verify(verifier, challenge) {
                return Err(TokenError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => return Err(TokenError::invalid_grant("missing code_verifier")),
        (None, Some(_)) => {
            return Err(TokenError::invalid_grant(
                "code_verifier given but the request had no code_challenge",
            ))
        }
        (None, None) => {}
    }
    let user = match users::find_by_id(&state.db, &grant.user_id).await? {
        Some(user) if user.is_active() => user,
        _ => return Err(TokenError::invalid_grant("the user can no longer sign in")),
    };
    let scope = Scope::from_stored(&grant.scope);
    let nonce = grant.nonce.clone();
    Ok(issue_tokens(
        state,
        client,
        Subject::User {
            grant: &grant,
            user: &user,
            nonce: nonce.as_deref(),
            refresh: Refresh::Start,
        },
        &scope,
    )
    .await?)
}
