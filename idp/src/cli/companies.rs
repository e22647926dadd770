//! `idp companies …`: customer companies with their support level and region, and
//! their e-mail domains (`idp companies domains add|list|remove`, through
//! [`crate::account::companies`]: the company lock, the business-only policy, audit).

use super::lookup::company_by_domain;
use super::*;
use crate::account::companies::{self as account, DomainError};
use crate::account::members::Acting;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::db::{self};
use crate::policy::email::EmailRejection;
use crate::state::AppState;
use clap::Subcommand;
use serde_json::json;
use std::sync::Arc;

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
    /// A company's e-mail domains: addresses in them may be invited.
    #[command(subcommand)]
    Domains(DomainsCommand),
}

/// `idp companies domains …`.
#[derive(Debug, Subcommand)]
pub enum DomainsCommand {
    /// List the company's domains, primary first.
    List {
        /// The company (any of its domains).
        #[arg(long)]
        company: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a domain (business-only policy; one company per domain).
    Add {
        /// The domain to add, e.g. acme-labs.example.
        domain: String,
        /// The company (any of its domains).
        #[arg(long)]
        company: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an added domain (never the primary one).
    Remove {
        /// The domain to remove.
        domain: String,
        /// The company (any of its domains).
        #[arg(long)]
        company: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn companies(config: Config, cmd: CompaniesCommand) -> anyhow::Result<()> {
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    match cmd {
        CompaniesCommand::List { json } => list(&state, json).await,
        CompaniesCommand::Set {
            domain,
            support_level,
            region,
        } => set(&state, &domain, &support_level, region.as_deref()).await,
        CompaniesCommand::Domains(cmd) => domains(&state, cmd).await,
    }
}

/// `idp companies domains …` as `cli:<login name>`.
async fn domains(state: &AppState, cmd: DomainsCommand) -> anyhow::Result<()> {
    let acting = Acting::cli(cli_actor());
    let (company, domain, json, added) = match cmd {
        DomainsCommand::List { company, json } => {
            let company = company_by_domain(state, &company).await?;
            let list = account::domains(state, &acting, &company.id).await?;
            if json {
                println!(
                    "{}",
                    json!({ "company": company.domain, "name": company.name, "domains": list })
                );
            } else {
                for d in &list {
                    let primary = if *d == company.domain {
                        "\tprimary"
                    } else {
                        ""
                    };
                    println!("{d}{primary}");
                }
            }
            return Ok(());
        }
        DomainsCommand::Add {
            domain,
            company,
            json,
        } => (company, domain, json, true),
        DomainsCommand::Remove {
            domain,
            company,
            json,
        } => (company, domain, json, false),
    };
    let company = company_by_domain(state, &company).await?;
    let changed = if added {
        account::add_domain(state, &acting, &company.id, &domain).await
    } else {
        account::remove_domain(state, &acting, &company.id, &domain).await
    }
    .map_err(|e| match e {
        DomainError::Invalid(EmailRejection::Syntax) => {
            anyhow::anyhow!("{}: not a valid domain name", domain.trim())
        }
        DomainError::Invalid(why) => anyhow::anyhow!(
            "{} is refused: {why} (the business-only e-mail policy)",
            domain.trim()
        ),
        e => e.into(),
    })?;
    let list = account::domains(state, &acting, &company.id).await?;
    if json {
        println!(
            "{}",
            json!({ "company": company.domain, "domain": changed, "domains": list })
        );
    } else if added {
        println!("{}: domain {changed} added", company.domain);
    } else {
        println!("{}: domain {changed} removed", company.domain);
    }
    Ok(())
}

/// `idp companies list`: one line (or JSON object) per company.
async fn list(state: &AppState, json: bool) -> anyhow::Result<()> {
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
        return Ok(());
    }
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
    Ok(())
}

/// `idp companies set`: a company's support level and region.
async fn set(
    state: &AppState,
    domain: &str,
    support_level: &str,
    region: Option<&str>,
) -> anyhow::Result<()> {
    crate::account::support::set_company_support(
        state,
        domain,
        support_level,
        region,
        &cli_actor(),
    )
    .await
    .map_err(|e| match e {
        crate::account::support::SupportError::UnknownRegion(region) => {
            let known: Vec<&str> = state
                .config
                .support
                .regions
                .keys()
                .map(String::as_str)
                .collect();
            anyhow::anyhow!(
                "unknown region {region}; configured regions: {}",
                known.join(", ")
            )
        }
        crate::account::support::SupportError::NoCompany => {
            anyhow::anyhow!(
                "no company with the domain {}",
                domain.trim().to_lowercase()
            )
        }
        e => e.into(),
    })?;
    println!(
        "{domain}: support level {support_level}, region {}",
        region.unwrap_or("none")
    );
    Ok(())
}
