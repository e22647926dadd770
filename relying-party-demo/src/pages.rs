//! Server-rendered pages: minijinja templates compiled into the binary, auto-escaped
//! (every template name ends in `.html`), no inline script or style.

use std::sync::OnceLock;

use minijinja::Environment;

/// The templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    (
        "anonymous.html",
        include_str!("../templates/anonymous.html"),
    ),
    ("customer.html", include_str!("../templates/customer.html")),
    ("app.html", include_str!("../templates/app.html")),
    ("error.html", include_str!("../templates/error.html")),
];

/// The portals' stylesheet, served at `/static/style.css`.
pub const STYLE_CSS: &str = include_str!("../templates/style.css");

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not compile");
            }
        }
        env
    })
}

/// Renders template `name` with `ctx`.
///
/// # Errors
/// An unknown template or a rendering error (a bug: the unit tests render each one).
pub fn render(name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
    env().get_template(name)?.render(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn every_template_renders_and_escapes() {
        let common = context! { portal_name => "Customer Portal", theme => "customer",
        profile_url => "http://idp/profile" };
        let profile = context! { sub => "s1", name => "<b>Ada</b>", email => "ada@acme.example",
        company => "ACME", roles => vec!["super_admin"],
        support => context! { priority => true, label => "Priority", phone => "+49", pin => "123456" } };
        for name in ["anonymous.html", "customer.html", "app.html", "error.html"] {
            let html = render(
                name,
                context! { ..common.clone(), ..context! { profile => profile.clone(), csrf_token => "t",
                    title => "T", message => "M", notice => "N" } },
            )
            .unwrap();
            assert!(html.contains("Customer Portal"), "{name}");
            assert!(!html.contains("<b>Ada</b>"), "{name} escapes");
            assert!(!html.contains("<script"), "{name} has no script");
            assert!(!html.contains("style="), "{name} has no inline style");
        }
    }
}
