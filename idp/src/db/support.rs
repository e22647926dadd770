//! Support PINs, stored sealed under the KEK.

use super::Db;

/// The user's sealed PIN, if one was set.
///
/// # Errors
/// Database errors.
pub async fn sealed_pin(db: &Db, user_id: &str) -> sqlx::Result<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT support_pin FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.and_then(|(p,)| p))
}

/// Stores a sealed PIN; with `only_if_absent`, keeps an existing one (first writer
/// wins when two requests create a PIN at once).
///
/// # Errors
/// Database errors.
pub async fn store_pin(
    db: &Db,
    user_id: &str,
    sealed: &str,
    only_if_absent: bool,
) -> sqlx::Result<()> {
    let sql = if only_if_absent {
        "UPDATE users SET support_pin = $2 WHERE id = $1 AND support_pin IS NULL"
    } else {
        "UPDATE users SET support_pin = $2 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(user_id)
        .bind(sealed)
        .execute(db.pool())
        .await?;
    Ok(())
}
