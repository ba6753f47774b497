//! Layering (CLI > environment > config file > defaults) and typed parsing.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;

use crate::error::{ConfigError, FileLocation};
use crate::options::{self, DBLOCK_TIMEOUT, OPTIONS};
use crate::values::{
    CacheKind, CacheStack, Choice, ClusterConfig, DbKind, LogLevel, LogOutput, ProxyHeaders,
    RelativePath, Secret,
};
use crate::{Config, Mode, Resolved, Source, db, features};

/// Where the config file is looked for when none is named.
pub const DEFAULT_CONFIG_FILE: &str = "conf/gatehouse.conf";

/// One option's effective raw value. Not `Debug`: it may hold a secret in clear.
#[derive(Clone)]
pub(crate) struct Entry {
    pub value: String,
    pub source: Source,
    /// Config file line, for errors.
    pub line: Option<usize>,
}

impl Entry {
    fn new(value: impl Into<String>, source: Source) -> Self {
        Entry {
            value: value.into(),
            source,
            line: None,
        }
    }
}

/// Resolves the effective configuration for `mode` from the command line arguments that follow
/// the subcommand, the process environment, and the config file (relative paths against `cwd`).
pub fn resolve(
    mode: Mode,
    args: &[String],
    env: &HashMap<String, String>,
    cwd: &Path,
) -> Result<Resolved, ConfigError> {
    // The command line is checked first so a typo there is reported before file problems.
    let cli = parse_cli(args)?;

    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for spec in OPTIONS {
        if let Some(d) = options::default_for(spec, mode) {
            entries.insert(spec.name.to_owned(), Entry::new(d, Source::Default));
        }
    }

    let named = cli
        .iter()
        .rev()
        .find(|(n, _)| n == "config-file")
        .map(|(_, v)| (v.clone(), Source::Cli))
        .or_else(|| {
            let var = options::env_name("config-file");
            env.get(&var)
                .filter(|v| !v.is_empty())
                .map(|v| (v.clone(), Source::Env(var)))
        });
    let config_file = match named {
        Some((given, source)) => {
            let path = cwd.join(&given);
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(ConfigError::ConfigFileNotFound(path));
                }
                Err(e) => return Err(unreadable(&path, &e)),
            };
            entries.insert("config-file".to_owned(), Entry::new(given, source));
            Some((path, text))
        }
        None => {
            let path = cwd.join(DEFAULT_CONFIG_FILE);
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    entries.insert(
                        "config-file".to_owned(),
                        Entry::new(DEFAULT_CONFIG_FILE, Source::Default),
                    );
                    Some((path, text))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(unreadable(&path, &e)),
            }
        }
    };

    if let Some((path, text)) = &config_file {
        for (name, value, line) in parse_file(text, path, env)? {
            entries.insert(
                name,
                Entry {
                    value,
                    source: Source::File(path.clone()),
                    line: Some(line),
                },
            );
        }
    }

    // Pre-26 variable names, still honoured by Keycloak 26 below their KC_ replacements.
    for (var, name) in [
        ("KEYCLOAK_ADMIN", "bootstrap-admin-username"),
        ("KEYCLOAK_ADMIN_PASSWORD", "bootstrap-admin-password"),
    ] {
        if let Some(v) = env.get(var).filter(|v| !v.is_empty()) {
            entries.insert(name.to_owned(), Entry::new(v, Source::Env(var.to_owned())));
        }
    }

    // Sorted so that two spellings of one SPI option resolve the same way on every run.
    let mut kc: Vec<(&String, &String)> = env
        .iter()
        .filter(|(k, v)| k.starts_with("KC_") && !v.is_empty())
        .collect();
    kc.sort();
    for (var, value) in kc {
        if let Some(name) = options::option_for_env(var) {
            entries.insert(name, Entry::new(value, Source::Env(var.clone())));
        }
    }

    for (name, value) in cli {
        entries.insert(name, Entry::new(value, Source::Cli));
    }

    if !entries.contains_key("node-name") {
        entries.insert(
            "node-name".to_owned(),
            Entry::new(default_node_name(env), Source::Default),
        );
    }

    let config = Values {
        mode,
        entries: &entries,
    }
    .build(cwd, config_file.map(|(p, _)| p))?;
    Ok(Resolved {
        config,
        entries,
        cwd: cwd.to_path_buf(),
    })
}

fn unreadable(path: &Path, e: &std::io::Error) -> ConfigError {
    ConfigError::ConfigFileUnreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// `--name=value`, `--name value`, and bare `--flag`; returns canonical names in given order.
fn parse_cli(args: &[String]) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(body) = arg.strip_prefix("--") else {
            return Err(ConfigError::UnexpectedArgument(arg.clone()));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some(canonical) = options::canonical(name) else {
            return Err(ConfigError::UnknownOption {
                option: format!("--{name}"),
                suggestion: options::suggest(name).map(|s| format!("--{s}")),
            });
        };
        let is_flag = options::spec(&canonical).is_some_and(|s| s.flag);
        let value = match inline {
            Some(v) => v.to_owned(),
            None => match args.get(i) {
                Some(next) if !next.starts_with("--") => {
                    i += 1;
                    next.clone()
                }
                _ if is_flag => "true".to_owned(),
                _ => String::new(),
            },
        };
        if value.is_empty() {
            return Err(ConfigError::MissingValue(format!("--{name}")));
        }
        out.push((canonical, value));
    }
    Ok(out)
}

/// `name=value` lines; returns (canonical name, expanded value, line number).
fn parse_file(
    text: &str,
    path: &Path,
    env: &HashMap<String, String>,
) -> Result<Vec<(String, String, usize)>, ConfigError> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let location = FileLocation {
            path: path.to_path_buf(),
            line: index + 1,
        };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(ConfigError::MalformedLine(location));
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(ConfigError::MalformedLine(location));
        }
        let Some(name) = options::canonical(key) else {
            return Err(ConfigError::UnknownFileOption {
                key: key.to_owned(),
                location,
                suggestion: options::suggest(key).map(str::to_owned),
            });
        };
        let value = expand(value, env, &location)?;
        // A config file cannot redirect to another one, and an empty value means unset.
        if name == "config-file" || value.is_empty() {
            continue;
        }
        out.push((name, value, location.line));
    }
    Ok(out)
}

/// Expands `${VAR}` and `${VAR:default}` from `env`.
fn expand(
    value: &str,
    env: &HashMap<String, String>,
    location: &FileLocation,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(ConfigError::UnterminatedExpression(location.clone()));
        };
        let expr = &after[..end];
        let (var, default) = match expr.split_once(':') {
            Some((v, d)) => (v.trim(), Some(d)),
            None => (expr.trim(), None),
        };
        match (env.get(var), default) {
            (Some(v), _) => out.push_str(v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(ConfigError::UnsetVariable {
                    var: var.to_owned(),
                    location: location.clone(),
                });
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A name that is safe as a cookie route suffix and unique enough across restarts, so that a
/// restarted node is not mistaken for its previous incarnation.
fn default_node_name(env: &HashMap<String, String>) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| env.get("HOSTNAME").map(|h| h.trim().to_owned()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "gatehouse".to_owned());
    let mut host: String = host
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(64 - 5)
        .collect();
    if host.is_empty() {
        host.push_str("gatehouse");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() ^ (u64::from(d.subsec_nanos()) << 20))
        .unwrap_or(0);
    // splitmix64 finalizer: spreads pid and clock bits over the four hex digits.
    let mut x = now ^ u64::from(std::process::id()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    format!("{host}-{:04x}", x & 0xffff)
}

fn valid_node_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Keycloak's hostname v2 takes either a bare host name or a full http(s) URL.
fn valid_hostname(s: &str) -> bool {
    if s.contains("://") {
        return valid_url(s);
    }
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '@'))
}

fn valid_url(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !authority.is_empty() && !s.chars().any(char::is_whitespace)
}

/// Parses `ip` or `cidr` entries; on failure returns the offending entry.
fn parse_networks(s: &str) -> Result<Vec<IpNet>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            IpNet::from_str(p)
                .map(|n| n.trunc())
                .or_else(|_| IpAddr::from_str(p).map(IpNet::from))
                .map_err(|_| p.to_owned())
        })
        .collect()
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Unsigned integer option types, with the bound quoted in errors.
trait Int: FromStr {
    const MAX: u64;
}

impl Int for u16 {
    const MAX: u64 = u16::MAX as u64;
}

impl Int for u32 {
    const MAX: u64 = u32::MAX as u64;
}

impl Int for u64 {
    const MAX: u64 = u64::MAX;
}

/// Typed access to the layered raw values, with errors naming where a bad value came from.
struct Values<'a> {
    mode: Mode,
    entries: &'a BTreeMap<String, Entry>,
}

impl Values<'_> {
    fn invalid(&self, name: &str, value: &str, expected: impl Into<String>) -> ConfigError {
        let entry = self.entries.get(name);
        let (option, location) = match entry.map(|e| (&e.source, e.line)) {
            Some((Source::Env(var), _)) => (var.clone(), None),
            Some((Source::File(path), line)) => (
                name.to_owned(),
                Some(FileLocation {
                    path: path.clone(),
                    line: line.unwrap_or(0),
                }),
            ),
            Some((Source::Cli | Source::Default, _)) | None => (format!("--{name}"), None),
        };
        ConfigError::InvalidValue {
            option,
            location,
            value: value.to_owned(),
            expected: expected.into(),
        }
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(|e| e.value.as_str())
    }

    /// For options with a default: every mode has one, so absence is reported rather than
    /// assumed impossible.
    fn required_raw(&self, name: &str) -> Result<&str, ConfigError> {
        if let Some(v) = self.raw(name) {
            return Ok(v);
        }
        options::spec(name)
            .and_then(|s| options::default_for(s, self.mode))
            .ok_or_else(|| ConfigError::MissingValue(format!("--{name}")))
    }

    fn parse<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: impl FnOnce() -> String,
    ) -> Result<Option<T>, ConfigError> {
        match self.raw(name) {
            None => Ok(None),
            Some(v) => match parse(v) {
                Some(t) => Ok(Some(t)),
                None => Err(self.invalid(name, v, expected())),
            },
        }
    }

    fn required<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: impl FnOnce() -> String,
    ) -> Result<T, ConfigError> {
        let v = self.required_raw(name)?;
        parse(v).ok_or_else(|| self.invalid(name, v, expected()))
    }

    fn string(&self, name: &str) -> Option<String> {
        self.raw(name).map(str::to_owned)
    }

    fn required_string(&self, name: &str) -> Result<String, ConfigError> {
        self.required_raw(name).map(str::to_owned)
    }

    fn path(&self, name: &str, cwd: &Path) -> Option<PathBuf> {
        self.raw(name).map(|p| cwd.join(p))
    }

    fn flag(&self, name: &str) -> Result<bool, ConfigError> {
        self.required(
            name,
            |s| match s {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            || "Expected values are: true, false".to_owned(),
        )
    }

    fn int<T: Int>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        self.parse(name, |s| s.parse().ok(), int_expected::<T>)
    }

    fn required_int<T: Int>(&self, name: &str) -> Result<T, ConfigError> {
        self.required(name, |s| s.parse().ok(), int_expected::<T>)
    }

    fn choice<T: Choice>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        self.parse(name, T::parse, T::expected)
    }

    fn required_choice<T: Choice>(&self, name: &str) -> Result<T, ConfigError> {
        self.required(name, T::parse, T::expected)
    }

    fn features(&self, name: &str) -> Result<Vec<String>, ConfigError> {
        let list = self.raw(name).map(split_list).unwrap_or_default();
        if let Some(bad) = list.iter().find(|f| !features::is_valid(f)) {
            return Err(self.invalid(name, bad, features::expected()));
        }
        Ok(list)
    }

    /// A count from 1 to `max` given as a free-form `spi-*` option under any of Keycloak's
    /// spellings (`normalized` uses single dashes); `default` when absent.
    fn spi_count(
        &self,
        normalized: &str,
        default: usize,
        max: usize,
        what: &str,
    ) -> Result<usize, ConfigError> {
        match self
            .entries
            .iter()
            .find(|(k, _)| options::is_spi(k) && k.replace("--", "-") == normalized)
        {
            None => Ok(default),
            Some((key, e)) => e
                .value
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    self.invalid(
                        key,
                        &e.value,
                        format!("Expected a number of {what} from 1 to {max}."),
                    )
                }),
        }
    }

    fn cluster(&self, cwd: &Path) -> Result<ClusterConfig, ConfigError> {
        let name_like = |name: &str| {
            self.parse(
                name,
                |s| valid_node_name(s).then(|| s.to_owned()),
                || "Expected 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-'.".to_owned(),
            )
        };
        let cluster_name = name_like("cache-cluster-name")?.unwrap_or_else(|| "ISPN".to_owned());
        let site = name_like("site")?;
        let key_store_file = self.path("cache-embedded-mtls-key-store-file", cwd);
        let trust_store_file = self.path("cache-embedded-mtls-trust-store-file", cwd);
        if key_store_file.is_some() != trust_store_file.is_some() {
            let (given, missing) = if key_store_file.is_some() {
                (
                    "cache-embedded-mtls-key-store-file",
                    "cache-embedded-mtls-trust-store-file",
                )
            } else {
                (
                    "cache-embedded-mtls-trust-store-file",
                    "cache-embedded-mtls-key-store-file",
                )
            };
            return Err(ConfigError::Usage(format!(
                "'{given}' needs '{missing}' too: a node's own certificate and the CA it trusts \
                 come together."
            )));
        }
        let failure_ms: u64 = self.required_int("cache-embedded-failure-timeout")?;
        if failure_ms < 500 {
            return Err(self.invalid(
                "cache-embedded-failure-timeout",
                &failure_ms.to_string(),
                "Expected milliseconds, at least 500.".to_owned(),
            ));
        }
        let stack = self.required_choice::<CacheStack>("cache-stack")?;
        let dns_query = self.string("cache-stack-dns-query");
        if stack == CacheStack::Kubernetes && dns_query.is_none() {
            return Err(ConfigError::Usage(
                "'cache-stack=kubernetes' needs 'cache-stack-dns-query': the DNS name of the \
                 headless service whose addresses are the nodes."
                    .to_owned(),
            ));
        }
        let static_members = match self.raw("cache-stack-static-members") {
            None => Vec::new(),
            Some(list) => {
                let members = split_list(list);
                if let Some(bad) = members.iter().find(|m| !valid_host_port(m)) {
                    return Err(self.invalid(
                        "cache-stack-static-members",
                        bad,
                        "Expected a comma-separated list of host:port.".to_owned(),
                    ));
                }
                members
            }
        };
        if stack == CacheStack::Static && static_members.is_empty() {
            return Err(ConfigError::Usage(
                "'cache-stack=static' needs 'cache-stack-static-members': host:port of every \
                 node, comma-separated."
                    .to_owned(),
            ));
        }
        Ok(ClusterConfig {
            authentication_sessions_owners: self.spi_count(
                "spi-cache-embedded-default-authentication-sessions-owners",
                2,
                16,
                "copies",
            )?,
            stack,
            dns_query,
            static_members,
            name: cluster_name,
            site,
            bind_address: self.required_string("cache-embedded-network-bind-address")?,
            bind_port: self.required_int("cache-embedded-network-bind-port")?,
            external_address: self.string("cache-embedded-network-external-address"),
            external_port: self.int("cache-embedded-network-external-port")?,
            mtls: self.flag("cache-embedded-mtls-enabled")?,
            key_store_file,
            trust_store_file,
            failure_timeout: Duration::from_millis(failure_ms),
        })
    }

    fn build(&self, cwd: &Path, config_file: Option<PathBuf>) -> Result<Config, ConfigError> {
        let db_url = self.parse(
            "db-url",
            |s| db::is_valid_url(s).then(|| s.to_owned()),
            || db::DB_URL_EXPECTED.to_owned(),
        )?;
        let db_url_properties = self.string("db-url-properties");
        let db_schema = self.string("db-schema").or_else(|| {
            db_url
                .as_deref()
                .and_then(db::url_query)
                .or(db_url_properties.as_deref())
                .and_then(db::current_schema)
        });

        let http_relative_path =
            self.required("http-relative-path", RelativePath::parse, || {
                "Expected a URL path such as '/' or '/auth'.".to_owned()
            })?;
        let hostname = self.parse(
            "hostname",
            |s| valid_hostname(s).then(|| s.to_owned()),
            || "Expected a host name or a URL such as 'https://sso.example.com'.".to_owned(),
        )?;
        let hostname_admin = self.parse(
            "hostname-admin",
            |s| valid_url(s).then(|| s.to_owned()),
            || "Expected a URL such as 'https://admin.example.com:8443'.".to_owned(),
        )?;

        let proxy_trusted_addresses = match self.raw("proxy-trusted-addresses") {
            None => Vec::new(),
            Some(v) => parse_networks(v).map_err(|bad| {
                self.invalid(
                    "proxy-trusted-addresses",
                    &bad,
                    "Expected a comma-separated list of IP addresses or CIDR ranges.",
                )
            })?,
        };

        let log_level = match LogLevel::parse(self.required_raw("log-level")?) {
            Ok(l) => l,
            Err(bad) => return Err(self.invalid("log-level", &bad, LogLevel::EXPECTED)),
        };

        let features = self.features("features")?;
        let features_disabled = self.features("features-disabled")?;
        if let Some(both) = features.iter().find(|f| {
            features_disabled
                .iter()
                .any(|d| features::base_name(d) == features::base_name(f))
        }) {
            return Err(ConfigError::FeatureConflict(
                features::base_name(both).to_owned(),
            ));
        }

        let node_name = self.required(
            "node-name",
            |s| valid_node_name(s).then(|| s.to_owned()),
            || "Expected 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-'.".to_owned(),
        )?;

        let spi = self
            .entries
            .iter()
            .filter(|(k, _)| options::is_spi(k) && k.as_str() != DBLOCK_TIMEOUT)
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect();

        Ok(Config {
            mode: self.mode,
            db: self.required_choice::<DbKind>("db")?,
            db_url,
            db_url_host: self.required_string("db-url-host")?,
            db_url_port: self.required_int("db-url-port")?,
            db_url_database: self.required_string("db-url-database")?,
            db_url_properties,
            db_username: self.string("db-username"),
            db_password: self.raw("db-password").map(Secret::new),
            db_schema,
            db_pool_initial_size: self.int("db-pool-initial-size")?,
            db_pool_min_size: self.int("db-pool-min-size")?,
            db_pool_max_size: self.required_int("db-pool-max-size")?,
            cache_realms_max_count: self.required_int("cache-embedded-realms-max-count")?,
            cache_users_max_count: self.required_int("cache-embedded-users-max-count")?,
            db_connect_timeout: self.required_int("db-connect-timeout")?,
            data_dir: cwd.join(self.required_raw("data-dir")?),
            http_enabled: self.flag("http-enabled")?,
            http_host: self.required_string("http-host")?,
            http_port: self.required_int("http-port")?,
            https_port: self.required_int("https-port")?,
            https_certificate_file: self.path("https-certificate-file", cwd),
            https_certificate_key_file: self.path("https-certificate-key-file", cwd),
            http_relative_path,
            http_management_port: self.required_int("http-management-port")?,
            http_max_request_body_size: self.required_int("http-max-request-body-size")?,
            hostname,
            hostname_admin,
            hostname_strict: self.flag("hostname-strict")?,
            hostname_backchannel_dynamic: self.flag("hostname-backchannel-dynamic")?,
            proxy_headers: self.choice::<ProxyHeaders>("proxy-headers")?,
            proxy_trusted_addresses,
            health_enabled: self.flag("health-enabled")?,
            import_realm: self.flag("import-realm")?,
            metrics_enabled: self.flag("metrics-enabled")?,
            log_level,
            log_console_output: self.required_choice::<LogOutput>("log-console-output")?,
            features,
            features_disabled,
            dblock_lock_wait_timeout: Duration::from_secs(self.required_int(DBLOCK_TIMEOUT)?),
            bootstrap_admin_username: self.string("bootstrap-admin-username"),
            bootstrap_admin_password: self.raw("bootstrap-admin-password").map(Secret::new),
            node_name,
            cache: self.required_choice::<CacheKind>("cache")?,
            cluster: self.cluster(cwd)?,
            config_file,
            auth_sessions_limit: self.spi_count(
                "spi-authentication-sessions-infinispan-auth-sessions-limit",
                300,
                100_000,
                "browser tabs",
            )?,
            spi,
        })
    }
}

/// `host:port` with a port number; the host is a name or an address (IPv6 in brackets).
fn valid_host_port(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    !host.is_empty() && !host.contains(char::is_whitespace) && port.parse::<u16>().is_ok()
}

fn int_expected<T: Int>() -> String {
    format!("Expected an integer between 0 and {}.", T::MAX)
}
