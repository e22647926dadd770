//! The protocol endpoints: what relying parties call (RFC 6749, OIDC Core,
//! Discovery, RP-Initiated Logout, RFC 7009, RFC 7662).

pub mod authorize;
pub mod client_auth;
pub mod discovery;
pub mod end_session;
pub mod introspection;
pub mod jwks;
pub mod revocation;
pub mod token;
pub mod userinfo;

use std::time::Duration;

use axum::http::{header, Method};
use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::{Any, CorsLayer};

use crate::oauth::discovery::paths;
use crate::state::AppState;

/// The protocol endpoints. Those a browser application (a public client) calls from
/// JavaScript get CORS for any origin, without cookies (they use none).
pub fn routes() -> Router<AppState> {
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
    Router::new()
        .merge(api)
        .route(
            paths::AUTHORIZATION,
            get(authorize::handle).post(authorize::handle),
        )
        .route("/authorize/resume", get(authorize::resume))
        .route(
            paths::END_SESSION,
            get(end_session::handle).post(end_session::handle),
        )
        .route(paths::INTROSPECTION, post(introspection::post))
}
