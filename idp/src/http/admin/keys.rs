//! `/admin/keys`: the signing keys per algorithm as `idp keys list` shows them, with
//! the actions of `idp keys rotate` and `idp keys revoke`. A revocation asks for the
//! operator's current password again (a stolen session alone cannot take the
//! provider's keys away). Both actions are audited inside [`Keys::rotate`] and
//! [`Keys::revoke`] with the actor `operator:<username>`.
//!
//! [`Keys::rotate`]: crate::crypto::keys::Keys::rotate
//! [`Keys::revoke`]: crate::crypto::keys::Keys::revoke

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use crate::account::reauth::{self, ReauthError};
use crate::crypto::keys::{KeyInfo, RevokeError, RotateError, SigningAlg};
use crate::db::users::User;
use crate::db::{audit, keys as db_keys};
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::csrf_form::{CsrfForm, FormChecks};
use crate::http::extract::signed_in::Operator;
use crate::http::lang;
use crate::state::AppState;
use crate::ui::i18n;
use crate::ui::pages::{AdminKeysPage, KeyGroup, KeyView, PageBase};

const KEYS: &str = "/admin/keys";

/// Query of the keys page after an action: the kid of the key a rotation created
/// (`rotated`) or of the key just revoked (`revoked`). The notice is written from
/// the database (the key, the audit event of its revocation), never from the URL; a
/// kid the database does not confirm shows nothing.
#[derive(Deserialize)]
pub struct KeysQuery {
    rotated: Option<String>,
    revoked: Option<String>,
}

/// `GET /admin/keys[?rotated=KID|?revoked=KID]`: every key that is not revoked, per
/// algorithm, with its state and times (UTC), and the JWKS cache lifetime and
/// publish delay this process applies.
pub async fn list(
    State(state): State<AppState>,
    cookies: Cookies,
    Operator(me): Operator,
    query: Result<Query<KeysQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let keys = state.keys.list(&state.db).await?;
    let mut view = keys_page(&state, &cookies, &me, &keys);
    let lang = view.base.lang;
    view.notice = match query {
        Ok(Query(KeysQuery {
            rotated: Some(kid), ..
        })) => rotated_notice(lang, &keys, &kid),
        Ok(Query(KeysQuery {
            revoked: Some(kid), ..
        })) => revoked_notice(&state, lang, &kid).await?,
        _ => None,
    };
    Ok(page(StatusCode::OK, &view))
}

/// The rotate form: the algorithm and an optional activation time.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RotateForm {
    alg: String,
    at: String,
}

/// `POST /admin/keys/rotate` with `alg` (RS256, ES256 or EdDSA) and `at` (empty: as
/// soon as it is safe; else a `datetime-local` value read as UTC, or RFC 3339; never
/// earlier than safe): creates the algorithm's `next` key, then 303 to the page,
/// which names it and its activation. An unknown algorithm or an unreadable time is
/// 400, a rotation already under way 409 (the page again, saying why).
pub async fn rotate(
    State(state): State<AppState>,
    cookies: Cookies,
    Operator(me): Operator,
    CsrfForm(form, _): CsrfForm<RotateForm>,
) -> Result<Response, PageError> {
    match start_rotation(&state, &me, &form).await {
        Ok(kid) => Ok(back("rotated", &kid)),
        Err(e) => refused(&state, &cookies, &me, e).await,
    }
}

async fn start_rotation(
    state: &AppState,
    me: &User,
    form: &RotateForm,
) -> Result<String, KeyActionError> {
    let alg = SigningAlg::parse(form.alg.trim()).ok_or(KeyActionError::UnknownAlg)?;
    let at = activation_time(&form.at).ok_or(KeyActionError::BadTime)?;
    let rotated = state
        .keys
        .rotate(&state.db, &state.kek, alg, at, &actor(me))
        .await?;
    Ok(rotated.kid)
}

/// The revoke form: the operator's current password, and the box "never create a
/// new key".
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RevokeForm {
    password: String,
    no_new_key: Option<String>,
}

/// `POST /admin/keys/{kid}/revoke` with `password` and optionally `no_new_key`:
/// after the password (throttled like a login; missing or wrong: 403), revokes the
/// key at once; if it was signing, its `next` key takes over, or a new key unless
/// `no_new_key` is ticked. Then 303 to the page, which names the replacement. An
/// unknown kid is 404; a key already revoked, or the last usable key of its
/// algorithm with `no_new_key`, 409 (the page again, saying why).
pub async fn revoke(
    State(state): State<AppState>,
    cookies: Cookies,
    Operator(me): Operator,
    client: ClientIp,
    Path(kid): Path<String>,
    CsrfForm(form, checks): CsrfForm<RevokeForm>,
) -> Result<Response, PageError> {
    match revoke_key(&state, &me, &client, &kid, &form, &checks).await {
        Ok(kid) => Ok(back("revoked", &kid)),
        Err(e) => refused(&state, &cookies, &me, e).await,
    }
}

async fn revoke_key(
    state: &AppState,
    me: &User,
    client: &ClientIp,
    kid: &str,
    form: &RevokeForm,
    checks: &FormChecks,
) -> Result<String, KeyActionError> {
    // A repeated or garbled box must not silently mean "a new key is fine".
    if checks
        .unreadable(&["no_new_key"])
        .is_some_and(|fields| !fields.is_empty())
    {
        return Err(KeyActionError::Unreadable);
    }
    reauth::confirm_password(state, me, Some(&form.password), &client.network()).await?;
    let allow_new_key = form.no_new_key.is_none();
    let revoked = state
        .keys
        .revoke(&state.db, &state.kek, kid, allow_new_key, &actor(me))
        .await?;
    Ok(revoked.kid)
}

/// Why a key action was refused. Each variant's doc gives the status of the keys
/// page that answers it (with the message of the i18n key); throttling is the 429
/// page; internal failures are logged, the 500 page.
#[derive(Debug, thiserror::Error)]
pub enum KeyActionError {
    /// 400 `admin_keys.unknown_alg`: `alg` is not RS256, ES256 or EdDSA.
    #[error("unknown algorithm")]
    UnknownAlg,
    /// 400 `admin_keys.bad_time`: `at` is neither a `datetime-local` value nor
    /// RFC 3339.
    #[error("unreadable activation time")]
    BadTime,
    /// 400 `form.unreadable`: the `no_new_key` box was repeated or garbled.
    #[error("unreadable form")]
    Unreadable,
    /// 403 `admin_keys.reauthenticate` for a missing or wrong password; 429 page
    /// when throttled.
    #[error(transparent)]
    Reauth(#[from] ReauthError),
    /// 409 `admin_keys.next_exists` for [`RotateError::NextExists`].
    #[error(transparent)]
    Rotate(#[from] RotateError),
    /// 404 `admin_keys.unknown_kid`, 409 `admin_keys.already_revoked`, 409
    /// `admin_keys.last_usable`.
    #[error(transparent)]
    Revoke(#[from] RevokeError),
}

/// The keys page again with `e`'s status and message; the 429 page when throttled;
/// internal failures as [`PageError::Internal`] (logged, 500).
async fn refused(
    state: &AppState,
    cookies: &Cookies,
    me: &User,
    e: KeyActionError,
) -> Result<Response, PageError> {
    let lang = lang::preferred(me.locale.as_deref(), None);
    let text = |key: &str, args: &[(&str, &str)]| i18n::text(lang, key, args);
    let (status, message) = match e {
        KeyActionError::UnknownAlg => {
            (StatusCode::BAD_REQUEST, text("admin_keys.unknown_alg", &[]))
        }
        KeyActionError::BadTime => (StatusCode::BAD_REQUEST, text("admin_keys.bad_time", &[])),
        KeyActionError::Unreadable => (StatusCode::BAD_REQUEST, text("form.unreadable", &[])),
        KeyActionError::Reauth(ReauthError::WrongPassword) => (
            StatusCode::FORBIDDEN,
            text("admin_keys.reauthenticate", &[]),
        ),
        KeyActionError::Reauth(ReauthError::Throttled(blocked)) => {
            return Err(PageError::Blocked("admin_keys.title", blocked))
        }
        KeyActionError::Reauth(ReauthError::Internal(e)) => return Err(e.into()),
        KeyActionError::Rotate(RotateError::NextExists {
            alg,
            kid,
            activates_at,
        }) => {
            let args = [
                ("alg", alg.as_str()),
                ("kid", &kid),
                ("at", &utc(activates_at)),
            ];
            (StatusCode::CONFLICT, text("admin_keys.next_exists", &args))
        }
        KeyActionError::Rotate(RotateError::Internal(e)) => return Err(PageError::Internal(e)),
        KeyActionError::Revoke(RevokeError::Unknown(_)) => {
            (StatusCode::NOT_FOUND, text("admin_keys.unknown_kid", &[]))
        }
        KeyActionError::Revoke(RevokeError::AlreadyRevoked(kid)) => (
            StatusCode::CONFLICT,
            text("admin_keys.already_revoked", &[("kid", &kid)]),
        ),
        KeyActionError::Revoke(RevokeError::LastUsable { kid, alg }) => (
            StatusCode::CONFLICT,
            text(
                "admin_keys.last_usable",
                &[("kid", &kid), ("alg", alg.as_str())],
            ),
        ),
        KeyActionError::Revoke(RevokeError::Internal(e)) => return Err(PageError::Internal(e)),
    };
    let keys = state.keys.list(&state.db).await?;
    let mut view = keys_page(state, cookies, me, &keys);
    view.error = Some(message);
    Ok(page(status, &view))
}

/// The keys page of `keys` for `me`, without notice or error.
fn keys_page(state: &AppState, cookies: &Cookies, me: &User, keys: &[KeyInfo]) -> AdminKeysPage {
    let lang = lang::preferred(me.locale.as_deref(), None);
    let csrf_token = browser::csrf_token(state, &browser::browser_id(state, cookies));
    let timings = state.keys.timings();
    let groups = SigningAlg::ALL
        .into_iter()
        .map(|alg| KeyGroup {
            alg: alg.as_str(),
            keys: keys.iter().filter(|k| k.alg == alg).map(key_view).collect(),
        })
        .collect();
    AdminKeysPage {
        base: PageBase::new(lang, "admin_keys.title", csrf_token),
        operator: me.username.clone(),
        groups,
        jwks_cache: duration(state.config.keys.jwks_max_age_seconds),
        publish_delay: duration(timings.publish_seconds),
        retain: duration(timings.retain_seconds),
        notice: None,
        error: None,
    }
}

fn key_view(k: &KeyInfo) -> KeyView {
    KeyView {
        kid: k.kid.clone(),
        state: k.state.as_str(),
        created: utc(k.created_at),
        activates: utc(k.activates_at),
        retires: k.retires_at.map(utc),
        removes: k.removes_at.map(utc),
    }
}

/// "New key … signs from …" for the key `kid` a rotation created, if it exists.
fn rotated_notice(lang: &str, keys: &[KeyInfo], kid: &str) -> Option<String> {
    let key = keys.iter().find(|k| k.kid == kid)?;
    let args = [
        ("alg", key.alg.as_str()),
        ("kid", key.kid.as_str()),
        ("at", &utc(key.activates_at)),
    ];
    Some(i18n::text(lang, "admin_keys.rotated", &args))
}

/// "Key … is revoked; … signs from now on" for the key `kid`, from the audit event
/// of its revocation; `None` unless the key is revoked and that event exists.
async fn revoked_notice(
    state: &AppState,
    lang: &str,
    kid: &str,
) -> Result<Option<String>, PageError> {
    if db_keys::is_revoked(&state.db, kid).await? != Some(true) {
        return Ok(None);
    }
    let events = audit::for_subject(state.db.pool(), kid).await?;
    let Some(event) = events.iter().rev().find(|e| e.action == "key.revoked") else {
        return Ok(None);
    };
    let details: RevokedDetails = serde_json::from_str(&event.details).unwrap_or_default();
    let alg = details.alg.as_str();
    let text = match details.replacement.as_deref() {
        Some(replacement) => i18n::text(
            lang,
            "admin_keys.revoked",
            &[
                ("kid", &event.subject),
                ("alg", alg),
                ("replacement", replacement),
            ],
        ),
        None => i18n::text(
            lang,
            "admin_keys.revoked_not_signing",
            &[("kid", &event.subject), ("alg", alg)],
        ),
    };
    Ok(Some(text))
}

/// The details of a `key.revoked` audit event.
#[derive(Debug, Default, Deserialize)]
struct RevokedDetails {
    #[serde(default)]
    alg: String,
    replacement: Option<String>,
}

/// The audit actor of `me`'s key changes.
fn actor(me: &User) -> String {
    format!("operator:{}", me.username)
}

/// 303 to the keys page with `name=kid`.
fn back(name: &str, kid: &str) -> Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair(name, kid)
        .finish();
    Redirect::to(&format!("{KEYS}?{query}")).into_response()
}

/// The rotate form's `at`: `Some(None)` when empty (as soon as it is safe); a
/// `datetime-local` value (`2027-01-01T00:00`, seconds and fractions optional) read
/// as UTC, or an RFC 3339 time (`2027-01-01T00:00:00Z`), as Unix seconds; `None` for
/// anything else.
fn activation_time(text: &str) -> Option<Option<i64>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(None);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(Some(t.timestamp()));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .into_iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
        .map(|t| Some(t.and_utc().timestamp()))
}

/// Unix seconds `t` as `2027-01-01 00:00:00 UTC`.
fn utc(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map_or_else(
        || t.to_string(),
        |d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// `seconds` in words: `480 s (8 min)`, `93600 s (26 h)`, `7776000 s (90 d)`.
fn duration(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{s} s ({} min)", s / 60),
        s if s < 2 * 86_400 => format!("{s} s ({} h)", s / 3600),
        s => format!("{s} s ({} d)", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_times_are_datetime_local_or_rfc3339() {
        assert_eq!(activation_time(""), Some(None));
        assert_eq!(activation_time("  "), Some(None));
        let t = Some(Some(1_798_761_600)); // 2027-01-01T00:00:00Z
        assert_eq!(activation_time("2027-01-01T00:00"), t);
        assert_eq!(activation_time("2027-01-01T00:00:00"), t);
        assert_eq!(activation_time("2027-01-01T00:00:00.000"), t);
        assert_eq!(activation_time("2027-01-01T00:00:00Z"), t);
        assert_eq!(activation_time("2027-01-01T01:00:00+01:00"), t);
        for bad in [
            "tomorrow",
            "2027-13-01T00:00",
            "1798761600",
            "2027-01-01",
            "x".repeat(300).as_str(),
        ] {
            assert_eq!(activation_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_and_durations_read_well() {
        assert_eq!(utc(1_798_761_600), "2027-01-01 00:00:00 UTC");
        assert_eq!(duration(60), "60 s");
        assert_eq!(duration(480), "480 s (8 min)");
        assert_eq!(duration(93_600), "93600 s (26 h)");
        assert_eq!(duration(90 * 86_400), "7776000 s (90 d)");
    }
}
