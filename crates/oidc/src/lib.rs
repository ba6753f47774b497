//! OpenID Connect and OAuth 2.0 endpoints with Keycloak's paths, parameters, JSON bodies and
//! error codes.
//!
//! Handlers parse and render; every decision is asked of [`gatehouse_services`]. They need the
//! [`RequestCtx`](gatehouse_services::RequestCtx) that the server crate's middleware puts in the
//! request extensions, and [`Services`] from the router state.

mod authorize;
mod cors;
mod error;
mod form;
mod iframe;
mod logout;
mod realm;
mod token;

pub use error::OidcError;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use gatehouse_services::Services;

/// The realm and protocol routes, relative to the server's relative path.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
    gatehouse_login::LoginState: FromRef<S>,
{
    const OIDC: &str = "/realms/{realm}/protocol/openid-connect";
    Router::new()
        .route("/realms/{realm}", get(realm::info))
        .route(
            "/realms/{realm}/.well-known/openid-configuration",
            get(authorize::discovery),
        )
        .route(
            &format!("{OIDC}/auth"),
            get(authorize::auth_get).post(authorize::auth_post),
        )
        .route(&format!("{OIDC}/certs"), get(realm::certs))
        .route(
            &format!("{OIDC}/token"),
            post(token::token).options(cors::preflight),
        )
        .route(
            &format!("{OIDC}/userinfo"),
            get(token::userinfo)
                .post(token::userinfo_post)
                .options(cors::preflight),
        )
        .route(&format!("{OIDC}/token/introspect"), post(token::introspect))
        .route(&format!("{OIDC}/revoke"), post(token::revoke))
        .route(
            &format!("{OIDC}/login-status-iframe.html"),
            get(iframe::status),
        )
        .route(
            &format!("{OIDC}/login-status-iframe.html/init"),
            get(iframe::status_init),
        )
        .route(&format!("{OIDC}/3p-cookies/step1.html"), get(iframe::step1))
        .route(&format!("{OIDC}/3p-cookies/step2.html"), get(iframe::step2))
        .route(
            &format!("{OIDC}/logout"),
            get(logout::logout_get).post(logout::logout_post),
        )
        .route(
            &format!("{OIDC}/logout/logout-confirm"),
            post(logout::logout_confirm),
        )
}
