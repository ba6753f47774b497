//! Admin REST API: users (`/admin/realms/{realm}/users...`), their credentials and sessions,
//! and the member listings of groups and roles, which render users.

use axum::extract::{FromRef, Path};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use gatehouse_model::rep::user::{CredentialRepresentation, UserRepresentation};
use gatehouse_services::{ServiceError, Services, UserRefusal, UserSearch, UserWrite};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{InRealm, need};
use crate::{AdminError, AdminJson, AdminQuery};

type Answer = Result<Response, AdminError>;

/// Query parameters of `GET /users` and `GET /users/count`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsersQuery {
    search: Option<String>,
    last_name: Option<String>,
    first_name: Option<String>,
    email: Option<String>,
    username: Option<String>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    email_verified: Option<bool>,
    idp_alias: Option<String>,
    idp_user_id: Option<String>,
    first: Option<i64>,
    max: Option<i64>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    brief_representation: Option<bool>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    exact: Option<bool>,
    q: Option<String>,
}

impl From<UsersQuery> for UserSearch {
    fn from(q: UsersQuery) -> Self {
        UserSearch {
            search: q.search,
            username: q.username,
            first_name: q.first_name,
            last_name: q.last_name,
            email: q.email,
            exact: q.exact,
            enabled: q.enabled,
            email_verified: q.email_verified,
            q: q.q,
            first: q.first,
            max: q.max,
            brief: q.brief_representation.unwrap_or(false),
            idp_alias: q.idp_alias,
            idp_user_id: q.idp_user_id,
        }
    }
}

/// `first`, `max` and `briefRepresentation` of member listings.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MembersQuery {
    first: Option<i64>,
    max: Option<i64>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    brief_representation: Option<bool>,
}

/// Keycloak's 400 body for a refused write, or `ok` when it went through.
fn written(result: UserWrite<()>, ok: impl IntoResponse) -> Response {
    match result {
        Ok(()) => ok.into_response(),
        Err(refusal) => refused(&refusal),
    }
}

fn refused(refusal: &UserRefusal) -> Response {
    (StatusCode::BAD_REQUEST, Json(refusal.body())).into_response()
}

pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    Router::new()
        .route(
            "/admin/realms/{realm}/users",
            get(list_users).post(create_user),
        )
        .route("/admin/realms/{realm}/users/count", get(count_users))
        .route(
            "/admin/realms/{realm}/users/{id}",
            get(get_user).put(update_user).delete(delete_user),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/reset-password",
            put(reset_password),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/credentials",
            get(credentials),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/credentials/{credential}",
            axum::routing::delete(delete_credential),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/credentials/{credential}/userLabel",
            put(set_credential_label),
        )
        .route("/admin/realms/{realm}/users/{id}/sessions", get(sessions))
        .route(
            "/admin/realms/{realm}/users/{id}/offline-sessions/{client}",
            get(offline_sessions),
        )
        .route("/admin/realms/{realm}/users/{id}/logout", post(logout))
        .route(
            "/admin/realms/{realm}/users/{id}/impersonation",
            post(impersonate),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/federated-identity",
            get(federated_identity),
        )
        .route("/admin/realms/{realm}/users/{id}/consents", get(consents))
        .route(
            "/admin/realms/{realm}/users/{id}/consents/{client}",
            axum::routing::delete(revoke_consent),
        )
        .route(
            "/admin/realms/{realm}/groups/{id}/members",
            get(group_members),
        )
        .route(
            "/admin/realms/{realm}/roles/{role-name}/users",
            get(realm_role_users),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/roles/{role-name}/users",
            get(client_role_users),
        )
}

/// `GET /users`.
async fn list_users(r: InRealm<need::QueryUsers>, AdminQuery(q): AdminQuery<UsersQuery>) -> Answer {
    let search: UserSearch = q.into();
    let users = r
        .services
        .admin_search_users(&r.who, &r.realm, &search)
        .await?;
    Ok(Json(users).into_response())
}

/// `GET /users/count`.
async fn count_users(
    r: InRealm<need::QueryUsers>,
    AdminQuery(q): AdminQuery<UsersQuery>,
) -> Answer {
    let search: UserSearch = q.into();
    let count = r
        .services
        .admin_count_users(&r.who, &r.realm, &search)
        .await?;
    Ok(Json(count).into_response())
}

/// `POST /users`: 201 with the new user's URL.
async fn create_user(
    r: InRealm<need::ManageUsers>,
    AdminJson(rep): AdminJson<UserRepresentation>,
) -> Answer {
    Ok(match r.services.admin_create_user(&r.realm, &rep).await? {
        Ok(id) => crate::created(&r.ctx, &format!("{}/users/{id}", r.realm.name)),
        Err(refusal) => refused(&refusal),
    })
}

/// `GET /users/{id}`.
async fn get_user(r: InRealm<need::QueryUsers>, Path((_, id)): Path<(String, String)>) -> Answer {
    let rep = r.services.admin_get_user(&r.who, &r.realm, &id).await?;
    Ok(Json(rep).into_response())
}

/// `PUT /users/{id}`: 204.
async fn update_user(
    r: InRealm<need::QueryUsers>,
    Path((_, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<UserRepresentation>,
) -> Answer {
    let result = r
        .services
        .admin_update_user(&r.who, &r.realm, &id, &rep)
        .await?;
    Ok(written(result, StatusCode::NO_CONTENT))
}

/// `DELETE /users/{id}`: 204.
async fn delete_user(
    r: InRealm<need::QueryUsers>,
    Path((_, id)): Path<(String, String)>,
) -> Answer {
    r.services.admin_delete_user(&r.who, &r.realm, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /users/{id}/reset-password`: 204.
async fn reset_password(
    r: InRealm<need::QueryUsers>,
    Path((_, id)): Path<(String, String)>,
    AdminJson(cred): AdminJson<CredentialRepresentation>,
) -> Answer {
    let result = r
        .services
        .admin_reset_password(&r.who, &r.realm, &id, &cred)
        .await?;
    Ok(written(result, StatusCode::NO_CONTENT))
}

/// `GET /users/{id}/credentials`.
async fn credentials(
    r: InRealm<need::QueryUsers>,
    Path((_, id)): Path<(String, String)>,
) -> Answer {
    let list = r
        .services
        .admin_user_credentials(&r.who, &r.realm, &id)
        .await?;
    Ok(Json(list).into_response())
}

/// `DELETE /users/{id}/credentials/{credentialId}`: 204.
async fn delete_credential(
    r: InRealm<need::QueryUsers>,
    Path((_, id, credential)): Path<(String, String, String)>,
) -> Answer {
    r.services
        .admin_delete_credential(&r.who, &r.realm, &id, &credential)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /users/{id}/credentials/{credentialId}/userLabel` with a `text/plain` body: 204.
async fn set_credential_label(
    r: InRealm<need::QueryUsers>,
    Path((_, id, credential)): Path<(String, String, String)>,
    label: String,
) -> Answer {
    r.services
        .admin_set_credential_label(&r.who, &r.realm, &id, &credential, &label)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /users/{id}/sessions`.
async fn sessions(r: InRealm<need::QueryUsers>, Path((_, id)): Path<(String, String)>) -> Answer {
    let list = r
        .services
        .admin_user_sessions(&r.who, &r.realm, &id)
        .await?;
    Ok(Json(list).into_response())
}

/// `GET /users/{id}/offline-sessions/{clientUuid}`.
async fn offline_sessions(
    r: InRealm<need::QueryUsers>,
    Path((_, id, client)): Path<(String, String, String)>,
) -> Answer {
    let list = r
        .services
        .admin_user_offline_sessions(&r.who, &r.realm, &id, &client)
        .await?;
    Ok(Json(list).into_response())
}

/// `POST /users/{id}/impersonation` (the realm's `impersonation` role; 400 when the feature is
/// off): `{"sameRealm": .., "redirect": <a one-minute link that signs a browser in as the user>}`.
async fn impersonate(
    admin: crate::Admin,
    axum::extract::State(services): axum::extract::State<Services>,
    Path((realm, id)): Path<(String, String)>,
) -> Answer {
    let realm = services
        .admin_realm(
            &admin.who,
            &realm,
            gatehouse_services::Permission::Impersonation,
        )
        .await?;
    let started = services
        .admin_impersonate(&admin.ctx, &admin.who, &realm, &id)
        .await?;
    Ok(
        Json(json!({"sameRealm": started.same_realm, "redirect": started.redirect}))
            .into_response(),
    )
}

/// `POST /users/{id}/logout`: 204.
async fn logout(r: InRealm<need::QueryUsers>, Path((_, id)): Path<(String, String)>) -> Answer {
    r.services
        .admin_logout_user(&r.ctx, &r.who, &r.realm, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /users/{id}/federated-identity`: always empty until identity brokering exists.
async fn federated_identity(
    r: InRealm<need::QueryUsers>,
    Path((_, id)): Path<(String, String)>,
) -> Answer {
    r.services.admin_check_user(&r.who, &r.realm, &id).await?;
    Ok(Json(json!([])).into_response())
}

/// `GET /users/{id}/consents`: the user's consents and the clients holding an offline token
/// of the user.
async fn consents(r: InRealm<need::QueryUsers>, Path((_, id)): Path<(String, String)>) -> Answer {
    let list = r
        .services
        .admin_user_consents(&r.who, &r.realm, &id)
        .await?;
    Ok(Json(list).into_response())
}

/// `DELETE /users/{id}/consents/{clientId}`: 204; revokes the consent and the client's offline
/// tokens of the user.
async fn revoke_consent(
    r: InRealm<need::QueryUsers>,
    Path((_, id, client)): Path<(String, String, String)>,
) -> Answer {
    r.services
        .admin_revoke_consent(&r.ctx, &r.who, &r.realm, &id, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /groups/{id}/members`: the group's direct members; viewing members needs
/// `view-users`, as Keycloak's `requireViewMembers`.
async fn group_members(
    r: InRealm<need::ViewUsers>,
    Path((_, id)): Path<(String, String)>,
    AdminQuery(q): AdminQuery<MembersQuery>,
) -> Answer {
    let list = r
        .services
        .admin_group_members(
            &r.realm,
            &id,
            q.first,
            q.max,
            q.brief_representation.unwrap_or(false),
        )
        .await?;
    Ok(Json(list).into_response())
}

/// `GET /roles/{role-name}/users`.
async fn realm_role_users(
    r: InRealm<need::QueryUsers>,
    Path((_, role)): Path<(String, String)>,
    AdminQuery(q): AdminQuery<MembersQuery>,
) -> Answer {
    role_users(r, None, role, q).await
}

/// `GET /clients/{id}/roles/{role-name}/users`.
async fn client_role_users(
    r: InRealm<need::QueryUsers>,
    Path((_, client, role)): Path<(String, String, String)>,
    AdminQuery(q): AdminQuery<MembersQuery>,
) -> Answer {
    role_users(r, Some(client), role, q).await
}

async fn role_users(
    r: InRealm<need::QueryUsers>,
    client: Option<String>,
    role: String,
    q: MembersQuery,
) -> Answer {
    let list = r
        .services
        .admin_role_users(
            &r.who,
            &r.realm,
            client.as_deref(),
            &role,
            q.first,
            q.max,
            q.brief_representation.unwrap_or(false),
        )
        .await;
    match list {
        Ok(list) => Ok(Json(list).into_response()),
        // Keycloak's own text for this 404.
        Err(ServiceError::NotFound(what)) if what == "Role" => Ok((
            StatusCode::NOT_FOUND,
            Json(json!({
                "error": "Could not find role",
                "error_description": "For more on this error consult the server log."
            })),
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}
