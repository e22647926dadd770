//! [`TestApp`]: the real provider in-process on port 0, on a fresh database, with a
//! mock clock and without delivery workers.

use std::sync::Arc;

use tempfile::TempDir;

use super::database::TestDatabase;
use super::REDIRECT_URI;
use crate::clock::{Clock as _, MockClock};
use crate::config::Config;
use crate::oauth::registration::{self, ClientSpec};
use crate::AppState;

/// A running provider. Dropping it stops the server and drops its database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`, also the issuer.
    pub base: String,
    /// The provider's state (database, keys, configuration).
    pub state: AppState,
    /// The provider's clock.
    pub clock: Arc<MockClock>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    // Dropped after the server was told to stop.
    _database: Option<TestDatabase>,
    _dir: TempDir,
}

impl TestApp {
    /// A provider with the default test configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A provider whose configuration `configure` may change first. Mail without an
    /// SMTP server goes to the test's own folder, never the repository.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let database = TestDatabase::create(&dir).await;
        let mut config = Config {
            issuer: format!("http://127.0.0.1:{port}"),
            database_url: database.url.clone(),
            ..Config::default()
        };
        config.keys.kek = Some(crate::crypto::random_token(32));
        config.keys.kek_file = dir.path().join("kek");
        config.mail.outbox_dir = dir.path().join("outbox");
        configure(&mut config);
        // Another app's database (spawn_sharing) is that app's to drop.
        let database = (config.database_url == database.url).then_some(database);
        config.validate().unwrap();
        let clock = MockClock::starting_now();
        let state = AppState::build(config, clock.clone()).await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server_state = state.clone();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            crate::serve_inner(listener, server_state, shutdown, false)
                .await
                .unwrap();
        });
        Self {
            base: format!("http://127.0.0.1:{port}"),
            state,
            clock,
            _shutdown: tx,
            _database: database,
            _dir: dir,
        }
    }

    /// A second provider process on the same database (and key-encryption key).
    pub async fn spawn_sharing(other: &TestApp) -> Self {
        let database_url = other.state.config.database_url.clone();
        let kek = other.state.config.keys.kek.clone();
        let smtp = other.state.config.mail.smtp_url.clone();
        Self::spawn_with(move |c| {
            c.database_url = database_url;
            c.keys.kek = kek;
            c.mail.smtp_url = smtp;
        })
        .await
    }

    /// A provider that mails through `smtp_url`.
    pub async fn spawn_with_smtp(smtp_url: &str) -> Self {
        let url = smtp_url.to_owned();
        Self::spawn_with(move |c| c.mail.smtp_url = Some(url)).await
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The provider's time (Unix seconds).
    pub fn clock_now(&self) -> i64 {
        self.clock.now()
    }

    /// Sends the mail that is due now (what the mail worker would do); returns how
    /// many messages were sent.
    pub async fn deliver_mail(&self) -> usize {
        let s = &self.state;
        crate::outbox::mail::deliver_due(&s.db, &s.mailer, s.clock.as_ref())
            .await
            .unwrap()
    }

    /// POSTs the back-channel logout tokens that are due now (what the logout worker
    /// would do); returns how many were delivered.
    pub async fn deliver_logouts(&self) -> usize {
        let http = crate::outbox::backchannel::client().unwrap();
        let s = &self.state;
        crate::outbox::backchannel::deliver_due(&s.db, s.clock.as_ref(), &http)
            .await
            .unwrap()
    }

    /// Registers a confidential client (client_secret_basic) with [`REDIRECT_URI`].
    pub async fn client(&self) -> TestClient {
        self.client_with(ClientSpec::default()).await
    }

    /// Registers a client; [`REDIRECT_URI`] when `spec` has no redirect URI.
    pub async fn client_with(&self, mut spec: ClientSpec) -> TestClient {
        if spec.redirect_uris.is_empty() {
            spec.redirect_uris = vec![REDIRECT_URI.to_owned()];
        }
        let registered = registration::create_client(&self.state.db, spec, self.clock_now())
            .await
            .unwrap();
        TestClient {
            id: registered.row.client_id,
            secret: registered.secret,
            redirect_uri: serde_json::from_str::<Vec<String>>(&registered.row.redirect_uris)
                .unwrap()[0]
                .clone(),
        }
    }

    /// Counts rows of a table (to prove bad input changed nothing).
    pub async fn count(&self, table: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.state.db.pool())
            .await
            .unwrap();
        n
    }

    /// A snapshot of every table's row count.
    pub async fn counts(&self) -> Vec<i64> {
        let mut out = Vec::new();
        for t in [
            "users",
            "clients",
            "signing_keys",
            "browser_sessions",
            "authorization_requests",
            "grants",
            "refresh_tokens",
            "access_tokens",
        ] {
            out.push(self.count(t).await);
        }
        out
    }
}

/// A registered client.
#[derive(Clone, Debug)]
pub struct TestClient {
    /// client_id.
    pub id: String,
    /// The secret; `None` for public clients.
    pub secret: Option<String>,
    /// The first registered redirect URI.
    pub redirect_uri: String,
}
