//! Keycloak's Admin REST API (`/admin/realms/...`, `/admin/serverinfo`): the same paths, query
//! parameters, representations, status codes and error bodies, so that python-keycloak,
//! `@keycloak/keycloak-admin-client` and kcadm-style scripts work unchanged.
//!
//! Handlers parse and render only. Every request is authenticated once by the [`Admin`]
//! extractor; what the caller may do, and everything else, is decided in
//! [`gatehouse_services`] (`Services::admin_realm` checks the role before anything is read).

mod auth;
mod clients;
mod components;
mod error;
mod groups;
mod partial;
mod query;
mod realms;
mod roles;
mod scopes;
mod users;

pub use auth::{Admin, AdminJson, AdminQuery};
pub use error::AdminError;

use axum::Router;
use axum::extract::FromRef;
use gatehouse_services::Services;

/// The admin routes, relative to the server's relative path.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    Router::new()
        .merge(realms::routes())
        .merge(users::routes())
        .merge(clients::routes())
        .merge(components::routes())
        .merge(roles::routes())
        .merge(groups::routes())
        .merge(partial::routes())
        .merge(scopes::routes())
}

/// `201 Created` with the new resource's absolute URL in `Location`, as Keycloak answers a
/// create (python-keycloak and the admin client read the new id from it).
pub(crate) fn created(
    ctx: &gatehouse_services::RequestCtx,
    path: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let location = format!(
        "{}/admin/realms/{}",
        ctx.frontend,
        path.trim_start_matches('/')
    );
    (
        axum::http::StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
    )
        .into_response()
}
