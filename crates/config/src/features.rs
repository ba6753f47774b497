//! Keycloak 26 feature flags: which names exist and which are on by default.

/// How Keycloak classifies a feature; decides its default and whether `preview` turns it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Supported and enabled unless disabled.
    Default,
    /// Supported but off unless enabled (e.g. docker).
    Disabled,
    /// Enabled by `features=preview`.
    Preview,
    /// Off; only named enabling turns it on.
    Experimental,
}

const FEATURES: &[(&str, Stage)] = &[
    ("account", Stage::Default),
    ("account-api", Stage::Default),
    ("admin-api", Stage::Default),
    ("admin", Stage::Default),
    ("admin-fine-grained-authz", Stage::Preview),
    ("authorization", Stage::Default),
    ("cache-embedded-remote-store", Stage::Experimental),
    ("ciba", Stage::Default),
    ("client-policies", Stage::Default),
    ("client-secret-rotation", Stage::Preview),
    ("client-types", Stage::Experimental),
    ("clusterless", Stage::Experimental),
    ("declarative-ui", Stage::Experimental),
    ("device-flow", Stage::Default),
    ("docker", Stage::Disabled),
    ("dpop", Stage::Preview),
    ("dynamic-scopes", Stage::Experimental),
    ("fips", Stage::Disabled),
    ("hostname", Stage::Default),
    ("impersonation", Stage::Default),
    ("kerberos", Stage::Default),
    ("login", Stage::Default),
    ("multi-site", Stage::Disabled),
    ("oid4vc-vci", Stage::Experimental),
    ("opentelemetry", Stage::Preview),
    ("organization", Stage::Default),
    ("par", Stage::Default),
    ("passkeys", Stage::Preview),
    ("persistent-user-sessions", Stage::Default),
    ("quick-theme", Stage::Experimental),
    ("recovery-codes", Stage::Preview),
    ("scripts", Stage::Preview),
    ("step-up-authentication", Stage::Default),
    ("token-exchange", Stage::Preview),
    ("transient-users", Stage::Experimental),
    ("update-email", Stage::Preview),
    ("user-event-metrics", Stage::Preview),
    ("web-authn", Stage::Default),
];

/// `preview` is not a feature but a switch for every preview feature.
pub(crate) const PREVIEW: &str = "preview";

/// `token-exchange:v1` -> `token-exchange`.
pub(crate) fn base_name(name: &str) -> &str {
    name.split_once(':').map_or(name, |(b, _)| b)
}

/// Whether a `features` list entry is acceptable: a known name, optionally `:v<digits>`.
pub(crate) fn is_valid(entry: &str) -> bool {
    let (base, version) = match entry.split_once(':') {
        Some((b, v)) => (b, Some(v)),
        None => (entry, None),
    };
    let version_ok = version.is_none_or(|v| {
        v.strip_prefix('v')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    version_ok && (base == PREVIEW || stage(base).is_some())
}

fn stage(base: &str) -> Option<Stage> {
    FEATURES.iter().find(|(n, _)| *n == base).map(|(_, s)| *s)
}

pub(crate) fn expected() -> String {
    let names: Vec<&str> = std::iter::once(PREVIEW)
        .chain(FEATURES.iter().map(|(n, _)| *n))
        .collect();
    format!(
        "Expected a comma-separated list of features (optionally with ':v<n>'): {}",
        names.join(", ")
    )
}

/// Keycloak's rule: an explicit disable wins, then an explicit enable, then `preview`, then
/// the feature's default.
pub(crate) fn enabled(name: &str, on: &[String], off: &[String]) -> bool {
    let base = base_name(name);
    let listed = |list: &[String]| list.iter().any(|f| base_name(f) == base);
    if listed(off) {
        return false;
    }
    if listed(on) {
        return true;
    }
    match stage(base) {
        Some(Stage::Default) => true,
        Some(Stage::Preview) => on.iter().any(|f| f == PREVIEW),
        Some(Stage::Disabled | Stage::Experimental) | None => false,
    }
}
