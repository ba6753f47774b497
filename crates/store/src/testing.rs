//! Test support: fresh, empty databases on every engine the environment offers.
//!
//! PostgreSQL comes from `GATEHOUSE_TEST_PG_URL` (a superuser URL such as
//! `postgres://postgres@127.0.0.1:55432/postgres`); each call creates a new database in it. With
//! `GATEHOUSE_REQUIRE_PG=1` a missing URL is a failure, not a silent skip, so CI cannot pass
//! on SQLite alone.

use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use rand::Rng as _;
use sqlx::{AnyConnection, Connection as _};

use crate::connect::{ConnectOptions, DbSettings};

/// The variable holding the PostgreSQL superuser URL.
pub const PG_URL_VAR: &str = "GATEHOUSE_TEST_PG_URL";
/// Set to `1` to make a missing PostgreSQL a test failure.
pub const REQUIRE_PG_VAR: &str = "GATEHOUSE_REQUIRE_PG";

/// A fresh database for one test. Keep it alive while the test uses the database: it owns the
/// SQLite file's temporary folder.
#[derive(Debug)]
pub struct TestDb {
    /// `sqlite` or `postgres`, for assertion messages.
    pub name: &'static str,
    /// How to connect to it.
    pub settings: DbSettings,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Connect options for this database with a small pool and a short connect budget.
    pub fn options(&self, application_name: &str) -> ConnectOptions {
        ConnectOptions {
            db: self.settings.clone(),
            pool_min: 0,
            pool_max: 4,
            application_name: application_name.to_owned(),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A fresh SQLite database always, and a fresh PostgreSQL database when `GATEHOUSE_TEST_PG_URL`
/// is set.
///
/// # Panics
///
/// When `GATEHOUSE_REQUIRE_PG=1` and the URL is unset, or when the PostgreSQL server named by
/// the URL cannot create a database.
pub async fn backends() -> Vec<TestDb> {
    let mut out = vec![fresh_sqlite()];
    if let Some(url) = fresh_pg_database_url().await {
        out.push(TestDb {
            name: "postgres",
            settings: DbSettings::Postgres {
                url,
                username: None,
                password: None,
                schema: None,
            },
            _dir: None,
        });
    }
    out
}

/// A fresh SQLite database file in a temporary folder.
///
/// # Panics
///
/// When no temporary folder can be made.
pub fn fresh_sqlite() -> TestDb {
    #[allow(clippy::expect_used)]
    let dir = tempfile::tempdir().expect("create a temporary folder for SQLite");
    let path: PathBuf = dir.path().join("data").join("gatehouse.db");
    TestDb {
        name: "sqlite",
        settings: DbSettings::Sqlite { path },
        _dir: Some(dir),
    }
}

/// The URL of a new, empty PostgreSQL database (`gh_<random>`) on the server named by
/// `GATEHOUSE_TEST_PG_URL`, or `None` when that is unset.
///
/// # Panics
///
/// When `GATEHOUSE_REQUIRE_PG=1` and the URL is unset, or when the database cannot be created.
pub async fn fresh_pg_database_url() -> Option<String> {
    let Some(admin) = pg_admin_url() else {
        if std::env::var(REQUIRE_PG_VAR).is_ok_and(|v| v == "1") {
            panic!(
                "{REQUIRE_PG_VAR}=1 but {PG_URL_VAR} is unset: start a throwaway PostgreSQL \
                 and set {PG_URL_VAR}=postgres://postgres@127.0.0.1:<port>/postgres"
            );
        }
        return None;
    };
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    let name = format!("gh_{:016x}", rand::rng().random::<u64>());
    let mut conn = AnyConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {PG_URL_VAR} ({admin}): {e}"));
    // The name is ours (hex digits), never input.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0"
    )))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
    let _ = conn.close().await;
    let mut url =
        url::Url::parse(&admin).unwrap_or_else(|e| panic!("{PG_URL_VAR} is not a URL: {e}"));
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

fn pg_admin_url() -> Option<String> {
    std::env::var(PG_URL_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
}
