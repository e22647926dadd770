//! `/password/new`: the forced change after a login with a one-time password;
//! nothing is issued to a relying party before it succeeds.

use super::*;
use crate::account::password;
use crate::db::users::User;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::FieldErrors;
use crate::http::extract::signed_in::SignedInForNewPassword;
use crate::http::lang;
use crate::state::AppState;
use crate::ui::pages::{PageBase, PasswordNewPage};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_cookies::Cookies;

/// `GET /password/new[?request_id=…]`.
pub async fn form(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedInForNewPassword { user, session: _ }: SignedInForNewPassword,
    query: Result<Query<RequestQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let request_id = query.ok().and_then(|Query(q)| q.request_id);
    if !user.must_change_password {
        return Ok(Redirect::to(&next(request_id.as_deref())).into_response());
    }
    let view = new_page(&state, &cookies, &user, request_id);
    Ok(page(StatusCode::OK, &view))
}

/// `POST /password/new`: applies the password policy, stores the new password and
/// continues the pending authorization request.
pub async fn submit(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedInForNewPassword { user, session: s }: SignedInForNewPassword,
    CsrfForm(form, checks): CsrfForm<NewPasswordForm>,
) -> Result<Response, PageError> {
    if !user.must_change_password {
        // A second submit after the password was set: say so instead of pretending.
        return Err(PageError::BadRequest("password_new.already_set"));
    }
    let mut view = new_page(&state, &cookies, &user, form.request_id.clone());
    let mut fields = checks.fields();
    fields.required("new_password");
    fields.required("confirm_password");
    if let Err(errors) = fields.finish() {
        view.errors = errors;
        return Ok(page(StatusCode::BAD_REQUEST, &view));
    }
    let (new, confirmation) = (&form.new_password, &form.confirm_password);
    if let Err(e) = password::set_initial(&state, &user, new, confirmation, &s.sid).await {
        let (status, message) = refused(e, view.base.lang)?;
        view.error = Some(message);
        return Ok(page(status, &view));
    }
    Ok(Redirect::to(&next(form.request_id.as_deref())).into_response())
}

fn new_page(
    state: &AppState,
    cookies: &Cookies,
    user: &User,
    request_id: Option<String>,
) -> PasswordNewPage {
    let lang = lang::preferred(user.locale.as_deref(), None);
    let csrf_token = browser::csrf_token(state, &browser::browser_id(state, cookies));
    PasswordNewPage {
        base: PageBase::new(lang, "password_new.title", csrf_token),
        request_id,
        username: user.username.clone(),
        rules: rules(state),
        error: None,
        errors: FieldErrors::new(),
    }
}
