//! `GET /`: who is signed in in this browser, if anyone.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use tower_cookies::Cookies;

use crate::db::users;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::lang;
use crate::state::AppState;

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
    let user = user.map(|u| {
        context! { name => u.display_name(), username => u.username, operator => u.is_operator }
    });
    Ok(page(
        StatusCode::OK,
        "home.html",
        context! { lang, title => crate::ui::templates::PRODUCT, user },
    ))
}
