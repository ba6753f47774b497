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

/// Roles of the `master-realm` client (the `realm-management` roles of the master realm),
/// each with the roles it includes, as Keycloak defines them.
const MANAGEMENT_ROLES: &[(&str, &[&str])] = &[
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
    tx.insert_realm(&realm).await?;
    let rid = realm.id.clone();
    crate::realm_defaults::create_client_scopes(tx, &rid).await?;

    let offline = realm_role(tx, &rid, "offline_access", "${role_offline-access}").await?;
    let uma = realm_role(tx, &rid, "uma_authorization", "${role_uma_authorization}").await?;
    let admin = realm_role(tx, &rid, "admin", "${role_admin}").await?;
    let create_realm = realm_role(tx, &rid, "create-realm", "${role_create-realm}").await?;
    let defaults = realm_role(tx, &rid, "default-roles-master", "${role_default-roles}").await?;
    tx.add_composite(&admin, &create_realm).await?;
    tx.add_composite(&defaults, &offline).await?;
    tx.add_composite(&defaults, &uma).await?;

    // The realm-management client of the master realm is called `<realm>-realm`.
    let mut management = client(&rid, "master-realm");
    management.name = Some("master Realm".into());
    management.bearer_only = true;
    management.standard_flow_enabled = true;
    tx.insert_client(&management).await?;
    for (_, role) in client_roles(tx, &rid, &management.id, MANAGEMENT_ROLES).await? {
        tx.add_composite(&admin, &role).await?;
    }

    let mut account = client(&rid, "account");
    account.name = Some("${client_account}".into());
    account.public_client = true;
    account.root_url = Some("${authBaseUrl}".into());
    account.base_url = Some("/realms/master/account/".into());
    account.redirect_uris = vec!["/realms/master/account/*".into()];
    tx.insert_client(&account).await?;
    let account_roles = client_roles(tx, &rid, &account.id, ACCOUNT_ROLES).await?;
    for wanted in ["view-profile", "manage-account"] {
        tx.add_composite(&defaults, lookup(&account_roles, wanted))
            .await?;
    }

    let mut account_console = client(&rid, "account-console");
    account_console.name = Some("${client_account-console}".into());
    account_console.public_client = true;
    account_console.root_url = Some("${authBaseUrl}".into());
    account_console.base_url = Some("/realms/master/account/".into());
    account_console.redirect_uris = vec!["/realms/master/account/*".into()];
    account_console
        .attributes
        .insert("pkce.code.challenge.method".into(), "S256".into());
    account_console
        .attributes
        .insert("post.logout.redirect.uris".into(), "+".into());
    tx.insert_client(&account_console).await?;

    let mut admin_cli = client(&rid, "admin-cli");
    admin_cli.name = Some("${client_admin-cli}".into());
    admin_cli.public_client = true;
    admin_cli.standard_flow_enabled = false;
    admin_cli.direct_access_grants_enabled = true;
    tx.insert_client(&admin_cli).await?;

    let mut broker = client(&rid, "broker");
    broker.name = Some("${client_broker}".into());
    broker.secret = Some(gatehouse_crypto::random_secret(24));
    tx.insert_client(&broker).await?;
    role(
        tx,
        &rid,
        Some(&broker.id),
        "read-token",
        "${role_read-token}",
    )
    .await?;

    let mut console = client(&rid, "security-admin-console");
    console.name = Some("${client_security-admin-console}".into());
    console.public_client = true;
    console.root_url = Some("${authAdminUrl}".into());
    console.base_url = Some("/admin/master/console/".into());
    console.redirect_uris = vec!["/admin/master/console/*".into()];
    console.web_origins = vec!["+".into()];
    console
        .attributes
        .insert("pkce.code.challenge.method".into(), "S256".into());
    console
        .attributes
        .insert("post.logout.redirect.uris".into(), "+".into());
    tx.insert_client(&console).await?;

    for client in tx.list_clients(&rid).await? {
        crate::realm_defaults::attach_realm_scopes(tx, &rid, &client.id).await?;
    }
    realm.default_role_id = Some(defaults);
    tx.update_realm(&realm).await?;
    Ok(rid)
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
