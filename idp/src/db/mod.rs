//! Storage: the only module with SQL.
//!
//! One SQL dialect serves both backends through sqlx's `Any` driver: `$n`
//! placeholders, `BIGINT` for integers and timestamps (Unix seconds), `TEXT` for the
//! rest, `RETURNING` for atomic read-modify-write. One `migrations/` folder serves
//! both backends.

pub mod audit;
pub mod auth_requests;
pub mod clients;
pub mod companies;
pub mod email_codes;
pub mod grants;
pub mod keys;
pub mod logout;
pub mod outbox;
pub mod registrations;
pub mod sessions;
pub mod support;
pub mod throttle;
pub mod tokens;
pub mod users;

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor as _};

/// The database backend behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A connection pool to the provider's database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// Pending authorization requests this process evicted (see [`auth_requests`]).
    pending_evictions: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Db {
    /// Connects to `url` (`sqlite://path` or `postgres://...`). A SQLite file and its
    /// directory are created if missing, and use WAL journaling.
    ///
    /// # Errors
    /// An unsupported scheme, or the database cannot be opened.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            anyhow::bail!("database_url must start with sqlite:// or postgres://");
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).context("invalid database_url")?;
        let pool_options = match backend {
            Backend::Sqlite => AnyPoolOptions::new()
                .max_connections(8)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        Ok(())
                    })
                }),
            Backend::Postgres => AnyPoolOptions::new().max_connections(16),
        };
        let pool = pool_options
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .context("cannot connect to the database")?;
        Ok(Self {
            pool,
            backend,
            pending_evictions: Default::default(),
        })
    }

    /// Applies pending migrations (one folder, `migrations/`, for both backends: the
    /// files use only the shared dialect).
    ///
    /// # Errors
    /// A migration fails or was changed after it was applied.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("../migrations")
            .run(&self.pool)
            .await
            .context("database migration failed")
    }

    /// Begins a transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a transaction that reads before it writes cannot fail
    /// with a busy snapshot.
    ///
    /// # Errors
    /// Database errors.
    pub async fn begin(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// The connection pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// How many pending authorization requests this process evicted.
    pub(crate) fn pending_evictions(&self) -> &std::sync::atomic::AtomicU64 {
        &self.pending_evictions
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A trivial query, for readiness checks.
    ///
    /// # Errors
    /// The database is unreachable.
    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes rows that can no longer be used: expired pending requests at once (they
    /// hold attacker-chosen parameters and serve no audit), and expired codes and
    /// tokens and ended sessions kept `keep_seconds` past their end for audits.
    /// Refresh-token history lives until its family's absolute end (so reuse of any
    /// old token is recognised until then). Every statement is served by an index on
    /// the column it filters.
    ///
    /// # Errors
    /// Database errors.
    pub async fn purge_expired(&self, now: i64, keep_seconds: i64) -> anyhow::Result<u64> {
        let cutoff = now - keep_seconds;
        let mut n = sqlx::query("DELETE FROM authorization_requests WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        for sql in [
            "DELETE FROM access_tokens WHERE expires_at < $1",
            "DELETE FROM refresh_tokens WHERE expires_at < $1",
            "DELETE FROM browser_sessions WHERE expires_at < $1 OR ended_at < $1",
            "DELETE FROM email_codes WHERE expires_at < $1",
            "DELETE FROM throttle WHERE updated_at < $1 AND blocked_until < $1",
        ] {
            n += sqlx::query(sql)
                .bind(cutoff)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        n += sqlx::query(
            "DELETE FROM grants WHERE expires_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = grants.id) AND NOT EXISTS \
             (SELECT 1 FROM access_tokens a WHERE a.grant_id = grants.id)",
        )
        .bind(cutoff)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n)
    }
}

/// Adds `mode=rwc` (create if missing) and creates the parent directory.
fn sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_owned());
    }
    if let Some(dir) = Path::new(path).parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            // A folder we create holds only the database: owner-only access.
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the database directory {}", dir.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            }
        }
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the database directory {}", dir.display()))?;
        }
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Reads an enum stored as TEXT on both backends through its `FromStr`; a stored
/// value it does not know is a decode error naming `$column` (`table.column`).
macro_rules! text_column {
    ($t:ty, $column:literal) => {
        impl sqlx::Type<sqlx::Any> for $t {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }
            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }
        impl<'r> sqlx::Decode<'r, sqlx::Any> for $t {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                text.parse()
                    .map_err(|_| format!("{}: not a stored value: {text:?}", $column).into())
            }
        }
    };
}
pub(crate) use text_column;

/// `true` when `err` is a unique-constraint violation, on either backend.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

/// A 0/1 column that holds something else.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not 0 or 1")]
pub(crate) struct BadFlag(pub i64);
