//! `/password/forgot` → `/password/reset`: the e-mail address gets a code (the same
//! answer whether or not it has an account, the work done off the request path);
//! code and new password, then "Change Password".

use super::*;
use crate::account::email_codes::{self, Purpose};
use crate::account::password::Reason;
use crate::db::users::{self, User};
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::{FieldErrors, Fields, CODE_DIGITS, CODE_FORMAT};
use crate::http::lang;
use crate::policy::throttle::{self, Account, Action};
use crate::state::AppState;
use crate::ui::i18n;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use tower_cookies::Cookies;

/// `GET /password/forgot[?request_id=…]`.
pub async fn forgot_form(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<RequestQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let request_id = query.ok().and_then(|Query(q)| q.request_id);
    let browser = browser::browser_id(&state, &cookies);
    render_forgot(
        &state,
        &browser,
        safe_request_id(request_id.as_deref()),
        None,
        &FieldErrors::new(),
        StatusCode::OK,
    )
}

/// `POST /password/forgot`: "Reset my password". Always the same redirect to the
/// code page for a well-formed address; the code is issued and mailed off the
/// request path. A missing, repeated or unreadable field, or a value that is not an
/// e-mail address, gets the field's message on the form (400) and sends nothing.
pub async fn forgot_submit(
    State(state): State<AppState>,
    cookies: Cookies,
    client: ClientIp,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let browser = browser::browser_id(&state, &cookies);
    let request_id = safe_request_id(params.get("request_id")).map(str::to_owned);
    let mut fields = Fields::new(&params);
    let email = fields.email("email");
    let email = match (fields.finish(), email) {
        (Ok(()), Some(email)) => email.to_string(),
        (checked, _) => {
            return Ok(render_forgot(
                &state,
                &browser,
                request_id.as_deref(),
                None,
                &checked.err().unwrap_or_default(),
                StatusCode::BAD_REQUEST,
            ))
        }
    };
    // One lookup for every address, known or not, so the account's counter is the
    // one "Get code" uses too.
    let user = account_by_email(&state, &email).await?;
    let account = Account::of(user.as_ref(), &email);
    let subject = throttle::Subject::new(
        &state.config.throttle,
        Action::Forgot,
        Some(&account),
        &client.network(),
    );
    match throttle::reserve(&state, &subject).await? {
        Ok(attempt) => attempt.failed(&state).await?,
        Err(blocked) => {
            let message = blocked_message(lang::current(), blocked);
            return Ok(render_forgot(
                &state,
                &browser,
                request_id.as_deref(),
                Some(message),
                &FieldErrors::new(),
                StatusCode::TOO_MANY_REQUESTS,
            ));
        }
    }
    let background = state.clone();
    tokio::spawn(async move {
        if let Err(e) = send_reset_code(&background, user).await {
            tracing::error!(error = %format!("{e:#}"), "issuing a reset code failed");
        }
    });
    let target = match request_id {
        Some(id) => format!("/password/reset?request_id={id}"),
        None => "/password/reset".to_owned(),
    };
    Ok(Redirect::to(&target).into_response())
}

/// The account whose e-mail address (not username) is `email` (normalised).
async fn account_by_email(state: &AppState, email: &str) -> Result<Option<User>, PageError> {
    Ok(users::find_by_login(&state.db, email)
        .await?
        .filter(|u| u.email == email))
}

async fn send_reset_code(state: &AppState, user: Option<User>) -> anyhow::Result<()> {
    match user {
        Some(user) if user.is_active() => {
            email_codes::issue(state, &user, Purpose::PasswordReset).await
        }
        _ => Ok(()),
    }
}

fn render_forgot(
    state: &AppState,
    browser: &str,
    request_id: Option<&str>,
    error: Option<String>,
    errors: &FieldErrors,
    status: StatusCode,
) -> Response {
    let lang = lang::current();
    page(
        status,
        "password_forgot.html",
        context! {
            title => i18n::text(lang, "forgot.title", &[]),
            csrf_token => browser::csrf_token(state, browser),
            request_id,
            error,
            errors,
        },
    )
}

/// `GET /password/reset[?request_id=…]`: e-mail, code, new password, confirmation.
pub async fn form(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<RequestQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let request_id = query.ok().and_then(|Query(q)| q.request_id);
    let browser = browser::browser_id(&state, &cookies);
    render_reset(
        &state,
        &browser,
        safe_request_id(request_id.as_deref()),
        "",
        None,
        &FieldErrors::new(),
        StatusCode::OK,
    )
}

/// `POST /password/reset`: "Change Password". Missing or malformed fields get their
/// message (400) without using a try; a code entry is reserved against the
/// throttle of the address's account before the code is compared. On success every
/// session and refresh-token family of the user ends, a notice is mailed, and the
/// login page (with the pending authorization request) follows.
pub async fn submit(
    State(state): State<AppState>,
    cookies: Cookies,
    client: ClientIp,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let browser = browser::browser_id(&state, &cookies);
    let request_id = safe_request_id(params.get("request_id")).map(str::to_owned);
    let raw = params.get("email").unwrap_or_default().trim().to_owned();
    let lang = lang::current();
    let render = |message: Option<String>, errors: &FieldErrors, status: StatusCode| {
        render_reset(
            &state,
            &browser,
            request_id.as_deref(),
            &raw,
            message,
            errors,
            status,
        )
    };
    let fail =
        |message: String, status: StatusCode| render(Some(message), &FieldErrors::new(), status);
    let mut fields = Fields::new(&params);
    let email = fields.email("email");
    let code = fields.digits("code", CODE_DIGITS, CODE_FORMAT);
    fields.required("new_password");
    fields.required("confirm_password");
    let email = match (fields.finish(), email) {
        (Ok(()), Some(email)) => email.to_string(),
        (checked, _) => {
            let errors = checked.err().unwrap_or_default();
            return Ok(render(None, &errors, StatusCode::BAD_REQUEST));
        }
    };
    let user = account_by_email(&state, &email).await?;
    let account = Account::of(user.as_ref(), &email);
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
    let user = user.filter(User::is_active);
    // Unknown addresses go through the same steps against an impossible user id.
    let user_id = user.as_ref().map_or("-", |u| u.id.as_str());
    let valid = email_codes::verify(&state, user_id, Purpose::PasswordReset, code).await?;
    let (Some(user), Some(valid)) = (user, valid) else {
        attempt.failed(&state).await?;
        return Ok(fail(
            i18n::text(lang, "code.wrong", &[]),
            StatusCode::BAD_REQUEST,
        ));
    };
    attempt.succeeded(&state).await?;
    if let Err(message) =
        set_with_code(&state, &user, &params, None, &valid, Reason::Reset, lang).await?
    {
        return Ok(fail(message, StatusCode::BAD_REQUEST));
    }
    let target = match request_id {
        Some(id) => format!("/login?request_id={id}&notice=password_changed"),
        None => "/login?notice=password_changed".to_owned(),
    };
    Ok(Redirect::to(&target).into_response())
}

fn render_reset(
    state: &AppState,
    browser: &str,
    request_id: Option<&str>,
    email: &str,
    error: Option<String>,
    errors: &FieldErrors,
    status: StatusCode,
) -> Response {
    let lang = lang::current();
    page(
        status,
        "password_reset.html",
        context! {
            title => i18n::text(lang, "reset.title", &[]),
            csrf_token => browser::csrf_token(state, browser),
            request_id,
            email,
            min_length => state.password_policy.min_length,
            max_length => state.password_policy.max_length,
            digits => state.config.codes.digits,
            error,
            errors,
        },
    )
}
