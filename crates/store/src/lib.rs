//! Gatehouse storage: one schema on SQLite and PostgreSQL, written once through sqlx's `Any`
//! driver, with migrations run under a database-wide lock so that nodes starting together
//! apply each migration exactly once.
//!
//! Invariants: this is the only crate that knows SQL or sqlx, and no sqlx type appears in its
//! public API. It stores and loads; it decides no business rule (services do), and it caches
//! nothing.
//!
//! Portability notes, measured rather than assumed (see the tests):
//! - Flags are stored as `INTEGER` 0/1: the `Any` driver refuses SQLite's `BOOLEAN` column type.
//! - `$1`-style placeholders work on both engines.
//! - SQLite connections get `foreign_keys=ON` and a 5 s busy timeout from sqlx's defaults, and
//!   the file is switched to WAL once at connect time (the mode is stored in the file).

mod cluster;
mod connect;
mod error;
mod migrate;
mod rows;
#[cfg(feature = "testing")]
pub mod testing;
mod tx;

pub use cluster::{PingRow, StoredCa};
pub use connect::{Backend, CommitHook, ConnectOptions, DbSettings, PoolStats, Store};
pub use error::StoreError;
pub use gatehouse_model::{CodeUse, RefreshUse};
pub use migrate::MigrationReport;
pub use tx::Tx;
pub use tx::{TextMatch, UserFilter};
