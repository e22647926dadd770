//! Change password with an e-mailed code, forgot password, codes, throttling shared
//! by processes, and the sessions a user can see and end.

use reqwest::StatusCode;

use crate::harness::*;
use crate::mailbox::SmtpSink;

const NEW_PASSWORD: &str = "violet kettle drums at dawn";

fn email(username: &str) -> String {
    format!("{username}@acme-industries.com")
}

/// Requests a change code for the signed-in browser; returns the mailed code.
async fn change_code(
    app: &TestApp,
    sink: &SmtpSink,
    browser: &Browser,
    to: &str,
    n: usize,
) -> String {
    let Page {
        status, location, ..
    } = browser
        .submit_form(app, "/profile/password", "/profile/password/code", &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/profile/password?sent=1"));
    let mail = sink.delivered(app, to, n).await;
    assert_eq!(
        mail.subject,
        "Your verification code for changing the password"
    );
    let code = mail
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()));
    code.expect("a 6-digit code in the mail").to_owned()
}

async fn change(app: &TestApp, browser: &Browser, code: &str, new: &str, confirm: &str) -> Page {
    browser
        .submit_form(
            app,
            "/profile/password",
            "/profile/password",
            &[
                ("code", code),
                ("new_password", new),
                ("confirm_password", confirm),
            ],
        )
        .await
}

#[tokio::test]
async fn change_password_with_an_emailed_code_ends_other_sessions_and_tokens() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    let client = app.client().await;
    app.customer("robin").await;
    let to = email("robin");

    // Another browser with a session and a refresh token.
    let other = Browser::new();
    let (verifier, challenge) = pkce();
    let cb = other
        .login(
            &app,
            &authorize_url(&app, &client, &challenge, &[]),
            "robin",
        )
        .await;
    let (_, tokens) = exchange(&app, &client, &param(&cb, "code").unwrap(), &verifier).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let me = app.signed_in("robin").await;
    let Page { body: profile, .. } = me.get(&app.url("/profile")).await;
    assert!(
        profile.contains("href=\"/profile/password\""),
        "Profile > Security > Change Password"
    );
    let code = change_code(&app, &sink, &me, &to, 1).await;
    let Page { body: page, .. } = me.get(&app.url("/profile/password?sent=1")).await;
    assert!(page.contains("We sent a verification code"));

    // Wrong code, mismatched confirmation, policy failure: a message, nothing changes.
    let Page {
        status, body: page, ..
    } = change(&app, &me, "000000", NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("The code is wrong"), "{page}");
    let Page {
        status, body: page, ..
    } = change(&app, &me, &code, NEW_PASSWORD, "something else entirely").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("do not match"));
    let Page {
        status, body: page, ..
    } = change(&app, &me, &code, "robin miller 2024!", "robin miller 2024!").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("must not contain"));
    let Page { status, .. } = Browser::new()
        .submit_login(&app.url("/login"), "robin", PASSWORD)
        .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the old password still works until a change succeeds"
    );

    let Page {
        status,
        location,
        body: page,
        ..
    } = change(&app, &me, &code, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(
        location.as_deref(),
        Some("/profile?notice=password_changed")
    );
    let notice = sink.delivered(&app, &to, 2).await;
    assert_eq!(notice.subject, "Your password was changed");

    // Old password out, new one in; this browser stays signed in.
    let Page { status, .. } = Browser::new()
        .submit_login(&app.url("/login"), "robin", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.signed_in_with("robin", NEW_PASSWORD).await;
    let Page { status, .. } = me.get(&app.url("/profile")).await;
    assert_eq!(status, StatusCode::OK);
    // The other browser's session and refresh token have stopped working.
    let Page { location, .. } = other
        .get(&authorize_url(
            &app,
            &client,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert!(location.unwrap().contains("error=login_required"));
    let (status, body) = token_request(
        &app,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // The code was used up.
    let Page { status, .. } = change(
        &app,
        &me,
        &code,
        "another fine passphrase here",
        "another fine passphrase here",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn forgot_password_continues_the_pending_authorization_request() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    let client = app.client().await;
    app.customer("forgetful").await;
    let to = email("forgetful");
    let (verifier, challenge) = pkce();
    let browser = Browser::new();
    let login = browser
        .start(&app, &authorize_url(&app, &client, &challenge, &[]))
        .await;
    let Page { body: page, .. } = browser.get(&login).await;
    let request_id = hidden(&page, "request_id").unwrap();
    assert!(
        page.contains(&format!(
            "href=\"/password/forgot?request_id={request_id}\""
        )),
        "Forgot your password?"
    );
    let forgot = format!("/password/forgot?request_id={request_id}");
    let Page {
        status, location, ..
    } = browser
        .submit_form(
            &app,
            &forgot,
            "/password/forgot",
            &[("email", &to), ("request_id", &request_id)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let reset = location.unwrap();
    assert_eq!(reset, format!("/password/reset?request_id={request_id}"));
    // The code is issued off the request path: wait for that task, then deliver.
    queued(&app, &to).await;
    let mail = sink.delivered(&app, &to, 1).await;
    assert_eq!(mail.subject, "Your code to reset the password");
    assert!(
        mail.text.contains("ignore"),
        "the mail says the user can ignore it"
    );
    let code = mail
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6)
        .unwrap()
        .to_owned();
    let Page {
        status,
        location,
        body: page,
        ..
    } = browser
        .submit_form(
            &app,
            &reset,
            "/password/reset",
            &[
                ("email", &to),
                ("code", &code),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
                ("request_id", &request_id),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let login = location.unwrap();
    assert_eq!(
        login,
        format!("/login?request_id={request_id}&notice=password_changed")
    );
    let Page { body: page, .. } = browser.get(&app.url(&login)).await;
    assert!(page.contains("Your password was changed"));
    let Page {
        status, location, ..
    } = browser
        .submit_login(&app.url(&login), "forgetful", NEW_PASSWORD)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let callback = browser
        .follow_to_callback(&app.url(&location.unwrap()))
        .await;
    let (status, _) = exchange(&app, &client, &param(&callback, "code").unwrap(), &verifier).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sink.delivered(&app, &to, 2).await.subject,
        "Your password was changed"
    );
}

/// Issues a reset code directly (as the background task does) and returns it.
async fn reset_code(
    app: &TestApp,
    sink: &SmtpSink,
    user: &idp::db::users::User,
    n: usize,
) -> String {
    idp::account::email_codes::issue(
        &app.state,
        user,
        idp::account::email_codes::Purpose::PasswordReset,
    )
    .await
    .unwrap();
    let mail = sink.delivered(app, &user.email, n).await;
    mail.text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6)
        .unwrap()
        .to_owned()
}

async fn reset(app: &TestApp, email: &str, code: &str) -> StatusCode {
    let Page { status, .. } = Browser::new()
        .submit_form(
            app,
            "/password/reset",
            "/password/reset",
            &[
                ("email", email),
                ("code", code),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    status
}

#[tokio::test]
async fn codes_expire_die_after_five_wrong_tries_and_newer_ones_void_older() {
    let sink = SmtpSink::start();
    let url = sink.url();
    // Generous throttling here: this test is about the codes' own limits.
    let app = TestApp::spawn_with(move |c| {
        c.mail.smtp_url = Some(url);
        c.throttle.account_free = 100;
        c.throttle.account_ip_free = 100;
        c.throttle.ip_free = 100;
    })
    .await;
    let u = app.customer("coder").await;
    // Expiry after ten minutes.
    let code = reset_code(&app, &sink, &u, 1).await;
    app.clock.advance(601);
    assert_eq!(reset(&app, &u.email, &code).await, StatusCode::BAD_REQUEST);
    // A newer code voids the older one.
    let older = reset_code(&app, &sink, &u, 2).await;
    let newer = reset_code(&app, &sink, &u, 3).await;
    if older != newer {
        assert_eq!(reset(&app, &u.email, &older).await, StatusCode::BAD_REQUEST);
    }
    // Five wrong entries kill the code.
    for wrong in ["000001", "000002", "000003", "000004", "000005"] {
        let wrong = if wrong == newer { "999999" } else { wrong };
        assert_eq!(reset(&app, &u.email, wrong).await, StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        reset(&app, &u.email, &newer).await,
        StatusCode::BAD_REQUEST,
        "dead after five wrong tries"
    );
    // Bound to the user: another user's code does not work for this one.
    let other = app.customer("other-coder").await;
    let others = reset_code(&app, &sink, &other, 1).await;
    assert_eq!(
        reset(&app, &u.email, &others).await,
        StatusCode::BAD_REQUEST
    );
    // A fresh code works once.
    let fresh = reset_code(&app, &sink, &u, 4).await;
    assert_eq!(reset(&app, &u.email, &fresh).await, StatusCode::SEE_OTHER);
    assert_eq!(
        reset(&app, &u.email, &fresh).await,
        StatusCode::BAD_REQUEST,
        "single use"
    );
    // Malformed input.
    for bad in ["", "abc", "12345678901234567890", "1 2 3"] {
        assert_eq!(reset(&app, &u.email, bad).await, StatusCode::BAD_REQUEST);
    }
}

/// Waits (up to 10 s) until a background task has queued a mail to `to`.
async fn queued(app: &TestApp, to: &str) {
    for _ in 0..200 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE recipient = $1")
            .bind(to)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        if n > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no mail to {to} was queued");
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_known_and_unknown_addresses() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    app.customer("known").await;
    let browser = Browser::new();
    let Page { body: page, .. } = browser.get(&app.url("/password/forgot")).await;
    let csrf = hidden(&page, "csrf_token").unwrap();
    let mut answers = Vec::new();
    for address in [email("known"), email("nobody-here")] {
        let r = browser
            .http
            .post(app.url("/password/forgot"))
            .form(&[("csrf_token", csrf.as_str()), ("email", address.as_str())])
            .send()
            .await
            .unwrap();
        let status = r.status();
        let mut headers: Vec<(String, String)> = r
            .headers()
            .iter()
            .filter(|(name, _)| name.as_str() != "date")
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        headers.sort();
        answers.push((status, headers, r.text().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1], "identical status, headers and body");
    assert_eq!(answers[0].0, StatusCode::SEE_OTHER);
    // The reset code is issued off the request path: wait for that task (not for a
    // worker), then deliver. Nothing is ever queued for the unknown address.
    queued(&app, &email("known")).await;
    sink.delivered(&app, &email("known"), 1).await;
    assert!(sink.to(&email("nobody-here")).is_empty());
}

#[tokio::test]
async fn failed_logins_are_throttled_with_increasing_delays_that_expire() {
    let app = TestApp::spawn().await;
    app.customer("target").await;
    let attempt = |password: &'static str| {
        let app = &app;
        async move {
            Browser::new()
                .submit_login(&app.url("/login"), "target", password)
                .await
        }
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("wrong password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // The sixth failure starts a delay; even the right password must wait.
    assert_eq!(
        attempt("wrong password").await.status,
        StatusCode::UNAUTHORIZED
    );
    let Page {
        status, body: page, ..
    } = attempt(PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.contains("try again in 1 minutes") || page.contains("try again in"),
        "{page}"
    );
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE action = 'throttle.blocked'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(n >= 1, "lockouts are audited");
    // The delay expires; the next failure doubles it.
    app.clock.advance(31);
    assert_eq!(
        attempt("wrong password").await.status,
        StatusCode::UNAUTHORIZED
    );
    app.clock.advance(31);
    assert_eq!(
        attempt(PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "60 s now"
    );
    app.clock.advance(30);
    // Never permanent: after the delay the right password works and clears this IP's count.
    let Page { status, .. } = attempt(PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // Unknown accounts are throttled exactly like known ones.
    for _ in 0..6 {
        Browser::new()
            .submit_login(&app.url("/login"), "ghost", "x")
            .await;
    }
    let Page { status, .. } = Browser::new()
        .submit_login(&app.url("/login"), "ghost", "x")
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn throttling_is_shared_by_two_provider_processes() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_sharing(&a).await;
    a.customer("shared").await;
    for i in 0..6 {
        let app = if i % 2 == 0 { &a } else { &b };
        let Page { status, .. } = Browser::new()
            .submit_login(&app.url("/login"), "shared", "wrong password")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for app in [&a, &b] {
        let Page { status, .. } = Browser::new()
            .submit_login(&app.url("/login"), "shared", PASSWORD)
            .await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "blocked on both processes"
        );
    }
}

#[tokio::test]
async fn the_profile_lists_sessions_and_ends_the_others() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.customer("multi").await;
    let laptop = Browser::new();
    let (_, challenge) = pkce();
    laptop
        .login(
            &app,
            &authorize_url(&app, &client, &challenge, &[]),
            "multi",
        )
        .await;
    let phone = app.signed_in("multi").await;
    let Page {
        status, body: page, ..
    } = phone.get(&app.url("/profile")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.matches("<li>").count(), 2, "{page}");
    assert!(page.contains("IP 127.0.0.1"));
    assert!(page.contains("this browser"));
    let Page {
        status, location, ..
    } = phone
        .submit_form(&app, "/profile", "/profile/sessions/end-others", &[])
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/profile?notice=session_ended"))
    );
    let Page { location, .. } = laptop
        .get(&authorize_url(
            &app,
            &client,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert!(
        location.unwrap().contains("error=login_required"),
        "the laptop is signed out"
    );
    let Page { body: page, .. } = phone.get(&app.url("/profile")).await;
    assert_eq!(page.matches("<li>").count(), 1);
    // Ending one named session; another user's session id does nothing.
    let tablet = app.signed_in("multi").await;
    let Page { body: page, .. } = phone.get(&app.url("/profile")).await;
    let marker = "action=\"/profile/sessions/";
    let start = page.find(marker).expect("an end button for the tablet") + marker.len();
    let sid = (page[start..].split('/').next().unwrap().to_owned(),);
    app.user("stranger").await;
    let stranger = app.signed_in("stranger").await;
    stranger
        .submit_form(
            &app,
            "/profile",
            &format!("/profile/sessions/{}/end", sid.0),
            &[],
        )
        .await;
    let Page { status, .. } = tablet.get(&app.url("/profile")).await;
    assert_eq!(status, StatusCode::OK, "a stranger cannot end my session");
    phone
        .submit_form(
            &app,
            "/profile",
            &format!("/profile/sessions/{}/end", sid.0),
            &[],
        )
        .await;
    let Page {
        status, location, ..
    } = tablet.get(&app.url("/profile")).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login?return_to=/profile"))
    );
}

#[tokio::test]
async fn profile_settings_are_saved_and_released_as_claims() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.customer("settler").await;
    let browser = app.signed_in("settler").await;
    let Page {
        status, location, ..
    } = browser
        .submit_form(
            &app,
            "/profile",
            "/profile/settings",
            &[
                ("locale", "de"),
                ("zoneinfo", "America/New_York"),
                ("analytics", "on"),
            ],
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/profile?notice=saved"))
    );
    let Page { body: page, .. } = browser.get(&app.url("/profile?notice=saved")).await;
    assert!(
        page.contains("Ihre Einstellungen wurden gespeichert"),
        "the page follows the new language: {page}"
    );
    assert!(
        page.contains("<option selected>America&#x2f;New_York</option>"),
        "the saved zone is selected"
    );
    assert!(page.contains("name=\"analytics\" type=\"checkbox\" value=\"on\" checked"));
    for (zone, locale) in [("Mars/Olympus", "de"), ("UTC", "fr")] {
        let Page { status, .. } = browser
            .submit_form(
                &app,
                "/profile",
                "/profile/settings",
                &[("locale", locale), ("zoneinfo", zone)],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (verifier, challenge) = pkce();
    let cb = browser
        .follow_to_callback(&authorize_url(&app, &client, &challenge, &[]))
        .await;
    let (_, tokens) = exchange(&app, &client, &param(&cb, "code").unwrap(), &verifier).await;
    let (_, claims) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["locale"], "de");
    assert_eq!(claims["zoneinfo"], "America/New_York");
}

#[tokio::test]
async fn password_forms_refuse_missing_csrf_tokens() {
    let app = TestApp::spawn().await;
    app.customer("csrf").await;
    let browser = app.signed_in("csrf").await;
    for path in [
        "/profile/password",
        "/profile/password/code",
        "/profile/settings",
        "/profile/sessions/end-others",
        "/password/forgot",
        "/password/reset",
    ] {
        let r = browser
            .http
            .post(app.url(path))
            .form(&[("email", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let Page { status, .. } = Browser::new()
        .submit_login(&app.url("/login"), "csrf", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "nothing changed");
}

/// README: "Profile > Security > Change password" is reachable for every user, one
/// without a company (a plain CLI user) included.
#[tokio::test]
async fn the_profile_of_a_plain_user_links_to_change_password() {
    let app = TestApp::spawn().await;
    app.user("plain").await;
    let browser = app.signed_in("plain").await;
    let Page {
        status, body: page, ..
    } = browser.get(&app.url("/profile")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/profile/password\""), "{page}");
    let Page { status, .. } = browser.get(&app.url("/profile/password")).await;
    assert_eq!(status, StatusCode::OK);
}
