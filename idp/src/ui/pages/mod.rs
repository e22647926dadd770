//! One context struct per page template, each on the shared [`PageBase`] (language,
//! title, CSRF token) and naming its template ([`Page::TEMPLATE`]). Every struct can
//! produce samples, so one test renders every page in every language with strict
//! undefined checks: a missing template or a field the template uses but the struct
//! lacks fails there, not in front of a user.

pub mod account;
pub mod admin;
pub mod company;
pub mod password;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ui::i18n;
use crate::ui::templates::PRODUCT;

pub use account::*;
pub use admin::*;
pub use company::*;
pub use password::*;

/// Field name → i18n key of what is wrong with it. The key `form` holds a problem
/// with a parameter that is not one of the form's fields.
pub type FieldErrors = BTreeMap<&'static str, &'static str>;

/// The context of a page template.
pub trait Page: Serialize + Sized {
    /// The template's name.
    const TEMPLATE: &'static str;

    /// Examples in `lang`, covering the template's branches (the test renders each).
    fn samples(lang: &'static str) -> Vec<Self>;

    /// [`Page::TEMPLATE`] of a value (for `&impl Page`).
    fn template(&self) -> &'static str {
        Self::TEMPLATE
    }
}

/// What every page has.
#[derive(Debug, Clone, Serialize)]
pub struct PageBase {
    /// The page's language (`<html lang>`, and `t()` in the template).
    pub lang: &'static str,
    /// The `<title>` (before the product name).
    pub title: String,
    /// The CSRF token of this browser for the page's forms (empty without forms).
    pub csrf_token: String,
}

impl PageBase {
    /// A base with the title `title_key` translated into `lang`.
    pub fn new(lang: &'static str, title_key: &str, csrf_token: String) -> Self {
        Self::titled(lang, i18n::text(lang, title_key, &[]), csrf_token)
    }

    /// A base with a title already in words.
    pub fn titled(lang: &'static str, title: String, csrf_token: String) -> Self {
        Self {
            lang,
            title,
            csrf_token,
        }
    }

    fn sample(lang: &'static str, title_key: &str) -> Self {
        Self::new(lang, title_key, "sample-csrf-token".to_owned())
    }
}

/// `error.html`: a title, a message and an optional hint, all in words.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorPage {
    /// Language and title.
    #[serde(flatten)]
    pub base: PageBase,
    /// What went wrong.
    pub message: String,
    /// What to do about it (empty: none).
    pub hint: String,
}

impl Page for ErrorPage {
    const TEMPLATE: &'static str = "error.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let text = |key: &str| i18n::text(lang, key, &[]);
        vec![
            Self {
                base: PageBase::sample(lang, "error.bad_request_title"),
                message: text("error.params"),
                hint: text("error.bad_request_hint"),
            },
            Self {
                base: PageBase::sample(lang, "error.not_found_title"),
                message: text("error.not_found_message"),
                hint: String::new(),
            },
        ]
    }
}

/// `home.html`: who is signed in in this browser, if anyone.
#[derive(Debug, Clone, Serialize)]
pub struct HomePage {
    /// Language and title (the product name).
    #[serde(flatten)]
    pub base: PageBase,
    /// The signed-in user.
    pub user: Option<HomeUser>,
}

/// The signed-in user of [`HomePage`].
#[derive(Debug, Clone, Serialize)]
pub struct HomeUser {
    /// Display name.
    pub name: String,
    /// Login name.
    pub username: String,
    /// A provider operator (links the admin pages).
    pub operator: bool,
    /// A Super Admin of a company (links Users and Activity).
    pub super_admin: bool,
}

impl Page for HomePage {
    const TEMPLATE: &'static str = "home.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let base = PageBase::titled(lang, PRODUCT.to_owned(), String::new());
        let user = HomeUser {
            name: "Jane Doe".into(),
            username: "jane".into(),
            operator: true,
            super_admin: true,
        };
        vec![
            Self {
                base: base.clone(),
                user: None,
            },
            Self {
                base,
                user: Some(user),
            },
        ]
    }
}

/// `logout.html`: the RP-initiated logout's confirmation, or its result.
#[derive(Debug, Clone, Serialize)]
pub struct LogoutPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// Ask before signing out (else: signed out).
    pub confirm: bool,
    /// Someone is signed in in this browser (what the confirmation asks about).
    pub signed_in: bool,
}

impl Page for LogoutPage {
    const TEMPLATE: &'static str = "logout.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        [(true, true), (true, false), (false, false)]
            .into_iter()
            .map(|(confirm, signed_in)| Self {
                base: PageBase::sample(lang, "logout.title"),
                confirm,
                signed_in,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::templates::Templates;

    fn render_all<P: Page>(templates: &Templates) -> usize {
        let mut rendered = 0;
        for lang in i18n::LANGUAGES {
            for sample in P::samples(lang) {
                let html = templates
                    .render(P::TEMPLATE, &sample)
                    .unwrap_or_else(|e| panic!("{} in {lang}: {e:#}", P::TEMPLATE));
                assert!(
                    html.contains(&format!("<html lang=\"{lang}\">")),
                    "{}",
                    P::TEMPLATE
                );
                rendered += 1;
            }
        }
        rendered
    }

    /// Every page struct's samples render in every language, with undefined values
    /// refused (`SemiStrict`: only `{% if x %}` may test for an absent value).
    #[test]
    fn every_page_renders_in_every_language() {
        let templates = Templates::strict().unwrap_or_else(|e| panic!("{e:#}"));
        let counts = [
            render_all::<ErrorPage>(&templates),
            render_all::<HomePage>(&templates),
            render_all::<LogoutPage>(&templates),
            render_all::<LoginPage>(&templates),
            render_all::<RegisterPage>(&templates),
            render_all::<RegisterSentPage>(&templates),
            render_all::<RegisterConfirmPage>(&templates),
            render_all::<RegisterResendPage>(&templates),
            render_all::<PasswordNewPage>(&templates),
            render_all::<PasswordChangePage>(&templates),
            render_all::<PasswordForgotPage>(&templates),
            render_all::<PasswordResetPage>(&templates),
            render_all::<ProfilePage>(&templates),
            render_all::<QueuePage>(&templates),
            render_all::<CompaniesPage>(&templates),
            render_all::<SupportPinPage>(&templates),
            render_all::<CompanyUsersPage>(&templates),
            render_all::<ActivityPage>(&templates),
            render_all::<AdminAuditPage>(&templates),
            render_all::<AdminKeysPage>(&templates),
            render_all::<InvitationPage>(&templates),
        ];
        assert!(counts.iter().all(|&n| n >= i18n::LANGUAGES.len()));
    }

    /// The shared password fields (a macro in `partials/password.html`) speak the
    /// page's language.
    #[test]
    fn the_password_partial_is_translated() {
        let templates = Templates::strict().unwrap_or_else(|e| panic!("{e:#}"));
        for lang in i18n::LANGUAGES {
            for sample in PasswordResetPage::samples(lang) {
                let html = templates
                    .render(PasswordResetPage::TEMPLATE, &sample)
                    .unwrap_or_else(|e| panic!("{e:#}"));
                for key in ["password.new", "password.confirm", "code.label"] {
                    assert!(html.contains(&i18n::text(lang, key, &[])), "{lang} {key}");
                }
            }
        }
    }
}
