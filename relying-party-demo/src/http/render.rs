//! The portals' page layout: every page, the error pages included, is rendered here
//! with the common context, so the handlers and the error middleware share it without
//! importing the router's module.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;

use crate::pages;
use crate::portal::Portal;

/// A page of `portal` with the common context (portal name, theme, profile URL).
pub(crate) fn page(
    portal: &Portal,
    status: StatusCode,
    template: &str,
    ctx: minijinja::Value,
) -> Response {
    let kind = portal.config().kind;
    let common = context! {
        portal_name => kind.display_name(),
        theme => kind.theme(),
        profile_url => format!("{}/profile", portal.issuer()),
    };
    match pages::render(template, context! { ..common, ..ctx }) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template, error = %e, "rendering a page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
