//! Server-rendered pages (minijinja, HTML auto-escaping), embedded in the binary.

use std::sync::LazyLock;

use minijinja::Environment;
use serde::Serialize;

/// The product name shown in page titles and headers.
pub const PRODUCT: &str = "Customer Identity";

/// The compiled page templates.
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
        for (name, source) in [
            ("base.html", include_str!("../templates/base.html")),
            ("login.html", include_str!("../templates/login.html")),
            ("error.html", include_str!("../templates/error.html")),
            ("home.html", include_str!("../templates/home.html")),
        ] {
            env.add_template(name, source)?;
        }
        env.add_global("product", PRODUCT);
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
pub const STYLE_CSS: &str = include_str!("../static/style.css");
