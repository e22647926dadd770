//! `idp users list|roles|disable|enable|remove`: a company's members as an operator
//! manages them, through the same account functions (rules, company lock, audit
//! events) as a Super Admin's Users page; the operator acts as `cli:<login name>`
//! and is not asked for a password ([`Reauthentication::Exempt`]).
//!
//! [`Reauthentication::Exempt`]: crate::account::members::Reauthentication::Exempt

use std::collections::HashMap;

use clap::Args;
use serde_json::{json, Value};

use super::lookup::{company_by_domain, member_by_email, unix_time, unknown_role};
use crate::account::members::{self, Acting, MemberError};
use crate::db::users::{Role, User};
use crate::db::{self};
use crate::state::AppState;
use crate::ui::i18n;

/// `idp users list`.
#[derive(Debug, Args)]
pub struct ListUsers {
    /// Only the members of the company with this e-mail domain.
    #[arg(long)]
    pub company: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `idp users roles`.
#[derive(Debug, Args)]
pub struct ChangeRoles {
    /// The member's e-mail address (it may begin with `-`).
    #[arg(allow_hyphen_values = true)]
    pub email: String,
    /// A role to grant (repeatable): `super_admin` or a role of the catalogue.
    #[arg(long = "add")]
    pub add: Vec<String>,
    /// A role to take away (repeatable).
    #[arg(long = "remove")]
    pub remove: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `idp users disable|enable`.
#[derive(Debug, Args)]
pub struct MemberArgs {
    /// The member's e-mail address (it may begin with `-`).
    #[arg(allow_hyphen_values = true)]
    pub email: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `idp users remove`.
#[derive(Debug, Args)]
pub struct RemoveMember {
    /// The member's e-mail address (it may begin with `-`).
    #[arg(allow_hyphen_values = true)]
    pub email: String,
    /// Confirm the removal (it cannot be undone); there is no prompt.
    #[arg(long)]
    pub yes: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `active`, `disabled`, or `pending` (a one-time password still to be replaced at
/// the first sign-in).
fn status(user: &User) -> &'static str {
    if user.disabled {
        "disabled"
    } else if user.must_change_password {
        "pending"
    } else {
        "active"
    }
}

/// The JSON shape of a user in `company` (its primary domain).
fn user_json(user: &User, company: Option<&str>) -> Value {
    json!({
        "id": user.id, "username": user.username, "email": user.email,
        "name": user.display_name(), "company": company, "roles": user.roles,
        "status": status(user), "operator": user.is_operator,
        "last_login_at": user.last_login_at,
    })
}

/// `idp users list`: every user (or the company's members), by e-mail address.
pub(super) async fn list(state: &AppState, args: ListUsers) -> anyhow::Result<()> {
    let domains: HashMap<String, String> = db::companies::list(state.db.pool())
        .await?
        .into_iter()
        .map(|c| (c.id, c.domain))
        .collect();
    let users = match &args.company {
        Some(domain) => {
            let company = company_by_domain(state, domain).await?;
            let mut users = db::members::list(state.db.pool(), &company.id).await?;
            users.sort_by(|a, b| a.email.cmp(&b.email));
            users
        }
        None => db::members::list_all(state.db.pool()).await?,
    };
    let company_of = |u: &User| {
        u.company_id
            .as_ref()
            .and_then(|id| domains.get(id))
            .map(String::as_str)
    };
    if args.json {
        let list: Vec<Value> = users.iter().map(|u| user_json(u, company_of(u))).collect();
        println!("{}", Value::Array(list));
        return Ok(());
    }
    if users.is_empty() {
        println!("no users");
    }
    for u in &users {
        let roles: Vec<&str> = u.roles.iter().map(Role::as_str).collect();
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\tlast sign-in: {}",
            u.id,
            u.username,
            u.email,
            u.display_name(),
            company_of(u).unwrap_or("-"),
            if roles.is_empty() {
                "-".to_owned()
            } else {
                roles.join(",")
            },
            status(u),
            u.last_login_at
                .map_or_else(|| "never".to_owned(), unix_time),
        );
    }
    Ok(())
}

/// The refusal of a member change of `email` in words (the page's message where
/// the page has one).
fn refusal(state: &AppState, email: &str, e: MemberError) -> anyhow::Error {
    match e {
        MemberError::NotFound => anyhow::anyhow!("no user with the e-mail address {email}"),
        MemberError::UnknownRole(role) => unknown_role(state, &role),
        MemberError::LastSuperAdmin => anyhow::anyhow!(
            "{email}: {}",
            i18n::text("en", "company.last_super_admin", &[])
        ),
        e => e.into(),
    }
}

/// `idp users roles`: the member's roles plus `--add`, minus `--remove`. Roles the
/// catalogue no longer has are dropped, as the Users page does.
pub(super) async fn roles(
    state: &AppState,
    acting: &Acting,
    args: ChangeRoles,
) -> anyhow::Result<()> {
    let user = member_by_email(state, &args.email).await?;
    if user.company_id.is_none() {
        anyhow::bail!("{} is in no company and has no company roles", user.email);
    }
    let add = members::catalogue_roles(state, &args.add).map_err(|e| unknown_role(state, &e.0))?;
    let remove =
        members::catalogue_roles(state, &args.remove).map_err(|e| unknown_role(state, &e.0))?;
    if add.is_empty() && remove.is_empty() {
        anyhow::bail!("nothing to change: give --add ROLE or --remove ROLE");
    }
    if let Some(both) = add.iter().find(|r| remove.contains(r)) {
        anyhow::bail!("{both} is both added and removed");
    }
    let names: Vec<String> = user
        .roles
        .iter()
        .filter(|r| !remove.contains(r))
        .chain(add.iter())
        .filter(|r| members::catalogue_roles(state, &[r.to_string()]).is_ok())
        .map(Role::to_string)
        .collect();
    let changed = members::set_roles(state, acting, &user.id, &names, None)
        .await
        .map_err(|e| refusal(state, &user.email, e))?;
    let roles: Vec<&str> = changed.roles.iter().map(Role::as_str).collect();
    if args.json {
        println!(
            "{}",
            json!({ "id": changed.id, "email": changed.email, "roles": roles })
        );
    } else {
        println!(
            "{}: roles {} (effective at the next sign-in or token refresh)",
            changed.email,
            if roles.is_empty() {
                "none".to_owned()
            } else {
                roles.join(", ")
            }
        );
    }
    Ok(())
}

/// `idp users disable|enable`.
pub(super) async fn set_disabled(
    state: &AppState,
    acting: &Acting,
    args: MemberArgs,
    disabled: bool,
) -> anyhow::Result<()> {
    let user = member_by_email(state, &args.email).await?;
    if user.company_id.is_none() {
        anyhow::bail!("{} is in no company", user.email);
    }
    let changed = members::set_disabled(state, acting, &user.id, disabled)
        .await
        .map_err(|e| refusal(state, &user.email, e))?;
    if args.json {
        println!(
            "{}",
            json!({ "id": changed.id, "email": changed.email, "status": status(&changed) })
        );
    } else if disabled {
        println!(
            "{}: disabled; sessions ended, tokens revoked, relying parties told",
            changed.email
        );
    } else {
        println!("{}: enabled", changed.email);
    }
    Ok(())
}

/// `idp users remove --yes`.
pub(super) async fn remove(
    state: &AppState,
    acting: &Acting,
    args: RemoveMember,
) -> anyhow::Result<()> {
    if !args.yes {
        anyhow::bail!(
            "removing {} cannot be undone: pass --yes to confirm",
            args.email.trim()
        );
    }
    let user = member_by_email(state, &args.email).await?;
    if user.company_id.is_none() {
        anyhow::bail!("{} is in no company", user.email);
    }
    members::remove(state, acting, &user.id)
        .await
        .map_err(|e| refusal(state, &user.email, e))?;
    if args.json {
        println!(
            "{}",
            json!({ "id": user.id, "email": user.email, "status": "removed" })
        );
    } else {
        println!("{}: removed (the account is anonymised)", user.email);
    }
    Ok(())
}
