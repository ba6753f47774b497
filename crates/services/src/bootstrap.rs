//! First start: the `master` realm with the clients and roles Keycloak creates, and the first admin.
//!
//! Several nodes may start at once against one fresh database. Everything one bootstrap step
//! writes goes in one transaction; the node that loses the race on the realm name's unique
//! constraint rolls back and reads what the winner wrote, so no half-made realm is ever visible.

use gatehouse_crypto::PasswordPolicyHash;
use gatehouse_model::{
    Client, ClientId, ClientUuid, Credential, CredentialId, Realm, RealmId, RealmName, Role,
    RoleId, User, UserId, Username,
};
use gatehouse_store::{StoreError, Tx};

use crate::{ServiceError, Services, now_millis};

/// The name of the administration realm.
pub const MASTER_REALM: &str = "master";

/// The management roles of a realm (roles of its `realm-management` client and of master's
/// `<realm>-realm` client), each with the roles it includes, as Keycloak defines them.
pub(crate) const MANAGEMENT_ROLES: &[(&str, &[&str])] = &[
    ("create-client", &[]),
    ("impersonation", &[]),
    ("manage-authorization", &[]),
    ("manage-clients", &[]),
    ("manage-events", &[]),
    ("manage-identity-providers", &[]),
    ("manage-realm", &[]),
    ("manage-users", &[]),
    ("query-clients", &[]),
    ("query-groups", &[]),
    ("query-realms", &[]),
    ("query-users", &[]),
    ("view-authorization", &[]),
    ("view-clients", &["query-clients"]),
    ("view-events", &[]),
    ("view-identity-providers", &[]),
    ("view-realm", &[]),
    ("view-users", &["query-users", "query-groups"]),
];

/// Roles of the `account` client, with their composites.
const ACCOUNT_ROLES: &[(&str, &[&str])] = &[
    ("delete-account", &[]),
    ("manage-account-links", &[]),
    ("manage-account", &["manage-account-links"]),
    ("view-applications", &[]),
    ("view-consent", &[]),
    ("manage-consent", &["view-consent"]),
    ("view-groups", &[]),
    ("view-profile", &[]),
];

/// What start-up learned about the master realm.
#[derive(Debug, Clone)]
pub struct MasterRealm {
    /// The realm's id.
    pub id: RealmId,
    /// True when this call created it (first start of the first node).
    pub created: bool,
    /// Whether any user exists in it: without one, the welcome page offers to create the admin.
    pub has_users: bool,
}

/// The outcome of asking for the first admin to be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCreated {
    /// The user was created with the master `admin` role.
    Created {
        /// The new user's id.
        id: UserId,
        /// The name as stored (lower-cased, as Keycloak stores usernames).
        username: Username,
    },
    /// A user of that name exists already: nothing was changed.
    AlreadyExists,
}

impl Services {
    /// Makes sure the master realm exists with Keycloak's clients and roles; idempotent, and safe
    /// when several nodes call it at once.
    pub async fn ensure_master_realm(&self) -> Result<MasterRealm, ServiceError> {
        let name = master_name()?;
        if let Some(found) = self.read_master(&name).await? {
            return Ok(found);
        }
        let mut tx = self.store().begin().await?;
        let realm_id = create_master(&mut tx, &name).await;
        let realm_id = match realm_id {
            Ok(id) => id,
            Err(StoreError::Conflict(_)) => {
                // Another node created it between our read and our insert.
                tx.rollback().await?;
                return self
                    .read_master(&name)
                    .await?
                    .ok_or_else(|| ServiceError::Internal("master realm vanished".into()));
            }
            Err(e) => return Err(e.into()),
        };
        match tx.commit().await {
            Ok(()) => {
                tracing::info!(realm = MASTER_REALM, "created the master realm");
                Ok(MasterRealm {
                    id: realm_id,
                    created: true,
                    has_users: false,
                })
            }
            Err(StoreError::Conflict(_)) => self
                .read_master(&name)
                .await?
                .ok_or_else(|| ServiceError::Internal("master realm vanished".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the master realm has any user yet (the welcome page asks this on every view).
    pub async fn master_has_users(&self) -> Result<bool, ServiceError> {
        Ok(self
            .read_master(&master_name()?)
            .await?
            .is_some_and(|m| m.has_users))
    }

    /// Creates an administrator of the master realm with the `admin` role, as Keycloak's
    /// bootstrap-admin options and welcome page do. The user is marked `is_temporary_admin`, as
    /// Keycloak 26 marks it, so operators know to replace it with a permanent account.
    pub async fn create_master_admin(
        &self,
        username: &str,
        password: &str,
    ) -> Result<AdminCreated, ServiceError> {
        let username = username.trim();
        if username.is_empty() {
            return Err(ServiceError::Invalid("username is required".into()));
        }
        if password.is_empty() {
            return Err(ServiceError::Invalid("password is required".into()));
        }
        let name = master_name()?;
        let stored = self
            .hasher
            .hash(password.to_owned(), PasswordPolicyHash::default())
            .await?;

        let mut tx = self.store().begin().await?;
        let realm = tx
            .realm_by_name(&name)
            .await?
            .ok_or_else(|| ServiceError::NotFound("realm master".into()))?;
        let username = Username::new(username);
        if tx.user_by_username(&realm.id, &username).await?.is_some() {
            return Ok(AdminCreated::AlreadyExists);
        }
        let user = User {
            id: UserId::new_random(),
            realm_id: realm.id.clone(),
            username,
            email: None,
            first_name: None,
            last_name: None,
            enabled: true,
            email_verified: false,
            created_timestamp: now_millis(),
            federation_link: None,
            service_account_client_link: None,
            attributes: [("is_temporary_admin".to_owned(), vec!["true".to_owned()])].into(),
            required_actions: Vec::new(),
            not_before: 0,
        };
        let user_id = user.id.clone();
        let stored_name = user.username.clone();
        match tx.insert_user(&user).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Ok(AdminCreated::AlreadyExists),
            Err(e) => return Err(e.into()),
        }
        tx.insert_credential(&Credential {
            id: CredentialId::new_random(),
            user_id: user_id.clone(),
            credential_type: "password".into(),
            user_label: None,
            created_date: now_millis(),
            secret_data: stored.secret_data,
            credential_data: stored.credential_data,
            priority: 10,
        })
        .await?;
        let admin = tx
            .realm_role_by_name(&realm.id, "admin")
            .await?
            .ok_or_else(|| ServiceError::Internal("master realm has no admin role".into()))?;
        tx.grant_user_role(&user_id, &admin.id).await?;
        if let Some(default_role) = &realm.default_role_id {
            tx.grant_user_role(&user_id, default_role).await?;
        }
        match tx.commit().await {
            Ok(()) => {
                tracing::info!(realm = MASTER_REALM, "created temporary admin user");
                Ok(AdminCreated::Created {
                    id: user_id,
                    username: stored_name,
                })
            }
            Err(StoreError::Conflict(_)) => Ok(AdminCreated::AlreadyExists),
            Err(e) => Err(e.into()),
        }
    }

    async fn read_master(&self, name: &RealmName) -> Result<Option<MasterRealm>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let Some(realm) = tx.realm_by_name(name).await? else {
            return Ok(None);
        };
        let users = tx.count_users(&realm.id).await?;
        tx.rollback().await?;
        Ok(Some(MasterRealm {
            id: realm.id,
            created: false,
            has_users: users > 0,
        }))
    }
}

fn master_name() -> Result<RealmName, ServiceError> {
    RealmName::new(MASTER_REALM).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Writes the master realm and everything Keycloak puts in it, inside the caller's transaction.
async fn create_master(tx: &mut Tx, name: &RealmName) -> Result<RealmId, StoreError> {
    let mut realm = Realm::new(RealmId::new_random(), name.clone());
    realm.display_name = Some("Keycloak".into());
    // Keycloak gives the administration realm short-lived access tokens.
    realm.access_token_lifespan = 60;
    realm.display_name_html =
        Some("<div class=\"kc-logo-text\"><span>Keycloak</span></div>".into());
    Ok(create_realm_in(tx, realm).await?.id)
}

/// Creates `realm` with everything Keycloak's `RealmManager.createRealm` puts in a new realm,
/// inside the caller's transaction (so a failure leaves nothing half made): the realm row, the
/// default client scopes with their mappers, and [`ensure_builtins`].
///
/// `Conflict("realm name")` when the name is taken. For a realm other than master, the master
/// realm must exist.
pub(crate) async fn create_realm_in(tx: &mut Tx, mut realm: Realm) -> Result<Realm, StoreError> {
    realm.default_role_id = None;
    tx.insert_realm(&realm).await?;
    crate::realm_defaults::create_client_scopes(tx, &realm.id).await?;
    ensure_builtins(tx, &mut realm).await?;
    Ok(realm)
}

/// Deletes a realm and master's `<realm>-realm` client that administers it, inside the caller's
/// transaction.
pub(crate) async fn delete_realm_in(tx: &mut Tx, realm: &Realm) -> Result<bool, StoreError> {
    if let Some(master) = tx.realm_by_name(&master_name_store()?).await? {
        let management = ClientId::new(format!("{}-realm", realm.name));
        if let Some(client) = tx.client_by_client_id(&master.id, &management).await? {
            tx.delete_client(&client.id).await?;
        }
    }
    tx.delete_realm(&realm.id).await
}

fn master_name_store() -> Result<RealmName, StoreError> {
    RealmName::new(MASTER_REALM).map_err(|e| StoreError::Internal(e.to_string()))
}

/// Gives a stored realm whatever of Keycloak's built-in roles and clients it lacks, and leaves
/// what it has alone; a realm creation and an import (whose file may define some of them
/// itself, as Keycloak's `importRealm` allows) share it:
///
/// - realm roles `offline_access`, `uma_authorization` and the composite
///   `default-roles-<realm>` (those two plus `account`'s `view-profile` and `manage-account`),
///   which becomes the realm's default role when it has none;
/// - clients `account`, `account-console`, `admin-cli`, `broker` (role `read-token`) and
///   `security-admin-console`, with URLs naming the realm, each given the realm's default
///   scopes when created here;
/// - administration: in master, roles `admin` and `create-realm` (`admin` includes it); in every
///   realm, a `<realm>-realm` client in master (bearer-only, named "<realm> Realm") whose
///   management roles are all included in master's `admin`; in a realm other than master, a
///   bearer-only `realm-management` client with the management roles and `realm-admin`
///   including all of them.
pub(crate) async fn ensure_builtins(tx: &mut Tx, realm: &mut Realm) -> Result<(), StoreError> {
    let is_master = realm.name.as_str() == MASTER_REALM;
    let rid = realm.id.clone();
    let name = realm.name.as_str().to_owned();
    let mut created_clients = Vec::new();

    let offline = ensure_realm_role(tx, &rid, "offline_access", "${role_offline-access}").await?;
    let uma = ensure_realm_role(tx, &rid, "uma_authorization", "${role_uma_authorization}").await?;
    let new_default_role = match &realm.default_role_id {
        Some(_) => None,
        None => {
            let name = format!("default-roles-{name}");
            match tx.realm_role_by_name(&rid, &name).await? {
                Some(existing) => {
                    realm.default_role_id = Some(existing.id);
                    None
                }
                None => {
                    let id = realm_role(tx, &rid, &name, "${role_default-roles}").await?;
                    tx.add_composite(&id, &offline.0).await?;
                    tx.add_composite(&id, &uma.0).await?;
                    realm.default_role_id = Some(id.clone());
                    Some(id)
                }
            }
        }
    };

    // Master's administrators reach every realm through master's `<realm>-realm` client.
    let (master_id, master_admin) = if is_master {
        let (admin, _) = ensure_realm_role(tx, &rid, "admin", "${role_admin}").await?;
        let (create_realm, created) =
            ensure_realm_role(tx, &rid, "create-realm", "${role_create-realm}").await?;
        if created {
            tx.add_composite(&admin, &create_realm).await?;
        }
        (rid.clone(), admin)
    } else {
        let master = tx
            .realm_by_name(&master_name_store()?)
            .await?
            .ok_or_else(|| StoreError::Internal("the master realm does not exist".into()))?;
        let admin = tx
            .realm_role_by_name(&master.id, "admin")
            .await?
            .ok_or_else(|| StoreError::Internal("master realm has no admin role".into()))?;
        (master.id, admin.id)
    };
    let management_id = ClientId::new(format!("{name}-realm"));
    if tx
        .client_by_client_id(&master_id, &management_id)
        .await?
        .is_none()
    {
        let mut management = client(&master_id, management_id.as_str());
        management.name = Some(format!("{name} Realm"));
        management.bearer_only = true;
        tx.insert_client(&management).await?;
        for (_, role) in client_roles(tx, &master_id, &management.id, MANAGEMENT_ROLES).await? {
            tx.add_composite(&master_admin, &role).await?;
        }
        if is_master {
            created_clients.push(management.id);
        } else {
            crate::realm_defaults::attach_realm_scopes(tx, &master_id, &management.id).await?;
        }
    }
    if !is_master {
        // The realm's own administrators use `realm-management`.
        let own_id = ClientId::new(crate::admin::REALM_MANAGEMENT);
        if tx.client_by_client_id(&rid, &own_id).await?.is_none() {
            let mut own = client(&rid, crate::admin::REALM_MANAGEMENT);
            own.name = Some(format!("${{client_{}}}", crate::admin::REALM_MANAGEMENT));
            own.bearer_only = true;
            tx.insert_client(&own).await?;
            let roles = client_roles(tx, &rid, &own.id, MANAGEMENT_ROLES).await?;
            let realm_admin = role(
                tx,
                &rid,
                Some(&own.id),
                "realm-admin",
                "${role_realm-admin}",
            )
            .await?;
            for (_, role) in &roles {
                tx.add_composite(&realm_admin, role).await?;
            }
            created_clients.push(own.id);
        }
    }

    let account_base = format!("/realms/{name}/account/");
    if tx
        .client_by_client_id(&rid, &ClientId::new("account"))
        .await?
        .is_none()
    {
        let mut account = client(&rid, "account");
        account.name = Some("${client_account}".into());
        account.public_client = true;
        account.root_url = Some("${authBaseUrl}".into());
        account.base_url = Some(account_base.clone());
        account.redirect_uris = vec![format!("{account_base}*")];
        tx.insert_client(&account).await?;
        client_roles(tx, &rid, &account.id, ACCOUNT_ROLES).await?;
        created_clients.push(account.id);
    }
    if let Some(defaults) = &new_default_role
        && let Some(account) = tx
            .client_by_client_id(&rid, &ClientId::new("account"))
            .await?
    {
        for wanted in ["view-profile", "manage-account"] {
            if let Some(r) = tx.client_role_by_name(&account.id, wanted).await? {
                tx.add_composite(defaults, &r.id).await?;
            }
        }
    }

    let builtins: [(&str, BuiltinClient); 4] = [
        ("account-console", account_console),
        ("admin-cli", admin_cli),
        ("broker", broker),
        ("security-admin-console", admin_console),
    ];
    for (client_id, make) in builtins {
        if tx
            .client_by_client_id(&rid, &ClientId::new(client_id))
            .await?
            .is_some()
        {
            continue;
        }
        let c = make(&rid, &name);
        tx.insert_client(&c).await?;
        if client_id == "broker" {
            role(tx, &rid, Some(&c.id), "read-token", "${role_read-token}").await?;
        }
        created_clients.push(c.id);
    }

    for id in &created_clients {
        crate::realm_defaults::attach_realm_scopes(tx, &rid, id).await?;
    }
    tx.update_realm(realm).await?;
    Ok(())
}

/// Makes one of the built-in clients for a realm (id, name).
type BuiltinClient = fn(&RealmId, &str) -> Client;

/// The realm role `name`, created with `description` when missing; `true` when created.
async fn ensure_realm_role(
    tx: &mut Tx,
    realm: &RealmId,
    name: &str,
    description: &str,
) -> Result<(RoleId, bool), StoreError> {
    match tx.realm_role_by_name(realm, name).await? {
        Some(r) => Ok((r.id, false)),
        None => Ok((realm_role(tx, realm, name, description).await?, true)),
    }
}

fn account_console(rid: &RealmId, name: &str) -> Client {
    let account_base = format!("/realms/{name}/account/");
    let mut c = client(rid, "account-console");
    c.name = Some("${client_account-console}".into());
    c.public_client = true;
    c.root_url = Some("${authBaseUrl}".into());
    c.base_url = Some(account_base.clone());
    c.redirect_uris = vec![format!("{account_base}*")];
    c.attributes
        .insert("pkce.code.challenge.method".into(), "S256".into());
    c.attributes
        .insert("post.logout.redirect.uris".into(), "+".into());
    c
}

fn admin_cli(rid: &RealmId, _name: &str) -> Client {
    let mut c = client(rid, "admin-cli");
    c.name = Some("${client_admin-cli}".into());
    c.public_client = true;
    c.standard_flow_enabled = false;
    c.direct_access_grants_enabled = true;
    c
}

fn broker(rid: &RealmId, _name: &str) -> Client {
    let mut c = client(rid, "broker");
    c.name = Some("${client_broker}".into());
    c.secret = Some(gatehouse_crypto::random_secret(24));
    c
}

fn admin_console(rid: &RealmId, name: &str) -> Client {
    let console_base = format!("/admin/{name}/console/");
    let mut c = client(rid, "security-admin-console");
    c.name = Some("${client_security-admin-console}".into());
    c.public_client = true;
    c.root_url = Some("${authAdminUrl}".into());
    c.base_url = Some(console_base.clone());
    c.redirect_uris = vec![format!("{console_base}*")];
    c.web_origins = vec!["+".into()];
    c.attributes
        .insert("pkce.code.challenge.method".into(), "S256".into());
    c.attributes
        .insert("post.logout.redirect.uris".into(), "+".into());
    c
}

fn client(realm: &RealmId, client_id: &str) -> Client {
    let mut c = Client::new(
        ClientUuid::new_random(),
        realm.clone(),
        ClientId::new(client_id),
    );
    c.created_timestamp = now_millis();
    c
}

async fn realm_role(
    tx: &mut Tx,
    realm: &RealmId,
    name: &str,
    description: &str,
) -> Result<RoleId, StoreError> {
    role(tx, realm, None, name, description).await
}

async fn role(
    tx: &mut Tx,
    realm: &RealmId,
    client: Option<&ClientUuid>,
    name: &str,
    description: &str,
) -> Result<RoleId, StoreError> {
    let role = Role {
        id: RoleId::new_random(),
        realm_id: realm.clone(),
        client: client.cloned(),
        name: name.into(),
        description: Some(description.into()),
        attributes: Default::default(),
    };
    tx.insert_role(&role).await?;
    Ok(role.id)
}

/// Creates a client's roles and their composites; returns each name with its id.
async fn client_roles<'t>(
    tx: &mut Tx,
    realm: &RealmId,
    client: &ClientUuid,
    table: &[(&'t str, &[&str])],
) -> Result<Vec<(&'t str, RoleId)>, StoreError> {
    let mut ids: Vec<(&str, RoleId)> = Vec::with_capacity(table.len());
    for (name, _) in table {
        let description = format!("${{role_{name}}}");
        ids.push((
            name,
            role(tx, realm, Some(client), name, &description).await?,
        ));
    }
    for (name, children) in table {
        let parent = lookup(&ids, name);
        for child in *children {
            tx.add_composite(parent, lookup(&ids, child)).await?;
        }
    }
    Ok(ids)
}

fn lookup<'a>(ids: &'a [(&str, RoleId)], name: &str) -> &'a RoleId {
    // The tables above are constants whose composites name roles of the same table.
    #[allow(clippy::expect_used)]
    ids.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, id)| id)
        .expect("composite names a role of the same table")
}
