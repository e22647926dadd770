//! Test harness: the provider (the shared `idp::testing` harness), the two portals,
//! users, and the demo's flows for the shared "browser".

use std::sync::Arc;

use idp::account::users::UserSpec;
use idp::oauth::registration::ClientSpec;
pub use idp::testing::{hidden, Browser, Page, TestApp, PASSWORD};
use relying_party_demo::clock::MockClock;
use relying_party_demo::oidc::ProviderMetadataDoc;
use relying_party_demo::portal::http_client;
use relying_party_demo::{Portal, PortalConfig, PortalKind};
use reqwest::StatusCode;
use url::Url;

pub const SCOPE: &str = "openid profile email company roles support offline_access";

/// A running provider: the shared [`TestApp`] with the demo's helpers.
pub struct Provider(pub TestApp);

impl std::ops::Deref for Provider {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.0
    }
}

impl Provider {
    pub async fn spawn() -> Self {
        Self(TestApp::spawn().await)
    }

    pub fn now(&self) -> i64 {
        self.clock_now()
    }

    /// Creates `username` at `<username>@<domain>` in the company `company` (created
    /// by its domain if new) with the role super_admin and the default catalogue's
    /// roles of both portals (`customer-portal:licenses`,
    /// `customer-portal:support-cases`, `app-portal:apps.install`); returns the
    /// user's sub.
    pub async fn user(&self, username: &str, domain: &str, company: &str) -> String {
        use idp::db::users::Role;
        let named = |n: &str| Role::Named(n.into());
        self.0
            .user_with(UserSpec {
                company: Some(company.into()),
                roles: vec![
                    Role::SuperAdmin,
                    named("app-portal:apps.install"),
                    named("customer-portal:licenses"),
                    named("customer-portal:support-cases"),
                ],
                ..TestApp::user_spec(username, &format!("{username}@{domain}"))
            })
            .await
            .id
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
    let registered = idp
        .client_with(ClientSpec {
            name: kind.display_name().into(),
            client_id: Some(client_id.into()),
            redirect_uris: vec![format!("{base}/callback")],
            post_logout_redirect_uris: vec![format!("{base}/")],
            backchannel_logout_uri: Some(format!("{base}/backchannel-logout")),
            scope: SCOPE.into(),
            ..ClientSpec::default()
        })
        .await;
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

/// The demo's browser flows through a portal and the provider's login form.
pub(crate) trait PortalFlows {
    /// Follows `authorize` (the authorization request URL, possibly altered), signs
    /// in if the provider shows its form, and returns the callback URL without
    /// visiting it.
    async fn login_until_callback(
        &self,
        portal: &RunningPortal,
        authorize: &str,
        username: &str,
    ) -> String;
    /// GETs the portal's /login and returns the authorization request URL it
    /// redirects to (the attempt cookie is set).
    async fn start(&self, portal: &RunningPortal) -> String;
    /// Fills the provider's login form shown on `login` and follows the redirects.
    async fn submit_login_and_follow(&self, login: &Page, username: &str) -> Vec<Page>;
    /// Clicks "Login" at the portal and signs in with the form; returns every page.
    async fn login(&self, portal: &RunningPortal, username: &str) -> Vec<Page>;
}

impl PortalFlows for Browser {
    async fn login_until_callback(
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
                page = self.post_login(&page, username, PASSWORD).await;
                continue;
            }
            let next = page
                .next_url()
                .unwrap_or_else(|| panic!("{} answered {}: {}", page.url, page.status, page.body));
            if next.starts_with(&stop) {
                return next;
            }
            page = self.get(&next).await;
        }
        panic!("too many redirects before {stop}");
    }

    async fn start(&self, portal: &RunningPortal) -> String {
        let page = self.get(&portal.url("/login")).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        page.next_url().unwrap()
    }

    async fn submit_login_and_follow(&self, login: &Page, username: &str) -> Vec<Page> {
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        assert!(
            login.url.contains("/login"),
            "not a login page: {}",
            login.url
        );
        let posted = self.post_login(login, username, PASSWORD).await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
        self.follow(posted).await
    }

    async fn login(&self, portal: &RunningPortal, username: &str) -> Vec<Page> {
        let pages = self.visit(&portal.url("/login")).await;
        let login = pages.last().unwrap();
        let mut all = self.submit_login_and_follow(login, username).await;
        let mut pages = pages;
        pages.append(&mut all);
        pages
    }
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
