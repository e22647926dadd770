//! A portal: one relying party with its store, and the operations its pages need
//! (start a login, finish it at the callback, log out, accept a logout token). No
//! HTTP framework types here; `http` turns these into responses and cookies.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use url::Url;

use crate::clock::Clock;
use crate::config::PortalConfig;
use crate::jwks::JwksCache;
use crate::logout_token::{LogoutTokenError, LogoutTokenVerifier};
use crate::oidc::{self, CallbackError, ProviderMetadataDoc, RelyingParty};
use crate::random;
use crate::store::{LogoutEvent, Session, Store};

/// `error` codes of a `prompt=none` request that mean "the user must interact"
/// (OIDC Core §3.1.2.6): the landing page then offers the Login button.
const INTERACTION_ERRORS: [&str; 4] = [
    "login_required",
    "interaction_required",
    "consent_required",
    "account_selection_required",
];

/// The query of a request to the redirect_uri (RFC 6749 §4.1.2, OIDC Core §3.1.2.5).
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuthorizationResponse {
    /// The authorization code.
    pub code: Option<String>,
    /// The state sent in the request.
    pub state: Option<String>,
    /// The issuer (RFC 9207).
    pub iss: Option<String>,
    /// An error code instead of a code.
    pub error: Option<String>,
    /// Its description.
    pub error_description: Option<String>,
}

/// What the callback leads to.
pub enum CallbackOutcome {
    /// Signed in: the new session cookie's value.
    SignedIn(String),
    /// A silent check found no provider session: back to the landing page.
    InteractionRequired,
}

/// The portal's POST /logout was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutError {
    /// 403: the form's CSRF token is missing or wrong, or the POST came from
    /// another origin.
    #[error("The sign-out form has expired. Please reload the page and try again.")]
    Forbidden,
}

/// The portal's POST /refresh was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// 403: the form's CSRF token is missing or wrong, or it came from another origin.
    #[error("The form has expired. Please reload the page and try again.")]
    Forbidden,
    /// No session: back to the landing page.
    #[error("You are not signed in.")]
    NoSession,
    /// 400: the session has no refresh token (`offline_access` was not granted).
    #[error("This session cannot be refreshed; please sign in again.")]
    NoRefreshToken,
    /// The provider refused the refresh token; the local session has ended.
    #[error("{0}")]
    Refused(CallbackError),
    /// The provider could not be reached or answered something unusable.
    #[error("{0}")]
    Failed(CallbackError),
}

struct Inner {
    config: PortalConfig,
    rp: RelyingParty,
    logout_tokens: LogoutTokenVerifier,
    store: Store,
    clock: Arc<dyn Clock>,
}

/// One running portal; cheap to clone.
#[derive(Clone)]
pub struct Portal {
    inner: Arc<Inner>,
}

/// An HTTP client for talking to the provider: no redirects followed (a relying
/// party must not follow them at the token or UserInfo endpoint), 10-second timeout.
///
/// # Errors
/// The TLS backend cannot be initialised.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .context("building the HTTP client")
}

impl Portal {
    /// Discovers the provider at `config.issuer` and builds the portal.
    ///
    /// # Errors
    /// Discovery failures and unusable configuration.
    pub async fn discover(config: PortalConfig, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let http = http_client()?;
        let metadata = oidc::discover(&config.issuer, &http)
            .await
            .with_context(|| format!("discovery at {}", config.issuer))?;
        Self::with_metadata(config, metadata, http, clock)
    }

    /// Builds the portal from already discovered metadata (tests use this to point
    /// a portal at a stand-in endpoint).
    ///
    /// # Errors
    /// Unusable configuration.
    pub fn with_metadata(
        config: PortalConfig,
        metadata: ProviderMetadataDoc,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let seed = serde_json::to_value(metadata.jwks()).ok();
        let jwks = Arc::new(JwksCache::new(
            metadata.jwks_uri().url().to_string(),
            http.clone(),
            clock.clone(),
            seed,
        ));
        let rp = RelyingParty::new(&config, metadata, jwks.clone(), http, clock.clone())?;
        let logout_tokens = LogoutTokenVerifier::new(rp.issuer(), &config.client_id, jwks);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                rp,
                logout_tokens,
                store: Store::default(),
                clock,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PortalConfig {
        &self.inner.config
    }

    /// The provider's issuer identifier.
    pub fn issuer(&self) -> &str {
        self.inner.rp.issuer()
    }

    /// The current time, Unix seconds.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// Starts a login: stores a new attempt and returns the attempt cookie's value
    /// and the authorization request URL. `silent` asks with `prompt=none`.
    pub fn start_login(&self, silent: bool) -> (String, Url) {
        let now = self.now();
        let (attempt, url) = self.inner.rp.start(silent, now);
        let cookie = random::token(32);
        self.inner
            .store
            .insert_attempt(&cookie, attempt, self.inner.config.attempt_seconds, now);
        (cookie, url)
    }

    /// Completes a login at the redirect_uri: the attempt (taken, so it is single
    /// use) must exist and match `state`; `iss` must be the issuer; then the code is
    /// exchanged and the tokens verified, and a session is created.
    ///
    /// # Errors
    /// [`CallbackError`]; no session exists afterwards.
    pub async fn finish_login(
        &self,
        attempt_cookie: Option<&str>,
        response: AuthorizationResponse,
    ) -> Result<CallbackOutcome, CallbackError> {
        let store = &self.inner.store;
        let attempt = attempt_cookie
            .and_then(|c| store.take_attempt(c, self.inner.config.attempt_seconds, self.now()))
            .ok_or(CallbackError::UnknownAttempt)?;
        let state_ok = response
            .state
            .as_deref()
            .is_some_and(|s| random::ct_eq(s, &attempt.state));
        if !state_ok {
            return Err(CallbackError::StateMismatch);
        }
        self.inner.rp.check_iss(response.iss.as_deref())?;
        if let Some(error) = response.error {
            if attempt.silent && INTERACTION_ERRORS.contains(&error.as_str()) {
                return Ok(CallbackOutcome::InteractionRequired);
            }
            return Err(CallbackError::Provider {
                error,
                description: response.error_description,
            });
        }
        let code = response.code.ok_or(CallbackError::MissingCode)?;
        let logged_in = self.inner.rp.finish(attempt, &code).await?;
        let now = self.now();
        let cookie = random::token(32);
        store.insert_session(
            &cookie,
            Session {
                profile: logged_in.profile,
                sid: logged_in.sid,
                id_token: logged_in.id_token,
                access_token: logged_in.access_token.secret().clone(),
                refresh_token: logged_in.refresh_token.map(|t| t.secret().clone()),
                csrf_token: random::token(32),
                expires_at: now + self.inner.config.session_seconds,
            },
            now,
        );
        tracing::info!(portal = self.inner.config.kind.display_name(), "signed in");
        Ok(CallbackOutcome::SignedIn(cookie))
    }

    /// The live session of the session cookie's value.
    pub fn session(&self, cookie: Option<&str>) -> Option<Session> {
        self.inner.store.session(cookie?, self.now())
    }

    /// Ends the local session of the cookie's value, if any (a new login replaces it).
    pub fn end_local_session(&self, cookie: &str) {
        self.inner.store.remove_session(cookie);
    }

    /// Logs out: checks the form's CSRF token (and `origin` when the browser sent
    /// one), ends the local session and returns where to send the browser: the
    /// provider's end_session_endpoint with a fresh `state` (returned too), or the
    /// landing page when there is no session or no end_session_endpoint.
    ///
    /// # Errors
    /// [`LogoutError::Forbidden`].
    pub fn logout(
        &self,
        session_cookie: Option<&str>,
        csrf_token: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Option<(Url, String)>, LogoutError> {
        // `Origin: null` is what browsers send for a same-origin form under
        // `Referrer-Policy: no-referrer`; the CSRF token decides then.
        if origin.is_some_and(|o| o != "null" && o != self.inner.config.origin()) {
            return Err(LogoutError::Forbidden);
        }
        let Some(session) = self.session(session_cookie) else {
            return Ok(None);
        };
        let csrf_ok = csrf_token.is_some_and(|t| random::ct_eq(t, &session.csrf_token));
        if !csrf_ok {
            return Err(LogoutError::Forbidden);
        }
        if let Some(cookie) = session_cookie {
            self.inner.store.remove_session(cookie);
        }
        let state = random::token(32);
        Ok(self
            .inner
            .rp
            .end_session_url(&session.id_token, &state)
            .map(|url| (url, state)))
    }

    /// Accepts a logout token (Back-Channel Logout 1.0 §2.6–2.7): verifies it, then
    /// ends every local session of its `sid` and `sub`. Returns how many ended.
    ///
    /// # Errors
    /// [`LogoutTokenError`]; nothing is removed then.
    pub async fn backchannel_logout(&self, token: &str) -> Result<usize, LogoutTokenError> {
        let now = self.now();
        let verified = self.inner.logout_tokens.verify(token, now).await?;
        let ended = self.inner.store.remove_sid(&verified.sid, &verified.sub);
        tracing::info!(
            portal = self.inner.config.kind.display_name(),
            sessions_ended = ended,
            "back-channel logout"
        );
        self.inner.store.record_logout(LogoutEvent {
            claims: verified.claims,
            sessions_ended: ended,
            received_at: now,
        });
        Ok(ended)
    }

    /// Refreshes the session of the cookie's value with its refresh token (after the
    /// same CSRF and origin checks as [`Self::logout`]): new tokens, and the profile
    /// as the provider has it now. A refused refresh token (the user was disabled,
    /// signed out, or the token expired) ends the local session.
    ///
    /// # Errors
    /// [`RefreshError`].
    pub async fn refresh(
        &self,
        session_cookie: Option<&str>,
        csrf_token: Option<&str>,
        origin: Option<&str>,
    ) -> Result<(), RefreshError> {
        if origin.is_some_and(|o| o != "null" && o != self.inner.config.origin()) {
            return Err(RefreshError::Forbidden);
        }
        let (Some(cookie), Some(session)) = (session_cookie, self.session(session_cookie)) else {
            return Err(RefreshError::NoSession);
        };
        if !csrf_token.is_some_and(|t| random::ct_eq(t, &session.csrf_token)) {
            return Err(RefreshError::Forbidden);
        }
        let refresh_token = session
            .refresh_token
            .as_deref()
            .ok_or(RefreshError::NoRefreshToken)?;
        match self
            .inner
            .rp
            .refresh(refresh_token, &session.profile.sub)
            .await
        {
            Ok(fresh) => {
                let now = self.now();
                self.inner.store.remove_session(cookie);
                self.inner.store.insert_session(
                    cookie,
                    Session {
                        profile: fresh.profile,
                        sid: fresh.sid.or(session.sid),
                        id_token: fresh.id_token,
                        access_token: fresh.access_token.secret().clone(),
                        refresh_token: fresh.refresh_token.map(|t| t.secret().clone()),
                        csrf_token: session.csrf_token,
                        expires_at: session.expires_at,
                    },
                    now,
                );
                tracing::info!(portal = self.inner.config.kind.display_name(), "refreshed");
                Ok(())
            }
            Err(e @ CallbackError::CodeExchange { .. }) => {
                self.inner.store.remove_session(cookie);
                Err(RefreshError::Refused(e))
            }
            Err(e) => Err(RefreshError::Failed(e)),
        }
    }

    /// How many local sessions exist.
    pub fn session_count(&self) -> usize {
        self.inner.store.session_count()
    }

    /// The accepted logout tokens, oldest first.
    pub fn logout_events(&self) -> Vec<LogoutEvent> {
        self.inner.store.logout_events()
    }
}
