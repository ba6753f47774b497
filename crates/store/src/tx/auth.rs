//! Authentication sessions (logins in progress, one row per browser tab) and authorization
//! codes, shared by every node through the database.
//!
//! `(id, tab_id)` identifies an authentication session; params and notes are JSON objects of
//! strings in `TEXT` columns. Both tables go with their realm and client; an authentication
//! session also goes with its user. Expiry is the caller's to check: reads return expired
//! rows too, and the purges below delete them.

use std::collections::BTreeMap;

use gatehouse_model::{
    AuthCode, AuthSession, AuthSessionId, ClientUuid, CodeUse, RealmId, UserId, UserSessionId,
};
use sqlx::any::AnyRow;

use super::Tx;
use crate::error::{StoreError, from_sqlx, map_err};
use crate::rows::{RowExt as _, flag};

/// How long (seconds) a code is kept past its expiry so that a late replay is still detected.
const CODE_REPLAY_WINDOW: i64 = 3600;

fn map_to_json(what: &str, map: &BTreeMap<String, String>) -> Result<String, StoreError> {
    serde_json::to_string(map).map_err(|e| StoreError::Internal(format!("{what}: {e}")))
}

fn map_from_json(column: &str, text: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Internal(format!("cannot read column {column}: {e}")))
}

fn auth_session_from_row(r: &AnyRow) -> Result<AuthSession, StoreError> {
    Ok(AuthSession {
        id: AuthSessionId::new(r.text("id")?),
        tab_id: r.text("tab_id")?,
        realm_id: RealmId::new(r.text("realm_id")?),
        client_id: ClientUuid::new(r.text("client_id")?),
        created: r.long("created")?,
        expires: r.long("expires")?,
        user_id: r.opt_text("user_id")?.map(UserId::new),
        params: map_from_json("auth_session.params", &r.text("params")?)?,
        notes: map_from_json("auth_session.notes", &r.text("notes")?)?,
    })
}

fn auth_code_from_row(r: &AnyRow) -> Result<AuthCode, StoreError> {
    Ok(AuthCode {
        id: r.text("id")?,
        realm_id: RealmId::new(r.text("realm_id")?),
        client_id: ClientUuid::new(r.text("client_id")?),
        user_session_id: UserSessionId::new(r.text("user_session_id")?),
        offline: r.flag("offline")?,
        expires: r.long("expires")?,
        data: map_from_json("auth_code.data", &r.text("data")?)?,
    })
}

impl Tx {
    /// Stores a new authentication session; `Conflict("auth session")` if `(id, tab_id)` is
    /// taken.
    pub async fn insert_auth_session(&mut self, s: &AuthSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_session (id, tab_id, realm_id, client_id, created, expires, \
             user_id, params, notes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(s.id.as_str())
        .bind(s.tab_id.as_str())
        .bind(s.realm_id.as_str())
        .bind(s.client_id.as_str())
        .bind(s.created)
        .bind(s.expires)
        .bind(s.user_id.as_ref().map(UserId::as_str))
        .bind(map_to_json("auth session params", &s.params)?)
        .bind(map_to_json("auth session notes", &s.notes)?)
        .execute(self.conn())
        .await
        .map_err(map_err("auth session"))?;
        Ok(())
    }

    /// The authentication session `(id, tab_id)`, expired or not (compare `expires`).
    pub async fn auth_session(
        &mut self,
        id: &AuthSessionId,
        tab_id: &str,
    ) -> Result<Option<AuthSession>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tab_id, realm_id, client_id, created, expires, user_id, params, notes \
             FROM auth_session WHERE id = $1 AND tab_id = $2",
        )
        .bind(id.as_str())
        .bind(tab_id)
        .fetch_optional(self.conn())
        .await
        .map_err(from_sqlx)?;
        row.as_ref().map(auth_session_from_row).transpose()
    }

    /// Writes the session's `user_id`, `expires`, `params` and `notes` (the rest never
    /// changes); false if there is no such session.
    pub async fn update_auth_session(&mut self, s: &AuthSession) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE auth_session SET user_id = $3, expires = $4, params = $5, notes = $6 \
             WHERE id = $1 AND tab_id = $2",
        )
        .bind(s.id.as_str())
        .bind(s.tab_id.as_str())
        .bind(s.user_id.as_ref().map(UserId::as_str))
        .bind(s.expires)
        .bind(map_to_json("auth session params", &s.params)?)
        .bind(map_to_json("auth session notes", &s.notes)?)
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes the authentication session `(id, tab_id)` (the root's other tabs stay); false
    /// if there was none.
    pub async fn delete_auth_session(
        &mut self,
        id: &AuthSessionId,
        tab_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM auth_session WHERE id = $1 AND tab_id = $2")
            .bind(id.as_str())
            .bind(tab_id)
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// How many tabs of the root session `id` are still open (not expired at `now`): a login
    /// that finishes in one tab leaves the others theirs to finish.
    pub async fn open_auth_session_tabs(
        &mut self,
        id: &AuthSessionId,
        now: i64,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM auth_session WHERE id = $1 AND expires > $2")
            .bind(id.as_str())
            .bind(now)
            .fetch_one(self.conn())
            .await
            .map_err(from_sqlx)
    }

    /// Deletes the authentication sessions that expired before `now` (`expires < now`, unix
    /// seconds); returns how many.
    pub async fn delete_expired_auth_sessions(&mut self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM auth_session WHERE expires < $1")
            .bind(now)
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected())
    }

    /// Stores a new, unused authorization code; `Conflict("auth code")` if the code exists.
    pub async fn insert_auth_code(&mut self, c: &AuthCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_code (id, realm_id, client_id, user_session_id, offline, expires, \
             used, data) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
        )
        .bind(c.id.as_str())
        .bind(c.realm_id.as_str())
        .bind(c.client_id.as_str())
        .bind(c.user_session_id.as_str())
        .bind(flag(c.offline))
        .bind(c.expires)
        .bind(map_to_json("auth code data", &c.data)?)
        .execute(self.conn())
        .await
        .map_err(map_err("auth code"))?;
        Ok(())
    }

    /// Spends the authorization code `id`: [`CodeUse::Fresh`] for its first use,
    /// [`CodeUse::Replayed`] for any later one (the caller should then revoke what the first
    /// use issued, RFC 6749 §4.1.2), [`CodeUse::Unknown`] if there is no such code. Expiry is
    /// not checked: compare [`AuthCode::expires`].
    ///
    /// One guarded `UPDATE ... WHERE used = 0` decides, so of nodes racing on one code exactly
    /// one gets `Fresh`: on PostgreSQL the others' `UPDATE` waits for the winner's transaction
    /// and then finds `used = 1`; on SQLite writers are serialised (`BEGIN IMMEDIATE`). The
    /// code counts as spent once the winner's transaction commits.
    pub async fn consume_auth_code(&mut self, id: &str) -> Result<CodeUse, StoreError> {
        let done = sqlx::query("UPDATE auth_code SET used = 1 WHERE id = $1 AND used = 0")
            .bind(id)
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        let row = sqlx::query(
            "SELECT id, realm_id, client_id, user_session_id, offline, expires, data \
             FROM auth_code WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.conn())
        .await
        .map_err(from_sqlx)?;
        let Some(row) = row else {
            return Ok(CodeUse::Unknown);
        };
        let code = auth_code_from_row(&row)?;
        Ok(if done.rows_affected() == 1 {
            CodeUse::Fresh(code)
        } else {
            CodeUse::Replayed(code)
        })
    }

    /// Deletes the authorization codes, used or not, that expired more than an hour before
    /// `now` (`expires < now - 3600`), so a replay within the hour is still detected; returns
    /// how many.
    pub async fn purge_auth_codes(&mut self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM auth_code WHERE expires < $1")
            .bind(now.saturating_sub(CODE_REPLAY_WINDOW))
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected())
    }
}
