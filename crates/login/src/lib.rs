//! Login pages: the themes (minijinja templates, message bundles, static resources; built in
//! or read from the theme folder, chosen per realm), the page's language, the login form at
//! `login-actions/authenticate`, and the delivery of an authorization response (redirect or
//! `form_post`).
//!
//! Handlers parse and render; signing in is decided by [`gatehouse_services`].

mod actions;
mod cookies;
pub mod locale;
mod restart;
mod theme;

pub use actions::consent_page;
pub use actions::{
    deliver, error_page, info_page, info_page_with, login_page, logout_confirm_page, realm_path,
};
pub use cookies::{
    AUTH_SESSION_ID, KC_RESTART, KEYCLOAK_IDENTITY, KEYCLOAK_LOCALE, KEYCLOAK_SESSION,
    auth_session_cookie, clear_restart_cookie, clear_sso_cookies, cookie_value, locale_cookie,
    restart_cookie, sso_cookies,
};
pub use restart::login_finished;
pub use theme::{BUILTIN_THEME, LoginTheme, Resource, ThemeError, ThemeSettings, Themes};

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use gatehouse_services::Services;

/// What the login handlers share besides [`Services`].
#[derive(Clone)]
pub struct LoginState {
    /// The loaded themes.
    pub themes: Arc<Themes>,
    /// The route suffix of `AUTH_SESSION_ID`.
    pub route: Route,
}

/// The route suffix of `AUTH_SESSION_ID` (`<id>.<route>`), which sticky load balancers route
/// on: the node name of the root session's primary owner in the distributed cache, so the
/// balancer sends the browser where its login is held. None outside a cluster, or with
/// Keycloak's `--spi-sticky-session-encoder-infinispan-should-attach-route=false`.
#[derive(Clone, Default)]
pub struct Route(Option<Services>);

impl Route {
    /// Routes to the primary owner `services`' cluster names.
    pub fn primary_owner(services: Services) -> Route {
        Route(Some(services))
    }

    /// No route: the cookie is the bare id.
    pub fn off() -> Route {
        Route(None)
    }

    /// The route of the root session `id`, if any.
    pub(crate) fn of(&self, id: &gatehouse_model::AuthSessionId) -> Option<String> {
        self.0.as_ref()?.auth_session_route(id)
    }
}

/// The login routes, relative to the server's relative path.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
    LoginState: FromRef<S>,
{
    Router::new()
        .route(
            "/realms/{realm}/login-actions/authenticate",
            get(actions::show).post(actions::submit),
        )
        .route(
            "/realms/{realm}/login-actions/required-action",
            get(actions::show_required_action).post(actions::submit_required_action),
        )
        .route(
            "/realms/{realm}/login-actions/consent",
            get(actions::show_consent).post(actions::submit_consent),
        )
        .route(
            "/realms/{realm}/login-actions/restart",
            get(restart::restart),
        )
        .route(
            "/realms/{realm}/login-actions/action-token",
            get(actions::action_token),
        )
        .route(
            "/resources/{version}/login/{theme}/{*path}",
            get(actions::resource),
        )
}
