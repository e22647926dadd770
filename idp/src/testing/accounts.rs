//! The accounts tests start from: users of the stock companies, operators, a browser
//! signed in as one of them, and a company's support level.

use reqwest::StatusCode;

use super::{Browser, Page, TestApp, PASSWORD};
use crate::account::support;
use crate::account::users::{self, UserSpec};
use crate::db::users::User;

impl TestApp {
    /// Creates `username` at `<username>@example.com` with [`PASSWORD`] (Ada
    /// Lovelace, English, Europe/Berlin).
    pub async fn user(&self, username: &str) -> User {
        self.user_with(UserSpec {
            zoneinfo: Some("Europe/Berlin".into()),
            ..Self::user_spec(username, &format!("{username}@example.com"))
        })
        .await
    }

    /// A user named `username` at `email` with [`PASSWORD`] (Ada Lovelace, English).
    pub fn user_spec(username: &str, email: &str) -> UserSpec {
        UserSpec {
            username: username.into(),
            email: email.into(),
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            password: Some(PASSWORD.into()),
            locale: Some("en".into()),
            ..UserSpec::default()
        }
    }

    /// A bare account: `username` at `email` with [`PASSWORD`], nothing else set (no
    /// names, locale or company).
    pub fn account_spec(username: &str, email: &str) -> UserSpec {
        UserSpec {
            username: username.into(),
            email: email.into(),
            password: Some(PASSWORD.into()),
            ..UserSpec::default()
        }
    }

    /// A customer named `username` at `email` with [`PASSWORD`]: Robin Miller, no
    /// locale, no company.
    pub fn customer_spec(username: &str, email: &str) -> UserSpec {
        UserSpec {
            given_name: "Robin".into(),
            family_name: "Miller".into(),
            ..Self::account_spec(username, email)
        }
    }

    /// Creates the customer of [`TestApp::customer_spec`] at
    /// `<username>@acme-industries.com`.
    pub async fn customer(&self, username: &str) -> User {
        let email = format!("{username}@acme-industries.com");
        self.user_with(Self::customer_spec(username, &email)).await
    }

    /// A user named `username` at `<username>@acme-demo.example` with [`PASSWORD`]:
    /// Sam Carter of the company "ACME Demo" (created with its first user).
    pub fn acme_demo_spec(username: &str) -> UserSpec {
        UserSpec {
            given_name: "Sam".into(),
            family_name: "Carter".into(),
            company: Some("ACME Demo".into()),
            ..Self::account_spec(username, &format!("{username}@acme-demo.example"))
        }
    }

    /// Creates the user of [`TestApp::acme_demo_spec`] and gives ACME Demo
    /// (acme-demo.example) `level` support in EMEA.
    pub async fn company_user(&self, username: &str, level: &str) -> User {
        let user = self.user_with(Self::acme_demo_spec(username)).await;
        self.support("acme-demo.example", level, Some("EMEA")).await;
        user
    }

    /// Creates a provider operator (admin pages, approvals) named `username` at
    /// `email` with [`PASSWORD`] and nothing else set.
    pub async fn operator(&self, username: &str, email: &str) -> User {
        self.user_with(UserSpec {
            operator: true,
            ..Self::account_spec(username, email)
        })
        .await
    }

    /// Creates the user of `spec`.
    pub async fn user_with(&self, spec: UserSpec) -> User {
        self.try_user_with(spec).await.unwrap()
    }

    /// Creates the user of `spec` as an operator's command would; the error says why
    /// the provider refused it.
    pub async fn try_user_with(&self, spec: UserSpec) -> anyhow::Result<User> {
        let created = users::create_user(
            &self.state.db,
            &self.state.passwords,
            spec,
            self.clock_now(),
        )
        .await?;
        Ok(created.user)
    }

    /// Makes the password of user `user_id` one to replace, as a one-time password
    /// from the approval mail is: it must be changed, and it expires `seconds` from now.
    pub async fn require_password_change(&self, user_id: &str, seconds: i64) {
        sqlx::query(
            "UPDATE users SET must_change_password = 1, password_expires_at = $2 WHERE id = $1",
        )
        .bind(user_id)
        .bind(self.clock_now() + seconds)
        .execute(self.state.db.pool())
        .await
        .unwrap();
    }

    /// A fresh browser signed in as `username` with [`PASSWORD`] through the login
    /// form alone (no authorization request); panics unless the login succeeds (303).
    pub async fn signed_in(&self, username: &str) -> Browser {
        self.signed_in_with(username, PASSWORD).await
    }

    /// [`TestApp::signed_in`] with `password`.
    pub async fn signed_in_with(&self, username: &str, password: &str) -> Browser {
        let browser = Browser::new();
        let Page { status, body, .. } = browser
            .submit_login(&self.url("/login"), username, password)
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        browser
    }

    /// Sets the support level and region of the company of e-mail domain `domain`
    /// (recorded as done by `test`).
    pub async fn support(&self, domain: &str, level: &str, region: Option<&str>) {
        support::set_company_support(&self.state, domain, level, region, "test")
            .await
            .unwrap();
    }

    /// The support PIN of user `sub` as the provider knows it (created on first use);
    /// panics when the user's company has no phone support.
    pub async fn pin(&self, sub: &str) -> String {
        support::pin(&self.state, sub).await.unwrap()
    }
}
