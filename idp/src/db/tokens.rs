//! Access-token rows and refresh-token families. Access tokens are JWTs (RFC 9068);
//! the row records their `jti` so they can be revoked and introspected. Refresh tokens
//! are opaque and stored as SHA-256 hashes: the grant row holds its family's one live
//! token, `refresh_tokens` every token ever issued (the history that maps an old token
//! to its family, for reuse detection).

use sqlx::{Any, AnyConnection, Executor};

use super::grants::{self, GrantRow};
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

/// A refresh-token family as its grant row holds it, found through any token of the
/// family (RFC 9700 §4.14.2).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FamilyRow {
    /// The grant (family) id.
    pub grant_id: String,
    /// The client the family belongs to.
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// The granted scope, space-separated.
    pub scope: String,
    /// Absolute end of the family (Unix seconds).
    pub expires_at: i64,
    /// When the grant was revoked (Unix seconds).
    pub revoked_at: Option<i64>,
    /// SHA-256 (base64url) of the family's one live refresh token.
    pub refresh_hash: Option<String>,
    /// SHA-256 of the token the live one replaced.
    pub refresh_prev_hash: Option<String>,
    /// When the live token replaced it (Unix seconds).
    pub refresh_rotated_at: Option<i64>,
    /// Idle expiry of the live token (Unix seconds, at most `expires_at`).
    pub refresh_expires_at: Option<i64>,
}

impl FamilyRow {
    /// Whether the token hashed `token_hash` is this family's live refresh token at
    /// `now`: the head, not idle-expired, in a family neither revoked nor expired.
    pub fn is_live_head(&self, token_hash: &str, now: i64) -> bool {
        self.revoked_at.is_none()
            && self.expires_at > now
            && self.refresh_hash.as_deref() == Some(token_hash)
            && self.refresh_expires_at.is_some_and(|e| e > now)
    }
}

/// The family of the refresh token hashed `token_hash` (the live one or any it
/// replaced), through the token history.
///
/// # Errors
/// Database errors.
pub async fn find_family(db: &Db, token_hash: &str) -> sqlx::Result<Option<FamilyRow>> {
    sqlx::query_as(
        "SELECT g.id AS grant_id, g.client_id, g.user_id, g.scope, g.expires_at, g.revoked_at, \
         g.refresh_hash, g.refresh_prev_hash, g.refresh_rotated_at, g.refresh_expires_at \
         FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db.pool())
    .await
}

/// Makes `token_hash` the first live refresh token of `grant` (after the code
/// exchange) and records it in the history, in one transaction. `expires_at` is its
/// idle expiry, already capped at the grant's absolute end.
///
/// # Errors
/// Database errors.
pub async fn start_family(
    db: &Db,
    grant: &GrantRow,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    insert_history(&mut tx, token_hash, grant, None, now).await?;
    sqlx::query(
        "UPDATE grants SET refresh_hash = $2, refresh_prev_hash = NULL, refresh_rotated_at = NULL, \
         refresh_expires_at = $3 WHERE id = $1",
    )
    .bind(&grant.id)
    .bind(token_hash)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// One rotation request of a family: who asks, what they present, and what the child
/// must be (RFC 9700 §4.14.2).
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    /// The family (grant id).
    pub grant_id: &'a str,
    /// The authenticated client.
    pub client_id: &'a str,
    /// SHA-256 of the presented refresh token.
    pub presented_hash: &'a str,
    /// SHA-256 of the child derived from the presented token.
    pub child_hash: &'a str,
    /// Unix seconds.
    pub now: i64,
    /// The newest rotation time a retry still matches (`now` minus the grace window).
    pub retry_since: i64,
    /// Idle expiry for a new live token (`now` plus the idle lifetime); capped at the
    /// grant's absolute end in the statement.
    pub idle_expires_at: i64,
}

/// Rotates a family in ONE conditional UPDATE of its grant row, so that concurrent
/// requests (in any number of processes, on SQLite and PostgreSQL) are serialised by
/// the row: it matches if the grant is live (not revoked, unexpired, this client) and
/// either
/// - the presented token is the live one and not idle-expired: the child becomes the
///   live token, the presented one its predecessor, `refresh_rotated_at` = now; or
/// - the presented token is the predecessor of the live one, the live one is its child
///   and the rotation is no older than `retry_since`: a retry of the newest rotation,
///   nothing changes (the rotation time stays).
///
/// On a match the child is added to the history (idempotent) in the same transaction
/// and the grant returned; `None` means neither branch matched.
///
/// # Errors
/// Database errors.
pub async fn rotate_refresh(db: &Db, r: &Rotation<'_>) -> sqlx::Result<Option<GrantRow>> {
    let mut tx = db.begin().await?;
    let grant: Option<GrantRow> = sqlx::query_as(&format!(
        "UPDATE grants SET \
         refresh_prev_hash = CASE WHEN refresh_hash = $3 THEN $3 ELSE refresh_prev_hash END, \
         refresh_rotated_at = CASE WHEN refresh_hash = $3 THEN $5 ELSE refresh_rotated_at END, \
         refresh_expires_at = CASE WHEN refresh_hash = $3 \
           THEN (CASE WHEN expires_at < $7 THEN expires_at ELSE $7 END) ELSE refresh_expires_at END, \
         refresh_hash = $4 \
         WHERE id = $1 AND client_id = $2 AND revoked_at IS NULL AND expires_at > $5 \
         AND ((refresh_hash = $3 AND refresh_expires_at > $5) \
           OR (refresh_prev_hash = $3 AND refresh_hash = $4 AND refresh_rotated_at >= $6)) \
         RETURNING {}",
        grants::COLUMNS
    ))
    .bind(r.grant_id)
    .bind(r.client_id)
    .bind(r.presented_hash)
    .bind(r.child_hash)
    .bind(r.now)
    .bind(r.retry_since)
    .bind(r.idle_expires_at)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(grant) = &grant {
        insert_history(&mut tx, r.child_hash, grant, Some(r.presented_hash), r.now).await?;
    }
    tx.commit().await?;
    Ok(grant)
}

/// Revokes the family after reuse: `presented_hash` belongs to it but is neither its
/// live token nor a retry of its newest rotation (the negation of the match in
/// [`rotate_refresh`], checked in the same statement as the revocation). Revoking the
/// grant ends every refresh token of the family and every access token issued from
/// it. Returns whether this call revoked it.
///
/// # Errors
/// Database errors.
pub async fn revoke_reused<'e>(
    ex: impl Executor<'e, Database = Any>,
    r: &Rotation<'_>,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE grants SET revoked_at = $5 \
         WHERE id = $1 AND client_id = $2 AND revoked_at IS NULL AND expires_at > $5 \
         AND COALESCE(refresh_hash, '') <> $3 \
         AND NOT (COALESCE(refresh_prev_hash, '') = $3 AND COALESCE(refresh_hash, '') = $4 \
                  AND COALESCE(refresh_rotated_at, 0) >= $6)",
    )
    .bind(r.grant_id)
    .bind(r.client_id)
    .bind(r.presented_hash)
    .bind(r.child_hash)
    .bind(r.now)
    .bind(r.retry_since)
    .execute(ex)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Adds a refresh token of `grant` to the history of its family, kept until the
/// family's absolute end. Adding the same token twice (a retried rotation) is a no-op.
async fn insert_history(
    conn: &mut AnyConnection,
    token_hash: &str,
    grant: &GrantRow,
    parent_hash: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, grant_id, scope, parent_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token_hash) DO NOTHING",
    )
    .bind(token_hash)
    .bind(&grant.id)
    .bind(&grant.scope)
    .bind(parent_hash)
    .bind(now)
    .bind(grant.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}
