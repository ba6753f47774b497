//! Admin REST API: groups (`/admin/realms/{realm}/groups...`) and a user's memberships
//! (`/admin/realms/{realm}/users/{id}/groups...`). Group role mappings are in `roles.rs`.

use axum::extract::{FromRef, Path};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use gatehouse_model::rep::group::GroupRepresentation;
use gatehouse_model::{GroupId, UserId};
use gatehouse_services::{ChildrenQuery, GroupListQuery, GroupPlaced, Services};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{InRealm, need};
use crate::{AdminError, AdminJson, AdminQuery};

type Answer = Result<Response, AdminError>;

/// Query parameters of `GET /groups`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupsQuery {
    search: Option<String>,
    q: Option<String>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    exact: Option<bool>,
    first: Option<i64>,
    max: Option<i64>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    brief_representation: Option<bool>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    populate_hierarchy: Option<bool>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    sub_groups_count: Option<bool>,
}

/// Query parameters of `GET /groups/count`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CountQuery {
    search: Option<String>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    top: Option<bool>,
}

/// Query parameters of `GET /groups/{id}/children`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChildrenParams {
    search: Option<String>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    exact: Option<bool>,
    first: Option<i64>,
    max: Option<i64>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    brief_representation: Option<bool>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    sub_groups_count: Option<bool>,
}

/// Query parameters of `GET /users/{id}/groups` and its count.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserGroupsQuery {
    search: Option<String>,
    first: Option<i64>,
    max: Option<i64>,
    #[serde(default, deserialize_with = "crate::query::flag")]
    brief_representation: Option<bool>,
}

async fn list_groups(
    r: InRealm<need::QueryGroups>,
    AdminQuery(q): AdminQuery<GroupsQuery>,
) -> Answer {
    let defaults = GroupListQuery::default();
    let list = GroupListQuery {
        search: q.search,
        q: q.q,
        exact: q.exact.unwrap_or(defaults.exact),
        first: q.first,
        max: q.max,
        brief: q.brief_representation.unwrap_or(defaults.brief),
        populate_hierarchy: q.populate_hierarchy.unwrap_or(defaults.populate_hierarchy),
        sub_groups_count: q.sub_groups_count.unwrap_or(defaults.sub_groups_count),
    };
    let groups = r.services.admin_groups(&r.who, &r.realm, &list).await?;
    Ok(Json(groups).into_response())
}

async fn count_groups(
    r: InRealm<need::QueryGroups>,
    AdminQuery(q): AdminQuery<CountQuery>,
) -> Answer {
    let count = r
        .services
        .admin_group_count(&r.realm, q.search.as_deref(), q.top.unwrap_or(false))
        .await?;
    Ok(Json(json!({ "count": count })).into_response())
}

async fn create_group(
    r: InRealm<need::ManageUsers>,
    AdminJson(rep): AdminJson<GroupRepresentation>,
) -> Answer {
    match r
        .services
        .admin_place_group(&r.who, &r.realm, None, &rep)
        .await?
    {
        GroupPlaced::Created(group) => Ok(crate::created(
            &r.ctx,
            &format!(
                "{}/groups/{}",
                r.realm.name,
                group.id.as_deref().unwrap_or_default()
            ),
        )),
        GroupPlaced::Moved(_) => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

async fn get_group(r: InRealm<need::ViewUsers>, Path((_, id)): Path<(String, String)>) -> Answer {
    let group = r
        .services
        .admin_group(&r.who, &r.realm, &GroupId::new(id))
        .await?;
    Ok(Json(group).into_response())
}

async fn update_group(
    r: InRealm<need::ManageUsers>,
    Path((_, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<GroupRepresentation>,
) -> Answer {
    r.services
        .admin_update_group(&r.realm, &GroupId::new(id), &rep)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_group(
    r: InRealm<need::ManageUsers>,
    Path((_, id)): Path<(String, String)>,
) -> Answer {
    r.services
        .admin_delete_group(&r.realm, &GroupId::new(id))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn children(
    r: InRealm<need::ViewUsers>,
    Path((_, id)): Path<(String, String)>,
    AdminQuery(q): AdminQuery<ChildrenParams>,
) -> Answer {
    let defaults = ChildrenQuery::default();
    let children = ChildrenQuery {
        search: q.search,
        exact: q.exact.unwrap_or(defaults.exact),
        first: q.first.unwrap_or(defaults.first),
        max: q.max.unwrap_or(defaults.max),
        brief: q.brief_representation.unwrap_or(defaults.brief),
        sub_groups_count: q.sub_groups_count.unwrap_or(defaults.sub_groups_count),
    };
    let list = r
        .services
        .admin_group_children(&r.who, &r.realm, &GroupId::new(id), &children)
        .await?;
    Ok(Json(list).into_response())
}

/// `POST /groups/{id}/children`: 201 with the new child's `Location` and representation, or
/// 204 when the body named an existing group, which moves under this one.
async fn add_child(
    r: InRealm<need::ManageUsers>,
    Path((_, id)): Path<(String, String)>,
    AdminJson(rep): AdminJson<GroupRepresentation>,
) -> Answer {
    let parent = GroupId::new(id);
    match r
        .services
        .admin_place_group(&r.who, &r.realm, Some(&parent), &rep)
        .await?
    {
        GroupPlaced::Created(child) => {
            let path = format!(
                "{}/groups/{}",
                r.realm.name,
                child.id.as_deref().unwrap_or_default()
            );
            let (parts, _) = crate::created(&r.ctx, &path).into_parts();
            Ok((parts, Json(child)).into_response())
        }
        GroupPlaced::Moved(_) => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

async fn user_groups(
    r: InRealm<need::ViewUsers>,
    Path((_, id)): Path<(String, String)>,
    AdminQuery(q): AdminQuery<UserGroupsQuery>,
) -> Answer {
    let groups = r
        .services
        .admin_user_groups(
            &r.realm,
            &UserId::new(id),
            q.search.as_deref(),
            q.first,
            q.max,
            q.brief_representation.unwrap_or(true),
        )
        .await?;
    Ok(Json(groups).into_response())
}

async fn user_group_count(
    r: InRealm<need::ViewUsers>,
    Path((_, id)): Path<(String, String)>,
    AdminQuery(q): AdminQuery<UserGroupsQuery>,
) -> Answer {
    let count = r
        .services
        .admin_user_group_count(&r.realm, &UserId::new(id), q.search.as_deref())
        .await?;
    Ok(Json(json!({ "count": count })).into_response())
}

async fn join_group(
    r: InRealm<need::ManageUsers>,
    Path((_, user, group)): Path<(String, String, String)>,
) -> Answer {
    membership(r, user, group, true).await
}

async fn leave_group(
    r: InRealm<need::ManageUsers>,
    Path((_, user, group)): Path<(String, String, String)>,
) -> Answer {
    membership(r, user, group, false).await
}

async fn membership(
    r: InRealm<need::ManageUsers>,
    user: String,
    group: String,
    join: bool,
) -> Answer {
    r.services
        .admin_membership(&r.realm, &UserId::new(user), &GroupId::new(group), join)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    Router::new()
        .route(
            "/admin/realms/{realm}/groups",
            get(list_groups).post(create_group),
        )
        .route("/admin/realms/{realm}/groups/count", get(count_groups))
        .route(
            "/admin/realms/{realm}/groups/{id}",
            get(get_group).put(update_group).delete(delete_group),
        )
        .route(
            "/admin/realms/{realm}/groups/{id}/children",
            get(children).post(add_child),
        )
        .route("/admin/realms/{realm}/users/{id}/groups", get(user_groups))
        .route(
            "/admin/realms/{realm}/users/{id}/groups/count",
            get(user_group_count),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/groups/{group}",
            put(join_group).delete(leave_group),
        )
}
