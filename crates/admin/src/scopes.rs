//! Admin REST API: client scopes (`/admin/realms/{realm}/client-scopes...`), the realm's
//! default and optional client scopes, and the protocol-mapper endpoints shared by clients and
//! client scopes.

use axum::Json;
use axum::Router;
use axum::extract::{FromRef, Path};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use gatehouse_model::rep::scope::{ClientScopeRepresentation, ProtocolMapperRepresentation};
use gatehouse_model::{ClientScopeId, MapperOwner};
use gatehouse_services::Services;

use crate::AdminJson;
use crate::auth::{InRealm, need};
use crate::clients::ClientsResult;

pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    const S: &str = "/admin/realms/{realm}/client-scopes/{id}";
    Router::new()
        .route(
            "/admin/realms/{realm}/client-scopes",
            get(list_scopes).post(create_scope),
        )
        .route(S, get(get_scope).put(update_scope).delete(delete_scope))
        .route(
            &format!("{S}/protocol-mappers/models"),
            get(list_mappers).post(create_mapper),
        )
        .route(
            &format!("{S}/protocol-mappers/add-models"),
            post(add_mappers),
        )
        .route(
            &format!("{S}/protocol-mappers/models/{{mapper}}"),
            get(get_mapper).put(update_mapper).delete(delete_mapper),
        )
        .route(
            &format!("{S}/protocol-mappers/protocol/{{protocol}}"),
            get(mappers_by_protocol),
        )
        .route(
            "/admin/realms/{realm}/default-default-client-scopes",
            get(realm_defaults),
        )
        .route(
            "/admin/realms/{realm}/default-default-client-scopes/{id}",
            put(set_realm_default).delete(remove_realm_default),
        )
        .route(
            "/admin/realms/{realm}/default-optional-client-scopes",
            get(realm_optionals),
        )
        .route(
            "/admin/realms/{realm}/default-optional-client-scopes/{id}",
            put(set_realm_optional).delete(remove_realm_default),
        )
}

fn no_content() -> axum::response::Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn list_scopes(r: InRealm<need::QueryClients>) -> ClientsResult {
    // Keycloak's requireListClientScopes: view-clients, manage-clients or query-clients.
    Ok(Json(r.services.admin_client_scopes(&r.realm, &r.who).await?).into_response())
}

async fn create_scope(
    r: InRealm<need::ManageClients>,
    AdminJson(rep): AdminJson<ClientScopeRepresentation>,
) -> ClientsResult {
    let id = r.services.admin_create_client_scope(&r.realm, &rep).await?;
    Ok(crate::created(
        &r.ctx,
        &format!("{}/client-scopes/{id}", r.realm.name),
    ))
}

async fn get_scope(
    r: InRealm<need::ViewClients>,
    Path((_, id)): Path<(String, String)>,
) -> ClientsResult {
    Ok(Json(r.services.admin_client_scope(&r.realm, &id).await?).into_response())
}

async fn update_scope(
    r: InRealm<need::ManageClients>,
    Path((_, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<ClientScopeRepresentation>,
) -> ClientsResult {
    r.services
        .admin_update_client_scope(&r.realm, &id, &rep)
        .await?;
    Ok(no_content())
}

async fn delete_scope(
    r: InRealm<need::ManageClients>,
    Path((_, id)): Path<(String, String)>,
) -> ClientsResult {
    r.services.admin_delete_client_scope(&r.realm, &id).await?;
    Ok(no_content())
}

async fn realm_default_list(r: InRealm<need::ViewClients>, default: bool) -> ClientsResult {
    Ok(Json(
        r.services
            .admin_realm_default_scopes(&r.realm, default)
            .await?,
    )
    .into_response())
}

async fn realm_defaults(r: InRealm<need::ViewClients>) -> ClientsResult {
    realm_default_list(r, true).await
}

async fn realm_optionals(r: InRealm<need::ViewClients>) -> ClientsResult {
    realm_default_list(r, false).await
}

async fn set_realm_scope(
    r: InRealm<need::ManageRealm>,
    (_, id): (String, String),
    default: bool,
) -> ClientsResult {
    r.services
        .admin_set_realm_default_scope(&r.realm, &id, default)
        .await?;
    Ok(no_content())
}

async fn set_realm_default(
    r: InRealm<need::ManageRealm>,
    Path(p): Path<(String, String)>,
) -> ClientsResult {
    set_realm_scope(r, p, true).await
}

async fn set_realm_optional(
    r: InRealm<need::ManageRealm>,
    Path(p): Path<(String, String)>,
) -> ClientsResult {
    set_realm_scope(r, p, false).await
}

async fn remove_realm_default(
    r: InRealm<need::ManageRealm>,
    Path((_, id)): Path<(String, String)>,
) -> ClientsResult {
    r.services
        .admin_remove_realm_default_scope(&r.realm, &id)
        .await?;
    Ok(no_content())
}

fn scope_owner(id: &str) -> MapperOwner {
    MapperOwner::ClientScope(ClientScopeId::new(id))
}

async fn list_mappers(
    r: InRealm<need::ViewClients>,
    Path((_, id)): Path<(String, String)>,
) -> ClientsResult {
    mappers_list(r, scope_owner(&id), None).await
}

async fn mappers_by_protocol(
    r: InRealm<need::ViewClients>,
    Path((_, id, protocol)): Path<(String, String, String)>,
) -> ClientsResult {
    mappers_list(r, scope_owner(&id), Some(protocol)).await
}

async fn create_mapper(
    r: InRealm<need::ManageClients>,
    Path((_, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<ProtocolMapperRepresentation>,
) -> ClientsResult {
    let path = format!("client-scopes/{id}");
    mapper_create(r, scope_owner(&id), &path, rep).await
}

async fn add_mappers(
    r: InRealm<need::ManageClients>,
    Path((_, id)): Path<(String, String)>,
    AdminJson(reps): AdminJson<Vec<ProtocolMapperRepresentation>>,
) -> ClientsResult {
    mappers_add(r, scope_owner(&id), reps).await
}

async fn get_mapper(
    r: InRealm<need::ViewClients>,
    Path((_, id, mapper)): Path<(String, String, String)>,
) -> ClientsResult {
    mapper_get(r, scope_owner(&id), mapper).await
}

async fn update_mapper(
    r: InRealm<need::ManageClients>,
    Path((_, id, mapper)): Path<(String, String, String)>,
    AdminJson(rep): AdminJson<ProtocolMapperRepresentation>,
) -> ClientsResult {
    mapper_update(r, scope_owner(&id), mapper, rep).await
}

async fn delete_mapper(
    r: InRealm<need::ManageClients>,
    Path((_, id, mapper)): Path<(String, String, String)>,
) -> ClientsResult {
    mapper_delete(r, scope_owner(&id), mapper).await
}

// The protocol-mapper endpoints, shared by clients and client scopes: view with view-clients,
// change with manage-clients (Keycloak's view and manage checks of both owners).

pub(crate) async fn mappers_list(
    r: InRealm<need::ViewClients>,
    owner: MapperOwner,
    protocol: Option<String>,
) -> ClientsResult {
    let list = r
        .services
        .admin_mappers(&r.realm, &owner, protocol.as_deref())
        .await?;
    Ok(Json(list).into_response())
}

pub(crate) async fn mapper_get(
    r: InRealm<need::ViewClients>,
    owner: MapperOwner,
    id: String,
) -> ClientsResult {
    Ok(Json(r.services.admin_mapper(&r.realm, &owner, &id).await?).into_response())
}

pub(crate) async fn mapper_create(
    r: InRealm<need::ManageClients>,
    owner: MapperOwner,
    owner_path: &str,
    rep: ProtocolMapperRepresentation,
) -> ClientsResult {
    let ids = r
        .services
        .admin_add_mappers(&r.realm, &owner, std::slice::from_ref(&rep))
        .await?;
    let id = ids.first().map(|i| i.to_string()).unwrap_or_default();
    Ok(crate::created(
        &r.ctx,
        &format!("{}/{owner_path}/protocol-mappers/models/{id}", r.realm.name),
    ))
}

pub(crate) async fn mappers_add(
    r: InRealm<need::ManageClients>,
    owner: MapperOwner,
    reps: Vec<ProtocolMapperRepresentation>,
) -> ClientsResult {
    r.services
        .admin_add_mappers(&r.realm, &owner, &reps)
        .await?;
    Ok(no_content())
}

pub(crate) async fn mapper_update(
    r: InRealm<need::ManageClients>,
    owner: MapperOwner,
    id: String,
    rep: ProtocolMapperRepresentation,
) -> ClientsResult {
    r.services
        .admin_update_mapper(&r.realm, &owner, &id, &rep)
        .await?;
    Ok(no_content())
}

pub(crate) async fn mapper_delete(
    r: InRealm<need::ManageClients>,
    owner: MapperOwner,
    id: String,
) -> ClientsResult {
    r.services
        .admin_delete_mapper(&r.realm, &owner, &id)
        .await?;
    Ok(no_content())
}
