use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_services::{OAuthError, ServiceError};
use serde_json::json;

/// Everything an OAuth endpoint can answer with other than success, rendered as Keycloak does:
/// `{"error": .., "error_description": ..}` with `Cache-Control: no-store`.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// An OAuth error from the services layer.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// The realm in the path does not exist.
    #[error("Realm does not exist")]
    RealmNotFound,
    /// A bearer-token endpoint refused the token; rendered with `WWW-Authenticate`.
    #[error("{error}: {description}")]
    Bearer {
        /// The realm, for the challenge.
        realm: String,
        /// `invalid_token` or `invalid_request`.
        error: &'static str,
        /// Why.
        description: String,
    },
}

impl From<ServiceError> for OidcError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(_) => OidcError::RealmNotFound,
            other => OidcError::OAuth(OAuthError::Service(other)),
        }
    }
}

fn body(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl IntoResponse for OidcError {
    fn into_response(self) -> Response {
        match self {
            OidcError::OAuth(OAuthError::BadRequest { error, description }) => {
                body(StatusCode::BAD_REQUEST, error, &description)
            }
            OidcError::OAuth(OAuthError::Unauthorized { error, description }) => {
                body(StatusCode::UNAUTHORIZED, error, &description)
            }
            OidcError::OAuth(OAuthError::Forbidden { error, description }) => {
                body(StatusCode::FORBIDDEN, error, &description)
            }
            OidcError::OAuth(OAuthError::Service(e)) => {
                let unavailable = matches!(e, ServiceError::Unavailable(_));
                tracing::error!(error = %e, "OAuth endpoint failed");
                if unavailable {
                    body(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        "Try again later",
                    )
                } else {
                    body(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "unknown_error",
                        "Internal server error",
                    )
                }
            }
            OidcError::RealmNotFound => body(
                StatusCode::NOT_FOUND,
                "Realm does not exist",
                "Realm does not exist",
            ),
            OidcError::Bearer {
                realm,
                error,
                description,
            } => {
                let mut response = body(StatusCode::UNAUTHORIZED, error, &description);
                let challenge = format!(
                    "Bearer realm=\"{}\", error=\"{}\", error_description=\"{}\"",
                    realm.replace('"', ""),
                    error,
                    description.replace('"', "'")
                );
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                response
            }
        }
    }
}
