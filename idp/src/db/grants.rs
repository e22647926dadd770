//! Grants: one row per authorization, holding the authorization code and then
//! anchoring the refresh-token family and access tokens issued from it. Revoking the
//! grant revokes everything issued under it.

use super::Db;

/// A grant as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GrantRow {
    /// Grant (family) id.
    pub id: String,
    /// The client the code was issued to.
    pub client_id: String,
    /// The user who authorized.
    pub user_id: String,
    /// Browser session id (`sid`).
    pub sid: Option<String>,
    /// The redirect_uri the code was sent to.
    pub redirect_uri: String,
    /// 1 if the authorization request carried redirect_uri (then the token request must).
    pub redirect_uri_given: i64,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// Granted scope, space-separated.
    pub scope: String,
    /// Time of the login this grant rests on (Unix seconds).
    pub auth_time: i64,
    /// When the code expires (Unix seconds).
    pub code_expires_at: i64,
    /// Absolute end of the refresh-token family.
    pub expires_at: i64,
    /// When the grant was revoked.
    pub revoked_at: Option<i64>,
}

/// The columns of [`GrantRow`], in order.
pub(crate) const COLUMNS: &str = "id, client_id, user_id, sid, redirect_uri, redirect_uri_given, \
    code_challenge, nonce, scope, auth_time, code_expires_at, expires_at, revoked_at";

/// Inserts a grant with its (hashed) code.
///
/// # Errors
/// Database errors.
pub async fn insert(db: &Db, g: &GrantRow, code_hash: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO grants (id, code_hash, client_id, user_id, sid, redirect_uri, \
         redirect_uri_given, code_challenge, nonce, scope, auth_time, created_at, code_expires_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&g.id)
    .bind(code_hash)
    .bind(&g.client_id)
    .bind(&g.user_id)
    .bind(&g.sid)
    .bind(&g.redirect_uri)
    .bind(g.redirect_uri_given)
    .bind(&g.code_challenge)
    .bind(&g.nonce)
    .bind(&g.scope)
    .bind(g.auth_time)
    .bind(now)
    .bind(g.code_expires_at)
    .bind(g.expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Marks the code used, atomically: of any number of concurrent calls for one code,
/// exactly one gets the grant (RFC 6749 §4.1.2, "MUST NOT be used more than once").
///
/// # Errors
/// Database errors.
pub async fn redeem_code(
    db: &Db,
    code_hash: &str,
    client_id: &str,
    now: i64,
) -> sqlx::Result<Option<GrantRow>> {
    sqlx::query_as(&format!(
        "UPDATE grants SET code_used_at = $3 \
         WHERE code_hash = $1 AND client_id = $2 AND code_used_at IS NULL AND revoked_at IS NULL \
         RETURNING {COLUMNS}"
    ))
    .bind(code_hash)
    .bind(client_id)
    .bind(now)
    .fetch_optional(db.pool())
    .await
}

/// Revokes the grant of an already-used code presented again by the same client
/// (RFC 6749 §4.1.2: "SHOULD revoke all tokens previously issued based on that code").
/// Returns whether such a code existed.
///
/// # Errors
/// Database errors.
pub async fn revoke_replayed_code(
    db: &Db,
    code_hash: &str,
    client_id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE grants SET revoked_at = COALESCE(revoked_at, $3) \
         WHERE code_hash = $1 AND client_id = $2 AND code_used_at IS NOT NULL",
    )
    .bind(code_hash)
    .bind(client_id)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(result.rows_affected() > 0)
}

/// The grant with this id.
///
/// # Errors
/// Database errors.
pub async fn find(db: &Db, id: &str) -> sqlx::Result<Option<GrantRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM grants WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await
}

/// Revokes a grant, and with it its refresh tokens and access tokens.
///
/// # Errors
/// Database errors.
pub async fn revoke(db: &Db, id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(())
}
