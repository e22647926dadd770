//! Registering relying parties (OAuth clients) with exact redirect URIs, done by an
//! operator (the CLI and the tests). No printing here; callers present the results.

use crate::crypto;
use crate::crypto::keys::SigningAlg;
use crate::db::clients::{self, ClientRow};
use crate::db::Db;
use crate::error::{internal_from, Internal};
use crate::oauth::client::{hash_secret, AuthMethod, GrantType};
use crate::oauth::redirect_uri::{self, RedirectUriError};
use crate::oauth::scope::Scope;

/// What to register.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// Display name.
    pub name: String,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`, or `none` (public).
    pub auth_method: AuthMethod,
    /// Grant types; empty means authorization_code and refresh_token.
    pub grant_types: Vec<GrantType>,
    /// Allowed scopes.
    pub scope: String,
    /// ID token algorithm.
    pub id_token_alg: SigningAlg,
    /// Whether a confidential client must use PKCE (public ones always must).
    pub require_pkce: bool,
    /// A chosen client_id; generated (128 bits) when `None`.
    pub client_id: Option<String>,
    /// Back-Channel Logout 1.0 endpoint.
    pub backchannel_logout_uri: Option<String>,
}

impl Default for ClientSpec {
    fn default() -> Self {
        Self {
            name: "Relying party".into(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            auth_method: AuthMethod::ClientSecretBasic,
            grant_types: Vec::new(),
            scope: "openid profile email offline_access".into(),
            id_token_alg: SigningAlg::RS256,
            require_pkce: true,
            client_id: None,
            backchannel_logout_uri: None,
        }
    }
}

/// A registered client and its secret (shown once; only its hash is stored).
#[derive(Debug)]
pub struct RegisteredClient {
    /// The stored row.
    pub row: ClientRow,
    /// The generated secret; `None` for public clients.
    pub secret: Option<String>,
}

/// Why [`create_client`] refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientSpecError {
    /// A redirect, post-logout or back-channel logout URI is not acceptable.
    #[error(transparent)]
    InvalidUri(#[from] RedirectUriError),
    /// The authorization_code grant without a redirect URI.
    #[error("at least one redirect URI is required for the authorization_code grant")]
    RedirectUriRequired,
    /// client_credentials for a public client (RFC 6749 §4.4 needs authentication).
    #[error("a public client cannot use client_credentials")]
    PublicClientCredentials,
    /// The scope is not space-separated scope tokens (RFC 6749 §3.3).
    #[error("malformed scope")]
    MalformedScope,
    /// The chosen client_id is empty, longer than 128, or has invisible characters.
    #[error("a client_id must be 1 to 128 visible characters")]
    InvalidClientId,
    /// The chosen client_id is taken.
    #[error("a client with client_id {0} already exists")]
    Exists(String),
    /// Database failures.
    #[error("{0}")]
    Internal(Internal),
}

internal_from!(ClientSpecError: sqlx::Error, serde_json::Error);

/// Registers a client with a generated 256-bit secret (confidential clients).
///
/// # Errors
/// [`ClientSpecError`]: invalid redirect, post-logout or back-channel logout URIs
/// ([`redirect_uri::validate_registered`], [`redirect_uri::validate_backchannel`]),
/// scope, grant types or client_id; a taken client_id; database errors.
pub async fn create_client(
    db: &Db,
    spec: ClientSpec,
    now: i64,
) -> Result<RegisteredClient, ClientSpecError> {
    let grant_types = checked_grants(&spec)?;
    let public = spec.auth_method == AuthMethod::None;
    let scope = Scope::parse(&spec.scope).map_err(|_| ClientSpecError::MalformedScope)?;
    let client_id = spec
        .client_id
        .clone()
        .unwrap_or_else(|| crypto::random_token(16));
    if client_id.is_empty()
        || client_id.len() > 128
        || client_id
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(ClientSpecError::InvalidClientId);
    }
    let secret = (!public).then(|| crypto::random_token(32));
    let grant_names: Vec<&str> = grant_types.iter().map(|g| g.as_str()).collect();
    let row = ClientRow {
        client_id: client_id.clone(),
        client_name: spec.name,
        secret_hash: secret.as_deref().map(hash_secret),
        token_endpoint_auth_method: spec.auth_method.as_str().to_owned(),
        redirect_uris: serde_json::to_string(&spec.redirect_uris)?,
        post_logout_redirect_uris: serde_json::to_string(&spec.post_logout_redirect_uris)?,
        grant_types: serde_json::to_string(&grant_names)?,
        scope: scope.to_string(),
        id_token_signed_response_alg: spec.id_token_alg.as_str().to_owned(),
        require_pkce: i64::from(public || spec.require_pkce),
        created_at: now,
        backchannel_logout_uri: spec.backchannel_logout_uri,
    };
    if !clients::insert(db, &row).await? {
        return Err(ClientSpecError::Exists(client_id));
    }
    Ok(RegisteredClient { row, secret })
}

/// The URIs checked, and the grant types (authorization_code and refresh_token
/// when none are given) checked against them and the authentication method.
fn checked_grants(spec: &ClientSpec) -> Result<Vec<GrantType>, ClientSpecError> {
    for uri in spec
        .redirect_uris
        .iter()
        .chain(&spec.post_logout_redirect_uris)
    {
        redirect_uri::validate_registered(uri)?;
    }
    if let Some(uri) = &spec.backchannel_logout_uri {
        redirect_uri::validate_backchannel(uri)?;
    }
    let grant_types = if spec.grant_types.is_empty() {
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    } else {
        spec.grant_types.clone()
    };
    if spec.redirect_uris.is_empty() && grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(ClientSpecError::RedirectUriRequired);
    }
    if spec.auth_method == AuthMethod::None && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(ClientSpecError::PublicClientCredentials);
    }
    Ok(grant_types)
}
