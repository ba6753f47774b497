//! Admin REST API rules for clients: listing and search, create (with scopes, mappers, secret
//! and service account), partial update, delete, secrets, service-account user, client scope
//! links, sessions and the `keycloak.json` adapter configuration (Keycloak 26's
//! `ClientsResource` and `ClientResource`).

use std::collections::BTreeMap;

use gatehouse_model::rep::client::{ClientAccess, ClientRepresentation};
use gatehouse_model::rep::scope::{ClientScopeRepresentation, ProtocolMapperRepresentation};
use gatehouse_model::rep::session::UserSessionRepresentation;
use gatehouse_model::{Client, ClientId, ClientUuid, MapperOwner, Realm, User, UserId, Username};
use gatehouse_store::Tx;
use serde_json::{Value, json};

use super::{AdminIdentity, Permission};
use crate::clients::{create_client_in, create_service_account, generate_secret};
use crate::{ServiceError, Services, now_secs};

/// Keycloak's page size when `max` is not given.
const DEFAULT_MAX: i64 = 100;

/// The only installation provider served: Keycloak's OIDC adapter JSON.
pub const KEYCLOAK_OIDC_JSON: &str = "keycloak-oidc-keycloak-json";

fn not_found_client() -> ServiceError {
    ServiceError::NotFound("Client".into())
}

/// The client `id` of `realm`, or 404.
pub(crate) async fn client_in(
    tx: &mut Tx,
    realm: &Realm,
    id: &str,
) -> Result<Client, ServiceError> {
    tx.client_by_id(&ClientUuid::new(id))
        .await?
        .filter(|c| c.realm_id == realm.id)
        .ok_or_else(not_found_client)
}

/// Whether `client` is one of the realm management clients Keycloak marks with the
/// `realm_client` attribute.
async fn is_realm_client(
    tx: &mut Tx,
    realm: &Realm,
    client: &Client,
) -> Result<bool, ServiceError> {
    let id = client.client_id.as_str();
    if id == "broker" {
        return Ok(true);
    }
    if realm.name.as_str() == crate::MASTER_REALM {
        match id.strip_suffix("-realm") {
            Some(name) => match gatehouse_model::RealmName::new(name) {
                Ok(name) => Ok(tx.realm_by_name(&name).await?.is_some()),
                Err(_) => Ok(false),
            },
            None => Ok(false),
        }
    } else {
        Ok(id == super::REALM_MANAGEMENT)
    }
}

/// Validates the client's URLs as Keycloak's `DefaultClientValidationProvider` does; the
/// messages are Keycloak's, joined with `"; "`.
pub(crate) fn validate_client_urls(client: &Client) -> Result<(), ServiceError> {
    // Keycloak resolves relative URLs against a stand-in server URL for this check.
    const AUTH: &str = "https://localhost/auth";
    let resolve_root = |u: &str| {
        u.replace("${authBaseUrl}", AUTH)
            .replace("${authAdminUrl}", AUTH)
    };
    let root = client
        .root_url
        .as_deref()
        .filter(|u| !u.is_empty())
        .map(resolve_root);
    let relative = |u: &str, base: &str| {
        if u.starts_with('/') {
            format!("{base}{u}")
        } else {
            resolve_root(u)
        }
    };
    let mut errors: Vec<&'static str> = Vec::new();
    let mut push = |e: &'static str| {
        if !errors.contains(&e) {
            errors.push(e);
        }
    };
    if let Some(root) = &root {
        check_uri(root, true, true, &ROOT_URL, &mut push);
    }
    if let Some(base) = client.base_url.as_deref().filter(|u| !u.is_empty()) {
        check_uri(&relative(base, AUTH), true, false, &BASE_URL, &mut push);
    }
    if let Some(url) = client
        .attributes
        .get("backchannel.logout.url")
        .filter(|u| !u.is_empty())
    {
        check_uri(&relative(url, AUTH), true, false, &BACKCHANNEL, &mut push);
    }
    let redirect_base = root.clone().unwrap_or_else(|| AUTH.to_owned());
    for uri in client.redirect_uris.iter().filter(|u| !u.is_empty()) {
        check_uri(
            &relative(uri, &redirect_base),
            false,
            true,
            &REDIRECT_URIS,
            &mut push,
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(errors.join("; ")))
    }
}

/// Keycloak's messages for one URL field: not a valid URL, has a fragment, illegal scheme.
struct UrlMessages {
    invalid: &'static str,
    fragment: &'static str,
    scheme: &'static str,
}

const ROOT_URL: UrlMessages = UrlMessages {
    invalid: "Root URL is not a valid URL",
    fragment: "Root URL must not contain an URL fragment",
    scheme: "Root URL uses an illegal scheme",
};
const BASE_URL: UrlMessages = UrlMessages {
    invalid: "Base URL is not a valid URL",
    fragment: "",
    scheme: "Base URL uses an illegal scheme",
};
const BACKCHANNEL: UrlMessages = UrlMessages {
    invalid: "Backchannel logout URL is not a valid URL",
    fragment: "",
    scheme: "Backchannel logout URL uses an illegal scheme",
};
const REDIRECT_URIS: UrlMessages = UrlMessages {
    invalid: "A redirect URI is not a valid URI",
    fragment: "Redirect URIs must not contain an URI fragment",
    scheme: "A redirect URI uses an illegal scheme",
};

/// One URL as Keycloak's `checkUri` sees it: a `data:` or `javascript:` scheme is refused, a
/// fragment is refused where `check_fragment`, and with `check_valid_url` the URL must be
/// absolute with a scheme Java can open. Characters no URI may hold make it invalid.
fn check_uri(
    url: &str,
    check_valid_url: bool,
    check_fragment: bool,
    msg: &UrlMessages,
    push: &mut impl FnMut(&'static str),
) {
    const ILLEGAL: &[char] = &[' ', '"', '<', '>', '\\', '^', '`', '{', '|', '}'];
    if url.chars().any(|c| c.is_control() || ILLEGAL.contains(&c)) {
        push(msg.invalid);
        return;
    }
    let scheme = url.split_once(':').map(|(s, _)| s).filter(|s| {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    let mut valid = true;
    if let Some(s) = scheme {
        let s = s.to_ascii_lowercase();
        if s == "data" || s == "javascript" {
            push(msg.scheme);
            valid = false;
        }
    }
    if check_fragment && url.contains('#') {
        push(msg.fragment);
        valid = false;
    }
    if check_valid_url && valid {
        let openable = scheme.is_some_and(|s| {
            ["http", "https", "ftp", "file", "jar", "mailto"]
                .contains(&s.to_ascii_lowercase().as_str())
        });
        if !openable {
            push(msg.invalid);
        }
    }
}

/// Builds the full representation of a stored client.
async fn represent(
    tx: &mut Tx,
    realm: &Realm,
    who: &AdminIdentity,
    client: &Client,
) -> Result<ClientRepresentation, ServiceError> {
    let mut defaults = Vec::new();
    let mut optionals = Vec::new();
    for (scope_id, default) in tx.client_scopes_of(&client.id).await? {
        if let Some(scope) = tx.client_scope_by_id(&scope_id).await? {
            if default {
                defaults.push(scope.name);
            } else {
                optionals.push(scope.name);
            }
        }
    }
    let mappers = tx
        .protocol_mappers_of_client(&client.id)
        .await?
        .iter()
        .map(ProtocolMapperRepresentation::from)
        .collect();
    let realm_client = is_realm_client(tx, realm, client).await?;
    let manage = who.may(realm, Permission::ManageClients);
    let access = ClientAccess {
        view: who.may(realm, Permission::ViewClients),
        configure: manage,
        manage,
    };
    Ok(ClientRepresentation::new(
        client,
        defaults,
        optionals,
        mappers,
        realm_client,
        access,
    ))
}

/// Replaces the client's scope links with the named realm scopes of the client's protocol
/// (unknown names are ignored, as Keycloak ignores them).
async fn link_named_scopes(
    tx: &mut Tx,
    realm: &Realm,
    client: &Client,
    defaults: Option<&[String]>,
    optionals: Option<&[String]>,
) -> Result<(), ServiceError> {
    if defaults.is_none() && optionals.is_none() {
        return Ok(());
    }
    for (scope, _) in tx.client_scopes_of(&client.id).await? {
        tx.remove_client_scope(&client.id, &scope).await?;
    }
    for (names, default) in [(optionals, false), (defaults, true)] {
        for name in names.unwrap_or_default() {
            if let Some(scope) = tx.client_scope_by_name(&realm.id, name).await?
                && scope.protocol == client.protocol
            {
                tx.set_client_scope(&client.id, &scope.id, default).await?;
            }
        }
    }
    Ok(())
}

impl Services {
    /// `GET /clients`: the realm's clients by `clientId`, all or a page (`first`, `max`), one
    /// (`clientId` exact) or those whose `clientId` contains `clientId` (`search=true`). A
    /// caller that may only query clients sees none, as in Keycloak without fine-grained
    /// permissions.
    pub async fn admin_clients(
        &self,
        realm: &Realm,
        who: &AdminIdentity,
        client_id: Option<&str>,
        search: bool,
        first: Option<i64>,
        max: Option<i64>,
    ) -> Result<Vec<ClientRepresentation>, ServiceError> {
        if !who.may(realm, Permission::ViewClients) {
            return Ok(Vec::new());
        }
        let mut tx = self.store().begin_read().await?;
        let client_id = client_id.map(str::trim).filter(|c| !c.is_empty());
        let first = first.unwrap_or(0).max(0);
        let max = max.filter(|m| *m >= 0).unwrap_or(i64::MAX);
        let clients = match client_id {
            Some(id) if !search => tx
                .client_by_client_id(&realm.id, &ClientId::new(id))
                .await?
                .into_iter()
                .collect(),
            other => tx.search_clients(&realm.id, other, first, max).await?,
        };
        let mut out = Vec::with_capacity(clients.len());
        for client in &clients {
            out.push(represent(&mut tx, realm, who, client).await?);
        }
        tx.rollback().await?;
        Ok(out)
    }

    /// `GET /clients/{id}`.
    pub async fn admin_client(
        &self,
        realm: &Realm,
        who: &AdminIdentity,
        id: &str,
    ) -> Result<ClientRepresentation, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let client = client_in(&mut tx, realm, id).await?;
        let rep = represent(&mut tx, realm, who, &client).await?;
        tx.rollback().await?;
        Ok(rep)
    }

    /// `POST /clients`: creates the client as Keycloak does (realm scopes unless the body names
    /// them, its own mappers, a secret for a confidential client unless given, the service
    /// account user); 409 `Client <clientId> already exists`. Returns the new internal id.
    pub async fn admin_create_client(
        &self,
        realm: &Realm,
        rep: &ClientRepresentation,
    ) -> Result<ClientUuid, ServiceError> {
        let client_id = rep
            .client_id
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| ServiceError::Invalid("Client id is missing".into()))?;
        let id = rep
            .id
            .clone()
            .filter(|i| !i.is_empty())
            .map(ClientUuid::new)
            .unwrap_or_else(ClientUuid::new_random);
        let mut client = Client::new(id, realm.id.clone(), ClientId::new(client_id));
        rep.apply_to(&mut client);
        validate_client_urls(&client)?;
        let exists = || ServiceError::Conflict(format!("Client {client_id} already exists"));
        let mut tx = self.store().begin().await?;
        if tx
            .client_by_client_id(&realm.id, &client.client_id)
            .await?
            .is_some()
            || tx.client_by_id(&client.id).await?.is_some()
        {
            tx.rollback().await?;
            return Err(exists());
        }
        let client = match create_client_in(&mut tx, client).await {
            Ok(c) => c,
            Err(ServiceError::Conflict(_)) => {
                tx.rollback().await?;
                return Err(exists());
            }
            Err(e) => return Err(e),
        };
        link_named_scopes(
            &mut tx,
            realm,
            &client,
            rep.default_client_scopes.as_deref(),
            rep.optional_client_scopes.as_deref(),
        )
        .await?;
        let owner = MapperOwner::Client(client.id.clone());
        for mapper in rep.protocol_mappers.iter().flatten() {
            super::scopes::add_mapper(&mut tx, &owner, &client.protocol, mapper).await?;
        }
        tx.commit().await?;
        Ok(client.id)
    }

    /// `PUT /clients/{id}`: changes the fields present. Turning service accounts on creates the
    /// service-account user if missing; a new `clientId` renames it, as Keycloak does.
    pub async fn admin_update_client(
        &self,
        realm: &Realm,
        id: &str,
        rep: &ClientRepresentation,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let mut client = client_in(&mut tx, realm, id).await?;
        let old_client_id = client.client_id.clone();
        rep.apply_to(&mut client);
        if client.client_id.as_str().trim().is_empty() {
            return Err(ServiceError::Invalid("Client id is missing".into()));
        }
        validate_client_urls(&client)?;
        if !client.public_client && !client.bearer_only && client.secret.is_none() {
            client.secret = Some(generate_secret());
        }
        if client.client_id != old_client_id
            && tx
                .client_by_client_id(&realm.id, &client.client_id)
                .await?
                .is_some()
        {
            tx.rollback().await?;
            return Err(ServiceError::Conflict("Client already exists".into()));
        }
        match tx.update_client(&client).await {
            Ok(true) => {}
            Ok(false) => return Err(not_found_client()),
            Err(gatehouse_store::StoreError::Conflict(_)) => {
                return Err(ServiceError::Conflict("Client already exists".into()));
            }
            Err(e) => return Err(e.into()),
        }
        let account = tx.service_account_user_id(&client.id).await?;
        match account {
            Some(user_id) if client.client_id != old_client_id => {
                if let Some(mut user) = tx.user_by_id(&user_id).await? {
                    user.username = Username::new(format!("service-account-{}", client.client_id));
                    tx.update_user(&user).await?;
                }
            }
            None if client.service_accounts_enabled => {
                create_service_account(&mut tx, &realm.id, &client).await?;
            }
            _ => {}
        }
        link_named_scopes(
            &mut tx,
            realm,
            &client,
            rep.default_client_scopes.as_deref(),
            rep.optional_client_scopes.as_deref(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE /clients/{id}`: the client goes with its roles, mappers, scope links, sessions
    /// and service-account user (the database cascades).
    pub async fn admin_delete_client(&self, realm: &Realm, id: &str) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let client = client_in(&mut tx, realm, id).await?;
        // The service-account user's own sessions go with the user; delete it first so its
        // sessions (which reference the user, not the client) go too.
        if let Some(user) = tx.service_account_user_id(&client.id).await? {
            tx.delete_user(&user).await?;
        }
        tx.delete_client(&client.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /clients/{id}/client-secret`: the stored secret (`None` for a client without one).
    pub async fn admin_client_secret(
        &self,
        realm: &Realm,
        id: &str,
    ) -> Result<Option<String>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let client = client_in(&mut tx, realm, id).await?;
        tx.rollback().await?;
        Ok(client.secret)
    }

    /// `POST /clients/{id}/client-secret`: a new random secret (32 alphanumerics, as
    /// Keycloak's), with its creation time; the old one stops working at once.
    pub async fn admin_regenerate_secret(
        &self,
        realm: &Realm,
        id: &str,
    ) -> Result<String, ServiceError> {
        let mut tx = self.store().begin().await?;
        let mut client = client_in(&mut tx, realm, id).await?;
        let secret = generate_secret();
        client.secret = Some(secret.clone());
        client
            .attributes
            .insert("client.secret.creation.time".into(), now_secs().to_string());
        tx.update_client(&client).await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// `GET /clients/{id}/service-account-user`: the client's service-account user, created if
    /// service accounts are on and it is missing; 400 when they are off.
    pub async fn admin_service_account_user(
        &self,
        realm: &Realm,
        id: &str,
    ) -> Result<User, ServiceError> {
        let mut tx = self.store().begin().await?;
        let client = client_in(&mut tx, realm, id).await?;
        let user_id = match tx.service_account_user_id(&client.id).await? {
            Some(user) => user,
            None if client.service_accounts_enabled => {
                create_service_account(&mut tx, &realm.id, &client).await?;
                tx.service_account_user_id(&client.id)
                    .await?
                    .ok_or_else(|| ServiceError::Internal("service account not created".into()))?
            }
            None => {
                tx.rollback().await?;
                return Err(ServiceError::Invalid(format!(
                    "Service account not enabled for the client '{}'",
                    client.client_id
                )));
            }
        };
        let user = tx
            .user_by_id(&user_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("User".into()))?;
        tx.commit().await?;
        Ok(user)
    }

    /// `GET /clients/{id}/default-client-scopes` (`default`) or `optional-client-scopes`:
    /// `{id, name}` of each.
    pub async fn admin_client_scope_links(
        &self,
        realm: &Realm,
        id: &str,
        default: bool,
    ) -> Result<Vec<ClientScopeRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let client = client_in(&mut tx, realm, id).await?;
        let mut out = Vec::new();
        for (scope_id, is_default) in tx.client_scopes_of(&client.id).await? {
            if is_default != default {
                continue;
            }
            if let Some(scope) = tx.client_scope_by_id(&scope_id).await? {
                out.push(ClientScopeRepresentation::brief(&scope));
            }
        }
        tx.rollback().await?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// `PUT /clients/{id}/default-client-scopes/{scopeId}` (`default`) or
    /// `optional-client-scopes/{scopeId}`: links the realm's scope (404 `Client scope not
    /// found`).
    pub async fn admin_link_client_scope(
        &self,
        realm: &Realm,
        id: &str,
        scope_id: &str,
        default: bool,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let client = client_in(&mut tx, realm, id).await?;
        let scope = super::scopes::scope_in(&mut tx, realm, scope_id)
            .await
            .map_err(|_| ServiceError::NotFound("Client scope".into()))?;
        tx.set_client_scope(&client.id, &scope.id, default).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE /clients/{id}/default-client-scopes/{scopeId}` (or optional): unlinks it.
    pub async fn admin_unlink_client_scope(
        &self,
        realm: &Realm,
        id: &str,
        scope_id: &str,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let client = client_in(&mut tx, realm, id).await?;
        let scope = super::scopes::scope_in(&mut tx, realm, scope_id)
            .await
            .map_err(|_| ServiceError::NotFound("Client scope".into()))?;
        tx.remove_client_scope(&client.id, &scope.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /clients/{id}/user-sessions` (`offline` false) or `offline-sessions`: a page of the
    /// sessions the client takes part in (`first` 0 and `max` 100 by default, as Keycloak).
    pub async fn admin_client_sessions(
        &self,
        realm: &Realm,
        id: &str,
        offline: bool,
        first: Option<i64>,
        max: Option<i64>,
    ) -> Result<Vec<UserSessionRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let client = client_in(&mut tx, realm, id).await?;
        let sessions = tx
            .user_sessions_of_client(
                &client.id,
                offline,
                first.unwrap_or(0).max(0),
                max.filter(|m| *m >= 0).unwrap_or(DEFAULT_MAX),
            )
            .await?;
        let mut usernames: BTreeMap<UserId, String> = BTreeMap::new();
        let mut client_ids: BTreeMap<ClientUuid, String> = BTreeMap::new();
        let mut out = Vec::with_capacity(sessions.len());
        for session in &sessions {
            if !usernames.contains_key(&session.user_id) {
                let name = tx
                    .user_by_id(&session.user_id)
                    .await?
                    .map(|u| u.username.into_string())
                    .unwrap_or_default();
                usernames.insert(session.user_id.clone(), name);
            }
            let mut clients = Vec::new();
            for cs in tx.client_sessions_of(&session.id, offline).await? {
                if !client_ids.contains_key(&cs.client_id) {
                    let name = tx
                        .client_by_id(&cs.client_id)
                        .await?
                        .map(|c| c.client_id.into_string())
                        .unwrap_or_default();
                    client_ids.insert(cs.client_id.clone(), name);
                }
                let name = client_ids.get(&cs.client_id).cloned().unwrap_or_default();
                clients.push((cs.client_id.to_string(), name));
            }
            let username = usernames.get(&session.user_id).cloned().unwrap_or_default();
            out.push(UserSessionRepresentation::new(session, &username, clients));
        }
        tx.rollback().await?;
        Ok(out)
    }

    /// `GET /clients/{id}/session-count` (`offline` false) or `offline-session-count`.
    pub async fn admin_client_session_count(
        &self,
        realm: &Realm,
        id: &str,
        offline: bool,
    ) -> Result<i64, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let client = client_in(&mut tx, realm, id).await?;
        let count = tx.count_sessions_of_client(&client.id, offline).await?;
        tx.rollback().await?;
        Ok(count)
    }

    /// `GET /clients/{id}/installation/providers/keycloak-oidc-keycloak-json`: the adapter
    /// configuration Keycloak's `KeycloakOIDCClientInstallation` writes. `server_url` is the
    /// frontend URL the request came in on.
    pub async fn admin_client_installation(
        &self,
        realm: &Realm,
        id: &str,
        provider: &str,
        server_url: &str,
    ) -> Result<Value, ServiceError> {
        if provider != KEYCLOAK_OIDC_JSON {
            return Err(ServiceError::NotFound("Installation provider".into()));
        }
        let mut tx = self.store().begin_read().await?;
        let client = client_in(&mut tx, realm, id).await?;
        let has_roles = !tx.list_client_roles(&client.id).await?.is_empty();
        tx.rollback().await?;
        let mut out = serde_json::Map::new();
        out.insert("realm".into(), json!(realm.name.as_str()));
        out.insert("auth-server-url".into(), json!(format!("{server_url}/")));
        out.insert("ssl-required".into(), json!(realm.ssl_required.as_str()));
        if client.bearer_only {
            out.insert("bearer-only".into(), json!(true));
        }
        out.insert("resource".into(), json!(client.client_id.as_str()));
        if client.public_client && !client.bearer_only {
            out.insert("public-client".into(), json!(true));
        }
        // Keycloak leaves the credentials out for public clients and for bearer-only
        // clients without a service account.
        let show_credentials =
            !client.public_client && (!client.bearer_only || client.service_accounts_enabled);
        if show_credentials && client.client_authenticator_type == "client-secret" {
            out.insert(
                "credentials".into(),
                json!({"secret": client.secret.clone().unwrap_or_default()}),
            );
        }
        if has_roles {
            out.insert("use-resource-role-mappings".into(), json!(true));
        }
        out.insert("confidential-port".into(), json!(0));
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_model::RealmId;

    fn client(redirects: &[&str]) -> Client {
        let mut c = Client::new(
            ClientUuid::new("c"),
            RealmId::new("r"),
            ClientId::new("app"),
        );
        c.redirect_uris = redirects.iter().map(|s| (*s).to_owned()).collect();
        c
    }

    fn message(c: &Client) -> Option<String> {
        match validate_client_urls(c) {
            Ok(()) => None,
            Err(ServiceError::Invalid(m)) => Some(m),
            Err(e) => Some(format!("unexpected {e}")),
        }
    }

    #[test]
    fn redirect_uris_are_checked_as_keycloak_checks_them() {
        assert_eq!(
            message(&client(&[
                "https://app/*",
                "/relative/*",
                "+",
                "*",
                "myapp:/cb"
            ])),
            None
        );
        assert_eq!(
            message(&client(&["javascript:alert(1)"])).as_deref(),
            Some("A redirect URI uses an illegal scheme")
        );
        assert_eq!(
            message(&client(&["https://app/cb#x"])).as_deref(),
            Some("Redirect URIs must not contain an URI fragment")
        );
        assert_eq!(
            message(&client(&["https://app/a b"])).as_deref(),
            Some("A redirect URI is not a valid URI")
        );
        let mut c = client(&["data:text/html,x"]);
        c.root_url = Some("not a url".into());
        assert_eq!(
            message(&c).as_deref(),
            Some("Root URL is not a valid URL; A redirect URI uses an illegal scheme")
        );
        let mut c = client(&[]);
        c.root_url = Some("app.example".into());
        c.base_url = Some("/home".into());
        assert_eq!(message(&c).as_deref(), Some("Root URL is not a valid URL"));
        c.root_url = Some("${authBaseUrl}".into());
        assert_eq!(message(&c), None);
    }

    #[test]
    fn secrets_are_32_alphanumerics() {
        let a = generate_secret();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, generate_secret());
    }
}
