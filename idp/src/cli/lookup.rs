//! Lookups the operator subcommands share: a company by any of its domains, a user
//! by address, and the words of a time and of an unknown role. Uses nothing of
//! `cli` itself, so the subcommand modules can share it without a cycle.

use crate::account::companies as account;
use crate::db::companies::CompanyRow;
use crate::db::users::{Role, User};
use crate::db::{self};
use crate::state::AppState;

/// The company that owns `domain` (its primary domain or an added one).
///
/// # Errors
/// "no company with the domain …".
pub(super) async fn company_by_domain(
    state: &AppState,
    domain: &str,
) -> anyhow::Result<CompanyRow> {
    account::by_domain(state, domain).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "no company with the domain {}",
            domain.trim().to_lowercase()
        )
    })
}

/// The member whose address is `email` (not removed).
///
/// # Errors
/// No such user: "no user with the e-mail address …".
pub(super) async fn member_by_email(state: &AppState, email: &str) -> anyhow::Result<User> {
    let address = crate::policy::email::normalize(email)
        .map(|e| e.to_string())
        .unwrap_or_else(|_| email.trim().to_lowercase());
    db::members::find_by_email(state.db.pool(), &address)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user with the e-mail address {address}"))
}

/// "unknown role …", naming the roles there are.
pub(super) fn unknown_role(state: &AppState, role: &str) -> anyhow::Error {
    let known: Vec<&str> = std::iter::once(Role::SUPER_ADMIN)
        .chain(state.config.roles.iter().map(|r| r.name.as_str()))
        .collect();
    anyhow::anyhow!("unknown role {role:?}; the roles are: {}", known.join(", "))
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub(super) fn unix_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map_or_else(
        || t.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}
