//! Password hashing with argon2id, off the async runtime and bounded to the cores.
//!
//! Each hash costs `memory_kib` of memory and tens of milliseconds of one core, so
//! hashing runs on tokio's blocking pool behind a semaphore with one permit per core:
//! 500 simultaneous logins queue instead of allocating 500 × 19 MiB.

use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use tokio::sync::Semaphore;
use unicode_normalization::UnicodeNormalization as _;

use crate::config::PasswordsConfig;
use crate::crypto;

/// Hashes and verifies passwords (argon2id, PHC strings, 128-bit salts).
pub struct Passwords {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    dummy_hash: String,
}

/// NFKC-normalises a password, so the same password typed on different keyboards or
/// input methods verifies (NIST SP 800-63B §5.1.1.2).
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

impl Passwords {
    /// Builds the hasher and computes the dummy hash used for unknown users.
    ///
    /// # Errors
    /// Invalid argon2 parameters.
    pub fn new(config: &PasswordsConfig) -> anyhow::Result<Self> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| anyhow!("invalid argon2 parameters: {e}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let permits = match config.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let dummy_hash = hash_blocking(&argon2, &crypto::random_token(24))?;
        Ok(Self {
            argon2,
            permits: Arc::new(Semaphore::new(permits)),
            dummy_hash,
        })
    }

    /// Hashes `password` (after NFKC) into a PHC string.
    ///
    /// # Errors
    /// Only internal failures (the blocking pool is gone).
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let argon2 = self.argon2.clone();
        let password = normalize(password);
        tokio::task::spawn_blocking(move || hash_blocking(&argon2, &password))
            .await
            .context("hashing task failed")?
    }

    /// Verifies `password` against `phc`. With `phc = None` (unknown user, or a user
    /// without a password) it verifies against a dummy hash and returns `false`, so the
    /// answer takes the same time either way.
    ///
    /// # Errors
    /// Only internal failures.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let known = phc.is_some();
        let phc = phc.unwrap_or(&self.dummy_hash).to_owned();
        let password = normalize(password);
        let argon2 = self.argon2.clone();
        let ok = tokio::task::spawn_blocking(move || match PasswordHash::new(&phc) {
            Ok(parsed) => argon2.verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        })
        .await
        .context("verification task failed")?;
        Ok(known && ok)
    }
}

fn hash_blocking(argon2: &Argon2<'_>, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("hashing failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_owasp_parameters() {
        let p = Passwords::new(&PasswordsConfig::default()).unwrap();
        let h = p.hash("correct horse battery staple").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(p
            .verify("correct horse battery staple", Some(&h))
            .await
            .unwrap());
        assert!(!p.verify("wrong", Some(&h)).await.unwrap());
        // Unknown users never verify, even with the dummy's password unknown to callers.
        assert!(!p.verify("anything", None).await.unwrap());
    }

    #[tokio::test]
    async fn nfkc_makes_equivalent_passwords_equal() {
        let p = Passwords::new(&PasswordsConfig::default()).unwrap();
        // U+212B ANGSTROM SIGN normalises to U+00C5.
        let h = p.hash("\u{212B}ngstr\u{f6}m-pass").await.unwrap();
        assert!(p.verify("\u{c5}ngstr\u{f6}m-pass", Some(&h)).await.unwrap());
    }
}
