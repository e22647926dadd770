//! `/profile/password`: change while signed in ("Get code" mails a code; code, new
//! password and confirmation, then "Change").

use super::*;
use crate::account::email_codes::{self, Purpose};
use crate::account::password::{self, CodeChange, Reason};
use crate::db::users::User;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::{FieldErrors, CODE_DIGITS, CODE_FORMAT};
use crate::http::extract::signed_in::SignedIn;
use crate::http::lang;
use crate::policy::throttle::{self, Account, Action, ThrottleError};
use crate::state::AppState;
use crate::ui::i18n;
use crate::ui::pages::{PageBase, PasswordChangePage};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_cookies::Cookies;

const CHANGE: &str = "/profile/password";

/// `GET /profile/password`: "Get code", then code, new password and confirmation.
pub async fn form(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedIn { user, session: _ }: SignedIn,
    query: Result<Query<RequestQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let sent = query.ok().and_then(|Query(q)| q.sent).is_some();
    let mut view = change_page(&state, &cookies, &user);
    view.notice =
        sent.then(|| i18n::text(view.base.lang, "change.sent", &[("email", &user.email)]));
    Ok(page(StatusCode::OK, &view))
}

/// `POST /profile/password/code`: mails a code to the registered address. Every
/// request counts against the code-request throttle of the account (shared with
/// "forgot password"), before the code is issued.
pub async fn send_code(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedIn { user, session: _ }: SignedIn,
    client: ClientIp,
    CsrfForm((), checks): CsrfForm,
) -> Result<Response, PageError> {
    let mut view = change_page(&state, &cookies, &user);
    if let Err(errors) = checks.fields().finish() {
        view.errors = errors;
        return Ok(page(StatusCode::BAD_REQUEST, &view));
    }
    let account = Account::User(user.id.clone());
    let subject = throttle::Subject::new(
        &state.config.throttle,
        Action::Forgot,
        Some(&account),
        &client.network(),
    );
    match throttle::reserve(&state, &subject).await {
        // Each request counts, so nobody can flood a mailbox.
        Ok(attempt) => attempt.failed(&state).await?,
        Err(ThrottleError::Blocked(blocked)) => {
            let (status, message) = refused(ChangeError::Blocked(blocked), view.base.lang)?;
            view.error = Some(message);
            return Ok(page(status, &view));
        }
        Err(ThrottleError::Internal(e)) => return Err(PageError::Internal(e.into())),
    }
    email_codes::issue(&state, &user, Purpose::PasswordChange).await?;
    Ok(Redirect::to(&format!("{CHANGE}?sent=1")).into_response())
}

/// `POST /profile/password`: code, new password and confirmation. Missing or
/// malformed fields get their message (400) without using a try; a code entry is
/// reserved against the throttle before the code is compared.
pub async fn submit(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedIn { user, session: s }: SignedIn,
    client: ClientIp,
    CsrfForm(form, checks): CsrfForm<ChangePasswordForm>,
) -> Result<Response, PageError> {
    let mut view = change_page(&state, &cookies, &user);
    let mut fields = checks.fields();
    let code = fields.digits("code", CODE_DIGITS, CODE_FORMAT);
    fields.required("new_password");
    fields.required("confirm_password");
    if let Err(errors) = fields.finish() {
        view.errors = errors;
        return Ok(page(StatusCode::BAD_REQUEST, &view));
    }
    let account = Account::User(user.id.clone());
    let subject = throttle::Subject::new(
        &state.config.throttle,
        Action::Code,
        Some(&account),
        &client.network(),
    );
    let change = CodeChange {
        user: Some(&user),
        subject: &subject,
        code,
        new_password: &form.new_password,
        confirmation: &form.confirm_password,
        keep_sid: Some(&s.sid),
        reason: Reason::Changed,
    };
    if let Err(e) = password::change_with_code(&state, change).await {
        let (status, message) = refused(e, view.base.lang)?;
        view.error = Some(message);
        return Ok(page(status, &view));
    }
    Ok(Redirect::to("/profile?notice=password_changed").into_response())
}

fn change_page(state: &AppState, cookies: &Cookies, user: &User) -> PasswordChangePage {
    let lang = lang::preferred(user.locale.as_deref(), None);
    let csrf_token = browser::csrf_token(state, &browser::browser_id(state, cookies));
    PasswordChangePage {
        base: PageBase::new(lang, "change.title", csrf_token),
        username: user.username.clone(),
        email: user.email.clone(),
        rules: rules(state),
        digits: state.config.codes.digits,
        notice: None,
        error: None,
        errors: FieldErrors::new(),
    }
}
