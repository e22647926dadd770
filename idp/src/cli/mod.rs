//! The `idp` command line: `serve` (the default), `migrate`, and operator
//! subcommands (`clients`, `users`), each with `--json` output for scripts.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::clock::SystemClock;
use crate::config::Config;
use crate::db::Db;
use crate::state::AppState;

pub mod audit;
pub mod clients;
pub mod companies;
pub mod invitations;
pub mod keys;
mod lookup;
pub mod members;
pub mod registrations;
pub mod roles;
pub mod support;
pub mod users;

use self::clients::{create_client, list_clients, ClientsCommand};
use self::companies::{companies, CompaniesCommand};
use self::registrations::{registrations, RegistrationsCommand};
use self::support::{support, SupportCommand};
use self::users::{create_user, UsersCommand};

/// An OpenID Connect provider for B2B customer portals.
#[derive(Debug, Parser)]
#[command(name = "idp", version, about)]
pub struct Cli {
    /// A TOML configuration file (defaults < file < IDP_* environment variables).
    #[arg(long, global = true, env = "IDP_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the provider (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage relying parties (OAuth clients).
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// A company's invitations: create, list, revoke, resend.
    #[command(subcommand)]
    Invitations(self::invitations::InvitationsCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(self::audit::AuditCommand),
    /// The approval queue of self-registrations.
    #[command(subcommand)]
    Registrations(RegistrationsCommand),
    /// Customer companies and their support level and region.
    #[command(subcommand)]
    Companies(CompaniesCommand),
    /// Support: check a caller's support PIN.
    #[command(subcommand)]
    Support(SupportCommand),
    /// The role catalogue (with the built-in super_admin).
    #[command(subcommand)]
    Roles(roles::RolesCommand),
    /// Signing keys: list, staged rotation.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

/// Parses the command line and runs it.
///
/// # Errors
/// Any failure, printed by `main` with its context chain.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    init_tracing(&config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            Db::connect(&config.database_url).await?.migrate().await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Clients(ClientsCommand::Create(args)) => create_client(&config, args).await,
        Command::Clients(ClientsCommand::List { json }) => list_clients(&config, json).await,
        Command::Users(UsersCommand::Create(args)) => create_user(&config, args).await,
        Command::Users(cmd) => users::manage(config, cmd).await,
        Command::Invitations(cmd) => invitations::invitations(config, cmd).await,
        Command::Audit(cmd) => audit::audit(config, cmd).await,
        Command::Registrations(cmd) => registrations(config, cmd).await,
        Command::Companies(cmd) => companies(config, cmd).await,
        Command::Support(cmd) => support(config, cmd).await,
        Command::Roles(cmd) => roles::roles(&config, cmd),
        Command::Keys(cmd) => keys::keys(config, cmd).await,
    }
}

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.log.filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if config.log.format == crate::config::LogFormat::Json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let issuer = config.issuer.clone();
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(%issuer, address = %listener.local_addr()?, "provider listening");
    crate::serve(listener, state, crate::shutdown_signal()).await?;
    Ok(())
}

pub(crate) async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    Ok(db)
}

/// Who a CLI decision is recorded as: `cli:<login name>`.
pub(crate) fn cli_actor() -> String {
    let name = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|n| !n.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    format!("cli:{name}")
}
