//! Customer companies, identified by their business e-mail domain.

use sqlx::{Any, Executor};

/// A company's support level (`companies.support_level`, stored as its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SupportLevel {
    /// No support contract.
    None,
    /// Standard support.
    Standard,
    /// Plus (phone support by default).
    Plus,
    /// Priority (phone support by default).
    Priority,
}

impl SupportLevel {
    /// Every level, lowest first.
    pub const ALL: [SupportLevel; 4] = [Self::None, Self::Standard, Self::Plus, Self::Priority];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Standard => "standard",
            Self::Plus => "plus",
            Self::Priority => "priority",
        }
    }
}

impl std::str::FromStr for SupportLevel {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|l| l.as_str() == s).ok_or(())
    }
}

impl std::fmt::Display for SupportLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

super::text_column!(SupportLevel, "companies.support_level");

/// The support levels' names, lowest first.
pub const LEVELS: [&str; 4] = ["none", "standard", "plus", "priority"];

/// A company.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CompanyRow {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The e-mail domain (A-label) its users' addresses belong to.
    pub domain: String,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// none | standard | plus | priority.
    pub support_level: SupportLevel,
    /// Support region.
    pub region: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl CompanyRow {
    /// A new company without support, identified by its e-mail `domain`.
    pub fn new(name: &str, domain: &str, country: Option<&str>, now: i64) -> Self {
        Self {
            id: crate::crypto::random_id(),
            name: name.to_owned(),
            domain: domain.to_owned(),
            country: country.map(str::to_owned),
            support_level: SupportLevel::None,
            region: None,
            created_at: now,
        }
    }
}

const COLUMNS: &str = "id, name, domain, country, support_level, region, created_at";

/// The company owning `domain`: its primary domain or one added later
/// ([`add_domain`]).
///
/// # Errors
/// Database errors.
pub async fn find_by_domain<'e>(
    ex: impl Executor<'e, Database = Any>,
    domain: &str,
) -> sqlx::Result<Option<CompanyRow>> {
    sqlx::query_as(
        "SELECT c.id, c.name, c.domain, c.country, c.support_level, c.region, c.created_at \
         FROM company_domains d JOIN companies c ON c.id = d.company_id WHERE d.domain = $1",
    )
    .bind(domain)
    .fetch_optional(ex)
    .await
}

/// The company with `id`.
///
/// # Errors
/// Database errors.
pub async fn find<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
) -> sqlx::Result<Option<CompanyRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM companies WHERE id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await
}

/// Inserts a company and its primary domain (in one transaction).
///
/// # Errors
/// Database errors (a taken domain is a unique violation).
pub async fn insert(conn: &mut sqlx::AnyConnection, c: &CompanyRow) -> sqlx::Result<()> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query(&format!(
        "INSERT INTO companies ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&c.id)
    .bind(&c.name)
    .bind(&c.domain)
    .bind(&c.country)
    .bind(c.support_level.as_str())
    .bind(&c.region)
    .bind(c.created_at)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO company_domains (domain, company_id, created_at) VALUES ($1, $2, $3)")
        .bind(&c.domain)
        .bind(&c.id)
        .bind(c.created_at)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Serialises changes to the members and invitations of company `id` until the
/// caller's transaction ends (the first write of that transaction: a row lock on
/// PostgreSQL, the write lock on SQLite). `false` if there is no such company.
///
/// # Errors
/// Database errors.
pub async fn lock<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("UPDATE companies SET admin_seq = admin_seq + 1 WHERE id = $1")
        .bind(id)
        .execute(ex)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The e-mail domains of company `id`, primary first, then by name.
///
/// # Errors
/// Database errors.
pub async fn domains<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT d.domain FROM company_domains d JOIN companies c ON c.id = d.company_id \
         WHERE d.company_id = $1 ORDER BY CASE WHEN d.domain = c.domain THEN 0 ELSE 1 END, d.domain",
    )
    .bind(id)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|(d,)| d).collect())
}

/// Adds `domain` to company `id`; `false` if another (or this) company has it.
///
/// # Errors
/// Database errors.
pub async fn add_domain<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    domain: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "INSERT INTO company_domains (domain, company_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (domain) DO NOTHING",
    )
    .bind(domain)
    .bind(id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Removes an added `domain` of company `id` (never its primary domain); `false` if
/// the company has no such added domain.
///
/// # Errors
/// Database errors.
pub async fn remove_domain<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    domain: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "DELETE FROM company_domains WHERE domain = $1 AND company_id = $2 \
         AND domain <> (SELECT c.domain FROM companies c WHERE c.id = $2)",
    )
    .bind(domain)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// All companies, by name.
///
/// # Errors
/// Database errors.
pub async fn list<'e>(ex: impl Executor<'e, Database = Any>) -> sqlx::Result<Vec<CompanyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM companies ORDER BY name, domain"
    ))
    .fetch_all(ex)
    .await
}

/// Sets a company's support level and region; `false` if no company has `domain`.
///
/// # Errors
/// Database errors.
pub async fn set_support<'e>(
    ex: impl Executor<'e, Database = Any>,
    domain: &str,
    level: SupportLevel,
    region: Option<&str>,
) -> sqlx::Result<bool> {
    let r = sqlx::query("UPDATE companies SET support_level = $2, region = $3 WHERE domain = $1")
        .bind(domain)
        .bind(level.as_str())
        .bind(region)
        .execute(ex)
        .await?;
    Ok(r.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_levels_round_trip_and_unknown_ones_are_refused() {
        for level in SupportLevel::ALL {
            assert_eq!(level.as_str().parse::<SupportLevel>(), Ok(level));
        }
        let names: Vec<&str> = SupportLevel::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(names, LEVELS);
        for bad in ["gold", "Plus", ""] {
            assert!(bad.parse::<SupportLevel>().is_err(), "{bad:?}");
        }
    }
}
