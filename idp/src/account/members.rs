//! A company's members as its Super Admin (or an operator) manages them: roles,
//! disabling and re-enabling, removal. Every change runs in one transaction that first
//! takes the company's lock ([`companies::lock`]), so "at least one active Super
//! Admin" is checked and acted on atomically however many requests or provider
//! processes race; every change is an audit event with the company, the client IP and
//! the browser.
//!
//! A Super Admin acts only on their own company: another company's user id is
//! [`MemberError::NotFound`], exactly like an id that does not exist.

use serde_json::json;

use crate::account::reauth::{self, ReauthError};
use crate::account::sessions;
use crate::db::audit::{self, NewEvent};
use crate::db::users::{Role, User};
use crate::db::{companies, members};
use crate::error::{internal_from, Internal};
use crate::policy::throttle::{Blocked, ThrottleError};
use crate::state::AppState;

/// Who acts on a company, and from where (the audit trail's actor, IP and browser).
#[derive(Debug, Clone)]
pub struct Acting {
    /// The audit actor: `user:<sub>`, `operator:<username>` or `cli:<name>`.
    pub actor: String,
    /// A display name for mails and pages ("invited by").
    pub name: String,
    /// The acting Super Admin; `None` for operators and the CLI.
    pub user: Option<User>,
    /// Whether granting `super_admin` asks the actor for their password again.
    pub reauthentication: Reauthentication,
    /// The only company this actor may act on; `None`: any (operators, the CLI).
    pub company_id: Option<String>,
    /// Client IP (none for the CLI).
    pub ip: Option<String>,
    /// The client network for throttling re-authentication (`ClientIp::network`).
    pub network: String,
    /// User-Agent, shortened.
    pub user_agent: Option<String>,
}

/// Whether a change that grants `super_admin` asks the actor for their password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reauthentication {
    /// A Super Admin signed in to a browser: their current password, throttled like a
    /// login (a stolen session alone cannot make a new Super Admin).
    Password,
    /// An operator at the command line: exempt. Whoever runs `idp` already holds the
    /// configuration and the database, so a password would protect nothing.
    Exempt,
}

impl Acting {
    /// `user` acting as their company's Super Admin; `None` if the user is not one
    /// (no company, no `super_admin` role, disabled).
    pub fn super_admin(
        user: &User,
        ip: &str,
        network: String,
        user_agent: Option<&str>,
    ) -> Option<Self> {
        let company_id = user.company_id.clone()?;
        if !user.is_active() || !user.roles.contains(&Role::SuperAdmin) {
            return None;
        }
        Some(Self {
            actor: format!("user:{}", user.id),
            name: user.display_name(),
            user: Some(user.clone()),
            reauthentication: Reauthentication::Password,
            company_id: Some(company_id),
            ip: Some(ip.to_owned()),
            network,
            user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
        })
    }

    /// The command line, as `actor` (`cli:<name>`, see `cli::cli_actor`), for any
    /// company, exempt from [`Reauthentication`].
    pub fn cli(actor: String) -> Self {
        Self {
            name: actor.clone(),
            actor,
            user: None,
            reauthentication: Reauthentication::Exempt,
            company_id: None,
            ip: None,
            network: String::new(),
            user_agent: None,
        }
    }

    /// The audit event of `action` on `subject` in company `company_id`.
    pub fn event<'a>(
        &'a self,
        action: &'a str,
        subject: &'a str,
        company_id: &'a str,
    ) -> NewEvent<'a> {
        NewEvent {
            actor: &self.actor,
            action,
            subject,
            company_id: Some(company_id),
            ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
        }
    }
}

/// Why a member change was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    /// No such user in the acting company (or removed): 404.
    #[error("no such user in this company")]
    NotFound,
    /// A role that is not in the catalogue (`roles` in the configuration).
    #[error("{0:?} is not a role of the catalogue")]
    UnknownRole(String),
    /// The change would leave the company without an active Super Admin.
    #[error("the company's last Super Admin cannot lose the role, be disabled or be removed")]
    LastSuperAdmin,
    /// Granting `super_admin` needs the acting Super Admin's password, which was
    /// missing or wrong.
    #[error("granting super_admin needs your current password")]
    Reauthenticate,
    /// Too many wrong passwords.
    #[error(transparent)]
    Throttled(Blocked),
    /// Any other failure (logged, 500).
    #[error(transparent)]
    Internal(Internal),
}

internal_from!(MemberError: sqlx::Error, Internal, anyhow::Error);

impl From<ThrottleError> for MemberError {
    fn from(e: ThrottleError) -> Self {
        match e {
            ThrottleError::Blocked(b) => MemberError::Throttled(b),
            ThrottleError::Internal(e) => MemberError::Internal(e),
        }
    }
}

/// A role name that is neither `super_admin` nor in the configured catalogue.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0:?} is not a role of the catalogue")]
pub struct UnknownRole(pub String);

impl From<UnknownRole> for MemberError {
    fn from(e: UnknownRole) -> Self {
        MemberError::UnknownRole(e.0)
    }
}

/// The roles named `names` (deduplicated, `super_admin` first), each either
/// `super_admin` or in the configured catalogue.
///
/// # Errors
/// [`UnknownRole`] naming the first that is not.
pub fn catalogue_roles(state: &AppState, names: &[String]) -> Result<Vec<Role>, UnknownRole> {
    let mut roles = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let role = Role::parse(name).map_err(|_| UnknownRole(name.to_owned()))?;
        if role != Role::SuperAdmin && state.config.role(name).is_none() {
            return Err(UnknownRole(name.to_owned()));
        }
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles.sort();
    Ok(roles)
}

/// Opens the acting company's transaction: the company lock, then the member
/// `user_id` (of `acting.company_id`, or of any company for operators).
async fn begin(
    state: &AppState,
    acting: &Acting,
    user_id: &str,
) -> Result<(sqlx::Transaction<'static, sqlx::Any>, User, String), MemberError> {
    let mut tx = state.db.begin().await?;
    let user = members::find(&mut *tx, acting.company_id.as_deref(), user_id)
        .await?
        .ok_or(MemberError::NotFound)?;
    let company_id = user.company_id.clone().ok_or(MemberError::NotFound)?;
    if !companies::lock(&mut *tx, &company_id).await? {
        return Err(MemberError::NotFound);
    }
    // Read again under the lock: the row may have changed while we waited.
    let user = members::find(&mut *tx, Some(&company_id), user_id)
        .await?
        .ok_or(MemberError::NotFound)?;
    manageable(acting, &user)?;
    Ok((tx, user, company_id))
}

/// A provider operator with an address at a customer's domain is not the company's
/// to manage: to a Super Admin it does not exist; only operators (the CLI) change it.
fn manageable(acting: &Acting, user: &User) -> Result<(), MemberError> {
    if user.is_operator && acting.user.is_some() {
        return Err(MemberError::NotFound);
    }
    Ok(())
}

/// Refuses a change that takes `user` out of the company's active Super Admins if
/// no other one remains. Call under the company lock.
async fn keep_a_super_admin(
    tx: &mut sqlx::AnyConnection,
    user: &User,
    company_id: &str,
) -> Result<(), MemberError> {
    let is_active_admin = user.is_active() && user.roles.contains(&Role::SuperAdmin);
    if is_active_admin
        && members::other_active_super_admins(&mut *tx, company_id, &user.id).await? == 0
    {
        return Err(MemberError::LastSuperAdmin);
    }
    Ok(())
}

/// Checks the acting Super Admin's `password` (throttled like a login, see
/// [`reauth::confirm_password`]); nothing for an actor exempt from
/// [`Reauthentication`]. An actor who must confirm but has no account to confirm with
/// is refused.
async fn reauthenticate(
    state: &AppState,
    acting: &Acting,
    password: Option<&str>,
) -> Result<(), MemberError> {
    if acting.reauthentication == Reauthentication::Exempt {
        return Ok(());
    }
    let Some(me) = &acting.user else {
        return Err(MemberError::Reauthenticate);
    };
    reauth::confirm_password(state, me, password, &acting.network)
        .await
        .map_err(|e| match e {
            ReauthError::WrongPassword => MemberError::Reauthenticate,
            ReauthError::Throttled(b) => MemberError::Throttled(b),
            ReauthError::Internal(e) => MemberError::Internal(e),
        })
}

/// Replaces the roles of member `user_id` with `names`. Granting `super_admin`
/// (to anyone, a transfer included) asks for `password` again unless the actor is
/// [`Reauthentication::Exempt`] (the CLI); taking
/// it from the last active Super Admin is refused. Takes effect at the user's next
/// login or token refresh. Returns the member as changed.
///
/// # Errors
/// [`MemberError`].
pub async fn set_roles(
    state: &AppState,
    acting: &Acting,
    user_id: &str,
    names: &[String],
    password: Option<&str>,
) -> Result<User, MemberError> {
    let roles = catalogue_roles(state, names)?;
    let grants_admin =
        |user: &User| roles.contains(&Role::SuperAdmin) && !user.roles.contains(&Role::SuperAdmin);
    // The password is checked before the transaction: its throttle writes must not
    // wait for the company lock this transaction would hold.
    let current = members::find(state.db.pool(), acting.company_id.as_deref(), user_id)
        .await?
        .ok_or(MemberError::NotFound)?;
    manageable(acting, &current)?;
    let reauthenticated = grants_admin(&current);
    if reauthenticated {
        reauthenticate(state, acting, password).await?;
    }
    let now = state.clock.now();
    let (mut tx, mut user, company_id) = begin(state, acting, user_id).await?;
    let granting_admin = grants_admin(&user);
    if granting_admin && !reauthenticated && acting.reauthentication == Reauthentication::Password {
        return Err(MemberError::Reauthenticate);
    }
    if !roles.contains(&Role::SuperAdmin) {
        keep_a_super_admin(&mut tx, &user, &company_id).await?;
    }
    let before = user.roles.clone();
    members::set_roles(&mut *tx, &user.id, &roles, now).await?;
    let action = if granting_admin {
        "member.super_admin_granted"
    } else {
        "member.roles_changed"
    };
    let details = json!({ "email": user.email, "before": before, "after": roles });
    audit::record_event(
        &mut *tx,
        now,
        &acting.event(action, &user.id, &company_id),
        &details,
    )
    .await?;
    tx.commit().await?;
    user.roles = roles;
    Ok(user)
}

/// Disables (`disabled`) or re-enables member `user_id`. Disabling ends all their
/// browser sessions, revokes their grants and refresh tokens (access tokens stop
/// working at UserInfo and introspection at once) and queues a back-channel logout
/// token for every relying party of each session; the last active Super Admin cannot
/// be disabled.
///
/// # Errors
/// [`MemberError`].
pub async fn set_disabled(
    state: &AppState,
    acting: &Acting,
    user_id: &str,
    disabled: bool,
) -> Result<User, MemberError> {
    let now = state.clock.now();
    let (mut tx, mut user, company_id) = begin(state, acting, user_id).await?;
    let mut ended = 0;
    if disabled {
        keep_a_super_admin(&mut tx, &user, &company_id).await?;
        ended = sessions::end_other_sessions(&mut tx, state, &user.id, None, now).await?;
    }
    members::set_disabled(&mut *tx, &user.id, disabled, now).await?;
    let action = if disabled {
        "member.disabled"
    } else {
        "member.enabled"
    };
    let details = json!({ "email": user.email, "sessions_ended": ended });
    audit::record_event(
        &mut *tx,
        now,
        &acting.event(action, &user.id, &company_id),
        &details,
    )
    .await?;
    tx.commit().await?;
    if disabled {
        state.logout_wakeup.notify_one();
    }
    user.disabled = disabled;
    Ok(user)
}

/// Removes member `user_id`: like disabling (sessions end, tokens die, relying
/// parties are told), then the account is anonymised ([`members::anonymise`]); the
/// audit trail keeps the event with the address it had. The last active Super Admin
/// cannot be removed.
///
/// # Errors
/// [`MemberError`].
pub async fn remove(state: &AppState, acting: &Acting, user_id: &str) -> Result<(), MemberError> {
    let now = state.clock.now();
    let (mut tx, user, company_id) = begin(state, acting, user_id).await?;
    keep_a_super_admin(&mut tx, &user, &company_id).await?;
    let ended = sessions::end_other_sessions(&mut tx, state, &user.id, None, now).await?;
    members::anonymise(&mut *tx, &user.id, now).await?;
    let details = json!({ "email": user.email, "roles": user.roles, "sessions_ended": ended });
    audit::record_event(
        &mut *tx,
        now,
        &acting.event("member.removed", &user.id, &company_id),
        &details,
    )
    .await?;
    tx.commit().await?;
    state.logout_wakeup.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_exempt_from_reauthentication_and_a_super_admin_is_not() {
        let cli = Acting::cli("cli:ops".into());
        assert_eq!(cli.reauthentication, Reauthentication::Exempt);
        assert_eq!(cli.actor, "cli:ops");
        assert!(cli.company_id.is_none() && cli.user.is_none() && cli.ip.is_none());

        let mut admin = User::new("u1".into(), "sam".into(), "sam@acme.example".into(), 0);
        admin.company_id = Some("c1".into());
        admin.roles = vec![Role::SuperAdmin];
        let acting = Acting::super_admin(&admin, "203.0.113.9", "203.0.113.0".into(), None);
        let acting = acting.expect("an active Super Admin acts");
        assert_eq!(acting.reauthentication, Reauthentication::Password);
        assert_eq!(acting.company_id.as_deref(), Some("c1"));
    }
}
