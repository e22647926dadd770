//! `idp keys …`: the signing keys and their staged rotation.

use super::*;
use crate::crypto::keys::{KeyInfo, SigningAlg};
use crate::db::audit;
use clap::Subcommand;

/// `idp keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Every stored key: kid, alg, state (next, active, retired, removed), created,
    /// activates, retires and removes at.
    List {
        /// Print JSON: an array of {kid, alg, state, created_at, activates_at,
        /// retires_at, removes_at} (Unix seconds).
        #[arg(long)]
        json: bool,
    },
    /// Start a rotation: create the next key of each algorithm (or of `--alg`),
    /// published at once and signing only once every relying party's cached JWKS
    /// holds it; the current key retires then.
    Rotate {
        /// RS256, ES256 or EdDSA; all three when omitted.
        #[arg(long)]
        alg: Option<String>,
        /// Activate at this time (RFC 3339, e.g. 2027-01-01T00:00:00Z, or Unix
        /// seconds) instead of as soon as it is safe; never earlier than that.
        #[arg(long)]
        at: Option<String>,
        /// Print JSON: an array of {kid, alg, activates_at}.
        #[arg(long)]
        json: bool,
    },
    /// Emergency: revoke a key. It leaves the JWKS at once (every process within
    /// seconds) and tokens it signed stop working; if it was signing, the next key is
    /// activated at once or a new one created.
    Revoke {
        /// The key's kid (see `idp keys list`); a kid may begin with `-`.
        #[arg(allow_hyphen_values = true)]
        kid: String,
        /// Never create a new key: refused when the key signs and its algorithm has
        /// no next key to activate instead.
        #[arg(long)]
        no_new_key: bool,
        /// Print JSON: {kid, alg, replacement}.
        #[arg(long)]
        json: bool,
    },
    /// KEK rotation: re-seal every stored signing key, support PIN and secret under
    /// the configured key-encryption key, opening them with it or with one of
    /// keys.previous_keks / keys.previous_kek_files. Safe while the provider serves;
    /// see docs/operations.md for the steps around it.
    RotateKek {
        /// Print JSON: {signing_keys, support_pins, secrets, unchanged}.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `cmd`.
///
/// # Errors
/// Unknown algorithm, time or kid, a rotation already under way, a key already
/// revoked, database failures.
pub(super) async fn keys(config: Config, cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::List { json } => {
            let state = AppState::build(config, Arc::new(SystemClock)).await?;
            let keys = state.keys.list(&state.db).await?;
            if json {
                println!("{}", serde_json::to_string(&keys)?);
            } else {
                print_keys(&keys);
            }
            Ok(())
        }
        KeysCommand::Revoke {
            kid,
            no_new_key,
            json,
        } => {
            let state = AppState::build(config, Arc::new(SystemClock)).await?;
            let revoked = state
                .keys
                .revoke(&state.db, &state.kek, &kid, !no_new_key, &cli_actor())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                println!("{}", serde_json::to_string(&revoked)?);
            } else {
                println!("{} {}: revoked", revoked.alg, revoked.kid);
                if let Some(r) = &revoked.replacement {
                    println!("{} {r}: signs from now on", revoked.alg);
                }
            }
            Ok(())
        }
        KeysCommand::Rotate { alg, at, json } => {
            let algs = match alg.as_deref() {
                None => SigningAlg::ALL.to_vec(),
                Some(name) => vec![SigningAlg::parse(name).ok_or_else(|| {
                    anyhow::anyhow!("unknown algorithm {name:?}: use RS256, ES256 or EdDSA")
                })?],
            };
            let at = at.as_deref().map(parse_time).transpose()?;
            let state = AppState::build(config, Arc::new(SystemClock)).await?;
            let mut out = Vec::new();
            for alg in algs {
                let rotated = state
                    .keys
                    .rotate(&state.db, &state.kek, alg, at, &cli_actor())
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                out.push(rotated);
            }
            if json {
                println!("{}", serde_json::to_string(&out)?);
            } else {
                for r in &out {
                    println!(
                        "{} {}: published now, signs from {}",
                        r.alg,
                        r.kid,
                        time_text(r.activates_at)
                    );
                }
            }
            Ok(())
        }
        KeysCommand::RotateKek { json } => {
            let state = AppState::build(config, Arc::new(SystemClock)).await?;
            let done = crate::crypto::kek::reseal_stored(&state.db, &state.kek).await?;
            let details = serde_json::to_value(&done)?;
            let now = state.clock.now();
            audit::record(
                state.db.pool(),
                now,
                &cli_actor(),
                "kek.rotated",
                "kek",
                &details,
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string(&done)?);
            } else {
                println!(
                    "re-sealed under the current key-encryption key: {} signing keys, {} support \
                     PINs, {} secrets ({} were already)",
                    done.signing_keys, done.support_pins, done.secrets, done.unchanged
                );
            }
            Ok(())
        }
    }
}

fn print_keys(keys: &[KeyInfo]) {
    println!(
        "{:<6} {:<8} {:<44} {:<20} {:<20} REMOVES",
        "ALG", "STATE", "KID", "ACTIVATES", "RETIRES"
    );
    for k in keys {
        let state = k.state.as_str();
        println!(
            "{:<6} {:<8} {:<44} {:<20} {:<20} {}",
            k.alg.as_str(),
            state,
            k.kid,
            time_text(k.activates_at),
            k.retires_at.map_or_else(|| "-".to_owned(), time_text),
            k.removes_at.map_or_else(|| "-".to_owned(), time_text),
        );
    }
}

fn time_text(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map_or_else(
        || t.to_string(),
        |d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// An RFC 3339 time or Unix seconds.
fn parse_time(text: &str) -> anyhow::Result<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|d| d.timestamp())
        .map_err(|_| {
            anyhow::anyhow!("--at {text:?}: use RFC 3339 (2027-01-01T00:00:00Z) or Unix seconds")
        })
}
