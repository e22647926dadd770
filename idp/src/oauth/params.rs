//! Request parameters from a query string or an `application/x-www-form-urlencoded`
//! body, with the RFC 6749 §3.1 rules: parameters without a value are treated as
//! omitted, and a repeated parameter is an error.

use std::collections::HashMap;

use super::error::OAuthError;

/// Parsed parameters. Repeated and oversized names are remembered rather than
/// rejected at once, so the authorization endpoint can first decide whether it may
/// redirect the error to the client.
#[derive(Debug, Default, Clone)]
pub struct Params {
    values: HashMap<String, String>,
    repeated: Vec<String>,
    oversized: Vec<String>,
}

impl Params {
    /// Parses `input` (without the leading `?`). Values longer than `max_value_bytes`
    /// or containing NUL are dropped and recorded as oversized (unusable).
    pub fn parse(input: &[u8], max_value_bytes: usize) -> Self {
        let mut params = Params::default();
        for (name, value) in form_urlencoded::parse(input) {
            if params.values.contains_key(name.as_ref())
                || params.repeated.iter().any(|r| r == name.as_ref())
                || params.oversized.iter().any(|r| r == name.as_ref())
            {
                if !params.repeated.iter().any(|r| r == name.as_ref()) {
                    params.repeated.push(name.to_string());
                }
                params.values.remove(name.as_ref());
                continue;
            }
            if value.is_empty() {
                continue;
            }
            // NUL, and U+FFFD from bytes that were not UTF-8, make a value unusable.
            if value.len() > max_value_bytes
                || name.len() > 128
                || value.contains('\0')
                || value.contains('\u{FFFD}')
                || name.contains('\u{FFFD}')
            {
                params.oversized.push(name.to_string());
                continue;
            }
            params.values.insert(name.into_owned(), value.into_owned());
        }
        params
    }

    /// The value of `name`, if present exactly once and within limits.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Whether `name` was repeated or oversized (either way unusable).
    pub fn is_malformed(&self, name: &str) -> bool {
        self.repeated.iter().any(|r| r == name) || self.oversized.iter().any(|r| r == name)
    }

    /// The first repeated or oversized parameter as an `invalid_request` error.
    ///
    /// # Errors
    /// `invalid_request` naming the parameter.
    pub fn check(&self) -> Result<(), OAuthError> {
        if let Some(name) = self.repeated.first() {
            return Err(OAuthError::invalid_request(format!(
                "parameter '{}' is repeated",
                sanitize(name)
            )));
        }
        if let Some(name) = self.oversized.first() {
            return Err(OAuthError::invalid_request(format!(
                "parameter '{}' is too long or contains NUL",
                sanitize(name)
            )));
        }
        Ok(())
    }

    /// The value of `name`, or `invalid_request` when it is missing.
    ///
    /// # Errors
    /// `invalid_request` naming the missing parameter.
    pub fn require(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter '{name}'")))
    }
}

/// Keeps a parameter name printable in an error description (RFC 6749 §5.2 allows
/// only %x20-21 / %x23-5B / %x5D-7E).
fn sanitize(name: &str) -> String {
    name.chars()
        .filter(|c| matches!(*c, ' '..='~') && *c != '"' && *c != '\\')
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_empty_parameters() {
        let p = Params::parse(b"a=1&b=&c=3&a=2&d=x", 100);
        assert_eq!(p.get("a"), None);
        assert!(p.is_malformed("a"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("3"));
        assert!(p.check().is_err());
        let p = Params::parse(b"a=1&a=1&a=1", 100);
        assert!(p.is_malformed("a"));
    }

    #[test]
    fn oversized_values_are_refused() {
        let long = format!("a={}", "x".repeat(101));
        let p = Params::parse(long.as_bytes(), 100);
        assert_eq!(p.get("a"), None);
        assert!(p.is_malformed("a"));
        assert_eq!(
            p.check().unwrap_err().description,
            "parameter 'a' is too long or contains NUL"
        );
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let p = Params::parse(b"state=%ff%fe&x=1", 100);
        assert_eq!(p.get("state"), None);
        assert!(p.check().is_err());
    }

    #[test]
    fn nul_bytes_are_refused() {
        let p = Params::parse(b"a=x%00y", 100);
        assert_eq!(p.get("a"), None);
        assert!(p.check().is_err());
    }

    #[test]
    fn percent_decoding_and_plus() {
        let p = Params::parse(b"scope=openid+profile&x=%41%3D", 100);
        assert_eq!(p.get("scope"), Some("openid profile"));
        assert_eq!(p.get("x"), Some("A="));
    }
}
