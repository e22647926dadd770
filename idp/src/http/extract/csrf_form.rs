//! The extractor of the pages' state-changing forms: a CSRF token of this browser
//! and an `Origin` of the issuer, so every handler gets the same checks.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use tower_cookies::Cookies;

use crate::http::browser;
use crate::http::error::PageError;
use crate::http::extract::params::RequestParams;
use crate::oauth::params::Params;
use crate::state::AppState;

/// The parameters of a POSTed form whose CSRF token belongs to this browser and whose
/// `Origin`, if sent, is the issuer's.
///
/// Rejections: 400 page for a body that is not a form (or too large, or with more
/// than `http.max_params` fields), 403 "Form expired" for a missing or wrong token.
pub struct CsrfForm(pub Params);

impl<S> FromRequest<S> for CsrfForm
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let (mut parts, body) = req.into_parts();
        let cookies = Cookies::from_request_parts(&mut parts, state)
            .await
            .map_err(|_| PageError::BadRequest("error.params"))?;
        let headers = parts.headers.clone();
        let RequestParams(params) =
            RequestParams::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(|_| PageError::BadRequest("error.params"))?;
        if params.too_many() {
            return Err(PageError::BadRequest(
                crate::http::extract::params::TOO_MANY_PARAMS,
            ));
        }
        if !browser::check_form(&app, &cookies, &headers, params.get("csrf_token")) {
            return Err(PageError::Forbidden);
        }
        Ok(Self(params))
    }
}
