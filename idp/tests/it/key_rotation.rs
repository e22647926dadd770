//! Staged signing-key rotation (issue 11, first part): a rotation's key is published
//! at once and signs only after the JWKS cache lifetime plus a margin; the old key
//! then retires (published, verifying) and leaves the JWKS once every token it signed
//! has expired; two processes rotating at once create one key; `idp keys list` and
//! `idp keys rotate`.

use serde_json::{json, Map, Value};

use crate::harness::*;
use idp::crypto::keys::{JwtType, KeyState, RotateError, SigningAlg};

fn claims() -> Map<String, Value> {
    json!({ "sub": "s", "iss": "i" })
        .as_object()
        .unwrap()
        .clone()
}

fn kid_of(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = reqwest::get(app.url("/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn state_of(app: &TestApp, kid: &str) -> KeyState {
    app.state
        .keys
        .list(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kid == kid)
        .unwrap()
        .state
}

#[tokio::test]
async fn a_rotation_publishes_first_signs_later_and_retires_the_old_key_after_its_tokens() {
    let app = TestApp::spawn().await;
    let keys = &app.state.keys;
    let timings = keys.timings();
    let cache = app.state.config.keys.jwks_max_age_seconds;
    assert!(timings.publish_seconds > cache, "{timings:?}");
    let old_token = keys
        .sign(SigningAlg::RS256, JwtType::AccessToken, claims())
        .unwrap();
    let old = kid_of(&old_token);
    assert_eq!(state_of(&app, &old).await, KeyState::Active);

    let published_at = app.clock_now();
    let rotated = keys
        .rotate(&app.state.db, &app.state.kek, SigningAlg::RS256, None)
        .await
        .unwrap();
    assert_eq!(rotated.activates_at, published_at + timings.publish_seconds);
    assert!(
        jwks_kids(&app).await.contains(&rotated.kid),
        "published at once"
    );
    assert_eq!(state_of(&app, &rotated.kid).await, KeyState::Next);
    // A second rotation while one is under way is refused.
    let again = keys
        .rotate(&app.state.db, &app.state.kek, SigningAlg::RS256, None)
        .await;
    assert!(
        matches!(again, Err(RotateError::NextExists { .. })),
        "{again:?}"
    );

    // Until it activates, the old key signs.
    app.clock.advance(timings.publish_seconds - 1);
    let token = keys
        .sign(SigningAlg::RS256, JwtType::AccessToken, claims())
        .unwrap();
    assert_eq!(kid_of(&token), old);
    // Then the new one: published at least the JWKS cache lifetime before.
    app.clock.advance(1);
    let new_token = keys
        .sign(SigningAlg::RS256, JwtType::AccessToken, claims())
        .unwrap();
    assert_eq!(kid_of(&new_token), rotated.kid);
    assert!(app.clock_now() - published_at >= cache);
    assert_eq!(state_of(&app, &old).await, KeyState::Retired);
    assert_eq!(state_of(&app, &rotated.kid).await, KeyState::Active);
    // The old key's tokens still verify, and it is still published.
    keys.reload(&app.state.db, &app.state.kek).await.unwrap();
    keys.verify(&old_token, JwtType::AccessToken).unwrap();
    assert!(jwks_kids(&app).await.contains(&old));
    // The other algorithms are untouched.
    let es = keys
        .sign(SigningAlg::ES256, JwtType::AccessToken, claims())
        .unwrap();
    keys.verify(&es, JwtType::AccessToken).unwrap();

    // Once every token it signed has expired (plus the cache lifetime): removed.
    app.clock.advance(timings.retain_seconds - 1);
    keys.reload(&app.state.db, &app.state.kek).await.unwrap();
    assert!(jwks_kids(&app).await.contains(&old));
    app.clock.advance(1);
    keys.reload(&app.state.db, &app.state.kek).await.unwrap();
    assert!(
        !jwks_kids(&app).await.contains(&old),
        "removed from the JWKS"
    );
    assert_eq!(state_of(&app, &old).await, KeyState::Removed);
    assert!(keys.verify(&old_token, JwtType::AccessToken).is_err());
    keys.verify(&new_token, JwtType::AccessToken).unwrap();
    assert_eq!(
        jwks_kids(&app).await.len(),
        3,
        "one key per algorithm again"
    );
}

#[tokio::test]
async fn two_processes_rotating_at_once_create_one_key_and_agree_on_the_set() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_sharing(&a).await;
    let (ra, rb) = tokio::join!(
        a.state
            .keys
            .rotate(&a.state.db, &a.state.kek, SigningAlg::EdDSA, None),
        b.state
            .keys
            .rotate(&b.state.db, &b.state.kek, SigningAlg::EdDSA, None),
    );
    let ok = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{ra:?} {rb:?}");
    assert!([&ra, &rb]
        .iter()
        .any(|r| matches!(r, Err(RotateError::NextExists { .. }))));
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM signing_keys WHERE alg = 'EdDSA'")
        .fetch_one(a.state.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 2);
    a.state
        .keys
        .reload(&a.state.db, &a.state.kek)
        .await
        .unwrap();
    b.state
        .keys
        .reload(&b.state.db, &b.state.kek)
        .await
        .unwrap();
    assert_eq!(a.state.keys.current().etag(), b.state.keys.current().etag());
}

#[tokio::test]
async fn the_keys_commands_list_and_rotate() {
    let app = TestApp::spawn().await;
    let out = app.cli(&["keys", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed
        .iter()
        .all(|k| k["state"] == "active" && k["retires_at"].is_null()));

    let out = app.cli(&["keys", "rotate", "--alg", "ES256", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kid = rotated[0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(rotated[0]["alg"], "ES256");
    let out = app.cli(&["keys", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let next = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    assert_eq!(next["state"], "next");
    assert_eq!(next["activates_at"], rotated[0]["activates_at"]);
    let (actor,): (String,) =
        sqlx::query_as("SELECT actor FROM audit_events WHERE action = 'key.created'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(actor.starts_with("cli:"), "{actor}");

    // Scheduled later: the given time wins when it is later than "safe".
    let out = app.cli(&[
        "keys",
        "rotate",
        "--alg",
        "RS256",
        "--at",
        "2100-01-01T00:00:00Z",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotated[0]["activates_at"], 4_102_444_800_i64);

    for (args, message) in [
        (
            vec!["keys", "rotate", "--alg", "HS256"],
            "unknown algorithm",
        ),
        (
            vec!["keys", "rotate", "--alg", "ES256"],
            "already has a next key",
        ),
        (
            vec!["keys", "rotate", "--alg", "EdDSA", "--at", "tomorrow"],
            "RFC 3339",
        ),
    ] {
        let out = app.cli(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    }
}
