//! The browser side of a login: the session cookie (SSO), the browser-binding
//! cookie, and CSRF tokens.
//!
//! Cookies hold 256 random bits; the database stores only their SHA-256. The
//! browser-binding cookie also carries a MAC of its bits, so only ids the provider
//! issued are accepted, and it is replaced at every login. Both are
//! HttpOnly, SameSite=Lax, Path=/, without Domain, and `__Host-` prefixed and Secure
//! when the issuer is https.

use axum::http::{header, HeaderMap};
use tower_cookies::cookie::{time::Duration as CookieDuration, SameSite};
use tower_cookies::{Cookie, Cookies};

use crate::crypto;
use crate::db::auth_requests;
use crate::db::sessions::{self, NewSession, SessionRow};
use crate::db::users::User;
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
/// time (the old session, if any, ends), so a planted id never becomes logged in;
/// and a new browser-binding id, with the pending authorization requests moved to it.
///
/// # Errors
/// Database errors.
pub async fn start(
    state: &AppState,
    cookies: &Cookies,
    headers: &HeaderMap,
    ip: &str,
    user: &User,
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
    crate::db::members::signed_in(state.db.pool(), &user.id, now).await?;
    cookies.add(build_cookie(
        state,
        name,
        id,
        Some(state.config.session.absolute_seconds),
    ));
    rotate_browser_id(state, cookies).await?;
    Ok(SessionRow {
        sid,
        user_id: user.id.clone(),
        auth_time: now,
        expires_at,
        must_change_password: i64::from(user.must_change_password),
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

/// A new browser-binding id: `<random>.<MAC>`, 256 random bits (base64url) and
/// their HMAC-SHA-256 under a key derived from the KEK, so every process can tell
/// an id it issued from one a client chose.
fn new_browser_id(state: &AppState) -> String {
    let random = crypto::random_token(32);
    let mac = browser_mac(state, &random);
    format!("{random}.{mac}")
}

fn browser_mac(state: &AppState, random: &str) -> String {
    let key = crypto::hmac_sha256(&state.csrf_key, b"idp_browser cookie");
    crypto::b64url(&crypto::hmac_sha256(&key, random.as_bytes()))
}

/// Whether a cookie value is a browser-binding id this provider issued.
fn is_issued(state: &AppState, value: &str) -> bool {
    match value.split_once('.') {
        Some((random, mac)) if random.len() == 43 => {
            crypto::ct_eq(browser_mac(state, random).as_bytes(), mac.as_bytes())
        }
        _ => false,
    }
}

/// The browser-binding id (from its cookie; a new one is set now if the cookie is
/// absent or holds a value this provider did not issue). Pending authorization
/// requests and CSRF tokens are tied to it.
pub fn browser_id(state: &AppState, cookies: &Cookies) -> String {
    if let Some(id) = existing_browser_id(state, cookies) {
        return id;
    }
    let id = new_browser_id(state);
    cookies.add(build_cookie(
        state,
        cookie_name(state, "idp_browser"),
        id.clone(),
        None,
    ));
    id
}

/// The browser-binding id if the cookie holds one this provider issued (never sets
/// one).
pub fn existing_browser_id(state: &AppState, cookies: &Cookies) -> Option<String> {
    cookies
        .get(&cookie_name(state, "idp_browser"))
        .map(|c| c.value().to_owned())
        .filter(|v| is_issued(state, v))
}

/// Replaces the browser-binding id at a login: a new id in the cookie, and the
/// browser's pending authorization requests re-bound to it in one statement, so the
/// login still resumes while an id known before the login (planted, or read from the
/// browser) binds nothing afterwards. CSRF tokens follow the new id.
///
/// # Errors
/// Database errors.
async fn rotate_browser_id(state: &AppState, cookies: &Cookies) -> anyhow::Result<()> {
    let new = new_browser_id(state);
    if let Some(old) = existing_browser_id(state, cookies) {
        auth_requests::rebind(
            &state.db,
            &crypto::sha256_b64(old.as_bytes()),
            &crypto::sha256_b64(new.as_bytes()),
        )
        .await?;
    }
    cookies.add(build_cookie(
        state,
        cookie_name(state, "idp_browser"),
        new,
        None,
    ));
    Ok(())
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
