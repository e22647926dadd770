//! Languages: English and German. Texts live in `idp/locales/*.yml` (rust-i18n);
//! templates call `t("key", name=value)`. The language of a page follows the user's
//! setting, then the request's `ui_locales`, then `Accept-Language`; mails use the
//! recipient's language.

use std::borrow::Cow;

/// Supported languages, default first.
pub const LANGUAGES: &[&str] = &[DEFAULT_LANGUAGE, "de"];

/// The language of texts when nothing else is known.
pub const DEFAULT_LANGUAGE: &str = "en";

/// The first supported language among `preferences` (BCP 47 tags, best first), by
/// primary subtag; English when none matches.
pub fn pick<'a>(preferences: impl IntoIterator<Item = &'a str>) -> &'static str {
    for tag in preferences {
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if let Some(lang) = LANGUAGES.iter().find(|l| **l == primary) {
            return lang;
        }
    }
    DEFAULT_LANGUAGE
}

/// Negotiates a page language: the user's `locale`, then `ui_locales`
/// (space-separated), then the `Accept-Language` header.
pub fn negotiate(
    user_locale: Option<&str>,
    ui_locales: Option<&str>,
    accept_language: Option<&str>,
) -> &'static str {
    let mut prefs: Vec<String> = Vec::new();
    prefs.extend(user_locale.map(str::to_owned));
    if let Some(ui) = ui_locales {
        prefs.extend(ui.split(' ').filter(|s| !s.is_empty()).map(str::to_owned));
    }
    if let Some(header) = accept_language {
        prefs.extend(accept_language::parse(header));
    }
    pick(prefs.iter().map(String::as_str))
}

/// The text for `key` in `lang`, with `%{name}` placeholders replaced from `args`.
/// A missing key yields the key itself (and is caught by the locale tests).
pub fn text(lang: &str, key: &str, args: &[(&str, &str)]) -> String {
    let raw: Cow<'_, str> = rust_i18n::t!(key, locale = lang);
    let mut out = raw.into_owned();
    for (name, value) in args {
        out = out.replace(&format!("%{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_order() {
        assert_eq!(negotiate(Some("de"), Some("en"), Some("en")), "de");
        assert_eq!(negotiate(None, Some("fr de-AT"), Some("en")), "de");
        assert_eq!(
            negotiate(None, None, Some("fr-CH, de;q=0.8, en;q=0.5")),
            "de"
        );
        assert_eq!(negotiate(None, None, Some("fr")), "en");
        assert_eq!(negotiate(None, None, None), "en");
    }

    /// Every key exists in every language.
    #[test]
    fn locales_have_the_same_keys() {
        let available: Vec<String> = rust_i18n::available_locales!()
            .iter()
            .map(|l| l.to_string())
            .collect();
        for lang in LANGUAGES {
            assert!(available.iter().any(|a| a == lang), "{available:?}");
        }
        let keys = |lang: &str| -> Vec<String> {
            let text = match lang {
                "en" => include_str!("../../locales/en.yml"),
                _ => include_str!("../../locales/de.yml"),
            };
            let mut keys = Vec::new();
            let mut stack: Vec<(usize, String)> = Vec::new();
            for line in text.lines() {
                let trimmed = line.trim_start();
                if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("_version")
                {
                    continue;
                }
                let indent = line.len() - trimmed.len();
                let Some((key, value)) = trimmed.split_once(':') else {
                    continue;
                };
                while stack.last().is_some_and(|(i, _)| *i >= indent) {
                    stack.pop();
                }
                let full = stack
                    .iter()
                    .map(|(_, k)| k.as_str())
                    .chain([key])
                    .collect::<Vec<_>>()
                    .join(".");
                if value.trim().is_empty() {
                    stack.push((indent, key.to_owned()));
                } else {
                    keys.push(full);
                }
            }
            keys.sort();
            keys
        };
        assert_eq!(keys("en"), keys("de"));
        for key in keys("en") {
            for lang in LANGUAGES {
                assert_ne!(text(lang, &key, &[]), key, "{lang}: {key}");
            }
        }
    }
}
