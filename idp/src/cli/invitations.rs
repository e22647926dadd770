//! `idp invitations …`: invite into a company, list, revoke and resend invitations as
//! an operator, through the same account functions (rules, company lock, hourly
//! allowance, mails, audit events) as a Super Admin's Users page. A new or resent
//! link is queued in the outbox and delivered at once, like `idp registrations
//! approve` does.

use std::collections::HashMap;
use std::sync::Arc;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::lookup::{company_by_domain, unix_time, unknown_role};
use super::*;
use crate::account::invitations::{self, Invite, InviteError};
use crate::account::members::Acting;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::db::invitations::Invitation;
use crate::db::users::Role;
use crate::db::{self};
use crate::state::AppState;
use crate::ui::i18n;

/// `idp invitations …`.
#[derive(Debug, Subcommand)]
pub enum InvitationsCommand {
    /// Invite an address of the company's domains; the mail goes out through the
    /// outbox. Prints the invitation's id and expiry.
    Create(CreateInvitation),
    /// List pending invitations (expired ones included), newest first.
    List {
        /// Only the invitations of the company with this e-mail domain.
        #[arg(long)]
        company: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a pending invitation: its link stops working at once.
    Revoke {
        /// The invitation id (see `list`).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Mail a pending invitation a new link; the old one stops working.
    Resend {
        /// The invitation id (see `list`).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `idp invitations create`.
#[derive(Debug, Args)]
pub struct CreateInvitation {
    /// The company (any of its e-mail domains).
    #[arg(long)]
    pub company: String,
    /// The invitee's address, in one of the company's domains.
    #[arg(long)]
    pub email: String,
    /// A catalogue role to grant (repeatable); `super_admin` is granted after
    /// acceptance (`idp users roles`).
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// Proposed given name (the invitee confirms it).
    #[arg(long, default_value = "")]
    pub given_name: String,
    /// Proposed family name.
    #[arg(long, default_value = "")]
    pub family_name: String,
    /// Language of the mail and the accept page: en or de (default en).
    #[arg(long)]
    pub locale: Option<String>,
    /// Where the invitee continues after accepting (default
    /// `registration.portal_login_url`).
    #[arg(long)]
    pub portal_url: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn invitations(config: Config, cmd: InvitationsCommand) -> anyhow::Result<()> {
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    let acting = Acting::cli(cli_actor());
    match cmd {
        InvitationsCommand::Create(args) => create(&state, &acting, args).await,
        InvitationsCommand::List { company, json } => list(&state, company.as_deref(), json).await,
        InvitationsCommand::Revoke { id, json } => {
            invitations::revoke(&state, &acting, &id)
                .await
                .map_err(|e| refusal(&state, &id, e))?;
            if json {
                println!("{}", json!({ "id": id, "status": "revoked" }));
            } else {
                println!("revoked: {id}");
            }
            Ok(())
        }
        InvitationsCommand::Resend { id, json } => {
            let invitation = invitations::resend(&state, &acting, &id)
                .await
                .map_err(|e| refusal(&state, &id, e))?;
            deliver(&state).await?;
            if json {
                println!("{}", invitation_json(&invitation, None, state.clock.now()));
            } else {
                println!(
                    "resent: {id} to {}, valid until {}",
                    invitation.email,
                    unix_time(invitation.expires_at)
                );
            }
            Ok(())
        }
    }
}

/// Sends the mail that is due (the new link), as `idp registrations approve` does;
/// a failed delivery stays queued for the provider's mail worker.
async fn deliver(state: &AppState) -> anyhow::Result<()> {
    crate::outbox::mail::deliver_due(&state.db, &state.mailer, state.clock.as_ref()).await?;
    Ok(())
}

/// The refusal of an action on invitation `what` in words (the page's message where
/// the page has one).
fn refusal(state: &AppState, what: &str, e: InviteError) -> anyhow::Error {
    let page = |key: &str| i18n::text("en", key, &[]);
    match e {
        InviteError::NotFound => anyhow::anyhow!("no invitation with the id {what}"),
        InviteError::InvalidEmail(why) => {
            anyhow::anyhow!("{what}: {}", page(why.message_key()))
        }
        InviteError::UnknownRole(role) => unknown_role(state, &role),
        InviteError::SuperAdminRole => anyhow::anyhow!(
            "{} Grant it after acceptance with `idp users roles EMAIL --add super_admin`.",
            page("company.super_admin_invite")
        ),
        InviteError::InvalidText(field, key) => anyhow::anyhow!("--{field}: {}", page(key)),
        e @ InviteError::InvalidPortalUrl => anyhow::anyhow!("--portal-url: {e}"),
        InviteError::NotPending => anyhow::anyhow!("{what}: {}", page("company.not_pending")),
        InviteError::Throttled => anyhow::anyhow!("{}", page("company.too_many")),
        e => e.into(),
    }
}

/// The JSON shape of an invitation into the company with primary domain `company`.
fn invitation_json(i: &Invitation, company: Option<&str>, now: i64) -> Value {
    let roles: Vec<&str> = i.roles.iter().map(Role::as_str).collect();
    json!({
        "id": i.id, "company": company, "email": i.email,
        "given_name": i.given_name, "family_name": i.family_name, "roles": roles,
        "locale": i.locale, "status": i.status, "expired": i.expires_at <= now,
        "invited_by": i.invited_by, "created_at": i.created_at, "sent_at": i.sent_at,
        "expires_at": i.expires_at, "renewal_asked": i.renewal_asked_at.is_some(),
    })
}

/// `idp invitations create`.
async fn create(state: &AppState, acting: &Acting, args: CreateInvitation) -> anyhow::Result<()> {
    let company = company_by_domain(state, &args.company).await?;
    if let Some(locale) = &args.locale {
        if !crate::ui::i18n::LANGUAGES.contains(&locale.as_str()) {
            anyhow::bail!(
                "--locale {locale}: one of {}",
                crate::ui::i18n::LANGUAGES.join(", ")
            );
        }
    }
    let email = args.email.trim().to_owned();
    let invite = Invite {
        email: args.email,
        given_name: args.given_name,
        family_name: args.family_name,
        roles: args.roles,
        locale: args.locale,
        portal_url: args.portal_url,
    };
    let invitation = match invitations::create(state, acting, &company.id, invite).await {
        Err(InviteError::ForeignDomain) => {
            let domains = db::companies::domains(state.db.pool(), &company.id).await?;
            anyhow::bail!(
                "{email}: the address must belong to one of the company's domains ({})",
                domains.join(", ")
            );
        }
        other => other.map_err(|e| refusal(state, &email, e))?,
    };
    deliver(state).await?;
    if args.json {
        println!(
            "{}",
            invitation_json(&invitation, Some(&company.domain), state.clock.now())
        );
    } else {
        println!("invitation: {}", invitation.id);
        println!("email:      {}", invitation.email);
        println!("expires:    {}", unix_time(invitation.expires_at));
    }
    Ok(())
}

/// `idp invitations list`.
async fn list(state: &AppState, company: Option<&str>, json: bool) -> anyhow::Result<()> {
    let company_id = match company {
        Some(domain) => Some(company_by_domain(state, domain).await?.id),
        None => None,
    };
    let domains: HashMap<String, String> = db::companies::list(state.db.pool())
        .await?
        .into_iter()
        .map(|c| (c.id, c.domain))
        .collect();
    let pending = db::invitations::pending(state.db.pool(), company_id.as_deref()).await?;
    let now = state.clock.now();
    let company_of = |i: &Invitation| domains.get(&i.company_id).map(String::as_str);
    if json {
        let list: Vec<Value> = pending
            .iter()
            .map(|i| invitation_json(i, company_of(i), now))
            .collect();
        println!("{}", Value::Array(list));
        return Ok(());
    }
    if pending.is_empty() {
        println!("no pending invitations");
    }
    for i in &pending {
        let roles: Vec<&str> = i.roles.iter().map(Role::as_str).collect();
        println!(
            "{}\t{}\t{}\t{}\tby {}\t{} {}{}",
            i.id,
            company_of(i).unwrap_or("-"),
            i.email,
            if roles.is_empty() {
                "-".to_owned()
            } else {
                roles.join(",")
            },
            i.invited_by_name,
            if i.expires_at <= now {
                "expired"
            } else {
                "expires"
            },
            unix_time(i.expires_at),
            if i.renewal_asked_at.is_some() {
                "\tasks for a new link"
            } else {
                ""
            },
        );
    }
    Ok(())
}
