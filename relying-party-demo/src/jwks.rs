//! The provider's JSON Web Key Set (RFC 7517 §5), fetched from its `jwks_uri` and
//! kept in memory. Both the ID token verifier and the logout token verifier read it;
//! when a token names a `kid` that is not in the set, the set is fetched again (the
//! provider may have rotated its keys), at most once every [`MIN_REFRESH_SECONDS`].

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::clock::Clock;

/// The shortest time between two fetches of the JWKS, in seconds, so tokens with
/// made-up `kid`s cannot make the portal hammer the provider.
pub const MIN_REFRESH_SECONDS: i64 = 10;

/// Largest JWKS document accepted, in bytes.
const MAX_BYTES: usize = 256 * 1024;

/// The JWKS could not be fetched or is not a JSON object.
#[derive(Debug, thiserror::Error)]
#[error("the provider's JWKS is unavailable: {0}")]
pub struct JwksUnavailable(String);

/// A cached JWKS document.
pub struct JwksCache {
    uri: String,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cached: Mutex<Option<Fetched>>,
}

struct Fetched {
    json: Arc<serde_json::Value>,
    fetched_at: i64,
}

impl JwksCache {
    /// A cache for the JWKS at `uri`, optionally seeded with a document already
    /// fetched (e.g. during discovery).
    pub fn new(
        uri: String,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        seed: Option<serde_json::Value>,
    ) -> Self {
        let now = clock.now();
        Self {
            uri,
            http,
            clock,
            cached: Mutex::new(seed.map(|json| Fetched {
                json: Arc::new(json),
                fetched_at: now,
            })),
        }
    }

    /// The current JWKS, fetched on first use.
    ///
    /// # Errors
    /// [`JwksUnavailable`] when it was never fetched and cannot be now.
    pub async fn current(&self) -> Result<Arc<serde_json::Value>, JwksUnavailable> {
        let mut cached = self.cached.lock().await;
        if let Some(f) = cached.as_ref() {
            return Ok(f.json.clone());
        }
        let json = Arc::new(self.fetch().await?);
        *cached = Some(Fetched {
            json: json.clone(),
            fetched_at: self.clock.now(),
        });
        Ok(json)
    }

    /// Fetches the JWKS again unless it was fetched in the last
    /// [`MIN_REFRESH_SECONDS`]; `None` when it was too recent to ask again.
    ///
    /// # Errors
    /// [`JwksUnavailable`] when the fetch fails (the old set stays).
    pub async fn refresh(&self) -> Result<Option<Arc<serde_json::Value>>, JwksUnavailable> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if cached
            .as_ref()
            .is_some_and(|f| now - f.fetched_at < MIN_REFRESH_SECONDS)
        {
            return Ok(None);
        }
        let json = Arc::new(self.fetch().await?);
        *cached = Some(Fetched {
            json: json.clone(),
            fetched_at: now,
        });
        Ok(Some(json))
    }

    async fn fetch(&self) -> Result<serde_json::Value, JwksUnavailable> {
        let unavailable = |e: &dyn std::fmt::Display| JwksUnavailable(e.to_string());
        let response = self
            .http
            .get(&self.uri)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        if !response.status().is_success() {
            return Err(unavailable(&format!("answered {}", response.status())));
        }
        let body = response.bytes().await.map_err(|e| unavailable(&e))?;
        if body.len() > MAX_BYTES {
            return Err(unavailable(&"the document is too large"));
        }
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| unavailable(&e))?;
        if !json.get("keys").is_some_and(serde_json::Value::is_array) {
            return Err(unavailable(&"no keys array"));
        }
        Ok(json)
    }
}
