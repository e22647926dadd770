//! The operator's pages: the approval queue, companies and their support level, the
//! support-PIN check, and the signing keys. Every handler takes the [`Operator`]
//! extractor.
//!
//! [`Operator`]: crate::http::extract::signed_in::Operator

pub mod audit;
pub mod companies;
pub mod keys;
pub mod registrations;
pub mod support_pin;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// The `/admin/…` pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/registrations", get(registrations::queue))
        .route(
            "/admin/registrations/{id}/approve",
            post(registrations::approve),
        )
        .route(
            "/admin/registrations/{id}/reject",
            post(registrations::reject),
        )
        .route("/admin/audit", get(audit::show))
        .route("/admin/companies", get(companies::list))
        .route(
            "/admin/companies/{domain}/support",
            post(companies::set_support),
        )
        .route("/admin/keys", get(keys::list))
        .route("/admin/keys/rotate", post(keys::rotate))
        .route("/admin/keys/{kid}/revoke", post(keys::revoke))
        .route(
            "/admin/support",
            get(support_pin::form).post(support_pin::check),
        )
}
