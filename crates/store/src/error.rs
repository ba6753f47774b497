//! The store's one error type, and the translation from sqlx's.

use std::time::Duration;

/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached within the connect budget.
    #[error("cannot connect to the database at {target}: {cause}")]
    Unreachable {
        /// `host:port`, or the SQLite file.
        target: String,
        /// The last connection error.
        cause: String,
    },
    /// Another node held the migration lock for longer than we were willing to wait.
    #[error("{}", lock_timeout_message(*.waited, .holder.as_deref()))]
    LockTimeout {
        /// How long we waited.
        waited: Duration,
        /// Who holds the lock, e.g. `node 'node1' (10.0.0.5, since 2025-01-01 10:00:00+00)`.
        holder: Option<String>,
    },
    /// A write clashes with a unique name; the value names what clashed (`username`, ...).
    #[error("{0} already exists")]
    Conflict(String),
    /// Applying the schema migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// The connection was lost or no pooled connection became free in time; retrying may help.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug of ours or a corrupt row.
    #[error("database error: {0}")]
    Internal(String),
}

fn lock_timeout_message(waited: Duration, holder: Option<&str>) -> String {
    match holder {
        Some(holder) => format!(
            "timed out after {}s waiting for the database migration lock held by {holder}",
            waited.as_secs()
        ),
        None => format!(
            "timed out after {}s waiting for the database migration lock (holder unknown)",
            waited.as_secs()
        ),
    }
}

/// Maps a sqlx error; a unique violation becomes `Conflict(what)`.
pub(crate) fn map_err(what: &str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Conflict(what.to_owned());
        }
        from_sqlx(e)
    }
}

/// Maps a sqlx error where no unique violation is expected.
pub(crate) fn from_sqlx(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Database(db) if is_connection_loss(db.code().as_deref()) => {
            StoreError::Unavailable(db.to_string())
        }
        other => StoreError::Internal(other.to_string()),
    }
}

/// PostgreSQL's SQLSTATE classes for a lost connection (08) and an operator or a shutdown
/// ending it (57P): the next attempt may well succeed on another connection.
fn is_connection_loss(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_timeout_is_one_clear_line() {
        let e = StoreError::LockTimeout {
            waited: Duration::from_secs(900),
            holder: Some("node 'x' (127.0.0.1, since 2025-01-01 00:00:00+00)".into()),
        };
        assert_eq!(
            e.to_string(),
            "timed out after 900s waiting for the database migration lock held by node 'x' \
             (127.0.0.1, since 2025-01-01 00:00:00+00)"
        );
    }
}
