//! Admin REST API: clients (`/admin/realms/{realm}/clients...`), their secrets, service-account
//! user, client scope links, protocol mappers, sessions and adapter configuration.

use axum::Router;
use axum::extract::{FromRef, Path};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, routing::post};
use gatehouse_model::rep::client::ClientRepresentation;
use gatehouse_model::rep::scope::ProtocolMapperRepresentation;
use gatehouse_model::rep::user::UserRepresentation;
use gatehouse_model::{ClientUuid, MapperOwner};
use gatehouse_services::{ServiceError, Services};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{InRealm, need};
use crate::{AdminError, AdminJson, AdminQuery};

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
    r: InRealm<need::QueryClients>,
    AdminQuery(q): AdminQuery<ClientsQuery>,
) -> ClientsResult {
    let clients = r
        .services
        .admin_clients(
            &r.realm,
            &r.who,
            q.client_id.as_deref(),
            q.search.unwrap_or(false),
            q.first,
            q.max,
        )
        .await?;
    Ok(Json(clients).into_response())
}

async fn create_client(
    r: InRealm<need::ManageClients>,
    AdminJson(rep): AdminJson<ClientRepresentation>,
) -> ClientsResult {
    // Keycloak's ClientsResource.createClient requires manage-clients (create-client only
    // serves the client registration service).
    let id = r.services.admin_create_client(&r.realm, &rep).await?;
    Ok(crate::created(
        &r.ctx,
        &format!("{}/clients/{id}", r.realm.name),
    ))
}

async fn get_client(
    r: InRealm<need::ViewClients>,
    Path((_, id)): Path<(String, String)>,
) -> ClientsResult {
    Ok(Json(r.services.admin_client(&r.realm, &r.who, &id).await?).into_response())
}

async fn update_client(
    r: InRealm<need::ManageClients>,
    Path((_, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<ClientRepresentation>,
) -> ClientsResult {
    r.services.admin_update_client(&r.realm, &id, &rep).await?;
    Ok(no_content())
}

async fn delete_client(
    r: InRealm<need::ManageClients>,
    Path((_, id)): Path<(String, String)>,
) -> ClientsResult {
    r.services.admin_delete_client(&r.realm, &id).await?;
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
    r: InRealm<need::ViewClients>,
    Path((_, id)): Path<(String, String)>,
) -> ClientsResult {
    Ok(secret_json(
        r.services.admin_client_secret(&r.realm, &id).await?,
    ))
}

async fn regenerate_secret(
    r: InRealm<need::ManageClients>,
    Path((_, id)): Path<(String, String)>,
) -> ClientsResult {
    Ok(secret_json(Some(
        r.services.admin_regenerate_secret(&r.realm, &id).await?,
    )))
}

async fn service_account_user(
    r: InRealm<need::ViewClients>,
    Path((_, id)): Path<(String, String)>,
) -> ClientsResult {
    let user = r.services.admin_service_account_user(&r.realm, &id).await?;
    Ok(Json(UserRepresentation::from(&user)).into_response())
}

async fn scope_links(r: InRealm<need::ViewClients>, id: String, default: bool) -> ClientsResult {
    Ok(Json(
        r.services
            .admin_client_scope_links(&r.realm, &id, default)
            .await?,
    )
    .into_response())
}

async fn default_scopes(
    r: InRealm<need::ViewClients>,
    Path((_, id)): Path<(String, String)>,
) -> ClientsResult {
    scope_links(r, id, true).await
}

async fn optional_scopes(
    r: InRealm<need::ViewClients>,
    Path((_, id)): Path<(String, String)>,
) -> ClientsResult {
    scope_links(r, id, false).await
}

async fn link_scope(
    r: InRealm<need::ManageClients>,
    (_, id, scope): (String, String, String),
    default: bool,
) -> ClientsResult {
    r.services
        .admin_link_client_scope(&r.realm, &id, &scope, default)
        .await?;
    Ok(no_content())
}

async fn add_default_scope(
    r: InRealm<need::ManageClients>,
    Path(p): Path<(String, String, String)>,
) -> ClientsResult {
    link_scope(r, p, true).await
}

async fn add_optional_scope(
    r: InRealm<need::ManageClients>,
    Path(p): Path<(String, String, String)>,
) -> ClientsResult {
    link_scope(r, p, false).await
}

async fn remove_scope(
    r: InRealm<need::ManageClients>,
    Path((_, id, scope)): Path<(String, String, String)>,
) -> ClientsResult {
    r.services
        .admin_unlink_client_scope(&r.realm, &id, &scope)
        .await?;
    Ok(no_content())
}

fn client_owner(id: &str) -> MapperOwner {
    MapperOwner::Client(ClientUuid::new(id))
}

async fn list_mappers(
    r: InRealm<need::ViewClients>,
    Path((_, id)): Path<(String, String)>,
) -> ClientsResult {
    crate::scopes::mappers_list(r, client_owner(&id), None).await
}

async fn mappers_by_protocol(
    r: InRealm<need::ViewClients>,
    Path((_, id, protocol)): Path<(String, String, String)>,
) -> ClientsResult {
    crate::scopes::mappers_list(r, client_owner(&id), Some(protocol)).await
}

async fn create_mapper(
    r: InRealm<need::ManageClients>,
    Path((_, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<ProtocolMapperRepresentation>,
) -> ClientsResult {
    let path = format!("clients/{id}");
    crate::scopes::mapper_create(r, client_owner(&id), &path, rep).await
}

async fn add_mappers(
    r: InRealm<need::ManageClients>,
    Path((_, id)): Path<(String, String)>,
    AdminJson(reps): AdminJson<Vec<ProtocolMapperRepresentation>>,
) -> ClientsResult {
    crate::scopes::mappers_add(r, client_owner(&id), reps).await
}

async fn get_mapper(
    r: InRealm<need::ViewClients>,
    Path((_, id, mapper)): Path<(String, String, String)>,
) -> ClientsResult {
    crate::scopes::mapper_get(r, client_owner(&id), mapper).await
}

async fn update_mapper(
    r: InRealm<need::ManageClients>,
    Path((_, id, mapper)): Path<(String, String, String)>,
    AdminJson(rep): AdminJson<ProtocolMapperRepresentation>,
) -> ClientsResult {
    crate::scopes::mapper_update(r, client_owner(&id), mapper, rep).await
}

async fn delete_mapper(
    r: InRealm<need::ManageClients>,
    Path((_, id, mapper)): Path<(String, String, String)>,
) -> ClientsResult {
    crate::scopes::mapper_delete(r, client_owner(&id), mapper).await
}

async fn sessions(
    r: InRealm<need::ViewClients>,
    (_, id): (String, String),
    page: Page,
    offline: bool,
) -> ClientsResult {
    let list = r
        .services
        .admin_client_sessions(&r.realm, &id, offline, page.first, page.max)
        .await?;
    Ok(Json(list).into_response())
}

async fn user_sessions(
    r: InRealm<need::ViewClients>,
    Path(p): Path<(String, String)>,
    AdminQuery(page): AdminQuery<Page>,
) -> ClientsResult {
    sessions(r, p, page, false).await
}

async fn offline_sessions(
    r: InRealm<need::ViewClients>,
    Path(p): Path<(String, String)>,
    AdminQuery(page): AdminQuery<Page>,
) -> ClientsResult {
    sessions(r, p, page, true).await
}

async fn count(
    r: InRealm<need::ViewClients>,
    (_, id): (String, String),
    offline: bool,
) -> ClientsResult {
    let n = r
        .services
        .admin_client_session_count(&r.realm, &id, offline)
        .await?;
    Ok(Json(json!({ "count": n })).into_response())
}

async fn session_count(
    r: InRealm<need::ViewClients>,
    Path(p): Path<(String, String)>,
) -> ClientsResult {
    count(r, p, false).await
}

async fn offline_session_count(
    r: InRealm<need::ViewClients>,
    Path(p): Path<(String, String)>,
) -> ClientsResult {
    count(r, p, true).await
}

async fn installation(
    r: InRealm<need::ViewClients>,
    Path((_, id, provider)): Path<(String, String, String)>,
) -> ClientsResult {
    let config = r
        .services
        .admin_client_installation(&r.realm, &id, &provider, &r.ctx.frontend)
        .await?;
    let body =
        serde_json::to_string_pretty(&config).map_err(|e| ServiceError::Internal(e.to_string()))?;
    // Keycloak sends the adapter file as text/plain.
    Ok(([(CONTENT_TYPE, "text/plain;charset=utf-8")], body).into_response())
}
