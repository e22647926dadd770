//! Access-token and refresh-token rows. Access tokens are JWTs (RFC 9068); the row
//! records their `jti` so they can be revoked and introspected. Refresh tokens are
//! opaque and stored as SHA-256 hashes.

use super::Db;

/// An access token to record.
pub struct NewAccessToken<'a> {
    /// The JWT's `jti`.
    pub jti: &'a str,
    /// The client it was issued to.
    pub client_id: &'a str,
    /// The grant it was issued under; `None` for client_credentials.
    pub grant_id: Option<&'a str>,
    /// The user; `None` for client_credentials.
    pub user_id: Option<&'a str>,
    /// Space-separated scope.
    pub scope: &'a str,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Records an access token.
///
/// # Errors
/// Database errors.
pub async fn insert_access(db: &Db, t: &NewAccessToken<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO access_tokens (jti, client_id, grant_id, user_id, scope, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.jti)
    .bind(t.client_id)
    .bind(t.grant_id)
    .bind(t.user_id)
    .bind(t.scope)
    .bind(t.created_at)
    .bind(t.expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Whether the access token `jti` is still live: not revoked itself, its grant not
/// revoked, and its user not disabled. One query.
///
/// # Errors
/// Database errors.
pub async fn access_token_is_live(db: &Db, jti: &str) -> sqlx::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM access_tokens a \
         LEFT JOIN grants g ON g.id = a.grant_id \
         LEFT JOIN users u ON u.id = a.user_id \
         WHERE a.jti = $1 AND a.revoked_at IS NULL AND g.revoked_at IS NULL \
         AND (u.id IS NULL OR u.disabled = 0)",
    )
    .bind(jti)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.is_some())
}

/// Revokes one access token if it belongs to `client_id`.
///
/// # Errors
/// Database errors.
pub async fn revoke_access(db: &Db, jti: &str, client_id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE access_tokens SET revoked_at = $3 \
         WHERE jti = $1 AND client_id = $2 AND revoked_at IS NULL",
    )
    .bind(jti)
    .bind(client_id)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A refresh token as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshRow {
    /// The grant (family).
    pub grant_id: String,
    /// Scope bound to this token.
    pub scope: String,
    /// Idle expiry (Unix seconds).
    pub expires_at: i64,
    /// When it was rotated, if it was.
    pub used_at: Option<i64>,
    /// When it was revoked (a sibling replaced it in the grace window).
    #[sqlx(default)]
    pub revoked_at: Option<i64>,
    /// The client of its grant (filled by [`find_refresh`] only).
    #[sqlx(default)]
    pub client_id: String,
}

/// Stores a refresh token's hash.
///
/// # Errors
/// Database errors.
pub async fn insert_refresh(
    db: &Db,
    token_hash: &str,
    grant_id: &str,
    scope: &str,
    parent_hash: Option<&str>,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, grant_id, scope, parent_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(grant_id)
    .bind(scope)
    .bind(parent_hash)
    .bind(now)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Marks an unused refresh token of `client_id` used (rotation), atomically; `None`
/// if it is unknown, foreign or was already used.
///
/// # Errors
/// Database errors.
pub async fn rotate_refresh(
    db: &Db,
    token_hash: &str,
    client_id: &str,
    now: i64,
) -> sqlx::Result<Option<RefreshRow>> {
    sqlx::query_as(
        "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL \
         AND grant_id IN (SELECT id FROM grants WHERE client_id = $3) \
         RETURNING grant_id, scope, expires_at, used_at",
    )
    .bind(token_hash)
    .bind(now)
    .bind(client_id)
    .fetch_optional(db.pool())
    .await
}

/// The refresh token with this hash, used or not.
///
/// # Errors
/// Database errors.
pub async fn find_refresh(db: &Db, token_hash: &str) -> sqlx::Result<Option<RefreshRow>> {
    sqlx::query_as(
        "SELECT r.grant_id, r.scope, r.expires_at, r.used_at, r.revoked_at, g.client_id \
         FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db.pool())
    .await
}

/// Revokes the unused children of a rotated refresh token: when a rotated token is
/// presented again within the grace window, only the newest child stays valid.
///
/// # Errors
/// Database errors.
pub async fn revoke_children(db: &Db, parent_hash: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE parent_hash = $1 AND revoked_at IS NULL",
    )
    .bind(parent_hash)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}
