//! Customer onboarding over HTTP with a real SMTP sink: registration with the
//! business-only policy, confirmation link, approval (CLI and admin page), login with
//! the one-time password, forced password change, and tokens for a relying party.

use reqwest::StatusCode;

use crate::harness::*;
use crate::mailbox::{free_port, SmtpSink};

const NEW_PASSWORD: &str = "violet kettle drums at dawn";

fn registration(email: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("given_name", "Jane"),
        ("family_name", "Doe"),
        ("email", email),
        ("company", "ACME Industries"),
        ("country", "DE"),
        ("job_title", "IT Manager"),
        ("phone", "+49 421 123456"),
        ("terms", "yes"),
    ]
}

async fn register(app: &TestApp, browser: &Browser, email: &str) -> (StatusCode, String) {
    let Page { status, body, .. } = browser
        .submit_form(app, "/register", "/register", &registration(email))
        .await;
    (status, body)
}

/// Registers and confirms `email`; returns the registration id.
async fn register_and_confirm(app: &TestApp, sink: &SmtpSink, email: &str) -> String {
    register_and_confirm_nth(app, sink, email, 1).await
}

/// Like [`register_and_confirm`], when `email` has received `n - 1` mails before.
async fn register_and_confirm_nth(app: &TestApp, sink: &SmtpSink, email: &str, n: usize) -> String {
    let browser = Browser::new();
    let (status, body) = register(app, &browser, email).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mail = sink.delivered(app, email, n).await;
    let link = mail.link();
    let path = link
        .strip_prefix(&app.base)
        .expect("links use the configured issuer");
    let token = path.split("token=").nth(1).unwrap().to_owned();
    let Page { status, body, .. } = browser
        .submit_form(app, path, "/register/confirm", &[("token", &token)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (id,): (String,) =
        sqlx::query_as("SELECT id FROM registrations WHERE email = $1 AND status = 'pending'")
            .bind(email)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    id
}

#[tokio::test]
async fn the_whole_journey_from_registration_to_tokens() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    let client = app.client().await;
    let email = "jane.doe@acme-industries.com";

    // The portal sends the browser to the provider; the user picks "Register".
    let (verifier, challenge) = pkce();
    let browser = Browser::new();
    let login = browser
        .start(&app, &authorize_url(&app, &client, &challenge, &[]))
        .await;
    let Page {
        body: login_page, ..
    } = browser.get(&login).await;
    assert!(
        login_page.contains("href=\"/register?request_id="),
        "the login page links to registration"
    );
    let (status, body) = register(&app, &browser, email).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Check your mailbox"));

    // The confirmation mail: text and HTML, a link built from the issuer.
    let mail = sink.delivered(&app, email, 1).await;
    assert_eq!(mail.subject, "Confirm your registration");
    assert!(mail.html.contains("<a href=\""));
    let link = mail.link();
    assert!(
        link.starts_with(&format!("{}/register/confirm?token=", app.base)),
        "{link}"
    );
    let path = link.strip_prefix(&app.base).unwrap();
    // GET shows a button and changes nothing (mail scanners follow links).
    let Page {
        status, body: page, ..
    } = browser.get(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Confirm registration"));
    let token = path.split("token=").nth(1).unwrap();
    let Page {
        status, body: page, ..
    } = browser
        .submit_form(&app, path, "/register/confirm", &[("token", token)])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("24 hours"));
    // The link is single use.
    let Page {
        status, body: page, ..
    } = browser
        .submit_form(
            &app,
            "/register/resend",
            "/register/confirm",
            &[("token", token)],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("already used"));

    // An operator approves with the CLI.
    let listed = app.cli(&["registrations", "list", "--json"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let entry = &listed.as_array().unwrap()[0];
    assert_eq!(entry["email"], email);
    assert_eq!(entry["domain"], "acme-industries.com");
    assert_eq!(entry["company_exists"], false);
    let id = entry["id"].as_str().unwrap();
    let approved = app.cli(&["registrations", "approve", id, "--json"]);
    assert!(
        approved.status.success(),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    let approved: serde_json::Value = serde_json::from_slice(&approved.stdout).unwrap();
    assert_eq!(approved["new_company"], true);
    let audit: Vec<(String, String)> =
        sqlx::query_as("SELECT actor, action FROM audit_events WHERE subject = $1")
            .bind(id)
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert!(audit
        .iter()
        .any(|(actor, action)| actor.starts_with("cli:") && action == "registration.approved"));

    // The welcome mail: username, one-time password, a login button to the portal.
    let welcome = sink.delivered(&app, email, 2).await;
    assert_eq!(welcome.subject, "Your registration was approved");
    let username = welcome.value_after("Username:");
    let otp = welcome.value_after("One-time password:");
    assert_eq!(username, email);
    assert_eq!(otp.len(), 19);
    assert!(welcome.text.contains("Super Admin"));
    assert!(
        welcome.text.contains(&format!("Log in: {}/", app.base)),
        "the button opens the portal login"
    );
    assert!(welcome.html.contains("href=") && welcome.html.contains(&otp));

    // First login with the one-time password: the forced change comes first.
    let browser = Browser::new();
    let login = browser
        .start(&app, &authorize_url(&app, &client, &challenge, &[]))
        .await;
    let Page {
        status,
        location,
        body,
        ..
    } = browser.submit_login(&login, &username, &otp).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let Page {
        status, location, ..
    } = browser.get(&app.url(&location.unwrap())).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "no code before the password is changed"
    );
    let change = location.unwrap();
    assert!(change.starts_with("/password/new?request_id="), "{change}");
    // prompt=none in the meantime: interaction_required, never a code.
    let Page {
        location: silent, ..
    } = browser
        .get(&authorize_url(
            &app,
            &client,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert!(silent.unwrap().contains("error=interaction_required"));
    // The policy says why a password is refused.
    for (weak, reason) in [
        (otp.as_str(), "different from your current"),
        ("short", "too short"),
        ("password1234", "too common"),
        ("jane doe rocks at acme", "must not contain"),
    ] {
        let Page {
            status, body: page, ..
        } = browser
            .submit_form(
                &app,
                &change,
                "/password/new",
                &[
                    ("new_password", weak),
                    ("confirm_password", weak),
                    ("request_id", change.split('=').nth(1).unwrap()),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains(reason), "{weak}: {page}");
    }
    let Page {
        status,
        location,
        body: page,
        ..
    } = browser
        .submit_form(
            &app,
            &change,
            "/password/new",
            &[
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
                ("request_id", change.split('=').nth(1).unwrap()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    // ... and the original authorization request continues to the portal.
    let callback = browser
        .follow_to_callback(&app.url(&location.unwrap()))
        .await;
    let (status, tokens) =
        exchange(&app, &client, &param(&callback, "code").unwrap(), &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (_, id_token) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["email"], email);
    assert_eq!(id_token["email_verified"], true);
    assert_eq!(id_token["name"], "Jane Doe");

    // The one-time password worked once; the new password works.
    let fresh = Browser::new();
    let login = fresh
        .start(&app, &authorize_url(&app, &client, &challenge, &[]))
        .await;
    let Page { status, .. } = fresh.submit_login(&login, &username, &otp).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let Page { status, .. } = fresh.submit_login(&login, &username, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_policy_refuses_with_a_reason_on_the_field() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    let browser = Browser::new();
    for (email, reason) in [
        ("jane@gmail.com", "free e-mail providers"),
        ("jane@mailinator.com", "Disposable"),
        ("info@acme-industries.com", "Generic or shared"),
        ("support-team@acme-industries.com", "Generic or shared"),
        ("jane@аcme.com", "mixes writing systems"),
        ("not-an-address", "not a valid e-mail address"),
    ] {
        let (status, body) = register(&app, &browser, email).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{email}");
        assert!(body.contains(reason), "{email}: expected '{reason}'");
        assert!(body.contains("aria-invalid=\"true\" aria-describedby=\"email-error\""));
    }
    assert_eq!(app.count("registrations").await, 0);
    assert_eq!(app.count("outbox").await, 0);
}

#[tokio::test]
async fn the_summary_lists_what_is_missing_without_javascript() {
    let app = TestApp::spawn().await;
    let browser = Browser::new();
    let Page {
        status, body: page, ..
    } = browser.get(&app.url("/register")).await;
    assert_eq!(status, StatusCode::OK);
    for field in [
        "given_name",
        "family_name",
        "email",
        "company",
        "country",
        "terms",
    ] {
        assert!(
            page.contains(&format!("<li data-field=\"{field}\">")),
            "{field} listed as missing"
        );
    }
    assert!(page.contains("<p id=\"complete\" hidden>"));
    assert!(
        page.contains("autocomplete=\"given-name\"")
            && page.contains("autocomplete=\"organization\"")
    );
    // After a submit with some fields, the server's summary lists only the rest.
    let Page {
        status, body: page, ..
    } = browser
        .submit_form(
            &app,
            "/register",
            "/register",
            &[("given_name", "Jane"), ("email", "jane.doe@acme.com")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("<li data-field=\"given_name\" hidden>"));
    assert!(page.contains("<li data-field=\"company\">"));
    assert!(page.contains("value=\"Jane\""), "entered values are kept");
}

#[tokio::test]
async fn an_existing_address_gets_the_same_page_and_a_notice() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    app.user_with(TestApp::account_spec(
        "existing",
        "max.muster@acme-industries.com",
    ))
    .await;
    let browser = Browser::new();
    let (new_status, new_page) = register(&app, &browser, "erika.muster@acme-industries.com").await;
    let (old_status, old_page) = register(&app, &browser, "max.muster@acme-industries.com").await;
    // The same address again while its registration is unconfirmed: the same page.
    let (again_status, again_page) =
        register(&app, &browser, "erika.muster@acme-industries.com").await;
    assert_eq!(new_status, old_status);
    assert_eq!(new_status, again_status);
    assert_eq!(
        new_page.replace("erika.muster", "X"),
        old_page.replace("max.muster", "X"),
        "the page reveals nothing about who is registered"
    );
    assert_eq!(new_page, again_page);
    let (open,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM registrations WHERE status IN ('unconfirmed', 'pending')",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(open, 1, "nothing half-created, no duplicate");
    let notice = sink
        .delivered(&app, "max.muster@acme-industries.com", 1)
        .await;
    assert_eq!(notice.subject, "Registration attempt with your address");
    // The newer unconfirmed registration replaced the older one, with a new link.
    let first = sink
        .delivered(&app, "erika.muster@acme-industries.com", 1)
        .await
        .link();
    let second = sink
        .delivered(&app, "erika.muster@acme-industries.com", 2)
        .await;
    assert_eq!(second.subject, "Confirm your registration");
    assert_ne!(second.link(), first);
    let Page { status, .. } = browser.get(&first).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the older link no longer works"
    );
}

#[tokio::test]
async fn nobody_can_squat_an_address_by_registering_it_first() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    let victim = "victim.person@acme-industries.com";
    // An attacker registers the victim's address with made-up data.
    let attacker = Browser::new();
    let mut forged = registration(victim);
    forged.retain(|(k, _)| *k != "company");
    forged.push(("company", "Evil Corp"));
    let Page { status, .. } = attacker
        .submit_form(&app, "/register", "/register", &forged)
        .await;
    assert_eq!(status, StatusCode::OK);
    // The real person registers; their link confirms their own data.
    let id = register_and_confirm_nth(&app, &sink, victim, 2).await;
    let (company,): (String,) =
        sqlx::query_as("SELECT company_name FROM registrations WHERE id = $1")
            .bind(&id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(company, "ACME Industries");
    // And a pending (confirmed) registration cannot be replaced any more.
    let Page { status, .. } = attacker
        .submit_form(&app, "/register", "/register", &forged)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sink.delivered(&app, victim, 3).await.subject,
        "Registration attempt with your address"
    );
}

#[tokio::test]
async fn links_and_one_time_passwords_expire() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    let browser = Browser::new();
    register(&app, &browser, "late.larry@acme-industries.com").await;
    let link = sink
        .delivered(&app, "late.larry@acme-industries.com", 1)
        .await
        .link();
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    app.clock.advance(24 * 3600 + 1);
    let Page {
        status, body: page, ..
    } = browser.get(&link).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("expired"));
    let token = path.split("token=").nth(1).unwrap();
    let Page { status, .. } = browser
        .submit_form(
            &app,
            "/register/resend",
            "/register/confirm",
            &[("token", token)],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A new link voids the old one and works.
    let Page {
        status, body: page, ..
    } = browser
        .submit_form(
            &app,
            "/register/resend",
            "/register/resend",
            &[("email", "late.larry@acme-industries.com")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let new_link = sink
        .delivered(&app, "late.larry@acme-industries.com", 2)
        .await
        .link();
    assert_ne!(new_link, link);
    let new_path = new_link.strip_prefix(&app.base).unwrap();
    let new_token = new_path.split("token=").nth(1).unwrap();
    let Page { status, .. } = browser
        .submit_form(&app, new_path, "/register/confirm", &[("token", new_token)])
        .await;
    assert_eq!(status, StatusCode::OK);

    // The one-time password dies after 72 hours.
    let (id,): (String,) = sqlx::query_as("SELECT id FROM registrations")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    idp::account::approval::approve(&app.state, &id, "test")
        .await
        .unwrap();
    let otp = sink
        .delivered(&app, "late.larry@acme-industries.com", 3)
        .await
        .value_after("One-time password:");
    app.clock.advance(72 * 3600 + 1);
    let Page { status, .. } = Browser::new()
        .submit_login(&app.url("/login"), "late.larry@acme-industries.com", &otp)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn registration_succeeds_while_smtp_is_down_and_the_mail_follows() {
    let port = free_port();
    let app = TestApp::spawn_with_smtp(&format!("smtp://127.0.0.1:{port}")).await;
    let browser = Browser::new();
    let (status, body) = register(&app, &browser, "patient.pat@acme-industries.com").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A delivery tries, fails, and schedules a retry.
    app.deliver_mail().await;
    let (attempts,): (i64,) = sqlx::query_as("SELECT attempts FROM outbox")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert!(attempts >= 1, "a failed delivery is recorded");
    assert_eq!(
        idp::db::outbox::counts(&app.state.db).await.unwrap(),
        (1, 0)
    );
    // The SMTP server comes back; after the backoff the mail arrives.
    let sink = SmtpSink::start_on(port);
    app.clock.advance(3600);
    let mail = sink
        .delivered(&app, "patient.pat@acme-industries.com", 1)
        .await;
    assert_eq!(mail.subject, "Confirm your registration");
    assert_eq!(
        idp::db::outbox::counts(&app.state.db).await.unwrap(),
        (0, 1)
    );
    let (text,): (String,) = sqlx::query_as("SELECT text_body FROM outbox")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert!(
        text.is_empty(),
        "a sent mail's body (with its secret link) is not kept"
    );
}

#[tokio::test]
async fn mails_follow_the_registrants_language() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    let browser = Browser {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(
                [(
                    reqwest::header::ACCEPT_LANGUAGE,
                    "de-DE,de;q=0.9,en;q=0.5".parse().unwrap(),
                )]
                .into_iter()
                .collect(),
            )
            .build()
            .unwrap(),
    };
    let (status, page) = register(&app, &browser, "hans.meier@acme-industries.de").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Bitte prüfen Sie Ihr Postfach"), "{page}");
    let mail = sink
        .delivered(&app, "hans.meier@acme-industries.de", 1)
        .await;
    assert_eq!(mail.subject, "Bestätigen Sie Ihre Registrierung");
    // German, and (to a not yet confirmed address) without the typed name.
    assert!(mail.text.starts_with("Guten Tag,"), "{}", mail.text);
    assert!(!mail.text.contains("Jane"));
    assert!(mail.html.contains("lang=\"de\""));
}

#[tokio::test]
async fn bad_input_gets_a_clear_message_and_creates_nothing() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    let browser = Browser::new();
    let long = "x".repeat(300);
    for (field, value, message) in [
        ("given_name", "<script>alert(1)</script>", "not allowed"),
        ("family_name", "Doe\u{0}", "required"),
        ("family_name", "Doe\u{202E}", "not allowed"),
        ("company", long.as_str(), "too long"),
        ("phone", "call me maybe", "phone number"),
        ("country", "XX", "Choose a country"),
        ("terms", "", "required"),
    ] {
        let mut fields = registration("jane.doe@acme-industries.com");
        fields.retain(|(k, _)| *k != field);
        if !value.is_empty() {
            fields.push((field, value));
        }
        let Page {
            status, body: page, ..
        } = browser
            .submit_form(&app, "/register", "/register", &fields)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}={value:?}");
        assert!(
            page.contains(message) || page.contains("could not be read"),
            "{field}: {page}"
        );
        assert!(!page.contains("<script>alert(1)"), "markup is escaped");
    }
    // Missing CSRF token.
    let r = browser
        .http
        .post(app.url("/register"))
        .form(&registration("jane.doe@acme-industries.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A forged confirmation token.
    let Page {
        status, body: page, ..
    } = browser
        .submit_form(
            &app,
            "/register/resend",
            "/register/confirm",
            &[("token", "forged-token")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("invalid"));
    assert_eq!(app.count("registrations").await, 0);
    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("outbox").await, 0);
}

#[tokio::test]
async fn operators_decide_in_the_admin_page_and_the_first_user_is_super_admin() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    app.operator("operator", "ops@provider.example").await;
    app.user("customer").await;
    let first = register_and_confirm(&app, &sink, "first.user@globex.example").await;
    let second = register_and_confirm(&app, &sink, "second.user@globex.example").await;
    let third = register_and_confirm(&app, &sink, "third.user@initech.example").await;

    // Not signed in: to the login page; a non-operator: 403.
    let anon = Browser::new();
    let Page {
        status, location, ..
    } = anon.get(&app.url("/admin/registrations")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/login?return_to=/admin/registrations")
    );
    let customer = app.signed_in("customer").await;
    let Page { status, .. } = customer.get(&app.url("/admin/registrations")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let ops = Browser::new();
    let Page {
        status, location, ..
    } = ops
        .submit_form(
            &app,
            "/login?return_to=/admin/registrations",
            "/login",
            &[
                ("username", "operator"),
                ("password", PASSWORD),
                ("return_to", "/admin/registrations"),
            ],
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/admin/registrations"))
    );
    let Page { body: queue, .. } = ops.get(&app.url("/admin/registrations")).await;
    for email in [
        "first.user@globex.example",
        "second.user@globex.example",
        "third.user@initech.example",
    ] {
        assert!(queue.contains(email), "{email} waits");
    }
    let approve = |id: &str| format!("/admin/registrations/{id}/approve");
    let Page {
        status, location, ..
    } = ops
        .submit_form(&app, "/admin/registrations", &approve(&first), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(location.contains("notice=approved"));
    let Page { body: queue, .. } = ops.get(&app.url(&location)).await;
    assert!(
        queue.contains("Approved first.user@globex.example"),
        "{queue}"
    );
    assert!(
        !queue.contains("first.user@globex.example\u{3c}"),
        "decided rows leave the queue"
    );
    // The second user of the same company: the company is known, no Super Admin.
    assert!(queue.contains("yes"), "the company now exists");
    ops.submit_form(&app, "/admin/registrations", &approve(&second), &[])
        .await;
    // Deciding twice is refused with a message.
    let Page { location, .. } = ops
        .submit_form(&app, "/admin/registrations", &approve(&second), &[])
        .await;
    assert!(location.unwrap().contains("notice=not_pending"));
    // A rejection needs a reason, which is mailed.
    let reject = format!("/admin/registrations/{third}/reject");
    let Page { location, .. } = ops
        .submit_form(&app, "/admin/registrations", &reject, &[("reason", "")])
        .await;
    assert!(location.unwrap().contains("notice=reason_required"));
    let Page { location, .. } = ops
        .submit_form(
            &app,
            "/admin/registrations",
            &reject,
            &[("reason", "We could not verify the company.")],
        )
        .await;
    assert!(location.unwrap().contains("notice=rejected"));
    let rejection = sink.delivered(&app, "third.user@initech.example", 2).await;
    assert!(rejection.text.contains("We could not verify the company."));

    let roles: Vec<(String, String)> = sqlx::query_as(
        "SELECT username, roles FROM users WHERE company_id IS NOT NULL ORDER BY username",
    )
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(
        roles,
        vec![
            (
                "first.user@globex.example".to_owned(),
                r#"["super_admin"]"#.to_owned()
            ),
            ("second.user@globex.example".to_owned(), "[]".to_owned()),
        ]
    );
    let (companies,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM companies")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(companies, 1);
    let actions: Vec<(String, String)> = sqlx::query_as("SELECT actor, action FROM audit_events WHERE action LIKE 'registration.%' AND actor LIKE 'operator:%' ORDER BY at, action")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert!(actions
        .iter()
        .all(|(actor, _)| actor == "operator:operator"));
    let second_mail = sink.delivered(&app, "second.user@globex.example", 2).await;
    assert!(!second_mail.text.contains("Super Admin"));
}

#[tokio::test]
async fn the_embedded_default_writes_eml_files_with_links_from_the_issuer() {
    let outbox = tempfile::tempdir().unwrap();
    let dir = outbox.path().to_owned();
    let app = TestApp::spawn_with(move |c| {
        c.mail.smtp_url = None;
        c.mail.outbox_dir = dir;
    })
    .await;
    let browser = Browser::new();
    // A forged Host / X-Forwarded-Host must not leak into the link.
    let Page { body: page, .. } = browser.get(&app.url("/register")).await;
    let csrf = hidden(&page, "csrf_token").unwrap();
    let mut form = registration("folder.fiona@acme-industries.com");
    form.push(("csrf_token", &csrf));
    let r = browser
        .http
        .post(app.url("/register"))
        .header("x-forwarded-host", "evil.example")
        .header("host", "evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.deliver_mail().await;
    let entry = std::fs::read_dir(outbox.path())
        .unwrap()
        .flatten()
        .next()
        .expect("an .eml file");
    let eml = std::fs::read_to_string(entry.path()).unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(eml.as_bytes())
        .expect("an .eml file");
    assert_eq!(parsed.subject(), Some("Confirm your registration"));
    let text = parsed.body_text(0).unwrap();
    assert!(
        text.contains(&format!("{}/register/confirm?token=", app.base)),
        "{text}"
    );
    assert!(!text.contains("evil.example"));
    assert!(parsed.body_html(0).is_some(), "an HTML part too");
}

#[tokio::test]
async fn a_permanent_smtp_refusal_is_given_up_not_retried() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with_smtp(&sink.url()).await;
    let browser = Browser::new();
    let (status, _) = register(&app, &browser, "unknown-person@acme-industries.com").await;
    assert_eq!(status, StatusCode::OK);
    app.deliver_mail().await;
    let (given_up, error): (Option<i64>, Option<String>) =
        sqlx::query_as("SELECT given_up_at, last_error FROM outbox")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(given_up.is_some(), "the mail is given up after a 550");
    assert!(error.unwrap_or_default().contains("550"));
    assert_eq!(
        idp::db::outbox::counts(&app.state.db).await.unwrap(),
        (0, 0)
    );
}
