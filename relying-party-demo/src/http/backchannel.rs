//! `POST /backchannel-logout`: the backchannel_logout_uri (Back-Channel Logout 1.0
//! §2.5–2.8). 200 when the logout token is accepted, 400 with a JSON error when it is
//! invalid, 503 when the provider's JWKS cannot be fetched (the provider retries).

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::json;

use crate::logout_token::LogoutTokenError;
use crate::portal::Portal;

/// The request body: `logout_token=<JWT>`.
#[derive(Debug, serde::Deserialize)]
pub struct BackchannelForm {
    logout_token: String,
}

/// `POST /backchannel-logout`.
pub async fn receive(
    State(portal): State<Portal>,
    form: Result<Form<BackchannelForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "a logout_token form parameter is required",
        );
    };
    match portal.backchannel_logout(&form.logout_token).await {
        Ok(_) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response(),
        Err(e @ LogoutTokenError::JwksUnavailable(_)) => {
            tracing::warn!(error = %e, "logout token not checked");
            refuse(StatusCode::SERVICE_UNAVAILABLE, &e.to_string())
        }
        Err(e) => {
            tracing::warn!(error = %e, "logout token refused");
            refuse(StatusCode::BAD_REQUEST, &e.to_string())
        }
    }
}

fn refuse(status: StatusCode, description: &str) -> Response {
    let error = if status == StatusCode::BAD_REQUEST {
        "invalid_request"
    } else {
        "temporarily_unavailable"
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}
