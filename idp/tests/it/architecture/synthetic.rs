//! The checks can fail: a made-up `idp` and a made-up demo, written as strings, with
//! one violation of each kind next to look-alikes that are none (a comment, a string
//! literal, a parent and its own submodule using each other), and the exact reports
//! they must produce.

use std::collections::BTreeMap;

use super::modules::Crate;
use super::{
    against_the_direction, cycles, demo_allows, demo_http_may, demo_placed, graph,
    http_outside_http, idp_allows, idp_http_may, idp_placed, unplaced, Violation,
};

/// A made-up `idp` with one violation of each kind (and look-alikes that are none).
const SYNTHETIC: &[(&str, &str)] = &[
    (
        "lib.rs",
        "pub mod account; pub mod config; pub mod crypto; pub mod db; pub mod http;\n\
         pub mod state; mod clock; mod extra;\n\
         pub fn serve() { http::router(); }\n",
    ),
    (
        "main.rs",
        "fn main() { idp::serve(); idp::http::router(); }\n",
    ),
    ("extra.rs", "pub fn unplaced() {}\n"),
    (
        "clock.rs",
        "use crate::account::session::Session;\npub struct Clock(Session);\n",
    ),
    (
        "config/mod.rs",
        "use crate::crypto::keys::SigningAlg;\n\
         use crate::db::users::User;\n",
    ),
    (
        "crypto/mod.rs",
        "pub mod keys;\npub fn random_id() -> String { String::new() }\n",
    ),
    (
        "crypto/keys.rs",
        "pub enum SigningAlg { Rs256 }\npub struct Keys;\n",
    ),
    (
        "db/mod.rs",
        "pub mod users;\n\
         use crate::{clock::Clock, crypto::{random_id, keys::{Keys}}};\n\
         pub struct Db;\n",
    ),
    (
        "db/users.rs",
        "use super::super::account::Login;\n\
         pub struct User;\n\
         // use crate::http::Page; (a comment)\n\
         pub fn url() -> &'static str { \"https://example.com/crate::http::x axum::Router\" }\n\
         pub fn check() { let _ = format!(\"{:?}\", crate::account::login::check()); }\n",
    ),
    (
        "account/mod.rs",
        "pub mod login; pub mod session;\n\
         pub use self::login::Login;\n\
         pub fn helper() {}\n\
         pub fn flow() { login::check(); }\n",
    ),
    (
        "account/login.rs",
        "use super::helper;\n\
         use super::session::Session;\n\
         pub struct Login(Session);\n\
         pub fn check() { helper(); }\n\
         pub fn status() -> u16 { axum::http::StatusCode::OK.as_u16() }\n",
    ),
    (
        "account/session.rs",
        "pub struct Session;\n\
         pub fn renew() { super::login::check(); }\n",
    ),
    (
        "http/mod.rs",
        "pub mod pages;\n\
         pub fn router() { pages::routes(); }\n\
         pub fn layout() {}\n",
    ),
    (
        "http/pages/mod.rs",
        "pub mod login;\n\
         pub fn routes() { login::show(); }\n",
    ),
    (
        "http/pages/login.rs",
        "use axum::Router;\n\
         pub fn show() { crate::http::layout(); }\n",
    ),
    ("state.rs", "use crate::db::Db;\nuse crate::http::pages;\n"),
];

#[test]
fn the_check_reports_each_kind_of_violation() {
    let files: BTreeMap<&str, &str> = SYNTHETIC.iter().copied().collect();
    let c = Crate::load("idp", &|f| files.get(f).map(|s| (*s).to_owned()));
    let short = |v: Vec<Violation>| -> Vec<String> {
        v.iter()
            .map(|v| format!("{}:{} -> {}", v.file, v.line, v.target))
            .collect()
    };
    // axum outside http/, in a `use`-less path; a comment and a string do not count.
    assert_eq!(
        short(http_outside_http(&c, idp_http_may)),
        ["account/login.rs:5 -> axum"]
    );
    assert_eq!(
        short(against_the_direction(&c, idp_allows)),
        [
            // A leaf importing a folder.
            "clock.rs:1 -> account::session",
            // config naming a type outside CONFIG_MAY_NAME.
            "config/mod.rs:2 -> db::users",
            // A nested group: `crypto::{random_id, keys::{Keys}}`; random_id is a leaf.
            "db/mod.rs:2 -> crypto::keys",
            // A back-arrow from db to account through `super::super::` (and the
            // re-export in account/mod.rs, to login.rs that defines `Login`).
            "db/users.rs:1 -> account",
            "db/users.rs:1 -> account::login",
            // A path in a macro call's arguments.
            "db/users.rs:5 -> account::login",
            // main.rs past cli and serve; state importing http.
            "main.rs:1 -> http",
            "state.rs:2 -> http::pages",
        ]
    );
    // A root file the rules do not know.
    assert_eq!(unplaced(&c, idp_placed), ["extra.rs (extra)"]);
    assert_eq!(
        cycles(&graph(&c)),
        [
            // Siblings (`account/mod.rs` ↔ `login.rs` is a parent and its own child).
            "account::login -> account::session -> account::login",
            // A grandchild naming its grandparent, which reaches it through `pages`.
            "http -> http::pages -> http::pages::login -> http",
        ]
    );
}

/// A made-up demo: `lib.rs` may name axum (it serves), nothing below `http` may.
const DEMO: &[(&str, &str)] = &[
    (
        "lib.rs",
        "pub mod http; pub mod portal; pub mod store;\n\
         pub fn serve() { axum::serve(http::router()); }\n",
    ),
    (
        "main.rs",
        "fn main() { relying_party_demo::serve(); relying_party_demo::http::router(); }\n",
    ),
    ("http/mod.rs", "pub fn router() { crate::portal::run(); }\n"),
    (
        "portal.rs",
        "pub fn run() { crate::store::get(); }\n\
         pub fn layer() -> tower_http::limit::RequestBodyLimitLayer { todo!() }\n",
    ),
    ("store.rs", "use crate::portal::run;\npub fn get() {}\n"),
];

#[test]
fn the_demo_check_reports_each_kind_of_violation() {
    let files: BTreeMap<&str, &str> = DEMO.iter().copied().collect();
    let c = Crate::load("relying_party_demo", &|f| {
        files.get(f).map(|s| (*s).to_owned())
    });
    let short = |v: Vec<Violation>| -> Vec<String> {
        v.iter()
            .map(|v| format!("{}:{} -> {}", v.file, v.line, v.target))
            .collect()
    };
    assert_eq!(
        short(http_outside_http(&c, demo_http_may)),
        ["portal.rs:2 -> tower_http"]
    );
    assert_eq!(
        short(against_the_direction(&c, demo_allows)),
        ["main.rs:1 -> http", "store.rs:1 -> portal"]
    );
    assert_eq!(unplaced(&c, demo_placed), Vec::<String>::new());
    assert_eq!(cycles(&graph(&c)), ["portal -> store -> portal"]);
}
