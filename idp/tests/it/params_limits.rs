//! Parameter limits: at most `http.max_params` parameters per query string or body
//! (a clear 400 everywhere, before any handler works on them), and length limits on
//! the authorization request's stored and echoed parameters (docs/api.md).

use reqwest::StatusCode;

use crate::harness::*;

/// 54 KB of one name repeated.
fn one_name_repeated() -> String {
    "a=1&".repeat(54_000 / 4)
}

/// 54 KB of distinct names, each sent twice.
fn distinct_names_twice() -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < 54_000 {
        s.push_str(&format!("p{i}=1&p{i}=2&"));
        i += 1;
    }
    s
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn too_many_parameters_get_a_clear_400_everywhere() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let http = http();
    let (_, challenge) = pkce();
    let authorize = authorize_url(&app, &client, &challenge, &[]);
    for junk in [one_name_repeated(), distinct_names_twice()] {
        // Token endpoint: JSON invalid_request, body or query string.
        let body = format!("grant_type=client_credentials&{junk}");
        let r = http
            .post(app.url("/token"))
            .basic_auth(&client.id, client.secret.as_ref())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let json: serde_json::Value = r.json().await.unwrap();
        assert_eq!(json["error"], "invalid_request");
        assert_eq!(
            json["error_description"],
            "too many parameters (at most 100)"
        );
        let r = http
            .post(app.url(&format!("/token?{junk}")))
            .basic_auth(&client.id, client.secret.as_ref())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let json: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            json["error_description"],
            "too many parameters (at most 100)"
        );

        // Authorization endpoint, client and redirect_uri first: an error redirect.
        let Page {
            status, location, ..
        } = Browser::new().get(&format!("{authorize}&{junk}")).await;
        assert_eq!(status, StatusCode::FOUND);
        let location = url::Url::parse(&location.unwrap()).unwrap();
        assert!(location.as_str().starts_with(REDIRECT_URI));
        assert_eq!(
            param(&location, "error").as_deref(),
            Some("invalid_request")
        );
        assert_eq!(
            param(&location, "error_description").as_deref(),
            Some("too many parameters (at most 100)")
        );
        assert_eq!(param(&location, "state").as_deref(), Some("st-123"));
        // Without a readable client_id: the error page, never a redirect.
        let Page {
            status,
            location,
            body: page,
            ..
        } = Browser::new()
            .get(&app.url(&format!("/authorize?{junk}&client_id={}", client.id)))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(location.is_none());
        assert!(page.contains("too many parameters"), "{page}");

        // A form (the login form): a 400 page, not "Form expired".
        let r = http
            .post(app.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(junk.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.text().await.unwrap().contains("too many parameters"));
        // A page that reads its query with axum's Query extractor.
        for path in ["/login", "/register", "/password/forgot", "/nothing-here"] {
            let r = http
                .get(app.url(&format!("{path}?{junk}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
            assert!(
                r.text().await.unwrap().contains("too many parameters"),
                "{path}"
            );
        }
    }
    // At the cap everything still works: 100 parameters in all.
    let filler: Vec<String> = (0..92).map(|i| format!("x{i}=1")).collect();
    let Page {
        status,
        location,
        body,
        ..
    } = Browser::new()
        .get(&format!("{authorize}&{}", filler.join("&")))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.unwrap().starts_with("/login?request_id="));
}

#[tokio::test]
async fn stored_and_echoed_parameters_have_length_limits() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("limits").await;
    let (_, challenge) = pkce();
    for (name, max) in [
        ("state", 2048),
        ("nonce", 512),
        ("login_hint", 254),
        ("ui_locales", 128),
        ("scope", 1024),
        ("prompt", 128),
        ("max_age", 19),
    ] {
        let long = if name == "max_age" {
            "1".repeat(max + 1)
        } else if name == "scope" {
            format!("openid {}", "x".repeat(max))
        } else {
            "x".repeat(max + 1)
        };
        let url = authorize_url(&app, &client, &challenge, &[(name, &long)]);
        let Page {
            status,
            location,
            body,
            ..
        } = Browser::new().get(&url).await;
        assert_eq!(status, StatusCode::FOUND, "{name}: {body}");
        let location = url::Url::parse(&location.unwrap()).unwrap();
        assert_eq!(
            param(&location, "error").as_deref(),
            Some("invalid_request")
        );
        assert_eq!(
            param(&location, "error_description"),
            Some(format!(
                "parameter '{name}' is too long (at most {max} bytes)"
            )),
        );
        // A state that breaks its limit is not echoed; any other state is.
        let echoed = if name == "state" {
            None
        } else {
            Some("st-123")
        };
        assert_eq!(param(&location, "state").as_deref(), echoed, "{name}");
    }
    // state is printable ASCII (RFC 6749 Appendix A.5); the others have no controls.
    for (name, value) in [
        ("state", "caf\u{e9}"),
        ("state", "a\tb"),
        ("nonce", "a\u{1}b"),
    ] {
        let url = authorize_url(&app, &client, &challenge, &[(name, value)]);
        let Page {
            status, location, ..
        } = Browser::new().get(&url).await;
        assert_eq!(status, StatusCode::FOUND);
        let location = url::Url::parse(&location.unwrap()).unwrap();
        assert_eq!(
            param(&location, "error_description"),
            Some(format!(
                "parameter '{name}' contains characters that are not allowed"
            )),
        );
    }
    // Every value at its limit is accepted, stored, and echoed whole.
    let state = format!("{}\"\\", "s".repeat(2046));
    let nonce = "n".repeat(512);
    let hint = format!("{}@example.com", "l".repeat(254 - 12));
    let url = authorize_url(
        &app,
        &client,
        &challenge,
        &[
            ("state", &state),
            ("nonce", &nonce),
            ("login_hint", &hint),
            ("ui_locales", &format!("de {}", "x".repeat(125))),
            ("max_age", "9223372036854775807"),
        ],
    );
    let browser = Browser::new();
    let login = browser.start(&app, &url).await;
    let Page {
        status,
        location,
        body,
        ..
    } = browser.submit_login(&login, "limits", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let callback = browser
        .follow_to_callback(&app.url(&location.unwrap()))
        .await;
    assert_eq!(param(&callback, "state"), Some(state));
}

/// Review finding F4: the stored and shown parameters refuse invisible and reordering
/// characters (bidi overrides and isolates, zero-width characters, the byte-order
/// mark, tags), not only control characters, so none of them is pre-filled into the
/// login page; the `state` of RP-initiated logout keeps the rules of /authorize's.
#[tokio::test]
async fn stored_and_shown_parameters_refuse_invisible_and_bidi_characters() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    for name in ["login_hint", "nonce", "ui_locales", "state"] {
        for bad in [
            "\u{202E}moc.live@ada",
            "ada\u{200B}@example.com",
            "ada\u{2066}x\u{2069}",
            "\u{FEFF}ada",
            "ada\u{AD}",
            "ada\u{E0041}",
            "de\u{200F}",
        ] {
            let url = authorize_url(&app, &client, &challenge, &[(name, bad)]);
            let Page {
                status,
                location,
                body,
                ..
            } = Browser::new().get(&url).await;
            assert_eq!(status, StatusCode::FOUND, "{name}={bad:?}: {body}");
            let location = url::Url::parse(&location.unwrap()).unwrap();
            assert_eq!(
                param(&location, "error_description"),
                Some(format!(
                    "parameter '{name}' contains characters that are not allowed"
                )),
                "{name}={bad:?}"
            );
        }
    }
    assert_eq!(app.count("authorization_requests").await, 0);
    // Letters of any script stay fine.
    let url = authorize_url(
        &app,
        &client,
        &challenge,
        &[("login_hint", "jürgen.müller@例え.jp")],
    );
    let Page {
        status,
        location,
        body,
        ..
    } = Browser::new().get(&url).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.unwrap().starts_with("/login?request_id="));

    // RP-initiated logout echoes `state` to the relying party: same rules.
    for bad in ["a\u{202E}b", "caf\u{e9}", "a\u{1}b"] {
        let r = http()
            .get(app.url("/logout"))
            .query(&[("state", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "logout state={bad:?}");
    }
    let r = http()
        .get(app.url("/logout"))
        .query(&[("state", "fine-state")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
