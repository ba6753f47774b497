//! The pages keycloak-js loads in hidden iframes: the session status iframe (is the SSO session
//! the app holds still the browser's?) and the third-party cookie check.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use gatehouse_services::Services;

const STATUS_IFRAME: &str = include_str!("assets/login-status-iframe.html");
const STEP1: &str = include_str!("assets/3p-cookies-step1.html");
const STEP2: &str = include_str!("assets/3p-cookies-step2.html");

fn page(body: &'static str) -> Response {
    let mut response = Html(body).into_response();
    // These pages exist to be framed by applications on other origins.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET .../login-status-iframe.html`.
pub async fn status() -> Response {
    page(STATUS_IFRAME)
}

/// `GET .../login-status-iframe.html/init?client_id=..&origin=..`: 204 when `origin` is one of
/// the client's web origins, 403 otherwise, so that the iframe answers only its own apps.
pub async fn status_init(
    State(services): State<Services>,
    Path(realm): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let (Some(client_id), Some(origin)) = (query.get("client_id"), query.get("origin")) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Ok(realm) = services.realm(&realm).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match services
        .client_allows_origin(&realm, client_id, origin)
        .await
    {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => StatusCode::FORBIDDEN.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "session iframe check failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// `GET .../3p-cookies/step1.html`.
pub async fn step1() -> Response {
    page(STEP1)
}

/// `GET .../3p-cookies/step2.html`.
pub async fn step2() -> Response {
    page(STEP2)
}
