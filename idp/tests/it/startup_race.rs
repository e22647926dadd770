//! Start-up is check-then-act (apply missing migrations, create the KEK file and
//! missing signing keys); processes that start together on a fresh database must
//! serialise it: every process starts, each migration is applied once, one key per
//! algorithm exists and every process publishes the same JWKS.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::harness::database_url;
use crate::mailbox::free_port;

/// A command of the `idp` binary on `database_url`, with the KEK in `dir/kek` (created
/// by whichever process comes first).
fn idp(dir: &Path, database_url: &str, port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idp"));
    for (k, _) in std::env::vars() {
        if k.starts_with("IDP_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("IDP_ISSUER", format!("http://127.0.0.1:{port}"))
        .env("IDP_LISTEN", format!("127.0.0.1:{port}"))
        .env("IDP_DATABASE_URL", database_url)
        .env("IDP_KEYS__KEK_FILE", dir.join("kek"))
        .env("IDP_MAIL__OUTBOX_DIR", dir.join("outbox"))
        .env("IDP_LOG__FILTER", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Waits until the server on `port` answers `/readyz`, or the process exits.
async fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let http = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                use tokio::io::AsyncReadExt as _;
                let _ = stderr.read_to_string(&mut err).await;
            }
            return Err(format!("idp serve exited with {status}: {err}"));
        }
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("idp serve did not become ready".into())
}

async fn jwks(port: u16) -> serde_json::Value {
    reqwest::get(format!("http://127.0.0.1:{port}/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Two servers and two CLI commands (`migrate`, `clients create`) started at the same
/// moment on a fresh database and a missing KEK file, three times over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_share_one_migration_one_kek_and_one_key_per_alg() {
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let url = database_url(&dir).await;
        let ports = [free_port(), free_port()];
        let mut servers: Vec<Child> = ports
            .iter()
            .map(|&port| {
                let mut cmd = idp(dir.path(), &url, port);
                cmd.arg("serve");
                cmd.spawn().unwrap()
            })
            .collect();
        let migrate = idp(dir.path(), &url, free_port()).arg("migrate").output();
        let create = idp(dir.path(), &url, free_port())
            .args([
                "clients",
                "create",
                "--name",
                "Race",
                "--redirect-uri",
                "https://rp.example/callback",
            ])
            .output();
        let (migrate, create) = tokio::join!(migrate, create);
        let (migrate, create) = (migrate.unwrap(), create.unwrap());
        assert!(
            migrate.status.success(),
            "round {round}: idp migrate failed: {}",
            String::from_utf8_lossy(&migrate.stderr)
        );
        assert!(
            create.status.success(),
            "round {round}: idp clients create failed: {}",
            String::from_utf8_lossy(&create.stderr)
        );
        for (server, &port) in servers.iter_mut().zip(&ports) {
            if let Err(e) = wait_ready(server, port).await {
                panic!("round {round}: {e}");
            }
        }

        let (a, b) = (jwks(ports[0]).await, jwks(ports[1]).await);
        assert_eq!(
            a, b,
            "round {round}: the two processes publish different keys"
        );
        let mut per_alg = BTreeMap::<String, usize>::new();
        for key in a["keys"].as_array().unwrap() {
            *per_alg
                .entry(key["alg"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        let expected: BTreeMap<String, usize> = [("ES256", 1), ("EdDSA", 1), ("RS256", 1)]
            .into_iter()
            .map(|(alg, n)| (alg.to_owned(), n))
            .collect();
        assert_eq!(
            per_alg, expected,
            "round {round}: not one key per algorithm"
        );

        let db = idp::db::Db::connect(&url).await.unwrap();
        let (keys,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM signing_keys")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(keys, 3, "round {round}: signing_keys rows");
        let (clients,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM clients")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(clients, 1, "round {round}: the CLI's client");
        db.pool().close().await;
        for mut server in servers {
            let _ = server.kill().await;
        }
    }
}
