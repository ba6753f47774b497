//! The admin console's partial export and partial import (`/admin/realms/{realm}/partial-export`
//! and `/partialImport`): parts of a realm, without users' credentials or keys on the way out,
//! and with a choice of what to do with what exists on the way in.

use std::collections::BTreeMap;

use gatehouse_model::rep::client::ClientRepresentation;
use gatehouse_model::rep::group::GroupRepresentation;
use gatehouse_model::rep::role::RoleRepresentation;
use gatehouse_model::rep::user::UserRepresentation;
use gatehouse_model::{ClientId, Realm, Username};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::import::{Import, RolesFile};
use crate::{ServiceError, Services};

/// What Keycloak writes in place of a secret in a partial export.
const MASKED: &str = "**********";

/// `ifResourceExists` of a partial import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Policy {
    /// The whole import fails with 409 when any resource exists; nothing is written.
    #[default]
    Fail,
    /// Resources that exist are left alone.
    Skip,
    /// Resources that exist are replaced.
    Overwrite,
}

/// The body of `POST /partialImport`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartialImportRepresentation {
    /// What to do with resources that exist.
    #[serde(default, alias = "policy")]
    pub if_resource_exists: Policy,
    #[serde(default)]
    users: Vec<UserRepresentation>,
    #[serde(default)]
    clients: Vec<ClientRepresentation>,
    #[serde(default)]
    groups: Vec<GroupRepresentation>,
    #[serde(default)]
    roles: Option<RolesFile>,
    #[serde(default)]
    identity_providers: Vec<Value>,
}

/// One line of a partial import's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartialImportResult {
    /// `ADDED`, `SKIPPED` or `OVERWRITTEN`.
    pub action: &'static str,
    /// `USER`, `CLIENT`, `GROUP`, `REALM_ROLE`, `CLIENT_ROLE`.
    pub resource_type: &'static str,
    /// The resource's name (username, clientId, group or role name).
    pub resource_name: String,
    /// Its id.
    pub id: String,
}

/// The answer of a partial import.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartialImportResults {
    /// Resources replaced.
    pub overwritten: usize,
    /// Resources added.
    pub added: usize,
    /// Resources left alone.
    pub skipped: usize,
    /// One line per resource.
    pub results: Vec<PartialImportResult>,
}

impl PartialImportResults {
    fn push(&mut self, action: &'static str, resource_type: &'static str, name: &str, id: String) {
        match action {
            "ADDED" => self.added += 1,
            "SKIPPED" => self.skipped += 1,
            _ => self.overwritten += 1,
        }
        self.results.push(PartialImportResult {
            action,
            resource_type,
            resource_name: name.to_owned(),
            id,
        });
    }
}

fn exists(kind: &str, name: &str) -> ServiceError {
    ServiceError::Conflict(format!("{kind} '{name}' already exists"))
}

impl Services {
    /// `POST /partial-export`: the realm's settings, with its groups and roles and its clients
    /// when asked, never its users; secrets are masked and keys left out, as Keycloak does.
    pub async fn partial_export(
        &self,
        realm: &Realm,
        groups_and_roles: bool,
        clients: bool,
    ) -> Result<Value, ServiceError> {
        let mut out = self.export_realm(realm.name.as_str(), false).await?;
        let Some(map) = out.as_object_mut() else {
            return Ok(out);
        };
        map.remove("components");
        if !groups_and_roles {
            map.remove("groups");
            map.remove("roles");
        }
        if clients {
            if let Some(list) = map.get_mut("clients").and_then(Value::as_array_mut) {
                for c in list {
                    if c.get("secret").is_some() {
                        c["secret"] = Value::String(MASKED.into());
                    }
                }
            }
        } else {
            map.remove("clients");
        }
        Ok(out)
    }

    /// `POST /partialImport`: users, clients, groups and roles into an existing realm, in one
    /// transaction. With `FAIL`, any resource that exists refuses the whole import (409).
    pub async fn partial_import(
        &self,
        realm: &Realm,
        body: &PartialImportRepresentation,
    ) -> Result<PartialImportResults, ServiceError> {
        if !body.identity_providers.is_empty() {
            return Err(ServiceError::Invalid(
                "identityProviders cannot be imported: Gatehouse has no identity brokering yet"
                    .into(),
            ));
        }
        let policy = body.if_resource_exists;
        let mut results = PartialImportResults::default();
        let mut tx = self.store().begin().await?;
        let mut ctx = Import {
            realm: realm.clone(),
            clients: Default::default(),
            warnings: Vec::new(),
        };
        let rid = realm.id.clone();

        for rep in &body.clients {
            let name = rep
                .client_id
                .clone()
                .ok_or_else(|| ServiceError::Invalid("a client has no 'clientId'".into()))?;
            let action = match tx.client_by_client_id(&rid, &ClientId::new(&name)).await? {
                None => "ADDED",
                Some(_) if policy == Policy::Fail => return Err(exists("Client", &name)),
                Some(found) if policy == Policy::Skip => {
                    results.push("SKIPPED", "CLIENT", &name, found.id.to_string());
                    continue;
                }
                Some(found) => {
                    tx.delete_client(&found.id).await?;
                    "OVERWRITTEN"
                }
            };
            let id = ctx.client_one(&mut tx, rep).await?;
            results.push(action, "CLIENT", &name, id.to_string());
        }

        let empty = RolesFile::default();
        let roles = body.roles.as_ref().unwrap_or(&empty);
        let mut owned: Vec<(Option<&String>, &RoleRepresentation)> =
            roles.realm.iter().map(|r| (None, r)).collect();
        for (client_id, reps) in &roles.client {
            owned.extend(reps.iter().map(|r| (Some(client_id), r)));
        }
        for (client_id, rep) in owned {
            let name = rep
                .name
                .clone()
                .ok_or_else(|| ServiceError::Invalid("a role has no 'name'".into()))?;
            let client = match client_id {
                Some(c) => Some(ctx.client(&mut tx, c).await?),
                None => None,
            };
            let kind = if client.is_some() {
                "CLIENT_ROLE"
            } else {
                "REALM_ROLE"
            };
            let found = match &client {
                Some(c) => tx.client_role_by_name(c, &name).await?,
                None => tx.realm_role_by_name(&rid, &name).await?,
            };
            match found {
                None => {
                    ctx.insert_role(&mut tx, rep, client.as_ref()).await?;
                    let id = match &client {
                        Some(c) => tx.client_role_by_name(c, &name).await?,
                        None => tx.realm_role_by_name(&rid, &name).await?,
                    }
                    .map(|r| r.id.to_string())
                    .unwrap_or_default();
                    results.push("ADDED", kind, &name, id);
                }
                Some(_) if policy == Policy::Fail => return Err(exists("Role", &name)),
                Some(role) if policy == Policy::Skip => {
                    results.push("SKIPPED", kind, &name, role.id.to_string());
                }
                Some(mut role) => {
                    // A role is changed in place, so the users and groups holding it keep it.
                    rep.apply_to(&mut role).map_err(ServiceError::Invalid)?;
                    tx.update_role(&role).await?;
                    results.push("OVERWRITTEN", kind, &name, role.id.to_string());
                }
            }
        }
        ctx.composites(&mut tx, body.roles.as_ref()).await?;

        for rep in &body.groups {
            let name = rep
                .wanted_name()
                .ok_or_else(|| ServiceError::Invalid("a group has no 'name'".into()))?
                .to_owned();
            let found = tx
                .top_level_groups(&rid)
                .await?
                .into_iter()
                .find(|g| g.name == name);
            let action = match found {
                None => "ADDED",
                Some(_) if policy == Policy::Fail => return Err(exists("Group", &name)),
                Some(g) if policy == Policy::Skip => {
                    results.push("SKIPPED", "GROUP", &name, g.id.to_string());
                    continue;
                }
                Some(g) => {
                    tx.delete_group(&g.id).await?;
                    "OVERWRITTEN"
                }
            };
            ctx.groups(&mut tx, std::slice::from_ref(rep), None, "")
                .await?;
            let id = tx
                .top_level_groups(&rid)
                .await?
                .into_iter()
                .find(|g| g.name == name)
                .map(|g| g.id.to_string())
                .unwrap_or_default();
            results.push(action, "GROUP", &name, id);
        }

        for rep in &body.users {
            let name = rep
                .username
                .clone()
                .ok_or_else(|| ServiceError::Invalid("a user has no 'username'".into()))?;
            let action = match tx.user_by_username(&rid, &Username::new(&name)).await? {
                None => "ADDED",
                Some(_) if policy == Policy::Fail => return Err(exists("User", &name)),
                Some(u) if policy == Policy::Skip => {
                    results.push("SKIPPED", "USER", &name, u.id.to_string());
                    continue;
                }
                Some(u) => {
                    tx.delete_user(&u.id).await?;
                    "OVERWRITTEN"
                }
            };
            let id = ctx.user_one(self, &mut tx, rep).await?;
            results.push(
                action,
                "USER",
                Username::new(&name).as_str(),
                id.to_string(),
            );
        }
        tx.commit()
            .await
            .map_err(|e| super::import::conflict(e, "id"))?;
        let by_type: BTreeMap<&str, usize> =
            results.results.iter().fold(BTreeMap::new(), |mut m, r| {
                *m.entry(r.resource_type).or_default() += 1;
                m
            });
        tracing::info!(realm = %realm.name, ?by_type, "partial import");
        Ok(results)
    }
}
