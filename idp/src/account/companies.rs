//! A company's e-mail domains: its primary domain (`companies.domain`, the one it was
//! created with) and the ones added later. Addresses in any of them may be invited
//! into the company. A domain belongs to one company; every change runs under the
//! company's lock ([`companies::lock`]) and is an audit event
//! (`company.domain_added`, `company.domain_removed`, details `{"domain": …}`).

use serde_json::json;

use crate::account::members::Acting;
use crate::db::audit;
use crate::db::companies::{self, CompanyRow};
use crate::db::invitations;
use crate::error::{internal_from, Internal};
use crate::policy::email::EmailRejection;
use crate::state::AppState;

/// Why a domain change was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// No such company, or not the acting Super Admin's own: 404.
    #[error("no such company")]
    NoCompany,
    /// Not a domain name, or a domain the business-only policy refuses (free-mail,
    /// disposable, denied): 400.
    #[error("{0}")]
    Invalid(EmailRejection),
    /// The company already has the domain: 409.
    #[error("the company already has the domain {0}")]
    AlreadyAdded(String),
    /// Another company has the domain: 409.
    #[error("the domain {0} belongs to another company")]
    OwnedByOther(String),
    /// The primary domain cannot be removed: 409.
    #[error("{0} is the company's primary domain and cannot be removed")]
    Primary(String),
    /// The company has no such (added) domain: 404.
    #[error("the company has no domain {0}")]
    NotADomain(String),
    /// Any other failure (logged, 500).
    #[error(transparent)]
    Internal(Internal),
}

internal_from!(DomainError: sqlx::Error, Internal);

/// The company that owns `domain` (primary or added; trimmed, lower-cased, IDNA
/// A-label), if any.
///
/// # Errors
/// Database failures.
pub async fn by_domain(state: &AppState, domain: &str) -> Result<Option<CompanyRow>, Internal> {
    let raw = domain.trim().to_lowercase();
    let ascii = idna::domain_to_ascii(&raw).unwrap_or(raw);
    Ok(companies::find_by_domain(state.db.pool(), &ascii).await?)
}

/// The domains of company `company_id`, primary first, then by name.
///
/// # Errors
/// [`DomainError::NoCompany`] for an unknown company or another company than the
/// acting Super Admin's.
pub async fn domains(
    state: &AppState,
    acting: &Acting,
    company_id: &str,
) -> Result<Vec<String>, DomainError> {
    own(acting, company_id)?;
    companies::find(state.db.pool(), company_id)
        .await?
        .ok_or(DomainError::NoCompany)?;
    Ok(companies::domains(state.db.pool(), company_id).await?)
}

fn own(acting: &Acting, company_id: &str) -> Result<(), DomainError> {
    match acting.company_id.as_deref() {
        Some(own) if own != company_id => Err(DomainError::NoCompany),
        _ => Ok(()),
    }
}

/// Adds `domain` to company `company_id`: the syntax and the business-only policy's
/// domain rules first ([`crate::policy::email::EmailPolicy::check_domain`]), then
/// under the company lock the refusal of a domain the company or another one has.
/// Returns the domain as stored (A-label).
///
/// # Errors
/// [`DomainError::NoCompany`], [`DomainError::Invalid`],
/// [`DomainError::AlreadyAdded`], [`DomainError::OwnedByOther`].
pub async fn add_domain(
    state: &AppState,
    acting: &Acting,
    company_id: &str,
    domain: &str,
) -> Result<String, DomainError> {
    own(acting, company_id)?;
    let domain = state
        .email_policy
        .check_domain(domain)
        .map_err(DomainError::Invalid)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !companies::lock(&mut *tx, company_id).await? {
        return Err(DomainError::NoCompany);
    }
    if let Some(owner) = companies::find_by_domain(&mut *tx, &domain).await? {
        return Err(if owner.id == company_id {
            DomainError::AlreadyAdded(domain)
        } else {
            DomainError::OwnedByOther(domain)
        });
    }
    // The primary key decides a race with another company's transaction.
    if !companies::add_domain(&mut *tx, company_id, &domain, now).await? {
        return Err(DomainError::OwnedByOther(domain));
    }
    let event = acting.event("company.domain_added", company_id, company_id);
    audit::record_event(&mut *tx, now, &event, &json!({ "domain": domain })).await?;
    tx.commit().await?;
    Ok(domain)
}

/// Removes the added `domain` of company `company_id` (never its primary domain).
/// Its members keep their accounts; new invitations to it are refused and pending
/// ones revoked (their links stop working). Returns the
/// domain as it was stored.
///
/// # Errors
/// [`DomainError::NoCompany`], [`DomainError::Primary`], [`DomainError::NotADomain`].
pub async fn remove_domain(
    state: &AppState,
    acting: &Acting,
    company_id: &str,
    domain: &str,
) -> Result<String, DomainError> {
    own(acting, company_id)?;
    let raw = domain.trim().to_lowercase();
    let domain = idna::domain_to_ascii(&raw).unwrap_or(raw);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !companies::lock(&mut *tx, company_id).await? {
        return Err(DomainError::NoCompany);
    }
    let company = companies::find(&mut *tx, company_id)
        .await?
        .ok_or(DomainError::NoCompany)?;
    if company.domain == domain {
        return Err(DomainError::Primary(domain));
    }
    if !companies::remove_domain(&mut *tx, company_id, &domain).await? {
        return Err(DomainError::NotADomain(domain));
    }
    // Invitations to the domain can no longer be accepted.
    let revoked = invitations::revoke_for_domain(&mut *tx, company_id, &domain, now).await?;
    let event = acting.event("company.domain_removed", company_id, company_id);
    let details = json!({ "domain": domain, "invitations_revoked": revoked });
    audit::record_event(&mut *tx, now, &event, &details).await?;
    tx.commit().await?;
    Ok(domain)
}
