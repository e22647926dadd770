//! The landing page's "Refresh": a role granted or removed at the provider shows at
//! the portal after a refresh, without signing out; a disabled user's refresh is
//! refused by the provider and ends the portal's session.

use idp::account::members::{self, Acting};
use reqwest::StatusCode;

use crate::harness::*;

const APPS_INSTALL: &str = "app-portal:apps.install";

async fn refresh(env: &Env, browser: &Browser) -> Page {
    let home = browser.get(&env.app.url("/")).await;
    let csrf = hidden(&home.body, "csrf_token").unwrap();
    browser
        .post(&env.app.url("/refresh"), &[("csrf_token", &csrf)])
        .await
}

#[tokio::test]
async fn a_refresh_shows_role_changes_and_a_disabled_user_is_signed_out() {
    let env = Env::spawn().await;
    let browser = Browser::new();
    let sub = env.idp.user("ada", "acme-demo.example", "ACME Demo").await;
    let cli = Acting::cli("cli:test".into());
    let only_admin = vec!["super_admin".to_owned()];
    members::set_roles(&env.idp.state, &cli, &sub, &only_admin, None)
        .await
        .unwrap();
    browser.login(&env.app, "ada").await;
    let home = browser.get(&env.app.url("/")).await;
    assert_eq!(field(&home.body, "roles").as_deref(), Some("super_admin"));

    let names = vec!["super_admin".to_owned(), APPS_INSTALL.to_owned()];
    members::set_roles(&env.idp.state, &cli, &sub, &names, None)
        .await
        .unwrap();
    let before = browser.get(&env.app.url("/")).await;
    assert!(!before.body.contains(APPS_INSTALL), "not before a refresh");

    // A forged refresh is refused and changes nothing.
    let forged = browser
        .post(&env.app.url("/refresh"), &[("csrf_token", "guess")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let refreshed = refresh(&env, &browser).await;
    assert_eq!(
        refreshed.status,
        StatusCode::SEE_OTHER,
        "{}",
        refreshed.body
    );
    let home = browser.get(&env.app.url("/")).await;
    assert_eq!(
        field(&home.body, "roles").as_deref(),
        Some("super_admin, app-portal:apps.install")
    );

    // Removing the role again: gone at the next refresh, still signed in.
    members::set_roles(&env.idp.state, &cli, &sub, &only_admin, None)
        .await
        .unwrap();
    refresh(&env, &browser).await;
    let home = browser.get(&env.app.url("/")).await;
    assert_eq!(field(&home.body, "roles").as_deref(), Some("super_admin"));
    assert!(home.body.contains(">Logout</button>"));

    // Disabled: the provider refuses the refresh token; the portal's session ends.
    let other = env.idp.user("bob", "acme-demo.example", "ACME Demo").await;
    assert_ne!(other, sub);
    members::set_disabled(&env.idp.state, &cli, &sub, true)
        .await
        .unwrap();
    let refused = refresh(&env, &browser).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(env.app.portal.session_count(), 0);
}
