//! What a portal is: which of the two, its public URL, its client registration at
//! the provider, its cookies and lifetimes.

use anyhow::Context as _;
use openidconnect::core::CoreJwsSigningAlgorithm;
use url::Url;

/// Which of the two demo portals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalKind {
    /// Shows the user's company and its support information.
    CustomerPortal,
    /// Shows the same person (name, e-mail, company, roles) to prove the shared login.
    AppPortal,
}

impl PortalKind {
    /// The name shown on its pages.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::CustomerPortal => "Customer Portal",
            Self::AppPortal => "App Portal",
        }
    }

    /// The prefix of its cookie names. Both portals run on 127.0.0.1 in the demo and
    /// cookies do not tell ports apart (RFC 6265 §8.5), so the names must differ.
    pub fn cookie_prefix(self) -> &'static str {
        match self {
            Self::CustomerPortal => "customer_portal",
            Self::AppPortal => "app_portal",
        }
    }

    /// The CSS class of its pages (each portal has its own colour).
    pub fn theme(self) -> &'static str {
        match self {
            Self::CustomerPortal => "customer",
            Self::AppPortal => "app",
        }
    }
}

/// One portal's configuration.
#[derive(Clone)]
pub struct PortalConfig {
    /// Which portal.
    pub kind: PortalKind,
    /// The provider's issuer identifier, e.g. `http://127.0.0.1:8080`.
    pub issuer: String,
    /// The portal's public base URL, e.g. `http://127.0.0.1:3000`; its redirect_uri
    /// is `<base>/callback`, its post_logout_redirect_uri `<base>/` and its
    /// backchannel_logout_uri `<base>/backchannel-logout`.
    pub base_url: Url,
    /// The client_id registered at the provider.
    pub client_id: String,
    /// The client_secret (client_secret_basic).
    pub client_secret: String,
    /// The scopes to request (`openid` is always sent).
    pub scope: String,
    /// The ID token algorithm registered for the client; no other is accepted.
    pub id_token_alg: CoreJwsSigningAlgorithm,
    /// The name of the session cookie; other cookies share its prefix.
    pub session_cookie: String,
    /// How long a login attempt may take, in seconds.
    pub attempt_seconds: i64,
    /// How long a portal session lasts, in seconds.
    pub session_seconds: i64,
    /// How long the landing page remembers that it tried a silent login
    /// (`prompt=none`), in seconds.
    pub sso_check_seconds: i64,
}

/// Debug output never shows the client secret.
impl std::fmt::Debug for PortalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalConfig")
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("base_url", &self.base_url.as_str())
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("session_cookie", &self.session_cookie)
            .finish_non_exhaustive()
    }
}

/// The scopes both portals ask for.
pub const DEFAULT_SCOPE: &str = "openid profile email company roles support";

impl PortalConfig {
    /// A configuration with the defaults: the portal's own cookie names, RS256, the
    /// product scopes, 10-minute attempts, 8-hour sessions, a 2-minute SSO check.
    pub fn new(
        kind: PortalKind,
        issuer: &str,
        base_url: Url,
        client_id: &str,
        client_secret: &str,
    ) -> Self {
        Self {
            kind,
            issuer: issuer.trim_end_matches('/').to_owned(),
            base_url,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            scope: DEFAULT_SCOPE.to_owned(),
            id_token_alg: CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            session_cookie: format!("{}_session", kind.cookie_prefix()),
            attempt_seconds: 600,
            session_seconds: 8 * 3600,
            sso_check_seconds: 120,
        }
    }

    /// `<base>/callback`.
    ///
    /// # Errors
    /// A base URL that cannot be a base.
    pub fn redirect_uri(&self) -> anyhow::Result<Url> {
        self.base_url
            .join("/callback")
            .context("the portal's base URL")
    }

    /// `<base>/`.
    ///
    /// # Errors
    /// A base URL that cannot be a base.
    pub fn post_logout_redirect_uri(&self) -> anyhow::Result<Url> {
        self.base_url.join("/").context("the portal's base URL")
    }

    /// `<base>/backchannel-logout`.
    ///
    /// # Errors
    /// A base URL that cannot be a base.
    pub fn backchannel_logout_uri(&self) -> anyhow::Result<Url> {
        self.base_url
            .join("/backchannel-logout")
            .context("the portal's base URL")
    }

    /// The name of one of the portal's cookies: `<prefix>_<what>` next to the
    /// session cookie `<prefix>_session`.
    pub fn cookie(&self, what: &str) -> String {
        let prefix = self
            .session_cookie
            .strip_suffix("_session")
            .unwrap_or(&self.session_cookie);
        format!("{prefix}_{what}")
    }

    /// Whether the portal is served over https (then cookies are `Secure`).
    pub fn is_https(&self) -> bool {
        self.base_url.scheme() == "https"
    }

    /// The portal's origin, e.g. `http://127.0.0.1:3000`, for the same-origin check
    /// of POSTs.
    pub fn origin(&self) -> String {
        self.base_url.origin().ascii_serialization()
    }
}

/// Parses an ID token algorithm name: RS256, ES256 or EdDSA.
///
/// # Errors
/// Any other name.
pub fn parse_alg(name: &str) -> anyhow::Result<CoreJwsSigningAlgorithm> {
    match name {
        "RS256" => Ok(CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
        "ES256" => Ok(CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        "EdDSA" => Ok(CoreJwsSigningAlgorithm::EdDsa),
        other => anyhow::bail!("unsupported ID token algorithm {other}; use RS256, ES256 or EdDSA"),
    }
}
