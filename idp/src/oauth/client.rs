//! Registered relying parties (clients) and their authentication (RFC 6749 §2.3;
//! OIDC Core §9).

use super::redirect_uri;
use super::scope::Scope;
use crate::crypto;
use crate::crypto::keys::SigningAlg;
use crate::db::clients::ClientRow;
use crate::db::BadStoredValue;

/// How a client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// HTTP Basic with form-urlencoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// id and secret in the form body.
    ClientSecretPost,
    /// A public client: no secret.
    None,
}

impl AuthMethod {
    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }

    /// Parses an RFC 7591 name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::ClientSecretBasic, Self::ClientSecretPost, Self::None]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// A grant type a client may use (RFC 6749 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    /// `authorization_code`.
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials` (confidential clients only).
    ClientCredentials,
}

impl GrantType {
    /// The RFC 6749 name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// Parses an RFC 6749 name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::AuthorizationCode,
            Self::RefreshToken,
            Self::ClientCredentials,
        ]
        .into_iter()
        .find(|g| g.as_str() == s)
    }
}

/// A registered client.
#[derive(Debug, Clone)]
pub struct Client {
    /// The client identifier.
    pub client_id: String,
    /// Display name.
    pub client_name: String,
    secret_hash: Option<String>,
    /// Registered authentication method.
    pub auth_method: AuthMethod,
    /// Registered redirect URIs, exact strings.
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed grant types.
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may request.
    pub allowed_scope: Scope,
    /// ID token `alg` (OIDC Registration `id_token_signed_response_alg`).
    pub id_token_alg: SigningAlg,
    /// Whether authorization requests must carry a PKCE challenge.
    pub require_pkce: bool,
    /// Back-Channel Logout 1.0 endpoint of the client.
    pub backchannel_logout_uri: Option<String>,
}

impl Client {
    /// Builds the domain client from its row.
    ///
    /// # Errors
    /// [`BadStoredValue`] naming the column of a row that does not parse (corrupt
    /// JSON or unknown names).
    pub fn from_row(row: ClientRow) -> Result<Self, BadStoredValue> {
        let json = |column, text: &str| {
            serde_json::from_str::<Vec<String>>(text).map_err(|_| BadStoredValue::new(column, text))
        };
        let grant_types = json("clients.grant_types", &row.grant_types)?
            .iter()
            .map(|g| {
                GrantType::parse(g).ok_or_else(|| BadStoredValue::new("clients.grant_types", g))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            auth_method: AuthMethod::parse(&row.token_endpoint_auth_method).ok_or_else(|| {
                BadStoredValue::new(
                    "clients.token_endpoint_auth_method",
                    &row.token_endpoint_auth_method,
                )
            })?,
            redirect_uris: json("clients.redirect_uris", &row.redirect_uris)?,
            post_logout_redirect_uris: json(
                "clients.post_logout_redirect_uris",
                &row.post_logout_redirect_uris,
            )?,
            grant_types,
            allowed_scope: Scope::from_stored(&row.scope),
            id_token_alg: SigningAlg::parse(&row.id_token_signed_response_alg).ok_or_else(
                || {
                    BadStoredValue::new(
                        "clients.id_token_signed_response_alg",
                        &row.id_token_signed_response_alg,
                    )
                },
            )?,
            require_pkce: row.require_pkce != 0 || row.secret_hash.is_none(),
            backchannel_logout_uri: row.backchannel_logout_uri,
            client_id: row.client_id,
            client_name: row.client_name,
            secret_hash: row.secret_hash,
        })
    }

    /// Whether the client is public (no secret; PKCE always required).
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    /// Whether the client may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether `uri` is one of the registered post-logout redirect URIs (exact
    /// string comparison, RP-Initiated Logout 1.0 §3).
    pub fn allows_post_logout_redirect(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }

    /// The registered redirect_uri matching `requested` exactly. Only for public
    /// (native) clients may the port of a loopback URI vary (RFC 8252 §7.3); a
    /// confidential web client's URI must match byte for byte.
    pub fn find_redirect_uri(&self, requested: &str) -> Option<&str> {
        self.redirect_uris
            .iter()
            .find(|r| {
                if self.is_public() {
                    redirect_uri::matches(r, requested)
                } else {
                    r.as_str() == requested
                }
            })
            .map(String::as_str)
    }

    /// Compares a presented secret with the stored hash in constant time.
    pub fn verify_secret(&self, secret: &str) -> bool {
        match &self.secret_hash {
            Some(hash) => crypto::ct_eq(
                crypto::sha256_b64(secret.as_bytes()).as_bytes(),
                hash.as_bytes(),
            ),
            None => false,
        }
    }
}

/// Hashes a client secret for storage.
pub fn hash_secret(secret: &str) -> String {
    crypto::sha256_b64(secret.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ClientRow {
        ClientRow {
            client_id: "c1".into(),
            client_name: "Client".into(),
            secret_hash: Some("hash".into()),
            token_endpoint_auth_method: "client_secret_basic".into(),
            redirect_uris: r#"["https://rp.example/cb"]"#.into(),
            post_logout_redirect_uris: "[]".into(),
            grant_types: r#"["authorization_code","refresh_token"]"#.into(),
            scope: "openid profile".into(),
            id_token_signed_response_alg: "RS256".into(),
            require_pkce: 1,
            created_at: 0,
            backchannel_logout_uri: None,
        }
    }

    /// Breaks one column of a good row.
    type Corrupt = fn(&mut ClientRow);

    #[test]
    fn a_stored_value_that_does_not_parse_names_its_column() {
        assert!(Client::from_row(row()).is_ok());
        let cases: [(Corrupt, &str); 5] = [
            (
                |r| r.grant_types = r#"["bogus"]"#.into(),
                "clients.grant_types",
            ),
            (|r| r.grant_types = "not json".into(), "clients.grant_types"),
            (|r| r.redirect_uris = "{".into(), "clients.redirect_uris"),
            (
                |r| r.token_endpoint_auth_method = "magic".into(),
                "clients.token_endpoint_auth_method",
            ),
            (
                |r| r.id_token_signed_response_alg = "HS256".into(),
                "clients.id_token_signed_response_alg",
            ),
        ];
        for (corrupt, column) in cases {
            let mut r = row();
            corrupt(&mut r);
            let e = Client::from_row(r).expect_err(column);
            assert_eq!(e.column, column);
        }
    }
}
