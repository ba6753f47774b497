//! The Admin REST API's rules: who the caller is, and what it may do in which realm.
//!
//! Keycloak's model, kept exactly: a master-realm user administers realm `R` through the roles
//! of the master realm's `R-realm` client (the master `admin` role is a composite of all of
//! them); a user of realm `R` administers `R` through the roles of `R`'s `realm-management`
//! client (`realm-admin` is a composite of all of them). A token issued to `admin-cli` or
//! `security-admin-console` is checked against the user's roles as stored now; a token of any
//! other client only carries the roles its own `resource_access` claim lists, as Keycloak's
//! `MgmtPermissions` does, so a client's scope limits what its tokens may administer.

mod clients;
mod components;
mod consents;
mod groups;
mod realms;
mod roles;
mod scopes;
mod users;

pub use components::{ComponentQuery, KEY_PROVIDER_TYPE};
pub use consents::CONSENT_CLIENT;
pub use groups::{ChildrenQuery, GroupListQuery, GroupPlaced};
pub(crate) use realms::representation as realm_representation;
pub use roles::{MappingView, RoleContainer, RoleHolder, RoleListQuery, RoleRef};
pub use users::{UserRefusal, UserSearch, UserWrite};

use std::collections::{BTreeMap, BTreeSet};

use gatehouse_model::{ClientId, Realm, RealmId, RealmName, UserId};
use serde_json::Value;

use crate::tokens::SubjectData;
use crate::{OAuthError, RequestCtx, ServiceError, Services};

/// The management client of a realm other than master.
pub const REALM_MANAGEMENT: &str = "realm-management";

/// Clients whose tokens are checked against the user's stored roles rather than the token's.
const ADMIN_CLIENTS: &[&str] = &["admin-cli", "security-admin-console"];

/// What an admin operation needs; each accepts the management roles Keycloak accepts for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read realm settings, roles, client scopes, keys.
    ViewRealm,
    /// Change realm settings, roles, client scopes; log sessions out.
    ManageRealm,
    /// List and search users (no details beyond the representation).
    QueryUsers,
    /// Read users, their roles, groups, sessions, credentials.
    ViewUsers,
    /// Create, change and delete users, their roles, groups and credentials.
    ManageUsers,
    /// List and search groups.
    QueryGroups,
    /// List and search clients.
    QueryClients,
    /// Read clients, their secrets, mappers, scopes and sessions.
    ViewClients,
    /// Create, change and delete clients.
    ManageClients,
    /// Create a client (without managing the others).
    CreateClient,
    /// Read events.
    ViewEvents,
    /// Change event settings, delete events.
    ManageEvents,
    /// Impersonate users.
    Impersonation,
}

impl Permission {
    /// The management-client roles any one of which grants this permission.
    fn accepted(self) -> &'static [&'static str] {
        match self {
            Permission::ViewRealm => &["view-realm", "manage-realm"],
            Permission::ManageRealm => &["manage-realm"],
            Permission::QueryUsers => &["query-users", "view-users", "manage-users"],
            Permission::ViewUsers => &["view-users", "manage-users"],
            Permission::ManageUsers => &["manage-users"],
            Permission::QueryGroups => &["query-groups", "view-users", "manage-users"],
            Permission::QueryClients => &["query-clients", "view-clients", "manage-clients"],
            Permission::ViewClients => &["view-clients", "manage-clients"],
            Permission::ManageClients => &["manage-clients"],
            Permission::CreateClient => &["create-client", "manage-clients"],
            Permission::ViewEvents => &["view-events", "manage-events"],
            Permission::ManageEvents => &["manage-events"],
            Permission::Impersonation => &["impersonation"],
        }
    }
}

/// The caller of an admin request: a user of some realm, with the roles that count for it.
#[derive(Debug, Clone)]
pub struct AdminIdentity {
    /// The realm that issued the token.
    pub realm_id: RealmId,
    /// Its name: `master` for cross-realm administrators.
    pub realm_name: RealmName,
    /// The user (or service-account user) the token was issued to.
    pub user_id: UserId,
    /// The client the token was issued to (`azp`).
    pub client_id: ClientId,
    /// The token's SSO session (`sid`), when it has one.
    pub session: Option<gatehouse_model::UserSessionId>,
    realm_roles: BTreeSet<String>,
    client_roles: BTreeMap<String, BTreeSet<String>>,
}

impl AdminIdentity {
    /// The client whose roles administer `target` for this caller, or `None` when this caller
    /// can never administer it (a user of another realm that is not master).
    fn management_client(&self, target: &Realm) -> Option<String> {
        if self.realm_name.as_str() == crate::MASTER_REALM {
            Some(format!("{}-realm", target.name))
        } else if self.realm_id == target.id {
            Some(REALM_MANAGEMENT.to_owned())
        } else {
            None
        }
    }

    fn management_roles(&self, target: &Realm) -> Option<&BTreeSet<String>> {
        self.client_roles.get(&self.management_client(target)?)
    }

    /// Whether the caller has `permission` in `target`.
    pub fn may(&self, target: &Realm, permission: Permission) -> bool {
        self.management_roles(target).is_some_and(|roles| {
            roles.contains("realm-admin")
                || permission.accepted().iter().any(|r| roles.contains(*r))
        })
    }

    /// Whether the caller has any management role in `target` (what lists it among the realms).
    pub fn any_role_in(&self, target: &Realm) -> bool {
        self.management_roles(target)
            .is_some_and(|roles| !roles.is_empty())
    }

    /// Whether the caller may create realms: a master-realm user with `create-realm`.
    pub fn may_create_realm(&self) -> bool {
        self.realm_name.as_str() == crate::MASTER_REALM && self.realm_roles.contains("create-realm")
    }

    /// `Ok` when the caller has `permission` in `target`, else Keycloak's 403.
    pub fn require(&self, target: &Realm, permission: Permission) -> Result<(), ServiceError> {
        if self.may(target, permission) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!("{permission:?}")))
        }
    }
}

fn unauthorized(why: &str) -> ServiceError {
    ServiceError::Unauthorized(why.to_owned())
}

impl Services {
    /// Authenticates an admin request from its bearer token: the token must verify against its
    /// issuing realm's keys, be an unexpired, unrevoked access token of a live session, and
    /// belong to an enabled user.
    pub async fn admin_identity(
        &self,
        ctx: &RequestCtx,
        bearer: Option<&str>,
    ) -> Result<AdminIdentity, ServiceError> {
        let token = bearer.ok_or_else(|| unauthorized("no bearer token"))?;
        // The issuer names the realm whose keys must verify the token; nothing in the
        // unverified claims is trusted beyond choosing those keys.
        let iss = gatehouse_crypto::jose::decode(token)
            .ok()
            .and_then(|jws| jws.claims().ok())
            .and_then(|c| c.get("iss").and_then(Value::as_str).map(str::to_owned))
            .ok_or_else(|| unauthorized("malformed token"))?;
        let prefix = format!("{}/realms/", ctx.frontend);
        let realm_name = iss
            .strip_prefix(&prefix)
            .ok_or_else(|| unauthorized("token issued for another server"))?;
        let realm = match self.realm(realm_name).await {
            Ok(realm) => realm,
            Err(ServiceError::NotFound(_)) => return Err(unauthorized("unknown realm")),
            Err(e) => return Err(e),
        };
        let claims = match self.active_claims(ctx, &realm, token).await {
            Ok(Some(claims)) => claims,
            Ok(None) => return Err(unauthorized("token not active")),
            Err(OAuthError::Service(e)) => return Err(e),
            Err(_) => return Err(unauthorized("token not active")),
        };
        if claims.get("typ").and_then(Value::as_str) != Some("Bearer") {
            return Err(unauthorized("not an access token"));
        }
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or_else(|| unauthorized("token has no subject"))?;
        let azp = claims
            .get("azp")
            .and_then(Value::as_str)
            .ok_or_else(|| unauthorized("token has no azp"))?;
        let user_id = UserId::from(sub);
        let client_id = ClientId::new(azp);
        let (realm_roles, client_roles) = if ADMIN_CLIENTS.contains(&azp) {
            let mut tx = self.store().begin_read().await?;
            let user = tx
                .user_by_id(&user_id)
                .await?
                .filter(|u| u.enabled)
                .ok_or_else(|| unauthorized("user not found or disabled"))?;
            let client = tx
                .client_by_client_id(&realm.id, &client_id)
                .await?
                .ok_or_else(|| unauthorized("client not found"))?;
            let data = SubjectData::load(&mut tx, &user, &client)
                .await
                .map_err(|e| match e {
                    OAuthError::Service(e) => e,
                    other => ServiceError::Internal(other.to_string()),
                })?;
            tx.rollback().await?;
            (data.realm_roles, data.client_roles)
        } else {
            roles_from_claims(&claims)
        };
        let session = claims
            .get("sid")
            .and_then(Value::as_str)
            .map(gatehouse_model::UserSessionId::from);
        Ok(AdminIdentity {
            realm_id: realm.id,
            realm_name: realm.name,
            user_id,
            client_id,
            session,
            realm_roles,
            client_roles,
        })
    }

    /// The realm an admin request names, once the caller may do `permission` in it: 404 when it
    /// does not exist (Keycloak answers that before it checks roles), 403 without the role.
    pub async fn admin_realm(
        &self,
        who: &AdminIdentity,
        realm: &str,
        permission: Permission,
    ) -> Result<Realm, ServiceError> {
        let realm = self.realm(realm).await?;
        who.require(&realm, permission)?;
        Ok(realm)
    }
}

/// `realm_access.roles` and `resource_access.<client>.roles` of a token.
fn roles_from_claims(
    claims: &serde_json::Map<String, Value>,
) -> (BTreeSet<String>, BTreeMap<String, BTreeSet<String>>) {
    fn names(v: Option<&Value>) -> BTreeSet<String> {
        v.and_then(|v| v.get("roles"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
    let realm = names(claims.get("realm_access"));
    let clients = claims
        .get("resource_access")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(client, v)| (client.clone(), names(Some(v))))
                .collect()
        })
        .unwrap_or_default();
    (realm, clients)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_model::RealmName;
    use serde_json::json;

    fn identity(realm: &str, clients: &[(&str, &[&str])]) -> AdminIdentity {
        AdminIdentity {
            realm_id: RealmId::new(realm),
            realm_name: RealmName::new(realm).expect("name"),
            user_id: UserId::from("u"),
            client_id: ClientId::new("admin-cli"),
            session: None,
            realm_roles: BTreeSet::new(),
            client_roles: clients
                .iter()
                .map(|(c, roles)| {
                    (
                        (*c).to_owned(),
                        roles.iter().map(|r| (*r).to_owned()).collect(),
                    )
                })
                .collect(),
        }
    }

    fn realm(name: &str) -> Realm {
        Realm::new(RealmId::new(name), RealmName::new(name).expect("name"))
    }

    #[test]
    fn master_admins_use_the_realm_client_of_the_target() {
        let who = identity("master", &[("acme-realm", &["view-users"])]);
        assert!(who.may(&realm("acme"), Permission::ViewUsers));
        assert!(who.may(&realm("acme"), Permission::QueryUsers));
        assert!(!who.may(&realm("acme"), Permission::ManageUsers));
        assert!(!who.may(&realm("other"), Permission::ViewUsers));
        assert!(!who.may(&realm("master"), Permission::ViewUsers));
    }

    #[test]
    fn realm_admins_only_reach_their_own_realm() {
        let who = identity("acme", &[("realm-management", &["realm-admin"])]);
        assert!(who.may(&realm("acme"), Permission::ManageClients));
        assert!(!who.may(&realm("other"), Permission::ViewRealm));
        assert!(!who.may_create_realm());
    }

    #[test]
    fn roles_come_from_the_token_for_other_clients() {
        let claims = json!({
            "realm_access": {"roles": ["offline_access"]},
            "resource_access": {"realm-management": {"roles": ["view-clients"]}}
        });
        let (realm, clients) = roles_from_claims(claims.as_object().expect("object"));
        assert!(realm.contains("offline_access"));
        assert!(clients["realm-management"].contains("view-clients"));
    }
}
