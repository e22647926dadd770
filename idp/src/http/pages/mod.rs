//! The end user's pages: home, login, registration, passwords, the profile, the
//! invitation's accept page, and a Super Admin's company pages.

pub mod company;
pub mod home;
pub mod invitation;
pub mod login;
pub mod password;
pub mod profile;
pub mod register;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// The end user's pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show))
        .route("/login", get(login::form).post(login::submit))
        .route("/register", get(register::form).post(register::submit))
        .route(
            "/register/confirm",
            get(register::confirm_page).post(register::confirm),
        )
        .route(
            "/register/resend",
            get(register::resend_form).post(register::resend),
        )
        .route(
            "/password/new",
            get(password::new::form).post(password::new::submit),
        )
        .route(
            "/password/forgot",
            get(password::reset::forgot_form).post(password::reset::forgot_submit),
        )
        .route(
            "/password/reset",
            get(password::reset::form).post(password::reset::submit),
        )
        .route("/profile", get(profile::show))
        .route("/profile/settings", post(profile::save_settings))
        .route("/profile/sessions/end-others", post(profile::end_others))
        .route("/profile/sessions/{sid}/end", post(profile::end_session))
        .route("/profile/support-pin", post(profile::rotate_pin))
        .route(
            "/profile/password",
            get(password::change::form).post(password::change::submit),
        )
        .route("/profile/password/code", post(password::change::send_code))
        .route("/company/users", get(company::users::show))
        .route("/company/invitations", post(company::users::invite))
        .route(
            "/company/invitations/{id}/resend",
            post(company::users::resend),
        )
        .route(
            "/company/invitations/{id}/revoke",
            post(company::users::revoke),
        )
        .route("/company/users/{id}/roles", post(company::users::set_roles))
        .route("/company/users/{id}/disable", post(company::users::disable))
        .route("/company/users/{id}/enable", post(company::users::enable))
        .route("/company/users/{id}/remove", post(company::users::remove))
        .route("/company/activity", get(company::activity::show))
        .route("/company/activity.csv", get(company::activity::csv))
        .route(
            "/invitation",
            get(invitation::show).post(invitation::accept),
        )
        .route("/invitation/renew", post(invitation::renew))
}
