//! `/realms/{realm}` (public realm information) and the `certs` JWKS document.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use gatehouse_services::{RequestCtx, Services};
use serde_json::json;

use crate::OidcError;

/// `GET /realms/{realm}`: what Keycloak's adapters read to find the realm's key and services.
pub async fn info(
    State(services): State<Services>,
    Path(realm): Path<String>,
    Extension(ctx): Extension<RequestCtx>,
) -> Result<Response, OidcError> {
    let realm = services.realm(&realm).await?;
    let keys = services.realm_keys(&realm).await?;
    let issuer = ctx.issuer(realm.name.as_str());
    Ok(Json(json!({
        "realm": realm.name.as_str(),
        "public_key": keys.rs256_public_key(),
        "token-service": format!("{issuer}/protocol/openid-connect"),
        "account-service": format!("{issuer}/account"),
        "tokens-not-before": realm.not_before,
    }))
    .into_response())
}

/// `GET .../protocol/openid-connect/certs`: the realm's public signing keys, active and passive.
pub async fn certs(
    State(services): State<Services>,
    Path(realm): Path<String>,
) -> Result<Response, OidcError> {
    let realm = services.realm(&realm).await?;
    let keys = services.realm_keys(&realm).await?;
    let mut response = Json(keys.jwks().clone()).into_response();
    // Relying parties cache the JWKS; a short max-age bounds how long a rotated key stays unknown.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
