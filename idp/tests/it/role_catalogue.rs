//! The role catalogue (`[[roles]]`): its defaults, the configuration's refusals, and
//! the command line (`idp roles list`, `idp users create --role`).

use idp::config::{Config, RoleDef, Texts};

use crate::harness::*;

fn names(config: &Config) -> Vec<&str> {
    config.roles.iter().map(|r| r.name.as_str()).collect()
}

#[test]
fn without_roles_the_catalogue_is_the_demo_portals_roles() {
    let c = Config::default();
    c.validate().unwrap();
    assert_eq!(
        names(&c),
        [
            "customer-portal:licenses",
            "customer-portal:support-cases",
            "app-portal:apps.install"
        ]
    );
    let licenses = c.role("customer-portal:licenses").unwrap();
    assert_eq!(licenses.clients, ["customer-portal"]);
    assert_eq!(licenses.label.get("de"), "Lizenzen");
    assert_eq!(licenses.label.get("en"), "Licenses");
    assert_eq!(
        c.role("customer-portal:support-cases").unwrap().label.de,
        "Supportfälle"
    );
    let install = c.role("app-portal:apps.install").unwrap();
    assert_eq!(install.clients, ["app-portal"]);
    assert_eq!(install.label.get("de"), "Apps installieren");
    assert!(c.role("super_admin").is_none(), "built in, not catalogued");
}

/// Each refused catalogue, with what the error must name.
#[test]
fn the_catalogue_refuses_bad_roles_naming_role_and_field() {
    let role = |name: &str| RoleDef {
        name: name.into(),
        clients: vec!["customer-portal".into()],
        label: Texts::new("Label", "Beschriftung"),
        description: Texts::new("Description", "Beschreibung"),
    };
    let cases: Vec<(Vec<RoleDef>, &[&str])> = vec![
        (vec![role("")], &["roles[0]", "a-z 0-9 : . _ -"]),
        (vec![role("Licenses")], &["\"Licenses\"", "a-z 0-9"]),
        (vec![role("has space")], &["\"has space\"", "a-z 0-9"]),
        (vec![role(&"a".repeat(101))], &["roles[0]", "1 to 100"]),
        (vec![role("super_admin")], &["\"super_admin\"", "built in"]),
        (
            vec![role("x:a"), role("x:b"), role("x:a")],
            &["roles[2]", "\"x:a\"", "unique"],
        ),
        (
            vec![RoleDef {
                label: Texts::new("", "Lizenzen"),
                ..role("x:a")
            }],
            &["\"x:a\"", "label.en"],
        ),
        (
            vec![RoleDef {
                label: Texts::new("Licenses", " "),
                ..role("x:a")
            }],
            &["\"x:a\"", "label.de"],
        ),
        (
            vec![RoleDef {
                description: Texts::new("", "d"),
                ..role("x:a")
            }],
            &["\"x:a\"", "description.en"],
        ),
        (
            vec![RoleDef {
                description: Texts::new("d", ""),
                ..role("x:a")
            }],
            &["\"x:a\"", "description.de"],
        ),
        (
            vec![RoleDef {
                clients: Vec::new(),
                ..role("x:a")
            }],
            &["\"x:a\"", "clients", "at least one client_id"],
        ),
        (
            vec![RoleDef {
                clients: vec!["".into()],
                ..role("x:a")
            }],
            &["\"x:a\"", "clients", "empty"],
        ),
    ];
    for (roles, expected) in cases {
        let c = Config {
            roles: roles.clone(),
            ..Config::default()
        };
        let error = format!("{:#}", c.validate().unwrap_err());
        for part in expected {
            assert!(
                error.contains(part),
                "{part:?} not in {error:?} ({roles:?})"
            );
        }
    }
    // What is allowed: the full character set, 100 bytes, an empty catalogue.
    let ok = [role("a-z.0_9:x"), role(&"b".repeat(100))];
    Config {
        roles: ok.to_vec(),
        ..Config::default()
    }
    .validate()
    .unwrap();
    Config {
        roles: Vec::new(),
        ..Config::default()
    }
    .validate()
    .unwrap();
}

#[test]
fn roles_in_the_file_replace_the_default_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idp.toml");
    std::fs::write(
        &path,
        r#"
[[roles]]
name = "billing:invoices"
clients = ["billing", "customer-portal"]
label = { en = "Invoices", de = "Rechnungen" }
description = { en = "Reads invoices", de = "Liest Rechnungen" }
"#,
    )
    .unwrap();
    let c = Config::load(Some(&path)).unwrap();
    assert_eq!(names(&c), ["billing:invoices"]);
    let invoices = c.role("billing:invoices").unwrap();
    assert!(invoices.releases_to("billing") && invoices.releases_to("customer-portal"));
    assert!(!invoices.releases_to("app-portal"));

    // A refused role stops loading, with the role and field in the message.
    std::fs::write(
        &path,
        "[[roles]]\nname = \"billing:invoices\"\nclients = [\"billing\"]\nlabel = { en = \"Invoices\" }\n",
    )
    .unwrap();
    let error = format!("{:#}", Config::load(Some(&path)).unwrap_err());
    assert!(
        error.contains("\"billing:invoices\"") && error.contains("label.de"),
        "{error}"
    );
}

#[tokio::test]
async fn roles_list_prints_super_admin_and_the_catalogue() {
    let app = TestApp::spawn().await;
    let out = app.cli(&["roles", "list", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = listed.as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "super_admin",
            "customer-portal:licenses",
            "customer-portal:support-cases",
            "app-portal:apps.install"
        ]
    );
    assert_eq!(rows[0]["built_in"], true);
    assert_eq!(rows[0]["clients"], serde_json::json!(["*"]));
    assert_eq!(rows[0]["label"]["en"], "Super Admin");
    assert_eq!(rows[1]["built_in"], false);
    assert_eq!(rows[1]["clients"], serde_json::json!(["customer-portal"]));
    assert_eq!(rows[1]["label"]["de"], "Lizenzen");
    assert!(!rows[1]["description"]["en"].as_str().unwrap().is_empty());

    let out = app.cli(&["roles", "list"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("super_admin (built in)\n  clients:     *\n"),
        "{text}"
    );
    assert!(text.contains("app-portal:apps.install\n  clients:     app-portal\n"));
    assert!(text.contains("Install apps | Apps installieren"), "{text}");
}

#[tokio::test]
async fn users_create_refuses_a_role_outside_the_catalogue() {
    let app = TestApp::spawn().await;
    let create = |username: &str, role: &str| {
        app.cli(&[
            "users",
            "create",
            "--username",
            username,
            "--email",
            &format!("{username}@acme-demo.example"),
            "--company",
            "ACME Demo",
            "--role",
            role,
            "--json",
        ])
    };
    let out = create("eve", "customer-portal:billing");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("customer-portal:billing")
            && stderr.contains("not a role of the catalogue"),
        "{stderr}"
    );
    assert_eq!(app.count("users").await, 0, "nothing stored");

    for (username, role) in [("ann", "super_admin"), ("bob", "customer-portal:licenses")] {
        let out = create(username, role);
        assert!(out.status.success(), "{role}: {out:?}");
    }
    assert_eq!(app.count("users").await, 2);
}

#[test]
fn invitation_settings_outside_their_limits_are_refused() {
    for (ttl, per_hour, message) in [
        (3599, 30, "invitations.ttl_seconds"),
        (30 * 24 * 3600 + 1, 30, "invitations.ttl_seconds"),
        (3600, 0, "invitations.max_per_hour"),
        (3600, 1001, "invitations.max_per_hour"),
    ] {
        let mut c = Config::default();
        c.invitations.ttl_seconds = ttl;
        c.invitations.max_per_hour = per_hour;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains(message), "{ttl}/{per_hour}: {e}");
    }
    let mut c = Config::default();
    c.invitations.ttl_seconds = 3600;
    c.invitations.max_per_hour = 1000;
    c.validate().unwrap();
}
