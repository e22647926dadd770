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
pub mod invitations;
pub mod keys;
pub mod logout_deliveries;
pub mod members;
pub mod outbox;
mod queue;
pub mod registrations;
pub mod secrets;
pub mod sessions;
pub mod support;
pub mod throttle;
pub mod tokens;
pub mod users;

use std::path::{Path, PathBuf};
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
    /// The SQLite database file (`None` for PostgreSQL and in-memory SQLite): its
    /// start-up lock file lives next to it ([`Db::startup_lock`]).
    sqlite_file: Option<PathBuf>,
}

/// SQLite's `journal_size_limit` in bytes: the size the WAL file is truncated to
/// whenever a checkpoint resets it (docs/security.md, storage bounds).
pub const SQLITE_JOURNAL_SIZE_LIMIT: u64 = 4 * 1024 * 1024;

/// The PostgreSQL advisory-lock key of [`Db::startup_lock`] (`idp-init` in ASCII; sqlx's
/// migrator takes a different key of its own).
const STARTUP_LOCK_KEY: i64 = 0x6964_702d_696e_6974;

/// How long a process waits for another's start-up steps before it gives up.
const STARTUP_LOCK_WAIT: Duration = Duration::from_secs(300);

/// Held while a process runs its start-up steps (migrations, signing-key creation);
/// released when dropped. See [`Db::startup_lock`].
pub struct StartupLock {
    holder: Option<LockHolder>,
}

/// The connection that holds a [`StartupLock`]; closing it releases the lock.
enum LockHolder {
    /// An exclusive transaction on the SQLite lock file.
    Sqlite(sqlx::SqliteConnection),
    /// A session advisory lock, on a connection taken out of the pool.
    Postgres(sqlx::AnyConnection),
}

impl std::fmt::Debug for StartupLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let holder = match self.holder {
            None => "none",
            Some(LockHolder::Sqlite(_)) => "sqlite lock file",
            Some(LockHolder::Postgres(_)) => "postgres advisory lock",
        };
        f.debug_struct("StartupLock")
            .field("holder", &holder)
            .finish()
    }
}

impl StartupLock {
    /// Releases the lock now (dropping the guard does the same by closing the
    /// connection).
    pub async fn release(mut self) {
        match self.holder.take() {
            None => {}
            Some(LockHolder::Sqlite(mut conn)) => {
                let _ = conn.execute("COMMIT").await;
                let _ = sqlx::Connection::close(conn).await;
            }
            Some(LockHolder::Postgres(mut conn)) => {
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(STARTUP_LOCK_KEY)
                    .execute(&mut conn)
                    .await;
                let _ = sqlx::Connection::close(conn).await;
            }
        }
    }
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
        let sqlite_file = match backend {
            Backend::Sqlite => sqlite_file(&url),
            Backend::Postgres => None,
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
                        // After a checkpoint resets the WAL, cut the file back to this
                        // size: a burst does not leave its high-water mark on disk.
                        conn.execute(
                            format!("PRAGMA journal_size_limit = {SQLITE_JOURNAL_SIZE_LIMIT}")
                                .as_str(),
                        )
                        .await?;
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
            sqlite_file,
        })
    }

    /// Applies pending migrations (one folder, `migrations/`, for both backends: the
    /// files use only the shared dialect), under the [start-up lock](Db::startup_lock):
    /// processes (servers and CLI commands) that start together on a fresh database
    /// apply each migration once, the others wait and then find nothing left to do.
    ///
    /// # Errors
    /// A migration fails or was changed after it was applied.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        self.under_startup_lock(async {
            sqlx::migrate!("../migrations")
                .run(&self.pool)
                .await
                .context("database migration failed")
        })
        .await
    }

    /// Runs `work` holding the [start-up lock](Self::startup_lock), released however
    /// `work` ends: the check-then-act steps that must run once across processes
    /// (migrations, creating, rotating and revoking signing keys).
    ///
    /// # Errors
    /// The lock cannot be taken, or `work`'s error.
    pub async fn under_startup_lock<T, E: From<anyhow::Error>>(
        &self,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let lock = self.startup_lock().await?;
        let result = work.await;
        lock.release().await;
        result
    }

    /// Takes the start-up lock, which serialises the check-then-act steps of start-up
    /// (applying migrations, creating missing signing keys) across every process on
    /// this database; waits (up to 5 minutes) while another process holds it.
    /// SQLite: an exclusive transaction (`BEGIN EXCLUSIVE`) on the small SQLite file
    /// `<database>.lock` next to the database, so SQLite's own file locking serialises
    /// the processes (in-memory databases need none). PostgreSQL: a session advisory
    /// lock held on a connection of its own. A process that dies releases it.
    ///
    /// # Errors
    /// The lock file cannot be opened, the wait times out, or database errors.
    pub async fn startup_lock(&self) -> anyhow::Result<StartupLock> {
        match self.backend {
            Backend::Sqlite => {
                let Some(db_file) = &self.sqlite_file else {
                    return Ok(StartupLock { holder: None });
                };
                let mut name = db_file.clone().into_os_string();
                name.push(".lock");
                let path = PathBuf::from(name);
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Delete)
                    .busy_timeout(STARTUP_LOCK_WAIT);
                let mut conn = sqlx::ConnectOptions::connect(&options)
                    .await
                    .with_context(|| format!("opening the lock file {}", path.display()))?;
                conn.execute("BEGIN EXCLUSIVE")
                    .await
                    .with_context(|| format!("waiting for the start-up lock {}", path.display()))?;
                Ok(StartupLock {
                    holder: Some(LockHolder::Sqlite(conn)),
                })
            }
            Backend::Postgres => {
                let mut conn = self.pool.acquire().await?.detach();
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(STARTUP_LOCK_KEY)
                    .execute(&mut conn)
                    .await
                    .context("taking the start-up advisory lock")?;
                Ok(StartupLock {
                    holder: Some(LockHolder::Postgres(conn)),
                })
            }
        }
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
    /// the column it filters. On SQLite it ends with a [checkpoint](Db::checkpoint)
    /// that truncates the WAL file.
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
        self.checkpoint().await?;
        Ok(n)
    }

    /// SQLite: copies the whole WAL into the database and truncates the WAL file to
    /// zero bytes (`PRAGMA wal_checkpoint(TRUNCATE)`), so the file does not keep the
    /// size a burst of writes or a long reader gave it. Waits at most 2 s for readers
    /// and writers (and then leaves it to the next run); PostgreSQL: nothing.
    ///
    /// # Errors
    /// Database errors.
    pub async fn checkpoint(&self) -> anyhow::Result<()> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        conn.execute("PRAGMA busy_timeout = 2000").await?;
        let result = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await;
        conn.execute("PRAGMA busy_timeout = 10000").await?;
        result?;
        Ok(())
    }
}

/// The file of a SQLite URL as [`sqlite_url`] returns it; `None` in memory.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
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

/// A stored value that does not parse as its column's type: the error names the
/// column (`table.column`) and shows the value.
#[derive(Debug, thiserror::Error)]
#[error("{column}: not a stored value: {value:?}")]
pub struct BadStoredValue {
    /// `table.column`.
    pub column: &'static str,
    /// The stored text.
    pub value: String,
}

impl BadStoredValue {
    /// The error for `value` of `column`.
    pub fn new(column: &'static str, value: &str) -> Self {
        Self {
            column,
            value: value.to_owned(),
        }
    }
}

crate::error::internal_from!(Internal: BadStoredValue);
use crate::error::Internal;

/// A 0/1 column that holds something else.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not 0 or 1")]
pub(crate) struct BadFlag(pub i64);
