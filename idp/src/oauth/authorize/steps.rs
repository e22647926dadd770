//! The steps of [`super::validate`], in the order it runs them. Each step reads only
//! the parameters and the client, and returns what it validated or the first error.
//! Step 1 decides where errors may go: its errors are shown as a page (the i18n key),
//! every later step's error is redirected to the client.

use super::LENGTH_LIMITS;
use crate::oauth::client::{Client, GrantType};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::oauth::pkce::is_valid_challenge;
use crate::oauth::scope::{Scope, SUPPORTED};

/// The prompt values the provider acts on (OIDC Core §3.1.2.1).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Prompt {
    /// prompt=none.
    pub none: bool,
    /// prompt=login or select_account.
    pub login: bool,
}

/// A parameter's value that breaks [`LENGTH_LIMITS`], or a stored one with characters
/// it may not hold (`state` must be printable ASCII, RFC 6749 Appendix A.5; `nonce`,
/// `login_hint` and `ui_locales` must be free of control, format (bidirectional
/// overrides, zero-width characters) and other invisible characters:
/// [`is_invisible_or_control`](crate::policy::text::is_invisible_or_control)), as an
/// error.
fn check_value(name: &str, value: &str) -> Result<(), OAuthError> {
    let max = LENGTH_LIMITS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(usize::MAX, |(_, max)| *max);
    if value.len() > max {
        return Err(OAuthError::invalid_request(format!(
            "parameter '{name}' is too long (at most {max} bytes)"
        )));
    }
    let printable = match name {
        "state" => value.bytes().all(|b| (0x20..=0x7e).contains(&b)),
        // Stored and shown as they are; scope, prompt and max_age have their own
        // grammar and errors.
        "nonce" | "login_hint" | "ui_locales" => !value
            .chars()
            .any(crate::policy::text::is_invisible_or_control),
        _ => true,
    };
    if !printable {
        return Err(OAuthError::invalid_request(format!(
            "parameter '{name}' contains characters that are not allowed"
        )));
    }
    Ok(())
}

/// Whether `value` keeps the length and character rules of the authorization
/// parameter `name` ([`LENGTH_LIMITS`]; for `state` printable ASCII), for endpoints
/// that take the same parameter (the `state` of RP-initiated logout).
pub fn is_acceptable_value(name: &str, value: &str) -> bool {
    check_value(name, value).is_ok()
}

/// Step 1: redirect_uri: an exact match, or the only registered one when absent; returns
/// it and whether the request named it.
///
/// # Errors
/// The i18n key of the error page (never a redirect).
pub(super) fn redirect_uri(
    params: &Params,
    client: &Client,
) -> Result<(String, bool), &'static str> {
    if params.is_malformed("redirect_uri") {
        return Err("error.redirect_uri_malformed");
    }
    match params.get("redirect_uri") {
        Some(requested) => match client.find_redirect_uri(requested) {
            Some(_) => Ok((requested.to_owned(), true)),
            None => Err("error.redirect_uri_unregistered"),
        },
        None => match client.redirect_uris.as_slice() {
            [only] => Ok((only.clone(), false)),
            _ => Err("error.redirect_uri_missing"),
        },
    }
}

/// The state to echo in a redirect: absent when it breaks its limits.
pub(super) fn state(params: &Params) -> Option<String> {
    params
        .get("state")
        .filter(|s| check_value("state", s).is_ok())
        .map(str::to_owned)
}

/// Step 1b: The request as a whole: no repeated, oversized or surplus parameters, every
/// stored value within [`LENGTH_LIMITS`], and no request objects or registration.
pub(super) fn well_formed(params: &Params) -> Result<(), OAuthError> {
    params.check()?;
    for (name, _) in LENGTH_LIMITS {
        if let Some(value) = params.get(name) {
            check_value(name, value)?;
        }
    }
    let unsupported = [
        (
            "request",
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ),
        (
            "request_uri",
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ),
        (
            "registration",
            ErrorCode::RegistrationNotSupported,
            "registration is not supported",
        ),
    ];
    for (name, code, description) in unsupported {
        if params.get(name).is_some() {
            return Err(OAuthError::new(code, description));
        }
    }
    Ok(())
}

/// Step 2: response_type=code, a client allowed the code flow, response_mode=query.
pub(super) fn response_type(params: &Params, client: &Client) -> Result<(), OAuthError> {
    match params.get("response_type") {
        None => {
            return Err(OAuthError::invalid_request(
                "missing parameter 'response_type'",
            ))
        }
        Some("code") => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization code flow",
        ));
    }
    if !matches!(params.get("response_mode"), None | Some("query")) {
        return Err(OAuthError::invalid_request(
            "only response_mode=query is supported",
        ));
    }
    Ok(())
}

/// Step 3: scope: what is requested, known, and allowed for this client; returns the
/// scope to grant (never empty).
pub(super) fn scope(params: &Params, client: &Client) -> Result<Scope, OAuthError> {
    let requested = match params.get("scope") {
        None => return Err(OAuthError::invalid_request("missing parameter 'scope'")),
        Some(s) => Scope::parse(s)
            .map_err(|_| OAuthError::new(ErrorCode::InvalidScope, "malformed scope"))?,
    };
    let supported = Scope::from_stored(&SUPPORTED.join(" "));
    let granted = requested
        .intersect(&supported)
        .intersect(&client.allowed_scope);
    if granted.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "none of the requested scopes is allowed",
        ));
    }
    Ok(granted)
}

/// Step 4: PKCE: S256 only; required for public clients and by default for all. Returns
/// the challenge, if any.
pub(super) fn pkce(params: &Params, client: &Client) -> Result<Option<String>, OAuthError> {
    let refuse = |description: &'static str| Err(OAuthError::invalid_request(description));
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (Some(challenge), Some("S256")) => {
            if !is_valid_challenge(challenge) {
                return refuse("malformed code_challenge");
            }
            Ok(Some(challenge.to_owned()))
        }
        (Some(_), None) => refuse("code_challenge_method is required and must be S256"),
        (None, Some(_)) => refuse("code_challenge_method without code_challenge"),
        (Some(_), Some(_)) => refuse("only code_challenge_method=S256 is supported"),
        (None, None) if client.require_pkce => {
            refuse("PKCE (code_challenge with S256) is required")
        }
        (None, None) => Ok(None),
    }
}

/// Step 5a: prompt: `none` (alone) and `login`/`select_account`; consent needs nothing
/// for first-party clients, and unknown values are ignored.
pub(super) fn prompt(params: &Params) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    let mut count = 0;
    if let Some(values) = params.get("prompt") {
        for value in values.split(' ').filter(|v| !v.is_empty()) {
            count += 1;
            match value {
                "none" => prompt.none = true,
                "login" | "select_account" => prompt.login = true,
                _ => {}
            }
        }
    }
    if prompt.none && count > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

/// Step 5b: max_age: a non-negative number of seconds.
pub(super) fn max_age(params: &Params) -> Result<Option<i64>, OAuthError> {
    match params.get("max_age") {
        None => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(n)),
            _ => Err(OAuthError::invalid_request(
                "max_age must be a non-negative integer",
            )),
        },
    }
}
