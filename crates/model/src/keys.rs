//! Realm keys: the signing and encryption keys of a realm.
//!
//! Keycloak keeps them as components of provider type `org.keycloak.keys.KeyProvider`
//! (`rsa-generated`, `ecdsa-generated`, `hmac-generated`, `eddsa-generated`,
//! `rsa-enc-generated`, ...); Gatehouse keeps them in a table of their own, and the admin API
//! renders them as components.

use std::fmt;

use crate::ModelError;
use crate::ids::{RealmId, RealmKeyId};

/// What a key is for: the JWK `use` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyUse {
    /// Signatures (`sig`).
    Sig,
    /// Encryption (`enc`).
    Enc,
}

impl KeyUse {
    /// `sig` or `enc`, as in a JWK and in Keycloak's key metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyUse::Sig => "sig",
            KeyUse::Enc => "enc",
        }
    }

    /// Parses `sig` or `enc`, ignoring case (Keycloak's `KeyUse` enum is upper-case, JWKs are
    /// lower-case).
    pub fn parse(value: &str) -> Result<Self, ModelError> {
        match value.to_ascii_lowercase().as_str() {
            "sig" => Ok(KeyUse::Sig),
            "enc" => Ok(KeyUse::Enc),
            _ => Err(ModelError::InvalidKeyUse(value.to_owned())),
        }
    }
}

impl fmt::Display for KeyUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One key of a realm. Its `Debug` output never shows the private key.
#[derive(Clone, PartialEq, Eq)]
pub struct RealmKey {
    /// Internal id (the component id in Keycloak's representation).
    pub id: RealmKeyId,
    /// The realm it belongs to.
    pub realm_id: RealmId,
    /// Component name, e.g. `rsa-generated`.
    pub name: String,
    /// Key provider: `rsa-generated`, `ecdsa-generated`, `hmac-generated`, `eddsa-generated`,
    /// `rsa-enc-generated`, ...
    pub provider: String,
    /// JWA algorithm: `RS256`, `ES256`, `HS512`, `EdDSA`, `RSA-OAEP`, ...
    pub algorithm: String,
    /// Signature or encryption.
    pub key_use: KeyUse,
    /// Among active keys of one algorithm, the highest priority is used for new tokens.
    pub priority: i64,
    /// A disabled key is neither used nor published.
    pub enabled: bool,
    /// An inactive (passive) key still verifies but signs nothing new.
    pub active: bool,
    /// Base64 of the PKCS#8 DER private key, or of the raw secret for HMAC. Secret.
    pub private_key: String,
    /// Base64 of the DER X.509 certificate, for asymmetric keys.
    pub certificate: Option<String>,
    /// Creation time, epoch milliseconds.
    pub created_timestamp: i64,
}

impl fmt::Debug for RealmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RealmKey")
            .field("id", &self.id)
            .field("realm_id", &self.realm_id)
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("algorithm", &self.algorithm)
            .field("key_use", &self.key_use)
            .field("priority", &self.priority)
            .field("enabled", &self.enabled)
            .field("active", &self.active)
            .field("private_key", &"<redacted>")
            .field(
                "certificate",
                &self.certificate.as_ref().map(|_| "<present>"),
            )
            .field("created_timestamp", &self.created_timestamp)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_use_round_trips() {
        assert_eq!(KeyUse::parse("sig").unwrap(), KeyUse::Sig);
        assert_eq!(KeyUse::parse("ENC").unwrap(), KeyUse::Enc);
        assert!(KeyUse::parse("sign").is_err());
        assert_eq!(KeyUse::Enc.to_string(), "enc");
    }

    #[test]
    fn debug_hides_the_private_key() {
        let key = RealmKey {
            id: RealmKeyId::new("k1"),
            realm_id: RealmId::new("r1"),
            name: "hmac-generated".into(),
            provider: "hmac-generated".into(),
            algorithm: "HS512".into(),
            key_use: KeyUse::Sig,
            priority: 100,
            enabled: true,
            active: true,
            private_key: "c3VwZXItc2VjcmV0LWtleQ==".into(),
            certificate: None,
            created_timestamp: 0,
        };
        let shown = format!("{key:?} {key:#?}");
        assert!(!shown.contains("c3VwZXItc2VjcmV0LWtleQ"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert!(shown.contains("HS512"));
    }
}
