//! Test harness: the shared one (`idp::testing`: the provider, a fresh database,
//! users, clients, a "browser"), plus the provider's own flows and requests.

pub use idp::testing::*;
use reqwest::StatusCode;

/// Runs the `idp` binary against a provider's database and mail settings.
pub(crate) trait Cli {
    /// The binary's output for `args`.
    fn cli(&self, args: &[&str]) -> std::process::Output {
        self.cli_env(args, &[])
    }

    /// The binary's output for `args` with `env` added (e.g. a log filter).
    fn cli_env(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output;
}

impl Cli for TestApp {
    fn cli_env(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
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
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
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

/// The provider's own browser flows: authorization request, login form, forms.
pub(crate) trait Flows {
    /// Starts an authorization request; returns the login page URL it redirects to.
    async fn start(&self, app: &TestApp, url: &str) -> String;
    /// GETs `page`, then POSTs `fields` plus the page's CSRF token to `action`.
    async fn submit_form(
        &self,
        app: &TestApp,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Page;
    /// Logs in through the form and follows to the client's callback URL.
    async fn login(&self, app: &TestApp, authorize: &str, username: &str) -> url::Url;
    /// GET `url` and expect a 302 to the client's redirect_uri.
    async fn follow_to_callback(&self, url: &str) -> url::Url;
}

impl Flows for Browser {
    async fn start(&self, app: &TestApp, url: &str) -> String {
        let Page {
            status,
            location,
            body,
            ..
        } = self.get(url).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "expected a redirect to login: {body}"
        );
        let location = location.unwrap();
        assert!(location.starts_with("/login?request_id="), "{location}");
        app.url(&location)
    }

    async fn submit_form(
        &self,
        app: &TestApp,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Page {
        let Page { status, body, .. } = self.get(&app.url(page)).await;
        assert!(status.is_success(), "{page}: {status} {body}");
        let csrf = hidden(&body, "csrf_token").expect("a CSRF token on the page");
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", &csrf)];
        form.extend_from_slice(fields);
        self.post(&app.url(action), &form).await
    }

    async fn login(&self, app: &TestApp, authorize: &str, username: &str) -> url::Url {
        let login = self.start(app, authorize).await;
        let Page {
            status,
            location,
            body,
            ..
        } = self.submit_login(&login, username, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let resume = app.url(&location.unwrap());
        self.follow_to_callback(&resume).await
    }

    async fn follow_to_callback(&self, url: &str) -> url::Url {
        let Page {
            status,
            location,
            body,
            ..
        } = self.get(url).await;
        assert_eq!(
            status,
            StatusCode::FOUND,
            "expected the authorization response: {body}"
        );
        url::Url::parse(&location.unwrap()).unwrap()
    }
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

/// UserInfo's answer to a GET with `access_token` as bearer token.
pub async fn userinfo_get(app: &TestApp, access_token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

/// The status of [`userinfo_get`]'s answer.
pub async fn userinfo_status(app: &TestApp, access_token: &str) -> StatusCode {
    userinfo_get(app, access_token).await.status()
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
