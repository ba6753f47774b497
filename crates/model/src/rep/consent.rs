//! Keycloak's `UserConsentRepresentation` (realm files) and the entries of the admin API's
//! `GET /users/{id}/consents` (Keycloak 26's `UserResource.getConsents`).

use serde::{Deserialize, Serialize};

/// A user's consent as realm files carry it (a user's `clientConsents`): the client, the
/// names of the granted client scopes (the client's own `clientId` when the client itself was
/// on the consent screen), and the times in epoch milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserConsentRepresentation {
    /// The client's `clientId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Names of the granted client scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_client_scopes: Option<Vec<String>>,
    /// When the consent was given, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<i64>,
    /// When a scope was last added, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_date: Option<i64>,
}

/// What a user allowed a client, as `GET /users/{id}/consents` lists it: a consent, or a
/// client holding an offline token of the user without one. Keycloak writes every key, the
/// dates as `null` for an offline token alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentGrantRepresentation {
    /// The client's `clientId`.
    pub client_id: String,
    /// Names of the granted client scopes (empty for an offline token alone).
    pub granted_client_scopes: Vec<String>,
    /// When the consent was given, epoch milliseconds.
    pub created_date: Option<i64>,
    /// When a scope was last added, epoch milliseconds.
    pub last_updated_date: Option<i64>,
    /// Grants beyond the consent: the client's offline token.
    pub additional_grants: Vec<AdditionalGrantRepresentation>,
}

/// An entry of `additionalGrants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdditionalGrantRepresentation {
    /// The client's internal id.
    pub client: String,
    /// What is granted: Keycloak writes `Offline Token`.
    pub key: String,
}

impl AdditionalGrantRepresentation {
    /// The offline token grant of a client (by internal id).
    pub fn offline_token(client_uuid: &str) -> Self {
        AdditionalGrantRepresentation {
            client: client_uuid.to_owned(),
            key: "Offline Token".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn listing_writes_nulls_and_file_form_omits_absent_fields() {
        let offline_only = ConsentGrantRepresentation {
            client_id: "app".into(),
            granted_client_scopes: Vec::new(),
            created_date: None,
            last_updated_date: None,
            additional_grants: vec![AdditionalGrantRepresentation::offline_token("u-1")],
        };
        let v = serde_json::to_value(&offline_only).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "clientId": "app",
                "grantedClientScopes": [],
                "createdDate": null,
                "lastUpdatedDate": null,
                "additionalGrants": [{"client": "u-1", "key": "Offline Token"}],
            })
        );
        let file: UserConsentRepresentation = serde_json::from_value(serde_json::json!({
            "clientId": "app", "grantedClientScopes": ["email"], "createdDate": 5
        }))
        .unwrap();
        assert_eq!(file.last_updated_date, None);
        let back = serde_json::to_value(&file).unwrap();
        assert!(back.get("lastUpdatedDate").is_none());
        assert_eq!(back["grantedClientScopes"][0], "email");
    }
}
