//! Brute-force detection state.

use crate::{RealmId, UserId};

/// A user's recent failed logins (Keycloak's `UserLoginFailureModel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFailure {
    /// The realm.
    pub realm_id: RealmId,
    /// The user.
    pub user_id: UserId,
    /// Failures counted since the last reset.
    pub num_failures: i32,
    /// How many temporary lockouts the user has had (for permanent lockout after N).
    pub num_temporary_lockouts: i32,
    /// The last failure, unix milliseconds.
    pub last_failure: i64,
    /// The failure before the last one, unix milliseconds (0 if none): for the quick-login check.
    pub previous_failure: i64,
    /// The address of the last failure.
    pub last_ip: Option<String>,
    /// Logins are refused until this time, unix seconds (0: not locked).
    pub failed_login_not_before: i64,
}
