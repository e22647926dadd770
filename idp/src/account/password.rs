//! Changing a password, whatever the path (forced change after a one-time password,
//! change with an e-mailed code, reset of a forgotten password): one transaction that
//! uses up the code, stores the new hash, ends every other browser session and every
//! refresh-token family not bound to the current session, records the event, and
//! queues the "your password was changed" notice.

use minijinja::context;
use serde_json::json;

use crate::db::email_codes::{self, CodeRow};
use crate::db::users::{self, User};
use crate::db::{audit, outbox};
use crate::outbox::mail;
use crate::state::AppState;

/// Why the password was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The first own password after a one-time password (no notice mail).
    Initial,
    /// Changed while signed in, with an e-mailed code.
    Changed,
    /// Reset after "forgot password", with an e-mailed code.
    Reset,
}

impl Reason {
    fn action(self) -> &'static str {
        match self {
            Reason::Initial => "password.initial_set",
            Reason::Changed => "password.changed",
            Reason::Reset => "password.reset",
        }
    }
}

/// Errors of [`set_password`].
#[derive(Debug, thiserror::Error)]
pub enum SetPasswordError {
    /// The code was used up by a concurrent request.
    #[error("the code was already used")]
    CodeUsed,
    /// Any other failure.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for SetPasswordError {
    fn from(e: sqlx::Error) -> Self {
        SetPasswordError::Internal(e.into())
    }
}

/// Stores `new_password` (already checked against the policy) for `user`.
/// `keep_sid` is the browser session to keep (the one changing the password);
/// `code` is the verified e-mailed code to use up.
///
/// # Errors
/// [`SetPasswordError::CodeUsed`] when the code is gone; internal failures.
pub async fn set_password(
    state: &AppState,
    user: &User,
    new_password: &str,
    keep_sid: Option<&str>,
    code: Option<&CodeRow>,
    reason: Reason,
) -> Result<(), SetPasswordError> {
    let hash = state.passwords.hash(new_password).await?;
    let now = state.clock.now();
    let notice = match reason {
        Reason::Initial => None,
        Reason::Changed | Reason::Reset => Some(mail::render(
            "password_changed",
            crate::ui::i18n::pick(user.locale.as_deref()),
            context! { name => user.given_name, forgot => state.config.url("/password/forgot") },
        )?),
    };
    let mut tx = state.db.begin().await?;
    if let Some(code) = code {
        if !email_codes::consume(&mut *tx, &code.id, now).await? {
            return Err(SetPasswordError::CodeUsed);
        }
    }
    users::set_password(&mut *tx, &user.id, &hash, now).await?;
    let ended =
        crate::account::sessions::end_other_sessions(&mut tx, state, &user.id, keep_sid, now)
            .await?;
    audit::record(
        &mut *tx,
        now,
        &format!("user:{}", user.id),
        reason.action(),
        &user.id,
        &json!({ "other_sessions_ended": ended }),
    )
    .await?;
    if let Some(notice) = &notice {
        outbox::enqueue(&mut *tx, &notice.to(&user.email), now).await?;
    }
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    state.logout_wakeup.notify_one();
    tracing::info!(user = %user.id, reason = reason.action(), ended, "password set");
    Ok(())
}
