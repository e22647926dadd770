//! `GET /`: the portal's home page. Signed in, it shows the user; otherwise it first
//! tries a silent login (`prompt=none`, once per visit) and then offers "Login". It
//! is also the post_logout_redirect_uri, where the logout `state` is checked.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use tower_cookies::Cookies;

use super::cookies::{self, LOGOUT_STATE, SESSION, SSO_CHECKED};
use super::render::page;
use super::PageError;
use crate::config::PortalKind;
use crate::portal::Portal;
use crate::random;
use crate::store::Session;

/// The landing page's query: only the return from RP-initiated logout has one.
#[derive(Debug, Default, serde::Deserialize)]
pub struct LandingQuery {
    /// The `state` of the logout request (RP-Initiated Logout 1.0 §3).
    state: Option<String>,
}

/// `GET /`.
pub async fn show(
    State(portal): State<Portal>,
    cookies: Cookies,
    query: Result<Query<LandingQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(query) = query.map_err(|_| PageError::bad_request("Malformed parameters."))?;
    if let Some(session) = portal.session(cookies::get(&portal, &cookies, SESSION).as_deref()) {
        return Ok(signed_in(&portal, &session));
    }
    if let Some(state) = query.state {
        let expected = cookies::get(&portal, &cookies, LOGOUT_STATE);
        cookies::remove(&portal, &cookies, LOGOUT_STATE);
        if !expected.is_some_and(|e| random::ct_eq(&e, &state)) {
            return Err(PageError::bad_request(
                "This sign-out response was not expected by this browser.",
            ));
        }
        return Ok(anonymous(
            &portal,
            Some("You have signed out of the portals and the identity provider."),
        ));
    }
    if cookies::get(&portal, &cookies, SSO_CHECKED).is_none() {
        let config = portal.config();
        cookies::set(
            &portal,
            &cookies,
            SSO_CHECKED,
            "1".into(),
            config.sso_check_seconds,
        );
        let (attempt, url) = portal.start_login(true);
        cookies::set(
            &portal,
            &cookies,
            cookies::ATTEMPT,
            attempt,
            config.attempt_seconds,
        );
        return Ok(Redirect::to(url.as_str()).into_response());
    }
    Ok(anonymous(&portal, None))
}

fn anonymous(portal: &Portal, notice: Option<&str>) -> Response {
    page(
        portal,
        StatusCode::OK,
        "anonymous.html",
        context! { title => "Welcome", notice },
    )
}

fn signed_in(portal: &Portal, session: &Session) -> Response {
    let template = match portal.config().kind {
        PortalKind::CustomerPortal => "customer.html",
        PortalKind::AppPortal => "app.html",
    };
    page(
        portal,
        StatusCode::OK,
        template,
        context! {
            title => "Home",
            profile => &session.profile,
            csrf_token => &session.csrf_token,
        },
    )
}
