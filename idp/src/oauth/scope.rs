//! Scopes (RFC 6749 §3.3) and the scopes this provider knows.

use std::collections::BTreeSet;
use std::fmt;

/// Scopes the provider understands; others in a request are ignored (dropped from the
/// granted scope, RFC 6749 §3.3).
pub const SUPPORTED: &[&str] = &[
    "openid",
    "profile",
    "email",
    "offline_access",
    "company",
    "roles",
    "support",
];

/// A set of scope tokens, printed space-separated in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(BTreeSet<String>);

/// A scope string that breaks RFC 6749 §3.3 syntax.
#[derive(Debug, thiserror::Error)]
#[error("malformed scope")]
pub struct ScopeSyntaxError;

impl Scope {
    /// Parses a space-delimited scope string; each token is 1*( %x21 / %x23-5B / %x5D-7E ).
    ///
    /// # Errors
    /// [`ScopeSyntaxError`] for empty tokens or forbidden characters.
    pub fn parse(s: &str) -> Result<Self, ScopeSyntaxError> {
        let mut set = BTreeSet::new();
        for token in s.split(' ') {
            if token.is_empty()
                || !token
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
            {
                return Err(ScopeSyntaxError);
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    /// Parses a stored scope (trusted); malformed tokens are skipped.
    pub fn from_stored(s: &str) -> Self {
        Self(
            s.split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Whether `token` is in the set.
    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// The tokens present in both sets.
    pub fn intersect(&self, other: &Scope) -> Scope {
        Scope(self.0.intersection(&other.0).cloned().collect())
    }

    /// Whether every token is also in `other`.
    pub fn is_subset(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The set without `token`.
    pub fn without(&self, token: &str) -> Scope {
        Scope(self.0.iter().filter(|t| *t != token).cloned().collect())
    }

    /// The tokens.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for t in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(t)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let s = Scope::parse("profile openid email").unwrap();
        assert_eq!(s.to_string(), "email openid profile");
        assert!(Scope::parse("openid  profile").is_err());
        assert!(Scope::parse("open\"id").is_err());
        assert!(Scope::parse("").is_err());
    }
}
