//! Bad input of every kind at every endpoint: a 4xx with the protocol's error code or
//! an error page, never a 5xx, and nothing written to the database.

use reqwest::{Method, StatusCode};

use crate::harness::*;

struct Case {
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    authorization: Option<String>,
    /// Expected status; `None` means any 4xx.
    status: Option<u16>,
    /// Expected `error` code in a JSON body.
    error: Option<&'static str>,
}

fn case(method: Method, path: impl Into<String>) -> Case {
    Case {
        method,
        path: path.into(),
        content_type: None,
        body: Vec::new(),
        authorization: None,
        status: None,
        error: None,
    }
}

impl Case {
    fn form(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = Some("application/x-www-form-urlencoded");
        self.body = body.into();
        self
    }
    fn raw(mut self, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = Some(content_type);
        self.body = body.into();
        self
    }
    fn auth(mut self, v: impl Into<String>) -> Self {
        self.authorization = Some(v.into());
        self
    }
    fn expect(mut self, status: u16, error: Option<&'static str>) -> Self {
        self.status = Some(status);
        self.error = error;
        self
    }
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_and_change_nothing() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("bad").await;
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", client.id, client.secret.clone().unwrap())
        )
    );
    let huge = vec![b'a'; 100 * 1024];
    let long_value = format!("grant_type=authorization_code&code={}", "x".repeat(10_000));
    let (_, challenge) = pkce();
    let good_authorize = authorize_url(&app, &client, &challenge, &[]);
    let authorize_query = good_authorize.split_once('?').unwrap().1.to_owned();
    let g = Method::GET;
    let p = Method::POST;
    let cases = vec![
        // Token endpoint.
        case(p.clone(), "/token")
            .raw("application/json", r#"{"grant_type":"client_credentials"}"#)
            .auth(&basic)
            .expect(400, Some("invalid_request")),
        case(p.clone(), "/token")
            .raw("text/plain", "garbage")
            .auth(&basic)
            .expect(400, Some("invalid_request")),
        case(p.clone(), "/token")
            .form(vec![0xff, 0xfe, b'=', 0x00])
            .auth(&basic),
        case(p.clone(), "/token")
            .form("grant_type=authorization_code&code=%zz&code=%")
            .auth(&basic)
            .expect(400, Some("invalid_request")),
        case(p.clone(), "/token")
            .form(long_value.clone())
            .auth(&basic)
            .expect(400, Some("invalid_request")),
        case(p.clone(), "/token")
            .form(huge.clone())
            .auth(&basic)
            .expect(413, None),
        case(p.clone(), "/token")
            .form("grant_type=client_credentials")
            .auth("Basic")
            .expect(401, Some("invalid_client")),
        case(p.clone(), "/token")
            .form("grant_type=client_credentials")
            .auth("Basic ###")
            .expect(401, Some("invalid_client")),
        case(p.clone(), "/token")
            .form("grant_type=client_credentials")
            .auth(format!("Basic {}", "A".repeat(5000)))
            .expect(401, Some("invalid_client")),
        case(p.clone(), "/token")
            .form("grant_type=authorization_code&code=nope&redirect_uri=x")
            .auth(&basic)
            .expect(400, Some("invalid_grant")),
        case(p.clone(), "/token")
            .form("grant_type=refresh_token&refresh_token=nope")
            .auth(&basic)
            .expect(400, Some("invalid_grant")),
        case(p.clone(), "/token")
            .form("grant_type=refresh_token")
            .auth(&basic)
            .expect(400, Some("invalid_request")),
        case(p.clone(), "/token")
            .form("grant_type=%00%01")
            .auth(&basic)
            .expect(400, Some("invalid_request")),
        case(p.clone(), "/token")
            .form("grant_type=%01%7f")
            .auth(&basic)
            .expect(400, Some("unsupported_grant_type")),
        case(g.clone(), "/token").expect(405, None),
        case(Method::PUT, "/token").expect(405, None),
        // UserInfo.
        case(g.clone(), "/userinfo")
            .auth("Bearer")
            .expect(401, None),
        case(g.clone(), "/userinfo")
            .auth("Bearer a.b")
            .expect(401, Some("invalid_token")),
        case(g.clone(), "/userinfo")
            .auth(format!("Bearer {}", "x".repeat(20_000)))
            .expect(401, Some("invalid_token")),
        case(g.clone(), "/userinfo")
            .auth("Basic Zm9vOmJhcg==")
            .expect(401, None),
        case(p.clone(), "/userinfo")
            .raw("application/json", "{")
            .expect(401, None),
        case(Method::DELETE, "/userinfo").expect(405, None),
        // Revocation and introspection.
        case(p.clone(), "/revoke")
            .form("token=")
            .auth(&basic)
            .expect(400, Some("invalid_request")),
        case(p.clone(), "/revoke")
            .raw("application/json", r#"{"token":"x"}"#)
            .auth(&basic)
            .expect(400, Some("invalid_request")),
        case(p.clone(), "/revoke")
            .form("token=a&token=b")
            .auth(&basic)
            .expect(400, Some("invalid_request")),
        case(p.clone(), "/introspect")
            .form("token=x")
            .expect(401, Some("invalid_client")),
        case(p.clone(), "/introspect")
            .raw("multipart/form-data; boundary=x", "--x--")
            .auth(&basic)
            .expect(400, Some("invalid_request")),
        case(g.clone(), "/introspect").expect(405, None),
        case(g.clone(), "/revoke").expect(405, None),
        // Authorization endpoint.
        case(g.clone(), "/authorize").expect(400, None),
        case(g.clone(), "/authorize?client_id=%ff%fe%00").expect(400, None),
        case(
            g.clone(),
            format!("/authorize?client_id={}", "c".repeat(10_000)),
        )
        .expect(400, None),
        case(p.clone(), "/authorize")
            .raw(
                "application/json",
                format!(r#"{{"client_id":"{}"}}"#, client.id),
            )
            .expect(400, None),
        case(p.clone(), "/authorize")
            .form(format!("{authorize_query}&client_id=x"))
            .expect(400, None),
        case(Method::PATCH, "/authorize").expect(405, None),
        case(g.clone(), "/authorize/resume").expect(400, None),
        case(g.clone(), "/authorize/resume?request_id=nope").expect(400, None),
        case(
            g.clone(),
            format!("/authorize/resume?request_id={}", "r".repeat(5000)),
        )
        .expect(400, None),
        // Login.
        case(g.clone(), "/login?request_id=unknown").expect(400, None),
        case(g.clone(), "/login?request_id=a&request_id=b").expect(400, None),
        case(g.clone(), "/authorize?state=%ff%fe").expect(400, None),
        case(p.clone(), "/login")
            .form("username=bad&password=x")
            .expect(403, None),
        case(p.clone(), "/login")
            .raw("application/json", r#"{"username":"bad"}"#)
            .expect(400, None),
        case(p.clone(), "/login")
            .form(huge.clone())
            .expect(413, None),
        // Elsewhere.
        case(g.clone(), "/nothing-here").expect(404, None),
        case(p.clone(), "/.well-known/openid-configuration").expect(405, None),
        case(p.clone(), "/jwks.json").expect(405, None),
    ];
    let before = app.counts().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for c in cases {
        let mut req = http.request(c.method.clone(), app.url(&c.path));
        if let Some(ct) = c.content_type {
            req = req.header("content-type", ct);
        }
        if let Some(a) = &c.authorization {
            req = req.header("authorization", a);
        }
        let r = req.body(c.body.clone()).send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        let label = format!("{} {}", c.method, &c.path[..c.path.len().min(80)]);
        assert!(status.is_client_error(), "{label}: {status} {text}");
        if let Some(want) = c.status {
            assert_eq!(status.as_u16(), want, "{label}: {text}");
        }
        if let Some(error) = c.error {
            let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            assert_eq!(body["error"], error, "{label}: {text}");
        }
    }
    assert_eq!(app.counts().await, before, "bad input changed the database");
    // The provider still works afterwards.
    let (code, verifier) = code_for(&app, &client, "bad").await;
    assert_eq!(
        exchange(&app, &client, &code, &verifier).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_authorization_error_redirect_never_carries_an_attacker_redirect() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    // Bad response_type but a foreign redirect_uri: the page, not a redirect.
    let url = authorize_url(
        &app,
        &client,
        &challenge,
        &[
            ("response_type", "token"),
            ("redirect_uri", "https://evil.example/cb"),
        ],
    );
    let Page {
        status, location, ..
    } = Browser::new().get(&url).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(location.is_none());
}
