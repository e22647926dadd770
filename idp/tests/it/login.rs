//! The login page and the browser session (SSO cookie).

use reqwest::StatusCode;

use crate::harness::*;

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_failed_login_gets_the_same_answer() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("known").await;
    app.user("locked").await;
    sqlx::query("UPDATE users SET disabled = 1 WHERE username = 'locked'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let (_, challenge) = pkce();
    let mut answers = Vec::new();
    for (username, password) in [
        ("known", "wrong password here"),
        ("nobody", PASSWORD),
        ("locked", PASSWORD),
    ] {
        let browser = Browser::new();
        let login = browser
            .start(&app, &authorize_url(&app, &client, &challenge, &[]))
            .await;
        let Page {
            status,
            location,
            body,
            ..
        } = browser.submit_login(&login, username, password).await;
        assert!(location.is_none());
        assert!(
            body.contains(&idp::ui::i18n::text(
                "en",
                idp::http::pages::login::LOGIN_FAILED,
                &[]
            )),
            "{body}"
        );
        answers.push(status);
    }
    assert!(
        answers.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{answers:?}"
    );
    assert_eq!(app.count("browser_sessions").await, 0);
    // An empty field is not a login attempt: the field's message, for any account.
    let counted = || async {
        let (n,): (i64,) =
            sqlx::query_as("SELECT CAST(COALESCE(SUM(failures), 0) AS BIGINT) FROM throttle")
                .fetch_one(app.state.db.pool())
                .await
                .unwrap();
        n
    };
    let before = counted().await;
    for (username, password, field) in [("", "", "username"), ("known", "", "password")] {
        let browser = Browser::new();
        let Page { status, body, .. } = browser
            .submit_login(&app.url("/login"), username, password)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains(&format!("id=\"{field}-error\"")), "{body}");
        assert!(body.contains("This field is required."), "{body}");
    }
    assert_eq!(counted().await, before, "not counted");
}

#[tokio::test]
async fn email_address_and_any_case_log_in() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("mixed").await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    let login = browser
        .start(&app, &authorize_url(&app, &client, &challenge, &[]))
        .await;
    let Page { status, body, .. } = browser
        .submit_login(&login, "  Mixed@Example.COM ", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
}

#[tokio::test]
async fn forms_need_the_csrf_token_and_a_matching_origin() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("csrf").await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    let login = browser
        .start(&app, &authorize_url(&app, &client, &challenge, &[]))
        .await;
    let Page { body: page, .. } = browser.get(&login).await;
    let csrf = hidden(&page, "csrf_token").unwrap();
    let request_id = hidden(&page, "request_id").unwrap();
    let post = |form: Vec<(&'static str, String)>, origin: Option<&'static str>| {
        let mut req = browser.http.post(app.url("/login")).form(&form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let base = vec![
        ("username", "csrf".to_owned()),
        ("password", PASSWORD.to_owned()),
        ("request_id", request_id.clone()),
    ];
    let mut without = base.clone();
    without.push(("csrf_token", String::new()));
    assert_eq!(
        post(without, None).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let mut wrong = base.clone();
    wrong.push(("csrf_token", "A".repeat(43)));
    assert_eq!(
        post(wrong, None).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let mut good = base.clone();
    good.push(("csrf_token", csrf.clone()));
    assert_eq!(
        post(good.clone(), Some("https://evil.example"))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    // Another browser's token does not work either.
    let other = Browser::new();
    let other_login = other
        .start(&app, &authorize_url(&app, &client, &challenge, &[]))
        .await;
    let Page {
        body: other_page, ..
    } = other.get(&other_login).await;
    let mut foreign = base.clone();
    foreign.push(("csrf_token", hidden(&other_page, "csrf_token").unwrap()));
    assert_eq!(
        post(foreign, None).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.count("browser_sessions").await, 0);
    let origin: &'static str = Box::leak(app.base.clone().into_boxed_str());
    assert_eq!(
        post(good, Some(origin)).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_pending_request_belongs_to_the_browser_that_started_it() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    let login = Browser::new()
        .start(&app, &authorize_url(&app, &client, &challenge, &[]))
        .await;
    let Page { status, body, .. } = Browser::new().get(&login).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("expired"));
}

#[tokio::test]
async fn session_cookie_is_random_httponly_lax_and_renewed_at_every_login() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("cookie").await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    let mut session_ids = Vec::new();
    for _ in 0..2 {
        let login = browser
            .start(
                &app,
                &authorize_url(&app, &client, &challenge, &[("prompt", "login")]),
            )
            .await;
        let Page { body: page, .. } = browser.get(&login).await;
        let r = browser
            .http
            .post(app.url("/login"))
            .form(&[
                ("csrf_token", hidden(&page, "csrf_token").unwrap()),
                ("request_id", hidden(&page, "request_id").unwrap()),
                ("username", "cookie".into()),
                ("password", PASSWORD.into()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let cookie = set_cookies(&r)
            .into_iter()
            .find(|c| c.starts_with("idp_session="))
            .expect("a session cookie");
        assert!(cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Lax"));
        assert!(cookie.contains("Path=/"));
        assert!(!cookie.to_lowercase().contains("domain="));
        let value = cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("idp_session=")
            .to_owned();
        assert!(value.len() >= 22, "at least 128 bits");
        session_ids.push(value);
    }
    assert_ne!(
        session_ids[0], session_ids[1],
        "a new session id at every login"
    );
    // The old session id no longer logs anyone in.
    let stale = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = stale
        .get(authorize_url(
            &app,
            &client,
            &challenge,
            &[("prompt", "none")],
        ))
        .header("cookie", format!("idp_session={}", session_ids[0]))
        .send()
        .await
        .unwrap();
    let location = r.headers()["location"].to_str().unwrap();
    assert!(location.contains("error=login_required"), "{location}");
}

#[tokio::test]
async fn https_issuers_get_host_prefixed_secure_cookies() {
    let app = TestApp::spawn_with(|c| c.issuer = c.issuer.replace("http://", "https://")).await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    let r = Browser::new()
        .http
        .get(authorize_url(&app, &client, &challenge, &[]).replace("https://", "http://"))
        .send()
        .await
        .unwrap();
    let cookies = set_cookies(&r);
    let browser_cookie = cookies
        .iter()
        .find(|c| c.starts_with("__Host-idp_browser="))
        .expect("__Host- cookie");
    assert!(browser_cookie.contains("Secure"));
    assert!(r.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn sessions_end_when_idle_or_too_old() {
    let app = TestApp::spawn_with(|c| {
        c.session.idle_seconds = 600;
        c.session.absolute_seconds = 1000;
    })
    .await;
    let client = app.client().await;
    app.user("idle").await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    browser
        .login(&app, &authorize_url(&app, &client, &challenge, &[]), "idle")
        .await;
    let silent = authorize_url(&app, &client, &challenge, &[("prompt", "none")]);
    app.clock.advance(500);
    assert!(param(&browser.follow_to_callback(&silent).await, "code").is_some());
    app.clock.advance(400);
    assert!(
        param(&browser.follow_to_callback(&silent).await, "code").is_some(),
        "use refreshes idleness"
    );
    app.clock.advance(400);
    assert_eq!(
        param(&browser.follow_to_callback(&silent).await, "error").as_deref(),
        Some("login_required"),
        "past the absolute lifetime"
    );
    browser
        .login(&app, &authorize_url(&app, &client, &challenge, &[]), "idle")
        .await;
    app.clock.advance(601);
    assert_eq!(
        param(&browser.follow_to_callback(&silent).await, "error").as_deref(),
        Some("login_required"),
        "idle too long"
    );
}

#[tokio::test]
async fn standalone_login_lands_on_the_home_page() {
    let app = TestApp::spawn().await;
    app.user("home").await;
    let browser = Browser::new();
    let Page {
        status, location, ..
    } = browser
        .submit_login(&app.url("/login"), "home", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/"));
    let Page { body: page, .. } = browser.get(&app.url("/")).await;
    assert!(page.contains("Ada Lovelace"));
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_with_owasp_parameters() {
    let app = TestApp::spawn().await;
    app.user("hash").await;
    let (hash,): (String,) =
        sqlx::query_as("SELECT password_hash FROM users WHERE username = 'hash'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
}

#[tokio::test]
async fn a_repeated_field_is_not_a_login_attempt() {
    let app = TestApp::spawn().await;
    app.user("twice").await;
    let browser = Browser::new();
    let Page { body: page, .. } = browser.get(&app.url("/login")).await;
    let csrf = hidden(&page, "csrf_token").unwrap();
    let r = browser
        .http
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf_token={csrf}&username=twice&username=twice&password=x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.count("throttle").await,
        0,
        "not counted as a failed login"
    );
}

#[tokio::test]
async fn browsers_sending_origin_null_under_no_referrer_can_still_post_forms() {
    let app = TestApp::spawn().await;
    app.user("nullorigin").await;
    let browser = Browser::new();
    let Page { body: page, .. } = browser.get(&app.url("/login")).await;
    let csrf = hidden(&page, "csrf_token").unwrap();
    let r = browser
        .http
        .post(app.url("/login"))
        .header("origin", "null")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "nullorigin"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the CSRF token decides when Origin is null"
    );
    let r = browser
        .http
        .post(app.url("/login"))
        .header("origin", "null")
        .form(&[("username", "nullorigin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "but never without the token"
    );
}
