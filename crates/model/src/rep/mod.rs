//! Keycloak's JSON representations (`RealmRepresentation`, `UserRepresentation`, ...), field
//! for field and camelCase, with conversions to and from the domain types.
//!
//! Every field of a representation read from a request is optional, as in Keycloak: an absent
//! field on an update keeps what is stored. Fields we do not model are kept in `extra` where
//! Keycloak keeps them, so a round trip loses nothing.

pub mod client;
pub mod component;
pub mod consent;
pub mod group;
pub mod realm;
pub mod role;
pub mod scope;
pub mod session;
pub mod user;
