//! Re-authentication: a signed-in user confirms a sensitive action (granting Super
//! Admin, revoking a signing key) with their current password, so a stolen session
//! alone cannot do it. Every check counts against the user's login throttle (NIST SP
//! 800-63B §5.2.2): wrong passwords here and at the login form share one allowance.

use crate::db::users::User;
use crate::error::{internal_from, Internal};
use crate::policy::throttle::{self, Account, Action, Blocked, Subject, ThrottleError};
use crate::state::AppState;

/// Why a re-authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum ReauthError {
    /// The password was missing or wrong (pages answer 403 and say so).
    #[error("your current password is needed, and the one given was missing or wrong")]
    WrongPassword,
    /// Too many wrong passwords (429 with `throttle.try_again`).
    #[error(transparent)]
    Throttled(Blocked),
    /// Any other failure (logged, 500).
    #[error(transparent)]
    Internal(Internal),
}

internal_from!(ReauthError: sqlx::Error, Internal, anyhow::Error);

impl From<ThrottleError> for ReauthError {
    fn from(e: ThrottleError) -> Self {
        match e {
            ThrottleError::Blocked(b) => ReauthError::Throttled(b),
            ThrottleError::Internal(e) => ReauthError::Internal(e),
        }
    }
}

/// Checks that `password` is the current password of `user`, throttled like a login
/// of that account from the client network `network` (`ClientIp::network`): the
/// attempt is reserved before the check, given back on success and kept on failure.
/// An empty or missing password is refused without being counted; a user without a
/// password never passes.
///
/// # Errors
/// [`ReauthError::WrongPassword`], [`ReauthError::Throttled`], database or hashing
/// failures.
pub async fn confirm_password(
    state: &AppState,
    user: &User,
    password: Option<&str>,
    network: &str,
) -> Result<(), ReauthError> {
    let password = password
        .filter(|p| !p.is_empty())
        .ok_or(ReauthError::WrongPassword)?;
    let subject = Subject::new(
        &state.config.throttle,
        Action::Login,
        Some(&Account::User(user.id.clone())),
        network,
    );
    let attempt = throttle::reserve(state, &subject).await?;
    if state
        .passwords
        .verify(password, user.password_hash.as_deref())
        .await?
    {
        attempt.succeeded(state).await?;
        Ok(())
    } else {
        attempt.failed(state).await?;
        Err(ReauthError::WrongPassword)
    }
}
