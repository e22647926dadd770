//! Back-Channel Logout 1.0: the logout token (§2.4, a JWT of type `logout+jwt`
//! telling a relying party that a browser session ended) and its delivery (§2.5):
//! one POST of `logout_token=…` per queued token, retried with backoff on failure.

use std::time::Duration;

use serde_json::{json, Map};

use crate::clock::Clock;
use crate::crypto;
use crate::crypto::keys::{JwtType, SigningAlg};
use crate::db::logout_deliveries as db;
use crate::db::Db;
use crate::state::AppState;

/// The `events` member of a logout token (Back-Channel Logout 1.0 §2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Lifetime of a logout token, in seconds.
const TOKEN_SECONDS: i64 = crate::crypto::keys::LOGOUT_TOKEN_SECONDS;

/// A logout token (Back-Channel Logout 1.0 §2.4): `iss`, `aud`, `iat`, `exp`, `jti`,
/// `sub`, `sid` and `events`, no `nonce`; `typ` is `logout+jwt`.
pub fn sign(
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

/// Deliveries are given up after this many failed attempts (about a day of backoff).
const MAX_ATTEMPTS: i64 = 30;

/// Timeout of one POST to a relying party.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client of the deliveries: no redirects followed, 10 s per POST.
///
/// # Errors
/// The TLS backend cannot be initialised.
pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(POST_TIMEOUT)
        .build()
}

/// POSTs every due logout token once; returns how many were delivered.
///
/// # Errors
/// Database failures (delivery failures are recorded, not returned).
pub async fn deliver_due(
    db: &Db,
    clock: &dyn Clock,
    http: &reqwest::Client,
) -> anyhow::Result<usize> {
    let mut delivered = 0;
    loop {
        let batch = db::claim(db, clock.now(), 60, 20).await?;
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
                    db::mark_delivered(db, &row.id, now, None).await?;
                    delivered += 1;
                }
                // The relying party refused the token: sending it again will not help.
                Ok(r) if r.status().is_client_error() => {
                    let error = format!("refused with {}", r.status());
                    tracing::warn!(client_id = %row.client_id, %error, "back-channel logout refused");
                    db::mark_delivered(db, &row.id, now, Some(&error)).await?;
                }
                other => {
                    let error = match other {
                        Ok(r) => format!("answered {}", r.status()),
                        Err(e) => e.to_string(),
                    };
                    if row.attempts + 1 >= MAX_ATTEMPTS {
                        tracing::warn!(client_id = %row.client_id, %error, "back-channel logout given up");
                        db::mark_delivered(db, &row.id, now, Some(&error)).await?;
                    } else {
                        let next = now + super::backoff_seconds(row.attempts);
                        tracing::info!(client_id = %row.client_id, %error, "back-channel logout failed; will retry");
                        db::mark_failed(db, &row.id, &error, next).await?;
                    }
                }
            }
        }
    }
}
