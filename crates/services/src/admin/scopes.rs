//! Admin REST API rules for client scopes, the realm's default and optional scopes, and
//! protocol mappers of clients and client scopes alike (Keycloak 26's `ClientScopesResource`,
//! `ClientScopeResource`, `ProtocolMappersResource` and the realm's default-scope endpoints).

use gatehouse_model::rep::scope::{ClientScopeRepresentation, ProtocolMapperRepresentation};
use gatehouse_model::{
    ClientScope, ClientScopeId, MapperOwner, ProtocolMapper, ProtocolMapperId, Realm,
};
use gatehouse_store::Tx;

use super::{AdminIdentity, Permission};
use crate::{ServiceError, Services};

/// The protocols a client scope may have (Keycloak's login protocols).
const PROTOCOLS: &[&str] = &["openid-connect", "saml", "oid4vc"];

/// The scope `id` of `realm`, or 404 (`ClientScope`, which the admin API renders as Keycloak's
/// "Could not find client scope").
pub(crate) async fn scope_in(
    tx: &mut Tx,
    realm: &Realm,
    id: &str,
) -> Result<ClientScope, ServiceError> {
    tx.client_scope_by_id(&ClientScopeId::new(id))
        .await?
        .filter(|s| s.realm_id == realm.id)
        .ok_or_else(|| ServiceError::NotFound("ClientScope".into()))
}

/// Keycloak's scope-name rule: printable ASCII without space, `"` or `\`.
fn validate_scope_name(name: &str) -> Result<(), ServiceError> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
    if ok {
        Ok(())
    } else {
        Err(ServiceError::Invalid(format!(
            "Unexpected name \"{name}\" for ClientScope"
        )))
    }
}

/// Checks that the mapper owner exists in `realm`: 404 `Client` or `ClientScope`.
async fn owner_in(tx: &mut Tx, realm: &Realm, owner: &MapperOwner) -> Result<String, ServiceError> {
    match owner {
        MapperOwner::Client(id) => Ok(super::clients::client_in(tx, realm, id.as_str())
            .await?
            .protocol),
        MapperOwner::ClientScope(id) => Ok(scope_in(tx, realm, id.as_str()).await?.protocol),
    }
}

async fn mappers_of(tx: &mut Tx, owner: &MapperOwner) -> Result<Vec<ProtocolMapper>, ServiceError> {
    Ok(match owner {
        MapperOwner::Client(id) => tx.protocol_mappers_of_client(id).await?,
        MapperOwner::ClientScope(id) => tx.protocol_mappers_of_scope(id).await?,
    })
}

/// The mapper type must be one Gatehouse interprets: Keycloak answers 404 "ProtocolMapper
/// provider not found" for a type it has no provider for, before any other check.
fn known_type(mapper_type: Option<&str>) -> Result<String, ServiceError> {
    mapper_type
        .filter(|t| crate::claims::MAPPER_TYPES.contains(t))
        .map(str::to_owned)
        .ok_or_else(|| ServiceError::NotFound("ProtocolMapper provider".into()))
}

/// Adds one mapper to `owner` in `tx`, with Keycloak's checks in Keycloak's order: a known
/// type, then a name unique per protocol among the owner's mappers. Returns its id.
pub(crate) async fn add_mapper(
    tx: &mut Tx,
    owner: &MapperOwner,
    default_protocol: &str,
    rep: &ProtocolMapperRepresentation,
) -> Result<ProtocolMapperId, ServiceError> {
    let mapper_type = known_type(rep.protocol_mapper.as_deref())?;
    let name = rep
        .name
        .clone()
        .ok_or_else(|| ServiceError::Conflict("Duplicate resource error".into()))?;
    let protocol = rep
        .protocol
        .clone()
        .unwrap_or_else(|| default_protocol.to_owned());
    if mappers_of(tx, owner)
        .await?
        .iter()
        .any(|m| m.name == name && m.protocol == protocol)
    {
        return Err(ServiceError::Conflict(
            "Protocol mapper exists with same name".into(),
        ));
    }
    let mapper = ProtocolMapper {
        id: ProtocolMapperId::new_random(),
        name,
        protocol,
        mapper_type,
        owner: owner.clone(),
        config: rep.config.clone().unwrap_or_default(),
    };
    tx.insert_protocol_mapper(&mapper).await?;
    Ok(mapper.id)
}

/// The mapper `id` of `owner`, or 404 `Model` (Keycloak's "Model not found").
async fn mapper_of(
    tx: &mut Tx,
    owner: &MapperOwner,
    id: &str,
) -> Result<ProtocolMapper, ServiceError> {
    tx.protocol_mapper_by_id(&ProtocolMapperId::new(id))
        .await?
        .filter(|m| &m.owner == owner)
        .ok_or_else(|| ServiceError::NotFound("Model".into()))
}

impl Services {
    /// `GET /client-scopes`: every scope of the realm with its mappers, or none for a caller
    /// that may only query clients (Keycloak's `canViewClientScopes`).
    pub async fn admin_client_scopes(
        &self,
        realm: &Realm,
        who: &AdminIdentity,
    ) -> Result<Vec<ClientScopeRepresentation>, ServiceError> {
        if !who.may(realm, Permission::ViewClients) {
            return Ok(Vec::new());
        }
        let mut tx = self.store().begin_read().await?;
        let mut out = Vec::new();
        for scope in tx.list_client_scopes(&realm.id).await? {
            let mappers = tx.protocol_mappers_of_scope(&scope.id).await?;
            out.push(ClientScopeRepresentation::new(&scope, &mappers));
        }
        tx.rollback().await?;
        Ok(out)
    }

    /// `GET /client-scopes/{id}`.
    pub async fn admin_client_scope(
        &self,
        realm: &Realm,
        id: &str,
    ) -> Result<ClientScopeRepresentation, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let scope = scope_in(&mut tx, realm, id).await?;
        let mappers = tx.protocol_mappers_of_scope(&scope.id).await?;
        tx.rollback().await?;
        Ok(ClientScopeRepresentation::new(&scope, &mappers))
    }

    /// `POST /client-scopes`: name checked by Keycloak's pattern, protocol one of the known
    /// ones, `include.in.token.scope` defaulting to `true` for OpenID Connect; its mappers
    /// created with it. 409 `Client Scope <name> already exists`. Returns the new id.
    pub async fn admin_create_client_scope(
        &self,
        realm: &Realm,
        rep: &ClientScopeRepresentation,
    ) -> Result<ClientScopeId, ServiceError> {
        let name = rep.name.clone().unwrap_or_default();
        validate_scope_name(&name)?;
        let protocol = rep
            .protocol
            .clone()
            .filter(|p| PROTOCOLS.contains(&p.as_str()))
            .ok_or_else(|| ServiceError::Invalid("Unexpected protocol".into()))?;
        let mut scope = ClientScope {
            id: rep
                .id
                .clone()
                .filter(|i| !i.is_empty())
                .map(ClientScopeId::new)
                .unwrap_or_else(ClientScopeId::new_random),
            realm_id: realm.id.clone(),
            name: name.clone(),
            description: None,
            protocol: protocol.clone(),
            attributes: Default::default(),
        };
        rep.apply_to(&mut scope);
        if protocol == crate::realm_defaults::OIDC {
            scope
                .attributes
                .entry("include.in.token.scope".into())
                .or_insert_with(|| "true".into());
        }
        let exists = || ServiceError::Conflict(format!("Client Scope {name} already exists"));
        let mut tx = self.store().begin().await?;
        if tx.client_scope_by_name(&realm.id, &name).await?.is_some()
            || tx.client_scope_by_id(&scope.id).await?.is_some()
        {
            tx.rollback().await?;
            return Err(exists());
        }
        match tx.insert_client_scope(&scope).await {
            Ok(()) => {}
            Err(gatehouse_store::StoreError::Conflict(_)) => return Err(exists()),
            Err(e) => return Err(e.into()),
        }
        let owner = MapperOwner::ClientScope(scope.id.clone());
        for mapper in rep.protocol_mappers.iter().flatten() {
            add_mapper(&mut tx, &owner, &protocol, mapper).await?;
        }
        tx.commit().await?;
        Ok(scope.id)
    }

    /// `PUT /client-scopes/{id}`: changes the fields present (the name is checked again).
    pub async fn admin_update_client_scope(
        &self,
        realm: &Realm,
        id: &str,
        rep: &ClientScopeRepresentation,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let mut scope = scope_in(&mut tx, realm, id).await?;
        rep.apply_to(&mut scope);
        validate_scope_name(&scope.name)?;
        let exists =
            || ServiceError::Conflict(format!("Client Scope {} already exists", scope.name));
        if tx
            .client_scope_by_name(&realm.id, &scope.name)
            .await?
            .is_some_and(|other| other.id != scope.id)
        {
            tx.rollback().await?;
            return Err(exists());
        }
        match tx.update_client_scope(&scope).await {
            Ok(_) => {}
            Err(gatehouse_store::StoreError::Conflict(_)) => return Err(exists()),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE /client-scopes/{id}`: the scope goes with its mappers and every client and
    /// realm-default link to it, as in Keycloak 26; the realm's last scope cannot go (403 "You
    /// are not allowed to delete all the client scopes.").
    pub async fn admin_delete_client_scope(
        &self,
        realm: &Realm,
        id: &str,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let scope = scope_in(&mut tx, realm, id).await?;
        if tx.list_client_scopes(&realm.id).await?.len() <= 1 {
            tx.rollback().await?;
            return Err(ServiceError::Forbidden(
                "You are not allowed to delete all the client scopes.".into(),
            ));
        }
        tx.delete_client_scope(&scope.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /default-default-client-scopes` (`default`) or `default-optional-client-scopes`:
    /// `{id, name}` of each.
    pub async fn admin_realm_default_scopes(
        &self,
        realm: &Realm,
        default: bool,
    ) -> Result<Vec<ClientScopeRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let mut out = Vec::new();
        for (scope_id, is_default) in tx.realm_default_scopes(&realm.id).await? {
            if is_default == default
                && let Some(scope) = tx.client_scope_by_id(&scope_id).await?
            {
                out.push(ClientScopeRepresentation::brief(&scope));
            }
        }
        tx.rollback().await?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// `PUT /default-default-client-scopes/{id}` (`default`) or
    /// `default-optional-client-scopes/{id}`: new clients get the scope; 404 `Client scope not
    /// found`.
    pub async fn admin_set_realm_default_scope(
        &self,
        realm: &Realm,
        id: &str,
        default: bool,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let scope = scope_in(&mut tx, realm, id)
            .await
            .map_err(|_| ServiceError::NotFound("Client scope".into()))?;
        tx.set_realm_default_scope(&realm.id, &scope.id, default)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE /default-default-client-scopes/{id}` (or optional): new clients no longer get it.
    pub async fn admin_remove_realm_default_scope(
        &self,
        realm: &Realm,
        id: &str,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let scope = scope_in(&mut tx, realm, id)
            .await
            .map_err(|_| ServiceError::NotFound("Client scope".into()))?;
        tx.remove_realm_default_scope(&realm.id, &scope.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET .../protocol-mappers/models` of a client or client scope, or only those of one
    /// protocol (`.../protocol-mappers/protocol/{protocol}`).
    pub async fn admin_mappers(
        &self,
        realm: &Realm,
        owner: &MapperOwner,
        protocol: Option<&str>,
    ) -> Result<Vec<ProtocolMapperRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        owner_in(&mut tx, realm, owner).await?;
        let mappers = mappers_of(&mut tx, owner).await?;
        tx.rollback().await?;
        Ok(mappers
            .iter()
            .filter(|m| protocol.is_none_or(|p| m.protocol == p))
            .map(ProtocolMapperRepresentation::from)
            .collect())
    }

    /// `GET .../protocol-mappers/models/{id}`.
    pub async fn admin_mapper(
        &self,
        realm: &Realm,
        owner: &MapperOwner,
        id: &str,
    ) -> Result<ProtocolMapperRepresentation, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        owner_in(&mut tx, realm, owner).await?;
        let mapper = mapper_of(&mut tx, owner, id).await?;
        tx.rollback().await?;
        Ok(ProtocolMapperRepresentation::from(&mapper))
    }

    /// `POST .../protocol-mappers/models` (one) and `.../add-models` (several, all or none).
    /// Returns the new ids.
    pub async fn admin_add_mappers(
        &self,
        realm: &Realm,
        owner: &MapperOwner,
        reps: &[ProtocolMapperRepresentation],
    ) -> Result<Vec<ProtocolMapperId>, ServiceError> {
        let mut tx = self.store().begin().await?;
        let protocol = owner_in(&mut tx, realm, owner).await?;
        let mut ids = Vec::with_capacity(reps.len());
        for rep in reps {
            match add_mapper(&mut tx, owner, &protocol, rep).await {
                Ok(id) => ids.push(id),
                Err(e) => {
                    tx.rollback().await?;
                    return Err(e);
                }
            }
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// `PUT .../protocol-mappers/models/{id}`: as Keycloak's update, the type and the whole
    /// configuration are replaced (an absent config empties it); the name stays.
    pub async fn admin_update_mapper(
        &self,
        realm: &Realm,
        owner: &MapperOwner,
        id: &str,
        rep: &ProtocolMapperRepresentation,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        owner_in(&mut tx, realm, owner).await?;
        let mut mapper = mapper_of(&mut tx, owner, id).await?;
        mapper.mapper_type = known_type(rep.protocol_mapper.as_deref())?;
        mapper.config = rep.config.clone().unwrap_or_default();
        tx.update_protocol_mapper(&mapper).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE .../protocol-mappers/models/{id}`.
    pub async fn admin_delete_mapper(
        &self,
        realm: &Realm,
        owner: &MapperOwner,
        id: &str,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        owner_in(&mut tx, realm, owner).await?;
        let mapper = mapper_of(&mut tx, owner, id).await?;
        tx.delete_protocol_mapper(&mapper.id).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_follow_keycloaks_pattern() {
        assert!(validate_scope_name("read:all").is_ok());
        assert!(validate_scope_name("microprofile-jwt").is_ok());
        for bad in ["", "has space", "quo\"te", "back\\slash", "tab\t"] {
            match validate_scope_name(bad) {
                Err(ServiceError::Invalid(m)) => {
                    assert_eq!(m, format!("Unexpected name \"{bad}\" for ClientScope"))
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn only_interpreted_mapper_types_are_accepted() {
        assert!(known_type(Some("oidc-hardcoded-claim-mapper")).is_ok());
        assert!(matches!(
            known_type(Some("script-foo")),
            Err(ServiceError::NotFound(w)) if w == "ProtocolMapper provider"
        ));
        assert!(known_type(None).is_err());
    }
}
