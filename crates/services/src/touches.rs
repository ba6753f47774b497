//! Session timestamps, written in batches. A refresh moves its user and client sessions'
//! `last_refresh` forward and nothing else; as Keycloak 26 does for its persistent sessions,
//! those writes wait here and go to the database together every [`FLUSH_EVERY`], so a refresh
//! without refresh-token rotation writes nothing itself. This node reads its own pending
//! timestamps ([`Touches::last_refresh`]); another node sees them at most one interval late,
//! which only shortens an idle timeout by that much. A clean stop flushes; a killed node loses
//! at most one interval of timestamps, never a session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use gatehouse_model::{ClientUuid, UserSessionId};
use gatehouse_store::{Store, StoreError};

/// How often pending timestamps are written.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The newest timestamps of one user session (online or offline) and of its client sessions.
#[derive(Debug, Default)]
struct Pending {
    user: i64,
    clients: HashMap<ClientUuid, i64>,
}

/// Timestamps not yet written, by `(user session, offline)`.
#[derive(Debug, Default)]
pub(crate) struct Touches {
    pending: Mutex<HashMap<(UserSessionId, bool), Pending>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Touches {
    /// A new `Touches` whose pending timestamps a background task writes to `store` every
    /// [`FLUSH_EVERY`] (outside a runtime, nothing flushes by itself: call [`Touches::flush`]).
    pub(crate) fn start(store: Store) -> Arc<Touches> {
        let touches = Arc::new(Touches::default());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(flush_loop(Arc::downgrade(&touches), store));
        }
        touches
    }

    /// Remembers that the session and its client session were used at `at` (unix seconds).
    pub(crate) fn record(
        &self,
        session: &UserSessionId,
        offline: bool,
        client: &ClientUuid,
        at: i64,
    ) {
        let mut pending = lock(&self.pending);
        let p = pending.entry((session.clone(), offline)).or_default();
        p.user = p.user.max(at);
        let c = p.clients.entry(client.clone()).or_default();
        *c = (*c).max(at);
    }

    /// The pending `last_refresh` of a user session, if one waits.
    pub(crate) fn last_refresh(&self, session: &UserSessionId, offline: bool) -> Option<i64> {
        lock(&self.pending)
            .get(&(session.clone(), offline))
            .map(|p| p.user)
    }

    /// Writes every pending timestamp in one transaction (never moving one back); how many
    /// user sessions it touched. On failure the timestamps wait for the next flush.
    pub(crate) async fn flush(&self, store: &Store) -> Result<usize, StoreError> {
        let batch: Vec<((UserSessionId, bool), Pending)> = lock(&self.pending).drain().collect();
        if batch.is_empty() {
            return Ok(0);
        }
        let written = async {
            let mut tx = store.begin().await?;
            for ((session, offline), p) in &batch {
                tx.touch_user_session(session, *offline, p.user).await?;
                for (client, at) in &p.clients {
                    tx.touch_client_session(session, *offline, client, *at)
                        .await?;
                }
            }
            tx.commit().await
        }
        .await;
        match written {
            Ok(()) => Ok(batch.len()),
            Err(e) => {
                for ((session, offline), p) in batch {
                    for (client, at) in p.clients {
                        self.record(&session, offline, &client, at);
                    }
                    let mut pending = lock(&self.pending);
                    let entry = pending.entry((session, offline)).or_default();
                    entry.user = entry.user.max(p.user);
                }
                Err(e)
            }
        }
    }
}

async fn flush_loop(touches: Weak<Touches>, store: Store) {
    let mut every = tokio::time::interval(FLUSH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(touches) = touches.upgrade() else {
            return;
        };
        if let Err(e) = touches.flush(&store).await {
            tracing::warn!("cannot write session timestamps (kept for the next try): {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_timestamp_waits_per_session_and_client() {
        let touches = Touches::default();
        let (s, other) = (UserSessionId::from("s"), UserSessionId::from("other"));
        let (a, b) = (
            ClientUuid::new("a".to_owned()),
            ClientUuid::new("b".to_owned()),
        );
        touches.record(&s, false, &a, 10);
        touches.record(&s, false, &b, 30);
        // A slower request with an older time does not move it back.
        touches.record(&s, false, &a, 20);
        touches.record(&s, false, &a, 15);
        assert_eq!(touches.last_refresh(&s, false), Some(30));
        assert_eq!(touches.last_refresh(&s, true), None);
        assert_eq!(touches.last_refresh(&other, false), None);
        let pending = lock(&touches.pending);
        let p = &pending[&(s, false)];
        assert_eq!((p.clients[&a], p.clients[&b]), (20, 30));
    }
}
