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

impl Tx {
    /// Stores a new group; `Conflict("group name")` if a sibling has the same name.
    pub async fn insert_group(&mut self, g: &Group) -> Result<(), StoreError> {
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
        delete_by_id(self.conn(), "keycloak_group", id.as_str()).await
    }

    /// Makes the user a member; joining twice is harmless.
    pub async fn join_group(&mut self, user: &UserId, group: &GroupId) -> Result<(), StoreError> {
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
}
