//! The authorization endpoint's rules (OIDC Core §3.1.2, RFC 9700 §2.1, §4.1.3).

use reqwest::StatusCode;

use crate::harness::*;
use idp::oauth::client::AuthMethod;
use idp::oauth::registration::ClientSpec;

/// Expects an error redirect to the client with `error`, the unchanged state and iss.
async fn expect_redirect_error(app: &TestApp, url: &str, error: &str, state: Option<&str>) {
    let Page {
        status,
        location,
        body,
        ..
    } = Browser::new().get(url).await;
    assert_eq!(status, StatusCode::FOUND, "{url}: {body}");
    let location = url::Url::parse(&location.unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT_URI), "{location}");
    assert_eq!(param(&location, "error").as_deref(), Some(error), "{url}");
    assert_eq!(param(&location, "state").as_deref(), state);
    assert_eq!(param(&location, "iss").as_deref(), Some(app.base.as_str()));
    assert!(param(&location, "code").is_none());
}

/// Expects a 400 error page and no redirect.
async fn expect_error_page(url: &str) -> String {
    let Page {
        status,
        location,
        body,
        ..
    } = Browser::new().get(url).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{url}");
    assert!(
        location.is_none(),
        "an untrusted client or redirect_uri is never redirected to"
    );
    assert!(body.contains("<html"), "an HTML error page");
    body
}

#[tokio::test]
async fn unknown_client_or_redirect_uri_gets_an_error_page() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    let body = expect_error_page(&authorize_url(
        &app,
        &client,
        &challenge,
        &[("client_id", "nope")],
    ))
    .await;
    assert!(body.contains("not registered"));
    expect_error_page(&authorize_url(
        &app,
        &client,
        &challenge,
        &[("client_id", "")],
    ))
    .await;
    for bad in [
        "http://127.0.0.1:9/callback/",
        "http://127.0.0.1:9/callback/x",
        "http://127.0.0.1:9/callback?x=1",
        "http://127.0.0.1:9/CALLBACK",
        "http://127.0.0.1:9/callback#frag",
        "http://localhost:9/callback",
        "https://evil.example/callback",
        "http://127.0.0.1:9/callbackx",
    ] {
        expect_error_page(&authorize_url(
            &app,
            &client,
            &challenge,
            &[("redirect_uri", bad)],
        ))
        .await;
    }
    // Repeated client_id or redirect_uri: the page, not a redirect.
    let url = authorize_url(&app, &client, &challenge, &[]);
    expect_error_page(&format!("{url}&client_id={}", client.id)).await;
    expect_error_page(&format!("{url}&redirect_uri=x")).await;
}

#[tokio::test]
async fn redirect_uri_may_be_omitted_only_with_a_single_registration() {
    let app = TestApp::spawn().await;
    let one = app.client().await;
    let two = app
        .client_with(ClientSpec {
            redirect_uris: vec![REDIRECT_URI.into(), "https://rp.example/cb".into()],
            ..ClientSpec::default()
        })
        .await;
    let (_, challenge) = pkce();
    let Page {
        status, location, ..
    } = Browser::new()
        .get(&authorize_url(
            &app,
            &one,
            &challenge,
            &[("redirect_uri", "")],
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.unwrap().starts_with("/login"));
    expect_error_page(&authorize_url(
        &app,
        &two,
        &challenge,
        &[("redirect_uri", "")],
    ))
    .await;
}

#[tokio::test]
async fn only_the_loopback_port_may_vary() {
    let app = TestApp::spawn().await;
    // A public (native) client: RFC 8252 §7.3 lets the loopback port vary.
    let client = app
        .client_with(ClientSpec {
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            auth_method: AuthMethod::None,
            ..ClientSpec::default()
        })
        .await;
    // A confidential web client with the same registration gets exact matching.
    let web = app
        .client_with(ClientSpec {
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            ..ClientSpec::default()
        })
        .await;
    app.user("loop").await;
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &app,
        &client,
        &challenge,
        &[("redirect_uri", "http://127.0.0.1:53123/cb")],
    );
    let callback = Browser::new().login(&app, &url, "loop").await;
    assert!(callback.as_str().starts_with("http://127.0.0.1:53123/cb?"));
    let code = param(&callback, "code").unwrap();
    // The token request must repeat the exact redirect_uri used.
    let (status, body) = token_request(
        &app,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:53123/cb"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    expect_error_page(&authorize_url(
        &app,
        &client,
        &challenge,
        &[("redirect_uri", "http://127.0.0.1:53123/cb2")],
    ))
    .await;
    expect_error_page(&authorize_url(
        &app,
        &web,
        &challenge,
        &[("redirect_uri", "http://127.0.0.1:53123/cb")],
    ))
    .await;
}

#[tokio::test]
async fn errors_after_validation_redirect_with_state_and_iss() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    let st = Some("st-123");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            vec![("response_type", "code id_token")],
            "unsupported_response_type",
        ),
        (vec![("response_type", "")], "invalid_request"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (vec![("code_challenge", "too-short")], "invalid_request"),
        (vec![("scope", "")], "invalid_request"),
        (vec![("scope", "unknown other")], "invalid_scope"),
        (vec![("scope", "openid\u{1}")], "invalid_scope"),
        (
            vec![("request", "eyJhbGciOiJub25lIn0.e30.")],
            "request_not_supported",
        ),
        (
            vec![("request_uri", "https://x.example/r")],
            "request_uri_not_supported",
        ),
        (vec![("prompt", "none login")], "invalid_request"),
        (vec![("max_age", "-1")], "invalid_request"),
        (vec![("max_age", "soon")], "invalid_request"),
        (vec![("id_token_hint", "not-a-jwt")], "invalid_request"),
        (vec![("response_mode", "fragment")], "invalid_request"),
    ];
    for (extra, error) in cases {
        expect_redirect_error(
            &app,
            &authorize_url(&app, &client, &challenge, &extra),
            error,
            st,
        )
        .await;
    }
    // A repeated parameter other than client_id/redirect_uri: invalid_request, redirected.
    let url = authorize_url(&app, &client, &challenge, &[]);
    expect_redirect_error(&app, &format!("{url}&scope=openid"), "invalid_request", st).await;
    // A repeated state cannot be echoed.
    expect_redirect_error(&app, &format!("{url}&state=other"), "invalid_request", None).await;
}

#[tokio::test]
async fn pkce_is_required_for_public_clients_and_by_default() {
    let app = TestApp::spawn().await;
    let public = app
        .client_with(ClientSpec {
            auth_method: AuthMethod::None,
            require_pkce: false,
            ..ClientSpec::default()
        })
        .await;
    let default = app.client().await;
    let relaxed = app
        .client_with(ClientSpec {
            require_pkce: false,
            ..ClientSpec::default()
        })
        .await;
    let no_pkce = [("code_challenge", ""), ("code_challenge_method", "")];
    for client in [&public, &default] {
        expect_redirect_error(
            &app,
            &authorize_url(&app, client, "", &no_pkce),
            "invalid_request",
            Some("st-123"),
        )
        .await;
    }
    app.user("relaxed").await;
    let callback = Browser::new()
        .login(
            &app,
            &authorize_url(&app, &relaxed, "", &no_pkce),
            "relaxed",
        )
        .await;
    let code = param(&callback, "code").unwrap();
    let (status, body) = token_request(
        &app,
        &relaxed,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
        ],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a confidential client switched off PKCE works: {body}"
    );
}

#[tokio::test]
async fn prompt_none_without_session_is_login_required() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    expect_redirect_error(
        &app,
        &authorize_url(&app, &client, &challenge, &[("prompt", "none")]),
        "login_required",
        Some("st-123"),
    )
    .await;
}

#[tokio::test]
async fn second_client_completes_by_sso_and_prompt_none_works_with_a_session() {
    let app = TestApp::spawn().await;
    let portal_a = app.client().await;
    let portal_b = app.client().await;
    app.user("sso").await;
    let browser = Browser::new();
    let (_, challenge) = pkce();
    let first = browser
        .login(
            &app,
            &authorize_url(&app, &portal_a, &challenge, &[]),
            "sso",
        )
        .await;
    assert!(param(&first, "code").is_some());
    // Another client, same browser: straight back with a code, no login form.
    let second = browser
        .follow_to_callback(&authorize_url(&app, &portal_b, &challenge, &[]))
        .await;
    assert!(param(&second, "code").is_some());
    let silent = browser
        .follow_to_callback(&authorize_url(
            &app,
            &portal_b,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert!(param(&silent, "code").is_some());
    assert!(param(&silent, "error").is_none());
    // A fresh browser has no session.
    let Page {
        status, location, ..
    } = Browser::new()
        .get(&authorize_url(&app, &portal_b, &challenge, &[]))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.unwrap().starts_with("/login"));
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_login() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("again").await;
    let browser = Browser::new();
    let (verifier, challenge) = pkce();
    let first = browser
        .login(
            &app,
            &authorize_url(&app, &client, &challenge, &[]),
            "again",
        )
        .await;
    let (_, body) = exchange(&app, &client, &param(&first, "code").unwrap(), &verifier).await;
    let (_, claims) = jwt_parts(body["id_token"].as_str().unwrap());
    let first_auth_time = claims["auth_time"].as_i64().unwrap();

    // prompt=login shows the form even with a session.
    browser
        .start(
            &app,
            &authorize_url(&app, &client, &challenge, &[("prompt", "login")]),
        )
        .await;

    app.clock.advance(120);
    // max_age larger than the session's age: SSO.
    let ok = browser
        .follow_to_callback(&authorize_url(
            &app,
            &client,
            &challenge,
            &[("max_age", "600")],
        ))
        .await;
    let (_, body) = exchange(&app, &client, &param(&ok, "code").unwrap(), &verifier).await;
    let (_, claims) = jwt_parts(body["id_token"].as_str().unwrap());
    assert_eq!(
        claims["auth_time"].as_i64(),
        Some(first_auth_time),
        "auth_time is the real login time"
    );
    // max_age elapsed: prompt=none says login_required; otherwise a new login.
    expect_redirect_error(
        &app,
        &authorize_url(
            &app,
            &client,
            &challenge,
            &[("max_age", "60"), ("prompt", "none")],
        ),
        "login_required",
        Some("st-123"),
    )
    .await;
    let again = browser
        .login(
            &app,
            &authorize_url(&app, &client, &challenge, &[("max_age", "60")]),
            "again",
        )
        .await;
    let (_, body) = exchange(&app, &client, &param(&again, "code").unwrap(), &verifier).await;
    let (_, claims) = jwt_parts(body["id_token"].as_str().unwrap());
    assert_eq!(claims["auth_time"].as_i64(), Some(first_auth_time + 120));
}

#[tokio::test]
async fn login_hint_prefills_and_unknown_parameters_are_ignored() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    let login = browser
        .start(
            &app,
            &authorize_url(
                &app,
                &client,
                &challenge,
                &[("login_hint", "hint@example.com"), ("foo", "bar")],
            ),
        )
        .await;
    let Page { body: page, .. } = browser.get(&login).await;
    assert!(
        page.contains("value=\"hint@example.com\""),
        "login_hint pre-fills the username"
    );
}

#[tokio::test]
async fn id_token_hint_of_another_user_with_prompt_none_is_login_required() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("hinted").await;
    app.user("other").await;
    // An ID token for "other".
    let (code, verifier) = code_for(&app, &client, "other").await;
    let (_, body) = exchange(&app, &client, &code, &verifier).await;
    let other_hint = body["id_token"].as_str().unwrap().to_owned();
    // This browser is logged in as "hinted".
    let browser = Browser::new();
    let (verifier, challenge) = pkce();
    let cb = browser
        .login(
            &app,
            &authorize_url(&app, &client, &challenge, &[]),
            "hinted",
        )
        .await;
    let (_, body) = exchange(&app, &client, &param(&cb, "code").unwrap(), &verifier).await;
    let own_hint = body["id_token"].as_str().unwrap().to_owned();
    // Even an expired hint of the session's own user is accepted.
    app.clock.advance(3 * 3600);
    let ok = browser
        .follow_to_callback(&authorize_url(
            &app,
            &client,
            &challenge,
            &[("prompt", "none"), ("id_token_hint", &own_hint)],
        ))
        .await;
    assert!(param(&ok, "code").is_some());
    let Page {
        status, location, ..
    } = browser
        .get(&authorize_url(
            &app,
            &client,
            &challenge,
            &[("prompt", "none"), ("id_token_hint", &other_hint)],
        ))
        .await;
    assert_eq!(status, StatusCode::FOUND);
    let location = url::Url::parse(&location.unwrap()).unwrap();
    assert_eq!(param(&location, "error").as_deref(), Some("login_required"));
    // A hint signed by someone else is invalid_request.
    let (header, _) = own_hint.split_once('.').unwrap();
    let forged = format!("{header}.eyJzdWIiOiJ4In0.AAAA");
    expect_redirect_error(
        &app,
        &authorize_url(&app, &client, &challenge, &[("id_token_hint", &forged)]),
        "invalid_request",
        Some("st-123"),
    )
    .await;
}

#[tokio::test]
async fn post_to_the_authorization_endpoint_works_like_get() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    let url = authorize_url(&app, &client, &challenge, &[]);
    let query = url.split_once('?').unwrap().1.to_owned();
    let r = Browser::new()
        .http
        .post(app.url("/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login?request_id="));
}

#[tokio::test]
async fn max_age_zero_always_asks_for_a_fresh_login() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("fresh").await;
    let browser = Browser::new();
    let (_, challenge) = pkce();
    browser
        .login(
            &app,
            &authorize_url(&app, &client, &challenge, &[]),
            "fresh",
        )
        .await;
    // The same second as the login: still a new login is required.
    expect_redirect_error(
        &app,
        &authorize_url(
            &app,
            &client,
            &challenge,
            &[("max_age", "0"), ("prompt", "none")],
        ),
        "login_required",
        Some("st-123"),
    )
    .await;
    let Page {
        status, location, ..
    } = browser
        .get(&authorize_url(
            &app,
            &client,
            &challenge,
            &[("max_age", "0"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(status, StatusCode::FOUND);
    assert!(location
        .unwrap()
        .contains("error_description=the+user+must+sign+in+again"));
}
