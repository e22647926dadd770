//! The `roles` and `company` claims as relying parties see them: `roles` holds only
//! the roles released to the requesting client (plus `super_admin`), in the ID token
//! and UserInfo alike, and follows role changes at the next refresh; `company` is
//! `{"id", "name", "domain"}`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;
use idp::account::users::UserSpec;
use idp::db::users::Role;
use idp::oauth::registration::ClientSpec;

const SCOPE: &str = "openid profile email company roles";

/// A portal client with the default catalogue's client_id `client_id`.
async fn portal(app: &TestApp, client_id: &str) -> TestClient {
    app.client_with(ClientSpec {
        client_id: Some(client_id.into()),
        scope: format!("{SCOPE} offline_access"),
        ..ClientSpec::default()
    })
    .await
}

fn named(name: &str) -> Role {
    Role::Named(name.into())
}

/// Sam of ACME Demo with `super_admin`, a role of each portal, and `gone:role`, which
/// the catalogue does not have (a role removed from the configuration); stored out
/// of order, the claim still lists `super_admin` first, then by name.
async fn sam(app: &TestApp) -> idp::db::users::User {
    app.user_with(UserSpec {
        roles: vec![
            named("customer-portal:licenses"),
            named("gone:role"),
            Role::SuperAdmin,
            named("app-portal:apps.install"),
        ],
        ..TestApp::acme_demo_spec("sam")
    })
    .await
}

/// The token response of a login (or SSO) of `sam` through `client` with `scope`.
async fn tokens(app: &TestApp, browser: &Browser, client: &TestClient, scope: &str) -> Value {
    let (verifier, challenge) = pkce();
    let url = authorize_url(app, client, &challenge, &[("scope", scope)]);
    let callback = match browser.get(&url).await {
        Page {
            status: StatusCode::FOUND,
            location: Some(location),
            ..
        } => url::Url::parse(&location).unwrap(),
        _ => browser.login(app, &url, "sam").await,
    };
    let (status, body) = exchange(app, client, &param(&callback, "code").unwrap(), &verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn id_claims(tokens: &Value) -> Value {
    jwt_parts(tokens["id_token"].as_str().unwrap()).1
}

async fn userinfo(app: &TestApp, tokens: &Value) -> Value {
    let r = userinfo_get(app, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn refresh(app: &TestApp, client: &TestClient, tokens: &Value) -> Value {
    let token = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = token_request(
        app,
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Replaces the stored roles of user `id` (what the company pages do, minus checks).
async fn set_roles(app: &TestApp, id: &str, roles: Vec<Role>) {
    idp::db::members::set_roles(app.state.db.pool(), id, &roles, app.clock_now())
        .await
        .unwrap();
}

#[tokio::test]
async fn each_client_sees_only_the_roles_released_to_it() {
    let app = TestApp::spawn().await;
    let customer = portal(&app, "customer-portal").await;
    let apps = portal(&app, "app-portal").await;
    let other = app
        .client_with(ClientSpec {
            scope: SCOPE.into(),
            ..ClientSpec::default()
        })
        .await;
    sam(&app).await;
    let browser = Browser::new();

    let t = tokens(&app, &browser, &customer, SCOPE).await;
    let expected = json!(["super_admin", "customer-portal:licenses"]);
    assert_eq!(id_claims(&t)["roles"], expected, "ID token");
    assert_eq!(userinfo(&app, &t).await["roles"], expected, "UserInfo");

    // The same login (SSO) at the App Portal: its own role instead.
    let t = tokens(&app, &browser, &apps, SCOPE).await;
    let expected = json!(["super_admin", "app-portal:apps.install"]);
    assert_eq!(id_claims(&t)["roles"], expected, "ID token");
    assert_eq!(userinfo(&app, &t).await["roles"], expected, "UserInfo");

    // A client no catalogue role is released to sees super_admin only.
    let t = tokens(&app, &browser, &other, SCOPE).await;
    assert_eq!(id_claims(&t)["roles"], json!(["super_admin"]));
    assert_eq!(userinfo(&app, &t).await["roles"], json!(["super_admin"]));

    // Without the roles scope, no roles claim.
    let t = tokens(&app, &browser, &customer, "openid company").await;
    assert!(id_claims(&t).get("roles").is_none());
    assert!(userinfo(&app, &t).await.get("roles").is_none());
}

#[tokio::test]
async fn the_company_claim_is_an_object_with_id_name_and_primary_domain() {
    let app = TestApp::spawn().await;
    let customer = portal(&app, "customer-portal").await;
    let user = sam(&app).await;
    let t = tokens(&app, &Browser::new(), &customer, SCOPE).await;
    let expected = json!({
        "id": user.company_id.unwrap(),
        "name": "ACME Demo",
        "domain": "acme-demo.example",
    });
    let id = id_claims(&t);
    assert_eq!(id["company"], expected, "ID token");
    assert!(id.get("company_domain").is_none(), "the old claim is gone");
    let info = userinfo(&app, &t).await;
    assert_eq!(info["company"], expected, "UserInfo");
    assert!(info.get("company_domain").is_none());

    // Without the company scope, no company claim.
    let t = tokens(&app, &Browser::new(), &customer, "openid roles").await;
    assert!(id_claims(&t).get("company").is_none());
    assert!(userinfo(&app, &t).await.get("company").is_none());

    // Discovery no longer lists company_domain.
    let discovery: Value = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let supported = discovery["claims_supported"].as_array().unwrap();
    assert!(supported.contains(&json!("company")) && supported.contains(&json!("roles")));
    assert!(!supported.contains(&json!("company_domain")));
}

#[tokio::test]
async fn role_changes_show_in_the_id_token_at_the_next_refresh() {
    let app = TestApp::spawn().await;
    let customer = portal(&app, "customer-portal").await;
    let user = sam(&app).await;
    let t = tokens(&app, &Browser::new(), &customer, SCOPE).await;
    assert_eq!(
        id_claims(&t)["roles"],
        json!(["super_admin", "customer-portal:licenses"])
    );

    // An administrator takes customer-portal:licenses away.
    let set = |roles: Vec<Role>| set_roles(&app, &user.id, roles);
    set(vec![Role::SuperAdmin, named("app-portal:apps.install")]).await;
    let t = refresh(&app, &customer, &t).await;
    assert_eq!(
        id_claims(&t)["roles"],
        json!(["super_admin"]),
        "the removed role is gone without a new login"
    );
    assert_eq!(userinfo(&app, &t).await["roles"], json!(["super_admin"]));

    set(vec![named("customer-portal:support-cases")]).await;
    let t = refresh(&app, &customer, &t).await;
    assert_eq!(
        id_claims(&t)["roles"],
        json!(["customer-portal:support-cases"]),
        "a granted role shows, and so does losing super_admin"
    );
}
