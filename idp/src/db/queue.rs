//! The durable-queue statements that the mail [`outbox`](super::outbox) and the
//! back-channel [`logout_deliveries`](super::logout_deliveries) share: claim due rows
//! with a lease, finish a row (its payload erased), or reschedule it after a failure.
//!
//! A queue table has `id`, `attempts`, `next_attempt_at`, `locked_until` and
//! `last_error` columns, plus a column that marks a row done. Several provider
//! processes may drain one table: a claim is one `UPDATE … RETURNING` that leases the
//! rows it takes (`locked_until`) and re-checks, on the row it updates, that the row
//! is still open and unleased, so two claims never return the same row. The SQL of
//! each table is spelled once, at compile time, by [`durable_queue!`] from literal
//! table and column names; nothing from outside ever reaches it.

use sqlx::any::AnyRow;
use sqlx::FromRow;

use super::Db;

/// The most characters of an error message a row keeps in `last_error`.
const MAX_ERROR_CHARS: usize = 500;

/// The statements of one queue table; built by [`durable_queue!`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Queue {
    /// `$1` now, `$2` the lease's end, `$3` the most rows: leases and returns due,
    /// open, unleased rows, oldest due first.
    pub(super) claim: &'static str,
    /// `$1` id, `$2` now, `$3` last_error (or NULL): marks the row done, drops the
    /// lease and erases the payload.
    pub(super) finish: &'static str,
    /// `$1` id, `$2` the next attempt's time, `$3` last_error: counts the failed
    /// attempt and drops the lease.
    pub(super) retry: &'static str,
}

/// The [`Queue`] of one table, its SQL built at compile time from literals:
/// `table`; `open`, the condition of a row not yet done; `done`, the column set to the
/// time a row is done; `erase`, the assignments that drop its payload; `returning`,
/// the columns a claim returns.
macro_rules! durable_queue {
    (
        table: $table:literal,
        open: $open:literal,
        done: $done:literal,
        erase: $erase:literal,
        returning: $returning:literal $(,)?
    ) => {
        $crate::db::queue::Queue {
            claim: concat!(
                "UPDATE ",
                $table,
                " SET locked_until = $2 ",
                "WHERE id IN (SELECT id FROM ",
                $table,
                " WHERE ",
                $open,
                " AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1) ",
                "ORDER BY next_attempt_at, id LIMIT $3) ",
                "AND ",
                $open,
                " AND (locked_until IS NULL OR locked_until <= $1) ",
                "RETURNING ",
                $returning,
            ),
            finish: concat!(
                "UPDATE ",
                $table,
                " SET ",
                $done,
                " = $2, locked_until = NULL, ",
                $erase,
                ", last_error = $3 WHERE id = $1",
            ),
            retry: concat!(
                "UPDATE ",
                $table,
                " SET attempts = attempts + 1, next_attempt_at = $2, ",
                "locked_until = NULL, last_error = $3 WHERE id = $1",
            ),
        }
    };
}
pub(super) use durable_queue;

impl Queue {
    /// Claims up to `limit` due, open, unleased rows for `lease_seconds`, in one
    /// statement.
    ///
    /// # Errors
    /// Database errors.
    pub(super) async fn claim<R>(
        &self,
        db: &Db,
        now: i64,
        lease_seconds: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<R>>
    where
        R: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        sqlx::query_as(self.claim)
            .bind(now)
            .bind(now + lease_seconds)
            .bind(limit)
            .fetch_all(db.pool())
            .await
    }

    /// Marks row `id` done at `now` with `error` (`None` when it succeeded) and erases
    /// its payload.
    ///
    /// # Errors
    /// Database errors.
    pub(super) async fn finish(
        &self,
        db: &Db,
        id: &str,
        now: i64,
        error: Option<&str>,
    ) -> sqlx::Result<()> {
        sqlx::query(self.finish)
            .bind(id)
            .bind(now)
            .bind(error.map(truncate))
            .execute(db.pool())
            .await?;
        Ok(())
    }

    /// Records a failed attempt of row `id` and when to try again (Unix seconds).
    ///
    /// # Errors
    /// Database errors.
    pub(super) async fn retry(
        &self,
        db: &Db,
        id: &str,
        error: &str,
        next_attempt_at: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(self.retry)
            .bind(id)
            .bind(next_attempt_at)
            .bind(truncate(error))
            .execute(db.pool())
            .await?;
        Ok(())
    }
}

/// `error` cut to [`MAX_ERROR_CHARS`] characters, as `last_error` keeps it.
pub(super) fn truncate(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    const Q: super::Queue = durable_queue! {
        table: "t",
        open: "done_at IS NULL",
        done: "done_at",
        erase: "payload = ''",
        returning: "id, payload, attempts",
    };

    #[test]
    fn the_statements_name_only_their_table_and_columns() {
        assert_eq!(
            Q.claim,
            "UPDATE t SET locked_until = $2 WHERE id IN (SELECT id FROM t WHERE done_at IS NULL \
             AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1) \
             ORDER BY next_attempt_at, id LIMIT $3) AND done_at IS NULL \
             AND (locked_until IS NULL OR locked_until <= $1) RETURNING id, payload, attempts"
        );
        assert_eq!(
            Q.finish,
            "UPDATE t SET done_at = $2, locked_until = NULL, payload = '', last_error = $3 \
             WHERE id = $1"
        );
        assert_eq!(
            Q.retry,
            "UPDATE t SET attempts = attempts + 1, next_attempt_at = $2, locked_until = NULL, \
             last_error = $3 WHERE id = $1"
        );
    }

    #[test]
    fn errors_are_kept_to_500_characters() {
        assert_eq!(super::truncate(&"é".repeat(600)).chars().count(), 500);
        assert_eq!(super::truncate("refused"), "refused");
    }
}
