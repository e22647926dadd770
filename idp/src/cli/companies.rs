//! `idp companies …`: customer companies with their support level and region.

use super::*;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::db::{self};
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
    }
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
