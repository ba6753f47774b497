//! The distributed caches (Keycloak's `authenticationSessions`, ...): entries live in
//! [`SEGMENTS`] segments, and each segment has `owners` nodes, picked from the view by
//! rendezvous hashing (xxh3 of the segment and the node name), so every node that holds the
//! same view agrees on them without talking, and a node leaving moves only its own segments.
//!
//! - The first owner (the primary) takes every read and write of its keys. It applies a write,
//!   sends it to the other owners (the backups) and answers only when they acknowledged it, so
//!   a node killed after answering leaves a copy behind.
//! - Any other node forwards the operation to the primary over the private transport; when the
//!   primary does not answer (it died, or is leaving), the caller waits for the next view and
//!   asks the new primary.
//! - When the view changes, every node pushes the entries it holds to their new owners (state
//!   transfer), then drops those it no longer owns. For one failure timeout after a view
//!   change, a primary that misses a key asks every other member for its copy first, so a
//!   request racing the transfer does not see an entry vanish.
//! - A node told to stop hands every entry it holds to the owners of the view without it
//!   before it says goodbye, and refuses operations from then on (the callers retry at the new
//!   owners): a rolling restart loses nothing, even with one owner.
//!
//! Values are opaque bytes: this crate never knows what a login in progress contains.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use xxhash_rust::xxh3::xxh3_64;

use crate::wire::{Member, Message, View};
use crate::{Shared, lock};

/// Segments per cache, as Infinispan's default.
pub const SEGMENTS: u32 = 256;

/// The distributed caches, named as Keycloak's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CacheName {
    /// Logins in progress (`AUTH_SESSION_ID` and its browser tabs).
    AuthenticationSessions,
}

impl CacheName {
    /// Keycloak's name of the cache.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheName::AuthenticationSessions => "authenticationSessions",
        }
    }
}

/// How many copies each cache keeps (Keycloak's `owners`,
/// `--spi-cache-embedded--default--<cache>-owners`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owners {
    /// `authenticationSessions`.
    pub authentication_sessions: usize,
}

impl Owners {
    fn of(&self, cache: CacheName) -> usize {
        match cache {
            CacheName::AuthenticationSessions => self.authentication_sessions,
        }
        .max(1)
    }
}

impl Default for Owners {
    fn default() -> Owners {
        Owners {
            authentication_sessions: 2,
        }
    }
}

/// A stored value and what ordering it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Grows with every write of the key; a conditional write names the version it read.
    pub version: u64,
    /// Expiry, unix seconds: from then on the entry is absent.
    pub expires: i64,
    /// The value, encoded by the caller.
    pub value: Vec<u8>,
}

/// What a write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expect {
    /// Whatever is there.
    Any,
    /// Nothing (an insert).
    Absent,
    /// The entry at this version (a compare-and-set after a read).
    Version(u64),
}

/// An operation on one key, run by its primary owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Op {
    Get,
    Put {
        value: Vec<u8>,
        expires: i64,
        expect: Expect,
    },
    Remove {
        expect: Expect,
    },
}

/// The answer to an [`Op`] (or to a replication or a peek).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Outcome {
    Found(Option<Entry>),
    Written(u64),
    Removed(bool),
    /// The expectation failed; the current version, if any.
    Conflict(Option<u64>),
    /// The receiver is leaving: ask the owner of the next view.
    NotOwner,
    /// A replica was stored (or was older than what the receiver holds).
    Stored,
}

/// A conditional write found something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the entry changed (now at version {current:?})")]
pub struct Conflict {
    /// The version found, `None` when the key is absent.
    pub current: Option<u64>,
}

/// No owner of the key answered in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("distributed cache {cache}: no owner of the key answered")]
pub struct Unavailable {
    /// The cache's name.
    pub cache: &'static str,
}

/// The segment of `key`.
pub(crate) fn segment_of(key: &str) -> u32 {
    u32::try_from(xxh3_64(key.as_bytes()) % u64::from(SEGMENTS)).unwrap_or(0)
}

/// The `n` owners of `segment` among `members`, primary first: the highest rendezvous scores.
pub(crate) fn owners_of<'a>(members: &[&'a Member], segment: u32, n: usize) -> Vec<&'a Member> {
    let mut ranked: Vec<(u64, &Member)> = members
        .iter()
        .map(|m| {
            let mut seed = segment.to_be_bytes().to_vec();
            seed.extend_from_slice(m.name.as_bytes());
            (xxh3_64(&seed), *m)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    ranked.into_iter().take(n).map(|(_, m)| m).collect()
}

type Key = (CacheName, String);

/// The entries this node holds, by segment.
pub(crate) struct Segments {
    owners: Owners,
    segments: Vec<Mutex<HashMap<Key, Entry>>>,
}

fn now_secs() -> i64 {
    crate::now_millis() / 1000
}

impl Segments {
    pub(crate) fn new(owners: Owners) -> Segments {
        Segments {
            owners,
            segments: (0..SEGMENTS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn segment(&self, key: &str) -> &Mutex<HashMap<Key, Entry>> {
        &self.segments[segment_of(key) as usize]
    }

    /// The live entry at `key`.
    fn peek(&self, cache: CacheName, key: &str) -> Option<Entry> {
        let now = now_secs();
        lock(self.segment(key))
            .get(&(cache, key.to_owned()))
            .filter(|e| e.expires > now)
            .cloned()
    }

    /// Runs `op` on this node's copy; with a write, also the state the backups must store.
    fn apply(&self, cache: CacheName, key: &str, op: Op) -> (Outcome, Option<Option<Entry>>) {
        let now = now_secs();
        let mut seg = lock(self.segment(key));
        let k = (cache, key.to_owned());
        if seg.get(&k).is_some_and(|e| e.expires <= now) {
            seg.remove(&k);
        }
        let current = seg.get(&k).map(|e| e.version);
        let matches = |expect: Expect| match expect {
            Expect::Any => true,
            Expect::Absent => current.is_none(),
            Expect::Version(v) => current == Some(v),
        };
        match op {
            Op::Get => (Outcome::Found(seg.get(&k).cloned()), None),
            Op::Put {
                value,
                expires,
                expect,
            } => {
                if !matches(expect) {
                    return (Outcome::Conflict(current), None);
                }
                let entry = Entry {
                    version: current.unwrap_or(0) + 1,
                    expires,
                    value,
                };
                let version = entry.version;
                seg.insert(k, entry.clone());
                (Outcome::Written(version), Some(Some(entry)))
            }
            Op::Remove { expect } => {
                if current.is_none() {
                    return (Outcome::Removed(false), None);
                }
                if !matches(expect) {
                    return (Outcome::Conflict(current), None);
                }
                seg.remove(&k);
                (Outcome::Removed(true), Some(None))
            }
        }
    }

    /// Stores a copy sent by an owner: the newer version wins; `None` removes.
    fn store(&self, cache: CacheName, key: &str, entry: Option<Entry>, version: u64) {
        let mut seg = lock(self.segment(key));
        let k = (cache, key.to_owned());
        let held = seg.get(&k).map_or(0, |e| e.version);
        match entry {
            Some(e) if e.version > held => {
                seg.insert(k, e);
            }
            None if held <= version => {
                seg.remove(&k);
            }
            _ => {}
        }
    }

    /// Every live entry held, with its key.
    fn all(&self) -> Vec<(CacheName, String, Entry)> {
        let now = now_secs();
        self.segments
            .iter()
            .flat_map(|s| {
                lock(s)
                    .iter()
                    .filter(|(_, e)| e.expires > now)
                    .map(|((c, k), e)| (*c, k.clone(), e.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Drops `key` if it is still at `version` (nothing wrote it since it was handed over).
    fn drop_if(&self, cache: CacheName, key: &str, version: u64) {
        let mut seg = lock(self.segment(key));
        let k = (cache, key.to_owned());
        if seg.get(&k).is_some_and(|e| e.version == version) {
            seg.remove(&k);
        }
    }

    /// Removes expired entries; the count removed.
    fn sweep(&self) -> usize {
        let now = now_secs();
        self.segments
            .iter()
            .map(|s| {
                let mut s = lock(s);
                let before = s.len();
                s.retain(|_, e| e.expires > now);
                before - s.len()
            })
            .sum()
    }

    /// Each cache's copies and the entries held here.
    pub(crate) fn status(&self) -> Vec<crate::DistributedCache> {
        let cache = CacheName::AuthenticationSessions;
        vec![crate::DistributedCache {
            name: cache.as_str(),
            owners: self.owners.of(cache),
            entries: self.count(cache),
        }]
    }

    /// Entries held per cache.
    pub(crate) fn count(&self, cache: CacheName) -> usize {
        self.segments
            .iter()
            .map(|s| lock(s).keys().filter(|(c, _)| *c == cache).count())
            .sum()
    }
}

/// Removes expired entries every minute, for as long as the segments exist.
pub(crate) fn spawn_sweeper(segments: &Arc<Segments>) {
    // Outside a runtime (a synchronous unit test) there is nothing to sweep for long.
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = Arc::downgrade(segments);
    runtime.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        every.tick().await;
        loop {
            every.tick().await;
            let Some(segments) = weak.upgrade() else {
                return;
            };
            let gone = segments.sweep();
            if gone > 0 {
                tracing::debug!("distributed caches: {gone} expired entries removed");
            }
        }
    });
}

/// The distributed caches as the services see them: one API, clustered or not.
#[derive(Clone)]
pub struct Caches {
    segments: Arc<Segments>,
    cluster: Option<Arc<Shared>>,
}

impl Caches {
    /// Caches of a node outside any cluster (`--cache local`): this node owns every segment.
    pub fn local() -> Caches {
        let segments = Arc::new(Segments::new(Owners::default()));
        spawn_sweeper(&segments);
        Caches {
            segments,
            cluster: None,
        }
    }

    pub(crate) fn clustered(shared: Arc<Shared>) -> Caches {
        Caches {
            segments: shared.dist.clone(),
            cluster: Some(shared),
        }
    }

    /// The live entry at `key`.
    pub async fn get(&self, cache: CacheName, key: &str) -> Result<Option<Entry>, Unavailable> {
        match self.run(cache, key, Op::Get).await? {
            Outcome::Found(e) => Ok(e.filter(|e| e.expires > now_secs())),
            other => unexpected(cache, other),
        }
    }

    /// Stores `value` at `key` until `expires` (unix seconds) if `expect` holds; the new
    /// version.
    pub async fn put(
        &self,
        cache: CacheName,
        key: &str,
        value: Vec<u8>,
        expires: i64,
        expect: Expect,
    ) -> Result<Result<u64, Conflict>, Unavailable> {
        let op = Op::Put {
            value,
            expires,
            expect,
        };
        match self.run(cache, key, op).await? {
            Outcome::Written(v) => Ok(Ok(v)),
            Outcome::Conflict(current) => Ok(Err(Conflict { current })),
            other => unexpected(cache, other),
        }
    }

    /// Removes `key` if `expect` holds; whether there was an entry to remove.
    pub async fn remove(
        &self,
        cache: CacheName,
        key: &str,
        expect: Expect,
    ) -> Result<Result<bool, Conflict>, Unavailable> {
        match self.run(cache, key, Op::Remove { expect }).await? {
            Outcome::Removed(gone) => Ok(Ok(gone)),
            Outcome::Conflict(current) => Ok(Err(Conflict { current })),
            other => unexpected(cache, other),
        }
    }

    /// The node name of `key`'s primary owner (the sticky-session route); `None` outside a
    /// cluster. Before its first view a node keeps what it is given (the transfer after the
    /// view moves it), so it names itself.
    pub fn primary_of(&self, cache: CacheName, key: &str) -> Option<String> {
        let shared = self.cluster.as_ref()?;
        let primary = shared.owners(cache, key).into_iter().next();
        Some(primary.map_or_else(|| shared.me.name.clone(), |m| m.name))
    }

    async fn run(&self, cache: CacheName, key: &str, op: Op) -> Result<Outcome, Unavailable> {
        match &self.cluster {
            None => Ok(self.segments.apply(cache, key, op).0),
            Some(shared) => shared.run(cache, key, op).await,
        }
    }
}

fn unexpected<T>(cache: CacheName, outcome: Outcome) -> Result<T, Unavailable> {
    tracing::warn!(
        "distributed cache {}: unexpected answer {outcome:?}",
        cache.as_str()
    );
    Err(Unavailable {
        cache: cache.as_str(),
    })
}

impl Shared {
    /// The owners of `key` in the current view, primary first; none before the first view. A
    /// leaving node routes as the view without itself.
    fn owners(&self, cache: CacheName, key: &str) -> Vec<Member> {
        let state = lock(&self.state);
        let Some(view) = state.view() else {
            return Vec::new();
        };
        let leaving = self.stopping.load(Ordering::Acquire);
        let members: Vec<&Member> = view
            .members
            .iter()
            .filter(|m| !(leaving && m.name == self.me.name))
            .collect();
        owners_of(&members, segment_of(key), self.dist.owners.of(cache))
            .into_iter()
            .cloned()
            .collect()
    }

    /// Runs `op` at `key`'s primary owner, waiting through view changes for at most three times
    /// the failure timeout (a dead primary is out of the view after one).
    async fn run(
        self: &Arc<Self>,
        cache: CacheName,
        key: &str,
        op: Op,
    ) -> Result<Outcome, Unavailable> {
        let deadline = Instant::now() + self.timeout * 3;
        loop {
            let owners = self.owners(cache, key);
            match owners.first() {
                None => return Ok(self.serve(cache, key, op).await),
                Some(p) if p.name == self.me.name => return Ok(self.serve(cache, key, op).await),
                Some(primary) => {
                    let answer = self
                        .call(&primary.address, self.timeout, |id, from| {
                            Message::CacheRequest {
                                from,
                                id,
                                cache,
                                key: key.to_owned(),
                                op: op.clone(),
                            }
                        })
                        .await;
                    match answer {
                        Some(Outcome::NotOwner) | None => {
                            if Instant::now() >= deadline {
                                tracing::warn!(
                                    "distributed cache {}: owner {} did not answer",
                                    cache.as_str(),
                                    primary.name
                                );
                                return Err(Unavailable {
                                    cache: cache.as_str(),
                                });
                            }
                            tokio::time::sleep(self.interval.min(Duration::from_millis(200))).await;
                        }
                        Some(outcome) => return Ok(outcome),
                    }
                }
            }
        }
    }

    /// Sends the request `make(id, me)` to `addr` and waits for its answer.
    async fn call(
        self: &Arc<Self>,
        addr: &str,
        wait: Duration,
        make: impl FnOnce(u64, String) -> Message,
    ) -> Option<Outcome> {
        let id = self.seq.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.replies).insert(id, tx);
        self.send_msg(addr, &make(id, self.me.name.clone()));
        let answer = tokio::time::timeout(wait, rx).await;
        lock(&self.replies).remove(&id);
        answer.ok().and_then(Result::ok)
    }

    /// Runs `op` here, as the primary: a miss during a state transfer asks the other members
    /// first; a write reaches the backups before the answer.
    async fn serve(self: &Arc<Self>, cache: CacheName, key: &str, op: Op) -> Outcome {
        // A node without a view yet (it just joined) holds nothing, and those that route to
        // it may already have the view that makes it an owner.
        let settling = lock(&self.state).view().is_none()
            || self.elapsed_ms(Instant::now()) < self.transfer_until_ms.load(Ordering::Acquire);
        if settling && self.dist.peek(cache, key).is_none() {
            self.fetch_from_others(cache, key).await;
        }
        let (outcome, replica) = self.dist.apply(cache, key, op);
        if let Some(entry) = replica {
            // A removal wins over any copy a backup holds.
            let version = entry.as_ref().map_or(u64::MAX, |e| e.version);
            let backups: Vec<Member> = self
                .owners(cache, key)
                .into_iter()
                .filter(|m| m.name != self.me.name)
                .collect();
            self.replicate(cache, key, entry, version, &backups).await;
        }
        outcome
    }

    /// Sends a copy to each of `to` and waits for their acknowledgements (at most half the
    /// failure timeout: a backup that died is out of the view soon after).
    async fn replicate(
        self: &Arc<Self>,
        cache: CacheName,
        key: &str,
        entry: Option<Entry>,
        version: u64,
        to: &[Member],
    ) {
        let mut waits = tokio::task::JoinSet::new();
        for m in to {
            let shared = self.clone();
            let (addr, key, entry) = (m.address.clone(), key.to_owned(), entry.clone());
            waits.spawn(async move {
                shared
                    .call(&addr, shared.timeout / 2, |id, from| Message::Replicate {
                        from,
                        id,
                        cache,
                        key,
                        entry,
                        version,
                    })
                    .await
            });
        }
        while waits.join_next().await.is_some() {}
    }

    /// Adopts the newest copy of `key` any other node this one knows holds (the view's
    /// members, and those heard from that a view does not name yet).
    async fn fetch_from_others(self: &Arc<Self>, cache: CacheName, key: &str) {
        let others: Vec<String> = lock(&self.state)
            .addresses()
            .into_iter()
            .map(|(_, addr)| addr)
            .collect();
        let mut asks = tokio::task::JoinSet::new();
        for addr in others {
            let shared = self.clone();
            let key = key.to_owned();
            asks.spawn(async move {
                shared
                    .call(&addr, shared.interval, |id, from| Message::Peek {
                        from,
                        id,
                        cache,
                        key,
                    })
                    .await
            });
        }
        while let Some(answer) = asks.join_next().await {
            if let Ok(Some(Outcome::Found(Some(entry)))) = answer {
                let version = entry.version;
                self.dist.store(cache, key, Some(entry), version);
            }
        }
    }

    /// Handles a distributed-cache message from `from`; the answer, if it needs one.
    pub(crate) async fn serve_message(self: Arc<Self>, msg: Message) {
        let (from, id, outcome) = match msg {
            Message::CacheRequest {
                from,
                id,
                cache,
                key,
                op,
            } => {
                // Counted before the check, so a node that starts leaving after it waits for
                // this write before it hands its entries over.
                self.serving.fetch_add(1, Ordering::AcqRel);
                let outcome = if self.stopping.load(Ordering::Acquire) {
                    Outcome::NotOwner
                } else {
                    self.serve(cache, &key, op).await
                };
                self.serving.fetch_sub(1, Ordering::AcqRel);
                (from, id, outcome)
            }
            Message::Replicate {
                from,
                id,
                cache,
                key,
                entry,
                version,
            } => {
                self.dist.store(cache, &key, entry, version);
                (from, id, Outcome::Stored)
            }
            Message::Peek {
                from,
                id,
                cache,
                key,
            } => (from, id, Outcome::Found(self.dist.peek(cache, &key))),
            _ => return,
        };
        let addr = lock(&self.state).address_of(&from).map(str::to_owned);
        match addr {
            Some(addr) => self.send_msg(&addr, &Message::CacheReply { id, outcome }),
            None => tracing::debug!("cannot answer cache request {id} of unknown node {from}"),
        }
    }

    /// Delivers an answer to the request waiting for it.
    pub(crate) fn answered(&self, id: u64, outcome: Outcome) {
        if let Some(tx) = lock(&self.replies).remove(&id) {
            let _ = tx.send(outcome);
        }
    }

    /// State transfer after `view` was installed: every entry goes to its owners in the view,
    /// and entries this node no longer owns are dropped once handed over.
    pub(crate) async fn rebalance(self: Arc<Self>, view: View) {
        let until = self.elapsed_ms(Instant::now() + self.timeout);
        self.transfer_until_ms.fetch_max(until, Ordering::AcqRel);
        let members: Vec<&Member> = view.members.iter().collect();
        let (moved, dropped) = self.hand_over(&members).await;
        if moved > 0 || dropped > 0 {
            tracing::info!(
                "distributed caches: view {} took {moved} entries to their owners, {dropped} no \
                 longer owned here",
                view.id
            );
        }
    }

    /// Sends every entry this node holds to its owners among `members` (other than this
    /// node), then drops those this node does not own and that did not change meanwhile.
    /// Returns (copies sent, entries dropped).
    pub(crate) async fn hand_over(self: &Arc<Self>, members: &[&Member]) -> (usize, usize) {
        let mut sent = 0;
        let mut dropped = 0;
        let mut waits = tokio::task::JoinSet::new();
        let mut not_mine = Vec::new();
        for (cache, key, entry) in self.dist.all() {
            let owners = owners_of(members, segment_of(&key), self.dist.owners.of(cache));
            let mine = owners.iter().any(|m| m.name == self.me.name);
            for m in owners.iter().filter(|m| m.name != self.me.name) {
                sent += 1;
                let shared = self.clone();
                let (addr, key, entry) = (m.address.clone(), key.clone(), entry.clone());
                waits.spawn(async move {
                    let version = entry.version;
                    shared
                        .call(&addr, shared.timeout, |id, from| Message::Replicate {
                            from,
                            id,
                            cache,
                            key,
                            entry: Some(entry),
                            version,
                        })
                        .await
                        .is_some()
                });
            }
            if !mine {
                not_mine.push((cache, key, entry.version));
            }
        }
        let mut failed = 0;
        while let Some(done) = waits.join_next().await {
            if !matches!(done, Ok(true)) {
                failed += 1;
            }
        }
        if failed > 0 {
            tracing::warn!("distributed caches: {failed} copies were not acknowledged");
        }
        for (cache, key, version) in not_mine {
            self.dist.drop_if(cache, &key, version);
            dropped += 1;
        }
        (sent, dropped)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::wire::tests::member;

    #[test]
    fn owners_are_spread_and_removing_a_node_moves_only_its_segments() {
        let (a, b, c) = (member("a"), member("b"), member("c"));
        let three = [&a, &b, &c];
        let mut primaries: HashMap<String, usize> = HashMap::new();
        for s in 0..SEGMENTS {
            let owners = owners_of(&three, s, 2);
            assert_eq!(owners.len(), 2);
            assert_ne!(owners[0].name, owners[1].name);
            *primaries.entry(owners[0].name.clone()).or_default() += 1;
            // Without c, a segment whose owners did not include c keeps them, in order.
            let two = owners_of(&[&a, &b], s, 2);
            if owners.iter().all(|m| m.name != "c") {
                assert_eq!(owners, two);
            } else {
                // The survivor among the old owners stays an owner.
                let survivor = owners.iter().find(|m| m.name != "c").unwrap();
                assert!(two.contains(survivor));
            }
        }
        for (name, n) in &primaries {
            assert!(
                *n > 40,
                "{name} is primary of only {n} of {SEGMENTS} segments"
            );
        }
        // More owners than members: every member.
        assert_eq!(owners_of(&[&a], 7, 2).len(), 1);
    }

    #[test]
    fn writes_follow_their_expectations_and_replicas_keep_the_newest() {
        let s = Segments::new(Owners::default());
        let c = CacheName::AuthenticationSessions;
        let put = |expect| Op::Put {
            value: b"v".to_vec(),
            expires: now_secs() + 60,
            expect,
        };
        assert_eq!(s.apply(c, "k", put(Expect::Absent)).0, Outcome::Written(1));
        assert_eq!(
            s.apply(c, "k", put(Expect::Absent)).0,
            Outcome::Conflict(Some(1))
        );
        assert_eq!(
            s.apply(c, "k", put(Expect::Version(3))).0,
            Outcome::Conflict(Some(1))
        );
        let (written, replica) = s.apply(c, "k", put(Expect::Version(1)));
        assert_eq!(written, Outcome::Written(2));
        assert_eq!(replica.unwrap().unwrap().version, 2);
        // An older copy (a late transfer) does not overwrite a newer one.
        let old = Entry {
            version: 1,
            expires: now_secs() + 60,
            value: b"old".to_vec(),
        };
        s.store(c, "k", Some(old), 1);
        assert_eq!(s.peek(c, "k").unwrap().version, 2);
        let remove = || Op::Remove {
            expect: Expect::Any,
        };
        assert_eq!(s.apply(c, "k", remove()).0, Outcome::Removed(true));
        assert_eq!(s.apply(c, "k", remove()).0, Outcome::Removed(false));
        // Expired entries are absent, and swept.
        let gone = Op::Put {
            value: vec![],
            expires: now_secs() - 1,
            expect: Expect::Any,
        };
        s.apply(c, "old", gone);
        assert_eq!(s.peek(c, "old"), None);
        assert_eq!(s.sweep(), 1);
        assert_eq!(s.count(c), 0);
    }
}
