//! Durable user sessions and their client sessions, online and offline (Keycloak 26's
//! persistent user sessions), and the refresh-token reuse check on client sessions.
//!
//! `(id, offline)` identifies a user session; `(user_session_id, offline, client_id)` a client
//! session. Notes are stored as a JSON object of strings in a `TEXT` column. Deleting a user
//! session deletes its client sessions; deleting the realm, the user or the client deletes the
//! sessions hanging off it.

use std::collections::BTreeMap;

use gatehouse_model::{
    ClientSession, ClientUuid, RealmId, RefreshUse, UserId, UserSession, UserSessionId,
};
use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;

use super::Tx;
use crate::error::{StoreError, from_sqlx, map_err};
use crate::rows::{RowExt as _, flag};

const USER_COLUMNS: &str = "us.id, us.offline, us.realm_id, us.user_id, us.login_username, \
    us.ip_address, us.auth_method, us.remember_me, us.started, us.last_refresh, \
    us.broker_session_id, us.broker_user_id, us.notes";

const CLIENT_SELECT: &str = "SELECT user_session_id, offline, client_id, started, last_refresh, \
    redirect_uri, notes, current_refresh_token, refresh_token_use_count FROM client_session";

fn notes_to_json(notes: &BTreeMap<String, String>) -> Result<String, StoreError> {
    serde_json::to_string(notes).map_err(|e| StoreError::Internal(format!("notes: {e}")))
}

fn notes_from_json(column: &str, text: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Internal(format!("cannot read column {column}: {e}")))
}

fn user_session_from_row(r: &AnyRow) -> Result<UserSession, StoreError> {
    Ok(UserSession {
        id: UserSessionId::new(r.text("id")?),
        offline: r.flag("offline")?,
        realm_id: RealmId::new(r.text("realm_id")?),
        user_id: UserId::new(r.text("user_id")?),
        login_username: r.text("login_username")?,
        ip_address: r.text("ip_address")?,
        auth_method: r.text("auth_method")?,
        remember_me: r.flag("remember_me")?,
        started: r.long("started")?,
        last_refresh: r.long("last_refresh")?,
        broker_session_id: r.opt_text("broker_session_id")?,
        broker_user_id: r.opt_text("broker_user_id")?,
        notes: notes_from_json("user_session.notes", &r.text("notes")?)?,
    })
}

fn client_session_from_row(r: &AnyRow) -> Result<ClientSession, StoreError> {
    Ok(ClientSession {
        user_session_id: UserSessionId::new(r.text("user_session_id")?),
        offline: r.flag("offline")?,
        client_id: ClientUuid::new(r.text("client_id")?),
        started: r.long("started")?,
        last_refresh: r.long("last_refresh")?,
        redirect_uri: r.opt_text("redirect_uri")?,
        notes: notes_from_json("client_session.notes", &r.text("notes")?)?,
        current_refresh_token: r.opt_text("current_refresh_token")?,
        refresh_token_use_count: r.int("refresh_token_use_count")?,
    })
}

fn select_user_sessions(filter: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM user_session us {filter}"
    ))
}

async fn fetch_user_sessions(
    conn: &mut AnyConnection,
    query: Query<'static, sqlx::Any, AnyArguments>,
) -> Result<Vec<UserSession>, StoreError> {
    let rows = query.fetch_all(&mut *conn).await.map_err(from_sqlx)?;
    rows.iter().map(user_session_from_row).collect()
}

fn rows_deleted(done: sqlx::any::AnyQueryResult) -> u64 {
    done.rows_affected()
}

impl Tx {
    /// Stores a new user session; `Conflict("user session id")` if `(id, offline)` is taken.
    pub async fn insert_user_session(&mut self, s: &UserSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_session (id, offline, realm_id, user_id, login_username, \
             ip_address, auth_method, remember_me, started, last_refresh, broker_session_id, \
             broker_user_id, notes) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(s.id.as_str())
        .bind(flag(s.offline))
        .bind(s.realm_id.as_str())
        .bind(s.user_id.as_str())
        .bind(s.login_username.as_str())
        .bind(s.ip_address.as_str())
        .bind(s.auth_method.as_str())
        .bind(flag(s.remember_me))
        .bind(s.started)
        .bind(s.last_refresh)
        .bind(s.broker_session_id.as_deref())
        .bind(s.broker_user_id.as_deref())
        .bind(notes_to_json(&s.notes)?)
        .execute(self.conn())
        .await
        .map_err(map_err("user session id"))?;
        Ok(())
    }

    /// The user session `(id, offline)`.
    pub async fn user_session(
        &mut self,
        id: &UserSessionId,
        offline: bool,
    ) -> Result<Option<UserSession>, StoreError> {
        let q = sqlx::query(select_user_sessions("WHERE us.id = $1 AND us.offline = $2"))
            .bind(id.as_str().to_owned())
            .bind(flag(offline));
        Ok(fetch_user_sessions(self.conn(), q).await?.pop())
    }

    /// Moves the session's `last_refresh` forward to `last_refresh` (never back: an older
    /// value, say from a slower node, leaves it as is). True if the session exists.
    pub async fn touch_user_session(
        &mut self,
        id: &UserSessionId,
        offline: bool,
        last_refresh: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE user_session SET last_refresh = $3 \
             WHERE id = $1 AND offline = $2 AND last_refresh < $3",
        )
        .bind(id.as_str())
        .bind(flag(offline))
        .bind(last_refresh)
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        self.user_session_exists(id, offline).await
    }

    /// Whether the user session `(id, offline)` exists.
    pub async fn user_session_exists(
        &mut self,
        id: &UserSessionId,
        offline: bool,
    ) -> Result<bool, StoreError> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM user_session WHERE id = $1 AND offline = $2")
                .bind(id.as_str())
                .bind(flag(offline))
                .fetch_optional(self.conn())
                .await
                .map_err(from_sqlx)?;
        Ok(found.is_some())
    }

    /// Replaces the session's notes; false if there is no such session.
    pub async fn update_user_session_notes(
        &mut self,
        id: &UserSessionId,
        offline: bool,
        notes: &BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE user_session SET notes = $3 WHERE id = $1 AND offline = $2")
            .bind(id.as_str())
            .bind(flag(offline))
            .bind(notes_to_json(notes)?)
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes the user session `(id, offline)` and its client sessions.
    pub async fn delete_user_session(
        &mut self,
        id: &UserSessionId,
        offline: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM user_session WHERE id = $1 AND offline = $2")
            .bind(id.as_str())
            .bind(flag(offline))
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// The user's online (`offline = false`) or offline sessions, oldest first.
    pub async fn user_sessions_of_user(
        &mut self,
        user: &UserId,
        offline: bool,
    ) -> Result<Vec<UserSession>, StoreError> {
        let q = sqlx::query(select_user_sessions(
            "WHERE us.user_id = $1 AND us.offline = $2 ORDER BY us.started, us.id",
        ))
        .bind(user.as_str().to_owned())
        .bind(flag(offline));
        fetch_user_sessions(self.conn(), q).await
    }

    /// A page of the user sessions (online or offline) in which the client has a client
    /// session, oldest first: skip `first`, return at most `max`.
    pub async fn user_sessions_of_client(
        &mut self,
        client: &ClientUuid,
        offline: bool,
        first: i64,
        max: i64,
    ) -> Result<Vec<UserSession>, StoreError> {
        let q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM client_session cs \
             JOIN user_session us ON us.id = cs.user_session_id AND us.offline = cs.offline \
             WHERE cs.client_id = $1 AND cs.offline = $2 \
             ORDER BY us.started, us.id LIMIT $3 OFFSET $4"
        )))
        .bind(client.as_str().to_owned())
        .bind(flag(offline))
        .bind(max.max(0))
        .bind(first.max(0));
        fetch_user_sessions(self.conn(), q).await
    }

    /// How many user sessions (online or offline) the client has a client session in.
    pub async fn count_sessions_of_client(
        &mut self,
        client: &ClientUuid,
        offline: bool,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM client_session WHERE client_id = $1 AND offline = $2",
        )
        .bind(client.as_str())
        .bind(flag(offline))
        .fetch_one(self.conn())
        .await
        .map_err(from_sqlx)
    }

    /// Deletes all the user's sessions, online and offline; returns how many user sessions.
    pub async fn delete_user_sessions_of_user(&mut self, user: &UserId) -> Result<u64, StoreError> {
        self.delete_user_sessions_of_user_where(user, None).await
    }

    /// Deletes the user's online (`Some(false)`), offline (`Some(true)`) or all (`None`)
    /// sessions; returns how many user sessions.
    pub async fn delete_user_sessions_of_user_where(
        &mut self,
        user: &UserId,
        offline: Option<bool>,
    ) -> Result<u64, StoreError> {
        let done = match offline {
            None => {
                sqlx::query("DELETE FROM user_session WHERE user_id = $1")
                    .bind(user.as_str())
                    .execute(self.conn())
                    .await
            }
            Some(offline) => {
                sqlx::query("DELETE FROM user_session WHERE user_id = $1 AND offline = $2")
                    .bind(user.as_str())
                    .bind(flag(offline))
                    .execute(self.conn())
                    .await
            }
        }
        .map_err(from_sqlx)?;
        Ok(rows_deleted(done))
    }

    /// Deletes the realm's online (`Some(false)`), offline (`Some(true)`) or all (`None`)
    /// sessions; returns how many user sessions.
    pub async fn delete_user_sessions_of_realm(
        &mut self,
        realm: &RealmId,
        offline: Option<bool>,
    ) -> Result<u64, StoreError> {
        let done = match offline {
            None => {
                sqlx::query("DELETE FROM user_session WHERE realm_id = $1")
                    .bind(realm.as_str())
                    .execute(self.conn())
                    .await
            }
            Some(offline) => {
                sqlx::query("DELETE FROM user_session WHERE realm_id = $1 AND offline = $2")
                    .bind(realm.as_str())
                    .bind(flag(offline))
                    .execute(self.conn())
                    .await
            }
        }
        .map_err(from_sqlx)?;
        Ok(rows_deleted(done))
    }

    /// Deletes the realm's expired online or offline sessions: idle (`last_refresh <
    /// idle_cutoff`) or too old (`started < max_cutoff`; `max_cutoff <= 0` means no maximum).
    /// Returns how many user sessions.
    pub async fn delete_expired_user_sessions(
        &mut self,
        realm: &RealmId,
        offline: bool,
        idle_cutoff: i64,
        max_cutoff: i64,
    ) -> Result<u64, StoreError> {
        self.delete_expired_user_sessions_where(realm, offline, None, idle_cutoff, max_cutoff)
            .await
    }

    /// As [`Tx::delete_expired_user_sessions`], limited to sessions with (`Some(true)`) or
    /// without (`Some(false)`) "remember me", whose timeouts Keycloak sets apart.
    pub async fn delete_expired_user_sessions_where(
        &mut self,
        realm: &RealmId,
        offline: bool,
        remember_me: Option<bool>,
        idle_cutoff: i64,
        max_cutoff: i64,
    ) -> Result<u64, StoreError> {
        let remember = if remember_me.is_some() {
            " AND remember_me = $5"
        } else {
            ""
        };
        // No maximum: a cutoff no start time is below.
        let max_cutoff = if max_cutoff > 0 { max_cutoff } else { i64::MIN };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM user_session WHERE realm_id = $1 AND offline = $2 \
             AND (last_refresh < $3 OR started < $4){remember}"
        )))
        .bind(realm.as_str().to_owned())
        .bind(flag(offline))
        .bind(idle_cutoff)
        .bind(max_cutoff);
        if let Some(remember_me) = remember_me {
            q = q.bind(flag(remember_me));
        }
        let done = q.execute(self.conn()).await.map_err(from_sqlx)?;
        Ok(rows_deleted(done))
    }

    /// Inserts the client session, or replaces every column of the existing one.
    pub async fn upsert_client_session(&mut self, c: &ClientSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO client_session (user_session_id, offline, client_id, started, \
             last_refresh, redirect_uri, notes, current_refresh_token, refresh_token_use_count) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (user_session_id, offline, client_id) DO UPDATE SET \
             started = excluded.started, last_refresh = excluded.last_refresh, \
             redirect_uri = excluded.redirect_uri, notes = excluded.notes, \
             current_refresh_token = excluded.current_refresh_token, \
             refresh_token_use_count = excluded.refresh_token_use_count",
        )
        .bind(c.user_session_id.as_str())
        .bind(flag(c.offline))
        .bind(c.client_id.as_str())
        .bind(c.started)
        .bind(c.last_refresh)
        .bind(c.redirect_uri.as_deref())
        .bind(notes_to_json(&c.notes)?)
        .bind(c.current_refresh_token.as_deref())
        .bind(c.refresh_token_use_count)
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    /// The client's session in the user session `(user_session, offline)`.
    pub async fn client_session(
        &mut self,
        user_session: &UserSessionId,
        offline: bool,
        client: &ClientUuid,
    ) -> Result<Option<ClientSession>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CLIENT_SELECT} WHERE user_session_id = $1 AND offline = $2 AND client_id = $3"
        )))
        .bind(user_session.as_str())
        .bind(flag(offline))
        .bind(client.as_str())
        .fetch_optional(self.conn())
        .await
        .map_err(from_sqlx)?;
        row.as_ref().map(client_session_from_row).transpose()
    }

    /// The client sessions of the user session `(user_session, offline)`, oldest first.
    pub async fn client_sessions_of(
        &mut self,
        user_session: &UserSessionId,
        offline: bool,
    ) -> Result<Vec<ClientSession>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CLIENT_SELECT} WHERE user_session_id = $1 AND offline = $2 \
             ORDER BY started, client_id"
        )))
        .bind(user_session.as_str())
        .bind(flag(offline))
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        rows.iter().map(client_session_from_row).collect()
    }

    /// Moves the client session's `last_refresh` forward (never back). True if the client
    /// session exists.
    pub async fn touch_client_session(
        &mut self,
        user_session: &UserSessionId,
        offline: bool,
        client: &ClientUuid,
        last_refresh: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE client_session SET last_refresh = $4 WHERE user_session_id = $1 \
             AND offline = $2 AND client_id = $3 AND last_refresh < $4",
        )
        .bind(user_session.as_str())
        .bind(flag(offline))
        .bind(client.as_str())
        .bind(last_refresh)
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        Ok(self
            .client_session(user_session, offline, client)
            .await?
            .is_some())
    }

    /// Deletes the client's session in the user session (the user session stays).
    pub async fn delete_client_session(
        &mut self,
        user_session: &UserSessionId,
        offline: bool,
        client: &ClientUuid,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM client_session WHERE user_session_id = $1 AND offline = $2 \
             AND client_id = $3",
        )
        .bind(user_session.as_str())
        .bind(flag(offline))
        .bind(client.as_str())
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// Counts one use of the refresh token `token_id` on the client session, for realms that
    /// revoke refresh tokens, without a staleness check (the token's issue time is unknown
    /// here): see [`Tx::use_refresh_token_issued_at`], which this is with
    /// `issued_at = i64::MAX`, so a token id other than the current one always starts a new
    /// count and never yields [`RefreshUse::Stale`].
    pub async fn use_refresh_token(
        &mut self,
        user_session: &UserSessionId,
        offline: bool,
        client: &ClientUuid,
        token_id: &str,
        max_reuse: i32,
    ) -> Result<RefreshUse, StoreError> {
        self.use_refresh_token_issued_at(
            user_session,
            offline,
            client,
            token_id,
            i64::MAX,
            max_reuse,
        )
        .await
    }

    /// Counts one use of the refresh token `token_id` (its `jti`), issued at `issued_at` (its
    /// `iat`, unix seconds), on the client session: the compare-and-set behind Keycloak's
    /// "Revoke Refresh Token" with "Refresh Token Max Reuse".
    ///
    /// Keycloak's `TokenManager.validateTokenReuse` (single-chain form, one current refresh
    /// token per client session): if the client session has a current refresh token, the
    /// presented token is a different one, and it was issued before the client session's
    /// timestamp (`iat < timestamp`, with the cluster started before that timestamp), the token
    /// is stale. Else, if the presented token is not the current one, it becomes the current
    /// one with a use count of 0. Then if the count exceeds `refreshTokenMaxReuse`, reuse is
    /// exceeded; otherwise the caller (`validateTokenReuseForRefresh`) adds 1 to the count.
    /// On either failure Keycloak detaches the client session from the user session.
    ///
    /// What this does, in one `UPDATE ... WHERE` statement on the client-session row:
    /// - current token is NULL, or differs from `token_id` and `issued_at >= last_refresh`
    ///   (`last_refresh` is Keycloak's client-session timestamp): the token becomes current
    ///   with count 1 → [`RefreshUse::Ok`];
    /// - current token equals `token_id` and count `<= max_reuse`: count + 1 →
    ///   [`RefreshUse::Ok`] (so a token may be used `max_reuse + 1` times in all, as in
    ///   Keycloak, whose default `max_reuse` 0 means single use);
    /// - current token equals `token_id` and count `> max_reuse`: nothing changes →
    ///   [`RefreshUse::Exceeded`];
    /// - current token differs and `issued_at < last_refresh`: nothing changes →
    ///   [`RefreshUse::Stale`];
    /// - no such client session → [`RefreshUse::NoClientSession`].
    ///
    /// Differences from Keycloak: no cluster-startup-time exception (sessions are durable
    /// here, so a restart loses no refresh state); one chain per client session, as before
    /// Keycloak keyed the state by the token's `reuse_id`; detaching the client session on
    /// failure, and moving `last_refresh` on success, are the caller's to do.
    ///
    /// Races: the decision and the write are one statement, so two nodes presenting the same
    /// token cannot both pass the budget: on PostgreSQL the second `UPDATE` waits for the
    /// first's transaction and re-checks its `WHERE` against the committed row; on SQLite
    /// write transactions are serialised (`BEGIN IMMEDIATE`).
    pub async fn use_refresh_token_issued_at(
        &mut self,
        user_session: &UserSessionId,
        offline: bool,
        client: &ClientUuid,
        token_id: &str,
        issued_at: i64,
        max_reuse: i32,
    ) -> Result<RefreshUse, StoreError> {
        let done = sqlx::query(
            "UPDATE client_session SET \
             refresh_token_use_count = CASE WHEN current_refresh_token = $4 \
                 THEN refresh_token_use_count + 1 ELSE 1 END, \
             current_refresh_token = $4 \
             WHERE user_session_id = $1 AND offline = $2 AND client_id = $3 AND ( \
                 current_refresh_token IS NULL \
                 OR (current_refresh_token = $4 AND refresh_token_use_count <= $5) \
                 OR (current_refresh_token <> $4 AND last_refresh <= $6))",
        )
        .bind(user_session.as_str())
        .bind(flag(offline))
        .bind(client.as_str())
        .bind(token_id)
        .bind(max_reuse)
        .bind(issued_at)
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        if done.rows_affected() > 0 {
            return Ok(RefreshUse::Ok);
        }
        let current: Option<Option<String>> = sqlx::query_scalar(
            "SELECT current_refresh_token FROM client_session \
             WHERE user_session_id = $1 AND offline = $2 AND client_id = $3",
        )
        .bind(user_session.as_str())
        .bind(flag(offline))
        .bind(client.as_str())
        .fetch_optional(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(match current {
            None => RefreshUse::NoClientSession,
            Some(Some(current)) if current == token_id => RefreshUse::Exceeded,
            Some(_) => RefreshUse::Stale,
        })
    }
}
