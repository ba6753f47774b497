//! Keycloak's `GroupRepresentation`, as the admin API lists, creates and updates groups.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Group;

/// A group. Keycloak 26's brief form has `id`, `name`, `description`, `path` and `parentId`;
/// the full form adds `attributes`, `realmRoles` and `clientRoles`. Group lists add
/// `subGroupCount` and `access`; `subGroups` is always there (empty unless a search fills in the
/// path to a match), because Keycloak's getter never returns null.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRepresentation {
    /// Internal id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Unique among its siblings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `/parent/child`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The parent's id; absent for a top-level group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// How many direct subgroups it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_group_count: Option<i64>,
    /// Subgroups, where a search lays out the path to its matches.
    #[serde(default)]
    pub sub_groups: Vec<GroupRepresentation>,
    /// Multi-valued attributes (full form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, Vec<String>>>,
    /// Names of the realm roles mapped to it (full form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_roles: Option<Vec<String>>,
    /// Names of the client roles mapped to it, by `clientId` (full form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_roles: Option<BTreeMap<String, Vec<String>>>,
    /// What the caller may do with it: `view`, `manage`, `manageMembership`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<BTreeMap<String, bool>>,
}

/// Keycloak's brief form of `group` (`groupToBriefRepresentation`), with the `path` the caller
/// computed (`/a/b`, from the group's ancestors).
pub fn brief(group: &Group, path: String) -> GroupRepresentation {
    GroupRepresentation {
        id: Some(group.id.to_string()),
        name: Some(group.name.clone()),
        description: group.description.clone(),
        path: Some(path),
        parent_id: group.parent_id.as_ref().map(ToString::to_string),
        ..GroupRepresentation::default()
    }
}

/// Keycloak's full form of `group`: the brief form with its attributes and the names of the
/// roles mapped to it (realm role names; client role names by `clientId`).
pub fn full(
    group: &Group,
    path: String,
    realm_roles: Vec<String>,
    client_roles: BTreeMap<String, Vec<String>>,
) -> GroupRepresentation {
    GroupRepresentation {
        attributes: Some(group.attributes.clone()),
        realm_roles: Some(realm_roles),
        client_roles: Some(client_roles),
        ..brief(group, path)
    }
}

impl GroupRepresentation {
    /// The name a create or update asks for, when it is not blank (Keycloak answers 400 "Group
    /// name is missing" otherwise).
    pub fn wanted_name(&self) -> Option<&str> {
        self.name.as_deref().filter(|n| !n.trim().is_empty())
    }

    /// Applies a create or update as Keycloak's `GroupResource.updateGroup` does: the name when
    /// present, the attributes when present (replacing them all), and the description always
    /// (an absent one clears it).
    pub fn apply_to(&self, group: &mut Group) {
        if let Some(name) = &self.name {
            group.name = name.clone();
        }
        if let Some(attributes) = &self.attributes {
            group.attributes = attributes.clone();
        }
        group.description = self.description.clone();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::{GroupId, RealmId};
    use serde_json::json;

    fn group(parent: Option<&str>) -> Group {
        Group {
            id: GroupId::new("g2"),
            realm_id: RealmId::new("r"),
            parent_id: parent.map(GroupId::new),
            name: "child".into(),
            description: None,
            attributes: [("k".to_owned(), vec!["v".to_owned()])].into(),
        }
    }

    #[test]
    fn brief_form_always_has_sub_groups() {
        let v = serde_json::to_value(brief(&group(Some("g1")), "/top/child".into())).unwrap();
        assert_eq!(
            v,
            json!({"id": "g2", "name": "child", "path": "/top/child", "parentId": "g1",
                   "subGroups": []})
        );
        let top = serde_json::to_value(brief(&group(None), "/child".into())).unwrap();
        assert!(top.get("parentId").is_none());
    }

    #[test]
    fn full_form_has_roles_and_attributes() {
        let v = serde_json::to_value(full(
            &group(None),
            "/child".into(),
            vec!["r1".into()],
            [("app".to_owned(), vec!["x".to_owned()])].into(),
        ))
        .unwrap();
        assert_eq!(v["attributes"], json!({"k": ["v"]}));
        assert_eq!(v["realmRoles"], json!(["r1"]));
        assert_eq!(v["clientRoles"], json!({"app": ["x"]}));
    }

    #[test]
    fn update_keeps_absent_attributes_and_clears_description() {
        let mut g = group(None);
        g.description = Some("old".into());
        let rep: GroupRepresentation = serde_json::from_value(json!({"name": "new"})).unwrap();
        rep.apply_to(&mut g);
        assert_eq!(g.name, "new");
        assert_eq!(g.description, None);
        assert_eq!(g.attributes.len(), 1);
        let blank: GroupRepresentation = serde_json::from_value(json!({"name": "  "})).unwrap();
        assert_eq!(blank.wanted_name(), None);
    }
}
