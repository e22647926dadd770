//! Relying-party (client) rows.

use super::{is_unique_violation, Db};

/// A registered client as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientRow {
    /// The client identifier.
    pub client_id: String,
    /// Human-readable name.
    pub client_name: String,
    /// SHA-256 (base64url) of the client secret; `None` for public clients.
    pub secret_hash: Option<String>,
    /// RFC 7591 token_endpoint_auth_method.
    pub token_endpoint_auth_method: String,
    /// JSON array.
    pub redirect_uris: String,
    /// JSON array.
    pub post_logout_redirect_uris: String,
    /// JSON array.
    pub grant_types: String,
    /// Space-separated allowed scopes.
    pub scope: String,
    /// ID token signing algorithm.
    pub id_token_signed_response_alg: String,
    /// 0/1.
    pub require_pkce: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Back-Channel Logout 1.0 `backchannel_logout_uri`.
    pub backchannel_logout_uri: Option<String>,
}

const COLUMNS: &str = "client_id, client_name, secret_hash, token_endpoint_auth_method, \
    redirect_uris, post_logout_redirect_uris, grant_types, scope, \
    id_token_signed_response_alg, require_pkce, created_at, backchannel_logout_uri";

/// The client with `client_id`.
///
/// # Errors
/// Database errors.
pub async fn find(db: &Db, client_id: &str) -> sqlx::Result<Option<ClientRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM clients WHERE client_id = $1"
    ))
    .bind(client_id)
    .fetch_optional(db.pool())
    .await
}

/// All clients, by creation time.
///
/// # Errors
/// Database errors.
pub async fn list(db: &Db) -> sqlx::Result<Vec<ClientRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM clients ORDER BY created_at, client_id"
    ))
    .fetch_all(db.pool())
    .await
}

/// Inserts a client; `Ok(false)` if the client_id is taken.
///
/// # Errors
/// Database errors.
pub async fn insert(db: &Db, c: &ClientRow) -> sqlx::Result<bool> {
    let result = sqlx::query(&format!(
        "INSERT INTO clients ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&c.client_id)
    .bind(&c.client_name)
    .bind(&c.secret_hash)
    .bind(&c.token_endpoint_auth_method)
    .bind(&c.redirect_uris)
    .bind(&c.post_logout_redirect_uris)
    .bind(&c.grant_types)
    .bind(&c.scope)
    .bind(&c.id_token_signed_response_alg)
    .bind(c.require_pkce)
    .bind(c.created_at)
    .bind(&c.backchannel_logout_uri)
    .execute(db.pool())
    .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}
