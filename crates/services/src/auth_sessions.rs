//! Logins in progress, kept in the distributed `authenticationSessions` cache as Keycloak
//! keeps them: one entry per root session (the `AUTH_SESSION_ID` cookie) holding its browser
//! tabs, so every tab of a browser has the same owners and the cookie's route names them. The
//! database never sees a login until it finishes; a cluster keeps each entry on as many nodes
//! as `--spi-cache-embedded--default--authentication-sessions-owners` says.

use std::collections::BTreeMap;

use gatehouse_cluster::{CacheName, Caches, Expect, Unavailable};
use gatehouse_model::{AuthSession, AuthSessionId, ClientUuid, RealmId, UserId};
use serde::{Deserialize, Serialize};

use crate::ServiceError;

const CACHE: CacheName = CacheName::AuthenticationSessions;

/// Concurrent writes to one root session (two tabs) retry their compare-and-set this often.
const ATTEMPTS: usize = 8;

/// Keycloak's default `auth-sessions-limit`: tabs kept per root session.
pub(crate) const DEFAULT_TAB_LIMIT: usize = 300;

/// A browser tab's login, as stored: the [`AuthSession`] without the ids that key it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tab {
    realm_id: String,
    client_id: String,
    created: i64,
    expires: i64,
    user_id: Option<String>,
    params: BTreeMap<String, String>,
    notes: BTreeMap<String, String>,
}

impl Tab {
    fn of(s: &AuthSession) -> Tab {
        Tab {
            realm_id: s.realm_id.to_string(),
            client_id: s.client_id.to_string(),
            created: s.created,
            expires: s.expires,
            user_id: s.user_id.as_ref().map(|u| u.to_string()),
            params: s.params.clone(),
            notes: s.notes.clone(),
        }
    }

    fn session(&self, root: &AuthSessionId, tab_id: &str) -> AuthSession {
        AuthSession {
            id: root.clone(),
            tab_id: tab_id.to_owned(),
            realm_id: RealmId::new(self.realm_id.clone()),
            client_id: ClientUuid::new(self.client_id.clone()),
            created: self.created,
            expires: self.expires,
            user_id: self.user_id.clone().map(UserId::new),
            params: self.params.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// A root session: its tabs by tab id.
type Root = BTreeMap<String, Tab>;

impl From<Unavailable> for ServiceError {
    fn from(e: Unavailable) -> Self {
        ServiceError::Unavailable(e.to_string())
    }
}

/// The logins in progress of this node's cluster (or of this node alone).
#[derive(Clone)]
pub(crate) struct AuthSessions {
    caches: Caches,
    /// Tabs one root session keeps; a new one beyond them drops the oldest, as Keycloak's
    /// `auth-sessions-limit` (which also keeps an entry within a cluster frame).
    tab_limit: usize,
}

impl AuthSessions {
    pub(crate) fn new(caches: Caches, tab_limit: usize) -> AuthSessions {
        AuthSessions {
            caches,
            tab_limit: tab_limit.max(1),
        }
    }

    /// The same logins in another cache (a node joining its cluster).
    pub(crate) fn in_caches(&self, caches: Caches) -> AuthSessions {
        AuthSessions::new(caches, self.tab_limit)
    }

    /// The same cache with another tab limit.
    pub(crate) fn with_tab_limit(&self, tab_limit: usize) -> AuthSessions {
        AuthSessions::new(self.caches.clone(), tab_limit)
    }

    /// The root session `root` and its version, if it exists.
    async fn root(&self, root: &AuthSessionId) -> Result<Option<(Root, u64)>, ServiceError> {
        let Some(entry) = self.caches.get(CACHE, root.as_str()).await? else {
            return Ok(None);
        };
        let tabs: Root = serde_json::from_slice(&entry.value).map_err(|e| {
            ServiceError::Internal(format!("undecodable authentication session: {e}"))
        })?;
        Ok(Some((tabs, entry.version)))
    }

    /// Applies `change` to the root session `root` (empty when absent) and stores the result
    /// under a compare-and-set, again on a concurrent change. `change` answers whether to
    /// write and what to return; a root left without tabs is removed.
    async fn modify<T>(
        &self,
        root: &AuthSessionId,
        mut change: impl FnMut(&mut Root) -> (bool, T),
    ) -> Result<T, ServiceError> {
        for _ in 0..ATTEMPTS {
            let (mut tabs, expect) = match self.root(root).await? {
                Some((tabs, v)) => (tabs, Expect::Version(v)),
                None => (Root::new(), Expect::Absent),
            };
            let (write, answer) = change(&mut tabs);
            if !write {
                return Ok(answer);
            }
            let outcome = if tabs.is_empty() {
                if expect == Expect::Absent {
                    return Ok(answer);
                }
                self.caches
                    .remove(CACHE, root.as_str(), expect)
                    .await?
                    .map(|_| ())
            } else {
                let expires = tabs.values().map(|t| t.expires).max().unwrap_or(0);
                let value = serde_json::to_vec(&tabs).map_err(|e| {
                    ServiceError::Internal(format!("cannot encode an authentication session: {e}"))
                })?;
                self.caches
                    .put(CACHE, root.as_str(), value, expires, expect)
                    .await?
                    .map(|_| ())
            };
            if outcome.is_ok() {
                return Ok(answer);
            }
        }
        Err(ServiceError::Unavailable(
            "authentication session: too many concurrent changes".into(),
        ))
    }

    /// Stores a new tab; `Conflict` if the tab id is taken in its root session.
    pub(crate) async fn insert(&self, s: &AuthSession) -> Result<(), ServiceError> {
        let tab = Tab::of(s);
        let inserted = self
            .modify(&s.id, |tabs| {
                if tabs.contains_key(&s.tab_id) {
                    return (false, false);
                }
                while tabs.len() >= self.tab_limit {
                    let oldest = tabs
                        .iter()
                        .min_by_key(|(_, t)| t.created)
                        .map(|(id, _)| id.clone());
                    match oldest {
                        Some(id) => tabs.remove(&id),
                        None => break,
                    };
                }
                tabs.insert(s.tab_id.clone(), tab.clone());
                (true, true)
            })
            .await?;
        if inserted {
            Ok(())
        } else {
            Err(ServiceError::Conflict("auth session".into()))
        }
    }

    /// The tab `tab_id` of the root session `root`, expired or not (the caller decides).
    pub(crate) async fn get(
        &self,
        root: &AuthSessionId,
        tab_id: &str,
    ) -> Result<Option<AuthSession>, ServiceError> {
        Ok(self
            .root(root)
            .await?
            .and_then(|(tabs, _)| tabs.get(tab_id).map(|t| t.session(root, tab_id))))
    }

    /// Replaces a tab; `false` when it is gone.
    pub(crate) async fn update(&self, s: &AuthSession) -> Result<bool, ServiceError> {
        let tab = Tab::of(s);
        self.modify(&s.id, |tabs| match tabs.get_mut(&s.tab_id) {
            Some(t) => {
                *t = tab.clone();
                (true, true)
            }
            None => (false, false),
        })
        .await
    }

    /// Removes a tab; `false` when it was already gone. Two requests finishing the same tab at
    /// once (on any nodes) get one `true`: the compare-and-set at the primary decides.
    pub(crate) async fn delete(
        &self,
        root: &AuthSessionId,
        tab_id: &str,
    ) -> Result<bool, ServiceError> {
        self.modify(root, |tabs| {
            let gone = tabs.remove(tab_id).is_some();
            (gone, gone)
        })
        .await
    }

    /// How many tabs of `root` are still open at `now` (unix seconds).
    pub(crate) async fn open_tabs(
        &self,
        root: &AuthSessionId,
        now: i64,
    ) -> Result<usize, ServiceError> {
        Ok(self.root(root).await?.map_or(0, |(tabs, _)| {
            tabs.values().filter(|t| t.expires > now).count()
        }))
    }

    /// The node whose route `AUTH_SESSION_ID` should carry for `root`: its primary owner.
    pub(crate) fn route(&self, root: &AuthSessionId) -> Option<String> {
        self.caches.primary_of(CACHE, root.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tab(root: &str, tab: &str, expires: i64) -> AuthSession {
        AuthSession {
            id: AuthSessionId::from(root),
            tab_id: tab.into(),
            realm_id: RealmId::new("r".to_owned()),
            client_id: ClientUuid::new("c".to_owned()),
            created: 1,
            expires,
            user_id: None,
            params: [("state".to_owned(), "s".to_owned())].into(),
            notes: BTreeMap::new(),
        }
    }

    #[tokio::test]
    async fn tabs_of_a_root_live_and_go_independently() {
        let sessions = AuthSessions::new(Caches::local(), DEFAULT_TAB_LIMIT);
        let now = crate::now_secs();
        let root = AuthSessionId::from("root-1");
        sessions
            .insert(&tab("root-1", "t1", now + 60))
            .await
            .unwrap();
        sessions
            .insert(&tab("root-1", "t2", now + 60))
            .await
            .unwrap();
        assert!(matches!(
            sessions.insert(&tab("root-1", "t1", now + 60)).await,
            Err(ServiceError::Conflict(_))
        ));
        assert_eq!(sessions.open_tabs(&root, now).await.unwrap(), 2);
        let mut t1 = sessions.get(&root, "t1").await.unwrap().unwrap();
        assert_eq!(t1.params["state"], "s");
        t1.user_id = Some(UserId::new("u".to_owned()));
        assert!(sessions.update(&t1).await.unwrap());
        assert_eq!(
            sessions.get(&root, "t1").await.unwrap().unwrap().user_id,
            t1.user_id
        );
        // One delete of a tab wins; the other tab stays.
        assert!(sessions.delete(&root, "t1").await.unwrap());
        assert!(!sessions.delete(&root, "t1").await.unwrap());
        assert!(!sessions.update(&t1).await.unwrap());
        assert_eq!(sessions.open_tabs(&root, now).await.unwrap(), 1);
        assert!(sessions.delete(&root, "t2").await.unwrap());
        assert_eq!(
            sessions.get(&root, "t2").await.unwrap().map(|s| s.tab_id),
            None
        );
        // No cluster, no route.
        assert_eq!(sessions.route(&root), None);
    }

    #[tokio::test]
    async fn a_tab_beyond_the_limit_drops_the_oldest() {
        let sessions = AuthSessions::new(Caches::local(), 2);
        let now = crate::now_secs();
        let root = AuthSessionId::from("root-2");
        for (i, t) in ["t1", "t2", "t3"].into_iter().enumerate() {
            let mut s = tab("root-2", t, now + 60);
            s.created = i64::try_from(i).unwrap();
            sessions.insert(&s).await.unwrap();
        }
        assert_eq!(sessions.open_tabs(&root, now).await.unwrap(), 2);
        assert!(sessions.get(&root, "t1").await.unwrap().is_none());
        assert!(sessions.get(&root, "t3").await.unwrap().is_some());
    }
}
