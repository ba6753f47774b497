//! Realm and client roles, their attributes and composites.

use gatehouse_model::{ClientUuid, RealmId, Role, RoleId};
use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;

use super::{Tx, delete_by_id, load_multimap, put_multimap};
use crate::error::{StoreError, from_sqlx, map_err};
use crate::rows::RowExt as _;

const COLS: &str = "r.id, r.realm_id, r.client_id, r.name, r.description";

fn role_from_row(r: &AnyRow) -> Result<Role, StoreError> {
    Ok(Role {
        id: RoleId::new(r.text("id")?),
        realm_id: RealmId::new(r.text("realm_id")?),
        client: r.opt_text("client_id")?.map(ClientUuid::new),
        name: r.text("name")?,
        description: r.opt_text("description")?,
        attributes: Default::default(),
    })
}

/// Runs a role query and loads each role's attributes.
pub(super) async fn fetch_roles(
    conn: &mut AnyConnection,
    query: Query<'static, sqlx::Any, AnyArguments>,
) -> Result<Vec<Role>, StoreError> {
    let rows = query.fetch_all(&mut *conn).await.map_err(from_sqlx)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut role = role_from_row(row)?;
        role.attributes =
            load_multimap(conn, "role_attribute", "role_id", role.id.as_str()).await?;
        out.push(role);
    }
    Ok(out)
}

fn select(filter: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM keycloak_role r {filter}"))
}

impl Tx {
    /// Stores a new role; `Conflict("role name")` if its realm (or client) has one by that name.
    pub async fn insert_role(&mut self, role: &Role) -> Result<(), StoreError> {
        self.changed();
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO keycloak_role (id, realm_id, client_id, name, description) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(role.id.as_str())
        .bind(role.realm_id.as_str())
        .bind(role.client.as_ref().map(ClientUuid::as_str))
        .bind(role.name.as_str())
        .bind(role.description.as_deref())
        .execute(&mut *conn)
        .await
        .map_err(map_err("role name"))?;
        put_multimap(
            conn,
            "role_attribute",
            "role_id",
            role.id.as_str(),
            &role.attributes,
        )
        .await
    }

    /// Replaces the role's name, description and attributes; false if there is no such role.
    pub async fn update_role(&mut self, role: &Role) -> Result<bool, StoreError> {
        self.changed();
        let conn = self.conn();
        let done =
            sqlx::query("UPDATE keycloak_role SET name = $2, description = $3 WHERE id = $1")
                .bind(role.id.as_str())
                .bind(role.name.as_str())
                .bind(role.description.as_deref())
                .execute(&mut *conn)
                .await
                .map_err(map_err("role name"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        put_multimap(
            conn,
            "role_attribute",
            "role_id",
            role.id.as_str(),
            &role.attributes,
        )
        .await?;
        Ok(true)
    }

    /// The role with this id.
    pub async fn role_by_id(&mut self, id: &RoleId) -> Result<Option<Role>, StoreError> {
        let q = sqlx::query(select("WHERE r.id = $1")).bind(id.as_str().to_owned());
        Ok(fetch_roles(self.conn(), q).await?.pop())
    }

    /// The realm role with this name.
    pub async fn realm_role_by_name(
        &mut self,
        realm: &RealmId,
        name: &str,
    ) -> Result<Option<Role>, StoreError> {
        let q = sqlx::query(select(
            "WHERE r.realm_id = $1 AND r.client_id IS NULL AND r.name = $2",
        ))
        .bind(realm.as_str().to_owned())
        .bind(name.to_owned());
        Ok(fetch_roles(self.conn(), q).await?.pop())
    }

    /// The client's role with this name.
    pub async fn client_role_by_name(
        &mut self,
        client: &ClientUuid,
        name: &str,
    ) -> Result<Option<Role>, StoreError> {
        let q = sqlx::query(select("WHERE r.client_id = $1 AND r.name = $2"))
            .bind(client.as_str().to_owned())
            .bind(name.to_owned());
        Ok(fetch_roles(self.conn(), q).await?.pop())
    }

    /// The realm's own roles (not client roles), by name.
    pub async fn list_realm_roles(&mut self, realm: &RealmId) -> Result<Vec<Role>, StoreError> {
        let q = sqlx::query(select(
            "WHERE r.realm_id = $1 AND r.client_id IS NULL ORDER BY r.name",
        ))
        .bind(realm.as_str().to_owned());
        fetch_roles(self.conn(), q).await
    }

    /// The client's roles, by name.
    pub async fn list_client_roles(
        &mut self,
        client: &ClientUuid,
    ) -> Result<Vec<Role>, StoreError> {
        let q = sqlx::query(select("WHERE r.client_id = $1 ORDER BY r.name"))
            .bind(client.as_str().to_owned());
        fetch_roles(self.conn(), q).await
    }

    /// Makes `child` part of the composite `parent`; adding it twice is harmless.
    pub async fn add_composite(
        &mut self,
        parent: &RoleId,
        child: &RoleId,
    ) -> Result<(), StoreError> {
        self.changed();
        sqlx::query(
            "INSERT INTO composite_role (composite, child_role) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(parent.as_str())
        .bind(child.as_str())
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    /// Removes `child` from the composite `parent`; false if it was not there.
    pub async fn remove_composite(
        &mut self,
        parent: &RoleId,
        child: &RoleId,
    ) -> Result<bool, StoreError> {
        self.changed();
        let done =
            sqlx::query("DELETE FROM composite_role WHERE composite = $1 AND child_role = $2")
                .bind(parent.as_str())
                .bind(child.as_str())
                .execute(self.conn())
                .await
                .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// The direct children of a composite role (not expanded recursively), by name.
    pub async fn composites_of(&mut self, parent: &RoleId) -> Result<Vec<Role>, StoreError> {
        let q = sqlx::query(select(
            "JOIN composite_role c ON c.child_role = r.id WHERE c.composite = $1 ORDER BY r.name",
        ))
        .bind(parent.as_str().to_owned());
        fetch_roles(self.conn(), q).await
    }

    /// Deletes the role with its attributes, composite links and mappings.
    pub async fn delete_role(&mut self, id: &RoleId) -> Result<bool, StoreError> {
        self.changed();
        delete_by_id(self.conn(), "keycloak_role", id.as_str()).await
    }

    /// The ids of the realm's roles (realm and client roles) that include at least one other
    /// role: what Keycloak reports as `composite: true`.
    pub async fn composite_role_ids(&mut self, realm: &RealmId) -> Result<Vec<RoleId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT c.composite FROM composite_role c \
             JOIN keycloak_role r ON r.id = c.composite WHERE r.realm_id = $1 ORDER BY c.composite",
        )
        .bind(realm.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(ids.into_iter().map(RoleId::new).collect())
    }
}
