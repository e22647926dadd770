//! Throttling under concurrency: bursts of 20 and 50 parallel attempts against every
//! throttled path evaluate at most the allowance plus one per key (the rest get 429),
//! in one process and split between two; e-mailed codes never see more tries than
//! allowed; one account has one counter whatever spelling of it is typed; IPv6
//! clients are counted per /64.
//!
//! Client addresses come from `X-Forwarded-For` (`http.client_ip_header`), so each
//! burst can pick its own network.

use std::sync::Arc;

use reqwest::StatusCode;

use crate::harness::*;
use crate::mailbox::SmtpSink;
use crate::process::ProviderProcess;
use idp::account::users::UserSpec;
use idp::config::Config;

/// The burst sizes the issue asks for.
const BURSTS: [usize; 2] = [20, 50];

/// Small allowances, different per key, so each key's bound is visible.
fn small(c: &mut Config) {
    c.http.client_ip_header = Some("X-Forwarded-For".into());
    c.throttle.account_ip_free = 3;
    c.throttle.account_free = 5;
    c.throttle.ip_free = 7;
}

/// Allowances that never bind (for tests about another limit).
fn generous(c: &mut Config) {
    c.http.client_ip_header = Some("X-Forwarded-For".into());
    c.throttle.account_ip_free = 1000;
    c.throttle.account_free = 1000;
    c.throttle.ip_free = 1000;
}

/// A cookie-keeping client whose requests come from `ip`.
fn client_from(ip: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", ip.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// One POST of a burst, its CSRF token already fetched.
struct Shot {
    http: reqwest::Client,
    url: String,
    body: Vec<(String, String)>,
}

/// GETs `page` on `base` with `http` (for the CSRF token), then prepares a POST of
/// `fields` to `action`.
async fn aim(
    http: &reqwest::Client,
    base: &str,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> Shot {
    let r = http.get(format!("{base}{page}")).send().await.unwrap();
    assert!(r.status().is_success(), "{page}: {}", r.status());
    let html = r.text().await.unwrap();
    let csrf = hidden(&html, "csrf_token").expect("a CSRF token");
    let mut body = vec![("csrf_token".to_owned(), csrf)];
    body.extend(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Shot {
        http: http.clone(),
        url: format!("{base}{action}"),
        body,
    }
}

/// Fires every shot at once (each in its own task, released together) and returns
/// the statuses.
async fn fire(shots: Vec<Shot>) -> Vec<StatusCode> {
    let start = Arc::new(tokio::sync::Barrier::new(shots.len()));
    let mut tasks = Vec::new();
    for shot in shots {
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            shot.http
                .post(&shot.url)
                .form(&shot.body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// (evaluated, refused): answers with `evaluated` vs 429; nothing else allowed.
fn tally(statuses: &[StatusCode], evaluated: StatusCode) -> (usize, usize) {
    let e = statuses.iter().filter(|s| **s == evaluated).count();
    let r = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        e + r,
        statuses.len(),
        "only {evaluated} or 429: {statuses:?}"
    );
    (e, r)
}

async fn scalar(app: &TestApp, sql: &str, bind: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(bind)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    n
}

async fn mails_to(app: &TestApp, address: &str) -> i64 {
    scalar(
        app,
        "SELECT COUNT(*) FROM outbox WHERE recipient = $1",
        address,
    )
    .await
}

/// Robin Miller at `email`, in English.
async fn user_with_email(app: &TestApp, username: &str, email: &str) -> idp::db::users::User {
    app.user_with(UserSpec {
        locale: Some("en".into()),
        ..TestApp::customer_spec(username, email)
    })
    .await
}

/// `n` parallel logins of `username` with `password`, the i-th from `ip(i)`.
async fn login_burst(
    base: &str,
    n: usize,
    username: impl Fn(usize) -> String,
    password: &str,
    ip: impl Fn(usize) -> String,
) -> Vec<StatusCode> {
    let mut shots = Vec::new();
    for i in 0..n {
        let http = client_from(&ip(i));
        let user = username(i);
        shots.push(
            aim(
                &http,
                base,
                "/login",
                "/login",
                &[("username", &user), ("password", password)],
            )
            .await,
        );
    }
    fire(shots).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_passwords_evaluate_at_most_the_allowance_plus_one_per_key() {
    let app = TestApp::spawn_with(small).await;
    for n in BURSTS {
        // One account from one network: the account+IP key (3 free).
        let name = format!("pair{n}");
        app.user(&name).await;
        let ip = format!("198.51.100.{n}");
        let statuses = login_burst(
            &app.base,
            n,
            |_| name.clone(),
            "wrong password",
            |_| ip.clone(),
        )
        .await;
        let (evaluated, _) = tally(&statuses, StatusCode::UNAUTHORIZED);
        assert!(
            (1..=4).contains(&evaluated),
            "account+IP: {evaluated} of {n} evaluated"
        );
        // The right password waits too.
        let again = login_burst(&app.base, 1, |_| name.clone(), PASSWORD, |_| ip.clone()).await;
        assert_eq!(again, [StatusCode::TOO_MANY_REQUESTS]);

        // One account from n networks: the account key (5 free).
        let name = format!("spread{n}");
        app.user(&name).await;
        let statuses = login_burst(
            &app.base,
            n,
            |_| name.clone(),
            "wrong password",
            |i| format!("203.0.{n}.{i}"),
        )
        .await;
        let (evaluated, _) = tally(&statuses, StatusCode::UNAUTHORIZED);
        assert!(
            (1..=6).contains(&evaluated),
            "account: {evaluated} of {n} evaluated"
        );

        // n accounts (unknown ones) from one network: the IP key (7 free).
        let ip = format!("192.0.2.{n}");
        let statuses = login_burst(
            &app.base,
            n,
            |i| format!("nobody-{n}-{i}"),
            "wrong password",
            |_| ip.clone(),
        )
        .await;
        let (evaluated, _) = tally(&statuses, StatusCode::UNAUTHORIZED);
        assert!(
            (1..=8).contains(&evaluated),
            "IP: {evaluated} of {n} evaluated"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_the_default_allowances_the_block_starts_after_six_whatever_the_concurrency() {
    let app =
        TestApp::spawn_with(|c| c.http.client_ip_header = Some("X-Forwarded-For".into())).await;
    for n in BURSTS {
        let name = format!("default{n}");
        app.user(&name).await;
        let ip = format!("198.51.100.{n}");
        let statuses = login_burst(
            &app.base,
            n,
            |_| name.clone(),
            "wrong password",
            |_| ip.clone(),
        )
        .await;
        let (evaluated, refused) = tally(&statuses, StatusCode::UNAUTHORIZED);
        assert_eq!(
            (evaluated, refused),
            (6, n - 6),
            "account_ip_free = 5: six evaluated, then blocked"
        );
        let again = login_burst(&app.base, 1, |_| name.clone(), PASSWORD, |_| ip.clone()).await;
        assert_eq!(again, [StatusCode::TOO_MANY_REQUESTS]);
    }
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE action = 'throttle.blocked'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(n >= 2, "each block is audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_split_between_two_provider_processes_is_bounded_too() {
    let app = TestApp::spawn_with(small).await;
    let other = ProviderProcess::spawn(
        &app,
        &[
            ("IDP_THROTTLE__ACCOUNT_IP_FREE", "3"),
            ("IDP_THROTTLE__ACCOUNT_FREE", "5"),
            ("IDP_THROTTLE__IP_FREE", "7"),
        ],
    )
    .await;
    for n in BURSTS {
        let name = format!("twoproc{n}");
        app.user(&name).await;
        let ip = format!("198.51.100.{n}");
        let mut shots = Vec::new();
        for i in 0..n {
            let base = if i % 2 == 0 {
                app.base.clone()
            } else {
                other.base.clone()
            };
            let http = client_from(&ip);
            shots.push(
                aim(
                    &http,
                    &base,
                    "/login",
                    "/login",
                    &[("username", &name), ("password", "wrong password")],
                )
                .await,
            );
        }
        let statuses = fire(shots).await;
        let (evaluated, _) = tally(&statuses, StatusCode::UNAUTHORIZED);
        assert!(
            (1..=4).contains(&evaluated),
            "two processes: {evaluated} of {n} evaluated"
        );
        for base in [&app.base, &other.base] {
            let again = login_burst(base, 1, |_| name.clone(), PASSWORD, |_| ip.clone()).await;
            assert_eq!(again, [StatusCode::TOO_MANY_REQUESTS], "blocked on {base}");
        }
    }
    other.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_one_time_password_guesses_are_bounded() {
    let app = TestApp::spawn_with(small).await;
    for n in BURSTS {
        let name = format!("fresh{n}");
        let user = app.user(&name).await;
        // The account still has its one-time password (PASSWORD) to replace.
        app.require_password_change(&user.id, 3600).await;
        let ip = format!("198.51.100.{n}");
        let statuses = login_burst(
            &app.base,
            n,
            |_| name.clone(),
            "not the one",
            |_| ip.clone(),
        )
        .await;
        let (evaluated, _) = tally(&statuses, StatusCode::UNAUTHORIZED);
        assert!((1..=4).contains(&evaluated), "{evaluated} of {n} evaluated");
        // From elsewhere, the right one-time password still works, exactly once.
        let statuses = login_burst(
            &app.base,
            2,
            |_| name.clone(),
            PASSWORD,
            |i| format!("203.0.113.{}", i + n),
        )
        .await;
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::SEE_OTHER)
                .count(),
            1,
            "{statuses:?}"
        );
    }
}

fn registration(email: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("given_name", "Jane"),
        ("family_name", "Doe"),
        ("email", email),
        ("company", "ACME Industries"),
        ("country", "DE"),
        ("terms", "yes"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_registrations_for_one_address_queue_at_most_the_allowance_plus_one_mails() {
    let app = TestApp::spawn_with(small).await;
    for n in BURSTS {
        // From one network: account+IP (3 free).
        let victim = format!("victim{n}@acme-industries.com");
        let ip = format!("198.51.100.{n}");
        let mut shots = Vec::new();
        for _ in 0..n {
            let http = client_from(&ip);
            shots.push(
                aim(
                    &http,
                    &app.base,
                    "/register",
                    "/register",
                    &registration(&victim),
                )
                .await,
            );
        }
        let (accepted, _) = tally(&fire(shots).await, StatusCode::OK);
        assert!((1..=4).contains(&accepted), "{accepted} of {n} accepted");
        assert_eq!(mails_to(&app, &victim).await, accepted as i64);

        // From n networks, spelled in upper case: the address key (5 free).
        let victim = format!("spread{n}@acme-industries.com");
        let shouted = victim.to_uppercase();
        let mut shots = Vec::new();
        for i in 0..n {
            let http = client_from(&format!("203.0.{n}.{i}"));
            let form = registration(if i % 2 == 0 { &victim } else { &shouted });
            shots.push(aim(&http, &app.base, "/register", "/register", &form).await);
        }
        let (accepted, _) = tally(&fire(shots).await, StatusCode::OK);
        assert!((1..=6).contains(&accepted), "{accepted} of {n} accepted");
        assert_eq!(mails_to(&app, &victim).await, accepted as i64);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_resend_requests_queue_at_most_the_allowance_plus_one_mails() {
    let app = TestApp::spawn_with(small).await;
    for n in BURSTS {
        let victim = format!("waiting{n}@acme-industries.com");
        // An unconfirmed registration, from another network.
        let http = client_from("203.0.113.200");
        let shot = aim(
            &http,
            &app.base,
            "/register",
            "/register",
            &registration(&victim),
        )
        .await;
        assert_eq!(fire(vec![shot]).await, [StatusCode::OK]);
        assert_eq!(mails_to(&app, &victim).await, 1);
        let ip = format!("198.51.100.{n}");
        let mut shots = Vec::new();
        for _ in 0..n {
            let http = client_from(&ip);
            shots.push(
                aim(
                    &http,
                    &app.base,
                    "/register/resend",
                    "/register/resend",
                    &[("email", &victim)],
                )
                .await,
            );
        }
        let (accepted, _) = tally(&fire(shots).await, StatusCode::OK);
        assert!((1..=4).contains(&accepted), "{accepted} of {n} accepted");
        assert_eq!(mails_to(&app, &victim).await, 1 + accepted as i64);
    }
}

/// Waits until `address` has `n` mails queued (the forgot-password mail is queued
/// off the request path), then checks that no more follow the accepted requests.
async fn wait_for_mails(app: &TestApp, address: &str, n: i64) {
    for _ in 0..200 {
        if mails_to(app, address).await >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        mails_to(app, address).await,
        n,
        "one mail per accepted request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_forgot_password_requests_mail_at_most_the_allowance_plus_one_codes() {
    let app = TestApp::spawn_with(small).await;
    for n in BURSTS {
        let email = format!("forgetful{n}@acme-industries.com");
        user_with_email(&app, &format!("forgetful{n}"), &email).await;
        let ip = format!("198.51.100.{n}");
        let mut shots = Vec::new();
        for i in 0..n {
            let http = client_from(&ip);
            // Every spelling of the address is the same account.
            let typed = if i % 2 == 0 {
                email.clone()
            } else {
                email.to_uppercase()
            };
            shots.push(
                aim(
                    &http,
                    &app.base,
                    "/password/forgot",
                    "/password/forgot",
                    &[("email", &typed)],
                )
                .await,
            );
        }
        let (accepted, _) = tally(&fire(shots).await, StatusCode::SEE_OTHER);
        assert!((1..=4).contains(&accepted), "{accepted} of {n} accepted");
        wait_for_mails(&app, &email, accepted as i64).await;
    }
}

/// Signs a browser (from `ip`) in as `username`.
async fn signed_in_from(app: &TestApp, ip: &str, username: &str) -> reqwest::Client {
    let http = client_from(ip);
    let shot = aim(
        &http,
        &app.base,
        "/login",
        "/login",
        &[("username", username), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(fire(vec![shot]).await, [StatusCode::SEE_OTHER]);
    http
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_get_code_requests_mail_at_most_the_allowance_plus_one_codes() {
    let app = TestApp::spawn_with(small).await;
    for n in BURSTS {
        let email = format!("changer{n}@acme-industries.com");
        user_with_email(&app, &format!("changer{n}"), &email).await;
        let ip = format!("198.51.100.{n}");
        let http = signed_in_from(&app, &ip, &format!("changer{n}")).await;
        let mut shots = Vec::new();
        for _ in 0..n {
            shots.push(
                aim(
                    &http,
                    &app.base,
                    "/profile/password",
                    "/profile/password/code",
                    &[],
                )
                .await,
            );
        }
        let (accepted, _) = tally(&fire(shots).await, StatusCode::SEE_OTHER);
        assert!((1..=4).contains(&accepted), "{accepted} of {n} accepted");
        assert_eq!(mails_to(&app, &email).await, accepted as i64);
    }
}

/// The code in the newest mail to `to` (the `n`-th).
async fn mailed_code(app: &TestApp, sink: &SmtpSink, to: &str, n: usize) -> String {
    let mail = sink.delivered(app, to, n).await;
    mail.text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("a code in the mail")
        .to_owned()
}

fn wrong_code(right: &str) -> &'static str {
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
}

async fn code_attempts(app: &TestApp, user_id: &str) -> i64 {
    scalar(
        app,
        "SELECT attempts FROM email_codes WHERE user_id = $1 AND voided_at IS NULL",
        user_id,
    )
    .await
}

fn reset_fields<'a>(email: &'a str, code: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("email", email),
        ("code", code),
        ("new_password", "violet kettle drums at dawn"),
        ("confirm_password", "violet kettle drums at dawn"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_reset_code_guesses_are_bounded_by_the_throttle() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = TestApp::spawn_with(move |c| {
        small(c);
        c.mail.smtp_url = Some(url);
    })
    .await;
    for n in BURSTS {
        let email = format!("resetter{n}@acme-industries.com");
        let user = user_with_email(&app, &format!("resetter{n}"), &email).await;
        idp::account::email_codes::issue(
            &app.state,
            &user,
            idp::account::email_codes::Purpose::PasswordReset,
        )
        .await
        .unwrap();
        let code = mailed_code(&app, &sink, &email, 1).await;
        let ip = format!("198.51.100.{n}");
        let mut shots = Vec::new();
        for _ in 0..n {
            let http = client_from(&ip);
            let fields = reset_fields(&email, wrong_code(&code));
            shots.push(
                aim(
                    &http,
                    &app.base,
                    "/password/reset",
                    "/password/reset",
                    &fields,
                )
                .await,
            );
        }
        let (evaluated, _) = tally(&fire(shots).await, StatusCode::BAD_REQUEST);
        assert!((1..=4).contains(&evaluated), "{evaluated} of {n} evaluated");
        assert_eq!(code_attempts(&app, &user.id).await, evaluated as i64);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_is_compared_at_most_max_attempts_times_whatever_the_concurrency() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = TestApp::spawn_with(move |c| {
        generous(c);
        c.mail.smtp_url = Some(url);
    })
    .await;
    for n in BURSTS {
        // Reset (no session).
        let email = format!("coder{n}@acme-industries.com");
        let user = user_with_email(&app, &format!("coder{n}"), &email).await;
        idp::account::email_codes::issue(
            &app.state,
            &user,
            idp::account::email_codes::Purpose::PasswordReset,
        )
        .await
        .unwrap();
        let code = mailed_code(&app, &sink, &email, 1).await;
        let mut shots = Vec::new();
        for i in 0..n {
            let http = client_from(&format!("203.0.{n}.{i}"));
            let fields = reset_fields(&email, wrong_code(&code));
            shots.push(
                aim(
                    &http,
                    &app.base,
                    "/password/reset",
                    "/password/reset",
                    &fields,
                )
                .await,
            );
        }
        let (evaluated, _) = tally(&fire(shots).await, StatusCode::BAD_REQUEST);
        assert_eq!(evaluated, n, "the throttle does not bind here");
        assert_eq!(code_attempts(&app, &user.id).await, 5, "codes.max_attempts");
        let http = client_from("203.0.113.250");
        let shot = aim(
            &http,
            &app.base,
            "/password/reset",
            "/password/reset",
            &reset_fields(&email, &code),
        )
        .await;
        assert_eq!(
            fire(vec![shot]).await,
            [StatusCode::BAD_REQUEST],
            "the right code is dead after five wrong ones"
        );

        // Change while signed in.
        let name = format!("changer{n}");
        let email = format!("{name}@acme-industries.com");
        let user = user_with_email(&app, &name, &email).await;
        let http = signed_in_from(&app, "203.0.113.251", &name).await;
        idp::account::email_codes::issue(
            &app.state,
            &user,
            idp::account::email_codes::Purpose::PasswordChange,
        )
        .await
        .unwrap();
        let code = mailed_code(&app, &sink, &email, 1).await;
        let mut shots = Vec::new();
        for _ in 0..n {
            let fields = reset_fields(&email, wrong_code(&code));
            shots.push(
                aim(
                    &http,
                    &app.base,
                    "/profile/password",
                    "/profile/password",
                    &fields[1..],
                )
                .await,
            );
        }
        let (evaluated, _) = tally(&fire(shots).await, StatusCode::BAD_REQUEST);
        assert_eq!(evaluated, n);
        assert_eq!(code_attempts(&app, &user.id).await, 5, "codes.max_attempts");
        let fields = reset_fields(&email, &code);
        let shot = aim(
            &http,
            &app.base,
            "/profile/password",
            "/profile/password",
            &fields[1..],
        )
        .await;
        assert_eq!(fire(vec![shot]).await, [StatusCode::BAD_REQUEST], "dead");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_change_code_guesses_are_bounded_by_the_throttle() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = TestApp::spawn_with(move |c| {
        small(c);
        c.mail.smtp_url = Some(url);
    })
    .await;
    for n in BURSTS {
        let name = format!("guesser{n}");
        let email = format!("{name}@acme-industries.com");
        let user = user_with_email(&app, &name, &email).await;
        let ip = format!("198.51.100.{n}");
        let http = signed_in_from(&app, &ip, &name).await;
        idp::account::email_codes::issue(
            &app.state,
            &user,
            idp::account::email_codes::Purpose::PasswordChange,
        )
        .await
        .unwrap();
        let code = mailed_code(&app, &sink, &email, 1).await;
        let mut shots = Vec::new();
        for i in 0..n {
            let mut guess = format!("{:06}", 900_000 + i);
            if guess == code {
                guess = format!("{:06}", 800_000 + i);
            }
            let fields = [
                ("code", guess.as_str()),
                ("new_password", "violet kettle drums at dawn"),
                ("confirm_password", "violet kettle drums at dawn"),
            ];
            shots.push(
                aim(
                    &http,
                    &app.base,
                    "/profile/password",
                    "/profile/password",
                    &fields,
                )
                .await,
            );
        }
        let (evaluated, _) = tally(&fire(shots).await, StatusCode::BAD_REQUEST);
        assert!((1..=4).contains(&evaluated), "{evaluated} of {n} evaluated");
        assert_eq!(code_attempts(&app, &user.id).await, evaluated as i64);
    }
}

/// An operator signed in from `ip`.
async fn operator(app: &TestApp, ip: &str) -> reqwest::Client {
    let username = format!("agent-{}", ip.replace('.', "-"));
    app.operator(&username, &format!("{username}@provider.example"))
        .await;
    signed_in_from(app, ip, &username).await
}

/// A user of a company with Plus support (so a PIN exists and can match).
async fn caller(app: &TestApp, username: &str) -> idp::db::users::User {
    let user = app.company_user(username, "plus").await;
    app.pin(&user.id).await;
    user
}

async fn pin_checks(app: &TestApp, subject: &str) -> i64 {
    scalar(
        app,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'support.pin_checked' AND subject = $1",
        subject,
    )
    .await
}

fn wrong_pin(right: &str) -> String {
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
    .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_support_pin_checks_are_bounded_on_the_admin_page_and_the_cli() {
    let app = TestApp::spawn_with(small).await;
    for n in BURSTS {
        let user = caller(&app, &format!("caller{n}")).await;
        let pin = app.pin(&user.id).await;
        let ip = format!("198.51.100.{n}");
        let ops = operator(&app, &ip).await;
        let wrong = wrong_pin(&pin);
        let mut shots = Vec::new();
        for _ in 0..n {
            shots.push(
                aim(
                    &ops,
                    &app.base,
                    "/admin/support",
                    "/admin/support",
                    &[("email", &user.email), ("pin", &wrong)],
                )
                .await,
            );
        }
        let (evaluated, _) = tally(&fire(shots).await, StatusCode::OK);
        assert!((1..=4).contains(&evaluated), "{evaluated} of {n} evaluated");
        assert_eq!(
            pin_checks(&app, &user.id).await,
            evaluated as i64,
            "audited"
        );
    }

    // `idp support verify-pin`, n processes at once.
    for n in BURSTS {
        let user = caller(&app, &format!("phoned{n}")).await;
        let pin = app.pin(&user.id).await;
        let wrong = wrong_pin(&pin);
        let c = &app.state.config;
        let mut runs = Vec::new();
        for _ in 0..n {
            let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_idp"));
            for (k, _) in std::env::vars() {
                if k.starts_with("IDP_") || k == "RUST_LOG" {
                    cmd.env_remove(k);
                }
            }
            cmd.args([
                "support",
                "verify-pin",
                "--email",
                &user.email,
                "--pin",
                &wrong,
            ])
            .env("IDP_ISSUER", &c.issuer)
            .env("IDP_DATABASE_URL", &c.database_url)
            .env("IDP_KEYS__KEK", c.keys.kek.as_deref().unwrap())
            .env("IDP_LOG__FILTER", "warn")
            // The CLI's network key ("cli") is shared by every run: lift it here.
            .env("IDP_THROTTLE__IP_FREE", "1000")
            .env("IDP_THROTTLE__ACCOUNT_FREE", "5")
            .env("IDP_THROTTLE__ACCOUNT_IP_FREE", "3")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
            runs.push(cmd.spawn().unwrap());
        }
        let mut evaluated = 0;
        let mut refused = 0;
        for run in runs {
            let out = run.wait_with_output().await.unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.code() == Some(3) && stdout.contains("does not match") {
                evaluated += 1;
            } else if stderr.contains("too many checks") {
                refused += 1;
            } else {
                panic!("unexpected: {:?} {stdout} {stderr}", out.status);
            }
        }
        assert_eq!(evaluated + refused, n);
        assert!(
            (1..=4).contains(&evaluated),
            "CLI: {evaluated} of {n} evaluated"
        );
        assert_eq!(
            pin_checks(&app, &user.id).await,
            evaluated as i64,
            "audited"
        );
    }
}

#[tokio::test]
async fn one_account_has_one_counter_whatever_spelling_is_typed() {
    // Default allowances; one network: the account+IP key (5 free).
    let app =
        TestApp::spawn_with(|c| c.http.client_ip_header = Some("X-Forwarded-For".into())).await;
    user_with_email(&app, "ada", "ada@xn--bcher-kva.example").await;
    let ip = |_: usize| "198.51.100.7".to_owned();
    for typed in [
        "ada",
        "ADA",
        "ada@xn--bcher-kva.example",
        "ADA@XN--BCHER-KVA.EXAMPLE",
        "ada@bücher.example",
        "Ada@BÜCHER.example",
    ] {
        let statuses = login_burst(&app.base, 1, |_| typed.to_owned(), "wrong password", ip).await;
        assert_eq!(statuses, [StatusCode::UNAUTHORIZED], "{typed}");
    }
    for typed in ["ada", "ada@xn--bcher-kva.example", "ada@bücher.example"] {
        let statuses = login_burst(&app.base, 1, |_| typed.to_owned(), PASSWORD, ip).await;
        assert_eq!(
            statuses,
            [StatusCode::TOO_MANY_REQUESTS],
            "six failures in any spelling block every spelling: {typed}"
        );
    }

    // From many networks: the account key.
    let app = TestApp::spawn_with(|c| {
        c.http.client_ip_header = Some("X-Forwarded-For".into());
        c.throttle.account_free = 3;
    })
    .await;
    user_with_email(&app, "grace", "grace@acme-industries.com").await;
    for (i, typed) in [
        "grace",
        "GRACE@acme-industries.com",
        " grace@ACME-industries.com ",
    ]
    .into_iter()
    .chain(["Grace"])
    .enumerate()
    {
        let statuses = login_burst(
            &app.base,
            1,
            |_| typed.to_owned(),
            "wrong password",
            |_| format!("203.0.113.{i}"),
        )
        .await;
        assert_eq!(statuses, [StatusCode::UNAUTHORIZED], "{typed}");
    }
    let statuses = login_burst(
        &app.base,
        1,
        |_| "grace@acme-industries.com".to_owned(),
        PASSWORD,
        |_| "203.0.113.99".to_owned(),
    )
    .await;
    assert_eq!(statuses, [StatusCode::TOO_MANY_REQUESTS]);
}

#[tokio::test]
async fn ipv6_clients_of_one_64_share_a_counter() {
    let app = TestApp::spawn_with(|c| {
        c.http.client_ip_header = Some("X-Forwarded-For".into());
        c.throttle.ip_free = 3;
    })
    .await;
    // Four different (unknown) accounts from four addresses of one /64.
    for i in 1..=4 {
        let statuses = login_burst(
            &app.base,
            1,
            |_| format!("someone{i}"),
            "wrong password",
            |_| format!("2001:db8:1:2::{i}"),
        )
        .await;
        assert_eq!(statuses, [StatusCode::UNAUTHORIZED]);
    }
    let statuses = login_burst(
        &app.base,
        1,
        |_| "someone5".to_owned(),
        "wrong password",
        |_| "2001:db8:1:2:ffff:ffff:ffff:fffe".to_owned(),
    )
    .await;
    assert_eq!(statuses, [StatusCode::TOO_MANY_REQUESTS], "the same /64");
    let statuses = login_burst(
        &app.base,
        1,
        |_| "someone5".to_owned(),
        "wrong password",
        |_| "2001:db8:1:3::1".to_owned(),
    )
    .await;
    assert_eq!(statuses, [StatusCode::UNAUTHORIZED], "another /64");
}

/// Review finding (docs): throttle keys name no address, neither the account's nor
/// the client's IP address (IPv4 or IPv6), as docs/security.md says; one network
/// still has one key.
#[tokio::test]
async fn throttle_keys_name_no_ip_or_email_address() {
    let app = TestApp::spawn_with(small).await;
    app.user("hidden").await;
    for (ip, login) in [
        ("203.0.113.77", "hidden"),
        ("203.0.113.77", "hidden@example.com"),
        ("2001:db8:77::1", "nobody@example.org"),
    ] {
        let browser = Browser {
            http: client_from(ip),
        };
        let Page { status, .. } = browser
            .submit_login(&app.url("/login"), login, "wrong password")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let keys: Vec<(String,)> = sqlx::query_as("SELECT key FROM throttle")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert!(!keys.is_empty());
    for (key,) in &keys {
        for plain in ["203.0.113", "2001:db8", "hidden", "nobody", "example"] {
            assert!(!key.contains(plain), "{key:?} names {plain:?}");
        }
    }
    let ip_keys = keys
        .iter()
        .filter(|(k,)| k.starts_with("login:ip:"))
        .count();
    assert_eq!(ip_keys, 2, "one key per network: {keys:?}");
}
