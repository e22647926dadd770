//! The language of the current request's pages: negotiated from `Accept-Language`
//! by a middleware and kept in a task-local, so every page (error pages included)
//! renders in it unless a handler knows better (the user's own setting, ui_locales).

use axum::extract::Request;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::middleware::Next;
use axum::response::Response;

use crate::ui::i18n;

tokio::task_local! {
    static LANG: &'static str;
}

/// Middleware: negotiates the request's language from `Accept-Language`.
pub async fn negotiate(req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let lang = i18n::negotiate(None, None, header);
    LANG.scope(lang, next.run(req)).await
}

/// The request's language (`en` outside a request).
pub fn current() -> &'static str {
    LANG.try_with(|l| *l).unwrap_or(i18n::DEFAULT_LANGUAGE)
}

/// The language for a page about a known user or request: the user's locale, then
/// `ui_locales`, then the request's `Accept-Language` choice.
pub fn preferred(user_locale: Option<&str>, ui_locales: Option<&str>) -> &'static str {
    i18n::negotiate(user_locale, ui_locales, Some(current()))
}
