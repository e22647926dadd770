//! E-mail addresses: normalisation (RFC 5321/5322 syntax, lower case, IDNA A-label,
//! no confusable or mixed-script domains) and the business-only policy for
//! self-registration (no free providers, no disposable domains, no role addresses).
//!
//! The lists are vendored in `idp/data/email/` (sources and licenses in SOURCES.md,
//! refreshed by `scripts/refresh-email-lists.sh`) and loaded once per process.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use email_address::{EmailAddress, Options};
use unicode_normalization::UnicodeNormalization as _;
use unicode_security::confusable_detection::skeleton;
use unicode_security::MixedScript as _;

use crate::config::RegistrationConfig;
// Zero-width, bidirectional-control, other format and control characters: the one
// predicate every stored or shown text uses.
use crate::policy::text::is_invisible_or_control;

static FREE: LazyLock<HashSet<String>> =
    LazyLock::new(|| domains(include_str!("../../data/email/free-email-domains.txt")));
static DISPOSABLE: LazyLock<HashSet<String>> = LazyLock::new(|| {
    domains(include_str!(
        "../../data/email/disposable-email-domains.txt"
    ))
});
static DISPOSABLE_WILDCARDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    domains(include_str!(
        "../../data/email/disposable-email-wildcards.txt"
    ))
});
static ROLE: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| lines(include_str!("../../data/email/role-local-parts.txt")).collect());

fn lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// A domain list in the A-label spelling that addresses are checked in (some
/// entries are listed in their Unicode spelling).
fn domains(text: &'static str) -> HashSet<String> {
    lines(text)
        .filter_map(|d| idna::domain_to_ascii(d).ok())
        .collect()
}

/// A syntactically valid, normalised address: local part lower-cased ASCII, domain
/// lower-cased IDNA A-label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedEmail {
    address: String,
    at: usize,
}

impl NormalizedEmail {
    /// `local@domain`.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The local part.
    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The domain (A-label).
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }
}

impl fmt::Display for NormalizedEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

/// Why an address was refused. Each variant has a message for the form field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailRejection {
    /// Not an address per RFC 5321/5322 (or a non-ASCII local part, or too long).
    #[error("not a valid e-mail address")]
    Syntax,
    /// The domain mixes writing systems or imitates a Latin domain, or contains
    /// invisible, bidirectional or control characters.
    #[error("confusable or mixed-script domain")]
    Confusable,
    /// A free e-mail provider.
    #[error("free e-mail provider")]
    FreeProvider,
    /// A disposable (throw-away) domain.
    #[error("disposable e-mail domain")]
    Disposable,
    /// A generic or shared address (info@, support-team@, ...).
    #[error("generic or shared address")]
    RoleAddress,
    /// Refused by the operator's configuration.
    #[error("domain not accepted")]
    Denied,
}

impl EmailRejection {
    /// The i18n key of the message shown on the form.
    pub fn message_key(&self) -> &'static str {
        match self {
            EmailRejection::Syntax => "email.syntax",
            EmailRejection::Confusable => "email.confusable",
            EmailRejection::FreeProvider => "email.free",
            EmailRejection::Disposable => "email.disposable",
            EmailRejection::RoleAddress => "email.role",
            EmailRejection::Denied => "email.denied",
        }
    }
}

/// Normalises an address (trim, lower case, IDNA A-label) and checks its syntax.
///
/// # Errors
/// [`EmailRejection::Syntax`] or [`EmailRejection::Confusable`].
pub fn normalize(raw: &str) -> Result<NormalizedEmail, EmailRejection> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().count() > 254 {
        return Err(EmailRejection::Syntax);
    }
    if raw.chars().any(is_invisible_or_control) {
        return Err(EmailRejection::Confusable);
    }
    let (local, domain) = raw.rsplit_once('@').ok_or(EmailRejection::Syntax)?;
    // Personal business mailboxes: letters, digits and . _ + - ' only. Quoted local
    // parts and the rarer RFC 5322 symbols ("info"@, info~x@) are refused: mail
    // servers treat them inconsistently, which would let role addresses slip through.
    if local.is_empty()
        || !local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-' | b'\''))
    {
        return Err(EmailRejection::Syntax);
    }
    let domain: String = domain.to_lowercase().nfc().collect();
    // Every spelling of a domain gets the same checks: A-labels (`xn--…`) are decoded
    // first, so a look-alike typed as punycode meets the same rules as its Unicode
    // spelling.
    let unicode = to_unicode(&domain)?;
    check_confusable(&unicode)?;
    let ascii_domain = idna::domain_to_ascii(&unicode).map_err(|_| EmailRejection::Syntax)?;
    // A typed A-label must be the one IDNA gives for its U-label (RFC 5890 §2.3.2.1):
    // a non-canonical encoding names another DNS domain than the one checked.
    for label in domain.split('.').filter(|l| l.starts_with(ACE_PREFIX)) {
        if !ascii_domain.split('.').any(|out| out == label) {
            return Err(EmailRejection::Syntax);
        }
    }
    let address = format!("{}@{}", local.to_ascii_lowercase(), ascii_domain);
    let options = Options::default()
        .without_display_text()
        .without_domain_literal()
        .with_required_tld();
    EmailAddress::parse_with_options(&address, options).map_err(|_| EmailRejection::Syntax)?;
    if address.len() > 254 {
        return Err(EmailRejection::Syntax);
    }
    Ok(NormalizedEmail {
        at: local.len(),
        address,
    })
}

/// The ACE prefix of IDNA A-labels (RFC 5890 §2.3.2.1).
const ACE_PREFIX: &str = "xn--";

/// The domain with each A-label (`xn--…`) decoded to Unicode and NFC-normalised;
/// other labels unchanged.
///
/// # Errors
/// [`EmailRejection::Syntax`] for an A-label that is not valid Punycode.
fn to_unicode(domain: &str) -> Result<String, EmailRejection> {
    let labels: Vec<String> = domain
        .split('.')
        .map(|label| match label.strip_prefix(ACE_PREFIX) {
            Some(encoded) => idna::punycode::decode_to_string(encoded)
                .map(|decoded| decoded.nfc().collect())
                .ok_or(EmailRejection::Syntax),
            None => Ok(label.to_owned()),
        })
        .collect::<Result<_, _>>()?;
    Ok(labels.join("."))
}

/// The confusable checks on the Unicode spelling of a domain: no invisible,
/// bidirectional or control characters, no combining mark on an ASCII letter, one
/// script per label, and no non-ASCII label whose confusable skeleton is plain ASCII.
///
/// # Errors
/// [`EmailRejection::Confusable`].
fn check_confusable(domain: &str) -> Result<(), EmailRejection> {
    if domain.is_ascii() {
        return Ok(());
    }
    if domain.chars().any(is_invisible_or_control) {
        return Err(EmailRejection::Confusable);
    }
    // A combining mark on an ASCII letter (i + U+0307 "i̇", or what "İ" lower-cases
    // to) imitates the bare letter; real names use precomposed letters (ü, é).
    let mut previous_ascii = false;
    for c in domain.chars() {
        if previous_ascii && unicode_normalization::char::is_combining_mark(c) {
            return Err(EmailRejection::Confusable);
        }
        previous_ascii = c.is_ascii_alphanumeric();
    }
    for label in domain.split('.') {
        if !label.is_single_script() {
            return Err(EmailRejection::Confusable);
        }
        // A whole-script confusable: a non-ASCII label whose confusable skeleton
        // is plain ASCII (e.g. Cyrillic "аррӏе" for "apple").
        if !label.is_ascii() && skeleton(label).all(|c| c.is_ascii()) {
            return Err(EmailRejection::Confusable);
        }
    }
    Ok(())
}

/// The business-only policy for self-registration.
#[derive(Debug, Clone, Default)]
pub struct EmailPolicy {
    allowed: HashSet<String>,
    denied: HashSet<String>,
}

impl EmailPolicy {
    /// The policy with the operator's allowed and denied domains.
    pub fn new(config: &RegistrationConfig) -> Self {
        let set = |list: &[String]| -> HashSet<String> {
            list.iter()
                .filter_map(|d| idna::domain_to_ascii(d.trim()).ok())
                .collect()
        };
        Self {
            allowed: set(&config.allowed_domains),
            denied: set(&config.denied_domains),
        }
    }

    /// Normalises `raw` and applies the policy: a denied domain, a free or disposable
    /// domain (or a subdomain of one), or a role local part is refused; a domain the
    /// operator allowed skips the free and disposable lists.
    ///
    /// # Errors
    /// The first rule the address breaks.
    pub fn check(&self, raw: &str) -> Result<NormalizedEmail, EmailRejection> {
        let email = normalize(raw)?;
        self.check_domain_rules(email.domain())?;
        if is_role_local_part(email.local_part()) {
            return Err(EmailRejection::RoleAddress);
        }
        Ok(email)
    }

    /// Normalises a bare domain `raw` (trim, lower case, IDNA A-label; the syntax and
    /// confusable checks of an address's domain) and applies the domain rules of
    /// [`EmailPolicy::check`]: denied, disposable and free-mail domains (or their
    /// subdomains) are refused. Returns the A-label spelling.
    ///
    /// # Errors
    /// [`EmailRejection::Syntax`] (also for an `@`), [`EmailRejection::Confusable`],
    /// [`EmailRejection::Denied`], [`EmailRejection::Disposable`],
    /// [`EmailRejection::FreeProvider`].
    pub fn check_domain(&self, raw: &str) -> Result<String, EmailRejection> {
        let raw = raw.trim();
        if raw.is_empty() || raw.contains('@') {
            return Err(EmailRejection::Syntax);
        }
        // The domain of a plain address gets exactly an address's domain checks.
        let email = normalize(&format!("a@{raw}"))?;
        self.check_domain_rules(email.domain())?;
        Ok(email.domain().to_owned())
    }

    /// The domain rules: denied, then (unless allowed) disposable and free.
    fn check_domain_rules(&self, domain: &str) -> Result<(), EmailRejection> {
        if suffixes(domain).any(|d| self.denied.contains(d)) {
            return Err(EmailRejection::Denied);
        }
        if !suffixes(domain).any(|d| self.allowed.contains(d)) {
            // Disposable first: some throw-away services are on the free list too.
            if suffixes(domain).any(|d| DISPOSABLE.contains(d) || DISPOSABLE_WILDCARDS.contains(d))
            {
                return Err(EmailRejection::Disposable);
            }
            if suffixes(domain).any(|d| FREE.contains(d)) {
                return Err(EmailRejection::FreeProvider);
            }
        }
        Ok(())
    }
}

/// `a.b.example.com`, `b.example.com`, `example.com` (never the bare TLD).
fn suffixes(domain: &str) -> impl Iterator<Item = &str> {
    let dots: Vec<usize> = domain.match_indices('.').map(|(i, _)| i).collect();
    let keep = dots.len();
    std::iter::once(domain).chain(
        dots.into_iter()
            .take(keep.saturating_sub(1))
            .map(move |i| &domain[i + 1..]),
    )
}

/// Whether a local part names a role or a shared mailbox rather than a person:
/// after dropping a `+tag`, the whole part (with `.` and `_` read as `-`, or with
/// separators removed) is a known role name, or every separated token is either a
/// role name or a short qualifier (digits, or at most two letters: `info-de`,
/// `support.team`, `sales2`).
pub fn is_role_local_part(local: &str) -> bool {
    let base = local
        .split('+')
        .next()
        .unwrap_or(local)
        .to_ascii_lowercase();
    // Any non-alphanumeric character separates words.
    let dashed: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let joined: String = base.chars().filter(char::is_ascii_alphanumeric).collect();
    if ROLE.contains(dashed.as_str()) || ROLE.contains(joined.as_str()) {
        return true;
    }
    let tokens: Vec<&str> = dashed.split('-').filter(|t| !t.is_empty()).collect();
    let mut any_role = false;
    for token in &tokens {
        let trimmed = token.trim_end_matches(|c: char| c.is_ascii_digit());
        if ROLE.contains(*token) || (!trimmed.is_empty() && ROLE.contains(trimmed)) {
            any_role = true;
        } else if !(token.len() <= 2 || token.chars().all(|c| c.is_ascii_digit())) {
            return false;
        }
    }
    any_role
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> EmailPolicy {
        EmailPolicy::new(&RegistrationConfig {
            allowed_domains: vec!["partner-mail.de".into()],
            denied_domains: vec!["competitor.example".into()],
            ..RegistrationConfig::default()
        })
    }

    #[test]
    fn bare_domains_meet_the_domain_rules_of_an_address() {
        use EmailRejection::*;
        let p = policy();
        assert_eq!(
            p.check_domain(" ACME-Industries.COM "),
            Ok("acme-industries.com".into())
        );
        assert_eq!(
            p.check_domain("müller-gmbh.de"),
            Ok("xn--mller-gmbh-9db.de".into())
        );
        assert_eq!(
            p.check_domain("partner-mail.de"),
            Ok("partner-mail.de".into())
        );
        for (raw, why) in [
            ("gmail.com", FreeProvider),
            ("mailinator.com", Disposable),
            ("competitor.example", Denied),
            ("a@acme.com", Syntax),
            ("", Syntax),
            ("no-tld", Syntax),
            ("acme..com", Syntax),
        ] {
            assert_eq!(p.check_domain(raw), Err(why), "{raw:?}");
        }
    }

    /// The policy table: address, expected outcome (Ok(normalised) or the reason).
    fn policy_rows() -> Vec<(&'static str, Result<&'static str, EmailRejection>)> {
        use EmailRejection::*;
        vec![
            // Accepted business addresses.
            (
                "jane.doe@acme-industries.com",
                Ok("jane.doe@acme-industries.com"),
            ),
            (
                "  Jane.Doe@ACME-Industries.COM ",
                Ok("jane.doe@acme-industries.com"),
            ),
            ("j.smith@igel.com", Ok("j.smith@igel.com")),
            (
                "max.mustermann@müller-gmbh.de",
                Ok("max.mustermann@xn--mller-gmbh-9db.de"),
            ),
            ("anna@bücher.example", Ok("anna@xn--bcher-kva.example")),
            (
                "p.jones+portal@engineering.acme.co.uk",
                Ok("p.jones+portal@engineering.acme.co.uk"),
            ),
            ("li.wei@example.cn", Ok("li.wei@example.cn")),
            ("o'brien@dublin-tech.ie", Ok("o'brien@dublin-tech.ie")),
            ("sales.john@acme.com", Ok("sales.john@acme.com")),
            ("john-it@acme.com", Ok("john-it@acme.com")),
            ("someone@partner-mail.de", Ok("someone@partner-mail.de")),
            (
                "jana.novak@xn--mller-gmbh-9db.de",
                Ok("jana.novak@xn--mller-gmbh-9db.de"),
            ),
            ("dev.lead@acme.com", Err(RoleAddress)),
            // Free providers.
            ("jane@gmail.com", Err(FreeProvider)),
            ("jane@GMAIL.com", Err(FreeProvider)),
            ("jane@googlemail.com", Err(FreeProvider)),
            ("jane@yahoo.com", Err(FreeProvider)),
            ("jane@outlook.com", Err(FreeProvider)),
            ("jane@hotmail.de", Err(FreeProvider)),
            ("jane@gmx.de", Err(FreeProvider)),
            ("jane@web.de", Err(FreeProvider)),
            ("jane@t-online.de", Err(FreeProvider)),
            ("jane@icloud.com", Err(FreeProvider)),
            ("jane@proton.me", Err(FreeProvider)),
            // Disposable.
            ("jane@mailinator.com", Err(Disposable)),
            ("jane@10minutemail.com", Err(Disposable)),
            ("jane@guerrillamail.com", Err(Disposable)),
            ("jane@yopmail.com", Err(Disposable)),
            ("jane@sub.mailinator.com", Err(Disposable)),
            // Role and shared addresses.
            ("info@acme.com", Err(RoleAddress)),
            ("Info@acme.com", Err(RoleAddress)),
            ("info+x@acme.com", Err(RoleAddress)),
            ("contact@acme.com", Err(RoleAddress)),
            ("office@acme.com", Err(RoleAddress)),
            ("admin@acme.com", Err(RoleAddress)),
            ("sales@acme.com", Err(RoleAddress)),
            ("support@acme.com", Err(RoleAddress)),
            ("support-team@acme.com", Err(RoleAddress)),
            ("support.team@acme.com", Err(RoleAddress)),
            ("support_team@acme.com", Err(RoleAddress)),
            ("team@acme.com", Err(RoleAddress)),
            ("hello@acme.com", Err(RoleAddress)),
            ("noreply@acme.com", Err(RoleAddress)),
            ("no-reply@acme.com", Err(RoleAddress)),
            ("info-de@acme.com", Err(RoleAddress)),
            ("sales2@acme.com", Err(RoleAddress)),
            ("kontakt@acme.de", Err(RoleAddress)),
            ("info'@acme.com", Err(RoleAddress)),
            ("_info@acme.com", Err(RoleAddress)),
            ("\"info\"@acme.com", Err(Syntax)),
            ("\"support-team\"@acme.com", Err(Syntax)),
            ("support~team@acme.com", Err(Syntax)),
            ("info!@acme.com", Err(Syntax)),
            ("\"in fo\"@acme.com", Err(Syntax)),
            ("bob@acme-wi\u{307}dgets.example", Err(Confusable)),
            ("jane@GMA\u{130}L.com", Err(Confusable)),
            // Syntax.
            ("", Err(Syntax)),
            ("jane", Err(Syntax)),
            ("jane@", Err(Syntax)),
            ("@acme.com", Err(Syntax)),
            ("jane@@acme.com", Err(Syntax)),
            ("jane doe@acme.com", Err(Syntax)),
            ("jane@acme", Err(Syntax)),
            ("jane@[127.0.0.1]", Err(Syntax)),
            ("Jane <jane@acme.com>", Err(Syntax)),
            ("jäne@acme.com", Err(Syntax)),
            ("jane@acme..com", Err(Syntax)),
            (".jane@acme.com", Err(Syntax)),
            // Confusable, mixed-script, invisible.
            ("jane@аcme.com", Err(Confusable)),
            ("jane@аррӏе.com", Err(Confusable)),
            ("jane@acme\u{200B}.com", Err(Confusable)),
            ("jane@\u{202E}moc.emca", Err(Confusable)),
            ("jane\u{0007}@acme.com", Err(Confusable)),
            // Operator configuration.
            ("jane@competitor.example", Err(Denied)),
            ("jane@eu.competitor.example", Err(Denied)),
            // A list entry in its Unicode spelling.
            ("jane@säkerhetsväst.se", Err(Disposable)),
            // Look-alikes typed as A-labels meet the same rules as their Unicode spelling.
            ("jane@xn--80ak6aa92e.com", Err(Confusable)), // аррӏе
            ("jane@xn--cme-5cd.com", Err(Confusable)),    // Cyrillic а + cme
            ("jane@XN--GMAIL-BGD.com", Err(Confusable)),  // gmai + U+0307 + l
            ("jane@xn--acme-y76a.com", Err(Confusable)),  // acme + zero-width space
            ("jane@xn--skerhetsvst-l8ai.se", Err(Disposable)),
            // Invalid A-labels: not Punycode, or not the canonical encoding.
            ("jane@xn--ab-.com", Err(Syntax)),
            ("jane@xn--acme-.com", Err(Syntax)), // decodes to plain "acme"
            ("jane@xn--muller-gmbh-img.de", Err(Syntax)), // u + U+0308, not NFC
        ]
    }

    #[test]
    fn policy_table() {
        let table = policy_rows();
        assert!(table.len() >= 40);
        let p = policy();
        for (input, expected) in table {
            let got = p.check(input).map(|e| e.to_string());
            assert_eq!(got, expected.map(str::to_owned), "{input:?}");
        }
    }

    /// Other spellings of a row's address: its domain as A-labels (each non-ASCII
    /// label Punycode-encoded, as a user may type it) and both spellings in upper case.
    fn spellings(address: &str) -> Vec<String> {
        let Some((local, domain)) = address.rsplit_once('@') else {
            return Vec::new();
        };
        let unicode: String = domain.to_lowercase().nfc().collect();
        let mut out = vec![format!("{local}@{}", domain.to_ascii_uppercase())];
        if !unicode.is_ascii() {
            let a_labels: Vec<String> = unicode
                .split('.')
                .map(|label| match label.is_ascii() {
                    true => label.to_owned(),
                    false => format!("xn--{}", idna::punycode::encode_str(label).unwrap()),
                })
                .collect();
            let a_labels = a_labels.join(".");
            out.push(format!("{local}@{a_labels}"));
            out.push(format!("{local}@{}", a_labels.to_ascii_uppercase()));
        }
        out
    }

    /// Item 10 of issue 8: every spelling of an address (Unicode, A-label, mixed
    /// case) gets the verdict of the table row, accepted or refused alike.
    #[test]
    fn every_spelling_of_an_address_gets_the_same_verdict() {
        let p = policy();
        let mut a_labels = 0;
        for (input, expected) in policy_rows() {
            for spelling in spellings(input) {
                a_labels += usize::from(spelling.to_lowercase().contains("xn--"));
                let got = p.check(&spelling).map(|e| e.to_string());
                assert_eq!(
                    got,
                    expected.clone().map(str::to_owned),
                    "{spelling:?} (a spelling of {input:?})"
                );
            }
        }
        assert!(a_labels >= 20, "{a_labels} A-label spellings");
    }

    #[test]
    fn list_entries_in_unicode_are_matched_in_their_a_label_spelling() {
        assert!(DISPOSABLE.contains("xn--skerhetsvst-l8ai.se"));
        assert!(DISPOSABLE.iter().all(|d| d.is_ascii()));
        // No entry is lost on the way.
        for text in [
            include_str!("../../data/email/free-email-domains.txt"),
            include_str!("../../data/email/disposable-email-domains.txt"),
            include_str!("../../data/email/disposable-email-wildcards.txt"),
        ] {
            assert!(lines(text).all(|d| idna::domain_to_ascii(d).is_ok()));
        }
    }

    #[test]
    fn the_lists_are_large() {
        assert!(FREE.len() > 1000);
        assert!(DISPOSABLE.len() > 10_000);
        assert!(ROLE.len() > 500);
    }
}
