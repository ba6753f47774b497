//! Single-use markers (authorization codes, action tokens) and revoked access tokens.

use super::Tx;
use crate::error::{StoreError, from_sqlx};

/// Now, in unix seconds, from this node's clock.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Tx {
    /// Marks `key` used until `expires` (unix seconds); true only for the first use.
    ///
    /// Uses this node's clock as "now": see [`Tx::mark_single_use_at`].
    pub async fn mark_single_use(&mut self, key: &str, expires: i64) -> Result<bool, StoreError> {
        self.mark_single_use_at(key, expires, unix_now()).await
    }

    /// Marks `key` used until `expires`; true only for the first use. A marker that expired
    /// before `now` (unix seconds) does not count: the key is taken over as a first use.
    ///
    /// One statement decides it (`INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE` the old
    /// marker has expired), so of two nodes racing for one key exactly one gets `true`: on
    /// PostgreSQL the loser's insert waits for the winner's transaction and then finds its
    /// live marker; on SQLite writers are serialised.
    pub async fn mark_single_use_at(
        &mut self,
        key: &str,
        expires: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO single_use (key, expires) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET expires = $2 WHERE single_use.expires < $3",
        )
        .bind(key)
        .bind(expires)
        .bind(now)
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes the single-use markers that expired before `now`; returns how many.
    pub async fn purge_single_use(&mut self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM single_use WHERE expires < $1")
            .bind(now)
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected())
    }

    /// Records that the access token `id` is revoked until `expires` (unix seconds, the
    /// token's own `exp`). Revoking twice is harmless; the later expiry is kept.
    pub async fn revoke_token(&mut self, id: &str, expires: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO revoked_token (id, expires) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET expires = $2 WHERE revoked_token.expires < $2",
        )
        .bind(id)
        .bind(expires)
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    /// Whether the access token `id` was revoked (and not yet purged).
    pub async fn is_token_revoked(&mut self, id: &str) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT expires FROM revoked_token WHERE id = $1")
                .bind(id)
                .fetch_optional(self.conn())
                .await
                .map_err(from_sqlx)?;
        Ok(found.is_some())
    }

    /// Deletes the revocations of tokens that expired before `now`; returns how many.
    pub async fn purge_revoked_tokens(&mut self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM revoked_token WHERE expires < $1")
            .bind(now)
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected())
    }
}
