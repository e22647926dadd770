//! The client_credentials grant (RFC 6749 §4.4): a confidential client acting for
//! itself. No refresh token, no ID token.

use super::unauthorized;
use crate::oauth::client::{Client, GrantType};
use crate::oauth::error::{ErrorCode, OAuthError, TokenError};
use crate::oauth::issue::{issue_tokens, Subject, TokenResponse};
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;
use crate::state::AppState;

/// Scopes that only make sense for an end user.
const USER_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Issues an access token whose `sub` is the client_id.
///
/// # Errors
/// `unauthorized_client` for public clients or clients without the grant;
/// `invalid_scope` for scopes the client may not have or user scopes.
pub async fn exchange(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, TokenError> {
    if client.is_public() || !client.allows(GrantType::ClientCredentials) {
        return Err(unauthorized("client_credentials"));
    }
    let scope = match params.get("scope") {
        None => Scope::default(),
        Some(s) => {
            let invalid =
                |d: &'static str| TokenError::from(OAuthError::new(ErrorCode::InvalidScope, d));
            let requested = Scope::parse(s).map_err(|_| invalid("malformed scope"))?;
            if requested.iter().any(|t| USER_SCOPES.contains(&t)) {
                return Err(invalid(
                    "user scopes cannot be granted to a client acting for itself",
                ));
            }
            if !requested.is_subset(&client.allowed_scope) {
                return Err(invalid("the client may not request this scope"));
            }
            requested
        }
    };
    Ok(issue_tokens(state, client, Subject::Client, &scope).await?)
}
