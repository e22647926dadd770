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
    /// The last lifecycle state recorded in the audit trail (`next`, `active`,
    /// `retired`, `removed`); none before the first.
    pub recorded_state: Option<String>,
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

/// Keys not revoked (including removed ones: their public part stays for
/// `id_token_hint`), in activation order.
///
/// # Errors
/// Database errors.
pub async fn list_published(db: &Db) -> sqlx::Result<Vec<KeyRow>> {
    sqlx::query_as(
        "SELECT kid, alg, public_jwk, private_jwe, created_at, \
         COALESCE(activates_at, created_at) AS activates_at, recorded_state FROM signing_keys \
         WHERE retired_at IS NULL AND revoked_at IS NULL \
         ORDER BY COALESCE(activates_at, created_at), created_at, kid",
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
        "INSERT INTO signing_keys \
         (kid, alg, public_jwk, private_jwe, created_at, activates_at, recorded_state) \
         VALUES ($1, $2, $3, $4, $5, $6, 'next')",
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

/// A summary that changes whenever a key is created, rescheduled or revoked: every
/// process polls it cheaply and reloads its key set when it moved.
///
/// # Errors
/// Database errors.
pub async fn version(db: &Db) -> sqlx::Result<(i64, i64, i64)> {
    sqlx::query_as(
        // SUM of BIGINT is NUMERIC on PostgreSQL: cast back to BIGINT.
        "SELECT COUNT(*), CAST(COALESCE(SUM(COALESCE(activates_at, 0)), 0) AS BIGINT), \
         CAST(COALESCE(SUM(COALESCE(revoked_at, 0)), 0) AS BIGINT) FROM signing_keys",
    )
    .fetch_one(db.pool())
    .await
}

/// Whether key `kid` exists and is revoked: `None` when there is no such key.
///
/// # Errors
/// Database errors.
pub async fn is_revoked(db: &Db, kid: &str) -> sqlx::Result<Option<bool>> {
    let row: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT revoked_at FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(at,)| at.is_some()))
}

/// Revokes key `kid` at `now`.
///
/// # Errors
/// Database errors.
pub async fn revoke(db: &Db, kid: &str, now: i64) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE signing_keys SET revoked_at = $2, recorded_state = 'revoked' \
         WHERE kid = $1 AND revoked_at IS NULL",
    )
    .bind(kid)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Moves the activation of key `kid` to `at`.
///
/// # Errors
/// Database errors.
pub async fn activate_at(db: &Db, kid: &str, at: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE signing_keys SET activates_at = $2 WHERE kid = $1")
        .bind(kid)
        .bind(at)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// How many signing keys are stored (revoked ones included).
///
/// # Errors
/// Database errors.
pub async fn count(db: &Db) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM signing_keys")
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// Moves key `kid`'s recorded state from `from` (`None`: never recorded) to `to`;
/// whether this call did (exactly one caller across processes wins).
///
/// # Errors
/// Database errors.
pub async fn advance_recorded(
    db: &Db,
    kid: &str,
    from: Option<&str>,
    to: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE signing_keys SET recorded_state = $3 WHERE kid = $1 AND revoked_at IS NULL \
         AND COALESCE(recorded_state, '') = COALESCE($2, '')",
    )
    .bind(kid)
    .bind(from)
    .bind(to)
    .execute(db.pool())
    .await?;
    Ok(r.rows_affected() == 1)
}
