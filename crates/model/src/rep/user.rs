//! Keycloak's `UserRepresentation` and `CredentialRepresentation`, as the admin API reads and
//! writes them (Keycloak 26's `ModelToRepresentation.toRepresentation` and
//! `toBriefRepresentation`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::{Credential, User};

/// The attribute Keycloak 26 marks a bootstrap administrator with; the brief representation
/// keeps it so consoles can warn about temporary admins.
const IS_TEMP_ADMIN: &str = "is_temporary_admin";

/// What the caller may do with a user (Keycloak's `access` map on user representations).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAccess {
    /// Add the user to groups and remove it from them.
    pub manage_group_membership: bool,
    /// Read the user.
    pub view: bool,
    /// Grant and revoke the user's roles.
    pub map_roles: bool,
    /// Impersonate the user.
    pub impersonate: bool,
    /// Change and delete the user.
    pub manage: bool,
}

/// A user as Keycloak's admin API sends and receives it. Absent fields are omitted on output
/// and left unchanged on update.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRepresentation {
    /// Internal id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Lower-case username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The email was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Custom attributes; omitted when there are none, as Keycloak omits them. On input a
    /// single string is read as a one-element list.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "attributes"
    )]
    pub attributes: Option<BTreeMap<String, Vec<String>>>,
    /// Creation time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_timestamp: Option<i64>,
    /// A disabled user cannot log in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// An OTP credential is configured (never, yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<bool>,
    /// The user-storage provider the user came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federation_link: Option<String>,
    /// The client a service-account user belongs to (exports only; Keycloak's admin GET does
    /// not fill it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_client_id: Option<String>,
    /// Credentials to set (input only: passwords in `value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Vec<CredentialRepresentation>>,
    /// Credential types that can be disabled in bulk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disableable_credential_types: Option<Vec<String>>,
    /// Required actions pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_actions: Option<Vec<String>>,
    /// Links to identity providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated_identities: Option<Vec<serde_json::Value>>,
    /// Realm roles (read from imports; the admin API ignores them on create, as Keycloak).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_roles: Option<Vec<String>>,
    /// Client roles by `clientId` (ignored on create, as Keycloak).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_roles: Option<BTreeMap<String, Vec<String>>>,
    /// Tokens issued before this time (epoch seconds) are invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// Group paths to join on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// What the caller may do with the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<UserAccess>,
    /// The consents the user gave (realm files only; the admin API lists them under
    /// `/consents` and ignores them on create and update, as Keycloak).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_consents: Option<Vec<super::consent::UserConsentRepresentation>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn attributes<'de, D>(d: D) -> Result<Option<BTreeMap<String, Vec<String>>>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, Option<OneOrMany>>> = Option::deserialize(d)?;
    Ok(raw.map(|m| {
        m.into_iter()
            .map(|(k, v)| {
                let list = match v {
                    None => Vec::new(),
                    Some(OneOrMany::One(s)) => vec![s],
                    Some(OneOrMany::Many(l)) => l,
                };
                (k, list)
            })
            .collect()
    }))
}

/// An empty text counts as absent, as Keycloak's user profile normalises it.
fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

impl From<&User> for UserRepresentation {
    /// The full representation (Keycloak's `toRepresentation`), without `access`.
    fn from(u: &User) -> Self {
        UserRepresentation {
            id: Some(u.id.to_string()),
            username: Some(u.username.to_string()),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            email_verified: Some(u.email_verified),
            attributes: (!u.attributes.is_empty()).then(|| u.attributes.clone()),
            created_timestamp: Some(u.created_timestamp),
            enabled: Some(u.enabled),
            totp: Some(false),
            federation_link: u.federation_link.clone(),
            disableable_credential_types: Some(Vec::new()),
            required_actions: Some(u.required_actions.clone()),
            not_before: Some(u.not_before),
            ..Default::default()
        }
    }
}

impl UserRepresentation {
    /// The brief representation (`briefRepresentation=true`, Keycloak's
    /// `toBriefRepresentation`): no required actions, not-before, TOTP flag or attributes other
    /// than the temporary-admin mark.
    pub fn brief(u: &User) -> Self {
        let attributes = u
            .attributes
            .get(IS_TEMP_ADMIN)
            .and_then(|v| v.first())
            .map(|v| BTreeMap::from([(IS_TEMP_ADMIN.to_owned(), vec![v.clone()])]));
        UserRepresentation {
            id: Some(u.id.to_string()),
            username: Some(u.username.to_string()),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            email_verified: Some(u.email_verified),
            attributes,
            created_timestamp: Some(u.created_timestamp),
            enabled: Some(u.enabled),
            federation_link: u.federation_link.clone(),
            ..Default::default()
        }
    }

    /// The full or the brief representation.
    pub fn of(u: &User, brief: bool) -> Self {
        if brief { Self::brief(u) } else { Self::from(u) }
    }

    /// Applies the fields present to `target`, as Keycloak's PUT does: names, email, flags,
    /// attributes (replaced as a whole when given), required actions (replaced when given) and
    /// the federation link. The username, id, credentials, groups and roles are the caller's
    /// business (they need rules or other tables). Empty names and emails clear the field.
    pub fn apply_to(&self, target: &mut User) -> Result<(), String> {
        if let Some(v) = &self.first_name {
            target.first_name = non_empty(v);
        }
        if let Some(v) = &self.last_name {
            target.last_name = non_empty(v);
        }
        if let Some(v) = &self.email {
            target.email = non_empty(v).map(|e| e.to_lowercase());
        }
        if let Some(v) = self.enabled {
            target.enabled = v;
        }
        if let Some(v) = self.email_verified {
            target.email_verified = v;
        }
        if let Some(v) = &self.federation_link {
            target.federation_link = non_empty(v);
        }
        if let Some(attrs) = &self.attributes {
            let mut kept = BTreeMap::new();
            for (name, values) in attrs {
                if name.trim().is_empty() {
                    return Err("attribute names must not be empty".to_owned());
                }
                // Keycloak keeps the built-in profile fields out of the attribute map.
                if matches!(
                    name.as_str(),
                    "username" | "email" | "firstName" | "lastName"
                ) {
                    continue;
                }
                if !values.is_empty() {
                    kept.insert(name.clone(), values.clone());
                }
            }
            target.attributes = kept;
        }
        if let Some(actions) = &self.required_actions {
            let mut list: Vec<String> = Vec::new();
            for a in actions {
                let a = a.trim();
                if !a.is_empty() && !list.iter().any(|x| x == a) {
                    list.push(a.to_owned());
                }
            }
            target.required_actions = list;
        }
        Ok(())
    }
}

/// A credential as Keycloak's admin API lists it (`id`, `type`, `userLabel`, `createdDate`,
/// `credentialData`, `priority`) or receives it (`type`, `value`, `temporary`). The secret and
/// the value are read but never written out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRepresentation {
    /// Internal id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `password`, `otp`, ...
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<String>,
    /// The label the user chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_label: Option<String>,
    /// Creation time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<i64>,
    /// Keycloak's secret JSON: accepted on import, never sent.
    #[serde(default, skip_serializing)]
    pub secret_data: Option<String>,
    /// Keycloak's credential JSON (algorithm, iterations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_data: Option<String>,
    /// Lower comes first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// The plain password to set (input only, never sent).
    #[serde(default, skip_serializing)]
    pub value: Option<String>,
    /// The user must change the password at the next login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary: Option<bool>,
}

impl From<&Credential> for CredentialRepresentation {
    fn from(c: &Credential) -> Self {
        CredentialRepresentation {
            id: Some(c.id.to_string()),
            credential_type: Some(c.credential_type.clone()),
            user_label: c.user_label.clone(),
            created_date: Some(c.created_date),
            secret_data: None,
            credential_data: Some(c.credential_data.clone()),
            priority: Some(c.priority),
            value: None,
            temporary: None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{CredentialId, RealmId, UserId, Username};
    use serde_json::json;

    fn user() -> User {
        User {
            id: UserId::new("u1"),
            realm_id: RealmId::new("r"),
            username: Username::new("alice"),
            email: Some("alice@example.com".into()),
            first_name: Some("Alice".into()),
            last_name: None,
            enabled: true,
            email_verified: false,
            created_timestamp: 42,
            federation_link: None,
            service_account_client_link: None,
            attributes: BTreeMap::from([("dept".into(), vec!["eng".into()])]),
            required_actions: vec!["VERIFY_EMAIL".into()],
            not_before: 0,
        }
    }

    #[test]
    fn full_and_brief_forms_match_keycloak() {
        let full = serde_json::to_value(UserRepresentation::from(&user())).unwrap();
        assert_eq!(
            full,
            json!({
                "id": "u1", "username": "alice", "firstName": "Alice",
                "email": "alice@example.com", "emailVerified": false,
                "attributes": {"dept": ["eng"]}, "createdTimestamp": 42, "enabled": true,
                "totp": false, "disableableCredentialTypes": [],
                "requiredActions": ["VERIFY_EMAIL"], "notBefore": 0
            })
        );
        let brief = serde_json::to_value(UserRepresentation::brief(&user())).unwrap();
        assert_eq!(
            brief,
            json!({
                "id": "u1", "username": "alice", "firstName": "Alice",
                "email": "alice@example.com", "emailVerified": false,
                "createdTimestamp": 42, "enabled": true
            })
        );
        let mut u = user();
        u.attributes.clear();
        let full = serde_json::to_value(UserRepresentation::from(&u)).unwrap();
        assert!(full.get("attributes").is_none());
    }

    #[test]
    fn partial_update_keeps_what_is_absent() {
        let rep: UserRepresentation = serde_json::from_value(json!({
            "lastName": "Smith", "email": "ALICE@Example.org", "attributes": {"team": "blue"}
        }))
        .unwrap();
        let mut u = user();
        rep.apply_to(&mut u).unwrap();
        assert_eq!(u.first_name.as_deref(), Some("Alice"));
        assert_eq!(u.last_name.as_deref(), Some("Smith"));
        assert_eq!(u.email.as_deref(), Some("alice@example.org"));
        assert_eq!(
            u.attributes,
            BTreeMap::from([("team".into(), vec!["blue".into()])])
        );
        assert_eq!(u.required_actions, ["VERIFY_EMAIL"]);
    }

    #[test]
    fn credentials_never_show_secrets() {
        let c = Credential {
            id: CredentialId::new("c1"),
            user_id: UserId::new("u1"),
            credential_type: "password".into(),
            user_label: None,
            created_date: 7,
            secret_data: "{\"value\":\"hash\"}".into(),
            credential_data: "{\"algorithm\":\"argon2\"}".into(),
            priority: 10,
        };
        let mut rep = CredentialRepresentation::from(&c);
        rep.value = Some("plain".into());
        rep.secret_data = Some("secret".into());
        let json = serde_json::to_value(&rep).unwrap();
        assert_eq!(
            json,
            json!({"id": "c1", "type": "password", "createdDate": 7,
                   "credentialData": "{\"algorithm\":\"argon2\"}", "priority": 10})
        );
    }
}
