//! The password pages: the forced new password, change with a code, forgot and reset.

use serde::Serialize;

use super::account::some_errors;
use super::{FieldErrors, Page, PageBase};
use crate::ui::i18n;

/// The password rules shown beside a new-password field.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PasswordRules {
    /// Minimum characters.
    pub min_length: usize,
    /// Maximum characters.
    pub max_length: usize,
}

const SAMPLE_RULES: PasswordRules = PasswordRules {
    min_length: 12,
    max_length: 128,
};

/// `password_new.html`: the forced change after a one-time password.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordNewPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// The pending authorization request.
    pub request_id: Option<String>,
    /// The user's login name (for password managers).
    pub username: String,
    /// The password rules.
    #[serde(flatten)]
    pub rules: PasswordRules,
    /// The refusal, in words.
    pub error: Option<String>,
    /// The fields' problems.
    pub errors: FieldErrors,
}

impl Page for PasswordNewPage {
    const TEMPLATE: &'static str = "password_new.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let plain = Self {
            base: PageBase::sample(lang, "password_new.title"),
            request_id: None,
            username: "jane".into(),
            rules: SAMPLE_RULES,
            error: None,
            errors: FieldErrors::new(),
        };
        let refused = Self {
            request_id: Some("req-1".into()),
            error: Some(i18n::text(lang, "password.mismatch", &[])),
            errors: some_errors(&[
                ("new_password", "form.required"),
                ("form", "form.unreadable"),
            ]),
            ..plain.clone()
        };
        vec![plain, refused]
    }
}

/// `password_change.html`: change while signed in, with a mailed code.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordChangePage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// The user's login name (for password managers).
    pub username: String,
    /// Where the code goes.
    pub email: String,
    /// The password rules.
    #[serde(flatten)]
    pub rules: PasswordRules,
    /// The longest code (`codes.digits`).
    pub digits: u32,
    /// A notice ("code sent"), in words.
    pub notice: Option<String>,
    /// The refusal, in words.
    pub error: Option<String>,
    /// The fields' problems.
    pub errors: FieldErrors,
}

impl Page for PasswordChangePage {
    const TEMPLATE: &'static str = "password_change.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let plain = Self {
            base: PageBase::sample(lang, "change.title"),
            username: "jane".into(),
            email: "jane@acme.example".into(),
            rules: SAMPLE_RULES,
            digits: 6,
            notice: Some(i18n::text(
                lang,
                "change.sent",
                &[("email", "jane@acme.example")],
            )),
            error: None,
            errors: FieldErrors::new(),
        };
        let refused = Self {
            notice: None,
            error: Some(i18n::text(lang, "code.wrong", &[])),
            ..plain.clone()
        };
        let fields = Self {
            error: None,
            errors: some_errors(&[("code", "code.format"), ("form", "form.unreadable")]),
            ..refused.clone()
        };
        vec![plain, refused, fields]
    }
}

/// `password_forgot.html`: the address to mail a reset code to.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordForgotPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// The pending authorization request.
    pub request_id: Option<String>,
    /// The refusal, in words.
    pub error: Option<String>,
    /// The fields' problems.
    pub errors: FieldErrors,
}

impl Page for PasswordForgotPage {
    const TEMPLATE: &'static str = "password_forgot.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        vec![
            Self {
                base: PageBase::sample(lang, "forgot.title"),
                request_id: None,
                error: None,
                errors: FieldErrors::new(),
            },
            Self {
                base: PageBase::sample(lang, "forgot.title"),
                request_id: Some("req-1".into()),
                error: Some(i18n::text(lang, "throttle.try_again", &[("minutes", "2")])),
                errors: some_errors(&[("email", "email.syntax"), ("form", "form.unreadable")]),
            },
        ]
    }
}

/// `password_reset.html`: address, code and new password.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordResetPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// The pending authorization request.
    pub request_id: Option<String>,
    /// The address typed.
    pub email: String,
    /// The password rules.
    #[serde(flatten)]
    pub rules: PasswordRules,
    /// The longest code (`codes.digits`).
    pub digits: u32,
    /// The refusal, in words.
    pub error: Option<String>,
    /// The fields' problems.
    pub errors: FieldErrors,
}

impl Page for PasswordResetPage {
    const TEMPLATE: &'static str = "password_reset.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let plain = Self {
            base: PageBase::sample(lang, "reset.title"),
            request_id: None,
            email: String::new(),
            rules: SAMPLE_RULES,
            digits: 6,
            error: None,
            errors: FieldErrors::new(),
        };
        let refused = Self {
            request_id: Some("req-1".into()),
            email: "jane@acme.example".into(),
            error: Some(i18n::text(lang, "password.too_short", &[("min", "12")])),
            ..plain.clone()
        };
        let fields = Self {
            error: None,
            errors: some_errors(&[("email", "form.required"), ("form", "form.unreadable")]),
            ..refused.clone()
        };
        vec![plain, refused, fields]
    }
}
