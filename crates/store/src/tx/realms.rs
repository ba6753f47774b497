//! Realms and their attributes.

use std::sync::LazyLock;

use gatehouse_model::{ClientUuid, GroupId, Realm, RealmId, RealmName, RoleId, SslRequired};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};

use super::{Tx, delete_by_id, load_map, put_map, sql};
use crate::error::{StoreError, from_sqlx, map_err};
use crate::rows::{RowExt as _, flag};

/// The realm row's columns, `id` first; `bind_realm` binds in exactly this order.
const COLUMNS: &[&str] = &[
    "id",
    "name",
    "display_name",
    "display_name_html",
    "enabled",
    "ssl_required",
    "registration_allowed",
    "registration_email_as_username",
    "remember_me",
    "verify_email",
    "login_with_email_allowed",
    "duplicate_emails_allowed",
    "reset_password_allowed",
    "edit_username_allowed",
    "access_token_lifespan",
    "access_token_lifespan_for_implicit_flow",
    "sso_session_idle_timeout",
    "sso_session_max_lifespan",
    "sso_session_idle_timeout_remember_me",
    "sso_session_max_lifespan_remember_me",
    "offline_session_idle_timeout",
    "offline_session_max_lifespan",
    "client_session_idle_timeout",
    "client_session_max_lifespan",
    "access_code_lifespan",
    "access_code_lifespan_user_action",
    "access_code_lifespan_login",
    "action_token_generated_by_admin_lifespan",
    "action_token_generated_by_user_lifespan",
    "offline_session_max_lifespan_enabled",
    "revoke_refresh_token",
    "refresh_token_max_reuse",
    "not_before",
    "brute_force_protected",
    "permanent_lockout",
    "max_failure_wait_seconds",
    "minimum_quick_login_wait_seconds",
    "wait_increment_seconds",
    "failure_factor",
    "max_temporary_lockouts",
    "quick_login_check_milli_seconds",
    "max_delta_time_seconds",
    "default_signature_algorithm",
    "password_policy",
    "default_role_id",
    "login_theme",
    "internationalization_enabled",
    "supported_locales",
    "default_locale",
];

static INSERT: LazyLock<String> = LazyLock::new(|| {
    let params: Vec<String> = (1..=COLUMNS.len()).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO realm ({}) VALUES ({})",
        COLUMNS.join(", "),
        params.join(", ")
    )
});

static UPDATE: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = COLUMNS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    format!("UPDATE realm SET {} WHERE id = $1", sets.join(", "))
});

static SELECT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM realm", COLUMNS.join(", ")));

fn bind_realm(
    q: Query<'static, Any, AnyArguments>,
    r: &Realm,
) -> Query<'static, Any, AnyArguments> {
    q.bind(r.id.as_str())
        .bind(r.name.as_str())
        .bind(r.display_name.as_deref())
        .bind(r.display_name_html.as_deref())
        .bind(flag(r.enabled))
        .bind(r.ssl_required.as_str())
        .bind(flag(r.registration_allowed))
        .bind(flag(r.registration_email_as_username))
        .bind(flag(r.remember_me))
        .bind(flag(r.verify_email))
        .bind(flag(r.login_with_email_allowed))
        .bind(flag(r.duplicate_emails_allowed))
        .bind(flag(r.reset_password_allowed))
        .bind(flag(r.edit_username_allowed))
        .bind(r.access_token_lifespan)
        .bind(r.access_token_lifespan_for_implicit_flow)
        .bind(r.sso_session_idle_timeout)
        .bind(r.sso_session_max_lifespan)
        .bind(r.sso_session_idle_timeout_remember_me)
        .bind(r.sso_session_max_lifespan_remember_me)
        .bind(r.offline_session_idle_timeout)
        .bind(r.offline_session_max_lifespan)
        .bind(r.client_session_idle_timeout)
        .bind(r.client_session_max_lifespan)
        .bind(r.access_code_lifespan)
        .bind(r.access_code_lifespan_user_action)
        .bind(r.access_code_lifespan_login)
        .bind(r.action_token_generated_by_admin_lifespan)
        .bind(r.action_token_generated_by_user_lifespan)
        .bind(flag(r.offline_session_max_lifespan_enabled))
        .bind(flag(r.revoke_refresh_token))
        .bind(r.refresh_token_max_reuse)
        .bind(r.not_before)
        .bind(flag(r.brute_force_protected))
        .bind(flag(r.permanent_lockout))
        .bind(r.max_failure_wait_seconds)
        .bind(r.minimum_quick_login_wait_seconds)
        .bind(r.wait_increment_seconds)
        .bind(r.failure_factor)
        .bind(r.max_temporary_lockouts)
        .bind(r.quick_login_check_milli_seconds)
        .bind(r.max_delta_time_seconds)
        .bind(r.default_signature_algorithm.as_str())
        .bind(r.password_policy.as_deref())
        .bind(r.default_role_id.as_ref().map(RoleId::as_str))
        .bind(r.login_theme.as_deref())
        .bind(flag(r.internationalization_enabled))
        .bind(r.supported_locales.join(","))
        .bind(r.default_locale.as_deref())
}

fn realm_from_row(r: &AnyRow) -> Result<Realm, StoreError> {
    let name = RealmName::new(r.text("name")?)
        .map_err(|e| StoreError::Internal(format!("stored realm: {e}")))?;
    let ssl = SslRequired::parse(&r.text("ssl_required")?)
        .map_err(|e| StoreError::Internal(format!("stored realm: {e}")))?;
    Ok(Realm {
        id: RealmId::new(r.text("id")?),
        name,
        display_name: r.opt_text("display_name")?,
        display_name_html: r.opt_text("display_name_html")?,
        enabled: r.flag("enabled")?,
        ssl_required: ssl,
        registration_allowed: r.flag("registration_allowed")?,
        registration_email_as_username: r.flag("registration_email_as_username")?,
        remember_me: r.flag("remember_me")?,
        verify_email: r.flag("verify_email")?,
        login_with_email_allowed: r.flag("login_with_email_allowed")?,
        duplicate_emails_allowed: r.flag("duplicate_emails_allowed")?,
        reset_password_allowed: r.flag("reset_password_allowed")?,
        edit_username_allowed: r.flag("edit_username_allowed")?,
        access_token_lifespan: r.int("access_token_lifespan")?,
        access_token_lifespan_for_implicit_flow: r
            .int("access_token_lifespan_for_implicit_flow")?,
        sso_session_idle_timeout: r.int("sso_session_idle_timeout")?,
        sso_session_max_lifespan: r.int("sso_session_max_lifespan")?,
        sso_session_idle_timeout_remember_me: r.int("sso_session_idle_timeout_remember_me")?,
        sso_session_max_lifespan_remember_me: r.int("sso_session_max_lifespan_remember_me")?,
        offline_session_idle_timeout: r.int("offline_session_idle_timeout")?,
        offline_session_max_lifespan: r.int("offline_session_max_lifespan")?,
        client_session_idle_timeout: r.int("client_session_idle_timeout")?,
        client_session_max_lifespan: r.int("client_session_max_lifespan")?,
        access_code_lifespan: r.int("access_code_lifespan")?,
        access_code_lifespan_user_action: r.int("access_code_lifespan_user_action")?,
        access_code_lifespan_login: r.int("access_code_lifespan_login")?,
        action_token_generated_by_admin_lifespan: r
            .int("action_token_generated_by_admin_lifespan")?,
        action_token_generated_by_user_lifespan: r
            .int("action_token_generated_by_user_lifespan")?,
        offline_session_max_lifespan_enabled: r.flag("offline_session_max_lifespan_enabled")?,
        revoke_refresh_token: r.flag("revoke_refresh_token")?,
        refresh_token_max_reuse: r.int("refresh_token_max_reuse")?,
        not_before: r.long("not_before")?,
        brute_force_protected: r.flag("brute_force_protected")?,
        permanent_lockout: r.flag("permanent_lockout")?,
        max_failure_wait_seconds: r.int("max_failure_wait_seconds")?,
        minimum_quick_login_wait_seconds: r.int("minimum_quick_login_wait_seconds")?,
        wait_increment_seconds: r.int("wait_increment_seconds")?,
        failure_factor: r.int("failure_factor")?,
        max_temporary_lockouts: r.int("max_temporary_lockouts")?,
        quick_login_check_milli_seconds: r.long("quick_login_check_milli_seconds")?,
        max_delta_time_seconds: r.long("max_delta_time_seconds")?,
        default_signature_algorithm: r.text("default_signature_algorithm")?,
        password_policy: r.opt_text("password_policy")?,
        default_role_id: r.opt_text("default_role_id")?.map(RoleId::new),
        login_theme: r.opt_text("login_theme")?,
        internationalization_enabled: r.flag("internationalization_enabled")?,
        supported_locales: r
            .text("supported_locales")?
            .split(',')
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        default_locale: r.opt_text("default_locale")?,
        attributes: Default::default(),
    })
}

async fn with_attributes(conn: &mut AnyConnection, mut realm: Realm) -> Result<Realm, StoreError> {
    realm.attributes = load_map(conn, "realm_attribute", "realm_id", realm.id.as_str()).await?;
    Ok(realm)
}

impl Tx {
    /// Stores a new realm; `Conflict("realm name")` if the name is taken.
    pub async fn insert_realm(&mut self, realm: &Realm) -> Result<(), StoreError> {
        self.changed();
        let conn = self.conn();
        bind_realm(sqlx::query(sql(INSERT.clone())), realm)
            .execute(&mut *conn)
            .await
            .map_err(map_err("realm name"))?;
        put_map(
            conn,
            "realm_attribute",
            "realm_id",
            realm.id.as_str(),
            &realm.attributes,
        )
        .await
    }

    /// The realm with this id.
    pub async fn realm_by_id(&mut self, id: &RealmId) -> Result<Option<Realm>, StoreError> {
        self.realm_where(" WHERE id = $1", id.as_str()).await
    }

    /// The realm with this name.
    pub async fn realm_by_name(&mut self, name: &RealmName) -> Result<Option<Realm>, StoreError> {
        self.realm_where(" WHERE name = $1", name.as_str()).await
    }

    async fn realm_where(
        &mut self,
        filter: &'static str,
        value: &str,
    ) -> Result<Option<Realm>, StoreError> {
        let conn = self.conn();
        let row = sqlx::query(sql(format!("{}{filter}", *SELECT)))
            .bind(value)
            .fetch_optional(&mut *conn)
            .await
            .map_err(from_sqlx)?;
        match row {
            Some(row) => Ok(Some(with_attributes(conn, realm_from_row(&row)?).await?)),
            None => Ok(None),
        }
    }

    /// Every realm, by name.
    pub async fn list_realms(&mut self) -> Result<Vec<Realm>, StoreError> {
        let conn = self.conn();
        let rows = sqlx::query(sql(format!("{} ORDER BY name", *SELECT)))
            .fetch_all(&mut *conn)
            .await
            .map_err(from_sqlx)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(with_attributes(conn, realm_from_row(row)?).await?);
        }
        Ok(out)
    }

    /// Replaces the whole realm row and its attributes; false if there is no such realm.
    pub async fn update_realm(&mut self, realm: &Realm) -> Result<bool, StoreError> {
        self.changed();
        let conn = self.conn();
        let done = bind_realm(sqlx::query(sql(UPDATE.clone())), realm)
            .execute(&mut *conn)
            .await
            .map_err(map_err("realm name"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        put_map(
            conn,
            "realm_attribute",
            "realm_id",
            realm.id.as_str(),
            &realm.attributes,
        )
        .await?;
        Ok(true)
    }

    /// Deletes the realm and, through the foreign keys, everything in it.
    pub async fn delete_realm(&mut self, id: &RealmId) -> Result<bool, StoreError> {
        self.changed();
        delete_by_id(self.conn(), "realm", id.as_str()).await
    }

    /// Makes `group` one of the realm's default groups (which every new user joins); adding it
    /// twice is not an error.
    pub async fn add_realm_default_group(
        &mut self,
        realm: &RealmId,
        group: &GroupId,
    ) -> Result<(), StoreError> {
        self.changed();
        sqlx::query(
            "INSERT INTO realm_default_group (realm_id, group_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(realm.as_str())
        .bind(group.as_str())
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    /// Removes `group` from the realm's default groups; false if it was not one.
    pub async fn remove_realm_default_group(
        &mut self,
        realm: &RealmId,
        group: &GroupId,
    ) -> Result<bool, StoreError> {
        self.changed();
        let done =
            sqlx::query("DELETE FROM realm_default_group WHERE realm_id = $1 AND group_id = $2")
                .bind(realm.as_str())
                .bind(group.as_str())
                .execute(self.conn())
                .await
                .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// The ids of the realm's default groups, by id (a stable order).
    pub async fn realm_default_group_ids(
        &mut self,
        realm: &RealmId,
    ) -> Result<Vec<GroupId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT group_id FROM realm_default_group WHERE realm_id = $1 ORDER BY group_id",
        )
        .bind(realm.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(ids.into_iter().map(GroupId::new).collect())
    }

    /// For each client of the realm with client sessions: how many online and how many offline
    /// user sessions it is part of, as `(client, online, offline)`, by client id.
    pub async fn client_session_counts(
        &mut self,
        realm: &RealmId,
    ) -> Result<Vec<(ClientUuid, i64, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT cs.client_id AS client_id, cs.offline AS offline, COUNT(*) AS n \
             FROM client_session cs JOIN user_session us \
             ON us.id = cs.user_session_id AND us.offline = cs.offline \
             WHERE us.realm_id = $1 GROUP BY cs.client_id, cs.offline ORDER BY cs.client_id",
        )
        .bind(realm.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        let mut out: Vec<(ClientUuid, i64, i64)> = Vec::new();
        for row in &rows {
            let client = ClientUuid::new(row.text("client_id")?);
            let n = row.long("n")?;
            let offline = row.flag("offline")?;
            let entry = match out.last_mut() {
                Some(last) if last.0 == client => last,
                _ => {
                    out.push((client, 0, 0));
                    let len = out.len();
                    &mut out[len - 1]
                }
            };
            if offline {
                entry.2 += n;
            } else {
                entry.1 += n;
            }
        }
        Ok(out)
    }
}
