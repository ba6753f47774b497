//! Client scopes, default scopes, and protocol mappers.

use gatehouse_model::{
    ClientScope, ClientScopeId, ClientUuid, MapperOwner, ProtocolMapper, ProtocolMapperId, RealmId,
};
use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;

use super::{Tx, delete_by_id, load_map, put_map};
use crate::error::{StoreError, from_sqlx, map_err};
use crate::rows::{RowExt as _, flag};

fn scope_from_row(r: &AnyRow) -> Result<ClientScope, StoreError> {
    Ok(ClientScope {
        id: ClientScopeId::new(r.text("id")?),
        realm_id: RealmId::new(r.text("realm_id")?),
        name: r.text("name")?,
        description: r.opt_text("description")?,
        protocol: r.text("protocol")?,
        attributes: Default::default(),
    })
}

async fn fetch_scopes(
    conn: &mut AnyConnection,
    query: Query<'static, sqlx::Any, AnyArguments>,
) -> Result<Vec<ClientScope>, StoreError> {
    let rows = query.fetch_all(&mut *conn).await.map_err(from_sqlx)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut scope = scope_from_row(row)?;
        scope.attributes = load_map(
            conn,
            "client_scope_attribute",
            "scope_id",
            scope.id.as_str(),
        )
        .await?;
        out.push(scope);
    }
    Ok(out)
}

fn select(filter: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!(
        "SELECT id, realm_id, name, description, protocol FROM client_scope {filter}"
    ))
}

fn mapper_from_row(r: &AnyRow) -> Result<ProtocolMapper, StoreError> {
    let owner = match (r.opt_text("client_id")?, r.opt_text("client_scope_id")?) {
        (Some(client), None) => MapperOwner::Client(ClientUuid::new(client)),
        (None, Some(scope)) => MapperOwner::ClientScope(ClientScopeId::new(scope)),
        _ => {
            return Err(StoreError::Internal(
                "protocol mapper without exactly one owner".to_owned(),
            ));
        }
    };
    Ok(ProtocolMapper {
        id: ProtocolMapperId::new(r.text("id")?),
        name: r.text("name")?,
        protocol: r.text("protocol")?,
        mapper_type: r.text("protocol_mapper_name")?,
        owner,
        config: Default::default(),
    })
}

async fn fetch_mappers(
    conn: &mut AnyConnection,
    query: Query<'static, sqlx::Any, AnyArguments>,
) -> Result<Vec<ProtocolMapper>, StoreError> {
    let rows = query.fetch_all(&mut *conn).await.map_err(from_sqlx)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut mapper = mapper_from_row(row)?;
        mapper.config = load_map(
            conn,
            "protocol_mapper_config",
            "protocol_mapper_id",
            mapper.id.as_str(),
        )
        .await?;
        out.push(mapper);
    }
    Ok(out)
}

fn select_mappers(filter: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!(
        "SELECT id, name, protocol, protocol_mapper_name, client_id, client_scope_id \
         FROM protocol_mapper {filter}"
    ))
}

fn scope_links(rows: &[AnyRow]) -> Result<Vec<(ClientScopeId, bool)>, StoreError> {
    rows.iter()
        .map(|r| {
            Ok((
                ClientScopeId::new(r.text("scope_id")?),
                r.flag("default_scope")?,
            ))
        })
        .collect()
}

impl Tx {
    /// Stores a new client scope; `Conflict("client scope name")` if the name is taken.
    pub async fn insert_client_scope(&mut self, s: &ClientScope) -> Result<(), StoreError> {
        self.changed();
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO client_scope (id, realm_id, name, description, protocol) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(s.id.as_str())
        .bind(s.realm_id.as_str())
        .bind(s.name.as_str())
        .bind(s.description.as_deref())
        .bind(s.protocol.as_str())
        .execute(&mut *conn)
        .await
        .map_err(map_err("client scope name"))?;
        put_map(
            conn,
            "client_scope_attribute",
            "scope_id",
            s.id.as_str(),
            &s.attributes,
        )
        .await
    }

    /// Replaces name, description, protocol and attributes; false if there is no such scope.
    pub async fn update_client_scope(&mut self, s: &ClientScope) -> Result<bool, StoreError> {
        self.changed();
        let conn = self.conn();
        let done = sqlx::query(
            "UPDATE client_scope SET name = $2, description = $3, protocol = $4 WHERE id = $1",
        )
        .bind(s.id.as_str())
        .bind(s.name.as_str())
        .bind(s.description.as_deref())
        .bind(s.protocol.as_str())
        .execute(&mut *conn)
        .await
        .map_err(map_err("client scope name"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        put_map(
            conn,
            "client_scope_attribute",
            "scope_id",
            s.id.as_str(),
            &s.attributes,
        )
        .await?;
        Ok(true)
    }

    /// The client scope with this id.
    pub async fn client_scope_by_id(
        &mut self,
        id: &ClientScopeId,
    ) -> Result<Option<ClientScope>, StoreError> {
        let q = sqlx::query(select("WHERE id = $1")).bind(id.as_str().to_owned());
        Ok(fetch_scopes(self.conn(), q).await?.pop())
    }

    /// The realm's client scope with this name.
    pub async fn client_scope_by_name(
        &mut self,
        realm: &RealmId,
        name: &str,
    ) -> Result<Option<ClientScope>, StoreError> {
        let q = sqlx::query(select("WHERE realm_id = $1 AND name = $2"))
            .bind(realm.as_str().to_owned())
            .bind(name.to_owned());
        Ok(fetch_scopes(self.conn(), q).await?.pop())
    }

    /// The realm's client scopes, by name.
    pub async fn list_client_scopes(
        &mut self,
        realm: &RealmId,
    ) -> Result<Vec<ClientScope>, StoreError> {
        let q = sqlx::query(select("WHERE realm_id = $1 ORDER BY name"))
            .bind(realm.as_str().to_owned());
        fetch_scopes(self.conn(), q).await
    }

    /// Deletes the scope with its mappers and every default-scope and client link to it.
    pub async fn delete_client_scope(&mut self, id: &ClientScopeId) -> Result<bool, StoreError> {
        self.changed();
        delete_by_id(self.conn(), "client_scope", id.as_str()).await
    }

    /// Makes the scope one of the realm's default (`true`) or optional (`false`) scopes for
    /// new clients; calling it again switches between the two.
    pub async fn set_realm_default_scope(
        &mut self,
        realm: &RealmId,
        scope: &ClientScopeId,
        default: bool,
    ) -> Result<(), StoreError> {
        self.changed();
        sqlx::query(
            "INSERT INTO default_client_scope (realm_id, scope_id, default_scope) \
             VALUES ($1, $2, $3) ON CONFLICT (realm_id, scope_id) \
             DO UPDATE SET default_scope = excluded.default_scope",
        )
        .bind(realm.as_str())
        .bind(scope.as_str())
        .bind(flag(default))
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    /// Removes the scope from the realm's default and optional scopes; false if it was in
    /// neither.
    pub async fn remove_realm_default_scope(
        &mut self,
        realm: &RealmId,
        scope: &ClientScopeId,
    ) -> Result<bool, StoreError> {
        self.changed();
        let done =
            sqlx::query("DELETE FROM default_client_scope WHERE realm_id = $1 AND scope_id = $2")
                .bind(realm.as_str())
                .bind(scope.as_str())
                .execute(self.conn())
                .await
                .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// The realm's default (`true`) and optional (`false`) scopes.
    pub async fn realm_default_scopes(
        &mut self,
        realm: &RealmId,
    ) -> Result<Vec<(ClientScopeId, bool)>, StoreError> {
        let rows = sqlx::query(
            "SELECT scope_id, default_scope FROM default_client_scope WHERE realm_id = $1 \
             ORDER BY scope_id",
        )
        .bind(realm.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        scope_links(&rows)
    }

    /// Links a scope to a client as default (`true`) or optional (`false`); calling it again
    /// switches between the two.
    pub async fn set_client_scope(
        &mut self,
        client: &ClientUuid,
        scope: &ClientScopeId,
        default: bool,
    ) -> Result<(), StoreError> {
        self.changed();
        sqlx::query(
            "INSERT INTO client_scope_client (client_id, scope_id, default_scope) \
             VALUES ($1, $2, $3) ON CONFLICT (client_id, scope_id) \
             DO UPDATE SET default_scope = excluded.default_scope",
        )
        .bind(client.as_str())
        .bind(scope.as_str())
        .bind(flag(default))
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    /// Unlinks a scope from a client; false if it was not linked.
    pub async fn remove_client_scope(
        &mut self,
        client: &ClientUuid,
        scope: &ClientScopeId,
    ) -> Result<bool, StoreError> {
        self.changed();
        let done =
            sqlx::query("DELETE FROM client_scope_client WHERE client_id = $1 AND scope_id = $2")
                .bind(client.as_str())
                .bind(scope.as_str())
                .execute(self.conn())
                .await
                .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// The client's default (`true`) and optional (`false`) scopes.
    pub async fn client_scopes_of(
        &mut self,
        client: &ClientUuid,
    ) -> Result<Vec<(ClientScopeId, bool)>, StoreError> {
        let rows = sqlx::query(
            "SELECT scope_id, default_scope FROM client_scope_client WHERE client_id = $1 \
             ORDER BY scope_id",
        )
        .bind(client.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        scope_links(&rows)
    }

    /// Stores a new protocol mapper on its client or client scope.
    pub async fn insert_protocol_mapper(&mut self, m: &ProtocolMapper) -> Result<(), StoreError> {
        self.changed();
        let (client, scope) = match &m.owner {
            MapperOwner::Client(c) => (Some(c.as_str()), None),
            MapperOwner::ClientScope(s) => (None, Some(s.as_str())),
        };
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO protocol_mapper (id, name, protocol, protocol_mapper_name, client_id, \
             client_scope_id) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(m.id.as_str())
        .bind(m.name.as_str())
        .bind(m.protocol.as_str())
        .bind(m.mapper_type.as_str())
        .bind(client)
        .bind(scope)
        .execute(&mut *conn)
        .await
        .map_err(map_err("protocol mapper id"))?;
        put_map(
            conn,
            "protocol_mapper_config",
            "protocol_mapper_id",
            m.id.as_str(),
            &m.config,
        )
        .await
    }

    /// Replaces name, protocol, type and config (not the owner); false if there is no such
    /// mapper.
    pub async fn update_protocol_mapper(&mut self, m: &ProtocolMapper) -> Result<bool, StoreError> {
        self.changed();
        let conn = self.conn();
        let done = sqlx::query(
            "UPDATE protocol_mapper SET name = $2, protocol = $3, protocol_mapper_name = $4 \
             WHERE id = $1",
        )
        .bind(m.id.as_str())
        .bind(m.name.as_str())
        .bind(m.protocol.as_str())
        .bind(m.mapper_type.as_str())
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        put_map(
            conn,
            "protocol_mapper_config",
            "protocol_mapper_id",
            m.id.as_str(),
            &m.config,
        )
        .await?;
        Ok(true)
    }

    /// The mapper with this id.
    pub async fn protocol_mapper_by_id(
        &mut self,
        id: &ProtocolMapperId,
    ) -> Result<Option<ProtocolMapper>, StoreError> {
        let q = sqlx::query(select_mappers("WHERE id = $1")).bind(id.as_str().to_owned());
        Ok(fetch_mappers(self.conn(), q).await?.pop())
    }

    /// The client's own mappers, by name.
    pub async fn protocol_mappers_of_client(
        &mut self,
        client: &ClientUuid,
    ) -> Result<Vec<ProtocolMapper>, StoreError> {
        let q = sqlx::query(select_mappers("WHERE client_id = $1 ORDER BY name, id"))
            .bind(client.as_str().to_owned());
        fetch_mappers(self.conn(), q).await
    }

    /// The scope's mappers, by name.
    pub async fn protocol_mappers_of_scope(
        &mut self,
        scope: &ClientScopeId,
    ) -> Result<Vec<ProtocolMapper>, StoreError> {
        let q = sqlx::query(select_mappers(
            "WHERE client_scope_id = $1 ORDER BY name, id",
        ))
        .bind(scope.as_str().to_owned());
        fetch_mappers(self.conn(), q).await
    }

    /// Deletes a mapper.
    pub async fn delete_protocol_mapper(
        &mut self,
        id: &ProtocolMapperId,
    ) -> Result<bool, StoreError> {
        self.changed();
        delete_by_id(self.conn(), "protocol_mapper", id.as_str()).await
    }
}
