//! Users, their attributes, required actions, credentials and role mappings.

use gatehouse_model::{
    ClientUuid, Credential, CredentialId, RealmId, RoleId, User, UserId, Username,
};
use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;

use super::{Tx, delete_by_id, load_list, load_multimap, put_list, put_multimap};
use crate::error::{StoreError, from_sqlx, map_err};
use crate::rows::{RowExt as _, flag};

const SELECT: &str = "SELECT id, realm_id, username, email, first_name, last_name, enabled, \
    email_verified, created_timestamp, federation_link, service_account_client_link, not_before \
    FROM user_entity";

fn user_from_row(r: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: UserId::new(r.text("id")?),
        realm_id: RealmId::new(r.text("realm_id")?),
        username: Username::new(r.text("username")?),
        email: r.opt_text("email")?,
        first_name: r.opt_text("first_name")?,
        last_name: r.opt_text("last_name")?,
        enabled: r.flag("enabled")?,
        email_verified: r.flag("email_verified")?,
        created_timestamp: r.long("created_timestamp")?,
        federation_link: r.opt_text("federation_link")?,
        service_account_client_link: r
            .opt_text("service_account_client_link")?
            .map(ClientUuid::new),
        attributes: Default::default(),
        required_actions: Vec::new(),
        not_before: r.long("not_before")?,
    })
}

async fn fetch_users(
    conn: &mut AnyConnection,
    query: Query<'static, sqlx::Any, AnyArguments>,
) -> Result<Vec<User>, StoreError> {
    let rows = query.fetch_all(&mut *conn).await.map_err(from_sqlx)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut user = user_from_row(row)?;
        let id = user.id.as_str().to_owned();
        user.attributes = load_multimap(conn, "user_attribute", "user_id", &id).await?;
        user.required_actions =
            load_list(conn, "user_required_action", "user_id", "action", &id).await?;
        out.push(user);
    }
    Ok(out)
}

async fn put_children(conn: &mut AnyConnection, u: &User) -> Result<(), StoreError> {
    let id = u.id.as_str();
    put_multimap(conn, "user_attribute", "user_id", id, &u.attributes).await?;
    put_list(
        conn,
        "user_required_action",
        "user_id",
        "action",
        id,
        &u.required_actions,
    )
    .await
}

/// Keycloak keeps emails lower-cased, so look-ups by email ignore case.
fn lower_email(email: &Option<String>) -> Option<String> {
    email.as_deref().map(str::to_lowercase)
}

fn select(filter: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("{SELECT} {filter}"))
}

fn credential_from_row(r: &AnyRow) -> Result<Credential, StoreError> {
    Ok(Credential {
        id: CredentialId::new(r.text("id")?),
        user_id: UserId::new(r.text("user_id")?),
        credential_type: r.text("type")?,
        user_label: r.opt_text("user_label")?,
        created_date: r.long("created_date")?,
        secret_data: r.text("secret_data")?,
        credential_data: r.text("credential_data")?,
        priority: r.int("priority")?,
    })
}

impl Tx {
    /// Stores a new user; `Conflict("username")` if the realm has that username already.
    /// The email is stored lower-cased.
    pub async fn insert_user(&mut self, u: &User) -> Result<(), StoreError> {
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO user_entity (id, realm_id, username, email, first_name, last_name, \
             enabled, email_verified, created_timestamp, federation_link, \
             service_account_client_link, not_before) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(u.id.as_str())
        .bind(u.realm_id.as_str())
        .bind(u.username.as_str())
        .bind(lower_email(&u.email))
        .bind(u.first_name.as_deref())
        .bind(u.last_name.as_deref())
        .bind(flag(u.enabled))
        .bind(flag(u.email_verified))
        .bind(u.created_timestamp)
        .bind(u.federation_link.as_deref())
        .bind(
            u.service_account_client_link
                .as_ref()
                .map(ClientUuid::as_str),
        )
        .bind(u.not_before)
        .execute(&mut *conn)
        .await
        .map_err(map_err("username"))?;
        put_children(conn, u).await
    }

    /// The user with this id.
    pub async fn user_by_id(&mut self, id: &UserId) -> Result<Option<User>, StoreError> {
        let q = sqlx::query(select("WHERE id = $1")).bind(id.as_str().to_owned());
        Ok(fetch_users(self.conn(), q).await?.pop())
    }

    /// The realm's user with this username.
    pub async fn user_by_username(
        &mut self,
        realm: &RealmId,
        username: &Username,
    ) -> Result<Option<User>, StoreError> {
        let q = sqlx::query(select("WHERE realm_id = $1 AND username = $2"))
            .bind(realm.as_str().to_owned())
            .bind(username.as_str().to_owned());
        Ok(fetch_users(self.conn(), q).await?.pop())
    }

    /// The realm's user with this email (any case). Where duplicates are allowed, the oldest.
    pub async fn user_by_email(
        &mut self,
        realm: &RealmId,
        email: &str,
    ) -> Result<Option<User>, StoreError> {
        let q = sqlx::query(select(
            "WHERE realm_id = $1 AND email = $2 ORDER BY created_timestamp, id LIMIT 1",
        ))
        .bind(realm.as_str().to_owned())
        .bind(email.to_lowercase());
        Ok(fetch_users(self.conn(), q).await?.pop())
    }

    /// How many users the realm has (service-account users included).
    pub async fn count_users(&mut self, realm: &RealmId) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM user_entity WHERE realm_id = $1")
            .bind(realm.as_str())
            .fetch_one(self.conn())
            .await
            .map_err(from_sqlx)
    }

    /// A page of the realm's users by username: skip `first`, return at most `max`.
    pub async fn list_users(
        &mut self,
        realm: &RealmId,
        first: i64,
        max: i64,
    ) -> Result<Vec<User>, StoreError> {
        let q = sqlx::query(select(
            "WHERE realm_id = $1 ORDER BY username LIMIT $2 OFFSET $3",
        ))
        .bind(realm.as_str().to_owned())
        .bind(max.max(0))
        .bind(first.max(0));
        fetch_users(self.conn(), q).await
    }

    /// Replaces the user row, attributes and required actions; false if there is no such user.
    pub async fn update_user(&mut self, u: &User) -> Result<bool, StoreError> {
        let conn = self.conn();
        let done = sqlx::query(
            "UPDATE user_entity SET username = $2, email = $3, first_name = $4, last_name = $5, \
             enabled = $6, email_verified = $7, created_timestamp = $8, federation_link = $9, \
             service_account_client_link = $10, not_before = $11 WHERE id = $1",
        )
        .bind(u.id.as_str())
        .bind(u.username.as_str())
        .bind(lower_email(&u.email))
        .bind(u.first_name.as_deref())
        .bind(u.last_name.as_deref())
        .bind(flag(u.enabled))
        .bind(flag(u.email_verified))
        .bind(u.created_timestamp)
        .bind(u.federation_link.as_deref())
        .bind(
            u.service_account_client_link
                .as_ref()
                .map(ClientUuid::as_str),
        )
        .bind(u.not_before)
        .execute(&mut *conn)
        .await
        .map_err(map_err("username"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        put_children(conn, u).await?;
        Ok(true)
    }

    /// Deletes the user with everything hanging off it.
    pub async fn delete_user(&mut self, id: &UserId) -> Result<bool, StoreError> {
        delete_by_id(self.conn(), "user_entity", id.as_str()).await
    }

    /// Stores a new credential.
    pub async fn insert_credential(&mut self, c: &Credential) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO credential (id, user_id, type, user_label, created_date, secret_data, \
             credential_data, priority) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(c.id.as_str())
        .bind(c.user_id.as_str())
        .bind(c.credential_type.as_str())
        .bind(c.user_label.as_deref())
        .bind(c.created_date)
        .bind(c.secret_data.as_str())
        .bind(c.credential_data.as_str())
        .bind(c.priority)
        .execute(self.conn())
        .await
        .map_err(map_err("credential id"))?;
        Ok(())
    }

    /// The user's credentials, lowest priority value first.
    pub async fn credentials_of(&mut self, user: &UserId) -> Result<Vec<Credential>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, type, user_label, created_date, secret_data, credential_data, \
             priority FROM credential WHERE user_id = $1 ORDER BY priority, created_date, id",
        )
        .bind(user.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        rows.iter().map(credential_from_row).collect()
    }

    /// Replaces a credential (say, after a re-hash); false if there is no such credential.
    pub async fn update_credential(&mut self, c: &Credential) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE credential SET type = $2, user_label = $3, created_date = $4, \
             secret_data = $5, credential_data = $6, priority = $7 WHERE id = $1",
        )
        .bind(c.id.as_str())
        .bind(c.credential_type.as_str())
        .bind(c.user_label.as_deref())
        .bind(c.created_date)
        .bind(c.secret_data.as_str())
        .bind(c.credential_data.as_str())
        .bind(c.priority)
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes a credential.
    pub async fn delete_credential(&mut self, id: &CredentialId) -> Result<bool, StoreError> {
        delete_by_id(self.conn(), "credential", id.as_str()).await
    }

    /// Grants a role to a user directly; granting it twice is harmless.
    pub async fn grant_user_role(
        &mut self,
        user: &UserId,
        role: &RoleId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_role_mapping (user_id, role_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user.as_str())
        .bind(role.as_str())
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    /// Takes a directly granted role away; false if it was not granted.
    pub async fn revoke_user_role(
        &mut self,
        user: &UserId,
        role: &RoleId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM user_role_mapping WHERE user_id = $1 AND role_id = $2")
            .bind(user.as_str())
            .bind(role.as_str())
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// The roles granted to the user directly (not through groups or composites).
    pub async fn user_role_ids(&mut self, user: &UserId) -> Result<Vec<RoleId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT role_id FROM user_role_mapping WHERE user_id = $1 ORDER BY role_id",
        )
        .bind(user.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(ids.into_iter().map(RoleId::new).collect())
    }

    /// The users granted a role directly, by username.
    pub async fn users_with_role(&mut self, role: &RoleId) -> Result<Vec<User>, StoreError> {
        let q = sqlx::query(select(
            "WHERE id IN (SELECT user_id FROM user_role_mapping WHERE role_id = $1) \
             ORDER BY username",
        ))
        .bind(role.as_str().to_owned());
        fetch_users(self.conn(), q).await
    }
}
