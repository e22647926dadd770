//! Server-rendered pages and mails (minijinja, HTML auto-escaping for `.html`),
//! embedded in the binary. Templates call `t("key", name=value)` for texts in the
//! context's `lang` (see [`crate::ui::i18n`]).

use std::sync::LazyLock;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, State, UndefinedBehavior};
use serde::Serialize;

use crate::ui::i18n;

/// The product name shown in page titles, headers and mails.
pub const PRODUCT: &str = "Customer Identity";

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
        Self::with_undefined(UndefinedBehavior::default())
    }

    /// The templates with undefined values refused except in `{% if %}` tests
    /// ([`UndefinedBehavior::SemiStrict`]), for the test that renders every page.
    ///
    /// # Errors
    /// As [`Templates::new`].
    pub fn strict() -> anyhow::Result<Self> {
        Self::with_undefined(UndefinedBehavior::SemiStrict)
    }

    // The generated loader `expect`s each template to parse; the page test renders
    // every page, so a template that does not is caught before a release.
    #[allow(clippy::expect_used)]
    fn with_undefined(undefined: UndefinedBehavior) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_undefined_behavior(undefined);
        minijinja_embed::load_templates!(&mut env);
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
