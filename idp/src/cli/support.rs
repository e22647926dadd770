//! `idp support …`: check the support PIN a caller reads out.

use super::*;
use crate::account::support::SupportError;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::state::AppState;
use clap::Subcommand;
use serde_json::json;
use std::sync::Arc;

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

pub(super) async fn support(config: Config, cmd: SupportCommand) -> anyhow::Result<()> {
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
                    .await;
            match (outcome, json) {
                (Err(SupportError::Blocked(blocked)), _) => anyhow::bail!(
                    "too many checks; try again in {} minutes",
                    blocked.minutes()
                ),
                (Err(e), _) => return Err(e.into()),
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
