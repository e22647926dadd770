//! E-mailed verification codes for changing and resetting a password: digits from
//! the CSPRNG (6 by default), stored as an HMAC under a key derived from the KEK
//! (a plain hash of six digits would be reversible), compared in constant time, valid
//! `codes.ttl_seconds` (10 minutes), single use, dead after `codes.max_attempts` wrong
//! entries, bound to the user and the purpose; a newer code voids older ones.

use minijinja::context;

use crate::crypto;
use crate::db::email_codes::{self, CodeRow};
use crate::db::outbox;
use crate::db::users::User;
use crate::error::Internal;
use crate::outbox::mail;
use crate::state::AppState;

/// What a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Changing the password while signed in (Profile > Security).
    PasswordChange,
    /// Resetting a forgotten password.
    PasswordReset,
}

impl Purpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordChange => "password_change",
            Purpose::PasswordReset => "password_reset",
        }
    }
}

/// A uniformly random code of `digits` decimal digits.
pub fn generate(digits: u32) -> String {
    let mut out = String::with_capacity(digits as usize);
    while out.len() < digits as usize {
        for b in crypto::random_bytes(16) {
            // Rejection sampling: 250 = 25 × 10 keeps every digit equally likely.
            if b < 250 && out.len() < digits as usize {
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
    out
}

fn code_hash(state: &AppState, user_id: &str, purpose: Purpose, code: &str) -> String {
    let key = state.kek.derive("email-code");
    let message = format!("{}\u{0}{}\u{0}{}", purpose.as_str(), user_id, code.trim());
    crypto::b64url(&crypto::hmac_sha256(&key, message.as_bytes()))
}

/// Issues a new code for `user` and `purpose` (voiding older ones) and queues the
/// mail that carries it, in the user's language, in one transaction.
///
/// # Errors
/// Database or template failures.
pub async fn issue(state: &AppState, user: &User, purpose: Purpose) -> Result<(), Internal> {
    let cfg = &state.config.codes;
    let code = generate(cfg.digits);
    let now = state.clock.now();
    let lang = crate::ui::i18n::pick(user.locale.as_deref());
    let mail = mail::render(
        match purpose {
            Purpose::PasswordChange => "code_change",
            Purpose::PasswordReset => "code_reset",
        },
        lang,
        context! { name => user.given_name, code => code, minutes => cfg.ttl_seconds / 60 },
    )?;
    let mut tx = state.db.begin().await?;
    email_codes::replace(
        &mut tx,
        &crypto::random_id(),
        &user.id,
        purpose.as_str(),
        &code_hash(state, &user.id, purpose, &code),
        now,
        now + cfg.ttl_seconds,
    )
    .await?;
    outbox::enqueue(&mut *tx, &mail.to(&user.email), now).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(())
}

/// Checks `code` against the user's live code for `purpose`, without using it up.
/// The try is reserved on the code first (atomically; none left, and the code is
/// dead), then compared in constant time, and given back on a match: whatever the
/// concurrency, a code sees at most `codes.max_attempts` wrong entries.
///
/// # Errors
/// Database failures.
pub async fn verify(
    state: &AppState,
    user_id: &str,
    purpose: Purpose,
    code: &str,
) -> sqlx::Result<Option<CodeRow>> {
    let now = state.clock.now();
    let Some(row) = email_codes::reserve_attempt(
        &state.db,
        user_id,
        purpose.as_str(),
        now,
        state.config.codes.max_attempts,
    )
    .await?
    else {
        return Ok(None);
    };
    let presented = code_hash(state, user_id, purpose, code);
    if crypto::ct_eq(row.code_hash.as_bytes(), presented.as_bytes()) {
        email_codes::give_back_attempt(&state.db, &row.id).await?;
        Ok(Some(row))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_digits_of_the_configured_length() {
        for digits in [6, 8, 10] {
            let c = generate(digits);
            assert_eq!(c.len(), digits as usize);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        let many: std::collections::HashSet<String> = (0..50).map(|_| generate(6)).collect();
        assert!(many.len() > 45);
    }
}
