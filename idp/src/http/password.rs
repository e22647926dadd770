//! Password pages. `/password/new` is the forced change after a login with a
//! one-time password: nothing is issued to a relying party before it succeeds.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use tower_cookies::Cookies;

use super::error::{page, PageError};
use super::extract::{ParamsError, RequestParams};
use super::{lang, session};
use crate::db::users::UserRow;
use crate::db::{audit, companies, users};
use crate::i18n;
use crate::password_policy::PasswordRejection;
use crate::state::AppState;

/// Query of `GET /password/new`.
#[derive(Deserialize)]
pub struct NewQuery {
    request_id: Option<String>,
}

/// Where to go once the password is set.
fn next(request_id: Option<&str>) -> String {
    match request_id.filter(|id| {
        id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        Some(id) => format!("/authorize/resume?request_id={id}"),
        None => "/".to_owned(),
    }
}

/// The signed-in user, or a redirect to the login page.
async fn signed_in(
    state: &AppState,
    cookies: &Cookies,
) -> Result<Result<UserRow, Response>, PageError> {
    let Some(s) = session::current(state, cookies).await? else {
        return Ok(Err(Redirect::to("/login").into_response()));
    };
    match users::find_by_id(&state.db, &s.user_id).await? {
        Some(user) => Ok(Ok(user)),
        None => Ok(Err(Redirect::to("/login").into_response())),
    }
}

/// `GET /password/new[?request_id=…]`.
pub async fn new_form(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<NewQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let request_id = query.ok().and_then(|Query(q)| q.request_id);
    let user = match signed_in(&state, &cookies).await? {
        Ok(user) => user,
        Err(redirect) => return Ok(redirect),
    };
    if !user.must_change_password() {
        return Ok(Redirect::to(&next(request_id.as_deref())).into_response());
    }
    let browser = session::browser_id(&state, &cookies);
    Ok(render(&state, &browser, &user, request_id.as_deref(), None))
}

/// `POST /password/new`: applies the password policy, stores the new password and
/// continues the pending authorization request.
pub async fn new_submit(
    State(state): State<AppState>,
    cookies: Cookies,
    headers: HeaderMap,
    params: Result<RequestParams, ParamsError>,
) -> Result<Response, PageError> {
    let RequestParams(params) = params.map_err(|_| PageError::BadRequest("error.params"))?;
    if !session::check_form(&state, &cookies, &headers, params.get("csrf_token")) {
        return Err(PageError::Forbidden);
    }
    let request_id = params.get("request_id");
    let user = match signed_in(&state, &cookies).await? {
        Ok(user) => user,
        Err(redirect) => return Ok(redirect),
    };
    if !user.must_change_password() {
        return Ok(Redirect::to(&next(request_id)).into_response());
    }
    let browser = session::browser_id(&state, &cookies);
    let new = params.get("new_password").unwrap_or_default();
    let confirmation = params.get("confirm_password").unwrap_or_default();
    if let Err(rejection) = check_policy(&state, &user, new, confirmation).await? {
        let mut response = render(&state, &browser, &user, request_id, Some(&rejection));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    let hash = state.passwords.hash(new).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    users::set_password(&mut *tx, &user.id, &hash, now).await?;
    audit::record(
        &mut *tx,
        now,
        &format!("user:{}", user.id),
        "password.initial_set",
        &user.id,
        &serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, "initial password set");
    Ok(Redirect::to(&next(request_id)).into_response())
}

/// The policy check with the user's own details as context.
///
/// # Errors
/// Database failures (the inner result is the policy's verdict).
pub async fn check_policy(
    state: &AppState,
    user: &UserRow,
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
    Ok(state.password_policy.check(new, confirmation, &personal))
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

fn render(
    state: &AppState,
    browser: &str,
    user: &UserRow,
    request_id: Option<&str>,
    rejection: Option<&PasswordRejection>,
) -> Response {
    let lang = lang::preferred(user.locale.as_deref(), None);
    page(
        StatusCode::OK,
        "password_new.html",
        context! {
            lang,
            title => i18n::text(lang, "password_new.title", &[]),
            csrf_token => session::csrf_token(state, browser),
            request_id,
            username => user.username,
            min_length => state.password_policy.min_length,
            max_length => state.password_policy.max_length,
            error => rejection.map(|r| rejection_message(lang, r)),
        },
    )
}
