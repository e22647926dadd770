//! Pending authorization requests: a validated request waiting for the browser that
//! made it to finish logging in.
//!
//! Storage is bounded (docs/security.md): before a request is stored, the oldest
//! pending requests of its client, its browser and its client network are evicted so
//! that each keeps at most its cap (`authorize.*`), the new one included. The client
//! cap uses a per-client sequence number (`authorization_request_counters`), so it
//! costs one index range however large the cap; the browser and network caps skip at
//! most their cap in an index. Expired requests count until the purge removes them.
//!
//! On PostgreSQL a deleted row keeps its space until a VACUUM marks it reusable, so
//! a flood would grow the table with every eviction until autovacuum comes by (about
//! a minute). Each process therefore vacuums the table after every
//! [`VACUUM_EVERY_EVICTIONS`] evictions, which bounds the table by the caps plus that
//! many rows per process. SQLite reuses freed pages at once.

use std::sync::atomic::Ordering;

use super::{Backend, Db};
use crate::config::AuthorizeConfig;

/// Evictions by one process after which it vacuums `authorization_requests` on
/// PostgreSQL.
pub const VACUUM_EVERY_EVICTIONS: u64 = 500;

/// Most rows one insert evicts per cap (more only after a cap was lowered; the rest
/// go with the next inserts and the purge).
const EVICT_BATCH: i64 = 1000;

/// A pending request.
#[derive(Debug, sqlx::FromRow)]
pub struct PendingRow {
    /// JSON of the validated request.
    pub params: String,
    /// When it was stored (Unix seconds).
    pub created_at: i64,
}

/// A pending request to store.
#[derive(Debug)]
pub struct NewPending<'a> {
    /// SHA-256 (base64url) of the id in the login URL.
    pub id_hash: &'a str,
    /// SHA-256 (base64url) of the browser-binding cookie.
    pub browser_hash: &'a str,
    /// The client that made the request.
    pub client_id: &'a str,
    /// The client network (`ClientIp::network`: an IPv4 address or an IPv6 /64).
    pub network: &'a str,
    /// JSON of the validated request.
    pub params: &'a str,
    /// Now (Unix seconds).
    pub created_at: i64,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
}

/// Stores a pending request, first evicting the oldest ones of the same client,
/// browser and network beyond `caps` (the new request always stays), in one
/// transaction. Concurrent inserts for different clients may overshoot the browser
/// and network caps by the number of inserts in flight; inserts for one client are
/// serialised by its counter row.
///
/// # Errors
/// Database errors.
pub async fn insert(db: &Db, new: &NewPending<'_>, caps: &AuthorizeConfig) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    let seq = next_client_seq(&mut tx, new.client_id).await?;
    let evicted = evict_beyond_caps(&mut tx, new, seq, caps).await?;
    sqlx::query(
        "INSERT INTO authorization_requests \
         (id_hash, browser_hash, client_id, network, client_seq, params, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new.id_hash)
    .bind(new.browser_hash)
    .bind(new.client_id)
    .bind(new.network)
    .bind(seq)
    .bind(new.params)
    .bind(new.created_at)
    .bind(new.expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    vacuum_if_due(db, evicted).await
}

/// The client's next sequence number (1, 2, …) from its counter row, whose update
/// serialises the inserts for one client.
async fn next_client_seq(tx: &mut sqlx::AnyConnection, client_id: &str) -> sqlx::Result<i64> {
    let (seq,): (i64,) = sqlx::query_as(
        "INSERT INTO authorization_request_counters (client_id, next_seq) VALUES ($1, 1) \
         ON CONFLICT (client_id) DO UPDATE \
         SET next_seq = authorization_request_counters.next_seq + 1 \
         RETURNING next_seq",
    )
    .bind(client_id)
    .fetch_one(tx)
    .await?;
    Ok(seq)
}

/// Deletes the oldest pending requests of `new`'s client (`seq` is `new`'s sequence
/// number), browser and network beyond `caps`, leaving room for `new`; returns how
/// many went.
async fn evict_beyond_caps(
    tx: &mut sqlx::AnyConnection,
    new: &NewPending<'_>,
    seq: i64,
    caps: &AuthorizeConfig,
) -> sqlx::Result<u64> {
    let by_client =
        sqlx::query("DELETE FROM authorization_requests WHERE client_id = $1 AND client_seq <= $2")
            .bind(new.client_id)
            .bind(seq - caps.max_pending_per_client)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    let by_browser = evict_oldest(
        tx,
        "browser_hash",
        new.browser_hash,
        caps.max_pending_per_browser,
    )
    .await?;
    let by_network = evict_oldest(tx, "network", new.network, caps.max_pending_per_network).await?;
    Ok(by_client + by_browser + by_network)
}

/// On PostgreSQL, after `evicted` more evictions: vacuums the table each time this
/// process's evictions pass another multiple of [`VACUUM_EVERY_EVICTIONS`].
async fn vacuum_if_due(db: &Db, evicted: u64) -> sqlx::Result<()> {
    if evicted == 0 || db.backend() != Backend::Postgres {
        return Ok(());
    }
    let before = db.pending_evictions().fetch_add(evicted, Ordering::Relaxed);
    if (before + evicted) / VACUUM_EVERY_EVICTIONS > before / VACUUM_EVERY_EVICTIONS {
        // Not in a transaction; the simple query protocol.
        sqlx::raw_sql("VACUUM authorization_requests")
            .execute(db.pool())
            .await?;
    }
    Ok(())
}

/// Deletes the oldest pending requests whose `column` (`browser_hash` or `network`,
/// each indexed with `created_at`) is `value`, keeping the newest `cap - 1` (room for
/// the one being stored); returns how many went.
async fn evict_oldest(
    tx: &mut sqlx::AnyConnection,
    column: &'static str,
    value: &str,
    cap: i64,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(&format!(
        "DELETE FROM authorization_requests WHERE id_hash IN \
         (SELECT id_hash FROM authorization_requests WHERE {column} = $1 \
          ORDER BY created_at DESC LIMIT $2 OFFSET $3)"
    ))
    .bind(value)
    .bind(EVICT_BATCH)
    .bind(cap - 1)
    .execute(tx)
    .await?
    .rows_affected())
}

/// The unexpired pending request with this id, if it belongs to this browser.
///
/// # Errors
/// Database errors.
pub async fn find(
    db: &Db,
    id_hash: &str,
    browser_hash: &str,
    now: i64,
) -> sqlx::Result<Option<PendingRow>> {
    sqlx::query_as(
        "SELECT params, created_at FROM authorization_requests \
         WHERE id_hash = $1 AND browser_hash = $2 AND expires_at > $3",
    )
    .bind(id_hash)
    .bind(browser_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await
}

/// Takes the pending request out (single use): deletes it and returns it, atomically.
///
/// # Errors
/// Database errors.
pub async fn take(
    db: &Db,
    id_hash: &str,
    browser_hash: &str,
    now: i64,
) -> sqlx::Result<Option<PendingRow>> {
    sqlx::query_as(
        "DELETE FROM authorization_requests \
         WHERE id_hash = $1 AND browser_hash = $2 AND expires_at > $3 \
         RETURNING params, created_at",
    )
    .bind(id_hash)
    .bind(browser_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await
}

/// Moves every pending request of one browser-binding id to another (at a login,
/// when the browser gets a new id); returns how many moved. One statement, so a
/// request is bound to exactly one of the two ids at any time.
///
/// # Errors
/// Database errors.
pub async fn rebind(db: &Db, old_browser_hash: &str, new_browser_hash: &str) -> sqlx::Result<u64> {
    let done =
        sqlx::query("UPDATE authorization_requests SET browser_hash = $2 WHERE browser_hash = $1")
            .bind(old_browser_hash)
            .bind(new_browser_hash)
            .execute(db.pool())
            .await?;
    Ok(done.rows_affected())
}
