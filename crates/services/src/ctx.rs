//! What the edge learned about a request, built once by the server and passed down: the URLs
//! this request sees the server under, and the client's address.

use std::net::IpAddr;

/// The request context every protocol operation takes.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    /// The frontend base URL (scheme, host, port, relative path; no trailing slash), from
    /// `--hostname` or, when it is dynamic, from the request. Issuer and browser URLs use it.
    pub frontend: String,
    /// The backend base URL, for token, introspection and certs endpoints: the request's own
    /// URL when `hostname-backchannel-dynamic` is on, else the frontend.
    pub backend: String,
    /// The client's address as resolved from trusted proxies.
    pub client_ip: IpAddr,
}

impl RequestCtx {
    /// The issuer of a realm's tokens: `<frontend>/realms/<realm>`.
    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{}", self.frontend, realm)
    }

    /// A backend URL of a realm: `<backend>/realms/<realm><path>`.
    pub fn backend_url(&self, realm: &str, path: &str) -> String {
        format!("{}/realms/{}{}", self.backend, realm, path)
    }
}
