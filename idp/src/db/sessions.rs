//! Browser-session rows (the SSO session).

use super::Db;

/// A live browser session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    /// Public session id, the `sid` claim.
    pub sid: String,
    /// The logged-in user.
    pub user_id: String,
    /// When the user last authenticated (Unix seconds).
    pub auth_time: i64,
    /// Absolute end (Unix seconds).
    pub expires_at: i64,
    /// 0/1: the user still has to replace a one-time password.
    pub must_change_password: i64,
}

impl SessionRow {
    /// Whether the user must set a new password before anything else.
    pub fn must_change_password(&self) -> bool {
        self.must_change_password != 0
    }
}

/// A session to insert.
pub struct NewSession<'a> {
    /// SHA-256 of the cookie value.
    pub id_hash: &'a str,
    /// Public session id.
    pub sid: &'a str,
    /// The user.
    pub user_id: &'a str,
    /// Login time.
    pub auth_time: i64,
    /// Absolute end.
    pub expires_at: i64,
    /// Browser's User-Agent, truncated.
    pub user_agent: Option<&'a str>,
    /// Client IP.
    pub ip: Option<&'a str>,
}

/// Inserts a session.
///
/// # Errors
/// Database errors.
pub async fn insert(db: &Db, s: &NewSession<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO browser_sessions (id_hash, sid, user_id, auth_time, created_at, last_seen_at, \
         expires_at, user_agent, ip) VALUES ($1, $2, $3, $4, $4, $4, $5, $6, $7)",
    )
    .bind(s.id_hash)
    .bind(s.sid)
    .bind(s.user_id)
    .bind(s.auth_time)
    .bind(s.expires_at)
    .bind(s.user_agent)
    .bind(s.ip)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The live session with this cookie hash, touching its last use: one statement that
/// checks the absolute end, the idle limit (`idle_seconds`) and the user's state.
///
/// # Errors
/// Database errors.
pub async fn touch_active(
    db: &Db,
    id_hash: &str,
    now: i64,
    idle_seconds: i64,
) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as(
        "UPDATE browser_sessions SET last_seen_at = $2 \
         WHERE id_hash = $1 AND ended_at IS NULL AND expires_at > $2 AND last_seen_at > $3 \
         AND EXISTS (SELECT 1 FROM users u WHERE u.id = browser_sessions.user_id AND u.disabled = 0) \
         RETURNING sid, user_id, auth_time, expires_at, \
         (SELECT u.must_change_password FROM users u WHERE u.id = browser_sessions.user_id) \
         AS must_change_password",
    )
    .bind(id_hash)
    .bind(now)
    .bind(now - idle_seconds)
    .fetch_optional(db.pool())
    .await
}

/// Ends the session with this cookie hash.
///
/// # Errors
/// Database errors.
pub async fn end(db: &Db, id_hash: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE browser_sessions SET ended_at = $2 WHERE id_hash = $1 AND ended_at IS NULL",
    )
    .bind(id_hash)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}
