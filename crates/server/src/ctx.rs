//! Builds the [`RequestCtx`] once per request: the frontend and backend base URLs this request
//! sees the server under (from `--hostname`, or from the request when the hostname is dynamic)
//! and the client's address.
//!
//! "The request" is the TCP peer, the listener's scheme and the `Host` header, unless
//! `--proxy-headers` is set and the peer is a trusted proxy (any peer when
//! `--proxy-trusted-addresses` is not set, as in Keycloak): then the client address, scheme,
//! host and port come from `X-Forwarded-*` (`xforwarded`) or RFC 7239 `Forwarded`
//! (`forwarded`), read as Quarkus reads them under Keycloak 26: the first entry of each list
//! (the one the client-facing proxy wrote), a forwarded scheme dropping the port unless one is
//! forwarded too, default ports elided. A value that does not parse is ignored, never fatal.
//! Headers from an untrusted peer are ignored, and that is logged once per node. Everything
//! downstream — issuer and browser URLs, `Secure` cookies and `sslRequired` (both judge the
//! frontend URL's scheme, as Keycloak's `getUri()` does), brute-force records and sessions (the
//! client address) — sees only the resolved values.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_config::{IpNet, ProxyHeaders};
use gatehouse_services::RequestCtx;

use crate::AppState;

/// The scheme of the listener a request arrived on, set by each listener.
#[derive(Debug, Clone, Copy)]
pub struct ListenerScheme(pub &'static str);

/// `--proxy-headers` and `--proxy-trusted-addresses`, and whether an untrusted proxy was
/// already reported.
#[derive(Debug)]
pub struct ProxySettings {
    headers: Option<ProxyHeaders>,
    trusted: Vec<IpNet>,
    warned: AtomicBool,
}

impl ProxySettings {
    /// Which headers to read, and from which peers (none listed: every peer).
    pub fn new(headers: Option<ProxyHeaders>, trusted: Vec<IpNet>) -> Self {
        ProxySettings {
            headers,
            trusted,
            warned: AtomicBool::new(false),
        }
    }

    /// The request as the client made it: the forwarded values when the peer may speak for
    /// the client, the direct ones otherwise.
    fn resolve(&self, direct: Origin, headers: &HeaderMap) -> Origin {
        let Some(mode) = self.headers else {
            return direct;
        };
        if !carries(mode, headers) {
            return direct;
        }
        // A dual-stack socket reports an IPv4 peer as `::ffff:a.b.c.d`; the operator's list
        // names it in IPv4.
        let peer = direct.client_ip.to_canonical();
        if !self.trusted.is_empty() && !self.trusted.iter().any(|net| net.contains(&peer)) {
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "Ignoring proxy headers from {peer}: it is not in --proxy-trusted-addresses \
                     (further requests from untrusted proxies are not logged)"
                );
            }
            return direct;
        }
        forwarded(mode, direct, headers)
    }
}

/// Middleware: attaches the request context, or refuses a request whose `Host` could inject
/// into the URLs the server prints.
pub async fn attach(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let scheme = req
        .extensions()
        .get::<ListenerScheme>()
        .map_or("http", |s| s.0);
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_else(|| "localhost".to_owned());
    if !valid_host(&host) {
        return (StatusCode::BAD_REQUEST, "Invalid Host header").into_response();
    }
    let direct = Origin {
        scheme: scheme.to_owned(),
        authority: host,
        client_ip: peer,
    };
    let origin = state.proxy.resolve(direct, req.headers());
    let Origin {
        scheme,
        authority,
        client_ip,
    } = origin;
    let from_request = format!("{scheme}://{authority}{}", state.relative_path);
    let frontend = match state.hostname.as_deref() {
        Some(url) if url.contains("://") => url.trim_end_matches('/').to_owned(),
        Some(name) => {
            // A bare host name: scheme, port and path still come from the request.
            match split_port(&authority).1 {
                Some(p) => format!("{scheme}://{name}:{p}{}", state.relative_path),
                None => format!("{scheme}://{name}{}", state.relative_path),
            }
        }
        None => from_request.clone(),
    };
    let backend = if state.backchannel_dynamic {
        from_request
    } else {
        frontend.clone()
    };
    req.extensions_mut().insert(RequestCtx {
        frontend,
        backend,
        client_ip,
    });
    next.run(req).await
}

/// What a request says about where it came from and what it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    /// `http` or `https`.
    scheme: String,
    /// `host[:port]` as the URLs print it.
    authority: String,
    client_ip: IpAddr,
}

/// Whether the request carries any header of the kind `mode` reads: only then is there
/// something to ignore from an untrusted peer.
fn carries(mode: ProxyHeaders, headers: &HeaderMap) -> bool {
    match mode {
        ProxyHeaders::Forwarded => headers.contains_key(header::FORWARDED),
        ProxyHeaders::Xforwarded => [
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-forwarded-host",
            "x-forwarded-port",
            "x-forwarded-ssl",
        ]
        .iter()
        .any(|h| headers.contains_key(*h)),
    }
}

/// Applies a trusted proxy's headers, in the order Quarkus applies them: the scheme (which
/// resets the port), the host (with its port, if any), the port, the client address.
fn forwarded(mode: ProxyHeaders, direct: Origin, headers: &HeaderMap) -> Origin {
    let (host, port) = split_port(&direct.authority);
    let mut host = host.to_owned();
    let mut port = port;
    let mut scheme = direct.scheme;
    let mut client_ip = direct.client_ip;
    match mode {
        ProxyHeaders::Xforwarded => {
            if let Some(s) = first(headers, "x-forwarded-proto").and_then(parse_scheme) {
                scheme = s;
                port = None;
            }
            if first(headers, "x-forwarded-ssl").is_some_and(|v| v.eq_ignore_ascii_case("on")) {
                scheme = "https".to_owned();
                port = None;
            }
            if let Some(h) = first(headers, "x-forwarded-host").filter(|h| valid_host(h)) {
                let (h, p) = split_port(h);
                host = h.to_owned();
                port = p;
            }
            if let Some(p) = first(headers, "x-forwarded-port").and_then(parse_port) {
                port = Some(p);
            }
            if let Some(ip) = first(headers, "x-forwarded-for").and_then(parse_node) {
                client_ip = ip;
            }
        }
        ProxyHeaders::Forwarded => {
            let params = forwarded_params(headers);
            if let Some(s) = params.proto.as_deref().and_then(parse_scheme) {
                scheme = s;
                port = None;
            }
            if let Some(h) = params.host.as_deref().filter(|h| valid_host(h)) {
                let (h, p) = split_port(h);
                host = h.to_owned();
                // A forwarded host without a port keeps the port so far, as in Quarkus.
                port = p.or(port);
            }
            if let Some(ip) = params.for_.as_deref().and_then(parse_node) {
                client_ip = ip;
            }
        }
    }
    if matches!(
        (scheme.as_str(), port),
        ("http", Some(80)) | ("https", Some(443))
    ) {
        port = None;
    }
    let authority = match port {
        Some(p) => format!("{host}:{p}"),
        None => host,
    };
    Origin {
        scheme,
        authority,
        client_ip,
    }
}

/// The first entry of a comma-separated header (its first line, as Quarkus reads it).
fn first<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name)?.to_str().ok()?;
    let entry = value.split(',').next().unwrap_or(value).trim();
    (!entry.is_empty()).then_some(entry)
}

/// `http` or `https`, in any case; anything else is not a scheme the server can be reached by.
fn parse_scheme(value: &str) -> Option<String> {
    let lower = value.trim().to_ascii_lowercase();
    matches!(lower.as_str(), "http" | "https").then_some(lower)
}

fn parse_port(value: &str) -> Option<u16> {
    value.trim().parse().ok().filter(|p| *p != 0)
}

/// A client address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`, possibly quoted. Obfuscated identifiers
/// (`unknown`, `_hidden`) and host names are not addresses.
fn parse_node(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    if let Some(rest) = value.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').and_then(parse_port).is_some()) {
            return None;
        }
        return ip.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    match value.split_once(':') {
        // One colon: IPv4 with a port; more: a bare IPv6 address.
        Some((ip, port)) if !port.contains(':') => {
            parse_port(port)?;
            ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
        }
        _ => value.parse().ok(),
    }
}

/// `host[:port]` split at the port, if it has one (an IPv6 literal keeps its brackets).
fn split_port(authority: &str) -> (&str, Option<u16>) {
    match authority.rsplit_once(':') {
        Some((host, port))
            if (!host.contains(':') || host.ends_with(']'))
                && !port.is_empty()
                && port.chars().all(|c| c.is_ascii_digit()) =>
        {
            match parse_port(port) {
                Some(p) => (host, Some(p)),
                None => (host, None),
            }
        }
        _ => (authority, None),
    }
}

/// The first `for`, `host` and `proto` of an RFC 7239 `Forwarded` header.
#[derive(Debug, Default, PartialEq, Eq)]
struct ForwardedParams {
    for_: Option<String>,
    host: Option<String>,
    proto: Option<String>,
}

/// Reads every `Forwarded` line as one list of elements (`,`), each a list of `name=value`
/// pairs (`;`), values tokens or quoted strings. Names are case-insensitive. The first
/// occurrence of each parameter wins, which is what Quarkus's parser finds: the first element
/// is the one the proxy nearest the client wrote.
fn forwarded_params(headers: &HeaderMap) -> ForwardedParams {
    let mut out = ForwardedParams::default();
    for line in headers.get_all(header::FORWARDED) {
        let Ok(line) = line.to_str() else { continue };
        for pair in split_unquoted(line, &[',', ';']) {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let value = unquote(value.trim());
            let slot = match name.trim().to_ascii_lowercase().as_str() {
                "for" => &mut out.for_,
                "host" => &mut out.host,
                "proto" => &mut out.proto,
                _ => continue,
            };
            if slot.is_none() && !value.is_empty() {
                *slot = Some(value);
            }
        }
    }
    out
}

/// Splits at any of `separators` outside double quotes.
fn split_unquoted<'a>(s: &'a str, separators: &[char]) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if !quoted && separators.contains(&c) {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

/// A token as is; a quoted string without its quotes and escapes.
fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => value.to_owned(),
    }
}

/// A host, optional port: letters, digits, `.-_` and an IPv6 literal in brackets.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::net::IpAddr;

    use axum::http::{HeaderMap, HeaderName, HeaderValue};
    use gatehouse_config::ProxyHeaders;

    use super::{Origin, ProxySettings, parse_node, split_port, valid_host};

    #[test]
    fn host_header_validation() {
        assert!(valid_host("sso.example.com:8443"));
        assert!(valid_host("[::1]:8080"));
        assert!(!valid_host("evil.com/path"));
        assert!(!valid_host("a b"));
        assert!(!valid_host(""));
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn direct(peer: &str) -> Origin {
        Origin {
            scheme: "http".into(),
            authority: "localhost:8080".into(),
            client_ip: peer.parse().unwrap(),
        }
    }

    fn origin(scheme: &str, authority: &str, ip: &str) -> Origin {
        Origin {
            scheme: scheme.into(),
            authority: authority.into(),
            client_ip: ip.parse().unwrap(),
        }
    }

    /// Resolves a request from `peer` carrying `pairs` under `mode` and `trusted`.
    fn check(
        mode: Option<ProxyHeaders>,
        trusted: &[&str],
        peer: &str,
        pairs: &[(&str, &str)],
    ) -> Origin {
        let trusted = trusted.iter().map(|n| n.parse().unwrap()).collect();
        ProxySettings::new(mode, trusted).resolve(direct(peer), &headers(pairs))
    }

    const X: Option<ProxyHeaders> = Some(ProxyHeaders::Xforwarded);
    const F: Option<ProxyHeaders> = Some(ProxyHeaders::Forwarded);

    #[test]
    fn x_forwarded_headers_replace_scheme_host_and_client() {
        let full = [
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "sso.example.com"),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        assert_eq!(
            check(X, &[], "127.0.0.1", &full),
            origin("https", "sso.example.com", "203.0.113.9")
        );
        // A forwarded scheme drops the Host header's port; a forwarded port comes back, and
        // X-Forwarded-Port wins over a port in X-Forwarded-Host (Keycloak's guide).
        assert_eq!(
            check(X, &[], "127.0.0.1", &[("x-forwarded-proto", "https")]),
            origin("https", "localhost", "127.0.0.1")
        );
        assert_eq!(
            check(
                X,
                &[],
                "127.0.0.1",
                &[
                    ("x-forwarded-proto", "https"),
                    ("x-forwarded-host", "sso.example.com:8443"),
                    ("x-forwarded-port", "9443"),
                ]
            ),
            origin("https", "sso.example.com:9443", "127.0.0.1")
        );
        // Default ports are not printed.
        assert_eq!(
            check(
                X,
                &[],
                "127.0.0.1",
                &[
                    ("x-forwarded-proto", "https"),
                    ("x-forwarded-host", "sso.example.com:443")
                ]
            ),
            origin("https", "sso.example.com", "127.0.0.1")
        );
        assert_eq!(
            check(X, &[], "127.0.0.1", &[("x-forwarded-ssl", "on")]),
            origin("https", "localhost", "127.0.0.1")
        );
    }

    #[test]
    fn the_first_entry_of_a_list_is_the_client() {
        let hops = [
            ("x-forwarded-for", "203.0.113.9, 10.0.0.2, 10.0.0.1"),
            ("x-forwarded-proto", "https, http"),
            ("x-forwarded-host", "sso.example.com, inner.local"),
        ];
        assert_eq!(
            check(X, &[], "10.1.1.1", &hops),
            origin("https", "sso.example.com", "203.0.113.9")
        );
        let rfc = [(
            "forwarded",
            "for=203.0.113.9;proto=https;host=sso.example.com, for=10.0.0.2;proto=http",
        )];
        assert_eq!(
            check(F, &[], "10.1.1.1", &rfc),
            origin("https", "sso.example.com", "203.0.113.9")
        );
        // Several header lines are one list.
        let lines = [
            ("forwarded", "for=203.0.113.9;proto=https"),
            ("forwarded", "for=10.0.0.2;proto=http"),
        ];
        assert_eq!(
            check(F, &[], "10.1.1.1", &lines),
            origin("https", "localhost", "203.0.113.9")
        );
    }

    #[test]
    fn forwarded_reads_rfc_7239_syntax() {
        let quoted = [(
            "forwarded",
            r#"For="[2001:db8:cafe::17]:4711";Proto=HTTPS;Host="sso.example.com:8443""#,
        )];
        assert_eq!(
            check(F, &[], "127.0.0.1", &quoted),
            origin("https", "sso.example.com:8443", "2001:db8:cafe::17")
        );
        // A host without a port keeps the port so far (none after a forwarded scheme).
        assert_eq!(
            check(
                F,
                &[],
                "127.0.0.1",
                &[("forwarded", "host=sso.example.com")]
            ),
            origin("http", "sso.example.com:8080", "127.0.0.1")
        );
        // A quoted separator does not split.
        assert_eq!(
            check(
                F,
                &[],
                "127.0.0.1",
                &[("forwarded", r#"ext="a,b;c";for=192.0.2.60"#)]
            ),
            origin("http", "localhost:8080", "192.0.2.60")
        );
    }

    #[test]
    fn node_syntax() {
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        assert_eq!(parse_node("192.0.2.1"), ip("192.0.2.1"));
        assert_eq!(parse_node("192.0.2.1:4711"), ip("192.0.2.1"));
        assert_eq!(parse_node("2001:db8::1"), ip("2001:db8::1"));
        assert_eq!(parse_node("[2001:db8::1]"), ip("2001:db8::1"));
        assert_eq!(parse_node("\"[2001:db8::1]:4711\""), ip("2001:db8::1"));
        for bad in [
            "unknown",
            "_hidden",
            "sso.example.com",
            "[2001:db8::1",
            "[2001:db8::1]x",
            "192.0.2.1:port",
            "192.0.2.300",
            "",
        ] {
            assert_eq!(parse_node(bad), None, "{bad}");
        }
        assert_eq!(split_port("[::1]:8080"), ("[::1]", Some(8080)));
        assert_eq!(split_port("[::1]"), ("[::1]", None));
        assert_eq!(split_port("host:99999"), ("host", None));
    }

    #[test]
    fn invalid_values_are_ignored_one_by_one() {
        let bad = [
            ("x-forwarded-proto", "gopher"),
            ("x-forwarded-host", "evil.com/path"),
            ("x-forwarded-port", "http"),
            ("x-forwarded-for", "unknown"),
        ];
        assert_eq!(check(X, &[], "127.0.0.1", &bad), direct("127.0.0.1"));
        let mixed = [
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "not-an-ip"),
        ];
        assert_eq!(
            check(X, &[], "127.0.0.1", &mixed),
            origin("https", "localhost", "127.0.0.1")
        );
        assert_eq!(
            check(F, &[], "127.0.0.1", &[("forwarded", "for=;proto")]),
            direct("127.0.0.1")
        );
        // Not valid UTF-8 / visible ASCII: ignored, no panic.
        let mut raw = HeaderMap::new();
        raw.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        raw.insert("forwarded", HeaderValue::from_bytes(b"for=\xff").unwrap());
        for mode in [X, F] {
            let settings = ProxySettings::new(mode, Vec::new());
            assert_eq!(
                settings.resolve(direct("127.0.0.1"), &raw),
                direct("127.0.0.1")
            );
        }
    }

    #[test]
    fn only_the_configured_kind_of_header_counts() {
        let x = [
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        let f = [("forwarded", "for=203.0.113.9;proto=https")];
        assert_eq!(check(None, &[], "127.0.0.1", &x), direct("127.0.0.1"));
        assert_eq!(check(None, &[], "127.0.0.1", &f), direct("127.0.0.1"));
        assert_eq!(check(F, &[], "127.0.0.1", &x), direct("127.0.0.1"));
        assert_eq!(check(X, &[], "127.0.0.1", &f), direct("127.0.0.1"));
    }

    #[test]
    fn only_trusted_peers_speak_for_the_client() {
        let x = [
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        let forwarded = origin("https", "localhost", "203.0.113.9");
        assert_eq!(
            check(X, &["10.0.0.0/8"], "127.0.0.1", &x),
            direct("127.0.0.1")
        );
        assert_eq!(
            check(X, &["10.0.0.0/8"], "10.2.3.4", &x),
            Origin {
                client_ip: "203.0.113.9".parse().unwrap(),
                ..forwarded.clone()
            }
        );
        assert_eq!(check(X, &["10.2.3.4/32"], "10.2.3.4", &x), forwarded);
        // An IPv4 peer seen through a dual-stack socket matches an IPv4 range.
        assert_eq!(
            check(X, &["127.0.0.0/8"], "::ffff:127.0.0.1", &x).client_ip,
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            check(X, &["fd00::/8"], "fd00::5", &x).client_ip,
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            check(X, &["fd00::/8"], "::1", &x).client_ip,
            "::1".parse::<IpAddr>().unwrap()
        );
    }
}
