//! Authorization codes, shared by every node through the database (logins in progress live in
//! the distributed cache, not here).
//!
//! A code's data is a JSON object of strings in a `TEXT` column; codes go with their realm and
//! client. Expiry is the caller's to check: reads return expired rows too, and the purge below
//! deletes them.

use std::collections::BTreeMap;

use gatehouse_model::{AuthCode, ClientUuid, CodeUse, RealmId, UserSessionId};
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
