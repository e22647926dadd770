//! Issuing authorization codes and tokens: ID tokens (OIDC Core §2), JWT access
//! tokens (RFC 9068) and rotating refresh tokens (RFC 9700 §4.14.2).

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::authorization_response;
use super::authorize::AuthorizationRequest;
use super::client::{Client, GrantType};
use super::scope::Scope;
use crate::crypto;
use crate::crypto::keys::JwtType;
use crate::db::grants::{self, GrantRow};
use crate::db::sessions::SessionRow;
use crate::db::tokens::{self, NewAccessToken};
use crate::db::users::User;
use crate::error::Internal;
use crate::state::AppState;

/// Creates the grant and its code for `request`, authorized by `session`, and returns
/// the redirect URL carrying `code`, `state` and `iss` (RFC 6749 §4.1.2, RFC 9207).
/// The code holds 256 random bits, is stored hashed, and lives
/// `tokens.code_seconds` (at most 60 s).
///
/// # Errors
/// Database errors.
pub async fn issue_code(
    state: &AppState,
    request: &AuthorizationRequest,
    session: &SessionRow,
) -> Result<String, Internal> {
    let now = state.clock.now();
    let code = crypto::random_token(32);
    let grant = GrantRow {
        id: crypto::random_id(),
        client_id: request.client_id.clone(),
        user_id: session.user_id.clone(),
        sid: Some(session.sid.clone()),
        redirect_uri: request.redirect_uri.clone(),
        redirect_uri_given: i64::from(request.redirect_uri_given),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        scope: request.scope.clone(),
        auth_time: session.auth_time,
        code_expires_at: now + state.config.tokens.code_seconds,
        expires_at: now + state.config.tokens.refresh_token_absolute_seconds,
        revoked_at: None,
    };
    grants::insert(&state.db, &grant, &crypto::sha256_b64(code.as_bytes()), now).await?;
    Ok(authorization_response(
        &request.redirect_uri,
        &[
            ("code", Some(code.as_str())),
            ("state", request.state.as_deref()),
            ("iss", Some(state.config.issuer.as_str())),
        ],
    ))
}

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// A JWT access token (RFC 9068).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Access-token lifetime in seconds.
    pub expires_in: i64,
    /// An opaque, rotating refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The ID token, when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The granted scope (omitted when empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// What tokens are issued for: a user's grant, or the client itself.
pub enum Subject<'a> {
    /// An end user, under a grant (authorization_code and refresh_token).
    User {
        /// The grant.
        grant: &'a GrantRow,
        /// The user.
        user: &'a User,
        /// The nonce to echo (only in the code exchange).
        nonce: Option<&'a str>,
        /// The refresh token of the response.
        refresh: Refresh<'a>,
    },
    /// The client acting for itself (client_credentials).
    Client,
}

/// The refresh token a user's token response carries (RFC 9700 §4.14.2).
#[derive(Debug, Clone, Copy)]
pub enum Refresh<'a> {
    /// The code exchange: start the grant's family with a new random token (256 bits),
    /// if the client may use the refresh_token grant.
    Start,
    /// A rotation already made this token the family's live one.
    Rotated(&'a str),
}

/// Issues an access token, plus an ID token when `openid` is in `scope` and a refresh
/// token when the client may use the refresh_token grant.
///
/// # Errors
/// Signing or database errors.
pub async fn issue_tokens(
    state: &AppState,
    client: &Client,
    subject: Subject<'_>,
    scope: &Scope,
) -> Result<TokenResponse, Internal> {
    let now = state.clock.now();
    let scope_str = scope.to_string();
    let grant = match &subject {
        Subject::User { grant, .. } => Some(*grant),
        Subject::Client => None,
    };
    let access_token = access_token(state, client, grant, &scope_str, now).await?;
    let mut response = TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.config.tokens.access_token_seconds,
        refresh_token: None,
        id_token: None,
        scope: scope_str,
    };
    let Subject::User {
        grant,
        user,
        nonce,
        refresh,
    } = subject
    else {
        return Ok(response);
    };
    response.refresh_token = refresh_token(state, client, grant, refresh, now).await?;
    if scope.contains("openid") {
        let id = IdTokenFor {
            client,
            grant,
            user,
            nonce,
            access_token: &response.access_token,
        };
        response.id_token = Some(id_token(state, &id, scope, now).await?);
    }
    Ok(response)
}

/// The refresh token of a user's token response: for [`Refresh::Start`], the first
/// token of the grant's family (256 random bits, stored hashed, idle after
/// `tokens.refresh_token_idle_seconds` and never past the grant) if the client may
/// use the refresh_token grant, else none; for [`Refresh::Rotated`], its token.
async fn refresh_token(
    state: &AppState,
    client: &Client,
    grant: &GrantRow,
    refresh: Refresh<'_>,
    now: i64,
) -> Result<Option<String>, Internal> {
    match refresh {
        Refresh::Start if client.allows(GrantType::RefreshToken) => {
            let token = crypto::random_token(32);
            let idle_expires_at = now + state.config.tokens.refresh_token_idle_seconds;
            let expires_at = idle_expires_at.min(grant.expires_at);
            let hash = crypto::sha256_b64(token.as_bytes());
            tokens::start_family(&state.db, grant, &hash, now, expires_at).await?;
            Ok(Some(token))
        }
        Refresh::Start => Ok(None),
        Refresh::Rotated(token) => Ok(Some(token.to_owned())),
    }
}

/// A JWT access token (RFC 9068 §2.2) for `grant` (a user) or for the client itself,
/// recorded by its `jti` for revocation and introspection.
async fn access_token(
    state: &AppState,
    client: &Client,
    grant: Option<&GrantRow>,
    scope: &str,
    now: i64,
) -> Result<String, Internal> {
    let cfg = &state.config.tokens;
    let jti = crypto::random_id();
    let expires_in = cfg.access_token_seconds;
    let sub = grant.map_or(client.client_id.as_str(), |g| g.user_id.as_str());
    let mut at = Map::new();
    at.insert("iss".into(), json!(state.config.issuer));
    at.insert("sub".into(), json!(sub));
    at.insert("aud".into(), json!(client.client_id));
    at.insert("client_id".into(), json!(client.client_id));
    at.insert("iat".into(), json!(now));
    at.insert("exp".into(), json!(now + expires_in));
    at.insert("jti".into(), json!(jti));
    at.insert("scope".into(), json!(scope));
    if let Some(grant) = grant {
        at.insert("auth_time".into(), json!(grant.auth_time));
        if let Some(sid) = &grant.sid {
            at.insert("sid".into(), json!(sid));
        }
    }
    let token = state
        .keys
        .sign(cfg.access_token_alg, JwtType::AccessToken, at)?;
    tokens::insert_access(
        &state.db,
        &NewAccessToken {
            jti: &jti,
            client_id: &client.client_id,
            grant_id: grant.map(|g| g.id.as_str()),
            user_id: grant.map(|g| g.user_id.as_str()),
            scope,
            created_at: now,
            expires_at: now + expires_in,
        },
    )
    .await?;
    Ok(token)
}

/// Who an ID token is for, and the access token it is issued with.
struct IdTokenFor<'a> {
    client: &'a Client,
    grant: &'a GrantRow,
    user: &'a User,
    nonce: Option<&'a str>,
    access_token: &'a str,
}

/// An ID token (OIDC Core §2): `iss sub aud azp iat exp auth_time at_hash`, `nonce`
/// and `sid` when known, and the claims `scope` releases.
async fn id_token(
    state: &AppState,
    id: &IdTokenFor<'_>,
    scope: &Scope,
    now: i64,
) -> Result<String, Internal> {
    let alg = id.client.id_token_alg;
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(state.config.issuer));
    claims.insert("sub".into(), json!(id.user.id));
    claims.insert("aud".into(), json!(id.client.client_id));
    claims.insert("azp".into(), json!(id.client.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert(
        "exp".into(),
        json!(now + state.config.tokens.id_token_seconds),
    );
    claims.insert("auth_time".into(), json!(id.grant.auth_time));
    claims.insert("at_hash".into(), json!(alg.half_hash(id.access_token)));
    if let Some(nonce) = id.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if let Some(sid) = &id.grant.sid {
        claims.insert("sid".into(), json!(sid));
    }
    claims.extend(user_claims(id.user, scope));
    claims.extend(
        super::claims::product_claims(state, id.user, scope, &id.client.client_id, false).await?,
    );
    Ok(state.keys.sign(alg, JwtType::IdToken, claims)?)
}

/// The standard claims released for `scope` (OIDC Core §5.1, §5.4): `sub` always,
/// `profile` gives name, given_name, family_name, locale, zoneinfo, updated_at;
/// `email` gives email and email_verified. Absent values are omitted.
pub fn user_claims(user: &User, scope: &Scope) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    if scope.contains("profile") {
        claims.insert("name".into(), json!(user.display_name()));
        if !user.given_name.is_empty() {
            claims.insert("given_name".into(), json!(user.given_name));
        }
        if !user.family_name.is_empty() {
            claims.insert("family_name".into(), json!(user.family_name));
        }
        claims.insert("preferred_username".into(), json!(user.username));
        if let Some(locale) = &user.locale {
            claims.insert("locale".into(), json!(locale));
        }
        if let Some(zoneinfo) = &user.zoneinfo {
            claims.insert("zoneinfo".into(), json!(zoneinfo));
        }
        claims.insert("updated_at".into(), json!(user.updated_at));
    }
    if scope.contains("email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    claims
}
