//! Outgoing e-mail: rendering (text and HTML parts, in the recipient's language),
//! and the delivery worker that drains the durable outbox over SMTP (lettre) or, in
//! the embedded default, into a folder of `.eml` files whose links it logs.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use lettre::message::{Mailbox, MultiPart};
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor,
};

use crate::clock::Clock;
use crate::config::MailConfig;
use crate::db::outbox::{self, NewMail, OutboxRow};
use crate::db::Db;
use crate::ui::i18n;
use crate::ui::templates;

/// A rendered message.
#[derive(Debug, Clone)]
pub struct RenderedMail {
    /// Subject line.
    pub subject: String,
    /// text/plain part.
    pub text: String,
    /// text/html part.
    pub html: String,
}

impl RenderedMail {
    /// The outbox row for `to`.
    pub fn to<'a>(&'a self, to: &'a str) -> NewMail<'a> {
        NewMail {
            to,
            subject: &self.subject,
            text: &self.text,
            html: &self.html,
        }
    }
}

/// Renders mail `name` (templates `mail/<name>.txt` and `mail/<name>.html`, subject
/// `mail.<name>.subject`) in `lang`.
///
/// # Errors
/// A missing or failing template.
pub fn render(name: &str, lang: &str, ctx: minijinja::Value) -> anyhow::Result<RenderedMail> {
    let ctx = minijinja::context! { lang => lang, ..ctx };
    Ok(RenderedMail {
        subject: i18n::text(lang, &format!("mail.{name}.subject"), &[]),
        text: templates::render(&format!("mail/{name}.txt"), &ctx)?,
        html: templates::render(&format!("mail/{name}.html"), &ctx)?,
    })
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf, AsyncFileTransport<Tokio1Executor>),
}

/// Sends claimed outbox messages.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for `config`: SMTP when `smtp_url` is set, else the outbox folder.
    ///
    /// # Errors
    /// A malformed SMTP URL or From address.
    pub fn new(config: &MailConfig) -> anyhow::Result<Self> {
        let from: Mailbox = config.from.parse().context("mail.from")?;
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("mail.smtp_url")?
                    .timeout(Some(Duration::from_secs(config.timeout_seconds)))
                    .build(),
            ),
            None => Transport::Folder(
                config.outbox_dir.clone(),
                AsyncFileTransport::<Tokio1Executor>::new(&config.outbox_dir),
            ),
        };
        Ok(Self { transport, from })
    }

    /// Sends one message.
    ///
    /// # Errors
    /// The reason the message could not be sent (kept in the outbox for the retry).
    pub async fn send(&self, row: &OutboxRow) -> Result<(), SendError> {
        let to: Mailbox = row
            .recipient
            .parse()
            .map_err(|e| SendError::permanent(format!("bad recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&row.subject)
            .multipart(MultiPart::alternative_plain_html(
                row.text_body.clone(),
                row.html_body.clone(),
            ))
            .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| SendError {
                // A 5xx answer (unknown mailbox, refused) will not change on a retry.
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
            Transport::Folder(dir, file) => {
                create_private_dir(dir)
                    .await
                    .map_err(|e| SendError::transient(e.to_string()))?;
                let id = file
                    .send(message)
                    .await
                    .map_err(|e| SendError::transient(e.to_string()))?;
                let links: Vec<&str> = row
                    .text_body
                    .split_whitespace()
                    .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
                    .collect();
                tracing::info!(
                    file = %dir.join(format!("{id}.eml")).display(),
                    to = %row.recipient,
                    subject = %row.subject,
                    links = ?links,
                    "mail written to the outbox folder"
                );
                Ok(())
            }
        }
    }
}

/// Why a message was not sent.
#[derive(Debug, Clone)]
pub struct SendError {
    /// Whether a retry cannot help (a bad address, a 5xx SMTP answer).
    pub permanent: bool,
    /// What happened.
    pub message: String,
}

impl SendError {
    fn permanent(message: String) -> Self {
        Self {
            permanent: true,
            message,
        }
    }

    fn transient(message: String) -> Self {
        Self {
            permanent: false,
            message,
        }
    }
}

/// Creates the outbox folder readable by its owner only (the files hold one-time
/// secrets until they are read).
async fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).await?;
    }
    Ok(())
}

/// Sends every due message once; returns how many were sent.
///
/// # Errors
/// Database errors (send failures are recorded, not returned).
pub async fn deliver_due(db: &Db, mailer: &Mailer, clock: &dyn Clock) -> anyhow::Result<usize> {
    let mut sent = 0;
    loop {
        let now = clock.now();
        let batch = outbox::claim(db, now, 120, 20).await?;
        if batch.is_empty() {
            return Ok(sent);
        }
        for row in batch {
            match mailer.send(&row).await {
                Ok(()) => {
                    outbox::mark_sent(db, &row.id, clock.now()).await?;
                    sent += 1;
                }
                Err(error) if error.permanent => {
                    tracing::warn!(id = %row.id, error = %error.message, "mail cannot be delivered; given up");
                    outbox::mark_given_up(db, &row.id, &error.message, clock.now()).await?;
                }
                Err(error) => {
                    let next = clock.now() + super::backoff_seconds(row.attempts);
                    tracing::warn!(id = %row.id, attempts = row.attempts + 1, error = %error.message,
                        "mail delivery failed; will retry");
                    outbox::mark_failed(db, &row.id, &error.message, next).await?;
                }
            }
        }
    }
}
