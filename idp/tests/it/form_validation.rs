//! Every POST form validates its input like /register: a missing, repeated or
//! non-UTF-8 field, or an address that is not one, answers 400 with that field's
//! message on the same form (never "done"), counts no attempt and queues no mail;
//! the answer depends only on the input, never on whether the account exists.

use reqwest::StatusCode;

use crate::harness::*;

const REQUIRED: &str = "This field is required.";
const UNREADABLE: &str = "This entry is too long or contains characters that are not allowed.";
const NOT_AN_ADDRESS: &str = "This is not a valid e-mail address.";
const CODE_FORMAT: &str = "Enter the verification code from the e-mail: digits only.";
const PIN_FORMAT: &str = "A support PIN is 4 to 10 digits.";

/// GETs `page` for its CSRF token, then POSTs `csrf_token=…&{body}` (raw, so it
/// can repeat fields and carry bytes that are not UTF-8) to `action`.
async fn post_raw(
    browser: &Browser,
    app: &TestApp,
    page: &str,
    action: &str,
    body: &str,
) -> (StatusCode, String) {
    let Page {
        status, body: html, ..
    } = browser.get(&app.url(page)).await;
    assert_eq!(status, StatusCode::OK, "{page}: {html}");
    let csrf = hidden(&html, "csrf_token").expect("a CSRF token");
    let r = browser
        .http
        .post(app.url(action))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf_token={csrf}&{body}"))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[track_caller]
fn assert_field_error(answer: &(StatusCode, String), field: &str, message: &str) {
    let (status, body) = answer;
    assert_eq!(*status, StatusCode::BAD_REQUEST, "{field}: {body}");
    assert!(
        body.contains(&format!("id=\"{field}-error\"")),
        "the form marks {field}: {body}"
    );
    assert!(body.contains(message), "{field}: {message}: {body}");
}

/// Attempts counted by the throttle, and mails queued.
async fn side_effects(app: &TestApp) -> (i64, i64) {
    let (failures,): (i64,) =
        sqlx::query_as("SELECT CAST(COALESCE(SUM(failures), 0) AS BIGINT) FROM throttle")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    (failures, app.count("outbox").await)
}

#[tokio::test]
async fn resend_and_forgot_refuse_missing_repeated_unreadable_and_malformed_addresses() {
    let app = TestApp::spawn().await;
    app.customer("known").await;
    let browser = Browser::new();
    for (page, action) in [
        ("/register/resend", "/register/resend"),
        ("/password/forgot", "/password/forgot"),
    ] {
        let post = |body: &'static str| post_raw(&browser, &app, page, action, body);
        assert_field_error(&post("").await, "email", REQUIRED);
        assert_field_error(&post("email=+++").await, "email", REQUIRED);
        assert_field_error(
            &post("email=a%40acme-industries.com&email=b%40acme-industries.com").await,
            "email",
            UNREADABLE,
        );
        assert_field_error(
            &post("email=%ff%fe%40acme-industries.com").await,
            "email",
            UNREADABLE,
        );
        assert_field_error(&post("email=not-an-address").await, "email", NOT_AN_ADDRESS);
        assert_field_error(
            &post("email=jane%40%40acme.com").await,
            "email",
            NOT_AN_ADDRESS,
        );
        // Nothing about the account shows: a known and an unknown address, repeated.
        let a = post("email=known%40acme-industries.com&email=known%40acme-industries.com").await;
        let b = post("email=ghost%40acme-industries.com&email=ghost%40acme-industries.com").await;
        assert_eq!(
            a, b,
            "{page}: the same answer for a known and an unknown address"
        );
    }
    // Each answer refused the form before anything was counted or queued (also off
    // the request path), and no worker runs: the counts are final without waiting.
    assert_eq!(
        side_effects(&app).await,
        (0, 0),
        "nothing counted, nothing mailed"
    );
}

#[tokio::test]
async fn the_reset_form_refuses_bad_fields_without_using_a_try() {
    let app = TestApp::spawn().await;
    let user = app.customer("resetter").await;
    idp::account::email_codes::issue(
        &app.state,
        &user,
        idp::account::email_codes::Purpose::PasswordReset,
    )
    .await
    .unwrap();
    let mailed = app.count("outbox").await;
    let browser = Browser::new();
    let post = |body: String| {
        let browser = &browser;
        let app = &app;
        async move { post_raw(browser, app, "/password/reset", "/password/reset", &body).await }
    };
    let rest =
        "new_password=violet+kettle+drums+at+dawn&confirm_password=violet+kettle+drums+at+dawn";
    let email = "email=resetter%40acme-industries.com";
    assert_field_error(
        &post(format!("code=123456&{rest}")).await,
        "email",
        REQUIRED,
    );
    assert_field_error(
        &post(format!("email=not-an-address&code=123456&{rest}")).await,
        "email",
        NOT_AN_ADDRESS,
    );
    assert_field_error(
        &post(format!(
            "email=%ff%40acme-industries.com&code=123456&{rest}"
        ))
        .await,
        "email",
        UNREADABLE,
    );
    assert_field_error(
        &post(format!("{email}&code=123456&code=123456&{rest}")).await,
        "code",
        UNREADABLE,
    );
    assert_field_error(&post(format!("{email}&{rest}")).await, "code", REQUIRED);
    assert_field_error(
        &post(format!("{email}&code=12ab56&{rest}")).await,
        "code",
        CODE_FORMAT,
    );
    assert_field_error(
        &post(format!("{email}&code=123456&confirm_password=x")).await,
        "new_password",
        REQUIRED,
    );
    let (attempts,): (i64,) = sqlx::query_as("SELECT attempts FROM email_codes WHERE user_id = $1")
        .bind(&user.id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(attempts, 0, "no try of the code was used");
    assert_eq!(side_effects(&app).await, (0, mailed));
}

#[tokio::test]
async fn the_login_form_marks_missing_repeated_and_unreadable_fields() {
    let app = TestApp::spawn().await;
    app.user("marked").await;
    let browser = Browser::new();
    let post = |body: &'static str| post_raw(&browser, &app, "/login", "/login", body);
    assert_field_error(&post("password=x").await, "username", REQUIRED);
    assert_field_error(&post("username=marked").await, "password", REQUIRED);
    assert_field_error(
        &post("username=marked&username=marked&password=x").await,
        "username",
        UNREADABLE,
    );
    assert_field_error(
        &post("username=marked&password=%ff%fe").await,
        "password",
        UNREADABLE,
    );
    assert_eq!(side_effects(&app).await, (0, 0), "no login attempt counted");
}

#[tokio::test]
async fn the_forced_change_form_marks_missing_repeated_and_unreadable_fields() {
    let app = TestApp::spawn().await;
    let user = app.user("firsttime").await;
    app.require_password_change(&user.id, 3600).await;
    let browser = Browser::new();
    let Page {
        status, location, ..
    } = browser
        .submit_login(&app.url("/login"), "firsttime", PASSWORD)
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/password/new"))
    );
    let post =
        |body: &'static str| post_raw(&browser, &app, "/password/new", "/password/new", body);
    assert_field_error(
        &post("confirm_password=violet+kettle+drums+at+dawn").await,
        "new_password",
        REQUIRED,
    );
    assert_field_error(
        &post("new_password=violet+kettle+drums+at+dawn&confirm_password=a&confirm_password=b")
            .await,
        "confirm_password",
        UNREADABLE,
    );
    assert_field_error(
        &post("new_password=%ff%fe%fd%fc%fb%fa%f9%f8&confirm_password=%ff%fe%fd%fc%fb%fa%f9%f8")
            .await,
        "new_password",
        UNREADABLE,
    );
    let still = idp::db::users::find_by_id(&app.state.db, &user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(still.must_change_password, "nothing was set");
}

#[tokio::test]
async fn the_change_form_and_get_code_mark_bad_fields_and_send_nothing() {
    let app = TestApp::spawn().await;
    let user = app.customer("changer").await;
    let browser = app.signed_in("changer").await;
    idp::account::email_codes::issue(
        &app.state,
        &user,
        idp::account::email_codes::Purpose::PasswordChange,
    )
    .await
    .unwrap();
    let before = side_effects(&app).await;
    let post = |body: String| {
        let browser = &browser;
        let app = &app;
        async move {
            post_raw(
                browser,
                app,
                "/profile/password",
                "/profile/password",
                &body,
            )
            .await
        }
    };
    let rest =
        "new_password=violet+kettle+drums+at+dawn&confirm_password=violet+kettle+drums+at+dawn";
    assert_field_error(&post(rest.to_owned()).await, "code", REQUIRED);
    assert_field_error(
        &post(format!("code=12ab56&{rest}")).await,
        "code",
        CODE_FORMAT,
    );
    assert_field_error(
        &post(format!("code=%ff%fe&{rest}")).await,
        "code",
        UNREADABLE,
    );
    assert_field_error(
        &post("code=123456&new_password=a&new_password=b&confirm_password=c".to_owned()).await,
        "new_password",
        UNREADABLE,
    );
    // "Get code" has no fields of its own: anything unreadable in it is refused.
    let (status, body) = post_raw(
        &browser,
        &app,
        "/profile/password",
        "/profile/password/code",
        "x=1&x=2",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains(UNREADABLE), "{body}");
    let (attempts,): (i64,) = sqlx::query_as("SELECT attempts FROM email_codes WHERE user_id = $1")
        .bind(&user.id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(attempts, 0, "no try of the code was used");
    assert_eq!(
        side_effects(&app).await,
        before,
        "nothing counted, nothing mailed"
    );
}

async fn pin_checks(app: &TestApp) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE action = 'support.pin_checked'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    n
}

#[tokio::test]
async fn the_pin_check_marks_bad_fields_and_checks_nothing() {
    let app = TestApp::spawn().await;
    app.operator("agent", "agent@provider.example").await;
    app.customer("caller").await;
    let ops = app.signed_in("agent").await;
    let before = side_effects(&app).await;
    let post = |body: &'static str| post_raw(&ops, &app, "/admin/support", "/admin/support", body);
    assert_field_error(&post("pin=123456").await, "email", REQUIRED);
    assert_field_error(
        &post("email=caller&pin=123456").await,
        "email",
        NOT_AN_ADDRESS,
    );
    assert_field_error(
        &post("email=%ff%40acme-industries.com&pin=123456").await,
        "email",
        UNREADABLE,
    );
    assert_field_error(
        &post("email=caller%40acme-industries.com&pin=1&pin=2").await,
        "pin",
        UNREADABLE,
    );
    assert_field_error(
        &post("email=caller%40acme-industries.com").await,
        "pin",
        REQUIRED,
    );
    assert_field_error(
        &post("email=caller%40acme-industries.com&pin=12ab").await,
        "pin",
        PIN_FORMAT,
    );
    assert_eq!(pin_checks(&app).await, 0, "no check was made");
    assert_eq!(side_effects(&app).await, before);

    // The CLI refuses the same input before checking anything.
    for args in [
        ["--email", "caller", "--pin", "123456"],
        ["--email", "caller@acme-industries.com", "--pin", "12ab"],
    ] {
        let mut all = vec!["support", "verify-pin"];
        all.extend(args);
        let out = app.cli(&all);
        assert!(!out.status.success());
        assert_ne!(out.status.code(), Some(3), "not a 'does not match'");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--email") || stderr.contains("--pin"),
            "{stderr}"
        );
    }
    assert_eq!(pin_checks(&app).await, 0, "no check was made");
}
