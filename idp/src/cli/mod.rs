//! The `idp` command line: `serve` (the default), `migrate`, and operator
//! subcommands (`clients`, `users`), each with `--json` output for scripts.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::account::users::{self, ClientSpec, CreatedUser, RegisteredClient, UserSpec};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::keys::SigningAlg;
use crate::crypto::passwords::Passwords;
use crate::db::clients::ClientRow;
use crate::db::{self, Db};
use crate::oauth::client::{AuthMethod, GrantType};
use crate::state::AppState;

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
    /// The approval queue of self-registrations.
    #[command(subcommand)]
    Registrations(RegistrationsCommand),
    /// Customer companies and their support level and region.
    #[command(subcommand)]
    Companies(CompaniesCommand),
    /// Support: check a caller's support PIN.
    #[command(subcommand)]
    Support(SupportCommand),
}

/// `idp companies …`.
#[derive(Debug, Subcommand)]
pub enum CompaniesCommand {
    /// List companies with their support level, region and number of users.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set a company's support level (none, standard, plus, priority) and region.
    Set {
        /// The company's e-mail domain.
        domain: String,
        /// none, standard, plus or priority.
        #[arg(long)]
        support_level: String,
        /// A region of `support.regions` (e.g. EMEA); omit for none.
        #[arg(long)]
        region: Option<String>,
    },
}

/// `idp support …`.
#[derive(Debug, Subcommand)]
pub enum SupportCommand {
    /// Check the support PIN a caller reads out (throttled and audited).
    VerifyPin {
        /// The caller's e-mail address.
        #[arg(long)]
        email: String,
        /// The PIN.
        #[arg(long)]
        pin: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `idp registrations …`.
#[derive(Debug, Subcommand)]
pub enum RegistrationsCommand {
    /// List registrations (by default the confirmed ones waiting for a decision).
    List {
        /// unconfirmed, pending, approved, rejected.
        #[arg(long, default_value = "pending")]
        status: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve a pending registration: creates the user (and company) and mails the
    /// username and a one-time password.
    Approve {
        /// The registration id (see `list`).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reject a pending registration; the reason is mailed to the registrant.
    Reject {
        /// The registration id.
        id: String,
        /// Why (sent to the registrant).
        #[arg(long)]
        reason: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `idp clients …`.
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a client and print its client_id and generated secret.
    Create(CreateClient),
    /// List registered clients.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Token endpoint authentication of a confidential client.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CliAuthMethod {
    /// HTTP Basic (the default).
    ClientSecretBasic,
    /// Secret in the form body.
    ClientSecretPost,
}

/// `idp clients create`.
#[derive(Debug, Args)]
pub struct CreateClient {
    /// Display name shown on the login page.
    #[arg(long)]
    pub name: String,
    /// A redirect URI, matched exactly (repeatable; required unless the client only
    /// uses client_credentials).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// A post-logout redirect URI (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE required), e.g. a single-page or native app.
    #[arg(long)]
    pub public: bool,
    /// How a confidential client authenticates at the token endpoint.
    #[arg(long, value_enum, default_value = "client-secret-basic")]
    pub auth_method: CliAuthMethod,
    /// Grant types (repeatable); default authorization_code and refresh_token.
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// Scopes the client may request.
    #[arg(long, default_value = "openid profile email offline_access")]
    pub scope: String,
    /// ID token signing algorithm: RS256, ES256 or EdDSA.
    #[arg(long, default_value = "RS256")]
    pub id_token_alg: String,
    /// Let this confidential client skip PKCE (not recommended).
    #[arg(long)]
    pub no_pkce: bool,
    /// Choose the client_id instead of generating one.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Back-Channel Logout 1.0: where logout tokens are POSTed.
    #[arg(long)]
    pub backchannel_logout_uri: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `idp users …`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user (for demos and tests); prints a generated password if none is given.
    Create(CreateUser),
}

/// `idp users create`.
#[derive(Debug, Args)]
pub struct CreateUser {
    /// Login name (letters, digits, `.`, `_`, `-`, `@`); lower-cased.
    #[arg(long)]
    pub username: String,
    /// E-mail address; lower-cased.
    #[arg(long)]
    pub email: String,
    /// Given name.
    #[arg(long, default_value = "")]
    pub given_name: String,
    /// Family name.
    #[arg(long, default_value = "")]
    pub family_name: String,
    /// The password (the password policy applies); read from IDP_NEW_PASSWORD if set,
    /// generated otherwise.
    #[arg(long, env = "IDP_NEW_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// BCP 47 locale, e.g. en or de.
    #[arg(long)]
    pub locale: Option<String>,
    /// IANA time zone, e.g. Europe/Berlin.
    #[arg(long)]
    pub zoneinfo: Option<String>,
    /// Make the user a provider operator (admin pages, approvals).
    #[arg(long)]
    pub operator: bool,
    /// Put the user in the company of their e-mail domain, creating it with this name.
    #[arg(long)]
    pub company: Option<String>,
    /// A role (repeatable), e.g. super_admin.
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// Accept an address the business-only policy refuses (free, disposable or role
    /// address); syntax and confusable checks still apply.
    #[arg(long)]
    pub override_email_policy: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
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
        Command::Registrations(cmd) => registrations(config, cmd).await,
        Command::Companies(cmd) => companies(config, cmd).await,
        Command::Support(cmd) => support(config, cmd).await,
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
    let _ = if config.log.format == "json" {
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

async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    Ok(db)
}

async fn create_client(config: &Config, args: CreateClient) -> anyhow::Result<()> {
    let id_token_alg = SigningAlg::parse(&args.id_token_alg)
        .with_context(|| format!("unsupported --id-token-alg {}", args.id_token_alg))?;
    let grant_types = args
        .grant_types
        .iter()
        .map(|g| GrantType::parse(g).with_context(|| format!("unknown grant type {g}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let auth_method = match (args.public, args.auth_method) {
        (true, _) => AuthMethod::None,
        (false, CliAuthMethod::ClientSecretBasic) => AuthMethod::ClientSecretBasic,
        (false, CliAuthMethod::ClientSecretPost) => AuthMethod::ClientSecretPost,
    };
    let db = open_db(config).await?;
    let spec = ClientSpec {
        name: args.name,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        auth_method,
        grant_types,
        scope: args.scope,
        id_token_alg,
        require_pkce: !args.no_pkce,
        client_id: args.client_id,
        backchannel_logout_uri: args.backchannel_logout_uri,
    };
    let RegisteredClient { row, secret } =
        users::create_client(&db, spec, SystemClock.now()).await?;
    if args.json {
        println!("{}", client_json(&row, secret.as_deref()));
    } else {
        println!("client_id:     {}", row.client_id);
        match &secret {
            Some(secret) => {
                println!("client_secret: {secret}");
                println!("(the secret is stored hashed and shown only now; keep it safe)");
            }
            None => println!("public client: no secret, PKCE required"),
        }
    }
    Ok(())
}

fn client_json(c: &ClientRow, secret: Option<&str>) -> serde_json::Value {
    let list = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap_or_default();
    let mut v = json!({
        "client_id": c.client_id,
        "client_name": c.client_name,
        "token_endpoint_auth_method": c.token_endpoint_auth_method,
        "redirect_uris": list(&c.redirect_uris),
        "post_logout_redirect_uris": list(&c.post_logout_redirect_uris),
        "grant_types": list(&c.grant_types),
        "scope": c.scope,
        "id_token_signed_response_alg": c.id_token_signed_response_alg,
        "require_pkce": c.require_pkce != 0,
        "backchannel_logout_uri": c.backchannel_logout_uri,
    });
    if let (Some(secret), Some(obj)) = (secret, v.as_object_mut()) {
        obj.insert("client_secret".into(), json!(secret));
    }
    v
}

async fn list_clients(config: &Config, json_out: bool) -> anyhow::Result<()> {
    let db = open_db(config).await?;
    let rows = db::clients::list(&db).await?;
    if json_out {
        let list: Vec<_> = rows.iter().map(|c| client_json(c, None)).collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        for c in rows {
            println!(
                "{}\t{}\t{}\t{}",
                c.client_id, c.client_name, c.token_endpoint_auth_method, c.redirect_uris
            );
        }
    }
    Ok(())
}

async fn create_user(config: &Config, args: CreateUser) -> anyhow::Result<()> {
    if !args.override_email_policy {
        if let Err(e) =
            crate::policy::email::EmailPolicy::new(&config.registration).check(&args.email)
        {
            anyhow::bail!(
                "{}: {e} (the business-only policy; pass --override-email-policy to accept it anyway)",
                args.email.trim()
            );
        }
    }
    if let Some(password) = &args.password {
        let personal = [
            args.email.as_str(),
            args.username.as_str(),
            args.given_name.as_str(),
            args.family_name.as_str(),
        ];
        if let Err(rejection) = crate::policy::password::PasswordPolicy::new(&config.passwords)
            .check(password, password, &personal)
        {
            let message = crate::http::pages::password::rejection_message("en", &rejection);
            anyhow::bail!("the password is refused: {message}");
        }
    }
    let db = open_db(config).await?;
    let passwords = Passwords::new(&config.passwords)?;
    let spec = UserSpec {
        username: args.username,
        email: args.email,
        given_name: args.given_name,
        family_name: args.family_name,
        password: args.password,
        locale: args.locale,
        zoneinfo: args.zoneinfo,
        operator: args.operator,
        company: args.company,
        roles: args.roles,
    };
    let CreatedUser {
        user,
        generated_password,
    } = users::create_user(&db, &passwords, spec, SystemClock.now()).await?;
    if args.json {
        println!(
            "{}",
            json!({ "sub": user.id, "username": user.username, "email": user.email, "password": generated_password })
        );
    } else {
        println!("sub:      {}", user.id);
        println!("username: {}", user.username);
        if let Some(p) = generated_password {
            println!("password: {p}");
        }
    }
    Ok(())
}

/// Who a CLI decision is recorded as: `cli:<login name>`.
fn cli_actor() -> String {
    let name = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|n| !n.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    format!("cli:{name}")
}

async fn registrations(config: Config, cmd: RegistrationsCommand) -> anyhow::Result<()> {
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    match cmd {
        RegistrationsCommand::List { status, json } => {
            if !matches!(
                status.as_str(),
                "unconfirmed" | "pending" | "approved" | "rejected"
            ) {
                anyhow::bail!("--status must be unconfirmed, pending, approved or rejected");
            }
            let rows = db::registrations::list_by_status(&state.db, &status).await?;
            let mut list = Vec::new();
            for r in &rows {
                let domain = r.email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
                let company_exists = db::companies::find_by_domain(state.db.pool(), domain)
                    .await?
                    .is_some();
                list.push(json!({
                    "id": r.id, "status": r.status, "email": r.email,
                    "given_name": r.given_name, "family_name": r.family_name,
                    "company": r.company_name, "domain": domain, "company_exists": company_exists,
                    "country": r.country, "job_title": r.job_title, "phone": r.phone, "locale": r.locale,
                    "created_at": r.created_at, "confirmed_at": r.confirmed_at,
                    "decided_at": r.decided_at, "decided_by": r.decided_by, "reason": r.reason,
                }));
            }
            if json {
                println!("{}", serde_json::Value::Array(list));
            } else if list.is_empty() {
                println!("no {status} registrations");
            } else {
                for (r, v) in rows.iter().zip(&list) {
                    println!(
                        "{}\t{} {}\t{}\t{}\tcompany known: {}",
                        r.id,
                        r.given_name,
                        r.family_name,
                        r.email,
                        r.company_name,
                        v["company_exists"]
                    );
                }
            }
        }
        RegistrationsCommand::Approve { id, json } => {
            let approved = crate::account::approval::approve(&state, &id, &cli_actor()).await?;
            crate::outbox::mail::deliver_due(&state.db, &state.mailer, state.clock.as_ref())
                .await?;
            if json {
                println!("{}", serde_json::to_value(&approved)?);
            } else {
                println!(
                    "approved: user {} ({}){}; the welcome mail with the one-time password is queued",
                    approved.username,
                    approved.user_id,
                    if approved.new_company { ", Super Admin of a new company" } else { "" }
                );
            }
        }
        RegistrationsCommand::Reject { id, reason, json } => {
            if reason.trim().is_empty() {
                anyhow::bail!("--reason must not be empty");
            }
            crate::account::approval::reject(&state, &id, &cli_actor(), &reason).await?;
            crate::outbox::mail::deliver_due(&state.db, &state.mailer, state.clock.as_ref())
                .await?;
            if json {
                println!("{}", json!({ "id": id, "status": "rejected" }));
            } else {
                println!("rejected: {id}; the reason is mailed to the registrant");
            }
        }
    }
    Ok(())
}

async fn companies(config: Config, cmd: CompaniesCommand) -> anyhow::Result<()> {
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    match cmd {
        CompaniesCommand::List { json } => {
            let mut list = Vec::new();
            for c in db::companies::list(state.db.pool()).await? {
                let users = db::users::count_in_company(&state.db, &c.id).await?;
                list.push(json!({
                    "name": c.name, "domain": c.domain, "support_level": c.support_level,
                    "region": c.region, "country": c.country, "users": users,
                }));
            }
            if json {
                println!("{}", serde_json::Value::Array(list));
            } else {
                for c in &list {
                    println!(
                        "{}\t{}\t{}\t{}\t{} users",
                        c["domain"].as_str().unwrap_or_default(),
                        c["name"].as_str().unwrap_or_default(),
                        c["support_level"].as_str().unwrap_or_default(),
                        c["region"].as_str().unwrap_or("-"),
                        c["users"]
                    );
                }
            }
        }
        CompaniesCommand::Set {
            domain,
            support_level,
            region,
        } => {
            crate::account::support::set_company_support(
                &state,
                &domain,
                &support_level,
                region.as_deref(),
                &cli_actor(),
            )
            .await?;
            println!(
                "{domain}: support level {support_level}, region {}",
                region.as_deref().unwrap_or("none")
            );
        }
    }
    Ok(())
}

async fn support(config: Config, cmd: SupportCommand) -> anyhow::Result<()> {
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    match cmd {
        SupportCommand::VerifyPin { email, pin, json } => {
            let address = crate::policy::email::normalize(&email)
                .map_err(|e| anyhow::anyhow!("--email {}: {e}", email.trim()))?;
            let digits = pin.trim();
            if !(4..=10).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                anyhow::bail!("--pin: a support PIN is 4 to 10 digits");
            }
            let outcome =
                crate::account::support::verify_pin(&state, &address, digits, &cli_actor(), "cli")
                    .await?;
            match (outcome, json) {
                (Err(blocked), _) => anyhow::bail!(
                    "too many checks; try again in {} minutes",
                    blocked.minutes()
                ),
                (Ok(matches), true) => println!("{}", json!({ "email": email, "match": matches })),
                (Ok(true), false) => println!("the PIN matches {email}"),
                (Ok(false), false) => {
                    println!("the PIN does not match");
                    std::process::exit(3);
                }
            }
        }
    }
    Ok(())
}
