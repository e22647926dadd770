//! Text an attacker types (issue 8, items 9 and 10): registration fields refuse web
//! and e-mail addresses, mails to an address nobody has confirmed yet carry nothing
//! the registrant typed, and every spelling of an e-mail domain gets the same verdict.

use reqwest::StatusCode;

use crate::harness::*;
use crate::mailbox::SmtpSink;
use idp::account::users::UserSpec;

const URL_LIKE: &str = "Web or e-mail addresses are not allowed in this field.";

/// A valid registration of `email` with `overrides` applied.
fn form<'a>(email: &'a str, overrides: &[(&'static str, &'a str)]) -> Vec<(&'static str, &'a str)> {
    let mut fields = vec![
        ("given_name", "Zebulon"),
        ("family_name", "Quirke"),
        ("email", email),
        ("company", "ACME Industries"),
        ("country", "DE"),
        ("job_title", "IT Manager"),
        ("terms", "yes"),
    ];
    for (name, value) in overrides {
        fields.retain(|(n, _)| n != name);
        fields.push((name, value));
    }
    fields
}

async fn register(app: &TestApp, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let Page { status, body, .. } = Browser::new()
        .submit_form(app, "/register", "/register", fields)
        .await;
    (status, body)
}

#[tokio::test]
async fn registration_refuses_web_addresses_in_names_company_and_job_title() {
    let app = TestApp::spawn().await;
    for (i, (field, value)) in [
        ("given_name", "Visit www.evil-phish.example now"),
        ("given_name", "bit.ly"),
        ("family_name", "evil-phish.example"),
        ("family_name", "Quirke ｅｖｉｌ．ｅｘａｍｐｌｅ"),
        ("company", "Evil-Phish.example Ltd"),
        ("company", "ACME www.evil"),
        ("job_title", "CTO, see evil-phish.example"),
        ("job_title", "IT evil。example"),
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("zeb{i}.quirke@acme-industries.com");
        let (status, body) = register(&app, &form(&email, &[(field, value)])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}={value:?}");
        assert!(body.contains(URL_LIKE), "{field}={value:?}: {body}");
        assert!(
            body.contains(&format!("aria-describedby=\"{field}-error\"")),
            "the message is on the field {field}"
        );
    }
    assert_eq!(app.count("registrations").await, 0);
    assert_eq!(app.count("outbox").await, 0, "no mail to anyone");

    // Initials and abbreviations stay valid; a company may carry its own domain.
    let (status, body) = register(
        &app,
        &form(
            "jrr.tolkien@booking.com",
            &[
                ("given_name", "J. R. R."),
                ("family_name", "St. John"),
                ("company", "Booking.com B.V."),
                ("job_title", "Ph.D., Co. KG"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // ... but not somebody else's.
    let (status, body) = register(
        &app,
        &form("j.doe@acme-industries.com", &[("company", "Booking.com")]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains(URL_LIKE));
}

#[tokio::test]
async fn mails_to_an_unconfirmed_address_carry_nothing_the_registrant_typed() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    let email = "zebulon.quirke@acme-industries.com";
    let (status, body) = register(&app, &form(email, &[])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let typed = ["Zebulon", "Quirke", "ACME Industries", "IT Manager"];
    let confirm = sink.delivered(&app, email, 1).await;
    assert_eq!(confirm.subject, "Confirm your registration");
    // The resent link and the notice for a known address are just as plain.
    let Page { status, .. } = Browser::new()
        .submit_form(
            &app,
            "/register/resend",
            "/register/resend",
            &[("email", email)],
        )
        .await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
    let resent = sink.delivered(&app, email, 2).await;
    assert_eq!(resent.subject, "Confirm your registration");
    app.user("known").await;
    let (status, _) = register(&app, &form("known@example.com", &[])).await;
    assert_eq!(status, StatusCode::OK);
    let notice = sink.delivered(&app, "known@example.com", 1).await;
    assert_eq!(notice.subject, "Registration attempt with your address");
    for mail in [&confirm, &resent, &notice] {
        assert!(mail.text.starts_with("Hello,"), "{}", mail.text);
        for text in typed {
            assert!(
                !mail.text.contains(text) && !mail.html.contains(text),
                "{text:?} reached an unconfirmed address: {}",
                mail.text
            );
        }
    }
}

#[tokio::test]
async fn operators_cannot_create_users_with_web_addresses_in_names() {
    let app = TestApp::spawn().await;
    for (given, company) in [
        ("www.evil-phish.example", None),
        ("Ada", Some("Visit evil-phish.example")),
    ] {
        let result = app
            .try_user_with(UserSpec {
                given_name: given.into(),
                family_name: "Lovelace".into(),
                company: company.map(str::to_owned),
                ..TestApp::account_spec("ada", "ada@acme-demo.example")
            })
            .await;
        let error = result.expect_err("refused").to_string();
        assert!(error.contains("Web or e-mail addresses"), "{error}");
    }
    let out = app.cli(&[
        "users",
        "create",
        "--username",
        "eve",
        "--email",
        "eve@acme-demo.example",
        "--given-name",
        "Eve",
        "--family-name",
        "bit.ly",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("family_name"));
    assert_eq!(app.count("users").await, 0);
    // The company's own domain is fine.
    app.user_with(UserSpec {
        given_name: "Ada".into(),
        company: Some("ACME-Demo.example".into()),
        ..TestApp::account_spec("ada", "ada@acme-demo.example")
    })
    .await;
}

#[tokio::test]
async fn look_alike_domains_are_refused_in_their_a_label_spelling_too() {
    let app = TestApp::spawn().await;
    for (i, (email, reason)) in [
        ("jane@аррӏе.com", "imitates another domain"),
        ("jane@xn--80ak6aa92e.com", "imitates another domain"), // the same, as A-label
        ("jane@XN--CME-5CD.com", "imitates another domain"),    // Cyrillic а + cme
        ("jane@säkerhetsväst.se", "Disposable"),
        ("jane@xn--skerhetsvst-l8ai.se", "Disposable"),
        ("jane@xn--acme-.com", "not a valid e-mail address"),
    ]
    .into_iter()
    .enumerate()
    {
        let zeb = format!("zeb{i}");
        let (status, body) = register(&app, &form(email, &[("given_name", &zeb)])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{email}");
        assert!(body.contains(reason), "{email}: expected {reason:?}");
    }
    assert_eq!(app.count("registrations").await, 0);

    // A genuine IDN address: its spellings name one account, at login and at sign-up.
    app.user_with(UserSpec {
        given_name: "Anna".into(),
        ..TestApp::account_spec("anna", "anna@bücher.example")
    })
    .await;
    for login in [
        "anna@bücher.example",
        "ANNA@XN--BCHER-KVA.EXAMPLE",
        "anna@xn--bcher-kva.example",
    ] {
        let Page {
            status, location, ..
        } = Browser::new()
            .submit_login(&app.url("/login"), login, PASSWORD)
            .await;
        assert_eq!(
            (status, location.as_deref()),
            (StatusCode::SEE_OTHER, Some("/")),
            "{login}"
        );
    }
}

/// Review finding F3: IP address literals are web addresses too, in every spelling and
/// on both ways in (self-registration and operators).
#[tokio::test]
async fn ip_address_literals_count_as_web_addresses() {
    let app = TestApp::spawn().await;
    for (i, (field, value)) in [
        ("company", "203.0.113.5/login"),
        ("company", "Login 203.0.113.5"),
        ("company", "ACME (２０３．０．１１３．５)"),
        ("job_title", "IT 203。0。113。5"),
        ("company", "ACME 2001:db8::1"),
        ("job_title", "CTO [::ffff:203.0.113.5]"),
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("zeb{i}.quirke@acme-industries.com");
        let (status, body) = register(&app, &form(&email, &[(field, value)])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}={value:?}");
        assert!(body.contains(URL_LIKE), "{field}={value:?}: {body}");
    }
    assert_eq!(app.count("registrations").await, 0);
    assert_eq!(app.count("outbox").await, 0, "no mail to anyone");
    let result = app
        .try_user_with(UserSpec {
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            company: Some("Login 203.0.113.5".into()),
            ..TestApp::account_spec("ada", "ada@acme-demo.example")
        })
        .await;
    let error = result.expect_err("refused").to_string();
    assert!(error.contains("Web or e-mail addresses"), "{error}");
    // Numbers that are no address stay valid.
    let (status, body) = register(
        &app,
        &form(
            "zebulon.quirke@acme-industries.com",
            &[("company", "ACME 2000 (Release 1.2.3)")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
