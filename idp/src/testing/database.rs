//! A fresh database per test: a file in the test's temporary folder on SQLite, or a
//! new database on `IDP_TEST_POSTGRES_URL` when `IDP_TEST_DATABASE=postgres`.

use sqlx::Connection as _;
use tempfile::TempDir;

/// The PostgreSQL server the tests create their databases on.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Which database backend the tests run on (`IDP_TEST_DATABASE`, default `sqlite`).
pub fn backend() -> String {
    std::env::var("IDP_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into())
}

fn postgres_admin_url() -> String {
    std::env::var("IDP_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into())
}

/// A fresh, empty database: its URL. On PostgreSQL the database outlives the test;
/// use [`TestDatabase`] to have it dropped.
pub async fn database_url(dir: &TempDir) -> String {
    TestDatabase::create(dir).await.keep()
}

/// A fresh database that is dropped with this value (PostgreSQL; best effort, with
/// `WITH (FORCE)` so the provider's open connections do not hold it). On SQLite the
/// file goes with the temporary folder.
pub struct TestDatabase {
    /// The database URL for the provider.
    pub url: String,
    /// The PostgreSQL database's name, to drop.
    postgres_name: Option<String>,
}

impl TestDatabase {
    /// Creates the database (in `dir` on SQLite).
    pub async fn create(dir: &TempDir) -> Self {
        if backend() != "postgres" {
            return Self {
                url: format!("sqlite://{}/idp.sqlite3", dir.path().display()),
                postgres_name: None,
            };
        }
        let admin_url = postgres_admin_url();
        let name = format!("idp_t_{}", crate::crypto::random_id());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
        Self {
            url: format!("{base}/{name}"),
            postgres_name: Some(name),
        }
    }

    /// The URL, keeping the database after this value is gone.
    pub fn keep(mut self) -> String {
        self.postgres_name = None;
        std::mem::take(&mut self.url)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop may run inside the test's runtime, which must not block on itself:
        // a thread with its own runtime does the work, and is joined.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
                    .await
                    .ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        });
        let _ = dropper.join();
    }
}
