use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_services::ServiceError;
use serde_json::json;

/// Everything an admin endpoint answers other than success, in Keycloak's bodies: bearer
/// failures as `{"error": "HTTP 401 Unauthorized"}`, missing things as `{"error": ..,
/// "error_description": ..}`, rule and conflict failures as `{"errorMessage": ..}`.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// From the services layer.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The body or a query parameter could not be read; the message names what.
    #[error("{0}")]
    BadRequest(String),
}

/// Keycloak's `error_description` for errors whose detail stays in the server log.
const SEE_LOG: &str = "For more on this error consult the server log.";

/// Keycloak's 404 text for a missing thing: its client resources say "Could not find client"
/// where most say "<what> not found".
fn not_found(what: &str) -> String {
    match what {
        "Client" => "Could not find client".to_owned(),
        gatehouse_services::CONSENT_CLIENT => "Client not found".to_owned(),
        "ClientScope" => "Could not find client scope".to_owned(),
        "Installation provider" => "Unknown Provider".to_owned(),
        other => format!("{other} not found"),
    }
}

fn message(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "errorMessage": message }))).into_response()
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            AdminError::BadRequest(why) => message(StatusCode::BAD_REQUEST, &why),
            AdminError::Service(e) => match e {
                ServiceError::Unauthorized(why) => {
                    tracing::debug!(%why, "admin request refused: not authenticated");
                    (
                        StatusCode::UNAUTHORIZED,
                        [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                        axum::Json(json!({"error": "HTTP 401 Unauthorized"})),
                    )
                        .into_response()
                }
                ServiceError::Forbidden(why) => {
                    tracing::debug!(%why, "admin request refused: missing role");
                    (
                        StatusCode::FORBIDDEN,
                        axum::Json(json!({"error": "HTTP 403 Forbidden"})),
                    )
                        .into_response()
                }
                ServiceError::NotFound(what) => (
                    StatusCode::NOT_FOUND,
                    axum::Json(json!({"error": not_found(&what), "error_description": SEE_LOG})),
                )
                    .into_response(),
                ServiceError::Conflict(why) => message(StatusCode::CONFLICT, &why),
                ServiceError::Invalid(why) => message(StatusCode::BAD_REQUEST, &why),
                ServiceError::Unavailable(why) => {
                    tracing::warn!(%why, "admin request failed: database unavailable");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        axum::Json(json!({"error": "unknown_error", "error_description": SEE_LOG})),
                    )
                        .into_response()
                }
                ServiceError::Internal(why) => {
                    tracing::error!(%why, "admin request failed");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        axum::Json(json!({"error": "unknown_error", "error_description": SEE_LOG})),
                    )
                        .into_response()
                }
            },
        }
    }
}
