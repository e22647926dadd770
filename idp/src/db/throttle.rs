//! Throttling counters, one row per key, shared by every provider process.
//!
//! An attempt is reserved before it is evaluated: [`reserve`] counts it and, when the
//! count goes past the allowance, blocks the key, in one statement per key, so no
//! number of concurrent requests (in one process or many) can all pass a check made
//! before any of them was counted.

use std::sync::LazyLock;

use super::Db;

/// How many steps the delay ladder of [`reserve`] has: the delay after the n-th
/// attempt past the allowance is `delays[min(n, STEPS) - 1]`.
pub const STEPS: usize = 21;

/// A reservation that was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// Attempts counted on the key within the window, this one included.
    pub failures: i64,
    /// The block this reservation started (Unix seconds), or 0 when it started none.
    pub blocked_until: i64,
}

/// The outcome of [`reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// The attempt was counted.
    Counted(Reservation),
    /// The key is blocked until `until` (Unix seconds); nothing was counted.
    Blocked {
        /// The end of the block.
        until: i64,
    },
}

/// The attempt count of a key as it stands after this reservation: 1 after a
/// quiet window, else one more.
const COUNT: &str = "(CASE WHEN throttle.updated_at < $3 THEN 1 ELSE throttle.failures + 1 END)";

/// The upsert behind [`reserve`]. `$1` key, `$2` now, `$3` window start, `$4` the
/// allowance, `$5`..`$25` the delay ladder. In `DO UPDATE SET` every `throttle.`
/// column is the row before the update (on SQLite and PostgreSQL alike), and the
/// `WHERE` refuses the update (no row returned) while the key is blocked; on
/// PostgreSQL the conflicting row is locked and the `WHERE` evaluated on its newest
/// version, so concurrent reservations of one key are serialised.
static RESERVE: LazyLock<String> = LazyLock::new(|| {
    let ladder = |count: &str| {
        let mut steps = String::new();
        for step in 1..STEPS {
            steps.push_str(&format!(" WHEN {step} THEN CAST(${} AS BIGINT)", step + 4));
        }
        format!(
            "(CASE WHEN {count} <= $4 THEN 0 ELSE CAST($2 AS BIGINT) + \
             (CASE {count} - $4{steps} ELSE CAST(${} AS BIGINT) END) END)",
            STEPS + 4
        )
    };
    format!(
        "INSERT INTO throttle (key, failures, blocked_until, updated_at) \
         VALUES ($1, 1, {first}, $2) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = {COUNT}, \
           blocked_until = {next}, \
           updated_at = $2 \
         WHERE throttle.blocked_until <= $2 \
         RETURNING failures, blocked_until",
        first = ladder("1"),
        next = ladder(COUNT),
    )
});

/// Reserves one attempt on `key`: counts it (restarting the count when the key was
/// last used before `window_start`) unless the key is blocked at `now`, and blocks
/// the key until `now + delays[n - free - 1]` when the count `n` goes past `free`.
/// Atomic: one statement.
///
/// Returns [`Reserved::Counted`] with the reservation, or [`Reserved::Blocked`]
/// with the end of the block (Unix seconds) when the key is blocked.
///
/// # Errors
/// Database errors.
pub async fn reserve(
    db: &Db,
    key: &str,
    now: i64,
    window_start: i64,
    free: i64,
    delays: &[i64; STEPS],
) -> sqlx::Result<Reserved> {
    let mut query = sqlx::query_as(RESERVE.as_str())
        .bind(key)
        .bind(now)
        .bind(window_start)
        .bind(free);
    for delay in delays {
        query = query.bind(*delay);
    }
    let row: Option<(i64, i64)> = query.fetch_optional(db.pool()).await?;
    if let Some((failures, blocked_until)) = row {
        let blocked_until = if blocked_until > now {
            blocked_until
        } else {
            0
        };
        return Ok(Reserved::Counted(Reservation {
            failures,
            blocked_until,
        }));
    }
    let until: Option<(i64,)> = sqlx::query_as("SELECT blocked_until FROM throttle WHERE key = $1")
        .bind(key)
        .fetch_optional(db.pool())
        .await?;
    // The row can only have gone (purged, cleared) in between: say "blocked" for
    // the shortest time rather than let an unreserved attempt through.
    Ok(Reserved::Blocked {
        until: until.map_or(now + 1, |(t,)| t.max(now + 1)),
    })
}

/// Gives a reservation back: one attempt less on `key`, and the block lifted if it
/// is still the one this reservation started (`ours`, 0 for none) or if the count
/// is no longer past the allowance `free`. So a block stands only while more than
/// `free` counted attempts hold it: a burst whose surplus was refused cannot leave
/// behind a block that the attempts actually evaluated would not have caused.
///
/// # Errors
/// Database errors.
pub async fn release(db: &Db, key: &str, ours: i64, free: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE throttle SET \
           failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END, \
           blocked_until = CASE WHEN $2 > 0 AND blocked_until = $2 THEN 0 \
                                WHEN failures - 1 <= $3 THEN 0 ELSE blocked_until END \
         WHERE key = $1",
    )
    .bind(key)
    .bind(ours)
    .bind(free)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Forgets `key` (after a success).
///
/// # Errors
/// Database errors.
pub async fn clear(db: &Db, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM throttle WHERE key = $1")
        .bind(key)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Deletes counters idle since before `cutoff` and not blocked.
///
/// # Errors
/// Database errors.
pub async fn purge(db: &Db, cutoff: i64) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM throttle WHERE updated_at < $1 AND blocked_until < $1")
            .bind(cutoff)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}
