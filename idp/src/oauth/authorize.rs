//! Authorization requests (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 9700 §2.1):
//! validation, and the decision between issuing a code, showing the login form and
//! answering `login_required`.

use serde::{Deserialize, Serialize};

use super::client::{Client, GrantType};
use super::error::{ErrorCode, OAuthError};
use super::id_token_hint;
use super::params::Params;
use super::pkce;
use super::scope::{self, Scope};
use crate::db::sessions::SessionRow;
use crate::state::AppState;

/// A validated authorization request; stored as JSON while the user logs in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// Where the response goes: the exact string the client sent (or the single
    /// registered URI when it sent none).
    pub redirect_uri: String,
    /// Whether redirect_uri was in the request (then the token request must repeat it).
    pub redirect_uri_given: bool,
    /// The scope that will be granted: requested ∩ supported ∩ allowed for the client.
    pub scope: String,
    /// Opaque client state, echoed back.
    pub state: Option<String>,
    /// OIDC nonce, echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// prompt=none.
    pub prompt_none: bool,
    /// prompt=login (or select_account): authenticate again.
    pub prompt_login: bool,
    /// max_age in seconds.
    pub max_age: Option<i64>,
    /// login_hint, used only to pre-fill the login form.
    pub login_hint: Option<String>,
    /// `sub` of a valid id_token_hint.
    pub id_token_hint_sub: Option<String>,
    /// ui_locales, space-separated BCP 47 tags.
    pub ui_locales: Option<String>,
}

/// An error from the authorization endpoint: either shown to the user (the client or
/// redirect_uri cannot be trusted, RFC 6749 §4.1.2.1) or sent back to the client.
#[derive(Debug)]
pub enum AuthorizeError {
    /// 400 error page (the i18n key of the message); never a redirect.
    Page(&'static str),
    /// A redirect to the client's redirect_uri with `error`, `state` and `iss`.
    Redirect {
        /// The validated redirect_uri.
        redirect_uri: String,
        /// The request's state, if it was readable.
        state: Option<String>,
        /// The error.
        error: OAuthError,
    },
    /// A database failure while validating (500 page).
    Internal(anyhow::Error),
}

/// The longest accepted value, in bytes, of each parameter that is stored with a
/// pending request, echoed back, or parsed beyond an exact comparison. A longer value
/// is `invalid_request` naming the parameter (redirected to the client: these are
/// checked after client_id and redirect_uri). Every other parameter is bounded by
/// `http.max_param_bytes`. Real clients stay far below: `state` is 32–64 characters
/// from Spring Security, openid-client and Authlib and a few hundred from ASP.NET
/// Core (its protected properties); OIDC implementers are advised to keep `nonce`
/// within 128; an e-mail address, the usual `login_hint`, has at most 254.
pub const LENGTH_LIMITS: &[(&str, usize)] = &[
    ("state", 2048),
    ("nonce", 512),
    ("login_hint", 254),
    ("ui_locales", 128),
    ("scope", 1024),
    ("prompt", 128),
    ("max_age", 19),
];

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

/// The client_id of a request, or the error page explaining why it has none.
///
/// # Errors
/// [`AuthorizeError::Page`] when client_id is missing, repeated or oversized, or
/// unreadable because the request has more than `http.max_params` parameters.
pub fn client_id(params: &Params) -> Result<&str, AuthorizeError> {
    if params.is_malformed("client_id") {
        return Err(AuthorizeError::Page("error.client_id_malformed"));
    }
    match params.get("client_id") {
        Some(client_id) => Ok(client_id),
        None if params.too_many() => Err(AuthorizeError::Page("error.too_many_params")),
        None => Err(AuthorizeError::Page("error.no_client_id")),
    }
}

/// Validates a request for a known `client`. An id_token_hint must be an ID token of
/// this provider ([`id_token_hint::verify`]; expiry ignored); its `sub` is kept.
///
/// # Errors
/// See [`AuthorizeError`]; every rule of OIDC Core §3.1.2.2 and RFC 9700 §2.1.
/// [`AuthorizeError::Internal`] for a database failure while checking the hint.
pub async fn validate(
    params: &Params,
    client: &Client,
    app: &AppState,
) -> Result<AuthorizationRequest, AuthorizeError> {
    // 1. redirect_uri: exact match, or the only registered one when absent.
    if params.is_malformed("redirect_uri") {
        return Err(AuthorizeError::Page("error.redirect_uri_malformed"));
    }
    let (redirect_uri, redirect_uri_given) = match params.get("redirect_uri") {
        Some(requested) => match client.find_redirect_uri(requested) {
            Some(_) => (requested.to_owned(), true),
            None => return Err(AuthorizeError::Page("error.redirect_uri_unregistered")),
        },
        None => match client.redirect_uris.as_slice() {
            [only] => (only.clone(), false),
            _ => return Err(AuthorizeError::Page("error.redirect_uri_missing")),
        },
    };
    // From here on, errors go back to the client; a state that breaks its limits is
    // not echoed.
    let state = params
        .get("state")
        .filter(|s| check_value("state", s).is_ok())
        .map(str::to_owned);
    let fail = |code: ErrorCode, description: &'static str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error: OAuthError::new(code, description),
    };
    let checked = params.check().and_then(|()| {
        LENGTH_LIMITS
            .iter()
            .filter_map(|(name, _)| params.get(name).map(|value| check_value(name, value)))
            .collect::<Result<Vec<()>, OAuthError>>()
    });
    if let Err(error) = checked {
        return Err(AuthorizeError::Redirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            error,
        });
    }
    if params.get("request").is_some() {
        return Err(fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    if params.get("registration").is_some() {
        return Err(fail(
            ErrorCode::RegistrationNotSupported,
            "registration is not supported",
        ));
    }

    // 2. response_type and response_mode.
    match params.get("response_type") {
        None => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "missing parameter 'response_type'",
            ))
        }
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization code flow",
        ));
    }
    if !matches!(params.get("response_mode"), None | Some("query")) {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "only response_mode=query is supported",
        ));
    }

    // 3. scope: what is requested, known, and allowed for this client.
    let requested = match params.get("scope") {
        None => return Err(fail(ErrorCode::InvalidRequest, "missing parameter 'scope'")),
        Some(s) => Scope::parse(s).map_err(|_| fail(ErrorCode::InvalidScope, "malformed scope"))?,
    };
    let supported = Scope::from_stored(&scope::SUPPORTED.join(" "));
    let granted = requested
        .intersect(&supported)
        .intersect(&client.allowed_scope);
    if granted.is_empty() {
        return Err(fail(
            ErrorCode::InvalidScope,
            "none of the requested scopes is allowed",
        ));
    }

    // 4. PKCE: S256 only; required for public clients and by default for all.
    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (Some(challenge), Some("S256")) => {
            if !pkce::is_valid_challenge(challenge) {
                return Err(fail(ErrorCode::InvalidRequest, "malformed code_challenge"));
            }
            Some(challenge.to_owned())
        }
        (Some(_), None) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method is required and must be S256",
            ))
        }
        (_, Some(_)) if params.get("code_challenge").is_none() => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            ))
        }
        (_, Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "only code_challenge_method=S256 is supported",
            ))
        }
        (None, None) if client.require_pkce => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "PKCE (code_challenge with S256) is required",
            ))
        }
        (None, None) => None,
    };

    // 5. prompt, max_age, hints.
    let mut prompt_none = false;
    let mut prompt_login = false;
    let mut prompt_count = 0;
    if let Some(prompt) = params.get("prompt") {
        for value in prompt.split(' ').filter(|v| !v.is_empty()) {
            prompt_count += 1;
            match value {
                "none" => prompt_none = true,
                "login" | "select_account" => prompt_login = true,
                _ => {} // consent: first-party clients need none; unknown values are ignored
            }
        }
    }
    if prompt_none && prompt_count > 1 {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "max_age must be a non-negative integer",
                ))
            }
        },
    };
    let id_token_hint_sub = match params.get("id_token_hint") {
        None => None,
        Some(hint) => Some(
            id_token_hint::verify(app, hint)
                .await
                .map_err(AuthorizeError::Internal)?
                .ok_or_else(|| fail(ErrorCode::InvalidRequest, "invalid id_token_hint"))?
                .sub,
        ),
    };

    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        redirect_uri_given,
        scope: granted.to_string(),
        state,
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
        prompt_none,
        prompt_login,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        id_token_hint_sub,
        ui_locales: params.get("ui_locales").map(str::to_owned),
    })
}

/// What to do with a validated request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// The browser session satisfies the request: issue a code.
    IssueCode,
    /// Show the login form; `forced` means an existing session is not enough.
    Login {
        /// Whether a fresh login is required even with a session.
        forced: bool,
    },
    /// The user signed in with a one-time password and must set a new one first.
    ChangePassword,
    /// prompt=none and a login would be needed; `signed_in` when a session exists but
    /// is not enough (max_age, prompt=login, another user's id_token_hint).
    LoginRequired {
        /// Whether the browser has a session.
        signed_in: bool,
    },
    /// prompt=none but the user must first set a new password (OIDC Core §3.1.2.6).
    InteractionRequired,
}

impl AuthorizationRequest {
    /// Decides, given the browser's live session (if any), per OIDC Core §3.1.2.3.
    pub fn decide(&self, session: Option<&SessionRow>, now: i64) -> Decision {
        let forced = self.prompt_login
            || match session {
                None => false,
                Some(s) => {
                    // max_age=0 means "authenticate now", like prompt=login (OIDC Core §3.1.2.1).
                    self.max_age
                        .is_some_and(|max| max == 0 || now - s.auth_time > max)
                        || self
                            .id_token_hint_sub
                            .as_deref()
                            .is_some_and(|sub| sub != s.user_id)
                }
            };
        match (session, forced) {
            (Some(s), false) if s.must_change_password() => {
                if self.prompt_none {
                    Decision::InteractionRequired
                } else {
                    Decision::ChangePassword
                }
            }
            (Some(_), false) => Decision::IssueCode,
            (session, _) if self.prompt_none => Decision::LoginRequired {
                signed_in: session.is_some(),
            },
            (_, forced) => Decision::Login { forced },
        }
    }

    /// Whether `session` completes this request after a login page: a forced login
    /// must have happened after `requested_at`, and max_age must hold.
    pub fn satisfied_by(
        &self,
        session: &SessionRow,
        requested_at: i64,
        forced: bool,
        now: i64,
    ) -> bool {
        (!forced || session.auth_time >= requested_at)
            && self
                .max_age
                .is_none_or(|max| now - session.auth_time <= max)
    }
}
