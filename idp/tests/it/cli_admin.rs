//! Company administration from the command line (issue 10, point 11): the real `idp`
//! binary on the test's database lists users, changes roles, disables, enables and
//! removes members, invites, resends and revokes, adds and removes company domains,
//! and reads the audit trail; every `--json` answer is parsed. Refusals (unknown
//! role, user, invitation or company; the last Super Admin; foreign, free-mail,
//! disposable or taken domains; the primary domain) exit non-zero with a clear
//! message and leave no event.

use serde_json::Value;

use crate::harness::*;
use idp::account::users::UserSpec;
use idp::config::{RoleDef, Texts};
use idp::db::users::Role;

const LICENSES: &str = "customer-portal:licenses";
const INSTALL: &str = "app-portal:apps.install";

/// A provider with two catalogue roles, and the configuration file that gives the
/// binary the same catalogue and a mail folder of the test's own.
struct Setup {
    app: TestApp,
    config: String,
    outbox: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// A catalogue role of `client` with English and German texts.
fn role(name: &str, client: &str) -> RoleDef {
    let texts = |en: &str, de: &str| Texts {
        en: en.into(),
        de: de.into(),
    };
    RoleDef {
        name: name.into(),
        clients: vec![client.into()],
        label: texts(name, name),
        description: texts("A test role", "Eine Testrolle"),
    }
}

/// The same role as a `[[roles]]` entry of the configuration file.
fn role_toml(name: &str, client: &str) -> String {
    format!(
        "[[roles]]\nname = {name:?}\nclients = [{client:?}]\n\
         label = {{ en = {name:?}, de = {name:?} }}\n\
         description = {{ en = \"A test role\", de = \"Eine Testrolle\" }}\n\n"
    )
}

async fn setup() -> Setup {
    let app = TestApp::spawn_with(|c| {
        c.roles = vec![
            role(LICENSES, "customer-portal"),
            role(INSTALL, "app-portal"),
        ];
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let config = dir.path().join("idp.toml");
    let toml = format!(
        "{}{}[mail]\noutbox_dir = {:?}\n",
        role_toml(LICENSES, "customer-portal"),
        role_toml(INSTALL, "app-portal"),
        outbox.display().to_string()
    );
    std::fs::write(&config, toml).unwrap();
    Setup {
        app,
        config: config.display().to_string(),
        outbox,
        _dir: dir,
    }
}

impl Setup {
    /// Runs `idp --config <file> args…`; asserts success and parses stdout as JSON.
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{args:?} failed: {}{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
    }

    /// Runs `idp args…`; asserts failure and returns stderr.
    fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "{args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["--config", self.config.as_str()];
        all.extend_from_slice(args);
        self.app.cli(&all)
    }

    /// Runs `idp args…` logging every SQL statement (JSON lines on stderr); asserts
    /// the outcome `ok`, adds the log lines to `log` and returns stdout.
    fn logged(&self, args: &[&str], ok: bool, log: &mut Vec<String>) -> String {
        let mut all = vec!["--config", self.config.as_str()];
        all.extend_from_slice(args);
        let out = self.app.cli_env(
            &all,
            &[
                ("IDP_LOG__FILTER", "warn,sqlx::query=debug"),
                ("IDP_LOG__FORMAT", "json"),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), ok, "{args:?}: {stderr}");
        log.extend(stderr.lines().map(str::to_owned));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// How many delivered mails (files in the mail folder) contain `text`.
    fn mails_with(&self, text: &str) -> usize {
        let Ok(dir) = std::fs::read_dir(&self.outbox) else {
            return 0;
        };
        dir.filter(|f| {
            let path = f.as_ref().unwrap().path();
            std::fs::read_to_string(path)
                .unwrap_or_default()
                .contains(text)
        })
        .count()
    }

    /// `idp audit list --json` with `filter`.
    fn audit(&self, filter: &[&str]) -> Vec<Value> {
        let mut args = vec!["audit", "list", "--json"];
        args.extend_from_slice(filter);
        self.ok(&args).as_array().unwrap().clone()
    }
}

/// The events' actions, sorted: events of the same second have no order among
/// themselves (`at` is in seconds), so the tests compare sets and check `at` apart.
fn actions(events: &[Value]) -> Vec<&str> {
    let mut list: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    list.sort_unstable();
    list
}

/// ACME Demo's Super Admin `username` (acme-demo.example).
async fn super_admin(app: &TestApp, username: &str) -> idp::db::users::User {
    app.user_with(UserSpec {
        roles: vec![Role::SuperAdmin],
        ..TestApp::acme_demo_spec(username)
    })
    .await
}

/// The Super Admin of Other Co (other-co.example).
async fn rival(app: &TestApp) {
    app.user_with(UserSpec {
        roles: vec![Role::SuperAdmin],
        company: Some("Other Co".into()),
        ..TestApp::account_spec("rival", "rival@other-co.example")
    })
    .await;
}

const LAST_ADMIN: &str =
    "Your company needs at least one active Super Admin: make someone else Super Admin first.";

#[tokio::test]
async fn users_list_and_member_changes_follow_the_page_rules_and_are_audited() {
    let s = setup().await;
    let boss = super_admin(&s.app, "boss").await;
    let max = s.app.user_with(TestApp::acme_demo_spec("max")).await;
    s.app.user("solo").await;

    let all = s.ok(&["users", "list", "--json"]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    let row = |list: &[Value], email: &str| {
        list.iter()
            .find(|u| u["email"] == email)
            .unwrap_or_else(|| panic!("{email} in {list:?}"))
            .clone()
    };
    let b = row(all, "boss@acme-demo.example");
    assert_eq!(b["id"], boss.id.as_str());
    assert_eq!(b["username"], "boss");
    assert_eq!(b["name"], "Sam Carter");
    assert_eq!(b["company"], "acme-demo.example");
    assert_eq!(b["roles"], serde_json::json!(["super_admin"]));
    assert_eq!(b["status"], "active");
    assert!(b["last_login_at"].is_null());
    assert!(row(all, "solo@example.com")["company"].is_null());
    let acme = s.ok(&["users", "list", "--company", "ACME-Demo.example", "--json"]);
    let emails: Vec<&str> = acme
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["boss@acme-demo.example", "max@acme-demo.example"]);
    let text = s.run(&["users", "list"]);
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("max@acme-demo.example"));
    assert!(s
        .refused(&["users", "list", "--company", "nowhere.example"])
        .contains("no company with the domain nowhere.example"));

    // Roles: an operator grants super_admin without a password.
    let changed = s.ok(&[
        "users",
        "roles",
        "max@acme-demo.example",
        "--add",
        LICENSES,
        "--add",
        "super_admin",
        "--json",
    ]);
    assert_eq!(changed["id"], max.id.as_str());
    assert_eq!(
        changed["roles"],
        serde_json::json!(["super_admin", LICENSES])
    );
    let changed = s.ok(&[
        "users",
        "roles",
        "max@acme-demo.example",
        "--remove",
        LICENSES,
        "--add",
        INSTALL,
        "--json",
    ]);
    assert_eq!(
        changed["roles"],
        serde_json::json!(["super_admin", INSTALL])
    );
    let e = s.refused(&["users", "roles", "max@acme-demo.example", "--add", "root"]);
    assert!(e.contains("unknown role \"root\""), "{e}");
    let e = s.refused(&[
        "users",
        "roles",
        "max@acme-demo.example",
        "--remove",
        "Bad Role",
    ]);
    assert!(e.contains("unknown role"), "{e}");
    let e = s.refused(&[
        "users",
        "roles",
        "ghost@acme-demo.example",
        "--add",
        LICENSES,
    ]);
    assert!(
        e.contains("no user with the e-mail address ghost@acme-demo.example"),
        "{e}"
    );

    // Disable, enable; remove needs --yes.
    let d = s.ok(&["users", "disable", "max@acme-demo.example", "--json"]);
    assert_eq!(d["status"], "disabled");
    let listed = s.ok(&["users", "list", "--json"]);
    assert_eq!(
        row(listed.as_array().unwrap(), "max@acme-demo.example")["status"],
        "disabled"
    );
    let d = s.ok(&["users", "enable", "max@acme-demo.example", "--json"]);
    assert_eq!(d["status"], "active");
    let e = s.refused(&["users", "disable", "ghost@acme-demo.example"]);
    assert!(e.contains("no user with the e-mail address"), "{e}");
    // An address beginning with "-" is an address, not an option.
    let e = s.refused(&["users", "disable", "-ghost@acme-demo.example"]);
    assert!(e.contains("no user with the e-mail address -ghost@"), "{e}");
    let e = s.refused(&["users", "remove", "max@acme-demo.example"]);
    assert!(e.contains("--yes"), "{e}");
    let r = s.ok(&[
        "users",
        "remove",
        "max@acme-demo.example",
        "--yes",
        "--json",
    ]);
    assert_eq!(r["id"], max.id.as_str());
    assert_eq!(r["status"], "removed");
    let e = s.refused(&["users", "enable", "max@acme-demo.example"]);
    assert!(e.contains("no user with the e-mail address"), "{e}");

    // The last active Super Admin keeps the role, stays enabled and stays.
    let before = s.audit(&[]).len();
    for args in [
        &[
            "users",
            "roles",
            "boss@acme-demo.example",
            "--remove",
            "super_admin",
        ][..],
        &["users", "disable", "boss@acme-demo.example"],
        &["users", "remove", "boss@acme-demo.example", "--yes"],
    ] {
        let e = s.refused(args);
        assert!(e.contains(LAST_ADMIN), "{args:?}: {e}");
    }
    assert_eq!(s.audit(&[]).len(), before, "refusals record nothing");

    // The trail, newest first, as the operator.
    let events = s.audit(&["--company", "acme-demo.example"]);
    assert_eq!(
        actions(&events),
        [
            "member.disabled",
            "member.enabled",
            "member.removed",
            "member.roles_changed",
            "member.super_admin_granted",
        ]
    );
    assert!(events
        .iter()
        .all(|e| e["actor"].as_str().unwrap().starts_with("cli:")
            && e["company"] == "acme-demo.example"
            && e["ip"].is_null()));
    let ats: Vec<i64> = events.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert!(ats.windows(2).all(|w| w[0] >= w[1]), "{ats:?}");
    let removed = s.audit(&["--action", "member.removed"]);
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["subject"], max.id.as_str());
    assert_eq!(removed[0]["details"]["email"], "max@acme-demo.example");
    let granted = s.audit(&["--action", "member.super_admin_granted"]);
    assert_eq!(granted.len(), 1);
    assert_eq!(
        granted[0]["details"]["after"],
        serde_json::json!(["super_admin", LICENSES])
    );
    assert_eq!(
        s.audit(&["--user", &max.id]).len(),
        5,
        "a removed user by id"
    );
    assert!(s.audit(&["--user", "boss@acme-demo.example"]).is_empty());
    assert_eq!(s.audit(&["--limit", "2"]).len(), 2);
    for bad in ["0", "10001"] {
        let e = s.refused(&["audit", "list", "--limit", bad]);
        assert!(e.contains("1 to 10000"), "{e}");
    }
    let e = s.refused(&["audit", "list", "--user", "ghost@acme-demo.example"]);
    assert!(e.contains("no user with the e-mail address"), "{e}");
}

#[tokio::test]
async fn invitations_are_created_mailed_listed_resent_and_revoked() {
    let s = setup().await;
    super_admin(&s.app, "boss").await;
    rival(&s.app).await;
    let now = s.app.clock_now();

    let created = s.ok(&[
        "invitations",
        "create",
        "--company",
        "acme-demo.example",
        "--email",
        "New.Hire@acme-demo.example",
        "--role",
        LICENSES,
        "--given-name",
        "Max",
        "--family-name",
        "Power",
        "--locale",
        "de",
        "--portal-url",
        "https://portal.example/start",
        "--json",
    ]);
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["email"], "new.hire@acme-demo.example");
    assert_eq!(created["company"], "acme-demo.example");
    assert_eq!(created["roles"], serde_json::json!([LICENSES]));
    assert_eq!(created["status"], "pending");
    assert_eq!(created["locale"], "de");
    assert!(created["invited_by"].as_str().unwrap().starts_with("cli:"));
    let expires = created["expires_at"].as_i64().unwrap();
    assert!(expires >= now + 7 * 24 * 3600 - 5, "{created}");

    // The link went through the outbox and was delivered (to the mail folder).
    let sent: Vec<(Option<i64>,)> =
        sqlx::query_as("SELECT sent_at FROM outbox WHERE recipient = $1")
            .bind("new.hire@acme-demo.example")
            .fetch_all(s.app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].0.is_some(), "delivered");
    assert_eq!(s.mails_with("/invitation?token="), 1);

    let listed = s.ok(&["invitations", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["expired"], false);
    let other = s.ok(&[
        "invitations",
        "list",
        "--company",
        "other-co.example",
        "--json",
    ]);
    assert!(other.as_array().unwrap().is_empty());

    // Refusals.
    let create = |email: &'static str, extra: &'static [&'static str]| {
        let mut args = vec![
            "invitations",
            "create",
            "--company",
            "acme-demo.example",
            "--email",
            email,
        ];
        args.extend_from_slice(extra);
        s.refused(&args)
    };
    let e = create("spy@other-co.example", &[]);
    assert!(
        e.contains("must belong to one of the company's domains (acme-demo.example)"),
        "{e}"
    );
    let e = create("someone@gmail.com", &[]);
    assert!(e.contains("free e-mail providers are not accepted"), "{e}");
    let e = create("ann.lee@acme-demo.example", &["--role", "root"]);
    assert!(e.contains("unknown role \"root\""), "{e}");
    let e = create("ann.lee@acme-demo.example", &["--role", "super_admin"]);
    assert!(e.contains("not by invitation"), "{e}");
    let e = create(
        "ann.lee@acme-demo.example",
        &["--portal-url", "javascript:alert(1)"],
    );
    assert!(
        e.contains("--portal-url: the portal address must be an absolute http(s) URL"),
        "{e}"
    );
    let e = create("ann.lee@acme-demo.example", &["--locale", "fr"]);
    assert!(e.contains("--locale fr"), "{e}");
    let e = s.refused(&[
        "invitations",
        "create",
        "--company",
        "nowhere.example",
        "--email",
        "x@nowhere.example",
    ]);
    assert!(
        e.contains("no company with the domain nowhere.example"),
        "{e}"
    );

    // Resend: a new link and expiry; revoke; then neither works.
    let resent = s.ok(&["invitations", "resend", &id, "--json"]);
    assert_eq!(resent["id"], id.as_str());
    assert!(resent["expires_at"].as_i64().unwrap() >= expires);
    let revoked = s.ok(&["invitations", "revoke", &id, "--json"]);
    assert_eq!(revoked["status"], "revoked");
    let e = s.refused(&["invitations", "revoke", &id]);
    assert!(e.contains("already accepted or revoked"), "{e}");
    let e = s.refused(&["invitations", "resend", &id]);
    assert!(e.contains("already accepted or revoked"), "{e}");
    for cmd in ["revoke", "resend"] {
        let e = s.refused(&["invitations", cmd, "no-such-id"]);
        assert!(e.contains("no invitation with the id no-such-id"), "{e}");
    }
    assert!(s
        .ok(&["invitations", "list", "--json"])
        .as_array()
        .unwrap()
        .is_empty());

    let events = s.audit(&["--company", "acme-demo.example"]);
    assert_eq!(
        actions(&events),
        [
            "invitation.created",
            "invitation.resent",
            "invitation.revoked"
        ]
    );
    assert!(events.iter().all(|e| e["subject"] == id.as_str()));
    let created = s.audit(&["--action", "invitation.created"]);
    assert_eq!(
        created[0]["details"]["roles"],
        serde_json::json!([LICENSES])
    );
}

#[tokio::test]
async fn company_domains_are_checked_owned_once_and_audited() {
    let s = setup().await;
    super_admin(&s.app, "boss").await;
    rival(&s.app).await;

    let listed = s.ok(&[
        "companies",
        "domains",
        "list",
        "--company",
        "acme-demo.example",
        "--json",
    ]);
    assert_eq!(listed["company"], "acme-demo.example");
    assert_eq!(listed["name"], "ACME Demo");
    assert_eq!(listed["domains"], serde_json::json!(["acme-demo.example"]));

    let added = s.ok(&[
        "companies",
        "domains",
        "add",
        " ACME-Labs.example ",
        "--company",
        "acme-demo.example",
        "--json",
    ]);
    assert_eq!(added["domain"], "acme-labs.example");
    assert_eq!(
        added["domains"],
        serde_json::json!(["acme-demo.example", "acme-labs.example"])
    );
    // The company is found by its added domain too, and addresses there can be invited.
    let listed = s.ok(&[
        "companies",
        "domains",
        "list",
        "--company",
        "acme-labs.example",
        "--json",
    ]);
    assert_eq!(listed["company"], "acme-demo.example");
    s.ok(&[
        "invitations",
        "create",
        "--company",
        "acme-demo.example",
        "--email",
        "jo.walsh@acme-labs.example",
        "--json",
    ]);

    let add = |domain: &str| {
        s.refused(&[
            "companies",
            "domains",
            "add",
            domain,
            "--company",
            "acme-demo.example",
        ])
    };
    let e = add("gmail.com");
    assert!(
        e.contains("gmail.com is refused: free e-mail provider"),
        "{e}"
    );
    let e = add("mailinator.com");
    assert!(e.contains("disposable e-mail domain"), "{e}");
    let e = add("not a domain");
    assert!(e.contains("not a domain: not a valid domain name"), "{e}");
    let e = add("other-co.example");
    assert!(
        e.contains("the domain other-co.example belongs to another company"),
        "{e}"
    );
    let e = add("acme-labs.example");
    assert!(
        e.contains("already has the domain acme-labs.example"),
        "{e}"
    );
    let e = s.refused(&[
        "companies",
        "domains",
        "add",
        "x.example",
        "--company",
        "nowhere.example",
    ]);
    assert!(
        e.contains("no company with the domain nowhere.example"),
        "{e}"
    );

    let remove = |domain: &str| {
        s.refused(&[
            "companies",
            "domains",
            "remove",
            domain,
            "--company",
            "acme-demo.example",
        ])
    };
    let e = remove("acme-demo.example");
    assert!(
        e.contains("acme-demo.example is the company's primary domain"),
        "{e}"
    );
    let e = remove("other-co.example");
    assert!(
        e.contains("the company has no domain other-co.example"),
        "{e}"
    );
    let removed = s.ok(&[
        "companies",
        "domains",
        "remove",
        "acme-labs.example",
        "--company",
        "acme-demo.example",
        "--json",
    ]);
    assert_eq!(removed["domain"], "acme-labs.example");
    assert_eq!(removed["domains"], serde_json::json!(["acme-demo.example"]));
    // The pending invitation to the removed domain was revoked with it.
    let pending = s.ok(&[
        "invitations",
        "list",
        "--company",
        "acme-demo.example",
        "--json",
    ]);
    assert_eq!(pending, serde_json::json!([]), "{pending}");
    let (status,): (String,) = sqlx::query_as("SELECT status FROM invitations WHERE email = $1")
        .bind("jo.walsh@acme-labs.example")
        .fetch_one(s.app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "revoked");
    let e = s.refused(&[
        "invitations",
        "create",
        "--company",
        "acme-demo.example",
        "--email",
        "kim.nolan@acme-labs.example",
    ]);
    assert!(
        e.contains("must belong to one of the company's domains"),
        "{e}"
    );

    let events = s.audit(&["--company", "acme-demo.example"]);
    assert_eq!(
        actions(&events),
        [
            "company.domain_added",
            "company.domain_removed",
            "invitation.created"
        ]
    );
    for action in ["company.domain_added", "company.domain_removed"] {
        let events = s.audit(&["--action", action]);
        assert_eq!(events.len(), 1, "{action}");
        assert_eq!(events[0]["details"]["domain"], "acme-labs.example");
        assert!(events[0]["actor"].as_str().unwrap().starts_with("cli:"));
    }
    let removed = s.audit(&["--action", "company.domain_removed"]);
    assert_eq!(removed[0]["details"]["invitations_revoked"], 1);
    assert!(s.audit(&["--company", "other-co.example"]).is_empty());
}

/// Statements of the CLI that read a whole growing table on purpose: (a fragment of
/// the statement, why).
const WHOLE_READS: &[(&str, &str)] = &[
    (
        "FROM companies ORDER BY name, domain",
        "the listings name each company by its domain: one row per customer company",
    ),
    (
        "FROM users WHERE removed_at IS NULL ORDER BY email",
        "`idp users list` without --company lists every account",
    ),
    (
        "FROM audit_events ORDER BY at DESC",
        "`idp audit list` without a filter: the newest --limit events, read from audit_events_at",
    ),
];

/// Like the request paths (query_plans.rs), every statement the operator commands run
/// is planned on the database: a filtered read of a growing table goes through an
/// index (`--user` and `--action` without `--company` included).
#[tokio::test]
async fn the_commands_read_growing_tables_through_indexes() {
    use crate::query_plans::{plan_problems, statements};
    let s = setup().await;
    super_admin(&s.app, "boss").await;
    let max = s.app.user_with(TestApp::acme_demo_spec("max")).await;
    let mut log = Vec::new();
    let max_email = "max@acme-demo.example";
    let company = ["--company", "acme-demo.example"];
    for (args, ok) in [
        (&["users", "list", "--json"][..], true),
        (&["users", "list", "--company", "acme-demo.example"], true),
        (&["users", "roles", max_email, "--add", LICENSES], true),
        (
            &[
                "users",
                "roles",
                "boss@acme-demo.example",
                "--remove",
                "super_admin",
            ],
            false,
        ),
        (&["users", "disable", max_email], true),
        (&["users", "enable", max_email], true),
        (
            &[
                "companies",
                "domains",
                "add",
                "acme-labs.example",
                company[0],
                company[1],
            ],
            true,
        ),
        (
            &[
                "companies",
                "domains",
                "add",
                "acme-labs.example",
                company[0],
                company[1],
            ],
            false,
        ),
        (
            &["companies", "domains", "list", company[0], company[1]],
            true,
        ),
        (
            &[
                "companies",
                "domains",
                "remove",
                "acme-labs.example",
                company[0],
                company[1],
            ],
            true,
        ),
        (
            &["invitations", "list", "--company", "acme-demo.example"],
            true,
        ),
        (&["invitations", "list"], true),
    ] {
        s.logged(args, ok, &mut log);
    }
    let created = s.logged(
        &[
            "invitations",
            "create",
            company[0],
            company[1],
            "--email",
            "ann.lee@acme-demo.example",
            "--json",
        ],
        true,
        &mut log,
    );
    let id = serde_json::from_str::<Value>(&created).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (args, ok) in [
        (&["invitations", "resend", id.as_str()][..], true),
        (&["invitations", "revoke", id.as_str()], true),
        (&["invitations", "revoke", "no-such-id"], false),
        (&["audit", "list"], true),
        (&["audit", "list", company[0], company[1]], true),
        (&["audit", "list", "--user", max_email], true),
        (&["audit", "list", "--user", max.id.as_str()], true),
        (&["audit", "list", "--action", "member.disabled"], true),
        (
            &[
                "audit",
                "list",
                company[0],
                company[1],
                "--user",
                max_email,
                "--action",
                "member.enabled",
            ],
            true,
        ),
        (&["users", "remove", max_email, "--yes"], true),
    ] {
        s.logged(args, ok, &mut log);
    }

    let collected = statements(&log);
    let expected = [
        "FROM company_domains d JOIN companies c",
        "UPDATE companies SET admin_seq",
        "INSERT INTO company_domains",
        "DELETE FROM company_domains",
        "FROM invitations WHERE company_id",
        "FROM audit_events WHERE (subject",
        "FROM audit_events WHERE action",
    ];
    for fragment in expected {
        assert!(
            collected.iter().any(|sql| sql.contains(fragment)),
            "not collected: {fragment}"
        );
    }
    let problems = plan_problems(&s.app.state.config.database_url, &collected, WHOLE_READS).await;
    assert!(
        problems.is_empty(),
        "{} problem(s) in {} statements:\n\n{}",
        problems.len(),
        collected.len(),
        problems.join("\n\n")
    );
}
