//! Logout: RP-initiated from the App Portal ends the provider session and, through
//! back-channel logout tokens, the Customer Portal's session too; invalid logout
//! tokens are refused with 400 and remove nothing.

use idp::crypto::keys::{JwtType, SigningAlg};
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::JwtPayload;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use crate::harness::*;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Signs in at both portals (form at the Customer Portal, SSO at the App Portal).
async fn signed_in_everywhere(env: &Env, browser: &Browser) -> String {
    let sub = env.idp.user("ada", "acme-demo.example", "ACME Demo").await;
    let home = browser.login(&env.customer, "ada").await.pop().unwrap();
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    let app = browser.visit(&env.app.url("/")).await.pop().unwrap();
    assert!(app.body.contains(">Logout</button>"), "{}", app.body);
    assert_eq!(env.customer.portal.session_count(), 1);
    assert_eq!(env.app.portal.session_count(), 1);
    sub
}

#[tokio::test]
async fn logout_at_the_app_portal_ends_everything() {
    let env = Env::spawn().await;
    let browser = Browser::new();
    let sub = signed_in_everywhere(&env, &browser).await;
    let provider_sessions = env.idp.sessions(&sub).await;
    assert_eq!(provider_sessions.len(), 1);
    let (sid, ended) = provider_sessions[0].clone();
    assert!(!ended);

    // A POST without the CSRF token is refused and changes nothing.
    let refused = browser
        .post(&env.app.url("/logout"), &[("csrf_token", "guess")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(env.app.portal.session_count(), 1);

    let app = browser.get(&env.app.url("/")).await;
    let csrf = hidden(&app.body, "csrf_token").unwrap();
    let posted = browser
        .post(&env.app.url("/logout"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    let end_session = posted.location.clone().unwrap();
    assert!(
        end_session.starts_with(&env.idp.url("/logout?")),
        "{end_session}"
    );
    assert!(param(&end_session, "id_token_hint").is_some());
    assert_eq!(
        param(&end_session, "post_logout_redirect_uri").as_deref(),
        Some(env.app.url("/").as_str())
    );
    assert_eq!(
        param(&end_session, "client_id").as_deref(),
        Some("app-portal")
    );
    let state = param(&end_session, "state").unwrap();
    assert_eq!(
        env.app.portal.session_count(),
        0,
        "the local session ends at once"
    );

    let pages = browser.follow(posted).await;
    let back = pages.last().unwrap();
    assert_eq!(
        pages[pages.len() - 2].location.as_deref(),
        Some(format!("{}?state={state}", env.app.url("/")).as_str())
    );
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert!(back.body.contains("You have signed out"), "{}", back.body);

    // The provider session ended ...
    assert_eq!(env.idp.sessions(&sub).await, vec![(sid.clone(), true)]);
    // ... and its back-channel logout token ended the Customer Portal's session.
    env.idp.deliver_logouts().await;
    assert_eq!(env.customer.portal.session_count(), 0);
    let events = env.customer.portal.logout_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].sessions_ended, 1);
    let claims = &events[0].claims;
    assert_eq!(claims["iss"], json!(env.idp.base));
    let aud_ok =
        claims["aud"] == json!("customer-portal") || claims["aud"] == json!(["customer-portal"]);
    assert!(aud_ok, "{claims:?}");
    assert_eq!(claims["sid"], json!(sid));
    assert_eq!(claims["sub"], json!(sub));
    assert_eq!(claims["events"], json!({ EVENT: {} }));
    assert!(claims.get("nonce").is_none());
    assert!(claims["jti"].is_string());
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat && exp - iat <= 120, "{claims:?}");
    // The App Portal was told too (its session was already gone).
    assert_eq!(
        env.app.portal.logout_events()[0].claims["aud"],
        json!("app-portal")
    );

    // Both portals show the Login button; logging in again needs the form.
    let customer = browser.visit(&env.customer.url("/")).await;
    let customer = customer.last().unwrap();
    assert!(
        customer.body.contains(">Login</button>"),
        "{}",
        customer.body
    );
    let pages = browser.visit(&env.app.url("/login")).await;
    assert!(
        saw_login_form(&env.idp, &pages),
        "the provider session is gone"
    );
}

/// A logout token with `claims`, signed by the provider's own RS256 key.
fn provider_signed(env: &Env, claims: Value) -> String {
    let Value::Object(map) = claims else {
        unreachable!()
    };
    env.idp
        .state
        .keys
        .sign(SigningAlg::RS256, JwtType::LogoutToken, map)
        .unwrap()
}

fn claims(env: &Env, sub: &str, sid: &str) -> Value {
    let now = env.idp.now();
    json!({
        "iss": env.idp.base, "aud": "customer-portal", "iat": now, "exp": now + 120,
        "jti": "test-jti", "sub": sub, "sid": sid, "events": { EVENT: {} }
    })
}

#[tokio::test]
async fn invalid_logout_tokens_are_refused_and_remove_nothing() {
    let env = Env::spawn().await;
    let browser = Browser::new();
    let sub = signed_in_everywhere(&env, &browser).await;
    let (sid, _) = env.idp.sessions(&sub).await[0].clone();
    let http = reqwest::Client::new();
    let send = |token: String| {
        let http = http.clone();
        let url = env.customer.url("/backchannel-logout");
        async move {
            http.post(url)
                .form(&[("logout_token", token)])
                .send()
                .await
                .unwrap()
        }
    };

    // Signed with a key that is not in the JWKS, under the provider's kid.
    let kid = josekit::jwt::decode_header(provider_signed(&env, claims(&env, &sub, &sid)))
        .unwrap()
        .claim("kid")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let foreign = RS256.generate_key_pair(2048).unwrap();
    let signer = RS256
        .signer_from_jwk(&foreign.to_jwk_private_key())
        .unwrap();
    let mut header = JwsHeader::new();
    header.set_token_type("logout+jwt");
    header.set_key_id(kid);
    let Value::Object(map) = claims(&env, &sub, &sid) else {
        unreachable!()
    };
    let forged =
        josekit::jwt::encode_with_signer(&JwtPayload::from_map(map).unwrap(), &header, &signer)
            .unwrap();

    let mut wrong_aud = claims(&env, &sub, &sid);
    wrong_aud["aud"] = json!("app-portal");
    let mut no_sid = claims(&env, &sub, &sid);
    no_sid.as_object_mut().unwrap().remove("sid");
    let mut with_nonce = claims(&env, &sub, &sid);
    with_nonce["nonce"] = json!("n");
    let mut no_event = claims(&env, &sub, &sid);
    no_event["events"] = json!({});
    let mut expired = claims(&env, &sub, &sid);
    expired["iat"] = json!(env.idp.now() - 600);
    expired["exp"] = json!(env.idp.now() - 480);
    let mut wrong_iss = claims(&env, &sub, &sid);
    wrong_iss["iss"] = json!("http://evil.example");

    let cases: Vec<(&str, String)> = vec![
        ("foreign signature", forged),
        ("wrong aud", provider_signed(&env, wrong_aud)),
        ("no sid", provider_signed(&env, no_sid)),
        ("nonce", provider_signed(&env, with_nonce)),
        ("no event", provider_signed(&env, no_event)),
        ("expired", provider_signed(&env, expired)),
        ("wrong iss", provider_signed(&env, wrong_iss)),
        ("not a JWT", "garbage".into()),
    ];
    for (what, token) in cases {
        let r = send(token).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{what}");
        let body: Map<String, Value> = r.json().await.unwrap();
        assert_eq!(body["error"], json!("invalid_request"), "{what}");
        assert_eq!(
            env.customer.portal.session_count(),
            1,
            "{what} removed nothing"
        );
    }
    let r = http
        .post(env.customer.url("/backchannel-logout"))
        .form(&[("other", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(env.customer.portal.logout_events().is_empty());

    // The same claims, properly signed, are accepted and end the session.
    let r = send(provider_signed(&env, claims(&env, &sub, &sid))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(env.customer.portal.session_count(), 0);
    assert_eq!(
        env.app.portal.session_count(),
        1,
        "another client's session stays"
    );
}
