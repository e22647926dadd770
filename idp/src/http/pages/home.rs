//! `GET /`: who is signed in in this browser, if anyone.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower_cookies::Cookies;

use crate::db::users;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::lang;
use crate::state::AppState;
use crate::ui::pages::{HomePage, HomeUser, PageBase};
use crate::ui::templates::PRODUCT;

/// `GET /`: who is signed in in this browser, if anyone.
pub async fn show(State(state): State<AppState>, cookies: Cookies) -> Result<Response, PageError> {
    let user = match browser::current(&state, &cookies).await? {
        Some(s) => users::find_by_id(&state.db, &s.user_id).await?,
        None => None,
    };
    if user.as_ref().is_some_and(|u| u.must_change_password) {
        return Ok(axum::response::Redirect::to("/password/new").into_response());
    }
    let lang = lang::preferred(user.as_ref().and_then(|u| u.locale.as_deref()), None);
    let home = HomePage {
        base: PageBase::titled(lang, PRODUCT.to_owned(), String::new()),
        user: user.map(|u| HomeUser {
            name: u.display_name(),
            operator: u.is_operator,
            super_admin: u.company_id.is_some()
                && u.roles.contains(&crate::db::users::Role::SuperAdmin),
            username: u.username,
        }),
    };
    Ok(page(StatusCode::OK, &home))
}
