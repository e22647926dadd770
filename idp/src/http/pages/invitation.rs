//! `/invitation`: the page an invitation link opens. The invitee confirms the name
//! and sets a password (the password policy applies); the account is created and
//! the browser continues signed in to the portal of the invitation. An expired or
//! used link says so and offers "ask for a new invitation" (which mails the
//! company's Super Admin); an unknown, revoked or replaced link says only that it is
//! not valid (404).

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use crate::account::invitations::{self, AcceptError, Acceptance, Link};
use crate::db::companies;
use crate::db::invitations::Invitation;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::fields::FieldErrors;
use crate::http::lang;
use crate::state::AppState;
use crate::ui::i18n;
use crate::ui::pages::{InvitationPage, InvitationState, PageBase, PasswordRules};

/// `?token=` of the link.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

/// The page for `token` in `state`; `invitation` fills the company, address and
/// proposed names.
async fn view(
    state: &AppState,
    cookies: &Cookies,
    page_state: InvitationState,
    token: &str,
    invitation: Option<&Invitation>,
) -> Result<InvitationPage, PageError> {
    let lang = match invitation {
        Some(i) => lang::preferred(Some(&i.locale), None),
        None => lang::current(),
    };
    let company = match invitation {
        Some(i) => companies::find(state.db.pool(), &i.company_id)
            .await?
            .map(|c| c.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let csrf_token = browser::csrf_token(state, &browser::browser_id(state, cookies));
    Ok(InvitationPage {
        base: PageBase::new(lang, "invitation.title", csrf_token),
        state: page_state,
        token: if page_state == InvitationState::Invalid {
            String::new()
        } else {
            token.to_owned()
        },
        company,
        email: invitation.map(|i| i.email.clone()).unwrap_or_default(),
        given_name: invitation.map(|i| i.given_name.clone()).unwrap_or_default(),
        family_name: invitation
            .map(|i| i.family_name.clone())
            .unwrap_or_default(),
        rules: PasswordRules {
            min_length: state.password_policy.min_length,
            max_length: state.password_policy.max_length,
        },
        login_url: state.config.portal_login_url(),
        error: None,
        errors: FieldErrors::new(),
    })
}

/// The page of a link that cannot be accepted (expired 410, used 409, invalid 404).
async fn link_page(
    state: &AppState,
    cookies: &Cookies,
    token: &str,
    link: Link,
) -> Result<Response, PageError> {
    let (status, page_state, invitation) = match &link {
        Link::Valid(i) => (StatusCode::OK, InvitationState::Form, Some(i)),
        Link::Expired(i) => (StatusCode::GONE, InvitationState::Expired, Some(i)),
        Link::Used(i) => (StatusCode::CONFLICT, InvitationState::Used, Some(i)),
        Link::Invalid => (StatusCode::NOT_FOUND, InvitationState::Invalid, None),
    };
    let view = view(state, cookies, page_state, token, invitation).await?;
    Ok(page(status, &view))
}

/// `GET /invitation?token=…`.
pub async fn show(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<TokenQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let token = query.map(|Query(q)| q.token).unwrap_or_default();
    let link = invitations::check(&state, &token).await?;
    link_page(&state, &cookies, &token, link).await
}

/// The accept form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AcceptForm {
    token: String,
    given_name: String,
    family_name: String,
    new_password: String,
    confirm_password: String,
}

/// `POST /invitation`: creates the account, signs the browser in and continues to
/// the invitation's portal (303).
pub async fn accept(
    State(state): State<AppState>,
    cookies: Cookies,
    headers: HeaderMap,
    client: ClientIp,
    CsrfForm(form, checks): CsrfForm<AcceptForm>,
) -> Result<Response, PageError> {
    let link = invitations::check(&state, &form.token).await?;
    let Link::Valid(invitation) = link else {
        return link_page(&state, &cookies, &form.token, link).await;
    };
    let mut fields = checks.fields();
    for name in [
        "given_name",
        "family_name",
        "new_password",
        "confirm_password",
    ] {
        fields.required(name);
    }
    let mut refused = view(
        &state,
        &cookies,
        InvitationState::Form,
        &form.token,
        Some(&invitation),
    )
    .await?;
    refused.given_name = form.given_name.trim().to_owned();
    refused.family_name = form.family_name.trim().to_owned();
    if let Err(errors) = fields.finish() {
        refused.errors = errors;
        return Ok(page(StatusCode::BAD_REQUEST, &refused));
    }
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let acceptance = Acceptance {
        token: &form.token,
        given_name: &form.given_name,
        family_name: &form.family_name,
        password: &form.new_password,
        confirmation: &form.confirm_password,
        ip: &client.0,
        user_agent,
    };
    let lang = refused.base.lang;
    match invitations::accept(&state, acceptance).await {
        Ok((user, invitation)) => {
            browser::start(&state, &cookies, &headers, &client.0, &user).await?;
            Ok(Redirect::to(&invitation.portal_url).into_response())
        }
        Err(AcceptError::Link(link)) => link_page(&state, &cookies, &form.token, *link).await,
        Err(AcceptError::InvalidText(field, key)) => {
            refused.errors.insert(field, key);
            Ok(page(StatusCode::BAD_REQUEST, &refused))
        }
        Err(AcceptError::Rejected(rejection)) => {
            refused.error = Some(rejection.message(lang));
            Ok(page(StatusCode::BAD_REQUEST, &refused))
        }
        Err(AcceptError::AccountExists) => {
            refused.error = Some(i18n::text(lang, "invitation.account_exists", &[]));
            Ok(page(StatusCode::CONFLICT, &refused))
        }
        Err(AcceptError::Internal(e)) => Err(e.into()),
    }
}

/// The "ask for a new invitation" form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RenewForm {
    token: String,
}

/// `POST /invitation/renew`: asks the company's Super Admin for a new invitation
/// (expired or used links only; once per link).
pub async fn renew(
    State(state): State<AppState>,
    cookies: Cookies,
    client: ClientIp,
    CsrfForm(form, _): CsrfForm<RenewForm>,
) -> Result<Response, PageError> {
    let link = invitations::check(&state, &form.token).await?;
    let invitation = match &link {
        Link::Expired(i) | Link::Used(i) => i.clone(),
        _ => return link_page(&state, &cookies, &form.token, link).await,
    };
    invitations::ask_for_new(&state, &form.token, &client.0).await?;
    let view = view(
        &state,
        &cookies,
        InvitationState::Asked,
        &form.token,
        Some(&invitation),
    )
    .await?;
    Ok(page(StatusCode::OK, &view))
}
