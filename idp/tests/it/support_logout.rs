//! Support information (company level and region, phone, PIN) and logout:
//! RP-Initiated Logout 1.0 and Back-Channel Logout 1.0 from the provider's side.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::routing::post;
use axum::{Form, Router};
use reqwest::StatusCode;

use crate::harness::*;
use idp::account::users::UserSpec;
use idp::oauth::registration::ClientSpec;

const SCOPE: &str = "openid profile email company roles support";

pub(crate) fn portal_spec(backchannel: Option<String>) -> ClientSpec {
    ClientSpec {
        scope: format!("{SCOPE} offline_access"),
        post_logout_redirect_uris: vec!["https://portal.example/bye".into()],
        backchannel_logout_uri: backchannel,
        ..ClientSpec::default()
    }
}

/// A Super Admin of the company "ACME Demo" (acme-demo.example) with `level` support
/// in EMEA.
async fn company_user(app: &TestApp, username: &str, level: &str) -> idp::db::users::User {
    let user = app
        .user_with(UserSpec {
            roles: vec![idp::db::users::Role::SuperAdmin],
            ..TestApp::acme_demo_spec(username)
        })
        .await;
    app.support("acme-demo.example", level, Some("EMEA")).await;
    user
}

async fn tokens(
    app: &TestApp,
    browser: &Browser,
    client: &TestClient,
    username: &str,
    scope: &str,
) -> serde_json::Value {
    let (verifier, challenge) = pkce();
    let url = authorize_url(app, client, &challenge, &[("scope", scope)]);
    let callback = match browser.get(&url).await {
        Page {
            status: StatusCode::FOUND,
            location: Some(location),
            ..
        } => url::Url::parse(&location).unwrap(),
        _ => browser.login(app, &url, username).await,
    };
    let (status, body) = exchange(app, client, &param(&callback, "code").unwrap(), &verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn userinfo(app: &TestApp, access_token: &str) -> serde_json::Value {
    userinfo_get(app, access_token).await.json().await.unwrap()
}

#[tokio::test]
async fn the_support_scope_releases_level_phone_and_pin_in_userinfo_only() {
    let app = TestApp::spawn().await;
    let client = app.client_with(portal_spec(None)).await;
    company_user(&app, "sam", "priority").await;
    let browser = Browser::new();
    let t = tokens(&app, &browser, &client, "sam", SCOPE).await;
    let info = userinfo(&app, t["access_token"].as_str().unwrap()).await;
    assert_eq!(info["support_level"], "priority");
    assert_eq!(
        info["support_phone"],
        app.state.config.support.regions["EMEA"]
    );
    let pin = info["support_pin"].as_str().unwrap().to_owned();
    assert_eq!(pin.len(), 6);
    assert!(pin.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(info["company"]["name"], "ACME Demo");
    assert_eq!(info["company"]["domain"], "acme-demo.example");
    assert_eq!(info["roles"], serde_json::json!(["super_admin"]));
    let (_, id) = jwt_parts(t["id_token"].as_str().unwrap());
    assert_eq!(id["company"], info["company"]);
    assert_eq!(id["roles"], serde_json::json!(["super_admin"]));
    assert!(
        id.get("support_pin").is_none() && id.get("support_level").is_none(),
        "never in the ID token"
    );
    // The PIN is stable, and sealed at rest.
    let again = userinfo(&app, t["access_token"].as_str().unwrap()).await;
    assert_eq!(again["support_pin"], pin.as_str());
    let (sealed,): (String,) =
        sqlx::query_as("SELECT support_pin FROM users WHERE username = 'sam'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(
        !sealed.contains(&pin) && sealed.split('.').count() == 5,
        "a JWE, not the PIN"
    );
    // Without the scope, nothing about support.
    let plain = tokens(&app, &browser, &client, "sam", "openid profile").await;
    let info = userinfo(&app, plain["access_token"].as_str().unwrap()).await;
    assert!(
        info.get("support_level").is_none() && info.get("company").is_none(),
        "{info}"
    );
}

#[tokio::test]
async fn companies_without_support_get_no_support_claims() {
    let app = TestApp::spawn().await;
    let client = app.client_with(portal_spec(None)).await;
    company_user(&app, "basic", "none").await;
    let t = tokens(&app, &Browser::new(), &client, "basic", SCOPE).await;
    let info = userinfo(&app, t["access_token"].as_str().unwrap()).await;
    assert!(info.get("support_level").is_none(), "{info}");
    assert!(info.get("support_phone").is_none());
    assert!(info.get("support_pin").is_none());
}

#[tokio::test]
async fn users_rotate_their_pin_and_operators_check_it_throttled_and_audited() {
    let app = TestApp::spawn().await;
    company_user(&app, "caller", "plus").await;
    let user = idp::db::users::find_by_login(&app.state.db, "caller")
        .await
        .unwrap()
        .unwrap();
    let first = app.pin(&user.id).await;
    // The profile shows the PIN and rotates it.
    let browser = app.signed_in("caller").await;
    let Page { body: page, .. } = browser.get(&app.url("/profile")).await;
    assert!(page.contains(&first), "the profile shows the PIN");
    let Page {
        status, location, ..
    } = browser
        .submit_form(&app, "/profile", "/profile/support-pin", &[])
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/profile?notice=pin_rotated"))
    );
    let second = app.pin(&user.id).await;
    assert_ne!(first, second);

    // An operator checks PINs read out on the phone.
    app.operator("agent", "agent@provider.example").await;
    let ops = app.signed_in("agent").await;
    let check = |pin: String| {
        let app = &app;
        let ops = &ops;
        async move {
            ops.submit_form(
                app,
                "/admin/support",
                "/admin/support",
                &[("email", "caller@acme-demo.example"), ("pin", &pin)],
            )
            .await
        }
    };
    let Page {
        status, body: page, ..
    } = check(second.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("The PIN matches caller@acme-demo.example"));
    let Page { body: page, .. } = check(first.clone()).await;
    assert!(page.contains("does not match"), "the old PIN is gone");
    for _ in 0..5 {
        check("000000".into()).await;
    }
    let Page {
        status, body: page, ..
    } = check(second.clone()).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "guessing PINs is throttled"
    );
    assert!(page.contains("try again in"));
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE action = 'support.pin_checked' AND actor = 'operator:agent'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(n, 7, "every check is audited");
    // A customer cannot use the operator page.
    let Page { status, .. } = browser.get(&app.url("/admin/support")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn operators_set_support_with_the_cli_and_the_admin_page() {
    let app = TestApp::spawn().await;
    company_user(&app, "level", "none").await;
    let out = app.cli(&[
        "companies",
        "set",
        "acme-demo.example",
        "--support-level",
        "priority",
        "--region",
        "APAC",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = app.cli(&["companies", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["support_level"], "priority");
    assert_eq!(list[0]["region"], "APAC");
    assert_eq!(list[0]["users"], 1);
    for bad in [
        vec![
            "companies",
            "set",
            "acme-demo.example",
            "--support-level",
            "gold",
        ],
        vec![
            "companies",
            "set",
            "acme-demo.example",
            "--support-level",
            "plus",
            "--region",
            "MARS",
        ],
        vec![
            "companies",
            "set",
            "nowhere.example",
            "--support-level",
            "plus",
        ],
    ] {
        let out = app.cli(&bad);
        assert!(!out.status.success(), "{bad:?}");
    }
    app.operator("ops", "ops.person@provider.example").await;
    let ops = app.signed_in("ops").await;
    let Page {
        status, location, ..
    } = ops
        .submit_form(
            &app,
            "/admin/companies",
            "/admin/companies/acme-demo.example/support",
            &[("level", "standard"), ("region", "EMEA")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location:?}");
    let company = idp::db::companies::find_by_domain(app.state.db.pool(), "acme-demo.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (company.support_level.as_str(), company.region.as_deref()),
        ("standard", Some("EMEA"))
    );
    let Page { status, .. } = ops
        .submit_form(
            &app,
            "/admin/companies",
            "/admin/companies/acme-demo.example/support",
            &[("level", "gold")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Logs `username` in through `client` in `browser`; returns the token response.
pub(crate) async fn signed_in(
    app: &TestApp,
    browser: &Browser,
    client: &TestClient,
    username: &str,
) -> serde_json::Value {
    tokens(
        app,
        browser,
        client,
        username,
        "openid profile offline_access",
    )
    .await
}

pub(crate) async fn silent(
    app: &TestApp,
    browser: &Browser,
    client: &TestClient,
) -> Option<String> {
    let (_, challenge) = pkce();
    let Page { location, .. } = browser
        .get(&authorize_url(
            app,
            client,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    param(&url::Url::parse(&location.unwrap()).unwrap(), "error")
}

#[tokio::test]
async fn rp_initiated_logout_with_a_valid_hint_ends_the_session_and_redirects() {
    let app = TestApp::spawn().await;
    let client = app.client_with(portal_spec(None)).await;
    app.user("leaver").await;
    let browser = Browser::new();
    let t = signed_in(&app, &browser, &client, "leaver").await;
    let hint = t["id_token"].as_str().unwrap();
    let discovery: serde_json::Value = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["end_session_endpoint"], app.url("/logout"));
    assert_eq!(discovery["backchannel_logout_supported"], true);
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", hint)
        .append_pair("post_logout_redirect_uri", "https://portal.example/bye")
        .append_pair("state", "s-42")
        .finish();
    let Page {
        status, location, ..
    } = browser.get(&app.url(&format!("/logout?{query}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("https://portal.example/bye?state=s-42")
    );
    assert_eq!(
        silent(&app, &browser, &client).await.as_deref(),
        Some("login_required")
    );
    let (status, body) = token_request(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "logout revokes the session's refresh tokens"
    );
}

#[tokio::test]
async fn logout_never_redirects_to_an_unregistered_uri_or_without_a_valid_hint() {
    let app = TestApp::spawn().await;
    let client = app.client_with(portal_spec(None)).await;
    let other = app.client_with(portal_spec(None)).await;
    app.user("stayer").await;
    let browser = Browser::new();
    let t = signed_in(&app, &browser, &client, "stayer").await;
    let hint = t["id_token"].as_str().unwrap().to_owned();
    let logout = |params: Vec<(&str, &str)>| {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        app.url(&format!("/logout?{query}"))
    };
    // A valid hint with an unregistered post_logout_redirect_uri: an error page.
    for uri in [
        "https://evil.example/",
        "https://portal.example/bye/",
        "https://portal.example/byex",
    ] {
        let Page {
            status, location, ..
        } = browser
            .get(&logout(vec![
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", uri),
            ]))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(location.is_none());
    }
    // client_id that disagrees with the hint.
    let Page { status, .. } = browser
        .get(&logout(vec![
            ("id_token_hint", &hint),
            ("client_id", &other.id),
        ]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // No hint, or a forged one: a confirmation page and never a redirect.
    let forged = format!("{}.eyJzdWIiOiJ4In0.AAAA", hint.split('.').next().unwrap());
    for params in [
        vec![("post_logout_redirect_uri", "https://portal.example/bye")],
        vec![
            ("id_token_hint", forged.as_str()),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ],
        vec![],
    ] {
        let Page {
            status,
            location,
            body: page,
            ..
        } = browser.get(&logout(params)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(location.is_none());
        assert!(page.contains("Do you want to sign out"), "{page}");
    }
    assert_eq!(
        silent(&app, &browser, &client).await,
        None,
        "still signed in until confirmed"
    );
    // Confirming without the CSRF token does nothing; with it, the session ends.
    let r = browser
        .http
        .post(app.url("/logout"))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let Page {
        status,
        location,
        body: page,
        ..
    } = browser
        .submit_form(&app, "/logout", "/logout", &[("confirm", "yes")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(location.is_none());
    assert!(page.contains("You are signed out"));
    assert_eq!(
        silent(&app, &browser, &client).await.as_deref(),
        Some("login_required")
    );
}

#[derive(Clone, Default)]
pub(crate) struct Receiver {
    pub(crate) tokens: Arc<Mutex<Vec<String>>>,
    fail_first: Arc<Mutex<u32>>,
}

async fn receive(
    State(r): State<Receiver>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> AxumStatus {
    {
        let mut fail = r.fail_first.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return AxumStatus::SERVICE_UNAVAILABLE;
        }
    }
    r.tokens
        .lock()
        .unwrap()
        .push(form.get("logout_token").cloned().unwrap_or_default());
    AxumStatus::OK
}

/// A relying party's back-channel endpoint, answering 503 `fail_first` times.
pub(crate) async fn backchannel_receiver(fail_first: u32) -> (String, Receiver) {
    let receiver = Receiver {
        tokens: Arc::default(),
        fail_first: Arc::new(Mutex::new(fail_first)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/backchannel-logout",
        listener.local_addr().unwrap().port()
    );
    let app = Router::new()
        .route("/backchannel-logout", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, receiver)
}

/// Delivers `app`'s due logout tokens (what the logout worker would do, but now) and
/// returns every token `receiver` has got; at least `n`.
pub(crate) async fn delivered_tokens(app: &TestApp, receiver: &Receiver, n: usize) -> Vec<String> {
    app.deliver_logouts().await;
    let got = receiver.tokens.lock().unwrap().clone();
    assert!(
        got.len() >= n,
        "expected {n} logout tokens, got {}",
        got.len()
    );
    got
}

/// Waits (up to 10 s) until `receiver` has got `n` tokens from another process.
pub(crate) async fn wait_for_tokens(receiver: &Receiver, n: usize) -> Vec<String> {
    for _ in 0..200 {
        let got = receiver.tokens.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("expected {n} logout tokens");
}

#[tokio::test]
async fn every_relying_party_of_the_session_gets_a_signed_logout_token() {
    let app = TestApp::spawn().await;
    let (customer_url, customer) = backchannel_receiver(0).await;
    let (app_url, app_portal) = backchannel_receiver(2).await;
    let customer_portal = app.client_with(portal_spec(Some(customer_url))).await;
    let app_client = app
        .client_with(ClientSpec {
            id_token_alg: idp::crypto::keys::SigningAlg::ES256,
            ..portal_spec(Some(app_url))
        })
        .await;
    let bystander = app.client_with(portal_spec(None)).await;
    let user = app.user("everywhere").await;
    let browser = Browser::new();
    let first = signed_in(&app, &browser, &customer_portal, "everywhere").await;
    signed_in(&app, &browser, &app_client, "everywhere").await;
    signed_in(&app, &browser, &bystander, "everywhere").await;
    let (_, id_claims) = jwt_parts(first["id_token"].as_str().unwrap());
    let sid = id_claims["sid"].as_str().unwrap().to_owned();

    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", first["id_token"].as_str().unwrap())
        .finish();
    let Page {
        status, body: page, ..
    } = browser.get(&app.url(&format!("/logout?{query}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("You are signed out"));

    let token = delivered_tokens(&app, &customer, 1).await.remove(0);
    let (header, _) = jwt_parts(&token);
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(header["alg"], "RS256");
    let verified = app
        .state
        .keys
        .verify(&token, idp::crypto::keys::JwtType::LogoutToken)
        .expect("signed by the provider, typ logout+jwt");
    assert_eq!(verified["iss"], app.base);
    assert_eq!(verified["aud"], customer_portal.id);
    assert_eq!(verified["sub"], user.id);
    assert_eq!(verified["sid"], sid);
    assert!(verified["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(verified.get("nonce").is_none());
    assert!(verified["jti"].is_string());
    assert!(verified["exp"].as_i64().unwrap() > verified["iat"].as_i64().unwrap());

    // The App Portal was down twice; the delivery is retried with backoff.
    assert!(app_portal.tokens.lock().unwrap().is_empty());
    for _ in 0..3 {
        app.clock.advance(3600);
        app.deliver_logouts().await;
    }
    let token = delivered_tokens(&app, &app_portal, 1).await.remove(0);
    let (header, claims) = jwt_parts(&token);
    assert_eq!(
        header["alg"], "ES256",
        "signed with the client's ID token algorithm"
    );
    assert_eq!(claims["aud"], app_client.id);
    assert_eq!(claims["sid"], sid);
}

#[tokio::test]
async fn sessions_ended_from_the_profile_or_by_a_password_change_tell_the_relying_parties() {
    let app = TestApp::spawn().await;
    let (url, receiver) = backchannel_receiver(0).await;
    let portal = app.client_with(portal_spec(Some(url))).await;
    let user = app.user("many").await;
    let sid_of = |t: &serde_json::Value| {
        jwt_parts(t["id_token"].as_str().unwrap()).1["sid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Three browsers signed in at the portal.
    let (me, laptop, phone) = (Browser::new(), Browser::new(), Browser::new());
    let mine = signed_in(&app, &me, &portal, "many").await;
    let on_laptop = signed_in(&app, &laptop, &portal, "many").await;
    let on_phone = signed_in(&app, &phone, &portal, "many").await;
    // One is signed out from the profile.
    let Page { status, .. } = me
        .submit_form(
            &app,
            "/profile",
            &format!("/profile/sessions/{}/end", sid_of(&on_laptop)),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let tokens = delivered_tokens(&app, &receiver, 1).await;
    let (_, claims) = jwt_parts(&tokens[0]);
    assert_eq!(claims["sid"], sid_of(&on_laptop));
    assert_eq!(claims["sub"], user.id);
    // "Sign out all other browsers" tells the portal about the phone's session.
    me.submit_form(&app, "/profile", "/profile/sessions/end-others", &[])
        .await;
    let tokens = delivered_tokens(&app, &receiver, 2).await;
    assert_eq!(jwt_parts(&tokens[1]).1["sid"], sid_of(&on_phone));
    // A password reset ends the last session, and the portal hears of it too.
    let fresh = Browser::new();
    let again = signed_in(&app, &fresh, &portal, "many").await;
    idp::account::password::set_password(
        &app.state,
        &user,
        "violet kettle drums at dawn",
        None,
        None,
        idp::account::password::Reason::Reset,
    )
    .await
    .unwrap();
    let tokens = delivered_tokens(&app, &receiver, 4).await;
    let sids: Vec<String> = tokens[2..]
        .iter()
        .map(|t| jwt_parts(t).1["sid"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        sids.contains(&sid_of(&mine)) && sids.contains(&sid_of(&again)),
        "{sids:?}"
    );
}
