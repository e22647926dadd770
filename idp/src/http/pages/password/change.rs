//! `/profile/password`: change while signed in ("Get code" mails a code; code, new
//! password and confirmation, then "Change").

use super::*;
use crate::account::email_codes::{self, Purpose};
use crate::account::password::Reason;
use crate::db::users::User;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::{FieldErrors, Fields, CODE_DIGITS, CODE_FORMAT};
use crate::http::extract::signed_in::SignedIn;
use crate::http::lang;
use crate::policy::throttle::{self, Account, Action};
use crate::state::AppState;
use crate::ui::i18n;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
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
    let browser = browser::browser_id(&state, &cookies);
    let lang = lang::preferred(user.locale.as_deref(), None);
    let notice = sent.then(|| i18n::text(lang, "change.sent", &[("email", &user.email)]));
    Ok(render_change(
        &state,
        &browser,
        &user,
        notice,
        None,
        &FieldErrors::new(),
        StatusCode::OK,
    ))
}

/// `POST /profile/password/code`: mails a code to the registered address. Every
/// request counts against the code-request throttle of the account (shared with
/// "forgot password"), before the code is issued.
pub async fn send_code(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedIn { user, session: _ }: SignedIn,
    client: ClientIp,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let browser = browser::browser_id(&state, &cookies);
    let lang = lang::preferred(user.locale.as_deref(), None);
    if let Err(errors) = Fields::new(&params).finish() {
        return Ok(render_change(
            &state,
            &browser,
            &user,
            None,
            None,
            &errors,
            StatusCode::BAD_REQUEST,
        ));
    }
    let account = Account::User(user.id.clone());
    let subject = throttle::Subject::new(
        &state.config.throttle,
        Action::Forgot,
        Some(&account),
        &client.network(),
    );
    match throttle::reserve(&state, &subject).await? {
        // Each request counts, so nobody can flood a mailbox.
        Ok(attempt) => attempt.failed(&state).await?,
        Err(blocked) => {
            return Ok(render_change(
                &state,
                &browser,
                &user,
                None,
                Some(blocked_message(lang, blocked)),
                &FieldErrors::new(),
                StatusCode::TOO_MANY_REQUESTS,
            ));
        }
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
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let browser = browser::browser_id(&state, &cookies);
    let lang = lang::preferred(user.locale.as_deref(), None);
    let fail = |message: String, status: StatusCode| {
        render_change(
            &state,
            &browser,
            &user,
            None,
            Some(message),
            &FieldErrors::new(),
            status,
        )
    };
    let mut fields = Fields::new(&params);
    let code = fields.digits("code", CODE_DIGITS, CODE_FORMAT);
    fields.required("new_password");
    fields.required("confirm_password");
    if let Err(errors) = fields.finish() {
        return Ok(render_change(
            &state,
            &browser,
            &user,
            None,
            None,
            &errors,
            StatusCode::BAD_REQUEST,
        ));
    }
    let account = Account::User(user.id.clone());
    let subject = throttle::Subject::new(
        &state.config.throttle,
        Action::Code,
        Some(&account),
        &client.network(),
    );
    let attempt = match throttle::reserve(&state, &subject).await? {
        Ok(attempt) => attempt,
        Err(blocked) => {
            return Ok(fail(
                blocked_message(lang, blocked),
                StatusCode::TOO_MANY_REQUESTS,
            ))
        }
    };
    let Some(valid) = email_codes::verify(&state, &user.id, Purpose::PasswordChange, code).await?
    else {
        attempt.failed(&state).await?;
        return Ok(fail(
            i18n::text(lang, "code.wrong", &[]),
            StatusCode::BAD_REQUEST,
        ));
    };
    // The code was right: whatever the policy says of the new password, this was
    // not a guess.
    attempt.succeeded(&state).await?;
    if let Err(message) = set_with_code(
        &state,
        &user,
        &params,
        Some(&s.sid),
        &valid,
        Reason::Changed,
        lang,
    )
    .await?
    {
        return Ok(fail(message, StatusCode::BAD_REQUEST));
    }
    Ok(Redirect::to("/profile?notice=password_changed").into_response())
}

fn render_change(
    state: &AppState,
    browser: &str,
    user: &User,
    notice: Option<String>,
    error: Option<String>,
    errors: &FieldErrors,
    status: StatusCode,
) -> Response {
    let lang = lang::preferred(user.locale.as_deref(), None);
    page(
        status,
        "password_change.html",
        context! {
            lang,
            title => i18n::text(lang, "change.title", &[]),
            csrf_token => browser::csrf_token(state, browser),
            username => user.username,
            email => user.email,
            min_length => state.password_policy.min_length,
            max_length => state.password_policy.max_length,
            digits => state.config.codes.digits,
            notice,
            error,
            errors,
        },
    )
}
