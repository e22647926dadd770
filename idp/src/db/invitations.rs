//! Invitations of a company's Super Admin: pending → accepted or revoked. A pending
//! invitation whose `expires_at` has passed is expired (it stays pending until it is
//! resent or revoked, so the Super Admin sees it).

use sqlx::{Any, Executor};

use super::users::{roles_json, Role};

/// Where an invitation is in its life (stored as its lower-case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    /// Mailed, not yet accepted (possibly expired).
    Pending,
    /// Accepted: the account exists.
    Accepted,
    /// Revoked by the company or an operator.
    Revoked,
}

impl InvitationStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
        }
    }
}

impl std::str::FromStr for InvitationStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [Self::Pending, Self::Accepted, Self::Revoked]
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or(())
    }
}

super::text_column!(InvitationStatus, "invitations.status");

/// An invitation as stored, roles decoded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Invitation {
    /// Id (shown to the Super Admin and operators; not a secret).
    pub id: String,
    /// The inviting company.
    pub company_id: String,
    /// The invitee's address (normalised).
    pub email: String,
    /// Given name proposed by the Super Admin (the invitee confirms it).
    pub given_name: String,
    /// Family name proposed by the Super Admin.
    pub family_name: String,
    /// The roles the account gets.
    pub roles: Vec<Role>,
    /// The language of the mails and of the accept page.
    pub locale: String,
    /// Where the invitee continues, signed in, after accepting.
    pub portal_url: String,
    /// Status.
    pub status: InvitationStatus,
    /// Audit actor of the inviter.
    pub invited_by: String,
    /// The inviter's display name.
    pub invited_by_name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// When the current link was mailed.
    pub sent_at: i64,
    /// When the current link expires.
    pub expires_at: i64,
    /// When it was accepted or revoked.
    pub decided_at: Option<i64>,
    /// When the invitee asked for a new link.
    pub renewal_asked_at: Option<i64>,
    /// The account an acceptance created.
    pub user_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: String,
    company_id: String,
    email: String,
    given_name: String,
    family_name: String,
    roles: String,
    locale: String,
    portal_url: String,
    status: InvitationStatus,
    invited_by: String,
    invited_by_name: String,
    created_at: i64,
    sent_at: i64,
    expires_at: i64,
    decided_at: Option<i64>,
    renewal_asked_at: Option<i64>,
    user_id: Option<String>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = sqlx::Error;

    /// Fails on roles that are not a JSON array of role names (naming the column).
    fn try_from(r: InvitationRow) -> Result<Self, sqlx::Error> {
        let bad = |e: Box<dyn std::error::Error + Send + Sync>| sqlx::Error::ColumnDecode {
            index: "invitations.roles".into(),
            source: e,
        };
        let names: Vec<String> = serde_json::from_str(&r.roles).map_err(|e| bad(Box::new(e)))?;
        let roles = names
            .iter()
            .map(|n| Role::parse(n))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(Box::new(e)))?;
        Ok(Self {
            id: r.id,
            company_id: r.company_id,
            email: r.email,
            given_name: r.given_name,
            family_name: r.family_name,
            roles,
            locale: r.locale,
            portal_url: r.portal_url,
            status: r.status,
            invited_by: r.invited_by,
            invited_by_name: r.invited_by_name,
            created_at: r.created_at,
            sent_at: r.sent_at,
            expires_at: r.expires_at,
            decided_at: r.decided_at,
            renewal_asked_at: r.renewal_asked_at,
            user_id: r.user_id,
        })
    }
}

const COLUMNS: &str = "id, company_id, email, given_name, family_name, roles, locale, portal_url, \
                       status, invited_by, invited_by_name, created_at, sent_at, expires_at, \
                       decided_at, renewal_asked_at, user_id";

fn decode(rows: Vec<InvitationRow>) -> sqlx::Result<Vec<Invitation>> {
    rows.into_iter().map(Invitation::try_from).collect()
}

/// Inserts a pending invitation whose link's token hashes to `token_hash`.
///
/// # Errors
/// Database errors.
pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    i: &Invitation,
    token_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO invitations (id, company_id, email, given_name, family_name, roles, locale, \
         portal_url, status, invited_by, invited_by_name, created_at, sent_at, expires_at, token_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&i.id)
    .bind(&i.company_id)
    .bind(&i.email)
    .bind(&i.given_name)
    .bind(&i.family_name)
    .bind(roles_json(&i.roles))
    .bind(&i.locale)
    .bind(&i.portal_url)
    .bind(i.status.as_str())
    .bind(&i.invited_by)
    .bind(&i.invited_by_name)
    .bind(i.created_at)
    .bind(i.sent_at)
    .bind(i.expires_at)
    .bind(token_hash)
    .execute(ex)
    .await?;
    Ok(())
}

/// Pending invitations of company `company_id` (all companies when `None`), newest
/// first.
///
/// # Errors
/// Database errors.
pub async fn pending<'e>(
    ex: impl Executor<'e, Database = Any>,
    company_id: Option<&str>,
) -> sqlx::Result<Vec<Invitation>> {
    let rows = match company_id {
        Some(id) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM invitations WHERE company_id = $1 AND status = 'pending' \
                 ORDER BY created_at DESC, id DESC"
            ))
            .bind(id)
            .fetch_all(ex)
            .await?
        }
        None => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM invitations WHERE status = 'pending' ORDER BY created_at DESC, id DESC"
            ))
            .fetch_all(ex)
            .await?
        }
    };
    decode(rows)
}

/// The invitation `id` of company `company_id` (any company when `None`).
///
/// # Errors
/// Database errors.
pub async fn find<'e>(
    ex: impl Executor<'e, Database = Any>,
    company_id: Option<&str>,
    id: &str,
) -> sqlx::Result<Option<Invitation>> {
    let row: Option<InvitationRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE id = $1 AND (CAST($2 AS TEXT) IS NULL OR company_id = $2)"
    ))
    .bind(id)
    .bind(company_id)
    .fetch_optional(ex)
    .await?;
    row.map(Invitation::try_from).transpose()
}

/// The invitation whose current link's token hashes to `token_hash`.
///
/// # Errors
/// Database errors.
pub async fn find_by_token<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
) -> sqlx::Result<Option<Invitation>> {
    let row: Option<InvitationRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(ex)
    .await?;
    row.map(Invitation::try_from).transpose()
}

/// The pending invitation of company `company_id` for `email`, if any.
///
/// # Errors
/// Database errors.
pub async fn pending_for<'e>(
    ex: impl Executor<'e, Database = Any>,
    company_id: &str,
    email: &str,
) -> sqlx::Result<Option<Invitation>> {
    let row: Option<InvitationRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE email = $1 AND status = 'pending' AND company_id = $2"
    ))
    .bind(email)
    .bind(company_id)
    .fetch_optional(ex)
    .await?;
    row.map(Invitation::try_from).transpose()
}

/// Invitations (and resends) company `company_id` mailed since `since`.
///
/// # Errors
/// Database errors.
pub async fn sent_since<'e>(
    ex: impl Executor<'e, Database = Any>,
    company_id: &str,
    since: i64,
) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_events WHERE company_id = $1 AND at >= $2 \
         AND action IN ('invitation.created', 'invitation.resent')",
    )
    .bind(company_id)
    .bind(since)
    .fetch_one(ex)
    .await?;
    Ok(n)
}

/// Gives pending invitation `id` a new link (the old one stops working at once);
/// `false` if it is not pending.
///
/// # Errors
/// Database errors.
pub async fn replace_link<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE invitations SET token_hash = $2, sent_at = $3, expires_at = $4, renewal_asked_at = NULL \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Revokes pending invitation `id`; `false` if it is not pending.
///
/// # Errors
/// Database errors.
pub async fn revoke<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE invitations SET status = 'revoked', decided_at = $2 WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Revokes every pending invitation of company `company_id` to an address at
/// `domain` (the domain left the company). Returns how many.
///
/// # Errors
/// Database errors.
pub async fn revoke_for_domain<'e>(
    ex: impl Executor<'e, Database = Any>,
    company_id: &str,
    domain: &str,
    now: i64,
) -> sqlx::Result<u64> {
    let suffix = format!("@{domain}");
    let r = sqlx::query(
        "UPDATE invitations SET status = 'revoked', decided_at = $3 \
         WHERE company_id = $1 AND status = 'pending' \
         AND substr(email, length(email) - length($2) + 1) = $2",
    )
    .bind(company_id)
    .bind(suffix)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(r.rows_affected())
}

/// Accepts the invitation of link token hash `token_hash` if it is pending and
/// unexpired, for account `user_id`: one conditional statement, so a link works
/// once however many requests race. Returns the invitation as it was.
///
/// # Errors
/// Database errors.
pub async fn accept<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
    user_id: &str,
    now: i64,
) -> sqlx::Result<Option<Invitation>> {
    let row: Option<InvitationRow> = sqlx::query_as(&format!(
        "UPDATE invitations SET status = 'accepted', decided_at = $3, user_id = $2 \
         WHERE token_hash = $1 AND status = 'pending' AND expires_at > $3 RETURNING {COLUMNS}"
    ))
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    row.map(Invitation::try_from).transpose()
}

/// Records that the invitee of link `token_hash` (pending or accepted, not revoked)
/// asked for a new link, once per link;
/// returns the invitation if this call recorded it.
///
/// # Errors
/// Database errors.
pub async fn ask_renewal<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<Invitation>> {
    let row: Option<InvitationRow> = sqlx::query_as(&format!(
        "UPDATE invitations SET renewal_asked_at = $2 \
         WHERE token_hash = $1 AND status <> 'revoked' AND renewal_asked_at IS NULL RETURNING {COLUMNS}"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    row.map(Invitation::try_from).transpose()
}
