//! Integration tests: the real provider in-process on port 0 (SQLite in a temp dir,
//! or PostgreSQL with IDP_TEST_DATABASE=postgres) and both portals in-process, driven
//! by a cookie-keeping HTTP client that follows redirects by hand.

// Test helpers outside #[test] functions may panic on broken setups.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod callback_refusals;
mod login;
mod logout;
mod refresh;
