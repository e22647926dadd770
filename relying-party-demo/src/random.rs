//! The only source of randomness: the operating system's CSPRNG.
//!
//! State, nonce, PKCE code_verifier, cookie values and CSRF tokens all come from
//! [`token`], so nothing here depends on `thread_rng` (clippy.toml forbids it).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore as _;

/// `bytes` random bytes as unpadded base64url (32 bytes give 43 characters, which
/// is also a valid PKCE code_verifier, RFC 7636 §4.1).
pub fn token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The SHA-256 of `value`, base64url: how cookie values are kept as map keys, so a
/// dump of the store does not hold live cookies.
pub fn digest(value: &str) -> String {
    use sha2::{Digest as _, Sha256};
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

/// Constant-time equality of two strings (lengths may leak, contents do not).
pub fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
