//! Protocol logic of OAuth 2.0 and OpenID Connect, free of HTTP framework types.

pub mod authorize;
pub mod claims;
pub mod client;
pub mod error;
pub mod inspect;
pub mod issue;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
pub mod scope;
pub mod token;

/// Appends response parameters to a redirect_uri, keeping the registered string
/// byte-for-byte and any query it already has (RFC 6749 §3.1.2). `None` values are
/// skipped.
pub fn authorization_response(redirect_uri: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{separator}{}", query.finish())
}
