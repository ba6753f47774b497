//! Groups, their attributes, memberships and role mappings.

use gatehouse_model::{Group, GroupId, RealmId, RoleId, UserId};
use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;

use super::{Tx, delete_by_id, load_multimap, put_multimap};
use crate::error::{StoreError, from_sqlx, map_err};
use crate::rows::RowExt as _;

fn group_from_row(r: &AnyRow) -> Result<Group, StoreError> {
    Ok(Group {
        id: GroupId::new(r.text("id")?),
        realm_id: RealmId::new(r.text("realm_id")?),
        parent_id: r.opt_text("parent_id")?.map(GroupId::new),
        name: r.text("name")?,
        description: r.opt_text("description")?,
        attributes: Default::default(),
    })
}

async fn fetch_groups(
    conn: &mut AnyConnection,
    query: Query<'static, sqlx::Any, AnyArguments>,
) -> Result<Vec<Group>, StoreError> {
    let rows = query.fetch_all(&mut *conn).await.map_err(from_sqlx)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut group = group_from_row(row)?;
        group.attributes =
            load_multimap(conn, "group_attribute", "group_id", group.id.as_str()).await?;
        out.push(group);
    }
    Ok(out)
}

fn select(filter: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!(
        "SELECT g.id, g.realm_id, g.parent_id, g.name, g.description FROM keycloak_group g {filter}"
    ))
}

/// A `LIKE` pattern (with `\\` as the escape) matching any text that contains `search`,
/// lower-cased; `%` and `_` in the search stand for themselves.
fn contains_pattern(search: &str) -> String {
    let mut out = String::with_capacity(search.len() + 2);
    out.push('%');
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Tx {
    /// Stores a new group; `Conflict("group name")` if a sibling has the same name.
    pub async fn insert_group(&mut self, g: &Group) -> Result<(), StoreError> {
        self.changed();
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO keycloak_group (id, realm_id, parent_id, name, description) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(g.id.as_str())
        .bind(g.realm_id.as_str())
        .bind(g.parent_id.as_ref().map(GroupId::as_str))
        .bind(g.name.as_str())
        .bind(g.description.as_deref())
        .execute(&mut *conn)
        .await
        .map_err(map_err("group name"))?;
        put_multimap(
            conn,
            "group_attribute",
            "group_id",
            g.id.as_str(),
            &g.attributes,
        )
        .await
    }

    /// The group with this id.
    pub async fn group_by_id(&mut self, id: &GroupId) -> Result<Option<Group>, StoreError> {
        let q = sqlx::query(select("WHERE g.id = $1")).bind(id.as_str().to_owned());
        Ok(fetch_groups(self.conn(), q).await?.pop())
    }

    /// The realm's top-level groups, by name.
    pub async fn top_level_groups(&mut self, realm: &RealmId) -> Result<Vec<Group>, StoreError> {
        let q = sqlx::query(select(
            "WHERE g.realm_id = $1 AND g.parent_id IS NULL ORDER BY g.name",
        ))
        .bind(realm.as_str().to_owned());
        fetch_groups(self.conn(), q).await
    }

    /// Every group of the realm, at any depth, by name.
    pub async fn list_groups(&mut self, realm: &RealmId) -> Result<Vec<Group>, StoreError> {
        let q = sqlx::query(select("WHERE g.realm_id = $1 ORDER BY g.name, g.id"))
            .bind(realm.as_str().to_owned());
        fetch_groups(self.conn(), q).await
    }

    /// The direct subgroups of a group, by name.
    pub async fn subgroups(&mut self, parent: &GroupId) -> Result<Vec<Group>, StoreError> {
        let q = sqlx::query(select("WHERE g.parent_id = $1 ORDER BY g.name"))
            .bind(parent.as_str().to_owned());
        fetch_groups(self.conn(), q).await
    }

    /// Replaces name, parent, description and attributes; false if there is no such group.
    pub async fn update_group(&mut self, g: &Group) -> Result<bool, StoreError> {
        self.changed();
        let conn = self.conn();
        let done = sqlx::query(
            "UPDATE keycloak_group SET parent_id = $2, name = $3, description = $4 WHERE id = $1",
        )
        .bind(g.id.as_str())
        .bind(g.parent_id.as_ref().map(GroupId::as_str))
        .bind(g.name.as_str())
        .bind(g.description.as_deref())
        .execute(&mut *conn)
        .await
        .map_err(map_err("group name"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        put_multimap(
            conn,
            "group_attribute",
            "group_id",
            g.id.as_str(),
            &g.attributes,
        )
        .await?;
        Ok(true)
    }

    /// Deletes the group with its subgroups, memberships and role mappings.
    pub async fn delete_group(&mut self, id: &GroupId) -> Result<bool, StoreError> {
        self.changed();
        delete_by_id(self.conn(), "keycloak_group", id.as_str()).await
    }

    /// Makes the user a member; joining twice is harmless.
    pub async fn join_group(&mut self, user: &UserId, group: &GroupId) -> Result<(), StoreError> {
        self.changed();
        sqlx::query(
            "INSERT INTO user_group_membership (user_id, group_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user.as_str())
        .bind(group.as_str())
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    /// Ends a membership; false if the user was not a member.
    pub async fn leave_group(
        &mut self,
        user: &UserId,
        group: &GroupId,
    ) -> Result<bool, StoreError> {
        self.changed();
        let done =
            sqlx::query("DELETE FROM user_group_membership WHERE user_id = $1 AND group_id = $2")
                .bind(user.as_str())
                .bind(group.as_str())
                .execute(self.conn())
                .await
                .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// The groups the user is a direct member of, by name.
    pub async fn groups_of_user(&mut self, user: &UserId) -> Result<Vec<Group>, StoreError> {
        let q = sqlx::query(select(
            "JOIN user_group_membership m ON m.group_id = g.id WHERE m.user_id = $1 \
             ORDER BY g.name",
        ))
        .bind(user.as_str().to_owned());
        fetch_groups(self.conn(), q).await
    }

    /// The ids of the group's direct members.
    pub async fn group_member_ids(&mut self, group: &GroupId) -> Result<Vec<UserId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT user_id FROM user_group_membership WHERE group_id = $1 ORDER BY user_id",
        )
        .bind(group.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(ids.into_iter().map(UserId::new).collect())
    }

    /// Grants a role to every member of the group; granting twice is harmless.
    pub async fn grant_group_role(
        &mut self,
        group: &GroupId,
        role: &RoleId,
    ) -> Result<(), StoreError> {
        self.changed();
        sqlx::query(
            "INSERT INTO group_role_mapping (group_id, role_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(group.as_str())
        .bind(role.as_str())
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    /// Takes a role away from the group; false if it was not granted.
    pub async fn revoke_group_role(
        &mut self,
        group: &GroupId,
        role: &RoleId,
    ) -> Result<bool, StoreError> {
        self.changed();
        let done =
            sqlx::query("DELETE FROM group_role_mapping WHERE group_id = $1 AND role_id = $2")
                .bind(group.as_str())
                .bind(role.as_str())
                .execute(self.conn())
                .await
                .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// The roles granted to the group directly.
    pub async fn group_role_ids(&mut self, group: &GroupId) -> Result<Vec<RoleId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT role_id FROM group_role_mapping WHERE group_id = $1 ORDER BY role_id",
        )
        .bind(group.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(ids.into_iter().map(RoleId::new).collect())
    }

    /// A page of the realm's groups, at any depth, whose name contains `search` ignoring case
    /// (or equals it, when `exact`), by name: skip `first`, return at most `max`.
    pub async fn search_groups_by_name(
        &mut self,
        realm: &RealmId,
        search: &str,
        exact: bool,
        first: i64,
        max: Option<i64>,
    ) -> Result<Vec<Group>, StoreError> {
        let q = if exact {
            sqlx::query(select(
                "WHERE g.realm_id = $1 AND g.name = $2 ORDER BY g.name, g.id LIMIT $3 OFFSET $4",
            ))
            .bind(realm.as_str().to_owned())
            .bind(search.to_owned())
        } else {
            sqlx::query(select(concat!(
                "WHERE g.realm_id = $1 AND LOWER(g.name) LIKE $2 ESCAPE '\\' ",
                "ORDER BY g.name, g.id LIMIT $3 OFFSET $4"
            )))
            .bind(realm.as_str().to_owned())
            .bind(contains_pattern(search))
        };
        let q = q.bind(max.unwrap_or(i64::MAX).max(0)).bind(first.max(0));
        fetch_groups(self.conn(), q).await
    }

    /// How many groups the realm has: all of them, or only the top-level ones.
    pub async fn count_groups(
        &mut self,
        realm: &RealmId,
        top_only: bool,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM keycloak_group WHERE realm_id = $1 \
             AND ($2 = 0 OR parent_id IS NULL)",
        )
        .bind(realm.as_str())
        .bind(i32::from(top_only))
        .fetch_one(self.conn())
        .await
        .map_err(from_sqlx)
    }

    /// How many of the realm's groups, at any depth, have a name containing `search` (ignoring
    /// case).
    pub async fn count_groups_by_name(
        &mut self,
        realm: &RealmId,
        search: &str,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM keycloak_group WHERE realm_id = $1 \
             AND LOWER(name) LIKE $2 ESCAPE '\\'",
        )
        .bind(realm.as_str())
        .bind(contains_pattern(search))
        .fetch_one(self.conn())
        .await
        .map_err(from_sqlx)
    }

    /// How many direct subgroups the group has.
    pub async fn subgroup_count(&mut self, group: &GroupId) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM keycloak_group WHERE parent_id = $1")
            .bind(group.as_str())
            .fetch_one(self.conn())
            .await
            .map_err(from_sqlx)
    }

    /// A page of the groups the role is granted to directly, by name.
    pub async fn groups_with_role(
        &mut self,
        role: &RoleId,
        first: i64,
        max: Option<i64>,
    ) -> Result<Vec<Group>, StoreError> {
        let q = sqlx::query(select(
            "JOIN group_role_mapping m ON m.group_id = g.id WHERE m.role_id = $1 \
             ORDER BY g.name, g.id LIMIT $2 OFFSET $3",
        ))
        .bind(role.as_str().to_owned())
        .bind(max.unwrap_or(i64::MAX).max(0))
        .bind(first.max(0));
        fetch_groups(self.conn(), q).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use gatehouse_model::{Group, GroupId, Realm, RealmId, RealmName, Role, RoleId};

    use crate::Store;
    use crate::testing::backends;

    fn group(realm: &RealmId, parent: Option<&GroupId>, name: &str) -> Group {
        Group {
            id: GroupId::new_random(),
            realm_id: realm.clone(),
            parent_id: parent.cloned(),
            name: name.to_owned(),
            description: None,
            attributes: Default::default(),
        }
    }

    fn role(realm: &RealmId, name: &str) -> Role {
        Role {
            id: RoleId::new_random(),
            realm_id: realm.clone(),
            client: None,
            name: name.to_owned(),
            description: None,
            attributes: Default::default(),
        }
    }

    fn names(groups: &[Group]) -> Vec<&str> {
        groups.iter().map(|g| g.name.as_str()).collect()
    }

    #[tokio::test]
    async fn group_search_counts_and_role_holders() {
        for db in backends().await {
            let store = Store::connect(&db.options("groups-test")).await.unwrap();
            store.migrate(Duration::from_secs(30)).await.unwrap();
            let realm = Realm::new(RealmId::new_random(), RealmName::new("grp").unwrap());
            let other = Realm::new(RealmId::new_random(), RealmName::new("other").unwrap());
            let mut tx = store.begin().await.unwrap();
            tx.insert_realm(&realm).await.unwrap();
            tx.insert_realm(&other).await.unwrap();
            let rid = &realm.id;
            let staff = group(rid, None, "Staff");
            let sales = group(rid, Some(&staff.id), "sales_team");
            let eng = group(rid, Some(&staff.id), "Engineering");
            let deep = group(rid, Some(&eng.id), "Platform-Sales");
            let guests = group(rid, None, "guests");
            let elsewhere = group(&other.id, None, "sales");
            for g in [&staff, &sales, &eng, &deep, &guests, &elsewhere] {
                tx.insert_group(g).await.unwrap();
            }

            // Substring, any depth, ignoring case, by name; `_` is not a wildcard.
            let found = tx
                .search_groups_by_name(rid, "SALES", false, 0, None)
                .await
                .unwrap();
            assert_eq!(
                names(&found),
                ["Platform-Sales", "sales_team"],
                "{}",
                db.name
            );
            let page = tx
                .search_groups_by_name(rid, "sales", false, 1, Some(1))
                .await
                .unwrap();
            assert_eq!(names(&page), ["sales_team"], "{}", db.name);
            let none = tx
                .search_groups_by_name(rid, "a_e", false, 0, None)
                .await
                .unwrap();
            assert!(none.is_empty(), "{}", db.name);
            let exact = tx
                .search_groups_by_name(rid, "guests", true, 0, None)
                .await
                .unwrap();
            assert_eq!(names(&exact), ["guests"]);
            assert!(
                tx.search_groups_by_name(rid, "guest", true, 0, None)
                    .await
                    .unwrap()
                    .is_empty()
            );

            assert_eq!(tx.count_groups(rid, false).await.unwrap(), 5, "{}", db.name);
            assert_eq!(tx.count_groups(rid, true).await.unwrap(), 2, "{}", db.name);
            assert_eq!(tx.count_groups_by_name(rid, "Sales").await.unwrap(), 2);
            assert_eq!(tx.subgroup_count(&staff.id).await.unwrap(), 2);
            assert_eq!(tx.subgroup_count(&deep.id).await.unwrap(), 0);

            let admin = role(rid, "admin");
            tx.insert_role(&admin).await.unwrap();
            let viewer = role(rid, "viewer");
            tx.insert_role(&viewer).await.unwrap();
            for g in [&guests, &eng, &staff] {
                tx.grant_group_role(&g.id, &admin.id).await.unwrap();
            }
            let holders = tx.groups_with_role(&admin.id, 0, None).await.unwrap();
            assert_eq!(
                names(&holders),
                ["Engineering", "Staff", "guests"],
                "{}",
                db.name
            );
            let page = tx.groups_with_role(&admin.id, 1, Some(1)).await.unwrap();
            assert_eq!(names(&page), ["Staff"]);

            // Composite flags: only roles that include another role.
            tx.add_composite(&admin.id, &viewer.id).await.unwrap();
            assert_eq!(
                tx.composite_role_ids(rid).await.unwrap(),
                std::slice::from_ref(&admin.id)
            );
            assert!(tx.composite_role_ids(&other.id).await.unwrap().is_empty());
            tx.commit().await.unwrap();
            store.close().await;
        }
    }
}
