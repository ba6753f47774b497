use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use gatehouse_config::Config;
use gatehouse_services::Services;

/// Whether this node should receive traffic: set once start-up work (migrations, bootstrap) is
/// done, cleared when shutdown begins so load balancers stop sending new requests first.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the node ready or not.
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    /// Whether start-up finished and shutdown has not begun.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What handlers share: the services, and the few settings the edge itself needs.
#[derive(Clone)]
pub struct AppState {
    /// The services layer.
    pub services: Services,
    /// Start-up done and not shutting down.
    pub readiness: Readiness,
    /// `http-relative-path` without its trailing slash: `""` for the root, `/auth` for the seeds'.
    pub relative_path: String,
    /// `http-max-request-body-size`.
    pub max_body_bytes: usize,
    /// This node's name, shown on the welcome page for operators behind a load balancer.
    pub node_name: Arc<str>,
    /// `--hostname`: a full URL or a bare host name; `None` when dynamic.
    pub hostname: Option<Arc<str>>,
    /// `--hostname-backchannel-dynamic`.
    pub backchannel_dynamic: bool,
    /// `--proxy-headers` and `--proxy-trusted-addresses`.
    pub(crate) proxy: Arc<crate::ctx::ProxySettings>,
    /// Themes and the node's route, for the login pages.
    pub login: gatehouse_login::LoginState,
}

impl axum::extract::FromRef<AppState> for gatehouse_login::LoginState {
    fn from_ref(state: &AppState) -> gatehouse_login::LoginState {
        state.login.clone()
    }
}

impl axum::extract::FromRef<AppState> for Services {
    fn from_ref(state: &AppState) -> Services {
        state.services.clone()
    }
}

impl AppState {
    /// Builds the state from the resolved configuration.
    pub fn new(
        services: Services,
        config: &Config,
        readiness: Readiness,
    ) -> Result<Self, crate::ServerError> {
        let rel = config.http_relative_path.as_str().trim_end_matches('/');
        let themes = gatehouse_login::Themes::new(theme_settings(config)?)
            .map_err(|e| crate::ServerError::Theme(e.to_string()))?;
        Ok(AppState {
            readiness,
            relative_path: rel.to_owned(),
            max_body_bytes: usize::try_from(config.http_max_request_body_size)
                .unwrap_or(usize::MAX),
            node_name: Arc::from(config.node_name.as_str()),
            hostname: config.hostname.as_deref().map(Arc::from),
            backchannel_dynamic: config.hostname_backchannel_dynamic,
            proxy: Arc::new(crate::ctx::ProxySettings::new(
                config.proxy_headers,
                config.proxy_trusted_addresses.clone(),
            )),
            login: gatehouse_login::LoginState {
                themes: Arc::new(themes),
                route: if sticky_route(config)? {
                    gatehouse_login::Route::primary_owner(services.clone())
                } else {
                    gatehouse_login::Route::off()
                },
            },
            services,
        })
    }
}

/// The route `AUTH_SESSION_ID` carries, as Keycloak's Infinispan sticky-session encoder
/// (`--spi-sticky-session-encoder-infinispan-should-attach-route`, default `true`, either
/// spelling of the separator): whether the cookie names the node holding the login, which
/// only a cluster has (not `--cache local`, `start-dev`'s default).
fn sticky_route(config: &Config) -> Result<bool, crate::ServerError> {
    const OPTION: &str = "spi-sticky-session-encoder-infinispan-should-attach-route";
    let attach = match config.spi.keys().find(|k| k.replace("--", "-") == OPTION) {
        Some(key) => config
            .spi_flag(key, true)
            .map_err(|e| crate::ServerError::Option(e.to_string()))?,
        None => true,
    };
    let clustered = config.cache == gatehouse_config::CacheKind::Ispn;
    Ok(attach && clustered)
}

/// Keycloak's theme options, read from the free-form `spi-*` options under any of Keycloak's
/// spellings (`spi-theme-folder-dir`, `spi-theme--folder--dir`, ...): the theme folder
/// (default `themes` in the working directory when there is one), caching (on for `start`,
/// off for `start-dev`, as Keycloak's dev profile), the default theme, and how long browsers
/// keep resources (30 days; `start-dev`: not at all).
fn theme_settings(config: &Config) -> Result<gatehouse_login::ThemeSettings, crate::ServerError> {
    let dev = config.mode == gatehouse_config::Mode::Dev;
    // The key as the user spelled it: `--` is Keycloak 26's unambiguous separator.
    let key = |name: &str| {
        config
            .spi
            .keys()
            .find(|k| k.replace("--", "-") == name)
            .cloned()
    };
    let flag = |name: &str| match key(name) {
        Some(k) => config
            .spi_flag(&k, !dev)
            .map_err(|e| crate::ServerError::Theme(e.to_string())),
        None => Ok(!dev),
    };
    let value = |name: &str| key(name).and_then(|k| config.spi.get(&k).cloned());
    let dir = match value("spi-theme-folder-dir") {
        Some(dir) => Some(std::path::PathBuf::from(dir)),
        None => Some(std::path::PathBuf::from("themes")).filter(|d| d.is_dir()),
    };
    let static_max_age = match value("spi-theme-static-max-age") {
        Some(v) => v.trim().parse().map_err(|_| {
            crate::ServerError::Theme(format!(
                "invalid value for option '--spi-theme-static-max-age': '{v}'. Expected a \
                 number of seconds"
            ))
        })?,
        None if dev => -1,
        None => 2_592_000,
    };
    Ok(gatehouse_login::ThemeSettings {
        dir,
        cache_themes: flag("spi-theme-cache-themes")?,
        cache_templates: flag("spi-theme-cache-templates")?,
        default_theme: value("spi-theme-default").filter(|t| !t.is_empty()),
        static_max_age,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::sticky_route;

    fn config(args: &[&str]) -> gatehouse_config::Config {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        gatehouse_config::resolve(
            gatehouse_config::Mode::Dev,
            &args,
            &Default::default(),
            std::path::Path::new("."),
        )
        .unwrap()
        .config
    }

    #[test]
    fn a_cluster_attaches_the_route_unless_switched_off() {
        let route = |args: &[&str]| sticky_route(&config(args)).unwrap();
        assert!(route(&["--cache", "ispn", "--node-name", "node-a"]));
        // Outside a cluster there is nothing to route between, as Keycloak's `start-dev`.
        assert!(!route(&["--node-name", "node-a"]));
        for off in [
            "--spi-sticky-session-encoder-infinispan-should-attach-route=false",
            "--spi-sticky-session-encoder--infinispan--should-attach-route=false",
        ] {
            assert!(!route(&["--cache", "ispn", off]), "{off}");
        }
        assert!(route(&[
            "--cache",
            "ispn",
            "--spi-sticky-session-encoder-infinispan-should-attach-route=true"
        ]));
    }

    #[test]
    fn a_bad_value_names_the_option() {
        let err = sticky_route(&config(&[
            "--cache",
            "ispn",
            "--spi-sticky-session-encoder-infinispan-should-attach-route=yes",
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("--spi-sticky-session-encoder-infinispan-should-attach-route")
                && err.contains("true, false")
                && !err.contains('\n'),
            "{err}"
        );
    }
}
