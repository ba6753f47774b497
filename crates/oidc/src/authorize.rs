//! `GET|POST .../auth`: the authorization endpoint, and the discovery document.

use std::collections::BTreeMap;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_login::{
    AUTH_SESSION_ID, KEYCLOAK_IDENTITY, LoginState, consent_page, cookie_value, deliver,
    error_page, login_page,
};
use gatehouse_services::{AuthFailure, AuthRequest, RequestCtx, Services, Started};
use serde_json::json;

use crate::OidcError;

/// `GET .../auth`.
pub async fn auth_get(
    State(services): State<Services>,
    State(login): State<LoginState>,
    Path(realm): Path<String>,
    Extension(ctx): Extension<RequestCtx>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = first_values(query.unwrap_or_default().as_bytes());
    authorize(&services, &login, &realm, &ctx, params, &headers).await
}

/// `POST .../auth` (form-encoded parameters, as OIDC Core §3.1.2.1 allows).
pub async fn auth_post(
    State(services): State<Services>,
    State(login): State<LoginState>,
    Path(realm): Path<String>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authorize(
        &services,
        &login,
        &realm,
        &ctx,
        first_values(&body),
        &headers,
    )
    .await
}

async fn authorize(
    services: &Services,
    login: &LoginState,
    realm: &str,
    ctx: &RequestCtx,
    params: BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Response {
    let realm = match services.realm(realm).await {
        Ok(r) if r.enabled => r,
        _ => {
            return error_page(
                &login.themes,
                ctx,
                None,
                "realmNotFound",
                None,
                headers,
                StatusCode::NOT_FOUND,
            );
        }
    };
    if !crate::token::ssl_ok(&realm, ctx) {
        return error_page(
            &login.themes,
            ctx,
            Some(&realm),
            "httpsRequiredMessage",
            None,
            headers,
            StatusCode::FORBIDDEN,
        );
    }
    let cookie = cookie_value(headers, AUTH_SESSION_ID);
    let identity = cookie_value(headers, KEYCLOAK_IDENTITY);
    let request = AuthRequest { params };
    let started = services
        .start_login(
            ctx,
            &realm,
            &request,
            cookie.as_deref(),
            identity.as_deref(),
        )
        .await;
    match started {
        Ok(Started::Form(page)) => login_page(login, ctx, &realm, &page, None, headers),
        Ok(Started::SignedIn(redirect)) => {
            let mut response = deliver(&redirect);
            gatehouse_login::login_finished(services, ctx, &realm, headers, &mut response).await;
            response
        }
        Ok(Started::Consent(page)) => consent_page(login, ctx, &realm, &page, headers),
        Err(AuthFailure::Page { message, arg }) => error_page(
            &login.themes,
            ctx,
            Some(&realm),
            message,
            arg.as_deref(),
            headers,
            StatusCode::BAD_REQUEST,
        ),
        Err(AuthFailure::Redirect(redirect)) => deliver(&redirect),
        Err(AuthFailure::Service(e)) => {
            tracing::error!(error = %e, "authorization endpoint failed");
            error_page(
                &login.themes,
                ctx,
                Some(&realm),
                "internalServerError",
                None,
                headers,
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// Query or form parameters, the first value of each (a repeated parameter is ignored, as
/// Keycloak reads the first).
fn first_values(raw: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(raw) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// `GET /realms/{realm}/.well-known/openid-configuration`: what this server implements, and
/// nothing it does not.
pub async fn discovery(
    State(services): State<Services>,
    Path(realm): Path<String>,
    Extension(ctx): Extension<RequestCtx>,
) -> Result<Response, OidcError> {
    let realm = services.realm(&realm).await?;
    let issuer = ctx.issuer(realm.name.as_str());
    let name = realm.name.as_str();
    let backend = |path: &str| ctx.backend_url(name, &format!("/protocol/openid-connect{path}"));
    let scopes = services.client_scope_names(&realm).await?;
    let mut scopes_supported = vec!["openid".to_owned()];
    scopes_supported.extend(scopes);
    let signing = [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    ];
    let auth_methods = [
        "private_key_jwt",
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
    ];
    Ok(Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/protocol/openid-connect/auth"),
        "token_endpoint": backend("/token"),
        "introspection_endpoint": backend("/token/introspect"),
        "userinfo_endpoint": backend("/userinfo"),
        "jwks_uri": backend("/certs"),
        "revocation_endpoint": backend("/revoke"),
        "end_session_endpoint": format!("{issuer}/protocol/openid-connect/logout"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "check_session_iframe": format!("{issuer}/protocol/openid-connect/login-status-iframe.html"),
        "grant_types_supported": ["authorization_code", "client_credentials", "password", "refresh_token"],
        "acr_values_supported": ["0", "1"],
        "response_types_supported": ["code", "id_token", "id_token token", "code id_token", "code token", "code id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["public"],
        "prompt_values_supported": ["none", "login", "consent"],
        "id_token_signing_alg_values_supported": signing,
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"],
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "claims_supported": ["aud", "sub", "iss", "auth_time", "name", "given_name", "family_name", "preferred_username", "email", "acr"],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": false,
        "scopes_supported": scopes_supported,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "code_challenge_methods_supported": ["plain", "S256"],
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response())
}
