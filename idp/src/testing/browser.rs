//! A cookie-keeping HTTP client that does not follow redirects, standing in for a
//! browser, and the [`Page`]s it gets.

use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use url::Url;

/// One response.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL that was requested.
    pub url: String,
    /// The status.
    pub status: StatusCode,
    /// The Location header as sent (possibly relative).
    pub location: Option<String>,
    /// Every Set-Cookie header.
    pub set_cookies: Vec<String>,
    /// The body.
    pub body: String,
}

impl Page {
    /// The Location header resolved against the page's URL.
    pub fn next_url(&self) -> Option<String> {
        let location = self.location.as_deref()?;
        Some(Url::parse(&self.url).ok()?.join(location).ok()?.to_string())
    }
}

/// A cookie-keeping HTTP client that does not follow redirects.
pub struct Browser {
    /// The client, for requests the helpers do not cover.
    pub http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// A browser without cookies.
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// The page of response `r` to a request for `url`.
    pub async fn page(url: &str, r: reqwest::Response) -> Page {
        let status = r.status();
        let location = r
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookies = r
            .headers()
            .get_all(SET_COOKIE)
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

    /// GET `url`.
    pub async fn get(&self, url: &str) -> Page {
        Self::page(url, self.http.get(url).send().await.unwrap()).await
    }

    /// POST `form` to `url`.
    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        Self::page(url, self.http.post(url).form(form).send().await.unwrap()).await
    }

    /// Fills the provider's login form shown on `login` (its CSRF token and, when the
    /// login belongs to an authorization request, its `request_id`) with `username`
    /// and `password`, and POSTs it to `/login` on the page's origin.
    pub async fn post_login(&self, login: &Page, username: &str, password: &str) -> Page {
        let csrf = hidden(&login.body, "csrf_token").expect("csrf token on the login page");
        let mut form = vec![
            ("csrf_token", csrf),
            ("username", username.into()),
            ("password", password.into()),
        ];
        if let Some(id) = hidden(&login.body, "request_id") {
            form.push(("request_id", id));
        }
        let url = Url::parse(&login.url).unwrap().join("/login").unwrap();
        let r = self
            .http
            .post(url.as_str())
            .form(&form)
            .send()
            .await
            .unwrap();
        Self::page(url.as_str(), r).await
    }

    /// GETs the provider's login page `login_url` (it must answer 200) and submits
    /// its form with `username` and `password`.
    pub async fn submit_login(&self, login_url: &str, username: &str, password: &str) -> Page {
        let login = self.get(login_url).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        self.post_login(&login, username, password).await
    }

    /// Follows redirects from `first` by hand; returns every page seen, the last one
    /// not a redirect.
    pub async fn follow(&self, first: Page) -> Vec<Page> {
        let mut pages = vec![first];
        for _ in 0..10 {
            let last = pages.last().unwrap();
            if !last.status.is_redirection() {
                return pages;
            }
            let next = last.next_url().expect("a redirect has a Location");
            pages.push(self.get(&next).await);
        }
        panic!(
            "too many redirects: {:?}",
            pages.iter().map(|p| &p.url).collect::<Vec<_>>()
        );
    }

    /// GETs `url` and follows redirects.
    pub async fn visit(&self, url: &str) -> Vec<Page> {
        let first = self.get(url).await;
        self.follow(first).await
    }
}

/// The value of a hidden input on a page.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}
