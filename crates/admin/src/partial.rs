//! Admin REST API: the admin console's partial export and partial import of a realm.

use axum::extract::FromRef;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use gatehouse_services::{PartialImportRepresentation, Permission, Services};
use serde::Deserialize;

use crate::auth::{InRealm, need};
use crate::{AdminError, AdminJson, AdminQuery};

/// Query parameters of `POST /partial-export`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportQuery {
    #[serde(default, deserialize_with = "crate::query::flag")]
    export_groups_and_roles: Option<bool>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    export_clients: Option<bool>,
}

pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    Router::new()
        .route("/admin/realms/{realm}/partial-export", post(partial_export))
        .route("/admin/realms/{realm}/partialImport", post(partial_import))
}

/// `POST /partial-export?exportGroupsAndRoles=&exportClients=`: the realm without users,
/// secrets masked (view-realm, plus query-groups and view-clients for what is asked).
async fn partial_export(
    r: InRealm<need::ViewRealm>,
    AdminQuery(q): AdminQuery<ExportQuery>,
) -> Result<impl IntoResponse, AdminError> {
    let groups_and_roles = q.export_groups_and_roles.unwrap_or(false);
    let clients = q.export_clients.unwrap_or(false);
    if groups_and_roles {
        r.who.require(&r.realm, Permission::QueryGroups)?;
    }
    if clients {
        r.who.require(&r.realm, Permission::ViewClients)?;
    }
    Ok(Json(
        r.services
            .partial_export(&r.realm, groups_and_roles, clients)
            .await?,
    ))
}

/// `POST /partialImport` (manage-realm): `{overwritten, added, skipped, results}`; 409 when
/// `ifResourceExists` is `FAIL` and something exists.
async fn partial_import(
    r: InRealm<need::ManageRealm>,
    AdminJson(body): AdminJson<PartialImportRepresentation>,
) -> Result<impl IntoResponse, AdminError> {
    Ok(Json(r.services.partial_import(&r.realm, &body).await?))
}
