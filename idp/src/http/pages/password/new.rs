//! `/password/new`: the forced change after a login with a one-time password;
//! nothing is issued to a relying party before it succeeds.

use super::*;
use crate::account::password::{self, Reason};
use crate::db::users::User;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::{FieldErrors, Fields};
use crate::http::extract::signed_in::SignedInForNewPassword;
use crate::http::lang;
use crate::policy::password::PasswordRejection;
use crate::state::AppState;
use crate::ui::i18n;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
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
    let browser = browser::browser_id(&state, &cookies);
    Ok(render_new(
        &state,
        &browser,
        &user,
        request_id.as_deref(),
        None,
        &FieldErrors::new(),
    ))
}

/// `POST /password/new`: applies the password policy, stores the new password and
/// continues the pending authorization request.
pub async fn submit(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedInForNewPassword { user, session: s }: SignedInForNewPassword,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let request_id = params.get("request_id");
    if !user.must_change_password {
        // A second submit after the password was set: say so instead of pretending.
        return Err(PageError::BadRequest("password_new.already_set"));
    }
    let browser = browser::browser_id(&state, &cookies);
    let mut fields = Fields::new(&params);
    let new = fields.required("new_password");
    let confirmation = fields.required("confirm_password");
    if let Err(errors) = fields.finish() {
        let response = render_new(&state, &browser, &user, request_id, None, &errors);
        return Ok(with_status(response, StatusCode::BAD_REQUEST));
    }
    if let Err(rejection) = check_policy(&state, &user, new, confirmation).await? {
        let response = render_new(
            &state,
            &browser,
            &user,
            request_id,
            Some(&rejection),
            &FieldErrors::new(),
        );
        return Ok(with_status(response, StatusCode::BAD_REQUEST));
    }
    password::set_password(&state, &user, new, Some(&s.sid), None, Reason::Initial)
        .await
        .map_err(|e| PageError::Internal(e.into()))?;
    Ok(Redirect::to(&next(request_id)).into_response())
}

fn render_new(
    state: &AppState,
    browser: &str,
    user: &User,
    request_id: Option<&str>,
    rejection: Option<&PasswordRejection>,
    errors: &FieldErrors,
) -> Response {
    let lang = lang::preferred(user.locale.as_deref(), None);
    page(
        StatusCode::OK,
        "password_new.html",
        context! {
            lang,
            title => i18n::text(lang, "password_new.title", &[]),
            csrf_token => browser::csrf_token(state, browser),
            request_id,
            username => user.username,
            min_length => state.password_policy.min_length,
            max_length => state.password_policy.max_length,
            error => rejection.map(|r| rejection_message(lang, r)),
            errors,
        },
    )
}
