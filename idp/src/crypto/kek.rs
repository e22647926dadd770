//! The key-encryption key (KEK): 32 bytes from the configuration or a private file
//! created on first start; it seals signing keys and support PINs at rest. Earlier
//! KEKs may be configured beside it while a KEK rotation re-seals what they sealed
//! ([`reseal_stored`]). The provider's MAC keys (CSRF, browser binding, e-mail codes,
//! refresh-token children) derive from a separate root secret stored sealed in the
//! database ([`Kek::bind_mac_root`]), so rotating the KEK changes none of them.

use std::fmt;
use std::path::Path;

use anyhow::{anyhow, bail, Context as _};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use josekit::jwe::{Dir, JweHeader};

use crate::crypto;
use crate::db::{secrets, Db};

/// The 32-byte key-encryption key, earlier ones accepted for opening, and the MAC
/// root secret.
#[derive(Clone)]
pub struct Kek {
    current: [u8; 32],
    previous: Vec<[u8; 32]>,
    mac_root: [u8; 32],
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek(..)")
    }
}

/// The name of the MAC root secret in the `secrets` table.
const MAC_ROOT: &str = "mac_root";

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
        Ok(Self {
            current: key,
            previous: Vec::new(),
            mac_root: key,
        })
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
        Self::read(file)
    }

    /// Reads the KEK from an existing private `file`.
    ///
    /// # Errors
    /// A missing file, loose permissions, or malformed content.
    pub fn read(file: &Path) -> anyhow::Result<Self> {
        check_private_permissions(file)
            .with_context(|| format!("the key-encryption key {}", file.display()))?;
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the key-encryption key {}", file.display()))?;
        Self::parse(&text).with_context(|| file.display().to_string())
    }

    /// Adds `earlier` KEKs, accepted for opening (never for sealing).
    pub fn with_previous(mut self, earlier: impl IntoIterator<Item = Kek>) -> Self {
        self.previous.extend(earlier.into_iter().map(|k| k.current));
        self
    }

    /// Loads the MAC root secret from the database, creating it on first use (under
    /// the start-up lock, so processes starting together agree): a database that
    /// already holds signing keys keeps the MAC keys it had (derived from this KEK),
    /// a fresh one gets 32 random bytes.
    ///
    /// # Errors
    /// Database errors, or a stored secret none of the configured KEKs opens.
    pub async fn bind_mac_root(mut self, db: &Db) -> anyhow::Result<Self> {
        let sealed = match secrets::find(db, MAC_ROOT).await? {
            Some(sealed) => sealed,
            None => {
                db.under_startup_lock(async {
                    if let Some(sealed) = secrets::find(db, MAC_ROOT).await? {
                        return anyhow::Ok(sealed);
                    }
                    let root = if crate::db::keys::count(db).await? > 0 {
                        self.current.to_vec()
                    } else {
                        crypto::random_bytes(32)
                    };
                    let sealed = self.seal(&root)?;
                    secrets::insert(db, MAC_ROOT, &sealed).await?;
                    Ok(sealed)
                })
                .await?
            }
        };
        let root = self.open(&sealed)?;
        self.mac_root = root
            .try_into()
            .map_err(|_| anyhow!("the stored MAC root secret is not 32 bytes"))?;
        Ok(self)
    }

    /// Derives a purpose-bound 32-byte subkey (HMAC-SHA-256 of the label under the
    /// MAC root secret).
    pub fn derive(&self, label: &str) -> [u8; 32] {
        crypto::hmac_sha256(&self.mac_root, label.as_bytes())
    }

    /// Encrypts a small secret for storage (compact JWE, `dir` + `A256GCM`) under the
    /// current KEK.
    ///
    /// # Errors
    /// Only internal failures.
    pub fn seal(&self, plaintext: &[u8]) -> anyhow::Result<String> {
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        let encrypter = Dir.encrypter_from_bytes(self.current)?;
        Ok(josekit::jwe::serialize_compact(
            plaintext, &header, &encrypter,
        )?)
    }

    /// Decrypts what [`Kek::seal`] produced under the current or an earlier KEK.
    ///
    /// # Errors
    /// Tampered data, or sealed under none of the configured KEKs.
    pub fn open(&self, sealed: &str) -> anyhow::Result<Vec<u8>> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find_map(|key| open_with(key, sealed))
            .ok_or_else(|| {
                anyhow!(
                    "a stored secret is sealed under another key-encryption key than the \
                     configured one (keys.kek or keys.kek_file): restore that key, or list \
                     it in keys.previous_keks while rotating (docs/operations.md)"
                )
            })
    }

    /// `sealed` re-sealed under the current KEK, or `None` when it is sealed under it
    /// already.
    ///
    /// # Errors
    /// As [`Kek::open`].
    pub fn reseal(&self, sealed: &str) -> anyhow::Result<Option<String>> {
        if open_with(&self.current, sealed).is_some() {
            return Ok(None);
        }
        Ok(Some(self.seal(&self.open(sealed)?)?))
    }
}

fn open_with(key: &[u8; 32], sealed: &str) -> Option<Vec<u8>> {
    let decrypter = Dir.decrypter_from_bytes(key).ok()?;
    josekit::jwe::deserialize_compact(sealed, &decrypter)
        .ok()
        .map(|(plaintext, _)| plaintext)
}

/// What [`reseal_stored`] re-sealed.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Resealed {
    /// Signing keys re-sealed under the current KEK.
    pub signing_keys: u64,
    /// Support PINs re-sealed.
    pub support_pins: u64,
    /// Other stored secrets (the MAC root) re-sealed.
    pub secrets: u64,
    /// Values that were sealed under the current KEK already.
    pub unchanged: u64,
}

/// KEK rotation: re-seals every stored sealed value (signing keys, support PINs, the
/// MAC root secret) that is not yet under the current KEK. Each value is replaced
/// only if it did not change meanwhile (compare-and-set), so it runs safely while
/// the provider serves; running it again changes nothing.
///
/// # Errors
/// Database errors, or a value none of the configured KEKs opens (nothing is lost:
/// values already re-sealed stay valid under the current KEK).
pub async fn reseal_stored(db: &Db, kek: &Kek) -> anyhow::Result<Resealed> {
    let mut done = Resealed::default();
    for (table, count) in [
        (secrets::Sealed::SigningKeys, &mut done.signing_keys),
        (secrets::Sealed::SupportPins, &mut done.support_pins),
        (secrets::Sealed::Secrets, &mut done.secrets),
    ] {
        let mut after = String::new();
        loop {
            let page = secrets::list_sealed(db, table, &after, 500).await?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = last.clone();
            for (id, sealed) in page {
                let Some(fresh) = kek
                    .reseal(&sealed)
                    .with_context(|| format!("{} {id}", table.describe()))?
                else {
                    done.unchanged += 1;
                    continue;
                };
                if secrets::replace_sealed(db, table, &id, &sealed, &fresh).await? {
                    *count += 1;
                }
            }
        }
    }
    Ok(done)
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
