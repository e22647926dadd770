//! The operator's pages: the approval queue, companies and their support level, and
//! the support-PIN check. Every handler takes the [`Operator`] extractor.
//!
//! [`Operator`]: crate::http::extract::signed_in::Operator

pub mod audit;
pub mod companies;
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
        .route(
            "/admin/support",
            get(support_pin::form).post(support_pin::check),
        )
}
