//! Admin REST API: realm and client roles (`.../roles`, `.../clients/{id}/roles`,
//! `.../roles-by-id`), their composites, and the role mappings of users and groups
//! (`.../users/{id}/role-mappings`, `.../groups/{id}/role-mappings`).
//!
//! The paths name their parameters so that one handler serves realm roles, client roles and
//! roles by id, and users and groups alike: `client-uuid` names the client whose roles are
//! meant, `role-name` or `role-id` the role, `target` the client a composite listing is
//! narrowed to, `user-id` or `group-id` the holder of role mappings.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_model::rep::role::RoleRepresentation;
use gatehouse_model::{ClientUuid, GroupId, RoleId, UserId};
use gatehouse_services::{
    MappingView, Permission, RoleContainer, RoleHolder, RoleListQuery, RoleRef, Services,
};
use serde::Deserialize;

use crate::auth::{InRealm, need};
use crate::{Admin, AdminError, AdminJson, AdminQuery};

type Answer = Result<Response, AdminError>;

/// The path parameters of a role route, by name.
struct Params(HashMap<String, String>);

impl Params {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn realm(&self) -> &str {
        self.get("realm").unwrap_or_default()
    }

    /// The realm, or the client named by `client-uuid`.
    fn container(&self) -> RoleContainer {
        match self.get("client-uuid") {
            Some(client) => RoleContainer::Client(ClientUuid::new(client)),
            None => RoleContainer::Realm,
        }
    }

    fn role(&self) -> RoleRef {
        match self.get("role-id") {
            Some(id) => RoleRef::Id(RoleId::new(id)),
            None => RoleRef::Named(
                self.container(),
                self.get("role-name").unwrap_or_default().to_owned(),
            ),
        }
    }

    fn holder(&self) -> RoleHolder {
        match self.get("group-id") {
            Some(group) => RoleHolder::Group(GroupId::new(group)),
            None => RoleHolder::User(UserId::new(self.get("user-id").unwrap_or_default())),
        }
    }

    /// The client a composite listing is narrowed to (`.../composites/clients/{target}`).
    fn target(&self) -> Option<RoleContainer> {
        self.get("target")
            .map(|c| RoleContainer::Client(ClientUuid::new(c)))
    }

    /// What reading the named role needs in the first place; a role given by id is checked
    /// against its own container by the services layer.
    fn view_permissions(&self) -> &'static [Permission] {
        match self.role() {
            RoleRef::Named(RoleContainer::Realm, _) => &[Permission::ViewRealm],
            RoleRef::Named(RoleContainer::Client(_), _) => &[Permission::ViewClients],
            RoleRef::Id(_) => &[Permission::ViewRealm, Permission::ViewClients],
        }
    }

    fn manage_permissions(&self) -> &'static [Permission] {
        match self.role() {
            RoleRef::Named(RoleContainer::Realm, _) => &[Permission::ManageRealm],
            RoleRef::Named(RoleContainer::Client(_), _) => &[Permission::ManageClients],
            RoleRef::Id(_) => &[Permission::ManageRealm, Permission::ManageClients],
        }
    }
}

/// Percent-encodes a path segment as Keycloak's `Encode.encodePathSegmentAsIs` does for the
/// `Location` of a new role: unreserved characters and sub-delimiters stay.
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            );
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `search`, `first`, `max`, `briefRepresentation` of `GET .../roles`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RolesQuery {
    search: Option<String>,
    first: Option<i64>,
    max: Option<i64>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    brief_representation: Option<bool>,
}

/// `first`, `max`, `briefRepresentation` of `GET .../roles/{role-name}/groups`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageQuery {
    first: Option<i64>,
    max: Option<i64>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    brief_representation: Option<bool>,
}

/// `briefRepresentation` of `GET .../role-mappings/.../composite`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BriefQuery {
    #[serde(default, deserialize_with = "crate::query::flag")]
    brief_representation: Option<bool>,
}

async fn list_roles(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<HashMap<String, String>>,
    AdminQuery(q): AdminQuery<RolesQuery>,
) -> Answer {
    let p = Params(p);
    let container = p.container();
    let realm = services
        .admin_realm_any(&admin.who, p.realm(), container.list_permissions())
        .await?;
    let query = RoleListQuery {
        search: q.search,
        first: q.first,
        max: q.max,
        brief: q.brief_representation.unwrap_or(true),
    };
    let roles = services.admin_roles(&realm, &container, &query).await?;
    Ok(Json(roles).into_response())
}

async fn create_role(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<HashMap<String, String>>,
    AdminJson(rep): AdminJson<RoleRepresentation>,
) -> Answer {
    let p = Params(p);
    let container = p.container();
    let realm = services
        .admin_realm(&admin.who, p.realm(), container.manage_permission())
        .await?;
    let name = services
        .admin_create_role(&admin.who, &realm, &container, &rep)
        .await?;
    let location = match &container {
        RoleContainer::Realm => format!("{}/roles/{}", realm.name, encode_segment(&name)),
        RoleContainer::Client(c) => format!(
            "{}/clients/{}/roles/{}",
            realm.name,
            encode_segment(c.as_str()),
            encode_segment(&name)
        ),
    };
    Ok(crate::created(&admin.ctx, &location))
}

async fn get_role(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<HashMap<String, String>>,
) -> Answer {
    let p = Params(p);
    let realm = services
        .admin_realm_any(&admin.who, p.realm(), p.view_permissions())
        .await?;
    let role = services.admin_role(&admin.who, &realm, &p.role()).await?;
    Ok(Json(role).into_response())
}

async fn update_role(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<HashMap<String, String>>,
    AdminJson(rep): AdminJson<RoleRepresentation>,
) -> Answer {
    let p = Params(p);
    let realm = services
        .admin_realm_any(&admin.who, p.realm(), p.manage_permissions())
        .await?;
    services
        .admin_update_role(&admin.who, &realm, &p.role(), &rep)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_role(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<HashMap<String, String>>,
) -> Answer {
    let p = Params(p);
    let realm = services
        .admin_realm_any(&admin.who, p.realm(), p.manage_permissions())
        .await?;
    services
        .admin_delete_role(&admin.who, &realm, &p.role())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn composites(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<HashMap<String, String>>,
) -> Answer {
    let p = Params(p);
    list_composites(admin, services, p, None).await
}

async fn realm_composites(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<HashMap<String, String>>,
) -> Answer {
    let p = Params(p);
    list_composites(admin, services, p, Some(RoleContainer::Realm)).await
}

async fn client_composites(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<HashMap<String, String>>,
) -> Answer {
    let p = Params(p);
    let target = p.target();
    list_composites(admin, services, p, target).await
}

async fn list_composites(
    admin: Admin,
    services: Services,
    p: Params,
    only: Option<RoleContainer>,
) -> Answer {
    let realm = services
        .admin_realm_any(&admin.who, p.realm(), p.view_permissions())
        .await?;
    let roles = services
        .admin_role_composites(&admin.who, &realm, &p.role(), only.as_ref())
        .await?;
    Ok(Json(roles).into_response())
}

async fn add_composites(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<HashMap<String, String>>,
    AdminJson(roles): AdminJson<Vec<RoleRepresentation>>,
) -> Answer {
    change_composites(admin, services, Params(p), roles, true).await
}

async fn remove_composites(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<HashMap<String, String>>,
    AdminJson(roles): AdminJson<Vec<RoleRepresentation>>,
) -> Answer {
    change_composites(admin, services, Params(p), roles, false).await
}

async fn change_composites(
    admin: Admin,
    services: Services,
    p: Params,
    roles: Vec<RoleRepresentation>,
    add: bool,
) -> Answer {
    let realm = services
        .admin_realm_any(&admin.who, p.realm(), p.manage_permissions())
        .await?;
    services
        .admin_change_composites(&admin.who, &realm, &p.role(), &roles, add)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn role_groups(
    admin: Admin,
    State(services): State<Services>,
    Path(p): Path<HashMap<String, String>>,
    AdminQuery(q): AdminQuery<PageQuery>,
) -> Answer {
    let p = Params(p);
    let realm = services
        .admin_realm_any(&admin.who, p.realm(), p.view_permissions())
        .await?;
    let groups = services
        .admin_role_groups(
            &realm,
            &p.role(),
            q.first,
            q.max,
            q.brief_representation.unwrap_or(true),
        )
        .await?;
    Ok(Json(groups).into_response())
}

async fn mappings(r: InRealm<need::ViewUsers>, Path(p): Path<HashMap<String, String>>) -> Answer {
    let p = Params(p);
    let all = r
        .services
        .admin_role_mappings(&r.who, &r.realm, &p.holder())
        .await?;
    Ok(Json(all).into_response())
}

async fn holder_roles(r: InRealm<need::ViewUsers>, p: Params, view: MappingView) -> Answer {
    let roles = r
        .services
        .admin_holder_roles(&r.who, &r.realm, &p.holder(), &p.container(), view)
        .await?;
    Ok(Json(roles).into_response())
}

async fn direct_mappings(
    r: InRealm<need::ViewUsers>,
    Path(p): Path<HashMap<String, String>>,
) -> Answer {
    holder_roles(r, Params(p), MappingView::Direct).await
}

async fn available_mappings(
    r: InRealm<need::ViewUsers>,
    Path(p): Path<HashMap<String, String>>,
) -> Answer {
    holder_roles(r, Params(p), MappingView::Available).await
}

async fn effective_mappings(
    r: InRealm<need::ViewUsers>,
    Path(p): Path<HashMap<String, String>>,
    AdminQuery(q): AdminQuery<BriefQuery>,
) -> Answer {
    let brief = q.brief_representation.unwrap_or(true);
    holder_roles(r, Params(p), MappingView::Effective { brief }).await
}

async fn add_mappings(
    r: InRealm<need::ManageUsers>,
    Path(p): Path<HashMap<String, String>>,
    AdminJson(roles): AdminJson<Vec<RoleRepresentation>>,
) -> Answer {
    change_mappings(r, Params(p), Some(roles), true).await
}

/// `DELETE` with a list of roles, or without a body (Keycloak then removes every mapping of the
/// realm or client).
async fn remove_mappings(
    r: InRealm<need::ManageUsers>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> Answer {
    let roles = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let roles: Vec<RoleRepresentation> = serde_json::from_slice(&body)
            .map_err(|e| AdminError::BadRequest(format!("Failed to parse the JSON body: {e}")))?;
        Some(roles)
    };
    change_mappings(r, Params(p), roles, false).await
}

async fn change_mappings(
    r: InRealm<need::ManageUsers>,
    p: Params,
    roles: Option<Vec<RoleRepresentation>>,
    grant: bool,
) -> Answer {
    r.services
        .admin_change_mappings(
            &r.who,
            &r.realm,
            &p.holder(),
            &p.container(),
            roles.as_deref(),
            grant,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    let mut router = Router::new();
    for container in [
        "/admin/realms/{realm}/roles",
        "/admin/realms/{realm}/clients/{client-uuid}/roles",
    ] {
        let role = format!("{container}/{{role-name}}");
        router = router
            .route(container, get(list_roles).post(create_role))
            .route(&format!("{role}/groups"), get(role_groups));
        router = role_routes(router, &role);
    }
    router = role_routes(router, "/admin/realms/{realm}/roles-by-id/{role-id}");
    for holder in [
        "/admin/realms/{realm}/users/{user-id}/role-mappings",
        "/admin/realms/{realm}/groups/{group-id}/role-mappings",
    ] {
        router = router.route(holder, get(mappings));
        for scope in [
            format!("{holder}/realm"),
            format!("{holder}/clients/{{client-uuid}}"),
        ] {
            router = router
                .route(
                    &scope,
                    get(direct_mappings)
                        .post(add_mappings)
                        .delete(remove_mappings),
                )
                .route(&format!("{scope}/available"), get(available_mappings))
                .route(&format!("{scope}/composite"), get(effective_mappings));
        }
    }
    router
}

/// One role and its composites, at `role` (by name in a container, or by id).
fn role_routes<S>(router: Router<S>, role: &str) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    router
        .route(role, get(get_role).put(update_role).delete(delete_role))
        .route(
            &format!("{role}/composites"),
            get(composites)
                .post(add_composites)
                .delete(remove_composites),
        )
        .route(&format!("{role}/composites/realm"), get(realm_composites))
        .route(
            &format!("{role}/composites/clients/{{target}}"),
            get(client_composites),
        )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::encode_segment;

    #[test]
    fn role_names_are_encoded_in_locations() {
        assert_eq!(encode_segment("my role/x"), "my%20role%2Fx");
        assert_eq!(encode_segment("a:b@c"), "a:b@c");
        assert_eq!(encode_segment("ü"), "%C3%BC");
    }
}
