//! No error reaches a client in the framework's default form (review finding F5):
//! every route, asked with a path segment, query string or body that cannot be read,
//! with a wrong method or an oversized body, and as an anonymous, a signed-in and an
//! operator browser, answers with the provider's error page (HTML) or, on the JSON
//! endpoints, the protocol's error object; never axum's plain-text rejection.

use reqwest::{Method, StatusCode};

use crate::harness::*;

const JSON_PATHS: &[&str] = &[
    "/token",
    "/userinfo",
    "/jwks.json",
    "/revoke",
    "/introspect",
    "/.well-known/openid-configuration",
];

/// Every route with the methods it serves.
const ROUTES: &[(&str, &[&str])] = &[
    ("/", &["GET"]),
    ("/.well-known/openid-configuration", &["GET"]),
    ("/jwks.json", &["GET"]),
    ("/token", &["POST"]),
    ("/userinfo", &["GET", "POST"]),
    ("/revoke", &["POST"]),
    ("/introspect", &["POST"]),
    ("/authorize", &["GET", "POST"]),
    ("/authorize/resume", &["GET"]),
    ("/logout", &["GET", "POST"]),
    ("/login", &["GET", "POST"]),
    ("/register", &["GET", "POST"]),
    ("/register/confirm", &["GET", "POST"]),
    ("/register/resend", &["GET", "POST"]),
    ("/password/forgot", &["GET", "POST"]),
    ("/password/new", &["GET", "POST"]),
    ("/password/reset", &["GET", "POST"]),
    ("/profile", &["GET"]),
    ("/profile/password", &["GET", "POST"]),
    ("/profile/password/code", &["POST"]),
    ("/profile/settings", &["POST"]),
    ("/profile/support-pin", &["POST"]),
    ("/profile/sessions/end-others", &["POST"]),
    ("/profile/sessions/%FF/end", &["POST"]),
    ("/profile/sessions/%C0%AF/end", &["POST"]),
    ("/admin/registrations", &["GET"]),
    ("/admin/registrations/%FF/approve", &["POST"]),
    ("/admin/registrations/%FF/reject", &["POST"]),
    ("/admin/companies", &["GET"]),
    ("/admin/companies/%FF/support", &["POST"]),
    ("/admin/support", &["GET", "POST"]),
    ("/admin/keys", &["GET"]),
    ("/admin/keys/rotate", &["POST"]),
    ("/admin/keys/%FF/revoke", &["POST"]),
    ("/%FF", &["GET", "POST"]),
    ("/static/%FF.css", &["GET"]),
];

const BAD_QUERIES: &[&str] = &[
    "?%FF=%FF",
    "?request_id=%FF&return_to=%FF&notice=%FF&token=%FF",
    "?a=%&b=%G1",
    "?request_id=a&request_id=b",
];

const BAD_BODIES: &[(Option<&str>, &[u8])] = &[
    (
        Some("application/x-www-form-urlencoded"),
        b"%FF=%FF&csrf_token=%FF",
    ),
    (
        Some("application/x-www-form-urlencoded"),
        b"a=%&b=%G1&\xff\xfe=1",
    ),
    (Some("application/json"), b"{\"grant_type\": "),
    (Some("multipart/form-data; boundary=x"), b"--x\r\n"),
    (Some("text/plain"), b"\xff\xfe\xfd"),
    (None, b"grant_type=client_credentials"),
];

/// Sends one request and checks the answer is not a framework default.
async fn check(
    http: &reqwest::Client,
    app: &TestApp,
    who: &str,
    method: Method,
    path: &str,
    body: Option<(Option<&str>, Vec<u8>)>,
) {
    let mut request = http.request(method.clone(), app.url(path));
    if let Some((content_type, bytes)) = body.clone() {
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        request = request.body(bytes);
    }
    let r = request.send().await.unwrap();
    let status = r.status();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    let what = format!(
        "{who}: {method} {path} {:?}",
        body.map(|(ct, b)| (ct, String::from_utf8_lossy(&b).into_owned()))
    );
    assert!(!status.is_server_error(), "{what}: {status} {text}");
    if !(status.is_client_error() || status.is_server_error()) {
        return;
    }
    let route = path.split('?').next().unwrap();
    if JSON_PATHS.contains(&route) {
        assert!(
            content_type.starts_with("application/json"),
            "{what}: {status} {content_type:?} {text}"
        );
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        // A 401 from UserInfo without a token is the bare challenge (RFC 6750 §3.1).
        assert!(
            json["error"].is_string() || status == StatusCode::UNAUTHORIZED,
            "{what}: {text}"
        );
    } else {
        assert!(
            content_type.starts_with("text/html"),
            "{what}: {status} {content_type:?} {text}"
        );
        assert!(text.contains("<html"), "{what}: {text}");
    }
}

#[tokio::test]
async fn every_route_answers_bad_encodings_with_its_own_error_page_or_json() {
    let app = TestApp::spawn().await;
    app.user("walker").await;
    app.operator("agent", "agent@provider.example").await;
    let anonymous = Browser::new();
    let user = app.signed_in("walker").await;
    let operator = app.signed_in("agent").await;

    // The reviewer's case: an invalid UTF-8 path segment, signed in.
    let r = user
        .http
        .post(app.url("/profile/sessions/%FF/end"))
        .form(&[("csrf_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(html.contains("<html"), "{html}");
    assert!(!html.contains("Invalid URL"), "{html}");

    for (who, browser) in [
        ("anonymous", &anonymous),
        ("user", &user),
        ("operator", &operator),
    ] {
        let http = &browser.http;
        for (path, methods) in ROUTES {
            for method in *methods {
                let method = Method::from_bytes(method.as_bytes()).unwrap();
                for query in BAD_QUERIES {
                    check(
                        http,
                        &app,
                        who,
                        method.clone(),
                        &format!("{path}{query}"),
                        None,
                    )
                    .await;
                }
                if method == Method::POST {
                    for (content_type, body) in BAD_BODIES {
                        check(
                            http,
                            &app,
                            who,
                            Method::POST,
                            path,
                            Some((*content_type, body.to_vec())),
                        )
                        .await;
                    }
                    let huge = vec![b'a'; 70 * 1024];
                    check(
                        http,
                        &app,
                        who,
                        Method::POST,
                        path,
                        Some((Some("application/x-www-form-urlencoded"), huge)),
                    )
                    .await;
                }
            }
            for method in [Method::PUT, Method::DELETE, Method::PATCH] {
                check(http, &app, who, method, path, None).await;
            }
        }
    }
}
