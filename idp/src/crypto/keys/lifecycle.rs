//! The key lifecycle: timings, states, staged rotation, the schedule, emergency
//! revocation (see the module above for the model).

use anyhow::anyhow;
use serde::Serialize;
use serde_json::json;

use super::{create_key, Keys, SigningAlg};
use crate::crypto::kek::Kek;
use crate::db::{audit, keys as db_keys, Db};

/// How often every process checks whether the stored keys changed (a revocation, a
/// rotation by another process), in seconds.
pub const RELOAD_POLL_SECONDS: u64 = 2;

/// Lifetime of a back-channel logout token, in seconds (a retired key must outlive
/// the tokens it signed, these included).
pub const LOGOUT_TOKEN_SECONDS: i64 = 120;

/// How long a new key is published before it signs, and a retired one after (the
/// configuration computes them: `KeysConfig::publish_seconds` and the like).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTimings {
    /// A rotation's key activates at least this long after it was created: the JWKS
    /// cache lifetime, plus two reload intervals (every process serves it), plus the
    /// publish margin for clock skew (a minute by default).
    pub publish_seconds: i64,
    /// A retired key stays published this long after it stopped signing: the longest
    /// token lifetime (ID, access, logout token) plus the JWKS cache lifetime and a
    /// reload interval.
    pub retain_seconds: i64,
    /// How often every process re-reads the key set: half the JWKS cache lifetime,
    /// 1 to 60 seconds.
    pub reload_seconds: i64,
    /// How long after leaving the JWKS a key's ID tokens are still taken as
    /// `id_token_hint` (`keys.id_token_hint_days`), in seconds.
    pub hint_seconds: i64,
}

/// A key's state at a given time, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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

impl KeyState {
    /// The lowercase name (`next`, `active`, `retired`, `removed`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Removed => "removed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Next, Self::Active, Self::Retired, Self::Removed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// The audit action of entering this state.
    fn action(self) -> &'static str {
        match self {
            KeyState::Next => "key.created",
            KeyState::Active => "key.activated",
            KeyState::Retired => "key.retired",
            KeyState::Removed => "key.removed",
        }
    }
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
    /// Its ID tokens stop being taken as `id_token_hint` (Unix seconds), once
    /// retired.
    pub hint_until: Option<i64>,
    /// The last state recorded in the audit trail.
    #[serde(skip)]
    recorded: Option<KeyState>,
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
    /// No replacement was allowed and the key is the only one of its algorithm that
    /// signs or will sign.
    #[error(
        "{kid} is the last usable {alg} key: revoking it without a replacement would leave \
         {alg} without a signing key; allow a replacement (a new key, active at once) or \
         rotate first"
    )]
    LastUsable {
        /// The key.
        kid: String,
        /// Its algorithm.
        alg: SigningAlg,
    },
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

/// Who asked for a key change, for the audit trail: `cli:<user>`,
/// `operator:<username>` or `system:schedule`.
pub type Actor<'a> = &'a str;

/// The audit actor of time-driven transitions (activation, retirement, removal) and
/// of scheduled rotations.
pub const SCHEDULE_ACTOR: &str = "system:schedule";

impl Keys {
    /// Starts a rotation of `alg`: creates its `next` key, published at once and
    /// activated at `at` or [`KeyTimings::publish_seconds`] from now, whichever is
    /// later; the current key retires then. Runs under the database's start-up lock,
    /// so two processes (or commands) rotating at once create one key. Records
    /// `key.created` by `actor`.
    ///
    /// # Errors
    /// [`RotateError::NextExists`] when `alg` already has a next key.
    pub async fn rotate(
        &self,
        db: &Db,
        kek: &Kek,
        alg: SigningAlg,
        at: Option<i64>,
        actor: Actor<'_>,
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
                let details = json!({ "alg": alg.as_str(), "activates_at": activates_at });
                audit::record(db.pool(), now, actor, "key.created", &kid, &details)
                    .await
                    .map_err(anyhow::Error::from)?;
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
    /// algorithm's `next` key is activated at once, or, when `allow_new_key`, a new
    /// key is created active. Runs under the start-up lock; records `key.revoked`
    /// (and the replacement's `key.activated`) by `actor`.
    ///
    /// # Errors
    /// [`RevokeError::Unknown`], [`RevokeError::AlreadyRevoked`], and
    /// [`RevokeError::LastUsable`] when the key signs, no `next` key exists and
    /// `allow_new_key` is false.
    pub async fn revoke(
        &self,
        db: &Db,
        kek: &Kek,
        kid: &str,
        allow_new_key: bool,
        actor: Actor<'_>,
    ) -> Result<Revoked, RevokeError> {
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
                let next = rows
                    .iter()
                    .filter(|r| r.alg == row.alg && r.activates_at > now)
                    .min_by_key(|r| (r.activates_at, r.created_at, r.kid.clone()));
                if signing && next.is_none() && !allow_new_key {
                    return Err(RevokeError::LastUsable {
                        kid: kid.to_owned(),
                        alg,
                    });
                }
                let mut replacement = None;
                if signing {
                    let new_kid = match next {
                        Some(next) => {
                            db_keys::activate_at(db, &next.kid, now)
                                .await
                                .map_err(anyhow::Error::from)?;
                            next.kid.clone()
                        }
                        None => {
                            let fresh = create_key(db, kek, alg, now, now).await?;
                            let details = json!({ "alg": alg.as_str(), "activates_at": now });
                            audit::record(db.pool(), now, actor, "key.created", &fresh, &details)
                                .await
                                .map_err(anyhow::Error::from)?;
                            fresh
                        }
                    };
                    self.record_transition(db, &new_kid, alg, KeyState::Active, now, actor)
                        .await?;
                    replacement = Some(new_kid);
                }
                db_keys::revoke(db, kid, now)
                    .await
                    .map_err(anyhow::Error::from)?;
                let details = json!({ "alg": alg.as_str(), "replacement": replacement });
                audit::record(db.pool(), now, actor, "key.revoked", kid, &details)
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

    /// The automatic schedule: for each algorithm whose `schedule(alg)` gives a period
    /// `every` > 0 and a publish-ahead time `ahead` (seconds), whose active key has
    /// signed for `every - ahead` and that has no `next` key, starts a rotation whose
    /// key activates `every` after the active one did (so it is published `ahead`
    /// before). Safe to run on every process at once: [`Self::rotate`]'s lock and its
    /// one-`next`-key rule let exactly one create the key; the others skip. Returns
    /// the rotations this call started (recorded by [`SCHEDULE_ACTOR`]).
    ///
    /// # Errors
    /// Database or key-generation failures.
    pub async fn rotate_due(
        &self,
        db: &Db,
        kek: &Kek,
        schedule: impl Fn(SigningAlg) -> (i64, i64),
    ) -> anyhow::Result<Vec<Rotated>> {
        let mut started = Vec::new();
        let now = self.clock.now();
        let keys = self.list(db).await?;
        for alg in SigningAlg::ALL {
            let (every, ahead) = schedule(alg);
            if every <= 0 {
                continue;
            }
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
            if has_next || now < active.activates_at + every - ahead {
                continue;
            }
            let at = Some(active.activates_at + every);
            match self.rotate(db, kek, alg, at, SCHEDULE_ACTOR).await {
                Ok(r) => started.push(r),
                Err(RotateError::NextExists { .. }) => {}
                Err(RotateError::Internal(e)) => return Err(e),
            }
        }
        Ok(started)
    }

    /// Records in the audit trail every activation, retirement and removal that time
    /// has brought about and no process has recorded yet, each at the time it
    /// happened, by [`SCHEDULE_ACTOR`]. Safe on every process at once: each
    /// transition is claimed with a compare-and-set on the key's recorded state, so
    /// it is recorded exactly once. Returns how many it recorded.
    ///
    /// # Errors
    /// Database errors.
    pub async fn record_transitions(&self, db: &Db) -> anyhow::Result<usize> {
        let mut recorded = 0;
        for key in self.list(db).await? {
            let mut from = key.recorded;
            for to in [KeyState::Active, KeyState::Retired, KeyState::Removed] {
                if to > key.state || from.is_some_and(|f| f >= to) {
                    continue;
                }
                let at = match to {
                    KeyState::Retired => key.retires_at,
                    KeyState::Removed => key.removes_at,
                    _ => Some(key.activates_at),
                }
                .unwrap_or(key.activates_at);
                let claimed = db_keys::advance_recorded(
                    db,
                    &key.kid,
                    from.map(KeyState::as_str),
                    to.as_str(),
                )
                .await?;
                if !claimed {
                    // Another process recorded it (and perhaps more): it carries on.
                    break;
                }
                let details = json!({ "alg": key.alg.as_str(), "recorded_at": self.clock.now() });
                audit::record(
                    db.pool(),
                    at,
                    SCHEDULE_ACTOR,
                    to.action(),
                    &key.kid,
                    &details,
                )
                .await?;
                recorded += 1;
                from = Some(to);
            }
        }
        Ok(recorded)
    }

    /// Records `kid` entering state `to` at `at` by `actor`, unless recorded already.
    async fn record_transition(
        &self,
        db: &Db,
        kid: &str,
        alg: SigningAlg,
        to: KeyState,
        at: i64,
        actor: Actor<'_>,
    ) -> anyhow::Result<()> {
        for from in [None, Some(KeyState::Next)] {
            if db_keys::advance_recorded(db, kid, from.map(KeyState::as_str), to.as_str()).await? {
                let details = json!({ "alg": alg.as_str() });
                audit::record(db.pool(), at, actor, to.action(), kid, &details).await?;
                break;
            }
        }
        Ok(())
    }

    /// Every stored key that is not revoked, with its state now, in activation order.
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
                hint_until: removes_at.map(|t| t + self.timings.hint_seconds),
                recorded: row.recorded_state.as_deref().and_then(KeyState::parse),
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
