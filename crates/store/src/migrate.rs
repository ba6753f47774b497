//! Schema migrations under a database-wide lock.
//!
//! PostgreSQL: our own advisory lock (rather than sqlx's, which waits forever) taken on a
//! dedicated session, polled so that the wait has a limit and the holder can be named; the
//! migrator then runs on that same session with its own locking off. SQLite: an OS file lock
//! on `<db>.migrate-lock` beside the database, which the OS drops if the holder dies, so a
//! crashed node never leaves a stale lock behind (Keycloak's DATABASECHANGELOGLOCK can).

use std::collections::HashSet;
use std::fs::{File, TryLockError};
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use sqlx::migrate::{Migrate as _, Migrator};
use sqlx::{AnyConnection, Row as _};
use tokio::time::Instant;

use crate::connect::{Backend, Store};
use crate::error::{StoreError, from_sqlx};

/// sqlx's default table; kept so that `sqlx migrate info` works on our databases.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";
/// Advisory lock key: "Gatehous" in ASCII. Both halves are below 2^31, which keeps the
/// `pg_locks.classid` / `objid` comparison free of sign surprises.
const PG_LOCK_KEY: i64 = 0x4761_7465_686f_7573;
const LOCK_POLL: Duration = Duration::from_millis(200);

/// What `migrate` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationReport {
    /// Migrations applied by this call (0 when the schema was up to date).
    pub applied: usize,
    /// Migrations the schema has in all.
    pub total: usize,
}

fn migrator() -> Migrator {
    let mut m = sqlx::migrate!();
    m.set_locking(false);
    m
}

impl Store {
    /// Brings the schema up to date, waiting at most `lock_wait` for another node that is
    /// migrating the same database.
    pub async fn migrate(&self, lock_wait: Duration) -> Result<MigrationReport, StoreError> {
        let report = match self.inner.backend {
            Backend::Postgres => self.migrate_postgres(lock_wait).await?,
            Backend::Sqlite => self.migrate_sqlite(lock_wait).await?,
        };
        if report.applied > 0 {
            tracing::info!(
                "applied {} database migration(s); the schema has {} in all",
                report.applied,
                report.total
            );
        } else {
            tracing::info!("database schema up to date ({} migrations)", report.total);
        }
        Ok(report)
    }

    async fn migrate_postgres(&self, lock_wait: Duration) -> Result<MigrationReport, StoreError> {
        let mut conn = self.inner.pool.acquire().await.map_err(from_sqlx)?;
        let started = Instant::now();
        let mut told = false;
        loop {
            let got: i32 = sqlx::query_scalar("SELECT CAST(pg_try_advisory_lock($1) AS INTEGER)")
                .bind(PG_LOCK_KEY)
                .fetch_one(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            if got == 1 {
                break;
            }
            let waited = started.elapsed();
            if waited >= lock_wait {
                let holder = pg_lock_holder(&mut conn).await;
                return Err(StoreError::LockTimeout { waited, holder });
            }
            if !told {
                told = true;
                let holder = pg_lock_holder(&mut conn).await;
                tracing::info!(
                    "waiting up to {}s for the database migration lock held by {}",
                    lock_wait.as_secs(),
                    holder.as_deref().unwrap_or("another node")
                );
            }
            tokio::time::sleep(LOCK_POLL.min(lock_wait.saturating_sub(waited))).await;
        }

        let outcome = run_migrations(&mut conn).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(PG_LOCK_KEY)
            .execute(&mut *conn)
            .await;
        if unlocked.is_err() {
            // The lock is tied to the session: ending the session is the sure way to free it.
            let _ = conn.close().await;
        }
        outcome
    }

    async fn migrate_sqlite(&self, lock_wait: Duration) -> Result<MigrationReport, StoreError> {
        let path = self.inner.sqlite_path.as_deref().ok_or_else(|| {
            StoreError::Internal("SQLite store without a database path".to_owned())
        })?;
        let _lock = lock_file(path, &self.inner.application_name, lock_wait).await?;
        let mut conn = self.inner.pool.acquire().await.map_err(from_sqlx)?;
        run_migrations(&mut conn).await
    }
}

async fn run_migrations(conn: &mut AnyConnection) -> Result<MigrationReport, StoreError> {
    let migrator = migrator();
    let failed = |e: sqlx::migrate::MigrateError| StoreError::Migration(e.to_string());
    conn.ensure_migrations_table(MIGRATIONS_TABLE)
        .await
        .map_err(failed)?;
    let before: HashSet<i64> = conn
        .list_applied_migrations(MIGRATIONS_TABLE)
        .await
        .map_err(failed)?
        .into_iter()
        .map(|m| m.version)
        .collect();
    migrator.run(&mut *conn).await.map_err(failed)?;
    let ups = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration());
    let (mut total, mut applied) = (0, 0);
    for m in ups {
        total += 1;
        if !before.contains(&m.version) {
            applied += 1;
        }
    }
    Ok(MigrationReport { applied, total })
}

/// Names the session holding our advisory lock, from `pg_locks` and `pg_stat_activity`.
async fn pg_lock_holder(conn: &mut AnyConnection) -> Option<String> {
    let row = sqlx::query(
        "SELECT a.application_name AS app, host(a.client_addr) AS addr, \
                CAST(date_trunc('second', a.backend_start) AS TEXT) AS since \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND CAST(l.classid AS BIGINT) = $1 AND CAST(l.objid AS BIGINT) = $2 \
         LIMIT 1",
    )
    .bind(PG_LOCK_KEY >> 32)
    .bind(PG_LOCK_KEY & 0xffff_ffff)
    .fetch_optional(&mut *conn)
    .await;
    let row = match row {
        Ok(row) => row?,
        Err(e) => {
            tracing::debug!("cannot name the migration lock holder: {e}");
            return None;
        }
    };
    let app: Option<String> = row.try_get("app").ok().flatten();
    let addr: Option<String> = row.try_get("addr").ok().flatten();
    let since: Option<String> = row.try_get("since").ok().flatten();
    Some(format!(
        "node '{}' ({}, since {})",
        app.filter(|a| !a.is_empty())
            .unwrap_or_else(|| "unknown".to_owned()),
        addr.unwrap_or_else(|| "local socket".to_owned()),
        since.unwrap_or_else(|| "unknown".to_owned())
    ))
}

/// Takes the OS lock on `<db>.migrate-lock`, polling until `lock_wait`. The holder writes its
/// name into the file so that a waiting process can say who it waits for.
async fn lock_file(db: &Path, node: &str, lock_wait: Duration) -> Result<File, StoreError> {
    let mut name = db.as_os_str().to_owned();
    name.push(".migrate-lock");
    let path = std::path::PathBuf::from(name);
    let io = |e: std::io::Error| {
        StoreError::Migration(format!("migration lock file {}: {e}", path.display()))
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    let started = Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let holder = std::fs::read_to_string(&path)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        let waited = started.elapsed();
        if waited >= lock_wait {
            return Err(StoreError::LockTimeout { waited, holder });
        }
        if !told {
            told = true;
            tracing::info!(
                "waiting up to {}s for the database migration lock held by {}",
                lock_wait.as_secs(),
                holder.as_deref().unwrap_or("another process")
            );
        }
        tokio::time::sleep(LOCK_POLL.min(lock_wait.saturating_sub(waited))).await;
    }
    let stamp = format!("node '{node}' (pid {})", std::process::id());
    // Only informative, so a failure to write it is no reason to stop.
    let _ = file
        .set_len(0)
        .and_then(|()| file.write_all(stamp.as_bytes()));
    Ok(file)
}
