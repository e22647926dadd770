//! The operator's decision on a confirmed registration: approval creates the
//! company (if new) and the account with a one-time password, mailed to the user,
//! who must replace it at the first login; rejection mails the reason.

use crate::crypto;
use crate::db::registrations::RegistrationRow;
use crate::db::registrations::{self, RegistrationStatus};
use crate::db::users::{self, Role, User};
use crate::db::{audit, companies, outbox};
use crate::error::{internal_from, Internal};
use crate::outbox::mail;
use crate::state::AppState;
use minijinja::context;
use serde::Serialize;

/// Why a decision could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// No such registration, or it is not waiting for a decision.
    #[error("the registration is not pending (unknown, unconfirmed or already decided)")]
    NotPending,
    /// An account with the address exists already.
    #[error("an account with this e-mail address already exists")]
    AccountExists,
    /// Any other failure.
    #[error(transparent)]
    Internal(Internal),
}

internal_from!(DecisionError: sqlx::Error, anyhow::Error, Internal);

/// The outcome of an approval.
#[derive(Debug, Clone, Serialize)]
pub struct Approved {
    /// The new user's subject.
    pub user_id: String,
    /// The username (the e-mail address).
    pub username: String,
    /// The company.
    pub company_id: String,
    /// Whether the company was created now (the user is then its Super Admin).
    pub new_company: bool,
}

/// Characters of one-time passwords: no look-alikes (0/O, 1/l/I).
const OTP_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// A one-time password: 16 characters from a 57-symbol alphabet (≈ 93 bits),
/// grouped in fours for reading.
pub fn one_time_password() -> String {
    let bytes = crypto::random_bytes(64);
    let chars: Vec<char> = bytes
        .iter()
        .filter(|b| usize::from(**b) < OTP_ALPHABET.len() * (256 / OTP_ALPHABET.len()))
        .filter_map(|b| OTP_ALPHABET.get(usize::from(*b) % OTP_ALPHABET.len()))
        .map(|c| char::from(*c))
        .take(16)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Approves a pending registration: creates the user (username = e-mail address),
/// and the company if its domain is new (the user then becomes its Super Admin),
/// sets a one-time password valid `registration.one_time_password_seconds`, records
/// the decision, and queues the welcome mail — all in one transaction.
///
/// # Errors
/// [`DecisionError`].
pub async fn approve(state: &AppState, id: &str, actor: &str) -> Result<Approved, DecisionError> {
    let otp = one_time_password();
    let otp_hash = state.passwords.hash(&otp).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let reg = registrations::decide(&mut *tx, id, RegistrationStatus::Approved, actor, None, now)
        .await?
        .ok_or(DecisionError::NotPending)?;
    if users::login_exists(&mut *tx, &reg.email).await? {
        return Err(DecisionError::AccountExists);
    }
    let (company, new_company) = company_of(&mut tx, &reg, now).await?;
    let mut user = account_of(&reg, &company, new_company, now);
    user.password_hash = Some(otp_hash);
    user.password_expires_at = Some(now + state.config.registration.one_time_password_seconds);
    users::insert(&mut *tx, &user).await.map_err(|e| match e {
        users::InsertUserError::Exists => DecisionError::AccountExists,
        users::InsertUserError::Db(e) => e.into(),
    })?;
    audit::record(
        &mut *tx,
        now,
        actor,
        "registration.approved",
        &reg.id,
        &serde_json::json!({ "user": user.id, "company": company.id, "new_company": new_company }),
    )
    .await?;
    let mail = mail::render(
        "approved",
        &reg.locale,
        context! {
            name => reg.given_name,
            username => user.username,
            password => otp,
            hours => state.config.registration.one_time_password_seconds / 3600,
            login => state.config.portal_login_url(),
            super_admin => new_company,
            company => company.name,
        },
    )?;
    outbox::enqueue(&mut *tx, &mail.to(&reg.email), now).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(Approved {
        user_id: user.id,
        username: user.username,
        company_id: company.id,
        new_company,
    })
}

/// The company of the registration's e-mail domain, created from the registration
/// when the domain is new (then `true`).
async fn company_of(
    tx: &mut sqlx::AnyConnection,
    reg: &RegistrationRow,
    now: i64,
) -> sqlx::Result<(companies::CompanyRow, bool)> {
    let domain = reg
        .email
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or_default();
    Ok(match companies::find_by_domain(&mut *tx, domain).await? {
        Some(c) => (c, false),
        None => {
            let c = companies::CompanyRow::new(&reg.company_name, domain, Some(&reg.country), now);
            companies::insert(tx, &c).await?;
            (c, true)
        }
    })
}

/// The account an approval creates: username and verified e-mail are the
/// registration's address, the details are the form's, the first user of a new
/// company is its Super Admin, and the password (set by the caller) must change.
fn account_of(
    reg: &RegistrationRow,
    company: &companies::CompanyRow,
    new_company: bool,
    now: i64,
) -> User {
    let mut user = User::new(
        crypto::random_id(),
        reg.email.clone(),
        reg.email.clone(),
        now,
    );
    user.email_verified = true;
    user.given_name = reg.given_name.clone();
    user.family_name = reg.family_name.clone();
    user.locale = Some(reg.locale.clone());
    user.company_id = Some(company.id.clone());
    user.roles = if new_company {
        vec![Role::SuperAdmin]
    } else {
        Vec::new()
    };
    user.must_change_password = true;
    user.job_title = reg.job_title.clone();
    user.phone = reg.phone.clone();
    user.country = Some(reg.country.clone());
    user
}

/// Rejects a pending registration with a reason, which is mailed to the registrant.
///
/// # Errors
/// [`DecisionError::NotPending`], or internal failures.
pub async fn reject(
    state: &AppState,
    id: &str,
    actor: &str,
    reason: &str,
) -> Result<(), DecisionError> {
    let reason = reason.trim();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let reg = registrations::decide(
        &mut *tx,
        id,
        RegistrationStatus::Rejected,
        actor,
        Some(reason),
        now,
    )
    .await?
    .ok_or(DecisionError::NotPending)?;
    audit::record(
        &mut *tx,
        now,
        actor,
        "registration.rejected",
        &reg.id,
        &serde_json::json!({ "reason": reason }),
    )
    .await?;
    let mail = mail::render(
        "rejected",
        &reg.locale,
        context! { name => reg.given_name, reason => reason },
    )?;
    outbox::enqueue(&mut *tx, &mail.to(&reg.email), now).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_are_long_and_unambiguous() {
        let a = one_time_password();
        assert_eq!(a.len(), 19, "{a}");
        assert_ne!(a, one_time_password());
        assert!(a
            .chars()
            .all(|c| c == '-' || OTP_ALPHABET.contains(&(c as u8))));
    }
}
