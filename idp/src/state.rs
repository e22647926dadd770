//! The shared application state: configuration, database, keys, clock and helpers.

use std::ops::Deref;
use std::sync::Arc;

use anyhow::Context as _;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::kek::Kek;
use crate::crypto::keys::{KeyTimings, Keys, LOGOUT_TOKEN_SECONDS};
use crate::crypto::password_hash::Passwords;
use crate::db::Db;
use crate::oauth::discovery;
use crate::outbox::mail::Mailer;
use crate::policy::email::EmailPolicy;
use crate::policy::password::PasswordPolicy;
use crate::ui::pages::{ErrorPage, Page as _, PageBase};

/// Cheap-to-clone handle on everything a request needs.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The state's contents.
pub struct Inner {
    /// Validated configuration.
    pub config: Config,
    /// The database.
    pub db: Db,
    /// The key-encryption key.
    pub kek: Kek,
    /// Signing keys and JWKS.
    pub keys: Keys,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Password hashing.
    pub passwords: Passwords,
    /// The discovery document, built once (OIDC Discovery §3).
    pub discovery: bytes::Bytes,
    /// Key for CSRF tokens, derived from the KEK so every process shares it.
    pub csrf_key: [u8; 32],
    /// Sends outbox messages.
    pub mailer: Mailer,
    /// Wakes the mail worker when a message was queued.
    pub mail_wakeup: tokio::sync::Notify,
    /// Wakes the back-channel logout worker when a logout token was queued.
    pub logout_wakeup: tokio::sync::Notify,
    /// The business-only e-mail policy for self-registration.
    pub email_policy: EmailPolicy,
    /// The password policy.
    pub password_policy: PasswordPolicy,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The signing keys' delays for `config` (docs/operations.md): retention covers the
/// longest-lived token the keys sign (ID, access or logout token).
fn key_timings(config: &crate::config::Config) -> KeyTimings {
    let keys = &config.keys;
    let longest_token = config
        .tokens
        .id_token_seconds
        .max(config.tokens.access_token_seconds)
        .max(LOGOUT_TOKEN_SECONDS);
    KeyTimings {
        publish_seconds: keys.publish_seconds(),
        retain_seconds: keys.retain_seconds(longest_token),
        reload_seconds: keys.reload_seconds(),
        hint_seconds: keys.id_token_hint_days * 86_400,
    }
}

/// The configured KEK with the earlier ones (`keys.previous_keks`,
/// `keys.previous_kek_files`) and the database's MAC root secret. The KEK file is
/// created only while the database holds no sealed key: a missing file then is an
/// error, never a new KEK that cannot open what is stored.
async fn load_kek(cfg: &crate::config::KeysConfig, db: &Db) -> anyhow::Result<Kek> {
    let current = match &cfg.kek {
        Some(text) => Kek::parse(text).context("keys.kek")?,
        None if !cfg.kek_file.exists() && crate::db::keys::count(db).await? > 0 => {
            anyhow::bail!(
                "the key-encryption key file {} is missing, but the database holds signing keys \
                 sealed under a key-encryption key: restore the file (or set keys.kek); a new \
                 key would leave them unreadable",
                cfg.kek_file.display()
            )
        }
        None => Kek::load_or_create(&cfg.kek_file)?,
    };
    let mut previous = Vec::new();
    for (i, text) in cfg.previous_keks.iter().enumerate() {
        previous.push(Kek::parse(text).with_context(|| format!("keys.previous_keks[{i}]"))?);
    }
    for file in &cfg.previous_kek_files {
        previous.push(Kek::read(file).context("keys.previous_kek_files")?);
    }
    current.with_previous(previous).bind_mac_root(db).await
}

impl AppState {
    /// Connects and migrates the database, loads (or creates) the KEK and signing keys,
    /// and prepares templates and the discovery document.
    ///
    /// # Errors
    /// Any startup failure, with context.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let kek = load_kek(&config.keys, &db).await?;
        let timings = key_timings(&config);
        let keys = Keys::load_or_create(&db, &kek, clock.clone(), timings).await?;
        let passwords = Passwords::new(&config.passwords)?;
        let probe = ErrorPage {
            base: PageBase::titled("en", String::new(), String::new()),
            message: String::new(),
            hint: String::new(),
        };
        crate::ui::templates::render(ErrorPage::TEMPLATE, &probe)?;
        let discovery = bytes::Bytes::from(serde_json::to_vec(&discovery::document(&config))?);
        let csrf_key = kek.derive("csrf");
        let mailer = Mailer::new(&config.mail)?;
        let email_policy = EmailPolicy::new(&config.registration);
        let password_policy = PasswordPolicy::new(&config.passwords);
        Ok(Self(Arc::new(Inner {
            config,
            db,
            kek,
            keys,
            clock,
            passwords,
            discovery,
            csrf_key,
            mailer,
            mail_wakeup: tokio::sync::Notify::new(),
            logout_wakeup: tokio::sync::Notify::new(),
            email_policy,
            password_policy,
        })))
    }
}
