//! Writing a realm out as Keycloak's realm JSON.

use std::collections::{BTreeMap, HashMap};

use gatehouse_model::rep::client::{ClientAccess, ClientRepresentation};
use gatehouse_model::rep::consent::UserConsentRepresentation;
use gatehouse_model::rep::role::{Composites, RoleRepresentation};
use gatehouse_model::rep::scope::{ClientScopeRepresentation, ProtocolMapperRepresentation};
use gatehouse_model::rep::user::UserRepresentation;
use gatehouse_model::{ClientScopeId, ClientUuid, Group, GroupId, Realm, Role, RoleId, User};
use gatehouse_store::{StoreError, Tx};
use serde_json::{Map, Value, json};

use super::import::KEY_PROVIDER;
use crate::{ServiceError, Services};

/// Names of what a realm's roles, clients and scopes are called, read once per export.
struct Names {
    /// clientId by client uuid.
    clients: HashMap<ClientUuid, String>,
    /// Every role of the realm by id.
    roles: HashMap<RoleId, Role>,
    /// Group path by id.
    groups: HashMap<GroupId, String>,
}

impl Names {
    async fn load(tx: &mut Tx, realm: &Realm) -> Result<Names, StoreError> {
        let clients: HashMap<ClientUuid, String> = tx
            .list_clients(&realm.id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.client_id.to_string()))
            .collect();
        let mut roles = HashMap::new();
        for r in tx.list_realm_roles(&realm.id).await? {
            roles.insert(r.id.clone(), r);
        }
        for id in clients.keys() {
            for r in tx.list_client_roles(id).await? {
                roles.insert(r.id.clone(), r);
            }
        }
        let all_groups = tx.list_groups(&realm.id).await?;
        let by_id: HashMap<GroupId, Group> = all_groups
            .iter()
            .map(|g| (g.id.clone(), g.clone()))
            .collect();
        let mut groups = HashMap::new();
        for g in &all_groups {
            let mut names = vec![g.name.clone()];
            let mut parent = g.parent_id.clone();
            while let Some(p) = parent.and_then(|id| by_id.get(&id)) {
                names.push(p.name.clone());
                parent = p.parent_id.clone();
                if names.len() > 100 {
                    break;
                }
            }
            names.reverse();
            groups.insert(g.id.clone(), format!("/{}", names.join("/")));
        }
        Ok(Names {
            clients,
            roles,
            groups,
        })
    }

    /// `realmRoles` and `clientRoles` of a set of role ids, sorted.
    fn split(&self, ids: &[RoleId]) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
        let mut realm = Vec::new();
        let mut client: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for id in ids {
            let Some(role) = self.roles.get(id) else {
                continue;
            };
            match &role.client {
                None => realm.push(role.name.clone()),
                Some(c) => {
                    if let Some(client_id) = self.clients.get(c) {
                        client
                            .entry(client_id.clone())
                            .or_default()
                            .push(role.name.clone());
                    }
                }
            }
        }
        realm.sort();
        for names in client.values_mut() {
            names.sort();
        }
        (realm, client)
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, ServiceError> {
    serde_json::to_value(v).map_err(|e| ServiceError::Internal(e.to_string()))
}

impl Services {
    /// The realm `name` as Keycloak's realm JSON, with its users (and their stored credentials)
    /// when `with_users` is set. Secrets are included: this is for `gatehouse export`, whose
    /// output must be kept as carefully as the database.
    pub async fn export_realm(&self, name: &str, with_users: bool) -> Result<Value, ServiceError> {
        let realm = self.realm(name).await?;
        let mut tx = self.store().begin_read().await?;
        let names = Names::load(&mut tx, &realm).await?;
        let rep = crate::admin::realm_representation(&mut tx, &realm).await?;
        let mut out = match to_value(&rep)? {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        out.insert("roles".into(), roles(&mut tx, &names).await?);
        out.insert(
            "groups".into(),
            groups(&mut tx, &realm, &names, None).await?,
        );
        let scopes = tx.list_client_scopes(&realm.id).await?;
        let scope_names: HashMap<ClientScopeId, String> = scopes
            .iter()
            .map(|s| (s.id.clone(), s.name.clone()))
            .collect();
        let mut scope_reps = Vec::new();
        for s in &scopes {
            let mappers = tx.protocol_mappers_of_scope(&s.id).await?;
            scope_reps.push(to_value(&ClientScopeRepresentation::new(s, &mappers))?);
        }
        out.insert("clientScopes".into(), Value::Array(scope_reps));
        let (defaults, optionals) =
            linked_names(tx.realm_default_scopes(&realm.id).await?, &scope_names);
        out.insert("defaultDefaultClientScopes".into(), json!(defaults));
        out.insert("defaultOptionalClientScopes".into(), json!(optionals));
        out.insert(
            "clients".into(),
            clients(&mut tx, &realm, &scope_names).await?,
        );
        if with_users {
            let users = users(&mut tx, &realm, &names, 0, i64::MAX).await?;
            out.insert("users".into(), Value::Array(users));
        }
        out.insert("components".into(), keys(&mut tx, &realm).await?);
        tx.rollback().await?;
        Ok(Value::Object(out))
    }

    /// One page of a realm's users as an export writes them (`<realm>-users-<n>.json`), ordered
    /// by username.
    pub async fn export_users(
        &self,
        name: &str,
        first: usize,
        max: usize,
    ) -> Result<Vec<Value>, ServiceError> {
        let realm = self.realm(name).await?;
        let mut tx = self.store().begin_read().await?;
        let names = Names::load(&mut tx, &realm).await?;
        let out = users(
            &mut tx,
            &realm,
            &names,
            i64::try_from(first).unwrap_or(i64::MAX),
            i64::try_from(max).unwrap_or(i64::MAX),
        )
        .await?;
        tx.rollback().await?;
        Ok(out)
    }
}

fn linked_names(
    links: Vec<(ClientScopeId, bool)>,
    names: &HashMap<ClientScopeId, String>,
) -> (Vec<String>, Vec<String>) {
    let mut defaults = Vec::new();
    let mut optionals = Vec::new();
    for (id, default) in links {
        if let Some(name) = names.get(&id) {
            if default {
                defaults.push(name.clone());
            } else {
                optionals.push(name.clone());
            }
        }
    }
    defaults.sort();
    optionals.sort();
    (defaults, optionals)
}

async fn role_rep(tx: &mut Tx, names: &Names, role: &Role) -> Result<Value, ServiceError> {
    let children: Vec<RoleId> = tx
        .composites_of(&role.id)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut rep = RoleRepresentation::full(role, !children.is_empty());
    if !children.is_empty() {
        let (realm, client) = names.split(&children);
        rep.composites = Some(Composites {
            realm: (!realm.is_empty()).then_some(realm),
            client: (!client.is_empty()).then_some(client),
        });
    }
    to_value(&rep)
}

async fn roles(tx: &mut Tx, names: &Names) -> Result<Value, ServiceError> {
    let mut realm: Vec<&Role> = names
        .roles
        .values()
        .filter(|r| r.client.is_none())
        .collect();
    realm.sort_by(|a, b| a.name.cmp(&b.name));
    let mut realm_out = Vec::new();
    for r in realm {
        realm_out.push(role_rep(tx, names, r).await?);
    }
    let mut by_client: BTreeMap<String, Vec<&Role>> = BTreeMap::new();
    for r in names.roles.values() {
        if let Some(client_id) = r.client.as_ref().and_then(|c| names.clients.get(c)) {
            by_client.entry(client_id.clone()).or_default().push(r);
        }
    }
    let mut client_out = Map::new();
    for (client_id, mut roles) in by_client {
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        let mut reps = Vec::new();
        for r in roles {
            reps.push(role_rep(tx, names, r).await?);
        }
        client_out.insert(client_id, Value::Array(reps));
    }
    Ok(json!({"realm": realm_out, "client": client_out}))
}

fn groups<'a>(
    tx: &'a mut Tx,
    realm: &'a Realm,
    names: &'a Names,
    parent: Option<&'a GroupId>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, ServiceError>> + Send + 'a>> {
    Box::pin(async move {
        let mut level = match parent {
            None => tx.top_level_groups(&realm.id).await?,
            Some(p) => tx.subgroups(p).await?,
        };
        level.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = Vec::new();
        for g in level {
            let ids = tx.group_role_ids(&g.id).await?;
            let (realm_roles, client_roles) = names.split(&ids);
            let path = names.groups.get(&g.id).cloned().unwrap_or_default();
            let mut rep = to_value(&gatehouse_model::rep::group::full(
                &g,
                path,
                realm_roles,
                client_roles,
            ))?;
            rep["subGroups"] = groups(tx, realm, names, Some(&g.id)).await?;
            out.push(rep);
        }
        Ok(Value::Array(out))
    })
}

async fn clients(
    tx: &mut Tx,
    realm: &Realm,
    scope_names: &HashMap<ClientScopeId, String>,
) -> Result<Value, ServiceError> {
    let mut list = tx.list_clients(&realm.id).await?;
    list.sort_by(|a, b| a.client_id.as_str().cmp(b.client_id.as_str()));
    let mut out = Vec::new();
    for c in list {
        let (defaults, optionals) = linked_names(tx.client_scopes_of(&c.id).await?, scope_names);
        let mappers: Vec<ProtocolMapperRepresentation> = tx
            .protocol_mappers_of_client(&c.id)
            .await?
            .iter()
            .map(ProtocolMapperRepresentation::from)
            .collect();
        let mut rep = ClientRepresentation::new(
            &c,
            defaults,
            optionals,
            mappers,
            false,
            ClientAccess::default(),
        );
        // `access` describes the caller of the admin API; a file has no caller.
        rep.access = None;
        if let Some(attrs) = rep.attributes.as_mut() {
            attrs.remove(gatehouse_model::rep::client::REALM_CLIENT_ATTRIBUTE);
        }
        // Bearer-only and public clients keep a secret Keycloak would not show; an export
        // keeps everything stored.
        rep.secret = c.secret.clone();
        out.push(to_value(&rep)?);
    }
    Ok(Value::Array(out))
}

async fn users(
    tx: &mut Tx,
    realm: &Realm,
    names: &Names,
    first: i64,
    max: i64,
) -> Result<Vec<Value>, ServiceError> {
    let list: Vec<User> = tx.list_users(&realm.id, first, max).await?;
    let scope_names: HashMap<ClientScopeId, String> = tx
        .list_client_scopes(&realm.id)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let mut out = Vec::new();
    for u in list {
        let mut rep = UserRepresentation::from(&u);
        rep.access = None;
        rep.service_account_client_id = u
            .service_account_client_link
            .as_ref()
            .and_then(|c| names.clients.get(c).cloned());
        let ids = tx.user_role_ids(&u.id).await?;
        let (realm_roles, client_roles) = names.split(&ids);
        rep.realm_roles = Some(realm_roles);
        rep.client_roles = (!client_roles.is_empty()).then_some(client_roles);
        let mut paths: Vec<String> = tx
            .groups_of_user(&u.id)
            .await?
            .iter()
            .filter_map(|g| names.groups.get(&g.id).cloned())
            .collect();
        paths.sort();
        rep.groups = Some(paths);
        let mut value = to_value(&rep)?;
        // The representation never writes `secretData`; an export must, so the hashes move.
        let mut creds = Vec::new();
        for c in tx.credentials_of(&u.id).await? {
            let mut v = json!({
                "id": c.id.to_string(),
                "type": c.credential_type,
                "createdDate": c.created_date,
                "secretData": c.secret_data,
                "credentialData": c.credential_data,
                "priority": c.priority,
            });
            if let Some(label) = &c.user_label {
                v["userLabel"] = json!(label);
            }
            creds.push(v);
        }
        value["credentials"] = Value::Array(creds);
        // Keycloak writes `clientConsents` only for a user who gave some.
        let consents = consent_reps(tx, names, &scope_names, &u).await?;
        if !consents.is_empty() {
            value["clientConsents"] = to_value(&consents)?;
        }
        out.push(value);
    }
    Ok(out)
}

/// The user's consents as Keycloak's `UserConsentRepresentation`s, by `clientId`, each with
/// its scope names (the client's own `clientId` for the client itself) and dates.
async fn consent_reps(
    tx: &mut Tx,
    names: &Names,
    scope_names: &HashMap<ClientScopeId, String>,
    user: &User,
) -> Result<Vec<UserConsentRepresentation>, ServiceError> {
    let mut out = Vec::new();
    for c in tx.consents_of_user(&user.id).await? {
        let Some(client_id) = names.clients.get(&c.client_id) else {
            continue;
        };
        let mut granted: Vec<String> = c
            .scopes
            .iter()
            .filter_map(|id| scope_names.get(id).cloned())
            .collect();
        if c.client_granted {
            granted.push(client_id.clone());
        }
        granted.sort();
        out.push(UserConsentRepresentation {
            client_id: Some(client_id.clone()),
            granted_client_scopes: Some(granted),
            created_date: Some(c.created),
            last_updated_date: Some(c.last_updated),
        });
    }
    out.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    Ok(out)
}

/// Key providers with their keys, as Keycloak exports its key components.
async fn keys(tx: &mut Tx, realm: &Realm) -> Result<Value, ServiceError> {
    let mut out = Vec::new();
    for k in tx.realm_keys(&realm.id).await? {
        let mut config = json!({
            "priority": [k.priority.to_string()],
            "enabled": [k.enabled.to_string()],
            "active": [k.active.to_string()],
            "algorithm": [k.algorithm],
            "keyUse": [k.key_use.as_str().to_ascii_uppercase()],
        });
        if k.algorithm.starts_with("HS") {
            use base64::Engine;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(&k.private_key)
                .unwrap_or_default();
            config["secret"] =
                json!([base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)]);
        } else {
            config["privateKey"] = json!([k.private_key]);
        }
        if let Some(cert) = &k.certificate {
            config["certificate"] = json!([cert]);
        }
        out.push(json!({
            "id": k.id.to_string(),
            "name": k.name,
            "providerId": k.provider,
            "subComponents": {},
            "config": config,
        }));
    }
    Ok(json!({ KEY_PROVIDER: out }))
}
