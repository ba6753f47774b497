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

use crate::{Admin, AdminError, AdminJson, AdminQuery};

pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    Router::new()
        .route("/admin/serverinfo", get(server_info::<S>))
        .route(
            "/admin/realms",
            get(list_realms::<S>).post(create_realm::<S>),
        )
        .route(
            "/admin/realms/{realm}",
            get(get_realm::<S>)
                .put(update_realm::<S>)
                .delete(delete_realm::<S>),
        )
        .route(
            "/admin/realms/{realm}/default-groups",
            get(default_groups::<S>),
        )
        .route(
            "/admin/realms/{realm}/default-groups/{group}",
            put(add_default_group::<S>).delete(remove_default_group::<S>),
        )
        .route("/admin/realms/{realm}/keys", get(keys::<S>))
        .route("/admin/realms/{realm}/logout-all", post(logout_all::<S>))
        .route(
            "/admin/realms/{realm}/sessions/{session}",
            delete(delete_session::<S>),
        )
        .route(
            "/admin/realms/{realm}/client-session-stats",
            get(client_session_stats::<S>),
        )
        .route(
            "/admin/realms/{realm}/clear-realm-cache",
            post(clear_realm_cache::<S>),
        )
        .route(
            "/admin/realms/{realm}/clear-user-cache",
            post(clear_user_cache::<S>),
        )
        .route(
            "/admin/realms/{realm}/clear-keys-cache",
            post(clear_keys_cache::<S>),
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
async fn server_info<S>(admin: Admin, State(services): State<S>) -> impl IntoResponse
where
    Services: FromRef<S>,
{
    let _ = admin;
    axum::Json(Services::from_ref(&services).admin_server_info())
}

/// `GET /admin/realms`.
async fn list_realms<S>(
    admin: Admin,
    State(services): State<S>,
    AdminQuery(params): AdminQuery<ListParams>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    let realms = services
        .admin_list_realms(&admin.who, params.brief_representation.unwrap_or(false))
        .await?;
    Ok(axum::Json(realms))
}

/// `POST /admin/realms`: 201 with the new realm's URL.
async fn create_realm<S>(
    admin: Admin,
    State(services): State<S>,
    AdminJson(body): AdminJson<serde_json::Value>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let rep = realm_body(body)?;
    let services = Services::from_ref(&services);
    let realm = services.admin_create_realm(&admin.who, rep).await?;
    Ok(crate::created(&admin.ctx, realm.name.as_str()))
}

/// `GET /admin/realms/{realm}`: the full representation with `view-realm`; administrators with
/// another role of the realm get Keycloak's short form (name, display names, brute-force flag).
async fn get_realm<S>(
    admin: Admin,
    State(services): State<S>,
    Path(realm): Path<String>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
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
async fn update_realm<S>(
    admin: Admin,
    State(services): State<S>,
    Path(realm): Path<String>,
    AdminJson(body): AdminJson<serde_json::Value>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageRealm)
        .await?;
    let rep = realm_body(body)?;
    services.admin_update_realm(&realm, rep).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/realms/{realm}`: 204.
async fn delete_realm<S>(
    admin: Admin,
    State(services): State<S>,
    Path(realm): Path<String>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageRealm)
        .await?;
    services.admin_delete_realm(&realm).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/realms/{realm}/default-groups`.
async fn default_groups<S>(
    admin: Admin,
    State(services): State<S>,
    Path(realm): Path<String>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewRealm)
        .await?;
    Ok(axum::Json(services.admin_default_groups(&realm).await?))
}

/// `PUT /admin/realms/{realm}/default-groups/{group}`: 204.
async fn add_default_group<S>(
    admin: Admin,
    State(services): State<S>,
    Path((realm, group)): Path<(String, String)>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageRealm)
        .await?;
    services.admin_add_default_group(&realm, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/realms/{realm}/default-groups/{group}`: 204.
async fn remove_default_group<S>(
    admin: Admin,
    State(services): State<S>,
    Path((realm, group)): Path<(String, String)>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageRealm)
        .await?;
    services.admin_remove_default_group(&realm, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/realms/{realm}/keys`.
async fn keys<S>(
    admin: Admin,
    State(services): State<S>,
    Path(realm): Path<String>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewRealm)
        .await?;
    Ok(axum::Json(services.admin_realm_keys(&realm).await?))
}

/// `POST /admin/realms/{realm}/logout-all`: Keycloak checks `manage-users`; answers its
/// `GlobalRequestResult`, empty here (no legacy adapter to notify).
async fn logout_all<S>(
    admin: Admin,
    State(services): State<S>,
    Path(realm): Path<String>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageUsers)
        .await?;
    services.admin_logout_all(&realm).await?;
    Ok(axum::Json(json!({})))
}

/// `DELETE /admin/realms/{realm}/sessions/{session}?isOffline=`: 204, or 404 for a session
/// that is not there.
async fn delete_session<S>(
    admin: Admin,
    State(services): State<S>,
    Path((realm, session)): Path<(String, String)>,
    AdminQuery(params): AdminQuery<SessionParams>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageUsers)
        .await?;
    services
        .admin_delete_session(
            &admin.ctx,
            &realm,
            &session,
            params.is_offline.unwrap_or(false),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/realms/{realm}/client-session-stats`.
async fn client_session_stats<S>(
    admin: Admin,
    State(services): State<S>,
    Path(realm): Path<String>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ViewRealm)
        .await?;
    Ok(axum::Json(
        services.admin_client_session_stats(&realm).await?,
    ))
}

/// `POST /admin/realms/{realm}/clear-realm-cache`: 204 for a caller with `manage-realm`.
/// Gatehouse has no realm cache yet (every request reads realms from the database), so there
/// is nothing to clear; the role is still checked, as Keycloak checks it.
async fn clear_realm_cache<S>(
    admin: Admin,
    State(services): State<S>,
    Path(realm): Path<String>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    services
        .admin_realm(&admin.who, &realm, Permission::ManageRealm)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/realms/{realm}/clear-user-cache`: 204 for a caller with `manage-realm`.
/// Gatehouse has no user cache yet (users are read from the database), so there is nothing to
/// clear; the role is still checked, as Keycloak checks it.
async fn clear_user_cache<S>(
    admin: Admin,
    State(services): State<S>,
    Path(realm): Path<String>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    services
        .admin_realm(&admin.who, &realm, Permission::ManageRealm)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/realms/{realm}/clear-keys-cache`: drops this node's parsed keys of the realm;
/// 204.
async fn clear_keys_cache<S>(
    admin: Admin,
    State(services): State<S>,
    Path(realm): Path<String>,
) -> Result<impl IntoResponse, AdminError>
where
    Services: FromRef<S>,
{
    let services = Services::from_ref(&services);
    let realm = services
        .admin_realm(&admin.who, &realm, Permission::ManageRealm)
        .await?;
    services.admin_clear_keys_cache(&realm);
    Ok(StatusCode::NO_CONTENT)
}
