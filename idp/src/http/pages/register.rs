//! Self-registration pages: the form (`/register`), the confirmation link
//! (`/register/confirm`, GET shows a button, POST confirms; GET never changes
//! state), and sending the link again (`/register/resend`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use tower_cookies::Cookies;

use crate::account::registration::{self, RegistrationForm, REQUIRED};
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::{FieldErrors, Fields};
use crate::http::lang;
use crate::oauth::params::Params;
use crate::policy::email;
use crate::policy::throttle::{self, Account, Action};
use crate::state::AppState;
use crate::ui::i18n;

/// A country option of the form.
#[derive(Serialize)]
struct Country {
    code: &'static str,
    name: &'static str,
}

fn countries() -> Vec<Country> {
    let mut list: Vec<Country> = isocountry::CountryCode::iter()
        .map(|c| Country {
            code: c.alpha2(),
            name: c.name(),
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(b.name));
    list
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
) -> Result<Response, PageError> {
    let request_id = query
        .ok()
        .and_then(|Query(q)| q.request_id)
        .filter(|id| id.len() <= 64);
    let browser = browser::browser_id(&state, &cookies);
    Ok(render_form(
        &state,
        &browser,
        &RegistrationForm::default(),
        &Default::default(),
        request_id.as_deref(),
        StatusCode::OK,
    ))
}

fn form_from(params: &Params) -> RegistrationForm {
    let get = |name: &str| params.get(name).unwrap_or_default().to_owned();
    RegistrationForm {
        given_name: get("given_name"),
        family_name: get("family_name"),
        email: get("email"),
        company: get("company"),
        country: get("country"),
        job_title: get("job_title"),
        phone: get("phone"),
        terms: matches!(params.get("terms"), Some("yes" | "on")),
    }
}

/// `POST /register`: validates; on errors shows the form again with a message per
/// field and the summary of what is still required. On success shows "check your
/// mailbox", the same page whether or not the address was already known.
pub async fn submit(
    State(state): State<AppState>,
    cookies: Cookies,
    client: ClientIp,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let browser = browser::browser_id(&state, &cookies);
    let request_id = params.get("request_id").filter(|id| id.len() <= 64);
    let form = form_from(&params);
    if params.check().is_err() {
        let mut errors = registration::FieldErrors::new();
        for field in registration::FIELDS {
            if params.is_malformed(field) {
                errors.insert(field, "form.unreadable");
            }
        }
        return Ok(render_form(
            &state,
            &browser,
            &form,
            &errors,
            request_id,
            StatusCode::BAD_REQUEST,
        ));
    }
    let lang = lang::current();
    match form.clone().validate(&state) {
        Err(errors) => Ok(render_form(
            &state,
            &browser,
            &form,
            &errors,
            request_id,
            StatusCode::BAD_REQUEST,
        )),
        Ok(valid) => {
            // Every accepted registration counts, so nobody can flood an inbox or the queue.
            let address = email::normalize(&form.email)
                .map_or_else(|_| form.email.trim().to_lowercase(), |e| e.to_string());
            if let Some(blocked) = count_mail(&state, &address, &client.network(), lang).await? {
                return Ok(blocked);
            }
            registration::register(&state, valid, lang).await?;
            let email = form.email.trim().to_lowercase();
            Ok(page(
                StatusCode::OK,
                "register_sent.html",
                context! {
                    title => i18n::text(lang, "register.sent_title", &[]),
                    message => i18n::text(lang, "register.sent", &[("email", &email)]),
                    show_resend => true,
                },
            ))
        }
    }
}

fn render_form(
    state: &AppState,
    browser: &str,
    form: &RegistrationForm,
    errors: &registration::FieldErrors,
    request_id: Option<&str>,
    status: StatusCode,
) -> Response {
    let lang = lang::current();
    page(
        status,
        "register.html",
        context! {
            title => i18n::text(lang, "register.title", &[]),
            csrf_token => browser::csrf_token(state, browser),
            form,
            errors,
            required => REQUIRED,
            missing => form.missing(),
            countries => countries(),
            request_id,
        },
    )
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
) -> Result<Response, PageError> {
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

/// `POST /register/confirm`: confirms the address (single use).
pub async fn confirm(
    State(state): State<AppState>,
    cookies: Cookies,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let browser = browser::browser_id(&state, &cookies);
    let confirmed = match params.get("token").filter(|t| t.len() <= 64) {
        Some(token) => registration::confirm(&state, token).await?.is_some(),
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

fn confirm_view(state: &AppState, browser: &str, view: &str, token: Option<&str>) -> Response {
    let lang = lang::current();
    let status = if view == "invalid" {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page(
        status,
        "register_confirm.html",
        context! {
            title => i18n::text(lang, "confirm.title", &[]),
            state => view,
            token,
            csrf_token => browser::csrf_token(state, browser),
        },
    )
}

/// `GET /register/resend`.
pub async fn resend_form(State(state): State<AppState>, cookies: Cookies) -> Response {
    let browser = browser::browser_id(&state, &cookies);
    render_resend(&state, &browser, "", &FieldErrors::new(), StatusCode::OK)
}

/// `POST /register/resend`: the same answer whether or not a registration waits; a
/// missing, repeated or unreadable field, or a value that is not an e-mail address,
/// gets the field's message on the form (400) and sends nothing.
pub async fn resend(
    State(state): State<AppState>,
    cookies: Cookies,
    client: ClientIp,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let mut fields = Fields::new(&params);
    let email = fields.email("email");
    let email = match (fields.finish(), email) {
        (Ok(()), Some(email)) => email,
        (checked, _) => {
            let browser = browser::browser_id(&state, &cookies);
            let typed = params.get("email").unwrap_or_default();
            let errors = checked.err().unwrap_or_default();
            return Ok(render_resend(
                &state,
                &browser,
                typed,
                &errors,
                StatusCode::BAD_REQUEST,
            ));
        }
    };
    let lang = lang::current();
    if let Some(blocked) = count_mail(&state, email.as_str(), &client.network(), lang).await? {
        return Ok(blocked);
    }
    registration::resend(&state, email.as_str()).await?;
    Ok(page(
        StatusCode::OK,
        "register_sent.html",
        context! {
            title => i18n::text(lang, "register.sent_title", &[]),
            message => i18n::text(lang, "resend.sent", &[("email", email.as_str())]),
            show_resend => false,
        },
    ))
}

fn render_resend(
    state: &AppState,
    browser: &str,
    email: &str,
    errors: &FieldErrors,
    status: StatusCode,
) -> Response {
    let lang = lang::current();
    page(
        status,
        "register_resend.html",
        context! {
            title => i18n::text(lang, "resend.title", &[]),
            csrf_token => browser::csrf_token(state, browser),
            email,
            errors,
        },
    )
}

/// Counts a request that sends mail to `address` (normalised) against the
/// registration throttle (per address, per client network, per both), before the
/// mail is queued; the 429 page when it is blocked. The count is kept whatever
/// follows, so nobody can flood an inbox or the queue.
async fn count_mail(
    state: &AppState,
    address: &str,
    network: &str,
    lang: &str,
) -> Result<Option<Response>, PageError> {
    let account = Account::Address(address.to_owned());
    let subject = throttle::Subject::new(
        &state.config.throttle,
        Action::Register,
        Some(&account),
        network,
    );
    match throttle::reserve(state, &subject).await? {
        Ok(attempt) => {
            attempt.failed(state).await?;
            Ok(None)
        }
        Err(blocked) => {
            let minutes = blocked.minutes().to_string();
            Ok(Some(page(
                StatusCode::TOO_MANY_REQUESTS,
                "error.html",
                context! {
                    title => i18n::text(lang, "register.title", &[]),
                    message => i18n::text(lang, "throttle.try_again", &[("minutes", &minutes)]),
                },
            )))
        }
    }
}
