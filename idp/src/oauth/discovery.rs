//! OpenID Provider Metadata (OIDC Discovery 1.0 §3, RFC 8414 §2) and the endpoint
//! paths it advertises; built once at startup and served from memory by
//! `http::oauth::discovery`.

use serde_json::{json, Value};

use crate::config::Config;
use crate::crypto::keys::SigningAlg;
use crate::oauth::scope;

/// The endpoint paths, relative to the issuer.
pub mod paths {
    /// Authorization endpoint (RFC 6749 §3.1).
    pub const AUTHORIZATION: &str = "/authorize";
    /// Token endpoint (RFC 6749 §3.2).
    pub const TOKEN: &str = "/token";
    /// UserInfo endpoint (OIDC Core §5.3).
    pub const USERINFO: &str = "/userinfo";
    /// JWKS (RFC 7517 §5).
    pub const JWKS: &str = "/jwks.json";
    /// Revocation endpoint (RFC 7009).
    pub const REVOCATION: &str = "/revoke";
    /// Introspection endpoint (RFC 7662).
    pub const INTROSPECTION: &str = "/introspect";
    /// End-session endpoint (RP-Initiated Logout 1.0).
    pub const END_SESSION: &str = "/logout";
}

/// The metadata document for `config.issuer`.
pub fn document(config: &Config) -> Value {
    let algs: Vec<&str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    let client_auth_methods = ["client_secret_basic", "client_secret_post"];
    json!({
        "issuer": config.issuer,
        "authorization_endpoint": config.url(paths::AUTHORIZATION),
        "token_endpoint": config.url(paths::TOKEN),
        "userinfo_endpoint": config.url(paths::USERINFO),
        "jwks_uri": config.url(paths::JWKS),
        "revocation_endpoint": config.url(paths::REVOCATION),
        "introspection_endpoint": config.url(paths::INTROSPECTION),
        "end_session_endpoint": config.url(paths::END_SESSION),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "scopes_supported": scope::SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": client_auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "sid",
            "name", "given_name", "family_name", "preferred_username", "locale", "zoneinfo",
            "updated_at", "email", "email_verified", "company", "roles",
            "support_level", "support_phone", "support_pin"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
}
