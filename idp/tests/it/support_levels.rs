//! Support information only for support levels with phone support (issue 8, item
//! 12): by default Plus and Priority. Users of other levels get no support claims, no
//! support section or PIN on the profile, cannot create a PIN, and no operator's PIN
//! check matches them.

use reqwest::StatusCode;

use crate::harness::*;
use idp::account::users::UserSpec;
use idp::oauth::registration::ClientSpec;

const SCOPE: &str = "openid profile email company support";
const NOT_INCLUDED: &str = "does not include phone support";

/// ACME Demo (acme-demo.example) gets `level` support in EMEA.
async fn set_level(app: &TestApp, level: &str) {
    app.support("acme-demo.example", level, Some("EMEA")).await;
}

/// UserInfo for a fresh login of `username` with the support scope.
async fn userinfo(app: &TestApp, username: &str) -> serde_json::Value {
    let client = app
        .client_with(ClientSpec {
            scope: SCOPE.into(),
            ..ClientSpec::default()
        })
        .await;
    let (verifier, challenge) = pkce();
    let callback = Browser::new()
        .login(
            app,
            &authorize_url(app, &client, &challenge, &[("scope", SCOPE)]),
            username,
        )
        .await;
    let (status, tokens) =
        exchange(app, &client, &param(&callback, "code").unwrap(), &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn stored_pin(app: &TestApp, username: &str) -> Option<String> {
    let (pin,): (Option<String>,) =
        sqlx::query_as("SELECT support_pin FROM users WHERE username = $1")
            .bind(username)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    pin
}

#[tokio::test]
async fn levels_without_phone_support_release_no_support_claims() {
    let app = TestApp::spawn().await;
    app.company_user("basic", "none").await;
    for level in ["none", "standard"] {
        set_level(&app, level).await;
        let info = userinfo(&app, "basic").await;
        for claim in ["support_level", "support_phone", "support_pin"] {
            assert!(info.get(claim).is_none(), "{level}: {claim} in {info}");
        }
        assert_eq!(
            info["company"]["name"], "ACME Demo",
            "the company claim stays"
        );
    }
    assert_eq!(stored_pin(&app, "basic").await, None, "no PIN was created");
    // Plus and Priority get all three.
    for level in ["plus", "priority"] {
        set_level(&app, level).await;
        let info = userinfo(&app, "basic").await;
        assert_eq!(info["support_level"], level);
        assert_eq!(
            info["support_phone"],
            app.state.config.support.regions["EMEA"]
        );
        assert_eq!(info["support_pin"].as_str().map(str::len), Some(6));
    }
}

#[tokio::test]
async fn the_profile_shows_no_pin_and_refuses_a_new_one_without_phone_support() {
    let app = TestApp::spawn().await;
    app.company_user("plain", "standard").await;
    let browser = app.signed_in("plain").await;
    let Page {
        status, body: page, ..
    } = browser.get(&app.url("/profile")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(NOT_INCLUDED), "{page}");
    assert!(!page.contains("support-pin") && !page.contains("/profile/support-pin"));
    assert!(!page.contains("Support level"), "not even the level");
    let Page {
        status, body: page, ..
    } = browser
        .submit_form(&app, "/profile", "/profile/support-pin", &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains(NOT_INCLUDED));
    assert_eq!(stored_pin(&app, "plain").await, None, "no PIN was created");
    let user = idp::db::users::find_by_login(&app.state.db, "plain")
        .await
        .unwrap()
        .unwrap();
    assert!(idp::account::support::pin(&app.state, &user.id)
        .await
        .is_err());
    assert_eq!(stored_pin(&app, "plain").await, None);

    // Upgraded to Plus, the same page shows and rotates a PIN.
    set_level(&app, "plus").await;
    let Page { body: page, .. } = browser.get(&app.url("/profile")).await;
    assert!(page.contains("id=\"support-pin\"") && !page.contains(NOT_INCLUDED));
    let Page {
        status, location, ..
    } = browser
        .submit_form(&app, "/profile", "/profile/support-pin", &[])
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/profile?notice=pin_rotated"))
    );
}

#[tokio::test]
async fn operators_pin_checks_never_match_users_without_phone_support() {
    let app = TestApp::spawn().await;
    let user = app.company_user("caller", "priority").await;
    let pin = app.pin(&user.id).await;
    app.operator("agent", "agent@provider.example").await;
    let ops = app.signed_in("agent").await;
    let check = |level: &'static str| {
        let (app, ops, pin) = (&app, &ops, pin.clone());
        async move {
            set_level(app, level).await;
            let Page {
                status, body: page, ..
            } = ops
                .submit_form(
                    app,
                    "/admin/support",
                    "/admin/support",
                    &[("email", "caller@acme-demo.example"), ("pin", &pin)],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            page
        }
    };
    assert!(check("priority").await.contains("The PIN matches"));
    // Downgraded: the PIN the caller still has proves nothing any more.
    for level in ["standard", "none"] {
        assert!(check(level).await.contains("does not match"), "{level}");
    }
}

#[tokio::test]
async fn operators_check_a_pin_for_either_spelling_of_the_address() {
    let app = TestApp::spawn().await;
    let user = app
        .user_with(UserSpec {
            company: Some("Bücher".into()),
            ..TestApp::account_spec("anna", "anna@bücher.example")
        })
        .await;
    app.support("xn--bcher-kva.example", "plus", None).await;
    let pin = app.pin(&user.id).await;
    // Through the operator's command, as a support agent types the caller's address.
    for spelling in [
        "anna@bücher.example",
        "anna@xn--bcher-kva.example",
        "Anna@BÜCHER.example",
    ] {
        let out = app.cli(&[
            "support",
            "verify-pin",
            "--email",
            spelling,
            "--pin",
            &pin,
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(answer["match"], true, "{spelling}");
    }
}

#[tokio::test]
async fn the_levels_with_phone_support_are_configurable() {
    let app = TestApp::spawn_with(|c| {
        c.support.phone_levels = vec!["standard".into(), "plus".into(), "priority".into()];
    })
    .await;
    app.company_user("std", "standard").await;
    let info = userinfo(&app, "std").await;
    assert_eq!(info["support_level"], "standard");
    assert!(info["support_pin"].is_string());
    set_level(&app, "none").await;
    assert!(userinfo(&app, "std").await.get("support_level").is_none());

    // Only real levels, each once; `none` never includes phone support.
    for bad in [
        vec!["none"],
        vec!["gold"],
        vec!["plus", "plus"],
        vec!["Plus"],
    ] {
        let mut config = app.state.config.clone();
        config.support.phone_levels = bad.iter().map(|l| (*l).to_owned()).collect();
        let error = config.validate().expect_err("refused").to_string();
        assert!(error.contains("support.phone_levels"), "{bad:?}: {error}");
    }
    let mut config = app.state.config.clone();
    config.support.phone_levels = Vec::new();
    assert!(
        config.validate().is_ok(),
        "no phone support at all is a choice"
    );
}

/// An operator's invalid level is a 400 page "invalid", but a database failure while
/// storing a valid one is the logged 500 page, never a 400 that blames the input.
#[tokio::test]
async fn setting_support_tells_invalid_input_from_a_database_failure() {
    let app = TestApp::spawn().await;
    app.company_user("sam", "plus").await;
    app.operator("ops", "ops.person@provider.example").await;
    let ops = app.signed_in("ops").await;
    let action = "/admin/companies/acme-demo.example/support";
    let Page {
        status, body: page, ..
    } = ops
        .submit_form(&app, "/admin/support", action, &[("level", "gold")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(!page.contains("Something went wrong"), "{page}");
    // The companies table is gone: the update fails inside the database.
    sqlx::query("ALTER TABLE companies RENAME TO companies_gone")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let Page {
        status, body: page, ..
    } = ops
        .submit_form(&app, "/admin/support", action, &[("level", "priority")])
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{page}");
    assert!(page.contains("Something went wrong"), "{page}");
}
