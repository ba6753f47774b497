//! Admin REST API: components (`/admin/realms/{realm}/components...`), which are the realm's
//! key providers: list them, add one (a new key: how keys are rotated), change its priority or
//! make it passive, remove it.

use axum::extract::{FromRef, Path};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_model::rep::component::ComponentRepresentation;
use gatehouse_services::{ComponentQuery, Services};
use serde::Deserialize;

use crate::auth::{InRealm, need};
use crate::{AdminError, AdminJson, AdminQuery};

/// Query parameters of `GET /components`.
#[derive(Debug, Default, Deserialize)]
struct ComponentsQuery {
    parent: Option<String>,
    #[serde(rename = "type")]
    provider_type: Option<String>,
    name: Option<String>,
}

pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    Router::new()
        .route("/admin/realms/{realm}/components", get(list).post(create))
        .route(
            "/admin/realms/{realm}/components/{id}",
            get(one).put(update).delete(remove),
        )
}

/// `GET /components?parent=&type=&name=` (view-realm).
async fn list(
    r: InRealm<need::ViewRealm>,
    AdminQuery(q): AdminQuery<ComponentsQuery>,
) -> Result<impl IntoResponse, AdminError> {
    let query = ComponentQuery {
        parent: q.parent,
        provider_type: q.provider_type,
        name: q.name,
    };
    Ok(Json(r.services.admin_components(&r.realm, &query).await?))
}

/// `GET /components/{id}` (view-realm).
async fn one(
    r: InRealm<need::ViewRealm>,
    Path((_, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, AdminError> {
    Ok(Json(r.services.admin_component(&r.realm, &id).await?))
}

/// `POST /components` (manage-realm): 201 with the new component's `Location`.
async fn create(
    r: InRealm<need::ManageRealm>,
    AdminJson(rep): AdminJson<ComponentRepresentation>,
) -> Result<impl IntoResponse, AdminError> {
    let id = r.services.admin_create_component(&r.realm, &rep).await?;
    Ok(crate::created(
        &r.ctx,
        &format!("{}/components/{id}", r.realm.name),
    ))
}

/// `PUT /components/{id}` (manage-realm): 204.
async fn update(
    r: InRealm<need::ManageRealm>,
    Path((_, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<ComponentRepresentation>,
) -> Result<impl IntoResponse, AdminError> {
    r.services
        .admin_update_component(&r.realm, &id, &rep)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /components/{id}` (manage-realm): 204.
async fn remove(
    r: InRealm<need::ManageRealm>,
    Path((_, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, AdminError> {
    r.services.admin_delete_component(&r.realm, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
