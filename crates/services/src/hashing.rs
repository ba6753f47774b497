//! Password hashing off the async workers.
//!
//! One argon2id hash with Keycloak's defaults costs ~11 ms of CPU: run on the async workers, a
//! burst of logins would stall every other request. Hashes run on tokio's blocking pool, and a
//! semaphore sized to the cores bounds how many run at once so a flood of logins queues instead of
//! spawning hundreds of threads.

use std::sync::Arc;

use gatehouse_crypto::{PasswordPolicyHash, StoredPassword, Verified};
use tokio::sync::Semaphore;

use crate::ServiceError;

/// Runs password hashing and verification on a bounded blocking pool.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    /// A hasher allowing one hash at a time per available core.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Hasher {
            permits: Arc::new(Semaphore::new(cores)),
        }
    }

    /// Hashes `password` with `policy`, returning Keycloak's credential JSON strings.
    pub async fn hash(
        &self,
        password: String,
        policy: PasswordPolicyHash,
    ) -> Result<StoredPassword, ServiceError> {
        let _permit = self.acquire().await?;
        tokio::task::spawn_blocking(move || gatehouse_crypto::hash_password(&password, &policy))
            .await
            .map_err(|e| ServiceError::Internal(format!("hashing task failed: {e}")))?
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Verifies `password` against a stored credential; `current` says whether it needs a re-hash.
    pub async fn verify(
        &self,
        password: String,
        stored: StoredPassword,
        current: PasswordPolicyHash,
    ) -> Result<Verified, ServiceError> {
        let _permit = self.acquire().await?;
        tokio::task::spawn_blocking(move || {
            gatehouse_crypto::verify_password(&password, &stored, &current)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("hashing task failed: {e}")))?
        .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    async fn acquire(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ServiceError> {
        self.permits
            .acquire()
            .await
            .map_err(|_| ServiceError::Internal("hasher closed".into()))
    }
}
