//! Small cryptographic helpers: CSPRNG tokens, hashes of high-entropy secrets and
//! constant-time comparison. The only module that touches the random generator.

pub mod kek;
pub mod keys;
pub mod password_hash;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    OsRng.fill_bytes(&mut buf);
    buf
}

/// A random token of `bytes` bytes of entropy, base64url without padding
/// (32 bytes give a 43-character token).
pub fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// A random 128-bit identifier as 32 lowercase hex digits.
pub fn random_id() -> String {
    random_bytes(16)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A 128-bit identifier as 32 lowercase hex digits that sorts in creation order:
/// 64 bits of a per-process strictly increasing nanosecond counter (the wall clock,
/// never going back), then 64 random bits.
///
/// For rows whose id breaks ties of a seconds timestamp (`ORDER BY at, id`): audit
/// events, mails and back-channel deliveries of one second then keep the order they
/// were recorded in. Across processes, the order within a second follows their
/// clocks. Not for secrets: half of it is guessable.
pub fn ordered_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let wall = crate::clock::wall_nanos();
    let mut prev = LAST.load(Ordering::Relaxed);
    let next = loop {
        let next = wall.max(prev.saturating_add(1));
        match LAST.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(seen) => prev = seen,
        }
    };
    let mut id = format!("{next:016x}");
    for b in random_bytes(8) {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// SHA-256 of `input`, base64url without padding.
///
/// Used to store high-entropy secrets (codes, tokens, session ids, generated client
/// secrets): with at least 128 random bits a fast hash is not brute-forceable, and a
/// database leak reveals no usable secret.
pub fn sha256_b64(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(input))
}

/// SHA-256 of `input`, raw bytes.
pub fn sha256(input: &[u8]) -> [u8; 32] {
    Sha256::digest(input).into()
}

/// HMAC-SHA-256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0u8; 32],
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Constant-time equality of two byte strings (the length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// base64url without padding.
pub fn b64url(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_long() {
        let a = random_token(32);
        let b = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(random_id().len(), 32);
    }

    #[test]
    fn ordered_ids_sort_in_creation_order() {
        let ids: Vec<String> = (0..1000).map(|_| ordered_id()).collect();
        assert!(ids.iter().all(|id| id.len() == 32));
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
    }

    #[test]
    fn constant_time_compare() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
    }
}
