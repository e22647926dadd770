//! The token endpoint's grants (RFC 6749 §4.1.3, §4.4, §6), one file per grant type.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use super::client::Client;
use super::error::{ErrorCode, OAuthError, TokenError};
use super::issue::TokenResponse;
use super::params::Params;
use crate::db::users::{self, User};
use crate::state::AppState;

/// Runs the grant named by `grant_type` for an authenticated `client`.
///
/// # Errors
/// `invalid_request` without grant_type, `unsupported_grant_type` for unknown ones,
/// `unauthorized_client` when the client may not use it, then the grant's own errors.
pub async fn exchange(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, TokenError> {
    match params.require("grant_type")? {
        "authorization_code" => authorization_code::exchange(state, client, params).await,
        "refresh_token" => refresh_token::exchange(state, client, params).await,
        "client_credentials" => client_credentials::exchange(state, client, params).await,
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code, refresh_token or client_credentials",
        )
        .into()),
    }
}

/// `unauthorized_client` for a grant the client is not registered for.
fn unauthorized(grant: &'static str) -> TokenError {
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        format!("the client may not use the {grant} grant"),
    )
    .into()
}

/// The user of a grant, if they may still sign in; else `invalid_grant`.
async fn active_user(state: &AppState, user_id: &str) -> Result<User, TokenError> {
    match users::find_by_id(&state.db, user_id).await? {
        Some(user) if user.is_active() => Ok(user),
        _ => Err(TokenError::invalid_grant("the user can no longer sign in")),
    }
}
