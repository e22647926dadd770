//! Pending authorization requests take bounded storage (docs/security.md, "Pending
//! authorization requests"): a flood of anonymous /authorize requests with maximal
//! parameters grows the database by at most the documented bound, the caps per
//! browser, client network and client hold, the newest request always wins, and
//! expired requests are purged without keep time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use reqwest::StatusCode;

use crate::harness::*;

/// The documented worst case per pending request, indexes and page overhead
/// included (docs/security.md).
const BYTES_PER_PENDING_REQUEST: i64 = 16 * 1024;

const FLOOD: usize = 10_000;

/// The rows whose space may be taken at once for `live` pending requests: on
/// PostgreSQL, evicted rows keep their space until the provider's next VACUUM, which
/// comes after every `VACUUM_EVERY_EVICTIONS` evictions (one process here).
fn rows_of_storage(live: i64) -> i64 {
    if backend() == "postgres" {
        live + idp::db::auth_requests::VACUUM_EVERY_EVICTIONS as i64
    } else {
        live
    }
}

/// Bytes the pending requests take: the SQLite file's pages (the file never shrinks,
/// so growth is what counts), or the PostgreSQL table with its indexes and TOAST.
async fn storage_bytes(app: &TestApp) -> i64 {
    let sql = if backend() == "postgres" {
        "SELECT CAST(pg_total_relation_size('authorization_requests') AS BIGINT)"
    } else {
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
    };
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    n
}

/// An authorization request URL with every stored parameter at its maximal length,
/// random so that nothing compresses.
fn maximal_request(app: &TestApp, client: &TestClient) -> String {
    let (_, challenge) = pkce();
    let random = idp::crypto::random_token;
    authorize_url(
        app,
        client,
        &challenge,
        &[
            ("state", &random(1536)),     // 2048 characters
            ("nonce", &random(384)),      // 512
            ("login_hint", &random(190)), // 254
            ("ui_locales", &random(96)),  // 128
        ],
    )
}

/// Sends `FLOOD` maximal requests without cookies, 16 at a time; `headers(i)` adds
/// headers to the i-th. Every one must be accepted (a redirect to the login page).
/// Calls `check` after every 1,000.
async fn flood(
    app: &Arc<TestApp>,
    client: &TestClient,
    headers: fn(usize) -> Vec<(&'static str, String)>,
    max_rows: i64,
) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (app, client, next) = (app.clone(), client.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= FLOOD {
                    return;
                }
                let mut req = http.get(maximal_request(&app, &client));
                for (name, value) in headers(i) {
                    req = req.header(name, value);
                }
                let r = req.send().await.unwrap();
                assert_eq!(r.status(), StatusCode::SEE_OTHER, "request {i}");
                if i % 1000 == 999 {
                    let rows = app.count("authorization_requests").await;
                    assert!(rows <= max_rows, "{rows} pending requests after {i}");
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
}

/// Expired pending requests are gone after one purge, however recently they expired.
async fn expire_and_purge(app: &TestApp) {
    app.clock
        .advance(app.state.config.session.authorization_request_seconds);
    app.state
        .db
        .purge_expired(app.clock_now(), 24 * 3600)
        .await
        .unwrap();
    assert_eq!(app.count("authorization_requests").await, 0);
}

#[tokio::test]
async fn a_flood_from_one_ip_keeps_the_network_cap_and_bounded_storage() {
    let app = Arc::new(TestApp::spawn().await);
    let client = app.client().await;
    app.user("office").await;
    let cap = app.state.config.authorize.max_pending_per_network;
    let before = storage_bytes(&app).await;
    flood(&app, &client, |_| Vec::new(), cap).await;
    let rows = app.count("authorization_requests").await;
    assert_eq!(rows, cap, "the network cap holds, and is reached");
    let grown = storage_bytes(&app).await - before;
    eprintln!("{FLOOD} requests from one IP: {rows} rows, storage grew {grown} bytes");
    assert!(
        grown <= rows_of_storage(cap) * BYTES_PER_PENDING_REQUEST,
        "storage grew {grown} bytes for {cap} pending requests"
    );
    // The rows count against the peer address (the accept loop passes ConnectInfo).
    let (network,): (String,) =
        sqlx::query_as("SELECT DISTINCT network FROM authorization_requests")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(network, "127.0.0.1");
    // A colleague behind the same address signs in: the newest request wins.
    let (_, challenge) = pkce();
    let callback = Browser::new()
        .login(
            &app,
            &authorize_url(&app, &client, &challenge, &[]),
            "office",
        )
        .await;
    assert!(param(&callback, "code").is_some());
    expire_and_purge(&app).await;
}

#[tokio::test]
async fn a_flood_from_many_ips_keeps_the_client_cap_and_spares_other_clients() {
    let app = Arc::new(
        TestApp::spawn_with(|c| {
            c.http.client_ip_header = Some("X-Forwarded-For".into());
            c.authorize.max_pending_per_client = 300;
        })
        .await,
    );
    let attacked = app.client().await;
    let other = app.client().await;
    app.user("bystander").await;
    // A user of another client starts signing in before the flood.
    let browser = Browser::new();
    let (_, challenge) = pkce();
    let login = browser
        .start(&app, &authorize_url(&app, &other, &challenge, &[]))
        .await;
    let before = storage_bytes(&app).await;
    flood(
        &app,
        &attacked,
        |i| vec![("X-Forwarded-For", format!("10.{}.{}.7", i / 256, i % 256))],
        300 + 1,
    )
    .await;
    let rows = app.count("authorization_requests").await;
    assert_eq!(
        rows,
        300 + 1,
        "the attacked client's cap, plus the bystander"
    );
    let grown = storage_bytes(&app).await - before;
    eprintln!("{FLOOD} requests from {FLOOD} IPs: {rows} rows, storage grew {grown} bytes");
    assert!(
        grown <= rows_of_storage(301) * BYTES_PER_PENDING_REQUEST,
        "storage grew {grown} bytes for 301 pending requests"
    );
    // The other client's request was not evicted: its user finishes signing in.
    let Page {
        status,
        location,
        body,
        ..
    } = browser.submit_login(&login, "bystander", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let callback = browser
        .follow_to_callback(&app.url(&location.unwrap()))
        .await;
    assert!(param(&callback, "code").is_some());
    expire_and_purge(&app).await;
}

#[tokio::test]
async fn one_browser_keeps_its_newest_requests() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("tabs").await;
    let cap = app.state.config.authorize.max_pending_per_browser;
    let browser = Browser::new();
    let mut logins = Vec::new();
    for i in 0..cap + 4 {
        let (_, challenge) = pkce();
        let state = format!("tab-{i}");
        let url = authorize_url(&app, &client, &challenge, &[("state", &state)]);
        logins.push(browser.start(&app, &url).await);
        // One request per second of the clock, so "oldest" is unambiguous.
        app.clock.advance(1);
    }
    assert_eq!(app.count("authorization_requests").await, cap);
    // The oldest four were evicted: their login links have expired.
    for login in &logins[..4] {
        let Page { status, body, .. } = browser.get(login).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("expired"), "{body}");
    }
    // The newest one completes.
    let Page {
        status,
        location,
        body,
        ..
    } = browser
        .submit_login(logins.last().unwrap(), "tabs", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let callback = browser
        .follow_to_callback(&app.url(&location.unwrap()))
        .await;
    assert_eq!(
        param(&callback, "state").as_deref(),
        Some(format!("tab-{}", cap + 3).as_str())
    );
}

#[tokio::test]
async fn expired_pending_requests_are_purged_without_keep_time() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    Browser::new()
        .start(&app, &authorize_url(&app, &client, &challenge, &[]))
        .await;
    // Not yet expired: the purge keeps it.
    app.state
        .db
        .purge_expired(app.clock_now(), 24 * 3600)
        .await
        .unwrap();
    assert_eq!(app.count("authorization_requests").await, 1);
    expire_and_purge(&app).await;
}
