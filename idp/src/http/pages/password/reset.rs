//! `/password/forgot` → `/password/reset`: the e-mail address gets a code (the same
//! answer whether or not it has an account, the work done off the request path);
//! code and new password, then "Change Password".

use super::*;
use crate::account::password::{self, Reset};
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::{FieldErrors, CODE_DIGITS, CODE_FORMAT};
use crate::http::lang;
use crate::state::AppState;
use crate::ui::pages::{PageBase, PasswordForgotPage, PasswordResetPage};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_cookies::Cookies;

/// `GET /password/forgot[?request_id=…]`.
pub async fn forgot_form(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<RequestQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let request_id = query.ok().and_then(|Query(q)| q.request_id);
    page(
        StatusCode::OK,
        &forgot_page(&state, &cookies, request_id.as_deref()),
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
    CsrfForm(form, checks): CsrfForm<ForgotPasswordForm>,
) -> Result<Response, PageError> {
    let mut view = forgot_page(&state, &cookies, form.request_id.as_deref());
    let mut fields = checks.fields();
    let email = fields.email("email");
    let email = match (fields.finish(), email) {
        (Ok(()), Some(email)) => email.to_string(),
        (checked, _) => {
            view.errors = checked.err().unwrap_or_default();
            return Ok(page(StatusCode::BAD_REQUEST, &view));
        }
    };
    if let Err(e) = password::request_reset(&state, &email, &client.network()).await {
        let (status, message) = refused(e, view.base.lang)?;
        view.error = Some(message);
        return Ok(page(status, &view));
    }
    let target = match view.request_id {
        Some(id) => format!("/password/reset?request_id={id}"),
        None => "/password/reset".to_owned(),
    };
    Ok(Redirect::to(&target).into_response())
}

fn forgot_page(
    state: &AppState,
    cookies: &Cookies,
    request_id: Option<&str>,
) -> PasswordForgotPage {
    let lang = lang::current();
    let csrf_token = browser::csrf_token(state, &browser::browser_id(state, cookies));
    PasswordForgotPage {
        base: PageBase::new(lang, "forgot.title", csrf_token),
        request_id: safe_request_id(request_id).map(str::to_owned),
        error: None,
        errors: FieldErrors::new(),
    }
}

/// `GET /password/reset[?request_id=…]`: e-mail, code, new password, confirmation.
pub async fn form(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<RequestQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let request_id = query.ok().and_then(|Query(q)| q.request_id);
    let view = reset_page(&state, &cookies, request_id.as_deref(), String::new());
    page(StatusCode::OK, &view)
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
    CsrfForm(form, checks): CsrfForm<ResetPasswordForm>,
) -> Result<Response, PageError> {
    let typed = form.email.trim().to_owned();
    let mut view = reset_page(&state, &cookies, form.request_id.as_deref(), typed);
    let mut fields = checks.fields();
    let email = fields.email("email");
    let code = fields.digits("code", CODE_DIGITS, CODE_FORMAT);
    fields.required("new_password");
    fields.required("confirm_password");
    let email = match (fields.finish(), email) {
        (Ok(()), Some(email)) => email.to_string(),
        (checked, _) => {
            view.errors = checked.err().unwrap_or_default();
            return Ok(page(StatusCode::BAD_REQUEST, &view));
        }
    };
    let reset = Reset {
        email: &email,
        network: &client.network(),
        code,
        new_password: &form.new_password,
        confirmation: &form.confirm_password,
    };
    if let Err(e) = password::reset(&state, reset).await {
        let (status, message) = refused(e, view.base.lang)?;
        view.error = Some(message);
        return Ok(page(status, &view));
    }
    let target = match view.request_id {
        Some(id) => format!("/login?request_id={id}&notice=password_changed"),
        None => "/login?notice=password_changed".to_owned(),
    };
    Ok(Redirect::to(&target).into_response())
}

fn reset_page(
    state: &AppState,
    cookies: &Cookies,
    request_id: Option<&str>,
    email: String,
) -> PasswordResetPage {
    let lang = lang::current();
    let csrf_token = browser::csrf_token(state, &browser::browser_id(state, cookies));
    PasswordResetPage {
        base: PageBase::new(lang, "reset.title", csrf_token),
        request_id: safe_request_id(request_id).map(str::to_owned),
        email,
        rules: rules(state),
        digits: state.config.codes.digits,
        error: None,
        errors: FieldErrors::new(),
    }
}
