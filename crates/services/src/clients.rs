//! Client life cycle rules that hold wherever a client is created from (admin API, import,
//! bootstrap): realm scopes attached, a secret for confidential clients, and a service-account
//! user for clients that use the client-credentials grant.

use gatehouse_model::{Client, RealmId, User, UserId, Username};
use gatehouse_store::Tx;

use crate::{ServiceError, Services, now_millis};

impl Services {
    /// Creates a client in a realm, as Keycloak's client creation does: the realm's default and
    /// optional client scopes are attached, a confidential client without a secret gets a random
    /// one, and `serviceAccountsEnabled` creates the `service-account-<clientId>` user with the
    /// realm's default roles. Returns the client as stored.
    pub async fn create_client(&self, client: Client) -> Result<Client, ServiceError> {
        let mut tx = self.store().begin().await?;
        let client = create_client_in(&mut tx, client).await?;
        tx.commit().await?;
        Ok(client)
    }
}

pub(crate) async fn create_client_in(
    tx: &mut Tx,
    mut client: Client,
) -> Result<Client, ServiceError> {
    if !client.public_client && !client.bearer_only && client.secret.is_none() {
        client.secret = Some(generate_secret());
    }
    if client.created_timestamp == 0 {
        client.created_timestamp = now_millis();
    }
    tx.insert_client(&client).await?;
    crate::realm_defaults::attach_realm_scopes(tx, &client.realm_id, &client.id).await?;
    if client.service_accounts_enabled {
        create_service_account(tx, &client.realm_id, &client).await?;
    }
    Ok(client)
}

/// Keycloak's client secret: 32 characters from `[A-Za-z0-9]` (256 bits as Keycloak counts
/// them; `SecretGenerator.randomString`).
pub(crate) fn generate_secret() -> String {
    const LEN: usize = 32;
    let mut out = String::with_capacity(LEN);
    // Base64url of random bytes is uniform over 64 symbols; dropping `-` and `_` leaves a
    // uniform choice among the 62 alphanumerics.
    while out.len() < LEN {
        let chunk = gatehouse_crypto::random_secret(48);
        out.extend(
            chunk
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(LEN - out.len()),
        );
    }
    out
}

/// Creates the `service-account-<clientId>` user of a client, with the realm's default roles
/// (Keycloak's `ClientManager.enableServiceAccount`).
pub(crate) async fn create_service_account(
    tx: &mut Tx,
    realm: &RealmId,
    client: &Client,
) -> Result<(), ServiceError> {
    let user = User {
        id: UserId::new_random(),
        realm_id: realm.clone(),
        username: Username::new(format!("service-account-{}", client.client_id)),
        email: None,
        first_name: None,
        last_name: None,
        enabled: true,
        email_verified: false,
        created_timestamp: now_millis(),
        federation_link: None,
        service_account_client_link: Some(client.id.clone()),
        attributes: Default::default(),
        required_actions: Vec::new(),
        not_before: 0,
    };
    tx.insert_user(&user).await?;
    if let Some(default_role) = tx.realm_by_id(realm).await?.and_then(|r| r.default_role_id) {
        tx.grant_user_role(&user.id, &default_role).await?;
    }
    Ok(())
}

impl Services {
    /// The names of the realm's OpenID Connect client scopes (for discovery's `scopes_supported`).
    pub async fn client_scope_names(
        &self,
        realm: &gatehouse_model::Realm,
    ) -> Result<Vec<String>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let scopes = tx.list_client_scopes(&realm.id).await?;
        tx.rollback().await?;
        Ok(scopes
            .into_iter()
            .filter(|s| s.protocol == crate::realm_defaults::OIDC)
            .map(|s| s.name)
            .collect())
    }
}

impl Services {
    /// Whether `origin` is one of the client's web origins (`+` standing for the origins of its
    /// redirect URIs, `*` for any), for CORS and the session iframe.
    pub async fn client_allows_origin(
        &self,
        realm: &gatehouse_model::Realm,
        client_id: &str,
        origin: &str,
    ) -> Result<bool, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let client = tx
            .client_by_client_id(&realm.id, &gatehouse_model::ClientId::new(client_id))
            .await?;
        tx.rollback().await?;
        Ok(client.filter(|c| c.enabled).is_some_and(|c| {
            crate::tokens::allowed_origins(&c)
                .iter()
                .any(|o| o == "*" || o == origin)
        }))
    }
}
