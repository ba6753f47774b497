//! Typed option values.

use std::fmt;
use std::path::PathBuf;

/// Which subcommand is starting: `start-dev` or `start` (show-config defaults to `Prod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `start-dev`: plain HTTP on localhost, relaxed hostname, local cache.
    Dev,
    /// `start`: production rules apply.
    Prod,
}

impl Mode {
    /// The word Keycloak uses for the mode in show-config.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dev => "development",
            Mode::Prod => "production",
        }
    }
}

/// Where an option's effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The command line.
    Cli,
    /// An environment variable, by name.
    Env(String),
    /// The config file.
    File(PathBuf),
    /// The built-in default for the mode.
    Default,
}

/// A value that must never be printed: `Debug` and `Display` show `*******`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it is handed to whatever needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What show-config and logs print instead of a secret.
pub const MASK: &str = "*******";

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// An option whose value is one of a fixed set of words.
pub(crate) trait Choice: Sized + Copy + 'static {
    /// Accepted words, in the order they are listed in errors, with their values.
    const VALUES: &'static [(&'static str, Self)];

    fn parse(s: &str) -> Option<Self> {
        Self::VALUES.iter().find(|(w, _)| *w == s).map(|(_, v)| *v)
    }

    fn expected() -> String {
        let words: Vec<&str> = Self::VALUES.iter().map(|(w, _)| *w).collect();
        format!("Expected values are: {}", words.join(", "))
    }
}

/// `db`: the storage engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    /// `dev-file`: SQLite under data-dir.
    DevFile,
    /// `postgres`: PostgreSQL.
    Postgres,
}

impl Choice for DbKind {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("dev-file", DbKind::DevFile),
        ("postgres", DbKind::Postgres),
    ];
}

/// `proxy-headers`: which forwarding headers to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyHeaders {
    /// RFC 7239 `Forwarded`.
    Forwarded,
    /// `X-Forwarded-*`.
    Xforwarded,
}

impl Choice for ProxyHeaders {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("forwarded", ProxyHeaders::Forwarded),
        ("xforwarded", ProxyHeaders::Xforwarded),
    ];
}

/// `log-console-output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOutput {
    /// Human-readable lines.
    Default,
    /// One JSON object per line.
    Json,
}

impl Choice for LogOutput {
    const VALUES: &'static [(&'static str, Self)] =
        &[("default", LogOutput::Default), ("json", LogOutput::Json)];
}

/// `cache-stack`: how the nodes of a cluster find each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStack {
    /// A table in the shared database (Keycloak's default since 26).
    JdbcPing,
    /// The addresses a DNS name resolves to: a Kubernetes headless service
    /// (`cache-stack-dns-query`).
    Kubernetes,
    /// A fixed list of members (`cache-stack-static-members`).
    Static,
}

impl Choice for CacheStack {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("jdbc-ping", CacheStack::JdbcPing),
        ("kubernetes", CacheStack::Kubernetes),
        ("static", CacheStack::Static),
    ];
}

/// The cluster's settings (`cache-stack`, `cache-cluster-name`, `site`, `cache-embedded-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// `cache-stack`.
    pub stack: CacheStack,
    /// `cache-stack-dns-query`: the name to resolve with `kubernetes`.
    pub dns_query: Option<String>,
    /// `cache-stack-static-members`: `host:port` of every node, with `static`.
    pub static_members: Vec<String>,
    /// `cache-cluster-name`: nodes join only a cluster of the same name.
    pub name: String,
    /// `site`: the data center this node runs in.
    pub site: Option<String>,
    /// `cache-embedded-network-bind-address`: where the private transport listens.
    pub bind_address: String,
    /// `cache-embedded-network-bind-port`; 0 picks a free port.
    pub bind_port: u16,
    /// `cache-embedded-network-external-address`: what peers dial, when not the bind address.
    pub external_address: Option<String>,
    /// `cache-embedded-network-external-port`.
    pub external_port: Option<u16>,
    /// `cache-embedded-mtls-enabled`: TLS 1.3 with client certificates between nodes.
    pub mtls: bool,
    /// `cache-embedded-mtls-key-store-file`, absolute: PEM with this node's certificate chain
    /// and private key, instead of a certificate from the cluster CA in the database.
    pub key_store_file: Option<PathBuf>,
    /// `cache-embedded-mtls-trust-store-file`, absolute: PEM CA certificates peers must chain to.
    pub trust_store_file: Option<PathBuf>,
    /// `cache-embedded-failure-timeout` (milliseconds): silence after which a peer is removed
    /// from the view.
    pub failure_timeout: std::time::Duration,
    /// `spi-cache-embedded--default--authentication-sessions-owners`: copies of each login in
    /// progress (default 2).
    pub authentication_sessions_owners: usize,
}

/// `cache`: clustered or node-local caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheKind {
    /// Keycloak's clustered (Infinispan) cache; in Gatehouse, the cluster.
    Ispn,
    /// Node-local caches only.
    Local,
}

impl Choice for CacheKind {
    const VALUES: &'static [(&'static str, Self)] =
        &[("ispn", CacheKind::Ispn), ("local", CacheKind::Local)];
}

/// `http-relative-path`, normalized: starts with `/`, no trailing `/` unless it is the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelativePath(String);

impl RelativePath {
    /// Normalizes a user-given path; None when it cannot be a URL path prefix.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '\\'))
        {
            return None;
        }
        let trimmed = s.trim_matches('/');
        if trimmed.contains("//") {
            return None;
        }
        Some(RelativePath(format!("/{trimmed}")))
    }

    /// The normalized path, e.g. `/` or `/auth`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for `/`, where nothing needs stripping from request paths.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }
}

impl fmt::Display for RelativePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Keycloak (JBoss logging) level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// No logging.
    Off,
    /// Fatal only; tracing has no such level, so it maps to error.
    Fatal,
    /// Errors.
    Error,
    /// Warnings.
    Warn,
    /// Informational.
    Info,
    /// Debugging.
    Debug,
    /// Tracing.
    Trace,
    /// Everything; maps to trace.
    All,
}

impl Level {
    const NAMES: &'static [(&'static str, Level)] = &[
        ("off", Level::Off),
        ("fatal", Level::Fatal),
        ("error", Level::Error),
        ("warn", Level::Warn),
        ("info", Level::Info),
        ("debug", Level::Debug),
        ("trace", Level::Trace),
        ("all", Level::All),
    ];

    /// Parses a level name, case-insensitively.
    pub fn parse(s: &str) -> Option<Level> {
        let s = s.trim().to_ascii_lowercase();
        Self::NAMES.iter().find(|(n, _)| *n == s).map(|(_, l)| *l)
    }

    /// The Keycloak name, lower case.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, l)| *l == self)
            .map_or("info", |(n, _)| n)
    }

    /// The nearest tracing level name.
    pub fn as_tracing(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Fatal | Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace | Level::All => "trace",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `log-level`: `<root level>[,<category>:<level>]*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLevel {
    /// The level for everything not named by a category.
    pub root: Level,
    /// Per-category overrides, in the order given.
    pub categories: Vec<(String, Level)>,
}

impl LogLevel {
    /// What a parse failure tells the user.
    pub(crate) const EXPECTED: &'static str = "Expected '<level>[,<category>:<level>]*' with levels off, fatal, error, warn, info, debug, trace, all.";

    /// Parses Keycloak's syntax. The root level may appear anywhere in the list, as in
    /// Keycloak; without one it stays `info`. On failure returns the offending entry.
    pub fn parse(s: &str) -> Result<LogLevel, String> {
        let mut root = None;
        let mut categories = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.rsplit_once(':') {
                None => {
                    let level = Level::parse(part).ok_or_else(|| part.to_owned())?;
                    if root.replace(level).is_some() {
                        return Err(part.to_owned());
                    }
                }
                Some((category, level)) => {
                    let category = category.trim();
                    // `a::b` without a level splits as (`a:`, `b`).
                    if category.is_empty() || category.ends_with(':') {
                        return Err(part.to_owned());
                    }
                    let level = Level::parse(level).ok_or_else(|| part.to_owned())?;
                    categories.push((category.to_owned(), level));
                }
            }
        }
        if root.is_none() && categories.is_empty() {
            return Err(s.to_owned());
        }
        Ok(LogLevel {
            root: root.unwrap_or(Level::Info),
            categories,
        })
    }

    /// A `tracing_subscriber::EnvFilter` directive string.
    ///
    /// Categories written as module paths of our crates (`gatehouse::cluster`) become the real
    /// targets (`gatehouse_cluster`), because each crate is named `gatehouse_<crate>`.
    pub fn to_env_filter_directives(&self) -> String {
        let mut out = vec![self.root.as_tracing().to_owned()];
        for (category, level) in &self.categories {
            out.push(format!("{}={}", target_for(category), level.as_tracing()));
        }
        out.join(",")
    }
}

fn target_for(category: &str) -> String {
    match category.strip_prefix("gatehouse::") {
        Some(rest) => match rest.split_once("::") {
            Some((krate, path)) => format!("gatehouse_{krate}::{path}"),
            None => format!("gatehouse_{rest}"),
        },
        None => category.to_owned(),
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.root.as_str())?;
        for (c, l) in &self.categories {
            write!(f, ",{c}:{l}")?;
        }
        Ok(())
    }
}
