//! The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core §3.1.3).

use super::{active_user, unauthorized};
use crate::crypto;
use crate::db::grants::{self, GrantRow};
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
    let grant = redeem(state, client, code).await?;
    check_redirect_uri(&grant, params.get("redirect_uri"))?;
    check_code_verifier(&grant, params.get("code_verifier"))?;
    let user = active_user(state, &grant.user_id).await?;
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

/// The grant of `code`, marked used in one atomic statement; a code of another
/// client, unknown or expired is `invalid_grant`, and a code presented again revokes
/// every token issued from it.
async fn redeem(state: &AppState, client: &Client, code: &str) -> Result<GrantRow, TokenError> {
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
    Ok(grant)
}

/// The `redirect_uri` of the token request (`given`) must be the authorization
/// request's, and is required if that request sent one (RFC 6749 §4.1.3).
fn check_redirect_uri(grant: &GrantRow, given: Option<&str>) -> Result<(), TokenError> {
    match given {
        Some(given) if given != grant.redirect_uri => Err(TokenError::invalid_grant(
            "redirect_uri does not match the authorization request",
        )),
        None if grant.redirect_uri_given != 0 => Err(TokenError::invalid_request(
            "missing parameter 'redirect_uri'",
        )),
        _ => Ok(()),
    }
}

/// The code_verifier must match the code_challenge of the authorization request,
/// and be sent exactly when that request had one (RFC 7636 §4.6).
fn check_code_verifier(grant: &GrantRow, verifier: Option<&str>) -> Result<(), TokenError> {
    match (grant.code_challenge.as_deref(), verifier) {
        (Some(challenge), Some(verifier)) if !pkce::verify(verifier, challenge) => Err(
            TokenError::invalid_grant("code_verifier does not match the code_challenge"),
        ),
        (Some(_), None) => Err(TokenError::invalid_grant("missing code_verifier")),
        (None, Some(_)) => Err(TokenError::invalid_grant(
            "code_verifier given but the request had no code_challenge",
        )),
        _ => Ok(()),
    }
}
