//! Bounded per-node caches of what every request reads (realms, clients, users, the scope plan
//! of a client and the roles of a user), in front of the database.
//!
//! Correctness rests on one rule: an entry is served only to a reader that saw the same cache
//! revision it was loaded under. Every transaction that changes cached rows moves the revision
//! on atomically with the change (`store::Tx::commit`), on whatever node it runs, and a reader
//! reads the revision before it loads; so an entry is never older than the revision it carries,
//! a write on any node is seen on the very next request of every node, and a read that raced
//! with a write cannot put stale data back. In a cluster the revision is pushed to every node
//! before the writer answers (`gatehouse_cluster`), so a request reads it from memory; alone, or
//! while the cluster cannot vouch for it, a request reads it from the database.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gatehouse_model::{Client, ClientUuid, Realm, RealmId, User, UserId};

use crate::tokens::{ScopePlan, SubjectData};

/// Default bound of each cache, in entries (Keycloak's default `object-memory size`).
pub const DEFAULT_CACHE_SIZE: u64 = 10_000;

/// What one cache has done, for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheStats {
    /// Keycloak's name for the cache (`realms`, `users`, ...).
    pub name: &'static str,
    /// Entries held now.
    pub entries: u64,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that went to the database (absent, or loaded under another revision).
    pub misses: u64,
}

/// One bounded cache whose entries carry the revision they were loaded under.
pub(crate) struct Cached<K, V> {
    name: &'static str,
    inner: moka::sync::Cache<K, (i64, Arc<V>)>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K, V> Cached<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    fn new(name: &'static str, capacity: u64) -> Self {
        Cached {
            name,
            inner: moka::sync::Cache::new(capacity),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The entry for `key` if it was loaded under `revision`.
    pub(crate) fn get(&self, revision: i64, key: &K) -> Option<Arc<V>> {
        match self.inner.get(key) {
            Some((r, v)) if r == revision => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(v)
            }
            _ => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Keeps `value`, loaded after `revision` was read.
    pub(crate) fn put(&self, revision: i64, key: K, value: Arc<V>) {
        self.inner.insert(key, (revision, value));
    }

    fn clear(&self) {
        self.inner.invalidate_all();
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            name: self.name,
            entries: self.inner.entry_count(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// Which caches are on and how big they are (`--spi-realm-cache-default-enabled`,
/// `--spi-user-cache-default-enabled`, as Keycloak names them).
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    /// Realms, clients, client scopes and mappers (Keycloak's realm cache).
    pub realm_cache: bool,
    /// Users and their roles (Keycloak's user cache).
    pub user_cache: bool,
    /// Entries per realm-level cache (`cache-embedded-realms-max-count`).
    pub realm_size: u64,
    /// Entries per user-level cache (`cache-embedded-users-max-count`).
    pub user_size: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            realm_cache: true,
            user_cache: true,
            realm_size: DEFAULT_CACHE_SIZE,
            user_size: DEFAULT_CACHE_SIZE,
        }
    }
}

/// Every cache of a node.
pub(crate) struct Caches {
    pub(crate) settings: CacheSettings,
    /// Realms by name.
    pub(crate) realms: Cached<String, Realm>,
    /// Clients by realm and `clientId`.
    pub(crate) clients: Cached<(RealmId, String), Client>,
    /// The mappers and scope string a client gets for a requested `scope`.
    pub(crate) plans: Cached<(ClientUuid, String), ScopePlan>,
    /// Users by realm and (lower-cased) username.
    pub(crate) users: Cached<(RealmId, String), User>,
    /// A user's effective roles and groups as a client sees them.
    pub(crate) subjects: Cached<(UserId, ClientUuid), SubjectData>,
}

impl Caches {
    pub(crate) fn new(settings: CacheSettings) -> Self {
        let r = settings.realm_size.max(1);
        let u = settings.user_size.max(1);
        Caches {
            settings,
            realms: Cached::new("realms", r),
            clients: Cached::new("clients", r),
            plans: Cached::new("clientScopes", r),
            users: Cached::new("users", u),
            subjects: Cached::new("roleMappings", u),
        }
    }

    /// Empties the realm-level caches (`clear-realm-cache`).
    pub(crate) fn clear_realms(&self) {
        self.realms.clear();
        self.clients.clear();
        self.plans.clear();
    }

    /// Empties the user-level caches (`clear-user-cache`).
    pub(crate) fn clear_users(&self) {
        self.users.clear();
        self.subjects.clear();
    }

    pub(crate) fn stats(&self) -> Vec<CacheStats> {
        vec![
            self.realms.stats(),
            self.clients.stats(),
            self.plans.stats(),
            self.users.stats(),
            self.subjects.stats(),
        ]
    }
}

/// A read transaction opened only when a cache misses: a request answered from the caches
/// touches the database once, for the revision.
pub(crate) struct LazyRead<'s> {
    store: &'s gatehouse_store::Store,
    tx: Option<gatehouse_store::Tx>,
}

impl<'s> LazyRead<'s> {
    pub(crate) fn new(store: &'s gatehouse_store::Store) -> Self {
        LazyRead { store, tx: None }
    }

    /// Carries on with a read transaction the caller already opened.
    pub(crate) fn adopt(store: &'s gatehouse_store::Store, tx: gatehouse_store::Tx) -> Self {
        LazyRead {
            store,
            tx: Some(tx),
        }
    }

    /// The transaction, opened on first use.
    pub(crate) async fn tx(&mut self) -> Result<&mut gatehouse_store::Tx, crate::ServiceError> {
        if self.tx.is_none() {
            self.tx = Some(self.store.begin_read().await?);
        }
        self.tx
            .as_mut()
            .ok_or_else(|| crate::ServiceError::Internal("read transaction vanished".into()))
    }

    /// Ends the transaction if one was opened (reads only: nothing to keep).
    pub(crate) async fn finish(self) -> Result<(), crate::ServiceError> {
        if let Some(tx) = self.tx {
            tx.rollback().await?;
        }
        Ok(())
    }
}

impl crate::Services {
    /// The cache revision now: pushed by the cluster while this node may trust it, else one
    /// indexed read of the database.
    pub(crate) async fn current_revision(&self) -> Result<i64, crate::ServiceError> {
        if let Some(r) = self.cluster.as_ref().and_then(|c| c.revision()) {
            return Ok(r);
        }
        Ok(self.store().cache_revision().await?)
    }

    /// The revision to check cached entries against, or `None` with caching off (`which` says
    /// whether the realm or the user cache is asked).
    pub(crate) async fn revision_for(
        &self,
        user_cache: bool,
    ) -> Result<Option<i64>, crate::ServiceError> {
        let on = if user_cache {
            self.caches.settings.user_cache
        } else {
            self.caches.settings.realm_cache
        };
        if on {
            Ok(Some(self.current_revision().await?))
        } else {
            Ok(None)
        }
    }

    /// The revisions for the realm and the user caches, read once (`None` for a cache that is
    /// off).
    pub(crate) async fn revisions(
        &self,
    ) -> Result<(Option<i64>, Option<i64>), crate::ServiceError> {
        let settings = self.caches.settings;
        if !settings.realm_cache && !settings.user_cache {
            return Ok((None, None));
        }
        let rev = self.current_revision().await?;
        Ok((
            settings.realm_cache.then_some(rev),
            settings.user_cache.then_some(rev),
        ))
    }

    /// A realm by name, through the realm cache.
    pub(crate) async fn cached_realm(
        &self,
        name: &gatehouse_model::RealmName,
    ) -> Result<Option<Realm>, crate::ServiceError> {
        let rev = self.revision_for(false).await?;
        let key = name.as_str().to_owned();
        if let Some(rev) = rev
            && let Some(hit) = self.caches.realms.get(rev, &key)
        {
            return Ok(Some((*hit).clone()));
        }
        let mut tx = self.store().begin_read().await?;
        let realm = tx.realm_by_name(name).await?;
        tx.rollback().await?;
        if let (Some(rev), Some(r)) = (rev, &realm) {
            self.caches.realms.put(rev, key, Arc::new(r.clone()));
        }
        Ok(realm)
    }

    /// A client by `clientId`, through the realm cache.
    pub(crate) async fn cached_client(
        &self,
        rev: Option<i64>,
        lazy: &mut LazyRead<'_>,
        realm: &RealmId,
        client_id: &str,
    ) -> Result<Option<Client>, crate::ServiceError> {
        let key = (realm.clone(), client_id.to_owned());
        if let Some(rev) = rev
            && let Some(hit) = self.caches.clients.get(rev, &key)
        {
            return Ok(Some((*hit).clone()));
        }
        let client = lazy
            .tx()
            .await?
            .client_by_client_id(realm, &gatehouse_model::ClientId::new(client_id))
            .await?;
        if let (Some(rev), Some(c)) = (rev, &client) {
            self.caches.clients.put(rev, key, Arc::new(c.clone()));
        }
        Ok(client)
    }

    /// A user by username, through the user cache.
    pub(crate) async fn cached_user(
        &self,
        rev: Option<i64>,
        lazy: &mut LazyRead<'_>,
        realm: &RealmId,
        username: &gatehouse_model::Username,
    ) -> Result<Option<User>, crate::ServiceError> {
        let key = (realm.clone(), username.as_str().to_owned());
        if let Some(rev) = rev
            && let Some(hit) = self.caches.users.get(rev, &key)
        {
            return Ok(Some((*hit).clone()));
        }
        let user = lazy.tx().await?.user_by_username(realm, username).await?;
        if let (Some(rev), Some(u)) = (rev, &user) {
            self.caches.users.put(rev, key, Arc::new(u.clone()));
        }
        Ok(user)
    }

    /// The scope plan of `client` for a requested `scope`, through the realm cache.
    pub(crate) async fn cached_plan(
        &self,
        rev: Option<i64>,
        lazy: &mut LazyRead<'_>,
        client: &Client,
        requested: Option<&str>,
    ) -> Result<ScopePlan, crate::OAuthError> {
        let key = (client.id.clone(), requested.unwrap_or_default().to_owned());
        if let Some(rev) = rev
            && let Some(hit) = self.caches.plans.get(rev, &key)
        {
            return Ok((*hit).clone());
        }
        let plan = ScopePlan::resolve(lazy.tx().await?, client, requested).await?;
        if let Some(rev) = rev {
            self.caches.plans.put(rev, key, Arc::new(plan.clone()));
        }
        Ok(plan)
    }

    /// A user's roles and groups as `client` sees them, through the user cache.
    pub(crate) async fn cached_subject(
        &self,
        rev: Option<i64>,
        lazy: &mut LazyRead<'_>,
        user: &User,
        client: &Client,
    ) -> Result<SubjectData, crate::OAuthError> {
        let key = (user.id.clone(), client.id.clone());
        if let Some(rev) = rev
            && let Some(hit) = self.caches.subjects.get(rev, &key)
        {
            return Ok((*hit).clone());
        }
        let subject = SubjectData::load(lazy.tx().await?, user, client).await?;
        if let Some(rev) = rev {
            self.caches
                .subjects
                .put(rev, key, Arc::new(subject.clone()));
        }
        Ok(subject)
    }

    /// `clear-realm-cache`: empties the realm, client and scope caches of every node.
    pub async fn clear_realm_cache(&self) {
        self.caches.clear_realms();
        if let Some(c) = &self.cluster {
            c.announce(gatehouse_cluster::Event::ClearRealms).await;
        }
    }

    /// `clear-user-cache`: empties the user and role-mapping caches of every node.
    pub async fn clear_user_cache(&self) {
        self.caches.clear_users();
        if let Some(c) = &self.cluster {
            c.announce(gatehouse_cluster::Event::ClearUsers).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_only_under_its_revision() {
        let c: Cached<&str, u32> = Cached::new("t", 10);
        c.put(3, "k", Arc::new(7));
        assert_eq!(c.get(3, &"k").as_deref(), Some(&7));
        // The revision moved on (a write anywhere): the entry is not served again.
        assert_eq!(c.get(4, &"k"), None);
        // A reader that read revision 3 before the write, and loads after it, must not make
        // the old entry current for revision 4 readers: put tags with what it read.
        c.put(3, "k", Arc::new(8));
        assert_eq!(c.get(4, &"k"), None);
        let s = c.stats();
        assert_eq!((s.hits, s.misses), (1, 2));
    }
}
