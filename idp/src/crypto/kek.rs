//! The key-encryption key (KEK): 32 bytes from the configuration or a private file
//! created on first start; it encrypts signing keys at rest and derives the
//! provider's MAC keys (CSRF, browser binding, refresh-token children).

use std::fmt;
use std::path::Path;

use anyhow::{anyhow, bail, Context as _};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use josekit::jwe::{Dir, JweHeader};

use crate::crypto;

/// The 32-byte key-encryption key.
#[derive(Clone)]
pub struct Kek([u8; 32]);

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    /// Parses 32 bytes written as base64 or base64url (padding optional).
    ///
    /// # Errors
    /// Not base64, or not 32 bytes.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim().trim_end_matches('=');
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .context("the key-encryption key is not base64")?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow!("the key-encryption key must be 32 bytes"))?;
        Ok(Self(key))
    }

    /// Reads the KEK from `file`, creating it (mode 0600) with 32 random bytes if absent.
    /// An existing file readable by group or others is refused. Creation is atomic
    /// (a complete file is linked into place only if none exists), so processes that
    /// start together all read the one KEK that won.
    ///
    /// # Errors
    /// I/O failures, loose permissions, or malformed content.
    pub fn load_or_create(file: &Path) -> anyhow::Result<Self> {
        if !file.exists() {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let text = STANDARD.encode(crypto::random_bytes(32));
            write_private_file(file, &text)?;
            tracing::info!(path = %file.display(), "created a new key-encryption key");
        }
        check_private_permissions(file)?;
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the key-encryption key {}", file.display()))?;
        Self::parse(&text)
    }

    /// Derives a purpose-bound 32-byte subkey (HMAC-SHA-256 of the label).
    pub fn derive(&self, label: &str) -> [u8; 32] {
        crypto::hmac_sha256(&self.0, label.as_bytes())
    }

    /// Encrypts a small secret for storage (compact JWE, `dir` + `A256GCM`).
    ///
    /// # Errors
    /// Only internal failures.
    pub fn seal(&self, plaintext: &[u8]) -> anyhow::Result<String> {
        self.encrypt(plaintext)
    }

    /// Decrypts what [`Kek::seal`] produced.
    ///
    /// # Errors
    /// Tampered data or another KEK.
    pub fn open(&self, sealed: &str) -> anyhow::Result<Vec<u8>> {
        self.decrypt(sealed)
    }

    pub(crate) fn encrypt(&self, plaintext: &[u8]) -> anyhow::Result<String> {
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        let encrypter = Dir.encrypter_from_bytes(self.0)?;
        Ok(josekit::jwe::serialize_compact(
            plaintext, &header, &encrypter,
        )?)
    }

    pub(crate) fn decrypt(&self, jwe: &str) -> anyhow::Result<Vec<u8>> {
        let decrypter = Dir.decrypter_from_bytes(self.0)?;
        let (plaintext, _) = josekit::jwe::deserialize_compact(jwe, &decrypter)
            .context("cannot decrypt a signing key: wrong key-encryption key?")?;
        Ok(plaintext)
    }
}

/// Writes `text` to a private temporary file beside `file` and links it into place
/// unless `file` exists already (another process won: its content stays). A reader
/// never sees a partly written file.
#[cfg(unix)]
fn write_private_file(file: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut tmp_name = file.as_os_str().to_owned();
    tmp_name.push(format!(".tmp-{}", crypto::random_id()));
    let tmp = std::path::PathBuf::from(tmp_name);
    let written = (|| -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        match std::fs::hard_link(&tmp, file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e).with_context(|| format!("creating {}", file.display())),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    written
}

#[cfg(not(unix))]
fn write_private_file(file: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(file, text).with_context(|| format!("creating {}", file.display()))
}

#[cfg(unix)]
fn check_private_permissions(file: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(file)?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by others (mode {:o}); run chmod 600 on it",
            file.display(),
            mode & 0o777
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_permissions(_file: &Path) -> anyhow::Result<()> {
    Ok(())
}
