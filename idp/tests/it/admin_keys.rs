//! The operator's `/admin/keys` page (issue 11): the keys per algorithm, a staged
//! rotation and an emergency revocation from the browser, as `idp keys` does them;
//! operators only, every form with its CSRF token, a revocation only with the
//! operator's current password (counted like a login), audited as the operator.

use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use crate::harness::*;
use idp::crypto::keys::{JwtType, KeyInfo, KeyState, SigningAlg};

const OPERATOR: &str = "keyop";

/// A provider with the operator [`OPERATOR`] and the ordinary user `kim`.
async fn app() -> TestApp {
    app_with(|_| {}).await
}

async fn app_with(configure: impl FnOnce(&mut idp::config::Config)) -> TestApp {
    let app = TestApp::spawn_with(configure).await;
    app.operator(OPERATOR, "keyop@provider.example").await;
    app.user("kim").await;
    app
}

/// The CSRF token of `browser`, from its profile.
async fn csrf(app: &TestApp, browser: &Browser) -> String {
    let page = browser.get(&app.url("/profile")).await;
    hidden(&page.body, "csrf_token").expect("a CSRF token on the profile")
}

/// POSTs `fields` plus the browser's CSRF token to `path`.
async fn post(app: &TestApp, browser: &Browser, path: &str, fields: &[(&str, &str)]) -> Page {
    let token = csrf(app, browser).await;
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    browser.post(&app.url(path), &form).await
}

async fn keys(app: &TestApp) -> Vec<KeyInfo> {
    app.state.keys.list(&app.state.db).await.unwrap()
}

/// The kid of `alg`'s key in `state`.
async fn kid_in(app: &TestApp, alg: SigningAlg, state: KeyState) -> Option<String> {
    keys(app)
        .await
        .into_iter()
        .find(|k| k.alg == alg && k.state == state)
        .map(|k| k.kid)
}

async fn active(app: &TestApp, alg: SigningAlg) -> String {
    kid_in(app, alg, KeyState::Active).await.unwrap()
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

/// The (actor, details) of every `action` event on `subject`.
async fn events(app: &TestApp, action: &str, subject: &str) -> Vec<(String, Value)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, details FROM audit_events WHERE action = $1 AND subject = $2 ORDER BY at, id",
    )
    .bind(action)
    .bind(subject)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(actor, d)| (actor, serde_json::from_str(&d).unwrap()))
        .collect()
}

async fn count_events(app: &TestApp, action: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE action = $1")
        .bind(action)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    n
}

/// The kid of a token `alg` signs now.
fn signing_kid(app: &TestApp, alg: SigningAlg) -> String {
    let claims: Map<String, Value> = json!({ "sub": "s" }).as_object().unwrap().clone();
    let token = app
        .state
        .keys
        .sign(alg, JwtType::AccessToken, claims)
        .unwrap();
    jwt_parts(&token).0["kid"].as_str().unwrap().to_owned()
}

fn revoke_path(kid: &str) -> String {
    format!("/admin/keys/{kid}/revoke")
}

/// The page the redirect of an action leads to.
async fn after(app: &TestApp, browser: &Browser, done: &Page) -> Page {
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let next = done.next_url().unwrap();
    assert!(next.starts_with(&app.url("/admin/keys?")), "{next}");
    browser.get(&next).await
}

#[tokio::test]
async fn only_operators_see_the_keys_and_every_form_needs_its_csrf_token() {
    let app = app().await;
    // Not signed in: to the login page, and back here after it.
    let anonymous = Browser::new().get(&app.url("/admin/keys")).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(
        anonymous.location.as_deref(),
        Some("/login?return_to=/admin/keys")
    );
    // A signed-in user who is not an operator: the 403 page, for every route.
    let kim = app.signed_in("kim").await;
    let page = kim.get(&app.url("/admin/keys")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("for operators only"), "{}", page.body);
    let rs = active(&app, SigningAlg::RS256).await;
    for (path, fields) in [
        ("/admin/keys/rotate".to_owned(), vec![("alg", "RS256")]),
        (revoke_path(&rs), vec![("password", PASSWORD)]),
    ] {
        let page = post(&app, &kim, &path, &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("for operators only"), "{path}");
    }

    // The operator: one table per algorithm, each with its active key.
    let op = app.signed_in(OPERATOR).await;
    let page = op.get(&app.url("/admin/keys")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for alg in SigningAlg::ALL {
        assert!(page.body.contains(&format!("<h2>{alg}</h2>")), "{alg}");
        let kid = active(&app, alg).await;
        assert!(page.body.contains(&format!("<code>{kid}</code>")), "{alg}");
        assert!(page.body.contains(&format!("/admin/keys/{kid}/revoke")));
    }
    assert_eq!(page.body.matches("active (signing)").count(), 3);
    let timings = app.state.keys.timings();
    let cache = app.state.config.keys.jwks_max_age_seconds;
    assert!(
        page.body.contains(&format!("for {cache} s")),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains(&format!("published {} s", timings.publish_seconds)));
    assert!(page.body.contains(" UTC"));
    // The other operator pages link it.
    for other in [
        "/admin/registrations",
        "/admin/companies",
        "/admin/audit",
        "/admin/support",
    ] {
        let page = op.get(&app.url(other)).await;
        assert!(page.body.contains("href=\"/admin/keys\""), "{other}");
    }

    // Without a CSRF token, or with another browser's: refused, nothing changes.
    let foreign = csrf(&app, &kim).await;
    for token in [None, Some("forged"), Some(foreign.as_str())] {
        for (path, fields) in [
            ("/admin/keys/rotate".to_owned(), vec![("alg", "RS256")]),
            (revoke_path(&rs), vec![("password", PASSWORD)]),
        ] {
            let mut form = fields;
            if let Some(t) = token {
                form.push(("csrf_token", t));
            }
            let page = op.post(&app.url(&path), &form).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} {token:?}");
            assert!(page.body.contains("Form expired"), "{path}");
        }
    }
    assert_eq!(keys(&app).await.len(), 3);
    assert!(jwks_kids(&app).await.contains(&rs));
    assert_eq!(count_events(&app, "key.revoked").await, 0);
}

#[tokio::test]
async fn a_rotation_creates_the_next_key_once_and_says_when_it_signs() {
    let app = app().await;
    let op = app.signed_in(OPERATOR).await;
    let old = active(&app, SigningAlg::ES256).await;
    let done = post(
        &app,
        &op,
        "/admin/keys/rotate",
        &[("alg", "ES256"), ("at", "")],
    )
    .await;
    let next = kid_in(&app, SigningAlg::ES256, KeyState::Next)
        .await
        .expect("a next ES256 key");
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/admin/keys?rotated={next}").as_str())
    );
    let key = keys(&app)
        .await
        .into_iter()
        .find(|k| k.kid == next)
        .unwrap();
    let timings = app.state.keys.timings();
    assert_eq!(key.activates_at, app.clock_now() + timings.publish_seconds);
    assert!(jwks_kids(&app).await.contains(&next), "published at once");
    assert_eq!(signing_kid(&app, SigningAlg::ES256), old, "not signing yet");
    let created = events(&app, "key.created", &next).await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].0, format!("operator:{OPERATOR}"));
    assert_eq!(created[0].1["alg"], "ES256");
    // The page names it, from the database.
    let page = after(&app, &op, &done).await;
    let at = chrono::DateTime::from_timestamp(key.activates_at, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    assert!(
        page.body.contains(&format!(
            "New ES256 key {next} is published; it signs from {at}."
        )),
        "{}",
        page.body
    );
    assert!(page.body.contains("next (published, not yet signing)"));

    // A second rotation while one is under way: 409, saying which key and when.
    let again = post(&app, &op, "/admin/keys/rotate", &[("alg", "ES256")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(
        again.body.contains(&format!(
            "A rotation of the ES256 key is already under way: key {next} signs from {at}."
        )),
        "{}",
        again.body
    );
    assert_eq!(keys(&app).await.len(), 4);

    // An activation time (datetime-local, read as UTC) is kept when later than safe.
    let done = post(
        &app,
        &op,
        "/admin/keys/rotate",
        &[("alg", "RS256"), ("at", "2099-01-01T00:00")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let rs_next = kid_in(&app, SigningAlg::RS256, KeyState::Next)
        .await
        .unwrap();
    let key = keys(&app)
        .await
        .into_iter()
        .find(|k| k.kid == rs_next)
        .unwrap();
    assert_eq!(key.activates_at, 4_070_908_800);
    let page = after(&app, &op, &done).await;
    assert!(page.body.contains("it signs from 2099-01-01 00:00:00 UTC."));

    // Bad input: the page again with a 400 and what to do; no key created.
    for (fields, message) in [
        (vec![("alg", "HS256")], "Choose an algorithm"),
        (vec![("alg", "none")], "Choose an algorithm"),
        (vec![], "Choose an algorithm"),
        (
            vec![("alg", "EdDSA"), ("alg", "EdDSA")],
            "Choose an algorithm",
        ),
        (
            vec![("alg", "EdDSA"), ("at", "tomorrow")],
            "activation time is not valid",
        ),
        (
            vec![("alg", "EdDSA"), ("at", "2027-02-30T00:00")],
            "activation time is not valid",
        ),
    ] {
        let page = post(&app, &op, "/admin/keys/rotate", &fields).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{fields:?}");
        assert!(page.body.contains(message), "{fields:?}: {}", page.body);
    }
    assert_eq!(keys(&app).await.len(), 5);
    assert_eq!(count_events(&app, "key.created").await, 3 + 2);

    // The notice is never text from the URL: an unknown kid shows nothing, and a key
    // that is not revoked is not said to be.
    let es = active(&app, SigningAlg::ES256).await;
    for query in [
        "rotated=%3Cb%3Ehello",
        &format!("revoked={es}"),
        "revoked=nope",
    ] {
        let page = op.get(&app.url(&format!("/admin/keys?{query}"))).await;
        assert_eq!(page.status, StatusCode::OK, "{query}");
        assert!(!page.body.contains("class=\"notice\""), "{query}");
        assert!(!page.body.contains("hello"), "{query}");
    }
}

#[tokio::test]
async fn a_revocation_needs_the_current_password_which_counts_like_a_login() {
    let app = app_with(|c| {
        c.throttle.account_ip_free = 2;
        c.throttle.account_free = 100;
        c.throttle.ip_free = 100;
    })
    .await;
    let op = app.signed_in(OPERATOR).await;
    let rs = active(&app, SigningAlg::RS256).await;
    let path = revoke_path(&rs);
    // No password (not counted), then wrong ones: 403, saying so; the key stays.
    let mut statuses = Vec::new();
    for password in [None, Some(""), Some("wrong password"), Some("wrong again")] {
        let fields: Vec<(&str, &str)> = password.map(|p| ("password", p)).into_iter().collect();
        let page = post(&app, &op, &path, &fields).await;
        assert!(
            page.body
                .contains("To revoke a key, enter your current password."),
            "{password:?}: {}",
            page.body
        );
        statuses.push(page.status);
    }
    assert_eq!(statuses, [StatusCode::FORBIDDEN; 4]);
    assert!(jwks_kids(&app).await.contains(&rs), "still published");
    assert_eq!(signing_kid(&app, SigningAlg::RS256), rs);
    assert_eq!(count_events(&app, "key.revoked").await, 0);
    // The wrong passwords count against the operator's login: the third one blocks
    // it, here and at the login form, even with the right password.
    let page = post(&app, &op, &path, &[("password", "wrong thrice")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    let page = post(&app, &op, &path, &[("password", PASSWORD)]).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert!(page.body.contains("Too many attempts"), "{}", page.body);
    let login = Browser::new()
        .submit_login(&app.url("/login"), OPERATOR, PASSWORD)
        .await;
    assert_eq!(
        login.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        login.body
    );
    assert!(jwks_kids(&app).await.contains(&rs), "still published");
    assert_eq!(count_events(&app, "key.revoked").await, 0);
}

#[tokio::test]
async fn a_revocation_drops_the_kid_from_the_jwks_at_once_and_the_replacement_signs() {
    let app = app().await;
    let op = app.signed_in(OPERATOR).await;
    let rs = active(&app, SigningAlg::RS256).await;
    let done = post(&app, &op, &revoke_path(&rs), &[("password", PASSWORD)]).await;
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/admin/keys?revoked={rs}").as_str())
    );
    assert!(
        !jwks_kids(&app).await.contains(&rs),
        "out of the JWKS at once"
    );
    let replacement = active(&app, SigningAlg::RS256).await;
    assert_ne!(replacement, rs);
    assert!(jwks_kids(&app).await.contains(&replacement));
    assert_eq!(signing_kid(&app, SigningAlg::RS256), replacement);
    let revoked = events(&app, "key.revoked", &rs).await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].0, format!("operator:{OPERATOR}"));
    assert_eq!(revoked[0].1["replacement"], replacement.as_str());
    let page = after(&app, &op, &done).await;
    assert!(
        page.body.contains(&format!(
            "Key {rs} (RS256) is revoked; {replacement} signs for RS256 from now on."
        )),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&format!("<code>{rs}</code>")));

    // Again: 409; an unknown kid: 404; neither changes anything.
    let again = post(&app, &op, &revoke_path(&rs), &[("password", PASSWORD)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again
        .body
        .contains(&format!("Key {rs} is already revoked.")));
    for kid in ["nope", "-nope"] {
        let page = post(&app, &op, &revoke_path(kid), &[("password", PASSWORD)]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{kid}");
        assert!(page.body.contains("There is no signing key with this kid."));
    }
    assert_eq!(count_events(&app, "key.revoked").await, 1);
    assert_eq!(jwks_kids(&app).await.len(), 3);
}

#[tokio::test]
async fn never_create_a_new_key_refuses_the_last_usable_key_and_takes_the_next_one() {
    let app = app().await;
    let op = app.signed_in(OPERATOR).await;
    let ed = active(&app, SigningAlg::EdDSA).await;
    let never = [("password", PASSWORD), ("no_new_key", "on")];
    let page = post(&app, &op, &revoke_path(&ed), &never).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(
        page.body.contains(&format!(
            "{ed} is the last usable EdDSA key: revoking it without a replacement would \
             leave EdDSA without a signing key."
        )),
        "{}",
        page.body
    );
    // A repeated box is not read as "a new key is fine".
    let twice = [
        ("password", PASSWORD),
        ("no_new_key", "on"),
        ("no_new_key", "on"),
    ];
    let page = post(&app, &op, &revoke_path(&ed), &twice).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(jwks_kids(&app).await.contains(&ed), "still published");
    assert_eq!(signing_kid(&app, SigningAlg::EdDSA), ed);
    assert_eq!(keys(&app).await.len(), 3, "no key created");
    assert_eq!(count_events(&app, "key.revoked").await, 0);

    // With a rotation under way, its next key takes over at once: no new key.
    let done = post(&app, &op, "/admin/keys/rotate", &[("alg", "EdDSA")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let next = kid_in(&app, SigningAlg::EdDSA, KeyState::Next)
        .await
        .unwrap();
    let done = post(&app, &op, &revoke_path(&ed), &never).await;
    let page = after(&app, &op, &done).await;
    assert!(
        page.body.contains(&format!(
            "Key {ed} (EdDSA) is revoked; {next} signs for EdDSA from now on."
        )),
        "{}",
        page.body
    );
    assert_eq!(active(&app, SigningAlg::EdDSA).await, next);
    assert_eq!(signing_kid(&app, SigningAlg::EdDSA), next);
    assert!(!jwks_kids(&app).await.contains(&ed));
    assert_eq!(keys(&app).await.len(), 3);
    let activated = events(&app, "key.activated", &next).await;
    assert_eq!(activated.len(), 1);
    assert_eq!(activated[0].0, format!("operator:{OPERATOR}"));
}
