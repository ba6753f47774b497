//! Admin REST API: clients (`/admin/realms/{realm}/clients...`), their secrets, service-account
//! user, client scope links, protocol mappers, sessions and adapter configuration.

use axum::Router;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, routing::post};
use gatehouse_model::rep::client::ClientRepresentation;
use gatehouse_model::rep::scope::ProtocolMapperRepresentation;
use gatehouse_model::rep::user::UserRepresentation;
use gatehouse_model::{ClientUuid, MapperOwner};
use gatehouse_services::{Permission, ServiceError, Services};
use serde::Deserialize;
use serde_json::json;

use crate::{Admin, AdminError, AdminJson, AdminQuery};

pub(crate) type ClientsResult = Result<Response, AdminError>;

/// `first` and `max` of a page, as Keycloak reads them.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Page {
    pub(crate) first: Option<i64>,
    pub(crate) max: Option<i64>,
}

/// Query parameters of `GET /clients`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientsQuery {
    client_id: Option<String>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    search: Option<bool>,
    first: Option<i64>,
    max: Option<i64>,
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    const C: &str = "/admin/realms/{realm}/clients/{id}";
    Router::new()
        .route(
            "/admin/realms/{realm}/clients",
            get(list_clients).post(create_client),
        )
        .route(C, get(get_client).put(update_client).delete(delete_client))
        .route(
            &format!("{C}/client-secret"),
            get(get_secret).post(regenerate_secret),
        )
        .route(
            &format!("{C}/service-account-user"),
            get(service_account_user),
        )
        .route(&format!("{C}/default-client-scopes"), get(default_scopes))
        .route(
            &format!("{C}/default-client-scopes/{{scope}}"),
            axum::routing::put(add_default_scope).delete(remove_scope),
        )
        .route(&format!("{C}/optional-client-scopes"), get(optional_scopes))
        .route(
            &format!("{C}/optional-client-scopes/{{scope}}"),
            axum::routing::put(add_optional_scope).delete(remove_scope),
        )
        .route(
            &format!("{C}/protocol-mappers/models"),
            get(list_mappers).post(create_mapper),
        )
        .route(
            &format!("{C}/protocol-mappers/add-models"),
            post(add_mappers),
        )
        .route(
            &format!("{C}/protocol-mappers/models/{{mapper}}"),
            get(get_mapper).put(update_mapper).delete(delete_mapper),
        )
        .route(
            &format!("{C}/protocol-mappers/protocol/{{protocol}}"),
            get(mappers_by_protocol),
        )
        .route(&format!("{C}/user-sessions"), get(user_sessions))
        .route(&format!("{C}/offline-sessions"), get(offline_sessions))
        .route(&format!("{C}/session-count"), get(session_count))
        .route(
            &format!("{C}/offline-session-count"),
            get(offline_session_count),
        )
        .route(
            &format!("{C}/installation/providers/{{provider}}"),
            get(installation),
        )
}

async fn list_clients(
    admin: Admin,
    State(services): State<Services>,
    Path(realm): Path<String>,
    AdminQuery(q): AdminQuery<ClientsQuery>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::QueryClients)
        .await?;
    let clients = services
        .admin_clients(
            &realm,
            &admin.who,
            q.client_id.as_deref(),
            q.search.unwrap_or(false),
            q.first,
            q.max,
        )
        .await?;
    Ok(Json(clients).into_response())
}

async fn create_client(
    admin: Admin,
    State(services): State<Services>,
    Path(realm): Path<String>,
    AdminJson(rep): AdminJson<ClientRepresentation>,
) -> ClientsResult {
    // Keycloak's ClientsResource.createClient requires manage-clients (create-client only
    // serves the client registration service).
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    let id = services.admin_create_client(&realm, &rep).await?;
    Ok(crate::created(
        &admin.ctx,
        &format!("{}/clients/{id}", realm.name),
    ))
}

async fn get_client(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewClients)
        .await?;
    Ok(Json(services.admin_client(&realm, &admin.who, &id).await?).into_response())
}

async fn update_client(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<ClientRepresentation>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    services.admin_update_client(&realm, &id, &rep).await?;
    Ok(no_content())
}

async fn delete_client(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    services.admin_delete_client(&realm, &id).await?;
    Ok(no_content())
}

/// Keycloak's `CredentialRepresentation` of a client secret.
fn secret_json(value: Option<String>) -> Response {
    let mut body = json!({"type": "secret"});
    if let Some(v) = value {
        body["value"] = json!(v);
    }
    Json(body).into_response()
}

async fn get_secret(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewClients)
        .await?;
    Ok(secret_json(
        services.admin_client_secret(&realm, &id).await?,
    ))
}

async fn regenerate_secret(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    Ok(secret_json(Some(
        services.admin_regenerate_secret(&realm, &id).await?,
    )))
}

async fn service_account_user(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewClients)
        .await?;
    let user = services.admin_service_account_user(&realm, &id).await?;
    Ok(Json(UserRepresentation::from(&user)).into_response())
}

async fn scope_links(
    admin: Admin,
    services: Services,
    realm: String,
    id: String,
    default: bool,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewClients)
        .await?;
    Ok(Json(
        services
            .admin_client_scope_links(&realm, &id, default)
            .await?,
    )
    .into_response())
}

async fn default_scopes(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> ClientsResult {
    scope_links(admin, services, realm, id, true).await
}

async fn optional_scopes(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> ClientsResult {
    scope_links(admin, services, realm, id, false).await
}

async fn link_scope(
    admin: Admin,
    services: Services,
    (realm, id, scope): (String, String, String),
    default: bool,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    services
        .admin_link_client_scope(&realm, &id, &scope, default)
        .await?;
    Ok(no_content())
}

async fn add_default_scope(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<(String, String, String)>,
) -> ClientsResult {
    link_scope(admin, services, p, true).await
}

async fn add_optional_scope(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<(String, String, String)>,
) -> ClientsResult {
    link_scope(admin, services, p, false).await
}

async fn remove_scope(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id, scope)): Path<(String, String, String)>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageClients)
        .await?;
    services
        .admin_unlink_client_scope(&realm, &id, &scope)
        .await?;
    Ok(no_content())
}

fn client_owner(id: &str) -> MapperOwner {
    MapperOwner::Client(ClientUuid::new(id))
}

async fn list_mappers(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> ClientsResult {
    crate::scopes::mappers_list(admin, services, realm, client_owner(&id), None).await
}

async fn mappers_by_protocol(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id, protocol)): Path<(String, String, String)>,
) -> ClientsResult {
    crate::scopes::mappers_list(admin, services, realm, client_owner(&id), Some(protocol)).await
}

async fn create_mapper(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<ProtocolMapperRepresentation>,
) -> ClientsResult {
    let path = format!("clients/{id}");
    crate::scopes::mapper_create(admin, services, realm, client_owner(&id), &path, rep).await
}

async fn add_mappers(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(reps): AdminJson<Vec<ProtocolMapperRepresentation>>,
) -> ClientsResult {
    crate::scopes::mappers_add(admin, services, realm, client_owner(&id), reps).await
}

async fn get_mapper(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id, mapper)): Path<(String, String, String)>,
) -> ClientsResult {
    crate::scopes::mapper_get(admin, services, realm, client_owner(&id), mapper).await
}

async fn update_mapper(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id, mapper)): Path<(String, String, String)>,
    AdminJson(rep): AdminJson<ProtocolMapperRepresentation>,
) -> ClientsResult {
    crate::scopes::mapper_update(admin, services, realm, client_owner(&id), mapper, rep).await
}

async fn delete_mapper(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id, mapper)): Path<(String, String, String)>,
) -> ClientsResult {
    crate::scopes::mapper_delete(admin, services, realm, client_owner(&id), mapper).await
}

async fn sessions(
    admin: Admin,
    services: Services,
    (realm, id): (String, String),
    page: Page,
    offline: bool,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewClients)
        .await?;
    let list = services
        .admin_client_sessions(&realm, &id, offline, page.first, page.max)
        .await?;
    Ok(Json(list).into_response())
}

async fn user_sessions(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<(String, String)>,
    AdminQuery(page): AdminQuery<Page>,
) -> ClientsResult {
    sessions(admin, services, p, page, false).await
}

async fn offline_sessions(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<(String, String)>,
    AdminQuery(page): AdminQuery<Page>,
) -> ClientsResult {
    sessions(admin, services, p, page, true).await
}

async fn count(
    admin: Admin,
    services: Services,
    (realm, id): (String, String),
    offline: bool,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewClients)
        .await?;
    let n = services
        .admin_client_session_count(&realm, &id, offline)
        .await?;
    Ok(Json(json!({ "count": n })).into_response())
}

async fn session_count(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<(String, String)>,
) -> ClientsResult {
    count(admin, services, p, false).await
}

async fn offline_session_count(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<(String, String)>,
) -> ClientsResult {
    count(admin, services, p, true).await
}

async fn installation(
    admin: Admin,
    State(services): State<Services>,
    Path((realm, id, provider)): Path<(String, String, String)>,
) -> ClientsResult {
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewClients)
        .await?;
    let config = services
        .admin_client_installation(&realm, &id, &provider, &admin.ctx.frontend)
        .await?;
    let body =
        serde_json::to_string_pretty(&config).map_err(|e| ServiceError::Internal(e.to_string()))?;
    // Keycloak sends the adapter file as text/plain.
    Ok(([(CONTENT_TYPE, "text/plain;charset=utf-8")], body).into_response())
}
