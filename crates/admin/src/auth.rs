use axum::extract::{FromRef, FromRequest, FromRequestParts, Query, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use gatehouse_services::{AdminIdentity, RequestCtx, ServiceError, Services};
use serde::de::DeserializeOwned;

use crate::AdminError;

/// An authenticated admin request: the caller's identity and the request's context. Extracting
/// it answers 401 for a missing or inactive bearer token before the handler runs.
pub struct Admin {
    /// Who is calling, with the roles that count.
    pub who: AdminIdentity,
    /// The URLs the request sees the server under.
    pub ctx: RequestCtx,
}

impl<S> FromRequestParts<S> for Admin
where
    S: Send + Sync,
    Services: FromRef<S>,
{
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = parts
            .extensions
            .get::<RequestCtx>()
            .cloned()
            .ok_or_else(|| ServiceError::Internal("request context missing".into()))?;
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        let services = Services::from_ref(state);
        let who = services.admin_identity(&ctx, bearer).await?;
        Ok(Admin { who, ctx })
    }
}

/// A JSON body that answers Keycloak's 400 (naming what could not be read) instead of axum's
/// plain-text rejection.
pub struct AdminJson<T>(pub T);

impl<S, T> FromRequest<S> for AdminJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(AdminJson(value)),
            Err(rejection) => Err(AdminError::BadRequest(rejection.body_text())),
        }
    }
}

/// Query parameters that answer Keycloak's 400 (naming what could not be read) instead of
/// axum's plain-text rejection.
pub struct AdminQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for AdminQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(AdminQuery(value)),
            Err(rejection) => Err(AdminError::BadRequest(rejection.body_text())),
        }
    }
}
