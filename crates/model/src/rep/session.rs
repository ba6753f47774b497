//! Keycloak's `UserSessionRepresentation`, as the admin API lists sessions of a user, a client
//! or a realm.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::UserSession;

/// One user session. Times are epoch milliseconds, as Keycloak sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSessionRepresentation {
    /// The session id (the tokens' `sid`).
    pub id: String,
    /// The user's username.
    pub username: String,
    /// The user's id.
    pub user_id: String,
    /// Where the session was started from.
    pub ip_address: String,
    /// When it started.
    pub start: i64,
    /// Its last refresh.
    pub last_access: i64,
    /// Whether "remember me" was ticked.
    pub remember_me: bool,
    /// The clients in the session: internal id to `clientId`.
    pub clients: BTreeMap<String, String>,
    /// Keycloak 26's flag for sessions of users that are not stored (never, here).
    pub transient_user: bool,
}

impl UserSessionRepresentation {
    /// The representation of `session`, whose user is `username`, with its clients as
    /// `(internal id, clientId)` pairs.
    pub fn new(
        session: &UserSession,
        username: &str,
        clients: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        UserSessionRepresentation {
            id: session.id.to_string(),
            username: username.to_owned(),
            user_id: session.user_id.to_string(),
            ip_address: session.ip_address.clone(),
            start: session.started * 1000,
            last_access: session.last_refresh * 1000,
            remember_me: session.remember_me,
            clients: clients.into_iter().collect(),
            transient_user: false,
        }
    }
}
