//! `idp audit list`: the audit trail, newest first, filtered by company, user and
//! action (the same events as a company's Activity page and `/admin/audit`).

use std::collections::HashMap;
use std::sync::Arc;

use clap::Subcommand;
use serde_json::{json, Value};

use super::lookup::{company_by_domain, member_by_email, unix_time};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::db::audit::{self, Filter};
use crate::db::{self};
use crate::state::AppState;

/// Most events one `idp audit list` prints.
const MAX_LIMIT: i64 = 10_000;

/// `idp audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit events, newest first.
    List {
        /// Only the events of the company with this e-mail domain.
        #[arg(long)]
        company: Option<String>,
        /// Only events about or by this user: an e-mail address, or a user id (`sub`,
        /// also of a removed account).
        #[arg(long)]
        user: Option<String>,
        /// Only this action, e.g. `member.disabled` or `invitation.created`.
        #[arg(long)]
        action: Option<String>,
        /// At most this many events (1 to 10000).
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn audit(config: Config, cmd: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::List {
        company,
        user,
        action,
        limit,
        json,
    } = cmd;
    if !(1..=MAX_LIMIT).contains(&limit) {
        anyhow::bail!("--limit {limit}: 1 to {MAX_LIMIT}");
    }
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    let company_id = match &company {
        Some(domain) => Some(company_by_domain(&state, domain).await?.id),
        None => None,
    };
    let user_id = match &user {
        Some(u) if u.contains('@') => Some(member_by_email(&state, u).await?.id),
        Some(sub) => Some(sub.trim().to_owned()),
        None => None,
    };
    let action = action
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    let filter = Filter {
        company_id: company_id.as_deref(),
        user_id: user_id.as_deref(),
        action: action.as_deref(),
        limit,
    };
    let rows = audit::list(state.db.pool(), &filter).await?;
    let domains: HashMap<String, String> = db::companies::list(state.db.pool())
        .await?
        .into_iter()
        .map(|c| (c.id, c.domain))
        .collect();
    let company_of =
        |id: &Option<String>| id.as_ref().and_then(|c| domains.get(c)).map(String::as_str);
    if json {
        let list: Vec<Value> = rows
            .iter()
            .map(|e| {
                json!({
                    "id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
                    "subject": e.subject, "company": company_of(&e.company_id),
                    "company_id": e.company_id, "ip": e.ip, "user_agent": e.user_agent,
                    "details": serde_json::from_str::<Value>(&e.details).unwrap_or(Value::Null),
                })
            })
            .collect();
        println!("{}", Value::Array(list));
        return Ok(());
    }
    if rows.is_empty() {
        println!("no events");
    }
    for e in &rows {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            unix_time(e.at),
            e.actor,
            e.action,
            e.subject,
            company_of(&e.company_id).unwrap_or("-"),
            e.ip.as_deref().unwrap_or("-"),
            e.details
        );
    }
    Ok(())
}
