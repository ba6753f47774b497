use crate::ServiceError;

/// An OAuth 2.0 error with Keycloak's error code and description. Which status a variant gets
/// is the protocol crate's decision, but Keycloak answers client-authentication and
/// user-credential failures with 401 and the rest with 400, and these variants say which.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The request is wrong in a way the caller can fix (400).
    #[error("{error}: {description}")]
    BadRequest {
        /// RFC 6749 / Keycloak error code.
        error: &'static str,
        /// Keycloak's `error_description`.
        description: String,
    },
    /// Client or user authentication failed (401).
    #[error("{error}: {description}")]
    Unauthorized {
        /// RFC 6749 / Keycloak error code.
        error: &'static str,
        /// Keycloak's `error_description`.
        description: String,
    },
    /// Authenticated but not allowed (403).
    #[error("{error}: {description}")]
    Forbidden {
        /// RFC 6749 / Keycloak error code.
        error: &'static str,
        /// Keycloak's `error_description`.
        description: String,
    },
    /// A fault below the protocol: the database, a bug.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl OAuthError {
    /// A 400 error.
    pub fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError::BadRequest {
            error,
            description: description.into(),
        }
    }

    /// A 401 error.
    pub fn unauthorized(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError::Unauthorized {
            error,
            description: description.into(),
        }
    }
}

impl From<gatehouse_store::StoreError> for OAuthError {
    fn from(e: gatehouse_store::StoreError) -> Self {
        OAuthError::Service(e.into())
    }
}
