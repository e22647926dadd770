//! Time as an injected dependency, so tests move time forward instead of sleeping.
//!
//! Every timestamp in the provider is a Unix time in whole seconds (`i64`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A source of the current time, in Unix seconds.
pub trait Clock: Send + Sync + 'static {
    /// The current time in seconds since the Unix epoch (UTC).
    fn now(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// Nanoseconds since the Unix epoch on the wall clock, for ordering only
/// ([`crate::crypto::ordered_id`]); never for a decision, which takes a [`Clock`].
#[allow(clippy::disallowed_methods)]
pub fn wall_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A clock that only moves when told to; for tests.
#[derive(Debug)]
pub struct MockClock(AtomicI64);

impl MockClock {
    /// A mock clock starting at `start` (Unix seconds).
    pub fn new(start: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(start)))
    }

    /// A mock clock starting at the current wall-clock time.
    pub fn starting_now() -> Arc<Self> {
        Self::new(SystemClock.now())
    }

    /// Moves the clock forward by `seconds` (negative moves it back).
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for MockClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
