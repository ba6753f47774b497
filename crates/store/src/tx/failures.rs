//! Brute-force detection: failed-login counters shared by every node.

use gatehouse_model::{LoginFailure, RealmId, UserId};
use sqlx::Row as _;

use super::Tx;
use crate::error::{StoreError, from_sqlx};

/// The columns, as a macro so queries stay `&'static str` (sqlx audits dynamic SQL).
macro_rules! columns {
    () => {
        "realm_id, user_id, num_failures, num_temporary_lockouts, last_failure, \
         previous_failure, last_ip, failed_login_not_before"
    };
}

fn row_to_failure(row: &sqlx::any::AnyRow) -> Result<LoginFailure, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(from_sqlx);
    let int = |name: &str| row.try_get::<i64, _>(name).map_err(from_sqlx);
    Ok(LoginFailure {
        realm_id: RealmId::from(text("realm_id")?),
        user_id: UserId::from(text("user_id")?),
        num_failures: i32::try_from(int("num_failures")?).unwrap_or(i32::MAX),
        num_temporary_lockouts: i32::try_from(int("num_temporary_lockouts")?).unwrap_or(i32::MAX),
        last_failure: int("last_failure")?,
        previous_failure: int("previous_failure")?,
        last_ip: row
            .try_get::<Option<String>, _>("last_ip")
            .map_err(from_sqlx)?,
        failed_login_not_before: int("failed_login_not_before")?,
    })
}

impl Tx {
    /// The user's failure record, if any.
    pub async fn login_failure(
        &mut self,
        realm: &RealmId,
        user: &UserId,
    ) -> Result<Option<LoginFailure>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM login_failure WHERE realm_id = $1 AND user_id = $2"
        ))
        .bind(realm.as_str())
        .bind(user.as_str())
        .fetch_optional(self.conn())
        .await
        .map_err(from_sqlx)?;
        row.as_ref().map(row_to_failure).transpose()
    }

    /// Counts one failed login at `now_ms` from `ip`, in one statement so that failures
    /// counted on two nodes at once are both counted. A failure more than `max_delta_ms` after
    /// the previous one starts the count again (Keycloak's `maxDeltaTimeSeconds`). Returns the
    /// record after the update.
    pub async fn record_login_failure(
        &mut self,
        realm: &RealmId,
        user: &UserId,
        now_ms: i64,
        ip: &str,
        max_delta_ms: i64,
    ) -> Result<LoginFailure, StoreError> {
        let row = sqlx::query(concat!(
            "INSERT INTO login_failure (",
            columns!(),
            ") VALUES ($1, $2, 1, 0, $3, 0, $4, 0) \
             ON CONFLICT (realm_id, user_id) DO UPDATE SET \
               num_failures = CASE WHEN $3 - login_failure.last_failure > $5 THEN 1 \
                                   ELSE login_failure.num_failures + 1 END, \
               previous_failure = login_failure.last_failure, \
               last_failure = $3, \
               last_ip = $4 \
             RETURNING ",
            columns!()
        ))
        .bind(realm.as_str())
        .bind(user.as_str())
        .bind(now_ms)
        .bind(ip)
        .bind(max_delta_ms)
        .fetch_one(self.conn())
        .await
        .map_err(from_sqlx)?;
        row_to_failure(&row)
    }

    /// Locks the user until `not_before` (unix seconds) and counts a temporary lockout.
    pub async fn lock_login(
        &mut self,
        realm: &RealmId,
        user: &UserId,
        not_before: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE login_failure SET failed_login_not_before = $3, \
             num_temporary_lockouts = num_temporary_lockouts + 1 \
             WHERE realm_id = $1 AND user_id = $2",
        )
        .bind(realm.as_str())
        .bind(user.as_str())
        .bind(not_before)
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    /// Forgets the user's failures (a successful login, or an admin's reset).
    pub async fn clear_login_failure(
        &mut self,
        realm: &RealmId,
        user: &UserId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM login_failure WHERE realm_id = $1 AND user_id = $2")
            .bind(realm.as_str())
            .bind(user.as_str())
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }
}
