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
    /// A private-use scheme must be a reverse domain name in lower case, and never
    /// one a browser runs or opens itself (`javascript`, `data`, `file`, ...).
    #[error(
        "'{0}': a private-use scheme must be a reverse domain name such as com.example.app \
         (RFC 8252 §7.1), and not javascript, data, file or another browser scheme"
    )]
    Scheme(String),
    /// A back-channel logout URI must be an http or https URL with a host.
    #[error("'{0}' must be an http or https URL")]
    NotHttp(String),
}

/// Schemes a browser or the operating system handles itself, compared after lower
/// case and with `.`, `-` and `+` removed (so `java.script` is `javascript`).
const BROWSER_SCHEMES: &[&str] = &[
    "javascript",
    "vbscript",
    "livescript",
    "data",
    "file",
    "blob",
    "about",
    "filesystem",
    "ws",
    "wss",
    "mailto",
    "tel",
    "sms",
    "ftp",
    "view-source",
    "chrome",
    "resource",
    "intent",
    "http",
    "https",
];

/// Whether `scheme` (as typed) is a private-use scheme RFC 8252 §7.1 allows: a
/// reverse domain name of two or more dot-separated labels of lower-case letters,
/// digits and inner hyphens whose first label is all letters (`com.example.app`),
/// and not a browser scheme in any spelling.
fn is_private_use_scheme(scheme: &str) -> bool {
    let labels: Vec<&str> = scheme.split('.').collect();
    let well_formed = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && labels
            .first()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_lowercase()));
    let squashed: String = scheme
        .chars()
        .filter(|c| !matches!(c, '.' | '-' | '+'))
        .flat_map(char::to_lowercase)
        .collect();
    let browser = BROWSER_SCHEMES
        .iter()
        .any(|b| b.replace('-', "") == squashed);
    well_formed && !browser
}

/// Checks that `uri` may be registered as a redirect_uri or
/// post_logout_redirect_uri: absolute; https, or http on a loopback host, or a
/// private-use scheme that is a reverse domain name (RFC 8252 §7.1; never
/// `javascript`, `data`, `file` and the like, in any spelling); no fragment; no
/// userinfo.
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
        _ => {
            // The scheme as typed: the parser lower-cases it, but matching is exact.
            let typed = uri.split_once(':').map_or(uri, |(s, _)| s);
            if is_private_use_scheme(typed) {
                Ok(())
            } else if typed.contains('.') || typed.contains('-') || typed.contains('+') {
                Err(RedirectUriError::Scheme(uri.into()))
            } else {
                Err(RedirectUriError::NotHttps(uri.into()))
            }
        }
    }
}

/// Checks a `backchannel_logout_uri` (Back-Channel Logout 1.0 §2.2): an absolute
/// http or https URL with a host, without fragment or userinfo.
///
/// # Errors
/// The first rule broken.
pub fn validate_backchannel(uri: &str) -> Result<(), RedirectUriError> {
    let parsed = url::Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute(uri.into()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(RedirectUriError::NotHttp(uri.into()));
    }
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment(uri.into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(RedirectUriError::Userinfo(uri.into()));
    }
    Ok(())
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

    /// Item "private-use schemes" of issue 8: reverse-domain schemes only, never a
    /// browser scheme in disguise.
    #[test]
    fn private_use_schemes_are_reverse_domain_names() {
        for good in [
            "com.example.app:/oauth2redirect",
            "com.example.app:/cb",
            "de.acme-industries.portal:/cb",
            "io.example.app2:/cb",
        ] {
            assert_eq!(validate_registered(good), Ok(()), "{good}");
        }
        for bad in [
            "java.script:alert(1)",
            "Java.Script:alert(1)",
            "java-script.x:alert(1)",
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "vb.script:msgbox(1)",
            "da.ta:text/html,<script>alert(1)</script>",
            "fi.le:///etc/passwd",
            "bl.ob:https://a.example/x",
            "ab.out:blank",
            "file.system:x",
            "w.s://a.example",
            "ws.s://a.example",
            "mail.to:x@a.example",
            "te.l:123",
            "ht.tps://a.example/cb",
            "Com.Example.App:/cb",
            "com.example.app-:/cb",
            "com..example:/cb",
            "1com.example:/cb",
            "c0m.example:/cb",
            "com.exam_ple:/cb",
            "com+example.app:/cb",
            "myapp:/cb",
            "data:text/html,x",
            "file:///etc/passwd",
        ] {
            assert!(validate_registered(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn backchannel_logout_uris_are_http_urls() {
        assert_eq!(validate_backchannel("https://rp.example/bc"), Ok(()));
        assert_eq!(validate_backchannel("http://10.0.0.5:8080/bc?x=1"), Ok(()));
        for bad in [
            "com.example.app:/bc",
            "java.script:alert(1)",
            "file:///x",
            "/bc",
            "https://rp.example/bc#f",
            "https://u:p@rp.example/bc",
        ] {
            assert!(validate_backchannel(bad).is_err(), "{bad} must be refused");
        }
    }
}
