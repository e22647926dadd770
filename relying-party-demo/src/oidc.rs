//! The relying-party side of OpenID Connect Core 1.0 with the `openidconnect`
//! crate: discovery, the authorization request (code flow, PKCE S256, state, nonce,
//! optionally `prompt=none`), the code exchange, ID token and UserInfo verification,
//! and the RP-Initiated Logout 1.0 URL. No HTTP framework types here.

use std::sync::Arc;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreClaimName, CoreClaimType, CoreClientAuthMethod,
    CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalProviderMetadata, AuthenticationFlow,
    AuthorizationCode, ClaimsVerificationError, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken,
    IdTokenClaims, IdTokenFields, IdTokenVerifier, IssuerUrl, JsonWebKeySet,
    LogoutProviderMetadata, LogoutRequest, Nonce, NonceVerifier, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, SignatureVerificationError, StandardErrorResponse,
    StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::claims::{PortalClaims, PortalUserInfo, Profile};
use crate::clock::Clock;
use crate::config::PortalConfig;
use crate::jwks::JwksCache;
use crate::random;

/// One login attempt: what the callback must find again.
#[derive(Clone)]
pub struct Attempt {
    /// The `state` sent in the authorization request.
    pub state: String,
    /// The `nonce` sent in the authorization request.
    pub nonce: String,
    /// The PKCE code_verifier (RFC 7636 §4.1).
    pub code_verifier: String,
    /// Whether it was a silent check (`prompt=none`).
    pub silent: bool,
    /// When it started, Unix seconds.
    pub created_at: i64,
}

/// Provider metadata members beyond OIDC Discovery that the portals use.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraProviderMetadata {
    /// RFC 9207 §3: the provider sends `iss` in authorization responses, so the
    /// portal requires it.
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// Back-Channel Logout 1.0 §2.1.
    pub backchannel_logout_supported: Option<bool>,
}

impl AdditionalProviderMetadata for ExtraProviderMetadata {}

/// Discovery metadata with `end_session_endpoint` (RP-Initiated Logout 1.0 §2.1).
pub type ProviderMetadataDoc = ProviderMetadata<
    LogoutProviderMetadata<ExtraProviderMetadata>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// An ID token carrying the product claims.
pub type PortalIdToken = IdToken<
    PortalClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

type PortalIdTokenFields = IdTokenFields<
    PortalClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// The token endpoint's response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
pub type PortalTokenResponse = StandardTokenResponse<PortalIdTokenFields, CoreTokenType>;

/// The openidconnect client of a portal, as built from discovery.
pub type PortalClient = Client<
    PortalClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    PortalTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why a login could not be completed at the callback. No session is created for
/// any of them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// 400: no login attempt for this browser, or it expired (or was used already).
    #[error("This sign-in attempt is unknown or has expired.")]
    UnknownAttempt,
    /// 400: `state` is missing or not the one sent (RFC 6749 §10.12).
    #[error("The sign-in response does not belong to this browser (state mismatch).")]
    StateMismatch,
    /// 400: `iss` is missing or names another issuer (RFC 9207 §2.4).
    #[error("The sign-in response comes from an unexpected issuer.")]
    IssuerMismatch,
    /// 400: the provider answered with `error` (RFC 6749 §4.1.2.1).
    #[error("The identity provider refused the sign-in: {error}")]
    Provider {
        /// The `error` code.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
    /// 400: neither `code` nor `error` in the response.
    #[error("The sign-in response has no authorization code.")]
    MissingCode,
    /// 400: the token endpoint refused the code (RFC 6749 §5.2), or answered nonsense.
    #[error("The authorization code could not be exchanged: {error}")]
    CodeExchange {
        /// The `error` code, or `invalid_response`.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
    /// 400: the token response has no ID token.
    #[error("The identity provider sent no ID token.")]
    NoIdToken,
    /// 400: the ID token's nonce is not the one of this attempt (OIDC Core §3.1.3.7).
    #[error("The ID token's nonce does not match this sign-in attempt.")]
    NonceMismatch,
    /// 400: the ID token is invalid: signature, algorithm, issuer, audience, expiry or
    /// at_hash (OIDC Core §3.1.3.7–3.1.3.8).
    #[error("The ID token is invalid: {0}")]
    InvalidIdToken(String),
    /// 502: the provider could not be reached or its UserInfo answer was unusable.
    #[error("The identity provider could not be reached: {0}")]
    ProviderUnavailable(String),
}

/// A completed login: the verified identity and the tokens, kept server-side.
pub struct LoggedIn {
    /// What the pages show.
    pub profile: Profile,
    /// The provider's session id (`sid` of the ID token), for back-channel logout.
    pub sid: Option<String>,
    /// The ID token, sent back as `id_token_hint` at logout.
    pub id_token: PortalIdToken,
    /// The access token (kept for API calls; the demo calls only UserInfo).
    pub access_token: AccessToken,
    /// The refresh token, if `offline_access` was granted.
    pub refresh_token: Option<RefreshToken>,
}

/// One portal's relying party.
pub struct RelyingParty {
    client: PortalClient,
    client_id: ClientId,
    issuer: IssuerUrl,
    alg: CoreJwsSigningAlgorithm,
    scopes: Vec<Scope>,
    require_iss: bool,
    end_session_endpoint: Option<EndSessionUrl>,
    post_logout_redirect_uri: PostLogoutRedirectUrl,
    jwks: Arc<JwksCache>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

/// Fetches the provider's metadata (OIDC Discovery 1.0 §4) and JWKS.
///
/// # Errors
/// The issuer is not a URL, the provider is unreachable, or the document is invalid
/// (including an `issuer` different from the one asked for).
pub async fn discover(issuer: &str, http: &reqwest::Client) -> anyhow::Result<ProviderMetadataDoc> {
    let issuer = IssuerUrl::new(issuer.to_owned())?;
    Ok(ProviderMetadataDoc::discover_async(issuer, http).await?)
}

impl RelyingParty {
    /// The relying party of `config` for the provider described by `metadata`.
    ///
    /// # Errors
    /// Unusable portal URLs.
    pub fn new(
        config: &PortalConfig,
        metadata: ProviderMetadataDoc,
        jwks: Arc<JwksCache>,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let extra = &metadata.additional_metadata().additional_metadata;
        let require_iss = extra
            .authorization_response_iss_parameter_supported
            .unwrap_or(false);
        let end_session_endpoint = metadata.additional_metadata().end_session_endpoint.clone();
        let issuer = metadata.issuer().clone();
        let client_id = ClientId::new(config.client_id.clone());
        let client = PortalClient::from_provider_metadata(
            metadata,
            client_id.clone(),
            Some(ClientSecret::new(config.client_secret.clone())),
        )
        .set_redirect_uri(RedirectUrl::from_url(config.redirect_uri()?));
        Ok(Self {
            client,
            client_id,
            issuer,
            alg: config.id_token_alg.clone(),
            scopes: config
                .scope
                .split_whitespace()
                .filter(|s| *s != "openid")
                .map(|s| Scope::new(s.to_owned()))
                .collect(),
            require_iss,
            end_session_endpoint,
            post_logout_redirect_uri: PostLogoutRedirectUrl::from_url(
                config.post_logout_redirect_uri()?,
            ),
            jwks,
            http,
            clock,
        })
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    /// A new login attempt and the authorization request URL for it (OIDC Core
    /// §3.1.2.1 with PKCE S256, RFC 7636 §4.3); `silent` adds `prompt=none`.
    pub fn start(&self, silent: bool, now: i64) -> (Attempt, Url) {
        let attempt = Attempt {
            state: random::token(32),
            nonce: random::token(32),
            code_verifier: random::token(32),
            silent,
            created_at: now,
        };
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            attempt.code_verifier.clone(),
        ));
        let state = CsrfToken::new(attempt.state.clone());
        let nonce = Nonce::new(attempt.nonce.clone());
        let mut request = self
            .client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                move || state,
                move || nonce,
            )
            .add_scopes(self.scopes.iter().cloned())
            .set_pkce_challenge(challenge);
        if silent {
            request = request.add_prompt(CoreAuthPrompt::None);
        }
        let (url, _, _) = request.url();
        (attempt, url)
    }

    /// Checks the `iss` of an authorization response (RFC 9207 §2.4).
    ///
    /// # Errors
    /// [`CallbackError::IssuerMismatch`].
    pub fn check_iss(&self, iss: Option<&str>) -> Result<(), CallbackError> {
        match iss {
            Some(iss) if iss == self.issuer.as_str() => Ok(()),
            None if !self.require_iss => Ok(()),
            _ => Err(CallbackError::IssuerMismatch),
        }
    }

    /// Exchanges `code` with the attempt's code_verifier (RFC 7636 §4.5), verifies the
    /// ID token against the provider's JWKS with the attempt's nonce, and fetches
    /// UserInfo for the same subject (OIDC Core §5.3.2).
    ///
    /// # Errors
    /// The [`CallbackError`] variants from `CodeExchange` on.
    pub async fn finish(&self, attempt: Attempt, code: &str) -> Result<LoggedIn, CallbackError> {
        let tokens = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| CallbackError::ProviderUnavailable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(attempt.code_verifier))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = tokens.id_token().ok_or(CallbackError::NoIdToken)?.clone();
        let claims = self
            .verify_id_token(&id_token, &Nonce::new(attempt.nonce), tokens.access_token())
            .await?;
        Ok(LoggedIn {
            profile: self.profile(tokens.access_token(), &claims).await?,
            sid: claims.additional_claims().sid.clone(),
            id_token,
            access_token: tokens.access_token().clone(),
            refresh_token: tokens.refresh_token().cloned(),
        })
    }

    /// Refreshes a session (OIDC Core §12): exchanges `refresh_token` (RFC 6749 §6),
    /// verifies the new ID token like the first one (§12.2: same `iss` and `sub`, no
    /// new nonce to check) and fetches UserInfo with the new access token, so the
    /// profile shows the user's current roles and company.
    ///
    /// # Errors
    /// [`CallbackError::CodeExchange`] when the provider refuses the refresh token
    /// (revoked, expired, reused); the other variants as for [`Self::finish`].
    pub async fn refresh(&self, refresh_token: &str, sub: &str) -> Result<LoggedIn, CallbackError> {
        let tokens = self
            .client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
            .map_err(|e| CallbackError::ProviderUnavailable(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = tokens.id_token().ok_or(CallbackError::NoIdToken)?.clone();
        let no_nonce = |_: Option<&Nonce>| Ok(());
        let claims = self
            .verify_id_token(&id_token, no_nonce, tokens.access_token())
            .await?;
        if claims.subject().as_str() != sub {
            return Err(CallbackError::InvalidIdToken(
                "the refreshed ID token is about another subject".into(),
            ));
        }
        Ok(LoggedIn {
            profile: self.profile(tokens.access_token(), &claims).await?,
            sid: claims.additional_claims().sid.clone(),
            id_token,
            access_token: tokens.access_token().clone(),
            // A provider that does not rotate keeps the old one valid.
            refresh_token: tokens
                .refresh_token()
                .cloned()
                .or_else(|| Some(RefreshToken::new(refresh_token.to_owned()))),
        })
    }

    /// Fetches UserInfo for the ID token's subject (OIDC Core §5.3.2: its `sub` must
    /// match) and builds the profile the pages show.
    async fn profile(
        &self,
        access_token: &AccessToken,
        claims: &IdTokenClaims<PortalClaims, CoreGenderClaim>,
    ) -> Result<Profile, CallbackError> {
        let info: PortalUserInfo = self
            .client
            .user_info(access_token.clone(), Some(claims.subject().clone()))
            .map_err(|e| CallbackError::ProviderUnavailable(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(|e| CallbackError::ProviderUnavailable(format!("UserInfo: {e}")))?;
        Ok(Profile::from_claims(&info, claims.additional_claims()))
    }

    /// Verifies an ID token (OIDC Core §3.1.3.7): signature by a key of the provider's
    /// JWKS with the client's algorithm only, `iss`, `aud`, `azp`, `exp`, `iat`, the
    /// nonce, and `at_hash` when present (§3.1.3.8). A `kid` missing from the cached
    /// JWKS makes it fetch the JWKS once more.
    async fn verify_id_token(
        &self,
        id_token: &PortalIdToken,
        nonce: impl NonceVerifier + Copy,
        access_token: &AccessToken,
    ) -> Result<IdTokenClaims<PortalClaims, CoreGenderClaim>, CallbackError> {
        let mut jwks = self
            .jwks
            .current()
            .await
            .map_err(|e| CallbackError::ProviderUnavailable(e.to_string()))?;
        let mut refreshed = false;
        loop {
            let keys: JsonWebKeySet<CoreJsonWebKey> = serde_json::from_value((*jwks).clone())
                .map_err(|e| CallbackError::ProviderUnavailable(format!("JWKS: {e}")))?;
            let clock = self.clock.clone();
            let verifier = IdTokenVerifier::new_public_client(
                self.client_id.clone(),
                self.issuer.clone(),
                keys,
            )
            .set_allowed_algs([self.alg.clone()])
            .set_time_fn(move || {
                chrono::DateTime::from_timestamp(clock.now(), 0).unwrap_or_default()
            });
            match id_token.claims(&verifier, nonce) {
                Ok(claims) => {
                    check_at_hash(id_token, &verifier, claims, access_token)?;
                    return Ok(claims.clone());
                }
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )) if !refreshed => {
                    refreshed = true;
                    match self.jwks.refresh().await {
                        Ok(Some(fresh)) => jwks = fresh,
                        _ => {
                            return Err(CallbackError::InvalidIdToken("unknown signing key".into()))
                        }
                    }
                }
                Err(ClaimsVerificationError::InvalidNonce(_)) => {
                    return Err(CallbackError::NonceMismatch)
                }
                Err(e) => return Err(CallbackError::InvalidIdToken(e.to_string())),
            }
        }
    }

    /// The end_session_endpoint URL (RP-Initiated Logout 1.0 §2) with id_token_hint,
    /// client_id, the portal's registered post_logout_redirect_uri and `state`;
    /// `None` when the provider has no end_session_endpoint.
    pub fn end_session_url(&self, id_token: &PortalIdToken, state: &str) -> Option<Url> {
        let endpoint = self.end_session_endpoint.clone()?;
        Some(
            LogoutRequest::from(endpoint)
                .set_id_token_hint(id_token)
                .set_client_id(self.client_id.clone())
                .set_post_logout_redirect_uri(self.post_logout_redirect_uri.clone())
                .set_state(CsrfToken::new(state.to_owned()))
                .http_get_url(),
        )
    }
}

fn check_at_hash(
    id_token: &PortalIdToken,
    verifier: &IdTokenVerifier<'_, CoreJsonWebKey>,
    claims: &IdTokenClaims<PortalClaims, CoreGenderClaim>,
    access_token: &AccessToken,
) -> Result<(), CallbackError> {
    let Some(expected) = claims.access_token_hash() else {
        return Ok(());
    };
    let invalid =
        |e: &dyn std::fmt::Display| CallbackError::InvalidIdToken(format!("at_hash: {e}"));
    let alg = id_token.signing_alg().map_err(|e| invalid(&e))?;
    let key = id_token.signing_key(verifier).map_err(|e| invalid(&e))?;
    let actual = AccessTokenHash::from_token(access_token, alg, key).map_err(|e| invalid(&e))?;
    if &actual == expected {
        Ok(())
    } else {
        Err(invalid(&"it does not match the access token"))
    }
}

fn token_error<E: std::error::Error>(
    e: RequestTokenError<E, StandardErrorResponse<CoreErrorResponseType>>,
) -> CallbackError {
    match e {
        RequestTokenError::ServerResponse(r) => CallbackError::CodeExchange {
            error: r.error().to_string(),
            description: r.error_description().cloned(),
        },
        RequestTokenError::Request(e) => CallbackError::ProviderUnavailable(e.to_string()),
        RequestTokenError::Parse(e, _) => CallbackError::CodeExchange {
            error: "invalid_response".into(),
            description: Some(e.to_string()),
        },
        RequestTokenError::Other(e) => CallbackError::CodeExchange {
            error: "invalid_response".into(),
            description: Some(e),
        },
    }
}
