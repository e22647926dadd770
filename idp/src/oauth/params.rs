//! Request parameters from a query string or an `application/x-www-form-urlencoded`
//! body, with the RFC 6749 §3.1 rules: parameters without a value are treated as
//! omitted, and a repeated parameter is an error.
//!
//! Parsing is linear in the input: every name is looked up in hash maps (never in a
//! list), and it stops at the first parameter beyond the cap (`http.max_params`), so a
//! body of thousands of repeated names costs no more than reading it once.

use std::collections::HashMap;

use super::error::OAuthError;

/// The cap on parameters per query string or body when none is configured
/// (`http.max_params`).
pub const DEFAULT_MAX_PARAMS: usize = 100;

/// The longest accepted parameter name, in bytes; longer names make the parameter
/// unusable (oversized).
const MAX_NAME_BYTES: usize = 128;

/// What makes a parameter unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Repeated,
    Oversized,
}

/// Parsed parameters. Repeated and oversized names, and too many parameters, are
/// remembered rather than rejected at once, so the authorization endpoint can first
/// decide whether it may redirect the error to the client.
#[derive(Debug, Default, Clone)]
pub struct Params {
    values: HashMap<String, String>,
    malformed: HashMap<String, Problem>,
    first_repeated: Option<String>,
    first_oversized: Option<String>,
    /// `Some(cap)` when the input had more than `cap` parameters (the rest was not read).
    too_many: Option<usize>,
}

impl Params {
    /// Parses `input` (without the leading `?`) with the default cap of
    /// [`DEFAULT_MAX_PARAMS`] parameters; see [`Params::parse_limited`].
    pub fn parse(input: &[u8], max_value_bytes: usize) -> Self {
        Self::parse_limited(input, max_value_bytes, DEFAULT_MAX_PARAMS)
    }

    /// Parses `input` (without the leading `?`) in one linear pass. Values longer than
    /// `max_value_bytes`, names longer than 128 bytes, and values containing NUL or
    /// bytes that are not UTF-8 are dropped and recorded as oversized (unusable). At
    /// the `max_params + 1`-th `name=value` pair parsing stops and the parameters count
    /// as too many ([`Params::too_many`]); the first `max_params` stay readable.
    pub fn parse_limited(input: &[u8], max_value_bytes: usize, max_params: usize) -> Self {
        let mut params = Params::default();
        for (count, (name, value)) in form_urlencoded::parse(input).enumerate() {
            if count >= max_params {
                params.too_many = Some(max_params);
                break;
            }
            if let Some(problem) = params.malformed.get_mut(name.as_ref()) {
                if *problem == Problem::Oversized {
                    *problem = Problem::Repeated;
                    params
                        .first_repeated
                        .get_or_insert_with(|| name.to_string());
                }
                continue;
            }
            if params.values.remove(name.as_ref()).is_some() {
                params
                    .first_repeated
                    .get_or_insert_with(|| name.to_string());
                params
                    .malformed
                    .insert(name.into_owned(), Problem::Repeated);
                continue;
            }
            if value.is_empty() {
                continue;
            }
            // NUL, and U+FFFD from bytes that were not UTF-8, make a value unusable.
            if value.len() > max_value_bytes
                || name.len() > MAX_NAME_BYTES
                || value.contains('\0')
                || value.contains('\u{FFFD}')
                || name.contains('\u{FFFD}')
            {
                params
                    .first_oversized
                    .get_or_insert_with(|| name.to_string());
                params
                    .malformed
                    .insert(name.into_owned(), Problem::Oversized);
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

    /// The names of the well-formed parameters whose value is exactly `value`, sorted
    /// (for fields named at run time, such as one checkbox per role).
    pub fn names_with_value(&self, value: &str) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .values
            .iter()
            .filter(|(_, v)| v.as_str() == value)
            .map(|(k, _)| k.as_str())
            .collect();
        names.sort_unstable();
        names
    }

    /// Whether `name` was repeated or oversized (either way unusable).
    pub fn is_malformed(&self, name: &str) -> bool {
        self.malformed.contains_key(name)
    }

    /// Whether the input had more parameters than the cap (`http.max_params`).
    pub fn too_many(&self) -> bool {
        self.too_many.is_some()
    }

    /// Too many parameters, or the first repeated or oversized parameter, as an
    /// `invalid_request` error.
    ///
    /// # Errors
    /// `invalid_request` "too many parameters", or naming the parameter.
    pub fn check(&self) -> Result<(), OAuthError> {
        if let Some(cap) = self.too_many {
            return Err(too_many_parameters(cap));
        }
        if let Some(name) = &self.first_repeated {
            return Err(OAuthError::invalid_request(format!(
                "parameter '{}' is repeated",
                sanitize(name)
            )));
        }
        if let Some(name) = &self.first_oversized {
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

/// The `invalid_request` error for more than `cap` parameters.
pub fn too_many_parameters(cap: usize) -> OAuthError {
    OAuthError::invalid_request(format!("too many parameters (at most {cap})"))
}

/// Whether a query string (without the `?`) has more than `cap` `name=value` pairs,
/// counted as [`Params::parse_limited`] counts them (empty pieces between `&` do not
/// count), without decoding anything. Linear, and stops at the first pair beyond `cap`.
pub fn exceeds(query: &[u8], cap: usize) -> bool {
    query
        .split(|b| *b == b'&')
        .filter(|piece| !piece.is_empty())
        .nth(cap)
        .is_some()
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
    fn too_many_parameters_are_refused_and_parsing_stops() {
        let at_cap: Vec<String> = (0..100).map(|i| format!("p{i}=v")).collect();
        let p = Params::parse_limited(at_cap.join("&").as_bytes(), 100, 100);
        assert!(!p.too_many());
        assert!(p.check().is_ok());
        assert_eq!(p.get("p99"), Some("v"));
        let over = format!("{}&p100=v&p101=v", at_cap.join("&"));
        let p = Params::parse_limited(over.as_bytes(), 100, 100);
        assert!(p.too_many());
        assert_eq!(p.get("p0"), Some("v"), "the first 100 stay readable");
        assert_eq!(p.get("p100"), None, "nothing beyond the cap is read");
        assert_eq!(
            p.check().unwrap_err().description,
            "too many parameters (at most 100)"
        );
        // Repeating one name counts every pair, and empty pieces do not count.
        let repeated = "a=1&".repeat(10_000);
        assert!(Params::parse_limited(repeated.as_bytes(), 100, 100).too_many());
        assert!(!Params::parse_limited(&[b'&'; 10_000], 100, 100).too_many());
        assert!(exceeds(repeated.as_bytes(), 100));
        assert!(!exceeds(at_cap.join("&").as_bytes(), 100));
        assert!(!exceeds(b"a=1&&&&b=2&", 2));
        assert!(exceeds(b"a=1&&&&b=2&c", 2));
    }

    #[test]
    fn every_repeated_name_is_malformed_and_the_first_is_named() {
        // Distinct names, each twice: all unusable; the error names the first.
        let body: String = (0..40)
            .map(|i| format!("n{i}=1&n{i}=2&"))
            .collect::<String>();
        let p = Params::parse_limited(body.as_bytes(), 100, 100);
        assert!(!p.too_many());
        assert!((0..40).all(|i| p.is_malformed(&format!("n{i}"))));
        assert!((0..40).all(|i| p.get(&format!("n{i}")).is_none()));
        assert_eq!(
            p.check().unwrap_err().description,
            "parameter 'n0' is repeated"
        );
        // An oversized value that is then repeated is reported as repeated.
        let long = format!("b={}&a=1&a=2&b=x", "x".repeat(200));
        let p = Params::parse_limited(long.as_bytes(), 100, 100);
        assert_eq!(
            p.check().unwrap_err().description,
            "parameter 'a' is repeated"
        );
        assert!(p.is_malformed("b"));
        // An empty value is "absent": sending it before the real value is no repeat.
        let p = Params::parse(b"a=&a=1", 100);
        assert_eq!(p.get("a"), Some("1"));
        assert!(p.check().is_ok());
    }

    #[test]
    fn percent_decoding_and_plus() {
        let p = Params::parse(b"scope=openid+profile&x=%41%3D", 100);
        assert_eq!(p.get("scope"), Some("openid profile"));
        assert_eq!(p.get("x"), Some("A="));
    }
}
