//! Explicit typing of the JWTs the provider accepts (RFC 8725 §3.11): an id_token_hint
//! must be one of our ID tokens, never an access token (`at+jwt`) or a back-channel
//! logout token (`logout+jwt`); UserInfo, introspection and revocation take only
//! access tokens. And the post-logout redirect keeps the registered URI byte for byte.

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;
use crate::support_logout::{
    backchannel_receiver, delivered_tokens, portal_spec, signed_in, silent,
};

/// What a relying party holds after a login in `browser`, plus a logout token the
/// provider really sent it (for the user's session in another browser, now ended).
struct Tokens {
    id_token: String,
    access_token: String,
    refresh_token: String,
    logout_token: String,
}

async fn setup(app: &TestApp, user: &str) -> (TestClient, Browser, Tokens) {
    let (uri, receiver) = backchannel_receiver(0).await;
    let client = app.client_with(portal_spec(Some(uri))).await;
    app.user(user).await;
    // A second browser signs in and out: its relying party gets a logout token.
    let elsewhere = Browser::new();
    let other = signed_in(app, &elsewhere, &client, user).await;
    let Page { status, .. } = elsewhere
        .get(&logout_url(
            app,
            &[("id_token_hint", other["id_token"].as_str().unwrap())],
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let logout_token = delivered_tokens(app, &receiver, 1).await.remove(0);
    assert_eq!(jwt_parts(&logout_token).0["typ"], "logout+jwt");

    let browser = Browser::new();
    let t = signed_in(app, &browser, &client, user).await;
    let s = |name: &str| t[name].as_str().unwrap().to_owned();
    let tokens = Tokens {
        id_token: s("id_token"),
        access_token: s("access_token"),
        refresh_token: s("refresh_token"),
        logout_token,
    };
    assert_eq!(jwt_parts(&tokens.access_token).0["typ"], "at+jwt");
    (client, browser, tokens)
}

fn logout_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    app.url(&format!("/logout?{query}"))
}

#[tokio::test]
async fn access_and_logout_tokens_never_end_a_session_as_id_token_hint() {
    let app = TestApp::spawn().await;
    let (client, browser, t) = setup(&app, "typed").await;
    for (kind, hint) in [
        ("access token", &t.access_token),
        ("logout token", &t.logout_token),
    ] {
        let Page {
            status,
            location,
            body: page,
            ..
        } = browser
            .get(&logout_url(
                &app,
                &[
                    ("id_token_hint", hint),
                    ("post_logout_redirect_uri", "https://portal.example/bye"),
                    ("state", "s-1"),
                ],
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{kind}");
        assert_eq!(location, None, "{kind}: no redirect");
        assert!(page.contains("Do you want to sign out"), "{kind}: {page}");
        assert_eq!(
            silent(&app, &browser, &client).await,
            None,
            "{kind}: the session is still there"
        );
    }
    // The ID token does end it.
    let Page {
        status, location, ..
    } = browser
        .get(&logout_url(
            &app,
            &[
                ("id_token_hint", &t.id_token),
                ("post_logout_redirect_uri", "https://portal.example/bye"),
                ("state", "s-1"),
            ],
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("https://portal.example/bye?state=s-1")
    );
    assert_eq!(
        silent(&app, &browser, &client).await.as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn access_and_logout_tokens_are_refused_as_id_token_hint_at_authorize() {
    let app = TestApp::spawn().await;
    let (client, browser, t) = setup(&app, "hinted").await;
    let (_, challenge) = pkce();
    let with_hint = |hint: &str| {
        authorize_url(
            &app,
            &client,
            &challenge,
            &[("prompt", "none"), ("id_token_hint", hint)],
        )
    };
    for (kind, hint) in [
        ("access token", &t.access_token),
        ("logout token", &t.logout_token),
    ] {
        let Page {
            status, location, ..
        } = browser.get(&with_hint(hint)).await;
        assert_eq!(status, StatusCode::FOUND, "{kind}");
        let callback = url::Url::parse(&location.unwrap()).unwrap();
        assert_eq!(
            param(&callback, "error").as_deref(),
            Some("invalid_request"),
            "{kind}"
        );
        assert_eq!(
            param(&callback, "code"),
            None,
            "{kind}: not taken as the user"
        );
    }
    let Page { location, .. } = browser.get(&with_hint(&t.id_token)).await;
    let callback = url::Url::parse(&location.unwrap()).unwrap();
    assert!(param(&callback, "code").is_some(), "{callback}");
}

async fn post_form(app: &TestApp, path: &str, client: &TestClient, token: &str) -> Value {
    let r = reqwest::Client::new()
        .post(app.url(path))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// A guard for the same rule at the access-token endpoints; this already held before
/// explicit typing moved into `Keys::verify`.
#[tokio::test]
async fn id_and_logout_tokens_are_not_access_tokens() {
    let app = TestApp::spawn().await;
    let (client, _, t) = setup(&app, "bearer").await;
    for (kind, token) in [("ID token", &t.id_token), ("logout token", &t.logout_token)] {
        let r = reqwest::Client::new()
            .get(app.url("/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{kind}");
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
        assert_eq!(
            post_form(&app, "/introspect", &client, token).await,
            serde_json::json!({"active": false}),
            "{kind}"
        );
        assert_eq!(
            post_form(&app, "/revoke", &client, token).await,
            serde_json::json!({})
        );
    }
    // Nothing was revoked.
    let body = post_form(&app, "/introspect", &client, &t.access_token).await;
    assert_eq!(body["active"], true);
    let body = post_form(&app, "/introspect", &client, &t.refresh_token).await;
    assert_eq!(body["active"], true);
}

#[tokio::test]
async fn a_post_logout_redirect_without_state_is_the_registered_uri_byte_for_byte() {
    let app = TestApp::spawn().await;
    let client = app.client_with(portal_spec(None)).await;
    app.user("plain").await;
    let browser = Browser::new();
    let t = signed_in(&app, &browser, &client, "plain").await;
    let Page {
        status, location, ..
    } = browser
        .get(&logout_url(
            &app,
            &[
                ("id_token_hint", t["id_token"].as_str().unwrap()),
                ("post_logout_redirect_uri", "https://portal.example/bye"),
            ],
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("https://portal.example/bye"));
}
