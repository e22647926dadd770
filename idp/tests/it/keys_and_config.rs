//! Keys at rest, the JWKS, discovery, security headers and configuration rules.

use reqwest::StatusCode;

use crate::harness::*;
use idp::config::Config;
use idp::crypto::kek::Kek;

/// The JWKS carries `Cache-Control: public, max-age=N` (configurable) and a strong
/// ETag that every process serving the same keys agrees on; `If-None-Match` with the
/// tag (weak or strong, in a list, or `*`) answers 304 without a body, any other tag
/// the document.
#[tokio::test]
async fn the_jwks_is_cacheable_and_revalidated_with_its_etag() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let get = |tag: Option<&str>| {
        let mut r = http.get(app.url("/jwks.json"));
        if let Some(tag) = tag {
            r = r.header("if-none-match", tag);
        }
        r.send()
    };
    let first = get(None).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["cache-control"], "public, max-age=300");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 40,
        "{etag}"
    );
    let body = first.bytes().await.unwrap();
    for tag in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".to_owned(),
    ] {
        let r = get(Some(&tag)).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{tag}");
        assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
        assert_eq!(r.headers()["cache-control"], "public, max-age=300");
        assert!(r.bytes().await.unwrap().is_empty());
    }
    for tag in ["\"other\"", "garbage", ""] {
        let r = get(Some(tag)).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{tag}");
        assert_eq!(r.bytes().await.unwrap(), body);
    }
    // Another process on the same database: the same keys, the same tag.
    let second = TestApp::spawn_sharing(&app).await;
    let r = reqwest::get(second.url("/jwks.json")).await.unwrap();
    assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);

    let short = TestApp::spawn_with(|c| c.keys.jwks_max_age_seconds = 60).await;
    let r = reqwest::get(short.url("/jwks.json")).await.unwrap();
    assert_eq!(r.headers()["cache-control"], "public, max-age=60");
    let mut bad = Config::default();
    bad.keys.jwks_max_age_seconds = 86_401;
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("keys.jwks_max_age_seconds"), "{e}");
}

#[tokio::test]
async fn signing_keys_are_encrypted_at_rest_and_published_without_private_parts() {
    let app = TestApp::spawn().await;
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT kid, alg, private_jwe FROM signing_keys")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), 3);
    for (_, _, jwe) in &rows {
        assert_eq!(jwe.split('.').count(), 5, "a compact JWE");
        assert!(!jwe.contains("\"d\""));
    }
    let r = reqwest::get(app.url("/jwks.json")).await.unwrap();
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let jwks: serde_json::Value = r.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let mut kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    kids.sort_unstable();
    kids.dedup();
    assert_eq!(kids.len(), 3, "unique kids");
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none(), "{private} must not be published");
        }
        assert_eq!(k["use"], "sig");
    }
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert!(algs.contains(&"RS256") && algs.contains(&"ES256") && algs.contains(&"EdDSA"));
}

#[tokio::test]
async fn the_same_keys_survive_a_restart_and_a_wrong_kek_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        database_url: format!("sqlite://{}/idp.sqlite3", dir.path().display()),
        ..Config::default()
    };
    config.keys.kek_file = dir.path().join("keys/kek");
    let clock = idp::clock::MockClock::starting_now();
    let first = idp::AppState::build(config.clone(), clock.clone())
        .await
        .unwrap();
    let jwks = first.keys.current().jwks_json();
    drop(first);
    let second = idp::AppState::build(config.clone(), clock.clone())
        .await
        .unwrap();
    assert_eq!(second.keys.current().jwks_json(), jwks);
    drop(second);
    // A wrong KEK: a clear error, and no new key in its place.
    let mut wrong = config.clone();
    wrong.keys.kek = Some(idp::crypto::random_token(32));
    let err = idp::AppState::build(wrong, clock.clone())
        .await
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("sealed under another key-encryption key"),
        "{err:#}"
    );
    // A missing KEK file: refused, never a fresh KEK beside the sealed keys.
    std::fs::remove_file(&config.keys.kek_file).unwrap();
    let err = idp::AppState::build(config.clone(), clock)
        .await
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("is missing"), "{err:#}");
    assert!(!config.keys.kek_file.exists(), "no new KEK was created");
}

#[cfg(unix)]
#[test]
fn the_kek_file_is_created_private_and_loose_permissions_are_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys").join("kek");
    Kek::load_or_create(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    Kek::load_or_create(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Kek::load_or_create(&path).unwrap_err();
    assert!(format!("{err:#}").contains("chmod 600"));
}

#[tokio::test]
async fn discovery_document_describes_the_provider() {
    let app = TestApp::spawn().await;
    let r = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let d: serde_json::Value = r.json().await.unwrap();
    assert_eq!(d["issuer"], app.base);
    for (key, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks.json"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
    ] {
        assert_eq!(d[key], app.url(path));
    }
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    let algs = d["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(!algs.iter().any(|a| a == "none"));
    // The issuer comes from configuration, never from the Host header.
    let r = reqwest::Client::new()
        .get(app.url("/.well-known/openid-configuration"))
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap();
    let d: serde_json::Value = r.json().await.unwrap();
    assert_eq!(d["issuer"], app.base);
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/", "/login", "/nowhere", "/authorize"] {
        let r = reqwest::get(app.url(path)).await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}"
        );
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
    }
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[test]
fn configuration_rules() {
    let ok = Config::default();
    ok.validate().unwrap();
    let cases: Vec<fn(&mut Config)> = vec![
        |c| c.tokens.code_seconds = 61,
        |c| c.tokens.code_seconds = 0,
        |c| c.passwords.memory_kib = 4096,
        |c| c.passwords.iterations = 1,
        |c| c.issuer = "http://idp.example/".into(),
        |c| c.issuer = "ftp://idp.example".into(),
        |c| c.issuer = "https://idp.example?x=1".into(),
        |c| c.session.idle_seconds = 0,
        |c| c.tokens.refresh_token_reuse_grace_seconds = 3600,
    ];
    for change in cases {
        let mut c = Config::default();
        change(&mut c);
        assert!(c.validate().is_err(), "{c:?}");
    }
}

#[test]
fn a_toml_file_overrides_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idp.toml");
    std::fs::write(
        &path,
        "issuer = \"https://login.example.com\"\n[tokens]\naccess_token_seconds = 300\naccess_token_alg = \"ES256\"\n",
    )
    .unwrap();
    let c = Config::load(Some(&path)).unwrap();
    assert_eq!(c.issuer, "https://login.example.com");
    assert_eq!(c.tokens.access_token_seconds, 300);
    assert_eq!(
        c.tokens.access_token_alg,
        idp::crypto::keys::SigningAlg::ES256
    );
    assert_eq!(
        c.tokens.code_seconds, 60,
        "untouched keys keep their defaults"
    );
    std::fs::write(&path, "[tokens]\ncode_seconds = \"soon\"\n").unwrap();
    assert!(Config::load(Some(&path)).is_err());
    assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_err());
}

#[tokio::test]
async fn browser_applications_may_call_the_token_userinfo_and_discovery_endpoints() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    for path in [
        "/token",
        "/userinfo",
        "/.well-known/openid-configuration",
        "/jwks.json",
        "/revoke",
    ] {
        let r = http
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", "https://spa.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{path}");
        assert!(
            r.headers()
                .get("access-control-allow-credentials")
                .is_none(),
            "no cookies"
        );
    }
    // Pages and the authorization endpoint are not for cross-origin scripts.
    let r = http
        .get(app.url("/login"))
        .header("origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_second_provider_process_on_the_same_database_serves_the_same_issuer_and_keys() {
    let app = TestApp::spawn().await;
    let other = crate::process::ProviderProcess::spawn(&app, &[]).await;
    for path in ["/.well-known/openid-configuration", "/jwks.json"] {
        let here: serde_json::Value = reqwest::get(app.url(path))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let there: serde_json::Value = reqwest::get(other.url(path))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(here, there, "{path}");
    }
    // A code issued by the in-process provider is redeemed by the other process.
    let client = app.client().await;
    app.user("replica").await;
    let (code, verifier) = code_for(&app, &client, "replica").await;
    let r = reqwest::Client::new()
        .post(other.url("/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}
