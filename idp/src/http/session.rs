//! The browser side of a login: the session cookie (SSO), the browser-binding
//! cookie, and CSRF tokens.
//!
//! Cookies hold 256 random bits; the database stores only their SHA-256. Both are
//! HttpOnly, SameSite=Lax, Path=/, without Domain, and `__Host-` prefixed and Secure
//! when the issuer is https.

use axum::http::{header, HeaderMap};
use tower_cookies::cookie::{time::Duration as CookieDuration, SameSite};
use tower_cookies::{Cookie, Cookies};

use crate::crypto;
use crate::db::sessions::{self, NewSession, SessionRow};
use crate::db::users::UserRow;
use crate::state::AppState;

fn cookie_name(state: &AppState, base: &'static str) -> String {
    if state.config.is_https() {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

fn build_cookie(
    state: &AppState,
    name: String,
    value: String,
    max_age: Option<i64>,
) -> Cookie<'static> {
    let mut cookie = Cookie::new(name, value);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_path("/");
    cookie.set_secure(state.config.is_https());
    if let Some(seconds) = max_age {
        cookie.set_max_age(CookieDuration::seconds(seconds));
    }
    cookie
}

/// The browser's live session, if its cookie names one (touching its last use).
///
/// # Errors
/// Database errors.
pub async fn current(state: &AppState, cookies: &Cookies) -> anyhow::Result<Option<SessionRow>> {
    let Some(cookie) = cookies.get(&cookie_name(state, "idp_session")) else {
        return Ok(None);
    };
    let hash = crypto::sha256_b64(cookie.value().as_bytes());
    Ok(sessions::touch_active(
        &state.db,
        &hash,
        state.clock.now(),
        state.config.session.idle_seconds,
    )
    .await?)
}

/// Starts a new session for `user` after a successful login: a new random id every
/// time (the old session, if any, ends), so a planted id never becomes logged in.
///
/// # Errors
/// Database errors.
pub async fn start(
    state: &AppState,
    cookies: &Cookies,
    headers: &HeaderMap,
    ip: &str,
    user: &UserRow,
) -> anyhow::Result<SessionRow> {
    let now = state.clock.now();
    let name = cookie_name(state, "idp_session");
    if let Some(old) = cookies.get(&name) {
        sessions::end(&state.db, &crypto::sha256_b64(old.value().as_bytes()), now).await?;
    }
    let id = crypto::random_token(32);
    let sid = crypto::random_id();
    let expires_at = now + state.config.session.absolute_seconds;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(256).collect::<String>());
    sessions::insert(
        &state.db,
        &NewSession {
            id_hash: &crypto::sha256_b64(id.as_bytes()),
            sid: &sid,
            user_id: &user.id,
            auth_time: now,
            expires_at,
            user_agent: user_agent.as_deref(),
            ip: Some(ip),
        },
    )
    .await?;
    cookies.add(build_cookie(
        state,
        name,
        id,
        Some(state.config.session.absolute_seconds),
    ));
    Ok(SessionRow {
        sid,
        user_id: user.id.clone(),
        auth_time: now,
        expires_at,
        must_change_password: user.must_change_password,
    })
}

/// Removes the session cookie from the browser (after a logout).
pub fn clear(state: &AppState, cookies: &Cookies) {
    cookies.remove(build_cookie(
        state,
        cookie_name(state, "idp_session"),
        String::new(),
        Some(0),
    ));
}

/// The browser-binding id (from its cookie, set now if absent). Pending authorization
/// requests and CSRF tokens are tied to it.
pub fn browser_id(state: &AppState, cookies: &Cookies) -> String {
    let name = cookie_name(state, "idp_browser");
    if let Some(c) = cookies.get(&name) {
        let value = c.value();
        if value.len() == 43 {
            return value.to_owned();
        }
    }
    let id = crypto::random_token(32);
    cookies.add(build_cookie(state, name, id.clone(), None));
    id
}

/// The browser-binding id if the cookie is present (never sets one).
pub fn existing_browser_id(state: &AppState, cookies: &Cookies) -> Option<String> {
    cookies
        .get(&cookie_name(state, "idp_browser"))
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43)
}

/// The CSRF token for a browser: HMAC of its binding id, so it is bound to that
/// browser and needs no storage.
pub fn csrf_token(state: &AppState, browser_id: &str) -> String {
    crypto::b64url(&crypto::hmac_sha256(&state.csrf_key, browser_id.as_bytes()))
}

/// Checks a state-changing form: the CSRF token matches this browser (constant time)
/// and, when the browser sends a real Origin (not `null`), it is the issuer's origin.
pub fn check_form(
    state: &AppState,
    cookies: &Cookies,
    headers: &HeaderMap,
    token: Option<&str>,
) -> bool {
    // Browsers send `Origin: null` for a same-origin form under
    // `Referrer-Policy: no-referrer` (Fetch §3.1.7); the token decides then.
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let Some(origin) = origin.filter(|o| *o != "null") {
        let issuer = url::Url::parse(&state.config.issuer)
            .ok()
            .map(|u| u.origin().ascii_serialization());
        if Some(origin) != issuer.as_deref() {
            return false;
        }
    }
    match (existing_browser_id(state, cookies), token) {
        (Some(browser), Some(token)) => {
            crypto::ct_eq(csrf_token(state, &browser).as_bytes(), token.as_bytes())
        }
        _ => false,
    }
}
