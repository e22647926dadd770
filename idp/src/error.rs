//! Plumbing shared by the flows' error enums (domain and HTTP alike, so it imports
//! neither): each enum has an `Internal(anyhow::Error)` variant (logged, the 500
//! answer of its audience), and [`internal_from!`] folds infrastructure errors into
//! it so that flows write `?` without writing conversions.

/// `internal_from!(Enum: sqlx::Error, anyhow::Error, …)`: `From<E> for Enum` for each
/// listed `E`, wrapping it into `Enum::Internal(anyhow::Error)`.
macro_rules! internal_from {
    ($enum:ident: $($error:ty),+ $(,)?) => {
        $(
            impl From<$error> for $enum {
                fn from(e: $error) -> Self {
                    $enum::Internal(anyhow::Error::from(e))
                }
            }
        )+
    };
}

pub(crate) use internal_from;
