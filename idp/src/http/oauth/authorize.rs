//! The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2), GET and POST, and
//! the resumption of a request after the login page.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use crate::crypto;
use crate::db::{auth_requests, clients};
use crate::error::internal_from;
use crate::http::browser;
use crate::http::error::PageError;
use crate::http::extract::client_ip::ClientIp;
use crate::http::extract::params::{ParamsError, RequestParams};
use crate::oauth::authorization_response;
use crate::oauth::authorize::{
    self, AuthorizationRequest, AuthorizeError, Decision, Pending, EXPIRED,
};
use crate::oauth::client::Client;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::issue;
use crate::state::AppState;

/// `GET|POST /authorize`.
pub async fn handle(
    State(state): State<AppState>,
    cookies: Cookies,
    ip: ClientIp,
    params: Result<RequestParams, ParamsError>,
) -> Response {
    match authorize(&state, &cookies, &ip.network(), params).await {
        Ok(response) => response,
        Err(e) => error_response(&state, e),
    }
}

async fn authorize(
    state: &AppState,
    cookies: &Cookies,
    network: &str,
    params: Result<RequestParams, ParamsError>,
) -> Result<Response, Error> {
    let RequestParams(params) =
        params.map_err(|_| Error::Page(PageError::BadRequest("error.params")))?;
    let client_id = authorize::client_id(&params)?;
    let client = find_client(state, client_id).await?;
    let request = authorize::validate(&params, &client, state).await?;
    let session = browser::current(state, cookies).await?;
    let now = state.clock.now();
    match request.decide(session.as_ref(), now) {
        Decision::IssueCode => {
            let session = session.ok_or_else(|| Error::Internal(anyhow::anyhow!("no session")))?;
            Ok(found(issue::issue_code(state, &request, &session).await?))
        }
        Decision::LoginRequired { signed_in } => Err(redirect_error(
            &request,
            ErrorCode::LoginRequired,
            if signed_in {
                "the user must sign in again"
            } else {
                "the user is not signed in"
            },
        )),
        Decision::InteractionRequired => Err(redirect_error(
            &request,
            ErrorCode::InteractionRequired,
            "the user must set a new password first",
        )),
        Decision::Login { forced } => {
            let pending = Pending { request, forced };
            wait_for_browser(state, cookies, network, pending, now, "/login").await
        }
        Decision::ChangePassword => {
            let pending = Pending {
                request,
                forced: false,
            };
            wait_for_browser(state, cookies, network, pending, now, "/password/new").await
        }
    }
}

/// The error `code` with `description`, redirected to the client with its `state`
/// (RFC 6749 §4.1.2.1).
fn redirect_error(
    request: &AuthorizationRequest,
    code: ErrorCode,
    description: &'static str,
) -> Error {
    AuthorizeError::Redirect {
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        error: OAuthError::new(code, description),
    }
    .into()
}

/// Stores `pending` for this browser (bounded per client, browser and client
/// `network`; it expires after `session.authorization_request_seconds` from `now`)
/// and sends the browser to `page` (the login page or `/password/new`) with its
/// request_id, which [`resume`] takes afterwards.
async fn wait_for_browser(
    state: &AppState,
    cookies: &Cookies,
    network: &str,
    pending: Pending,
    now: i64,
    page: &str,
) -> Result<Response, Error> {
    let browser = browser::browser_id(state, cookies);
    let id = crypto::random_token(32);
    let params = serde_json::to_string(&pending)?;
    auth_requests::insert(
        &state.db,
        &auth_requests::NewPending {
            id_hash: &crypto::sha256_b64(id.as_bytes()),
            browser_hash: &crypto::sha256_b64(browser.as_bytes()),
            client_id: &pending.request.client_id,
            network,
            params: &params,
            created_at: now,
            expires_at: now + state.config.session.authorization_request_seconds,
        },
        &state.config.authorize,
    )
    .await?;
    Ok(Redirect::to(&format!("{page}?request_id={id}")).into_response())
}

async fn find_client(state: &AppState, client_id: &str) -> Result<Client, Error> {
    match clients::find(&state.db, client_id).await? {
        Some(row) => Ok(Client::from_row(row)?),
        None => Err(AuthorizeError::Page("error.unknown_client").into()),
    }
}

/// Query of `GET /authorize/resume`.
#[derive(Deserialize)]
pub struct ResumeQuery {
    request_id: Option<String>,
}

/// `GET /authorize/resume?request_id=…`: after the login page, finishes the pending
/// request of this browser with its (new) session.
pub async fn resume(
    State(state): State<AppState>,
    cookies: Cookies,
    query: Result<Query<ResumeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let id = match query {
        Ok(Query(ResumeQuery {
            request_id: Some(id),
        })) if id.len() <= 64 => id,
        _ => return PageError::BadRequest("error.malformed_link").into_response(),
    };
    match resume_inner(&state, &cookies, &id).await {
        Ok(response) => response,
        Err(e) => error_response(&state, e),
    }
}

async fn resume_inner(state: &AppState, cookies: &Cookies, id: &str) -> Result<Response, Error> {
    let expired = || Error::Page(PageError::BadRequest(EXPIRED));
    let browser = browser::existing_browser_id(state, cookies).ok_or_else(expired)?;
    let id_hash = crypto::sha256_b64(id.as_bytes());
    let browser_hash = crypto::sha256_b64(browser.as_bytes());
    let now = state.clock.now();
    let row = auth_requests::find(&state.db, &id_hash, &browser_hash, now)
        .await?
        .ok_or_else(expired)?;
    let pending: Pending = serde_json::from_str(&row.params)?;
    let session = match browser::current(state, cookies).await? {
        Some(s)
            if pending
                .request
                .satisfied_by(&s, row.created_at, pending.forced, now) =>
        {
            s
        }
        _ => return Ok(Redirect::to(&format!("/login?request_id={id}")).into_response()),
    };
    if session.must_change_password() {
        return Ok(Redirect::to(&format!("/password/new?request_id={id}")).into_response());
    }
    // Single use: only the browser tab that takes the request gets the code.
    if auth_requests::take(&state.db, &id_hash, &browser_hash, now)
        .await?
        .is_none()
    {
        return Err(expired());
    }
    Ok(found(
        issue::issue_code(state, &pending.request, &session).await?,
    ))
}

/// 302 Found to `location` (the authorization response, RFC 6749 §4.1.2).
fn found(location: String) -> Response {
    (
        StatusCode::FOUND,
        [(axum::http::header::LOCATION, location)],
    )
        .into_response()
}

/// Errors of this endpoint: an error page, or an error sent to the client.
pub enum Error {
    /// Shown to the user.
    Page(PageError),
    /// Redirected to the client.
    Authorize(AuthorizeError),
    /// 500 error page (logged).
    Internal(anyhow::Error),
}

impl From<AuthorizeError> for Error {
    fn from(e: AuthorizeError) -> Self {
        Error::Authorize(e)
    }
}

internal_from!(
    Error: sqlx::Error,
    anyhow::Error,
    serde_json::Error,
    crate::error::Internal,
    crate::db::BadStoredValue,
);

fn error_response(state: &AppState, e: Error) -> Response {
    match e {
        Error::Page(page) => page.into_response(),
        Error::Internal(e) => PageError::Internal(e).into_response(),
        Error::Authorize(AuthorizeError::Page(message)) => {
            PageError::BadRequest(message).into_response()
        }
        Error::Authorize(AuthorizeError::Internal(e)) => {
            PageError::Internal(e.into()).into_response()
        }
        Error::Authorize(AuthorizeError::Redirect {
            redirect_uri,
            state: client_state,
            error,
        }) => found(authorization_response(
            &redirect_uri,
            &[
                ("error", Some(error.code.as_str())),
                ("error_description", Some(&error.description)),
                ("state", client_state.as_deref()),
                ("iss", Some(&state.config.issuer)),
            ],
        )),
    }
}

/// The most bytes of JSON one pending request takes with the parameter limits of
/// [`crate::oauth::authorize::LENGTH_LIMITS`], every escapable character escaped, and
/// a registered client_id and redirect_uri of up to 256 bytes each (docs/security.md
/// derives the storage bound from it).
pub const MAX_PENDING_JSON_BYTES: usize = 7 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::authorize::LENGTH_LIMITS;

    #[test]
    fn the_largest_pending_request_fits_the_documented_bound() {
        let max = |name: &str| LENGTH_LIMITS.iter().find(|(n, _)| *n == name).unwrap().1;
        // '"' is printable ASCII (allowed in state) and doubles when escaped.
        let worst = |name: &str| "\"".repeat(max(name));
        let request = AuthorizationRequest {
            client_id: "c".repeat(256),
            redirect_uri: format!("https://{}", "r".repeat(248)),
            redirect_uri_given: true,
            scope: crate::oauth::scope::SUPPORTED.join(" "),
            state: Some(worst("state")),
            nonce: Some(worst("nonce")),
            code_challenge: Some("c".repeat(43)),
            prompt_none: false,
            prompt_login: true,
            max_age: Some(i64::MAX),
            login_hint: Some(worst("login_hint")),
            id_token_hint_sub: Some("s".repeat(64)),
            ui_locales: Some(worst("ui_locales")),
        };
        let json = serde_json::to_string(&Pending {
            request,
            forced: true,
        })
        .unwrap();
        assert!(json.len() <= MAX_PENDING_JSON_BYTES, "{} bytes", json.len());
    }
}
