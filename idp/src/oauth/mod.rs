//! Protocol logic of OAuth 2.0 and OpenID Connect, free of HTTP framework types.

pub mod access_token;
pub mod authorize;
pub mod claims;
pub mod client;
pub mod discovery;
pub mod error;
pub mod id_token_hint;
pub mod introspection;
pub mod issue;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
pub mod registration;
pub mod revocation;
pub mod scope;
pub mod token;

/// Appends response parameters to a redirect_uri, keeping the registered string
/// byte-for-byte and any query it already has (RFC 6749 §3.1.2). `None` values are
/// skipped; with nothing to add, the URI is returned unchanged (no bare `?` or `&`).
pub fn authorization_response(redirect_uri: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    let query = query.finish();
    if query.is_empty() {
        return redirect_uri.to_owned();
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{separator}{query}")
}

#[cfg(test)]
mod tests {
    use super::authorization_response;

    #[test]
    fn parameters_are_appended_to_the_registered_uri() {
        let uri = "https://rp.example/cb";
        assert_eq!(
            authorization_response(uri, &[("code", Some("a b")), ("state", None)]),
            "https://rp.example/cb?code=a+b"
        );
        assert_eq!(
            authorization_response("https://rp.example/cb?x=1", &[("state", Some("s"))]),
            "https://rp.example/cb?x=1&state=s"
        );
    }

    #[test]
    fn nothing_to_add_leaves_the_uri_byte_for_byte() {
        for uri in ["https://rp.example/bye", "https://rp.example/bye?x=1"] {
            assert_eq!(authorization_response(uri, &[("state", None)]), uri);
            assert_eq!(authorization_response(uri, &[]), uri);
        }
    }
}
