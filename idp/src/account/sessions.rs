//! Logout: ending a browser session (RP-Initiated Logout 1.0) and telling every
//! relying party that got tokens through it (Back-Channel Logout 1.0 §2.4–2.7).
//!
//! Ending the session, revoking the grants issued through it and queueing one logout
//! token per relying party happen in one transaction; [`crate::outbox::backchannel`]
//! POSTs the tokens and retries failures with backoff, so a relying party that is
//! down for a while still learns about the logout.

use serde_json::json;
use sqlx::AnyConnection;

use crate::crypto::keys::SigningAlg;
use crate::db::{audit, logout_deliveries as db, sessions};
use crate::error::Internal;
use crate::outbox::backchannel;
use crate::state::AppState;

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
) -> Result<bool, Internal> {
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
) -> Result<u64, Internal> {
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
) -> Result<usize, Internal> {
    let clients = db::clients_of_session(&mut *tx, sid).await?;
    for (client_id, uri, alg) in &clients {
        let alg = SigningAlg::parse(alg).unwrap_or(SigningAlg::RS256);
        let token = backchannel::sign(state, client_id, user_id, sid, alg, now)?;
        db::enqueue(&mut *tx, client_id, uri, &token, now).await?;
    }
    Ok(clients.len())
}
