//! Password pages:
//! - `/password/new`: the forced change after a login with a one-time password;
//!   nothing is issued to a relying party before it succeeds.
//! - `/profile/password`: change while signed in ("Get code" mails a code; code, new
//!   password and confirmation, then "Change").
//! - `/password/forgot` → `/password/reset`: the e-mail address gets a code (the same
//!   answer whether or not it has an account, the work done off the request path);
//!   code and new password, then "Change Password".

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use tower_cookies::Cookies;

use super::client_ip::ClientIp;
use super::error::{page, PageError};
use super::fields::{FieldErrors, Fields, CODE_DIGITS, CODE_FORMAT};
use super::forms::{CsrfForm, SignedIn, SignedInForNewPassword};
use super::{lang, session};
use crate::account::email_codes::{self, Purpose};
use crate::account::password::{self, Reason, SetPasswordError};
use crate::db::companies;
use crate::db::email_codes::CodeRow;
use crate::db::users::{self, UserRow};
use crate::oauth::params::Params;
use crate::policy::password::PasswordRejection;
use crate::policy::throttle::{self, Account, Action};
use crate::state::AppState;
use crate::ui::i18n;

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
    if let Err(rejection) = state.password_policy.check(new, confirmation, &personal) {
        return Ok(Err(rejection));
    }
    // Not the password it replaces (in particular not the mailed one-time password).
    if state
        .passwords
        .verify(new, user.password_hash.as_deref())
        .await?
    {
        return Ok(Err(PasswordRejection::Unchanged));
    }
    Ok(Ok(()))
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

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

// ---- The forced change after a one-time password ---------------------------------

/// `GET /password/new[?request_id=…]`.
pub async fn new_form(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedInForNewPassword { user, session: _ }: SignedInForNewPassword,
    query: Result<Query<RequestQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let request_id = query.ok().and_then(|Query(q)| q.request_id);
    if !user.must_change_password() {
        return Ok(Redirect::to(&next(request_id.as_deref())).into_response());
    }
    let browser = session::browser_id(&state, &cookies);
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
pub async fn new_submit(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedInForNewPassword { user, session: s }: SignedInForNewPassword,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let request_id = params.get("request_id");
    if !user.must_change_password() {
        // A second submit after the password was set: say so instead of pretending.
        return Err(PageError::BadRequest("password_new.already_set"));
    }
    let browser = session::browser_id(&state, &cookies);
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
    user: &UserRow,
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
            csrf_token => session::csrf_token(state, browser),
            request_id,
            username => user.username,
            min_length => state.password_policy.min_length,
            max_length => state.password_policy.max_length,
            error => rejection.map(|r| rejection_message(lang, r)),
            errors,
        },
    )
}

// ---- Change while signed in (Profile > Security) ---------------------------------

const CHANGE: &str = "/profile/password";

/// `GET /profile/password`: "Get code", then code, new password and confirmation.
pub async fn change_form(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedIn { user, session: _ }: SignedIn,
    query: Result<Query<RequestQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let sent = query.ok().and_then(|Query(q)| q.sent).is_some();
    let browser = session::browser_id(&state, &cookies);
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
pub async fn change_code(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedIn { user, session: _ }: SignedIn,
    client: ClientIp,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let browser = session::browser_id(&state, &cookies);
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
pub async fn change_submit(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedIn { user, session: s }: SignedIn,
    client: ClientIp,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let browser = session::browser_id(&state, &cookies);
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

/// The common end of a change and a reset: the new password and its confirmation
/// pass the policy, then the verified code is used up with the change. The inner
/// error is the message to show (the code stays valid after a policy refusal).
async fn set_with_code(
    state: &AppState,
    user: &UserRow,
    params: &Params,
    keep_sid: Option<&str>,
    code: &CodeRow,
    reason: Reason,
    lang: &str,
) -> Result<Result<(), String>, PageError> {
    let new = params.get("new_password").unwrap_or_default();
    let confirmation = params.get("confirm_password").unwrap_or_default();
    if let Err(rejection) = check_policy(state, user, new, confirmation).await? {
        return Ok(Err(rejection_message(lang, &rejection)));
    }
    match password::set_password(state, user, new, keep_sid, Some(code), reason).await {
        Ok(()) => Ok(Ok(())),
        Err(SetPasswordError::CodeUsed) => Ok(Err(i18n::text(lang, "code.wrong", &[]))),
        Err(SetPasswordError::Internal(e)) => Err(PageError::Internal(e)),
    }
}

fn render_change(
    state: &AppState,
    browser: &str,
    user: &UserRow,
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
            csrf_token => session::csrf_token(state, browser),
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

fn blocked_message(lang: &str, blocked: throttle::Blocked) -> String {
    i18n::text(
        lang,
        "throttle.try_again",
        &[("minutes", &blocked.minutes().to_string())],
    )
}

// ---- Forgot password ----------------------------------------------------------------

/// `GET /password/forgot[?request_id=…]`.
pub async fn forgot_form(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<RequestQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let request_id = query.ok().and_then(|Query(q)| q.request_id);
    let browser = session::browser_id(&state, &cookies);
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
    let browser = session::browser_id(&state, &cookies);
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
async fn account_by_email(state: &AppState, email: &str) -> Result<Option<UserRow>, PageError> {
    Ok(users::find_by_login(&state.db, email)
        .await?
        .filter(|u| u.email == email))
}

async fn send_reset_code(state: &AppState, user: Option<UserRow>) -> anyhow::Result<()> {
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
            csrf_token => session::csrf_token(state, browser),
            request_id,
            error,
            errors,
        },
    )
}

/// `GET /password/reset[?request_id=…]`: e-mail, code, new password, confirmation.
pub async fn reset_form(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<RequestQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let request_id = query.ok().and_then(|Query(q)| q.request_id);
    let browser = session::browser_id(&state, &cookies);
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
pub async fn reset_submit(
    State(state): State<AppState>,
    cookies: Cookies,
    client: ClientIp,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let browser = session::browser_id(&state, &cookies);
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
    let user = user.filter(UserRow::is_active);
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
            csrf_token => session::csrf_token(state, browser),
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
