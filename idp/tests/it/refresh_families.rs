//! Refresh-token families (RFC 9700 §4.14.2): at most one live refresh token per
//! family at any moment, retries and concurrent rotations get the same new token,
//! and any other replay revokes the family with every token issued from it, also
//! across provider processes on one database.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;
use crate::process::ProviderProcess;

/// POSTs `grant_type=refresh_token` to the token endpoint at `base`.
async fn refresh_at(base: &str, client: &TestClient, token: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Whether `token` introspects active for `client` (RFC 7662).
async fn active(app: &TestApp, client: &TestClient, token: &str) -> bool {
    let body: Value = reqwest::Client::new()
        .post(app.url("/introspect"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["active"] == true
}

/// A fresh login's token response.
async fn first_tokens(app: &TestApp, client: &TestClient, user: &str) -> Value {
    app.user(user).await;
    let (code, verifier) = code_for(app, client, user).await;
    let (status, body) = exchange(app, client, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn rt(body: &Value) -> String {
    body["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a refresh token in {body}"))
        .to_owned()
}

#[tokio::test]
async fn an_older_token_replayed_within_the_grace_window_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let t0 = first_tokens(&app, &client, "chain").await;
    let rt0 = rt(&t0);
    let (status, t1) = refresh_at(&app.base, &client, &rt0).await;
    assert_eq!(status, StatusCode::OK, "{t1}");
    let (status, t2) = refresh_at(&app.base, &client, &rt(&t1)).await;
    assert_eq!(status, StatusCode::OK, "{t2}");
    let rt2 = rt(&t2);
    assert!(active(&app, &client, &rt2).await);

    // RT0 again, seconds later: not a retry of the newest rotation (RT1 -> RT2).
    let (status, body) = refresh_at(&app.base, &client, &rt0).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    // The whole family is gone: its live token and every access token issued from it.
    assert!(!active(&app, &client, &rt2).await);
    let (status, _) = refresh_at(&app.base, &client, &rt2).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for t in [&t0, &t1, &t2] {
        let at = t["access_token"].as_str().unwrap();
        assert!(!active(&app, &client, at).await);
        assert_eq!(userinfo_status(&app, at).await, StatusCode::UNAUTHORIZED);
    }
    // Operators can see what happened.
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'refresh_token.reused' AND actor = 'system'",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_retry_of_the_newest_rotation_gets_the_same_token_until_the_grace_window_ends() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let t0 = first_tokens(&app, &client, "retry").await;
    let (_, t1) = refresh_at(&app.base, &client, &rt(&t0)).await;
    let rt1 = rt(&t1);
    let (status, t2) = refresh_at(&app.base, &client, &rt1).await;
    assert_eq!(status, StatusCode::OK, "{t2}");
    let rt2 = rt(&t2);

    // The response to RT1 -> RT2 was lost; the client retries RT1 within the window.
    app.clock.advance(9);
    let (status, retry) = refresh_at(&app.base, &client, &rt1).await;
    assert_eq!(status, StatusCode::OK, "{retry}");
    assert_eq!(rt(&retry), rt2, "the same new refresh token");
    assert!(active(&app, &client, &rt2).await, "still the live one");
    assert!(!active(&app, &client, &rt1).await);
    assert_eq!(
        userinfo_status(&app, retry["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );

    // The window counts from the rotation, not from the retry: 11 s after it, RT1 is
    // reuse and the family ends.
    app.clock.advance(2);
    let (status, body) = refresh_at(&app.base, &client, &rt1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(!active(&app, &client, &rt2).await);
    assert_eq!(
        userinfo_status(&app, retry["access_token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED
    );
}

/// Sends `n` refreshes of `token` at once, alternating between `bases`; returns
/// every answer.
async fn parallel_refreshes(
    bases: &[String],
    client: &TestClient,
    token: &str,
    n: usize,
) -> Vec<(StatusCode, Value)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (base, client, token, barrier) = (
            bases[i % bases.len()].clone(),
            client.clone(),
            token.to_owned(),
            barrier.clone(),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            refresh_at(&base, &client, &token).await
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// Every answer is 200 with one and the same new refresh token, which is then the
/// family's only live token (by introspection of every token seen).
async fn exactly_one_child(
    app: &TestApp,
    client: &TestClient,
    parent: &str,
    answers: &[(StatusCode, Value)],
) -> String {
    let statuses: Vec<StatusCode> = answers.iter().map(|(s, _)| *s).collect();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?} {answers:?}"
    );
    let children: BTreeSet<String> = answers.iter().map(|(_, b)| rt(b)).collect();
    assert_eq!(children.len(), 1, "one child: {children:?}");
    let child = children.into_iter().next().unwrap();
    assert!(!active(app, client, parent).await);
    assert!(active(app, client, &child).await);
    child
}

async fn concurrent_rotations(n: usize) {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let t0 = first_tokens(&app, &client, "racer").await;
    let rt0 = rt(&t0);
    let answers = parallel_refreshes(std::slice::from_ref(&app.base), &client, &rt0, n).await;
    let child = exactly_one_child(&app, &client, &rt0, &answers).await;
    // The family goes on from the one child.
    let (status, next) = refresh_at(&app.base, &client, &child).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert!(active(&app, &client, &rt(&next)).await);
    assert!(!active(&app, &client, &child).await);
}

#[tokio::test]
async fn ten_concurrent_rotations_of_one_token_leave_one_live_token() {
    concurrent_rotations(10).await;
}

#[tokio::test]
async fn fifty_concurrent_rotations_of_one_token_leave_one_live_token() {
    concurrent_rotations(50).await;
}

#[tokio::test]
async fn two_provider_processes_rotating_one_token_at_once_agree_on_one_child() {
    // The mock clock of the in-process provider stays where it started while the other
    // process follows the wall clock: a wide grace window absorbs the difference.
    let app = TestApp::spawn_with(|c| c.tokens.refresh_token_reuse_grace_seconds = 60).await;
    let other = ProviderProcess::spawn(
        &app,
        &[("IDP_TOKENS__REFRESH_TOKEN_REUSE_GRACE_SECONDS", "60")],
    )
    .await;
    let client = app.client().await;
    let t0 = first_tokens(&app, &client, "replicas").await;
    let rt0 = rt(&t0);
    let bases = [app.base.clone(), other.base.clone()];
    let answers = parallel_refreshes(&bases, &client, &rt0, 20).await;
    let child = exactly_one_child(&app, &client, &rt0, &answers).await;
    // A replay of the parent at the other process, after the family moved on, is reuse.
    let (status, next) = refresh_at(&app.base, &client, &child).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    let (status, _) = refresh_at(&other.base, &client, &rt0).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!active(&app, &client, &rt(&next)).await);
    other.kill().await;
}

#[tokio::test]
async fn tokens_issued_before_the_family_migration_keep_their_meaning() {
    // A database as migrations 0001-0004 left it, with one grant whose token was
    // rotated once (the old scheme: a used parent, an unused child).
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir).await;
    let db = idp::db::Db::connect(&url).await.unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut before = sqlx::migrate::Migrator::new(path).await.unwrap();
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version <= 4)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before.run(db.pool()).await.unwrap();
    let now = idp::clock::Clock::now(&idp::clock::SystemClock);
    let client = idp::oauth::registration::create_client(
        &db,
        idp::oauth::registration::ClientSpec {
            redirect_uris: vec![REDIRECT_URI.into()],
            ..idp::oauth::registration::ClientSpec::default()
        },
        now,
    )
    .await
    .unwrap();
    let client = TestClient {
        id: client.row.client_id,
        secret: client.secret,
        redirect_uri: REDIRECT_URI.into(),
    };
    let hash = |t: &str| idp::crypto::sha256_b64(t.as_bytes());
    sqlx::query(
        "INSERT INTO users (id, username, email, created_at, updated_at) \
         VALUES ('u1', 'old', 'old@example.com', $1, $1)",
    )
    .bind(now)
    .execute(db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO grants (id, client_id, user_id, redirect_uri, redirect_uri_given, scope, \
         auth_time, created_at, code_expires_at, code_used_at, expires_at) \
         VALUES ('g1', $2, 'u1', 'x', 1, 'openid', $1, $1, $1, $1, $3)",
    )
    .bind(now)
    .bind(&client.id)
    .bind(now + 86400)
    .execute(db.pool())
    .await
    .unwrap();
    for (token, parent, created, used) in [
        ("old-parent", None, now - 100, Some(now - 50)),
        ("old-child", Some(hash("old-parent")), now - 50, None),
    ] {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, grant_id, scope, parent_hash, created_at, \
             expires_at, used_at) VALUES ($1, 'g1', 'openid', $2, $3, $4, $5)",
        )
        .bind(hash(token))
        .bind(parent)
        .bind(created)
        .bind(now + 3600)
        .bind(used)
        .execute(db.pool())
        .await
        .unwrap();
    }
    db.pool().close().await;

    // The provider starts and applies 0005: the unused child is the family's live token.
    let app = TestApp::spawn_with(move |c| c.database_url = url).await;
    assert!(active(&app, &client, "old-child").await);
    assert!(!active(&app, &client, "old-parent").await);
    let (status, next) = refresh_at(&app.base, &client, "old-child").await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert!(active(&app, &client, &rt(&next)).await);
    // The parent rotated before the migration is still known as a member: reuse.
    let (status, _) = refresh_at(&app.base, &client, "old-parent").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        !active(&app, &client, &rt(&next)).await,
        "the family is revoked"
    );
}
