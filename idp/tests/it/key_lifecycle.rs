//! The signing-key lifecycle beyond staged rotation (issue 11): tokens issued over
//! HTTP only ever name kids published for the JWKS cache lifetime; a removed key's ID
//! tokens still end sessions, a revoked key's never; every transition is audited
//! once; revoking the last usable key without a new one is refused; per-algorithm
//! schedules; KEK rotation.

use std::collections::HashMap;

use serde_json::Value;

use crate::harness::*;
use crate::key_rotation::{claims, jwks_kids, kid_of};
use crate::support_logout::{portal_spec, signed_in, silent};
use idp::crypto::keys::{JwtType, KeyState, RevokeError, SigningAlg};
use idp::oauth::client::GrantType;
use idp::oauth::registration::ClientSpec;
use reqwest::StatusCode;

/// The claims of a compact JWT (unverified: the tests check signatures elsewhere).
fn payload(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn every_token_names_a_kid_published_for_at_least_the_jwks_cache_lifetime() {
    let app = TestApp::spawn().await;
    let (db, kek, keys) = (&app.state.db, &app.state.kek, &app.state.keys);
    let cache = app.state.config.keys.jwks_max_age_seconds;
    app.user("pat").await;
    let mut clients = Vec::new();
    for alg in SigningAlg::ALL {
        let spec = ClientSpec {
            id_token_alg: alg,
            ..ClientSpec::default()
        };
        clients.push(app.client_with(spec).await);
    }
    let machine = app
        .client_with(ClientSpec {
            grant_types: vec![GrantType::ClientCredentials],
            scope: "reports:read".into(),
            ..ClientSpec::default()
        })
        .await;
    // When each kid was first seen in the JWKS over HTTP (provider time).
    let mut first_seen: HashMap<String, i64> = HashMap::new();
    let initial = jwks_kids(&app).await;
    let mut rotated = false;
    let mut named = HashMap::<String, usize>::new();
    for step in 0..14 {
        if step == 2 {
            for alg in SigningAlg::ALL {
                keys.rotate(db, kek, alg, None, "test").await.unwrap();
            }
            rotated = true;
        }
        let now = app.clock_now();
        for kid in jwks_kids(&app).await {
            first_seen.entry(kid).or_insert(now);
        }
        let mut tokens = Vec::new();
        for client in &clients {
            let t = crate::tokens_api::tokens_for(&app, client, "pat").await;
            tokens.push(t["id_token"].as_str().unwrap().to_owned());
            tokens.push(t["access_token"].as_str().unwrap().to_owned());
        }
        let (status, cc) = crate::tokens_api::post_form(
            &app,
            "/token",
            &machine,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{cc}");
        tokens.push(cc["access_token"].as_str().unwrap().to_owned());
        for token in &tokens {
            let kid = kid_of(token);
            let iat = payload(token)["iat"].as_i64().unwrap();
            *named.entry(kid.clone()).or_default() += 1;
            let seen = *first_seen
                .get(&kid)
                .unwrap_or_else(|| panic!("{kid} signed a token but was never published"));
            if !initial.contains(&kid) {
                assert!(
                    seen + cache <= iat,
                    "{kid} published at {seen}, signed at {iat}: less than {cache} s"
                );
            }
        }
        app.clock.advance(100);
    }
    assert!(rotated);
    let fresh: Vec<&String> = named.keys().filter(|k| !initial.contains(k)).collect();
    assert_eq!(
        fresh.len(),
        3,
        "each algorithm's next key signed: {named:?}"
    );
}

#[tokio::test]
async fn a_removed_keys_id_token_still_ends_a_session_but_a_revoked_keys_never_does() {
    let app = TestApp::spawn().await;
    let (db, kek, keys) = (&app.state.db, &app.state.kek, &app.state.keys);
    let client = app.client_with(portal_spec(None)).await;
    app.user("lee").await;
    let browser = Browser::new();
    let t = signed_in(&app, &browser, &client, "lee").await;
    let hint = t["id_token"].as_str().unwrap().to_owned();
    let old = kid_of(&hint);
    // Rotate, wait for the old key to retire and then to leave the JWKS.
    let next = keys
        .rotate(db, kek, SigningAlg::RS256, None, "test")
        .await
        .unwrap();
    let timings = keys.timings();
    app.clock
        .advance(next.activates_at + timings.retain_seconds + 60 - app.clock_now());
    keys.reload(db, kek).await.unwrap();
    assert!(
        !jwks_kids(&app).await.contains(&old),
        "removed from the JWKS"
    );
    assert!(keys.verify(&hint, JwtType::IdToken).is_err());
    // Still good as id_token_hint: the session ends and the RP gets its redirect.
    let logout = |hint: &str| {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", hint)
            .append_pair("post_logout_redirect_uri", "https://portal.example/bye")
            .append_pair("state", "s-9")
            .finish();
        app.url(&format!("/logout?{query}"))
    };
    let Page {
        status, location, ..
    } = browser.get(&logout(&hint)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("https://portal.example/bye?state=s-9")
    );
    assert_eq!(
        silent(&app, &browser, &client).await.as_deref(),
        Some("login_required")
    );
    // Until the window (keys.id_token_hint_days) has passed.
    keys.verify_id_token_hint(&hint).unwrap();
    let removed_at = next.activates_at + timings.retain_seconds;
    app.clock
        .advance(removed_at + timings.hint_seconds - app.clock_now());
    keys.reload(db, kek).await.unwrap();
    assert!(
        keys.verify_id_token_hint(&hint).is_err(),
        "the window is over"
    );

    // A revoked key's ID token never ends a session: a confirmation page instead.
    let browser = Browser::new();
    let t = signed_in(&app, &browser, &client, "lee").await;
    let hint = t["id_token"].as_str().unwrap().to_owned();
    keys.revoke(db, kek, &kid_of(&hint), true, "test")
        .await
        .unwrap();
    keys.verify_id_token_hint(&hint).unwrap_err();
    let Page {
        status,
        location,
        body,
        ..
    } = browser.get(&logout(&hint)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(location, None);
    assert!(body.contains("Do you want to sign out"), "{body}");
}

/// (actor, action, at) of the key events of `kid`, oldest first.
async fn key_events(app: &TestApp, kid: &str) -> Vec<(String, String, i64)> {
    sqlx::query_as(
        "SELECT actor, action, at FROM audit_events WHERE subject = $1 \
         AND action LIKE 'key.%' ORDER BY at, CASE action WHEN 'key.created' THEN 0 \
         WHEN 'key.activated' THEN 1 WHEN 'key.retired' THEN 2 WHEN 'key.removed' THEN 3 \
         ELSE 4 END",
    )
    .bind(kid)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn every_transition_is_audited_once_with_its_actor_and_time() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_sharing(&a).await;
    let (db, kek, keys) = (&a.state.db, &a.state.kek, &a.state.keys);
    let old = kid_of(
        &keys
            .sign(SigningAlg::ES256, JwtType::IdToken, claims())
            .unwrap(),
    );
    let next = keys
        .rotate(db, kek, SigningAlg::ES256, None, "cli:ops")
        .await
        .unwrap();
    let retain = keys.timings().retain_seconds;
    // Far past removal: both processes record what time brought about, at once.
    let t = next.activates_at + retain + 10;
    a.clock.advance(t - a.clock_now());
    b.clock.advance(t - b.clock_now());
    let (ra, rb) = tokio::join!(
        a.state.keys.record_transitions(&a.state.db),
        b.state.keys.record_transitions(&b.state.db)
    );
    ra.unwrap();
    rb.unwrap();
    // Again: nothing new.
    assert_eq!(keys.record_transitions(db).await.unwrap(), 0);
    let sched = "system:schedule".to_owned();
    let events = key_events(&a, &old).await;
    let start = events[0].2;
    assert_eq!(
        events,
        vec![
            ("system:start".to_owned(), "key.created".to_owned(), start),
            (sched.clone(), "key.activated".to_owned(), start),
            (sched.clone(), "key.retired".to_owned(), next.activates_at),
            (
                sched.clone(),
                "key.removed".to_owned(),
                next.activates_at + retain
            ),
        ]
    );
    assert_eq!(
        key_events(&a, &next.kid).await,
        vec![
            ("cli:ops".to_owned(), "key.created".to_owned(), start),
            (sched, "key.activated".to_owned(), next.activates_at),
        ]
    );
    // A revocation: by the operator, and the replacement's activation too.
    let active = next.kid;
    let r = keys
        .revoke(db, kek, &active, true, "operator:root")
        .await
        .unwrap();
    let replacement = r.replacement.unwrap();
    let now = a.clock_now();
    let events = key_events(&a, &active).await;
    assert_eq!(
        events.last().unwrap(),
        &("operator:root".to_owned(), "key.revoked".to_owned(), now)
    );
    assert_eq!(
        key_events(&a, &replacement).await,
        vec![
            ("operator:root".to_owned(), "key.created".to_owned(), now),
            ("operator:root".to_owned(), "key.activated".to_owned(), now),
        ]
    );
    // A revoked key records nothing more.
    a.clock.advance(10 * retain);
    keys.record_transitions(db).await.unwrap();
    assert_eq!(key_events(&a, &active).await.len(), events.len());
}

#[tokio::test]
async fn revoking_the_last_usable_key_without_a_new_one_is_refused() {
    let app = TestApp::spawn().await;
    let (db, kek, keys) = (&app.state.db, &app.state.kek, &app.state.keys);
    let active = kid_of(
        &keys
            .sign(SigningAlg::EdDSA, JwtType::IdToken, claims())
            .unwrap(),
    );
    let err = keys
        .revoke(db, kek, &active, false, "test")
        .await
        .unwrap_err();
    assert!(matches!(err, RevokeError::LastUsable { .. }), "{err}");
    assert!(err.to_string().contains("last usable EdDSA key"), "{err}");
    let out = app.cli(&["keys", "revoke", &active, "--no-new-key"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("last usable EdDSA key"), "{stderr}");
    assert!(jwks_kids(&app).await.contains(&active), "still published");
    // With a next key, it becomes the replacement and no key is created.
    let next = keys
        .rotate(db, kek, SigningAlg::EdDSA, None, "test")
        .await
        .unwrap();
    let out = app.cli(&["keys", "revoke", &active, "--no-new-key", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["replacement"], next.kid.as_str());
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM signing_keys WHERE alg = 'EdDSA'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn each_algorithm_follows_its_own_schedule() {
    let app = TestApp::spawn_with(|c| {
        c.keys.eddsa.rotation_days = Some(7);
        c.keys.es256.rotation_days = Some(0);
    })
    .await;
    let (db, kek, keys) = (&app.state.db, &app.state.kek, &app.state.keys);
    let cfg = app.state.config.keys.clone();
    assert_eq!(cfg.schedule(SigningAlg::EdDSA), (7 * 86_400, 86_400));
    assert_eq!(cfg.schedule(SigningAlg::RS256), (90 * 86_400, 86_400));
    assert_eq!(cfg.schedule(SigningAlg::ES256).0, 0);
    let next_algs = || async {
        let mut algs: Vec<SigningAlg> = keys
            .list(db)
            .await
            .unwrap()
            .into_iter()
            .filter(|k| k.state == KeyState::Next)
            .map(|k| k.alg)
            .collect();
        algs.sort_by_key(|a| a.as_str());
        algs
    };
    app.clock.advance(6 * 86_400);
    keys.rotate_due(db, kek, |alg| cfg.schedule(alg))
        .await
        .unwrap();
    assert_eq!(
        next_algs().await,
        vec![SigningAlg::EdDSA],
        "only EdDSA is due"
    );
    app.clock.advance(89 * 86_400 - 6 * 86_400);
    keys.rotate_due(db, kek, |alg| cfg.schedule(alg))
        .await
        .unwrap();
    let algs = next_algs().await;
    assert!(algs.contains(&SigningAlg::RS256), "{algs:?}");
    assert!(
        !algs.contains(&SigningAlg::ES256),
        "ES256's schedule is off"
    );
}

#[tokio::test]
async fn the_kek_rotates_without_losing_keys_pins_or_refresh_tokens() {
    let app = TestApp::spawn().await;
    let old_kek = app.state.config.keys.kek.clone().unwrap();
    let new_kek = idp::crypto::random_token(32);
    let client = app.client().await;
    let user = app.user("kit").await;
    let t = crate::tokens_api::tokens_for(&app, &client, "kit").await;
    // A sealed support PIN.
    let pin_sealed = app.state.kek.seal(b"123456").unwrap();
    idp::db::support::store_pin(&app.state.db, &user.id, &pin_sealed, false)
        .await
        .unwrap();
    let csrf = app.state.kek.derive("csrf");
    let jwks = jwks_kids(&app).await;

    let previous = format!("[\"{old_kek}\"]");
    let env = [
        ("IDP_KEYS__KEK", new_kek.as_str()),
        ("IDP_KEYS__PREVIOUS_KEKS", previous.as_str()),
    ];
    let out = app.cli_env(&["keys", "rotate-kek", "--json"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["signing_keys"], 3, "{done}");
    assert_eq!(done["support_pins"], 1, "{done}");
    assert_eq!(done["secrets"], 1, "{done}");
    // Again: everything is under the new KEK already.
    let out = app.cli_env(&["keys", "rotate-kek", "--json"], &env);
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["unchanged"], 5, "{again}");
    assert_eq!(again["signing_keys"], 0, "{again}");
    // The old KEK alone no longer opens them: a clear error, no new key.
    let out = app.cli(&["keys", "list"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another key-encryption key"), "{stderr}");
    // A process on the new KEK alone: same keys, same MAC keys, the PIN opens, and
    // the refresh token issued before the rotation still works there.
    let database_url = app.state.config.database_url.clone();
    let kek = new_kek.clone();
    let b = TestApp::spawn_with(move |c| {
        c.database_url = database_url;
        c.keys.kek = Some(kek);
    })
    .await;
    assert_eq!(jwks_kids(&b).await, jwks);
    assert_eq!(b.state.kek.derive("csrf"), csrf);
    let sealed = idp::db::support::sealed_pin(&b.state.db, &user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.state.kek.open(&sealed).unwrap(), b"123456");
    let (status, body) = crate::tokens_api::post_form(
        &b,
        "/token",
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The audit trail names the operator.
    let (actor,): (String,) =
        sqlx::query_as("SELECT actor FROM audit_events WHERE action = 'kek.rotated'")
            .fetch_one(b.state.db.pool())
            .await
            .unwrap();
    assert!(actor.starts_with("cli:"), "{actor}");
}
