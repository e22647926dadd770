//! Checks of the values that types alone cannot express, one function per section;
//! each error names the offending key.

use anyhow::{bail, Context as _};

use crate::crypto::keys::SigningAlg;

use super::{
    AuthorizeConfig, CodesConfig, Config, HttpConfig, InvitationsConfig, MailConfig,
    PasswordsConfig, RegistrationConfig, RoleDef, SupportConfig, ThrottleConfig,
};

impl Config {
    /// Checks values that types alone cannot, section by section.
    ///
    /// # Errors
    /// Names the first offending key.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.validate_issuer()?;
        self.validate_lifetimes()?;
        self.passwords.validate()?;
        self.registration.validate()?;
        self.mail.validate()?;
        self.codes.validate()?;
        self.support.validate()?;
        self.throttle.validate()?;
        self.http.validate()?;
        self.invitations.validate()?;
        validate_roles(&self.roles)?;
        self.authorize.validate()
    }

    /// `issuer`: an http(s) URL without query, fragment or trailing `/`.
    fn validate_issuer(&self) -> anyhow::Result<()> {
        let issuer = url::Url::parse(&self.issuer).context("issuer is not a URL")?;
        if !matches!(issuer.scheme(), "http" | "https") {
            bail!("issuer must be an http or https URL");
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            bail!("issuer must not have a query or fragment (OIDC Discovery §2)");
        }
        if self.issuer.ends_with('/') {
            bail!("issuer must not end with '/'");
        }
        Ok(())
    }

    /// `tokens.*` and `session.*` lifetimes.
    fn validate_lifetimes(&self) -> anyhow::Result<()> {
        if !(0..=86_400).contains(&self.keys.jwks_max_age_seconds) {
            bail!("keys.jwks_max_age_seconds must be between 0 and 86400");
        }
        if !(0..=3600).contains(&self.keys.publish_margin_seconds) {
            bail!("keys.publish_margin_seconds must be between 0 and 3600");
        }
        if !(0..=365).contains(&self.keys.id_token_hint_days) {
            bail!("keys.id_token_hint_days must be between 0 and 365");
        }
        let publish = self.keys.publish_seconds();
        for alg in SigningAlg::ALL {
            let (every, ahead) = self.keys.schedule(alg);
            let name = |field: &str| {
                let own = alg.as_str().to_ascii_lowercase();
                format!("keys.{field} (or keys.{own}.{field})")
            };
            if !(0..=3650 * 86_400).contains(&every) {
                bail!("{} must be between 0 (off) and 3650", name("rotation_days"));
            }
            // The next key must be published for the whole publishing delay before
            // it activates (crypto::keys::KeyTimings).
            if !(publish..=30 * 86_400).contains(&ahead) {
                bail!(
                    "{} must be between {publish} (the JWKS cache lifetime, two reloads and \
                     the publish margin) and 2592000 (30 days)",
                    name("rotation_ahead_seconds")
                );
            }
            if every > 0 && ahead >= every {
                bail!(
                    "{} must be shorter than {}",
                    name("rotation_ahead_seconds"),
                    name("rotation_days")
                );
            }
        }
        let t = &self.tokens;
        if !(1..=60).contains(&t.code_seconds) {
            bail!("tokens.code_seconds must be between 1 and 60");
        }
        for (name, v) in [
            ("tokens.access_token_seconds", t.access_token_seconds),
            ("tokens.id_token_seconds", t.id_token_seconds),
            (
                "tokens.refresh_token_idle_seconds",
                t.refresh_token_idle_seconds,
            ),
            (
                "tokens.refresh_token_absolute_seconds",
                t.refresh_token_absolute_seconds,
            ),
            ("session.idle_seconds", self.session.idle_seconds),
            ("session.absolute_seconds", self.session.absolute_seconds),
            (
                "session.authorization_request_seconds",
                self.session.authorization_request_seconds,
            ),
        ] {
            if v <= 0 {
                bail!("{name} must be positive");
            }
        }
        if !(0..=60).contains(&t.refresh_token_reuse_grace_seconds) {
            bail!("tokens.refresh_token_reuse_grace_seconds must be between 0 and 60");
        }
        Ok(())
    }
}

impl PasswordsConfig {
    fn validate(&self) -> anyhow::Result<()> {
        let p = self;
        if p.memory_kib < 19 * 1024 || p.iterations < 2 || p.parallelism < 1 {
            bail!("passwords: argon2id parameters below OWASP's minimum (m=19456 KiB, t=2, p=1)");
        }
        if p.min_length < 8 || p.min_length > p.max_length {
            bail!("passwords.min_length must be at least 8 and at most max_length");
        }
        if !(64..=128).contains(&p.max_length) {
            bail!("passwords.max_length must be between 64 and 128");
        }
        Ok(())
    }
}

impl InvitationsConfig {
    fn validate(&self) -> anyhow::Result<()> {
        if !(3600..=30 * 24 * 3600).contains(&self.ttl_seconds) {
            bail!("invitations.ttl_seconds must be between 3600 (1 hour) and 2592000 (30 days)");
        }
        if !(1..=1000).contains(&self.max_per_hour) {
            bail!("invitations.max_per_hour must be between 1 and 1000");
        }
        Ok(())
    }
}

impl RegistrationConfig {
    fn validate(&self) -> anyhow::Result<()> {
        let r = self;
        if r.confirmation_seconds <= 0 || r.one_time_password_seconds <= 0 {
            bail!("registration lifetimes must be positive");
        }
        if let Some(url) = &r.portal_login_url {
            let parsed =
                url::Url::parse(url).context("registration.portal_login_url is not a URL")?;
            if !matches!(parsed.scheme(), "http" | "https") {
                bail!("registration.portal_login_url must be http or https");
            }
        }
        Ok(())
    }
}

impl MailConfig {
    fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                bail!("mail.smtp_url must start with smtp:// or smtps://");
            }
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            bail!("mail.from is not a mailbox (e.g. Name <no-reply@example.com>)");
        }
        Ok(())
    }
}

impl CodesConfig {
    fn validate(&self) -> anyhow::Result<()> {
        let c = self;
        if !(6..=10).contains(&c.digits)
            || !(1..=600).contains(&c.ttl_seconds)
            || !(1..=5).contains(&c.max_attempts)
        {
            bail!("codes: digits 6..=10, ttl_seconds 1..=600, max_attempts 1..=5");
        }
        Ok(())
    }
}

impl SupportConfig {
    fn validate(&self) -> anyhow::Result<()> {
        if !(4..=10).contains(&self.pin_digits) {
            bail!("support.pin_digits must be between 4 and 10");
        }
        let phone = &self.phone_levels;
        for (i, level) in phone.iter().enumerate() {
            if !crate::db::companies::LEVELS
                .iter()
                .skip(1)
                .any(|l| l == level)
                || phone.iter().take(i).any(|l| l == level)
            {
                bail!("support.phone_levels: each of standard, plus, priority at most once (got {level:?})");
            }
        }
        Ok(())
    }
}

impl ThrottleConfig {
    fn validate(&self) -> anyhow::Result<()> {
        let t = self;
        if t.account_free < 1
            || t.account_ip_free < 1
            || t.ip_free < 1
            || t.base_delay_seconds < 1
            || t.max_delay_seconds < t.base_delay_seconds
            || t.max_delay_seconds > 24 * 3600
            || t.window_seconds < 60
        {
            bail!("throttle: counts at least 1, 1 <= base_delay <= max_delay <= 86400, window at least 60");
        }
        Ok(())
    }
}

impl HttpConfig {
    fn validate(&self) -> anyhow::Result<()> {
        if self.max_body_bytes < 1024 || self.max_param_bytes < 256 {
            bail!("http limits are too small");
        }
        let h = self;
        if !(20..=10_000).contains(&h.max_params) {
            bail!("http.max_params must be between 20 and 10000");
        }
        if !(1..=300).contains(&h.header_read_timeout_seconds) {
            bail!("http.header_read_timeout_seconds must be between 1 and 300");
        }
        if !(1..=3600).contains(&h.keep_alive_idle_seconds) {
            bail!("http.keep_alive_idle_seconds must be between 1 and 3600");
        }
        if !(1..=1_000_000).contains(&h.max_connections) {
            bail!("http.max_connections must be between 1 and 1000000");
        }
        Ok(())
    }
}

impl AuthorizeConfig {
    fn validate(&self) -> anyhow::Result<()> {
        let a = self;
        for (name, v) in [
            (
                "authorize.max_pending_per_browser",
                a.max_pending_per_browser,
            ),
            (
                "authorize.max_pending_per_network",
                a.max_pending_per_network,
            ),
            ("authorize.max_pending_per_client", a.max_pending_per_client),
        ] {
            if !(1..=10_000_000).contains(&v) {
                bail!("{name} must be between 1 and 10000000");
            }
        }
        Ok(())
    }
}

/// `roles`: each name a role name (`Role::parse`), unique and not the built-in
/// `super_admin`; labels and descriptions in both languages; at least one client_id.
fn validate_roles(roles: &[RoleDef]) -> anyhow::Result<()> {
    use crate::db::users::Role;
    for (i, def) in roles.iter().enumerate() {
        let name = &def.name;
        let at = format!("roles[{i}] ({name:?})");
        match Role::parse(name) {
            Err(_) => bail!("{at}: name must be 1 to 100 of a-z 0-9 : . _ -"),
            Ok(Role::SuperAdmin) => {
                bail!("{at}: super_admin is built in and cannot be in the catalogue")
            }
            Ok(Role::Named(_)) => {}
        }
        if roles.iter().take(i).any(|r| r.name == *name) {
            bail!("{at}: name is not unique (each role at most once)");
        }
        for (field, text) in [
            ("label.en", &def.label.en),
            ("label.de", &def.label.de),
            ("description.en", &def.description.en),
            ("description.de", &def.description.de),
        ] {
            if text.trim().is_empty() {
                bail!("{at}: {field} must not be empty");
            }
        }
        if def.clients.is_empty() {
            bail!("{at}: clients must name at least one client_id");
        }
        if def.clients.iter().any(|c| c.trim().is_empty()) {
            bail!("{at}: clients must not contain an empty client_id");
        }
    }
    Ok(())
}
