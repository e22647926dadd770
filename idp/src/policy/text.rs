//! Free text that reaches operators and mails (names, company, job title, phone):
//! plain letters only, and nothing a reader or a mail client takes for a web or
//! e-mail address.

use unicode_normalization::UnicodeNormalization as _;

/// What is wrong with the trimmed value of a free-text field (`given_name`,
/// `family_name`, `company` or `job_title`), as an i18n key; `None` when it is fine
/// (an empty value included: required fields are checked apart).
///
/// The rules (the same for self-registration and for users an operator creates):
/// at most 100 characters (company 200); letters, marks, spaces and `-'.` (company
/// and job title also digits and `&,()/+`); and no web or e-mail address
/// ([`contains_url_like`]), because these fields reach operators and mails. A
/// company name may contain `own_domain`, the registrant's e-mail domain or a
/// parent of it ("Booking.com" from an address at booking.com).
pub fn text_field_error(
    field: &str,
    value: &str,
    own_domain: Option<&str>,
) -> Option<&'static str> {
    let (max, name) = match field {
        "given_name" | "family_name" => (100, true),
        "company" => (200, false),
        _ => (100, false),
    };
    let own_domain = own_domain.filter(|_| field == "company");
    if value.chars().count() > max {
        Some("form.too_long")
    } else if value.is_empty() {
        None
    } else if contains_url_like(value, own_domain) {
        Some("form.url_like")
    } else if !is_plain_text(value, name) {
        Some("form.invalid_characters")
    } else {
        None
    }
}

/// IDN full stops (RFC 3490 §3.1) that browsers and mail clients read as `.`.
const DOTS: [char; 4] = ['.', '\u{3002}', '\u{FF0E}', '\u{FF61}'];

/// Whether `value`, after NFKC, contains something a reader or a mail client takes
/// for a web or e-mail address: `://`, `@`, a word starting with `www.`, or a
/// domain-like run: two or more labels of letters, digits and inner hyphens joined
/// by a dot (also `。．｡`), the last of them with at least two letters
/// ("evil-phish.example", "bit.ly"). Initials and abbreviations stay valid
/// ("J. R. R. Tolkien", "St. John", "B.V.", "e.V.", "Co. KG", "Ph.D.").
///
/// IP address literals count too: four dot-joined numbers of at most three digits
/// ("203.0.113.5", "Login 203.0.113.5/login") and IPv6 literals ("2001:db8::1",
/// "[::ffff:203.0.113.5]"), which browsers and mail clients also turn into links.
///
/// A run that is `allowed_domain` or a parent domain of it (compared in A-label
/// spelling) does not count.
pub fn contains_url_like(value: &str, allowed_domain: Option<&str>) -> bool {
    let text: String = value
        .nfkc()
        .flat_map(char::to_lowercase)
        .map(|c| if DOTS.contains(&c) { '.' } else { c })
        .collect();
    if text.contains("://") || text.contains('@') {
        return true;
    }
    if contains_ip_literal(&text) {
        return true;
    }
    let is_word_char = |c: char| {
        c.is_alphanumeric()
            || c == '-'
            || c == '.'
            || unicode_normalization::char::is_combining_mark(c)
    };
    text.split(|c: char| !is_word_char(c)).any(|word| {
        word.starts_with("www.")
            || domain_runs(word)
                .any(|run| !allowed_domain.is_some_and(|own| is_domain_or_parent(&run, own)))
    })
}

/// Whether normalised `text` holds an IPv4 literal (four consecutive dot-joined labels
/// of one to three ASCII digits) or an IPv6 literal (a run of hex digits, `:` and `.`
/// with at least two colons and a hex digit that parses as an IPv6 address).
fn contains_ip_literal(text: &str) -> bool {
    let ipv4 = text
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .any(|word| {
            let mut numeric_in_a_row = 0;
            word.split('.').any(|label| {
                let numeric = (1..=3).contains(&label.len());
                numeric_in_a_row = if numeric { numeric_in_a_row + 1 } else { 0 };
                numeric_in_a_row >= 4
            })
        });
    let ipv6 = text
        .split(|c: char| !(c.is_ascii_hexdigit() || c == ':' || c == '.'))
        .any(|word| {
            let word = word.trim_matches('.');
            word.matches(':').count() >= 2
                && word.chars().any(|c| c.is_ascii_hexdigit())
                && word.parse::<std::net::Ipv6Addr>().is_ok()
        });
    ipv4 || ipv6
}

/// The domain-like runs of a word: maximal sequences of at least two valid labels in
/// which some label after the first has two or more letters.
fn domain_runs(word: &str) -> impl Iterator<Item = String> + '_ {
    let is_label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| {
                c.is_alphanumeric() || c == '-' || unicode_normalization::char::is_combining_mark(c)
            })
    };
    let letters = |l: &str| l.chars().filter(|c| c.is_alphabetic()).count();
    let mut runs = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for label in word.split('.').chain(std::iter::once("")) {
        if is_label(label) {
            run.push(label);
            continue;
        }
        if run.len() >= 2 && run.iter().skip(1).any(|l| letters(l) >= 2) {
            runs.push(run.join("."));
        }
        run.clear();
    }
    runs.into_iter()
}

/// Whether `run` names `domain` or one of its parents (`booking.com` for
/// `eu.booking.com`), compared in A-label spelling.
fn is_domain_or_parent(run: &str, domain: &str) -> bool {
    let Ok(run) = idna::domain_to_ascii(run) else {
        return false;
    };
    domain == run || domain.ends_with(&format!(".{run}"))
}

/// Letters (any script), marks, spaces and `-'.` for names; for company and job
/// title also digits and `&,()/+`. No markup, no control or invisible characters.
fn is_plain_text(value: &str, name: bool) -> bool {
    value.chars().all(|c| {
        c.is_alphabetic()
            || c == ' '
            || matches!(c, '-' | '\'' | '.' | '’')
            || (!name && (c.is_ascii_digit() || matches!(c, '&' | ',' | '(' | ')' | '/' | '+')))
            || unicode_normalization::char::is_combining_mark(c)
    })
}

/// Characters a reader cannot see or that reorder what they see: control characters
/// (Unicode category Cc), every format character (Cf: zero-width spaces and joiners,
/// bidirectional embeddings, overrides and isolates such as U+202E, the byte-order
/// mark, soft hyphen, tags, interlinear annotations, ...), the line and paragraph
/// separators, and the invisible fillers and selectors (Hangul fillers, combining
/// grapheme joiner, variation selectors, Mongolian free variation selectors).
/// One predicate for every text the provider stores or shows: e-mail addresses
/// ([`crate::policy::email`]) and the `nonce`, `login_hint` and `ui_locales` of an
/// authorization request.
pub fn is_invisible_or_control(c: char) -> bool {
    c.is_control()
        || matches!(c,
            // Cf, Unicode 16.
            '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}'
            | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}' | '\u{E0001}' | '\u{E0020}'..='\u{E007F}'
            // Zl, Zp.
            | '\u{2028}' | '\u{2029}'
            // Invisible fillers, joiners and selectors of other categories.
            | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180D}' | '\u{180F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
            | '\u{FFA0}' | '\u{E0100}'..='\u{E01EF}')
}

/// `+`, digits, spaces and `()-/`, with 5 to 20 digits.
pub fn is_phone(value: &str) -> bool {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    value.len() <= 32
        && (5..=20).contains(&digits)
        && value.chars().enumerate().all(|(i, c)| {
            c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-' | '/') || (c == '+' && i == 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_reordering_characters() {
        for c in [
            '\u{0}',
            '\u{7F}',
            '\u{85}',
            '\u{AD}',
            '\u{61C}',
            '\u{200B}',
            '\u{200D}',
            '\u{200E}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{2028}',
            '\u{FEFF}',
            '\u{E0041}',
            '\u{3164}',
            '\u{FE0F}',
        ] {
            assert!(is_invisible_or_control(c), "{c:?}");
        }
        for c in ['a', 'ü', '李', ' ', '-', '@', '\u{301}'] {
            assert!(!is_invisible_or_control(c), "{c:?}");
        }
    }

    #[test]
    fn field_rules() {
        assert!(is_plain_text("Anne-Marie O'Neil", true));
        assert!(is_plain_text("Jürgen Müller", true));
        assert!(is_plain_text("李小龍", true));
        assert!(!is_plain_text("<script>alert(1)</script>", true));
        assert!(!is_plain_text("Robert'); DROP TABLE", true));
        assert!(!is_plain_text("Eve\u{202E}", true));
        assert!(is_plain_text("ACME Industries (EMEA) & Co", false));
        assert!(is_phone("+49 (421) 123-456"));
        assert!(!is_phone("call me"));
        assert!(!is_phone("12+345678"));
    }

    /// Item 9 of issue 8: free-text fields refuse web and e-mail addresses.
    #[test]
    fn url_like_runs_are_refused_and_initials_are_not() {
        for bad in [
            "Visit www.evil-phish.example now",
            "evil-phish.example",
            "bit.ly",
            "See bit.ly/x",
            "https://evil.example",
            "hxxp://evil",
            "mail me@evil.example",
            "Jane @ ACME",
            "WWW.EVIL",
            "www.1",
            "ｗｗｗ．ｅｖｉｌ．ｃｏｍ",
            "evil。example",
            "evil．example",
            "evil｡example",
            "пример.рф",
            "münchen.de",
            "x.example.c",
            "sub.evil-phish.example",
            "203.0.113.5/login",
            "Login 203.0.113.5",
            "ACME (203.0.113.5:8080)",
            "２０３．０．１１３．５",
            "203。0。113。5",
            "Visit 2001:db8::1 now",
            "[2001:db8::1]/login",
            "::ffff:203.0.113.5",
            "fe80::1",
        ] {
            assert!(contains_url_like(bad, None), "{bad:?} must be refused");
        }
        for good in [
            "J. R. R. Tolkien",
            "St. John",
            "ACME B.V.",
            "Verein e.V.",
            "Müller GmbH & Co. KG",
            "Jane Ph.D.",
            "U.S.A.",
            "Anne-Marie O'Neil",
            "Dipl.-Ing. (FH)",
            "Version 2.0",
            "李小龍",
            "ACME 2000",
            "Release 1.2.3",
            "Open 10:30:00",
            "Co::op",
        ] {
            assert!(!contains_url_like(good, None), "{good:?} must stay valid");
        }
        // A company may carry its own e-mail domain, in either spelling.
        assert!(!contains_url_like("Booking.com", Some("booking.com")));
        assert!(!contains_url_like("Booking.com", Some("eu.booking.com")));
        assert!(!contains_url_like("Müller.de", Some("xn--mller-kva.de")));
        assert!(contains_url_like("Booking.com", Some("acme.com")));
        assert!(contains_url_like(
            "Booking.com.evil.example",
            Some("booking.com")
        ));
        assert!(contains_url_like("kbooking.com", Some("booking.com")));
        assert_eq!(
            text_field_error("company", "Booking.com", Some("booking.com")),
            None
        );
        assert_eq!(
            text_field_error("given_name", "Booking.com", Some("booking.com")),
            Some("form.url_like"),
            "only the company may name its domain"
        );
        assert_eq!(
            text_field_error("job_title", "CTO at www.evil.example", None),
            Some("form.url_like")
        );
        assert_eq!(
            text_field_error("family_name", &"x".repeat(101), None),
            Some("form.too_long")
        );
        assert_eq!(text_field_error("company", "", None), None);
    }
}
