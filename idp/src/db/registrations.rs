//! Self-registrations: unconfirmed → pending (confirmed, awaiting approval) →
//! approved or rejected.

use sqlx::{Any, Executor};

use super::Db;

/// Where a registration is in its life (stored as its lower-case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationStatus {
    /// Waiting for the confirmation link to be opened.
    Unconfirmed,
    /// Confirmed, waiting for an operator's decision.
    Pending,
    /// Approved: the account exists.
    Approved,
    /// Rejected by an operator.
    Rejected,
    /// Replaced by a newer registration of the same address.
    #[value(skip)]
    Superseded,
}

impl RegistrationStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unconfirmed => "unconfirmed",
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Superseded => "superseded",
        }
    }
}

impl std::str::FromStr for RegistrationStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [
            Self::Unconfirmed,
            Self::Pending,
            Self::Approved,
            Self::Rejected,
            Self::Superseded,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
        .ok_or(())
    }
}

super::text_column!(RegistrationStatus, "registrations.status");

impl std::fmt::Display for RegistrationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registration as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegistrationRow {
    /// Id.
    pub id: String,
    /// Normalised e-mail address.
    pub email: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Company name as typed.
    pub company_name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Job title.
    pub job_title: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Language for mails (`en`, `de`).
    pub locale: String,
    /// Where it is in its life.
    pub status: RegistrationStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// When the address was confirmed.
    pub confirmed_at: Option<i64>,
    /// When an operator decided.
    pub decided_at: Option<i64>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Rejection reason.
    pub reason: Option<String>,
}

const COLUMNS: &str =
    "id, email, given_name, family_name, company_name, country, job_title, phone, \
    locale, status, created_at, confirmed_at, decided_at, decided_by, reason";

/// Inserts an unconfirmed registration with its confirmation token hash.
///
/// # Errors
/// Database errors; a unique violation when the address already has an open one.
pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    r: &RegistrationRow,
    token_hash: &str,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO registrations ({COLUMNS}, confirm_token_hash, confirm_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    ))
    .bind(&r.id)
    .bind(&r.email)
    .bind(&r.given_name)
    .bind(&r.family_name)
    .bind(&r.company_name)
    .bind(&r.country)
    .bind(&r.job_title)
    .bind(&r.phone)
    .bind(&r.locale)
    .bind(r.status.as_str())
    .bind(r.created_at)
    .bind(r.confirmed_at)
    .bind(r.decided_at)
    .bind(&r.decided_by)
    .bind(&r.reason)
    .bind(token_hash)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The open (unconfirmed or pending) registration for an address.
///
/// # Errors
/// Database errors.
pub async fn find_open_by_email<'e>(
    ex: impl Executor<'e, Database = Any>,
    email: &str,
) -> sqlx::Result<Option<RegistrationRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM registrations WHERE email = $1 AND status IN ('unconfirmed', 'pending')"
    ))
    .bind(email)
    .fetch_optional(ex)
    .await
}

/// The registration with `id`.
///
/// # Errors
/// Database errors.
pub async fn find<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
) -> sqlx::Result<Option<RegistrationRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM registrations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await
}

/// The unconfirmed registration whose unexpired token hashes to `token_hash`
/// (without consuming it).
///
/// # Errors
/// Database errors.
pub async fn find_by_token(
    db: &Db,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<RegistrationRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM registrations WHERE confirm_token_hash = $1 AND status = 'unconfirmed' \
         AND confirm_expires_at > $2"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await
}

/// Confirms the registration with this token, atomically and once: the token is
/// cleared and the status becomes `pending`.
///
/// # Errors
/// Database errors.
pub async fn confirm<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<RegistrationRow>> {
    sqlx::query_as(&format!(
        "UPDATE registrations SET status = 'pending', confirmed_at = $2, confirm_token_hash = NULL, \
         confirm_expires_at = NULL \
         WHERE confirm_token_hash = $1 AND status = 'unconfirmed' AND confirm_expires_at > $2 \
         RETURNING {COLUMNS}"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Replaces the confirmation token of an unconfirmed registration (voiding the old
/// link). Returns the registration if there was one.
///
/// # Errors
/// Database errors.
pub async fn renew_token<'e>(
    ex: impl Executor<'e, Database = Any>,
    email: &str,
    token_hash: &str,
    expires_at: i64,
) -> sqlx::Result<Option<RegistrationRow>> {
    sqlx::query_as(&format!(
        "UPDATE registrations SET confirm_token_hash = $2, confirm_expires_at = $3 \
         WHERE email = $1 AND status = 'unconfirmed' RETURNING {COLUMNS}"
    ))
    .bind(email)
    .bind(token_hash)
    .bind(expires_at)
    .fetch_optional(ex)
    .await
}

/// Registrations in `status`, oldest first.
///
/// # Errors
/// Database errors.
pub async fn list_by_status(
    db: &Db,
    status: RegistrationStatus,
) -> sqlx::Result<Vec<RegistrationRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM registrations WHERE status = $1 ORDER BY created_at, id"
    ))
    .bind(status.as_str())
    .fetch_all(db.pool())
    .await
}

/// Records an operator's decision on a pending registration, atomically: `None` if
/// it is not pending (already decided, or never confirmed).
///
/// # Errors
/// Database errors.
pub async fn decide<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    status: RegistrationStatus,
    actor: &str,
    reason: Option<&str>,
    now: i64,
) -> sqlx::Result<Option<RegistrationRow>> {
    sqlx::query_as(&format!(
        "UPDATE registrations SET status = $2, decided_by = $3, reason = $4, decided_at = $5 \
         WHERE id = $1 AND status = 'pending' RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(status.as_str())
    .bind(actor)
    .bind(reason)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Marks the unconfirmed registration of `email` superseded (its link stops working).
///
/// # Errors
/// Database errors.
pub async fn supersede_unconfirmed<'e>(
    ex: impl Executor<'e, Database = Any>,
    email: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE registrations SET status = 'superseded', confirm_token_hash = NULL, \
         confirm_expires_at = NULL, decided_at = $2 WHERE email = $1 AND status = 'unconfirmed'",
    )
    .bind(email)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_refused() {
        for status in [
            RegistrationStatus::Unconfirmed,
            RegistrationStatus::Pending,
            RegistrationStatus::Approved,
            RegistrationStatus::Rejected,
            RegistrationStatus::Superseded,
        ] {
            assert_eq!(status.as_str().parse::<RegistrationStatus>(), Ok(status));
        }
        assert!("Pending".parse::<RegistrationStatus>().is_err());
        assert!("".parse::<RegistrationStatus>().is_err());
    }
}
