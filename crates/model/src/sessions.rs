//! Durable user and client sessions, online and offline, as Keycloak 26 keeps them in the
//! database by default ("persistent user sessions").
//!
//! Times are unix seconds, as in Keycloak's session model. Notes are free-form string maps
//! (Keycloak's `getNote`/`setNote`); the store decides how to serialise them.

use std::collections::BTreeMap;

use crate::ids::{ClientUuid, RealmId, UserId, UserSessionId};

/// A user session: one login of one user, shared by the clients the user signed in to.
///
/// An offline session (`offline_access`) is a separate record with the same id as the online
/// session it came from, so `(id, offline)` identifies a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSession {
    /// Session id (Keycloak's `session_state` / `sid`).
    pub id: UserSessionId,
    /// Offline session (outlives logout of the online one).
    pub offline: bool,
    /// The realm it belongs to.
    pub realm_id: RealmId,
    /// The user who logged in.
    pub user_id: UserId,
    /// The username as typed at login.
    pub login_username: String,
    /// The client's IP address at login.
    pub ip_address: String,
    /// Protocol of the login (`openid-connect`, `saml`).
    pub auth_method: String,
    /// The user ticked "remember me".
    pub remember_me: bool,
    /// Start, unix seconds.
    pub started: i64,
    /// Last refresh (token refresh or SSO re-use), unix seconds.
    pub last_refresh: i64,
    /// Session id at the identity provider, for a brokered login.
    pub broker_session_id: Option<String>,
    /// User id at the identity provider, for a brokered login.
    pub broker_user_id: Option<String>,
    /// Session notes.
    pub notes: BTreeMap<String, String>,
}

/// A client's part of a user session: what one client was granted in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSession {
    /// The user session it belongs to.
    pub user_session_id: UserSessionId,
    /// Part of an offline session.
    pub offline: bool,
    /// The client (internal id).
    pub client_id: ClientUuid,
    /// Start, unix seconds.
    pub started: i64,
    /// Last refresh, unix seconds (Keycloak's client session "timestamp").
    pub last_refresh: i64,
    /// The redirect URI of the login.
    pub redirect_uri: Option<String>,
    /// Client session notes (scope, nonce, protocol, ...).
    pub notes: BTreeMap<String, String>,
    /// Id (`jti`) of the refresh token last used, when refresh tokens are revoked on use.
    pub current_refresh_token: Option<String>,
    /// How often `current_refresh_token` has been used.
    pub refresh_token_use_count: i32,
}

/// The outcome of presenting a refresh token when the realm revokes refresh tokens
/// (Keycloak's `TokenManager.validateTokenReuse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefreshUse {
    /// The use was counted; the refresh may go ahead.
    Ok,
    /// A newer refresh token of this client session was already used: this one is stale
    /// (Keycloak: `invalid_grant`, "Stale token").
    Stale,
    /// The token was used more often than the realm's `refreshTokenMaxReuse` allows
    /// (Keycloak: `invalid_grant`, "Maximum allowed refresh token reuse exceeded").
    Exceeded,
    /// There is no such client session (logged out, expired or never there).
    NoClientSession,
}
