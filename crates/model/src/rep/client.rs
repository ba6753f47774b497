//! Keycloak's `ClientRepresentation`, field for field as Keycloak 26's admin API sends it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::scope::{ProtocolMapperRepresentation, lenient_map};
use crate::Client;

/// The attribute Keycloak 26 adds to every client it sends: whether the client is a realm's
/// management client (`<realm>-realm` in master, `realm-management` elsewhere, `broker`). It is
/// computed, never stored.
pub const REALM_CLIENT_ATTRIBUTE: &str = "realm_client";

/// What the caller may do with the client (`access` in Keycloak's representation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientAccess {
    /// May read it.
    pub view: bool,
    /// May change its configuration.
    pub configure: bool,
    /// May change and delete it.
    pub manage: bool,
}

/// A client. Every field is optional so that a request may carry only what it changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientRepresentation {
    /// Internal id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The `client_id` applications present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Prefix for relative URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_url: Option<String>,
    /// Back-channel admin URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_url: Option<String>,
    /// Default URL to send users to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Always `false` (a Keycloak adapter setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surrogate_auth_required: Option<bool>,
    /// Whether the client may get tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Listed in the account console without a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_display_in_console: Option<bool>,
    /// `client-secret`, `client-jwt`, `client-secret-jwt`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_authenticator_type: Option<String>,
    /// The secret, sent for confidential clients only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Allowed redirect URI patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// Allowed CORS origins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_origins: Option<Vec<String>>,
    /// Tokens issued before this time are refused (revocation pushes are not supported: 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// Only verifies tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_only: Option<bool>,
    /// Users must consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_required: Option<bool>,
    /// Authorization code flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard_flow_enabled: Option<bool>,
    /// Implicit flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implicit_flow_enabled: Option<bool>,
    /// Resource owner password grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_access_grants_enabled: Option<bool>,
    /// Client credentials grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_accounts_enabled: Option<bool>,
    /// No secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_client: Option<bool>,
    /// Front-channel logout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout: Option<bool>,
    /// `openid-connect` or `saml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Other settings, as strings.
    #[serde(
        default,
        deserialize_with = "lenient_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub attributes: Option<BTreeMap<String, String>>,
    /// Flow overrides by binding; none are supported, so always `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_flow_binding_overrides: Option<BTreeMap<String, String>>,
    /// Tokens carry all of the user's roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_scope_allowed: Option<bool>,
    /// Cluster node re-registration (an adapter feature; `-1`, as Keycloak gives new clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_re_registration_timeout: Option<i64>,
    /// Names of the default client scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_client_scopes: Option<Vec<String>>,
    /// Names of the optional client scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional_client_scopes: Option<Vec<String>>,
    /// The client's own mappers; left out when there are none, as Keycloak does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_mappers: Option<Vec<ProtocolMapperRepresentation>>,
    /// What the caller may do with it (output only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<ClientAccess>,
}

impl ClientRepresentation {
    /// The full representation of `client`: its default and optional scope names, its own
    /// mappers, whether it is a realm management client, and what the caller may do with it.
    pub fn new(
        client: &Client,
        default_scopes: Vec<String>,
        optional_scopes: Vec<String>,
        mappers: Vec<ProtocolMapperRepresentation>,
        realm_client: bool,
        access: ClientAccess,
    ) -> Self {
        let mut attributes = client.attributes.clone();
        attributes.insert(REALM_CLIENT_ATTRIBUTE.to_owned(), realm_client.to_string());
        let confidential = !client.public_client && !client.bearer_only;
        ClientRepresentation {
            id: Some(client.id.to_string()),
            client_id: Some(client.client_id.to_string()),
            name: client.name.clone(),
            description: client.description.clone(),
            root_url: client.root_url.clone(),
            admin_url: client.admin_url.clone(),
            base_url: client.base_url.clone(),
            surrogate_auth_required: Some(false),
            enabled: Some(client.enabled),
            always_display_in_console: Some(client.always_display_in_console),
            client_authenticator_type: Some(client.client_authenticator_type.clone()),
            secret: client.secret.clone().filter(|_| confidential),
            redirect_uris: Some(client.redirect_uris.clone()),
            web_origins: Some(client.web_origins.clone()),
            not_before: Some(0),
            bearer_only: Some(client.bearer_only),
            consent_required: Some(client.consent_required),
            standard_flow_enabled: Some(client.standard_flow_enabled),
            implicit_flow_enabled: Some(client.implicit_flow_enabled),
            direct_access_grants_enabled: Some(client.direct_access_grants_enabled),
            service_accounts_enabled: Some(client.service_accounts_enabled),
            public_client: Some(client.public_client),
            frontchannel_logout: Some(client.frontchannel_logout),
            protocol: Some(client.protocol.clone()),
            attributes: Some(attributes),
            authentication_flow_binding_overrides: Some(BTreeMap::new()),
            full_scope_allowed: Some(client.full_scope_allowed),
            node_re_registration_timeout: Some(-1),
            default_client_scopes: Some(default_scopes),
            optional_client_scopes: Some(optional_scopes),
            protocol_mappers: (!mappers.is_empty()).then_some(mappers),
            access: Some(access),
        }
    }

    /// Applies the fields present to `client`, as Keycloak's update does. Attributes are merged
    /// key by key (an empty value removes the key); the computed `realm_client` attribute is
    /// never stored. Scopes and mappers are not fields of the client and are left to the
    /// caller.
    pub fn apply_to(&self, client: &mut Client) {
        fn set<T: Clone>(target: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *target = v.clone();
            }
        }
        fn set_opt(target: &mut Option<String>, value: &Option<String>) {
            if let Some(v) = value {
                *target = Some(v.clone()).filter(|v| !v.is_empty());
            }
        }
        if let Some(client_id) = &self.client_id {
            client.client_id = crate::ClientId::new(client_id.clone());
        }
        set_opt(&mut client.name, &self.name);
        set_opt(&mut client.description, &self.description);
        set_opt(&mut client.root_url, &self.root_url);
        set_opt(&mut client.admin_url, &self.admin_url);
        set_opt(&mut client.base_url, &self.base_url);
        set(&mut client.enabled, &self.enabled);
        set(
            &mut client.always_display_in_console,
            &self.always_display_in_console,
        );
        set(
            &mut client.client_authenticator_type,
            &self.client_authenticator_type,
        );
        if let Some(secret) = &self.secret {
            client.secret = Some(secret.clone());
        }
        set(&mut client.redirect_uris, &self.redirect_uris);
        set(&mut client.web_origins, &self.web_origins);
        set(&mut client.bearer_only, &self.bearer_only);
        set(&mut client.consent_required, &self.consent_required);
        set(
            &mut client.standard_flow_enabled,
            &self.standard_flow_enabled,
        );
        set(
            &mut client.implicit_flow_enabled,
            &self.implicit_flow_enabled,
        );
        set(
            &mut client.direct_access_grants_enabled,
            &self.direct_access_grants_enabled,
        );
        set(
            &mut client.service_accounts_enabled,
            &self.service_accounts_enabled,
        );
        set(&mut client.public_client, &self.public_client);
        set(&mut client.frontchannel_logout, &self.frontchannel_logout);
        set(&mut client.protocol, &self.protocol);
        set(&mut client.full_scope_allowed, &self.full_scope_allowed);
        if let Some(attributes) = &self.attributes {
            for (k, v) in attributes {
                if k == REALM_CLIENT_ATTRIBUTE {
                    continue;
                }
                if v.is_empty() {
                    client.attributes.remove(k);
                } else {
                    client.attributes.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{ClientId, ClientUuid, RealmId};
    use serde_json::json;

    fn client() -> Client {
        let mut c = Client::new(
            ClientUuid::new("c1"),
            RealmId::new("r"),
            ClientId::new("app"),
        );
        c.secret = Some("s3cret".into());
        c.redirect_uris = vec!["https://app/*".into()];
        c.attributes
            .insert("pkce.code.challenge.method".into(), "S256".into());
        c
    }

    #[test]
    fn confidential_clients_show_their_secret_and_public_ones_do_not() {
        let c = client();
        let rep = ClientRepresentation::new(&c, vec![], vec![], vec![], false, Default::default());
        let v = serde_json::to_value(&rep).unwrap();
        assert_eq!(v["secret"], "s3cret");
        assert_eq!(v["attributes"]["realm_client"], "false");
        assert_eq!(v["surrogateAuthRequired"], false);
        assert_eq!(v["authenticationFlowBindingOverrides"], json!({}));
        assert_eq!(
            v["access"],
            json!({"view": false, "configure": false, "manage": false})
        );
        assert!(v.get("protocolMappers").is_none());
        let mut p = c.clone();
        p.public_client = true;
        let v = serde_json::to_value(ClientRepresentation::new(
            &p,
            vec![],
            vec![],
            vec![],
            false,
            Default::default(),
        ))
        .unwrap();
        assert!(v.get("secret").is_none());
    }

    #[test]
    fn partial_update_keeps_what_is_absent() {
        let mut c = client();
        let rep: ClientRepresentation = serde_json::from_value(json!({
            "name": "App", "directAccessGrantsEnabled": true,
            "attributes": {"realm_client": "true", "post.logout.redirect.uris": "+"}
        }))
        .unwrap();
        rep.apply_to(&mut c);
        assert_eq!(c.name.as_deref(), Some("App"));
        assert!(c.direct_access_grants_enabled);
        assert_eq!(c.redirect_uris, vec!["https://app/*".to_owned()]);
        assert_eq!(c.secret.as_deref(), Some("s3cret"));
        assert_eq!(c.attributes["pkce.code.challenge.method"], "S256");
        assert_eq!(c.attributes["post.logout.redirect.uris"], "+");
        assert!(!c.attributes.contains_key("realm_client"));
    }
}
