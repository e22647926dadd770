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

/// The company owning `domain`.
///
/// # Errors
/// Database errors.
pub async fn find_by_domain<'e>(
    ex: impl Executor<'e, Database = Any>,
    domain: &str,
) -> sqlx::Result<Option<CompanyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM companies WHERE domain = $1"
    ))
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

/// Inserts a company.
///
/// # Errors
/// Database errors (a taken domain is a unique violation).
pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, c: &CompanyRow) -> sqlx::Result<()> {
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
    .execute(ex)
    .await?;
    Ok(())
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
