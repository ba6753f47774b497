//! Admin REST API: client scopes (`/admin/realms/{realm}/client-scopes...`), the realm's
//! default and optional client scopes, and the protocol-mapper endpoints shared by clients and
//! client scopes.

use axum::Json;
use axum::Router;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use gatehouse_model::rep::scope::{ClientScopeRepresentation, ProtocolMapperRepresentation};
use gatehouse_model::{ClientScopeId, MapperOwner};
use gatehouse_services::{Permission, Services};

use crate::clients::ClientsResult;
use crate::{Admin, AdminJson};

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

async fn list_scopes(
    admin: Admin,
    State(services): State<Services>,
    Path(realm): Path<String>,
) -> ClientsResult {
    // Keycloak's requireListClientScopes: view-clients, manage-clients or query-clients.
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::QueryClients)
        .await?;
    Ok(Json(services.admin_client_scopes(&realm, &admin.who).await?).into_response())
}

async fn create_scope(
    admin: Admin,
    State(services): State<Services>,
    Path(realm): Path<String>,
    AdminJson(rep): AdminJson<ClientScopeRepresentation>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    let id = services.admin_create_client_scope(&realm, &rep).await?;
    Ok(crate::created(
        &admin.ctx,
        &format!("{}/client-scopes/{id}", realm.name),
    ))
}

async fn get_scope(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewClients)
        .await?;
    Ok(Json(services.admin_client_scope(&realm, &id).await?).into_response())
}

async fn update_scope(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<ClientScopeRepresentation>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    services
        .admin_update_client_scope(&realm, &id, &rep)
        .await?;
    Ok(no_content())
}

async fn delete_scope(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    services.admin_delete_client_scope(&realm, &id).await?;
    Ok(no_content())
}

async fn realm_default_list(
    admin: Admin,
    services: Services,
    realm: String,
    default: bool,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewClients)
        .await?;
    Ok(Json(services.admin_realm_default_scopes(&realm, default).await?).into_response())
}

async fn realm_defaults(
    admin: Admin,
    State(services): State<Services>,
    Path(realm): Path<String>,
) -> ClientsResult {
    realm_default_list(admin, services, realm, true).await
}

async fn realm_optionals(
    admin: Admin,
    State(services): State<Services>,
    Path(realm): Path<String>,
) -> ClientsResult {
    realm_default_list(admin, services, realm, false).await
}

async fn set_realm_scope(
    admin: Admin,
    services: Services,
    (realm, id): (String, String),
    default: bool,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageRealm)
        .await?;
    services
        .admin_set_realm_default_scope(&realm, &id, default)
        .await?;
    Ok(no_content())
}

async fn set_realm_default(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<(String, String)>,
) -> ClientsResult {
    set_realm_scope(admin, services, p, true).await
}

async fn set_realm_optional(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<(String, String)>,
) -> ClientsResult {
    set_realm_scope(admin, services, p, false).await
}

async fn remove_realm_default(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageRealm)
        .await?;
    services
        .admin_remove_realm_default_scope(&realm, &id)
        .await?;
    Ok(no_content())
}

fn scope_owner(id: &str) -> MapperOwner {
    MapperOwner::ClientScope(ClientScopeId::new(id))
}

async fn list_mappers(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> ClientsResult {
    mappers_list(admin, services, realm, scope_owner(&id), None).await
}

async fn mappers_by_protocol(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id, protocol)): Path<(String, String, String)>,
) -> ClientsResult {
    mappers_list(admin, services, realm, scope_owner(&id), Some(protocol)).await
}

async fn create_mapper(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<ProtocolMapperRepresentation>,
) -> ClientsResult {
    let path = format!("client-scopes/{id}");
    mapper_create(admin, services, realm, scope_owner(&id), &path, rep).await
}

async fn add_mappers(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(reps): AdminJson<Vec<ProtocolMapperRepresentation>>,
) -> ClientsResult {
    mappers_add(admin, services, realm, scope_owner(&id), reps).await
}

async fn get_mapper(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id, mapper)): Path<(String, String, String)>,
) -> ClientsResult {
    mapper_get(admin, services, realm, scope_owner(&id), mapper).await
}

async fn update_mapper(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id, mapper)): Path<(String, String, String)>,
    AdminJson(rep): AdminJson<ProtocolMapperRepresentation>,
) -> ClientsResult {
    mapper_update(admin, services, realm, scope_owner(&id), mapper, rep).await
}

async fn delete_mapper(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id, mapper)): Path<(String, String, String)>,
) -> ClientsResult {
    mapper_delete(admin, services, realm, scope_owner(&id), mapper).await
}

// The protocol-mapper endpoints, shared by clients and client scopes: view with view-clients,
// change with manage-clients (Keycloak's view and manage checks of both owners).

pub(crate) async fn mappers_list(
    admin: Admin,
    services: Services,
    realm: String,
    owner: MapperOwner,
    protocol: Option<String>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewClients)
        .await?;
    let list = services
        .admin_mappers(&realm, &owner, protocol.as_deref())
        .await?;
    Ok(Json(list).into_response())
}

pub(crate) async fn mapper_get(
    admin: Admin,
    services: Services,
    realm: String,
    owner: MapperOwner,
    id: String,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewClients)
        .await?;
    Ok(Json(services.admin_mapper(&realm, &owner, &id).await?).into_response())
}

pub(crate) async fn mapper_create(
    admin: Admin,
    services: Services,
    realm: String,
    owner: MapperOwner,
    owner_path: &str,
    rep: ProtocolMapperRepresentation,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    let ids = services
        .admin_add_mappers(&realm, &owner, std::slice::from_ref(&rep))
        .await?;
    let id = ids.first().map(|i| i.to_string()).unwrap_or_default();
    Ok(crate::created(
        &admin.ctx,
        &format!("{}/{owner_path}/protocol-mappers/models/{id}", realm.name),
    ))
}

pub(crate) async fn mappers_add(
    admin: Admin,
    services: Services,
    realm: String,
    owner: MapperOwner,
    reps: Vec<ProtocolMapperRepresentation>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    services.admin_add_mappers(&realm, &owner, &reps).await?;
    Ok(no_content())
}

pub(crate) async fn mapper_update(
    admin: Admin,
    services: Services,
    realm: String,
    owner: MapperOwner,
    id: String,
    rep: ProtocolMapperRepresentation,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    services
        .admin_update_mapper(&realm, &owner, &id, &rep)
        .await?;
    Ok(no_content())
}

pub(crate) async fn mapper_delete(
    admin: Admin,
    services: Services,
    realm: String,
    owner: MapperOwner,
    id: String,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    services.admin_delete_mapper(&realm, &owner, &id).await?;
    Ok(no_content())
}
