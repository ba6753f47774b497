use std::collections::HashMap;
use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use gatehouse_model::Realm;
use gatehouse_services::{AdminIdentity, Permission, RequestCtx, ServiceError, Services};
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

/// A permission an endpoint needs, fixed by the endpoint, as a type: `InRealm<need::ViewRealm>`.
pub(crate) trait Need {
    /// The permission checked in the realm of the path.
    const PERMISSION: Permission;
}

/// One zero-sized marker per [`Permission`] an endpoint needs, for [`InRealm`].
pub(crate) mod need {
    use super::{Need, Permission};

    macro_rules! needs {
        ($($name:ident),* $(,)?) => {$(
            #[doc = concat!("Needs `Permission::", stringify!($name), "`.")]
            pub(crate) struct $name;

            impl Need for $name {
                const PERMISSION: Permission = Permission::$name;
            }
        )*};
    }

    needs!(
        ViewRealm,
        ManageRealm,
        QueryUsers,
        ViewUsers,
        ManageUsers,
        QueryGroups,
        QueryClients,
        ViewClients,
        ManageClients,
    );
}

/// An authenticated admin request on the realm named by the `{realm}` path parameter, whose
/// caller holds `P::PERMISSION` there. Extracting it answers 401 (as [`Admin`]), then 404 for
/// a missing realm, then 403 without the permission, before the handler runs.
pub(crate) struct InRealm<P> {
    /// Who is calling, with the roles that count.
    pub(crate) who: AdminIdentity,
    /// The URLs the request sees the server under.
    pub(crate) ctx: RequestCtx,
    /// The realm of the path.
    pub(crate) realm: Realm,
    /// The services, to run the request with.
    pub(crate) services: Services,
    need: PhantomData<P>,
}

impl<S, P> FromRequestParts<S> for InRealm<P>
where
    S: Send + Sync,
    Services: FromRef<S>,
    P: Need,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Admin { who, ctx } = Admin::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        // A path that cannot be read is axum's own rejection, as it was for `Path<String>`.
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let services = Services::from_ref(state);
        let name = params.get("realm").map(String::as_str).unwrap_or_default();
        let realm = services
            .admin_realm(&who, name, P::PERMISSION)
            .await
            .map_err(|e| AdminError::from(e).into_response())?;
        Ok(InRealm {
            who,
            ctx,
            realm,
            services,
            need: PhantomData,
        })
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
