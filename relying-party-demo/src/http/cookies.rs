//! The portal's cookies: HttpOnly, SameSite=Lax (the callback and the return from
//! logout are top-level GET navigations from the provider), Path=/, no Domain,
//! Secure under https. Names come from the portal's configuration, so the two portals
//! on one host keep apart.

use tower_cookies::cookie::time::Duration;
use tower_cookies::cookie::SameSite;
use tower_cookies::{Cookie, Cookies};

use crate::portal::Portal;

/// The session cookie.
pub const SESSION: &str = "session";
/// The login attempt cookie (its value keys state, nonce and code_verifier).
pub const ATTEMPT: &str = "attempt";
/// Set when the landing page tried a silent login, so it does so once per visit.
pub const SSO_CHECKED: &str = "sso_checked";
/// The `state` of a pending RP-initiated logout.
pub const LOGOUT_STATE: &str = "logout_state";

fn name(portal: &Portal, what: &str) -> String {
    if what == SESSION {
        portal.config().session_cookie.clone()
    } else {
        portal.config().cookie(what)
    }
}

/// The value of the portal's cookie `what`.
pub fn get(portal: &Portal, cookies: &Cookies, what: &str) -> Option<String> {
    cookies
        .get(&name(portal, what))
        .map(|c| c.value().to_owned())
}

/// Sets the portal's cookie `what`, for `max_age` seconds.
pub fn set(portal: &Portal, cookies: &Cookies, what: &str, value: String, max_age: i64) {
    let mut cookie = Cookie::new(name(portal, what), value);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_path("/");
    cookie.set_secure(portal.config().is_https());
    cookie.set_max_age(Duration::seconds(max_age));
    cookies.add(cookie);
}

/// Removes the portal's cookie `what` from the browser.
pub fn remove(portal: &Portal, cookies: &Cookies, what: &str) {
    let mut cookie = Cookie::new(name(portal, what), "");
    cookie.set_path("/");
    cookies.remove(cookie);
}
