//! Self-registration pages: the form (`/register`), the confirmation link
//! (`/register/confirm`, GET shows a button, POST confirms; GET never changes
//! state), and sending the link again (`/register/resend`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use crate::account::registration::{self, RegistrationForm};
use crate::error::internal_from;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::FieldErrors;
use crate::http::lang;
use crate::policy::email;
use crate::policy::throttle::{self, Account, Action, Blocked, ThrottleError};
use crate::state::AppState;
use crate::ui::i18n;
use crate::ui::pages::{
    PageBase, RegisterConfirmPage, RegisterPage, RegisterResendPage, RegisterSentPage,
};

/// Why a registration page or action failed: an error page in the request's
/// language. (A form with mistakes is not an error: it comes back with a message
/// per field.)
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// 429 on the registration page's title, `throttle.try_again` (minutes): too
    /// many mails asked for this address or from this network.
    #[error(transparent)]
    Blocked(Blocked),
    /// 500 error page (logged).
    #[error(transparent)]
    Internal(anyhow::Error),
}

internal_from!(RegisterError: sqlx::Error, anyhow::Error, crate::error::Internal);

impl From<ThrottleError> for RegisterError {
    fn from(e: ThrottleError) -> Self {
        match e {
            ThrottleError::Blocked(blocked) => RegisterError::Blocked(blocked),
            ThrottleError::Internal(e) => RegisterError::Internal(e.into()),
        }
    }
}

impl IntoResponse for RegisterError {
    fn into_response(self) -> Response {
        match self {
            RegisterError::Blocked(blocked) => PageError::Blocked("register.title", blocked),
            RegisterError::Internal(e) => PageError::Internal(e),
        }
        .into_response()
    }
}

/// Query of the registration page.
#[derive(Deserialize)]
pub struct RegisterQuery {
    request_id: Option<String>,
}

/// `GET /register`.
pub async fn form(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<RegisterQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, RegisterError> {
    let request_id = query
        .ok()
        .and_then(|Query(q)| q.request_id)
        .filter(|id| id.len() <= 64);
    let view = register_page(&state, &cookies, RegistrationForm::default(), request_id);
    Ok(page(StatusCode::OK, &view))
}

/// The registration form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegisterForm {
    request_id: Option<String>,
    given_name: String,
    family_name: String,
    email: String,
    company: String,
    country: String,
    job_title: String,
    phone: String,
    terms: Option<String>,
}

impl From<RegisterForm> for RegistrationForm {
    fn from(f: RegisterForm) -> Self {
        RegistrationForm {
            given_name: f.given_name,
            family_name: f.family_name,
            email: f.email,
            company: f.company,
            country: f.country,
            job_title: f.job_title,
            phone: f.phone,
            terms: matches!(f.terms.as_deref(), Some("yes" | "on")),
        }
    }
}

fn register_page(
    state: &AppState,
    cookies: &Cookies,
    form: RegistrationForm,
    request_id: Option<String>,
) -> RegisterPage {
    let csrf_token = browser::csrf_token(state, &browser::browser_id(state, cookies));
    let base = PageBase::new(lang::current(), "register.title", csrf_token);
    let mut view = RegisterPage::new(base, form, FieldErrors::new());
    view.request_id = request_id;
    view
}

/// `POST /register`: validates; on errors shows the form again with a message per
/// field and the summary of what is still required. On success shows "check your
/// mailbox", the same page whether or not the address was already known.
pub async fn submit(
    State(state): State<AppState>,
    cookies: Cookies,
    client: ClientIp,
    CsrfForm(input, checks): CsrfForm<RegisterForm>,
) -> Result<Response, RegisterError> {
    let request_id = input.request_id.clone().filter(|id| id.len() <= 64);
    let form = RegistrationForm::from(input);
    let mut view = register_page(&state, &cookies, form.clone(), request_id);
    if let Some(errors) = checks.unreadable(registration::FIELDS) {
        view.errors = errors;
        return Ok(page(StatusCode::BAD_REQUEST, &view));
    }
    let lang = lang::current();
    let valid = match form.clone().validate(&state) {
        Ok(valid) => valid,
        Err(errors) => {
            view.errors = errors;
            return Ok(page(StatusCode::BAD_REQUEST, &view));
        }
    };
    // Every accepted registration counts, so nobody can flood an inbox or the queue.
    let address = email::normalize(&form.email)
        .map_or_else(|_| form.email.trim().to_lowercase(), |e| e.to_string());
    count_mail(&state, &address, &client.network()).await?;
    registration::register(&state, valid, lang).await?;
    let email = form.email.trim().to_lowercase();
    let sent = RegisterSentPage {
        base: PageBase::new(lang, "register.sent_title", String::new()),
        message: i18n::text(lang, "register.sent", &[("email", &email)]),
        show_resend: true,
    };
    Ok(page(StatusCode::OK, &sent))
}

/// Query of the confirmation link.
#[derive(Deserialize)]
pub struct ConfirmQuery {
    token: Option<String>,
}

/// `GET /register/confirm?token=…`: asks the user to confirm (a POST), so that mail
/// scanners that follow links confirm nothing.
pub async fn confirm_page(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<ConfirmQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, RegisterError> {
    let token = query
        .ok()
        .and_then(|Query(q)| q.token)
        .filter(|t| t.len() <= 64);
    let valid = match &token {
        Some(t) => registration::token_is_valid(&state, t).await?,
        None => false,
    };
    let browser = browser::browser_id(&state, &cookies);
    Ok(confirm_view(
        &state,
        &browser,
        if valid { "ask" } else { "invalid" },
        token.as_deref(),
    ))
}

/// The confirmation button's form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfirmForm {
    token: Option<String>,
}

/// `POST /register/confirm`: confirms the address (single use).
pub async fn confirm(
    State(state): State<AppState>,
    cookies: Cookies,
    CsrfForm(form, _): CsrfForm<ConfirmForm>,
) -> Result<Response, RegisterError> {
    let browser = browser::browser_id(&state, &cookies);
    let confirmed = match form.token.filter(|t| t.len() <= 64) {
        Some(token) => registration::confirm(&state, &token).await?.is_some(),
        None => false,
    };
    let mut response = confirm_view(
        &state,
        &browser,
        if confirmed { "done" } else { "invalid" },
        None,
    );
    if !confirmed {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

fn confirm_view(
    state: &AppState,
    browser: &str,
    view: &'static str,
    token: Option<&str>,
) -> Response {
    let status = if view == "invalid" {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let confirm = RegisterConfirmPage {
        base: PageBase::new(
            lang::current(),
            "confirm.title",
            browser::csrf_token(state, browser),
        ),
        state: view,
        token: token.map(str::to_owned),
    };
    page(status, &confirm)
}

/// `GET /register/resend`.
pub async fn resend_form(State(state): State<AppState>, cookies: Cookies) -> Response {
    page(
        StatusCode::OK,
        &resend_page(&state, &cookies, String::new()),
    )
}

/// The resend form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResendForm {
    email: String,
}

/// `POST /register/resend`: the same answer whether or not a registration waits; a
/// missing, repeated or unreadable field, or a value that is not an e-mail address,
/// gets the field's message on the form (400) and sends nothing.
pub async fn resend(
    State(state): State<AppState>,
    cookies: Cookies,
    client: ClientIp,
    CsrfForm(form, checks): CsrfForm<ResendForm>,
) -> Result<Response, RegisterError> {
    let mut fields = checks.fields();
    let email = fields.email("email");
    let email = match (fields.finish(), email) {
        (Ok(()), Some(email)) => email,
        (checked, _) => {
            let mut view = resend_page(&state, &cookies, form.email);
            view.errors = checked.err().unwrap_or_default();
            return Ok(page(StatusCode::BAD_REQUEST, &view));
        }
    };
    let lang = lang::current();
    count_mail(&state, email.as_str(), &client.network()).await?;
    registration::resend(&state, email.as_str()).await?;
    let sent = RegisterSentPage {
        base: PageBase::new(lang, "register.sent_title", String::new()),
        message: i18n::text(lang, "resend.sent", &[("email", email.as_str())]),
        show_resend: false,
    };
    Ok(page(StatusCode::OK, &sent))
}

fn resend_page(state: &AppState, cookies: &Cookies, email: String) -> RegisterResendPage {
    let csrf_token = browser::csrf_token(state, &browser::browser_id(state, cookies));
    RegisterResendPage {
        base: PageBase::new(lang::current(), "resend.title", csrf_token),
        email,
        errors: FieldErrors::new(),
    }
}

/// Counts a request that sends mail to `address` (normalised) against the
/// registration throttle (per address, per client network, per both), before the
/// mail is queued; the 429 page when it is blocked. The count is kept whatever
/// follows, so nobody can flood an inbox or the queue.
async fn count_mail(state: &AppState, address: &str, network: &str) -> Result<(), RegisterError> {
    let account = Account::Address(address.to_owned());
    let subject = throttle::Subject::new(
        &state.config.throttle,
        Action::Register,
        Some(&account),
        network,
    );
    let attempt = throttle::reserve(state, &subject).await?;
    Ok(attempt.failed(state).await?)
}
