//! Client authentication at the token, revocation and introspection endpoints
//! (RFC 6749 §2.3.1; OIDC Core §9): client_secret_basic, client_secret_post, or none
//! for public clients. Only the client's registered method is accepted.

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::db::clients;
use crate::oauth::client::{AuthMethod, Client};
use crate::oauth::error::TokenError;
use crate::oauth::params::Params;
use crate::state::AppState;

/// Authenticates the calling client.
///
/// # Errors
/// `invalid_request` when several methods are used at once or client_id is repeated;
/// `invalid_client` (401) for a malformed Basic header, an unknown client, the wrong
/// method or a wrong secret.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Client, TokenError> {
    if params.is_malformed("client_id") || params.is_malformed("client_secret") {
        return Err(TokenError::invalid_request(
            "client_id or client_secret is repeated",
        ));
    }
    let basic = basic_credentials(headers)?;
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let (client_id, secret, method) = match (basic, body_secret) {
        (Some(_), Some(_)) => {
            return Err(TokenError::invalid_request(
                "use only one client authentication method",
            ))
        }
        (Some((id, secret)), None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(TokenError::invalid_request(
                    "client_id differs from the Authorization header",
                ));
            }
            (id, Some(secret), AuthMethod::ClientSecretBasic)
        }
        (None, Some(secret)) => {
            let id = body_id.ok_or_else(TokenError::invalid_client)?;
            (
                id.to_owned(),
                Some(secret.to_owned()),
                AuthMethod::ClientSecretPost,
            )
        }
        (None, None) => {
            let id = body_id.ok_or_else(TokenError::invalid_client)?;
            (id.to_owned(), None, AuthMethod::None)
        }
    };
    let client = match clients::find(&state.db, &client_id).await? {
        Some(row) => Client::from_row(row)?,
        None => return Err(TokenError::invalid_client()),
    };
    let ok = client.auth_method == method
        && match secret {
            Some(secret) => client.verify_secret(&secret),
            None => client.is_public(),
        };
    if !ok {
        tracing::info!(client_id = %client.client_id, "client authentication failed");
        return Err(TokenError::invalid_client());
    }
    Ok(client)
}

/// Decodes `Authorization: Basic` credentials: base64 of `id:secret`, each part
/// form-urlencoded (RFC 6749 §2.3.1). Other schemes are ignored.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, TokenError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(TokenError::invalid_request("repeated Authorization header"));
    }
    let value = value.to_str().map_err(|_| TokenError::invalid_client())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| TokenError::invalid_client())?;
    let decoded = String::from_utf8(decoded).map_err(|_| TokenError::invalid_client())?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(TokenError::invalid_client)?;
    let decode = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (id, secret) = (decode(id), decode(secret));
    if id.is_empty() {
        return Err(TokenError::invalid_client());
    }
    Ok(Some((id, secret)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_auth(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn basic_decodes_form_urlencoded_parts() {
        // id "a:b" and secret "p%+ q" encoded per RFC 6749 §2.3.1.
        let raw = "a%3Ab:p%25%2B+q";
        let h = with_auth(&format!("Basic {}", STANDARD.encode(raw)));
        assert_eq!(
            basic_credentials(&h).unwrap(),
            Some(("a:b".to_owned(), "p%+ q".to_owned()))
        );
    }

    #[test]
    fn malformed_basic_is_invalid_client() {
        for v in ["Basic !!!", "Basic Zm9v", "basic "] {
            assert!(basic_credentials(&with_auth(v)).is_err(), "{v}");
        }
        assert_eq!(basic_credentials(&with_auth("Bearer x")).unwrap(), None);
    }
}
