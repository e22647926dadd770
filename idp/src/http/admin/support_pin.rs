//! `/admin/support`: an operator checks the support PIN a caller reads out
//! (throttled and audited).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tower_cookies::Cookies;

use crate::account::support::{self, SupportError};
use crate::db::users::User;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::{FieldErrors, PIN_DIGITS, PIN_FORMAT};
use crate::http::extract::signed_in::Operator;
use crate::http::lang;
use crate::state::AppState;
use crate::ui::i18n;
use crate::ui::pages::{PageBase, SupportPinPage};

/// `GET /admin/support`: the PIN check form.
pub async fn form(
    State(state): State<AppState>,
    cookies: Cookies,
    Operator(me): Operator,
) -> Result<Response, PageError> {
    Ok(page(StatusCode::OK, &pin_page(&state, &cookies, &me)))
}

/// The PIN check form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PinForm {
    email: String,
}

/// `POST /admin/support`: checks `pin` for the account `email`. A missing,
/// repeated or unreadable field, an address that is not one, or a PIN that is not
/// 4 to 10 digits gets the field's message (400) and is neither counted nor audited.
pub async fn check(
    State(state): State<AppState>,
    cookies: Cookies,
    Operator(me): Operator,
    client: ClientIp,
    CsrfForm(form, checks): CsrfForm<PinForm>,
) -> Result<Response, PageError> {
    let mut view = pin_page(&state, &cookies, &me);
    let lang = view.base.lang;
    let mut fields = checks.fields();
    let email = fields.email("email");
    let pin = fields.digits("pin", PIN_DIGITS, PIN_FORMAT);
    let email = match (fields.finish(), email) {
        (Ok(()), Some(email)) => email,
        (checked, _) => {
            view.email = form.email;
            view.errors = checked.err().unwrap_or_default();
            return Ok(page(StatusCode::BAD_REQUEST, &view));
        }
    };
    let actor = format!("operator:{}", me.username);
    let status = match support::verify_pin(&state, &email, pin, &actor, &client.network()).await {
        Ok(true) => {
            let text = i18n::text(lang, "admin_support.match", &[("email", email.as_str())]);
            view.notice = Some(text);
            StatusCode::OK
        }
        Ok(false) => {
            view.error = Some(i18n::text(lang, "admin_support.no_match", &[]));
            StatusCode::OK
        }
        Err(SupportError::Blocked(blocked)) => {
            let minutes = blocked.minutes().to_string();
            let text = i18n::text(lang, "throttle.try_again", &[("minutes", &minutes)]);
            view.error = Some(text);
            StatusCode::TOO_MANY_REQUESTS
        }
        Err(e) => return Err(e.into()),
    };
    Ok(page(status, &view))
}

fn pin_page(state: &AppState, cookies: &Cookies, me: &User) -> SupportPinPage {
    let lang = lang::preferred(me.locale.as_deref(), None);
    let csrf_token = browser::csrf_token(state, &browser::browser_id(state, cookies));
    SupportPinPage {
        base: PageBase::new(lang, "admin_support.title", csrf_token),
        email: String::new(),
        notice: None,
        error: None,
        errors: FieldErrors::new(),
    }
}
