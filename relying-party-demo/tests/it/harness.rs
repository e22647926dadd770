//! Test harness: the provider, the two portals, users, and a "browser".

use std::sync::Arc;

use idp::account::users::{self, ClientSpec, UserSpec};
use idp::config::Config;
use idp::AppState;
use relying_party_demo::clock::MockClock;
use relying_party_demo::oidc::ProviderMetadataDoc;
use relying_party_demo::portal::http_client;
use relying_party_demo::{Portal, PortalConfig, PortalKind};
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use sqlx::Connection as _;
use tempfile::TempDir;
use url::Url;

pub const PASSWORD: &str = "correct horse battery staple";
pub const SCOPE: &str = "openid profile email company roles support offline_access";

/// Which database backend the tests run on.
fn backend() -> String {
    std::env::var("IDP_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into())
}

async fn database_url(dir: &TempDir) -> String {
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

/// A running provider.
pub struct Provider {
    pub base: String,
    pub state: AppState,
    _dir: TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Provider {
    pub async fn spawn() -> Self {
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
        config.mail.outbox_dir = dir.path().join("outbox");
        config.validate().unwrap();
        let state = AppState::build(config, idp::clock::MockClock::starting_now())
            .await
            .unwrap();
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
            _dir: dir,
            _shutdown: tx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn now(&self) -> i64 {
        self.state.clock.now()
    }

    /// Creates `username` at `<username>@<domain>` in the company `company` (created
    /// by its domain if new) with the role super_admin; returns the user's sub.
    pub async fn user(&self, username: &str, domain: &str, company: &str) -> String {
        users::create_user(
            &self.state.db,
            &self.state.passwords,
            UserSpec {
                username: username.into(),
                email: format!("{username}@{domain}"),
                given_name: "Ada".into(),
                family_name: "Lovelace".into(),
                password: Some(PASSWORD.into()),
                locale: Some("en".into()),
                company: Some(company.into()),
                roles: vec![idp::db::users::Role::SuperAdmin],
                ..UserSpec::default()
            },
            self.now(),
        )
        .await
        .unwrap()
        .user
        .id
    }

    /// Sets a company's support level and region.
    pub async fn support(&self, domain: &str, level: &str, region: Option<&str>) {
        idp::account::support::set_company_support(&self.state, domain, level, region, "test")
            .await
            .unwrap();
    }

    /// The user's support PIN as the provider knows it.
    pub async fn pin(&self, sub: &str) -> String {
        idp::account::support::pin(&self.state, sub).await.unwrap()
    }

    /// The provider's browser sessions of `sub`: (sid, ended).
    pub async fn sessions(&self, sub: &str) -> Vec<(String, bool)> {
        let rows: Vec<(String, Option<i64>)> =
            sqlx::query_as("SELECT sid, ended_at FROM browser_sessions WHERE user_id = $1")
                .bind(sub)
                .fetch_all(self.state.db.pool())
                .await
                .unwrap();
        rows.into_iter()
            .map(|(sid, e)| (sid, e.is_some()))
            .collect()
    }
}

/// A running portal.
pub struct RunningPortal {
    pub portal: Portal,
    pub base: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl RunningPortal {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// Registers a client for a portal at `base` and starts the portal on `listener`;
/// `adjust` may change the discovered metadata (e.g. the token endpoint).
pub async fn start_portal(
    idp: &Provider,
    kind: PortalKind,
    client_id: &str,
    clock: Arc<MockClock>,
    adjust: impl FnOnce(&mut ProviderMetadataDoc),
) -> RunningPortal {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let registered = users::create_client(
        &idp.state.db,
        ClientSpec {
            name: kind.display_name().into(),
            client_id: Some(client_id.into()),
            redirect_uris: vec![format!("{base}/callback")],
            post_logout_redirect_uris: vec![format!("{base}/")],
            backchannel_logout_uri: Some(format!("{base}/backchannel-logout")),
            scope: SCOPE.into(),
            ..ClientSpec::default()
        },
        idp.now(),
    )
    .await
    .unwrap();
    let config = PortalConfig::new(
        kind,
        &idp.base,
        Url::parse(&base).unwrap(),
        client_id,
        &registered.secret.unwrap(),
    );
    let http = http_client().unwrap();
    let mut metadata = relying_party_demo::oidc::discover(&idp.base, &http)
        .await
        .unwrap();
    adjust(&mut metadata);
    let portal = Portal::with_metadata(config, metadata, http, clock).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = portal.clone();
    tokio::spawn(async move {
        relying_party_demo::serve(listener, served, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    RunningPortal {
        portal,
        base,
        _shutdown: tx,
    }
}

/// The provider with both portals.
pub struct Env {
    pub idp: Provider,
    pub customer: RunningPortal,
    pub app: RunningPortal,
    /// The portals' clock.
    pub clock: Arc<MockClock>,
}

impl Env {
    pub async fn spawn() -> Self {
        let idp = Provider::spawn().await;
        let clock = MockClock::starting_now();
        let customer = start_portal(
            &idp,
            PortalKind::CustomerPortal,
            "customer-portal",
            clock.clone(),
            |_| {},
        )
        .await;
        let app = start_portal(
            &idp,
            PortalKind::AppPortal,
            "app-portal",
            clock.clone(),
            |_| {},
        )
        .await;
        Self {
            idp,
            customer,
            app,
            clock,
        }
    }
}

/// One response: status, Location, body.
pub struct Page {
    pub url: String,
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
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

    async fn page(url: &str, r: reqwest::Response) -> Page {
        let status = r.status();
        let location = r
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .map(|l| Url::parse(url).unwrap().join(&l).unwrap().to_string());
        let set_cookies = r
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        Page {
            url: url.to_owned(),
            status,
            location,
            set_cookies,
            body: r.text().await.unwrap(),
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        Self::page(url, self.http.get(url).send().await.unwrap()).await
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        Self::page(url, self.http.post(url).form(form).send().await.unwrap()).await
    }

    /// Follows redirects from `page` by hand; returns every page seen, the last one
    /// not a redirect.
    pub async fn follow(&self, first: Page) -> Vec<Page> {
        let mut pages = vec![first];
        for _ in 0..10 {
            let last = pages.last().unwrap();
            if !last.status.is_redirection() {
                return pages;
            }
            let next = last.location.clone().expect("a redirect has a Location");
            pages.push(self.get(&next).await);
        }
        panic!(
            "too many redirects: {:?}",
            pages.iter().map(|p| &p.url).collect::<Vec<_>>()
        );
    }

    /// Follows `authorize` (the authorization request URL, possibly altered), signs
    /// in if the provider shows its form, and returns the callback URL without
    /// visiting it.
    pub async fn login_until_callback(
        &self,
        portal: &RunningPortal,
        authorize: &str,
        username: &str,
    ) -> String {
        let stop = portal.url("/callback");
        if authorize.starts_with(&stop) {
            return authorize.to_owned();
        }
        let mut page = self.get(authorize).await;
        for _ in 0..10 {
            if page.status == StatusCode::OK && page.url.contains("/login") {
                let csrf = hidden(&page.body, "csrf_token").expect("csrf_token on the login page");
                let request_id =
                    hidden(&page.body, "request_id").expect("request_id on the login page");
                let action = Url::parse(&page.url).unwrap().join("/login").unwrap();
                page = self
                    .post(
                        action.as_str(),
                        &[
                            ("username", username),
                            ("password", PASSWORD),
                            ("csrf_token", &csrf),
                            ("request_id", &request_id),
                        ],
                    )
                    .await;
                continue;
            }
            let next = page
                .location
                .clone()
                .unwrap_or_else(|| panic!("{} answered {}: {}", page.url, page.status, page.body));
            if next.starts_with(&stop) {
                return next;
            }
            page = self.get(&next).await;
        }
        panic!("too many redirects before {stop}");
    }

    /// GETs the portal's /login and returns the authorization request URL it
    /// redirects to (the attempt cookie is set).
    pub async fn start(&self, portal: &RunningPortal) -> String {
        let page = self.get(&portal.url("/login")).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        page.location.unwrap()
    }

    /// GETs `url` and follows redirects.
    pub async fn visit(&self, url: &str) -> Vec<Page> {
        let first = self.get(url).await;
        self.follow(first).await
    }

    /// Fills the provider's login form shown on `login` and follows the redirects.
    pub async fn submit_login(&self, login: &Page, username: &str) -> Vec<Page> {
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        assert!(
            login.url.contains("/login"),
            "not a login page: {}",
            login.url
        );
        let csrf = hidden(&login.body, "csrf_token").expect("csrf_token on the login page");
        let request_id = hidden(&login.body, "request_id").expect("request_id on the login page");
        let action = Url::parse(&login.url).unwrap().join("/login").unwrap();
        let posted = self
            .post(
                action.as_str(),
                &[
                    ("username", username),
                    ("password", PASSWORD),
                    ("csrf_token", &csrf),
                    ("request_id", &request_id),
                ],
            )
            .await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
        self.follow(posted).await
    }

    /// Clicks "Login" at the portal and signs in with the form; returns every page.
    pub async fn login(&self, portal: &RunningPortal, username: &str) -> Vec<Page> {
        let pages = self.visit(&portal.url("/login")).await;
        let login = pages.last().unwrap();
        let mut all = self.submit_login(login, username).await;
        let mut pages = pages;
        pages.append(&mut all);
        pages
    }
}

/// The value of a hidden input on a page.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

/// The text of the element with `class` on a page (first occurrence, tags removed).
pub fn field(page: &str, class: &str) -> Option<String> {
    let marker = format!("class=\"{class}\">");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..]
        .find("</dd>")
        .or_else(|| page[start..].find("</p>"))?
        + start;
    let mut text = String::new();
    let mut in_tag = false;
    for c in page[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(text.trim().to_owned())
}

/// A query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `url` with query parameter `name` set to `value` (removed when `None`).
pub fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut parsed = Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (k, v) in &pairs {
            query.append_pair(k, v);
        }
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    parsed.to_string()
}

/// Whether a response set the portal's session cookie.
pub fn sets_session(page: &Page) -> bool {
    page.set_cookies
        .iter()
        .any(|c| c.contains("_session=") && !c.contains("_session=;"))
}

/// Whether any of the pages is the provider's login form.
pub fn saw_login_form(idp: &Provider, pages: &[Page]) -> bool {
    pages
        .iter()
        .any(|p| p.url.starts_with(&idp.url("/login")) && p.status == StatusCode::OK)
}
