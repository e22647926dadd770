//! Staged signing-key rotation (issue 11, first part): a rotation's key is published
//! at once and signs only after the JWKS cache lifetime plus a margin; the old key
//! then retires (published, verifying) and leaves the JWKS once every token it signed
//! has expired; two processes rotating at once create one key; `idp keys list` and
//! `idp keys rotate`.

use serde_json::{json, Map, Value};

use crate::harness::*;
use idp::crypto::keys::{JwtType, KeyState, RevokeError, RotateError, SigningAlg};

pub(crate) fn claims() -> Map<String, Value> {
    json!({ "sub": "s", "iss": "i" })
        .as_object()
        .unwrap()
        .clone()
}

pub(crate) fn kid_of(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

pub(crate) async fn jwks_kids(app: &TestApp) -> Vec<String> {
    kids_at(app.url("/jwks.json")).await
}

/// The kids in the JWKS at `url`.
pub(crate) async fn kids_at(url: String) -> Vec<String> {
    let jwks: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
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

    let rotate = || {
        keys.rotate(
            &app.state.db,
            &app.state.kek,
            SigningAlg::RS256,
            None,
            "test",
        )
    };
    let published_at = app.clock_now();
    let rotated = rotate().await.unwrap();
    assert_eq!(rotated.activates_at, published_at + timings.publish_seconds);
    assert!(
        jwks_kids(&app).await.contains(&rotated.kid),
        "published at once"
    );
    assert_eq!(state_of(&app, &rotated.kid).await, KeyState::Next);
    // A second rotation while one is under way is refused.
    let again = rotate().await;
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
            .rotate(&a.state.db, &a.state.kek, SigningAlg::EdDSA, None, "test"),
        b.state
            .keys
            .rotate(&b.state.db, &b.state.kek, SigningAlg::EdDSA, None, "test"),
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
    let (actor,): (String,) = sqlx::query_as(
        "SELECT actor FROM audit_events WHERE action = 'key.created' AND subject = $1",
    )
    .bind(&kid)
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

#[tokio::test]
async fn revoking_a_signing_key_replaces_it_at_once_and_its_tokens_stop_verifying() {
    let app = TestApp::spawn().await;
    let keys = &app.state.keys;
    let (db, kek) = (&app.state.db, &app.state.kek);
    let token = keys
        .sign(SigningAlg::RS256, JwtType::AccessToken, claims())
        .unwrap();
    let old = kid_of(&token);
    // A real access token of a user, signed by the same key.
    let client = app.client().await;
    app.user("kim").await;
    let tokens = crate::tokens_api::tokens_for(&app, &client, "kim").await;
    let at = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(kid_of(&at), old);
    let form = [("token", at.as_str())];
    let introspect = || crate::tokens_api::post_form(&app, "/introspect", &client, &form);
    assert_eq!(introspect().await.1["active"], true);
    // Another process on the database, the real binary: it follows within seconds.
    let process = crate::process::ProviderProcess::spawn(&app, &[]).await;
    let kids_there = || kids_at(format!("{}/jwks.json", process.base));
    assert!(kids_there().await.contains(&old));

    let revoked = keys.revoke(db, kek, &old, true, "test").await.unwrap();
    let replacement = revoked.replacement.clone().expect("it was signing");
    assert!(
        !jwks_kids(&app).await.contains(&old),
        "out of the JWKS at once"
    );
    assert!(keys.verify(&token, JwtType::AccessToken).is_err());
    // Its tokens stop working at introspection and UserInfo.
    assert_eq!(introspect().await.1["active"], false);
    let info = reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), reqwest::StatusCode::UNAUTHORIZED);
    let fresh = keys
        .sign(SigningAlg::RS256, JwtType::AccessToken, claims())
        .unwrap();
    assert_eq!(kid_of(&fresh), replacement, "the replacement signs at once");
    let mut gone = false;
    for _ in 0..50 {
        if !kids_there().await.contains(&old) {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        gone,
        "the other process dropped the revoked key within 10 s"
    );
    assert!(kids_there().await.contains(&replacement));

    // With a rotation under way, the `next` key is the replacement, active at once.
    let rotated = keys
        .rotate(db, kek, SigningAlg::ES256, None, "test")
        .await
        .unwrap();
    let es = kid_of(
        &keys
            .sign(SigningAlg::ES256, JwtType::AccessToken, claims())
            .unwrap(),
    );
    let r = keys.revoke(db, kek, &es, false, "test").await.unwrap();
    assert_eq!(r.replacement.as_deref(), Some(rotated.kid.as_str()));
    assert_eq!(state_of(&app, &rotated.kid).await, KeyState::Active);
    // A key that is not signing (the `next` one) is revoked without a replacement.
    let next = keys
        .rotate(db, kek, SigningAlg::EdDSA, None, "test")
        .await
        .unwrap();
    let r = keys
        .revoke(db, kek, &next.kid, false, "test")
        .await
        .unwrap();
    assert!(r.replacement.is_none());

    // Bad input: an unknown kid, a key revoked twice; the CLI says so too.
    assert!(matches!(
        keys.revoke(db, kek, "nope", true, "test").await,
        Err(RevokeError::Unknown(_))
    ));
    assert!(matches!(
        keys.revoke(db, kek, &old, true, "test").await,
        Err(RevokeError::AlreadyRevoked(_))
    ));
    // A kid is base64url and may begin with "-": still a kid, not an option.
    let out = app.cli(&["keys", "revoke", "-nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no signing key -nope"));
    let out = app.cli(&["keys", "revoke", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no signing key nope"));
    let out = app.cli(&["keys", "revoke", &replacement, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kid"], replacement.as_str());
    assert!(v["replacement"].is_string());
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'key.revoked' AND actor LIKE 'cli:%'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(n, 1);
    process.kill().await;
}

#[tokio::test]
async fn the_schedule_publishes_the_next_key_ahead_and_one_process_creates_it() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_sharing(&a).await;
    let (every, ahead) = (90 * 86_400, 86_400);
    let due = |app: &TestApp| {
        let state = app.state.clone();
        async move {
            state
                .keys
                .rotate_due(&state.db, &state.kek, |_| (every, ahead))
                .await
                .unwrap()
        }
    };
    let active = kid_of(
        &a.state
            .keys
            .sign(SigningAlg::RS256, JwtType::IdToken, claims())
            .unwrap(),
    );
    let start = a
        .state
        .keys
        .list(&a.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kid == active)
        .unwrap()
        .activates_at;
    let set = |app: &TestApp, t: i64| app.clock.advance(t - app.clock_now());
    let count = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM signing_keys")
            .fetch_one(a.state.db.pool())
            .await
            .unwrap();
        n
    };
    // Not due yet.
    set(&a, start + every - ahead - 1);
    set(&b, start + every - ahead - 1);
    assert!(due(&a).await.is_empty());
    assert_eq!(count().await, 3);
    // Due: both processes (and their background schedules) run it at once; one next
    // key per algorithm results, activating `every` after the current one did.
    set(&a, start + every - ahead);
    set(&b, start + every - ahead);
    let (ra, rb) = tokio::join!(due(&a), due(&b));
    assert!(ra.len() + rb.len() <= 3, "{ra:?} {rb:?}");
    for _ in 0..50 {
        if count().await == 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(count().await, 6, "one next key per algorithm");
    let next: Vec<(String, i64)> = sqlx::query_as(
        "SELECT alg, activates_at FROM signing_keys WHERE activates_at > $1 ORDER BY alg",
    )
    .bind(a.clock_now())
    .fetch_all(a.state.db.pool())
    .await
    .unwrap();
    assert_eq!(next.len(), 3, "{next:?}");
    assert!(next.iter().all(|(_, at)| *at >= start + every), "{next:?}");
    assert!(
        due(&a).await.is_empty() && due(&b).await.is_empty(),
        "a next key exists"
    );
    // It activates on schedule, a day after it was published.
    set(&a, start + every);
    a.state
        .keys
        .reload(&a.state.db, &a.state.kek)
        .await
        .unwrap();
    let now_signing = kid_of(
        &a.state
            .keys
            .sign(SigningAlg::RS256, JwtType::IdToken, claims())
            .unwrap(),
    );
    assert_ne!(now_signing, active);
    assert_eq!(state_of(&a, &active).await, KeyState::Retired);
    // An invalid schedule is refused at start-up, naming the key.
    type Change = fn(&mut idp::config::KeysConfig);
    let cases: [(Change, &str); 7] = [
        (
            |k| k.rotation_ahead_seconds = 10,
            "keys.rotation_ahead_seconds",
        ),
        (|k| k.rotation_days = 5000, "keys.rotation_days"),
        (
            |k| k.es256.rotation_days = Some(-1),
            "keys.es256.rotation_days",
        ),
        (
            |k| k.eddsa.rotation_ahead_seconds = Some(30),
            "keys.eddsa.rotation_ahead_seconds",
        ),
        (|k| k.rs256.rotation_days = Some(1), "shorter than"),
        (
            |k| k.publish_margin_seconds = -1,
            "keys.publish_margin_seconds",
        ),
        (|k| k.id_token_hint_days = 400, "keys.id_token_hint_days"),
    ];
    for (change, message) in cases {
        let mut c = idp::config::Config::default();
        change(&mut c.keys);
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains(message), "{message}: {err}");
    }
    // A shorter margin allows a shorter publish-ahead time.
    let mut c = idp::config::Config::default();
    c.keys.publish_margin_seconds = 0;
    c.keys.rotation_ahead_seconds = 300 + 2 * 60;
    c.validate().unwrap();
}
