//! Durable delivery: mail ([`mail`]) and back-channel logout tokens
//! ([`backchannel`]) are queued in the database in the transaction of the change that
//! causes them; workers deliver them and retry failures with [`backoff_seconds`].

pub mod backchannel;
pub mod mail;

use std::future::Future;
use std::time::Duration;

use tokio::sync::Notify;

/// Seconds to wait before retrying after `attempts` failures: 15 s, doubling, at
/// most one hour.
pub fn backoff_seconds(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(0, 12)).unwrap_or(12);
    (15_i64 << exp).min(3600)
}

/// A delivery worker: runs `drain` (which delivers everything due) whenever `wakeup`
/// is notified, and every `interval` otherwise; logs its failures as `queue`.
pub async fn run_worker<F, Fut>(queue: &str, interval: Duration, wakeup: &Notify, mut drain: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<usize>>,
{
    loop {
        if let Err(e) = drain().await {
            tracing::warn!(error = %format!("{e:#}"), queue, "delivery worker");
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
