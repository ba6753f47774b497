//! Typed column access on `AnyRow`, with the engine differences folded in.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::error::StoreError;

fn decode(column: &str, e: sqlx::Error) -> StoreError {
    StoreError::Internal(format!("cannot read column {column}: {e}"))
}

/// Column getters returning `StoreError`.
pub(crate) trait RowExt {
    /// A `TEXT NOT NULL` column.
    fn text(&self, column: &str) -> Result<String, StoreError>;
    /// A nullable `TEXT` column.
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    /// A flag stored as `INTEGER` 0/1.
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
    /// An `INTEGER` column.
    fn int(&self, column: &str) -> Result<i32, StoreError>;
    /// A `BIGINT` column.
    fn long(&self, column: &str) -> Result<i64, StoreError>;
}

impl RowExt for AnyRow {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.try_get(column).map_err(|e| decode(column, e))
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.try_get(column).map_err(|e| decode(column, e))
    }

    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        // Read as i64: SQLite reports every integer as 64-bit, PostgreSQL INTEGER as 32-bit,
        // and the Any driver widens either.
        self.try_get::<i64, _>(column)
            .map(|v| v != 0)
            .map_err(|e| decode(column, e))
    }

    fn int(&self, column: &str) -> Result<i32, StoreError> {
        self.try_get(column).map_err(|e| decode(column, e))
    }

    fn long(&self, column: &str) -> Result<i64, StoreError> {
        self.try_get(column).map_err(|e| decode(column, e))
    }
}

/// How a flag is written: `INTEGER` 0/1 on both engines.
pub(crate) fn flag(value: bool) -> i32 {
    i32::from(value)
}
