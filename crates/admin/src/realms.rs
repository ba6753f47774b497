//! Admin REST API: realms (`/admin/realms`, `/admin/realms/{realm}`), default groups, keys,
//! realm sessions, cache clearing, and `/admin/serverinfo`.

use axum::Router;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use gatehouse_model::rep::realm::RealmRepresentation;
use gatehouse_services::{Permission, ServiceError, Services};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{InRealm, need};
use crate::{Admin, AdminError, AdminJson, AdminQuery};

pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    Router::new()
        .route("/admin/serverinfo", get(server_info))
        .route("/admin/realms", get(list_realms).post(create_realm))
        .route(
            "/admin/realms/{realm}",
            get(get_realm).put(update_realm).delete(delete_realm),
        )
        .route("/admin/realms/{realm}/default-groups", get(default_groups))
        .route(
            "/admin/realms/{realm}/default-groups/{group}",
            put(add_default_group).delete(remove_default_group),
        )
        .route("/admin/realms/{realm}/keys", get(keys))
        .route("/admin/realms/{realm}/logout-all", post(logout_all))
        .route(
            "/admin/realms/{realm}/sessions/{session}",
            delete(delete_session),
        )
        .route(
            "/admin/realms/{realm}/client-session-stats",
            get(client_session_stats),
        )
        .route(
            "/admin/realms/{realm}/clear-realm-cache",
            post(clear_realm_cache),
        )
        .route(
            "/admin/realms/{realm}/clear-user-cache",
            post(clear_user_cache),
        )
        .route(
            "/admin/realms/{realm}/clear-keys-cache",
            post(clear_keys_cache),
        )
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    #[serde(default, deserialize_with = "crate::query::flag")]
    brief_representation: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionParams {
    #[serde(default, deserialize_with = "crate::query::flag")]
    is_offline: Option<bool>,
}

/// `GET /admin/serverinfo`: any authenticated administrator.
async fn server_info(_: Admin, State(services): State<Services>) -> impl IntoResponse {
    axum::Json(services.admin_server_info())
}

/// `GET /admin/realms`.
async fn list_realms(
    admin: Admin,
    State(services): State<Services>,
    AdminQuery(params): AdminQuery<ListParams>,
) -> Result<impl IntoResponse, AdminError> {
    let realms = services
        .admin_list_realms(&admin.who, params.brief_representation.unwrap_or(false))
        .await?;
    Ok(axum::Json(realms))
}

/// `POST /admin/realms`: 201 with the new realm's URL.
async fn create_realm(
    admin: Admin,
    State(services): State<Services>,
    AdminJson(body): AdminJson<serde_json::Value>,
) -> Result<impl IntoResponse, AdminError> {
    let rep = realm_body(body)?;
    let realm = services.admin_create_realm(&admin.who, rep).await?;
    Ok(crate::created(&admin.ctx, realm.name.as_str()))
}

/// `GET /admin/realms/{realm}`: the full representation with `view-realm`; administrators with
/// another role of the realm get Keycloak's short form (name, display names, brute-force flag).
async fn get_realm(
    admin: Admin,
    State(services): State<Services>,
    Path(realm): Path<String>,
) -> Result<impl IntoResponse, AdminError> {
    let realm = services.realm(&realm).await.map_err(realm_not_found)?;
    if admin.who.may(&realm, Permission::ViewRealm) {
        let rep = services.admin_realm_representation(&realm).await?;
        return Ok(axum::Json(serde_json::to_value(rep).unwrap_or_default()));
    }
    if !admin.who.any_role_in(&realm) {
        return Err(ServiceError::Forbidden("view-realm".into()).into());
    }
    let mut short = json!({
        "realm": realm.name.as_str(),
        "bruteForceProtected": realm.brute_force_protected,
    });
    if let Some(map) = short.as_object_mut() {
        if let Some(name) = &realm.display_name {
            map.insert("displayName".into(), json!(name));
        }
        if let Some(html) = &realm.display_name_html {
            map.insert("displayNameHtml".into(), json!(html));
        }
        if admin.who.may(&realm, Permission::ViewUsers) {
            map.insert(
                "registrationEmailAsUsername".into(),
                json!(realm.registration_email_as_username),
            );
        }
    }
    Ok(axum::Json(short))
}

/// A realm representation must be a JSON object (serde would also read a struct from an array,
/// field by field, which Keycloak's Jackson refuses).
fn realm_body(body: serde_json::Value) -> Result<RealmRepresentation, AdminError> {
    if !body.is_object() {
        return Err(AdminError::BadRequest(
            "a RealmRepresentation must be a JSON object".into(),
        ));
    }
    serde_json::from_value(body).map_err(|e| AdminError::BadRequest(e.to_string()))
}

fn realm_not_found(e: ServiceError) -> AdminError {
    match e {
        ServiceError::NotFound(_) => ServiceError::NotFound("Realm".into()).into(),
        other => other.into(),
    }
}

/// `PUT /admin/realms/{realm}`: 204.
async fn update_realm(
    r: InRealm<need::ManageRealm>,
    AdminJson(body): AdminJson<serde_json::Value>,
) -> Result<impl IntoResponse, AdminError> {
    let rep = realm_body(body)?;
    r.services.admin_update_realm(&r.realm, rep).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/realms/{realm}`: 204.
async fn delete_realm(r: InRealm<need::ManageRealm>) -> Result<impl IntoResponse, AdminError> {
    r.services.admin_delete_realm(&r.realm).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/realms/{realm}/default-groups`.
async fn default_groups(r: InRealm<need::ViewRealm>) -> Result<impl IntoResponse, AdminError> {
    Ok(axum::Json(r.services.admin_default_groups(&r.realm).await?))
}

/// `PUT /admin/realms/{realm}/default-groups/{group}`: 204.
async fn add_default_group(
    r: InRealm<need::ManageRealm>,
    Path((_, group)): Path<(String, String)>,
) -> Result<impl IntoResponse, AdminError> {
    r.services.admin_add_default_group(&r.realm, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/realms/{realm}/default-groups/{group}`: 204.
async fn remove_default_group(
    r: InRealm<need::ManageRealm>,
    Path((_, group)): Path<(String, String)>,
) -> Result<impl IntoResponse, AdminError> {
    r.services
        .admin_remove_default_group(&r.realm, &group)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/realms/{realm}/keys`.
async fn keys(r: InRealm<need::ViewRealm>) -> Result<impl IntoResponse, AdminError> {
    Ok(axum::Json(r.services.admin_realm_keys(&r.realm).await?))
}

/// `POST /admin/realms/{realm}/logout-all`: Keycloak checks `manage-users`; answers its
/// `GlobalRequestResult`, empty here (no legacy adapter to notify).
async fn logout_all(r: InRealm<need::ManageUsers>) -> Result<impl IntoResponse, AdminError> {
    r.services.admin_logout_all(&r.realm).await?;
    Ok(axum::Json(json!({})))
}

/// `DELETE /admin/realms/{realm}/sessions/{session}?isOffline=`: 204, or 404 for a session
/// that is not there.
async fn delete_session(
    r: InRealm<need::ManageUsers>,
    Path((_, session)): Path<(String, String)>,
    AdminQuery(params): AdminQuery<SessionParams>,
) -> Result<impl IntoResponse, AdminError> {
    r.services
        .admin_delete_session(
            &r.ctx,
            &r.realm,
            &session,
            params.is_offline.unwrap_or(false),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/realms/{realm}/client-session-stats`.
async fn client_session_stats(
    r: InRealm<need::ViewRealm>,
) -> Result<impl IntoResponse, AdminError> {
    Ok(axum::Json(
        r.services.admin_client_session_stats(&r.realm).await?,
    ))
}

/// `POST /admin/realms/{realm}/clear-realm-cache`: empties the realm, client and scope caches of
/// every node (`manage-realm`); 204.
async fn clear_realm_cache(r: InRealm<need::ManageRealm>) -> StatusCode {
    r.services.clear_realm_cache().await;
    StatusCode::NO_CONTENT
}

/// `POST /admin/realms/{realm}/clear-user-cache`: empties the user and role-mapping caches of
/// every node (`manage-realm`); 204.
async fn clear_user_cache(r: InRealm<need::ManageRealm>) -> StatusCode {
    r.services.clear_user_cache().await;
    StatusCode::NO_CONTENT
}

/// `POST /admin/realms/{realm}/clear-keys-cache`: drops the parsed realm keys of every node; 204.
async fn clear_keys_cache(r: InRealm<need::ManageRealm>) -> StatusCode {
    r.services.admin_clear_keys_cache(&r.realm).await;
    StatusCode::NO_CONTENT
}
