//! OAuth 2.0 and OpenID Connect error codes.

use std::borrow::Cow;

use crate::error::internal_from;

/// An error code from RFC 6749 §4.1.2.1 / §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1 or
/// OIDC Core §3.1.2.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Missing, repeated or malformed parameter.
    InvalidRequest,
    /// Client authentication failed (401 at the token endpoint).
    InvalidClient,
    /// Bad, expired, used or foreign code or refresh token; PKCE failure.
    InvalidGrant,
    /// The client may not use this grant or response type.
    UnauthorizedClient,
    /// Unknown grant_type.
    UnsupportedGrantType,
    /// Only `code` is supported.
    UnsupportedResponseType,
    /// Unknown or not allowed scope.
    InvalidScope,
    /// The user or server refused.
    AccessDenied,
    /// An internal failure; logged, never detailed.
    ServerError,
    /// prompt=none but the user is not logged in.
    LoginRequired,
    /// prompt=none but interaction is needed.
    InteractionRequired,
    /// The `request` parameter is not supported.
    RequestNotSupported,
    /// The `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// The `registration` parameter is not supported.
    RegistrationNotSupported,
    /// A bearer token is invalid, expired or revoked (RFC 6750 §3.1).
    InvalidToken,
}

impl ErrorCode {
    /// The registered error string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::RegistrationNotSupported => "registration_not_supported",
            ErrorCode::InvalidToken => "invalid_token",
        }
    }
}

/// An error code with a human-readable description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The code.
    pub code: ErrorCode,
    /// `error_description`: ASCII, no secrets.
    pub description: Cow<'static, str>,
}

impl OAuthError {
    /// Builds an error.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` with a description.
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }
}

/// An error at the token, revocation or introspection endpoint: a protocol error, or
/// an internal failure (logged; answered as `server_error` without detail).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A protocol error; `invalid_client` answers 401, the rest 400.
    #[error("{}: {}", .0.code.as_str(), .0.description)]
    OAuth(OAuthError),
    /// An internal failure; 500 `server_error`.
    #[error(transparent)]
    Internal(anyhow::Error),
}

internal_from!(TokenError: sqlx::Error, anyhow::Error);

impl From<OAuthError> for TokenError {
    fn from(e: OAuthError) -> Self {
        TokenError::OAuth(e)
    }
}

impl TokenError {
    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError::invalid_request(description).into()
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError::invalid_grant(description).into()
    }

    /// `invalid_client`.
    pub fn invalid_client() -> Self {
        OAuthError::new(ErrorCode::InvalidClient, "client authentication failed").into()
    }
}
