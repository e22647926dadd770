//! Customer support information (the seed's "Finding Support Information"):
//! companies have a support level and a region, a configured table maps regions to
//! phone numbers, and every user of a company whose level includes phone support
//! (`support.phone_levels`, default Plus and Priority) has a support PIN that
//! authenticates a support call. Users of other levels get no support information,
//! no PIN is ever created for them, and no PIN check matches them.
//!
//! The PIN is random digits, sealed under the KEK (so it can be shown to its user,
//! released in the `support_pin` claim and checked by operators), and rotatable by the
//! user. Operators' checks are throttled and audited.

use serde::Serialize;
use serde_json::json;

use crate::account::email_codes;
use crate::crypto;
use crate::db::companies::CompanyRow;
use crate::db::users::{self, User};
use crate::db::{audit, companies, support as db};
use crate::error::{internal_from, Internal};
use crate::policy::email::NormalizedEmail;
use crate::policy::throttle::{self, Account, Action, Blocked, ThrottleError};
use crate::state::AppState;

pub use crate::db::companies::{SupportLevel, LEVELS};

/// Why a support action was refused or failed. Each variant's doc gives the
/// operator pages' answer: its status and the i18n key of its message.
#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    /// 400, `admin_companies.invalid`: not one of [`LEVELS`].
    #[error("the support level must be one of none, standard, plus, priority")]
    UnknownLevel,
    /// 400, `admin_companies.invalid`: a region that `support.regions` lacks.
    #[error("unknown region {0} (not in support.regions)")]
    UnknownRegion(String),
    /// 400, `admin_companies.invalid`: no company with that domain.
    #[error("no company with that domain")]
    NoCompany,
    /// 403, `support.not_included`: an unknown user, or one whose company's level
    /// has no phone support (so no PIN).
    #[error("the user's company has no phone support, so no support PIN")]
    NoPhoneSupport,
    /// 429, `throttle.try_again` (minutes): too many PIN checks.
    #[error(transparent)]
    Blocked(Blocked),
    /// 500 (logged): database or decryption failures.
    #[error(transparent)]
    Internal(Internal),
}

internal_from!(SupportError: sqlx::Error, anyhow::Error, std::string::FromUtf8Error, Internal);
// Token issuance reads the support claims ([`info`], [`company`]), whose only
// failures are internal.
internal_from!(Internal: SupportError);

impl From<ThrottleError> for SupportError {
    fn from(e: ThrottleError) -> Self {
        match e {
            ThrottleError::Blocked(blocked) => SupportError::Blocked(blocked),
            ThrottleError::Internal(e) => SupportError::Internal(e),
        }
    }
}

/// What the Customer Portal shows about support.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SupportInfo {
    /// A level of `support.phone_levels` (by default plus or priority).
    pub level: SupportLevel,
    /// The company's support region.
    pub region: Option<String>,
    /// The region's support phone number.
    pub phone: Option<String>,
    /// The user's support PIN.
    pub pin: String,
}

/// The user's company if its support level includes phone support
/// (`support.phone_levels`); `None` otherwise or without a company.
///
/// # Errors
/// Database failures.
pub async fn phone_support_company(
    state: &AppState,
    user: &User,
) -> Result<Option<CompanyRow>, SupportError> {
    Ok(company(state, user)
        .await?
        .filter(|c| state.config.support.includes_phone(c.support_level)))
}

/// The user's PIN, creating one on first use. Only for users of a company whose
/// level includes phone support.
///
/// # Errors
/// An unknown user, or one without phone support (no PIN is created then);
/// database or decryption failures.
pub async fn pin(state: &AppState, user_id: &str) -> Result<String, SupportError> {
    let Some(user) = users::find_by_id(&state.db, user_id).await? else {
        return Err(SupportError::NoPhoneSupport);
    };
    if phone_support_company(state, &user).await?.is_none() {
        return Err(SupportError::NoPhoneSupport);
    }
    pin_of(state, user_id).await
}

/// The PIN of a user already known to have phone support, creating it on first use.
async fn pin_of(state: &AppState, user_id: &str) -> Result<String, SupportError> {
    if let Some(sealed) = db::sealed_pin(&state.db, user_id).await? {
        return open(state, &sealed);
    }
    let fresh = email_codes::generate(state.config.support.pin_digits);
    db::store_pin(&state.db, user_id, &state.kek.seal(fresh.as_bytes())?, true).await?;
    // Another request may have won the race; read back what is stored.
    match db::sealed_pin(&state.db, user_id).await? {
        Some(sealed) => open(state, &sealed),
        None => Err(SupportError::Internal(Internal::msg("the user vanished"))),
    }
}

/// The stored PIN of a user with phone support, never creating one; `None` for
/// users without phone support (a PIN kept from an earlier level stays unused).
async fn released_pin(state: &AppState, user: &User) -> Result<Option<String>, SupportError> {
    if phone_support_company(state, user).await?.is_none() {
        return Ok(None);
    }
    db::sealed_pin(&state.db, &user.id)
        .await?
        .map(|s| open(state, &s))
        .transpose()
}

/// Replaces the user's PIN with a new random one and returns it; `None` (and no
/// PIN) for a user without phone support.
///
/// # Errors
/// Database failures.
pub async fn rotate_pin(state: &AppState, user: &User) -> Result<Option<String>, SupportError> {
    if phone_support_company(state, user).await?.is_none() {
        return Ok(None);
    }
    let fresh = email_codes::generate(state.config.support.pin_digits);
    db::store_pin(
        &state.db,
        &user.id,
        &state.kek.seal(fresh.as_bytes())?,
        false,
    )
    .await?;
    audit::record(
        state.db.pool(),
        state.clock.now(),
        &format!("user:{}", user.id),
        "support.pin_rotated",
        &user.id,
        &json!({}),
    )
    .await?;
    Ok(Some(fresh))
}

fn open(state: &AppState, sealed: &str) -> Result<String, SupportError> {
    Ok(String::from_utf8(state.kek.open(sealed)?)?)
}

/// The user's company, if any.
///
/// # Errors
/// Database failures.
pub async fn company(state: &AppState, user: &User) -> Result<Option<CompanyRow>, SupportError> {
    Ok(match &user.company_id {
        Some(id) => companies::find(state.db.pool(), id).await?,
        None => None,
    })
}

/// The support information of a user of a company whose level includes phone
/// support; `None` without a company or for other levels (nothing is released or
/// shown then, and no PIN is created).
///
/// # Errors
/// Database or decryption failures.
pub async fn info(state: &AppState, user: &User) -> Result<Option<SupportInfo>, SupportError> {
    let Some(company) = phone_support_company(state, user).await? else {
        return Ok(None);
    };
    let phone = company
        .region
        .as_ref()
        .and_then(|region| state.config.support.regions.get(region).cloned());
    Ok(Some(SupportInfo {
        level: company.support_level,
        region: company.region,
        phone,
        pin: pin_of(state, &user.id).await?,
    }))
}

/// Checks a PIN that a caller reads out for the account `email`: resolved to the
/// account first (one lookup, known or not), the check reserved against the
/// throttle per operator network, per account and per both before the PIN is
/// compared (constant time), and audited with its result. A refused (throttled)
/// check compares nothing and is not audited.
///
/// # Errors
/// [`SupportError::Blocked`] while throttled; database failures.
pub async fn verify_pin(
    state: &AppState,
    email: &NormalizedEmail,
    presented: &str,
    actor: &str,
    network: &str,
) -> Result<bool, SupportError> {
    let email = email.as_str();
    let user = users::find_by_login(&state.db, email).await?;
    let account = Account::of(user.as_ref(), email);
    let subject =
        throttle::Subject::new(&state.config.throttle, Action::Pin, Some(&account), network);
    let attempt = throttle::reserve(state, &subject).await?;
    // Only users with phone support have a PIN that can match.
    let stored = match &user {
        Some(u) => released_pin(state, u).await?,
        None => None,
    };
    let matches = match &stored {
        Some(pin) => crypto::ct_eq(pin.as_bytes(), presented.trim().as_bytes()),
        None => false,
    };
    if matches {
        attempt.succeeded(state).await?;
    } else {
        attempt.failed(state).await?;
    }
    audit::record(
        state.db.pool(),
        state.clock.now(),
        actor,
        "support.pin_checked",
        user.as_ref().map_or(email, |u| u.id.as_str()),
        &json!({ "match": matches }),
    )
    .await?;
    Ok(matches)
}

/// Sets a company's support level and region, audited.
///
/// # Errors
/// [`SupportError::UnknownLevel`], [`SupportError::UnknownRegion`],
/// [`SupportError::NoCompany`]; database failures.
pub async fn set_company_support(
    state: &AppState,
    domain: &str,
    level: &str,
    region: Option<&str>,
    actor: &str,
) -> Result<(), SupportError> {
    let level: SupportLevel = level.parse().map_err(|()| SupportError::UnknownLevel)?;
    if let Some(region) = region {
        if !state.config.support.regions.contains_key(region) {
            return Err(SupportError::UnknownRegion(region.to_owned()));
        }
    }
    let domain = domain.trim().to_lowercase();
    if !companies::set_support(state.db.pool(), &domain, level, region).await? {
        return Err(SupportError::NoCompany);
    }
    audit::record(
        state.db.pool(),
        state.clock.now(),
        actor,
        "company.support_set",
        &domain,
        &json!({ "level": level, "region": region }),
    )
    .await?;
    Ok(())
}
