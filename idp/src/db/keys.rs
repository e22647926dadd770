//! Signing-key rows.

use super::Db;

/// A stored signing key.
#[derive(Debug, sqlx::FromRow)]
pub struct KeyRow {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// JOSE algorithm name.
    pub alg: String,
    /// Public JWK (JSON).
    pub public_jwk: String,
    /// Private JWK as a compact JWE under the KEK.
    pub private_jwe: String,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// When it starts signing (Unix seconds).
    pub activates_at: i64,
}

/// A key to insert.
pub struct NewKey<'a> {
    /// RFC 7638 thumbprint.
    pub kid: &'a str,
    /// JOSE algorithm name.
    pub alg: &'a str,
    /// Public JWK (JSON).
    pub public_jwk: &'a str,
    /// Private JWK as a compact JWE under the KEK.
    pub private_jwe: &'a str,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// When it starts signing (Unix seconds): `created_at` for a first key, later
    /// for a rotation's.
    pub activates_at: i64,
}

/// Keys not retired, in activation order.
///
/// # Errors
/// Database errors.
pub async fn list_published(db: &Db) -> sqlx::Result<Vec<KeyRow>> {
    sqlx::query_as(
        "SELECT kid, alg, public_jwk, private_jwe, created_at, \
         COALESCE(activates_at, created_at) AS activates_at FROM signing_keys \
         WHERE retired_at IS NULL ORDER BY COALESCE(activates_at, created_at), created_at, kid",
    )
    .fetch_all(db.pool())
    .await
}

/// Inserts a new key.
///
/// # Errors
/// Database errors.
pub async fn insert(db: &Db, key: &NewKey<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, public_jwk, private_jwe, created_at, activates_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(key.kid)
    .bind(key.alg)
    .bind(key.public_jwk)
    .bind(key.private_jwe)
    .bind(key.created_at)
    .bind(key.activates_at)
    .execute(db.pool())
    .await?;
    Ok(())
}
