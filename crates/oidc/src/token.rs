//! `token`, `userinfo`, `token/introspect` and `revoke`.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_model::{Realm, SslRequired};
use gatehouse_services::{OAuthError, RequestCtx, Services};

use crate::form::{Form, bearer, client_credentials};
use crate::{OidcError, cors};

/// Loads the realm and applies the checks Keycloak makes before any grant: the realm is enabled
/// and the request meets its `sslRequired`.
async fn realm_for(services: &Services, name: &str, ctx: &RequestCtx) -> Result<Realm, OidcError> {
    let realm = services.realm(name).await?;
    if !realm.enabled {
        return Err(OAuthError::Forbidden {
            error: "access_denied",
            description: "Realm not enabled".into(),
        }
        .into());
    }
    if !ssl_ok(&realm, ctx) {
        return Err(OAuthError::Forbidden {
            error: "invalid_request",
            description: "HTTPS required".into(),
        }
        .into());
    }
    Ok(realm)
}

/// `sslRequired`: `all` needs HTTPS always, `external` for any address that is not loopback or
/// private, `none` never.
pub(crate) fn ssl_ok(realm: &Realm, ctx: &RequestCtx) -> bool {
    if ctx.frontend.starts_with("https://") {
        return true;
    }
    match realm.ssl_required {
        SslRequired::None => true,
        SslRequired::All => false,
        SslRequired::External => match ctx.client_ip {
            std::net::IpAddr::V4(ip) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
            std::net::IpAddr::V6(ip) => {
                ip.is_loopback() || ip.is_unique_local() || ip.is_unicast_link_local()
            }
        },
    }
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `POST .../token`.
pub async fn token(
    State(services): State<Services>,
    Path(realm): Path<String>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OidcError> {
    let realm = realm_for(&services, &realm, &ctx).await?;
    let form = Form::parse(&body)?;
    let client_id = client_credentials(&headers, &form).client_id;
    let response = match grant(&services, &realm, &ctx, &headers, &form).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    Ok(cors::allow_for_client(response, &services, &realm, client_id.as_deref(), &headers).await)
}

async fn grant(
    services: &Services,
    realm: &Realm,
    ctx: &RequestCtx,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Response, OidcError> {
    let Some(grant_type) = form.get("grant_type") else {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "Missing form parameter: grant_type",
        )
        .into());
    };
    let creds = client_credentials(headers, form);
    let response = match grant_type {
        "password" => {
            let Some(username) = form.get("username") else {
                return Err(OAuthError::unauthorized(
                    "invalid_request",
                    "Missing parameter: username",
                )
                .into());
            };
            let password = form.get("password").unwrap_or_default();
            services
                .password_grant(ctx, realm, &creds, username, password, form.get("scope"))
                .await?
        }
        "client_credentials" => {
            services
                .client_credentials_grant(ctx, realm, &creds, form.get("scope"))
                .await?
        }
        "authorization_code" => {
            let Some(code) = form.get("code") else {
                return Err(
                    OAuthError::bad_request("invalid_request", "Missing parameter: code").into(),
                );
            };
            services
                .code_grant(
                    ctx,
                    realm,
                    &creds,
                    code,
                    form.get("redirect_uri"),
                    form.get("code_verifier"),
                )
                .await?
        }
        "refresh_token" => {
            let Some(refresh) = form.get("refresh_token") else {
                return Err(OAuthError::bad_request("invalid_request", "No refresh token").into());
            };
            services.refresh_grant(ctx, realm, &creds, refresh).await?
        }
        _ => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                "Unsupported grant_type",
            )
            .into());
        }
    };
    Ok(no_store(Json(response.to_json()).into_response()))
}

async fn userinfo_with(
    services: &Services,
    realm: &str,
    ctx: &RequestCtx,
    token: Option<String>,
    headers: &HeaderMap,
) -> Result<Response, OidcError> {
    let realm = realm_for(services, realm, ctx).await?;
    let Some(token) = token else {
        return Err(OidcError::Bearer {
            realm: realm.name.to_string(),
            error: "invalid_request",
            description: "Token not provided".into(),
        });
    };
    let response = match services.userinfo(ctx, &realm, &token).await {
        Ok(claims) => no_store(Json(claims).into_response()),
        Err(OAuthError::Unauthorized { error, description }) => OidcError::Bearer {
            realm: realm.name.to_string(),
            error,
            description,
        }
        .into_response(),
        Err(e) => OidcError::from(e).into_response(),
    };
    // The browser app that holds the token is the token's `azp`; its web origins decide
    // whether the app may read the answer.
    let azp = unverified_azp(&token);
    Ok(cors::allow_for_client(response, services, &realm, azp.as_deref(), headers).await)
}

/// The `azp` of a JWT without verifying it: used only to choose CORS headers for a response
/// that was itself produced after verification.
fn unverified_azp(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("azp")?.as_str().map(str::to_owned)
}

/// `GET .../userinfo` with `Authorization: Bearer`.
pub async fn userinfo(
    State(services): State<Services>,
    Path(realm): Path<String>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
) -> Result<Response, OidcError> {
    userinfo_with(&services, &realm, &ctx, bearer(&headers), &headers).await
}

/// `POST .../userinfo`: the token in the header or, per RFC 6750 §2.2, in the form.
pub async fn userinfo_post(
    State(services): State<Services>,
    Path(realm): Path<String>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OidcError> {
    let token = match bearer(&headers) {
        Some(t) => Some(t),
        None => Form::parse(&body)?.get("access_token").map(str::to_owned),
    };
    userinfo_with(&services, &realm, &ctx, token, &headers).await
}

/// `POST .../token/introspect` (RFC 7662).
pub async fn introspect(
    State(services): State<Services>,
    Path(realm): Path<String>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OidcError> {
    let realm = realm_for(&services, &realm, &ctx).await?;
    let form = Form::parse(&body)?;
    let creds = client_credentials(&headers, &form);
    // The client authenticates first; the token and its hint are looked at after that.
    let result = services
        .introspect(
            &ctx,
            &realm,
            &creds,
            form.get("token"),
            form.get("token_type_hint"),
        )
        .await?;
    Ok(no_store(Json(result).into_response()))
}

/// `POST .../revoke` (RFC 7009): 200 with an empty body, also for unknown tokens.
pub async fn revoke(
    State(services): State<Services>,
    Path(realm): Path<String>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OidcError> {
    let realm = realm_for(&services, &realm, &ctx).await?;
    let form = Form::parse(&body)?;
    let creds = client_credentials(&headers, &form);
    let Some(token) = form.get("token") else {
        return Err(OAuthError::bad_request("invalid_request", "Token not provided").into());
    };
    // Like Keycloak, the token's own `typ` decides; `token_type_hint` is only a hint.
    services.revoke(&ctx, &realm, &creds, token).await?;
    Ok(no_store(StatusCode::OK.into_response()))
}
