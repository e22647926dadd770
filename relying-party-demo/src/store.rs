//! The portal's server-side state, in memory (a demo: a restart signs everyone out).
//!
//! - login attempts (state, nonce, PKCE code_verifier), keyed by the attempt cookie;
//! - sessions (profile and tokens), keyed by the session cookie, with an index from
//!   the provider's `sid` to the sessions it created, for back-channel logout;
//! - the claims of the last accepted logout tokens (shown to tests and operators).
//!
//! Cookie values are never stored: the maps are keyed by their SHA-256.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::{Map, Value};

use crate::claims::Profile;
use crate::oidc::{Attempt, PortalIdToken};
use crate::random::digest;

/// At most this many pending login attempts are kept; the oldest go first.
const MAX_ATTEMPTS: usize = 10_000;

/// At most this many accepted logout tokens are remembered.
const MAX_LOGOUT_EVENTS: usize = 32;

/// A signed-in browser.
#[derive(Clone)]
pub struct Session {
    /// What the pages show.
    pub profile: Profile,
    /// The provider session (`sid`) this session came from.
    pub sid: Option<String>,
    /// The ID token, for `id_token_hint` at logout.
    pub id_token: PortalIdToken,
    /// The access token.
    pub access_token: String,
    /// The refresh token, if any.
    pub refresh_token: Option<String>,
    /// The CSRF token of the session's forms.
    pub csrf_token: String,
    /// When the session ends, Unix seconds.
    pub expires_at: i64,
}

/// An accepted back-channel logout.
#[derive(Clone, Debug)]
pub struct LogoutEvent {
    /// The logout token's claims, as verified.
    pub claims: Map<String, Value>,
    /// How many local sessions it ended.
    pub sessions_ended: usize,
    /// When it arrived, Unix seconds.
    pub received_at: i64,
}

#[derive(Default)]
struct Inner {
    attempts: HashMap<String, Attempt>,
    sessions: HashMap<String, Session>,
    by_sid: HashMap<String, HashSet<String>>,
    logout_events: VecDeque<LogoutEvent>,
}

/// The in-memory store of one portal.
#[derive(Default)]
pub struct Store {
    inner: Mutex<Inner>,
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `attempt` under the attempt cookie's value.
    pub fn insert_attempt(&self, cookie: &str, attempt: Attempt, max_age: i64, now: i64) {
        let mut inner = self.lock();
        inner.attempts.retain(|_, a| now - a.created_at < max_age);
        if inner.attempts.len() >= MAX_ATTEMPTS {
            let oldest = inner
                .attempts
                .iter()
                .min_by_key(|(_, a)| a.created_at)
                .map(|(k, _)| k.clone());
            if let Some(key) = oldest {
                inner.attempts.remove(&key);
            }
        }
        inner.attempts.insert(digest(cookie), attempt);
    }

    /// Removes and returns the attempt of the cookie's value, unless it is older than
    /// `max_age` seconds. An attempt can be taken once.
    pub fn take_attempt(&self, cookie: &str, max_age: i64, now: i64) -> Option<Attempt> {
        let attempt = self.lock().attempts.remove(&digest(cookie))?;
        (now - attempt.created_at < max_age && attempt.created_at <= now).then_some(attempt)
    }

    /// Keeps a new session under the session cookie's value.
    pub fn insert_session(&self, cookie: &str, session: Session, now: i64) {
        let mut inner = self.lock();
        let expired: Vec<String> = inner
            .sessions
            .iter()
            .filter(|(_, s)| s.expires_at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            remove(&mut inner, &key);
        }
        let key = digest(cookie);
        if let Some(sid) = &session.sid {
            inner
                .by_sid
                .entry(sid.clone())
                .or_default()
                .insert(key.clone());
        }
        inner.sessions.insert(key, session);
    }

    /// The live session of the cookie's value.
    pub fn session(&self, cookie: &str, now: i64) -> Option<Session> {
        let mut inner = self.lock();
        let key = digest(cookie);
        match inner.sessions.get(&key) {
            Some(s) if s.expires_at > now => Some(s.clone()),
            Some(_) => {
                remove(&mut inner, &key);
                None
            }
            None => None,
        }
    }

    /// Removes and returns the session of the cookie's value.
    pub fn remove_session(&self, cookie: &str) -> Option<Session> {
        remove(&mut self.lock(), &digest(cookie))
    }

    /// Removes every session created through the provider session `sid` for the
    /// user `sub` (Back-Channel Logout 1.0 §2.7); returns how many.
    pub fn remove_sid(&self, sid: &str, sub: &str) -> usize {
        let mut inner = self.lock();
        let keys: Vec<String> = inner
            .by_sid
            .get(sid)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default();
        let mut removed = 0;
        for key in keys {
            if inner
                .sessions
                .get(&key)
                .is_some_and(|s| s.profile.sub == sub)
            {
                remove(&mut inner, &key);
                removed += 1;
            }
        }
        removed
    }

    /// How many sessions exist (expired ones not yet purged included).
    pub fn session_count(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Remembers an accepted logout token.
    pub fn record_logout(&self, event: LogoutEvent) {
        let mut inner = self.lock();
        if inner.logout_events.len() >= MAX_LOGOUT_EVENTS {
            inner.logout_events.pop_front();
        }
        inner.logout_events.push_back(event);
    }

    /// The accepted logout tokens, oldest first.
    pub fn logout_events(&self) -> Vec<LogoutEvent> {
        self.lock().logout_events.iter().cloned().collect()
    }
}

fn remove(inner: &mut Inner, key: &str) -> Option<Session> {
    let session = inner.sessions.remove(key)?;
    if let Some(sid) = &session.sid {
        if let Some(set) = inner.by_sid.get_mut(sid) {
            set.remove(key);
            if set.is_empty() {
                inner.by_sid.remove(sid);
            }
        }
    }
    Some(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(now: i64) -> Attempt {
        Attempt {
            state: "s".into(),
            nonce: "n".into(),
            code_verifier: "v".into(),
            silent: false,
            created_at: now,
        }
    }

    #[test]
    fn attempts_are_single_use_and_expire() {
        let store = Store::default();
        store.insert_attempt("a", attempt(100), 600, 100);
        assert!(store.take_attempt("a", 600, 200).is_some());
        assert!(store.take_attempt("a", 600, 200).is_none(), "single use");
        store.insert_attempt("b", attempt(100), 600, 100);
        assert!(store.take_attempt("b", 600, 700).is_none(), "expired");
    }
}
