//! Changing a password, whatever the path (forced change after a one-time password,
//! change with an e-mailed code, reset of a forgotten password): one transaction that
//! uses up the code, stores the new hash, ends every other browser session and every
//! refresh-token family not bound to the current session, records the event, and
//! queues the "your password was changed" notice.

use minijinja::context;
use serde_json::json;

use crate::account::email_codes::{self, Purpose};
use crate::db::email_codes::{self as db_codes, CodeRow};
use crate::db::users::{self, User};
use crate::db::{audit, companies, outbox};
use crate::error::{internal_from, Internal};
use crate::outbox::mail;
use crate::policy::password::PasswordRejection;
use crate::policy::throttle::{self, Account, Action, Blocked, ThrottleError};
use crate::state::AppState;
use crate::ui::i18n;

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

/// Why a password could not be set. Each variant's doc gives the answer of the
/// password pages: its status and the i18n key of its message.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// 429, `throttle.try_again` (minutes): too many code entries.
    #[error(transparent)]
    Blocked(Blocked),
    /// 400, `code.wrong`: the code is wrong, expired, or the account unknown.
    #[error("wrong code")]
    WrongCode,
    /// 400, the rejection's own key ([`PasswordRejection::message`]); the code
    /// stays valid.
    #[error(transparent)]
    Rejected(PasswordRejection),
    /// 400, `code.wrong`: the code was used up by a concurrent request.
    #[error("the code was already used")]
    CodeUsed,
    /// 500 (logged): any other failure.
    #[error(transparent)]
    Internal(Internal),
}

internal_from!(ChangeError: sqlx::Error, anyhow::Error, Internal);

impl From<ThrottleError> for ChangeError {
    fn from(e: ThrottleError) -> Self {
        match e {
            ThrottleError::Blocked(blocked) => ChangeError::Blocked(blocked),
            ThrottleError::Internal(e) => ChangeError::Internal(e),
        }
    }
}

impl ChangeError {
    /// The message of a refusal in `lang` (`None` for [`ChangeError::Internal`]).
    pub fn message(&self, lang: &str) -> Option<String> {
        match self {
            ChangeError::Blocked(blocked) => Some(i18n::text(
                lang,
                "throttle.try_again",
                &[("minutes", &blocked.minutes().to_string())],
            )),
            ChangeError::WrongCode | ChangeError::CodeUsed => {
                Some(i18n::text(lang, "code.wrong", &[]))
            }
            ChangeError::Rejected(rejection) => Some(rejection.message(lang)),
            ChangeError::Internal(_) => None,
        }
    }
}

/// The policy check with the user's own details as context, and not the password
/// it replaces (in particular not the mailed one-time password).
///
/// # Errors
/// [`ChangeError::Rejected`] with the policy's verdict; database failures.
pub async fn check_policy(
    state: &AppState,
    user: &User,
    new: &str,
    confirmation: &str,
) -> Result<(), ChangeError> {
    let company = match &user.company_id {
        Some(id) => companies::find(state.db.pool(), id).await?.map(|c| c.name),
        None => None,
    };
    let personal = [
        user.email.as_str(),
        user.username.as_str(),
        user.given_name.as_str(),
        user.family_name.as_str(),
        company.as_deref().unwrap_or_default(),
    ];
    state
        .password_policy
        .check(new, confirmation, &personal)
        .map_err(ChangeError::Rejected)?;
    if state
        .passwords
        .verify(new, user.password_hash.as_deref())
        .await?
    {
        return Err(ChangeError::Rejected(PasswordRejection::Unchanged));
    }
    Ok(())
}

/// The first own password after a one-time password: the policy, then the change
/// (keeping the browser session `keep_sid`).
///
/// # Errors
/// [`ChangeError::Rejected`]; internal failures.
pub async fn set_initial(
    state: &AppState,
    user: &User,
    new: &str,
    confirmation: &str,
    keep_sid: &str,
) -> Result<(), ChangeError> {
    check_policy(state, user, new, confirmation).await?;
    set_password(state, user, new, Some(keep_sid), None, Reason::Initial).await
}

/// A change or reset with an e-mailed code.
#[derive(Debug)]
pub struct CodeChange<'a> {
    /// The account the code was mailed to; `None` for an address without an active
    /// account (the same steps run, against an impossible user id).
    pub user: Option<&'a User>,
    /// The throttle keys of the code entry.
    pub subject: &'a throttle::Subject,
    /// The code as entered (digits).
    pub code: &'a str,
    /// The new password.
    pub new_password: &'a str,
    /// Its confirmation.
    pub confirmation: &'a str,
    /// The browser session to keep (a change while signed in).
    pub keep_sid: Option<&'a str>,
    /// [`Reason::Changed`] or [`Reason::Reset`].
    pub reason: Reason,
}

/// A code entry, reserved against the throttle before the code is compared; a
/// right code gives the attempt back (whatever the policy then says of the new
/// password, it was not a guess), and the code is used up with the change.
///
/// # Errors
/// [`ChangeError::Blocked`], [`ChangeError::WrongCode`], [`ChangeError::Rejected`]
/// (the code stays valid), [`ChangeError::CodeUsed`]; internal failures.
pub async fn change_with_code(state: &AppState, change: CodeChange<'_>) -> Result<(), ChangeError> {
    let purpose = match change.reason {
        Reason::Reset => Purpose::PasswordReset,
        Reason::Initial | Reason::Changed => Purpose::PasswordChange,
    };
    let attempt = throttle::reserve(state, change.subject).await?;
    let user_id = change.user.map_or("-", |u| u.id.as_str());
    let valid = email_codes::verify(state, user_id, purpose, change.code).await?;
    let (Some(user), Some(valid)) = (change.user, valid) else {
        attempt.failed(state).await?;
        return Err(ChangeError::WrongCode);
    };
    attempt.succeeded(state).await?;
    check_policy(state, user, change.new_password, change.confirmation).await?;
    set_password(
        state,
        user,
        change.new_password,
        change.keep_sid,
        Some(&valid),
        change.reason,
    )
    .await
}

/// The account whose e-mail address (not username) is `email` (normalised).
///
/// # Errors
/// Database failures.
pub async fn account_by_email(state: &AppState, email: &str) -> sqlx::Result<Option<User>> {
    Ok(users::find_by_login(&state.db, email)
        .await?
        .filter(|u| u.email == email))
}

/// "Forgot password": counts the request against the throttle of the account of
/// `email` (normalised; found by its e-mail address, not its username) and of the
/// client `network`, then issues a reset code and mails it off the request path when
/// the address belongs to an active account. The work and the answer are the same
/// whether or not it does.
///
/// # Errors
/// [`ChangeError::Blocked`]; database failures.
pub async fn request_reset(
    state: &AppState,
    email: &str,
    network: &str,
) -> Result<(), ChangeError> {
    // One lookup for every address, known or not, so the account's counter is the
    // one "Get code" uses too.
    let user = account_by_email(state, email).await?;
    let account = Account::of(user.as_ref(), email);
    let subject = throttle::Subject::new(
        &state.config.throttle,
        Action::Forgot,
        Some(&account),
        network,
    );
    throttle::reserve(state, &subject)
        .await?
        .failed(state)
        .await?;
    let background = state.clone();
    tokio::spawn(async move {
        let Some(user) = user.filter(User::is_active) else {
            return;
        };
        if let Err(e) = email_codes::issue(&background, &user, Purpose::PasswordReset).await {
            tracing::error!(error = %e, "issuing a reset code failed");
        }
    });
    Ok(())
}

/// A password reset with the mailed code (the reset page's "Change Password").
#[derive(Debug)]
pub struct Reset<'a> {
    /// The e-mail address, normalised.
    pub email: &'a str,
    /// The client network (the throttle's key).
    pub network: &'a str,
    /// The code as entered (digits).
    pub code: &'a str,
    /// The new password.
    pub new_password: &'a str,
    /// Its confirmation.
    pub confirmation: &'a str,
}

/// Resets the password of the account of `reset.email` with its mailed code: the
/// code entry is reserved against the throttle of the address's account before the
/// code is compared ([`change_with_code`]); an unknown or inactive address goes
/// through the same steps against an impossible user id. On success every session
/// and refresh-token family of the user ends and a notice is mailed.
///
/// # Errors
/// As [`change_with_code`].
pub async fn reset(state: &AppState, reset: Reset<'_>) -> Result<(), ChangeError> {
    let user = account_by_email(state, reset.email).await?;
    let account = Account::of(user.as_ref(), reset.email);
    let subject = throttle::Subject::new(
        &state.config.throttle,
        Action::Code,
        Some(&account),
        reset.network,
    );
    let user = user.filter(User::is_active);
    let change = CodeChange {
        user: user.as_ref(),
        subject: &subject,
        code: reset.code,
        new_password: reset.new_password,
        confirmation: reset.confirmation,
        keep_sid: None,
        reason: Reason::Reset,
    };
    change_with_code(state, change).await
}

/// Stores `new_password` (already checked against the policy) for `user`.
/// `keep_sid` is the browser session to keep (the one changing the password);
/// `code` is the verified e-mailed code to use up.
///
/// # Errors
/// [`ChangeError::CodeUsed`] when the code is gone; internal failures.
pub async fn set_password(
    state: &AppState,
    user: &User,
    new_password: &str,
    keep_sid: Option<&str>,
    code: Option<&CodeRow>,
    reason: Reason,
) -> Result<(), ChangeError> {
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
        if !db_codes::consume(&mut *tx, &code.id, now).await? {
            return Err(ChangeError::CodeUsed);
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
