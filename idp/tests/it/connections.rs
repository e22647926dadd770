//! Connection limits of the accept loop (idp/src/http/server.rs): a request head that
//! never completes is closed after `http.header_read_timeout_seconds`, an idle
//! keep-alive connection after `http.keep_alive_idle_seconds` (but never one in a
//! request), at most `http.max_connections` are served at once, and a graceful
//! shutdown still finishes the request in flight.
//!
//! These tests wait on real time by nature; the margins are generous and nothing
//! asserts how fast anything happens, only that it happens (or not yet).

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::harness::*;
use crate::process::ProviderProcess;

/// Long enough for anything the tests wait for.
const PATIENCE: Duration = Duration::from_secs(60);

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Waits until the server closes `stream` (EOF or reset), discarding anything it
/// sends first; panics if it stays open for `PATIENCE`.
async fn expect_closed(stream: &mut TcpStream, what: &str) {
    let closed = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "{what}: still open after {PATIENCE:?}");
}

/// Reads one HTTP/1.1 response (head and Content-Length body); returns its status
/// line and body, or `None` if nothing came within `wait`.
async fn read_response(stream: &mut TcpStream, wait: Duration) -> Option<(String, String)> {
    tokio::time::timeout(wait, async {
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                while data.len() < end + 4 + length {
                    let n = stream.read(&mut buf).await.unwrap();
                    assert!(n > 0, "closed in the middle of a response");
                    data.extend_from_slice(&buf[..n]);
                }
                let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]).to_string();
                return (head.lines().next().unwrap().to_owned(), body);
            }
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before a response");
            data.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .ok()
}

async fn get_healthz(stream: &mut TcpStream) -> (String, String) {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: idp\r\n\r\n")
        .await
        .unwrap();
    read_response(stream, PATIENCE).await.expect("a response")
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_closed_after_the_header_timeout() {
    let app = TestApp::spawn_with(|c| c.http.header_read_timeout_seconds = 1).await;
    // Headers never finished (no empty line).
    let mut half = connect(&app.base).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: idp\r\nX-Slow: 1")
        .await
        .unwrap();
    // A connection that never sends anything.
    let mut silent = connect(&app.base).await;
    // A request that keeps sending header lines, one a second, never finishing.
    let mut dripping = connect(&app.base).await;
    dripping
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let drip = tokio::spawn(async move {
        for i in 0..60 {
            if dripping
                .write_all(format!("X-Drip-{i}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        false
    });
    expect_closed(&mut half, "half-sent request").await;
    expect_closed(&mut silent, "silent connection").await;
    assert!(drip.await.unwrap(), "a dripping head was closed");
    // A complete request is still served.
    let (status, body) = get_healthz(&mut connect(&app.base).await).await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(body, "ok");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_but_an_active_one_is_not() {
    let app = TestApp::spawn_with(|c| {
        c.http.header_read_timeout_seconds = 1;
        c.http.keep_alive_idle_seconds = 6;
    })
    .await;
    let client = app.client().await;
    // Idle: served, then idle for longer than the header timeout but less than the
    // idle timeout: still open and serves again; then idle for good: closed.
    let mut idle = connect(&app.base).await;
    get_healthz(&mut idle).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, _) = get_healthz(&mut idle).await;
    assert!(
        status.contains("200"),
        "the idle timeout is not the header timeout"
    );
    // Active: a request whose body arrives slowly, for longer than both timeouts.
    let mut active = connect(&app.base).await;
    let body = b"grant_type=client_credentials&scope=openid".to_vec();
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: idp\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n",
        body.len() + format!("&client_id={}", client.id).len()
    );
    active.write_all(head.as_bytes()).await.unwrap();
    let full = [body, format!("&client_id={}", client.id).into_bytes()].concat();
    for chunk in full.chunks(full.len() / 9 + 1) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        active.write_all(chunk).await.unwrap();
    }
    let (status, body) = read_response(&mut active, PATIENCE)
        .await
        .expect("a response");
    assert!(status.contains("401"), "{status} {body}");
    assert!(body.contains("invalid_client"), "{body}");
    // The idle one is closed.
    expect_closed(&mut idle, "idle keep-alive connection").await;
}

#[tokio::test]
async fn at_the_connection_cap_a_new_connection_waits_for_a_free_slot() {
    let app = TestApp::spawn().await;
    let process = ProviderProcess::spawn(&app, &[("IDP_HTTP__MAX_CONNECTIONS", "2")]).await;
    // Two connections, served and kept open.
    let mut first = connect(&process.base).await;
    get_healthz(&mut first).await;
    let mut second = connect(&process.base).await;
    get_healthz(&mut second).await;
    // A third is queued by the kernel but not served while both are open.
    let mut third = connect(&process.base).await;
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: idp\r\n\r\n")
        .await
        .unwrap();
    assert!(
        read_response(&mut third, Duration::from_secs(3))
            .await
            .is_none(),
        "a third connection was served at max_connections = 2"
    );
    // Once one closes, the third is served.
    drop(first);
    let (status, body) = read_response(&mut third, PATIENCE).await.expect("served");
    assert!(status.contains("200"), "{status}");
    assert_eq!(body, "ok");
    process.kill().await;
}

#[tokio::test]
async fn a_graceful_shutdown_finishes_the_request_in_flight() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    // A second server on the same state, whose shutdown this test controls.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(idp::serve(listener, app.state.clone(), async {
        let _ = stopped.await;
    }));
    let mut stream = connect(&base).await;
    let body = format!("grant_type=client_credentials&client_id={}", client.id);
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: idp\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(()).unwrap();
    // New connections are refused once the listener is gone.
    let mut refused = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if TcpStream::connect(base.trim_start_matches("http://"))
            .await
            .is_err()
        {
            refused = true;
            break;
        }
    }
    assert!(refused, "still accepting after shutdown");
    assert!(!server.is_finished(), "shut down with a request in flight");
    stream.write_all(&body.as_bytes()[10..]).await.unwrap();
    let (status, body) = read_response(&mut stream, PATIENCE)
        .await
        .expect("a response");
    assert!(status.contains("401"), "{status} {body}");
    assert!(body.contains("invalid_client"), "{body}");
    tokio::time::timeout(PATIENCE, server)
        .await
        .expect("serve returns once the request is done")
        .unwrap()
        .unwrap();
}
