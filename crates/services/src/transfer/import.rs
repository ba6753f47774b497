//! Reading a realm file into the database.

use std::collections::{BTreeMap, HashMap};

use gatehouse_model::rep::client::ClientRepresentation;
use gatehouse_model::rep::consent::UserConsentRepresentation;
use gatehouse_model::rep::group::GroupRepresentation;
use gatehouse_model::rep::realm::RealmRepresentation;
use gatehouse_model::rep::role::RoleRepresentation;
use gatehouse_model::rep::scope::{ClientScopeRepresentation, ProtocolMapperRepresentation};
use gatehouse_model::rep::user::UserRepresentation;
use gatehouse_model::{
    Client, ClientId, ClientScope, ClientScopeId, ClientUuid, Credential, CredentialId, Group,
    GroupId, KeyUse, MapperOwner, ProtocolMapper, ProtocolMapperId, Realm, RealmId, RealmKey,
    RealmKeyId, RealmName, Role, RoleId, User, UserConsent, UserId, Username,
};
use gatehouse_store::{StoreError, Tx};
use serde::Deserialize;
use serde_json::Value;

use crate::{ServiceError, Services, now_millis};

/// What to do when the realm in the file exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Refuse with a conflict (partial import's FAIL).
    Fail,
    /// Leave the stored realm alone (`--override false`, `--import-realm`).
    Skip,
    /// Delete the stored realm and import the file in its place (`--override true`).
    Overwrite,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The realm did not exist and was created.
    Created,
    /// The realm existed and was replaced by the file.
    Replaced,
    /// The realm existed and was left alone.
    Skipped,
}

/// The result of importing one realm file.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The realm's name.
    pub realm: String,
    /// Created, replaced or skipped.
    pub outcome: ImportOutcome,
    /// Parts of the file that were not imported, one sentence each.
    pub warnings: Vec<String>,
    /// Users imported.
    pub users: usize,
    /// Clients imported.
    pub clients: usize,
}

/// `roles` of a realm file.
#[derive(Debug, Default, Deserialize)]
pub struct RolesFile {
    #[serde(default)]
    pub(super) realm: Vec<RoleRepresentation>,
    #[serde(default)]
    pub(super) client: BTreeMap<String, Vec<RoleRepresentation>>,
}

/// A realm file: the realm's settings (read by `RealmRepresentation`) and what hangs off it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RealmFile {
    #[serde(flatten)]
    realm: RealmRepresentation,
    #[serde(default)]
    roles: Option<RolesFile>,
    #[serde(default)]
    groups: Vec<GroupRepresentation>,
    #[serde(default)]
    users: Vec<UserRepresentation>,
    #[serde(default)]
    clients: Vec<ClientRepresentation>,
    #[serde(default)]
    client_scopes: Option<Vec<ClientScopeRepresentation>>,
    #[serde(default)]
    default_default_client_scopes: Option<Vec<String>>,
    #[serde(default)]
    default_optional_client_scopes: Option<Vec<String>>,
    #[serde(default)]
    components: BTreeMap<String, Vec<ComponentFile>>,
    /// Everything else at the top level, to name what was not imported.
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

/// A users file of a directory export: `{"realm": .., "users": [..]}`.
#[derive(Debug, Deserialize)]
struct UsersFile {
    realm: String,
    #[serde(default)]
    users: Vec<UserRepresentation>,
}

/// A component (`components["org.keycloak.keys.KeyProvider"][..]`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ComponentFile {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    provider_id: Option<String>,
    #[serde(default)]
    config: BTreeMap<String, Vec<String>>,
}

/// The component type of key providers.
pub(super) const KEY_PROVIDER: &str = "org.keycloak.keys.KeyProvider";

/// Top-level fields that Keycloak writes with their defaults even when nothing is configured:
/// only a non-empty value is worth a warning.
fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Fields Keycloak writes that describe things Gatehouse has no model for yet; a warning names
/// each one that carries data. Settings with fixed values here (OTP policy, themes, event
/// settings, ...) are not listed: their absence changes nothing Gatehouse does.
const NOT_MODELLED: &[&str] = &[
    "authenticationFlows",
    "authenticatorConfig",
    "identityProviders",
    "identityProviderMappers",
    "scopeMappings",
    "clientScopeMappings",
    "smtpServer",
    "organizations",
    "clientPolicies",
    "clientProfiles",
    "federatedUsers",
    "userFederationProviders",
    "userFederationMappers",
    "localizationTexts",
];

impl Services {
    /// Imports one realm file (Keycloak's realm JSON). Everything is written in one transaction;
    /// a malformed file, or one that names a role, group or client it does not define, imports
    /// nothing and says what is wrong.
    pub async fn import_realm(
        &self,
        text: &str,
        if_exists: IfExists,
    ) -> Result<ImportReport, ServiceError> {
        let file: RealmFile = super::parse(text)?;
        let name = file
            .realm
            .realm
            .clone()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| {
                ServiceError::Invalid("invalid realm file: field 'realm' is missing".into())
            })?;
        let realm_name = RealmName::new(&name).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let mut warnings = unmodelled(&file);

        let mut tx = self.store().begin().await?;
        let mut outcome = ImportOutcome::Created;
        if let Some(existing) = tx.realm_by_name(&realm_name).await? {
            match if_exists {
                IfExists::Skip => {
                    tx.rollback().await?;
                    return Ok(ImportReport {
                        realm: name,
                        outcome: ImportOutcome::Skipped,
                        warnings: Vec::new(),
                        users: 0,
                        clients: 0,
                    });
                }
                IfExists::Fail => {
                    return Err(ServiceError::Conflict(format!(
                        "Realm {name} already exists"
                    )));
                }
                IfExists::Overwrite if name == crate::MASTER_REALM => {
                    // Replacing master would delete the administrators and every `<realm>-realm`
                    // client that reaches the other realms: keep it, and say so.
                    tx.rollback().await?;
                    warnings
                        .push("the master realm exists and is never replaced by an import".into());
                    return Ok(ImportReport {
                        realm: name,
                        outcome: ImportOutcome::Skipped,
                        warnings,
                        users: 0,
                        clients: 0,
                    });
                }
                IfExists::Overwrite => {
                    crate::bootstrap::delete_realm_in(&mut tx, &existing).await?;
                    outcome = ImportOutcome::Replaced;
                }
            }
        }

        let mut realm = Realm::new(
            file.realm
                .id
                .clone()
                .map_or_else(RealmId::new_random, RealmId::new),
            realm_name,
        );
        file.realm
            .apply_to(&mut realm)
            .map_err(|e| ServiceError::Invalid(format!("invalid realm file: {e}")))?;
        realm.default_role_id = None;
        tx.insert_realm(&realm)
            .await
            .map_err(|e| conflict(e, "realm id"))?;

        let mut ctx = Import {
            realm: realm.clone(),
            clients: HashMap::new(),
            warnings,
        };
        ctx.scopes(&mut tx, &file).await?;
        ctx.realm_roles(&mut tx, &file).await?;
        ctx.clients(&mut tx, &file).await?;
        ctx.client_roles(&mut tx, &file).await?;
        crate::bootstrap::ensure_builtins(&mut tx, &mut realm).await?;
        ctx.realm = realm.clone();
        ctx.composites(&mut tx, file.roles.as_ref()).await?;
        if let Some(default_role) = &file.realm.default_role {
            let role = match (&default_role.id, &default_role.name) {
                (Some(id), _) => tx.role_by_id(&RoleId::new(id.clone())).await?,
                (None, Some(name)) => tx.realm_role_by_name(&realm.id, name).await?,
                (None, None) => None,
            };
            if let Some(role) = role.filter(|r| r.realm_id == realm.id) {
                realm.default_role_id = Some(role.id);
                tx.update_realm(&realm).await?;
            }
        }
        ctx.groups(&mut tx, &file.groups, None, "").await?;
        if let Some(paths) = &file.realm.default_groups {
            for path in paths {
                let group = ctx.group_by_path(&mut tx, path).await?;
                tx.add_realm_default_group(&realm.id, &group).await?;
            }
        }
        let users = ctx.users(self, &mut tx, &file.users).await?;
        ctx.service_accounts(&mut tx).await?;
        ctx.keys(&mut tx, &file).await?;
        tx.commit().await.map_err(|e| conflict(e, "id"))?;
        self.keys.forget(&realm.id);
        Ok(ImportReport {
            realm: name,
            outcome,
            warnings: ctx.warnings,
            users,
            clients: file.clients.len(),
        })
    }

    /// Imports a users file of a directory export into its (existing) realm, in one transaction.
    /// Returns the realm's name and how many users were imported.
    pub async fn import_users(&self, text: &str) -> Result<(String, usize), ServiceError> {
        let file: UsersFile = super::parse(text)?;
        let realm = self.realm(&file.realm).await?;
        let mut tx = self.store().begin().await?;
        let mut ctx = Import {
            realm,
            clients: HashMap::new(),
            warnings: Vec::new(),
        };
        let n = ctx.users(self, &mut tx, &file.users).await?;
        tx.commit().await.map_err(|e| conflict(e, "id"))?;
        Ok((file.realm, n))
    }
}

/// A unique-constraint failure during an import means the file reuses an id or a name.
pub(super) fn conflict(e: StoreError, what: &str) -> ServiceError {
    match e {
        StoreError::Conflict(detail) => ServiceError::Conflict(format!(
            "realm file clashes with what is stored ({what}): {detail}"
        )),
        other => other.into(),
    }
}

fn unmodelled(file: &RealmFile) -> Vec<String> {
    // Keys read by the realm representation come back when it is written out again.
    let known: std::collections::BTreeSet<String> = serde_json::to_value(&file.realm)
        .ok()
        .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
        .unwrap_or_default();
    let mut out = Vec::new();
    for (key, value) in &file.rest {
        if known.contains(key) || is_empty_value(value) {
            continue;
        }
        if NOT_MODELLED.contains(&key.as_str()) {
            out.push(format!(
                "'{key}' is not supported by Gatehouse and was not imported"
            ));
        }
    }
    for (kind, components) in &file.components {
        if kind != KEY_PROVIDER && !components.is_empty() {
            out.push(format!(
                "components of type '{kind}' are not supported by Gatehouse and were not imported"
            ));
        }
    }
    out
}

/// State of one import: the realm and the clients by `clientId`.
pub(super) struct Import {
    pub(super) realm: Realm,
    pub(super) clients: HashMap<String, ClientUuid>,
    pub(super) warnings: Vec<String>,
}

fn invalid(what: String) -> ServiceError {
    ServiceError::Invalid(format!("invalid realm file: {what}"))
}

impl Import {
    async fn scopes(&mut self, tx: &mut Tx, file: &RealmFile) -> Result<(), ServiceError> {
        let rid = self.realm.id.clone();
        let Some(scopes) = &file.client_scopes else {
            // No scopes in the file: Keycloak gives the realm its default ones.
            crate::realm_defaults::create_client_scopes(tx, &rid).await?;
            return Ok(());
        };
        for rep in scopes {
            let name = rep
                .name
                .clone()
                .ok_or_else(|| invalid("a client scope has no 'name'".into()))?;
            let mut scope = ClientScope {
                id: rep
                    .id
                    .clone()
                    .map_or_else(ClientScopeId::new_random, ClientScopeId::new),
                realm_id: rid.clone(),
                name,
                description: None,
                protocol: "openid-connect".into(),
                attributes: BTreeMap::new(),
            };
            rep.apply_to(&mut scope);
            tx.insert_client_scope(&scope)
                .await
                .map_err(|e| conflict(e, "client scope"))?;
            let owner = MapperOwner::ClientScope(scope.id.clone());
            self.mappers(tx, &owner, &scope.protocol, rep.protocol_mappers.as_deref())
                .await?;
        }
        let by_name: HashMap<String, ClientScopeId> = tx
            .list_client_scopes(&rid)
            .await?
            .into_iter()
            .map(|s| (s.name, s.id))
            .collect();
        for (list, default) in [
            (&file.default_default_client_scopes, true),
            (&file.default_optional_client_scopes, false),
        ] {
            for name in list.iter().flatten() {
                match by_name.get(name) {
                    Some(id) => tx.set_realm_default_scope(&rid, id, default).await?,
                    None => {
                        return Err(invalid(format!(
                            "realm default client scope '{name}' is not among 'clientScopes'"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    async fn mappers(
        &mut self,
        tx: &mut Tx,
        owner: &MapperOwner,
        protocol: &str,
        reps: Option<&[ProtocolMapperRepresentation]>,
    ) -> Result<(), ServiceError> {
        for rep in reps.unwrap_or_default() {
            let name = rep
                .name
                .clone()
                .ok_or_else(|| invalid("a protocol mapper has no 'name'".into()))?;
            let mapper_type = rep.protocol_mapper.clone().ok_or_else(|| {
                invalid(format!("protocol mapper '{name}' has no 'protocolMapper'"))
            })?;
            if !crate::claims::MAPPER_TYPES.contains(&mapper_type.as_str()) {
                self.warnings.push(format!(
                    "protocol mapper '{name}' ({mapper_type}) was imported but Gatehouse does not apply that type"
                ));
            }
            tx.insert_protocol_mapper(&ProtocolMapper {
                id: rep
                    .id
                    .clone()
                    .map_or_else(ProtocolMapperId::new_random, ProtocolMapperId::new),
                name,
                protocol: rep.protocol.clone().unwrap_or_else(|| protocol.to_owned()),
                mapper_type,
                owner: owner.clone(),
                config: rep.config.clone().unwrap_or_default(),
            })
            .await
            .map_err(|e| conflict(e, "protocol mapper"))?;
        }
        Ok(())
    }

    pub(super) async fn insert_role(
        &mut self,
        tx: &mut Tx,
        rep: &RoleRepresentation,
        client: Option<&ClientUuid>,
    ) -> Result<(), ServiceError> {
        let mut role = Role {
            id: rep.id.clone().map_or_else(RoleId::new_random, RoleId::new),
            realm_id: self.realm.id.clone(),
            client: client.cloned(),
            name: String::new(),
            description: None,
            attributes: BTreeMap::new(),
        };
        rep.apply_to(&mut role).map_err(invalid)?;
        tx.insert_role(&role)
            .await
            .map_err(|e| conflict(e, "role"))?;
        Ok(())
    }

    async fn realm_roles(&mut self, tx: &mut Tx, file: &RealmFile) -> Result<(), ServiceError> {
        for rep in file.roles.iter().flat_map(|r| &r.realm) {
            self.insert_role(tx, rep, None).await?;
        }
        Ok(())
    }

    async fn clients(&mut self, tx: &mut Tx, file: &RealmFile) -> Result<(), ServiceError> {
        for rep in &file.clients {
            self.client_one(tx, rep).await?;
        }
        Ok(())
    }

    /// Imports one client with its mappers and scope links; returns its id.
    pub(super) async fn client_one(
        &mut self,
        tx: &mut Tx,
        rep: &ClientRepresentation,
    ) -> Result<ClientUuid, ServiceError> {
        let rid = self.realm.id.clone();
        {
            let client_id = rep
                .client_id
                .clone()
                .ok_or_else(|| invalid("a client has no 'clientId'".into()))?;
            let mut client = Client::new(
                rep.id
                    .clone()
                    .map_or_else(ClientUuid::new_random, ClientUuid::new),
                rid.clone(),
                ClientId::new(client_id.clone()),
            );
            rep.apply_to(&mut client);
            client.created_timestamp = now_millis();
            tx.insert_client(&client)
                .await
                .map_err(|e| conflict(e, "client"))?;
            self.mappers(
                tx,
                &MapperOwner::Client(client.id.clone()),
                &client.protocol,
                rep.protocol_mappers.as_deref(),
            )
            .await?;
            if rep.default_client_scopes.is_none() && rep.optional_client_scopes.is_none() {
                crate::realm_defaults::attach_realm_scopes(tx, &rid, &client.id).await?;
            } else {
                for (list, default) in [
                    (&rep.default_client_scopes, true),
                    (&rep.optional_client_scopes, false),
                ] {
                    for name in list.iter().flatten() {
                        match tx.client_scope_by_name(&rid, name).await? {
                            Some(scope) => tx.set_client_scope(&client.id, &scope.id, default).await?,
                            None => self.warnings.push(format!(
                                "client '{client_id}': client scope '{name}' does not exist and was not linked"
                            )),
                        }
                    }
                }
            }
            self.clients.insert(client_id, client.id.clone());
            Ok(client.id)
        }
    }

    async fn client_roles(&mut self, tx: &mut Tx, file: &RealmFile) -> Result<(), ServiceError> {
        for (client_id, roles) in file.roles.iter().flat_map(|r| &r.client) {
            let client = self.client(tx, client_id).await?;
            for rep in roles {
                self.insert_role(tx, rep, Some(&client)).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn client(
        &mut self,
        tx: &mut Tx,
        client_id: &str,
    ) -> Result<ClientUuid, ServiceError> {
        if let Some(id) = self.clients.get(client_id) {
            return Ok(id.clone());
        }
        let found = tx
            .client_by_client_id(&self.realm.id, &ClientId::new(client_id))
            .await?
            .ok_or_else(|| invalid(format!("client '{client_id}' is named but not defined")))?;
        self.clients.insert(client_id.to_owned(), found.id.clone());
        Ok(found.id)
    }

    async fn realm_role(&mut self, tx: &mut Tx, name: &str) -> Result<RoleId, ServiceError> {
        tx.realm_role_by_name(&self.realm.id, name)
            .await?
            .map(|r| r.id)
            .ok_or_else(|| invalid(format!("realm role '{name}' is named but not defined")))
    }

    async fn client_role(
        &mut self,
        tx: &mut Tx,
        client_id: &str,
        name: &str,
    ) -> Result<RoleId, ServiceError> {
        let client = self.client(tx, client_id).await?;
        tx.client_role_by_name(&client, name)
            .await?
            .map(|r| r.id)
            .ok_or_else(|| {
                invalid(format!(
                    "client role '{client_id}/{name}' is named but not defined"
                ))
            })
    }

    /// Resolves `realmRoles` and `clientRoles` lists to role ids.
    async fn role_ids(
        &mut self,
        tx: &mut Tx,
        realm_roles: Option<&Vec<String>>,
        client_roles: Option<&BTreeMap<String, Vec<String>>>,
    ) -> Result<Vec<RoleId>, ServiceError> {
        let mut out = Vec::new();
        for name in realm_roles.into_iter().flatten() {
            out.push(self.realm_role(tx, name).await?);
        }
        for (client_id, names) in client_roles.into_iter().flatten() {
            for name in names {
                out.push(self.client_role(tx, client_id, name).await?);
            }
        }
        Ok(out)
    }

    pub(super) async fn composites(
        &mut self,
        tx: &mut Tx,
        roles: Option<&RolesFile>,
    ) -> Result<(), ServiceError> {
        let Some(roles) = roles else {
            return Ok(());
        };
        let owned: Vec<(Option<String>, &RoleRepresentation)> = roles
            .realm
            .iter()
            .map(|r| (None, r))
            .chain(
                roles
                    .client
                    .iter()
                    .flat_map(|(c, rs)| rs.iter().map(move |r| (Some(c.clone()), r))),
            )
            .collect();
        for (client_id, rep) in owned {
            let Some(composites) = &rep.composites else {
                continue;
            };
            let name = rep.name.clone().unwrap_or_default();
            let parent = match &client_id {
                None => self.realm_role(tx, &name).await?,
                Some(c) => self.client_role(tx, c, &name).await?,
            };
            let children = self
                .role_ids(tx, composites.realm.as_ref(), composites.client.as_ref())
                .await?;
            for child in children {
                tx.add_composite(&parent, &child).await?;
            }
        }
        Ok(())
    }

    pub(super) fn groups<'a>(
        &'a mut self,
        tx: &'a mut Tx,
        reps: &'a [GroupRepresentation],
        parent: Option<&'a GroupId>,
        parent_path: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ServiceError>> + Send + 'a>>
    {
        Box::pin(async move {
            for rep in reps {
                let name = rep
                    .wanted_name()
                    .ok_or_else(|| {
                        invalid(format!("a group under '{parent_path}/' has no 'name'"))
                    })?
                    .to_owned();
                let mut group = Group {
                    id: rep
                        .id
                        .clone()
                        .map_or_else(GroupId::new_random, GroupId::new),
                    realm_id: self.realm.id.clone(),
                    parent_id: parent.cloned(),
                    name: name.clone(),
                    description: None,
                    attributes: BTreeMap::new(),
                };
                rep.apply_to(&mut group);
                tx.insert_group(&group)
                    .await
                    .map_err(|e| conflict(e, "group"))?;
                let roles = self
                    .role_ids(tx, rep.realm_roles.as_ref(), rep.client_roles.as_ref())
                    .await?;
                for role in roles {
                    tx.grant_group_role(&group.id, &role).await?;
                }
                let path = format!("{parent_path}/{name}");
                self.groups(tx, &rep.sub_groups, Some(&group.id), &path)
                    .await?;
            }
            Ok(())
        })
    }

    async fn group_by_path(&mut self, tx: &mut Tx, path: &str) -> Result<GroupId, ServiceError> {
        let mut current: Option<Group> = None;
        for part in path.trim_start_matches('/').split('/') {
            let siblings = match &current {
                None => tx.top_level_groups(&self.realm.id).await?,
                Some(g) => tx.subgroups(&g.id).await?,
            };
            current = siblings.into_iter().find(|g| g.name == part);
            if current.is_none() {
                break;
            }
        }
        current
            .map(|g| g.id)
            .ok_or_else(|| invalid(format!("group '{path}' is named but not defined")))
    }

    async fn users(
        &mut self,
        services: &Services,
        tx: &mut Tx,
        reps: &[UserRepresentation],
    ) -> Result<usize, ServiceError> {
        for rep in reps {
            self.user_one(services, tx, rep).await?;
        }
        Ok(reps.len())
    }

    /// Imports one user with credentials, role mappings and groups; returns its id.
    pub(super) async fn user_one(
        &mut self,
        services: &Services,
        tx: &mut Tx,
        rep: &UserRepresentation,
    ) -> Result<UserId, ServiceError> {
        {
            let username = rep
                .username
                .clone()
                .filter(|u| !u.trim().is_empty())
                .ok_or_else(|| invalid("a user has no 'username'".into()))?;
            let mut user = User {
                id: rep.id.clone().map_or_else(UserId::new_random, UserId::from),
                realm_id: self.realm.id.clone(),
                username: Username::new(&username),
                email: None,
                first_name: None,
                last_name: None,
                enabled: false,
                email_verified: false,
                created_timestamp: rep.created_timestamp.unwrap_or_else(now_millis),
                federation_link: None,
                service_account_client_link: None,
                attributes: BTreeMap::new(),
                required_actions: Vec::new(),
                not_before: 0,
            };
            rep.apply_to(&mut user)
                .map_err(|e| invalid(format!("user '{username}': {e}")))?;
            if let Some(client_id) = &rep.service_account_client_id {
                let client = self.client(tx, client_id).await?;
                // A users file after its realm file: the realm's import gave the client a
                // service-account user of its own; the file's, with its roles, replaces it.
                if let Some(made) = tx.service_account_user_id(&client).await? {
                    tx.delete_user(&made).await?;
                }
                user.service_account_client_link = Some(client);
            }
            tx.insert_user(&user)
                .await
                .map_err(|e| conflict(e, "user"))?;
            for (i, cred) in rep.credentials.iter().flatten().enumerate() {
                let credential_type = cred
                    .credential_type
                    .clone()
                    .unwrap_or_else(|| "password".into());
                let (secret_data, credential_data) = match (
                    &cred.secret_data,
                    &cred.credential_data,
                    &cred.value,
                ) {
                    (Some(secret), Some(data), _) => (secret.clone(), data.clone()),
                    (_, _, Some(value)) if credential_type == "password" => {
                        let stored = services
                            .hasher
                            .hash(value.clone(), crate::tokens::password_policy(&self.realm))
                            .await?;
                        if cred.temporary == Some(true)
                            && !user.required_actions.iter().any(|a| a == "UPDATE_PASSWORD")
                        {
                            user.required_actions.push("UPDATE_PASSWORD".into());
                            tx.update_user(&user).await?;
                        }
                        (stored.secret_data, stored.credential_data)
                    }
                    _ => {
                        return Err(invalid(format!(
                            "user '{username}': credential {i} has neither 'secretData' and 'credentialData' nor a 'value'"
                        )));
                    }
                };
                tx.insert_credential(&Credential {
                    id: cred
                        .id
                        .clone()
                        .map_or_else(CredentialId::new_random, CredentialId::new),
                    user_id: user.id.clone(),
                    credential_type,
                    user_label: cred.user_label.clone(),
                    created_date: cred.created_date.unwrap_or_else(now_millis),
                    secret_data,
                    credential_data,
                    priority: cred.priority.unwrap_or(10 * (i as i32 + 1)),
                })
                .await
                .map_err(|e| conflict(e, "credential"))?;
            }
            let roles = self
                .role_ids(tx, rep.realm_roles.as_ref(), rep.client_roles.as_ref())
                .await?;
            for role in roles {
                tx.grant_user_role(&user.id, &role).await?;
            }
            for path in rep.groups.iter().flatten() {
                let group = self.group_by_path(tx, path).await?;
                tx.join_group(&user.id, &group).await?;
            }
            for consent in rep.client_consents.iter().flatten() {
                self.consent_one(tx, &user, consent).await?;
            }
            Ok(user.id)
        }
    }

    /// One of a user's `clientConsents`: the client by `clientId`, each granted scope by name
    /// (the consent's own `clientId` names the client itself, as Keycloak writes it). The
    /// file's dates are kept, so an export imported and exported again is unchanged.
    async fn consent_one(
        &mut self,
        tx: &mut Tx,
        user: &User,
        rep: &UserConsentRepresentation,
    ) -> Result<(), ServiceError> {
        let client_id = rep.client_id.clone().ok_or_else(|| {
            invalid(format!(
                "user '{}': a consent has no 'clientId'",
                user.username
            ))
        })?;
        let client = self.client(tx, &client_id).await?;
        let created = rep.created_date.unwrap_or_else(now_millis);
        let mut consent = UserConsent::new(user.id.clone(), client, created);
        consent.last_updated = rep.last_updated_date.unwrap_or(created);
        for name in rep.granted_client_scopes.iter().flatten() {
            match tx.client_scope_by_name(&self.realm.id, name).await? {
                Some(scope) => {
                    consent.scopes.insert(scope.id);
                }
                None if *name == client_id => consent.client_granted = true,
                None => {
                    return Err(invalid(format!(
                        "user '{}': client scope '{name}' of the consent to '{client_id}' is named but not defined",
                        user.username
                    )));
                }
            }
        }
        tx.put_consent(&consent).await?;
        Ok(())
    }

    /// A client with service accounts on and no service-account user in the file gets one, as
    /// creating it through the admin API would.
    async fn service_accounts(&mut self, tx: &mut Tx) -> Result<(), ServiceError> {
        for client in tx.list_clients(&self.realm.id).await? {
            if client.service_accounts_enabled
                && tx.service_account_user_id(&client.id).await?.is_none()
            {
                crate::clients::create_service_account(tx, &self.realm.id, &client).await?;
            }
        }
        Ok(())
    }

    /// Key providers whose keys are in the file (as Gatehouse exports them) keep their keys;
    /// others get new keys on first use, and the report says so.
    async fn keys(&mut self, tx: &mut Tx, file: &RealmFile) -> Result<(), ServiceError> {
        let Some(components) = file.components.get(KEY_PROVIDER) else {
            return Ok(());
        };
        // Keys are listed newest first; older ones get older timestamps, so that keys of
        // equal priority keep the file's order (the one that signs stays the one that signs).
        let now = now_millis();
        for (i, c) in components.iter().enumerate() {
            let first = |k: &str| c.config.get(k).and_then(|v| v.first()).cloned();
            let provider = c.provider_id.clone().unwrap_or_default();
            let name = c.name.clone().unwrap_or_else(|| provider.clone());
            let key = first("privateKey").or_else(|| first("secret"));
            let (Some(key), Some(algorithm)) =
                (key, first("algorithm").or_else(|| default_alg(&provider)))
            else {
                self.warnings.push(format!(
                    "key provider '{name}' has no key material in the file: the realm gets new keys"
                ));
                continue;
            };
            let parsed = stored_key(&provider, &algorithm, &key);
            let Some(private_key) = parsed else {
                self.warnings.push(format!(
                    "key provider '{name}' ({provider}): the key is not in a form Gatehouse reads (PKCS#8 DER, base64): the realm gets new keys"
                ));
                continue;
            };
            let flag = |k: &str| first(k).is_none_or(|v| v == "true");
            tx.insert_realm_key(&RealmKey {
                id: c
                    .id
                    .clone()
                    .map_or_else(RealmKeyId::new_random, RealmKeyId::new),
                realm_id: self.realm.id.clone(),
                name,
                provider: provider.clone(),
                algorithm,
                key_use: match first("keyUse").as_deref() {
                    Some("ENC") | Some("enc") => KeyUse::Enc,
                    _ => KeyUse::Sig,
                },
                priority: first("priority")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(100),
                enabled: flag("enabled"),
                active: flag("active"),
                private_key,
                certificate: first("certificate"),
                created_timestamp: now - i as i64,
            })
            .await
            .map_err(|e| conflict(e, "key"))?;
        }
        Ok(())
    }
}

fn default_alg(provider: &str) -> Option<String> {
    match provider {
        "rsa-generated" | "rsa" => Some("RS256".into()),
        "hmac-generated" => Some("HS512".into()),
        "ecdsa-generated" => Some("ES256".into()),
        _ => None,
    }
}

/// Key material from a file as Gatehouse stores it (base64 PKCS#8 DER, or base64 of the HMAC
/// secret), accepted only when it parses as a key of its algorithm.
fn stored_key(provider: &str, algorithm: &str, key: &str) -> Option<String> {
    {
        use base64::Engine;
        let std = base64::engine::general_purpose::STANDARD;
        if provider.starts_with("hmac") || algorithm.starts_with("HS") {
            // Keycloak writes HMAC secrets base64url-encoded; Gatehouse stores standard base64.
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(key.trim_end_matches('='))
                .or_else(|_| std.decode(key))
                .ok()?;
            return Some(std.encode(raw));
        }
        let der = std.decode(key.trim()).ok()?;
        let alg = algorithm
            .parse::<gatehouse_crypto::jose::Algorithm>()
            .ok()?;
        gatehouse_crypto::jose::SigningKey::from_der(alg, &der).ok()?;
        Some(key.trim().to_owned())
    }
}
