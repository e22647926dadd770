//! Logging in: the Customer Portal's support information, SSO to the App Portal, and
//! the silent check (`prompt=none`) of the landing page.

use reqwest::StatusCode;

use crate::harness::*;

/// A fresh browser at a portal's landing page is sent to the provider with
/// prompt=none, comes back with login_required, and sees the Login button; the next
/// visit does not bounce again.
#[tokio::test]
async fn silent_check_without_a_provider_session_offers_login() {
    let env = Env::spawn().await;
    let browser = Browser::new();
    let pages = browser.visit(&env.customer.url("/")).await;
    let authorize = pages[1].url.clone();
    assert!(
        authorize.starts_with(&env.idp.url("/authorize")),
        "{authorize}"
    );
    assert_eq!(param(&authorize, "prompt").as_deref(), Some("none"));
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let callback = &pages[2].url;
    assert!(
        callback.starts_with(&env.customer.url("/callback")),
        "{callback}"
    );
    assert_eq!(param(callback, "error").as_deref(), Some("login_required"));
    let landing = pages.last().unwrap();
    assert_eq!(landing.url, env.customer.url("/"));
    assert_eq!(landing.status, StatusCode::OK);
    assert!(landing.body.contains(">Login</button>"), "{}", landing.body);
    assert!(
        !saw_login_form(&env.idp, &pages),
        "a silent check shows no form"
    );

    let again = browser.get(&env.customer.url("/")).await;
    assert_eq!(again.status, StatusCode::OK, "no second redirect (no loop)");
    assert!(again.body.contains(">Login</button>"));
    assert_eq!(env.customer.portal.session_count(), 0);
}

/// Full login at the Customer Portal for a Priority company: level, phone and PIN;
/// then the App Portal signs in silently (SSO) and shows the same person.
#[tokio::test]
async fn customer_portal_shows_priority_support_and_app_portal_shares_the_login() {
    let env = Env::spawn().await;
    let sub = env.idp.user("ada", "acme-demo.example", "ACME Demo").await;
    env.idp
        .support("acme-demo.example", "priority", Some("EMEA"))
        .await;
    let pin = env.idp.pin(&sub).await;
    let browser = Browser::new();

    let pages = browser.login(&env.customer, "ada").await;
    assert!(saw_login_form(&env.idp, &pages));
    let home = pages.last().unwrap();
    assert_eq!(home.url, env.customer.url("/"));
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Hello, Ada Lovelace"), "{}", home.body);
    assert_eq!(field(&home.body, "company").as_deref(), Some("ACME Demo"));
    assert_eq!(
        field(&home.body, "roles").as_deref(),
        Some("super_admin, customer-portal:licenses, customer-portal:support-cases"),
        "the roles released to the Customer Portal only"
    );
    assert_eq!(
        field(&home.body, "support-level").as_deref(),
        Some("Priority")
    );
    assert_eq!(
        field(&home.body, "support-phone").as_deref(),
        Some("+49 421 20 29 70 00")
    );
    assert_eq!(
        field(&home.body, "support-pin").as_deref(),
        Some(pin.as_str())
    );
    assert!(!home.body.contains("no priority support"));
    assert_eq!(field(&home.body, "sub").as_deref(), Some(sub.as_str()));
    let unescaped = home.body.replace("&#x2f;", "/");
    assert!(unescaped.contains(&format!("href=\"{}\"", env.idp.url("/profile"))));
    assert!(home.body.contains(">Logout</button>"));
    assert_eq!(env.customer.portal.session_count(), 1);

    // SSO: the App Portal's landing page checks silently and signs in, no form.
    let pages = browser.visit(&env.app.url("/")).await;
    assert!(!saw_login_form(&env.idp, &pages), "SSO shows no login form");
    assert_eq!(param(&pages[1].url, "prompt").as_deref(), Some("none"));
    let app = pages.last().unwrap();
    assert_eq!(app.url, env.app.url("/"));
    assert_eq!(app.status, StatusCode::OK, "{}", app.body);
    assert_eq!(field(&app.body, "sub").as_deref(), Some(sub.as_str()));
    assert_eq!(field(&app.body, "name").as_deref(), Some("Ada Lovelace"));
    assert_eq!(
        field(&app.body, "email").as_deref(),
        Some("ada@acme-demo.example")
    );
    assert_eq!(field(&app.body, "company").as_deref(), Some("ACME Demo"));
    assert_eq!(
        field(&app.body, "roles").as_deref(),
        Some("super_admin, app-portal:apps.install"),
        "the roles released to the App Portal only"
    );
    assert!(
        !app.body.contains("support-pin"),
        "the App Portal shows no PIN"
    );
    assert_eq!(env.app.portal.session_count(), 1);

    // Pages carry a strict CSP and no inline script.
    let r = browser.http.get(env.app.url("/")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!r.text().await.unwrap().contains("<script"));
}

/// A company without priority support gets the plain line instead of phone and PIN.
#[tokio::test]
async fn customer_portal_says_when_there_is_no_priority_support() {
    let env = Env::spawn().await;
    env.idp.user("bob", "plain-co.example", "Plain Co").await;
    let browser = Browser::new();
    let pages = browser.login(&env.customer, "bob").await;
    let home = pages.last().unwrap();
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert_eq!(field(&home.body, "company").as_deref(), Some("Plain Co"));
    assert_eq!(
        field(&home.body, "no-priority-support").as_deref(),
        Some("Your company has no priority support.")
    );
    assert!(!home.body.contains("support-pin"));
    assert!(!home.body.contains("Support Level"));

    // Standard support is not priority support either.
    env.idp
        .support("plain-co.example", "standard", Some("AMER"))
        .await;
    let other = Browser::new();
    let home = other.login(&env.customer, "bob").await.pop().unwrap();
    assert!(home.body.contains("Your company has no priority support."));

    // Plus is shown like Priority, with its own name.
    env.idp
        .support("plain-co.example", "plus", Some("APAC"))
        .await;
    let third = Browser::new();
    let home = third.login(&env.customer, "bob").await.pop().unwrap();
    assert_eq!(field(&home.body, "support-level").as_deref(), Some("Plus"));
    assert_eq!(
        field(&home.body, "support-phone").as_deref(),
        Some("+61 2 9066 9300")
    );
}
