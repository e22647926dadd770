//! The HTTP layer: thin handlers that extract, call the protocol logic, and respond.

pub mod admin;
pub mod admin_support;
pub mod authorize;
pub mod client_auth;
pub mod client_ip;
pub mod discovery;
pub mod error;
pub mod extract;
pub mod fields;
pub mod forms;
pub mod introspection;
pub mod jwks;
pub mod lang;
pub mod login;
pub mod logout;
pub mod password;
pub mod profile;
pub mod register;
pub mod revocation;
pub mod server;
pub mod session;
pub mod token;
pub mod userinfo;

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use tower_cookies::{CookieManagerLayer, Cookies};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use self::discovery::paths;
use self::error::{page, PageError};
use crate::db::users;
use crate::state::AppState;
use crate::ui::templates::STYLE_CSS;

/// The Content-Security-Policy of every response: no inline script, no framing;
/// scripts, styles and images from this origin only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

/// Builds the router with every endpoint and the security headers.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.http.max_body_bytes;
    let query_limit =
        axum::middleware::from_fn_with_state(state.clone(), extract::limit_query_params);
    let https = state.config.is_https();
    // Endpoints a browser application (a public client) calls from JavaScript:
    // CORS for any origin, without cookies (they use none).
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600));
    let api = Router::new()
        .route("/.well-known/openid-configuration", get(discovery::get))
        .route(paths::JWKS, get(jwks::get))
        .route(paths::TOKEN, post(token::post))
        .route(
            paths::USERINFO,
            get(userinfo::handle).post(userinfo::handle),
        )
        .route(paths::REVOCATION, post(revocation::post))
        .layer(cors);
    let mut app = Router::new()
        .merge(api)
        .route(
            paths::AUTHORIZATION,
            get(authorize::handle).post(authorize::handle),
        )
        .route("/authorize/resume", get(authorize::resume))
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
            get(password::new_form).post(password::new_submit),
        )
        .route(
            "/password/forgot",
            get(password::forgot_form).post(password::forgot_submit),
        )
        .route(
            "/password/reset",
            get(password::reset_form).post(password::reset_submit),
        )
        .route("/profile", get(profile::show))
        .route("/profile/settings", post(profile::save_settings))
        .route("/profile/sessions/end-others", post(profile::end_others))
        .route("/profile/sessions/{sid}/end", post(profile::end_session))
        .route(
            "/profile/password",
            get(password::change_form).post(password::change_submit),
        )
        .route("/profile/password/code", post(password::change_code))
        .route(paths::END_SESSION, get(logout::handle).post(logout::handle))
        .route("/admin/companies", get(admin_support::companies))
        .route(
            "/admin/companies/{domain}/support",
            post(admin_support::set_support),
        )
        .route(
            "/admin/support",
            get(admin_support::pin_form).post(admin_support::pin_check),
        )
        .route("/profile/support-pin", post(profile::rotate_pin))
        .route("/admin/registrations", get(admin::queue))
        .route("/admin/registrations/{id}/approve", post(admin::approve))
        .route("/admin/registrations/{id}/reject", post(admin::reject))
        .route(paths::INTROSPECTION, post(introspection::post))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/static/style.css", get(style))
        .route("/static/register.js", get(register_js))
        .route("/", get(home))
        .fallback(|| async { PageError::NotFound })
        .with_state(state)
        .layer(query_limit)
        .layer(axum::middleware::from_fn(lang::negotiate))
        .layer(CookieManagerLayer::new())
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::new())
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .layer(header_layer(header::CONTENT_SECURITY_POLICY, CSP));
    if https {
        app = app.layer(header_layer(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ));
    }
    app.layer(TraceLayer::new_for_http())
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

async fn ready(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE_CSS,
    )
}

async fn register_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        crate::ui::templates::REGISTER_JS,
    )
}

/// `GET /`: who is signed in in this browser, if anyone.
async fn home(State(state): State<AppState>, cookies: Cookies) -> Result<Response, PageError> {
    let user = match session::current(&state, &cookies).await? {
        Some(s) => users::find_by_id(&state.db, &s.user_id).await?,
        None => None,
    };
    if user.as_ref().is_some_and(|u| u.must_change_password()) {
        return Ok(axum::response::Redirect::to("/password/new").into_response());
    }
    let lang = lang::preferred(user.as_ref().and_then(|u| u.locale.as_deref()), None);
    let user = user.map(|u| {
        context! { name => u.display_name(), username => u.username, operator => u.is_operator() }
    });
    Ok(page(
        StatusCode::OK,
        "home.html",
        context! { lang, title => crate::ui::templates::PRODUCT, user },
    ))
}
