//! The Admin REST API's realm operations: list, create (with everything Keycloak puts in a new
//! realm, in one transaction), read, update (with rename), delete; default groups; the realm's
//! key metadata; ending sessions; cache clearing; and the server info document.

use gatehouse_crypto::jose::{Algorithm, SigningKey};
use gatehouse_model::rep::realm::{
    ClientSessionStat, DefaultGroupRepresentation, DefaultRoleRepresentation,
    KeyMetadataRepresentation, KeysMetadataRepresentation, RealmRepresentation,
};
use gatehouse_model::{
    ClientId, Group, GroupId, KeyUse, Realm, RealmId, RealmName, UserId, UserSessionId,
};
use gatehouse_store::{StoreError, Tx};
use serde_json::{Value, json};

use super::{AdminIdentity, Permission};
use crate::bootstrap::{MANAGEMENT_ROLES, MASTER_REALM, create_realm_in};
use crate::{RequestCtx, ServiceError, Services, now_millis, now_secs};

/// Keycloak's answer to a realm import whose name is taken (`RealmsAdminResource`).
const CONFLICT_DETECTED: &str = "Conflict detected. See logs for details";

/// The version of Keycloak whose Admin REST API this server speaks, reported as the server's
/// version so that clients choosing requests by version (the admin client, python-keycloak)
/// send Keycloak 26's.
const KEYCLOAK_VERSION: &str = "26.0.0";

/// The login theme `gatehouse-login` compiles in, with its message bundles' locales.
const LOGIN_THEME: (&str, &[&str]) = ("gatehouse", &["de", "en"]);

/// Management roles a realm's creator is granted (Keycloak's `AdminRoles.ALL_REALM_ROLES`:
/// every management role but `impersonation`).
fn creator_roles() -> impl Iterator<Item = &'static str> {
    MANAGEMENT_ROLES
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| *name != "impersonation")
}

fn master_name() -> Result<RealmName, StoreError> {
    RealmName::new(MASTER_REALM).map_err(|e| StoreError::Internal(e.to_string()))
}

/// Makes `user` a member of each of the realm's default groups, as Keycloak does for every user
/// it creates. Runs in the caller's transaction.
// User creation (the users endpoints) calls it; until that lands nothing else does.
#[allow(dead_code)]
pub(crate) async fn join_default_groups(
    tx: &mut Tx,
    realm: &RealmId,
    user: &UserId,
) -> Result<(), StoreError> {
    for group in tx.realm_default_group_ids(realm).await? {
        tx.join_group(user, &group).await?;
    }
    Ok(())
}

/// `/a/b/c` for group `c` under `b` under `a`, as Keycloak's `buildGroupPath` (parents read
/// from the store; a cycle, which the schema cannot make, would stop at 100 levels).
pub(crate) async fn group_path(tx: &mut Tx, group: &Group) -> Result<String, StoreError> {
    let mut names = vec![group.name.clone()];
    let mut parent = group.parent_id.clone();
    while let Some(id) = parent {
        if names.len() > 100 {
            break;
        }
        match tx.group_by_id(&id).await? {
            Some(p) => {
                names.push(p.name.clone());
                parent = p.parent_id;
            }
            None => break,
        }
    }
    names.reverse();
    Ok(format!("/{}", names.join("/")))
}

/// The realm's full representation: its default role and the paths of its default groups.
pub(crate) async fn representation(
    tx: &mut Tx,
    realm: &Realm,
) -> Result<RealmRepresentation, StoreError> {
    let default_role = match &realm.default_role_id {
        Some(id) => tx
            .role_by_id(id)
            .await?
            .map(|role| DefaultRoleRepresentation {
                id: Some(role.id.to_string()),
                name: Some(role.name),
                description: role.description,
                composite: Some(true),
                client_role: Some(false),
                container_id: Some(realm.id.to_string()),
            }),
        None => None,
    };
    let mut default_groups = Vec::new();
    for id in tx.realm_default_group_ids(&realm.id).await? {
        if let Some(group) = tx.group_by_id(&id).await? {
            default_groups.push(group_path(tx, &group).await?);
        }
    }
    default_groups.sort();
    Ok(RealmRepresentation::new(
        realm,
        default_role,
        default_groups,
    ))
}

/// The group `id` if it belongs to `realm`, else Keycloak's 404 "Group not found".
async fn group_in(tx: &mut Tx, realm: &Realm, id: &str) -> Result<Group, ServiceError> {
    tx.group_by_id(&GroupId::new(id))
        .await?
        .filter(|g| g.realm_id == realm.id)
        .ok_or_else(|| ServiceError::NotFound("Group".into()))
}

/// Replaces the path prefix `from` by `to` in a URL, as Keycloak's realm rename does for the
/// built-in clients' base and redirect URLs.
fn moved(url: &str, from: &str, to: &str) -> String {
    url.replace(from, to)
}

impl Services {
    /// `GET /admin/realms`: each realm the caller may view (brief or full), and the bare name of
    /// each realm it administers otherwise; Keycloak's 403 when that leaves none.
    pub async fn admin_list_realms(
        &self,
        who: &AdminIdentity,
        brief: bool,
    ) -> Result<Vec<RealmRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let mut out = Vec::new();
        for realm in tx.list_realms().await? {
            if who.may(&realm, Permission::ViewRealm) {
                out.push(if brief {
                    RealmRepresentation::brief(&realm)
                } else {
                    representation(&mut tx, &realm).await?
                });
            } else if who.any_role_in(&realm) {
                out.push(RealmRepresentation::name_only(&realm));
            }
        }
        tx.rollback().await?;
        if out.is_empty() {
            return Err(ServiceError::Forbidden("no realm to list".into()));
        }
        Ok(out)
    }

    /// `POST /admin/realms`: creates the realm `rep` names, with Keycloak's clients, roles and
    /// client scopes, in one transaction. A realm left without `enabled` is created disabled, as
    /// Keycloak creates it. A creator without master's `admin` role is granted the management
    /// roles of the new realm's `<realm>-realm` client, as Keycloak grants them. Other parts of
    /// an import file (`users`, `clients`, `roles`, ...) are not imported.
    pub async fn admin_create_realm(
        &self,
        who: &AdminIdentity,
        rep: RealmRepresentation,
    ) -> Result<Realm, ServiceError> {
        if !who.may_create_realm() {
            return Err(ServiceError::Forbidden("create-realm".into()));
        }
        let name = rep.realm.as_deref().unwrap_or_default();
        if name.trim().is_empty() {
            return Err(ServiceError::Invalid("Realm name cannot be empty".into()));
        }
        let name = RealmName::new(name).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let id = rep
            .id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map_or_else(RealmId::new_random, RealmId::new);
        let mut realm = Realm::new(id, name);
        realm.enabled = false;
        rep.apply_to(&mut realm).map_err(ServiceError::Invalid)?;

        let mut tx = self.store().begin().await?;
        if tx.realm_by_name(&realm.name).await?.is_some() {
            tx.rollback().await?;
            return Err(ServiceError::Conflict(CONFLICT_DETECTED.into()));
        }
        let realm = match create_realm_in(&mut tx, realm).await {
            Ok(realm) => realm,
            Err(StoreError::Conflict(_)) => {
                tx.rollback().await?;
                return Err(ServiceError::Conflict(CONFLICT_DETECTED.into()));
            }
            Err(e) => return Err(e.into()),
        };
        if !who.realm_roles.contains("admin") {
            let management = ClientId::new(format!("{}-realm", realm.name));
            let client = tx
                .client_by_client_id(&who.realm_id, &management)
                .await?
                .ok_or_else(|| ServiceError::Internal("management client missing".into()))?;
            for name in creator_roles() {
                if let Some(role) = tx.client_role_by_name(&client.id, name).await? {
                    tx.grant_user_role(&who.user_id, &role.id).await?;
                }
            }
        }
        match tx.commit().await {
            Ok(()) => {
                tracing::info!(realm = %realm.name, "created a realm");
                Ok(realm)
            }
            Err(StoreError::Conflict(_)) => Err(ServiceError::Conflict(CONFLICT_DETECTED.into())),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /admin/realms/{realm}`: the realm's representation.
    pub async fn admin_realm_representation(
        &self,
        realm: &Realm,
    ) -> Result<RealmRepresentation, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let rep = representation(&mut tx, realm).await?;
        tx.rollback().await?;
        Ok(rep)
    }

    /// `PUT /admin/realms/{realm}`: changes the fields `rep` has. A new `realm` name renames the
    /// realm as Keycloak does: master's `<old>-realm` client becomes `<new>-realm`, and the
    /// built-in clients' URLs follow. Master cannot be renamed (400), a taken name is a 409.
    pub async fn admin_update_realm(
        &self,
        realm: &Realm,
        rep: RealmRepresentation,
    ) -> Result<(), ServiceError> {
        if realm.name.as_str() == MASTER_REALM
            && rep.realm.as_deref().is_some_and(|n| n != MASTER_REALM)
        {
            return Err(ServiceError::Invalid("Can't rename master realm".into()));
        }
        let taken = || ServiceError::Conflict("Realm with same name exists".into());
        let mut tx = self.store().begin().await?;
        let mut current = tx
            .realm_by_id(&realm.id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("Realm".into()))?;
        let old = current.name.clone();
        rep.apply_to(&mut current).map_err(ServiceError::Invalid)?;
        if current.name != old {
            if tx.realm_by_name(&current.name).await?.is_some() {
                tx.rollback().await?;
                return Err(taken());
            }
            self.rename_realm_clients(&mut tx, &current, old.as_str())
                .await?;
        }
        match tx.update_realm(&current).await {
            Ok(true) => {}
            Ok(false) => return Err(ServiceError::NotFound("Realm".into())),
            Err(StoreError::Conflict(_)) => return Err(taken()),
            Err(e) => return Err(e.into()),
        }
        match tx.commit().await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(taken()),
            Err(e) => Err(e.into()),
        }
    }

    /// What Keycloak's realm rename changes besides the name: master's management client's id
    /// and the built-in clients' URLs that name the realm.
    async fn rename_realm_clients(
        &self,
        tx: &mut Tx,
        realm: &Realm,
        old: &str,
    ) -> Result<(), ServiceError> {
        let new = realm.name.as_str();
        if let Some(master) = tx.realm_by_name(&master_name()?).await? {
            let old_id = ClientId::new(format!("{old}-realm"));
            if let Some(mut client) = tx.client_by_client_id(&master.id, &old_id).await? {
                client.client_id = ClientId::new(format!("{new}-realm"));
                tx.update_client(&client).await?;
            }
        }
        let paths = [
            (
                "security-admin-console",
                format!("/admin/{old}/"),
                format!("/admin/{new}/"),
            ),
            (
                "account",
                format!("/realms/{old}/"),
                format!("/realms/{new}/"),
            ),
            (
                "account-console",
                format!("/realms/{old}/"),
                format!("/realms/{new}/"),
            ),
        ];
        for (client_id, from, to) in paths {
            let Some(mut client) = tx
                .client_by_client_id(&realm.id, &ClientId::new(client_id))
                .await?
            else {
                continue;
            };
            client.base_url = client.base_url.map(|u| moved(&u, &from, &to));
            client.redirect_uris = client
                .redirect_uris
                .iter()
                .map(|u| moved(u, &from, &to))
                .collect();
            tx.update_client(&client).await?;
        }
        Ok(())
    }

    /// `DELETE /admin/realms/{realm}`: deletes the realm, everything in it, and master's
    /// `<realm>-realm` client. Master cannot be deleted (Keycloak's 400).
    pub async fn admin_delete_realm(&self, realm: &Realm) -> Result<(), ServiceError> {
        if realm.name.as_str() == MASTER_REALM {
            return Err(ServiceError::Invalid("Can't remove master realm".into()));
        }
        let mut tx = self.store().begin().await?;
        if !crate::bootstrap::delete_realm_in(&mut tx, realm).await? {
            return Err(ServiceError::NotFound("Realm".into()));
        }
        tx.commit().await?;
        self.keys.forget(&realm.id);
        tracing::info!(realm = %realm.name, "deleted a realm");
        Ok(())
    }

    /// `GET /admin/realms/{realm}/default-groups`: the groups every new user joins.
    pub async fn admin_default_groups(
        &self,
        realm: &Realm,
    ) -> Result<Vec<DefaultGroupRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let mut out = Vec::new();
        for id in tx.realm_default_group_ids(&realm.id).await? {
            if let Some(group) = tx.group_by_id(&id).await? {
                out.push(DefaultGroupRepresentation {
                    id: group.id.to_string(),
                    name: group.name.clone(),
                    description: group.description.clone(),
                    path: group_path(&mut tx, &group).await?,
                    parent_id: group.parent_id.as_ref().map(ToString::to_string),
                    sub_groups: Vec::new(),
                });
            }
        }
        tx.rollback().await?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// `PUT /admin/realms/{realm}/default-groups/{groupId}`: 404 "Group" for a group that is not
    /// the realm's.
    pub async fn admin_add_default_group(
        &self,
        realm: &Realm,
        group: &str,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let group = group_in(&mut tx, realm, group).await?;
        tx.add_realm_default_group(&realm.id, &group.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE /admin/realms/{realm}/default-groups/{groupId}`: removing a group that is not a
    /// default group changes nothing; one that is not the realm's is a 404 "Group".
    pub async fn admin_remove_default_group(
        &self,
        realm: &Realm,
        group: &str,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let group = group_in(&mut tx, realm, group).await?;
        tx.remove_realm_default_group(&realm.id, &group.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /admin/realms/{realm}/keys`: Keycloak's key metadata: ids, algorithms, status,
    /// public keys and certificates, never a private key or an HMAC secret. A realm without keys
    /// gets its default keys first, as its first token would.
    pub async fn admin_realm_keys(
        &self,
        realm: &Realm,
    ) -> Result<KeysMetadataRepresentation, ServiceError> {
        self.realm_keys(realm).await?;
        let mut tx = self.store().begin_read().await?;
        let rows = tx.realm_keys(&realm.id).await?;
        tx.rollback().await?;
        let mut out = KeysMetadataRepresentation::default();
        for row in rows {
            let broken = |e: &dyn std::fmt::Display| {
                ServiceError::Internal(format!("realm key {}: {e}", row.id))
            };
            let alg: Algorithm = row.algorithm.parse().map_err(|e| broken(&e))?;
            let der = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                &row.private_key,
            )
            .map_err(|e| broken(&e))?;
            let key = SigningKey::from_der(alg, &der).map_err(|e| broken(&e))?;
            let status = match (row.enabled, row.active) {
                (false, _) => "DISABLED",
                (true, true) => "ACTIVE",
                (true, false) => "PASSIVE",
            };
            if status == "ACTIVE" {
                out.active
                    .entry(alg.as_str().to_owned())
                    .or_insert_with(|| key.kid().to_owned());
            }
            out.keys.push(KeyMetadataRepresentation {
                provider_id: row.id.to_string(),
                provider_priority: row.priority,
                kid: key.kid().to_owned(),
                status: status.to_owned(),
                key_type: alg.key_type().to_ascii_uppercase(),
                algorithm: alg.as_str().to_owned(),
                public_key: key.public_key_der().map(|der| {
                    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der)
                }),
                certificate: row.certificate.clone(),
                key_use: match row.key_use {
                    KeyUse::Sig => "SIG".to_owned(),
                    KeyUse::Enc => "ENC".to_owned(),
                },
            });
        }
        Ok(out)
    }

    /// `POST /admin/realms/{realm}/logout-all`: ends every online session of the realm and moves
    /// the realm's not-before to now, so no token issued earlier (offline ones included) is
    /// accepted any more, as Keycloak's `logoutAll` does. Keycloak then pushes the not-before
    /// to clients with an admin URL (legacy adapters); Gatehouse has none to push to, so the
    /// answer is Keycloak's empty `GlobalRequestResult`.
    pub async fn admin_logout_all(&self, realm: &Realm) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let ended = tx
            .delete_user_sessions_of_realm(&realm.id, Some(false))
            .await?;
        let mut current = tx
            .realm_by_id(&realm.id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("Realm".into()))?;
        current.not_before = now_secs();
        tx.update_realm(&current).await?;
        tx.commit().await?;
        tracing::info!(realm = %realm.name, sessions = ended, "logged out every session");
        Ok(())
    }

    /// `DELETE /admin/realms/{realm}/sessions/{session}`: ends one online (or, with `offline`,
    /// offline) session and sends back-channel logout to its clients that registered a URL.
    /// A session that does not exist in the realm is Keycloak's 404 (its message spells
    /// "Sesssion").
    pub async fn admin_delete_session(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        session: &str,
        offline: bool,
    ) -> Result<(), ServiceError> {
        let id = UserSessionId::new(session);
        let mut tx = self.store().begin().await?;
        let Some(found) = tx
            .user_session(&id, offline)
            .await?
            .filter(|s| s.realm_id == realm.id)
        else {
            tx.rollback().await?;
            return Err(ServiceError::NotFound("Sesssion".into()));
        };
        let mut notify = Vec::new();
        for cs in tx.client_sessions_of(&id, offline).await? {
            if let Some(client) = tx.client_by_id(&cs.client_id).await? {
                let url = client.attributes.get("backchannel.logout.url").cloned();
                if let Some(url) = url.filter(|u| !u.is_empty()) {
                    notify.push((client, url));
                }
            }
        }
        tx.delete_user_session(&id, offline).await?;
        tx.commit().await?;
        self.backchannel_logout(ctx, realm, &found, notify).await;
        Ok(())
    }

    /// `GET /admin/realms/{realm}/client-session-stats`: for each client with sessions, how many
    /// online and offline sessions it is part of.
    pub async fn admin_client_session_stats(
        &self,
        realm: &Realm,
    ) -> Result<Vec<ClientSessionStat>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let mut out = Vec::new();
        for (client, online, offline) in tx.client_session_counts(&realm.id).await? {
            if let Some(client) = tx.client_by_id(&client).await? {
                out.push(ClientSessionStat {
                    id: client.id.to_string(),
                    client_id: client.client_id.to_string(),
                    active: online.to_string(),
                    offline: offline.to_string(),
                });
            }
        }
        tx.rollback().await?;
        Ok(out)
    }

    /// `POST /admin/realms/{realm}/clear-keys-cache`: drops this node's parsed keys of the realm;
    /// they are read again from the database on next use. (Keycloak's endpoint clears its cache
    /// of clients' and identity providers' public keys; Gatehouse reads a client's `jwks.string`
    /// on every use, so its realm keys are the only keys it caches.)
    pub async fn admin_clear_keys_cache(&self, realm: &Realm) {
        self.keys.forget(&realm.id);
        if let Some(c) = &self.cluster {
            c.announce(gatehouse_cluster::Event::ClearKeys).await;
        }
    }

    /// `GET /admin/serverinfo`: what this server offers, in Keycloak's `ServerInfoRepresentation`
    /// form, listing only what Gatehouse implements.
    pub fn admin_server_info(&self) -> Value {
        let now = now_millis();
        let uptime_millis = (now - self.started_millis).max(0);
        let mapper_types: Vec<Value> = MAPPER_TYPES.iter().map(mapper_type).collect();
        let asymmetric: Vec<&str> = Algorithm::ALL
            .into_iter()
            .filter(|a| !a.is_symmetric())
            .map(Algorithm::as_str)
            .collect();
        let symmetric: Vec<&str> = Algorithm::ALL
            .into_iter()
            .filter(|a| a.is_symmetric())
            .map(Algorithm::as_str)
            .collect();
        let spi = |ids: &[&str]| {
            json!({
                "internal": true,
                "providers": ids
                    .iter()
                    .map(|id| ((*id).to_owned(), json!({"order": 0})))
                    .collect::<serde_json::Map<String, Value>>(),
            })
        };
        let mapper_ids: Vec<&str> = MAPPER_TYPES.iter().map(|m| m.id).collect();
        let (theme, locales) = LOGIN_THEME;
        let mut info = json!({
            "systemInfo": {
                "version": KEYCLOAK_VERSION,
                "serverTime": java_date(now),
                "uptime": format_uptime(uptime_millis),
                "uptimeMillis": uptime_millis,
                "osName": std::env::consts::OS,
                "osArchitecture": std::env::consts::ARCH,
                "userTimezone": "UTC",
            },
            "cpuInfo": {
                "processorCount": std::thread::available_parallelism().map_or(1, usize::from),
            },
            "profileInfo": {
                "name": "community",
                "disabledFeatures": [],
                "previewFeatures": [],
                "experimentalFeatures": [],
            },
            "features": [],
            "cryptoInfo": {
                "cryptoProvider": "aws-lc-rs",
                "supportedKeystoreTypes": [],
                "clientSignatureSymmetricAlgorithms": symmetric,
                "clientSignatureAsymmetricAlgorithms": asymmetric,
            },
            "themes": {
                "login": [{"name": theme, "locales": locales}],
                "account": [],
                "admin": [],
                "email": [],
                "welcome": [],
                "common": [],
            },
            "socialProviders": [],
            "identityProviders": [],
            "clientImporters": [],
            "providers": {
                "keys": spi(&["ecdsa-generated", "eddsa-generated", "hmac-generated", "rsa-generated"]),
                "login-protocol": spi(&["openid-connect"]),
                "password-hashing": spi(&["argon2", "pbkdf2", "pbkdf2-sha256", "pbkdf2-sha512"]),
                "protocol-mapper": spi(&mapper_ids),
            },
            "protocolMapperTypes": {"openid-connect": mapper_types},
            "builtinProtocolMappers": {"openid-connect": []},
            "clientInstallations": {},
            "componentTypes": {},
            "passwordPolicies": [
                {
                    "id": "hashAlgorithm",
                    "displayName": "Hashing Algorithm",
                    "configType": "String",
                    "defaultValue": "argon2",
                    "multipleSupported": false,
                },
                {
                    "id": "hashIterations",
                    "displayName": "Hashing Iterations",
                    "configType": "int",
                    "defaultValue": "-1",
                    "multipleSupported": false,
                },
            ],
            "enums": {},
        });
        if let Some(memory) = memory_info()
            && let Some(map) = info.as_object_mut()
        {
            map.insert("memoryInfo".into(), memory);
        }
        info
    }
}

/// A protocol mapper type `claims.rs` implements, as the server info describes it.
struct MapperType {
    id: &'static str,
    name: &'static str,
    help: &'static str,
    /// Config keys the mapper reads, with Keycloak's label and type.
    properties: &'static [(&'static str, &'static str, &'static str)],
    /// Which of the token flags apply (id, access, userinfo, introspection).
    flags: &'static [&'static str],
}

const CLAIM: (&str, &str, &str) = ("claim.name", "Token Claim Name", "String");
const JSON_TYPE: (&str, &str, &str) = ("jsonType.label", "Claim JSON Type", "List");
const MULTIVALUED: (&str, &str, &str) = ("multivalued", "Multivalued", "boolean");
const ALL_FLAGS: &[&str] = &[
    "id.token.claim",
    "access.token.claim",
    "userinfo.token.claim",
    "introspection.token.claim",
];
const ACCESS_FLAGS: &[&str] = &["access.token.claim", "introspection.token.claim"];

const MAPPER_TYPES: &[MapperType] = &[
    MapperType {
        id: "oidc-usermodel-attribute-mapper",
        name: "User Attribute",
        help: "Map a custom user attribute to a token claim.",
        properties: &[
            ("user.attribute", "User Attribute", "String"),
            CLAIM,
            JSON_TYPE,
            MULTIVALUED,
        ],
        flags: ALL_FLAGS,
    },
    MapperType {
        id: "oidc-usermodel-property-mapper",
        name: "User Property",
        help: "Map a built in user property (email, firstName, lastName) to a token claim.",
        properties: &[("user.attribute", "Property", "String"), CLAIM, JSON_TYPE],
        flags: ALL_FLAGS,
    },
    MapperType {
        id: "oidc-full-name-mapper",
        name: "User's full name",
        help: "Maps the user's first and last name to the OpenID Connect 'name' claim.",
        properties: &[],
        flags: ALL_FLAGS,
    },
    MapperType {
        id: "oidc-usermodel-realm-role-mapper",
        name: "User Realm Role",
        help: "Map a user realm role to a token claim.",
        properties: &[
            (
                "usermodel.realmRoleMapping.rolePrefix",
                "Realm Role prefix",
                "String",
            ),
            CLAIM,
            JSON_TYPE,
            MULTIVALUED,
        ],
        flags: ALL_FLAGS,
    },
    MapperType {
        id: "oidc-usermodel-client-role-mapper",
        name: "User Client Role",
        help: "Map a user client role to a token claim.",
        properties: &[
            (
                "usermodel.clientRoleMapping.clientId",
                "Client ID",
                "ClientList",
            ),
            (
                "usermodel.clientRoleMapping.rolePrefix",
                "Client Role prefix",
                "String",
            ),
            CLAIM,
            JSON_TYPE,
            MULTIVALUED,
        ],
        flags: ALL_FLAGS,
    },
    MapperType {
        id: "oidc-audience-resolve-mapper",
        name: "Audience Resolve",
        help: "Adds all client_ids of \"allowed\" clients to the audience field of the token.",
        properties: &[],
        flags: ACCESS_FLAGS,
    },
    MapperType {
        id: "oidc-audience-mapper",
        name: "Audience",
        help: "Add specified audience to the audience (aud) field of token",
        properties: &[
            (
                "included.client.audience",
                "Included Client Audience",
                "ClientList",
            ),
            (
                "included.custom.audience",
                "Included Custom Audience",
                "String",
            ),
        ],
        flags: ALL_FLAGS,
    },
    MapperType {
        id: "oidc-allowed-origins-mapper",
        name: "Allowed Web Origins",
        help: "Adds all allowed web origins to the 'allowed-origins' claim in the token",
        properties: &[],
        flags: ACCESS_FLAGS,
    },
    MapperType {
        id: "oidc-acr-mapper",
        name: "Authentication Context Class Reference (ACR)",
        help: "Maps the achieved LoA (Level of Authentication) to the 'acr' claim of the token",
        properties: &[],
        flags: &[
            "id.token.claim",
            "access.token.claim",
            "introspection.token.claim",
        ],
    },
    MapperType {
        id: "oidc-sub-mapper",
        name: "Subject (sub)",
        help: "Add 'sub' claim to the token.",
        properties: &[],
        flags: ACCESS_FLAGS,
    },
    MapperType {
        id: "oidc-session-state-mapper",
        name: "Session State (session_state)",
        help: "Add Session State (session_state) claim",
        properties: &[],
        flags: ALL_FLAGS,
    },
    MapperType {
        id: "oidc-usersessionmodel-note-mapper",
        name: "User Session Note",
        help: "Map a custom user session note to a token claim.",
        properties: &[
            ("user.session.note", "User Session Note", "String"),
            CLAIM,
            JSON_TYPE,
        ],
        flags: ALL_FLAGS,
    },
    MapperType {
        id: "oidc-hardcoded-claim-mapper",
        name: "Hardcoded claim",
        help: "Hardcode a claim into the token.",
        properties: &[CLAIM, ("claim.value", "Claim value", "String"), JSON_TYPE],
        flags: ALL_FLAGS,
    },
    MapperType {
        id: "oidc-group-membership-mapper",
        name: "Group Membership",
        help: "Map user group membership",
        properties: &[CLAIM, ("full.path", "Full group path", "boolean")],
        flags: ALL_FLAGS,
    },
    MapperType {
        id: "oidc-address-mapper",
        name: "User Address",
        help: "Maps user address attributes (street, locality, region, postal_code, and country) \
               to the OpenID Connect 'address' claim.",
        properties: &[
            (
                "user.attribute.formatted",
                "User Attribute Name for Formatted Address",
                "String",
            ),
            (
                "user.attribute.street",
                "User Attribute Name for Street",
                "String",
            ),
            (
                "user.attribute.locality",
                "User Attribute Name for Locality",
                "String",
            ),
            (
                "user.attribute.region",
                "User Attribute Name for Region",
                "String",
            ),
            (
                "user.attribute.postal_code",
                "User Attribute Name for Postal Code",
                "String",
            ),
            (
                "user.attribute.country",
                "User Attribute Name for Country",
                "String",
            ),
        ],
        flags: ALL_FLAGS,
    },
];

fn mapper_type(m: &MapperType) -> Value {
    let flag_label = |flag: &str| match flag {
        "id.token.claim" => "Add to ID token",
        "access.token.claim" => "Add to access token",
        "userinfo.token.claim" => "Add to userinfo",
        _ => "Add to token introspection",
    };
    let mut properties: Vec<Value> = m
        .properties
        .iter()
        .map(|(name, label, kind)| json!({"name": name, "label": label, "type": kind}))
        .collect();
    properties.extend(m.flags.iter().map(|flag| {
        json!({"name": flag, "label": flag_label(flag), "type": "boolean", "defaultValue": "true"})
    }));
    json!({
        "id": m.id,
        "name": m.name,
        "category": "Token mapper",
        "helpText": m.help,
        "priority": 0,
        "properties": properties,
    })
}

/// Keycloak's `MemoryInfoRepresentation`, from Linux's `/proc`: the machine's memory as the
/// total and this process's resident set as used; `None` where `/proc` is not there.
fn memory_info() -> Option<Value> {
    let kib = |text: &str, key: &str| -> Option<i64> {
        let line = text.lines().find(|l| l.starts_with(key))?;
        let n: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(n * 1024)
    };
    let total = kib(&std::fs::read_to_string("/proc/meminfo").ok()?, "MemTotal:")?;
    let used = kib(
        &std::fs::read_to_string("/proc/self/status").ok()?,
        "VmRSS:",
    )?;
    if total <= 0 {
        return None;
    }
    let free = total - used;
    Some(json!({
        "total": total,
        "totalFormated": format_memory(total),
        "used": used,
        "usedFormated": format_memory(used),
        "free": free,
        "freePercentage": free * 100 / total,
        "freeFormated": format_memory(free),
    }))
}

/// Keycloak's memory format: whole MB, kB or B.
fn format_memory(bytes: i64) -> String {
    if bytes > 1024 * 1024 {
        format!("{} MB", bytes / (1024 * 1024))
    } else if bytes > 1024 {
        format!("{} kB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// Keycloak's uptime format: `1 day, 2 hours, 0 minutes, 5 seconds`.
fn format_uptime(millis: i64) -> String {
    let secs = millis / 1000;
    let (days, hours, minutes, seconds) =
        (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let plural = |n: i64| if n == 1 { "" } else { "s" };
    format!(
        "{days} day{}, {hours} hour{}, {minutes} minute{}, {seconds} second{}",
        plural(days),
        plural(hours),
        plural(minutes),
        plural(seconds)
    )
}

/// Java's `Date.toString()` in UTC, as Keycloak's `serverTime`: `Thu Jan 01 00:00:00 UTC 1970`.
fn java_date(millis: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = DAYS
        .get(usize::try_from(days.rem_euclid(7)).unwrap_or(0))
        .copied()
        .unwrap_or("Thu");
    let month_name = MONTHS
        .get(usize::try_from(month - 1).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday} {month_name} {day:02} {:02}:{:02}:{:02} UTC {year}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_dates() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_709_633_730_000), "Tue Mar 05 10:15:30 UTC 2024");
        assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
    }

    #[test]
    fn uptime_and_memory_formats() {
        assert_eq!(
            format_uptime(90_061_000),
            "1 day, 1 hour, 1 minute, 1 second"
        );
        assert_eq!(format_uptime(0), "0 days, 0 hours, 0 minutes, 0 seconds");
        assert_eq!(format_memory(3 * 1024 * 1024 + 5), "3 MB");
        assert_eq!(format_memory(2048), "2 kB");
        assert_eq!(format_memory(10), "10 B");
    }

    #[test]
    fn creators_get_every_management_role_but_impersonation() {
        let roles: Vec<&str> = creator_roles().collect();
        assert!(roles.contains(&"manage-realm") && roles.contains(&"query-groups"));
        assert!(!roles.contains(&"impersonation"));
        assert_eq!(roles.len(), MANAGEMENT_ROLES.len() - 1);
    }
}
