//! `GET /login`: the "Login" button. Starts a normal login (no `prompt`) and sends
//! the browser to the authorization endpoint.

use axum::extract::State;
use axum::response::Redirect;
use tower_cookies::Cookies;

use super::cookies::{self, ATTEMPT};
use crate::portal::Portal;

/// `GET /login`.
pub async fn start(State(portal): State<Portal>, cookies: Cookies) -> Redirect {
    let (attempt, url) = portal.start_login(false);
    let max_age = portal.config().attempt_seconds;
    cookies::set(&portal, &cookies, ATTEMPT, attempt, max_age);
    Redirect::to(url.as_str())
}
