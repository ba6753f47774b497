//! Admin REST API: components (`/admin/realms/{realm}/components...`), which are the realm's
//! key providers: list them, add one (a new key: how keys are rotated), change its priority or
//! make it passive, remove it.

use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_model::rep::component::ComponentRepresentation;
use gatehouse_services::{ComponentQuery, Permission, Services};
use serde::Deserialize;

use crate::{Admin, AdminError, AdminJson, AdminQuery};

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
        .route(
            "/admin/realms/{realm}/components",
            get(list::<S>).post(create::<S>),
        )
        .route(
            "/admin/realms/{realm}/components/{id}",
            get(one::<S>).put(update::<S>).delete(remove::<S>),
        )
}

/// `GET /components?parent=&type=&name=` (view-realm).
async fn list<S>(
    admin: Admin,
    State(state): State<S>,
    Path(realm): Path<String>,
    AdminQuery(q): AdminQuery<ComponentsQuery>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&state);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewRealm)
        .await?;
    let query = ComponentQuery {
        parent: q.parent,
        provider_type: q.provider_type,
        name: q.name,
    };
    Ok(Json(services.admin_components(&realm, &query).await?))
}

/// `GET /components/{id}` (view-realm).
async fn one<S>(
    admin: Admin,
    State(state): State<S>,
    Path((realm, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&state);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewRealm)
        .await?;
    Ok(Json(services.admin_component(&realm, &id).await?))
}

/// `POST /components` (manage-realm): 201 with the new component's `Location`.
async fn create<S>(
    admin: Admin,
    State(state): State<S>,
    Path(realm): Path<String>,
    AdminJson(rep): AdminJson<ComponentRepresentation>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&state);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageRealm)
        .await?;
    let id = services.admin_create_component(&realm, &rep).await?;
    Ok(crate::created(
        &admin.ctx,
        &format!("{}/components/{id}", realm.name),
    ))
}

/// `PUT /components/{id}` (manage-realm): 204.
async fn update<S>(
    admin: Admin,
    State(state): State<S>,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<ComponentRepresentation>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&state);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageRealm)
        .await?;
    services.admin_update_component(&realm, &id, &rep).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /components/{id}` (manage-realm): 204.
async fn remove<S>(
    admin: Admin,
    State(state): State<S>,
    Path((realm, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&state);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageRealm)
        .await?;
    services.admin_delete_component(&realm, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
