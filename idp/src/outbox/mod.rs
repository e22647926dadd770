//! Outgoing messages queued in the database and delivered by workers: mails
//! ([`mail`]) and back-channel logout tokens ([`backchannel`]). Delivery is at least
//! once, with retries and backoff; the workers take what they need as arguments, not
//! the application state.

pub mod backchannel;
pub mod mail;

use std::future::Future;
use std::time::Duration;

/// Seconds to wait before retrying after `attempts` failures: 15 s, doubling, at
/// most one hour.
pub fn backoff_seconds(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(0, 12)).unwrap_or(12);
    (15_i64 << exp).min(3600)
}

/// A delivery worker loop: runs `deliver` when woken by `wakeup`, or every
/// `interval` otherwise; failures are logged under `name` and retried next round.
pub async fn run_worker<F, Fut>(
    name: &str,
    interval: Duration,
    wakeup: &tokio::sync::Notify,
    mut deliver: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<usize>>,
{
    loop {
        if let Err(e) = deliver().await {
            tracing::warn!(worker = name, error = %format!("{e:#}"), "delivery worker");
        }
        let _ = tokio::time::timeout(interval, wakeup.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_seconds(0), 15);
        assert_eq!(backoff_seconds(1), 30);
        assert_eq!(backoff_seconds(4), 240);
        assert_eq!(backoff_seconds(20), 3600);
    }
}
