//! The whole code + PKCE flow driven by the `openidconnect` crate as relying party:
//! discovery, authorization, login form, callback, token exchange, ID token
//! verification (signature, nonce, at_hash), UserInfo, refresh, introspection and
//! revocation; for each ID token algorithm.

use openidconnect::core::{
    CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    IntrospectionUrl, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
    TokenIntrospectionResponse, TokenResponse,
};

use crate::harness::*;
use idp::crypto::keys::SigningAlg;
use idp::oauth::registration::ClientSpec;

fn rp_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn full_flow(alg: SigningAlg, core_alg: CoreJwsSigningAlgorithm) {
    let app = TestApp::spawn().await;
    let client = app
        .client_with(ClientSpec {
            id_token_alg: alg,
            ..ClientSpec::default()
        })
        .await;
    let user = app.user("ada").await;
    let http = rp_http();

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client.id.clone()),
        Some(ClientSecret::new(client.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(client.redirect_uri.clone()).unwrap())
    .set_introspection_url(IntrospectionUrl::new(app.url("/introspect")).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = rp
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = Browser::new();
    let callback = browser.login(&app, auth_url.as_str(), "ada").await;
    assert_eq!(
        param(&callback, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(param(&callback, "iss").as_deref(), Some(app.base.as_str()));
    let code = param(&callback, "code").unwrap();
    assert!(code.len() >= 43, "a code carries at least 128 bits");

    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = rp.id_token_verifier().set_allowed_algs(vec![core_alg]);
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("ID token verifies");
    assert_eq!(claims.subject().as_str(), user.id);
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ada@example.com"));
    assert!(claims.auth_time().is_some());
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected_hash);
    let (header, _) = jwt_parts(&id_token.to_string());
    assert_eq!(header["alg"], alg.as_str());
    assert!(header["kid"].is_string());

    // A wrong nonce is refused by the RP library.
    assert!(id_token
        .claims(&id_verifier, &Nonce::new("other".into()))
        .is_err());

    let info: CoreUserInfoClaims = rp
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), user.id);
    assert_eq!(
        info.given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str()),
        Some("Ada")
    );
    assert_eq!(info.email_verified(), Some(true));
    assert_eq!(info.zoneinfo().map(|z| z.as_str()), Some("Europe/Berlin"));

    let introspection = rp
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .expect("introspection");
    assert!(introspection.active());
    assert_eq!(
        introspection.client_id().map(|c| c.as_str()),
        Some(client.id.as_str())
    );

    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = rp
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let new_refresh = refreshed
        .refresh_token()
        .expect("rotated refresh token")
        .clone();
    assert_ne!(new_refresh.secret(), refresh.secret());
    let refreshed_id = refreshed.id_token().expect("ID token on refresh");
    let refreshed_claims = refreshed_id
        .claims(&id_verifier, |_: Option<&Nonce>| Ok(()))
        .expect("refreshed ID token verifies");
    assert_eq!(refreshed_claims.subject(), claims.subject());
    assert_eq!(
        refreshed_claims.auth_time(),
        claims.auth_time(),
        "auth_time survives refresh"
    );

    // The oauth2 crate refuses to revoke over plain http (RFC 7009 §2 requires TLS),
    // and these tests run on http://127.0.0.1; so revoke with a plain form POST.
    let revoked = reqwest::Client::new()
        .post(app.url("/revoke"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[
            ("token", new_refresh.secret().as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), reqwest::StatusCode::OK);
    let after = rp
        .exchange_refresh_token(&new_refresh)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(after.is_err(), "a revoked refresh token no longer works");
    let introspection = rp
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(
        !introspection.active(),
        "revoking the refresh token takes its access tokens"
    );
}

#[tokio::test]
async fn code_flow_with_rs256() {
    full_flow(
        SigningAlg::RS256,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    )
    .await;
}

#[tokio::test]
async fn code_flow_with_es256() {
    full_flow(SigningAlg::ES256, CoreJwsSigningAlgorithm::EcdsaP256Sha256).await;
}

#[tokio::test]
async fn code_flow_with_eddsa() {
    full_flow(SigningAlg::EdDSA, CoreJwsSigningAlgorithm::EdDsa).await;
}

#[tokio::test]
async fn public_client_with_pkce() {
    let app = TestApp::spawn().await;
    let client = app
        .client_with(ClientSpec {
            auth_method: idp::oauth::client::AuthMethod::None,
            ..ClientSpec::default()
        })
        .await;
    app.user("pub").await;
    let http = rp_http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
            .await
            .unwrap();
    let rp = CoreClient::from_provider_metadata(metadata, ClientId::new(client.id.clone()), None)
        .set_redirect_uri(RedirectUrl::new(client.redirect_uri.clone()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = rp
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let callback = Browser::new().login(&app, auth_url.as_str(), "pub").await;
    let tokens = rp
        .exchange_code(AuthorizationCode::new(param(&callback, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("public client exchange");
    tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &nonce)
        .expect("ID token verifies");
}
