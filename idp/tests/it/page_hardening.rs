//! Page hardening (issue 8, informational items): notices come from the server, not
//! the URL; nothing but `/password/new` works while a one-time password still has to
//! be replaced; the browser-binding cookie is issued by the provider only and
//! replaced at login; private-use redirect schemes are reverse domain names.

use reqwest::StatusCode;

use crate::harness::*;
use crate::process::ProviderProcess;
use idp::account::users::UserSpec;

const NEW_PASSWORD: &str = "violet kettle drums at dawn";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value the response sets for the cookie `name`, if it sets one.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().unwrap();
        v.strip_prefix(&format!("{name}="))
            .map(|rest| rest.split(';').next().unwrap().to_owned())
    })
}

/// An operator `ops` and a company acme-demo.example with one user; returns the
/// operator.
async fn operator(app: &TestApp) -> idp::db::users::User {
    let ops = app.operator("ops", "ops.person@provider.example").await;
    app.user_with(UserSpec {
        company: Some("ACME Demo".into()),
        ..TestApp::account_spec("sam", "sam@acme-demo.example")
    })
    .await;
    ops
}

#[tokio::test]
async fn notices_name_only_what_the_database_holds() {
    let app = TestApp::spawn().await;
    operator(&app).await;
    let ops = app.signed_in("ops").await;
    for crafted in [
        "/admin/companies?saved=Call%20%2B1%20555%200100%20or%20visit%20evil-phish.example",
        "/admin/companies?saved=nowhere.example",
    ] {
        let Page {
            status, body: page, ..
        } = ops.get(&app.url(crafted)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !page.contains("Saved ") && !page.contains("evil-phish") && !page.contains("nowhere"),
            "{crafted}: {page}"
        );
    }
    // Saving shows the stored domain.
    let Page {
        status, location, ..
    } = ops
        .submit_form(
            &app,
            "/admin/companies",
            "/admin/companies/ACME-Demo.example/support",
            &[("level", "plus"), ("region", "EMEA")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let Page { body: page, .. } = ops.get(&app.url(&location.unwrap())).await;
    assert!(page.contains("Saved acme-demo.example."), "{page}");
    // The approval queue says "approved" only for a registration that was approved.
    let Page { body: page, .. } = ops
        .get(&app.url("/admin/registrations?notice=approved&reg=made-up"))
        .await;
    assert!(
        !page.contains("Approved") && !page.contains("welcome mail"),
        "{page}"
    );
}

#[tokio::test]
async fn until_the_one_time_password_is_replaced_only_the_new_password_page_works() {
    let app = TestApp::spawn().await;
    let ops = operator(&app).await;
    let browser = app.signed_in("ops").await;
    // As after a login with a one-time password from the approval mail.
    app.require_password_change(&ops.id, 3600).await;
    for page in [
        "/profile",
        "/profile/password",
        "/admin/registrations",
        "/admin/companies",
        "/admin/support",
        "/admin/keys",
    ] {
        let Page {
            status, location, ..
        } = browser.get(&app.url(page)).await;
        assert_eq!(
            (status, location.as_deref()),
            (StatusCode::SEE_OTHER, Some("/password/new")),
            "GET {page}"
        );
    }
    let before = app.counts().await;
    for (action, fields) in [
        (
            "/profile/settings",
            vec![("locale", "de"), ("zoneinfo", "UTC")],
        ),
        ("/profile/support-pin", vec![]),
        ("/profile/password/code", vec![]),
        (
            "/profile/password",
            vec![
                ("code", "000000"),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        ),
        ("/profile/sessions/end-others", vec![]),
        (
            "/admin/companies/acme-demo.example/support",
            vec![("level", "priority")],
        ),
        (
            "/admin/support",
            vec![("email", "sam@acme-demo.example"), ("pin", "123456")],
        ),
        (
            "/admin/registrations/made-up/reject",
            vec![("reason", "no")],
        ),
        ("/admin/keys/rotate", vec![("alg", "RS256")]),
    ] {
        let Page {
            status, body: page, ..
        } = browser
            .submit_form(&app, "/password/new", action, &fields)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "POST {action}: {page}");
        assert!(page.contains("Set your new password first"), "{action}");
    }
    assert_eq!(app.counts().await, before);
    assert_eq!(app.count("email_codes").await, 0, "no code was mailed");
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_events WHERE action IN ('profile.settings', 'company.support_set', 'support.pin_checked')",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(n, 0, "nothing was changed or checked");
    // The new password page works, and then everything else does.
    let Page {
        status,
        location,
        body: page,
        ..
    } = browser
        .submit_form(
            &app,
            "/password/new",
            "/password/new",
            &[
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(location.as_deref(), Some("/"));
    for page in ["/profile", "/profile/password", "/admin/companies"] {
        let Page { status, .. } = browser.get(&app.url(page)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
    }
}

#[tokio::test]
async fn a_browser_binding_id_the_client_chose_is_replaced() {
    let app = TestApp::spawn().await;
    app.user("ada").await;
    let chosen = "A".repeat(43);
    let http = no_redirects();
    let r = http
        .get(app.url("/login"))
        .header("cookie", format!("idp_browser={chosen}"))
        .send()
        .await
        .unwrap();
    let issued = set_cookie(&r, "idp_browser").expect("the provider sets its own id");
    assert_ne!(issued, chosen);
    let page = r.text().await.unwrap();
    let csrf = hidden(&page, "csrf_token").unwrap();
    assert_eq!(csrf, idp::http::browser::csrf_token(&app.state, &issued));
    // Knowing the chosen id (and so its CSRF token) is worth nothing.
    let r = http
        .post(app.url("/login"))
        .header("cookie", format!("idp_browser={chosen}"))
        .form(&[
            (
                "csrf_token",
                idp::http::browser::csrf_token(&app.state, &chosen).as_str(),
            ),
            ("username", "ada"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("browser_sessions").await, 0);
    // Nor is a forged MAC on a chosen random part.
    let forged = format!("{chosen}.{}", "B".repeat(43));
    let r = http
        .get(app.url("/login"))
        .header("cookie", format!("idp_browser={forged}"))
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&r, "idp_browser").is_some_and(|v| v != forged));
}

/// The login starts on one provider process and is submitted to another (a second
/// replica): each accepts the ids the other issued, as the MAC key derives from the
/// shared KEK.
#[tokio::test]
async fn the_browser_binding_id_is_replaced_at_login_and_the_login_still_resumes() {
    let app = TestApp::spawn().await;
    let client = app.client().await;
    app.user("ada").await;
    let other = ProviderProcess::spawn(&app, &[]).await;
    let browser = Browser::new();
    let (verifier, challenge) = pkce();
    let r = browser
        .http
        .get(authorize_url(&app, &client, &challenge, &[]))
        .send()
        .await
        .unwrap();
    let before = set_cookie(&r, "idp_browser").expect("a browser id");
    let login = app.url(r.headers()["location"].to_str().unwrap());
    let Page { body: page, .. } = browser.get(&login).await;
    let old_csrf = hidden(&page, "csrf_token").unwrap();
    // Cookies do not depend on the port: the other process gets the same ones.
    let Page {
        status,
        location,
        body,
        ..
    } = browser
        .submit_login(&login.replace(&app.base, &other.base), "ada", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    // The id known before the login (read or planted) binds nothing any more.
    let (status, _) = {
        let r = no_redirects()
            .get(&login)
            .header("cookie", format!("idp_browser={before}"))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::BAD_REQUEST, "the pending request moved");
    // The browser that logged in resumes (on the first process) and gets its code.
    let callback = browser
        .follow_to_callback(&app.url(&location.unwrap()))
        .await;
    let (status, _) = exchange(&app, &client, &param(&callback, "code").unwrap(), &verifier).await;
    assert_eq!(status, StatusCode::OK);
    // CSRF tokens follow the new id: one from before the login is refused.
    let r = browser
        .http
        .post(app.url("/profile/settings"))
        .form(&[
            ("csrf_token", old_csrf.as_str()),
            ("locale", "de"),
            ("zoneinfo", "UTC"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let Page {
        status, location, ..
    } = browser
        .submit_form(
            &app,
            "/profile",
            "/profile/settings",
            &[("locale", "de"), ("zoneinfo", "UTC")],
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/profile?notice=saved"))
    );
    other.kill().await;
}

#[tokio::test]
async fn private_use_redirect_schemes_must_be_reverse_domain_names() {
    let app = TestApp::spawn().await;
    for (flag, uri, says) in [
        ("--redirect-uri", "java.script:alert(1)", "reverse domain"),
        ("--redirect-uri", "Java.Script:alert(1)", "reverse domain"),
        ("--redirect-uri", "javascript:alert(1)", "https"),
        ("--redirect-uri", "Com.Example.App:/cb", "reverse domain"),
        ("--redirect-uri", "fi.le:///etc/passwd", "reverse domain"),
        (
            "--post-logout-redirect-uri",
            "da.ta:text/html,x",
            "reverse domain",
        ),
        (
            "--backchannel-logout-uri",
            "com.example.app:/bc",
            "http or https",
        ),
        (
            "--backchannel-logout-uri",
            "java.script:alert(1)",
            "http or https",
        ),
    ] {
        let mut args = vec!["clients", "create", "--name", "x"];
        if flag != "--redirect-uri" {
            args.extend(["--redirect-uri", "https://rp.example/cb"]);
        }
        args.extend([flag, uri]);
        let out = app.cli(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag} {uri} was accepted");
        assert!(stderr.contains(says), "{flag} {uri}: {stderr}");
    }
    assert_eq!(app.count("clients").await, 0);
    let out = app.cli(&[
        "clients",
        "create",
        "--name",
        "native",
        "--public",
        "--redirect-uri",
        "com.example.app:/oauth2redirect",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
