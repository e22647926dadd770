//! The login page: username (or e-mail) and password. Every failure gets the same
//! message, and unknown users cost the same argon2 verification as known ones.
//! A one-time password (from the approval mail) works once, before it expires, and
//! leads to the "set a new password" page before anything else.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use tower_cookies::Cookies;

use crate::crypto;
use crate::db::users::{self, User};
use crate::db::{auth_requests, clients};
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::{FieldErrors, Fields};
use crate::http::extract::signed_in::safe_return_to;
use crate::http::lang;
use crate::oauth::authorize::{Pending, EXPIRED};
use crate::policy::throttle::{self, Action};
use crate::state::AppState;
use crate::ui::i18n;

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
    let context = match &query.request_id {
        Some(id) => Some(load_pending(&state, &browser, id).await?),
        None => None,
    };
    let view = LoginView::new(
        &state,
        &browser,
        query.request_id.as_deref(),
        context.as_ref(),
    )
    .await?;
    let username = context
        .as_ref()
        .and_then(|p| p.request.login_hint.clone())
        .unwrap_or_default();
    let notice = match query.notice.as_deref() {
        Some("password_changed") => Some("login.password_changed"),
        _ => None,
    };
    Ok(view.render(
        &username,
        safe_return_to(query.return_to.as_deref()),
        None,
        notice,
    ))
}

/// `POST /login`: checks CSRF and the fields, then the credentials (throttled per
/// account, whatever spelling of it was typed); on success starts a new session and
/// continues the pending authorization request (or goes to `return_to`).
pub async fn submit(
    State(state): State<AppState>,
    cookies: Cookies,
    headers: HeaderMap,
    client: ClientIp,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let browser = browser::browser_id(&state, &cookies);
    let request_id = params.get("request_id").map(str::to_owned);
    let pending = match &request_id {
        Some(id) => Some(load_pending(&state, &browser, id).await?),
        None => None,
    };
    let return_to = safe_return_to(params.get("return_to")).map(str::to_owned);
    let mut fields = Fields::new(&params);
    let login = fields.required("username").trim().to_owned();
    let password = fields.required("password");
    if let Err(errors) = fields.finish() {
        // A missing, repeated or unreadable field is not a login attempt.
        let view =
            LoginView::new(&state, &browser, request_id.as_deref(), pending.as_ref()).await?;
        let mut response = view.page(&login, return_to.as_deref(), None, None, &errors);
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    // One lookup for every name, known or not; the account's keys whatever its spelling.
    let (user, account) = throttle::resolve(&state, &login).await?;
    let subject = throttle::Subject::new(
        &state.config.throttle,
        Action::Login,
        Some(&account),
        &client.network(),
    );
    let attempt = match throttle::reserve(&state, &subject).await? {
        Ok(attempt) => attempt,
        Err(blocked) => {
            let view =
                LoginView::new(&state, &browser, request_id.as_deref(), pending.as_ref()).await?;
            let minutes = blocked.minutes().to_string();
            let message = i18n::text(view.lang, "throttle.try_again", &[("minutes", &minutes)]);
            let mut response = view.render_message(&login, return_to.as_deref(), &message);
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            return Ok(response);
        }
    };
    let user = match authenticate(&state, user, password).await? {
        Some(user) => user,
        None => {
            tracing::info!(ip = %client.0, "failed login");
            attempt.failed(&state).await?;
            let view =
                LoginView::new(&state, &browser, request_id.as_deref(), pending.as_ref()).await?;
            let mut response = view.render(&login, return_to.as_deref(), Some(LOGIN_FAILED), None);
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            return Ok(response);
        }
    };
    attempt.succeeded(&state).await?;
    browser::start(&state, &cookies, &headers, &client.0, &user).await?;
    tracing::info!(user = %user.id, "login");
    let target = match (request_id, user.must_change_password) {
        (Some(id), _) => format!("/authorize/resume?request_id={id}"),
        (None, true) => "/password/new".to_owned(),
        (None, false) => return_to.unwrap_or_else(|| "/".to_owned()),
    };
    Ok(Redirect::to(&target).into_response())
}

/// `user` (found by [`throttle::resolve`]) if `password` is theirs and they may log
/// in, or `None` (always after one argon2 verification, against a dummy hash without
/// a user). A one-time password must be unexpired and is consumed here.
async fn authenticate(
    state: &AppState,
    user: Option<User>,
    password: &str,
) -> Result<Option<User>, PageError> {
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

/// What the login form shows besides the user's input.
struct LoginView {
    lang: &'static str,
    csrf_token: String,
    request_id: Option<String>,
    client_name: Option<String>,
}

impl LoginView {
    async fn new(
        state: &AppState,
        browser: &str,
        request_id: Option<&str>,
        pending: Option<&Pending>,
    ) -> Result<Self, PageError> {
        let client_name = match pending {
            Some(p) => clients::find(&state.db, &p.request.client_id)
                .await?
                .map(|c| c.client_name),
            None => None,
        };
        Ok(Self {
            lang: lang::preferred(None, pending.and_then(|p| p.request.ui_locales.as_deref())),
            csrf_token: browser::csrf_token(state, browser),
            request_id: request_id.map(str::to_owned),
            client_name,
        })
    }

    fn render(
        &self,
        username: &str,
        return_to: Option<&str>,
        error: Option<&str>,
        notice: Option<&str>,
    ) -> Response {
        self.page(
            username,
            return_to,
            error.map(|key| i18n::text(self.lang, key, &[])),
            notice.map(|key| i18n::text(self.lang, key, &[])),
            &FieldErrors::new(),
        )
    }

    fn render_message(&self, username: &str, return_to: Option<&str>, error: &str) -> Response {
        self.page(
            username,
            return_to,
            Some(error.to_owned()),
            None,
            &FieldErrors::new(),
        )
    }

    fn page(
        &self,
        username: &str,
        return_to: Option<&str>,
        error: Option<String>,
        notice: Option<String>,
        errors: &FieldErrors,
    ) -> Response {
        page(
            StatusCode::OK,
            "login.html",
            context! {
                lang => self.lang,
                title => i18n::text(self.lang, "login.title", &[]),
                csrf_token => self.csrf_token,
                request_id => self.request_id,
                return_to,
                username,
                client_name => self.client_name,
                error,
                notice,
                errors,
            },
        )
    }
}
