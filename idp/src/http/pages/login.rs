//! The login page: username (or e-mail) and password. Every failure gets the same
//! message, and unknown users cost the same argon2 verification as known ones.
//! A one-time password (from the approval mail) works once, before it expires, and
//! leads to the "set a new password" page before anything else.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use crate::crypto;
use crate::db::users::{self, User};
use crate::db::{auth_requests, clients};
use crate::error::internal_from;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::FieldErrors;
use crate::http::extract::signed_in::safe_return_to;
use crate::http::lang;
use crate::oauth::authorize::{Pending, EXPIRED};
use crate::policy::throttle::{self, Action, Blocked, ThrottleError};
use crate::state::AppState;
use crate::ui::i18n;
use crate::ui::pages::{LoginPage, PageBase};

/// The i18n key of the one message for every failed login.
pub const LOGIN_FAILED: &str = "login.failed";

/// Query of `GET /login`.
#[derive(Deserialize)]
pub struct LoginQuery {
    request_id: Option<String>,
    return_to: Option<String>,
    notice: Option<String>,
}

/// `GET /login[?request_id=…|?return_to=/path]`: the form, pre-filled with a login_hint.
pub async fn form(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Ok(Query(query)) = query else {
        return Err(PageError::BadRequest("error.malformed_link"));
    };
    let browser = browser::browser_id(&state, &cookies);
    let pending = match &query.request_id {
        Some(id) => Some(load_pending(&state, &browser, id).await?),
        None => None,
    };
    let mut view = login_page(&state, &browser, query.request_id, pending.as_ref()).await?;
    view.username = pending
        .as_ref()
        .and_then(|p| p.request.login_hint.clone())
        .unwrap_or_default();
    view.return_to = safe_return_to(query.return_to.as_deref()).map(str::to_owned);
    view.notice = match query.notice.as_deref() {
        Some("password_changed") => Some(i18n::text(view.base.lang, "login.password_changed", &[])),
        _ => None,
    };
    Ok(page(StatusCode::OK, &view))
}

/// The fields of the login form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    request_id: Option<String>,
    return_to: Option<String>,
    username: String,
    password: String,
}

/// Why a login did not go through: the form again, except for `Internal`.
#[derive(Debug)]
enum LoginError {
    /// 400, each field's own message: a missing, repeated or unreadable field is
    /// not a login attempt.
    Fields(FieldErrors),
    /// 429, `throttle.try_again` (minutes).
    Blocked(Blocked),
    /// 401, [`LOGIN_FAILED`]: the one message for every failed login.
    Failed,
    /// 500 error page (logged).
    Internal(anyhow::Error),
}

internal_from!(
    LoginError: sqlx::Error,
    anyhow::Error,
    crate::error::Internal,
    crate::db::BadStoredValue,
);

impl From<ThrottleError> for LoginError {
    fn from(e: ThrottleError) -> Self {
        match e {
            ThrottleError::Blocked(blocked) => LoginError::Blocked(blocked),
            ThrottleError::Internal(e) => LoginError::Internal(e.into()),
        }
    }
}

impl LoginError {
    /// The login form `view` showing this error, or the error page.
    fn page(self, mut view: LoginPage) -> Result<Response, PageError> {
        let lang = view.base.lang;
        let status = match self {
            LoginError::Fields(errors) => {
                view.errors = errors;
                StatusCode::BAD_REQUEST
            }
            LoginError::Blocked(blocked) => {
                let minutes = blocked.minutes().to_string();
                view.error = Some(i18n::text(
                    lang,
                    "throttle.try_again",
                    &[("minutes", &minutes)],
                ));
                StatusCode::TOO_MANY_REQUESTS
            }
            LoginError::Failed => {
                view.error = Some(i18n::text(lang, LOGIN_FAILED, &[]));
                StatusCode::UNAUTHORIZED
            }
            LoginError::Internal(e) => return Err(PageError::Internal(e)),
        };
        Ok(page(status, &view))
    }
}

/// `POST /login`: checks CSRF and the fields, then the credentials (throttled per
/// account, whatever spelling of it was typed); on success starts a new session and
/// continues the pending authorization request (or goes to `return_to`).
pub async fn submit(
    State(state): State<AppState>,
    cookies: Cookies,
    headers: HeaderMap,
    client: ClientIp,
    CsrfForm(form, checks): CsrfForm<LoginForm>,
) -> Result<Response, PageError> {
    let browser = browser::browser_id(&state, &cookies);
    let pending = match &form.request_id {
        Some(id) => Some(load_pending(&state, &browser, id).await?),
        None => None,
    };
    let return_to = safe_return_to(form.return_to.as_deref()).map(str::to_owned);
    let mut fields = checks.fields();
    let login = fields.required("username").trim().to_owned();
    fields.required("password");
    let user = match fields.finish() {
        Ok(()) => log_in(&state, &client, &login, &form.password).await,
        Err(errors) => Err(LoginError::Fields(errors)),
    };
    let user = match user {
        Ok(user) => user,
        Err(e) => {
            let mut view = login_page(&state, &browser, form.request_id, pending.as_ref()).await?;
            view.username = login;
            view.return_to = return_to;
            return e.page(view);
        }
    };
    browser::start(&state, &cookies, &headers, &client.0, &user).await?;
    tracing::info!(user = %user.id, "login");
    let target = match (form.request_id, user.must_change_password) {
        (Some(id), _) => format!("/authorize/resume?request_id={id}"),
        (None, true) => "/password/new".to_owned(),
        (None, false) => return_to.unwrap_or_else(|| "/".to_owned()),
    };
    Ok(Redirect::to(&target).into_response())
}

/// The user whose `password` was typed with `login`: one lookup for every name,
/// known or not, throttled on the account's keys whatever its spelling.
async fn log_in(
    state: &AppState,
    client: &ClientIp,
    login: &str,
    password: &str,
) -> Result<User, LoginError> {
    let (user, account) = throttle::resolve(state, login).await?;
    let subject = throttle::Subject::new(
        &state.config.throttle,
        Action::Login,
        Some(&account),
        &client.network(),
    );
    let attempt = throttle::reserve(state, &subject).await?;
    match authenticate(state, user, password).await? {
        Some(user) => {
            attempt.succeeded(state).await?;
            Ok(user)
        }
        None => {
            tracing::info!(ip = %client.0, "failed login");
            attempt.failed(state).await?;
            Err(LoginError::Failed)
        }
    }
}

/// `user` (found by [`throttle::resolve`]) if `password` is theirs and they may log
/// in, or `None` (always after one argon2 verification, against a dummy hash without
/// a user). A one-time password must be unexpired and is consumed here.
async fn authenticate(
    state: &AppState,
    user: Option<User>,
    password: &str,
) -> Result<Option<User>, LoginError> {
    let phc = user.as_ref().and_then(|u| u.password_hash.clone());
    let password_ok = state.passwords.verify(password, phc.as_deref()).await?;
    let Some(user) = user.filter(|u| password_ok && u.is_active()) else {
        return Ok(None);
    };
    if user.must_change_password {
        let unexpired = user
            .password_expires_at
            .is_some_and(|t| t > state.clock.now());
        let consumed = unexpired
            && match &phc {
                Some(hash) => users::consume_one_time_password(&state.db, &user.id, hash).await?,
                None => false,
            };
        if !consumed {
            return Ok(None);
        }
    }
    Ok(Some(user))
}

async fn load_pending(state: &AppState, browser: &str, id: &str) -> Result<Pending, PageError> {
    let row = auth_requests::find(
        &state.db,
        &crypto::sha256_b64(id.as_bytes()),
        &crypto::sha256_b64(browser.as_bytes()),
        state.clock.now(),
    )
    .await?
    .ok_or(PageError::BadRequest(EXPIRED))?;
    serde_json::from_str(&row.params).map_err(|e| PageError::Internal(e.into()))
}

/// The login form without the user's input: the language of the request (or its
/// ui_locales) and the relying party it continues to.
async fn login_page(
    state: &AppState,
    browser: &str,
    request_id: Option<String>,
    pending: Option<&Pending>,
) -> Result<LoginPage, PageError> {
    let client_name = match pending {
        Some(p) => clients::find(&state.db, &p.request.client_id)
            .await?
            .map(|c| c.client_name),
        None => None,
    };
    let lang = lang::preferred(None, pending.and_then(|p| p.request.ui_locales.as_deref()));
    Ok(LoginPage {
        base: PageBase::new(lang, "login.title", browser::csrf_token(state, browser)),
        request_id,
        return_to: None,
        username: String::new(),
        client_name,
        error: None,
        notice: None,
        errors: FieldErrors::new(),
    })
}
