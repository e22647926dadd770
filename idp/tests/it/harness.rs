//! Test harness: spawn the provider, register clients and users, drive a "browser".

use std::sync::Arc;

use idp::account::users::{self, ClientSpec, UserSpec};
use idp::clock::MockClock;
use idp::config::Config;
use idp::AppState;
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use sqlx::Connection as _;
use tempfile::TempDir;

pub const PASSWORD: &str = "correct horse battery staple";
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

/// A running provider.
pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub clock: Arc<MockClock>,
    _dir: TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Which database backend the tests run on.
pub fn backend() -> String {
    std::env::var("IDP_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into())
}

pub async fn database_url(dir: &TempDir) -> String {
    if backend() == "postgres" {
        let admin_url = std::env::var("IDP_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("idp_t_{}", idp::crypto::random_id());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
        format!("{base}/{name}")
    } else {
        format!("sqlite://{}/idp.sqlite3", dir.path().display())
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut config = Config {
            issuer: format!("http://127.0.0.1:{port}"),
            database_url: database_url(&dir).await,
            ..Config::default()
        };
        config.keys.kek = Some(idp::crypto::random_token(32));
        config.keys.kek_file = dir.path().join("kek");
        // Mail without an SMTP server goes to the test's own folder, never the repository.
        config.mail.outbox_dir = dir.path().join("outbox");
        configure(&mut config);
        config.validate().unwrap();
        let clock = MockClock::starting_now();
        let state = AppState::build(config, clock.clone()).await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server_state = state.clone();
        tokio::spawn(async move {
            idp::serve(listener, server_state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            base: format!("http://127.0.0.1:{port}"),
            state,
            clock,
            _dir: dir,
            _shutdown: tx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A second provider process on the same database (and key-encryption key).
    pub async fn spawn_sharing(other: &TestApp) -> Self {
        let database_url = other.state.config.database_url.clone();
        let kek = other.state.config.keys.kek.clone();
        let smtp = other.state.config.mail.smtp_url.clone();
        Self::spawn_with(move |c| {
            c.database_url = database_url;
            c.keys.kek = kek;
            c.mail.smtp_url = smtp;
        })
        .await
    }

    /// A provider that mails through `smtp_url` and polls its outbox every 50 ms.
    pub async fn spawn_with_smtp(smtp_url: &str) -> Self {
        let url = smtp_url.to_owned();
        Self::spawn_with(move |c| {
            c.mail.smtp_url = Some(url);
            c.mail.poll_interval_ms = 50;
        })
        .await
    }

    /// Runs the `idp` binary against this provider's database and mail settings.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let c = &self.state.config;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_idp"));
        for (k, _) in std::env::vars() {
            if k.starts_with("IDP_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(args)
            .env("IDP_ISSUER", &c.issuer)
            .env("IDP_DATABASE_URL", &c.database_url)
            .env("IDP_KEYS__KEK", c.keys.kek.as_deref().unwrap())
            .env("IDP_LOG__FILTER", "warn");
        if let Some(smtp) = &c.mail.smtp_url {
            cmd.env("IDP_MAIL__SMTP_URL", smtp);
        }
        cmd.output().unwrap()
    }

    /// Registers a confidential client (client_secret_basic) with REDIRECT_URI.
    pub async fn client(&self) -> TestClient {
        self.client_with(ClientSpec::default()).await
    }

    pub async fn client_with(&self, mut spec: ClientSpec) -> TestClient {
        if spec.redirect_uris.is_empty() {
            spec.redirect_uris = vec![REDIRECT_URI.to_owned()];
        }
        let registered = users::create_client(&self.state.db, spec, self.clock_now())
            .await
            .unwrap();
        TestClient {
            id: registered.row.client_id,
            secret: registered.secret,
            redirect_uri: serde_json::from_str::<Vec<String>>(&registered.row.redirect_uris)
                .unwrap()[0]
                .clone(),
        }
    }

    /// Creates a user with PASSWORD.
    pub async fn user(&self, username: &str) -> idp::db::users::User {
        users::create_user(
            &self.state.db,
            &self.state.passwords,
            UserSpec {
                username: username.into(),
                email: format!("{username}@example.com"),
                given_name: "Ada".into(),
                family_name: "Lovelace".into(),
                password: Some(PASSWORD.into()),
                locale: Some("en".into()),
                zoneinfo: Some("Europe/Berlin".into()),
                ..UserSpec::default()
            },
            self.clock_now(),
        )
        .await
        .unwrap()
        .user
    }

    pub fn clock_now(&self) -> i64 {
        use idp::clock::Clock as _;
        self.clock.now()
    }

    /// Counts rows of a table (to prove bad input changed nothing).
    pub async fn count(&self, table: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.state.db.pool())
            .await
            .unwrap();
        n
    }

    /// A snapshot of every table's row count.
    pub async fn counts(&self) -> Vec<i64> {
        let mut out = Vec::new();
        for t in [
            "users",
            "clients",
            "signing_keys",
            "browser_sessions",
            "authorization_requests",
            "grants",
            "refresh_tokens",
            "access_tokens",
        ] {
            out.push(self.count(t).await);
        }
        out
    }
}

#[derive(Clone, Debug)]
pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

/// PKCE pair (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier = idp::crypto::random_token(32);
    let challenge = idp::crypto::b64url(&idp::crypto::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

/// An authorization request URL with sensible defaults; `extra` overrides or adds.
pub fn authorize_url(
    app: &TestApp,
    client: &TestClient,
    challenge: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut params: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), client.id.clone()),
        ("redirect_uri".into(), client.redirect_uri.clone()),
        ("scope".into(), "openid profile email".into()),
        ("state".into(), "st-123".into()),
        ("nonce".into(), "n-456".into()),
        ("code_challenge".into(), challenge.into()),
        ("code_challenge_method".into(), "S256".into()),
    ];
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        if !v.is_empty() {
            params.push(((*k).into(), (*v).into()));
        }
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    app.url(&format!("/authorize?{query}"))
}

/// A cookie-keeping HTTP client that does not follow redirects.
pub struct Browser {
    pub http: reqwest::Client,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// GET, returning (status, Location header, body).
    pub async fn get(&self, url: &str) -> (StatusCode, Option<String>, String) {
        let r = self.http.get(url).send().await.unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        (status, location, r.text().await.unwrap())
    }

    /// Starts an authorization request; returns the login page URL it redirects to.
    pub async fn start(&self, app: &TestApp, url: &str) -> String {
        let (status, location, body) = self.get(url).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "expected a redirect to login: {body}"
        );
        let location = location.unwrap();
        assert!(location.starts_with("/login?request_id="), "{location}");
        app.url(&location)
    }

    /// Submits the login form at `login_url`; returns (status, Location, body).
    pub async fn submit_login(
        &self,
        login_url: &str,
        username: &str,
        password: &str,
    ) -> (StatusCode, Option<String>, String) {
        let (status, _, page) = self.get(login_url).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let csrf = hidden(&page, "csrf_token").expect("csrf token on the login page");
        let mut form = vec![
            ("csrf_token", csrf),
            ("username", username.into()),
            ("password", password.into()),
        ];
        if let Some(id) = hidden(&page, "request_id") {
            form.push(("request_id", id));
        }
        let base = login_url.split("/login").next().unwrap();
        let r = self
            .http
            .post(format!("{base}/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        (status, location, r.text().await.unwrap())
    }

    /// GETs `page`, then POSTs `fields` plus the page's CSRF token to `action`;
    /// returns (status, Location, body).
    pub async fn submit_form(
        &self,
        app: &TestApp,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        let (status, _, body) = self.get(&app.url(page)).await;
        assert!(status.is_success(), "{page}: {status} {body}");
        let csrf = hidden(&body, "csrf_token").expect("a CSRF token on the page");
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", &csrf)];
        form.extend_from_slice(fields);
        let r = self
            .http
            .post(app.url(action))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        (status, location, r.text().await.unwrap())
    }

    /// Logs in through the form and follows to the client's callback URL.
    pub async fn login(&self, app: &TestApp, authorize: &str, username: &str) -> url::Url {
        let login = self.start(app, authorize).await;
        let (status, location, body) = self.submit_login(&login, username, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let resume = app.url(&location.unwrap());
        self.follow_to_callback(&resume).await
    }

    /// GET `url` and expect a 302 to the client's redirect_uri.
    pub async fn follow_to_callback(&self, url: &str) -> url::Url {
        let (status, location, body) = self.get(url).await;
        assert_eq!(
            status,
            StatusCode::FOUND,
            "expected the authorization response: {body}"
        );
        url::Url::parse(&location.unwrap()).unwrap()
    }
}

/// The value of a hidden input on a page.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

/// A query parameter of a URL.
pub fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// POSTs a form to the token endpoint with client_secret_basic (or client_id for
/// public clients); returns (status, JSON body).
pub async fn token_request(
    app: &TestApp,
    client: &TestClient,
    form: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    let http = reqwest::Client::new();
    let mut req = http.post(app.url("/token"));
    let mut form: Vec<(&str, &str)> = form.to_vec();
    match &client.secret {
        Some(secret) => req = req.basic_auth(&client.id, Some(secret)),
        None => form.push(("client_id", &client.id)),
    }
    let r = req.form(&form).send().await.unwrap();
    let status = r.status();
    let body = r.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// The code from a fresh login of `username` through `client`; returns (code, verifier).
pub async fn code_for(app: &TestApp, client: &TestClient, username: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let browser = Browser::new();
    let callback = browser
        .login(app, &authorize_url(app, client, &challenge, &[]), username)
        .await;
    (param(&callback, "code").unwrap(), verifier)
}

/// Exchanges a code; returns (status, JSON body).
pub async fn exchange(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: &str,
) -> (StatusCode, serde_json::Value) {
    token_request(
        app,
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &client.redirect_uri),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Decodes a JWT's header and claims without verifying (the tests verify elsewhere).
pub fn jwt_parts(token: &str) -> (serde_json::Value, serde_json::Value) {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let dec = |p: &str| -> serde_json::Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .unwrap(),
        )
        .unwrap()
    };
    let header = dec(parts.next().unwrap());
    let claims = dec(parts.next().unwrap());
    (header, claims)
}
