//! UserInfo (OIDC Core §5.3, RFC 6750), revocation (RFC 7009) and introspection
//! (RFC 7662) rules.

use reqwest::StatusCode;

use crate::harness::*;
use idp::oauth::client::GrantType;
use idp::oauth::registration::ClientSpec;

pub(crate) async fn tokens_for(
    app: &TestApp,
    client: &TestClient,
    user: &str,
) -> serde_json::Value {
    let (code, verifier) = code_for(app, client, user).await;
    let (status, body) = exchange(app, client, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub(crate) async fn post_form(
    app: &TestApp,
    path: &str,
    client: &TestClient,
    form: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(app.url(path))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn userinfo_accepts_get_and_post_and_answers_bearer_errors() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let user = app.user("info").await;
    let tokens = tokens_for(&app, &client, "info").await;
    let at = tokens["access_token"].as_str().unwrap();
    let http = reqwest::Client::new();
    for req in [
        http.get(app.url("/userinfo")),
        http.post(app.url("/userinfo")),
    ] {
        let r = req.bearer_auth(at).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["sub"], user.id);
        assert_eq!(body["email"], "info@example.com");
        assert_eq!(body["family_name"], "Lovelace");
        assert_eq!(body["locale"], "en");
        assert!(body["updated_at"].is_i64());
    }
    // No token: 401 with a bare Bearer challenge.
    let r = http.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body.get("error").is_none(),
        "no error code without credentials: {body}"
    );
    // Garbage and expired tokens: invalid_token.
    for token in ["garbage", "a.b.c"] {
        let r = http
            .get(app.url("/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
    }
    app.clock.advance(601);
    let r = http
        .get(app.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "expired");
}

#[tokio::test]
async fn userinfo_releases_only_the_granted_scopes() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("narrow").await;
    let (verifier, challenge) = pkce();
    let cb = Browser::new()
        .login(
            &app,
            &authorize_url(&app, &client, &challenge, &[("scope", "openid")]),
            "narrow",
        )
        .await;
    let (_, body) = exchange(&app, &client, &param(&cb, "code").unwrap(), &verifier).await;
    let info: serde_json::Value = reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(info["sub"].is_string());
    assert!(
        info.get("email").is_none() && info.get("name").is_none(),
        "{info}"
    );
}

#[tokio::test]
async fn client_credentials_tokens_cannot_read_userinfo() {
    let app = TestApp::spawn().await;
    let service = app
        .client_with(ClientSpec {
            grant_types: vec![GrantType::ClientCredentials],
            ..ClientSpec::default()
        })
        .await;
    let (_, body) = token_request(&app, &service, &[("grant_type", "client_credentials")]).await;
    let r = reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
}

#[tokio::test]
async fn revocation_rules() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let other = app.client().await;
    app.user("rev").await;
    let tokens = tokens_for(&app, &client, "rev").await;
    let at = tokens["access_token"].as_str().unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();
    // Unknown tokens: 200.
    assert_eq!(
        post_form(&app, "/revoke", &client, &[("token", "unknown")])
            .await
            .0,
        StatusCode::OK
    );
    // Another client's token: 200, but nothing happens.
    assert_eq!(
        post_form(&app, "/revoke", &other, &[("token", rt)]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        post_form(&app, "/revoke", &other, &[("token", at)]).await.0,
        StatusCode::OK
    );
    let (_, intro) = post_form(&app, "/introspect", &client, &[("token", at)]).await;
    assert_eq!(intro["active"], true, "a foreign client cannot revoke");
    // Client authentication is required.
    let r = reqwest::Client::new()
        .post(app.url("/revoke"))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Missing token parameter.
    let (status, body) = post_form(&app, "/revoke", &client, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    // Revoking the access token alone.
    assert_eq!(
        post_form(
            &app,
            "/revoke",
            &client,
            &[("token", at), ("token_type_hint", "access_token")]
        )
        .await
        .0,
        StatusCode::OK
    );
    let (_, intro) = post_form(&app, "/introspect", &client, &[("token", at)]).await;
    assert_eq!(intro, serde_json::json!({"active": false}));
    let (_, intro) = post_form(&app, "/introspect", &client, &[("token", rt)]).await;
    assert_eq!(
        intro["active"], true,
        "the refresh token survives an access-token revocation"
    );
    // Revoking the refresh token ends the grant.
    assert_eq!(
        post_form(&app, "/revoke", &client, &[("token", rt)])
            .await
            .0,
        StatusCode::OK
    );
    let (_, intro) = post_form(&app, "/introspect", &client, &[("token", rt)]).await;
    assert_eq!(intro, serde_json::json!({"active": false}));
}

#[tokio::test]
async fn a_public_client_revokes_its_own_tokens() {
    let app = TestApp::spawn().await;
    let public = app
        .client_with(ClientSpec {
            auth_method: idp::oauth::client::AuthMethod::None,
            ..ClientSpec::default()
        })
        .await;
    app.user("pubrev").await;
    let tokens = tokens_for(&app, &public, "pubrev").await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let r = reqwest::Client::new()
        .post(app.url("/revoke"))
        .form(&[("token", rt), ("client_id", public.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, body) = token_request(
        &app,
        &public,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn introspection_rules() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let other = app.client().await;
    let user = app.user("intro").await;
    let tokens = tokens_for(&app, &client, "intro").await;
    let at = tokens["access_token"].as_str().unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = post_form(&app, "/introspect", &client, &[("token", at)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], user.id);
    assert_eq!(body["client_id"], client.id);
    assert_eq!(body["scope"], "email openid profile");
    assert_eq!(body["iss"], app.base);
    let (_, body) = post_form(&app, "/introspect", &client, &[("token", rt)]).await;
    assert_eq!(body["active"], true);
    // Foreign, unknown and garbage tokens: exactly {"active": false}.
    for (caller, token) in [
        (&other, at),
        (&other, rt),
        (&client, "nope"),
        (&client, "x.y.z"),
    ] {
        let (status, body) = post_form(&app, "/introspect", caller, &[("token", token)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, serde_json::json!({"active": false}));
    }
    let r = reqwest::Client::new()
        .post(app.url("/introspect"))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    app.clock.advance(601);
    let (_, body) = post_form(&app, "/introspect", &client, &[("token", at)]).await;
    assert_eq!(body, serde_json::json!({"active": false}), "expired");
}
