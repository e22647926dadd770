//! Plumbing shared by the flows' error enums (domain and HTTP alike, so it imports
//! neither). Every flow's enum has an `Internal` variant (logged, the 500 answer of
//! its audience); [`internal_from!`] folds infrastructure errors into it so that flows
//! write `?` without writing conversions. Domain code (`account/`, `oauth/`,
//! `policy/`) carries infrastructure failures as [`Internal`], never as
//! `anyhow::Error`: anyhow stays in the CLI, start-up and the adapters below the
//! domain (`crypto/`, `outbox/`, `ui/`), whose failures the domain cannot act on.

/// An infrastructure failure a flow cannot act on: the database, a template, a
/// signature, a password hash. Its `Display` is the whole cause chain; the caller
/// logs it and answers with its audience's 500 (error page or `server_error`).
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct Internal(pub(crate) anyhow::Error);

impl Internal {
    /// An internal failure described by `message` (an invariant that did not hold).
    pub fn msg(message: &'static str) -> Self {
        Internal(anyhow::Error::msg(message))
    }
}

/// `internal_from!(Enum: sqlx::Error, Internal, …)`: `From<E> for Enum` for each
/// listed `E`, wrapping it into `Enum::Internal(_)` (whose payload converts from
/// `E`). `internal_from!(Internal: E, …)` makes `E` an [`Internal`].
macro_rules! internal_from {
    (Internal: $($error:ty),+ $(,)?) => {
        $(
            impl From<$error> for Internal {
                fn from(e: $error) -> Self {
                    Internal(anyhow::Error::from(e))
                }
            }
        )+
    };
    ($enum:ident: $($error:ty),+ $(,)?) => {
        $(
            impl From<$error> for $enum {
                fn from(e: $error) -> Self {
                    $enum::Internal(e.into())
                }
            }
        )+
    };
}

pub(crate) use internal_from;

internal_from!(
    Internal: sqlx::Error,
    anyhow::Error,
    serde_json::Error,
    std::string::FromUtf8Error,
);
