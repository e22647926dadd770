//! Every statement on the request paths is served by an index: no full scan of a
//! table that grows with use (issue 8: a refresh read every grant).
//!
//! A real provider process (the `idp` binary) logs every SQL statement it runs
//! (`sqlx::query=debug`, JSON lines). The test drives a journey over HTTP that covers
//! the request paths, lets the background jobs run (purge at start, mail, back-channel
//! logout), collects the distinct statements from the log, and has the database plan
//! each one: SQLite `EXPLAIN QUERY PLAN` with the parameters unbound, PostgreSQL
//! `PREPARE` + `EXPLAIN EXECUTE` of the generic plan with sequential scans (and JIT)
//! disabled.
//!
//! What counts as a full scan of a growing table ([`GROWING`]):
//! - SQLite: a plan row `SCAN <table or alias>`, with or without `USING [COVERING]
//!   INDEX` (a scan in index order still reads every row); `SEARCH` is fine.
//! - PostgreSQL: a `Seq Scan`, or an `Index [Only] Scan` without an `Index Cond` (a
//!   full walk of an index).
//!
//! Whole-table reads that are meant to be are listed in [`ALLOWED`] with their reason.
//! The failure message names each statement with its plan; a statement that cannot be
//! planned (e.g. PostgreSQL cannot infer a parameter's type: add a CAST) fails too.
//! The test collects rather than lists, so new statements are covered as they appear.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::{Connection as _, Row as _};

use crate::harness::*;
use crate::mailbox::{free_port, SmtpSink};
use crate::process::ProviderProcess;
use crate::support_logout::{backchannel_receiver, portal_spec, wait_for_tokens};
use idp::account::users::UserSpec;
use idp::oauth::client::GrantType;
use idp::oauth::registration::ClientSpec;

/// Tables that grow with use. A full scan of one of them is a failure.
pub(crate) const GROWING: &[&str] = &[
    "grants",
    "refresh_tokens",
    "access_tokens",
    "browser_sessions",
    "authorization_requests",
    "users",
    "companies",
    "registrations",
    "email_codes",
    "throttle",
    "outbox",
    "logout_deliveries",
    "audit_events",
    "invitations",
    "company_domains",
];

/// Statements allowed to read a whole growing table: (a fragment of the statement,
/// why).
const ALLOWED: &[(&str, &str)] = &[
    (
        "FROM companies ORDER BY name, domain",
        "the operators' companies page lists every customer company (one row per customer)",
    ),
    (
        "FROM audit_events ORDER BY at DESC, id DESC LIMIT",
        "the operators' audit page reads the newest LIMIT events off the (at, id) index",
    ),
];

/// Statements the journey must have produced, so the test can never pass on an empty
/// or partial log: (a fragment of the statement, what it is).
const EXPECTED: &[(&str, &str)] = &[
    (
        "UPDATE grants SET refresh_prev_hash",
        "the refresh rotation",
    ),
    (
        "COALESCE(refresh_prev_hash, '')",
        "the revocation of a reused family",
    ),
    (
        "FROM grants g JOIN clients c",
        "the clients of a session (logout)",
    ),
    (
        "INSERT INTO authorization_requests",
        "a pending authorization request",
    ),
    ("UPDATE outbox SET locked_until", "the mail worker"),
    (
        "UPDATE logout_deliveries SET locked_until",
        "the logout worker",
    ),
    (
        "DELETE FROM refresh_tokens WHERE expires_at",
        "the purge job",
    ),
    ("FROM users WHERE company_id", "the companies page"),
    ("INSERT INTO registrations", "self-registration"),
    ("FROM email_codes", "e-mailed codes"),
    ("INSERT INTO invitations", "an invitation"),
    (
        "UPDATE invitations SET status = 'accepted'",
        "its acceptance",
    ),
    ("FROM audit_events WHERE company_id", "a company's activity"),
    ("FROM company_domains", "a company's domains"),
];

/// At least this many distinct statements (75 when written).
const MIN_STATEMENTS: usize = 60;

const NEW_PASSWORD: &str = "violet kettle drums at dawn";
const RESET_PASSWORD: &str = "amber lanterns over quiet harbours";

/// A browser on the provider process.
struct Site {
    base: String,
    issuer: String,
    browser: Browser,
}

impl Site {
    fn new(process: &ProviderProcess, app: &TestApp) -> Self {
        Self {
            base: process.base.clone(),
            issuer: app.base.clone(),
            browser: Browser::new(),
        }
    }

    /// `path` (or an absolute URL under the issuer) on this process.
    fn url(&self, path: &str) -> String {
        match path.strip_prefix(&self.issuer) {
            Some(rest) => format!("{}{rest}", self.base),
            None if path.starts_with('/') => format!("{}{path}", self.base),
            None => path.to_owned(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.browser.get(&self.url(path)).await
    }

    /// GETs `page`, then POSTs its CSRF token (and request_id, if any) with `fields`.
    async fn form(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let Page { status, body, .. } = self.get(page).await;
        assert!(status.is_success(), "{page}: {status} {body}");
        let mut form = vec![(
            "csrf_token".to_owned(),
            hidden(&body, "csrf_token").unwrap(),
        )];
        if let Some(id) = hidden(&body, "request_id") {
            form.push(("request_id".into(), id));
        }
        form.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let url = self.url(action);
        let r = self
            .browser
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .unwrap();
        Browser::page(&url, r).await
    }

    /// An authorization request through `client` that ends at the callback: with the
    /// login form when the browser has no session (a wrong password first when
    /// `fail_first`), by SSO otherwise. Returns the code.
    async fn authorize(
        &self,
        app: &TestApp,
        client: &TestClient,
        user: &str,
        password: &str,
        fail_first: bool,
        challenge: &str,
    ) -> String {
        let url = self.url(&authorize_url(app, client, challenge, &[]));
        let Page {
            status,
            location,
            body,
            ..
        } = self.browser.get(&url).await;
        let location = location.unwrap_or_else(|| panic!("{status} {body}"));
        let callback = if status == StatusCode::FOUND {
            location
        } else {
            assert!(location.starts_with("/login?request_id="), "{location}");
            if fail_first {
                let Page { status, .. } = self
                    .form(
                        &location,
                        "/login",
                        &[("username", user), ("password", "wrong password")],
                    )
                    .await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "a failed login");
            }
            let Page {
                status,
                location: resume,
                body,
                ..
            } = self
                .form(
                    &location,
                    "/login",
                    &[("username", user), ("password", password)],
                )
                .await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
            let Page {
                status,
                location: callback,
                body,
                ..
            } = self.get(&resume.unwrap()).await;
            assert_eq!(status, StatusCode::FOUND, "{body}");
            callback.unwrap()
        };
        param(&url::Url::parse(&callback).unwrap(), "code").unwrap()
    }
}

/// POSTs a form with client_secret_basic to `path` on `base`.
async fn client_post(
    base: &str,
    path: &str,
    client: &TestClient,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn tokens(base: &str, client: &TestClient, code: &str, verifier: &str) -> Value {
    let (status, body) = client_post(
        base,
        "/token",
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &client.redirect_uri),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn refresh(base: &str, client: &TestClient, token: &str) -> (StatusCode, Value) {
    client_post(
        base,
        "/token",
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

fn s(v: &Value, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {v}"))
        .to_owned()
}

/// Waits (up to 10 s) for a mail to `to` with `subject`.
async fn mail(sink: &SmtpSink, to: &str, subject: &str) -> crate::mailbox::Mail {
    for _ in 0..200 {
        if let Some(m) = sink.to(to).into_iter().find(|m| m.subject == subject) {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no mail {subject:?} to {to}: {:?}", sink.to(to));
}

/// The six-digit code in a mail.
fn code_in(mail: &crate::mailbox::Mail) -> String {
    mail.text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("a code in the mail")
        .to_owned()
}

/// Drives every request path against `p`; the data is set up through `app`.
async fn journey(app: &TestApp, p: &ProviderProcess, sink: &SmtpSink) {
    // Relying parties: two with back-channel logout (one of them down), a service.
    let (portal_uri, portal) = backchannel_receiver(0).await;
    let portal_client = app.client_with(portal_spec(Some(portal_uri))).await;
    let down = format!("http://127.0.0.1:{}/backchannel-logout", free_port());
    let other_client = app.client_with(portal_spec(Some(down))).await;
    let service = app
        .client_with(ClientSpec {
            grant_types: vec![GrantType::ClientCredentials],
            scope: "reports".into(),
            ..ClientSpec::default()
        })
        .await;
    let customer = app
        .user_with(UserSpec {
            company: Some("ACME Demo".into()),
            ..TestApp::account_spec("carla", "carla@acme-demo.example")
        })
        .await;
    app.support("acme-demo.example", "plus", Some("EMEA")).await;
    app.operator("operator", "ops@provider.example").await;
    let base = p.base.as_str();

    // Discovery and JWKS.
    for path in ["/.well-known/openid-configuration", "/jwks.json"] {
        let r = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }

    // A new pending request, a failed and a good login, resume, code exchange; then SSO.
    let web = Site::new(p, app);
    let (verifier, challenge) = pkce();
    let code = web
        .authorize(app, &portal_client, "carla", PASSWORD, true, &challenge)
        .await;
    let first = tokens(base, &portal_client, &code, &verifier).await;
    let (verifier, challenge) = pkce();
    let code = web
        .authorize(app, &portal_client, "carla", PASSWORD, false, &challenge)
        .await;
    let second = tokens(base, &portal_client, &code, &verifier).await;
    let (verifier, challenge) = pkce();
    let code = web
        .authorize(app, &other_client, "carla", PASSWORD, false, &challenge)
        .await;
    let third = tokens(base, &other_client, &code, &verifier).await;

    // Refresh: a rotation, a retry of it, the next rotation, and a reuse.
    let rt0 = s(&second, "refresh_token");
    let (status, _) = refresh(base, &portal_client, &rt0).await;
    assert_eq!(status, StatusCode::OK);
    let (status, retry) = refresh(base, &portal_client, &rt0).await;
    assert_eq!(status, StatusCode::OK, "{retry}");
    let (status, _) = refresh(base, &portal_client, &s(&retry, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    // The reuse's answer is asserted in refresh_families.rs; here its statements count
    // (EXPECTED names the revocation of the reused family).
    refresh(base, &portal_client, &rt0).await;

    // client_credentials, UserInfo, introspection, revocation.
    let (status, body) = client_post(
        base,
        "/token",
        &service,
        &[("grant_type", "client_credentials"), ("scope", "reports")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let r = reqwest::Client::new()
        .get(format!("{base}/userinfo"))
        .bearer_auth(s(&first, "access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for token in [s(&first, "access_token"), s(&first, "refresh_token")] {
        let (_, body) =
            client_post(base, "/introspect", &portal_client, &[("token", &token)]).await;
        assert_eq!(body["active"], true, "{body}");
    }
    for token in [s(&third, "access_token"), s(&third, "refresh_token")] {
        let (status, _) = client_post(base, "/revoke", &other_client, &[("token", &token)]).await;
        assert_eq!(status, StatusCode::OK);
    }

    // Profile, settings, "Get code" and the password change with the mailed code.
    let Page { status, .. } = web.get("/profile").await;
    assert_eq!(status, StatusCode::OK);
    let Page { status, .. } = web
        .form(
            "/profile",
            "/profile/settings",
            &[("locale", "en"), ("zoneinfo", "Europe/Berlin")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let Page { status, .. } = web
        .form("/profile/password", "/profile/password/code", &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let code = code_in(
        &mail(
            sink,
            "carla@acme-demo.example",
            "Your verification code for changing the password",
        )
        .await,
    );
    let Page { status, body, .. } = web
        .form(
            "/profile/password",
            "/profile/password",
            &[
                ("code", &code),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");

    // RP-initiated logout with a hint: both relying parties are told.
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", &s(&first, "id_token"))
        .append_pair("post_logout_redirect_uri", "https://portal.example/bye")
        .finish();
    let Page { status, .. } = web.get(&format!("/logout?{query}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Forgot and reset.
    let anon = Site::new(p, app);
    let Page {
        status,
        location: reset,
        ..
    } = anon
        .form(
            "/password/forgot",
            "/password/forgot",
            &[("email", "carla@acme-demo.example")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let code = code_in(
        &mail(
            sink,
            "carla@acme-demo.example",
            "Your code to reset the password",
        )
        .await,
    );
    let Page { status, body, .. } = anon
        .form(
            &reset.unwrap(),
            "/password/reset",
            &[
                ("email", "carla@acme-demo.example"),
                ("code", &code),
                ("new_password", RESET_PASSWORD),
                ("confirm_password", RESET_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");

    // Registration, confirmation, and a resent link for a second one.
    let register = |email: &'static str| {
        let anon = &anon;
        async move {
            let Page { status, body, .. } = anon
                .form(
                    "/register",
                    "/register",
                    &[
                        ("given_name", "Jane"),
                        ("family_name", "Doe"),
                        ("email", email),
                        ("company", "Globex"),
                        ("country", "DE"),
                        ("terms", "yes"),
                    ],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    };
    register("jane.doe@globex.example").await;
    let link = mail(sink, "jane.doe@globex.example", "Confirm your registration")
        .await
        .link();
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let Page { status, body, .. } = anon
        .form(&link, "/register/confirm", &[("token", &token)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    register("late.larry@initech.example").await;
    mail(
        sink,
        "late.larry@initech.example",
        "Confirm your registration",
    )
    .await;
    let Page { status, body, .. } = anon
        .form(
            "/register/resend",
            "/register/resend",
            &[("email", "late.larry@initech.example")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The operator: approval queue, companies page, support level, PIN check.
    let ops = Site::new(p, app);
    let Page { status, .. } = ops
        .form(
            "/login?return_to=/admin/registrations",
            "/login",
            &[
                ("username", "operator"),
                ("password", PASSWORD),
                ("return_to", "/admin/registrations"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (id,): (String,) = sqlx::query_as("SELECT id FROM registrations WHERE email = $1")
        .bind("jane.doe@globex.example")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let Page { status, .. } = ops
        .form(
            "/admin/registrations",
            &format!("/admin/registrations/{id}/approve"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let Page { status, .. } = ops
        .form(
            "/admin/companies",
            "/admin/companies/acme-demo.example/support",
            &[("level", "priority"), ("region", "EMEA")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let pin = app.pin(&customer.id).await;
    let Page {
        status, body: page, ..
    } = ops
        .form(
            "/admin/support",
            "/admin/support",
            &[("email", "carla@acme-demo.example"), ("pin", &pin)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("matches"), "{page}");

    // The approved user's first login with the one-time password: the forced change.
    let welcome = mail(
        sink,
        "jane.doe@globex.example",
        "Your registration was approved",
    )
    .await;
    let otp = welcome.value_after("One-time password:");
    let jane = Site::new(p, app);
    let Page {
        status,
        location: next,
        body,
        ..
    } = jane
        .form(
            "/login",
            "/login",
            &[("username", "jane.doe@globex.example"), ("password", &otp)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let Page { status, body, .. } = jane
        .form(
            &next.unwrap(),
            "/password/new",
            &[
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");

    // The approved user is Globex's Super Admin: the company's users, an invitation
    // accepted in another browser, a role granted (with the password again), the
    // colleague disabled and enabled, the activity trail and its CSV; the operators'
    // audit page.
    let Page { status, body, .. } = jane
        .form(
            "/company/users",
            "/company/invitations",
            &[
                ("email", "max.miller@globex.example"),
                ("given_name", "Max"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let invitation = mail(
        sink,
        "max.miller@globex.example",
        "You are invited to your company's customer account",
    )
    .await;
    let max = Site::new(p, app);
    let link = invitation.link();
    let token = link.rsplit("token=").next().unwrap();
    let Page { status, body, .. } = max
        .form(
            &link,
            "/invitation",
            &[
                ("token", token),
                ("given_name", "Max"),
                ("family_name", "Miller"),
                ("new_password", RESET_PASSWORD),
                ("confirm_password", RESET_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (max_id,): (String,) = sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind("max.miller@globex.example")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    for (action, fields) in [
        (
            "roles",
            vec![("role.super_admin", "on"), ("password", NEW_PASSWORD)],
        ),
        ("roles", vec![]),
        ("disable", vec![]),
        ("enable", vec![]),
    ] {
        let Page { status, body, .. } = jane
            .form(
                "/company/users",
                &format!("/company/users/{max_id}/{action}"),
                &fields,
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{action}: {body}");
    }
    for path in [
        "/company/activity".to_owned(),
        format!("/company/activity?user={max_id}&action=member.disabled"),
        "/company/activity.csv".to_owned(),
    ] {
        assert_eq!(jane.get(&path).await.status, StatusCode::OK, "{path}");
    }
    assert_eq!(ops.get("/admin/audit").await.status, StatusCode::OK);

    // Background work: the logout token reaches the portal; the worker has also
    // failed once against the relying party that is down.
    wait_for_tokens(&portal, 1).await;
    for _ in 0..100 {
        let (failed,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM logout_deliveries WHERE attempts > 0")
                .fetch_one(app.state.db.pool())
                .await
                .unwrap();
        if failed > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The distinct statements in a JSON log (tracing-subscriber's shape: the event's
/// fields under `fields`; sqlx logs `summary`, and the full SQL in `db.statement` when
/// the summary is shortened).
pub(crate) fn statements(log: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in log {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if event["target"] != "sqlx::query" {
            continue;
        }
        let fields = &event["fields"];
        let full = fields["db.statement"].as_str().unwrap_or("").trim();
        let sql = if full.is_empty() {
            fields["summary"].as_str().unwrap_or("").trim()
        } else {
            full
        };
        let first = sql.split_whitespace().next().unwrap_or("").to_uppercase();
        if ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains(&first.as_str())
            && !sql.contains("_sqlx_migrations")
        {
            out.insert(sql.to_owned());
        }
    }
    out
}

/// Table names of `sql` by the names the plan uses for them (the table, and its alias).
fn table_names(sql: &str) -> Vec<(String, String)> {
    let words: Vec<String> = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let keywords = [
        "where",
        "join",
        "left",
        "inner",
        "on",
        "set",
        "order",
        "group",
        "limit",
        "as",
        "values",
        "returning",
        "select",
        "default",
        "using",
    ];
    let mut names = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if !["from", "join", "update", "into"].contains(&w.as_str()) {
            continue;
        }
        let Some(table) = words.get(i + 1) else {
            continue;
        };
        names.push((table.clone(), table.clone()));
        let alias = match words.get(i + 2).map(String::as_str) {
            Some("as") => words.get(i + 3),
            Some(w) if !keywords.contains(&w) => words.get(i + 2),
            _ => None,
        };
        if let Some(alias) = alias {
            names.push((alias.clone(), table.clone()));
        }
    }
    names
}

/// SQLite: the plan rows, and the growing tables scanned (unresolvable names count).
pub(crate) async fn sqlite_plan(
    conn: &mut sqlx::SqliteConnection,
    sql: &str,
) -> Result<(String, Vec<String>), String> {
    let rows = sqlx::raw_sql(&format!("EXPLAIN QUERY PLAN {sql}"))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| e.to_string())?;
    let names = table_names(sql);
    let mut plan = String::new();
    let mut scanned = Vec::new();
    for row in rows {
        let detail: String = row.try_get("detail").map_err(|e| e.to_string())?;
        plan.push_str(&format!("  {detail}\n"));
        let Some(rest) = detail.strip_prefix("SCAN ") else {
            continue;
        };
        let name = rest.split(' ').next().unwrap_or("").to_lowercase();
        if name == "constant" || name.starts_with('(') {
            continue;
        }
        match names.iter().find(|(n, _)| *n == name) {
            Some((_, table)) if GROWING.contains(&table.as_str()) => scanned.push(table.clone()),
            Some(_) => {}
            None => scanned.push(format!("{name} (unresolved)")),
        }
    }
    Ok((plan, scanned))
}

/// PostgreSQL: the generic plan with sequential scans disabled, and the growing
/// tables read whole (a Seq Scan, or an index scan without an Index Cond).
pub(crate) async fn postgres_plan(
    conn: &mut sqlx::PgConnection,
    sql: &str,
) -> Result<(String, Vec<String>), String> {
    let params = (1..=99)
        .take_while(|n| sql.contains(&format!("${n}")))
        .count();
    let args = vec!["NULL"; params].join(", ");
    let run = async {
        sqlx::raw_sql("DEALLOCATE ALL").execute(&mut *conn).await?;
        sqlx::raw_sql(&format!("PREPARE plan_me AS {sql}"))
            .execute(&mut *conn)
            .await?;
        let execute = if params == 0 {
            "EXPLAIN EXECUTE plan_me".to_owned()
        } else {
            format!("EXPLAIN EXECUTE plan_me({args})")
        };
        sqlx::raw_sql(&execute).fetch_all(&mut *conn).await
    };
    let rows = run.await.map_err(|e| e.to_string())?;
    let lines: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap_or_default())
        .collect();
    let mut scanned = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let node = line.trim_start().trim_start_matches("->").trim_start();
        let table = |marker: &str| {
            node.split_once(marker)
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .map(str::to_owned)
        };
        let full = if node.starts_with("Seq Scan on ") {
            table("Seq Scan on ")
        } else if node.starts_with("Index Scan") || node.starts_with("Index Only Scan") {
            let details = lines[i + 1..].iter().take_while(|l| !l.contains("->"));
            if details.clone().any(|l| l.contains("Index Cond:")) {
                None
            } else {
                table(" on ")
            }
        } else {
            None
        };
        if let Some(t) = full.filter(|t| GROWING.contains(&t.as_str())) {
            scanned.push(t);
        }
    }
    Ok((lines.join("\n"), scanned))
}

/// Plans each of `collected` on the database at `database_url` (SQLite, or
/// PostgreSQL with sequential scans discouraged and generic plans): one problem per
/// statement that cannot be planned or reads a whole growing table, unless a
/// fragment of `allowed` is in it.
pub(crate) async fn plan_problems(
    database_url: &str,
    collected: &BTreeSet<String>,
    allowed: &[(&str, &str)],
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut sqlite = None;
    let mut postgres = None;
    if backend() == "postgres" {
        let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::raw_sql(
            "SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan; SET jit = off",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        postgres = Some(conn);
    } else {
        sqlite = Some(sqlx::SqliteConnection::connect(database_url).await.unwrap());
    }
    for sql in collected {
        let planned = match (&mut sqlite, &mut postgres) {
            (Some(conn), _) => sqlite_plan(conn, sql).await,
            (_, Some(conn)) => postgres_plan(conn, sql).await,
            _ => unreachable!(),
        };
        match planned {
            Err(e) => problems.push(format!("cannot plan:\n  {sql}\n  {e}")),
            Ok((_, scanned)) if scanned.is_empty() => {}
            Ok(_) if allowed.iter().any(|(fragment, _)| sql.contains(fragment)) => {}
            Ok((plan, scanned)) => problems.push(format!(
                "full scan of {}:\n  {sql}\n{plan}",
                scanned.join(", ")
            )),
        }
    }
    problems
}

#[tokio::test]
async fn no_statement_on_a_request_path_scans_a_growing_table() {
    let sink = SmtpSink::start();
    // The in-process provider shares the database but must not take the process's
    // mail: a TestApp runs no delivery workers.
    let url = sink.url();
    let app = TestApp::spawn_with(move |c| {
        c.mail.smtp_url = Some(url);
    })
    .await;
    let process = ProviderProcess::spawn(
        &app,
        &[
            ("IDP_LOG__FILTER", "warn,sqlx::query=debug"),
            ("IDP_LOG__FORMAT", "json"),
            ("IDP_MAIL__POLL_INTERVAL_MS", "50"),
        ],
    )
    .await;
    journey(&app, &process, &sink).await;
    let log = process.log();
    process.kill().await;
    let collected = statements(&log);

    let mut problems = plan_problems(&app.state.config.database_url, &collected, ALLOWED).await;
    for (fragment, what) in EXPECTED {
        if !collected.iter().any(|sql| sql.contains(fragment)) {
            problems.push(format!("not collected: {what} ({fragment:?})"));
        }
    }
    if collected.len() < MIN_STATEMENTS {
        problems.push(format!(
            "only {} distinct statements collected (at least {MIN_STATEMENTS} expected)",
            collected.len()
        ));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) in {} statements:\n\n{}",
        problems.len(),
        collected.len(),
        problems.join("\n\n")
    );
}
