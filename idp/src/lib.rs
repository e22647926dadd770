//! An OpenID Connect provider for B2B customer portals.
//!
//! One folder per concern (docs/architecture.md has the picture):
//! - [`http`]: the only axum code, by audience: `oauth/`, `pages/`, `admin/`, `extract/`.
//! - [`cli`]: the `idp` command line, one file per subcommand group.
//! - [`oauth`]: the protocol (OAuth 2.0, OpenID Connect), no HTTP types.
//! - [`account`]: the product's account flows (registration, approval, passwords,
//!   e-mailed codes, support, sessions, users).
//! - [`policy`]: e-mail, password, free-text and throttle rules.
//! - [`outbox`]: durable delivery of mail and back-channel logout tokens.
//! - [`crypto`]: random tokens and hashes, signing keys, the KEK, password hashing.
//! - [`ui`]: embedded templates and translated texts, and `pages/`, the typed context
//!   of each page template.
//! - [`db`]: the only SQL; rows become domain types there.
//! - `testing`: the harness both crates' tests share (feature `test-support` only).
//!
//! Wiring, at the root: `lib.rs` ([`serve`] and the background workers), `main.rs`
//! (hands the command line to [`cli`]), [`state`] (the request context), [`config`]
//! (settings), [`clock`] (the injected clock) and `error.rs` (the macro plumbing of
//! the error enums: `Internal`, `internal_from!`).
//!
//! Allowed direction: `http | cli | testing → oauth | ui::pages → account → policy |
//! outbox → crypto → db | ui`. Every module may import [`clock`], `error.rs`,
//! [`crypto`]'s own helpers and [`config`]; [`state`] imports any folder but `http`,
//! `cli` and `testing`; only `lib.rs` names `crate::http` outside it, and nothing
//! outside `http` names axum (checked by `idp/tests/it/architecture.rs`, with the
//! exact rules in its doc comment). [`serve`] runs the provider on a given listener
//! until a shutdown future resolves, so tests bind port 0 and run the real server
//! in-process.
#![cfg_attr(
    not(test),
    deny(clippy::cast_possible_truncation, clippy::indexing_slicing)
)]

pub mod account;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
mod error;
pub mod http;
pub mod oauth;
pub mod outbox;
pub mod policy;
pub mod state;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod ui;

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;

pub use crate::state::AppState;

rust_i18n::i18n!("locales", fallback = "en");

/// How long ended sessions, used codes and expired tokens are kept before purging.
const PURGE_KEEP_SECONDS: i64 = 24 * 3600;

/// Serves the provider on `listener` until `shutdown` resolves, then finishes
/// in-flight requests, with the connection limits of `http.*` ([`http::server`]).
/// Also runs the background jobs (key reload, purge).
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_inner(listener, state, shutdown, true).await
}

/// [`serve`], with the mail and back-channel logout workers only if
/// `delivery_workers`; without them the caller drains the queues (the test harness
/// calls `deliver_due`, so no test waits for a worker).
pub(crate) async fn serve_inner(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    delivery_workers: bool,
) -> std::io::Result<()> {
    let jobs = tokio::spawn(background_jobs(state.clone()));
    let workers = delivery_workers.then(|| {
        [
            tokio::spawn(mail_worker(state.clone())),
            tokio::spawn(backchannel_worker(state.clone())),
        ]
    });
    let limits = http::server::ConnectionLimits::from(&state.config.http);
    let app = http::router(state);
    let result = http::server::serve(listener, app, limits, shutdown).await;
    jobs.abort();
    for worker in workers.iter().flatten() {
        worker.abort();
    }
    result
}

/// Drains the mail outbox when woken by a new message, or every
/// `mail.poll_interval_ms`.
async fn mail_worker(state: AppState) {
    let interval = Duration::from_millis(state.config.mail.poll_interval_ms.max(10));
    outbox::run_worker("mail", interval, &state.mail_wakeup, || {
        outbox::mail::deliver_due(&state.db, &state.mailer, state.clock.as_ref())
    })
    .await;
}

/// Delivers back-channel logout tokens when woken by a logout, or every second.
async fn backchannel_worker(state: AppState) {
    let http = match outbox::backchannel::client() {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the back-channel logout client");
            return;
        }
    };
    outbox::run_worker(
        "backchannel_logout",
        Duration::from_secs(1),
        &state.logout_wakeup,
        || outbox::backchannel::deliver_due(&state.db, state.clock.as_ref(), &http),
    )
    .await;
}

/// Starts the rotations the schedule (`keys.rotation_days`, per algorithm) makes due
/// and records the transitions time has brought about.
async fn scheduled_rotation(state: &AppState) -> anyhow::Result<()> {
    let cfg = &state.config.keys;
    let started = state
        .keys
        .rotate_due(&state.db, &state.kek, |alg| cfg.schedule(alg))
        .await?;
    for r in started {
        tracing::info!(kid = %r.kid, alg = %r.alg, activates_at = r.activates_at, "scheduled key rotation");
    }
    state.keys.record_transitions(&state.db).await?;
    Ok(())
}

/// Reloads signing keys when the stored ones changed (checked every
/// [`RELOAD_POLL_SECONDS`](crate::crypto::keys::RELOAD_POLL_SECONDS)) and at least
/// every [`KeyTimings::reload_seconds`] (a retired key may be due for removal), and
/// purges dead rows every minute.
///
/// [`KeyTimings::reload_seconds`]: crate::crypto::keys::KeyTimings
async fn background_jobs(state: AppState) {
    // Both loops in this task, so aborting it (shutdown) stops both.
    tokio::join!(key_jobs(state.clone()), purge_job(state));
}

/// The signing keys: reload on change (polled) and periodically; the schedule.
async fn key_jobs(state: AppState) {
    let reload = u64::try_from(state.keys.timings().reload_seconds).unwrap_or(60);
    // A cheap check every few seconds (a revocation or another process's rotation
    // shows within seconds), and a full reload every `reload` seconds (a retired key
    // due for removal leaves the JWKS).
    let poll = crate::crypto::keys::RELOAD_POLL_SECONDS;
    let mut tick = tokio::time::interval(Duration::from_secs(poll));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = None;
    let mut since_full = 0;
    loop {
        tick.tick().await;
        since_full += poll;
        let (db, kek) = (&state.db, &state.kek);
        let result = if since_full >= reload.max(1) {
            // The full reload does not depend on the summary query.
            since_full = 0;
            last = None;
            state.keys.reload(db, kek).await
        } else {
            state
                .keys
                .reload_if_changed(db, kek, &mut last)
                .await
                .map(|_| ())
        };
        if let Err(e) = result {
            tracing::warn!(error = %format!("{e:#}"), "reloading signing keys failed");
        }
        if let Err(e) = scheduled_rotation(&state).await {
            tracing::warn!(error = %format!("{e:#}"), "scheduled key rotation failed");
        }
    }
}

/// Purges dead rows every minute.
async fn purge_job(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state
            .db
            .purge_expired(state.clock.now(), PURGE_KEEP_SECONDS)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "purged expired rows"),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "purge failed"),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
