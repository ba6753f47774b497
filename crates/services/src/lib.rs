//! Realm, user and client operations: the one place where Gatehouse's business rules live.
//!
//! Protocol and HTTP crates call this crate; it decides what is stored, what is cached (with the
//! cluster crate keeping every node's caches true) and what is distributed. It never sees HTTP:
//! inputs are domain types, outputs are domain types or [`ServiceError`].

mod admin;
mod auth_sessions;
mod bootstrap;
mod brute_force;
mod cache;
mod claims;
mod client_keys;
mod clients;
mod consent;
mod ctx;
mod error;
mod expiry;
mod hashing;
mod impersonation;
mod introspection;
mod keys;
mod login;
mod oauth_error;
mod realm_defaults;
mod restart;
mod sso;
mod tokens;
mod touches;
mod transfer;
mod userinfo;

pub use admin::CONSENT_CLIENT;
pub use admin::{AdminIdentity, ComponentQuery, KEY_PROVIDER_TYPE, Permission, REALM_MANAGEMENT};
pub use admin::{
    ChildrenQuery, GroupListQuery, GroupPlaced, MappingView, RoleContainer, RoleHolder,
    RoleListQuery, RoleRef,
};
pub use admin::{UserRefusal, UserSearch, UserWrite};
pub use bootstrap::{AdminCreated, MASTER_REALM, MasterRealm};
pub use cache::{CacheSettings, CacheStats, DEFAULT_CACHE_SIZE};
pub use claims::Target;
pub use consent::ConsentPage;
pub use ctx::RequestCtx;
pub use error::ServiceError;
pub use expiry::Purged;
pub use gatehouse_cluster::{
    Member as ClusterMember, Status as ClusterStatus, View as ClusterView,
};
pub use hashing::Hasher;
pub use impersonation::{Impersonated, ImpersonationStarted};
pub use keys::RealmKeys;
pub use login::{
    AuthFailure, AuthRequest, LoginPage, LoginResult, REQUESTED_LOCALE_NOTE, Redirect,
    ResponseMode, Started, language_tag, redirect_uri_allowed,
};
pub use oauth_error::OAuthError;
pub use restart::Restarted;
pub use sso::{LogoutRequest, LogoutStep, SsoCookies};
pub use tokens::{ClientCredentials, TokenResponse};
pub use transfer::{
    IfExists, ImportOutcome, ImportReport, PartialImportRepresentation, PartialImportResult,
    PartialImportResults, Policy,
};

use gatehouse_store::Store;

/// The services layer: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Services {
    store: Store,
    hasher: Hasher,
    keys: keys::KeyCache,
    /// Outbound HTTP for back-channel logout: short timeouts, no redirects (a client's URL must
    /// not send us elsewhere).
    outbound: reqwest::Client,
    /// When this services layer was built (epoch milliseconds): the server's start, for the
    /// uptime the admin API's server info reports.
    started_millis: i64,
    /// Key sets of clients that publish them at a URL, fetched through `outbound`.
    client_keys: std::sync::Arc<client_keys::ClientKeys>,
    /// Which of Keycloak's optional features are on.
    features: Features,
    /// This node's caches in front of the database.
    caches: std::sync::Arc<cache::Caches>,
    /// The cluster this node is a member of (`--cache ispn`): it pushes cache revisions, so
    /// requests need not read them from the database.
    cluster: Option<gatehouse_cluster::Cluster>,
    /// Logins in progress, in the distributed cache (this node's alone outside a cluster).
    auth_sessions: auth_sessions::AuthSessions,
    /// Session timestamps waiting for their batched write.
    touches: std::sync::Arc<touches::Touches>,
}

/// Keycloak features that change what the services layer does (`--features`,
/// `--features-disabled`); those it does not list are not implemented yet.
#[derive(Debug, Clone, Copy)]
pub struct Features {
    /// `impersonation` (on by default, as in Keycloak).
    pub impersonation: bool,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            impersonation: true,
        }
    }
}

impl Services {
    /// Builds the services layer over a connected, migrated store.
    pub fn new(store: Store) -> Self {
        Services {
            touches: touches::Touches::start(store.clone()),
            store,
            hasher: Hasher::new(),
            keys: keys::KeyCache::default(),
            outbound: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            client_keys: Default::default(),
            features: Features::default(),
            caches: std::sync::Arc::new(cache::Caches::new(CacheSettings::default())),
            started_millis: now_millis(),
            cluster: None,
            auth_sessions: auth_sessions::AuthSessions::new(
                gatehouse_cluster::Caches::local(),
                auth_sessions::DEFAULT_TAB_LIMIT,
            ),
        }
    }

    /// The same services as a member of `cluster`: cache revisions come from it, and cache
    /// clears other nodes ask for are applied here. Call within the runtime.
    pub fn with_cluster(mut self, cluster: gatehouse_cluster::Cluster) -> Self {
        let mut events = cluster.subscribe();
        let caches = self.caches.clone();
        let keys = self.keys.clone();
        tokio::spawn(async move {
            use gatehouse_cluster::Event;
            loop {
                match events.recv().await {
                    Ok(Event::ClearRealms) => caches.clear_realms(),
                    Ok(Event::ClearUsers) => caches.clear_users(),
                    Ok(Event::ClearKeys) => keys.forget_all(),
                    Ok(Event::Revision(_)) => {}
                    // Missed some: clearing everything is always safe.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        caches.clear_realms();
                        caches.clear_users();
                        keys.forget_all();
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        self.auth_sessions = self.auth_sessions.in_caches(cluster.caches());
        self.cluster = Some(cluster);
        self
    }

    /// Writes the session timestamps still waiting for their batch: call once requests have
    /// drained, before the process exits.
    pub async fn flush_session_timestamps(&self) {
        match self.touches.flush(&self.store).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("wrote the timestamps of {n} sessions before stopping"),
            Err(e) => tracing::warn!("could not write session timestamps before stopping: {e}"),
        }
    }

    /// The route `AUTH_SESSION_ID` carries for the root session `id`: the node name of its
    /// primary owner in the distributed cache; `None` outside a cluster.
    pub fn auth_session_route(&self, id: &gatehouse_model::AuthSessionId) -> Option<String> {
        self.auth_sessions.route(id)
    }

    /// This node's picture of its cluster, when it is in one.
    pub fn cluster_status(&self) -> Option<ClusterStatus> {
        self.cluster.as_ref().map(|c| c.status())
    }

    /// The same services with `features` switched as the configuration says.
    pub fn with_features(mut self, features: Features) -> Self {
        self.features = features;
        self
    }

    /// Keeps at most `limit` browser tabs per login in progress (Keycloak's
    /// `--spi-authentication-sessions--infinispan--auth-sessions-limit`).
    pub fn with_auth_sessions_limit(mut self, limit: usize) -> Self {
        self.auth_sessions = self.auth_sessions.with_tab_limit(limit);
        self
    }

    /// The same services with caches as the configuration says (sizes, which are on).
    pub fn with_cache_settings(mut self, settings: CacheSettings) -> Self {
        self.caches = std::sync::Arc::new(cache::Caches::new(settings));
        self
    }

    /// Size, hits and misses of every cache of this node, for `/metrics`.
    pub fn cache_stats(&self) -> Vec<CacheStats> {
        self.caches.stats()
    }

    /// The store, for the health and metrics of the edge (pool use, ping).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether the database answers: the readiness check.
    pub async fn database_ready(&self) -> Result<(), ServiceError> {
        Ok(self.store.ping().await?)
    }
}

/// Seconds since the Unix epoch, as tokens and sessions count time.
pub(crate) fn now_secs() -> i64 {
    now_millis() / 1000
}

/// Milliseconds since the Unix epoch, as Keycloak stores timestamps.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
