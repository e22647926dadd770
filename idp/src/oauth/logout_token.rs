//! The logout token of Back-Channel Logout 1.0 §2.4: a JWT of type `logout+jwt`
//! telling a relying party that a browser session ended.

use serde_json::{json, Map};

use crate::crypto;
use crate::crypto::keys::{JwtType, SigningAlg};
use crate::state::AppState;

/// The `events` member of a logout token (Back-Channel Logout 1.0 §2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Lifetime of a logout token, in seconds.
const TOKEN_SECONDS: i64 = 120;

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
