//! Company administration (issue 10) over HTTP: a Super Admin invites a colleague,
//! the colleague accepts on the provider's page and continues signed in; roles,
//! disabling and removal; at least one Super Admin, always (also under racing
//! requests and two provider processes); throttled invitations; the Activity page and
//! its CSV; and the authorization matrix of every company route.

use reqwest::StatusCode;

use crate::harness::*;
use crate::mailbox::SmtpSink;
use idp::account::invitations::{self, Invite, InviteError};
use idp::account::members::{self, Acting, MemberError};
use idp::account::users::UserSpec;
use idp::config::{Config, RoleDef, Texts};
use idp::db::users::Role;

const LICENSES: &str = "customer-portal:licenses";
const INSTALL: &str = "app-portal:apps.install";

fn texts(en: &str, de: &str) -> Texts {
    Texts {
        en: en.into(),
        de: de.into(),
    }
}

/// Two catalogue roles for the tests.
fn catalogue(c: &mut Config) {
    c.roles = vec![
        RoleDef {
            name: LICENSES.into(),
            clients: vec!["customer-portal".into()],
            label: texts("Licenses", "Lizenzen"),
            description: texts("Manage licenses", "Lizenzen verwalten"),
        },
        RoleDef {
            name: INSTALL.into(),
            clients: vec!["app-portal".into()],
            label: texts("Install apps", "Apps installieren"),
            description: texts("Install apps", "Apps installieren"),
        },
    ];
}

async fn app_with_catalogue(smtp: Option<&SmtpSink>) -> TestApp {
    let url = smtp.map(SmtpSink::url);
    TestApp::spawn_with(move |c| {
        catalogue(c);
        c.mail.smtp_url = url;
    })
    .await
}

/// ACME Demo's Super Admin `username` (acme-demo.example).
async fn super_admin(app: &TestApp, username: &str) -> idp::db::users::User {
    app.user_with(UserSpec {
        roles: vec![Role::SuperAdmin],
        ..TestApp::acme_demo_spec(username)
    })
    .await
}

/// The Super Admin of another company, Other Co (other-co.example).
async fn other_super_admin(app: &TestApp) -> idp::db::users::User {
    app.user_with(UserSpec {
        roles: vec![Role::SuperAdmin],
        company: Some("Other Co".into()),
        ..TestApp::account_spec("rival", "rival@other-co.example")
    })
    .await
}

/// The CSRF token of `browser` (from its Users page, or the profile).
async fn csrf(app: &TestApp, browser: &Browser) -> String {
    let page = browser.get(&app.url("/profile")).await;
    hidden(&page.body, "csrf_token").expect("a CSRF token on the profile")
}

/// POSTs `fields` plus the browser's CSRF token to `path`.
async fn post(app: &TestApp, browser: &Browser, path: &str, fields: &[(&str, &str)]) -> Page {
    let token = csrf(app, browser).await;
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    browser.post(&app.url(path), &form).await
}

async fn invite(app: &TestApp, browser: &Browser, email: &str, roles: &[&str]) -> Page {
    let ticks: Vec<String> = roles.iter().map(|r| format!("role.{r}")).collect();
    let mut fields = vec![("email", email), ("given_name", "Max")];
    for t in &ticks {
        fields.push((t.as_str(), "on"));
    }
    post(app, browser, "/company/invitations", &fields).await
}

/// The invitation link of the newest invitation mail to `to`, from the outbox.
async fn outbox_text(app: &TestApp, to: &str) -> Vec<String> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT text_body FROM outbox WHERE recipient = $1 ORDER BY created_at, id")
            .bind(to)
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    rows.into_iter().map(|(t,)| t).collect()
}

fn token_of(link: &str) -> String {
    let url = url::Url::parse(link).unwrap();
    param(&url, "token").unwrap()
}

async fn accept(app: &TestApp, browser: &Browser, token: &str, password: &str) -> Page {
    let form = browser
        .get(&app.url(&format!("/invitation?token={token}")))
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = hidden(&form.body, "csrf_token").unwrap();
    browser
        .post(
            &app.url("/invitation"),
            &[
                ("csrf_token", csrf.as_str()),
                ("token", token),
                ("given_name", "Max"),
                ("family_name", "Power"),
                ("new_password", password),
                ("confirm_password", password),
            ],
        )
        .await
}

const NEW_PASSWORD: &str = "plum orbit canyon lantern 42";

async fn user_row(app: &TestApp, email: &str) -> Option<(String, String, i64, i64)> {
    sqlx::query_as("SELECT id, roles, disabled, email_verified FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(app.state.db.pool())
        .await
        .unwrap()
}

async fn actions(app: &TestApp) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT action FROM audit_events WHERE company_id IS NOT NULL ORDER BY at, id",
    )
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    rows.into_iter().map(|(a,)| a).collect()
}

#[tokio::test]
async fn a_super_admin_invites_a_colleague_who_accepts_and_continues_signed_in() {
    let sink = SmtpSink::start();
    let app = app_with_catalogue(Some(&sink)).await;
    super_admin(&app, "boss").await;
    let boss = app.signed_in("boss").await;

    let users = boss.get(&app.url("/company/users")).await;
    assert_eq!(users.status, StatusCode::OK, "{}", users.body);
    assert!(users.body.contains("boss@acme-demo.example"));
    assert!(
        users.body.contains("Licenses"),
        "the catalogue's roles are offered"
    );

    let sent = invite(&app, &boss, "Max.Power@ACME-demo.example", &[LICENSES]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let listed = boss
        .visit(&app.url(sent.location.as_deref().unwrap()))
        .await;
    let listed = &listed.last().unwrap().body;
    assert!(
        listed.contains("Invitation sent to max.power@acme-demo.example"),
        "{listed}"
    );
    assert!(listed.contains("Pending invitations"));

    let mail = sink.delivered(&app, "max.power@acme-demo.example", 1).await;
    assert!(mail.text.contains("ACME Demo"), "{}", mail.text);
    assert!(mail.text.contains("Licenses"), "the mail names the roles");
    let link = mail.link();
    assert!(link.starts_with(&app.url("/invitation?token=")), "{link}");
    let token = token_of(&link);
    assert_eq!(token.len(), 43, "256 random bits, base64url");
    let (stored,): (String,) = sqlx::query_as("SELECT token_hash FROM invitations")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_ne!(stored, token, "only the hash is stored");

    // The page proposes the name; a weak password is refused and nothing is created.
    let colleague = Browser::new();
    let weak = accept(&app, &colleague, &token, "password").await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST, "{}", weak.body);
    assert!(user_row(&app, "max.power@acme-demo.example")
        .await
        .is_none());

    let accepted = accept(&app, &colleague, &token, NEW_PASSWORD).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    assert_eq!(
        accepted.location.as_deref(),
        Some(app.state.config.portal_login_url().as_str()),
        "continues to the invitation's portal"
    );
    let (_, roles, disabled, verified) =
        user_row(&app, "max.power@acme-demo.example").await.unwrap();
    assert_eq!(roles, format!("[\"{LICENSES}\"]"));
    assert_eq!((disabled, verified), (0, 1));
    let profile = colleague.get(&app.url("/profile")).await;
    assert_eq!(profile.status, StatusCode::OK, "the browser is signed in");
    assert!(profile.body.contains("Max"));
    assert!(
        !profile.body.contains("/company/users"),
        "no Users menu for a member"
    );

    // Single use: the link now says it was used, and a second acceptance creates nothing.
    let again = colleague
        .get(&app.url(&format!("/invitation?token={token}")))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("already used"), "{}", again.body);
    assert_eq!(app.count("users").await, 2);
    // The colleague can sign in with the new password, and the Super Admin sees them.
    app.signed_in_with("max.power@acme-demo.example", NEW_PASSWORD)
        .await;
    let users = boss.get(&app.url("/company/users")).await.body;
    assert!(users.contains("Max Power") && !users.contains("Pending invitations</h2>\n<table"));
    assert_eq!(
        actions(&app).await,
        ["invitation.created", "invitation.accepted"]
    );
}

#[tokio::test]
async fn invitations_to_refused_addresses_change_nothing() {
    let app = app_with_catalogue(None).await;
    super_admin(&app, "boss").await;
    let boss = app.signed_in("boss").await;
    for (email, status, message) in [
        (
            "max@gmail.com",
            StatusCode::BAD_REQUEST,
            "free e-mail providers",
        ),
        ("max@mailinator.com", StatusCode::BAD_REQUEST, ""),
        ("info@acme-demo.example", StatusCode::BAD_REQUEST, ""),
        ("max@other-co.example", StatusCode::BAD_REQUEST, "domains"),
        ("not an address", StatusCode::BAD_REQUEST, ""),
        ("", StatusCode::BAD_REQUEST, ""),
    ] {
        let page = invite(&app, &boss, email, &[]).await;
        assert_eq!(page.status, status, "{email}: {}", page.body);
        assert!(page.body.contains(message), "{email}: {}", page.body);
        assert!(page.body.contains("class=\"field-error\""), "{email}");
    }
    // Without a CSRF token: 403, and nothing stored.
    let forged = boss
        .post(
            &app.url("/company/invitations"),
            &[("email", "max@acme-demo.example")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("invitations").await, 0);
    assert_eq!(app.count("outbox").await, 0);

    // Roles outside the catalogue, and super_admin, are refused by the domain too.
    let acting = acting_boss(&app).await;
    let company = acting.company_id.clone().unwrap();
    let with_roles = |roles: &[&str]| Invite {
        email: "max@acme-demo.example".into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        ..Invite::default()
    };
    let unknown = invitations::create(
        &app.state,
        &acting,
        &company,
        with_roles(&["billing:admin"]),
    )
    .await;
    assert!(matches!(unknown, Err(InviteError::UnknownRole(r)) if r == "billing:admin"));
    let admin =
        invitations::create(&app.state, &acting, &company, with_roles(&["super_admin"])).await;
    assert!(
        matches!(admin, Err(InviteError::SuperAdminRole)),
        "{admin:?}"
    );
    assert_eq!(app.count("invitations").await, 0);

    // And by the pages: a forged role checkbox is a 400 saying so, nothing changes.
    let page = invite(&app, &boss, "max@acme-demo.example", &["billing:admin"]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.body.contains("roles does not exist"), "{}", page.body);
    let max = app.user_with(TestApp::acme_demo_spec("max")).await;
    let page = post(
        &app,
        &boss,
        &format!("/company/users/{}/roles", max.id),
        &[
            ("role.billing:admin", "on"),
            (&format!("role.{LICENSES}"), "on"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.body.contains("roles does not exist"), "{}", page.body);
    assert_eq!(
        user_row(&app, "max@acme-demo.example").await.unwrap().1,
        "[]"
    );
    assert_eq!(app.count("invitations").await, 0);
}

async fn acting_boss(app: &TestApp) -> Acting {
    let user = idp::db::members::find_by_email(app.state.db.pool(), "boss@acme-demo.example")
        .await
        .unwrap()
        .unwrap();
    Acting::super_admin(&user, "203.0.113.9", "203.0.113.9".into(), Some("test")).unwrap()
}

#[tokio::test]
async fn inviting_an_address_with_an_account_answers_the_same_and_mails_a_notice() {
    let app = app_with_catalogue(None).await;
    super_admin(&app, "boss").await;
    app.user_with(TestApp::acme_demo_spec("taken")).await;
    let boss = app.signed_in("boss").await;
    let fresh = invite(&app, &boss, "fresh@acme-demo.example", &[]).await;
    let taken = invite(&app, &boss, "taken@acme-demo.example", &[]).await;
    assert_eq!(fresh.status, taken.status);
    assert_eq!(fresh.status, StatusCode::SEE_OTHER);
    let page = boss.get(&app.url("/company/users")).await.body;
    assert!(page.contains("fresh@acme-demo.example") && page.contains("taken@acme-demo.example"));
    let notice = outbox_text(&app, "taken@acme-demo.example").await;
    assert_eq!(notice.len(), 1);
    assert!(!notice[0].contains("/invitation?token="), "{}", notice[0]);
    assert!(notice[0].contains("already is an account"), "{}", notice[0]);
    let link = outbox_text(&app, "fresh@acme-demo.example").await;
    assert!(link[0].contains("/invitation?token="));
}

#[tokio::test]
async fn resending_replaces_the_link_and_revoking_kills_it() {
    let app = app_with_catalogue(None).await;
    super_admin(&app, "boss").await;
    let boss = app.signed_in("boss").await;
    invite(&app, &boss, "max@acme-demo.example", &[]).await;
    let first = token_in(&outbox_text(&app, "max@acme-demo.example").await[0]);
    let (id,): (String,) = sqlx::query_as("SELECT id FROM invitations")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let resent = post(
        &app,
        &boss,
        &format!("/company/invitations/{id}/resend"),
        &[],
    )
    .await;
    assert_eq!(resent.status, StatusCode::SEE_OTHER, "{}", resent.body);
    let second = token_in(&outbox_text(&app, "max@acme-demo.example").await[1]);
    assert_ne!(first, second);
    let old = Browser::new()
        .get(&app.url(&format!("/invitation?token={first}")))
        .await;
    assert_eq!(old.status, StatusCode::NOT_FOUND, "the old link is dead");
    assert!(old.body.contains("not valid"));
    let new = Browser::new()
        .get(&app.url(&format!("/invitation?token={second}")))
        .await;
    assert_eq!(new.status, StatusCode::OK);

    let revoked = post(
        &app,
        &boss,
        &format!("/company/invitations/{id}/revoke"),
        &[],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let dead = Browser::new()
        .get(&app.url(&format!("/invitation?token={second}")))
        .await;
    assert_eq!(dead.status, StatusCode::NOT_FOUND);
    // A revoked invitation cannot be resent or revoked again.
    let again = post(
        &app,
        &boss,
        &format!("/company/invitations/{id}/resend"),
        &[],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        actions(&app).await,
        [
            "invitation.created",
            "invitation.resent",
            "invitation.revoked"
        ]
    );
    // Forged and tampered tokens are simply invalid.
    for token in [
        "",
        "x",
        &"A".repeat(43),
        &format!("{second}x"),
        &"é".repeat(200),
    ] {
        let page = Browser::new()
            .get(&app.url(&format!("/invitation?token={}", urlencode(token))))
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{token:?}");
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn token_in(text: &str) -> String {
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/invitation?token="))
        .unwrap();
    token_of(link)
}

#[tokio::test]
async fn an_expired_link_says_so_and_asks_the_super_admin_for_a_new_one_once() {
    let app = app_with_catalogue(None).await;
    super_admin(&app, "boss").await;
    let boss = app.signed_in("boss").await;
    invite(&app, &boss, "max@acme-demo.example", &[]).await;
    let token = token_in(&outbox_text(&app, "max@acme-demo.example").await[0]);
    app.clock
        .advance(app.state.config.invitations.ttl_seconds + 1);
    let browser = Browser::new();
    let expired = browser
        .get(&app.url(&format!("/invitation?token={token}")))
        .await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(expired.body.contains("expired"), "{}", expired.body);
    let csrf = hidden(&expired.body, "csrf_token").unwrap();
    // Accepting an expired link creates nothing.
    let late = browser
        .post(
            &app.url("/invitation"),
            &[
                ("csrf_token", csrf.as_str()),
                ("token", token.as_str()),
                ("given_name", "Max"),
                ("family_name", "Power"),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(app.count("users").await, 1);
    for _ in 0..2 {
        let asked = browser
            .post(
                &app.url("/invitation/renew"),
                &[("csrf_token", csrf.as_str()), ("token", token.as_str())],
            )
            .await;
        assert_eq!(asked.status, StatusCode::OK);
        assert!(asked.body.contains("was asked"), "{}", asked.body);
    }
    let to_boss = outbox_text(&app, "boss@acme-demo.example").await;
    assert_eq!(to_boss.len(), 1, "one request per link");
    assert!(to_boss[0].contains("max@acme-demo.example"));
    // The Super Admin signs in again (the session outlived its lifetime meanwhile).
    let boss = app.signed_in("boss").await;
    let users = boss.get(&app.url("/company/users")).await.body;
    assert!(
        users.contains("asks for a new link") && users.contains("(expired)"),
        "{users}"
    );
}

#[tokio::test]
async fn invitations_are_throttled_per_company() {
    let app = TestApp::spawn_with(|c| {
        catalogue(c);
        c.invitations.max_per_hour = 3;
    })
    .await;
    super_admin(&app, "boss").await;
    let boss = app.signed_in("boss").await;
    for n in 0..3 {
        let page = invite(&app, &boss, &format!("max{n}@acme-demo.example"), &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
    }
    let refused = invite(&app, &boss, "max9@acme-demo.example", &[]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused.body.contains("too many invitations"),
        "{}",
        refused.body
    );
    assert_eq!(app.count("invitations").await, 3);
    // Another company is not affected; after the hour the company may invite again.
    other_super_admin(&app).await;
    let rival = app.signed_in("rival").await;
    assert_eq!(
        invite(&app, &rival, "x@other-co.example", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    app.clock.advance(3601);
    assert_eq!(
        invite(&app, &boss, "max9@acme-demo.example", &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn racing_invitations_never_pass_the_hourly_allowance() {
    let app = TestApp::spawn_with(|c| {
        catalogue(c);
        c.invitations.max_per_hour = 5;
    })
    .await;
    super_admin(&app, "boss").await;
    let acting = acting_boss(&app).await;
    let company = acting.company_id.clone().unwrap();
    let mut set = tokio::task::JoinSet::new();
    for n in 0..20 {
        let (state, acting, company) = (app.state.clone(), acting.clone(), company.clone());
        set.spawn(async move {
            let invite = Invite {
                email: format!("m{n}@acme-demo.example"),
                ..Invite::default()
            };
            invitations::create(&state, &acting, &company, invite).await
        });
    }
    let results = set.join_all().await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 5, "{results:?}");
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(InviteError::Throttled))));
    assert_eq!(app.count("invitations").await, 5);
}

#[tokio::test]
async fn the_last_super_admin_cannot_lose_the_role_be_disabled_or_be_removed() {
    let app = app_with_catalogue(None).await;
    let me = super_admin(&app, "boss").await;
    let boss = app.signed_in("boss").await;
    let before = user_row(&app, "boss@acme-demo.example").await;
    for (path, fields) in [
        (
            format!("/company/users/{}/roles", me.id),
            vec![(format!("role.{LICENSES}"), "on")],
        ),
        (format!("/company/users/{}/disable", me.id), vec![]),
        (
            format!("/company/users/{}/remove", me.id),
            vec![("confirm".to_owned(), "yes")],
        ),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let page = post(&app, &boss, &path, &fields).await;
        assert_eq!(page.status, StatusCode::CONFLICT, "{path}: {}", page.body);
        assert!(
            page.body.contains("at least one active Super Admin"),
            "{path}"
        );
    }
    assert_eq!(user_row(&app, "boss@acme-demo.example").await, before);
    assert!(actions(&app).await.is_empty());
}

#[tokio::test]
async fn granting_super_admin_asks_for_the_password_again() {
    let app = app_with_catalogue(None).await;
    super_admin(&app, "boss").await;
    let max = app.user_with(TestApp::acme_demo_spec("max")).await;
    let boss = app.signed_in("boss").await;
    let path = format!("/company/users/{}/roles", max.id);
    for password in ["", "wrong password"] {
        let page = post(
            &app,
            &boss,
            &path,
            &[("role.super_admin", "on"), ("password", password)],
        )
        .await;
        assert_eq!(
            page.status,
            StatusCode::FORBIDDEN,
            "{password:?}: {}",
            page.body
        );
        assert!(page.body.contains("enter your current password"));
    }
    assert_eq!(
        user_row(&app, "max@acme-demo.example").await.unwrap().1,
        "[]"
    );
    let granted = post(
        &app,
        &boss,
        &path,
        &[("role.super_admin", "on"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
    assert_eq!(
        user_row(&app, "max@acme-demo.example").await.unwrap().1,
        "[\"super_admin\"]"
    );
    // Now the boss may step down (a transfer), without a password.
    let me = idp::db::members::find_by_email(app.state.db.pool(), "boss@acme-demo.example")
        .await
        .unwrap()
        .unwrap();
    let down = post(&app, &boss, &format!("/company/users/{}/roles", me.id), &[]).await;
    assert_eq!(down.status, StatusCode::SEE_OTHER, "{}", down.body);
    assert_eq!(
        actions(&app).await,
        ["member.super_admin_granted", "member.roles_changed"]
    );
    let after = boss.get(&app.url("/company/users")).await;
    assert_eq!(
        after.status,
        StatusCode::FORBIDDEN,
        "no longer a Super Admin"
    );
}

/// Two Super Admins disable each other at once, on two provider processes: exactly
/// one succeeds, and the company keeps an active Super Admin.
#[tokio::test]
async fn racing_super_admins_never_leave_the_company_without_one() {
    let app = app_with_catalogue(None).await;
    let second = TestApp::spawn_sharing(&app).await;
    for round in 0..3 {
        let a = super_admin(&app, &format!("a{round}")).await;
        let b = super_admin(&app, &format!("b{round}")).await;
        // Only these two are active Super Admins of ACME Demo in this round.
        sqlx::query(
            "UPDATE users SET disabled = 1 WHERE company_id = $1 AND id <> $2 AND id <> $3",
        )
        .bind(a.company_id.as_deref().unwrap())
        .bind(&a.id)
        .bind(&b.id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
        let acting_a = Acting::super_admin(&a, "203.0.113.1", "203.0.113.1".into(), None).unwrap();
        let acting_b = Acting::super_admin(&b, "203.0.113.2", "203.0.113.2".into(), None).unwrap();
        let (ra, rb) = tokio::join!(
            members::set_disabled(&app.state, &acting_a, &b.id, true),
            members::set_disabled(&second.state, &acting_b, &a.id, true),
        );
        let refused = [&ra, &rb]
            .iter()
            .filter(|r| matches!(r, Err(MemberError::LastSuperAdmin)))
            .count();
        assert_eq!(refused, 1, "round {round}: {ra:?} {rb:?}");
        assert!(ra.is_ok() || rb.is_ok());
        let (active,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM users WHERE company_id = $1 AND disabled = 0 AND roles LIKE '%super_admin%'",
        )
        .bind(a.company_id.as_deref().unwrap())
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
        assert_eq!(active, 1, "round {round}");
    }
}

#[tokio::test]
async fn disabling_ends_sessions_revokes_tokens_and_tells_relying_parties() {
    let app = app_with_catalogue(None).await;
    super_admin(&app, "boss").await;
    let max = app.user_with(TestApp::acme_demo_spec("max")).await;
    let client = app
        .client_with(idp::oauth::registration::ClientSpec {
            backchannel_logout_uri: Some("http://127.0.0.1:9/backchannel".into()),
            ..idp::oauth::registration::ClientSpec::default()
        })
        .await;
    let (verifier, challenge) = pkce();
    let max_browser = Browser::new();
    let callback = max_browser
        .login(
            &app,
            &authorize_url(
                &app,
                &client,
                &challenge,
                &[("scope", "openid offline_access")],
            ),
            "max",
        )
        .await;
    let (status, tokens) =
        exchange(&app, &client, &param(&callback, "code").unwrap(), &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo_status(&app, &access).await, StatusCode::OK);

    let boss = app.signed_in("boss").await;
    let disabled = post(
        &app,
        &boss,
        &format!("/company/users/{}/disable", max.id),
        &[],
    )
    .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER, "{}", disabled.body);
    assert_eq!(
        userinfo_status(&app, &access).await,
        StatusCode::UNAUTHORIZED
    );
    let profile = max_browser.get(&app.url("/profile")).await;
    assert_eq!(profile.status, StatusCode::SEE_OTHER, "the session ended");
    if let Some(refresh) = tokens["refresh_token"].as_str() {
        let (status, body) = token_request(
            &app,
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_grant");
    }
    let (queued,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM logout_deliveries WHERE client_id = $1")
            .bind(&client.id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(queued, 1, "a back-channel logout token is queued");
    let login = Browser::new()
        .submit_login(&app.url("/login"), "max", PASSWORD)
        .await;
    assert_ne!(
        login.status,
        StatusCode::SEE_OTHER,
        "a disabled user cannot sign in"
    );

    let enabled = post(
        &app,
        &boss,
        &format!("/company/users/{}/enable", max.id),
        &[],
    )
    .await;
    assert_eq!(enabled.status, StatusCode::SEE_OTHER);
    app.signed_in("max").await;
    assert_eq!(actions(&app).await, ["member.disabled", "member.enabled"]);
}

#[tokio::test]
async fn removing_a_user_anonymises_the_account_and_the_trail_keeps_the_event() {
    let app = app_with_catalogue(None).await;
    super_admin(&app, "boss").await;
    let max = app.user_with(TestApp::acme_demo_spec("max")).await;
    let max_browser = app.signed_in("max").await;
    let boss = app.signed_in("boss").await;
    let unconfirmed = post(
        &app,
        &boss,
        &format!("/company/users/{}/remove", max.id),
        &[],
    )
    .await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    let removed = post(
        &app,
        &boss,
        &format!("/company/users/{}/remove", max.id),
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert!(
        user_row(&app, "max@acme-demo.example").await.is_none(),
        "the address is gone"
    );
    let (email, name, hash): (String, String, Option<String>) =
        sqlx::query_as("SELECT email, given_name, password_hash FROM users WHERE id = $1")
            .bind(&max.id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(email.ends_with(".invalid") && name.is_empty() && hash.is_none());
    assert_eq!(
        max_browser.get(&app.url("/profile")).await.status,
        StatusCode::SEE_OTHER
    );
    let page = boss.get(&app.url("/company/users")).await.body;
    assert!(!page.contains("max@acme-demo.example<"), "no longer listed");
    let activity = boss.get(&app.url("/company/activity")).await;
    assert!(
        activity.body.contains("User removed") && activity.body.contains("max@acme-demo.example")
    );
    // The same id again is a 404, like any unknown id.
    let again = post(
        &app,
        &boss,
        &format!("/company/users/{}/remove", max.id),
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_activity_page_filters_and_exports_csv() {
    let app = app_with_catalogue(None).await;
    super_admin(&app, "boss").await;
    let max = app.user_with(TestApp::acme_demo_spec("max")).await;
    let boss = app.signed_in("boss").await;
    post(
        &app,
        &boss,
        &format!("/company/users/{}/roles", max.id),
        &[(&format!("role.{LICENSES}"), "on")],
    )
    .await;
    invite(&app, &boss, "anna@acme-demo.example", &[]).await;
    // A name a spreadsheet would run as a formula.
    sqlx::query("UPDATE users SET given_name = '=HYPERLINK(1)' WHERE username = 'boss'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let all = boss.get(&app.url("/company/activity")).await;
    assert_eq!(all.status, StatusCode::OK);
    let body = &all.body[all.body.find("<tbody>").unwrap()..];
    let first = body.find("anna@acme-demo.example").unwrap();
    let roles = body.find("Roles changed").unwrap();
    assert!(first < roles, "newest first");
    assert!(
        body.contains("→ customer-portal:licenses"),
        "before → after"
    );
    let only_roles = boss
        .get(&app.url("/company/activity?action=member.roles_changed"))
        .await
        .body;
    assert!(only_roles.contains("Roles changed") && !only_roles.contains("anna@"));
    let of_max = boss
        .get(&app.url(&format!("/company/activity?user={}", max.id)))
        .await
        .body;
    assert!(of_max.contains("Roles changed") && !of_max.contains("anna@"));

    let csv = boss
        .http
        .get(app.url("/company/activity.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(&rows[0][2], "invitation.created");
    assert!(rows[0][1].starts_with("'=HYPERLINK(1)"), "{text}");
    assert!(
        rows.iter()
            .flat_map(|r| r.iter())
            .all(|c| !c.starts_with('=')),
        "no formula cells"
    );
    assert!(
        rows.iter().all(|r| r[4] == *"127.0.0.1"),
        "client IP recorded"
    );
}

/// Every company route and action against operator, Super Admin, ordinary user,
/// another company's Super Admin and a signed-out browser: only ACME's Super Admin
/// may act on ACME's ids; another company's Super Admin gets 404 (as for an unknown
/// id) and nothing changes.
#[tokio::test]
async fn authorization_matrix_of_the_company_routes() {
    let app = app_with_catalogue(None).await;
    super_admin(&app, "boss").await;
    let member = app.user_with(TestApp::acme_demo_spec("max")).await;
    other_super_admin(&app).await;
    app.operator("op", "op@provider.example").await;
    let boss = app.signed_in("boss").await;
    invite(&app, &boss, "new@acme-demo.example", &[]).await;
    let (invitation,): (String,) = sqlx::query_as("SELECT id FROM invitations")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();

    let actors: Vec<(&str, Option<Browser>)> = vec![
        ("operator", Some(app.signed_in("op").await)),
        ("member", Some(app.signed_in("max").await)),
        (
            "other company's Super Admin",
            Some(app.signed_in("rival").await),
        ),
        ("signed out", None),
    ];
    let gets = [
        "/company/users",
        "/company/activity",
        "/company/activity.csv",
    ];
    let posts = [
        format!("/company/users/{}/roles", member.id),
        format!("/company/users/{}/disable", member.id),
        format!("/company/users/{}/enable", member.id),
        format!("/company/users/{}/remove", member.id),
        format!("/company/invitations/{invitation}/resend"),
        format!("/company/invitations/{invitation}/revoke"),
        "/company/invitations".to_owned(),
    ];
    let snapshot = || async {
        let users: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT email, roles, disabled FROM users ORDER BY id")
                .fetch_all(app.state.db.pool())
                .await
                .unwrap();
        let invitations: Vec<(String, String)> =
            sqlx::query_as("SELECT status, token_hash FROM invitations ORDER BY id")
                .fetch_all(app.state.db.pool())
                .await
                .unwrap();
        (users, invitations)
    };
    let before = snapshot().await;
    for (who, browser) in &actors {
        let browser = match browser {
            Some(b) => b,
            None => &Browser::new(),
        };
        for path in gets {
            let page = browser.get(&app.url(path)).await;
            let expected = match *who {
                "signed out" => StatusCode::SEE_OTHER,
                "other company's Super Admin" => StatusCode::OK,
                _ => StatusCode::FORBIDDEN,
            };
            assert_eq!(page.status, expected, "{who} GET {path}");
            if *who == "other company's Super Admin" {
                assert!(
                    !page.body.contains("acme-demo.example"),
                    "{who} sees ACME on {path}"
                );
            }
        }
        for path in &posts {
            // A valid CSRF token of this browser where it has one.
            let token = match *who {
                "signed out" => {
                    let login = browser.get(&app.url("/login")).await;
                    hidden(&login.body, "csrf_token").unwrap()
                }
                _ => csrf(&app, browser).await,
            };
            let form = [
                ("csrf_token", token.as_str()),
                ("confirm", "yes"),
                ("email", "x@acme-demo.example"),
                ("role.super_admin", "on"),
                ("password", PASSWORD),
            ];
            let page = browser.post(&app.url(path), &form).await;
            let expected = match (*who, path.as_str()) {
                ("signed out", _) => StatusCode::SEE_OTHER,
                ("other company's Super Admin", "/company/invitations") => StatusCode::BAD_REQUEST,
                ("other company's Super Admin", _) => StatusCode::NOT_FOUND,
                _ => StatusCode::FORBIDDEN,
            };
            assert_eq!(page.status, expected, "{who} POST {path}: {}", page.body);
            if *who == "signed out" {
                assert!(page.location.unwrap().starts_with("/login"), "{path}");
            }
        }
    }
    // ACME's own Super Admin: every page opens; every action without this browser's
    // CSRF token (none, or another browser's) is 403 and changes nothing.
    for path in gets {
        assert_eq!(
            boss.get(&app.url(path)).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    let foreign_token = csrf(&app, actors[1].1.as_ref().unwrap()).await;
    for path in &posts {
        for token in [None, Some(foreign_token.as_str())] {
            let mut form = vec![
                ("confirm", "yes"),
                ("email", "x@acme-demo.example"),
                ("role.super_admin", "on"),
                ("password", PASSWORD),
            ];
            if let Some(t) = token {
                form.push(("csrf_token", t));
            }
            let page = boss.post(&app.url(path), &form).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "forged POST {path}");
        }
    }
    assert_eq!(
        snapshot().await,
        before,
        "nobody but ACME's Super Admin changed anything, and not without a CSRF token"
    );
    // The operator sees the whole trail at /admin/audit; nobody else does.
    let op = &actors[0].1.as_ref().unwrap();
    let audit = op.get(&app.url("/admin/audit")).await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(audit.body.contains("Invitation sent") && audit.body.contains("acme-demo.example"));
    let filtered = op
        .get(&app.url("/admin/audit?company=other-co.example"))
        .await;
    assert!(!filtered.body.contains("Invitation sent"));
    for browser in [&boss, actors[1].1.as_ref().unwrap()] {
        assert_eq!(
            browser.get(&app.url("/admin/audit")).await.status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        Browser::new().get(&app.url("/admin/audit")).await.status,
        StatusCode::SEE_OTHER
    );
}

/// Review findings, one class each: a malformed invite form says which field is
/// unreadable (not "required"); the invitation speaks the inviter's page language;
/// an activity filter that is repeated is a 400 and one naming no company action
/// shows nothing (never "everything"); a provider operator at the company's domain is
/// not the Super Admin's to manage.
#[tokio::test]
async fn malformed_filters_and_forms_say_so_and_operators_are_not_members() {
    let app = app_with_catalogue(None).await;
    super_admin(&app, "boss").await;
    let boss = app.signed_in("boss").await;
    sqlx::query("UPDATE users SET locale = NULL WHERE username = 'boss'")
        .execute(app.state.db.pool())
        .await
        .unwrap();

    // A repeated e-mail field: "not readable" on the field, nothing stored.
    let token = csrf(&app, &boss).await;
    let repeated = boss
        .post(
            &app.url("/company/invitations"),
            &[
                ("csrf_token", token.as_str()),
                ("email", "a.one@acme-demo.example"),
                ("email", "b.two@acme-demo.example"),
            ],
        )
        .await;
    assert_eq!(repeated.status, StatusCode::BAD_REQUEST);
    assert!(repeated.body.contains("not allowed"), "{}", repeated.body);
    assert!(!repeated.body.contains("This field is required"));
    assert_eq!(app.count("invitations").await, 0);

    // A German browser: the invitation (mail and accept page) is German.
    let r = boss
        .http
        .post(app.url("/company/invitations"))
        .header("accept-language", "de")
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", "hans.meier@acme-demo.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (locale,): (String,) = sqlx::query_as("SELECT locale FROM invitations")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(locale, "de");
    let mail = outbox_text(&app, "hans.meier@acme-demo.example").await;
    assert!(mail[0].contains("/invitation?token="));
    assert!(mail[0].contains("lädt Sie zum Kundenkonto"), "{}", mail[0]);

    // Activity filters.
    let bogus = boss.get(&app.url("/company/activity?action=bogus")).await;
    assert_eq!(bogus.status, StatusCode::OK);
    assert!(!bogus.body[bogus.body.find("<tbody>").unwrap_or(0)..].contains("hans.meier"));
    let all = boss.get(&app.url("/company/activity")).await;
    assert!(all.body.contains("hans.meier"));
    for path in [
        "/company/activity?action=member.disabled&action=member.enabled",
        "/company/activity?user=a&user=b",
        "/company/activity.csv?action=a&action=b",
    ] {
        assert_eq!(
            boss.get(&app.url(path)).await.status,
            StatusCode::BAD_REQUEST,
            "{path}"
        );
    }

    // An operator with an ACME address: not listed, and 404 to the Super Admin.
    let ops = app.operator("ops", "ops@acme-demo.example").await;
    sqlx::query("UPDATE users SET company_id = (SELECT company_id FROM users WHERE username = 'boss') WHERE id = $1")
        .bind(&ops.id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let users = boss.get(&app.url("/company/users")).await;
    assert!(
        !users.body.contains("ops@acme-demo.example"),
        "{}",
        users.body
    );
    for action in ["disable", "remove", "roles"] {
        let page = post(
            &app,
            &boss,
            &format!("/company/users/{}/{action}", ops.id),
            &[("confirm", "yes")],
        )
        .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{action}");
    }
    let (disabled,): (i64,) = sqlx::query_as("SELECT disabled FROM users WHERE id = $1")
        .bind(&ops.id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(disabled, 0);
}
