//! Keycloak's `ComponentRepresentation`, as the admin API lists and creates key providers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A component: here always a key provider (`org.keycloak.keys.KeyProvider`) of a realm.
/// Config values are lists of strings, as Keycloak's `MultivaluedHashMap` writes them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentRepresentation {
    /// The component's id (the key's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name, e.g. `rsa-generated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The provider: `rsa-generated`, `ecdsa-generated`, `hmac-generated`, `eddsa-generated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    /// The SPI: `org.keycloak.keys.KeyProvider`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_type: Option<String>,
    /// The realm's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Unused for key providers; kept for round trips.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    /// Settings: `priority`, `enabled`, `active`, `algorithm`, `keySize`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<BTreeMap<String, Vec<String>>>,
}

impl ComponentRepresentation {
    /// The first value of a config entry.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.config
            .as_ref()
            .and_then(|c| c.get(name))
            .and_then(|v| v.first())
            .map(String::as_str)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_keycloak_json() {
        let rep: ComponentRepresentation = serde_json::from_str(
            r#"{"name":"rsa-2","providerId":"rsa-generated",
                "providerType":"org.keycloak.keys.KeyProvider","parentId":"r1",
                "config":{"priority":["200"],"keySize":["3072"]}}"#,
        )
        .unwrap();
        assert_eq!(rep.setting("priority"), Some("200"));
        assert_eq!(rep.setting("keySize"), Some("3072"));
        assert_eq!(rep.setting("active"), None);
    }
}
