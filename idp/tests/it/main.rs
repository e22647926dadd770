//! Integration tests: the real server in-process on port 0, driven over HTTP by the
//! `openidconnect` crate and by a cookie-keeping client standing in for a browser.
//!
//! The backend follows `IDP_TEST_DATABASE`: `sqlite` (default, a fresh file per
//! test) or `postgres` (a fresh database per test on `IDP_TEST_POSTGRES_URL`,
//! default `postgres://postgres@127.0.0.1:5432/test`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;
mod mailbox;
mod process;

mod admin_keys;
mod architecture;
mod attacker_text;
mod authorize;
mod bad_input;
mod cli_admin;
mod company_admin;
mod connections;
mod error_responses;
mod form_validation;
mod jwt_typing;
mod key_lifecycle;
mod key_rotation;
mod keys_and_config;
mod login;
mod onboarding;
mod openidconnect_flow;
mod page_hardening;
mod params_limits;
mod password_lifecycle;
mod pending_requests;
mod query_plans;
mod refresh_families;
mod role_catalogue;
mod role_claims;
mod rp_rotation;
mod sqlite_wal;
mod startup_race;
mod support_levels;
mod support_logout;
mod throttling;
mod token;
mod tokens_api;
