//! The HTTP edge of Gatehouse: listeners (HTTP, HTTPS from PEM files, the management port),
//! the welcome page, health checks and Prometheus metrics.
//!
//! This is the only crate below the binary that knows HTTP. It parses and renders; every rule
//! (who may create the first admin, what "ready" means for the database) is asked of
//! [`gatehouse_services`].

mod ctx;
mod error;
mod health;
mod listen;
mod metrics;
mod state;
mod welcome;

#[cfg(test)]
mod tests;

pub use error::ServerError;
pub use listen::{Running, serve};
pub use state::{AppState, Readiness};

use axum::Router;
use axum::routing::get;
use gatehouse_config::Config;
use tower::Layer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::normalize_path::NormalizePathLayer;

/// The public application: everything served on the HTTP and HTTPS ports.
pub fn app(state: AppState) -> Router {
    let rel = state.relative_path.clone();
    let mut router = Router::new();
    if rel.is_empty() {
        router = router.route("/", get(welcome::page).post(welcome::create_admin));
    } else {
        // Keycloak serves the welcome page at the relative path itself, and sends `/` there.
        let root = format!("{rel}/");
        router = router
            .route(&rel, get(welcome::page).post(welcome::create_admin))
            .route(&root, get(welcome::page).post(welcome::create_admin))
            .route("/", get(move || welcome::redirect_to(root.clone())));
    }
    let protocol = gatehouse_oidc::routes::<AppState>()
        .merge(gatehouse_login::routes::<AppState>())
        .merge(gatehouse_admin::routes::<AppState>());
    router = if rel.is_empty() {
        router.merge(protocol)
    } else {
        router.nest(&rel, protocol)
    };
    let routed = router
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ctx::attach,
        ))
        .fallback(metrics::not_found)
        .layer(RequestBodyLimitLayer::new(state.max_body_bytes))
        .with_state(state);
    // Keycloak's JAX-RS resources match `/admin/realms/` as `/admin/realms`, and Keycloak's
    // admin client sends that trailing slash on every collection: trim it before routing.
    Router::new().fallback_service(NormalizePathLayer::trim_trailing_slash().layer(routed))
}

/// The management application (health and metrics), served on `http-management-port`.
/// Endpoints exist only when their option is on, as in Keycloak.
pub fn management_app(state: AppState, config: &Config) -> Router {
    let mut router = Router::new();
    if config.health_enabled {
        router = router
            .route("/health", get(health::ready))
            .route("/health/live", get(health::live))
            .route("/health/ready", get(health::ready))
            .route("/cluster", get(health::cluster));
    }
    if config.metrics_enabled {
        router = router.route("/metrics", get(metrics::render));
    }
    router.with_state(state)
}
