//! Redirect URIs: what may be registered, and exact matching (RFC 9700 §2.1, §4.1.3;
//! RFC 8252 §7.3 for the loopback port).

/// Why a URI cannot be registered as a redirect_uri.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedirectUriError {
    /// Not an absolute URI.
    #[error("'{0}' is not an absolute URI")]
    NotAbsolute(String),
    /// http is allowed only for loopback addresses.
    #[error("'{0}' must use https (http only for 127.0.0.1, [::1] or localhost)")]
    NotHttps(String),
    /// Fragments are forbidden (RFC 6749 §3.1.2).
    #[error("'{0}' must not contain a fragment")]
    Fragment(String),
    /// Userinfo is forbidden.
    #[error("'{0}' must not contain user information")]
    Userinfo(String),
}

/// Checks that `uri` may be registered: absolute; https, or http on a loopback host,
/// or a private-use scheme with a dot (RFC 8252 §7.1); no fragment; no userinfo.
///
/// # Errors
/// The first rule broken.
pub fn validate_registered(uri: &str) -> Result<(), RedirectUriError> {
    let parsed = url::Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute(uri.into()))?;
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment(uri.into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(RedirectUriError::Userinfo(uri.into()));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host_str() {
            Some("127.0.0.1" | "[::1]" | "localhost") => Ok(()),
            _ => Err(RedirectUriError::NotHttps(uri.into())),
        },
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(RedirectUriError::NotHttps(uri.into())),
    }
}

/// Whether a requested redirect_uri matches a registered one: exact string equality,
/// except that for `http://127.0.0.1` and `http://[::1]` the port may differ
/// (RFC 8252 §7.3). No normalisation, case folding, prefix or wildcard matching.
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (
        without_loopback_port(registered),
        without_loopback_port(requested),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// For `http://127.0.0.1[:port]rest` or `http://[::1][:port]rest`, the URI with the
/// port removed; `None` for anything else.
fn without_loopback_port(uri: &str) -> Option<String> {
    for host in ["http://127.0.0.1", "http://[::1]"] {
        if let Some(rest) = uri.strip_prefix(host) {
            let rest = match rest.strip_prefix(':') {
                Some(after_colon) => {
                    let digits = after_colon.bytes().take_while(u8::is_ascii_digit).count();
                    if digits == 0 || digits > 5 {
                        return None;
                    }
                    &after_colon[digits..]
                }
                None => rest,
            };
            if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
                return None;
            }
            return Some(format!("{host}{rest}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_matching_only() {
        let reg = "https://app.example.com/cb";
        assert!(matches(reg, "https://app.example.com/cb"));
        for bad in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb/x",
            "https://app.example.com/cb?x=1",
            "https://APP.example.com/cb",
            "https://app.example.com/CB",
            "https://app.example.com:443/cb",
            "https://app.example.com/cb#x",
            "https://app.example.com.evil.com/cb",
            "https://app.example.com/%63b",
            "http://app.example.com/cb",
        ] {
            assert!(!matches(reg, bad), "{bad} must not match");
        }
    }

    #[test]
    fn loopback_port_may_vary() {
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"));
        assert!(matches("http://127.0.0.1:8000/cb", "http://127.0.0.1:9/cb"));
        assert!(matches("http://[::1]:1/cb", "http://[::1]:2/cb"));
        assert!(!matches("http://127.0.0.1/cb", "http://127.0.0.1:80/cb2"));
        assert!(!matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:80@evil.com/cb"
        ));
        assert!(!matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1.evil.com/cb"
        ));
        // localhost is not a loopback IP literal: exact match only.
        assert!(!matches("http://localhost/cb", "http://localhost:1/cb"));
    }

    #[test]
    fn registration_rules() {
        assert!(validate_registered("https://a.example/cb").is_ok());
        assert!(validate_registered("http://127.0.0.1:3000/cb").is_ok());
        assert!(validate_registered("com.example.app:/cb").is_ok());
        assert!(validate_registered("http://a.example/cb").is_err());
        assert!(validate_registered("https://a.example/cb#f").is_err());
        assert!(validate_registered("https://u:p@a.example/cb").is_err());
        assert!(validate_registered("/cb").is_err());
        assert!(validate_registered("javascript:alert(1)").is_err());
    }
}
