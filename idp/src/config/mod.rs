//! Layered configuration: built-in defaults < TOML file (`--config`) < `IDP_*`
//! environment variables (nested keys joined with `__`, for example
//! `IDP_TOKENS__ACCESS_TOKEN_SECONDS=300`). Every duration is in seconds.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use figment::providers::{Env, Format as _, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::crypto::keys::SigningAlg;

pub mod roles;
mod validate;

pub use roles::{RoleDef, Texts};

/// The whole provider configuration. See docs/configuration.md for every key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The issuer identifier (OIDC Core §2, Discovery §4.1): an http(s) URL without
    /// query or fragment. Every `iss` claim and endpoint URL derives from it, never
    /// from request headers.
    pub issuer: String,
    /// The socket address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://path` (embedded default) or `postgres://...` (scale-out).
    pub database_url: String,
    /// Key-encryption key settings.
    pub keys: KeysConfig,
    /// Browser session (SSO) settings.
    pub session: SessionConfig,
    /// Token lifetimes and algorithms.
    pub tokens: TokensConfig,
    /// Password hashing cost.
    pub passwords: PasswordsConfig,
    /// HTTP limits.
    pub http: HttpConfig,
    /// Bounds on pending authorization requests.
    pub authorize: AuthorizeConfig,
    /// Logging.
    pub log: LogConfig,
    /// Outgoing e-mail.
    pub mail: MailConfig,
    /// Self-registration and onboarding.
    pub registration: RegistrationConfig,
    /// E-mailed verification codes.
    pub codes: CodesConfig,
    /// Throttling of guessing (login, codes, forgot password, registration).
    pub throttle: ThrottleConfig,
    /// Customer support information.
    pub support: SupportConfig,
    /// The role catalogue (`[[roles]]`): the roles a Super Admin may grant, besides
    /// the built-in `super_admin`, and the clients each is released to. Without
    /// `roles` in the file, [`roles::default_catalogue`] (the demo portals' roles).
    pub roles: Vec<RoleDef>,
    /// Invitations of a company's Super Admin.
    pub invitations: InvitationsConfig,
}

/// Invitations of a company's Super Admin (docs/company-admin.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct InvitationsConfig {
    /// Lifetime of an invitation link, 3600 (1 hour) to 2 592 000 (30 days).
    pub ttl_seconds: i64,
    /// Invitations and resends one company may mail per hour (1 to 1000); more are
    /// refused (429) until the hour has passed.
    pub max_per_hour: i64,
}

impl Default for InvitationsConfig {
    fn default() -> Self {
        Self {
            ttl_seconds: 7 * 24 * 3600,
            max_per_hour: 30,
        }
    }
}

/// Customer support: the phone number of each support region, and support PINs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SupportConfig {
    /// Region name → the phone number customers of that region call.
    pub regions: std::collections::BTreeMap<String, String>,
    /// Digits of a support PIN, 4 to 10.
    pub pin_digits: u32,
    /// The support levels that include phone support (`standard`, `plus`,
    /// `priority`; default plus and priority). Only their users get the support
    /// claims, the profile's support section and a support PIN.
    pub phone_levels: Vec<String>,
}

impl SupportConfig {
    /// Whether a company's support `level` includes phone support (and so the
    /// support claims and a PIN).
    pub fn includes_phone(&self, level: crate::db::companies::SupportLevel) -> bool {
        self.phone_levels.iter().any(|l| l == level.as_str())
    }
}

impl Default for SupportConfig {
    fn default() -> Self {
        let regions = [
            ("EMEA", "+49 421 20 29 70 00"),
            ("AMER", "+1 954 739 9990"),
            ("APAC", "+61 2 9066 9300"),
        ]
        .into_iter()
        .map(|(r, p)| (r.to_owned(), p.to_owned()))
        .collect();
        Self {
            regions,
            pin_digits: 6,
            phone_levels: vec!["plus".into(), "priority".into()],
        }
    }
}

/// E-mailed verification codes (change and reset password).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CodesConfig {
    /// Digits per code, 6 to 10.
    pub digits: u32,
    /// Lifetime, at most 600 (10 minutes).
    pub ttl_seconds: i64,
    /// Wrong entries after which a code dies, 1 to 5.
    pub max_attempts: i64,
}

impl Default for CodesConfig {
    fn default() -> Self {
        Self {
            digits: 6,
            ttl_seconds: 600,
            max_attempts: 5,
        }
    }
}

/// Throttling: after `*_free` failures within `window_seconds`, each further failure
/// blocks the key for `base_delay_seconds`, doubling, at most `max_delay_seconds`.
/// Blocks always expire; there is no permanent lockout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottleConfig {
    /// Failures per account (any IP) before delays start.
    pub account_free: i64,
    /// Failures per account and client IP before delays start.
    pub account_ip_free: i64,
    /// Failures per client IP (any account) before delays start.
    pub ip_free: i64,
    /// The first delay.
    pub base_delay_seconds: i64,
    /// The longest delay.
    pub max_delay_seconds: i64,
    /// Failures older than this are forgotten.
    pub window_seconds: i64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            account_free: 10,
            account_ip_free: 5,
            ip_free: 30,
            base_delay_seconds: 30,
            max_delay_seconds: 900,
            window_seconds: 3600,
        }
    }
}

/// Outgoing e-mail (lettre). Without `smtp_url`, messages are written as `.eml`
/// files to `outbox_dir` and their links logged (the embedded default).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MailConfig {
    /// `smtp://host:25` (plain), `smtp://user:pass@host:587?tls=required` (STARTTLS)
    /// or `smtps://user:pass@host:465` (TLS). Unset: write to `outbox_dir`.
    pub smtp_url: Option<String>,
    /// The From header, e.g. `Customer Identity <no-reply@example.com>`.
    pub from: String,
    /// Folder for `.eml` files when no SMTP server is configured.
    pub outbox_dir: PathBuf,
    /// How often the delivery worker looks for due messages, in milliseconds.
    pub poll_interval_ms: u64,
    /// SMTP timeout per message, in seconds.
    pub timeout_seconds: u64,
}

/// Self-registration, e-mail policy and the onboarding mails.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistrationConfig {
    /// Lifetime of the confirmation link.
    pub confirmation_seconds: i64,
    /// Lifetime of the one-time password sent at approval.
    pub one_time_password_seconds: i64,
    /// Where the "log in" button of the approval mail points (the portal's login
    /// page); defaults to the issuer's home page.
    pub portal_login_url: Option<String>,
    /// Domains accepted even if a list says free or disposable (A-labels, lower case).
    pub allowed_domains: Vec<String>,
    /// Domains always refused.
    pub denied_domains: Vec<String>,
}

/// Where the key-encryption key (KEK) comes from, and the signing keys' lifecycle.
/// The KEK encrypts the private parts of signing keys and other stored secrets at
/// rest (JWE `dir` + `A256GCM`); see docs/operations.md for rotating either.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct KeysConfig {
    /// 32 bytes, base64 or base64url; takes precedence over `kek_file`.
    /// Set it with `IDP_KEYS__KEK`.
    pub kek: Option<String>,
    /// A file holding the base64 KEK; created with mode 0600 on first start (only
    /// while the database holds no sealed key: a missing file is an error then).
    pub kek_file: PathBuf,
    /// Earlier KEKs (base64), accepted for opening what is still sealed under them
    /// during a KEK rotation (`idp keys rotate-kek`); never used for sealing.
    pub previous_keks: Vec<String>,
    /// Files holding earlier KEKs, as `previous_keks`.
    pub previous_kek_files: Vec<PathBuf>,
    /// How long relying parties may cache the JWKS (`Cache-Control: public,
    /// max-age=N`), in seconds; 0 to 86400, default 300.
    pub jwks_max_age_seconds: i64,
    /// Added to the JWKS cache lifetime and two reload intervals before a new key
    /// may sign, for clock skew between relying parties and the provider, in
    /// seconds; 0 to 3600, default 60.
    pub publish_margin_seconds: i64,
    /// Automatic rotation: each algorithm's key is replaced this many days after it
    /// started signing; 0 turns the schedule off. 1 to 3650, default 90.
    pub rotation_days: i64,
    /// The scheduled next key is created (published) this long before it activates,
    /// in seconds; at least the publishing delay, at most 30 days; default 86400.
    pub rotation_ahead_seconds: i64,
    /// RS256's own schedule, overriding `rotation_days` / `rotation_ahead_seconds`.
    pub rs256: AlgSchedule,
    /// ES256's own schedule.
    pub es256: AlgSchedule,
    /// EdDSA's own schedule.
    pub eddsa: AlgSchedule,
    /// ID tokens signed by a key that has left the JWKS are still taken as
    /// `id_token_hint` (logout, `prompt=none`) for this many days after it left;
    /// 0 to 365, default 30. A revoked key's never are.
    pub id_token_hint_days: i64,
}

/// One algorithm's rotation schedule; unset fields follow the `keys.*` defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AlgSchedule {
    /// As `keys.rotation_days`, for this algorithm.
    pub rotation_days: Option<i64>,
    /// As `keys.rotation_ahead_seconds`, for this algorithm.
    pub rotation_ahead_seconds: Option<i64>,
}

impl KeysConfig {
    /// How often every process re-reads the key set: half the JWKS cache lifetime,
    /// 1 to 60 seconds.
    pub fn reload_seconds(&self) -> i64 {
        (self.jwks_max_age_seconds / 2).clamp(1, 60)
    }

    /// How long a rotation's key is published before it may sign, in seconds: the
    /// JWKS cache lifetime (every relying party's cached copy holds it), two reload
    /// intervals (every process serves it) and the publish margin (clock skew).
    pub fn publish_seconds(&self) -> i64 {
        self.jwks_max_age_seconds + 2 * self.reload_seconds() + self.publish_margin_seconds
    }

    /// How long a retired key stays published, in seconds: the longest lifetime of
    /// the tokens it signed (`longest_token_seconds`) plus the JWKS cache lifetime
    /// and a reload interval.
    pub fn retain_seconds(&self, longest_token_seconds: i64) -> i64 {
        longest_token_seconds + self.jwks_max_age_seconds + self.reload_seconds()
    }

    /// The schedule of `alg`: (rotation period, publish-ahead time), in seconds; a
    /// period of 0 means no automatic rotation.
    pub fn schedule(&self, alg: SigningAlg) -> (i64, i64) {
        let own = match alg {
            SigningAlg::RS256 => &self.rs256,
            SigningAlg::ES256 => &self.es256,
            SigningAlg::EdDSA => &self.eddsa,
        };
        (
            own.rotation_days.unwrap_or(self.rotation_days) * 86_400,
            own.rotation_ahead_seconds
                .unwrap_or(self.rotation_ahead_seconds),
        )
    }
}

/// Browser session lifetimes (seconds).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionConfig {
    /// A session unused for this long ends.
    pub idle_seconds: i64,
    /// A session ends this long after the login that created it, however active.
    pub absolute_seconds: i64,
    /// How long a browser may take to finish a login for a pending authorization request.
    pub authorization_request_seconds: i64,
}

/// Token lifetimes (seconds) and signing algorithms.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TokensConfig {
    /// Authorization code lifetime; 1 to 60.
    pub code_seconds: i64,
    /// Access token lifetime.
    pub access_token_seconds: i64,
    /// ID token lifetime.
    pub id_token_seconds: i64,
    /// A refresh token unused for this long expires.
    pub refresh_token_idle_seconds: i64,
    /// A refresh-token family (one login's grant) ends this long after the login.
    pub refresh_token_absolute_seconds: i64,
    /// How long after a rotation the token it replaced may be presented again (a
    /// network retry, or a request that raced the rotation) and get the same new
    /// refresh token (RFC 9700 §4.14.2); any other replay, or this one later, revokes
    /// the whole family. 0 to 60 seconds; 0 accepts only the same second.
    pub refresh_token_reuse_grace_seconds: i64,
    /// Signing algorithm of JWT access tokens (RFC 9068): RS256, ES256 or EdDSA.
    pub access_token_alg: SigningAlg,
}

/// argon2id parameters; never below OWASP's m=19 MiB, t=2, p=1.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordsConfig {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Hashes computed at once; 0 means one per CPU core.
    pub max_concurrent: usize,
    /// Shortest accepted new password, in characters (NIST SP 800-63B: at least 8).
    pub min_length: usize,
    /// Longest accepted password, in characters (64 to 128).
    pub max_length: usize,
}

/// HTTP limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted single parameter value, in bytes.
    pub max_param_bytes: usize,
    /// A header carrying the client IP set by a trusted reverse proxy (for example
    /// `X-Forwarded-For`; its first address is used). Unset: the peer address.
    pub client_ip_header: Option<String>,
    /// Most parameters in one query string or form body (each `name=value` pair
    /// counts); more is `invalid_request` "too many parameters" (a 400 page on pages).
    pub max_params: usize,
    /// Seconds from a connection's first byte of a request head to the complete head,
    /// and the most a new connection may wait before sending anything; then it is closed.
    pub header_read_timeout_seconds: u64,
    /// Seconds an idle keep-alive connection (no request in progress) stays open.
    pub keep_alive_idle_seconds: u64,
    /// Most connections served at once; at the cap no new one is accepted until one
    /// ends (the kernel's listen backlog holds the rest).
    pub max_connections: usize,
}

/// Bounds on pending authorization requests (a validated request waiting for its
/// browser to log in, RFC 6749 §4.1.1). Before a new one is stored, the oldest pending
/// requests of its browser, its client network and its client are evicted so that
/// each stays within its cap: the newest request always wins.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthorizeConfig {
    /// Pending requests per browser (its binding cookie).
    pub max_pending_per_browser: i64,
    /// Pending requests per client network (an IPv4 address or an IPv6 /64, see
    /// `ClientIp::network`); offices behind one NAT share it.
    pub max_pending_per_network: i64,
    /// Pending requests per client (relying party), from everywhere.
    pub max_pending_per_client: i64,
}

impl Default for AuthorizeConfig {
    fn default() -> Self {
        Self {
            max_pending_per_browser: 16,
            max_pending_per_network: 512,
            max_pending_per_client: 10_000,
        }
    }
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// A tracing `EnvFilter` directive, e.g. `info,idp=debug`.
    pub filter: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://data/idp.sqlite3".into(),
            keys: KeysConfig::default(),
            session: SessionConfig::default(),
            tokens: TokensConfig::default(),
            passwords: PasswordsConfig::default(),
            http: HttpConfig::default(),
            authorize: AuthorizeConfig::default(),
            log: LogConfig::default(),
            mail: MailConfig::default(),
            registration: RegistrationConfig::default(),
            codes: CodesConfig::default(),
            throttle: ThrottleConfig::default(),
            support: SupportConfig::default(),
            roles: roles::default_catalogue(),
            invitations: InvitationsConfig::default(),
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "Customer Identity <no-reply@localhost>".into(),
            outbox_dir: PathBuf::from("outbox"),
            poll_interval_ms: 2000,
            timeout_seconds: 20,
        }
    }
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        Self {
            confirmation_seconds: 24 * 3600,
            one_time_password_seconds: 72 * 3600,
            portal_login_url: None,
            allowed_domains: Vec::new(),
            denied_domains: Vec::new(),
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            kek: None,
            kek_file: PathBuf::from("keys/kek"),
            previous_keks: Vec::new(),
            previous_kek_files: Vec::new(),
            jwks_max_age_seconds: 300,
            publish_margin_seconds: 60,
            rotation_days: 90,
            rotation_ahead_seconds: 86_400,
            rs256: AlgSchedule::default(),
            es256: AlgSchedule::default(),
            eddsa: AlgSchedule::default(),
            id_token_hint_days: 30,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_seconds: 8 * 3600,
            absolute_seconds: 7 * 24 * 3600,
            authorization_request_seconds: 30 * 60,
        }
    }
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            code_seconds: 60,
            access_token_seconds: 600,
            id_token_seconds: 600,
            refresh_token_idle_seconds: 14 * 24 * 3600,
            refresh_token_absolute_seconds: 30 * 24 * 3600,
            refresh_token_reuse_grace_seconds: 10,
            access_token_alg: SigningAlg::RS256,
        }
    }
}

impl Default for PasswordsConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 0,
            min_length: 12,
            max_length: 128,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            max_param_bytes: 4096,
            client_ip_header: None,
            max_params: 100,
            header_read_timeout_seconds: 10,
            keep_alive_idle_seconds: 75,
            max_connections: 4096,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info,sqlx=warn".into(),
            format: LogFormat::Text,
        }
    }
}

impl Config {
    /// Loads defaults, then the TOML file if given, then `IDP_*` variables, and validates.
    ///
    /// # Errors
    /// A missing or malformed file, a value of the wrong type, or a value that fails
    /// [`Config::validate`].
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                bail!("configuration file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file(file));
        }
        let config: Config = figment
            .merge(Env::prefixed("IDP_").split("__"))
            .extract()
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    /// Whether the issuer is served over https (cookies then get `__Host-` and `Secure`).
    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// The portal login URL for the approval mail's button.
    pub fn portal_login_url(&self) -> String {
        self.registration
            .portal_login_url
            .clone()
            .unwrap_or_else(|| self.url("/"))
    }

    /// An absolute URL under the issuer, `path` starting with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}
