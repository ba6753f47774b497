//! Keycloak's `RoleRepresentation` and `MappingsRepresentation`: roles as the admin API lists,
//! creates and updates them, and the role mappings of a user or a group.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Role;

/// A realm or client role. Keycloak's brief form (role lists, mappings, composites) has no
/// `attributes`; the full form (one role, `briefRepresentation=false`) has them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRepresentation {
    /// Internal id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Unique in the realm, or in the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the role includes other roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite: Option<bool>,
    /// Input only: the roles a new composite role includes (`POST .../roles`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composites: Option<Composites>,
    /// Whether it is a client role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_role: Option<bool>,
    /// The realm id for a realm role, the client's internal id for a client role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// Multi-valued attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, Vec<String>>>,
}

/// The roles a composite role includes, by name: realm roles, and client roles by `clientId`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Composites {
    /// Realm role names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<Vec<String>>,
    /// Client role names by the client's `clientId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<BTreeMap<String, Vec<String>>>,
}

impl RoleRepresentation {
    /// Keycloak's brief form of `role` (`toBriefRepresentation`): everything but attributes.
    /// `composite` says whether the role includes other roles (a separate look-up).
    pub fn brief(role: &Role, composite: bool) -> Self {
        RoleRepresentation {
            id: Some(role.id.to_string()),
            name: Some(role.name.clone()),
            description: role.description.clone(),
            composite: Some(composite),
            composites: None,
            client_role: Some(role.client.is_some()),
            container_id: Some(match &role.client {
                Some(client) => client.to_string(),
                None => role.realm_id.to_string(),
            }),
            attributes: None,
        }
    }

    /// Keycloak's full form of `role` (`toRepresentation`): the brief form with attributes.
    pub fn full(role: &Role, composite: bool) -> Self {
        RoleRepresentation {
            attributes: Some(role.attributes.clone()),
            ..RoleRepresentation::brief(role, composite)
        }
    }

    /// Applies an update as Keycloak's `PUT .../roles/{name}` does: the name is required, the
    /// description is replaced (an absent one clears it), the attributes are replaced only when
    /// present. The error is Keycloak's 400 message.
    pub fn apply_to(&self, role: &mut Role) -> Result<(), String> {
        let name = self
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| "role has no name".to_owned())?;
        role.name = name.to_owned();
        role.description = self.description.clone();
        if let Some(attributes) = &self.attributes {
            role.attributes = attributes.clone();
        }
        Ok(())
    }
}

/// The role mappings of a user or group (`GET .../role-mappings`): realm roles, and client roles
/// by `clientId`. Keycloak leaves out either part when it is empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MappingsRepresentation {
    /// The realm roles, brief form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_mappings: Option<Vec<RoleRepresentation>>,
    /// The client roles, by the client's `clientId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mappings: Option<BTreeMap<String, ClientMappingsRepresentation>>,
}

/// The roles of one client in a [`MappingsRepresentation`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientMappingsRepresentation {
    /// The client's internal id.
    pub id: String,
    /// The client's `clientId`.
    pub client: String,
    /// Its roles, brief form.
    pub mappings: Vec<RoleRepresentation>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::{ClientUuid, RealmId, RoleId};
    use serde_json::json;

    fn role(client: Option<&str>) -> Role {
        Role {
            id: RoleId::new("r1"),
            realm_id: RealmId::new("realm-1"),
            client: client.map(ClientUuid::new),
            name: "editor".into(),
            description: None,
            attributes: [("k".to_owned(), vec!["v".to_owned()])].into(),
        }
    }

    #[test]
    fn brief_and_full_forms_are_keycloaks() {
        let brief = serde_json::to_value(RoleRepresentation::brief(&role(None), false)).unwrap();
        assert_eq!(
            brief,
            json!({"id": "r1", "name": "editor", "composite": false, "clientRole": false,
                   "containerId": "realm-1"})
        );
        let full = serde_json::to_value(RoleRepresentation::full(&role(Some("c1")), true)).unwrap();
        assert_eq!(full["containerId"], "c1");
        assert_eq!(full["clientRole"], true);
        assert_eq!(full["attributes"], json!({"k": ["v"]}));
    }

    #[test]
    fn update_needs_a_name_and_keeps_attributes_when_absent() {
        let mut r = role(None);
        let rep: RoleRepresentation =
            serde_json::from_value(json!({"name": "writer", "description": "d"})).unwrap();
        rep.apply_to(&mut r).unwrap();
        assert_eq!(r.name, "writer");
        assert_eq!(r.description.as_deref(), Some("d"));
        assert_eq!(r.attributes.len(), 1);
        let nameless: RoleRepresentation = serde_json::from_value(json!({"name": " "})).unwrap();
        assert_eq!(nameless.apply_to(&mut r).unwrap_err(), "role has no name");
    }

    #[test]
    fn composites_are_read_on_create() {
        let rep: RoleRepresentation = serde_json::from_value(json!({
            "name": "c", "composite": true,
            "composites": {"realm": ["a"], "client": {"app": ["x", "y"]}}
        }))
        .unwrap();
        let composites = rep.composites.unwrap();
        assert_eq!(composites.realm.unwrap(), ["a"]);
        assert_eq!(composites.client.unwrap()["app"], ["x", "y"]);
    }

    #[test]
    fn empty_mappings_are_an_empty_object() {
        let v = serde_json::to_value(MappingsRepresentation::default()).unwrap();
        assert_eq!(v, json!({}));
    }
}
