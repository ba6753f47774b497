//! The table of known options: names, defaults, which ones are flags or secrets.
//!
//! Typed parsing lives in `resolve`; this table only answers questions that must be asked
//! before a value is typed (is it known, can it be given bare, is it masked, what is its default).

use crate::Mode;

/// Default of an option, possibly depending on the start mode.
#[derive(Debug, Clone, Copy)]
pub(crate) enum OptDefault {
    None,
    Always(&'static str),
    ByMode {
        dev: &'static str,
        prod: &'static str,
    },
}

/// One known option.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OptSpec {
    pub name: &'static str,
    /// Booleans may be given bare on the command line.
    pub flag: bool,
    /// Masked in show-config.
    pub secret: bool,
    pub default: OptDefault,
}

const fn opt(name: &'static str, default: OptDefault) -> OptSpec {
    OptSpec {
        name,
        flag: false,
        secret: false,
        default,
    }
}

const fn flag(name: &'static str, default: OptDefault) -> OptSpec {
    OptSpec {
        name,
        flag: true,
        secret: false,
        default,
    }
}

const fn secret(name: &'static str) -> OptSpec {
    OptSpec {
        name,
        flag: false,
        secret: true,
        default: OptDefault::None,
    }
}

use OptDefault::{Always, ByMode, None as NoDefault};

/// The dblock SPI option is typed; every other `spi-*` option is kept verbatim.
pub(crate) const DBLOCK_TIMEOUT: &str = "spi-dblock-jpa-lock-wait-timeout";

pub(crate) const OPTIONS: &[OptSpec] = &[
    opt("db", Always("dev-file")),
    opt("db-url", NoDefault),
    opt("db-url-host", Always("localhost")),
    opt("db-url-port", Always("5432")),
    opt("db-url-database", Always("keycloak")),
    opt("db-url-properties", NoDefault),
    opt("db-username", NoDefault),
    secret("db-password"),
    opt("db-schema", NoDefault),
    opt("db-pool-initial-size", NoDefault),
    opt("db-pool-min-size", NoDefault),
    opt("db-pool-max-size", Always("100")),
    opt("db-connect-timeout", Always("30")),
    opt("data-dir", Always("data")),
    flag(
        "http-enabled",
        ByMode {
            dev: "true",
            prod: "false",
        },
    ),
    opt(
        "http-host",
        ByMode {
            dev: "127.0.0.1",
            prod: "0.0.0.0",
        },
    ),
    opt("http-port", Always("8080")),
    opt("https-port", Always("8443")),
    opt("https-certificate-file", NoDefault),
    opt("https-certificate-key-file", NoDefault),
    opt("http-relative-path", Always("/")),
    opt("http-management-port", Always("9000")),
    opt("http-max-request-body-size", Always("10485760")),
    opt("hostname", NoDefault),
    opt("hostname-admin", NoDefault),
    flag(
        "hostname-strict",
        ByMode {
            dev: "false",
            prod: "true",
        },
    ),
    flag("hostname-backchannel-dynamic", Always("false")),
    opt("proxy-headers", NoDefault),
    opt("proxy-trusted-addresses", NoDefault),
    flag("health-enabled", Always("false")),
    flag("metrics-enabled", Always("false")),
    flag("import-realm", Always("false")),
    opt("log-level", Always("info")),
    opt("log-console-output", Always("default")),
    opt("features", NoDefault),
    opt("features-disabled", NoDefault),
    opt(DBLOCK_TIMEOUT, Always("900")),
    opt("bootstrap-admin-username", NoDefault),
    secret("bootstrap-admin-password"),
    // The default is computed from the host name at resolve time.
    opt("node-name", NoDefault),
    opt(
        "cache",
        ByMode {
            dev: "local",
            prod: "ispn",
        },
    ),
    opt("cache-embedded-realms-max-count", Always("10000")),
    opt("cache-embedded-users-max-count", Always("10000")),
    opt("cache-stack", Always("jdbc-ping")),
    opt("cache-stack-dns-query", NoDefault),
    opt("cache-stack-static-members", NoDefault),
    opt("cache-cluster-name", Always("ISPN")),
    opt("site", NoDefault),
    opt("cache-embedded-network-bind-address", Always("0.0.0.0")),
    opt("cache-embedded-network-bind-port", Always("7800")),
    opt("cache-embedded-network-external-address", NoDefault),
    opt("cache-embedded-network-external-port", NoDefault),
    flag("cache-embedded-mtls-enabled", Always("true")),
    opt("cache-embedded-mtls-key-store-file", NoDefault),
    opt("cache-embedded-mtls-trust-store-file", NoDefault),
    opt("cache-embedded-failure-timeout", Always("5000")),
    opt("config-file", NoDefault),
];

pub(crate) fn spec(name: &str) -> Option<&'static OptSpec> {
    OPTIONS.iter().find(|o| o.name == name)
}

/// Keycloak accepts any SPI option (`spi-<spi>-<provider>-<property>`), so these are never typos.
pub(crate) fn is_spi(name: &str) -> bool {
    name.len() > "spi-".len() && name.starts_with("spi-")
}

/// Maps an accepted option name to the key it is stored under, or None when unknown.
///
/// Keycloak 26.2 added `spi-<spi>--<provider>--<property>` as an unambiguous spelling, so the
/// typed dblock option is matched with `--` folded to `-`.
pub(crate) fn canonical(name: &str) -> Option<String> {
    if spec(name).is_some() {
        return Some(name.to_owned());
    }
    if is_spi(name) {
        if name.replace("--", "-") == DBLOCK_TIMEOUT {
            return Some(DBLOCK_TIMEOUT.to_owned());
        }
        return Some(name.to_owned());
    }
    None
}

pub(crate) fn default_for(spec: &OptSpec, mode: Mode) -> Option<&'static str> {
    match spec.default {
        OptDefault::None => None,
        OptDefault::Always(v) => Some(v),
        OptDefault::ByMode { dev, prod } => Some(match mode {
            Mode::Dev => dev,
            Mode::Prod => prod,
        }),
    }
}

/// `db-url-host` -> `KC_DB_URL_HOST`.
pub fn env_name(option: &str) -> String {
    format!("KC_{}", option.replace('-', "_").to_ascii_uppercase())
}

/// The option a `KC_*` variable sets, if any. Unknown variables yield None and are ignored,
/// as Keycloak does, because the environment is shared with everything else on the host.
pub(crate) fn option_for_env(var: &str) -> Option<String> {
    if let Some(o) = OPTIONS.iter().find(|o| env_name(o.name) == var) {
        return Some(o.name.to_owned());
    }
    let rest = var.strip_prefix("KC_SPI_")?;
    if rest.is_empty() {
        return None;
    }
    // `__` is how the environment spells Keycloak's `--` separator.
    let name = format!("spi-{}", rest.to_ascii_lowercase().replace('_', "-"));
    canonical(&name)
}

/// Masks values whose name says they are secret; SPI options are free-form so go by name.
pub(crate) fn is_secret(name: &str) -> bool {
    match spec(name) {
        Some(s) => s.secret,
        None => name.contains("password") || name.contains("secret"),
    }
}

/// The known option closest to a typo, if it is close enough to be a plausible intent.
pub(crate) fn suggest(name: &str) -> Option<&'static str> {
    OPTIONS
        .iter()
        .map(|o| (o.name, strsim::jaro_winkler(name, o.name)))
        .filter(|(_, score)| *score >= 0.85)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(n, _)| n)
}
