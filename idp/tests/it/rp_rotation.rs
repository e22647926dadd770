//! A relying party built on the `openidconnect` crate keeps working across a staged
//! signing-key rotation, in real time, without restarting it or the provider: one
//! client object, created once from discovery, logs a user in (ID token by key A);
//! `idp keys rotate` starts a rotation against the running provider process; once
//! the new key B signs (the process picks it up by itself), the same client logs in
//! again. The ID token names a kid the client's JWKS (fetched at discovery) does not
//! hold, so, as a real relying party does, it fetches the JWKS again and verifies;
//! the old ID token still verifies against that JWKS (A is retired, still
//! published), and UserInfo takes both access tokens.

use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreClient, CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError,
    ClientId, ClientSecret, CsrfToken, IssuerUrl, JsonWebKeySetUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, SignatureVerificationError, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;
use crate::process::ProviderProcess;

/// Timings that make a rotation take seconds: a JWKS cache lifetime of 1 s and no
/// clock-skew margin, so a rotation's key signs 1 + 2 × 1 + 0 = 3 s after
/// `idp keys rotate`. The provider process and every CLI command get them.
const FAST: [(&str, &str); 2] = [
    ("IDP_KEYS__JWKS_MAX_AGE_SECONDS", "1"),
    ("IDP_KEYS__PUBLISH_MARGIN_SECONDS", "0"),
];

/// What the relying party keeps of the provider's JWKS between logins: the set it
/// got at discovery, fetched again from `jwks_uri` when an ID token names a key it
/// does not hold (the provider rotated its keys).
struct JwksCache {
    uri: JsonWebKeySetUrl,
    keys: CoreJsonWebKeySet,
    fetches: usize,
}

impl JwksCache {
    fn kids(&self) -> Vec<String> {
        self.keys
            .keys()
            .iter()
            .filter_map(|k| {
                serde_json::to_value(k).unwrap()["kid"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect()
    }

    fn verifier(
        &self,
        client_id: &ClientId,
        secret: &ClientSecret,
        issuer: &IssuerUrl,
    ) -> CoreIdTokenVerifier<'static> {
        CoreIdTokenVerifier::new_confidential_client(
            client_id.clone(),
            secret.clone(),
            issuer.clone(),
            self.keys.clone(),
        )
        .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256])
    }

    /// Verifies `token` (signature, iss, aud, exp, iat, nonce) and its `at_hash`
    /// against `access_token`; on an unknown kid, fetches the JWKS once more first.
    async fn verify(
        &mut self,
        http: &openidconnect::reqwest::Client,
        rp: (&ClientId, &ClientSecret, &IssuerUrl),
        token: &CoreIdToken,
        nonce: &Nonce,
        access_token: &AccessToken,
    ) -> CoreIdTokenClaims {
        let (client_id, secret, issuer) = rp;
        let mut refetched = false;
        loop {
            let verifier = self.verifier(client_id, secret, issuer);
            match token.claims(&verifier, nonce) {
                Ok(claims) => {
                    let expected = claims.access_token_hash().expect("at_hash");
                    let actual = AccessTokenHash::from_token(
                        access_token,
                        token.signing_alg().unwrap(),
                        token.signing_key(&verifier).unwrap(),
                    )
                    .unwrap();
                    assert_eq!(&actual, expected, "at_hash matches the access token");
                    return claims.clone();
                }
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )) if !refetched => {
                    refetched = true;
                    self.keys = CoreJsonWebKeySet::fetch_async(&self.uri, http)
                        .await
                        .expect("JWKS");
                    self.fetches += 1;
                }
                Err(e) => panic!("the ID token does not verify: {e}"),
            }
        }
    }
}

fn rp_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser's login at the provider process `op` for the authorization request
/// `authorize`; returns the redirect to the client.
async fn login_at(op: &ProviderProcess, authorize: &str, username: &str) -> url::Url {
    let browser = Browser::new();
    let start = browser.get(authorize).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let login = op.url(start.location.as_deref().unwrap());
    let posted = browser.submit_login(&login, username, PASSWORD).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let resume = browser
        .get(&op.url(posted.location.as_deref().unwrap()))
        .await;
    assert_eq!(resume.status, StatusCode::FOUND, "{}", resume.body);
    url::Url::parse(resume.location.as_deref().unwrap()).unwrap()
}

/// `idp keys <args>` with the fast timings; its JSON output.
fn keys_cli(app: &TestApp, args: &[&str]) -> Value {
    let mut all = vec!["keys"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = app.cli_env(&all, &FAST);
    assert!(
        out.status.success(),
        "idp {all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn state_of(listed: &Value, kid: &str) -> String {
    listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .map(|k| k["state"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| format!("missing from {listed}"))
}

async fn jwks_kids_at(op: &ProviderProcess) -> Vec<String> {
    let jwks: Value = reqwest::get(op.url("/jwks.json"))
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

#[tokio::test]
async fn an_openidconnect_client_keeps_working_across_a_key_rotation() {
    // The in-process app holds the database, the client and the user; the relying
    // party talks only to the real binary, an issuer of its own on the wall clock.
    let app = TestApp::spawn().await;
    let registered = app.client().await;
    let user = app.user("ada").await;
    let op = ProviderProcess::spawn_as_issuer(&app, &FAST).await;
    let http = rp_http();

    // The relying party, created once: discovery (with the JWKS) and one client.
    let issuer = IssuerUrl::new(op.base.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer.clone(), &http)
        .await
        .expect("discovery");
    let mut jwks = JwksCache {
        uri: metadata.jwks_uri().clone(),
        keys: metadata.jwks().clone(),
        fetches: 0,
    };
    let client_id = ClientId::new(registered.id.clone());
    let secret = ClientSecret::new(registered.secret.clone().unwrap());
    let rp = CoreClient::from_provider_metadata(metadata, client_id.clone(), Some(secret.clone()))
        .set_redirect_uri(RedirectUrl::new(registered.redirect_uri.clone()).unwrap());
    let ids = (&client_id, &secret, &issuer);

    // One login: the authorization request, the browser, the code exchange.
    let (rp_ref, op_ref, http_ref) = (&rp, &op, &http);
    let log_in = || async move {
        let (rp, op, http) = (rp_ref, op_ref, http_ref);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, csrf, nonce) = rp
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        let callback = login_at(op, url.as_str(), "ada").await;
        assert_eq!(
            param(&callback, "state").as_deref(),
            Some(csrf.secret().as_str())
        );
        assert_eq!(param(&callback, "iss").as_deref(), Some(op.base.as_str()));
        let tokens = rp
            .exchange_code(AuthorizationCode::new(param(&callback, "code").unwrap()))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(http)
            .await
            .expect("code exchange");
        (tokens, nonce)
    };
    let user_info = |token: AccessToken| {
        let request = rp_ref.user_info(token, None).unwrap();
        async move { request.request_async(http_ref).await }
    };

    // Before: key A signs, and the JWKS from discovery holds it.
    let (first, first_nonce) = log_in().await;
    let first_id = first.id_token().expect("an ID token").clone();
    let claims = jwks
        .verify(&http, ids, &first_id, &first_nonce, first.access_token())
        .await;
    assert_eq!(claims.subject().as_str(), user.id);
    let kid_a = jwt_parts(&first_id.to_string()).0["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(jwks.kids().contains(&kid_a));
    assert_eq!(jwks.fetches, 0, "the JWKS from discovery was enough");
    let info: CoreUserInfoClaims = user_info(first.access_token().clone())
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), user.id);

    // The operator rotates RS256 on the running provider's database.
    let rotated = keys_cli(&app, &["rotate", "--alg", "RS256"]);
    assert_eq!(rotated[0]["alg"], "RS256");
    let kid_b = rotated[0]["kid"].as_str().unwrap().to_owned();
    assert_ne!(kid_b, kid_a);
    assert!(
        !jwks.kids().contains(&kid_b),
        "the RP's JWKS predates the new key"
    );

    // The process publishes B (it polls the database) and, from `activates_at`, signs
    // with it; nobody restarts anything.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed = keys_cli(&app, &["list"]);
        let published = jwks_kids_at(&op).await;
        if state_of(&listed, &kid_b) == "active" && published.contains(&kid_b) {
            assert_eq!(state_of(&listed, &kid_a), "retired");
            assert!(
                published.contains(&kid_a),
                "the retired key stays published"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B did not start signing: {listed} {published:?}; log:\n{}",
            op.log().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // After: the same client logs in again; the ID token names B.
    let (second, second_nonce) = log_in().await;
    let second_id = second.id_token().expect("an ID token").clone();
    let (header, _) = jwt_parts(&second_id.to_string());
    assert_eq!(header["kid"], kid_b.as_str(), "the new key signs");
    assert_eq!(header["alg"], "RS256");
    // The JWKS the client got at discovery does not know B...
    let stale = rp
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    assert!(
        matches!(
            second_id.claims(&stale, &second_nonce),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey
            ))
        ),
        "a JWKS fetched before the rotation has no key B"
    );
    // ...so the relying party fetches it again, once, and the token verifies.
    let claims = jwks
        .verify(&http, ids, &second_id, &second_nonce, second.access_token())
        .await;
    assert_eq!(jwks.fetches, 1, "one JWKS fetch for the unknown kid");
    assert_eq!(claims.subject().as_str(), user.id);
    let kids = jwks.kids();
    assert!(kids.contains(&kid_a) && kids.contains(&kid_b), "{kids:?}");

    // The old ID token verifies against the JWKS fetched after the rotation.
    let old = jwks
        .verify(&http, ids, &first_id, &first_nonce, first.access_token())
        .await;
    assert_eq!(old.subject().as_str(), user.id);
    assert_eq!(jwks.fetches, 1, "no fetch needed for the retired key");

    // Both access tokens (JWTs, signed by A and by B) work at UserInfo.
    assert_eq!(
        jwt_parts(first.access_token().secret()).0["kid"],
        kid_a.as_str()
    );
    assert_eq!(
        jwt_parts(second.access_token().secret()).0["kid"],
        kid_b.as_str()
    );
    for token in [first.access_token(), second.access_token()] {
        let info: CoreUserInfoClaims = user_info(token.clone()).await.expect("userinfo");
        assert_eq!(info.subject().as_str(), user.id);
        assert_eq!(info.email().map(|e| e.as_str()), Some("ada@example.com"));
    }
    op.kill().await;
}
