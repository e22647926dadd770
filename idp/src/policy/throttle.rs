//! Throttled guessing (NIST SP 800-63B §5.2.2): login (one-time passwords included),
//! code entry, code requests, forgot password, registration and its resend link, and
//! support-PIN checks count attempts per account, per account and client network, and
//! per client network, in the database so every provider process sees the same counts.
//!
//! An attempt is *reserved* before the check it guards ([`reserve`]): it is counted
//! up front on every key, atomically, and the reservation that goes past a key's
//! allowance blocks that key in the same statement. However many requests arrive at
//! once, at most the allowance plus one of them are evaluated per key; the rest are
//! refused. After the check, [`Attempt::succeeded`] gives the count back (and clears
//! the account-and-network key), [`Attempt::failed`] keeps it; paths that count every
//! request (code requests, forgot password, registration) always keep it. A
//! reservation given back (a success, or a later key of the same attempt refused)
//! lifts a block it started itself, or one that the remaining count no longer
//! justifies, so a refused surplus never blocks more than sequential attempts would.
//!
//! Blocks last `base_delay_seconds`, doubling with each further attempt up to
//! `throttle.max_delay_seconds`, and always expire: an attacker can slow an account
//! down, never lock it permanently. Starting a block is an audit event.
//!
//! Account keys are the *resolved* account ([`Account`]): whatever spelling was typed
//! (username or e-mail address, any case, Unicode or A-label domain), one account has
//! one counter. Names without an account are keyed on their normalised spelling.

use serde_json::json;

use crate::config::ThrottleConfig;
use crate::crypto;
use crate::db::audit;
use crate::db::throttle::{self as db, Reserved, STEPS};
use crate::db::users::{self, User};
use crate::error::{internal_from, Internal};
use crate::policy::email;
use crate::state::AppState;

/// Why [`reserve`] refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ThrottleError {
    /// Throttled: callers answer 429 with `throttle.try_again` (the minutes of
    /// [`Blocked::minutes`]).
    #[error(transparent)]
    Blocked(Blocked),
    /// A database failure: logged, a 500 answer.
    #[error(transparent)]
    Internal(Internal),
}

internal_from!(ThrottleError: sqlx::Error);

/// What is being guessed (or requested).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Password login, with the account's password or its one-time password.
    Login,
    /// An e-mailed verification code (change or reset password).
    Code,
    /// A request that mails a code (forgot password, "Get code").
    Forgot,
    /// A registration or a new confirmation link.
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

/// The account an attempt is on, as one key whatever was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    /// An existing account, by its user id.
    User(String),
    /// A name or address without an account, by its normalised spelling (see
    /// [`login_key`]), so every spelling of it shares one counter too.
    Unknown(String),
    /// An address on a path that is not about an account (registration), normalised.
    Address(String),
}

impl Account {
    /// The account of `user` if there is one, else the unknown name `normalised`.
    pub fn of(user: Option<&User>, normalised: &str) -> Self {
        match user {
            Some(u) => Account::User(u.id.clone()),
            None => Account::Unknown(normalised.to_owned()),
        }
    }

    /// The stored form: hashed, so the table lists neither who is being attacked nor
    /// addresses, and a known account's key looks like an unknown one's.
    fn key(&self) -> String {
        let plain = match self {
            Account::User(id) => format!("user:{id}"),
            Account::Unknown(name) => format!("name:{name}"),
            Account::Address(address) => format!("address:{address}"),
        };
        crypto::sha256_b64(plain.as_bytes())
    }
}

/// What a login name or e-mail address is looked up as: trimmed and lower-cased; an
/// e-mail address normalised by [`email::normalize`] (so Unicode and A-label
/// spellings of its domain, in any case, give the same key). A name containing `@`
/// that is not an address is kept lower-cased as typed.
pub fn login_key(typed: &str) -> String {
    let typed = typed.trim();
    if typed.contains('@') {
        email::normalize(typed).map_or_else(|_| typed.to_lowercase(), |e| e.to_string())
    } else {
        typed.to_lowercase()
    }
}

/// Resolves what was typed into a login-like field to its account: one indexed
/// lookup by username or e-mail address of [`login_key`]`(typed)` (none for an empty
/// or over-long key). Returns the user, if any, and the key to throttle on.
///
/// # Errors
/// Database failures.
pub async fn resolve(state: &AppState, typed: &str) -> sqlx::Result<(Option<User>, Account)> {
    let key = login_key(typed);
    let user = if key.is_empty() || key.len() > 254 {
        None
    } else {
        users::find_by_login(&state.db, &key).await?
    };
    let account = Account::of(user.as_ref(), &key);
    Ok((user, account))
}

/// The keys one attempt counts against, with their free allowance.
#[derive(Debug, Clone)]
pub struct Subject {
    keys: Vec<(String, i64)>,
}

impl Subject {
    /// An attempt from the client network `network` (an IPv4 address or an IPv6 /64,
    /// see `ClientIp::network`) on `account`: keys per network, per account, and per
    /// account and network, in that order. Every key is `<action>:<kind>:` and a
    /// SHA-256 hash of what it counts (the network, the account, or both), so the
    /// table names no address, neither an e-mail nor an IP address.
    pub fn new(
        config: &ThrottleConfig,
        action: Action,
        account: Option<&Account>,
        network: &str,
    ) -> Self {
        let a = action.name();
        let net = crypto::sha256_b64(format!("network:{network}").as_bytes());
        let mut keys = vec![(format!("{a}:ip:{net}"), config.ip_free)];
        if let Some(account) = account {
            let account = account.key();
            keys.push((format!("{a}:account:{account}"), config.account_free));
            let both = crypto::sha256_b64(format!("{account}:{network}").as_bytes());
            keys.push((format!("{a}:account_ip:{both}"), config.account_ip_free));
        }
        Self { keys }
    }

    #[cfg(test)]
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
        (self.seconds.max(1) + 59) / 60
    }
}

/// One reserved key of an [`Attempt`].
#[derive(Debug, Clone)]
struct Held {
    key: String,
    free: i64,
    reservation: db::Reservation,
}

/// A reserved attempt: counted on every key of its subject. Call
/// [`Attempt::succeeded`] or [`Attempt::failed`] once the check is done; an attempt
/// dropped without either (an error, a cancelled request) stays counted.
#[must_use = "an attempt is kept (counted) unless `succeeded` gives it back"]
#[derive(Debug)]
pub struct Attempt {
    held: Vec<Held>,
}

/// Reserves an attempt on every key of `subject`, in order, each in one atomic
/// statement. When a key refuses (it is blocked), the reservations already taken on
/// the earlier keys are given back and the attempt is refused.
///
/// # Errors
/// [`ThrottleError::Blocked`] with the refusing key's remaining time; database
/// failures.
pub async fn reserve(state: &AppState, subject: &Subject) -> Result<Attempt, ThrottleError> {
    let cfg = &state.config.throttle;
    let now = state.clock.now();
    let delays = ladder(cfg);
    let mut held: Vec<Held> = Vec::with_capacity(subject.keys.len());
    for (key, free) in &subject.keys {
        match db::reserve(
            &state.db,
            key,
            now,
            now - cfg.window_seconds,
            *free,
            &delays,
        )
        .await?
        {
            Reserved::Counted(reservation) => held.push(Held {
                key: key.clone(),
                free: *free,
                reservation,
            }),
            Reserved::Blocked { until } => {
                for h in &held {
                    db::release(&state.db, &h.key, h.reservation.blocked_until, h.free).await?;
                }
                return Err(ThrottleError::Blocked(Blocked {
                    seconds: (until - now).max(1),
                }));
            }
        }
    }
    Ok(Attempt { held })
}

impl Attempt {
    /// The check passed: gives the attempt back on every key (lifting a block only
    /// if this very reservation started it or the count is back within the
    /// allowance) and forgets the account-and-network
    /// count (the per-network and per-account counts decay with the window, so a
    /// success cannot reset an attack in progress).
    ///
    /// # Errors
    /// Database failures.
    pub async fn succeeded(self, state: &AppState) -> sqlx::Result<()> {
        for h in &self.held {
            if h.key.contains(":account_ip:") {
                db::clear(&state.db, &h.key).await?;
            } else {
                db::release(&state.db, &h.key, h.reservation.blocked_until, h.free).await?;
            }
        }
        Ok(())
    }

    /// The check failed, or the request counts whatever its outcome: the attempt
    /// stays counted. A block this attempt started as the first past a key's
    /// allowance is recorded as a `throttle.blocked` audit event.
    ///
    /// # Errors
    /// Database failures.
    pub async fn failed(self, state: &AppState) -> sqlx::Result<()> {
        let now = state.clock.now();
        for h in &self.held {
            let r = h.reservation;
            if r.blocked_until > 0 && r.failures == h.free + 1 {
                let seconds = r.blocked_until - now;
                audit::record(
                    state.db.pool(),
                    now,
                    "system",
                    "throttle.blocked",
                    &h.key,
                    &json!({ "failures": r.failures, "seconds": seconds }),
                )
                .await?;
                tracing::warn!(key = %h.key, failures = r.failures, seconds, "throttling started");
            }
        }
        Ok(())
    }
}

/// The delay after the `n`-th attempt past the allowance: base × 2^(n−1), capped.
pub fn delay(cfg: &ThrottleConfig, n: i64) -> i64 {
    let exp = u32::try_from((n - 1).clamp(0, 20)).unwrap_or(20);
    cfg.base_delay_seconds
        .saturating_mul(1_i64 << exp)
        .min(cfg.max_delay_seconds)
}

/// [`delay`] for n = 1 ..= [`STEPS`] (the last step repeats beyond).
fn ladder(cfg: &ThrottleConfig) -> [i64; STEPS] {
    let mut out = [0; STEPS];
    for (n, d) in (1_i64..).zip(out.iter_mut()) {
        *d = delay(cfg, n);
    }
    out
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
        let steps = ladder(&cfg);
        assert_eq!(steps[0], 30);
        assert_eq!(steps[STEPS - 1], 900);
        let uncapped = ThrottleConfig {
            base_delay_seconds: 1,
            max_delay_seconds: 86_400,
            ..cfg
        };
        assert_eq!(ladder(&uncapped)[STEPS - 1], delay(&uncapped, 1_000));
    }

    #[test]
    fn every_spelling_of_a_name_gets_the_same_key() {
        assert_eq!(login_key(" Jane@Acme.COM "), "jane@acme.com");
        assert_eq!(login_key("JANE"), "jane");
        assert_eq!(
            login_key("ada@BÜCHER.example"),
            login_key("ada@xn--bcher-kva.example")
        );
        assert_eq!(login_key("not@an address"), "not@an address");
    }

    #[test]
    fn account_keys_hide_who_and_do_not_collide_across_kinds() {
        let cfg = ThrottleConfig::default();
        let user = Account::User("jane@acme.com".into());
        let unknown = Account::Unknown("jane@acme.com".into());
        let a = Subject::new(&cfg, Action::Login, Some(&user), "10.0.0.1");
        let b = Subject::new(&cfg, Action::Login, Some(&unknown), "10.0.0.1");
        assert_eq!(a.names().len(), 3);
        assert_ne!(a.names()[1], b.names()[1]);
        assert!(a.names()[0].starts_with("login:ip:"));
        assert!(a.names()[2].starts_with("login:account_ip:"));
        assert_eq!(a.names()[0], b.names()[0], "one network, one key");
        let other = Subject::new(&cfg, Action::Login, Some(&user), "10.0.0.2");
        assert_ne!(a.names()[0], other.names()[0]);
        assert_ne!(a.names()[2], other.names()[2]);
        assert!(
            a.names()
                .iter()
                .chain(b.names().iter())
                .all(|k| !k.contains("jane") && !k.contains("10.0.0")),
            "no e-mail or IP addresses in keys"
        );
    }
}
