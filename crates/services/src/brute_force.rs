//! Brute-force detection with Keycloak's realm settings (`bruteForceProtected`,
//! `failureFactor`, `waitIncrementSeconds`, `maxFailureWaitSeconds`,
//! `minimumQuickLoginWaitSeconds`, `quickLoginCheckMilliSeconds`, `maxDeltaTimeSeconds`,
//! `permanentLockout`, `maxTemporaryLockouts`). The counters are in the database, so failures
//! counted on every node lock the user on all of them. A locked user gets the same answer as a
//! wrong password, so the lock itself tells an attacker nothing.

use gatehouse_model::{Realm, User};

use crate::{ServiceError, Services, now_millis};

/// Seconds to wait after a failure: the lockout grows with every `failure_factor` failures, a
/// burst of attempts (faster than `quick_login_check_milli_seconds`) waits at least the minimum,
/// and no wait exceeds the maximum.
pub(crate) fn wait_seconds(realm: &Realm, failures: i32, last_ms: i64, previous_ms: i64) -> i64 {
    let factor = realm.failure_factor.max(1);
    let mut wait = if failures >= factor {
        i64::from(realm.wait_increment_seconds) * i64::from(failures / factor)
    } else {
        0
    };
    if previous_ms > 0 && last_ms - previous_ms < realm.quick_login_check_milli_seconds {
        wait = wait.max(i64::from(realm.minimum_quick_login_wait_seconds));
    }
    wait.min(i64::from(realm.max_failure_wait_seconds))
}

impl Services {
    /// Whether `password` is `user`'s, with brute-force detection around the check: a locked
    /// user is refused before any hashing, a mismatch counts as a failure, a match clears the
    /// count and re-hashes a password stored under an older policy. Every way of signing in
    /// with a password (the login form, the password grant) goes through here.
    pub(crate) async fn password_matches(
        &self,
        realm: &Realm,
        user: &User,
        credentials: Vec<gatehouse_model::Credential>,
        password: &str,
        client_ip: &str,
    ) -> Result<bool, ServiceError> {
        if self.login_locked(realm, user).await? {
            return Ok(false);
        }
        let Some(stored) = credentials
            .into_iter()
            .find(|c| c.credential_type == "password")
        else {
            return Ok(false);
        };
        let policy = crate::tokens::password_policy(realm);
        let verified = self
            .hasher
            .verify(
                password.to_owned(),
                gatehouse_crypto::StoredPassword {
                    secret_data: stored.secret_data.clone(),
                    credential_data: stored.credential_data.clone(),
                },
                policy,
            )
            .await?;
        match verified {
            gatehouse_crypto::Verified::Mismatch => {
                self.login_failed(realm, user, client_ip).await?;
                Ok(false)
            }
            gatehouse_crypto::Verified::Match { needs_rehash } => {
                if needs_rehash {
                    self.rehash(stored, password, policy).await;
                }
                self.login_succeeded(realm, user).await?;
                Ok(true)
            }
        }
    }

    /// Whether `user` may not try to sign in now.
    pub(crate) async fn login_locked(
        &self,
        realm: &Realm,
        user: &User,
    ) -> Result<bool, ServiceError> {
        if !realm.brute_force_protected {
            return Ok(false);
        }
        let mut tx = self.store().begin_read().await?;
        let failure = tx.login_failure(&realm.id, &user.id).await?;
        tx.rollback().await?;
        let now = crate::now_secs();
        Ok(failure.is_some_and(|f| f.failed_login_not_before > now))
    }

    /// Counts a wrong password and locks the user when the realm's rules say so.
    pub(crate) async fn login_failed(
        &self,
        realm: &Realm,
        user: &User,
        ip: &str,
    ) -> Result<(), ServiceError> {
        if !realm.brute_force_protected {
            return Ok(());
        }
        let now_ms = now_millis();
        let mut tx = self.store().begin().await?;
        let failure = tx
            .record_login_failure(
                &realm.id,
                &user.id,
                now_ms,
                ip,
                realm.max_delta_time_seconds * 1000,
            )
            .await?;
        let wait = wait_seconds(
            realm,
            failure.num_failures,
            failure.last_failure,
            failure.previous_failure,
        );
        let permanent = realm.permanent_lockout
            && failure.num_failures >= realm.failure_factor.max(1)
            && (realm.max_temporary_lockouts == 0
                || failure.num_temporary_lockouts >= realm.max_temporary_lockouts);
        if permanent {
            if let Some(mut locked) = tx.user_by_id(&user.id).await? {
                locked.enabled = false;
                locked.attributes.insert(
                    "disabledReason".to_owned(),
                    vec!["permanentLockout".to_owned()],
                );
                tx.update_user(&locked).await?;
            }
            tracing::warn!(realm = %realm.name, user = %user.id, "user disabled after repeated login failures");
        } else if wait > 0 {
            tx.lock_login(&realm.id, &user.id, now_ms / 1000 + wait)
                .await?;
            tracing::info!(realm = %realm.name, user = %user.id, wait, "login temporarily locked");
        }
        tx.commit().await?;
        Ok(())
    }

    /// A successful login forgets the user's failures.
    pub(crate) async fn login_succeeded(
        &self,
        realm: &Realm,
        user: &User,
    ) -> Result<(), ServiceError> {
        if !realm.brute_force_protected {
            return Ok(());
        }
        let mut tx = self.store().begin().await?;
        tx.clear_login_failure(&realm.id, &user.id).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_model::{RealmId, RealmName};

    use super::wait_seconds;

    #[allow(clippy::unwrap_used)]
    fn realm() -> gatehouse_model::Realm {
        let mut r =
            gatehouse_model::Realm::new(RealmId::new_random(), RealmName::new("r").unwrap());
        r.failure_factor = 3;
        r.wait_increment_seconds = 60;
        r.max_failure_wait_seconds = 900;
        r.minimum_quick_login_wait_seconds = 30;
        r.quick_login_check_milli_seconds = 1000;
        r
    }

    #[test]
    fn waits_grow_per_factor_and_are_capped() {
        let r = realm();
        assert_eq!(wait_seconds(&r, 2, 10_000, 5_000), 0);
        assert_eq!(wait_seconds(&r, 3, 10_000, 5_000), 60);
        assert_eq!(wait_seconds(&r, 6, 10_000, 5_000), 120);
        assert_eq!(wait_seconds(&r, 300, 10_000, 5_000), 900);
    }

    #[test]
    fn quick_bursts_wait_the_minimum() {
        let r = realm();
        assert_eq!(wait_seconds(&r, 1, 10_000, 9_500), 30);
        assert_eq!(wait_seconds(&r, 3, 10_000, 9_500), 60);
        assert_eq!(
            wait_seconds(&r, 1, 10_000, 0),
            0,
            "a first failure is never quick"
        );
    }
}
