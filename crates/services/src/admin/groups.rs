//! Groups and memberships, as Keycloak's `GroupsResource`, `GroupResource` and the group part
//! of `UserResource` handle them.
//!
//! Permissions follow Keycloak's `GroupPermissions` without fine-grained permissions: listing
//! needs `query-groups`, but only callers who may view users (`view-users`) see any group;
//! changing groups and memberships needs `manage-users`.

use std::collections::{BTreeMap, HashMap};

use gatehouse_model::rep::group::{self, GroupRepresentation};
use gatehouse_model::{Group, GroupId, Realm, UserId};
use gatehouse_store::{StoreError, Tx};

use super::roles::{group_role_names, page};
use super::{AdminIdentity, Permission};
use crate::{ServiceError, Services};

/// `GET /groups`: Keycloak 26's query parameters and their defaults.
#[derive(Debug, Clone)]
pub struct GroupListQuery {
    /// Substring of a group name, at any depth (ignoring case), or the exact name with `exact`.
    pub search: Option<String>,
    /// Attribute search, `key:value key2:value2` (all must match exactly).
    pub q: Option<String>,
    /// Whether `search` must match the whole name.
    pub exact: bool,
    /// First result to return (of the matches, before the hierarchy is filled in).
    pub first: Option<i64>,
    /// Most results to return.
    pub max: Option<i64>,
    /// Brief representations (default true).
    pub brief: bool,
    /// Lay out the path from the top to each match (default true).
    pub populate_hierarchy: bool,
    /// Fill in `subGroupCount` (default true).
    pub sub_groups_count: bool,
}

impl Default for GroupListQuery {
    fn default() -> Self {
        GroupListQuery {
            search: None,
            q: None,
            exact: false,
            first: None,
            max: None,
            brief: true,
            populate_hierarchy: true,
            sub_groups_count: true,
        }
    }
}

/// `GET /groups/{id}/children`: Keycloak 26's query parameters and their defaults.
#[derive(Debug, Clone)]
pub struct ChildrenQuery {
    /// Substring of the child's name (ignoring case), or the exact name with `exact`.
    pub search: Option<String>,
    /// Whether `search` must match the whole name.
    pub exact: bool,
    /// First result to return (default 0).
    pub first: i64,
    /// Most results to return (default 10).
    pub max: i64,
    /// Brief representations (default false).
    pub brief: bool,
    /// Fill in `subGroupCount` (default true).
    pub sub_groups_count: bool,
}

impl Default for ChildrenQuery {
    fn default() -> Self {
        ChildrenQuery {
            search: None,
            exact: false,
            first: 0,
            max: 10,
            brief: false,
            sub_groups_count: true,
        }
    }
}

/// What a `POST /groups` or `POST /groups/{id}/children` did.
#[derive(Debug, Clone)]
pub enum GroupPlaced {
    /// A new group (201 with its `Location`), and its full representation.
    Created(GroupRepresentation),
    /// An existing group (the body named its id) moved here (204), and its representation.
    Moved(GroupRepresentation),
}

/// Groups by id and their paths, looked up once per request.
#[derive(Default)]
pub(super) struct Paths {
    groups: HashMap<GroupId, Group>,
}

impl Paths {
    async fn group(&mut self, tx: &mut Tx, id: &GroupId) -> Result<Option<Group>, StoreError> {
        if let Some(g) = self.groups.get(id) {
            return Ok(Some(g.clone()));
        }
        let found = tx.group_by_id(id).await?;
        if let Some(g) = &found {
            self.groups.insert(id.clone(), g.clone());
        }
        Ok(found)
    }

    /// `/top/.../name` of `group`.
    pub(super) async fn path(&mut self, tx: &mut Tx, group: &Group) -> Result<String, StoreError> {
        let mut names = vec![group.name.clone()];
        let mut parent = group.parent_id.clone();
        // A parent chain is finite (a group cannot be moved under its own subgroup); the bound
        // only guards against a corrupt database.
        while let Some(id) = parent.take() {
            if names.len() > 1000 {
                break;
            }
            if let Some(p) = self.group(tx, &id).await? {
                names.push(p.name.clone());
                parent = p.parent_id.clone();
            }
        }
        names.reverse();
        Ok(format!("/{}", names.join("/")))
    }
}

/// The brief or full (`full`) representation of `group`.
pub(super) async fn group_rep(
    tx: &mut Tx,
    paths: &mut Paths,
    group: &Group,
    full: bool,
) -> Result<GroupRepresentation, StoreError> {
    let path = paths.path(tx, group).await?;
    if full {
        let (realm_roles, client_roles) = group_role_names(tx, &group.id).await?;
        Ok(group::full(group, path, realm_roles, client_roles))
    } else {
        Ok(group::brief(group, path))
    }
}

/// Keycloak's `access` of a group for the caller.
fn access(who: &AdminIdentity, realm: &Realm) -> BTreeMap<String, bool> {
    let manage = who.may(realm, Permission::ManageUsers);
    BTreeMap::from([
        ("view".to_owned(), who.may(realm, Permission::ViewUsers)),
        ("manage".to_owned(), manage),
        ("manageMembership".to_owned(), manage),
    ])
}

fn group_not_found() -> ServiceError {
    ServiceError::NotFound("Group".into())
}

async fn group_in(tx: &mut Tx, realm: &Realm, id: &GroupId) -> Result<Group, ServiceError> {
    tx.group_by_id(id)
        .await?
        .filter(|g| g.realm_id == realm.id)
        .ok_or_else(group_not_found)
}

/// Keycloak's `q` syntax: `key:value` pairs separated by spaces; either side may be quoted.
fn parse_attribute_query(q: &str) -> Vec<(String, String)> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in q.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
        .into_iter()
        .filter_map(|t| {
            let (k, v) = t.split_once(':')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

fn contains_ignoring_case(name: &str, search: &str, exact: bool) -> bool {
    if exact {
        name == search
    } else {
        name.to_lowercase().contains(&search.to_lowercase())
    }
}

/// Inserts `rep` (with the chain of its ancestors above it, top first) into `roots`, merging
/// with what is there, as Keycloak's `GroupUtils.populateGroupHierarchyFromSubGroups` does.
fn merge_path(roots: &mut Vec<GroupRepresentation>, mut chain: Vec<GroupRepresentation>) {
    if chain.is_empty() {
        return;
    }
    let head = chain.remove(0);
    let slot = match roots.iter().position(|r| r.id == head.id) {
        Some(i) => i,
        None => {
            roots.push(head);
            roots.len() - 1
        }
    };
    merge_path(&mut roots[slot].sub_groups, chain);
}

fn sort_tree(groups: &mut [GroupRepresentation]) {
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    for g in groups {
        sort_tree(&mut g.sub_groups);
    }
}

impl Services {
    /// `GET /groups`: the top-level groups, or the groups matching `search` (any depth) or `q`,
    /// each with the path down to it laid out when `populate_hierarchy`. Callers without
    /// `view-users` see no group, as in Keycloak.
    pub async fn admin_groups(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        query: &GroupListQuery,
    ) -> Result<Vec<GroupRepresentation>, ServiceError> {
        if !who.may(realm, Permission::ViewUsers) {
            return Ok(Vec::new());
        }
        let mut tx = self.store().begin_read().await?;
        let found = if let Some(q) = &query.q {
            let wanted = parse_attribute_query(q);
            let all = tx.list_groups(&realm.id).await?;
            let matching = all
                .into_iter()
                .filter(|g| {
                    wanted
                        .iter()
                        .all(|(k, v)| g.attributes.get(k).is_some_and(|values| values.contains(v)))
                })
                .collect();
            page(matching, query.first, query.max)
        } else if let Some(search) = &query.search {
            tx.search_groups_by_name(
                &realm.id,
                search.trim(),
                query.exact,
                query.first.unwrap_or(0),
                query.max.filter(|m| *m >= 0),
            )
            .await?
        } else {
            page(
                tx.top_level_groups(&realm.id).await?,
                query.first,
                query.max,
            )
        };
        let access = access(who, realm);
        let mut paths = Paths::default();
        let mut out: Vec<GroupRepresentation> = Vec::new();
        let mut reps: HashMap<GroupId, GroupRepresentation> = HashMap::new();
        for g in &found {
            let chain_groups = if query.populate_hierarchy {
                let mut chain = vec![g.clone()];
                let mut parent = g.parent_id.clone();
                while let Some(id) = parent.take() {
                    if let Some(p) = paths.group(&mut tx, &id).await? {
                        parent = p.parent_id.clone();
                        chain.push(p);
                    }
                }
                chain.reverse();
                chain
            } else {
                vec![g.clone()]
            };
            let mut chain = Vec::with_capacity(chain_groups.len());
            for cg in &chain_groups {
                let rep = match reps.get(&cg.id) {
                    Some(rep) => rep.clone(),
                    None => {
                        let mut rep = group_rep(&mut tx, &mut paths, cg, !query.brief).await?;
                        rep.access = Some(access.clone());
                        if query.sub_groups_count {
                            rep.sub_group_count = Some(tx.subgroup_count(&cg.id).await?);
                        }
                        reps.insert(cg.id.clone(), rep.clone());
                        rep
                    }
                };
                chain.push(rep);
            }
            if query.populate_hierarchy {
                merge_path(&mut out, chain);
            } else {
                out.extend(chain);
            }
        }
        tx.rollback().await?;
        if query.populate_hierarchy {
            sort_tree(&mut out);
        }
        Ok(out)
    }

    /// `GET /groups/count`: how many groups match `search` (any depth), or how many there are
    /// (only top-level ones with `top`).
    pub async fn admin_group_count(
        &self,
        realm: &Realm,
        search: Option<&str>,
        top: bool,
    ) -> Result<i64, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let n = match search {
            Some(s) => tx.count_groups_by_name(&realm.id, s).await?,
            None => tx.count_groups(&realm.id, top).await?,
        };
        tx.rollback().await?;
        Ok(n)
    }

    /// `GET /groups/{id}`: the full representation with `access` and `subGroupCount`.
    pub async fn admin_group(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &GroupId,
    ) -> Result<GroupRepresentation, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let g = group_in(&mut tx, realm, id).await?;
        let mut rep = group_rep(&mut tx, &mut Paths::default(), &g, true).await?;
        rep.access = Some(access(who, realm));
        rep.sub_group_count = Some(tx.subgroup_count(&g.id).await?);
        tx.rollback().await?;
        Ok(rep)
    }

    /// `POST /groups` (`parent` None) and `POST /groups/{id}/children`: creates a group under
    /// the parent, or, when the body names an existing group's id, moves that group there. 409
    /// "Top level group named '<n>' already exists." or "Sibling group named '<n>' already
    /// exists."; 400 "Group name is missing".
    pub async fn admin_place_group(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        parent: Option<&GroupId>,
        rep: &GroupRepresentation,
    ) -> Result<GroupPlaced, ServiceError> {
        let name = rep
            .wanted_name()
            .ok_or_else(|| ServiceError::Invalid("Group name is missing".into()))?
            .to_owned();
        let conflict = || match parent {
            None => {
                ServiceError::Conflict(format!("Top level group named '{name}' already exists."))
            }
            Some(_) => {
                ServiceError::Conflict(format!("Sibling group named '{name}' already exists."))
            }
        };
        let mut tx = self.store().begin().await?;
        if let Some(p) = parent {
            group_in(&mut tx, realm, p).await?;
        }
        let (group, created) = match &rep.id {
            Some(id) => {
                let id = GroupId::new(id.as_str());
                let mut g = tx
                    .group_by_id(&id)
                    .await?
                    .filter(|g| g.realm_id == realm.id)
                    .ok_or_else(group_not_found)?;
                if g.parent_id.as_ref() != parent && parent != Some(&g.id) {
                    if let Some(p) = parent {
                        // Refuse to hang a group below itself: its path would never end.
                        let mut up = Some(p.clone());
                        while let Some(a) = up {
                            if a == g.id {
                                return Err(ServiceError::Invalid(
                                    "Cannot move a group under its own subgroup".into(),
                                ));
                            }
                            up = tx.group_by_id(&a).await?.and_then(|x| x.parent_id);
                        }
                    }
                    g.parent_id = parent.cloned();
                    match tx.update_group(&g).await {
                        Ok(_) => {}
                        Err(StoreError::Conflict(_)) => {
                            let n = g.name.clone();
                            return Err(match parent {
                                None => ServiceError::Conflict(format!(
                                    "Top level group named '{n}' already exists."
                                )),
                                Some(_) => ServiceError::Conflict(format!(
                                    "Sibling group named '{n}' already exists."
                                )),
                            });
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                (g, false)
            }
            None => {
                let mut g = Group {
                    id: GroupId::new_random(),
                    realm_id: realm.id.clone(),
                    parent_id: parent.cloned(),
                    name: name.clone(),
                    description: None,
                    attributes: BTreeMap::new(),
                };
                rep.apply_to(&mut g);
                match tx.insert_group(&g).await {
                    Ok(()) => {}
                    Err(StoreError::Conflict(_)) => return Err(conflict()),
                    Err(e) => return Err(e.into()),
                }
                (g, true)
            }
        };
        let mut out = group_rep(&mut tx, &mut Paths::default(), &group, true).await?;
        out.access = Some(access(who, realm));
        tx.commit().await?;
        Ok(if created {
            GroupPlaced::Created(out)
        } else {
            GroupPlaced::Moved(out)
        })
    }

    /// `PUT /groups/{id}`: name, description and attributes (subgroups are ignored). 400 for a
    /// blank name or another group's id; 409 "Sibling group named '<n>' already exists.".
    pub async fn admin_update_group(
        &self,
        realm: &Realm,
        id: &GroupId,
        rep: &GroupRepresentation,
    ) -> Result<(), ServiceError> {
        let name = rep
            .wanted_name()
            .ok_or_else(|| ServiceError::Invalid("Group name is missing".into()))?
            .to_owned();
        let mut tx = self.store().begin().await?;
        let mut g = group_in(&mut tx, realm, id).await?;
        if rep
            .id
            .as_deref()
            .is_some_and(|other| other != g.id.as_str())
        {
            return Err(ServiceError::Invalid("Invalid group id".into()));
        }
        let sibling_conflict =
            || ServiceError::Conflict(format!("Sibling group named '{name}' already exists."));
        if name != g.name {
            let siblings = match &g.parent_id {
                None => tx.top_level_groups(&realm.id).await?,
                Some(p) => tx.subgroups(p).await?,
            };
            if siblings.iter().any(|s| s.id != g.id && s.name == name) {
                return Err(sibling_conflict());
            }
        }
        rep.apply_to(&mut g);
        match tx.update_group(&g).await {
            Ok(true) => {}
            Ok(false) => return Err(group_not_found()),
            Err(StoreError::Conflict(_)) => return Err(sibling_conflict()),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE /groups/{id}`: the group with its subgroups, memberships and role mappings.
    pub async fn admin_delete_group(
        &self,
        realm: &Realm,
        id: &GroupId,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let g = group_in(&mut tx, realm, id).await?;
        tx.delete_group(&g.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /groups/{id}/children`: a page of the direct subgroups, by name.
    pub async fn admin_group_children(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &GroupId,
        query: &ChildrenQuery,
    ) -> Result<Vec<GroupRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let parent = group_in(&mut tx, realm, id).await?;
        let children: Vec<Group> = tx
            .subgroups(&parent.id)
            .await?
            .into_iter()
            .filter(|c| match &query.search {
                Some(s) => contains_ignoring_case(&c.name, s, query.exact),
                None => true,
            })
            .collect();
        let children = page(children, Some(query.first), Some(query.max));
        let access = access(who, realm);
        let mut paths = Paths::default();
        let mut out = Vec::with_capacity(children.len());
        for c in &children {
            let mut rep = group_rep(&mut tx, &mut paths, c, !query.brief).await?;
            rep.access = Some(access.clone());
            if query.sub_groups_count {
                rep.sub_group_count = Some(tx.subgroup_count(&c.id).await?);
            }
            out.push(rep);
        }
        tx.rollback().await?;
        Ok(out)
    }

    /// `GET /users/{id}/groups`: a page of the groups the user is a direct member of, by name,
    /// optionally only those whose name contains `search` (ignoring case).
    pub async fn admin_user_groups(
        &self,
        realm: &Realm,
        user: &UserId,
        search: Option<&str>,
        first: Option<i64>,
        max: Option<i64>,
        brief: bool,
    ) -> Result<Vec<GroupRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let groups = user_groups(&mut tx, realm, user, search).await?;
        let groups = page(groups, first, max);
        let mut paths = Paths::default();
        let mut out = Vec::with_capacity(groups.len());
        for g in &groups {
            out.push(group_rep(&mut tx, &mut paths, g, !brief).await?);
        }
        tx.rollback().await?;
        Ok(out)
    }

    /// `GET /users/{id}/groups/count`: how many groups the user is a direct member of.
    pub async fn admin_user_group_count(
        &self,
        realm: &Realm,
        user: &UserId,
        search: Option<&str>,
    ) -> Result<i64, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let n = user_groups(&mut tx, realm, user, search).await?.len();
        tx.rollback().await?;
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// `PUT /users/{id}/groups/{groupId}` (`join`) and `DELETE` of the same: joins or leaves
    /// the group; doing either twice changes nothing. 404 "User" or "Group".
    pub async fn admin_membership(
        &self,
        realm: &Realm,
        user: &UserId,
        group: &GroupId,
        join: bool,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        check_user(&mut tx, realm, user).await?;
        let g = group_in(&mut tx, realm, group).await?;
        if join {
            tx.join_group(user, &g.id).await?;
        } else {
            tx.leave_group(user, &g.id).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn check_user(tx: &mut Tx, realm: &Realm, user: &UserId) -> Result<(), ServiceError> {
    match tx.user_by_id(user).await? {
        Some(u) if u.realm_id == realm.id => Ok(()),
        _ => Err(ServiceError::NotFound("User".into())),
    }
}

async fn user_groups(
    tx: &mut Tx,
    realm: &Realm,
    user: &UserId,
    search: Option<&str>,
) -> Result<Vec<Group>, ServiceError> {
    check_user(tx, realm, user).await?;
    Ok(tx
        .groups_of_user(user)
        .await?
        .into_iter()
        .filter(|g| search.is_none_or(|s| contains_ignoring_case(&g.name, s, false)))
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn rep(id: &str, name: &str) -> GroupRepresentation {
        GroupRepresentation {
            id: Some(id.into()),
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn attribute_queries_split_on_spaces_outside_quotes() {
        assert_eq!(
            parse_attribute_query(r#"dept:eng "city name":"New York" bogus"#),
            [
                ("dept".to_owned(), "eng".to_owned()),
                ("city name".to_owned(), "New York".to_owned())
            ]
        );
    }

    #[test]
    fn paths_to_matches_merge_under_shared_ancestors() {
        let mut roots = Vec::new();
        merge_path(
            &mut roots,
            vec![rep("1", "top"), rep("2", "b"), rep("3", "leaf")],
        );
        merge_path(&mut roots, vec![rep("1", "top"), rep("4", "a")]);
        merge_path(&mut roots, vec![rep("5", "other")]);
        sort_tree(&mut roots);
        assert_eq!(roots.len(), 2);
        let top = &roots[1];
        let names: Vec<_> = top
            .sub_groups
            .iter()
            .filter_map(|g| g.name.as_deref())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            top.sub_groups[1].sub_groups[0].name.as_deref(),
            Some("leaf")
        );
    }
}
