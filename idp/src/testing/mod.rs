//! Test support, shared by the provider's and the demo's integration tests: the
//! provider in-process on port 0 with a [`MockClock`](crate::clock::MockClock)
//! ([`TestApp`]), a fresh database per test on either backend ([`database_url`],
//! [`TestDatabase`]), the accounts tests start from (users, operators, a browser
//! signed in, a company's support level), and a cookie-keeping [`Browser`] that
//! answers [`Page`]s and fills the provider's login form.
//!
//! Compiled only with the `test-support` feature, which only dev-dependencies enable:
//! the released binary contains none of it. The background delivery workers do not
//! run in a [`TestApp`]; a test delivers queued mail and logout tokens itself
//! ([`TestApp::deliver_mail`], [`TestApp::deliver_logouts`]), so it never waits.

// Test helpers panic on broken setups instead of returning errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod accounts;
mod app;
mod browser;
mod database;

pub use app::{TestApp, TestClient};
pub use browser::{hidden, Browser, Page};
pub use database::{backend, database_url, TestDatabase};

/// The password of every user the harness creates.
pub const PASSWORD: &str = "correct horse battery staple";
/// The redirect URI of clients registered without one.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
