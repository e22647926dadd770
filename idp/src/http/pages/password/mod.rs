//! Password pages:
//! - `/password/new`: the forced change after a login with a one-time password;
//!   nothing is issued to a relying party before it succeeds.
//! - `/profile/password`: change while signed in ("Get code" mails a code; code, new
//!   password and confirmation, then "Change").
//! - `/password/forgot` → `/password/reset`: the e-mail address gets a code (the same
//!   answer whether or not it has an account, the work done off the request path);
//!   code and new password, then "Change Password".

pub mod change;
pub mod new;
pub mod reset;

use crate::account::password::{self, Reason, SetPasswordError};
use crate::db::companies;
use crate::db::email_codes::CodeRow;
use crate::db::users::User;
use crate::http::error::PageError;
use crate::oauth::params::Params;
use crate::policy::password::PasswordRejection;
use crate::policy::throttle::{self};
use crate::state::AppState;
use crate::ui::i18n;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

/// Query with an optional pending authorization request.
#[derive(Deserialize)]
pub struct RequestQuery {
    request_id: Option<String>,
    sent: Option<String>,
}

/// A request_id safe to put back into a URL.
fn safe_request_id(request_id: Option<&str>) -> Option<&str> {
    request_id.filter(|id| {
        id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Where to go once the initial password is set.
fn next(request_id: Option<&str>) -> String {
    match safe_request_id(request_id) {
        Some(id) => format!("/authorize/resume?request_id={id}"),
        None => "/".to_owned(),
    }
}

/// The policy check with the user's own details as context.
///
/// # Errors
/// Database failures (the inner result is the policy's verdict).
pub async fn check_policy(
    state: &AppState,
    user: &User,
    new: &str,
    confirmation: &str,
) -> Result<Result<(), PasswordRejection>, PageError> {
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
    if let Err(rejection) = state.password_policy.check(new, confirmation, &personal) {
        return Ok(Err(rejection));
    }
    // Not the password it replaces (in particular not the mailed one-time password).
    if state
        .passwords
        .verify(new, user.password_hash.as_deref())
        .await?
    {
        return Ok(Err(PasswordRejection::Unchanged));
    }
    Ok(Ok(()))
}

/// The message for a refused password, in `lang`.
pub fn rejection_message(lang: &str, rejection: &PasswordRejection) -> String {
    match rejection {
        PasswordRejection::TooShort { min } => {
            i18n::text(lang, rejection.message_key(), &[("min", &min.to_string())])
        }
        PasswordRejection::TooLong { max } => {
            i18n::text(lang, rejection.message_key(), &[("max", &max.to_string())])
        }
        _ => i18n::text(lang, rejection.message_key(), &[]),
    }
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

/// The common end of a change and a reset: the new password and its confirmation
/// pass the policy, then the verified code is used up with the change. The inner
/// error is the message to show (the code stays valid after a policy refusal).
async fn set_with_code(
    state: &AppState,
    user: &User,
    params: &Params,
    keep_sid: Option<&str>,
    code: &CodeRow,
    reason: Reason,
    lang: &str,
) -> Result<Result<(), String>, PageError> {
    let new = params.get("new_password").unwrap_or_default();
    let confirmation = params.get("confirm_password").unwrap_or_default();
    if let Err(rejection) = check_policy(state, user, new, confirmation).await? {
        return Ok(Err(rejection_message(lang, &rejection)));
    }
    match password::set_password(state, user, new, keep_sid, Some(code), reason).await {
        Ok(()) => Ok(Ok(())),
        Err(SetPasswordError::CodeUsed) => Ok(Err(i18n::text(lang, "code.wrong", &[]))),
        Err(SetPasswordError::Internal(e)) => Err(PageError::Internal(e)),
    }
}

fn blocked_message(lang: &str, blocked: throttle::Blocked) -> String {
    i18n::text(
        lang,
        "throttle.try_again",
        &[("minutes", &blocked.minutes().to_string())],
    )
}
