//! `idp users …`: accounts an operator creates, and a company's members
//! ([`members`](super::members): list, roles, disable, enable, remove).

use std::sync::Arc;

use super::members::{self, ChangeRoles, ListUsers, MemberArgs, RemoveMember};
use super::*;
use crate::account::members::Acting;
use crate::account::users::{self, CreatedUser, UserSpec};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::password_hash::Passwords;
use crate::db::users::Role;
use crate::state::AppState;
use clap::{Args, Subcommand};
use serde_json::json;

/// `idp users …`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user (for demos and tests); prints a generated password if none is given.
    Create(CreateUser),
    /// List users: id, username, e-mail, name, company, roles, status, last sign-in.
    List(ListUsers),
    /// Change a member's roles (`--add ROLE`, `--remove ROLE`, repeatable).
    Roles(ChangeRoles),
    /// Disable a member: sessions end, tokens are revoked, relying parties are told.
    Disable(MemberArgs),
    /// Enable a disabled member again.
    Enable(MemberArgs),
    /// Remove a member (anonymise the account); needs `--yes`.
    Remove(RemoveMember),
}

/// Runs `idp users …` as `cli:<login name>` ([`cli_actor`]).
pub(super) async fn manage(config: Config, cmd: UsersCommand) -> anyhow::Result<()> {
    if let UsersCommand::Create(args) = cmd {
        return create_user(&config, args).await;
    }
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    let acting = Acting::cli(cli_actor());
    match cmd {
        UsersCommand::Create(args) => create_user(&state.config, args).await,
        UsersCommand::List(args) => members::list(&state, args).await,
        UsersCommand::Roles(args) => members::roles(&state, &acting, args).await,
        UsersCommand::Disable(args) => members::set_disabled(&state, &acting, args, true).await,
        UsersCommand::Enable(args) => members::set_disabled(&state, &acting, args, false).await,
        UsersCommand::Remove(args) => members::remove(&state, &acting, args).await,
    }
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
    /// A role (repeatable): super_admin or a role of the catalogue (`idp roles list`).
    #[arg(long = "role")]
    pub roles: Vec<Role>,
    /// Accept an address the business-only policy refuses (free, disposable or role
    /// address); syntax and confusable checks still apply.
    #[arg(long)]
    pub override_email_policy: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn create_user(config: &Config, args: CreateUser) -> anyhow::Result<()> {
    check_policies(config, &args)?;
    let db = open_db(config).await?;
    let passwords = Passwords::new(&config.passwords)?;
    let json = args.json;
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
    let created = users::create_user(&db, &passwords, spec, SystemClock.now()).await?;
    print_created(&created, json);
    Ok(())
}

/// Refuses, before anything is stored, a role that is neither `super_admin` nor in
/// the catalogue, an address the business-only policy refuses (unless
/// `--override-email-policy`) and a given password the password policy refuses.
fn check_policies(config: &Config, args: &CreateUser) -> anyhow::Result<()> {
    for role in &args.roles {
        if let Role::Named(name) = role {
            if config.role(name).is_none() {
                anyhow::bail!(
                    "--role {name}: not a role of the catalogue (super_admin or a [[roles]] \
                     entry of the configuration; see `idp roles list`)"
                );
            }
        }
    }
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
            anyhow::bail!("the password is refused: {}", rejection.message("en"));
        }
    }
    Ok(())
}

/// Prints the new user's sub, username and any generated password (as JSON with
/// `--json`).
fn print_created(created: &CreatedUser, json: bool) {
    let CreatedUser {
        user,
        generated_password,
    } = created;
    if json {
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
}
