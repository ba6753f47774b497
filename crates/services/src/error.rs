use gatehouse_store::StoreError;

/// What a service operation can fail with; protocol crates map each variant to HTTP once.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The write clashes with what is stored (a name already taken, say).
    #[error("{0}")]
    Conflict(String),
    /// The caller's input breaks a rule; the message is safe to show.
    #[error("{0}")]
    Invalid(String),
    /// The caller did not prove who it is (no bearer token, or one that is not valid now).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The caller is known but lacks the role the operation needs.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The database cannot be reached right now; retrying may help.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A fault of ours; the message is for the log, not for the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ServiceError::Conflict(what),
            StoreError::Unavailable(msg) => ServiceError::Unavailable(msg),
            StoreError::Unreachable { .. } => ServiceError::Unavailable(e.to_string()),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
