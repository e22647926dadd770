//! Authorization requests (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 9700 §2.1):
//! validation, and the decision between issuing a code, showing the login form and
//! answering `login_required`.

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::error::OAuthError;
use super::id_token_hint;
use super::params::Params;
use crate::db::sessions::SessionRow;
use crate::error::Internal;
use crate::state::AppState;

mod steps;

pub use self::steps::is_acceptable_value;
/// A request waiting for its browser to log in.
#[derive(Serialize, Deserialize)]
pub struct Pending {
    /// The validated request.
    pub request: AuthorizationRequest,
    /// Whether a fresh login is required even with a live session.
    pub forced: bool,
}

/// What a page shows when its pending request is gone (i18n key).
pub const EXPIRED: &str = "error.expired_request";

#[cfg(test)]
mod tests;

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
    Internal(Internal),
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

/// Validates a request for a known `client`, step by step (the private `steps` module): 1.
/// redirect_uri, then the request's form, 2. response_type, 3. scope, 4. PKCE, 5.
/// prompt, max_age and the hints. An id_token_hint must be an ID token of this
/// provider ([`id_token_hint::verify`]; expiry ignored); its `sub` is kept.
///
/// # Errors
/// See [`AuthorizeError`]; every rule of OIDC Core §3.1.2.2 and RFC 9700 §2.1.
/// [`AuthorizeError::Internal`] for a database failure while checking the hint.
pub async fn validate(
    params: &Params,
    client: &Client,
    app: &AppState,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let (redirect_uri, redirect_uri_given) =
        steps::redirect_uri(params, client).map_err(AuthorizeError::Page)?;
    // From here on, errors go back to the client; a state that breaks its limits is
    // not echoed.
    let state = steps::state(params);
    let redirect = |error: OAuthError| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
    };
    steps::well_formed(params).map_err(redirect)?;
    steps::response_type(params, client).map_err(redirect)?;
    let granted = steps::scope(params, client).map_err(redirect)?;
    let code_challenge = steps::pkce(params, client).map_err(redirect)?;
    let prompt = steps::prompt(params).map_err(redirect)?;
    let max_age = steps::max_age(params).map_err(redirect)?;
    let id_token_hint_sub = match params.get("id_token_hint") {
        None => None,
        Some(hint) => Some(
            id_token_hint::verify(app, hint)
                .await
                .map_err(AuthorizeError::Internal)?
                .ok_or_else(|| redirect(OAuthError::invalid_request("invalid id_token_hint")))?
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
        prompt_none: prompt.none,
        prompt_login: prompt.login,
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
