//! Keycloak's `ClientScopeRepresentation` and `ProtocolMapperRepresentation`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::{ClientScope, ProtocolMapper};

/// A string map as Keycloak reads it: strings kept, booleans and numbers written as text (some
/// scripts send `"access.token.claim": true`), `null` values dropped.
pub(crate) fn lenient_map<'de, D>(de: D) -> Result<Option<BTreeMap<String, String>>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, Value>> = Option::deserialize(de)?;
    Ok(raw.map(|m| {
        m.into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Null => None,
                other => Some((k, other.to_string())),
            })
            .collect()
    }))
}

/// One protocol mapper of a client or client scope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolMapperRepresentation {
    /// The mapper's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its name, unique among the mappers of its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `openid-connect` or `saml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The mapper type, e.g. `oidc-hardcoded-claim-mapper`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_mapper: Option<String>,
    /// Deprecated in Keycloak and always `false` in what it sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_required: Option<bool>,
    /// The mapper's configuration.
    #[serde(
        default,
        deserialize_with = "lenient_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub config: Option<BTreeMap<String, String>>,
}

impl From<&ProtocolMapper> for ProtocolMapperRepresentation {
    fn from(m: &ProtocolMapper) -> Self {
        ProtocolMapperRepresentation {
            id: Some(m.id.to_string()),
            name: Some(m.name.clone()),
            protocol: Some(m.protocol.clone()),
            protocol_mapper: Some(m.mapper_type.clone()),
            consent_required: Some(false),
            config: Some(m.config.clone()),
        }
    }
}

/// A client scope. `protocolMappers` is left out when the scope has none, as Keycloak does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientScopeRepresentation {
    /// The scope's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its name: the `scope` parameter value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `openid-connect` or `saml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// `include.in.token.scope`, `display.on.consent.screen`, ...
    #[serde(
        default,
        deserialize_with = "lenient_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub attributes: Option<BTreeMap<String, String>>,
    /// The scope's mappers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_mappers: Option<Vec<ProtocolMapperRepresentation>>,
}

impl ClientScopeRepresentation {
    /// The full representation of `scope` with its `mappers`.
    pub fn new(scope: &ClientScope, mappers: &[ProtocolMapper]) -> Self {
        ClientScopeRepresentation {
            id: Some(scope.id.to_string()),
            name: Some(scope.name.clone()),
            description: scope.description.clone(),
            protocol: Some(scope.protocol.clone()),
            attributes: Some(scope.attributes.clone()),
            protocol_mappers: (!mappers.is_empty()).then(|| {
                mappers
                    .iter()
                    .map(ProtocolMapperRepresentation::from)
                    .collect()
            }),
        }
    }

    /// The `{id, name}` form Keycloak lists a client's or a realm's default scopes in.
    pub fn brief(scope: &ClientScope) -> Self {
        ClientScopeRepresentation {
            id: Some(scope.id.to_string()),
            name: Some(scope.name.clone()),
            ..Default::default()
        }
    }

    /// Applies the fields present to `scope`, as Keycloak's update does: name, description and
    /// protocol when given; attributes merged key by key (an empty value removes the key).
    pub fn apply_to(&self, scope: &mut ClientScope) {
        if let Some(name) = &self.name {
            scope.name = name.clone();
        }
        if let Some(description) = &self.description {
            scope.description = Some(description.clone()).filter(|d| !d.is_empty());
        }
        if let Some(protocol) = &self.protocol {
            scope.protocol = protocol.clone();
        }
        if let Some(attributes) = &self.attributes {
            for (k, v) in attributes {
                if v.is_empty() {
                    scope.attributes.remove(k);
                } else {
                    scope.attributes.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{ClientScopeId, MapperOwner, ProtocolMapperId, RealmId};
    use serde_json::json;

    #[test]
    fn mapper_config_accepts_booleans_and_numbers() {
        let rep: ProtocolMapperRepresentation = serde_json::from_value(json!({
            "name": "m", "protocolMapper": "oidc-hardcoded-claim-mapper",
            "config": {"access.token.claim": true, "n": 3, "gone": null, "s": "x"}
        }))
        .unwrap();
        let config = rep.config.unwrap();
        assert_eq!(config["access.token.claim"], "true");
        assert_eq!(config["n"], "3");
        assert_eq!(config["s"], "x");
        assert!(!config.contains_key("gone"));
    }

    #[test]
    fn scope_without_mappers_omits_them() {
        let scope = ClientScope {
            id: ClientScopeId::new("s1"),
            realm_id: RealmId::new("r"),
            name: "offline_access".into(),
            description: None,
            protocol: "openid-connect".into(),
            attributes: BTreeMap::new(),
        };
        let v = serde_json::to_value(ClientScopeRepresentation::new(&scope, &[])).unwrap();
        assert!(v.get("protocolMappers").is_none());
        assert!(v.get("description").is_none());
        let mapper = ProtocolMapper {
            id: ProtocolMapperId::new("m1"),
            name: "n".into(),
            protocol: "openid-connect".into(),
            mapper_type: "oidc-hardcoded-claim-mapper".into(),
            owner: MapperOwner::ClientScope(scope.id.clone()),
            config: BTreeMap::new(),
        };
        let v = serde_json::to_value(ClientScopeRepresentation::new(&scope, &[mapper])).unwrap();
        assert_eq!(
            v["protocolMappers"][0]["protocolMapper"],
            "oidc-hardcoded-claim-mapper"
        );
        assert_eq!(v["protocolMappers"][0]["consentRequired"], false);
    }

    #[test]
    fn update_merges_attributes() {
        let mut scope = ClientScope {
            id: ClientScopeId::new("s1"),
            realm_id: RealmId::new("r"),
            name: "a".into(),
            description: Some("d".into()),
            protocol: "openid-connect".into(),
            attributes: [("k".to_owned(), "v".to_owned()), ("x".into(), "y".into())].into(),
        };
        let rep: ClientScopeRepresentation =
            serde_json::from_value(json!({"name": "b", "attributes": {"k": "", "n": "1"}}))
                .unwrap();
        rep.apply_to(&mut scope);
        assert_eq!(scope.name, "b");
        assert_eq!(scope.description.as_deref(), Some("d"));
        assert!(!scope.attributes.contains_key("k"));
        assert_eq!(scope.attributes["x"], "y");
        assert_eq!(scope.attributes["n"], "1");
    }
}
