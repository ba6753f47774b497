//! Builds the [`RequestCtx`] once per request: the frontend and backend base URLs this request
//! sees the server under (from `--hostname`, or from the request when the hostname is dynamic)
//! and the client's address.
//!
//! Forwarded headers (`--proxy-headers`) are not read yet: until they are, the address is the
//! TCP peer and the scheme is the listener's, which is what an untrusted proxy must get anyway.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_services::RequestCtx;

use crate::AppState;

/// The scheme of the listener a request arrived on, set by each listener.
#[derive(Debug, Clone, Copy)]
pub struct ListenerScheme(pub &'static str);

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
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
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
    let from_request = format!("{scheme}://{host}{}", state.relative_path);
    let frontend = match state.hostname.as_deref() {
        Some(url) if url.contains("://") => url.trim_end_matches('/').to_owned(),
        Some(name) => {
            // A bare host name: scheme, port and path still come from the request.
            let port = host
                .rsplit_once(':')
                .filter(|(h, _)| !h.ends_with(']') || host.starts_with('['))
                .map(|(_, p)| p)
                .filter(|p| p.chars().all(|c| c.is_ascii_digit()));
            match port {
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
        client_ip: peer,
    });
    next.run(req).await
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
    use super::valid_host;

    #[test]
    fn host_header_validation() {
        assert!(valid_host("sso.example.com:8443"));
        assert!(valid_host("[::1]:8080"));
        assert!(!valid_host("evil.com/path"));
        assert!(!valid_host("a b"));
        assert!(!valid_host(""));
    }
}
