//! Gatehouse's option model: Keycloak 26 option names, layering and validation.
//!
//! Options are layered, highest first: command line (`--name=value`), environment
//! (`KC_NAME`), config file (`conf/gatehouse.conf` or `--config-file`), mode defaults.
//! [`resolve`] produces a typed [`Config`] plus the provenance of every value, which
//! [`Resolved::show`] prints for `show-config`.
//!
//! Architecture invariant: this crate does no I/O other than reading the config file (and the
//! host name for the default node name), and knows nothing of HTTP, SQL or the cluster. It only
//! parses; callers decide what a value means at run time.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod db;
mod error;
mod features;
mod options;
mod resolve;
mod transfer;
mod values;

pub use error::{ConfigError, FileLocation};
pub use ipnet::IpNet;
pub use options::env_name;
pub use resolve::{DEFAULT_CONFIG_FILE, resolve};
pub use transfer::{
    ExportOptions, ImportOptions, TransferTarget, UsersStrategy, export_options, import_options,
};
pub use values::{
    CacheKind, CacheStack, ClusterConfig, DbKind, Level, LogLevel, LogOutput, MASK, Mode,
    ProxyHeaders, RelativePath, Secret, Source,
};

/// The typed, validated configuration. Field names are the snake_case of Keycloak's options.
#[derive(Clone)]
pub struct Config {
    /// Which subcommand this configuration was resolved for.
    pub mode: Mode,
    /// `db`.
    pub db: DbKind,
    /// `db-url`, as given (JDBC or `postgres://`); see [`Config::postgres_url`].
    pub db_url: Option<String>,
    /// `db-url-host`.
    pub db_url_host: String,
    /// `db-url-port`.
    pub db_url_port: u16,
    /// `db-url-database`.
    pub db_url_database: String,
    /// `db-url-properties`, appended to the URL built from host/port/database.
    pub db_url_properties: Option<String>,
    /// `db-username`.
    pub db_username: Option<String>,
    /// `db-password`.
    pub db_password: Option<Secret>,
    /// `db-schema`, or the JDBC `currentSchema` parameter when that is how it was given.
    pub db_schema: Option<String>,
    /// `db-pool-initial-size`.
    pub db_pool_initial_size: Option<u32>,
    /// `db-pool-min-size`.
    pub db_pool_min_size: Option<u32>,
    /// `db-pool-max-size`.
    pub db_pool_max_size: u32,
    /// `cache-embedded-realms-max-count`: entries per realm-level cache.
    pub cache_realms_max_count: u32,
    /// `cache-embedded-users-max-count`: entries per user-level cache.
    pub cache_users_max_count: u32,
    /// `db-connect-timeout` (Gatehouse): seconds to keep retrying an unreachable database.
    pub db_connect_timeout: u64,
    /// `data-dir` (Gatehouse), absolute: holds the dev-file database and `import/`.
    pub data_dir: PathBuf,
    /// `http-enabled`.
    pub http_enabled: bool,
    /// `http-host`: the listen address.
    pub http_host: String,
    /// `http-port`; 0 picks a free port.
    pub http_port: u16,
    /// `https-port`; 0 picks a free port.
    pub https_port: u16,
    /// `https-certificate-file`, absolute.
    pub https_certificate_file: Option<PathBuf>,
    /// `https-certificate-key-file`, absolute.
    pub https_certificate_key_file: Option<PathBuf>,
    /// `http-relative-path`.
    pub http_relative_path: RelativePath,
    /// `http-management-port`; 0 picks a free port.
    pub http_management_port: u16,
    /// `http-max-request-body-size` (Gatehouse), bytes.
    pub http_max_request_body_size: u64,
    /// `hostname`: a host name or a full URL.
    pub hostname: Option<String>,
    /// `hostname-admin`: a URL.
    pub hostname_admin: Option<String>,
    /// `hostname-strict`.
    pub hostname_strict: bool,
    /// `hostname-backchannel-dynamic`.
    pub hostname_backchannel_dynamic: bool,
    /// `proxy-headers`.
    pub proxy_headers: Option<ProxyHeaders>,
    /// `proxy-trusted-addresses`; bare addresses become /32 or /128.
    pub proxy_trusted_addresses: Vec<IpNet>,
    /// `health-enabled`.
    pub health_enabled: bool,
    /// `import-realm`: import the realm files in `<data-dir>/import` at start-up, skipping
    /// realms that exist.
    pub import_realm: bool,
    /// `metrics-enabled`.
    pub metrics_enabled: bool,
    /// `log-level`.
    pub log_level: LogLevel,
    /// `log-console-output`.
    pub log_console_output: LogOutput,
    /// `features`, as given (possibly versioned, e.g. `token-exchange:v1`).
    pub features: Vec<String>,
    /// `features-disabled`, as given.
    pub features_disabled: Vec<String>,
    /// `spi-dblock-jpa-lock-wait-timeout`: how long to wait for the migration lock.
    pub dblock_lock_wait_timeout: Duration,
    /// `bootstrap-admin-username` (or legacy `KEYCLOAK_ADMIN`).
    pub bootstrap_admin_username: Option<String>,
    /// `bootstrap-admin-password` (or legacy `KEYCLOAK_ADMIN_PASSWORD`).
    pub bootstrap_admin_password: Option<Secret>,
    /// `node-name`: given, or derived from the host name plus a per-start suffix.
    pub node_name: String,
    /// `cache`.
    pub cache: CacheKind,
    /// The cluster's settings (used with `cache=ispn`).
    pub cluster: ClusterConfig,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// `spi-authentication-sessions--infinispan--auth-sessions-limit`: browser tabs one root
    /// authentication session keeps (default 300); a new tab beyond them drops the oldest.
    pub auth_sessions_limit: usize,
    /// Every other `spi-*` option, verbatim.
    pub spi: BTreeMap<String, String>,
}

impl fmt::Debug for Config {
    // Written out because free-form SPI options may carry secrets that `Secret` cannot wrap.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spi: BTreeMap<&str, &str> = self
            .spi
            .iter()
            .map(|(k, v)| {
                let v = if options::is_secret(k) {
                    MASK
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect();
        f.debug_struct("Config")
            .field("mode", &self.mode)
            .field("db", &self.db)
            .field("db_url", &self.db_url)
            .field("db_url_host", &self.db_url_host)
            .field("db_url_port", &self.db_url_port)
            .field("db_url_database", &self.db_url_database)
            .field("db_url_properties", &self.db_url_properties)
            .field("db_username", &self.db_username)
            .field("db_password", &self.db_password)
            .field("db_schema", &self.db_schema)
            .field("db_pool_initial_size", &self.db_pool_initial_size)
            .field("db_pool_min_size", &self.db_pool_min_size)
            .field("db_pool_max_size", &self.db_pool_max_size)
            .field("cache_realms_max_count", &self.cache_realms_max_count)
            .field("cache_users_max_count", &self.cache_users_max_count)
            .field("db_connect_timeout", &self.db_connect_timeout)
            .field("data_dir", &self.data_dir)
            .field("http_enabled", &self.http_enabled)
            .field("http_host", &self.http_host)
            .field("http_port", &self.http_port)
            .field("https_port", &self.https_port)
            .field("https_certificate_file", &self.https_certificate_file)
            .field(
                "https_certificate_key_file",
                &self.https_certificate_key_file,
            )
            .field("http_relative_path", &self.http_relative_path)
            .field("http_management_port", &self.http_management_port)
            .field(
                "http_max_request_body_size",
                &self.http_max_request_body_size,
            )
            .field("hostname", &self.hostname)
            .field("hostname_admin", &self.hostname_admin)
            .field("hostname_strict", &self.hostname_strict)
            .field(
                "hostname_backchannel_dynamic",
                &self.hostname_backchannel_dynamic,
            )
            .field("proxy_headers", &self.proxy_headers)
            .field("proxy_trusted_addresses", &self.proxy_trusted_addresses)
            .field("health_enabled", &self.health_enabled)
            .field("import_realm", &self.import_realm)
            .field("metrics_enabled", &self.metrics_enabled)
            .field("log_level", &self.log_level)
            .field("log_console_output", &self.log_console_output)
            .field("features", &self.features)
            .field("features_disabled", &self.features_disabled)
            .field("dblock_lock_wait_timeout", &self.dblock_lock_wait_timeout)
            .field("bootstrap_admin_username", &self.bootstrap_admin_username)
            .field("cluster", &self.cluster)
            .field("bootstrap_admin_password", &self.bootstrap_admin_password)
            .field("node_name", &self.node_name)
            .field("cache", &self.cache)
            .field("config_file", &self.config_file)
            .field("spi", &spi)
            .finish()
    }
}

impl Config {
    /// Production start rules (Keycloak 26); development mode always passes.
    pub fn check_start(&self) -> Result<(), ConfigError> {
        if self.mode == Mode::Dev {
            return Ok(());
        }
        if self.hostname.is_none() && self.hostname_strict {
            return Err(ConfigError::HostnameNotConfigured);
        }
        match (
            &self.https_certificate_file,
            &self.https_certificate_key_file,
        ) {
            (Some(_), None) => Err(ConfigError::IncompleteKeyMaterial {
                missing: "https-certificate-key-file",
                given: "https-certificate-file",
            }),
            (None, Some(_)) => Err(ConfigError::IncompleteKeyMaterial {
                missing: "https-certificate-file",
                given: "https-certificate-key-file",
            }),
            (None, None) if !self.http_enabled => Err(ConfigError::KeyMaterialMissing),
            _ => Ok(()),
        }
    }

    /// True when both halves of the HTTPS key material are configured.
    pub fn https_enabled(&self) -> bool {
        self.https_certificate_file.is_some() && self.https_certificate_key_file.is_some()
    }

    /// `postgres://host:port/database[?params]` for `db=postgres`, None for dev-file.
    ///
    /// Built from `db-url` (JDBC form converted) or else from host, port, database and
    /// properties. Credentials are never put in the URL; they travel separately so the URL
    /// can be logged.
    pub fn postgres_url(&self) -> Option<String> {
        match self.db {
            DbKind::DevFile => None,
            DbKind::Postgres => match &self.db_url {
                Some(url) => db::from_db_url(url),
                None => Some(db::from_parts(
                    &self.db_url_host,
                    self.db_url_port,
                    &self.db_url_database,
                    self.db_url_properties.as_deref(),
                )),
            },
        }
    }

    /// The dev-file database: `<data-dir>/gatehouse.db`.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("gatehouse.db")
    }

    /// A boolean `spi-*` option as Keycloak reads it (`true` or `false`), `default` when absent;
    /// `Err` names the option and the accepted values.
    pub fn spi_flag(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.spi.get(name).map(String::as_str) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ConfigError::InvalidValue {
                option: format!("--{name}"),
                location: None,
                value: other.to_owned(),
                expected: "Expected values are: true, false".to_owned(),
            }),
        }
    }

    /// Whether a Keycloak feature is on, given `features`, `features-disabled` and Keycloak's
    /// defaults. Versions (`token-exchange:v1`) are ignored for the check.
    pub fn feature_enabled(&self, name: &str) -> bool {
        features::enabled(name, &self.features, &self.features_disabled)
    }
}

/// The resolved configuration together with where each value came from.
pub struct Resolved {
    /// The typed configuration.
    pub config: Config,
    entries: BTreeMap<String, resolve::Entry>,
    cwd: PathBuf,
}

impl fmt::Debug for Resolved {
    // Raw entries hold secrets in clear, so only the (masking) typed config is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Resolved {
    /// Where an option's effective value came from; None when it has no value.
    pub fn source(&self, option: &str) -> Option<&Source> {
        self.entries.get(option).map(|e| &e.source)
    }

    /// `show-config` output: the mode, then one line per option with a value, sorted by name,
    /// secrets masked.
    pub fn show(&self) -> String {
        let mut out = format!(
            "Current Mode: {}\nCurrent Configuration:\n",
            self.config.mode.as_str()
        );
        for (name, entry) in &self.entries {
            let value = if options::is_secret(name) {
                MASK
            } else {
                entry.value.as_str()
            };
            let source = match &entry.source {
                Source::Cli => "CLI".to_owned(),
                Source::Env(var) => format!("ENV: {var}"),
                Source::File(path) => self.display_path(path),
                Source::Default => "default".to_owned(),
            };
            out.push_str(&format!("\tkc.{name} =  {value} ({source})\n"));
        }
        out
    }

    fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.cwd)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

#[cfg(test)]
mod tests;
