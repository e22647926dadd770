//! Signing keys: creation, encryption at rest, JWKS, JWT signing and verification.
//!
//! One key per algorithm (RS256, ES256, EdDSA/Ed25519) is created on first start.
//! The private part is stored as a JWE (`alg=dir`, `enc=A256GCM`) under the
//! key-encryption key (KEK). `kid` is the RFC 7638 JWK thumbprint.
//!
//! Rotation is staged ([`Keys::rotate`]): per algorithm, a key is `next` (published,
//! not yet signing) until its `activates_at`, which is at least
//! [`KeyTimings::publish_seconds`] after its creation, so every relying party's cached
//! JWKS holds it before the first token it signs; then `active` (the newest activated
//! key signs); then `retired` when the next key activates (published, verifying
//! only) until every token it signed has expired plus the JWKS cache lifetime
//! ([`KeyTimings::retain_seconds`]); then `removed`. States follow from the stored
//! times and the clock, so every process agrees without coordination.

use std::fmt;
use std::sync::{Arc, RwLock};

use anyhow::{anyhow, bail};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, JwsHeader, JwsSigner, JwsVerifier, ES256, RS256};
use josekit::jwt::JwtPayload;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha512};

use crate::clock::Clock;
use crate::crypto;
use crate::crypto::kek::Kek;
use crate::db::{keys as db_keys, Db};

mod lifecycle;

use lifecycle::successor;

pub use lifecycle::{
    Actor, KeyInfo, KeyState, KeyTimings, RevokeError, Revoked, RotateError, Rotated,
    LOGOUT_TOKEN_SECONDS, RELOAD_POLL_SECONDS, SCHEDULE_ACTOR,
};

/// A JWS algorithm the provider signs with (RFC 7518 §3, RFC 8037 §3.1).
/// `none` and the HMAC algorithms are deliberately absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys; the OIDC default.
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// EdDSA with Ed25519.
    EdDSA,
}

impl SigningAlg {
    /// Every supported algorithm, default first.
    pub const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    /// Parses a JOSE `alg` name; `None` for anything unsupported (including `none`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The left-most half of the hash of `value` used for `at_hash` and `c_hash`
    /// (OIDC Core §3.1.3.6): SHA-256 for RS256/ES256, SHA-512 for Ed25519.
    pub fn half_hash(self, value: &str) -> String {
        let digest: Vec<u8> = match self {
            SigningAlg::RS256 | SigningAlg::ES256 => Sha256::digest(value.as_bytes()).to_vec(),
            SigningAlg::EdDSA => Sha512::digest(value.as_bytes()).to_vec(),
        };
        let (left, _) = digest.split_at(digest.len() / 2);
        URL_SAFE_NO_PAD.encode(left)
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One loaded signing key.
struct LoadedKey {
    kid: String,
    alg: SigningAlg,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
    created_at: i64,
    activates_at: i64,
}

/// The public part of a key that has left the JWKS but whose ID tokens are still
/// taken as `id_token_hint` ([`KeyTimings::hint_seconds`]).
struct HintKey {
    kid: String,
    alg: SigningAlg,
    verifier: Box<dyn JwsVerifier>,
}

/// The published key set, with the newest key of each algorithm used for signing.
pub struct KeySet {
    /// In activation order.
    keys: Vec<LoadedKey>,
    /// Removed keys still good for `id_token_hint`.
    hint_only: Vec<HintKey>,
    jwks: bytes::Bytes,
    etag: String,
}

impl KeySet {
    /// The JWKS document (RFC 7517 §5), public parts only.
    pub fn jwks_json(&self) -> bytes::Bytes {
        self.jwks.clone()
    }

    /// The JWKS document's strong entity tag (RFC 9110 §8.8.3): a quoted SHA-256 of
    /// its bytes, so every process serving the same key set answers the same tag.
    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// The kids of all published keys.
    pub fn kids(&self) -> Vec<(String, SigningAlg, i64)> {
        self.keys
            .iter()
            .map(|k| (k.kid.clone(), k.alg, k.created_at))
            .collect()
    }
}

/// Errors verifying a JWT we issued.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The token is not a compact JWS, names an algorithm we do not accept, a kid we do
    /// not know, or the signature does not verify.
    #[error("the token is not signed by this provider")]
    BadSignature,
    /// Our signature, but the header `typ` names another kind of token than expected.
    #[error("the token is not of the expected type")]
    WrongType,
}

/// The kinds of JWT the provider signs, told apart by the header `typ` (explicit
/// typing, RFC 8725 §3.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtType {
    /// An ID token (OIDC Core §2): `typ` `JWT`.
    IdToken,
    /// A JWT access token (RFC 9068 §2.1): `typ` `at+jwt`; `application/at+jwt` is
    /// accepted too.
    AccessToken,
    /// A back-channel logout token (Back-Channel Logout 1.0 §2.4): `typ`
    /// `logout+jwt`; `application/logout+jwt` is accepted too.
    LogoutToken,
}

impl JwtType {
    /// The `typ` header value the provider signs with.
    pub fn typ(self) -> &'static str {
        match self {
            JwtType::IdToken => "JWT",
            JwtType::AccessToken => "at+jwt",
            JwtType::LogoutToken => "logout+jwt",
        }
    }

    /// Whether a received header `typ` names this kind (media types compare without
    /// regard to case, RFC 2045 §5.1). A missing `typ` names no kind: the provider
    /// always sets one.
    pub fn accepts(self, typ: Option<&str>) -> bool {
        let Some(typ) = typ else {
            return false;
        };
        let typ = typ.to_ascii_lowercase();
        let typ = typ.strip_prefix("application/").unwrap_or(&typ);
        match self {
            // `application/jwt` is the full media type of `JWT` (RFC 7519 §5.1).
            JwtType::IdToken => typ == "jwt",
            JwtType::AccessToken => typ == "at+jwt",
            JwtType::LogoutToken => typ == "logout+jwt",
        }
    }
}

/// The provider's signing keys, reloadable from the database.
pub struct Keys {
    current: RwLock<Arc<KeySet>>,
    clock: Arc<dyn Clock>,
    timings: KeyTimings,
}

impl Keys {
    /// Loads the published keys, first creating a key for any algorithm without one.
    /// Creation runs under the database's [start-up lock](Db::startup_lock) and checks
    /// again inside it, so processes that start together on a fresh database create
    /// one key per algorithm between them and all publish the same set.
    ///
    /// # Errors
    /// Database errors, or keys the KEK cannot decrypt.
    pub async fn load_or_create(
        db: &Db,
        kek: &Kek,
        clock: Arc<dyn Clock>,
        timings: KeyTimings,
    ) -> anyhow::Result<Self> {
        if missing_algs(db).await?.next().is_some() {
            let result = db
                .under_startup_lock(async {
                    for alg in missing_algs(db).await?.collect::<Vec<_>>() {
                        let now = clock.now();
                        let kid = create_key(db, kek, alg, now, now).await?;
                        let details =
                            serde_json::json!({ "alg": alg.as_str(), "activates_at": now });
                        crate::db::audit::record(
                            db.pool(),
                            now,
                            "system:start",
                            "key.created",
                            &kid,
                            &details,
                        )
                        .await?;
                    }
                    anyhow::Ok(())
                })
                .await;
            result?;
        }
        let set = load_set(db, kek, timings, clock.now()).await?;
        Ok(Self {
            current: RwLock::new(Arc::new(set)),
            clock,
            timings,
        })
    }

    /// The timings this process applies.
    pub fn timings(&self) -> KeyTimings {
        self.timings
    }

    /// Re-reads the published keys (another process may have rotated them).
    ///
    /// # Errors
    /// Database or decryption errors; the previous set stays in use.
    pub async fn reload(&self, db: &Db, kek: &Kek) -> anyhow::Result<()> {
        let set = load_set(db, kek, self.timings, self.clock.now()).await?;
        if let Ok(mut guard) = self.current.write() {
            *guard = Arc::new(set);
        }
        Ok(())
    }

    /// The current key set.
    pub fn current(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Signs `claims` as a compact JWS with the active key of `alg`, setting `kid` and
    /// the `typ` of `kind` (explicit typing, RFC 8725 §3.11).
    ///
    /// # Errors
    /// No active key for `alg`, or a signing failure.
    pub fn sign(
        &self,
        alg: SigningAlg,
        kind: JwtType,
        claims: Map<String, Value>,
    ) -> anyhow::Result<String> {
        let set = self.current();
        let now = self.clock.now();
        // The newest key of `alg` that has activated (keys are in activation order).
        let key = set
            .keys
            .iter()
            .rev()
            .find(|k| k.alg == alg && k.activates_at <= now)
            .ok_or_else(|| anyhow!("no active {alg} key"))?;
        let mut header = JwsHeader::new();
        header.set_token_type(kind.typ());
        header.set_key_id(key.kid.clone());
        let payload = JwtPayload::from_map(claims)?;
        Ok(josekit::jwt::encode_with_signer(
            &payload,
            &header,
            key.signer.as_ref(),
        )?)
    }

    /// Verifies a compact JWS signed by one of our published keys as a token of the
    /// `expected` kind and returns its claims. Only RS256, ES256 and EdDSA are
    /// accepted; the key is chosen by `kid` from our own set, never from `jku`, `x5u`
    /// or `jwk` headers (RFC 8725 §3.1); a `typ` other than the kind's is refused
    /// (RFC 8725 §3.11), so an access token or a logout token never passes as an ID
    /// token and the reverse. Time claims are not checked here.
    ///
    /// # Errors
    /// [`VerifyError::BadSignature`] for anything that is not our valid signature,
    /// [`VerifyError::WrongType`] for our signature on another kind of token.
    pub fn verify(
        &self,
        token: &str,
        expected: JwtType,
    ) -> Result<Map<String, Value>, VerifyError> {
        self.verify_with(token, expected, false)
    }

    /// As [`Keys::verify`] for an ID token presented as `id_token_hint` (OIDC Core
    /// §3.1.2.1, RP-Initiated Logout 1.0 §2): keys that have left the JWKS are
    /// accepted too for [`KeyTimings::hint_seconds`] after, so a relying party can
    /// still end a session it began long ago; revoked keys never are.
    ///
    /// # Errors
    /// As [`Keys::verify`].
    pub fn verify_id_token_hint(&self, token: &str) -> Result<Map<String, Value>, VerifyError> {
        self.verify_with(token, JwtType::IdToken, true)
    }

    fn verify_with(
        &self,
        token: &str,
        expected: JwtType,
        removed_too: bool,
    ) -> Result<Map<String, Value>, VerifyError> {
        if token.len() > 16 * 1024 {
            return Err(VerifyError::BadSignature);
        }
        let set = self.current();
        let decoded = josekit::jwt::decode_with_verifier_selector(token, |header| {
            let alg = header.algorithm().and_then(SigningAlg::parse);
            let kid = header.key_id();
            let found = match (alg, kid) {
                (Some(alg), Some(kid)) => set
                    .keys
                    .iter()
                    .find(|k| k.kid == kid && k.alg == alg)
                    .map(|k| k.verifier.as_ref())
                    .or_else(|| {
                        set.hint_only
                            .iter()
                            .filter(|_| removed_too)
                            .find(|k| k.kid == kid && k.alg == alg)
                            .map(|k| k.verifier.as_ref())
                    }),
                _ => None,
            };
            Ok(found)
        });
        match decoded {
            Ok((payload, header)) if expected.accepts(header.token_type()) => {
                Ok(payload.claims_set().clone())
            }
            Ok(_) => Err(VerifyError::WrongType),
            Err(_) => Err(VerifyError::BadSignature),
        }
    }
}

/// The algorithms without a published key.
async fn missing_algs(db: &Db) -> anyhow::Result<impl Iterator<Item = SigningAlg>> {
    let existing = db_keys::list_published(db).await?;
    Ok(SigningAlg::ALL
        .into_iter()
        .filter(move |alg| !existing.iter().any(|k| k.alg == alg.as_str())))
}

async fn create_key(
    db: &Db,
    kek: &Kek,
    alg: SigningAlg,
    now: i64,
    activates_at: i64,
) -> anyhow::Result<String> {
    let (private_jwk, public_jwk) = match alg {
        SigningAlg::RS256 => {
            let pair = RS256.generate_key_pair(2048)?;
            (pair.to_jwk_private_key(), pair.to_jwk_public_key())
        }
        SigningAlg::ES256 => {
            let pair = ES256.generate_key_pair()?;
            (pair.to_jwk_private_key(), pair.to_jwk_public_key())
        }
        SigningAlg::EdDSA => {
            let pair = EdDSA.generate_key_pair(EdCurve::Ed25519)?;
            (pair.to_jwk_private_key(), pair.to_jwk_public_key())
        }
    };
    let kid = thumbprint(&public_jwk)?;
    let mut public_jwk = public_jwk;
    public_jwk.set_key_id(kid.clone());
    public_jwk.set_algorithm(alg.as_str());
    public_jwk.set_key_use("sig");
    let private_json = serde_json::to_vec(private_jwk.as_ref())?;
    let private_jwe = kek.seal(&private_json)?;
    db_keys::insert(
        db,
        &db_keys::NewKey {
            kid: &kid,
            alg: alg.as_str(),
            public_jwk: &serde_json::to_string(public_jwk.as_ref())?,
            private_jwe: &private_jwe,
            created_at: now,
            activates_at,
        },
    )
    .await?;
    tracing::info!(%kid, %alg, activates_at, "created a signing key");
    Ok(kid)
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key.
fn thumbprint(jwk: &Jwk) -> anyhow::Result<String> {
    let p = |name: &str| -> anyhow::Result<String> {
        jwk.parameter(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("JWK lacks {name}"))
    };
    let canonical = match jwk.key_type() {
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, p("e")?, p("n")?),
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            p("crv")?,
            p("x")?,
            p("y")?
        ),
        "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, p("crv")?, p("x")?),
        other => bail!("unsupported key type {other}"),
    };
    Ok(crypto::b64url(&crypto::sha256(canonical.as_bytes())))
}

async fn load_set(db: &Db, kek: &Kek, timings: KeyTimings, now: i64) -> anyhow::Result<KeySet> {
    let rows = db_keys::list_published(db).await?;
    let mut keys = Vec::with_capacity(rows.len());
    let mut hint_only = Vec::new();
    let mut public = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(alg) = SigningAlg::parse(&row.alg) else {
            tracing::warn!(kid = %row.kid, alg = %row.alg, "skipping a key of unknown algorithm");
            continue;
        };
        let public_jwk = Jwk::from_bytes(row.public_jwk.as_bytes())?;
        let verifier = verifier(alg, &public_jwk)?;
        let removes_at = successor(&rows, row).map(|n| n.activates_at + timings.retain_seconds);
        if let Some(removed) = removes_at.filter(|t| *t <= now) {
            // Removed: every token it signed has expired; no longer published, but
            // its ID tokens still do as id_token_hint for a while.
            if removed + timings.hint_seconds > now {
                hint_only.push(HintKey {
                    kid: row.kid.clone(),
                    alg,
                    verifier,
                });
            }
            continue;
        }
        let private_json = kek.open(&row.private_jwe)?;
        let private = Jwk::from_bytes(&private_json)?;
        let signer: Box<dyn JwsSigner> = match alg {
            SigningAlg::RS256 => Box::new(RS256.signer_from_jwk(&private)?),
            SigningAlg::ES256 => Box::new(ES256.signer_from_jwk(&private)?),
            SigningAlg::EdDSA => Box::new(EdDSA.signer_from_jwk(&private)?),
        };
        public.push(Value::Object(public_jwk.as_ref().clone()));
        keys.push(LoadedKey {
            kid: row.kid.clone(),
            alg,
            signer,
            verifier,
            created_at: row.created_at,
            activates_at: row.activates_at,
        });
    }
    let jwks = serde_json::to_string(&serde_json::json!({ "keys": public }))?;
    let etag = format!("\"{}\"", crate::crypto::sha256_b64(jwks.as_bytes()));
    Ok(KeySet {
        keys,
        hint_only,
        jwks: bytes::Bytes::from(jwks),
        etag,
    })
}

fn verifier(alg: SigningAlg, public: &Jwk) -> anyhow::Result<Box<dyn JwsVerifier>> {
    Ok(match alg {
        SigningAlg::RS256 => Box::new(RS256.verifier_from_jwk(public)?),
        SigningAlg::ES256 => Box::new(ES256.verifier_from_jwk(public)?),
        SigningAlg::EdDSA => Box::new(EdDSA.verifier_from_jwk(public)?),
    })
}

#[cfg(test)]
mod tests {
    use super::JwtType;

    #[test]
    fn each_kind_accepts_only_its_own_typ() {
        let kinds = [JwtType::IdToken, JwtType::AccessToken, JwtType::LogoutToken];
        for kind in kinds {
            assert!(kind.accepts(Some(kind.typ())));
            for other in kinds.into_iter().filter(|k| *k != kind) {
                assert!(!kind.accepts(Some(other.typ())), "{kind:?} took {other:?}");
            }
            assert!(!kind.accepts(None));
            assert!(!kind.accepts(Some("")));
        }
        assert!(JwtType::AccessToken.accepts(Some("application/at+jwt")));
        assert!(JwtType::AccessToken.accepts(Some("AT+JWT")));
        assert!(JwtType::LogoutToken.accepts(Some("application/logout+jwt")));
        assert!(JwtType::IdToken.accepts(Some("jwt")));
        assert!(!JwtType::IdToken.accepts(Some("JWT+at")));
        assert!(!JwtType::AccessToken.accepts(Some("application/jwt")));
    }
}
