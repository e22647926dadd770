//! `relying-party-demo`: runs the Customer Portal and the App Portal, each on its own
//! address with its own client registration at the provider.

#![cfg_attr(
    not(test),
    deny(clippy::cast_possible_truncation, clippy::indexing_slicing)
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use relying_party_demo::clock::SystemClock;
use relying_party_demo::config::parse_alg;
use relying_party_demo::{serve, Portal, PortalConfig, PortalKind};
use tokio::net::TcpListener;
use url::Url;

/// Two demo relying parties of the idp provider: the Customer Portal and the App Portal.
#[derive(Debug, Parser)]
#[command(name = "relying-party-demo", version, about)]
struct Cli {
    /// The provider's issuer identifier.
    #[arg(long, env = "RP_ISSUER", default_value = "http://127.0.0.1:8080")]
    issuer: String,
    /// The ID token algorithm both clients are registered with: RS256, ES256 or EdDSA.
    #[arg(long, env = "RP_ID_TOKEN_ALG", default_value = "RS256")]
    id_token_alg: String,
    /// Where the Customer Portal listens.
    #[arg(long, env = "CUSTOMER_PORTAL_LISTEN", default_value = "127.0.0.1:3000")]
    customer_portal_listen: SocketAddr,
    /// The Customer Portal's public URL (default: http://<listen address>).
    #[arg(long, env = "CUSTOMER_PORTAL_URL")]
    customer_portal_url: Option<Url>,
    /// The Customer Portal's client_id.
    #[arg(
        long,
        env = "CUSTOMER_PORTAL_CLIENT_ID",
        default_value = "customer-portal"
    )]
    customer_portal_client_id: String,
    /// The Customer Portal's client_secret.
    #[arg(long, env = "CUSTOMER_PORTAL_CLIENT_SECRET", hide_env_values = true)]
    customer_portal_client_secret: String,
    /// Where the App Portal listens.
    #[arg(long, env = "APP_PORTAL_LISTEN", default_value = "127.0.0.1:3001")]
    app_portal_listen: SocketAddr,
    /// The App Portal's public URL (default: http://<listen address>).
    #[arg(long, env = "APP_PORTAL_URL")]
    app_portal_url: Option<Url>,
    /// The App Portal's client_id.
    #[arg(long, env = "APP_PORTAL_CLIENT_ID", default_value = "app-portal")]
    app_portal_client_id: String,
    /// The App Portal's client_secret.
    #[arg(long, env = "APP_PORTAL_CLIENT_SECRET", hide_env_values = true)]
    app_portal_client_secret: String,
}

/// One portal to start.
struct PortalArgs {
    kind: PortalKind,
    listen: SocketAddr,
    url: Option<Url>,
    client_id: String,
    client_secret: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let alg = parse_alg(&cli.id_token_alg)?;
    let portals = [
        PortalArgs {
            kind: PortalKind::CustomerPortal,
            listen: cli.customer_portal_listen,
            url: cli.customer_portal_url,
            client_id: cli.customer_portal_client_id,
            client_secret: cli.customer_portal_client_secret,
        },
        PortalArgs {
            kind: PortalKind::AppPortal,
            listen: cli.app_portal_listen,
            url: cli.app_portal_url,
            client_id: cli.app_portal_client_id,
            client_secret: cli.app_portal_client_secret,
        },
    ];
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut servers = Vec::new();
    for args in portals {
        let base_url = match args.url {
            Some(url) => url,
            None => Url::parse(&format!("http://{}", args.listen))?,
        };
        let mut config = PortalConfig::new(
            args.kind,
            &cli.issuer,
            base_url,
            &args.client_id,
            &args.client_secret,
        );
        config.id_token_alg = alg.clone();
        let portal = discover_with_retry(config).await?;
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        tracing::info!(
            portal = args.kind.display_name(),
            url = %portal.config().base_url,
            "listening"
        );
        let mut stopped = stopped.clone();
        servers.push(tokio::spawn(serve(listener, portal, async move {
            let _ = stopped.changed().await;
        })));
    }
    shutdown_signal().await;
    let _ = stop.send(true);
    for server in servers {
        server.await??;
    }
    Ok(())
}

/// Discovery, retried for about 30 seconds while the provider starts.
async fn discover_with_retry(config: PortalConfig) -> anyhow::Result<Portal> {
    let mut tries = 0;
    loop {
        match Portal::discover(config.clone(), Arc::new(SystemClock)).await {
            Ok(portal) => return Ok(portal),
            Err(e) if tries < 30 => {
                tries += 1;
                tracing::info!(error = %format!("{e:#}"), "provider not ready; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
