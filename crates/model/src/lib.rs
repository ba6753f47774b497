//! Gatehouse domain types: ids, realms, clients, roles, users, credentials, groups, client
//! scopes, protocol mappers, realm keys, durable user and client sessions, authentication
//! sessions (logins in progress), authorization codes and user consents.
//!
//! Invariant: no I/O here, and no serde on the domain types. Storage lives in
//! `gatehouse-store`. Keycloak's JSON representations live apart in [`rep`], with their
//! conversions to and from the domain types, because both the Admin REST API and realm
//! import/export speak them.

mod auth;
mod consents;
mod entities;
mod failures;
mod ids;
mod keys;
mod sessions;

pub mod rep;

pub use auth::{AuthCode, AuthSession, CodeUse};
pub use consents::UserConsent;
pub use entities::{
    Client, ClientScope, Credential, Group, MapperOwner, ProtocolMapper, Realm, Role, SslRequired,
    User,
};
pub use failures::LoginFailure;
pub use ids::{
    AuthSessionId, ClientId, ClientScopeId, ClientUuid, CredentialId, GroupId, ProtocolMapperId,
    REALM_NAME_MAX_CHARS, RealmId, RealmKeyId, RealmName, RoleId, UserId, UserSessionId, Username,
};
pub use keys::{KeyUse, RealmKey};
pub use sessions::{ClientSession, RefreshUse, UserSession};

/// A value that breaks a domain rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The realm name is empty, too long or has a forbidden character.
    #[error("invalid realm name {0}")]
    InvalidRealmName(String),
    /// Not one of `none`, `external`, `all`.
    #[error("invalid sslRequired value {0:?} (expected none, external or all)")]
    InvalidSslRequired(String),
    /// Not one of `sig`, `enc`.
    #[error("invalid key use {0:?} (expected sig or enc)")]
    InvalidKeyUse(String),
}
