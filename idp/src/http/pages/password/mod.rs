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

use crate::account::password::ChangeError;
use crate::http::error::PageError;
use crate::state::AppState;
use crate::ui::pages::PasswordRules;
use axum::http::StatusCode;
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

/// The password rules of the policy, for the page.
fn rules(state: &AppState) -> PasswordRules {
    PasswordRules {
        min_length: state.password_policy.min_length,
        max_length: state.password_policy.max_length,
    }
}

/// The new password and its confirmation, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewPasswordForm {
    request_id: Option<String>,
    new_password: String,
    confirm_password: String,
}

/// "Change": code, new password and confirmation.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChangePasswordForm {
    code: String,
    new_password: String,
    confirm_password: String,
}

/// "Change Password" after "forgot": address, code, new password, confirmation.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetPasswordForm {
    request_id: Option<String>,
    email: String,
    code: String,
    new_password: String,
    confirm_password: String,
}

/// "Reset my password": the address.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForgotPasswordForm {
    request_id: Option<String>,
    email: String,
}

/// What the password pages answer for a refusal (the page again, with its status
/// and message), or the error page for [`ChangeError::Internal`].
fn refused(e: ChangeError, lang: &str) -> Result<(StatusCode, String), PageError> {
    if let ChangeError::Internal(e) = e {
        return Err(PageError::Internal(e.into()));
    }
    let status = match e {
        ChangeError::Blocked(_) => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    };
    Ok((status, e.message(lang).unwrap_or_default()))
}
