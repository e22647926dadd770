//! Logout: ending a browser session (RP-Initiated Logout 1.0) and telling every
//! relying party that got tokens through it (Back-Channel Logout 1.0 §2.4–2.7).
//!
//! Ending the session, revoking the grants issued through it and queueing one logout
//! token per relying party happen in one transaction; a worker POSTs the tokens
//! (`logout_token=…`) and retries failures with backoff, so a relying party that is
//! down for a while still learns about the logout.

use std::time::Duration;

use serde_json::{json, Map};
use sqlx::AnyConnection;

use crate::crypto;
use crate::crypto::keys::{JwtType, SigningAlg};
use crate::db::{audit, logout as db, sessions};
use crate::state::AppState;

/// The `events` member of a logout token (Back-Channel Logout 1.0 §2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Lifetime of a logout token, in seconds.
const TOKEN_SECONDS: i64 = 120;

/// Deliveries are given up after this many failed attempts (about a day of backoff).
const MAX_ATTEMPTS: i64 = 30;

/// Ends the browser session `sid` of `user_id`: the session ends, its grants are
/// revoked, and a logout token is queued for every relying party that got tokens
/// through it and registered a `backchannel_logout_uri`. Returns whether a live
/// session ended.
///
/// # Errors
/// Database or signing failures.
pub async fn end_session(
    state: &AppState,
    user_id: &str,
    sid: &str,
    actor: &str,
) -> anyhow::Result<bool> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let ended = sessions::end_one(&mut tx, user_id, sid, now).await?;
    let told = tell_relying_parties(&mut tx, state, user_id, sid, now).await?;
    audit::record(
        &mut *tx,
        now,
        actor,
        "session.logout",
        sid,
        &json!({ "relying_parties": told }),
    )
    .await?;
    tx.commit().await?;
    state.logout_wakeup.notify_one();
    Ok(ended)
}

/// Ends every session of `user_id` but `keep_sid` (all of them when `None`) inside the
/// caller's transaction, revokes the grants not bound to `keep_sid`, and queues the
/// logout tokens for the relying parties of each ended session. The caller commits and
/// then wakes the worker (`state.logout_wakeup`). Returns how many sessions ended.
///
/// # Errors
/// Database or signing failures.
pub async fn end_other_sessions(
    tx: &mut AnyConnection,
    state: &AppState,
    user_id: &str,
    keep_sid: Option<&str>,
    now: i64,
) -> anyhow::Result<u64> {
    let sids = sessions::live_sids(&mut *tx, user_id, keep_sid).await?;
    let ended = sessions::end_others(tx, user_id, keep_sid, now).await?;
    for sid in &sids {
        tell_relying_parties(tx, state, user_id, sid, now).await?;
    }
    Ok(ended)
}

/// Queues a logout token for every relying party that got tokens through `sid`.
async fn tell_relying_parties(
    tx: &mut AnyConnection,
    state: &AppState,
    user_id: &str,
    sid: &str,
    now: i64,
) -> anyhow::Result<usize> {
    let clients = db::clients_of_session(&mut *tx, sid).await?;
    for (client_id, uri, alg) in &clients {
        let alg = SigningAlg::parse(alg).unwrap_or(SigningAlg::RS256);
        let token = logout_token(state, client_id, user_id, sid, alg, now)?;
        db::enqueue(&mut *tx, client_id, uri, &token, now).await?;
    }
    Ok(clients.len())
}

/// A logout token (Back-Channel Logout 1.0 §2.4): `iss`, `aud`, `iat`, `exp`, `jti`,
/// `sub`, `sid` and `events`, no `nonce`; `typ` is `logout+jwt`.
fn logout_token(
    state: &AppState,
    client_id: &str,
    sub: &str,
    sid: &str,
    alg: SigningAlg,
    now: i64,
) -> anyhow::Result<String> {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(state.config.issuer));
    claims.insert("aud".into(), json!(client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + TOKEN_SECONDS));
    claims.insert("jti".into(), json!(crypto::random_id()));
    claims.insert("sub".into(), json!(sub));
    claims.insert("sid".into(), json!(sid));
    claims.insert("events".into(), json!({ EVENT: {} }));
    state.keys.sign(alg, JwtType::LogoutToken, claims)
}

/// POSTs every due logout token once; returns how many were delivered.
///
/// # Errors
/// Database failures (delivery failures are recorded, not returned).
pub async fn deliver_due(state: &AppState, http: &reqwest::Client) -> anyhow::Result<usize> {
    let mut delivered = 0;
    loop {
        let batch = db::claim(&state.db, state.clock.now(), 60, 20).await?;
        if batch.is_empty() {
            return Ok(delivered);
        }
        for row in batch {
            let result = http
                .post(&row.uri)
                .form(&[("logout_token", row.logout_token.as_str())])
                .send()
                .await;
            let now = state.clock.now();
            match result {
                Ok(r) if r.status().is_success() => {
                    db::mark_delivered(&state.db, &row.id, now, None).await?;
                    delivered += 1;
                }
                // The relying party refused the token: sending it again will not help.
                Ok(r) if r.status().is_client_error() => {
                    let error = format!("refused with {}", r.status());
                    tracing::warn!(client_id = %row.client_id, %error, "back-channel logout refused");
                    db::mark_delivered(&state.db, &row.id, now, Some(&error)).await?;
                }
                other => {
                    let error = match other {
                        Ok(r) => format!("answered {}", r.status()),
                        Err(e) => e.to_string(),
                    };
                    if row.attempts + 1 >= MAX_ATTEMPTS {
                        tracing::warn!(client_id = %row.client_id, %error, "back-channel logout given up");
                        db::mark_delivered(&state.db, &row.id, now, Some(&error)).await?;
                    } else {
                        let next = now + crate::outbox::mail::backoff_seconds(row.attempts);
                        tracing::info!(client_id = %row.client_id, %error, "back-channel logout failed; will retry");
                        db::mark_failed(&state.db, &row.id, &error, next).await?;
                    }
                }
            }
        }
    }
}

/// The delivery worker: woken by a logout, and polling every second otherwise.
pub async fn worker(state: AppState) {
    let http = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the back-channel logout client");
            return;
        }
    };
    loop {
        if let Err(e) = deliver_due(&state, &http).await {
            tracing::warn!(error = %format!("{e:#}"), "back-channel logout worker");
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), state.logout_wakeup.notified()).await;
    }
}
