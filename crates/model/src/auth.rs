//! Logins in progress and the authorization codes they end in.
//!
//! An [`AuthSession`] is Keycloak's authentication session: the root id travels in the
//! `AUTH_SESSION_ID` cookie, and each browser tab has its own sub-session (`tab_id`) holding
//! the authorization request and the state of the login flow. An [`AuthCode`] is the
//! single-use authorization code handed to the client at the end (RFC 6749 §4.1.2).
//!
//! Times are unix seconds.

use std::collections::BTreeMap;
use std::fmt;

use crate::ids::{AuthSessionId, ClientUuid, RealmId, UserId, UserSessionId};

/// One browser tab's login in progress (Keycloak's `AuthenticationSessionModel`); `(id,
/// tab_id)` identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSession {
    /// The root authentication session id (the `AUTH_SESSION_ID` cookie).
    pub id: AuthSessionId,
    /// The browser tab's sub-session id.
    pub tab_id: String,
    /// The realm of the login.
    pub realm_id: RealmId,
    /// The client that asked for the login (internal id).
    pub client_id: ClientUuid,
    /// Creation, unix seconds.
    pub created: i64,
    /// Expiry, unix seconds; the session is useless from then on.
    pub expires: i64,
    /// The user, once identified.
    pub user_id: Option<UserId>,
    /// The authorization request: `redirect_uri`, `state`, `nonce`, `scope`, `response_type`,
    /// `response_mode`, `code_challenge`, `code_challenge_method`, `prompt`, `max_age`,
    /// `login_hint`, `ui_locales`, ...
    pub params: BTreeMap<String, String>,
    /// State of the login flow (executions done, required actions, ...).
    pub notes: BTreeMap<String, String>,
}

/// An authorization code: single use, bound to the client, the redirect URI and the PKCE
/// challenge it was issued with.
///
/// `Debug` shows only the first characters of `id`: the code is a bearer secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthCode {
    /// The code itself: random, 32 bytes or more, URL-safe (made by the caller).
    pub id: String,
    /// The realm it was issued in.
    pub realm_id: RealmId,
    /// The client it was issued to (internal id).
    pub client_id: ClientUuid,
    /// The user session the login created or joined.
    pub user_session_id: UserSessionId,
    /// Whether the tokens go to the offline session (`offline_access`).
    pub offline: bool,
    /// Expiry, unix seconds.
    pub expires: i64,
    /// What the token request is checked against and the tokens carry: `redirect_uri`,
    /// `scope`, `nonce`, `code_challenge`, `code_challenge_method`, `auth_time`, `acr`.
    pub data: BTreeMap<String, String>,
}

/// How many characters of a code `Debug` shows.
const CODE_SHOWN_CHARS: usize = 6;

impl fmt::Debug for AuthCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.id.chars().take(CODE_SHOWN_CHARS).collect();
        f.debug_struct("AuthCode")
            .field("id", &format_args!("{shown}…"))
            .field("realm_id", &self.realm_id)
            .field("client_id", &self.client_id)
            .field("user_session_id", &self.user_session_id)
            .field("offline", &self.offline)
            .field("expires", &self.expires)
            .field("data", &self.data)
            .finish()
    }
}

/// The outcome of presenting an authorization code. Expiry is not part of it: compare
/// [`AuthCode::expires`] with the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUse {
    /// First use: the code is now spent.
    Fresh(AuthCode),
    /// The code was already used: refuse it, and revoke what the first use issued
    /// (RFC 6749 §4.1.2).
    Replayed(AuthCode),
    /// No such code (never issued, or purged).
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_most_of_the_code() {
        let code = AuthCode {
            id: "abcdefSECRETSECRETSECRET".into(),
            realm_id: RealmId::new("r"),
            client_id: ClientUuid::new("c"),
            user_session_id: UserSessionId::new("s"),
            offline: false,
            expires: 1,
            data: BTreeMap::new(),
        };
        let shown = format!("{code:?} {:?}", CodeUse::Fresh(code.clone()));
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("abcdef…"), "{shown}");
        // Multi-byte characters are cut on a character boundary.
        let short = AuthCode {
            id: "éééééééé".into(),
            ..code
        };
        assert!(format!("{short:?}").contains("éééééé…"));
    }
}
