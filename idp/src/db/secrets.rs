//! Stored secrets sealed under the KEK: the `secrets` table (the MAC root secret),
//! and the sealed columns of other tables, listed for KEK rotation.

use super::Db;

/// Reads the sealed secret `name`.
///
/// # Errors
/// Database errors.
pub async fn find(db: &Db, name: &str) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT sealed FROM secrets WHERE name = $1")
        .bind(name)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|(s,)| s))
}

/// Stores the sealed secret `name` (once: callers hold the start-up lock).
///
/// # Errors
/// Database errors, including an existing `name`.
pub async fn insert(db: &Db, name: &str, sealed: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO secrets (name, sealed) VALUES ($1, $2)")
        .bind(name)
        .bind(sealed)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A column holding values sealed under the KEK.
#[derive(Debug, Clone, Copy)]
pub enum Sealed {
    /// `signing_keys.private_jwe`, by kid.
    SigningKeys,
    /// `users.support_pin`, by user id.
    SupportPins,
    /// `secrets.sealed`, by name.
    Secrets,
}

impl Sealed {
    /// (table, id column, sealed column).
    fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Sealed::SigningKeys => ("signing_keys", "kid", "private_jwe"),
            Sealed::SupportPins => ("users", "id", "support_pin"),
            Sealed::Secrets => ("secrets", "name", "sealed"),
        }
    }

    /// What one value is, for messages: "signing key", "support PIN of user", "secret".
    pub fn describe(self) -> &'static str {
        match self {
            Sealed::SigningKeys => "signing key",
            Sealed::SupportPins => "support PIN of user",
            Sealed::Secrets => "secret",
        }
    }
}

/// Up to `limit` (id, sealed value) pairs of `column` with ids after `after`, in id
/// order (a page; the next starts after the last id).
///
/// # Errors
/// Database errors.
pub async fn list_sealed(
    db: &Db,
    column: Sealed,
    after: &str,
    limit: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    let (table, id, sealed) = column.columns();
    sqlx::query_as(&format!(
        "SELECT {id}, {sealed} FROM {table} WHERE {id} > $1 AND {sealed} IS NOT NULL \
         ORDER BY {id} LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(db.pool())
    .await
}

/// Replaces the sealed value of `id` with `fresh` if it is still `old`; whether it was.
///
/// # Errors
/// Database errors.
pub async fn replace_sealed(
    db: &Db,
    column: Sealed,
    id: &str,
    old: &str,
    fresh: &str,
) -> sqlx::Result<bool> {
    let (table, id_col, sealed) = column.columns();
    let r = sqlx::query(&format!(
        "UPDATE {table} SET {sealed} = $3 WHERE {id_col} = $1 AND {sealed} = $2"
    ))
    .bind(id)
    .bind(old)
    .bind(fresh)
    .execute(db.pool())
    .await?;
    Ok(r.rows_affected() == 1)
}
