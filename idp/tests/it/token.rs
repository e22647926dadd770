//! Token endpoint rules: codes (single use, parallel redemption, expiry, binding,
//! PKCE), client authentication, refresh rotation and reuse, client_credentials, and
//! the shape of the tokens.

use reqwest::StatusCode;

use crate::harness::*;
use idp::oauth::client::{AuthMethod, GrantType};
use idp::oauth::registration::ClientSpec;

fn error_of(body: &serde_json::Value) -> &str {
    body["error"].as_str().unwrap_or("<none>")
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("replay").await;
    let (code, verifier) = code_for(&app, &client, "replay").await;
    let (status, first) = exchange(&app, &client, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&app, access).await, StatusCode::OK);
    let (status, second) = exchange(&app, &client, &code, &verifier).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&second), "invalid_grant");
    assert_eq!(
        userinfo_status(&app, access).await,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = token_request(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn ten_parallel_redemptions_give_exactly_one_success() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("race").await;
    let (code, verifier) = code_for(&app, &client, "race").await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (base, id, secret, code, verifier) = (
            app.base.clone(),
            client.id.clone(),
            client.secret.clone().unwrap(),
            code.clone(),
            verifier.clone(),
        );
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{base}/token"))
                .basic_auth(id, Some(secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", &verifier),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::BAD_REQUEST)
            .count(),
        9,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn codes_expire_after_sixty_seconds() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("slow").await;
    let (code, verifier) = code_for(&app, &client, "slow").await;
    app.clock.advance(61);
    let (status, body) = exchange(&app, &client, &code, &verifier).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn codes_are_bound_to_client_redirect_uri_and_verifier() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let other = app.client().await;
    app.user("bound").await;
    let (code, verifier) = code_for(&app, &client, "bound").await;
    // Another client cannot redeem it (and does not burn it).
    let (status, body) = exchange(&app, &other, &code, &verifier).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (status, body) = exchange(&app, &client, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    type Case = (Vec<(&'static str, &'static str)>, StatusCode, &'static str);
    let bad_cases: Vec<Case> = vec![
        (
            vec![("redirect_uri", "http://127.0.0.1:9/other")],
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            vec![("redirect_uri", "")],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            vec![("code_verifier", "")],
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            vec![("code_verifier", "short")],
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
    ];
    for (change, want_status, want_error) in bad_cases {
        let (code, verifier) = code_for(&app, &client, "bound").await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ];
        for (k, v) in &change {
            form.retain(|(name, _)| name != k);
            if !v.is_empty() {
                form.push((k, v));
            }
        }
        let (status, body) = token_request(&app, &client, &form).await;
        assert_eq!(
            (status, error_of(&body)),
            (want_status, want_error),
            "{change:?}"
        );
    }
    // A wrong (well-formed) verifier.
    let (code, _) = code_for(&app, &client, "bound").await;
    let (status, body) = exchange(&app, &client, &code, &pkce().0).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn a_verifier_without_a_challenge_is_a_downgrade() {
    let app = TestApp::spawn().await;
    let client = app
        .client_with(ClientSpec {
            require_pkce: false,
            ..ClientSpec::default()
        })
        .await;
    app.user("down").await;
    let url = authorize_url(
        &app,
        &client,
        "",
        &[("code_challenge", ""), ("code_challenge_method", "")],
    );
    let cb = Browser::new().login(&app, &url, "down").await;
    let (status, body) = exchange(&app, &client, &param(&cb, "code").unwrap(), &pkce().0).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn client_authentication_failures() {
    let app = TestApp::spawn().await;
    let basic = app.client().await;
    let post = app
        .client_with(ClientSpec {
            auth_method: AuthMethod::ClientSecretPost,
            ..ClientSpec::default()
        })
        .await;
    let http = reqwest::Client::new();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("redirect_uri", REDIRECT_URI),
    ];
    let check = |r: reqwest::Response| async move {
        let status = r.status();
        let www = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let cache = r
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: serde_json::Value = r.json().await.unwrap();
        (
            status,
            www,
            cache,
            body["error"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let secret = basic.secret.clone().unwrap();
    let cases = vec![
        // Wrong secret.
        http.post(app.url("/token"))
            .basic_auth(&basic.id, Some("wrong"))
            .form(&form),
        // Unknown client.
        http.post(app.url("/token"))
            .basic_auth("nobody", Some("x"))
            .form(&form),
        // No authentication at all for a confidential client.
        http.post(app.url("/token")).form(&[
            ("client_id", basic.id.as_str()),
            ("grant_type", "client_credentials"),
        ]),
        // A client_secret_basic client using client_secret_post.
        http.post(app.url("/token")).form(&[
            ("client_id", basic.id.as_str()),
            ("client_secret", secret.as_str()),
            ("grant_type", "authorization_code"),
        ]),
        // A client_secret_post client using Basic.
        http.post(app.url("/token"))
            .basic_auth(&post.id, post.secret.as_deref())
            .form(&form),
        // Malformed Basic headers.
        http.post(app.url("/token"))
            .header("authorization", "Basic %%%")
            .form(&form),
        http.post(app.url("/token"))
            .header("authorization", "Basic bm9jb2xvbg==")
            .form(&form),
    ];
    for req in cases {
        let (status, www, cache, error) = check(req.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error, "invalid_client");
        assert!(www.unwrap().starts_with("Basic"));
        assert_eq!(cache.as_deref(), Some("no-store"));
    }
    // Two methods at once: invalid_request.
    let r = http
        .post(app.url("/token"))
        .basic_auth(&basic.id, Some(&secret))
        .form(&[
            ("client_secret", secret.as_str()),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // client_secret_post works for its client.
    app.user("post-user").await;
    let (code, verifier) = code_for(&app, &post, "post-user").await;
    let r = http
        .post(app.url("/token"))
        .form(&[
            ("client_id", post.id.as_str()),
            ("client_secret", post.secret.as_deref().unwrap()),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded() {
    use base64::Engine as _;
    let app = TestApp::spawn().await;
    let client = app
        .client_with(ClientSpec {
            client_id: Some("portal:a+b%c".into()),
            grant_types: vec![GrantType::ClientCredentials],
            ..ClientSpec::default()
        })
        .await;
    let encoded_id: String = form_urlencoded::byte_serialize(client.id.as_bytes()).collect();
    let header = base64::engine::general_purpose::STANDARD.encode(format!(
        "{encoded_id}:{}",
        client.secret.as_deref().unwrap()
    ));
    let r = reqwest::Client::new()
        .post(app.url("/token"))
        .header("authorization", format!("Basic {header}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let other = app.client().await;
    app.user("rot").await;
    let (code, verifier) = code_for(&app, &client, "rot").await;
    let (_, first) = exchange(&app, &client, &code, &verifier).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let app = &app;
        let client = &client;
        async move {
            token_request(
                app,
                client,
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    // Another client cannot use it.
    let (status, body) = token_request(
        &app,
        &other,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (status, second) = refresh(r1.clone()).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    // A retry within the grace window gets the same new token: no second chain.
    let (status, retry) = refresh(r1.clone()).await;
    assert_eq!(status, StatusCode::OK, "{retry}");
    assert_eq!(retry["refresh_token"].as_str(), Some(r2.as_str()));
    // Scope may narrow, never widen.
    let (status, narrowed) = token_request(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r2),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    assert_eq!(narrowed["scope"], "openid");
    let r3 = narrowed["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = token_request(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r3),
            ("scope", "openid offline_access admin"),
        ],
    )
    .await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    // After the grace window, reuse of a rotated token revokes the whole family.
    app.clock.advance(11);
    let (status, body) = refresh(r1.clone()).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (status, body) = refresh(r3.clone()).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant"),
        "the family is gone"
    );
    assert_eq!(
        userinfo_status(&app, narrowed["access_token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn refresh_tokens_expire_when_idle() {
    let app = TestApp::spawn_with(|c| c.tokens.refresh_token_idle_seconds = 100).await;
    let client = app.client().await;
    app.user("idle").await;
    let (code, verifier) = code_for(&app, &client, "idle").await;
    let (_, body) = exchange(&app, &client, &code, &verifier).await;
    app.clock.advance(101);
    let (status, body) = token_request(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn client_credentials_grant() {
    let app = TestApp::spawn().await;
    let service = app
        .client_with(ClientSpec {
            grant_types: vec![GrantType::ClientCredentials],
            scope: "reports:read".into(),
            ..ClientSpec::default()
        })
        .await;
    let portal = app.client().await;
    let (status, body) =
        token_request(&app, &service, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let (header, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["sub"], service.id);
    assert_eq!(claims["client_id"], service.id);
    let (status, body) = token_request(
        &app,
        &service,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "reports:read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "reports:read");
    for scope in ["openid", "reports:write"] {
        let (status, body) = token_request(
            &app,
            &service,
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await;
        assert_eq!(
            (status, error_of(&body)),
            (StatusCode::BAD_REQUEST, "invalid_scope")
        );
    }
    let (status, body) =
        token_request(&app, &portal, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "unauthorized_client")
    );
    let public = app
        .client_with(ClientSpec {
            auth_method: AuthMethod::None,
            ..ClientSpec::default()
        })
        .await;
    let (status, body) =
        token_request(&app, &public, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "unauthorized_client")
    );
}

#[tokio::test]
async fn grant_type_errors() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let (status, body) = token_request(&app, &client, &[("grant_type", "password")]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "unsupported_grant_type")
    );
    let (status, body) = token_request(&app, &client, &[("code", "x")]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let (status, body) = token_request(
        &app,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("grant_type", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let (status, body) =
        token_request(&app, &client, &[("grant_type", "authorization_code")]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn tokens_carry_the_required_claims() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let user = app.user("claims").await;
    let (code, verifier) = code_for(&app, &client, "claims").await;
    let r = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    let (header, id) = jwt_parts(body["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string());
    assert_eq!(id["iss"], app.base);
    assert_eq!(id["sub"], user.id);
    assert_eq!(id["aud"], client.id);
    assert_eq!(id["azp"], client.id);
    assert_eq!(id["nonce"], "n-456");
    assert!(id["exp"].as_i64().unwrap() > id["iat"].as_i64().unwrap());
    assert!(id["auth_time"].is_i64());
    assert!(id["at_hash"].is_string());
    assert!(id["sid"].is_string());
    assert_eq!(id["name"], "Ada Lovelace");
    assert_eq!(id["email_verified"], true);
    let (header, at) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    for claim in [
        "iss",
        "exp",
        "aud",
        "sub",
        "client_id",
        "iat",
        "jti",
        "scope",
    ] {
        assert!(at.get(claim).is_some(), "RFC 9068 claim {claim}");
    }
    assert_eq!(at["scope"], "email openid profile");
    // sub is stable across logins.
    let (code, verifier) = code_for(&app, &client, "claims").await;
    let (_, body) = exchange(&app, &client, &code, &verifier).await;
    assert_eq!(
        jwt_parts(body["id_token"].as_str().unwrap()).1["sub"],
        user.id
    );
}

#[tokio::test]
async fn unsigned_and_foreign_tokens_are_never_accepted() {
    use base64::Engine as _;
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("none").await;
    let (code, verifier) = code_for(&app, &client, "none").await;
    let (_, body) = exchange(&app, &client, &code, &verifier).await;
    let real = body["access_token"].as_str().unwrap();
    let (header, claims) = jwt_parts(real);
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    // alg=none with the real claims.
    let none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "at+jwt"})),
        b64(&claims)
    );
    assert_eq!(userinfo_status(&app, &none).await, StatusCode::UNAUTHORIZED);
    // HS256 "signed" with the public JWKS as the secret (key confusion).
    let mut hs = header.clone();
    hs["alg"] = "HS256".into();
    let forged = format!("{}.{}.AAAA", b64(&hs), b64(&claims));
    assert_eq!(
        userinfo_status(&app, &forged).await,
        StatusCode::UNAUTHORIZED
    );
    // The real signature over altered claims.
    let mut altered = claims.clone();
    altered["sub"] = "someone-else".into();
    let sig = real.rsplit('.').next().unwrap();
    let tampered = format!("{}.{}.{sig}", b64(&header), b64(&altered));
    assert_eq!(
        userinfo_status(&app, &tampered).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(userinfo_status(&app, real).await, StatusCode::OK);
}

#[tokio::test]
async fn a_copy_replayed_in_the_grace_window_cannot_start_a_second_chain() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("branch").await;
    let (code, verifier) = code_for(&app, &client, "branch").await;
    let (_, first) = exchange(&app, &client, &code, &verifier).await;
    let r0 = first["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let app = &app;
        let client = &client;
        async move {
            token_request(
                app,
                client,
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    // The legitimate client rotates; a copy of the old token is replayed at once. It
    // looks like a retry, so it gets the very same new token, not a chain of its own.
    let (_, legit) = refresh(r0.clone()).await;
    let legit_child = legit["refresh_token"].as_str().unwrap().to_owned();
    let (status, stolen) = refresh(r0.clone()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "inside the grace window a retry is answered"
    );
    let stolen_child = stolen["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(stolen_child, legit_child, "one family, one live token");
    // The legitimate client rotates on; later the copy's holder presents the token it
    // got, which has been replaced: reuse, and the whole family is revoked.
    let (status, next) = refresh(legit_child).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    app.clock.advance(11);
    let (status, body) = refresh(stolen_child).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (status, body) = refresh(next["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    for response in [&stolen, &next] {
        assert_eq!(
            userinfo_status(&app, response["access_token"].as_str().unwrap()).await,
            StatusCode::UNAUTHORIZED
        );
    }
}
