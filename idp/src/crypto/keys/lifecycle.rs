//! The key lifecycle: timings, states, staged rotation, the schedule, emergency
//! revocation (see the module above for the model).

use anyhow::anyhow;
use serde::Serialize;

use super::{create_key, Keys, SigningAlg};
use crate::crypto::kek::Kek;
use crate::db::{keys as db_keys, Db};

/// How often every process checks whether the stored keys changed (a revocation, a
/// rotation by another process), in seconds.
pub const RELOAD_POLL_SECONDS: u64 = 2;

/// Lifetime of a back-channel logout token, in seconds (a retired key must outlive
/// the tokens it signed, these included).
pub const LOGOUT_TOKEN_SECONDS: i64 = 120;

/// How long a new key is published before it signs, and a retired one after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTimings {
    /// A rotation's key activates at least this long after it was created: the JWKS
    /// cache lifetime, plus two reload intervals (every process serves it), plus a
    /// minute for clock skew.
    pub publish_seconds: i64,
    /// A retired key stays published this long after it stopped signing: the longest
    /// token lifetime (ID, access, logout token) plus the JWKS cache lifetime and a
    /// reload interval.
    pub retain_seconds: i64,
    /// How often every process re-reads the key set: half the JWKS cache lifetime,
    /// 1 to 60 seconds.
    pub reload_seconds: i64,
}

impl KeyTimings {
    /// The timings for a JWKS cache lifetime of `cache_seconds` and tokens that live
    /// at most `longest_token_seconds`.
    pub fn new(cache_seconds: i64, longest_token_seconds: i64) -> Self {
        let reload_seconds = (cache_seconds / 2).clamp(1, 60);
        Self {
            publish_seconds: cache_seconds + 2 * reload_seconds + 60,
            retain_seconds: longest_token_seconds + cache_seconds + reload_seconds,
            reload_seconds,
        }
    }
}

/// A key's state at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    /// Signing (the newest activated key of its algorithm).
    Active,
    /// Published, verifying only.
    Retired,
    /// No longer published.
    Removed,
}

/// A stored key as the operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// JOSE algorithm.
    pub alg: SigningAlg,
    /// Its state now.
    pub state: KeyState,
    /// Created (Unix seconds).
    pub created_at: i64,
    /// Signs from (Unix seconds).
    pub activates_at: i64,
    /// Stops signing: the next key's activation (Unix seconds), if there is one.
    pub retires_at: Option<i64>,
    /// Leaves the JWKS (Unix seconds), once retired.
    pub removes_at: Option<i64>,
}

/// A rotation's new key.
#[derive(Debug, Clone, Serialize)]
pub struct Rotated {
    /// Its kid.
    pub kid: String,
    /// Its algorithm.
    pub alg: SigningAlg,
    /// When it starts signing (Unix seconds).
    pub activates_at: i64,
}

/// An emergency revocation's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Revoked {
    /// The revoked key.
    pub kid: String,
    /// Its algorithm.
    pub alg: SigningAlg,
    /// The key that signs for `alg` from now on, when the revoked one was signing:
    /// the `next` key activated at once, or a new key.
    pub replacement: Option<String>,
}

/// Why a revocation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// No key has this kid.
    #[error("there is no signing key {0}")]
    Unknown(String),
    /// The key is already revoked.
    #[error("the signing key {0} is already revoked")]
    AlreadyRevoked(String),
    /// Database or key-generation failure.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Why a rotation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// The algorithm already has a `next` key (one at a time).
    #[error("{alg} already has a next key, {kid}, activating at {activates_at}")]
    NextExists {
        /// Its algorithm.
        alg: SigningAlg,
        /// Its kid.
        kid: String,
        /// Its activation.
        activates_at: i64,
    },
    /// Database or key-generation failure.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Keys {
    /// Starts a rotation of `alg`: creates its `next` key, published at once and
    /// activated at `at` or [`KeyTimings::publish_seconds`] from now, whichever is
    /// later; the current key retires then. Runs under the database's start-up lock,
    /// so two processes (or commands) rotating at once create one key.
    ///
    /// # Errors
    /// [`RotateError::NextExists`] when `alg` already has a next key.
    pub async fn rotate(
        &self,
        db: &Db,
        kek: &Kek,
        alg: SigningAlg,
        at: Option<i64>,
    ) -> Result<Rotated, RotateError> {
        let result = db
            .under_startup_lock(async {
                let now = self.clock.now();
                let rows = db_keys::list_published(db)
                    .await
                    .map_err(anyhow::Error::from)?;
                if let Some(next) = rows
                    .iter()
                    .find(|r| r.alg == alg.as_str() && r.activates_at > now)
                {
                    return Err(RotateError::NextExists {
                        alg,
                        kid: next.kid.clone(),
                        activates_at: next.activates_at,
                    });
                }
                let activates_at = at.unwrap_or(0).max(now + self.timings.publish_seconds);
                let kid = create_key(db, kek, alg, now, activates_at).await?;
                Ok(Rotated {
                    kid,
                    alg,
                    activates_at,
                })
            })
            .await;
        let rotated = result?;
        self.reload(db, kek).await?;
        Ok(rotated)
    }

    /// Emergency revocation of `kid`: it leaves the JWKS and this process's key set at
    /// once (every other process within [`RELOAD_POLL_SECONDS`]), so tokens it signed
    /// stop verifying at UserInfo, introspection and logout. If it was signing, its
    /// algorithm's `next` key is activated at once, or a new key is created active.
    /// Runs under the start-up lock.
    ///
    /// # Errors
    /// [`RevokeError::Unknown`], [`RevokeError::AlreadyRevoked`].
    pub async fn revoke(&self, db: &Db, kek: &Kek, kid: &str) -> Result<Revoked, RevokeError> {
        let result = db
            .under_startup_lock(async {
                let now = self.clock.now();
                let rows = db_keys::list_published(db)
                    .await
                    .map_err(anyhow::Error::from)?;
                let Some(row) = rows.iter().find(|r| r.kid == kid) else {
                    return Err(
                        match db_keys::is_revoked(db, kid)
                            .await
                            .map_err(anyhow::Error::from)?
                        {
                            Some(true) => RevokeError::AlreadyRevoked(kid.to_owned()),
                            _ => RevokeError::Unknown(kid.to_owned()),
                        },
                    );
                };
                let alg = SigningAlg::parse(&row.alg)
                    .ok_or_else(|| anyhow!("key {kid} has the unknown algorithm {}", row.alg))?;
                let signing = rows
                    .iter()
                    .filter(|r| r.alg == row.alg && r.activates_at <= now)
                    .max_by_key(|r| (r.activates_at, r.created_at, r.kid.clone()))
                    .is_some_and(|active| active.kid == kid);
                let mut replacement = None;
                if signing {
                    let next = rows
                        .iter()
                        .filter(|r| r.alg == row.alg && r.activates_at > now)
                        .min_by_key(|r| (r.activates_at, r.created_at, r.kid.clone()));
                    replacement = Some(match next {
                        Some(next) => {
                            db_keys::activate_at(db, &next.kid, now)
                                .await
                                .map_err(anyhow::Error::from)?;
                            next.kid.clone()
                        }
                        None => create_key(db, kek, alg, now, now).await?,
                    });
                }
                db_keys::revoke(db, kid, now)
                    .await
                    .map_err(anyhow::Error::from)?;
                tracing::warn!(%kid, %alg, ?replacement, "revoked a signing key");
                Ok(Revoked {
                    kid: kid.to_owned(),
                    alg,
                    replacement,
                })
            })
            .await;
        let revoked = result?;
        self.reload(db, kek).await?;
        Ok(revoked)
    }

    /// Reloads the key set if the stored keys changed since the last call (a cheap
    /// summary query); `last` carries the summary between calls.
    ///
    /// # Errors
    /// Database or decryption errors; the previous set stays in use.
    pub async fn reload_if_changed(
        &self,
        db: &Db,
        kek: &Kek,
        last: &mut Option<(i64, i64, i64)>,
    ) -> anyhow::Result<bool> {
        let version = db_keys::version(db).await?;
        if *last == Some(version) {
            return Ok(false);
        }
        self.reload(db, kek).await?;
        *last = Some(version);
        Ok(true)
    }

    /// The automatic schedule: for each algorithm whose active key has signed for
    /// `every_seconds` minus `ahead_seconds` and that has no `next` key, starts a
    /// rotation whose key activates `every_seconds` after the active one did (so it
    /// is published `ahead_seconds` before). Safe to run on every process at once:
    /// [`Self::rotate`]'s lock and its one-`next`-key rule let exactly one create the
    /// key; the others skip. Returns the rotations this call started.
    ///
    /// # Errors
    /// Database or key-generation failures.
    pub async fn rotate_due(
        &self,
        db: &Db,
        kek: &Kek,
        every_seconds: i64,
        ahead_seconds: i64,
    ) -> anyhow::Result<Vec<Rotated>> {
        let mut started = Vec::new();
        if every_seconds <= 0 {
            return Ok(started);
        }
        let now = self.clock.now();
        let keys = self.list(db).await?;
        for alg in SigningAlg::ALL {
            let has_next = keys
                .iter()
                .any(|k| k.alg == alg && k.state == KeyState::Next);
            let Some(active) = keys
                .iter()
                .filter(|k| k.alg == alg && k.state == KeyState::Active)
                .max_by_key(|k| k.activates_at)
            else {
                continue;
            };
            let due = active.activates_at + every_seconds - ahead_seconds;
            if has_next || now < due {
                continue;
            }
            match self
                .rotate(db, kek, alg, Some(active.activates_at + every_seconds))
                .await
            {
                Ok(r) => started.push(r),
                Err(RotateError::NextExists { .. }) => {}
                Err(RotateError::Internal(e)) => return Err(e),
            }
        }
        Ok(started)
    }

    /// Every stored key with its state now, in activation order per algorithm.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list(&self, db: &Db) -> anyhow::Result<Vec<KeyInfo>> {
        let rows = db_keys::list_published(db).await?;
        let now = self.clock.now();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(alg) = SigningAlg::parse(&row.alg) else {
                continue;
            };
            let retires_at = successor(&rows, row).map(|n| n.activates_at);
            let removes_at = retires_at.map(|t| t + self.timings.retain_seconds);
            let state = match (retires_at, removes_at) {
                _ if row.activates_at > now => KeyState::Next,
                (_, Some(gone)) if gone <= now => KeyState::Removed,
                (Some(retired), _) if retired <= now => KeyState::Retired,
                _ => KeyState::Active,
            };
            out.push(KeyInfo {
                kid: row.kid.clone(),
                alg,
                state,
                created_at: row.created_at,
                activates_at: row.activates_at,
                retires_at,
                removes_at,
            });
        }
        Ok(out)
    }
}

/// The key of `row`'s algorithm that activates next after it, if any.
pub(super) fn successor<'a>(
    rows: &'a [db_keys::KeyRow],
    row: &db_keys::KeyRow,
) -> Option<&'a db_keys::KeyRow> {
    rows.iter()
        .filter(|r| r.alg == row.alg && r.kid != row.kid)
        .filter(|r| {
            (r.activates_at, r.created_at, &r.kid) > (row.activates_at, row.created_at, &row.kid)
        })
        .min_by_key(|r| (r.activates_at, r.created_at, r.kid.clone()))
}
