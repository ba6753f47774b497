//! Cross-origin access for browser applications (keycloak-js calls the token and userinfo
//! endpoints from the application's origin), with Keycloak's rules: a preflight is answered for
//! any origin, but an actual response carries `Access-Control-Allow-Origin` only for an origin in
//! the client's web origins.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_model::Realm;
use gatehouse_services::Services;

const ALLOW_HEADERS: &str = "Origin, Accept, X-Requested-With, Content-Type, Access-Control-Request-Method, Access-Control-Request-Headers, DPoP, Authorization";

/// `OPTIONS` on a CORS-enabled endpoint: the browser may send the real request; whether its
/// response is readable is decided per client on that response.
pub async fn preflight(headers: HeaderMap) -> Response {
    let mut response = StatusCode::OK.into_response();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("3600"),
        );
    }
    response
}

/// Adds the CORS headers to `response` when the request's `Origin` is one of the web origins of
/// the client `client_id`.
pub async fn allow_for_client(
    mut response: Response,
    services: &Services,
    realm: &Realm,
    client_id: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    let (Some(origin), Some(client_id)) = (headers.get(header::ORIGIN), client_id) else {
        return response;
    };
    let Ok(origin_text) = origin.to_str() else {
        return response;
    };
    let allowed = services
        .client_allows_origin(realm, client_id, origin_text)
        .await
        .unwrap_or(false);
    if allowed {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Access-Control-Allow-Methods"),
        );
    }
    response
}
