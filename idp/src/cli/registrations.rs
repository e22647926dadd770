//! `idp registrations …`: the approval queue of self-registrations.

use super::*;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::db::{self};
use crate::state::AppState;
use clap::Subcommand;
use serde_json::json;
use std::sync::Arc;

use crate::db::registrations::RegistrationStatus;

/// `idp registrations …`.
#[derive(Debug, Subcommand)]
pub enum RegistrationsCommand {
    /// List registrations (by default the confirmed ones waiting for a decision).
    List {
        /// unconfirmed, pending, approved, rejected.
        #[arg(long, value_enum, default_value_t = RegistrationStatus::Pending)]
        status: RegistrationStatus,
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

pub(super) async fn registrations(config: Config, cmd: RegistrationsCommand) -> anyhow::Result<()> {
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    match cmd {
        RegistrationsCommand::List { status, json } => list(&state, status, json).await,
        RegistrationsCommand::Approve { id, json } => approve(&state, &id, json).await,
        RegistrationsCommand::Reject { id, reason, json } => {
            reject(&state, &id, &reason, json).await
        }
    }
}

/// `idp registrations list`: the registrations in `status`, one line (or JSON
/// object) each.
async fn list(state: &AppState, status: RegistrationStatus, json: bool) -> anyhow::Result<()> {
    let rows = db::registrations::list_by_status(&state.db, status).await?;
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
                r.id, r.given_name, r.family_name, r.email, r.company_name, v["company_exists"]
            );
        }
    }
    Ok(())
}

/// `idp registrations approve`: creates the user and sends the welcome mail.
async fn approve(state: &AppState, id: &str, json: bool) -> anyhow::Result<()> {
    let approved = crate::account::approval::approve(state, id, &cli_actor()).await?;
    crate::outbox::mail::deliver_due(&state.db, &state.mailer, state.clock.as_ref()).await?;
    if json {
        println!("{}", serde_json::to_value(&approved)?);
    } else {
        println!(
            "approved: user {} ({}){}; the welcome mail with the one-time password is queued",
            approved.username,
            approved.user_id,
            if approved.new_company {
                ", Super Admin of a new company"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// `idp registrations reject`: records the decision and mails the reason.
async fn reject(state: &AppState, id: &str, reason: &str, json: bool) -> anyhow::Result<()> {
    if reason.trim().is_empty() {
        anyhow::bail!("--reason must not be empty");
    }
    crate::account::approval::reject(state, id, &cli_actor(), reason).await?;
    crate::outbox::mail::deliver_due(&state.db, &state.mailer, state.clock.as_ref()).await?;
    if json {
        println!("{}", json!({ "id": id, "status": "rejected" }));
    } else {
        println!("rejected: {id}; the reason is mailed to the registrant");
    }
    Ok(())
}
