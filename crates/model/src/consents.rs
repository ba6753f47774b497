//! User consents: what a user allowed a client that requires consent (Keycloak's
//! `UserConsentModel`).

use std::collections::BTreeSet;

use crate::ids::{ClientScopeId, ClientUuid, UserId};

/// A user's consent to one client: the client scopes the user approved on the consent screen.
///
/// Keycloak lets the client itself appear on the consent screen (its own
/// `display.on.consent.screen`), and records that approval among the granted scopes under the
/// client's id; here it is a flag of its own, so that every granted scope is a real client
/// scope the database can cascade from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserConsent {
    /// Who consented.
    pub user_id: UserId,
    /// To which client (internal id).
    pub client_id: ClientUuid,
    /// The client scopes approved.
    pub scopes: BTreeSet<ClientScopeId>,
    /// The client itself was approved (it was shown on the consent screen).
    pub client_granted: bool,
    /// When the consent was first given, epoch milliseconds (Keycloak's `createdDate`).
    pub created: i64,
    /// When a scope was last added, epoch milliseconds (Keycloak's `lastUpdatedDate`).
    pub last_updated: i64,
}

impl UserConsent {
    /// A consent given at `now_ms` that grants nothing yet.
    pub fn new(user_id: UserId, client_id: ClientUuid, now_ms: i64) -> Self {
        UserConsent {
            user_id,
            client_id,
            scopes: BTreeSet::new(),
            client_granted: false,
            created: now_ms,
            last_updated: now_ms,
        }
    }
}
