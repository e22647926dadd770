//! Throttled guessing (NIST SP 800-63B §5.2.2): login, code entry, forgot password and
//! registration count failures per account, per account and client IP, and per client
//! IP, in the database so every provider process sees the same counts. After a free
//! allowance each further failure blocks the key for an increasing delay (doubling up
//! to `throttle.max_delay_seconds`). Blocks always expire: an attacker can slow an
//! account down, never lock it permanently. Starting a block is an audit event.

use serde_json::json;

use crate::config::ThrottleConfig;
use crate::crypto;
use crate::db::{audit, throttle as db};
use crate::state::AppState;

/// What is being guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Password login.
    Login,
    /// An e-mailed verification code.
    Code,
    /// A forgot-password request.
    Forgot,
    /// A registration.
    Register,
    /// An operator checking a caller's support PIN.
    Pin,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::Code => "code",
            Action::Forgot => "forgot",
            Action::Register => "register",
            Action::Pin => "pin",
        }
    }
}

/// The keys one attempt counts against, with their free allowance.
#[derive(Debug, Clone)]
pub struct Subject {
    keys: Vec<(String, i64)>,
}

impl Subject {
    /// An attempt by `ip` on `account` (a login name, e-mail address or user id, as
    /// typed: unknown accounts are throttled exactly like known ones).
    pub fn new(config: &ThrottleConfig, action: Action, account: Option<&str>, ip: &str) -> Self {
        let a = action.name();
        let mut keys = vec![(format!("{a}:ip:{ip}"), config.ip_free)];
        if let Some(account) = account {
            // Hashed: the table should not list who is being attacked, nor hold addresses.
            let account = crypto::sha256_b64(account.trim().to_lowercase().as_bytes());
            keys.push((format!("{a}:account:{account}"), config.account_free));
            keys.push((
                format!("{a}:account_ip:{account}:{ip}"),
                config.account_ip_free,
            ));
        }
        Self { keys }
    }

    fn names(&self) -> Vec<String> {
        self.keys.iter().map(|(k, _)| k.clone()).collect()
    }
}

/// Refused: blocked for `seconds` more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many attempts; try again in {seconds} s")]
pub struct Blocked {
    /// Seconds until the block ends.
    pub seconds: i64,
}

impl Blocked {
    /// Whole minutes to tell the user (at least 1).
    pub fn minutes(&self) -> i64 {
        (self.seconds + 59) / 60
    }
}

/// Refuses an attempt while any of its keys is blocked.
///
/// # Errors
/// [`Blocked`] (inner), or database failures (outer).
pub async fn check(state: &AppState, subject: &Subject) -> anyhow::Result<Result<(), Blocked>> {
    let now = state.clock.now();
    let until = db::blocked_until(&state.db, &subject.names()).await?;
    Ok(if until > now {
        Err(Blocked {
            seconds: until - now,
        })
    } else {
        Ok(())
    })
}

/// Counts a failed attempt, blocking keys that are over their allowance.
///
/// # Errors
/// Database failures.
pub async fn fail(state: &AppState, subject: &Subject) -> anyhow::Result<()> {
    let cfg = &state.config.throttle;
    let now = state.clock.now();
    for (key, free) in &subject.keys {
        let failures = db::add_failure(&state.db, key, now, now - cfg.window_seconds).await?;
        if failures > *free {
            let delay = delay(cfg, failures - free);
            db::block(&state.db, key, now + delay).await?;
            if failures == free + 1 {
                audit::record(
                    state.db.pool(),
                    now,
                    "system",
                    "throttle.blocked",
                    key,
                    &json!({ "failures": failures, "seconds": delay }),
                )
                .await?;
                tracing::warn!(%key, failures, seconds = delay, "throttling started");
            }
        }
    }
    Ok(())
}

/// Forgets the per-account-and-IP count after a success (the per-IP and per-account
/// counts decay with the window, so a success cannot reset an attack in progress).
///
/// # Errors
/// Database failures.
pub async fn succeed(state: &AppState, subject: &Subject) -> anyhow::Result<()> {
    for (key, _) in &subject.keys {
        if key.contains(":account_ip:") {
            db::clear(&state.db, key).await?;
        }
    }
    Ok(())
}

/// The delay after the `n`-th failure past the allowance: base × 2^(n−1), capped.
pub fn delay(cfg: &ThrottleConfig, n: i64) -> i64 {
    let exp = u32::try_from((n - 1).clamp(0, 20)).unwrap_or(20);
    cfg.base_delay_seconds
        .saturating_mul(1_i64 << exp)
        .min(cfg.max_delay_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let cfg = ThrottleConfig::default();
        assert_eq!(delay(&cfg, 1), 30);
        assert_eq!(delay(&cfg, 2), 60);
        assert_eq!(delay(&cfg, 5), 480);
        assert_eq!(delay(&cfg, 6), 900);
        assert_eq!(delay(&cfg, 60), 900);
    }

    #[test]
    fn unknown_and_known_accounts_get_the_same_keys() {
        let cfg = ThrottleConfig::default();
        let a = Subject::new(&cfg, Action::Login, Some("Jane@Acme.com"), "10.0.0.1");
        let b = Subject::new(&cfg, Action::Login, Some("jane@acme.com "), "10.0.0.1");
        assert_eq!(a.names(), b.names());
        assert_eq!(a.names().len(), 3);
        assert!(
            a.names().iter().all(|k| !k.contains("jane")),
            "no addresses in keys"
        );
    }
}
