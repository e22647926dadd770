//! Delivery of queued back-channel logout tokens (Back-Channel Logout 1.0 §2.5): one
//! POST of `logout_token=…` per relying party, retried with backoff.

use std::time::Duration;

use crate::clock::Clock;
use crate::db::{logout as db, Db};

/// Deliveries are given up after this many failed attempts (about a day of backoff).
const MAX_ATTEMPTS: i64 = 30;

/// The HTTP client for deliveries: no redirects, 10 s timeout.
///
/// # Errors
/// The client cannot be built.
pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
}

/// POSTs every due logout token once; returns how many were delivered.
///
/// # Errors
/// Database failures (delivery failures are recorded, not returned).
pub async fn deliver_due(
    store: &Db,
    clock: &dyn Clock,
    http: &reqwest::Client,
) -> anyhow::Result<usize> {
    let mut delivered = 0;
    loop {
        let batch = db::claim(store, clock.now(), 60, 20).await?;
        if batch.is_empty() {
            return Ok(delivered);
        }
        for row in batch {
            let result = http
                .post(&row.uri)
                .form(&[("logout_token", row.logout_token.as_str())])
                .send()
                .await;
            let now = clock.now();
            match result {
                Ok(r) if r.status().is_success() => {
                    db::mark_delivered(store, &row.id, now, None).await?;
                    delivered += 1;
                }
                // The relying party refused the token: sending it again will not help.
                Ok(r) if r.status().is_client_error() => {
                    let error = format!("refused with {}", r.status());
                    tracing::warn!(client_id = %row.client_id, %error, "back-channel logout refused");
                    db::mark_delivered(store, &row.id, now, Some(&error)).await?;
                }
                other => {
                    let error = match other {
                        Ok(r) => format!("answered {}", r.status()),
                        Err(e) => e.to_string(),
                    };
                    if row.attempts + 1 >= MAX_ATTEMPTS {
                        tracing::warn!(client_id = %row.client_id, %error, "back-channel logout given up");
                        db::mark_delivered(store, &row.id, now, Some(&error)).await?;
                    } else {
                        let next = now + super::backoff_seconds(row.attempts);
                        tracing::info!(client_id = %row.client_id, %error, "back-channel logout failed; will retry");
                        db::mark_failed(store, &row.id, &error, next).await?;
                    }
                }
            }
        }
    }
}
