//! `/admin/support`: an operator checks the support PIN a caller reads out
//! (throttled and audited).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use tower_cookies::Cookies;

use crate::account::support;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::{FieldErrors, Fields, PIN_DIGITS, PIN_FORMAT};
use crate::http::extract::signed_in::Operator;
use crate::http::lang;
use crate::state::AppState;
use crate::ui::i18n;

/// `GET /admin/support`: the PIN check form.
pub async fn form(
    State(state): State<AppState>,
    cookies: Cookies,
    Operator(me): Operator,
) -> Result<Response, PageError> {
    let browser = browser::browser_id(&state, &cookies);
    let view = PinView {
        email: "",
        notice: None,
        error: None,
        errors: &FieldErrors::new(),
    };
    Ok(render_pin(
        &state,
        &browser,
        &me.locale,
        view,
        StatusCode::OK,
    ))
}

/// `POST /admin/support`: checks `pin` for the account `email`. A missing,
/// repeated or unreadable field, an address that is not one, or a PIN that is not
/// 4 to 10 digits gets the field's message (400) and is neither counted nor audited.
pub async fn check(
    State(state): State<AppState>,
    cookies: Cookies,
    Operator(me): Operator,
    client: ClientIp,
    CsrfForm(params): CsrfForm,
) -> Result<Response, PageError> {
    let lang = lang::preferred(me.locale.as_deref(), None);
    let browser = browser::browser_id(&state, &cookies);
    let typed = params.get("email").unwrap_or_default();
    let mut fields = Fields::new(&params);
    let email = fields.email("email");
    let pin = fields.digits("pin", PIN_DIGITS, PIN_FORMAT);
    let email = match (fields.finish(), email) {
        (Ok(()), Some(email)) => email,
        (checked, _) => {
            let errors = checked.err().unwrap_or_default();
            let view = PinView {
                email: typed,
                notice: None,
                error: None,
                errors: &errors,
            };
            return Ok(render_pin(
                &state,
                &browser,
                &me.locale,
                view,
                StatusCode::BAD_REQUEST,
            ));
        }
    };
    let actor = format!("operator:{}", me.username);
    let (notice, error, status) =
        match support::verify_pin(&state, &email, pin, &actor, &client.network()).await? {
            Ok(true) => (
                Some(i18n::text(
                    lang,
                    "admin_support.match",
                    &[("email", email.as_str())],
                )),
                None,
                StatusCode::OK,
            ),
            Ok(false) => (
                None,
                Some(i18n::text(lang, "admin_support.no_match", &[])),
                StatusCode::OK,
            ),
            Err(blocked) => {
                let minutes = blocked.minutes().to_string();
                (
                    None,
                    Some(i18n::text(
                        lang,
                        "throttle.try_again",
                        &[("minutes", &minutes)],
                    )),
                    StatusCode::TOO_MANY_REQUESTS,
                )
            }
        };
    let view = PinView {
        email: "",
        notice,
        error,
        errors: &FieldErrors::new(),
    };
    Ok(render_pin(&state, &browser, &me.locale, view, status))
}

/// What the PIN check page shows besides the form.
struct PinView<'a> {
    email: &'a str,
    notice: Option<String>,
    error: Option<String>,
    errors: &'a FieldErrors,
}

fn render_pin(
    state: &AppState,
    browser: &str,
    locale: &Option<String>,
    view: PinView<'_>,
    status: StatusCode,
) -> Response {
    let lang = lang::preferred(locale.as_deref(), None);
    page(
        status,
        "admin_support.html",
        context! {
            lang,
            title => i18n::text(lang, "admin_support.title", &[]),
            csrf_token => browser::csrf_token(state, browser),
            email => view.email,
            notice => view.notice,
            error => view.error,
            errors => view.errors,
        },
    )
}
