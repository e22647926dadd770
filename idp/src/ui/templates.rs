//! Server-rendered pages and mails (minijinja, HTML auto-escaping for `.html`),
//! embedded in the binary. Templates call `t("key", name=value)` for texts in the
//! context's `lang` (see [`crate::ui::i18n`]).

use std::sync::LazyLock;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, State};
use serde::Serialize;

use crate::ui::i18n;

/// The product name shown in page titles, headers and mails.
pub const PRODUCT: &str = "Customer Identity";

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Loads the embedded templates.
    ///
    /// # Errors
    /// A template does not parse (a build defect, caught by tests).
    pub fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        for (name, source) in embedded![
            "base.html",
            "login.html",
            "error.html",
            "home.html",
            "register.html",
            "register_sent.html",
            "register_confirm.html",
            "register_resend.html",
            "password_new.html",
            "password_change.html",
            "password_forgot.html",
            "password_reset.html",
            "profile.html",
            "admin_registrations.html",
            "admin_companies.html",
            "admin_support.html",
            "logout.html",
            "mail/base.html",
            "mail/confirm.txt",
            "mail/confirm.html",
            "mail/already_registered.txt",
            "mail/already_registered.html",
            "mail/approved.txt",
            "mail/approved.html",
            "mail/rejected.txt",
            "mail/rejected.html",
            "mail/code_change.txt",
            "mail/code_change.html",
            "mail/code_reset.txt",
            "mail/code_reset.html",
            "mail/password_changed.txt",
            "mail/password_changed.html",
        ] {
            env.add_template(name, source)?;
        }
        env.add_global("product", PRODUCT);
        env.add_function("t", translate);
        Ok(Self { env })
    }

    /// Renders template `name` with `context`.
    ///
    /// # Errors
    /// An unknown template or a rendering failure.
    pub fn render(&self, name: &str, context: impl Serialize) -> anyhow::Result<String> {
        Ok(self.env.get_template(name)?.render(context)?)
    }
}

/// `t("key", name=value, …)`: the text for `key` in the context's `lang`.
fn translate(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "en".to_owned());
    let mut args = Vec::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        args.push((name.to_owned(), value.to_string()));
    }
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Ok(i18n::text(&lang, key, &args))
}

/// The embedded templates; immutable assets, so one per process.
pub static TEMPLATES: LazyLock<Result<Templates, String>> =
    LazyLock::new(|| Templates::new().map_err(|e| format!("{e:#}")));

/// Renders template `name` with `context` using [`TEMPLATES`].
///
/// # Errors
/// A template that failed to load, is unknown, or fails to render.
pub fn render(name: &str, context: impl Serialize) -> anyhow::Result<String> {
    match &*TEMPLATES {
        Ok(t) => t.render(name, context),
        Err(e) => Err(anyhow::anyhow!("templates failed to load: {e}")),
    }
}

/// The stylesheet served at `/static/style.css`.
pub const STYLE_CSS: &str = include_str!("../../static/style.css");

/// The registration page's script (progressive enhancement of the summary).
pub const REGISTER_JS: &str = include_str!("../../static/register.js");
