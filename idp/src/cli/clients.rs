//! `idp clients …`: relying parties (OAuth clients).

use super::*;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::keys::SigningAlg;
use crate::db::clients::ClientRow;
use crate::db::{self};
use crate::oauth::client::{AuthMethod, Client, GrantType};
use crate::oauth::registration::{self, ClientSpec, RegisteredClient};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

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

pub(super) async fn create_client(config: &Config, args: CreateClient) -> anyhow::Result<()> {
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
        registration::create_client(&db, spec, SystemClock.now()).await?;
    if args.json {
        println!("{}", client_json(&row, secret.as_deref())?);
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

/// The client as JSON, read through the domain type: a stored value that does not
/// parse is an error naming its column, never an empty default.
fn client_json(row: &ClientRow, secret: Option<&str>) -> anyhow::Result<serde_json::Value> {
    let c = Client::from_row(row.clone())?;
    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
    let mut v = json!({
        "client_id": c.client_id,
        "client_name": c.client_name,
        "token_endpoint_auth_method": c.auth_method.as_str(),
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "grant_types": grants,
        "scope": c.allowed_scope.to_string(),
        "id_token_signed_response_alg": c.id_token_alg.as_str(),
        "require_pkce": c.require_pkce,
        "backchannel_logout_uri": c.backchannel_logout_uri,
    });
    if let (Some(secret), Some(obj)) = (secret, v.as_object_mut()) {
        obj.insert("client_secret".into(), json!(secret));
    }
    Ok(v)
}

pub(super) async fn list_clients(config: &Config, json_out: bool) -> anyhow::Result<()> {
    let db = open_db(config).await?;
    let rows = db::clients::list(&db).await?;
    if json_out {
        let list = rows
            .iter()
            .map(|c| client_json(c, None))
            .collect::<anyhow::Result<Vec<_>>>()?;
        println!("{}", serde_json::Value::Array(list));
    } else {
        for row in rows {
            let c = Client::from_row(row)?;
            println!(
                "{}\t{}\t{}\t{}",
                c.client_id,
                c.client_name,
                c.auth_method.as_str(),
                c.redirect_uris.join(" ")
            );
        }
    }
    Ok(())
}
