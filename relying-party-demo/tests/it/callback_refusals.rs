//! The callback refuses every response it cannot trust with a 4xx page, and no
//! session is created: unknown or expired attempt, bad state, wrong issuer, an
//! `error` from the provider, a replayed code, a wrong nonce, a foreign-signed ID
//! token.

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use base64::Engine as _;
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::JwtPayload;
use openidconnect::TokenUrl;
use relying_party_demo::PortalKind;
use reqwest::StatusCode;

use crate::harness::*;

#[tokio::test]
async fn unknown_and_expired_attempts_are_refused() {
    let env = Env::spawn().await;
    env.idp.user("ada", "acme-demo.example", "ACME Demo").await;

    // No attempt cookie at all.
    let stranger = Browser::new();
    let page = stranger
        .get(&env.customer.url("/callback?code=abc&state=def"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body.contains("unknown or has expired"),
        "{}",
        page.body
    );

    // An attempt older than 10 minutes.
    let browser = Browser::new();
    let authorize = browser.start(&env.customer).await;
    let callback = browser
        .login_until_callback(&env.customer, &authorize, "ada")
        .await;
    env.clock.advance(601);
    let page = browser.get(&callback).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body.contains("unknown or has expired"),
        "{}",
        page.body
    );
    assert!(!sets_session(&page));
    assert_eq!(env.customer.portal.session_count(), 0);
}

#[tokio::test]
async fn bad_state_and_wrong_issuer_are_refused() {
    let env = Env::spawn().await;
    env.idp.user("ada", "acme-demo.example", "ACME Demo").await;

    let browser = Browser::new();
    let authorize = browser.start(&env.customer).await;
    let callback = browser
        .login_until_callback(&env.customer, &authorize, "ada")
        .await;
    let page = browser
        .get(&with_param(&callback, "state", Some("forged")))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("state mismatch"), "{}", page.body);
    assert!(!sets_session(&page));
    // The attempt is used up: the genuine response no longer works either.
    assert_eq!(browser.get(&callback).await.status, StatusCode::BAD_REQUEST);

    // Each issuer case gets its own attempt: a refused callback uses the attempt
    // up, so a second case on the same attempt would be refused for that reason.
    for iss in [Some("http://evil.example"), None] {
        let authorize = browser.start(&env.customer).await;
        let callback = browser
            .login_until_callback(&env.customer, &authorize, "ada")
            .await;
        let page = browser.get(&with_param(&callback, "iss", iss)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "iss={iss:?}");
        assert!(
            page.body.contains("unexpected issuer"),
            "iss={iss:?}: {}",
            page.body
        );
        assert!(!sets_session(&page));
    }
    assert_eq!(env.customer.portal.session_count(), 0);
}

#[tokio::test]
async fn an_error_from_the_provider_is_shown() {
    let env = Env::spawn().await;
    let browser = Browser::new();
    let authorize = browser.start(&env.customer).await;
    let state = param(&authorize, "state").unwrap();
    let callback = with_param(
        &with_param(
            &with_param(
                &format!("{}?error=access_denied", env.customer.url("/callback")),
                "error_description",
                Some("<b>The user said no</b>"),
            ),
            "state",
            Some(&state),
        ),
        "iss",
        Some(&env.idp.base),
    );
    let page = browser.get(&callback).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        field(&page.body, "error-code").as_deref(),
        Some("access_denied")
    );
    assert!(
        page.body.contains("&lt;b&gt;The user said no&lt;") && !page.body.contains("<b>The"),
        "shown, escaped: {}",
        page.body
    );
    assert_eq!(env.customer.portal.session_count(), 0);
}

#[tokio::test]
async fn a_replayed_code_is_refused() {
    let env = Env::spawn().await;
    env.idp.user("ada", "acme-demo.example", "ACME Demo").await;
    let browser = Browser::new();
    let authorize = browser.start(&env.customer).await;
    let callback = browser
        .login_until_callback(&env.customer, &authorize, "ada")
        .await;
    let pages = browser.visit(&callback).await;
    assert_eq!(pages.last().unwrap().status, StatusCode::OK);
    assert_eq!(env.customer.portal.session_count(), 1);

    // The same browser, and a stranger who copied the URL.
    for who in [&browser, &Browser::new()] {
        let page = who.get(&callback).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
        assert!(!sets_session(&page));
    }
    assert_eq!(env.customer.portal.session_count(), 1, "no new session");
}

#[tokio::test]
async fn a_wrong_nonce_is_refused() {
    let env = Env::spawn().await;
    env.idp.user("ada", "acme-demo.example", "ACME Demo").await;
    let browser = Browser::new();
    let authorize = browser.start(&env.customer).await;
    // The provider is asked with another nonce than the one the portal keeps.
    let altered = with_param(&authorize, "nonce", Some("not-the-portals-nonce"));
    let callback = browser
        .login_until_callback(&env.customer, &altered, "ada")
        .await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("nonce does not match"), "{}", page.body);
    assert!(!sets_session(&page));
    assert_eq!(env.customer.portal.session_count(), 0);
}

/// A stand-in token endpoint that forwards to the real one and re-signs the ID
/// token with a key that is not in the provider's JWKS (keeping the `kid`).
async fn foreign_signing_token_endpoint(real: String) -> String {
    let key = RS256.generate_key_pair(2048).unwrap();
    let signer = RS256.signer_from_der(key.to_der_private_key()).unwrap();
    let signer = std::sync::Arc::new(signer);
    let app = axum::Router::new().route(
        "/token",
        post(move |headers: HeaderMap, body: Bytes| {
            let real = real.clone();
            let signer = signer.clone();
            async move {
                let mut request = reqwest::Client::new()
                    .post(&real)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body);
                if let Some(auth) = headers.get("authorization") {
                    request = request.header("authorization", auth.to_str().unwrap());
                }
                let mut json: serde_json::Value =
                    request.send().await.unwrap().json().await.unwrap();
                let id_token = json["id_token"].as_str().unwrap().to_owned();
                let kid = josekit::jwt::decode_header(&id_token)
                    .unwrap()
                    .claim("kid")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned();
                let claims: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(id_token.split('.').nth(1).unwrap())
                        .unwrap(),
                )
                .unwrap();
                let mut header = JwsHeader::new();
                header.set_token_type("JWT");
                header.set_key_id(kid);
                let forged = josekit::jwt::encode_with_signer(
                    &JwtPayload::from_map(claims).unwrap(),
                    &header,
                    signer.as_ref(),
                )
                .unwrap();
                json["id_token"] = forged.into();
                axum::Json(json)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn a_foreign_signed_id_token_is_refused() {
    let env = Env::spawn().await;
    env.idp.user("ada", "acme-demo.example", "ACME Demo").await;
    let fake = foreign_signing_token_endpoint(env.idp.url("/token")).await;
    let portal = start_portal(
        &env.idp,
        PortalKind::CustomerPortal,
        "customer-portal-under-attack",
        env.clock.clone(),
        |metadata| {
            *metadata = metadata
                .clone()
                .set_token_endpoint(Some(TokenUrl::new(fake).unwrap()));
        },
    )
    .await;
    let browser = Browser::new();
    let authorize = browser.start(&portal).await;
    let callback = browser
        .login_until_callback(&portal, &authorize, "ada")
        .await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(
        page.body
            .contains("The ID token is invalid: Signature verification failed"),
        "{}",
        page.body
    );
    assert!(!sets_session(&page));
    assert_eq!(portal.portal.session_count(), 0);
}
