//! Realm and client roles, their composites, and the role mappings of users and groups, as
//! Keycloak's `RoleContainerResource`, `RoleByIdResource` and `RoleMapperResource` handle them.
//!
//! Permissions follow Keycloak's `RolePermissions`: realm roles are read with `view-realm` and
//! changed with `manage-realm`; client roles with `view-clients` and `manage-clients`; role lists
//! also answer the query roles. Mapping a role (to a user, a group, or into a composite) never
//! hands out an administration role the caller could not exercise itself (`checkAdminRoles`).

use std::collections::{BTreeMap, HashMap, HashSet};

use gatehouse_model::rep::group::GroupRepresentation;
use gatehouse_model::rep::role::{
    ClientMappingsRepresentation, MappingsRepresentation, RoleRepresentation,
};
use gatehouse_model::{ClientUuid, GroupId, Realm, Role, RoleId, UserId};
use gatehouse_store::{StoreError, Tx};

use super::{AdminIdentity, Permission, REALM_MANAGEMENT};
use crate::tokens::{expand_composites, user_role_sources};
use crate::{MASTER_REALM, ServiceError, Services};

/// Keycloak's `AdminRoles.ALL_ROLES`: the names mapping is careful about.
const ADMIN_ROLE_NAMES: &[&str] = &[
    "create-client",
    "view-realm",
    "view-users",
    "view-clients",
    "view-events",
    "view-identity-providers",
    "view-authorization",
    "manage-realm",
    "manage-users",
    "manage-clients",
    "manage-events",
    "manage-identity-providers",
    "manage-authorization",
    "query-users",
    "query-clients",
    "query-realms",
    "query-groups",
    "impersonation",
    "admin",
    "create-realm",
    "realm-admin",
];

/// Where roles live: the realm itself (realm roles) or one of its clients (client roles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleContainer {
    /// The realm's own roles.
    Realm,
    /// The roles of the client with this internal id.
    Client(ClientUuid),
}

/// How an admin request names one role: by name in a container, or by id (`roles-by-id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    /// `.../roles/{role-name}` or `.../clients/{id}/roles/{role-name}`.
    Named(RoleContainer, String),
    /// `.../roles-by-id/{role-id}`.
    Id(RoleId),
}

/// Who role mappings belong to: a user or a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleHolder {
    /// `.../users/{id}/role-mappings`.
    User(UserId),
    /// `.../groups/{id}/role-mappings`.
    Group(GroupId),
}

/// Which of a holder's roles a mapping request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingView {
    /// The roles mapped directly.
    Direct,
    /// The effective roles: expanded through composites and, for a user, its groups and their
    /// ancestors, for a group its ancestors. `brief` leaves out attributes.
    Effective {
        /// Brief representations (the default).
        brief: bool,
    },
    /// The roles the caller may still map (not mapped directly, and mappable by the caller).
    Available,
}

/// Paging and search of a role list.
#[derive(Debug, Clone, Default)]
pub struct RoleListQuery {
    /// Substring of the name or description, ignoring case.
    pub search: Option<String>,
    /// First result to return.
    pub first: Option<i64>,
    /// Most results to return.
    pub max: Option<i64>,
    /// Brief representations (no attributes); Keycloak's default.
    pub brief: bool,
}

/// Role representations with the realm's composite flags loaded once.
struct Reps {
    composites: HashSet<RoleId>,
}

impl Reps {
    async fn load(tx: &mut Tx, realm: &Realm) -> Result<Self, StoreError> {
        Ok(Reps {
            composites: tx
                .composite_role_ids(&realm.id)
                .await?
                .into_iter()
                .collect(),
        })
    }

    fn brief(&self, role: &Role) -> RoleRepresentation {
        RoleRepresentation::brief(role, self.composites.contains(&role.id))
    }

    fn full(&self, role: &Role) -> RoleRepresentation {
        RoleRepresentation::full(role, self.composites.contains(&role.id))
    }

    fn form(&self, role: &Role, brief: bool) -> RoleRepresentation {
        if brief {
            self.brief(role)
        } else {
            self.full(role)
        }
    }
}

fn role_not_found() -> ServiceError {
    ServiceError::NotFound("Role".into())
}

fn forbidden(why: &str) -> ServiceError {
    ServiceError::Forbidden(why.to_owned())
}

/// Keycloak's `first`/`max` on an in-memory list: negative or absent values are ignored.
pub(super) fn page<T>(items: Vec<T>, first: Option<i64>, max: Option<i64>) -> Vec<T> {
    let skip = first.filter(|f| *f > 0).unwrap_or(0);
    let skip = usize::try_from(skip).unwrap_or(usize::MAX);
    let take = match max.filter(|m| *m >= 0) {
        Some(m) => usize::try_from(m).unwrap_or(usize::MAX),
        None => usize::MAX,
    };
    items.into_iter().skip(skip).take(take).collect()
}

/// The client of a container, which must belong to `realm` (404 "Client" otherwise).
async fn check_client(tx: &mut Tx, realm: &Realm, client: &ClientUuid) -> Result<(), ServiceError> {
    match tx.client_by_id(client).await? {
        Some(c) if c.realm_id == realm.id => Ok(()),
        _ => Err(ServiceError::NotFound("Client".into())),
    }
}

async fn container_roles(
    tx: &mut Tx,
    realm: &Realm,
    container: &RoleContainer,
) -> Result<Vec<Role>, ServiceError> {
    Ok(match container {
        RoleContainer::Realm => tx.list_realm_roles(&realm.id).await?,
        RoleContainer::Client(client) => {
            check_client(tx, realm, client).await?;
            tx.list_client_roles(client).await?
        }
    })
}

async fn role_by_name(
    tx: &mut Tx,
    realm: &Realm,
    container: &RoleContainer,
    name: &str,
) -> Result<Option<Role>, ServiceError> {
    Ok(match container {
        RoleContainer::Realm => tx.realm_role_by_name(&realm.id, name).await?,
        RoleContainer::Client(client) => {
            check_client(tx, realm, client).await?;
            tx.client_role_by_name(client, name).await?
        }
    })
}

/// The role a request names, in `realm` (404 "Role", or "Client" for a missing client).
async fn resolve(tx: &mut Tx, realm: &Realm, role: &RoleRef) -> Result<Role, ServiceError> {
    match role {
        RoleRef::Named(container, name) => role_by_name(tx, realm, container, name)
            .await?
            .ok_or_else(role_not_found),
        RoleRef::Id(id) => tx
            .role_by_id(id)
            .await?
            .filter(|r| r.realm_id == realm.id)
            .ok_or_else(role_not_found),
    }
}

/// A role given in a request body (a composite or a mapping), by id or by name: a name is a
/// realm role's, or a client role's when the body says `clientRole` with the client's id as
/// `containerId`. When both id and name are given they must agree, as Keycloak checks.
async fn resolve_rep(
    tx: &mut Tx,
    realm: &Realm,
    within: Option<&RoleContainer>,
    rep: &RoleRepresentation,
) -> Result<Role, ServiceError> {
    let by_name = match &rep.name {
        Some(name) => {
            let container = match within {
                Some(c) => c.clone(),
                None if rep.client_role == Some(true) => match &rep.container_id {
                    Some(c) => RoleContainer::Client(ClientUuid::new(c.as_str())),
                    None => return Err(role_not_found()),
                },
                None => RoleContainer::Realm,
            };
            let found = match &container {
                RoleContainer::Realm => tx.realm_role_by_name(&realm.id, name).await?,
                RoleContainer::Client(client) => tx
                    .client_role_by_name(client, name)
                    .await?
                    .filter(|r| r.realm_id == realm.id),
            };
            Some(found.ok_or_else(role_not_found)?)
        }
        None => None,
    };
    let role = match (by_name, &rep.id) {
        (Some(role), Some(id)) if role.id.as_str() != id => return Err(role_not_found()),
        (Some(role), _) => role,
        (None, Some(id)) => tx
            .role_by_id(&RoleId::new(id.as_str()))
            .await?
            .filter(|r| r.realm_id == realm.id)
            .ok_or_else(role_not_found)?,
        (None, None) => return Err(role_not_found()),
    };
    let fits = match within {
        None => true,
        Some(RoleContainer::Realm) => role.client.is_none(),
        Some(RoleContainer::Client(c)) => role.client.as_ref() == Some(c),
    };
    if fits {
        Ok(role)
    } else {
        Err(role_not_found())
    }
}

/// What reading a role needs: `view-realm` for a realm role, `view-clients` for a client role.
fn view_permission(role: &Role) -> Permission {
    if role.client.is_some() {
        Permission::ViewClients
    } else {
        Permission::ViewRealm
    }
}

/// What changing a role needs: `manage-realm` for a realm role, `manage-clients` for a client's.
fn manage_permission(role: &Role) -> Permission {
    if role.client.is_some() {
        Permission::ManageClients
    } else {
        Permission::ManageRealm
    }
}

impl RoleContainer {
    /// What reading the container's roles needs: `view-realm`, or `view-clients`.
    pub fn view_permission(&self) -> Permission {
        match self {
            RoleContainer::Realm => Permission::ViewRealm,
            RoleContainer::Client(_) => Permission::ViewClients,
        }
    }

    /// What changing the container's roles needs: `manage-realm`, or `manage-clients`.
    pub fn manage_permission(&self) -> Permission {
        match self {
            RoleContainer::Realm => Permission::ManageRealm,
            RoleContainer::Client(_) => Permission::ManageClients,
        }
    }

    /// The permissions that list the container's roles (Keycloak's `RolePermissions.canList`):
    /// viewing the container, or any query role.
    pub fn list_permissions(&self) -> &'static [Permission] {
        match self {
            RoleContainer::Realm => &[
                Permission::ViewRealm,
                Permission::QueryUsers,
                Permission::QueryGroups,
                Permission::QueryClients,
            ],
            RoleContainer::Client(_) => &[Permission::ViewClients, Permission::QueryClients],
        }
    }
}

impl AdminIdentity {
    /// Whether the caller itself holds `role` (of the realm the caller belongs to).
    fn holds(&self, role: &Role, role_client: Option<&str>) -> bool {
        if role.realm_id != self.realm_id {
            return false;
        }
        match role_client {
            None => self.realm_roles.contains(&role.name),
            Some(client) => self
                .client_roles
                .get(client)
                .is_some_and(|roles| roles.contains(&role.name)),
        }
    }

    /// Keycloak's `RolePermissions.checkAdminRoles`: whether the caller may hand out `role` of
    /// `realm` (whose client, if any, has `role_client` as its `clientId`). Ordinary roles are
    /// free; an administration role needs the caller to hold it, or to hold what it grants.
    fn may_hand_out(&self, realm: &Realm, role: &Role, role_client: Option<&str>) -> bool {
        if !ADMIN_ROLE_NAMES.contains(&role.name.as_str()) || self.holds(role, role_client) {
            return true;
        }
        let in_master = realm.name.as_str() == MASTER_REALM;
        let permissions_client = if in_master {
            format!("{MASTER_REALM}-realm")
        } else {
            REALM_MANAGEMENT.to_owned()
        };
        match role_client {
            Some(client) if client == permissions_client => {
                let may = |p| self.may(realm, p);
                match role.name.as_str() {
                    "manage-clients" | "create-client" => may(Permission::ManageClients),
                    "view-clients" => may(Permission::ViewClients),
                    "query-realms" | "query-clients" | "query-users" | "query-groups" => true,
                    "manage-events" => may(Permission::ManageEvents),
                    "view-events" => may(Permission::ViewEvents),
                    "manage-users" => may(Permission::ManageUsers),
                    "view-users" => may(Permission::ViewUsers),
                    "manage-realm" => may(Permission::ManageRealm),
                    "view-realm" => may(Permission::ViewRealm),
                    "impersonation" => may(Permission::Impersonation),
                    "realm-admin" => {
                        self.realm_name.as_str() == MASTER_REALM
                            && self.realm_roles.contains("admin")
                    }
                    other => self.management_roles(realm).is_some_and(|roles| {
                        roles.contains("realm-admin")
                            || roles.contains(other)
                            || other
                                .strip_prefix("view-")
                                .is_some_and(|rest| roles.contains(&format!("manage-{rest}")))
                    }),
                }
            }
            // The administration roles of the master realm, and the `<realm>-realm` clients'
            // roles there, are only handed out by someone who holds them.
            Some(client) => !(in_master && client.ends_with("-realm")),
            None => !in_master,
        }
    }
}

impl Services {
    /// The realm an admin request names, once the caller has at least one of `permissions` in
    /// it: 404 when it does not exist, then 403.
    pub async fn admin_realm_any(
        &self,
        who: &AdminIdentity,
        realm: &str,
        permissions: &[Permission],
    ) -> Result<Realm, ServiceError> {
        let realm = self.realm(realm).await?;
        if permissions.iter().any(|p| who.may(&realm, *p)) {
            Ok(realm)
        } else {
            Err(forbidden("none of the accepted permissions"))
        }
    }

    /// `GET .../roles`: the container's roles by name, searched (name or description, ignoring
    /// case) and paged as Keycloak does (without a search, paging needs both `first` and `max`).
    pub async fn admin_roles(
        &self,
        realm: &Realm,
        container: &RoleContainer,
        query: &RoleListQuery,
    ) -> Result<Vec<RoleRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let roles = container_roles(&mut tx, realm, container).await?;
        let reps = Reps::load(&mut tx, realm).await?;
        tx.rollback().await?;
        let search = query
            .search
            .as_deref()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty());
        let roles = match search {
            Some(s) => {
                let found = roles
                    .into_iter()
                    .filter(|r| {
                        r.name.to_lowercase().contains(&s)
                            || r.description
                                .as_deref()
                                .is_some_and(|d| d.to_lowercase().contains(&s))
                    })
                    .collect();
                page(found, query.first, query.max)
            }
            None if query.first.is_some() && query.max.is_some() => {
                page(roles, query.first, query.max)
            }
            None => roles,
        };
        Ok(roles.iter().map(|r| reps.form(r, query.brief)).collect())
    }

    /// `GET .../roles/{role-name}` and `GET .../roles-by-id/{id}`: one role, full form. A role
    /// named by id is checked against the caller's rights on its own container.
    pub async fn admin_role(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        role: &RoleRef,
    ) -> Result<RoleRepresentation, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let found = resolve(&mut tx, realm, role).await?;
        who.require(realm, view_permission(&found))?;
        let reps = Reps::load(&mut tx, realm).await?;
        tx.rollback().await?;
        Ok(reps.full(&found))
    }

    /// `POST .../roles`: creates a role with its description, attributes and (when `composite`
    /// is set) the composites named in `composites`; returns its name. 409 "Role with name
    /// <name> already exists".
    pub async fn admin_create_role(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        container: &RoleContainer,
        rep: &RoleRepresentation,
    ) -> Result<String, ServiceError> {
        let name = rep
            .name
            .clone()
            .ok_or_else(|| ServiceError::Invalid("role has no name".into()))?;
        let mut tx = self.store().begin().await?;
        let client = match container {
            RoleContainer::Realm => None,
            RoleContainer::Client(c) => {
                check_client(&mut tx, realm, c).await?;
                Some(c.clone())
            }
        };
        let role = Role {
            id: RoleId::new_random(),
            realm_id: realm.id.clone(),
            client,
            name: name.clone(),
            description: rep.description.clone(),
            attributes: rep.attributes.clone().unwrap_or_default(),
        };
        match tx.insert_role(&role).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(ServiceError::Conflict(format!(
                    "Role with name {name} already exists"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        if rep.composite == Some(true)
            && let Some(composites) = &rep.composites
        {
            let mut children = Vec::new();
            for child in composites.realm.iter().flatten() {
                let found = tx.realm_role_by_name(&realm.id, child).await?;
                children.push((found.ok_or_else(role_not_found)?, None));
            }
            for (client_id, names) in composites.client.iter().flatten() {
                let Some(client) = tx
                    .client_by_client_id(&realm.id, &gatehouse_model::ClientId::new(client_id))
                    .await?
                else {
                    // Keycloak skips clients it does not know.
                    continue;
                };
                for child in names {
                    let found = tx.client_role_by_name(&client.id, child).await?;
                    children.push((found.ok_or_else(role_not_found)?, Some(client_id.clone())));
                }
            }
            for (child, client_id) in &children {
                require_map_composite(who, realm, child, client_id.as_deref())?;
                tx.add_composite(&role.id, &child.id).await?;
            }
        }
        tx.commit().await?;
        Ok(name)
    }

    /// `PUT .../roles/{role-name}` and `PUT .../roles-by-id/{id}`: renames the role and replaces
    /// its description (and its attributes, when given). 409 when the new name is taken.
    pub async fn admin_update_role(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        role: &RoleRef,
        rep: &RoleRepresentation,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let mut found = resolve(&mut tx, realm, role).await?;
        who.require(realm, manage_permission(&found))?;
        rep.apply_to(&mut found).map_err(ServiceError::Invalid)?;
        match tx.update_role(&found).await {
            Ok(true) => {}
            Ok(false) => return Err(role_not_found()),
            Err(StoreError::Conflict(_)) => {
                return Err(ServiceError::Conflict(format!(
                    "Role with name {} already exists",
                    found.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE .../roles/{role-name}` and `DELETE .../roles-by-id/{id}`. The realm's default
    /// role is refused with Keycloak's 400.
    pub async fn admin_delete_role(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        role: &RoleRef,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let found = resolve(&mut tx, realm, role).await?;
        who.require(realm, manage_permission(&found))?;
        if realm.default_role_id.as_ref() == Some(&found.id) {
            return Err(ServiceError::Invalid(format!(
                "{} is default role of the realm and cannot be removed.",
                found.name
            )));
        }
        if !tx.delete_role(&found.id).await? {
            return Err(role_not_found());
        }
        tx.commit().await?;
        Ok(())
    }

    /// `GET .../composites`, `.../composites/realm` and `.../composites/clients/{client}`: the
    /// roles a composite includes directly, all of them or those of the realm or of one client.
    pub async fn admin_role_composites(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        role: &RoleRef,
        only: Option<&RoleContainer>,
    ) -> Result<Vec<RoleRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let found = resolve(&mut tx, realm, role).await?;
        who.require(realm, view_permission(&found))?;
        if let Some(RoleContainer::Client(client)) = only {
            check_client(&mut tx, realm, client).await?;
        }
        let children = tx.composites_of(&found.id).await?;
        let reps = Reps::load(&mut tx, realm).await?;
        tx.rollback().await?;
        Ok(children
            .iter()
            .filter(|c| match only {
                None => true,
                Some(RoleContainer::Realm) => c.client.is_none(),
                Some(RoleContainer::Client(client)) => c.client.as_ref() == Some(client),
            })
            .map(|c| reps.brief(c))
            .collect())
    }

    /// `POST .../composites` (`add`) and `DELETE .../composites`: adds roles to a composite, or
    /// takes them out. Each role is given by id (or name); adding one needs the right to map it.
    pub async fn admin_change_composites(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        role: &RoleRef,
        children: &[RoleRepresentation],
        add: bool,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let found = resolve(&mut tx, realm, role).await?;
        who.require(realm, manage_permission(&found))?;
        let mut names = ClientNames::default();
        for rep in children {
            let child = resolve_rep(&mut tx, realm, None, rep).await?;
            if add {
                let client_id = names.of(&mut tx, child.client.as_ref()).await?;
                require_map_composite(who, realm, &child, client_id.as_deref())?;
                tx.add_composite(&found.id, &child.id).await?;
            } else {
                tx.remove_composite(&found.id, &child.id).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// `GET .../roles/{role-name}/groups`: a page of the groups the role is mapped to directly.
    pub async fn admin_role_groups(
        &self,
        realm: &Realm,
        role: &RoleRef,
        first: Option<i64>,
        max: Option<i64>,
        brief: bool,
    ) -> Result<Vec<GroupRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let found = resolve(&mut tx, realm, role).await?;
        let groups = tx
            .groups_with_role(&found.id, first.unwrap_or(0), Some(max.unwrap_or(100)))
            .await?;
        let mut out = Vec::with_capacity(groups.len());
        let mut paths = super::groups::Paths::default();
        for g in &groups {
            out.push(super::groups::group_rep(&mut tx, &mut paths, g, !brief).await?);
        }
        tx.rollback().await?;
        Ok(out)
    }

    /// `GET .../role-mappings`: the holder's direct mappings, realm roles and client roles by
    /// `clientId`, leaving out the roles the caller may not view.
    pub async fn admin_role_mappings(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        holder: &RoleHolder,
    ) -> Result<MappingsRepresentation, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let direct = direct_roles(&mut tx, realm, holder).await?;
        let reps = Reps::load(&mut tx, realm).await?;
        let mut realm_mappings = Vec::new();
        let mut client_mappings: BTreeMap<String, ClientMappingsRepresentation> = BTreeMap::new();
        let mut names = ClientNames::default();
        for role in direct.iter().filter(|r| who.may(realm, view_permission(r))) {
            match &role.client {
                None => realm_mappings.push(reps.brief(role)),
                Some(client) => {
                    let Some(client_id) = names.of(&mut tx, Some(client)).await? else {
                        continue;
                    };
                    client_mappings
                        .entry(client_id.clone())
                        .or_insert_with(|| ClientMappingsRepresentation {
                            id: client.to_string(),
                            client: client_id,
                            mappings: Vec::new(),
                        })
                        .mappings
                        .push(reps.brief(role));
                }
            }
        }
        tx.rollback().await?;
        Ok(MappingsRepresentation {
            realm_mappings: (!realm_mappings.is_empty()).then_some(realm_mappings),
            client_mappings: (!client_mappings.is_empty()).then_some(client_mappings),
        })
    }

    /// `GET .../role-mappings/realm[/composite|/available]` and the same under
    /// `.../clients/{client}`: the holder's realm roles (`scope` Realm) or one client's roles,
    /// direct, effective or still available to map.
    pub async fn admin_holder_roles(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        holder: &RoleHolder,
        scope: &RoleContainer,
        view: MappingView,
    ) -> Result<Vec<RoleRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        if let RoleContainer::Client(client) = scope {
            check_client(&mut tx, realm, client).await?;
        }
        let direct = direct_roles(&mut tx, realm, holder).await?;
        let in_scope = |r: &Role| match scope {
            RoleContainer::Realm => r.client.is_none(),
            RoleContainer::Client(c) => r.client.as_ref() == Some(c),
        };
        let reps = Reps::load(&mut tx, realm).await?;
        let out = match view {
            MappingView::Direct => direct
                .iter()
                .filter(|r| in_scope(r) && who.may(realm, view_permission(r)))
                .map(|r| reps.brief(r))
                .collect(),
            MappingView::Effective { brief } => {
                let roles = effective_roles(&mut tx, realm, holder, direct).await?;
                let mut roles: Vec<Role> = roles
                    .into_iter()
                    .filter(|r| in_scope(r) && who.may(realm, view_permission(r)))
                    .collect();
                roles.sort_by(|a, b| a.name.cmp(&b.name));
                roles.iter().map(|r| reps.form(r, brief)).collect()
            }
            MappingView::Available => {
                let mapped: HashSet<RoleId> = direct.into_iter().map(|r| r.id).collect();
                let candidates = container_roles(&mut tx, realm, scope).await?;
                let client_id = match scope {
                    RoleContainer::Realm => None,
                    RoleContainer::Client(c) => ClientNames::default().of(&mut tx, Some(c)).await?,
                };
                candidates
                    .iter()
                    .filter(|r| !mapped.contains(&r.id))
                    .filter(|r| may_map(who, realm, r, client_id.as_deref()))
                    .map(|r| reps.brief(r))
                    .collect()
            }
        };
        tx.rollback().await?;
        Ok(out)
    }

    /// `POST`/`DELETE .../role-mappings/realm` and `.../role-mappings/clients/{client}`: maps
    /// roles to the holder (`grant`) or takes them away. Roles are given by name (and id), or
    /// by id; an unknown one is 404 "Role". `None` (a `DELETE` without a body) removes every
    /// direct mapping in the scope, as Keycloak does.
    pub async fn admin_change_mappings(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        holder: &RoleHolder,
        scope: &RoleContainer,
        roles: Option<&[RoleRepresentation]>,
        grant: bool,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        if let RoleContainer::Client(client) = scope {
            check_client(&mut tx, realm, client).await?;
        }
        check_holder(&mut tx, realm, holder).await?;
        let client_id = match scope {
            RoleContainer::Realm => None,
            RoleContainer::Client(c) => ClientNames::default().of(&mut tx, Some(c)).await?,
        };
        let targets = match roles {
            Some(reps) => {
                let mut out = Vec::with_capacity(reps.len());
                for rep in reps {
                    out.push(resolve_rep(&mut tx, realm, Some(scope), rep).await?);
                }
                out
            }
            None => direct_roles(&mut tx, realm, holder)
                .await?
                .into_iter()
                .filter(|r| match scope {
                    RoleContainer::Realm => r.client.is_none(),
                    RoleContainer::Client(c) => r.client.as_ref() == Some(c),
                })
                .collect(),
        };
        for role in &targets {
            if !may_map(who, realm, role, client_id.as_deref()) {
                return Err(forbidden("may not map this role"));
            }
            match (holder, grant) {
                (RoleHolder::User(u), true) => tx.grant_user_role(u, &role.id).await?,
                (RoleHolder::User(u), false) => {
                    tx.revoke_user_role(u, &role.id).await?;
                }
                (RoleHolder::Group(g), true) => tx.grant_group_role(g, &role.id).await?,
                (RoleHolder::Group(g), false) => {
                    tx.revoke_group_role(g, &role.id).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Keycloak's `canMapRole` for a `manage-users` caller: the mapping rules of
/// [`AdminIdentity::may_hand_out`].
fn may_map(who: &AdminIdentity, realm: &Realm, role: &Role, role_client: Option<&str>) -> bool {
    who.may(realm, Permission::ManageUsers) && who.may_hand_out(realm, role, role_client)
}

/// Keycloak's `canMapComposite`: managing the child's container, and the mapping rules.
fn require_map_composite(
    who: &AdminIdentity,
    realm: &Realm,
    child: &Role,
    client_id: Option<&str>,
) -> Result<(), ServiceError> {
    if who.may(realm, manage_permission(child)) && who.may_hand_out(realm, child, client_id) {
        Ok(())
    } else {
        Err(forbidden("may not add this role to a composite"))
    }
}

/// `clientId`s of clients by internal id, looked up once each.
#[derive(Default)]
struct ClientNames(HashMap<ClientUuid, Option<String>>);

impl ClientNames {
    async fn of(
        &mut self,
        tx: &mut Tx,
        client: Option<&ClientUuid>,
    ) -> Result<Option<String>, StoreError> {
        let Some(client) = client else {
            return Ok(None);
        };
        if let Some(known) = self.0.get(client) {
            return Ok(known.clone());
        }
        let found = tx
            .client_by_id(client)
            .await?
            .map(|c| c.client_id.to_string());
        self.0.insert(client.clone(), found.clone());
        Ok(found)
    }
}

/// 404 "User" or "Group" unless the holder exists in `realm`.
async fn check_holder(tx: &mut Tx, realm: &Realm, holder: &RoleHolder) -> Result<(), ServiceError> {
    match holder {
        RoleHolder::User(id) => match tx.user_by_id(id).await? {
            Some(u) if u.realm_id == realm.id => Ok(()),
            _ => Err(ServiceError::NotFound("User".into())),
        },
        RoleHolder::Group(id) => match tx.group_by_id(id).await? {
            Some(g) if g.realm_id == realm.id => Ok(()),
            _ => Err(ServiceError::NotFound("Group".into())),
        },
    }
}

/// The holder's direct mappings, by name (404 when the holder is not in `realm`).
async fn direct_roles(
    tx: &mut Tx,
    realm: &Realm,
    holder: &RoleHolder,
) -> Result<Vec<Role>, ServiceError> {
    check_holder(tx, realm, holder).await?;
    let ids = match holder {
        RoleHolder::User(id) => tx.user_role_ids(id).await?,
        RoleHolder::Group(id) => tx.group_role_ids(id).await?,
    };
    let mut roles = Vec::with_capacity(ids.len());
    for id in &ids {
        if let Some(role) = tx.role_by_id(id).await? {
            roles.push(role);
        }
    }
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(roles)
}

/// The holder's effective roles: for a user what its tokens carry (direct, groups and their
/// ancestors, composites), for a group its own and its ancestors' mappings, expanded.
async fn effective_roles(
    tx: &mut Tx,
    realm: &Realm,
    holder: &RoleHolder,
    direct: Vec<Role>,
) -> Result<Vec<Role>, ServiceError> {
    let start = match holder {
        RoleHolder::User(id) => user_role_sources(tx, id).await?.0,
        RoleHolder::Group(_) => {
            let mut start: Vec<RoleId> = direct.into_iter().map(|r| r.id).collect();
            let mut parent = match holder {
                RoleHolder::Group(id) => tx.group_by_id(id).await?.and_then(|g| g.parent_id),
                RoleHolder::User(_) => None,
            };
            while let Some(id) = parent {
                start.extend(tx.group_role_ids(&id).await?);
                parent = tx.group_by_id(&id).await?.and_then(|g| g.parent_id);
            }
            start
        }
    };
    Ok(expand_composites(tx, start)
        .await?
        .into_iter()
        .filter(|r| r.realm_id == realm.id)
        .collect())
}

/// The realm role names and client role names (by `clientId`) mapped directly to a group, as a
/// full `GroupRepresentation` lists them.
pub(super) async fn group_role_names(
    tx: &mut Tx,
    group: &GroupId,
) -> Result<(Vec<String>, BTreeMap<String, Vec<String>>), StoreError> {
    let mut realm_roles = Vec::new();
    let mut client_roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut names = ClientNames::default();
    for id in tx.group_role_ids(group).await? {
        let Some(role) = tx.role_by_id(&id).await? else {
            continue;
        };
        match &role.client {
            None => realm_roles.push(role.name),
            Some(client) => {
                if let Some(client_id) = names.of(tx, Some(client)).await? {
                    client_roles.entry(client_id).or_default().push(role.name);
                }
            }
        }
    }
    realm_roles.sort();
    for list in client_roles.values_mut() {
        list.sort();
    }
    Ok((realm_roles, client_roles))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::{BTreeMap, BTreeSet};

    use gatehouse_model::{ClientId, RealmName};

    use super::*;

    fn realm(name: &str) -> Realm {
        Realm::new(
            gatehouse_model::RealmId::new(name),
            RealmName::new(name).expect("name"),
        )
    }

    fn who(realm: &str, realm_roles: &[&str], clients: &[(&str, &[&str])]) -> AdminIdentity {
        AdminIdentity {
            realm_id: gatehouse_model::RealmId::new(realm),
            realm_name: RealmName::new(realm).expect("name"),
            user_id: UserId::from("u"),
            client_id: ClientId::new("admin-cli"),
            session: None,
            realm_roles: realm_roles.iter().map(|r| (*r).to_owned()).collect(),
            client_roles: clients
                .iter()
                .map(|(c, roles)| {
                    (
                        (*c).to_owned(),
                        roles
                            .iter()
                            .map(|r| (*r).to_owned())
                            .collect::<BTreeSet<_>>(),
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn role(realm: &str, client: Option<&str>, name: &str) -> Role {
        Role {
            id: RoleId::new(name),
            realm_id: gatehouse_model::RealmId::new(realm),
            client: client.map(ClientUuid::new),
            name: name.to_owned(),
            description: None,
            attributes: BTreeMap::new(),
        }
    }

    #[test]
    fn ordinary_roles_are_free_to_map() {
        let helpdesk = who("acme", &[], &[("realm-management", &["manage-users"])]);
        let acme = realm("acme");
        assert!(may_map(
            &helpdesk,
            &acme,
            &role("acme", None, "editor"),
            None
        ));
    }

    #[test]
    fn admin_roles_need_what_they_grant() {
        let acme = realm("acme");
        let helpdesk = who("acme", &[], &[("realm-management", &["manage-users"])]);
        let rm = Some("realm-management");
        let view_users = role("acme", Some("rm"), "view-users");
        let manage_realm = role("acme", Some("rm"), "manage-realm");
        let realm_admin = role("acme", Some("rm"), "realm-admin");
        assert!(may_map(&helpdesk, &acme, &view_users, rm));
        assert!(may_map(
            &helpdesk,
            &acme,
            &role("acme", Some("rm"), "query-groups"),
            rm
        ));
        assert!(!may_map(&helpdesk, &acme, &manage_realm, rm));
        assert!(!may_map(&helpdesk, &acme, &realm_admin, rm));
        let boss = who("acme", &[], &[("realm-management", &["realm-admin"])]);
        assert!(may_map(&boss, &acme, &realm_admin, rm));
        let viewer = who("acme", &[], &[("realm-management", &["view-users"])]);
        assert!(
            !may_map(&viewer, &acme, &view_users, rm),
            "needs manage-users"
        );
    }

    #[test]
    fn master_admin_roles_need_the_caller_to_hold_them() {
        let master = realm("master");
        let helpdesk = who("master", &[], &[("master-realm", &["manage-users"])]);
        let admin = role("master", None, "admin");
        assert!(!may_map(&helpdesk, &master, &admin, None));
        let acme_admin = role("master", Some("acme-realm-uuid"), "manage-users");
        assert!(!may_map(
            &helpdesk,
            &master,
            &acme_admin,
            Some("acme-realm")
        ));
        let root = who("master", &["admin"], &[("master-realm", &["manage-users"])]);
        assert!(may_map(&root, &master, &admin, None));
    }

    #[test]
    fn pages_skip_and_take() {
        let items: Vec<i32> = (0..5).collect();
        assert_eq!(page(items.clone(), Some(1), Some(2)), [1, 2]);
        assert_eq!(page(items.clone(), None, None), [0, 1, 2, 3, 4]);
        assert_eq!(page(items, Some(-1), Some(-1)), [0, 1, 2, 3, 4]);
    }
}
