//! Two demo relying parties of the idp OpenID Connect provider, built on the
//! `openidconnect` crate: the Customer Portal (company and support information) and
//! the App Portal (the same person, to show single sign-on).
//!
//! Each portal logs in with the code flow and PKCE, checks silently for a provider
//! session first (`prompt=none`), keeps its tokens server-side in memory, logs out
//! through the provider's end_session_endpoint and accepts Back-Channel Logout
//! tokens. Layers: [`http`] (thin axum handlers) → [`portal`] (operations) →
//! [`oidc`], [`logout_token`], [`store`].

#![cfg_attr(
    not(test),
    deny(clippy::cast_possible_truncation, clippy::indexing_slicing)
)]

pub mod claims;
pub mod clock;
pub mod config;
pub mod http;
pub mod jwks;
pub mod logout_token;
pub mod oidc;
pub mod pages;
pub mod portal;
pub mod random;
pub mod store;

use std::future::Future;

use tokio::net::TcpListener;

pub use crate::config::{PortalConfig, PortalKind};
pub use crate::portal::Portal;

/// Serves `portal` on `listener` until `shutdown` resolves, then finishes in-flight
/// requests.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    listener: TcpListener,
    portal: Portal,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, http::router(portal))
        .with_graceful_shutdown(shutdown)
        .await
}
