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

/// A session as the profile lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionInfo {
    /// Public session id.
    pub sid: String,
    /// Login time.
    pub auth_time: i64,
    /// Last use.
    pub last_seen_at: i64,
    /// User-Agent at login.
    pub user_agent: Option<String>,
    /// Client IP at login.
    pub ip: Option<String>,
}

/// The user's live sessions, most recently used first.
///
/// # Errors
/// Database errors.
pub async fn list_for_user(
    db: &Db,
    user_id: &str,
    now: i64,
    idle_seconds: i64,
) -> sqlx::Result<Vec<SessionInfo>> {
    sqlx::query_as(
        "SELECT sid, auth_time, last_seen_at, user_agent, ip FROM browser_sessions \
         WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2 AND last_seen_at > $3 \
         ORDER BY last_seen_at DESC, sid",
    )
    .bind(user_id)
    .bind(now)
    .bind(now - idle_seconds)
    .fetch_all(db.pool())
    .await
}

/// Ends the user's sessions other than `keep_sid` (all of them when `None`), and the
/// grants (refresh-token families and their access tokens) not issued to `keep_sid`.
/// Returns how many sessions ended.
///
/// # Errors
/// Database errors.
pub async fn end_others(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    keep_sid: Option<&str>,
    now: i64,
) -> sqlx::Result<u64> {
    let keep = keep_sid.unwrap_or("");
    let ended = sqlx::query(
        "UPDATE browser_sessions SET ended_at = $3 WHERE user_id = $1 AND ended_at IS NULL AND sid <> $2",
    )
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE grants SET revoked_at = $3 WHERE user_id = $1 AND revoked_at IS NULL \
         AND (sid IS NULL OR sid <> $2)",
    )
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(ended)
}

/// Ends one session of the user, with the grants issued through it, in the caller's
/// transaction. Returns whether a live session ended.
///
/// # Errors
/// Database errors.
pub async fn end_one(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    sid: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let ended = sqlx::query(
        "UPDATE browser_sessions SET ended_at = $3 WHERE user_id = $1 AND sid = $2 AND ended_at IS NULL",
    )
    .bind(user_id)
    .bind(sid)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE grants SET revoked_at = $3 WHERE user_id = $1 AND sid = $2 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(sid)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(ended == 1)
}

/// The public ids of the user's sessions that have not ended, except `keep_sid`.
///
/// # Errors
/// Database errors.
pub async fn live_sids<'e>(
    ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    user_id: &str,
    keep_sid: Option<&str>,
) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT sid FROM browser_sessions WHERE user_id = $1 AND ended_at IS NULL AND sid <> $2",
    )
    .bind(user_id)
    .bind(keep_sid.unwrap_or(""))
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|(sid,)| sid).collect())
}
