//! Extractors that never fail on bad input: they hand the handler something to turn
//! into the protocol's own error; and the cap on query-string parameters for every
//! endpoint, including those that read their query with axum's `Query`.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use crate::http::error::{no_store_json, oauth_error_body, PageError};
use crate::oauth::discovery::paths;
use crate::oauth::params::{self, Params};
use crate::state::AppState;

/// Why parameters could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    /// A POST whose Content-Type is not `application/x-www-form-urlencoded`.
    #[error("the body must be application/x-www-form-urlencoded")]
    UnsupportedMediaType,
    /// The body is larger than `http.max_body_bytes` or could not be read.
    #[error("the request body is too large or unreadable")]
    Body,
}

impl axum::response::IntoResponse for ParamsError {
    fn into_response(self) -> axum::response::Response {
        let status = match self {
            ParamsError::UnsupportedMediaType => axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ParamsError::Body => axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        };
        (status, self.to_string()).into_response()
    }
}

/// Parameters from the query string (GET) or a form body (POST), RFC 6749 §3.1.
#[derive(Debug)]
pub struct RequestParams(pub Params);

impl<S> FromRequest<S> for RequestParams
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ParamsError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let http = &AppState::from_ref(state).config.http;
        let (max, cap) = (http.max_param_bytes, http.max_params);
        if req.method() == Method::GET || req.method() == Method::HEAD {
            let query = req.uri().query().unwrap_or_default().as_bytes();
            return Ok(Self(Params::parse_limited(query, max, cap)));
        }
        if !is_form(&req) {
            return Err(ParamsError::UnsupportedMediaType);
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| ParamsError::Body)?;
        Ok(Self(Params::parse_limited(&body, max, cap)))
    }
}

/// Middleware: a query string with more than `http.max_params` parameters is refused
/// before any handler or extractor reads it: `400 invalid_request` "too many
/// parameters" in JSON at the token, UserInfo, revocation, introspection, JWKS and
/// discovery endpoints, a 400 page elsewhere. `GET /authorize` and `GET /logout` read
/// their query with [`RequestParams`], which applies the same cap with the endpoint's
/// own error rules (an error redirect once the client and redirect_uri are known).
pub async fn limit_query_params(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let cap = state.config.http.max_params;
    let over = req
        .uri()
        .query()
        .is_some_and(|q| params::exceeds(q.as_bytes(), cap));
    if !over {
        return next.run(req).await;
    }
    let path = req.uri().path();
    let reads_query = matches!(*req.method(), Method::GET | Method::HEAD);
    if reads_query && (path == paths::AUTHORIZATION || path == paths::END_SESSION) {
        return next.run(req).await;
    }
    let json = [
        paths::TOKEN,
        paths::USERINFO,
        paths::REVOCATION,
        paths::INTROSPECTION,
        paths::JWKS,
        "/.well-known/openid-configuration",
    ];
    if json.contains(&path) {
        let error = params::too_many_parameters(cap);
        return no_store_json(StatusCode::BAD_REQUEST, oauth_error_body(&error));
    }
    PageError::BadRequest(TOO_MANY_PARAMS).into_response()
}

/// The i18n key of the page for too many parameters.
pub const TOO_MANY_PARAMS: &str = "error.too_many_params";

fn is_form(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}
