//! Extractors that never fail on bad input: they hand the handler something to turn
//! into the protocol's own error.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{header, Method};

use crate::oauth::params::Params;
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
        let max = AppState::from_ref(state).config.http.max_param_bytes;
        if req.method() == Method::GET || req.method() == Method::HEAD {
            let query = req.uri().query().unwrap_or_default().as_bytes().to_vec();
            return Ok(Self(Params::parse(&query, max)));
        }
        if !is_form(&req) {
            return Err(ParamsError::UnsupportedMediaType);
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| ParamsError::Body)?;
        Ok(Self(Params::parse(&body, max)))
    }
}

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
