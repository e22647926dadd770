//! Verification of Back-Channel Logout 1.0 logout tokens (§2.4, §2.6), with josekit
//! against the provider's JWKS.
//!
//! Accepted: a JWS signed with RS256, ES256 or EdDSA by the JWKS key its `kid` names,
//! `typ` (if present) `logout+jwt`; claims `iss` = the issuer, `aud` containing the
//! client_id, `iat` not in the future (beyond [`SKEW_SECONDS`]), `exp` not passed,
//! `jti`, `sub` and `sid` present, `events` with the back-channel logout member, and
//! no `nonce`.

use std::sync::Arc;

use josekit::jwk::JwkSet;
use josekit::jws::{EdDSA, JwsVerifier, ES256, RS256};
use serde_json::{Map, Value};

use crate::jwks::{JwksCache, JwksUnavailable};

/// The `events` member that marks a logout token.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Allowed clock difference between the provider and the portal, in seconds.
pub const SKEW_SECONDS: i64 = 60;

/// Largest logout token accepted, in bytes.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a logout token was refused. Each is answered `400` with
/// `{"error": "invalid_request", "error_description": …}` (§2.8), except
/// [`LogoutTokenError::JwksUnavailable`], answered `503` so the provider retries.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutTokenError {
    /// 400: not a compact JWS, or too large.
    #[error("the logout token is not a JWT")]
    Malformed,
    /// 400: `alg` is not RS256, ES256 or EdDSA.
    #[error("the logout token's alg is not allowed")]
    AlgNotAllowed,
    /// 400: `typ` is present and not `logout+jwt`.
    #[error("the logout token's typ is not logout+jwt")]
    WrongType,
    /// 400: no `kid`, or no key with that `kid` (and alg) in the provider's JWKS.
    #[error("the logout token's signing key is unknown")]
    UnknownKey,
    /// 400: the signature does not verify.
    #[error("the logout token's signature is invalid")]
    BadSignature,
    /// 400: `iss` is not the issuer.
    #[error("the logout token's iss is not the issuer")]
    WrongIssuer,
    /// 400: `aud` does not contain the client_id.
    #[error("the logout token's aud does not contain this client")]
    WrongAudience,
    /// 400: `iat` is missing or in the future.
    #[error("the logout token's iat is missing or in the future")]
    BadIssuedAt,
    /// 400: `exp` is missing or passed.
    #[error("the logout token is expired")]
    Expired,
    /// 400: no `jti`.
    #[error("the logout token has no jti")]
    MissingJti,
    /// 400: no `sub`.
    #[error("the logout token has no sub")]
    MissingSub,
    /// 400: no `sid`.
    #[error("the logout token has no sid")]
    MissingSid,
    /// 400: no `events` object with the back-channel logout member.
    #[error("the logout token has no back-channel logout event")]
    MissingEvent,
    /// 400: a `nonce` is present (§2.4 forbids it, so an ID token cannot pass).
    #[error("the logout token has a nonce")]
    HasNonce,
    /// 503: the JWKS could not be fetched.
    #[error(transparent)]
    JwksUnavailable(#[from] JwksUnavailable),
}

/// A verified logout token.
#[derive(Debug, Clone)]
pub struct LogoutToken {
    /// The user.
    pub sub: String,
    /// The provider session that ended.
    pub sid: String,
    /// All claims, as verified.
    pub claims: Map<String, Value>,
}

/// Verifies logout tokens for one client.
pub struct LogoutTokenVerifier {
    issuer: String,
    client_id: String,
    jwks: Arc<JwksCache>,
}

impl LogoutTokenVerifier {
    /// A verifier for tokens from `issuer` to `client_id`, with keys from `jwks`.
    pub fn new(issuer: &str, client_id: &str, jwks: Arc<JwksCache>) -> Self {
        Self {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            jwks,
        }
    }

    /// Verifies `token` at time `now` (Unix seconds).
    ///
    /// # Errors
    /// A [`LogoutTokenError`] naming the first check that failed.
    pub async fn verify(&self, token: &str, now: i64) -> Result<LogoutToken, LogoutTokenError> {
        if token.len() > MAX_TOKEN_BYTES || token.split('.').count() != 3 {
            return Err(LogoutTokenError::Malformed);
        }
        let header = josekit::jwt::decode_header(token).map_err(|_| LogoutTokenError::Malformed)?;
        let alg = header
            .claim("alg")
            .and_then(Value::as_str)
            .ok_or(LogoutTokenError::AlgNotAllowed)?
            .to_owned();
        if !matches!(alg.as_str(), "RS256" | "ES256" | "EdDSA") {
            return Err(LogoutTokenError::AlgNotAllowed);
        }
        if let Some(typ) = header.claim("typ") {
            let typ = typ.as_str().unwrap_or_default().to_ascii_lowercase();
            if typ != "logout+jwt" && typ != "application/logout+jwt" {
                return Err(LogoutTokenError::WrongType);
            }
        }
        let kid = header
            .claim("kid")
            .and_then(Value::as_str)
            .ok_or(LogoutTokenError::UnknownKey)?
            .to_owned();
        let verifier = match verifier_for(&*self.jwks.current().await?, &kid, &alg) {
            Some(v) => v,
            // Perhaps a rotated key: fetch the JWKS again (rate-limited) and retry.
            None => match self.jwks.refresh().await? {
                Some(fresh) => {
                    verifier_for(&fresh, &kid, &alg).ok_or(LogoutTokenError::UnknownKey)?
                }
                None => return Err(LogoutTokenError::UnknownKey),
            },
        };
        let (payload, _) = josekit::jwt::decode_with_verifier(token, verifier.as_ref())
            .map_err(|_| LogoutTokenError::BadSignature)?;
        self.check_claims(payload.claims_set(), now)
    }

    fn check_claims(
        &self,
        claims: &Map<String, Value>,
        now: i64,
    ) -> Result<LogoutToken, LogoutTokenError> {
        let string = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        if string("iss") != Some(self.issuer.as_str()) {
            return Err(LogoutTokenError::WrongIssuer);
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => aud == &self.client_id,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&self.client_id)),
            _ => false,
        };
        if !audience_ok {
            return Err(LogoutTokenError::WrongAudience);
        }
        match claims.get("iat").and_then(Value::as_i64) {
            Some(iat) if iat <= now + SKEW_SECONDS => {}
            _ => return Err(LogoutTokenError::BadIssuedAt),
        }
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if exp + SKEW_SECONDS > now => {}
            _ => return Err(LogoutTokenError::Expired),
        }
        if string("jti").is_none() {
            return Err(LogoutTokenError::MissingJti);
        }
        let sub = string("sub")
            .ok_or(LogoutTokenError::MissingSub)?
            .to_owned();
        let sid = string("sid")
            .ok_or(LogoutTokenError::MissingSid)?
            .to_owned();
        let has_event = claims
            .get("events")
            .and_then(Value::as_object)
            .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT))
            .is_some_and(Value::is_object);
        if !has_event {
            return Err(LogoutTokenError::MissingEvent);
        }
        if claims.contains_key("nonce") {
            return Err(LogoutTokenError::HasNonce);
        }
        Ok(LogoutToken {
            sub,
            sid,
            claims: claims.clone(),
        })
    }
}

/// A verifier for the JWKS key `kid` and `alg`, if there is exactly such a key.
fn verifier_for(jwks: &Value, kid: &str, alg: &str) -> Option<Box<dyn JwsVerifier>> {
    let set = JwkSet::from_bytes(serde_json::to_vec(jwks).ok()?).ok()?;
    let keys = set.get(kid);
    let [jwk] = keys.as_slice() else {
        return None;
    };
    if jwk.algorithm().is_some_and(|a| a != alg) {
        return None;
    }
    let verifier: Box<dyn JwsVerifier> = match alg {
        "RS256" => Box::new(RS256.verifier_from_jwk(jwk).ok()?),
        "ES256" => Box::new(ES256.verifier_from_jwk(jwk).ok()?),
        "EdDSA" => Box::new(EdDSA.verifier_from_jwk(jwk).ok()?),
        _ => return None,
    };
    Some(verifier)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use josekit::jws::JwsHeader;
    use josekit::jwt::JwtPayload;
    use serde_json::json;

    const ISS: &str = "http://127.0.0.1:9";

    fn setup() -> (LogoutTokenVerifier, Box<dyn josekit::jws::JwsSigner>) {
        let pair = ES256.generate_key_pair().unwrap();
        let mut public = pair.to_jwk_public_key();
        public.set_key_id("k1");
        public.set_algorithm("ES256");
        let jwks = json!({ "keys": [serde_json::to_value(public.as_ref()).unwrap()] });
        let cache = JwksCache::new(
            format!("{ISS}/jwks.json"),
            reqwest::Client::new(),
            Arc::new(SystemClock),
            Some(jwks),
        );
        let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
        (
            LogoutTokenVerifier::new(ISS, "portal", Arc::new(cache)),
            Box::new(signer),
        )
    }

    fn token(signer: &dyn josekit::jws::JwsSigner, typ: &str, claims: Value) -> String {
        let mut header = JwsHeader::new();
        header.set_key_id("k1");
        header.set_token_type(typ);
        let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
        josekit::jwt::encode_with_signer(&payload, &header, signer).unwrap()
    }

    fn good(now: i64) -> Value {
        json!({
            "iss": ISS, "aud": "portal", "iat": now, "exp": now + 120, "jti": "j",
            "sub": "u", "sid": "s", "events": { BACKCHANNEL_LOGOUT_EVENT: {} }
        })
    }

    #[tokio::test]
    async fn checks_every_claim() {
        let (verifier, signer) = setup();
        let now = 1_700_000_000;
        let ok = verifier
            .verify(&token(signer.as_ref(), "logout+jwt", good(now)), now)
            .await
            .unwrap();
        assert_eq!((ok.sub.as_str(), ok.sid.as_str()), ("u", "s"));
        let cases: Vec<(&str, Value)> = vec![
            ("iss", json!("http://evil")),
            ("aud", json!(["other"])),
            ("iat", json!(now + 600)),
            ("exp", json!(now - 600)),
            ("events", json!({ "other": {} })),
            ("nonce", json!("n")),
        ];
        for (name, value) in cases {
            let mut claims = good(now);
            claims[name] = value;
            let refused = verifier
                .verify(&token(signer.as_ref(), "logout+jwt", claims), now)
                .await;
            assert!(refused.is_err(), "{name} must be checked");
        }
        for missing in ["sid", "sub", "jti", "iat", "exp", "events"] {
            let mut claims = good(now);
            claims.as_object_mut().unwrap().remove(missing);
            let refused = verifier
                .verify(&token(signer.as_ref(), "logout+jwt", claims), now)
                .await;
            assert!(refused.is_err(), "{missing} is required");
        }
        let refused = verifier
            .verify(&token(signer.as_ref(), "JWT", good(now)), now)
            .await;
        assert!(matches!(refused, Err(LogoutTokenError::WrongType)));
    }
}
