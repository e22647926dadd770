//! The password policy of NIST SP 800-63B §5.1.1.2, applied wherever a password is
//! set: a minimum length (12 by default, never below 8), a maximum between 64 and 128
//! characters, no composition rules, NFKC normalisation, and refusal of common or
//! guessable passwords (zxcvbn) and of passwords containing the user's own details.

use unicode_normalization::UnicodeNormalization as _;

use crate::config::PasswordsConfig;
use crate::ui::i18n;

/// Why a new password was refused; each has a message for the form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    /// Shorter than the minimum (characters after NFKC).
    #[error("too short")]
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// Longer than the maximum.
    #[error("too long")]
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// The confirmation differs.
    #[error("confirmation differs")]
    Mismatch,
    /// Contains the user's e-mail address, name, username or company.
    #[error("contains personal information")]
    Personal,
    /// Common or easy to guess (zxcvbn score below 3).
    #[error("too easy to guess")]
    Guessable,
    /// The same as the current (or one-time) password.
    #[error("same as the current password")]
    Unchanged,
}

impl PasswordRejection {
    /// The i18n key of the message.
    pub fn message_key(&self) -> &'static str {
        match self {
            PasswordRejection::TooShort { .. } => "password.too_short",
            PasswordRejection::TooLong { .. } => "password.too_long",
            PasswordRejection::Mismatch => "password.mismatch",
            PasswordRejection::Personal => "password.personal",
            PasswordRejection::Guessable => "password.guessable",
            PasswordRejection::Unchanged => "password.unchanged",
        }
    }

    /// The message for the form, in `lang`.
    pub fn message(&self, lang: &str) -> String {
        match self {
            PasswordRejection::TooShort { min } => {
                i18n::text(lang, self.message_key(), &[("min", &min.to_string())])
            }
            PasswordRejection::TooLong { max } => {
                i18n::text(lang, self.message_key(), &[("max", &max.to_string())])
            }
            _ => i18n::text(lang, self.message_key(), &[]),
        }
    }
}

/// Length limits from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    /// Minimum characters.
    pub min_length: usize,
    /// Maximum characters.
    pub max_length: usize,
}

impl PasswordPolicy {
    /// The policy configured in `passwords`.
    pub fn new(config: &PasswordsConfig) -> Self {
        Self {
            min_length: config.min_length,
            max_length: config.max_length,
        }
    }

    /// Checks a new password and its confirmation. `personal` holds the user's
    /// e-mail address, names, username and company; parts of three or more characters
    /// must not appear in the password (case-insensitive).
    ///
    /// # Errors
    /// The first rule broken, in the order length, confirmation, personal, guessable.
    pub fn check(
        &self,
        password: &str,
        confirmation: &str,
        personal: &[&str],
    ) -> Result<(), PasswordRejection> {
        let normalized: String = password.nfkc().collect();
        let length = normalized.chars().count();
        if length < self.min_length {
            return Err(PasswordRejection::TooShort {
                min: self.min_length,
            });
        }
        if length > self.max_length {
            return Err(PasswordRejection::TooLong {
                max: self.max_length,
            });
        }
        if normalized != confirmation.nfkc().collect::<String>() {
            return Err(PasswordRejection::Mismatch);
        }
        let lower = normalized.to_lowercase();
        let words = personal_words(personal);
        if words.iter().any(|w| lower.contains(w.as_str())) {
            return Err(PasswordRejection::Personal);
        }
        let inputs: Vec<&str> = words.iter().map(String::as_str).collect();
        if (zxcvbn::zxcvbn(&normalized, &inputs).score() as u8) < 3 {
            return Err(PasswordRejection::Guessable);
        }
        Ok(())
    }
}

/// Lower-cased words of at least 3 characters from the user's details, plus each
/// whole value (so `jane.doe@acme.com`, `jane`, `doe`, `acme` are all refused).
fn personal_words(personal: &[&str]) -> Vec<String> {
    let mut words = Vec::new();
    for value in personal {
        let value = value.trim().to_lowercase();
        if value.chars().count() >= 3 {
            words.push(value.clone());
        }
        for part in value.split(|c: char| !c.is_alphanumeric()) {
            if part.chars().count() >= 3
                && !matches!(part, "com" | "net" | "org" | "gmbh" | "inc" | "ltd")
            {
                words.push(part.to_owned());
            }
        }
    }
    words.sort();
    words.dedup();
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy::new(&PasswordsConfig::default())
    }

    #[test]
    fn nist_rules() {
        let p = policy();
        let me = [
            "jane.doe@acme-industries.com",
            "Jane",
            "Doe",
            "ACME Industries",
        ];
        let ok = "violet kettle drums at dawn";
        assert_eq!(p.check(ok, ok, &me), Ok(()));
        // No composition rules: a long lower-case passphrase is fine; so is Unicode.
        let unicode = "Grüße aus dem sonnigen Süden 🌞";
        assert_eq!(p.check(unicode, unicode, &me), Ok(()));
        assert_eq!(
            p.check("short", "short", &me),
            Err(PasswordRejection::TooShort { min: 12 })
        );
        let long = "x".repeat(129);
        assert_eq!(
            p.check(&long, &long, &me),
            Err(PasswordRejection::TooLong { max: 128 })
        );
        // 64 characters are always allowed.
        let sixty_four: String = "violet kettle drums at dawn, "
            .repeat(3)
            .chars()
            .take(64)
            .collect();
        assert_eq!(sixty_four.chars().count(), 64);
        assert_eq!(p.check(&sixty_four, &sixty_four, &me), Ok(()));
        assert_eq!(p.check(ok, "other", &me), Err(PasswordRejection::Mismatch));
        for personal in [
            "jane.doe@acme-industries.com!!",
            "Industries-2024-rocks!",
            "my doe password xyz",
        ] {
            assert_eq!(
                p.check(personal, personal, &me),
                Err(PasswordRejection::Personal),
                "{personal}"
            );
        }
        for common in [
            "password1234",
            "qwertyuiop123",
            "123456789012",
            "aaaaaaaaaaaaaaaa",
            "Password2024!",
        ] {
            assert_eq!(
                p.check(common, common, &me),
                Err(PasswordRejection::Guessable),
                "{common}"
            );
        }
    }

    #[test]
    fn nfkc_applies_to_length_and_confirmation() {
        let p = policy();
        // Full-width letters normalise to ASCII: the confirmation typed plainly matches.
        let wide = "ｖｉｏｌｅｔ kettle drums at dawn";
        assert_eq!(p.check(wide, "violet kettle drums at dawn", &[]), Ok(()));
    }
}
