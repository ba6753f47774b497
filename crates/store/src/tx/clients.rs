//! Clients, their attributes, redirect URIs and web origins.

use gatehouse_model::{Client, ClientId, ClientUuid, RealmId, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::{Tx, delete_by_id, load_list, load_map, put_list, put_map};
use crate::error::{StoreError, from_sqlx, map_err};
use crate::rows::{RowExt as _, flag};

const SELECT: &str = "SELECT id, realm_id, client_id, name, description, enabled, public_client, \
    bearer_only, standard_flow_enabled, implicit_flow_enabled, direct_access_grants_enabled, \
    service_accounts_enabled, consent_required, full_scope_allowed, frontchannel_logout, \
    always_display_in_console, secret, client_authenticator_type, protocol, root_url, base_url, \
    admin_url, created_timestamp FROM client";

fn client_from_row(r: &AnyRow) -> Result<Client, StoreError> {
    Ok(Client {
        id: ClientUuid::new(r.text("id")?),
        realm_id: RealmId::new(r.text("realm_id")?),
        client_id: ClientId::new(r.text("client_id")?),
        name: r.opt_text("name")?,
        description: r.opt_text("description")?,
        enabled: r.flag("enabled")?,
        public_client: r.flag("public_client")?,
        bearer_only: r.flag("bearer_only")?,
        standard_flow_enabled: r.flag("standard_flow_enabled")?,
        implicit_flow_enabled: r.flag("implicit_flow_enabled")?,
        direct_access_grants_enabled: r.flag("direct_access_grants_enabled")?,
        service_accounts_enabled: r.flag("service_accounts_enabled")?,
        consent_required: r.flag("consent_required")?,
        full_scope_allowed: r.flag("full_scope_allowed")?,
        frontchannel_logout: r.flag("frontchannel_logout")?,
        always_display_in_console: r.flag("always_display_in_console")?,
        secret: r.opt_text("secret")?,
        client_authenticator_type: r.text("client_authenticator_type")?,
        protocol: r.text("protocol")?,
        root_url: r.opt_text("root_url")?,
        base_url: r.opt_text("base_url")?,
        admin_url: r.opt_text("admin_url")?,
        redirect_uris: Vec::new(),
        web_origins: Vec::new(),
        attributes: Default::default(),
        created_timestamp: r.long("created_timestamp")?,
    })
}

async fn complete(conn: &mut AnyConnection, mut c: Client) -> Result<Client, StoreError> {
    let id = c.id.as_str().to_owned();
    c.attributes = load_map(conn, "client_attribute", "client_id", &id).await?;
    c.redirect_uris = load_list(conn, "redirect_uri", "client_id", "value", &id).await?;
    c.web_origins = load_list(conn, "web_origin", "client_id", "value", &id).await?;
    Ok(c)
}

async fn put_children(conn: &mut AnyConnection, c: &Client) -> Result<(), StoreError> {
    let id = c.id.as_str();
    put_map(conn, "client_attribute", "client_id", id, &c.attributes).await?;
    put_list(
        conn,
        "redirect_uri",
        "client_id",
        "value",
        id,
        &c.redirect_uris,
    )
    .await?;
    put_list(conn, "web_origin", "client_id", "value", id, &c.web_origins).await
}

async fn fetch_one_client(
    conn: &mut AnyConnection,
    query: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>,
) -> Result<Option<Client>, StoreError> {
    let row = query.fetch_optional(&mut *conn).await.map_err(from_sqlx)?;
    match row {
        Some(row) => Ok(Some(complete(conn, client_from_row(&row)?).await?)),
        None => Ok(None),
    }
}

impl Tx {
    /// Stores a new client; `Conflict("client id")` if the realm already has this `clientId`.
    pub async fn insert_client(&mut self, c: &Client) -> Result<(), StoreError> {
        self.changed();
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO client (id, realm_id, client_id, name, description, enabled, \
             public_client, bearer_only, standard_flow_enabled, implicit_flow_enabled, \
             direct_access_grants_enabled, service_accounts_enabled, consent_required, \
             full_scope_allowed, frontchannel_logout, always_display_in_console, secret, \
             client_authenticator_type, protocol, root_url, base_url, admin_url, \
             created_timestamp) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
        )
        .bind(c.id.as_str())
        .bind(c.realm_id.as_str())
        .bind(c.client_id.as_str())
        .bind(c.name.as_deref())
        .bind(c.description.as_deref())
        .bind(flag(c.enabled))
        .bind(flag(c.public_client))
        .bind(flag(c.bearer_only))
        .bind(flag(c.standard_flow_enabled))
        .bind(flag(c.implicit_flow_enabled))
        .bind(flag(c.direct_access_grants_enabled))
        .bind(flag(c.service_accounts_enabled))
        .bind(flag(c.consent_required))
        .bind(flag(c.full_scope_allowed))
        .bind(flag(c.frontchannel_logout))
        .bind(flag(c.always_display_in_console))
        .bind(c.secret.as_deref())
        .bind(c.client_authenticator_type.as_str())
        .bind(c.protocol.as_str())
        .bind(c.root_url.as_deref())
        .bind(c.base_url.as_deref())
        .bind(c.admin_url.as_deref())
        .bind(c.created_timestamp)
        .execute(&mut *conn)
        .await
        .map_err(map_err("client id"))?;
        put_children(conn, c).await
    }

    /// The client with this internal id.
    pub async fn client_by_id(&mut self, id: &ClientUuid) -> Result<Option<Client>, StoreError> {
        let q = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
            .bind(id.as_str().to_owned());
        fetch_one_client(self.conn(), q).await
    }

    /// The realm's client with this `clientId`.
    pub async fn client_by_client_id(
        &mut self,
        realm: &RealmId,
        client_id: &ClientId,
    ) -> Result<Option<Client>, StoreError> {
        let q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE realm_id = $1 AND client_id = $2"
        )))
        .bind(realm.as_str().to_owned())
        .bind(client_id.as_str().to_owned());
        fetch_one_client(self.conn(), q).await
    }

    /// The realm's clients, by `clientId`.
    pub async fn list_clients(&mut self, realm: &RealmId) -> Result<Vec<Client>, StoreError> {
        let conn = self.conn();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE realm_id = $1 ORDER BY client_id"
        )))
        .bind(realm.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(from_sqlx)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(complete(conn, client_from_row(row)?).await?);
        }
        Ok(out)
    }

    /// Replaces the client row and its attributes, redirect URIs and web origins; false if
    /// there is no such client. The realm never changes.
    pub async fn update_client(&mut self, c: &Client) -> Result<bool, StoreError> {
        self.changed();
        let conn = self.conn();
        let done = sqlx::query(
            "UPDATE client SET client_id = $2, name = $3, description = $4, enabled = $5, \
             public_client = $6, bearer_only = $7, standard_flow_enabled = $8, \
             implicit_flow_enabled = $9, direct_access_grants_enabled = $10, \
             service_accounts_enabled = $11, consent_required = $12, full_scope_allowed = $13, \
             frontchannel_logout = $14, always_display_in_console = $15, secret = $16, \
             client_authenticator_type = $17, protocol = $18, root_url = $19, base_url = $20, \
             admin_url = $21, created_timestamp = $22 WHERE id = $1",
        )
        .bind(c.id.as_str())
        .bind(c.client_id.as_str())
        .bind(c.name.as_deref())
        .bind(c.description.as_deref())
        .bind(flag(c.enabled))
        .bind(flag(c.public_client))
        .bind(flag(c.bearer_only))
        .bind(flag(c.standard_flow_enabled))
        .bind(flag(c.implicit_flow_enabled))
        .bind(flag(c.direct_access_grants_enabled))
        .bind(flag(c.service_accounts_enabled))
        .bind(flag(c.consent_required))
        .bind(flag(c.full_scope_allowed))
        .bind(flag(c.frontchannel_logout))
        .bind(flag(c.always_display_in_console))
        .bind(c.secret.as_deref())
        .bind(c.client_authenticator_type.as_str())
        .bind(c.protocol.as_str())
        .bind(c.root_url.as_deref())
        .bind(c.base_url.as_deref())
        .bind(c.admin_url.as_deref())
        .bind(c.created_timestamp)
        .execute(&mut *conn)
        .await
        .map_err(map_err("client id"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        put_children(conn, c).await?;
        Ok(true)
    }

    /// Deletes the client with its roles, mappers, scope links and service-account user.
    pub async fn delete_client(&mut self, id: &ClientUuid) -> Result<bool, StoreError> {
        self.changed();
        delete_by_id(self.conn(), "client", id.as_str()).await
    }

    /// A page of the realm's clients by `clientId`: all of them, or (with `search`) those whose
    /// `clientId` contains `search` ignoring case, as Keycloak's admin search does. Skips
    /// `first`, returns at most `max`.
    pub async fn search_clients(
        &mut self,
        realm: &RealmId,
        search: Option<&str>,
        first: i64,
        max: i64,
    ) -> Result<Vec<Client>, StoreError> {
        let pattern = search.map(|s| {
            let escaped = s
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let conn = self.conn();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE realm_id = $1 AND ($2 IS NULL OR LOWER(client_id) LIKE $2 ESCAPE '\\') \
             ORDER BY client_id LIMIT $3 OFFSET $4"
        )))
        .bind(realm.as_str())
        .bind(pattern)
        .bind(max.max(0))
        .bind(first.max(0))
        .fetch_all(&mut *conn)
        .await
        .map_err(from_sqlx)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(complete(conn, client_from_row(row)?).await?);
        }
        Ok(out)
    }

    /// The id of the client's service-account user, if it has one.
    pub async fn service_account_user_id(
        &mut self,
        client: &ClientUuid,
    ) -> Result<Option<UserId>, StoreError> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM user_entity WHERE service_account_client_link = $1")
                .bind(client.as_str())
                .fetch_optional(self.conn())
                .await
                .map_err(from_sqlx)?;
        Ok(id.map(UserId::new))
    }
}
