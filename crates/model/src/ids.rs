//! Identifier newtypes, so that a realm id can never be passed where a user id is expected.

use std::fmt;

use crate::ModelError;

/// Defines a `String` newtype with the common accessors; `$doc` becomes its doc comment.
macro_rules! string_id {
    ($(#[doc = $doc:expr])* $name:ident) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Wraps an existing value as is.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// A fresh random (UUID v4) value, the form Keycloak uses for ids.
            pub fn new_random() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// Internal id of a realm (Keycloak's `REALM.ID`).
    RealmId
);
string_id!(
    /// Internal id of a client (Keycloak's `CLIENT.ID`, the `id` field of a ClientRepresentation).
    ClientUuid
);
string_id!(
    /// The `clientId` that applications present (Keycloak's `CLIENT.CLIENT_ID`).
    ClientId
);
string_id!(
    /// Internal id of a user.
    UserId
);
string_id!(
    /// Internal id of a role (realm or client role).
    RoleId
);
string_id!(
    /// Internal id of a group.
    GroupId
);
string_id!(
    /// Internal id of a client scope.
    ClientScopeId
);
string_id!(
    /// Internal id of a user credential.
    CredentialId
);
string_id!(
    /// Internal id of a protocol mapper.
    ProtocolMapperId
);

string_id!(
    /// Id of a user session (online or offline; Keycloak's session ids are random UUIDs, and an
    /// offline session keeps the id of the online session it was created from).
    UserSessionId
);
string_id!(
    /// Id of a root authentication session (a login in progress; Keycloak's
    /// `AUTH_SESSION_ID` cookie). Each browser tab has its own sub-session under it, told apart
    /// by a `tab_id`.
    AuthSessionId
);
string_id!(
    /// Internal id of a realm key (Keycloak keeps keys as `KeyProvider` components; this is the
    /// component id).
    RealmKeyId
);

/// The longest realm name accepted; Keycloak's `REALM.NAME` column is `VARCHAR(255)`.
pub const REALM_NAME_MAX_CHARS: usize = 255;

/// A realm's name, as it appears in URLs (`/realms/{name}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RealmName(String);

impl RealmName {
    /// Validates a realm name: non-blank, at most 255 characters, no `/` (it would split the
    /// URL path) and no control characters.
    pub fn new(value: impl Into<String>) -> Result<Self, ModelError> {
        let value = value.into();
        let invalid = |why: &str| Err(ModelError::InvalidRealmName(format!("{value:?}: {why}")));
        if value.trim().is_empty() {
            return invalid("must not be empty");
        }
        if value.chars().count() > REALM_NAME_MAX_CHARS {
            return invalid("longer than 255 characters");
        }
        if value.contains('/') {
            return invalid("must not contain '/'");
        }
        if value.chars().any(char::is_control) {
            return invalid("must not contain control characters");
        }
        Ok(Self(value))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for RealmName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RealmName {
    type Error = ModelError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<&str> for RealmName {
    type Error = ModelError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl AsRef<str> for RealmName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A username. Keycloak stores usernames lower-cased, so `Alice` and `alice` are one user;
/// every constructor lower-cases.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Username(String);

impl Username {
    /// Lower-cases `value` (full Unicode lower-casing, as Java's `toLowerCase`).
    pub fn new(value: impl AsRef<str>) -> Self {
        Self(value.as_ref().to_lowercase())
    }

    /// The username as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The username as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Username {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Username {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_uuids_and_distinct() {
        let a = UserId::new_random();
        let b = UserId::new_random();
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(a.as_str()).is_ok());
    }

    #[test]
    fn realm_names_are_validated() {
        assert!(RealmName::new("master").is_ok());
        assert!(RealmName::new("日本語 realm 🎉").is_ok());
        assert!(RealmName::new("").is_err());
        assert!(RealmName::new("   ").is_err());
        assert!(RealmName::new("a/b").is_err());
        assert!(RealmName::new("a\nb").is_err());
        assert!(RealmName::new("x".repeat(256)).is_err());
        assert_eq!(RealmName::new("ok").unwrap().to_string(), "ok");
    }

    #[test]
    fn usernames_are_lower_cased() {
        assert_eq!(Username::new("Alice").as_str(), "alice");
        assert_eq!(Username::from("ÄLVA").as_str(), "älva");
        assert_eq!(Username::from("ユーザー".to_owned()).as_str(), "ユーザー");
    }
}
