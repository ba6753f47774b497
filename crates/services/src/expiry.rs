//! The expiration task: what has expired leaves the database by itself, as Keycloak's
//! scheduled cleanup removes expired sessions. Every [`PURGE_EVERY`] (the first time one
//! interval after start), one node (the cluster's coordinator, or the node alone) deletes the
//! user sessions every check would refuse (with their client sessions), authorization codes
//! past their replay window, single-use marks and access-token revocations that expired.

use std::time::Duration;

use gatehouse_model::Realm;

use crate::tokens::{SESSION_SKEW, lifespans};
use crate::{ServiceError, Services, now_secs};

/// How often the expired rows are removed (Keycloak's default cleanup interval).
pub(crate) const PURGE_EVERY: Duration = Duration::from_secs(900);

/// The cutoffs of a realm's online or offline sessions at `now`: a session whose
/// `last_refresh` is below the first, or whose `started` is below the second, is refused by
/// every check (`tokens::session_alive`), so deleting it changes no answer. A limit of 0
/// (none) gives a cutoff nothing is below.
pub(crate) fn cutoffs(realm: &Realm, offline: bool, now: i64) -> (i64, i64) {
    let (idle, max) = lifespans(realm, offline);
    let idle_cutoff = if idle > 0 {
        now - i64::from(idle) - SESSION_SKEW
    } else {
        i64::MIN
    };
    // The store reads a maximum cutoff <= 0 as "no maximum".
    let max_cutoff = if max > 0 { now - i64::from(max) } else { 0 };
    (idle_cutoff, max_cutoff)
}

/// What one run removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// User sessions (online and offline), with their client sessions.
    pub sessions: u64,
    /// Authorization codes, single-use marks and token revocations.
    pub markers: u64,
}

impl Services {
    /// Removes what has expired from the database (see the module's doc); what it removed.
    pub async fn purge_expired(&self) -> Result<Purged, ServiceError> {
        let now = now_secs();
        let mut purged = Purged::default();
        let mut tx = self.store().begin().await?;
        let realms = tx.list_realms().await?;
        for realm in &realms {
            for offline in [false, true] {
                let (idle, max) = cutoffs(realm, offline, now);
                purged.sessions += tx
                    .delete_expired_user_sessions(&realm.id, offline, idle, max)
                    .await?;
            }
        }
        purged.markers += tx.purge_auth_codes(now).await?;
        purged.markers += tx.purge_single_use(now).await?;
        purged.markers += tx.purge_revoked_tokens(now).await?;
        tx.commit().await?;
        Ok(purged)
    }

    /// Runs [`Services::purge_expired`] every [`PURGE_EVERY`] for as long as the runtime
    /// lives; in a cluster only the coordinator does, so the nodes do not repeat each other.
    pub fn start_expiration_task(&self) {
        let services = self.clone();
        tokio::spawn(async move {
            // The first run waits a whole interval: start-up stays as short as it was.
            let first = tokio::time::Instant::now() + PURGE_EVERY;
            let mut every = tokio::time::interval_at(first, PURGE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let coordinates = services
                    .cluster_status()
                    .is_none_or(|s| s.view.as_ref().is_some_and(|v| v.coordinator == s.me.name));
                if !coordinates {
                    continue;
                }
                match services.purge_expired().await {
                    Ok(p) if p == Purged::default() => {}
                    Ok(p) => tracing::info!(
                        "removed {} expired sessions and {} expired codes, marks and revocations",
                        p.sessions,
                        p.markers
                    ),
                    Err(e) => tracing::warn!("cannot remove expired sessions: {e}"),
                }
            }
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tokens::session_alive;
    use gatehouse_model::{RealmId, RealmName, UserId, UserSession, UserSessionId};

    fn session(offline: bool, started: i64, last_refresh: i64) -> UserSession {
        UserSession {
            id: UserSessionId::from("s"),
            offline,
            realm_id: RealmId::new("r".to_owned()),
            user_id: UserId::new("u".to_owned()),
            login_username: "u".into(),
            ip_address: "127.0.0.1".into(),
            auth_method: "openid-connect".into(),
            remember_me: false,
            started,
            last_refresh,
            broker_session_id: None,
            broker_user_id: None,
            notes: Default::default(),
        }
    }

    /// The purge removes only sessions that every check already refuses.
    #[test]
    fn purged_sessions_are_dead_for_every_check() {
        let mut realm = Realm::new(RealmId::new("r".to_owned()), RealmName::new("r").unwrap());
        let now = 1_000_000;
        let mut removed = 0;
        for (idle, max, offline_max_on) in [(1800, 36000, true), (0, 0, false), (60, 0, true)] {
            realm.sso_session_idle_timeout = idle;
            realm.sso_session_max_lifespan = max;
            realm.offline_session_idle_timeout = idle;
            realm.offline_session_max_lifespan = max;
            realm.offline_session_max_lifespan_enabled = offline_max_on;
            for offline in [false, true] {
                let (idle_cut, max_cut) = cutoffs(&realm, offline, now);
                for started in (now - 50_000..=now).step_by(997) {
                    for last in (started..=now).step_by(331) {
                        let s = session(offline, started, last);
                        let purged = last < idle_cut || (max_cut > 0 && started < max_cut);
                        if purged {
                            removed += 1;
                            assert!(
                                !session_alive(&realm, &s, now),
                                "idle {idle} max {max} offline {offline}: {started}/{last}"
                            );
                        }
                    }
                }
            }
        }
        // Sessions past their limits were found and removed.
        assert!(removed > 100, "{removed}");
    }
}
