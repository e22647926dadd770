//! A provider in its own operating-system process: the `idp` binary, started on the
//! database, key-encryption key, issuer and mail settings of an in-process
//! [`TestApp`], like a second replica behind a load balancer. Its log (stderr) is
//! kept, so a test can read what the process did (for example every SQL statement it
//! ran, with `IDP_LOG__FILTER=sqlx::query=debug` and `IDP_LOG__FORMAT=json`).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::harness::TestApp;
use crate::mailbox::free_port;

/// A running `idp serve` process; killed when dropped.
pub struct ProviderProcess {
    /// `http://127.0.0.1:<port>` where this process listens.
    pub base: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl ProviderProcess {
    /// Starts `idp serve` sharing `app`'s database, KEK, issuer and mail settings,
    /// with `env` added (e.g. `("IDP_THROTTLE__ACCOUNT_FREE", "3")`), and waits until
    /// it answers `/readyz`.
    pub async fn spawn(app: &TestApp, env: &[(&str, &str)]) -> Self {
        Self::start(app, env, false).await
    }

    /// As [`ProviderProcess::spawn`], but the process is an issuer of its own: its
    /// `issuer` is its own `base`, so a relying party that discovers it talks to this
    /// process only (its clock is the wall clock, unlike `app`'s mock clock).
    pub async fn spawn_as_issuer(app: &TestApp, env: &[(&str, &str)]) -> Self {
        Self::start(app, env, true).await
    }

    async fn start(app: &TestApp, env: &[(&str, &str)], own_issuer: bool) -> Self {
        let c = &app.state.config;
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let issuer = if own_issuer { &base } else { &c.issuer };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_idp"));
        for (k, _) in std::env::vars() {
            if k.starts_with("IDP_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.arg("serve")
            .env("IDP_ISSUER", issuer)
            .env("IDP_LISTEN", format!("127.0.0.1:{port}"))
            .env("IDP_DATABASE_URL", &c.database_url)
            .env("IDP_KEYS__KEK", c.keys.kek.as_deref().expect("a KEK"))
            .env("IDP_MAIL__OUTBOX_DIR", &c.mail.outbox_dir)
            .env("IDP_LOG__FILTER", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(smtp) = &c.mail.smtp_url {
            cmd.env("IDP_MAIL__SMTP_URL", smtp);
        }
        if let Some(header) = &c.http.client_ip_header {
            cmd.env("IDP_HTTP__CLIENT_IP_HEADER", header);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the idp binary");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let sink = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        let process = Self { base, child, log };
        process.wait_ready().await;
        process
    }

    async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = http.get(self.url("/readyz")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the provider process did not become ready; its log:\n{}",
            self.log().join("\n")
        );
    }

    /// An absolute URL on this process.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The lines the process wrote to stderr so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Stops the process (SIGKILL) and waits for it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}
