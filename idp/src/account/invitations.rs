//! Invitations: a company's Super Admin (or an operator) invites a colleague by
//! e-mail; the link opens a provider page where the invitee confirms the name and
//! sets a password, and the account is created in the company, e-mail verified, with
//! the invitation's roles and no approval (the Super Admin vouched for it).
//!
//! A link is 256 random bits, stored only as its SHA-256, valid
//! `invitations.ttl_seconds` (7 days by default) and single-use. Resending replaces
//! the link; revoking kills it. Inviting an address that already has an account
//! answers exactly like any other invitation and mails the address owner a notice
//! instead of a link, so nothing reveals accounts. A company mails at most
//! `invitations.max_per_hour` invitations and resends per hour.

use minijinja::context;
use serde_json::json;

use crate::account::members::{catalogue_roles, Acting, UnknownRole};
use crate::crypto;
use crate::db::audit::{self, NewEvent};
use crate::db::invitations::{self as db, Invitation, InvitationStatus};
use crate::db::users::{self, InsertUserError, Role, User};
use crate::db::{companies, members, outbox};
use crate::error::{internal_from, Internal};
use crate::outbox::mail;
use crate::policy::email::EmailRejection;
use crate::policy::password::PasswordRejection;
use crate::policy::text;
use crate::state::AppState;

/// What a Super Admin fills in to invite a colleague.
#[derive(Debug, Clone, Default)]
pub struct Invite {
    /// The invitee's address (the business-only policy applies; its domain must be
    /// one of the company's).
    pub email: String,
    /// Optional given name (the invitee confirms or corrects it).
    pub given_name: String,
    /// Optional family name.
    pub family_name: String,
    /// Role names to grant: catalogue roles only (`super_admin` is granted after
    /// acceptance, with the password asked again).
    pub roles: Vec<String>,
    /// Language of the mail and the accept page (`en`, `de`); the inviter's when
    /// `None`.
    pub locale: Option<String>,
    /// Where the invitee continues after accepting; `registration.portal_login_url`
    /// when `None` (operators only: the CLI's `--portal-url`).
    pub portal_url: Option<String>,
}

/// Why an invitation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// No such company, or an invitation id not of the acting company: 404.
    #[error("no such invitation or company")]
    NotFound,
    /// The address is refused by the business-only policy.
    #[error("{0}")]
    InvalidEmail(EmailRejection),
    /// The address's domain is not one of the company's domains.
    #[error("the address is not in one of the company's domains")]
    ForeignDomain,
    /// A role that is not in the catalogue.
    #[error("{0:?} is not a role of the catalogue")]
    UnknownRole(String),
    /// `super_admin` cannot be granted by invitation.
    #[error("super_admin is granted after acceptance, not by invitation")]
    SuperAdminRole,
    /// A name breaks the form's rules (field, i18n key).
    #[error("{0}: {1}")]
    InvalidText(&'static str, &'static str),
    /// The portal address (operators' `--portal-url`) is not an absolute http(s) URL
    /// with a host: 400.
    #[error("the portal address must be an absolute http(s) URL")]
    InvalidPortalUrl,
    /// The invitation is not pending (accepted or revoked).
    #[error("the invitation is no longer pending")]
    NotPending,
    /// The company mailed `invitations.max_per_hour` invitations this hour.
    #[error("too many invitations this hour; try again later")]
    Throttled,
    /// Any other failure (logged, 500).
    #[error(transparent)]
    Internal(Internal),
}

internal_from!(InviteError: sqlx::Error, Internal, anyhow::Error);

impl From<UnknownRole> for InviteError {
    fn from(e: UnknownRole) -> Self {
        InviteError::UnknownRole(e.0)
    }
}

/// The state of an invitation link.
#[derive(Debug, Clone)]
pub enum Link {
    /// Pending and unexpired: the accept form.
    Valid(Invitation),
    /// Pending, but expired: "ask for a new invitation".
    Expired(Invitation),
    /// Already accepted: "sign in", or ask for a new invitation.
    Used(Invitation),
    /// Revoked, replaced by a newer link, or never issued: no details.
    Invalid,
}

/// The invitee's answer on the accept page.
#[derive(Debug, Clone)]
pub struct Acceptance<'a> {
    /// The link's token.
    pub token: &'a str,
    /// Given name (required).
    pub given_name: &'a str,
    /// Family name (required).
    pub family_name: &'a str,
    /// The new password.
    pub password: &'a str,
    /// Its confirmation.
    pub confirmation: &'a str,
    /// Client IP and browser, for the audit trail.
    pub ip: &'a str,
    /// User-Agent.
    pub user_agent: Option<&'a str>,
}

/// Why an acceptance was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The link is not (or no longer) valid.
    #[error("the invitation link is not valid")]
    Link(Box<Link>),
    /// A name is missing or breaks the form's rules (field, i18n key).
    #[error("{0}: {1}")]
    InvalidText(&'static str, &'static str),
    /// The password policy refused the password.
    #[error("{0}")]
    Rejected(PasswordRejection),
    /// An account with the address came into being meanwhile.
    #[error("an account with this address already exists")]
    AccountExists,
    /// Any other failure (logged, 500).
    #[error(transparent)]
    Internal(Internal),
}

internal_from!(AcceptError: sqlx::Error, Internal, anyhow::Error);

fn token_hash(token: &str) -> String {
    crypto::sha256_b64(token.as_bytes())
}

/// The accept page's address for `token`.
fn link(state: &AppState, token: &str) -> String {
    state.config.url(&format!("/invitation?token={token}"))
}

/// Invites `invite.email` into company `company_id` (the acting Super Admin's own;
/// operators any): checks the address, domain, names, roles and portal address,
/// replaces a pending
/// invitation of the same address, and queues the mail — the link, or for an address
/// that already has an account a notice — in one transaction. The answer is the same
/// in both cases.
///
/// # Errors
/// [`InviteError`].
pub async fn create(
    state: &AppState,
    acting: &Acting,
    company_id: &str,
    invite: Invite,
) -> Result<Invitation, InviteError> {
    if acting
        .company_id
        .as_deref()
        .is_some_and(|own| own != company_id)
    {
        return Err(InviteError::NotFound);
    }
    let email = state
        .email_policy
        .check(&invite.email)
        .map_err(InviteError::InvalidEmail)?;
    let given_name = invite.given_name.trim().to_owned();
    let family_name = invite.family_name.trim().to_owned();
    for (field, value) in [("given_name", &given_name), ("family_name", &family_name)] {
        if let Some(key) = text::text_field_error(field, value, Some(email.domain())) {
            return Err(InviteError::InvalidText(field, key));
        }
    }
    let roles = catalogue_roles(state, &invite.roles)?;
    if roles.contains(&Role::SuperAdmin) {
        return Err(InviteError::SuperAdminRole);
    }
    if let Some(portal) = &invite.portal_url {
        let valid = url::Url::parse(portal).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.password().is_none()
        });
        if !valid {
            return Err(InviteError::InvalidPortalUrl);
        }
    }
    let locale = invite
        .locale
        .or_else(|| acting.user.as_ref().and_then(|u| u.locale.clone()))
        .filter(|l| crate::ui::i18n::LANGUAGES.contains(&l.as_str()))
        .unwrap_or_else(|| "en".to_owned());
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !companies::lock(&mut *tx, company_id).await? {
        return Err(InviteError::NotFound);
    }
    let company = companies::find(&mut *tx, company_id)
        .await?
        .ok_or(InviteError::NotFound)?;
    if !companies::domains(&mut *tx, company_id)
        .await?
        .iter()
        .any(|d| d == email.domain())
    {
        return Err(InviteError::ForeignDomain);
    }
    throttle(state, &mut tx, company_id, now).await?;
    if let Some(old) = db::pending_for(&mut *tx, company_id, email.as_str()).await? {
        db::revoke(&mut *tx, &old.id, now).await?;
    }
    let invitation = Invitation {
        id: crypto::ordered_id(),
        company_id: company_id.to_owned(),
        email: email.to_string(),
        given_name,
        family_name,
        roles,
        locale,
        portal_url: invite
            .portal_url
            .unwrap_or_else(|| state.config.portal_login_url()),
        status: InvitationStatus::Pending,
        invited_by: acting.actor.clone(),
        invited_by_name: acting.name.clone(),
        created_at: now,
        sent_at: now,
        expires_at: now + state.config.invitations.ttl_seconds,
        decided_at: None,
        renewal_asked_at: None,
        user_id: None,
    };
    let token = crypto::random_token(32);
    db::insert(&mut *tx, &invitation, &token_hash(&token)).await?;
    queue_mail(state, &mut tx, &invitation, &company.name, &token, now).await?;
    let details = json!({ "email": invitation.email, "roles": invitation.roles });
    let event = acting.event("invitation.created", &invitation.id, company_id);
    audit::record_event(&mut *tx, now, &event, &details).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(invitation)
}

/// Refuses a mail past the company's hourly allowance (under the company lock, so
/// racing requests cannot all pass).
async fn throttle(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    company_id: &str,
    now: i64,
) -> Result<(), InviteError> {
    let sent = db::sent_since(&mut *tx, company_id, now - 3600).await?;
    if sent >= state.config.invitations.max_per_hour {
        return Err(InviteError::Throttled);
    }
    Ok(())
}

/// Queues the invitation's mail: the link, or (the address has an account) a notice
/// that never carries it. Same work either way, so the answer tells nothing.
async fn queue_mail(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    invitation: &Invitation,
    company: &str,
    token: &str,
    now: i64,
) -> Result<(), InviteError> {
    let has_account = users::email_exists(&mut *tx, &invitation.email).await?;
    let ttl = invitation.expires_at - now;
    let roles: Vec<String> = invitation
        .roles
        .iter()
        .map(|r| role_label(state, r, &invitation.locale))
        .collect();
    let rendered = if has_account {
        mail::render(
            "invitation_existing",
            &invitation.locale,
            context! {
                company => company,
                inviter => invitation.invited_by_name,
                login => state.config.portal_login_url(),
                forgot => state.config.url("/password/forgot"),
            },
        )?
    } else {
        mail::render(
            "invitation",
            &invitation.locale,
            context! {
                name => invitation.given_name,
                company => company,
                inviter => invitation.invited_by_name,
                link => link(state, token),
                days => ttl / 86_400,
                hours => ttl / 3600,
                roles => roles,
            },
        )?
    };
    outbox::enqueue(&mut *tx, &rendered.to(&invitation.email), now).await?;
    Ok(())
}

/// A role's label in `lang` (its name if the catalogue no longer has it).
pub fn role_label(state: &AppState, role: &Role, lang: &str) -> String {
    match role {
        Role::SuperAdmin => crate::ui::i18n::text(lang, "company.super_admin", &[]),
        Role::Named(name) => state
            .config
            .role(name)
            .map_or_else(|| name.clone(), |r| r.label.get(lang).to_owned()),
    }
}

/// The pending invitation `id` of the acting company (any for operators), locked.
async fn begin_pending(
    state: &AppState,
    acting: &Acting,
    id: &str,
) -> Result<(sqlx::Transaction<'static, sqlx::Any>, Invitation), InviteError> {
    let mut tx = state.db.begin().await?;
    let found = db::find(&mut *tx, acting.company_id.as_deref(), id)
        .await?
        .ok_or(InviteError::NotFound)?;
    if !companies::lock(&mut *tx, &found.company_id).await? {
        return Err(InviteError::NotFound);
    }
    let invitation = db::find(&mut *tx, Some(&found.company_id), id)
        .await?
        .ok_or(InviteError::NotFound)?;
    if invitation.status != InvitationStatus::Pending {
        return Err(InviteError::NotPending);
    }
    Ok((tx, invitation))
}

/// Mails pending invitation `id` a new link, valid `invitations.ttl_seconds` from
/// now; the old link stops working at once.
///
/// # Errors
/// [`InviteError::NotFound`], [`InviteError::NotPending`], [`InviteError::Throttled`].
pub async fn resend(
    state: &AppState,
    acting: &Acting,
    id: &str,
) -> Result<Invitation, InviteError> {
    let now = state.clock.now();
    let (mut tx, mut invitation) = begin_pending(state, acting, id).await?;
    throttle(state, &mut tx, &invitation.company_id, now).await?;
    let company = companies::find(&mut *tx, &invitation.company_id)
        .await?
        .ok_or(InviteError::NotFound)?;
    let token = crypto::random_token(32);
    invitation.sent_at = now;
    invitation.expires_at = now + state.config.invitations.ttl_seconds;
    db::replace_link(
        &mut *tx,
        id,
        &token_hash(&token),
        now,
        invitation.expires_at,
    )
    .await?;
    queue_mail(state, &mut tx, &invitation, &company.name, &token, now).await?;
    let details = json!({ "email": invitation.email });
    let event = acting.event("invitation.resent", id, &invitation.company_id);
    audit::record_event(&mut *tx, now, &event, &details).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(invitation)
}

/// Revokes pending invitation `id`: its link stops working at once.
///
/// # Errors
/// [`InviteError::NotFound`], [`InviteError::NotPending`].
pub async fn revoke(state: &AppState, acting: &Acting, id: &str) -> Result<(), InviteError> {
    let now = state.clock.now();
    let (mut tx, invitation) = begin_pending(state, acting, id).await?;
    db::revoke(&mut *tx, id, now).await?;
    let details = json!({ "email": invitation.email });
    let event = acting.event("invitation.revoked", id, &invitation.company_id);
    audit::record_event(&mut *tx, now, &event, &details).await?;
    tx.commit().await?;
    Ok(())
}

/// The state of the link with `token`.
///
/// # Errors
/// Database failures.
pub async fn check(state: &AppState, token: &str) -> Result<Link, Internal> {
    if token.is_empty() || token.len() > 100 {
        return Ok(Link::Invalid);
    }
    let Some(invitation) = db::find_by_token(state.db.pool(), &token_hash(token)).await? else {
        return Ok(Link::Invalid);
    };
    Ok(match invitation.status {
        InvitationStatus::Revoked => Link::Invalid,
        InvitationStatus::Accepted => Link::Used(invitation),
        InvitationStatus::Pending if invitation.expires_at <= state.clock.now() => {
            Link::Expired(invitation)
        }
        InvitationStatus::Pending => Link::Valid(invitation),
    })
}

/// Accepts the invitation: the names and the password policy first, then in one
/// transaction the link is consumed (once, however many requests race) and the
/// account created — username and verified e-mail the invited address, the
/// invitation's roles that the catalogue still has, no forced password change.
/// The caller signs the browser in and continues to [`Invitation::portal_url`].
///
/// # Errors
/// [`AcceptError`].
pub async fn accept(
    state: &AppState,
    a: Acceptance<'_>,
) -> Result<(User, Invitation), AcceptError> {
    let invitation = match check(state, a.token).await? {
        Link::Valid(i) => i,
        other => return Err(AcceptError::Link(Box::new(other))),
    };
    let domain = invitation.email.rsplit_once('@').map(|(_, d)| d);
    let given_name = a.given_name.trim();
    let family_name = a.family_name.trim();
    for (field, value) in [("given_name", given_name), ("family_name", family_name)] {
        if value.is_empty() {
            return Err(AcceptError::InvalidText(field, "form.required"));
        }
        if let Some(key) = text::text_field_error(field, value, domain) {
            return Err(AcceptError::InvalidText(field, key));
        }
    }
    let company = companies::find(state.db.pool(), &invitation.company_id).await?;
    let company_name = company
        .as_ref()
        .map(|c| c.name.as_str())
        .unwrap_or_default();
    let personal = [
        invitation.email.as_str(),
        given_name,
        family_name,
        company_name,
    ];
    state
        .password_policy
        .check(a.password, a.confirmation, &personal)
        .map_err(AcceptError::Rejected)?;
    let hash = state.passwords.hash(a.password).await?;
    let now = state.clock.now();
    let mut user = User::new(
        crypto::random_id(),
        invitation.email.clone(),
        invitation.email.clone(),
        now,
    );
    user.email_verified = true;
    user.given_name = given_name.to_owned();
    user.family_name = family_name.to_owned();
    user.locale = Some(invitation.locale.clone());
    user.password_hash = Some(hash);
    user.company_id = Some(invitation.company_id.clone());
    user.roles = invitation
        .roles
        .iter()
        .filter(|r| matches!(r, Role::Named(n) if state.config.role(n).is_some()))
        .cloned()
        .collect();
    let mut tx = state.db.begin().await?;
    let Some(invitation) = db::accept(&mut *tx, &token_hash(a.token), &user.id, now).await? else {
        drop(tx);
        return Err(AcceptError::Link(Box::new(check(state, a.token).await?)));
    };
    match users::insert(&mut *tx, &user).await {
        Ok(()) => {}
        Err(InsertUserError::Exists) => return Err(AcceptError::AccountExists),
        Err(InsertUserError::Db(e)) => return Err(e.into()),
    }
    let actor = format!("user:{}", user.id);
    let event = NewEvent {
        actor: &actor,
        action: "invitation.accepted",
        subject: &invitation.id,
        company_id: Some(&invitation.company_id),
        ip: Some(a.ip),
        user_agent: a.user_agent,
    };
    let details = json!({ "email": user.email, "user": user.id, "roles": user.roles });
    audit::record_event(&mut *tx, now, &event, &details).await?;
    tx.commit().await?;
    Ok((user, invitation))
}

/// The invitee of an expired or used link asks for a new invitation: the inviter
/// (or, if they are no longer an active Super Admin, every active Super Admin of the
/// company) is mailed, once per link. Returns whether a request was recorded (a
/// repeat, or a revoked or unknown link, records nothing and says so only as
/// `false`).
///
/// # Errors
/// Database or template failures.
pub async fn ask_for_new(state: &AppState, token: &str, ip: &str) -> Result<bool, Internal> {
    if !matches!(check(state, token).await?, Link::Expired(_) | Link::Used(_)) {
        return Ok(false);
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(invitation) = db::ask_renewal(&mut *tx, &token_hash(token), now).await? else {
        return Ok(false);
    };
    let admins: Vec<User> = members::list(&mut *tx, &invitation.company_id)
        .await?
        .into_iter()
        .filter(|u| u.is_active() && u.roles.contains(&Role::SuperAdmin))
        .collect();
    let inviter = invitation.invited_by.strip_prefix("user:");
    let recipients: Vec<&User> = match admins.iter().find(|u| Some(u.id.as_str()) == inviter) {
        Some(one) => vec![one],
        None => admins.iter().collect(),
    };
    for admin in recipients {
        let lang = admin.locale.as_deref().unwrap_or("en");
        let rendered = mail::render(
            "invitation_renewal",
            lang,
            context! {
                name => admin.given_name,
                email => invitation.email,
                users => state.config.url("/company/users"),
            },
        )?;
        outbox::enqueue(&mut *tx, &rendered.to(&admin.email), now).await?;
    }
    let event = NewEvent {
        actor: "system",
        action: "invitation.renewal_requested",
        subject: &invitation.id,
        company_id: Some(&invitation.company_id),
        ip: Some(ip),
        user_agent: None,
    };
    audit::record_event(&mut *tx, now, &event, &json!({ "email": invitation.email })).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(true)
}
