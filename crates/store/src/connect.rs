//! Connecting: settings, the retry loop, and the pool.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions as _, Connection as _};
use tokio::time::Instant;

use crate::error::{StoreError, from_sqlx};
use crate::tx::Tx;

/// First pause between connection attempts; it doubles up to [`RETRY_CAP`].
const RETRY_START: Duration = Duration::from_millis(250);
const RETRY_CAP: Duration = Duration::from_secs(5);
/// How long a caller waits for a pooled connection before getting `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
const PG_DEFAULT_PORT: u16 = 5432;

/// Which database to use.
#[derive(Clone)]
pub enum DbSettings {
    /// An embedded SQLite file (development).
    Sqlite {
        /// The database file; missing parent folders are created.
        path: PathBuf,
    },
    /// A PostgreSQL server.
    Postgres {
        /// `postgres://host:port/db?params`; credentials go in the fields below.
        url: String,
        /// Overrides any user name in `url`.
        username: Option<String>,
        /// Overrides any password in `url`.
        password: Option<String>,
        /// Schema for all tables; created if missing. `None` means the server's default.
        schema: Option<String>,
    },
}

impl fmt::Debug for DbSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbSettings::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            DbSettings::Postgres {
                url,
                username,
                password,
                schema,
            } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .field("username", username)
                .field("password", &password.as_ref().map(|_| "<redacted>"))
                .field("schema", schema)
                .finish(),
        }
    }
}

/// Hides a password someone put into the URL after all.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("<redacted>"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "<unparseable url>".to_owned(),
    }
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Which database.
    pub db: DbSettings,
    /// Connections kept open even when idle.
    pub pool_min: u32,
    /// Most connections open at once.
    pub pool_max: u32,
    /// This node's name; PostgreSQL shows it as `application_name`, which is how a waiting node
    /// names the holder of the migration lock.
    pub application_name: String,
    /// Total time to keep retrying an unreachable database at start-up.
    pub connect_timeout: Duration,
}

/// The database engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot of the connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The pool's maximum.
    pub max: u32,
}

/// A handle on the database; cheap to clone, all clones share one pool.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) target: String,
    pub(crate) sqlite_path: Option<PathBuf>,
    pub(crate) application_name: String,
    pool_max: u32,
    /// Told of every new cache revision after its transaction commits (the cluster's
    /// invalidation push); set once at start-up.
    pub(crate) commit_hook: std::sync::OnceLock<Arc<dyn CommitHook>>,
}

/// Told of each cache revision a transaction of this node committed, after the commit and
/// before `Tx::commit` returns, so a write is announced to the cluster before its caller
/// answers. Implemented by the cluster crate; the store knows nothing of other nodes.
pub trait CommitHook: Send + Sync + 'static {
    /// `revision` is now durable; tell whoever caches.
    fn committed(
        &self,
        revision: i64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>;
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .field("target", &self.inner.target)
            .finish_non_exhaustive()
    }
}

static DRIVERS: Once = Once::new();

/// What `connect` derives from the settings before the first attempt.
struct Plan {
    options: AnyConnectOptions,
    backend: Backend,
    target: String,
    sqlite_path: Option<PathBuf>,
    schema: Option<String>,
}

fn plan(opts: &ConnectOptions) -> Result<Plan, StoreError> {
    let config = |msg: String| StoreError::Internal(format!("invalid database settings: {msg}"));
    match &opts.db {
        DbSettings::Sqlite { path } => {
            // sqlx's SQLite options already default to foreign_keys=ON and a 5 s busy timeout;
            // `mode=rwc` creates the file. The path is percent-encoded into the URL so that
            // spaces and non-ASCII folders survive.
            // Absolute, because a URL path always is: `data/x.db` would become `/data/x.db`.
            let absolute = std::path::absolute(path)
                .map_err(|e| config(format!("{}: {e}", path.display())))?;
            let mut url = url::Url::parse("sqlite://").map_err(|e| config(e.to_string()))?;
            url.set_path(&absolute.to_string_lossy());
            url.query_pairs_mut().append_pair("mode", "rwc");
            let options = AnyConnectOptions::from_url(&url).map_err(|e| config(e.to_string()))?;
            Ok(Plan {
                options: options.disable_statement_logging(),
                backend: Backend::Sqlite,
                target: path.display().to_string(),
                sqlite_path: Some(path.clone()),
                schema: None,
            })
        }
        DbSettings::Postgres {
            url,
            username,
            password,
            schema,
        } => {
            let mut parsed = url::Url::parse(url).map_err(|e| config(format!("{url}: {e}")))?;
            if !matches!(parsed.scheme(), "postgres" | "postgresql") {
                return Err(config(format!("{url}: expected a postgres:// URL")));
            }
            let target = format!(
                "{}:{}",
                parsed.host_str().unwrap_or("localhost"),
                parsed.port().unwrap_or(PG_DEFAULT_PORT)
            );
            if let Some(user) = username {
                parsed
                    .set_username(user)
                    .map_err(|()| config("cannot set the user name".into()))?;
            }
            if let Some(pw) = password {
                parsed
                    .set_password(Some(pw))
                    .map_err(|()| config("cannot set the password".into()))?;
            }
            let has_app_name = parsed.query_pairs().any(|(k, _)| k == "application_name");
            if !has_app_name && !opts.application_name.is_empty() {
                parsed
                    .query_pairs_mut()
                    .append_pair("application_name", &opts.application_name);
            }
            if let Some(schema) = schema {
                check_schema_name(schema)?;
                // Set at connection start-up, so every pooled connection, including the one
                // the migrator uses, sees our schema first.
                parsed
                    .query_pairs_mut()
                    .append_pair("options", &format!("-c search_path={schema}"));
            }
            let options =
                AnyConnectOptions::from_url(&parsed).map_err(|e| config(e.to_string()))?;
            Ok(Plan {
                options: options.disable_statement_logging(),
                backend: Backend::Postgres,
                target,
                sqlite_path: None,
                schema: schema.clone(),
            })
        }
    }
}

/// Schema names go into `search_path` and a `CREATE SCHEMA` unquoted, so only plain identifiers
/// are accepted.
fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::Internal(format!(
            "invalid database schema name {schema:?}: use letters, digits and '_'"
        )))
    }
}

impl Store {
    /// Connects, retrying an unreachable database with exponential back-off (250 ms doubling,
    /// at most 5 s apart) until `connect_timeout` has passed.
    pub async fn connect(opts: &ConnectOptions) -> Result<Store, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let plan = plan(opts)?;
        if let Some(path) = &plan.sqlite_path
            && let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Unreachable {
                target: plan.target.clone(),
                cause: format!("cannot create {}: {e}", parent.display()),
            })?;
        }

        let mut probe = first_connection(&plan, opts.connect_timeout).await?;
        let prepared = prepare(&mut probe, &plan).await;
        let _ = probe.close().await;
        prepared?;

        let pool_max = opts.pool_max.max(1);
        let pool = AnyPoolOptions::new()
            .max_connections(pool_max)
            .min_connections(opts.pool_min.min(pool_max))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(plan.options.clone())
            .await
            .map_err(|e| StoreError::Unreachable {
                target: plan.target.clone(),
                cause: e.to_string(),
            })?;
        tracing::debug!(
            backend = plan.backend.as_str(),
            target = %plan.target,
            "connected to the database"
        );
        Ok(Store {
            inner: Arc::new(Inner {
                pool,
                backend: plan.backend,
                target: plan.target,
                sqlite_path: plan.sqlite_path,
                application_name: opts.application_name.clone(),
                pool_max,
                commit_hook: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.inner.pool)
            .await
            .map(|_| ())
            .map_err(from_sqlx)
    }

    /// The cache revision: a counter every change to cached data moves on in its own
    /// transaction (see [`Tx::commit`](crate::Tx::commit)). One indexed single-row read, without
    /// a transaction.
    pub async fn cache_revision(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar::<_, i64>("SELECT revision FROM cache_revision WHERE id = 1")
            .fetch_one(&self.inner.pool)
            .await
            .map_err(from_sqlx)
    }

    /// Starts a transaction on a pooled connection.
    ///
    /// On SQLite the transaction takes the write lock at once (`BEGIN IMMEDIATE`): two deferred
    /// transactions that both read and then write would otherwise dead-lock, which SQLite
    /// reports as an immediate "database is locked" that no busy timeout can cure.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let tx = match self.inner.backend {
            Backend::Sqlite => self.inner.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.inner.pool.begin().await,
        }
        .map_err(from_sqlx)?;
        Ok(Tx::new(tx, self.inner.commit_hook.get().cloned()))
    }

    /// Installs the hook told of every committed cache revision; a second call is ignored.
    pub fn set_commit_hook(&self, hook: Arc<dyn CommitHook>) {
        let _ = self.inner.commit_hook.set(hook);
    }

    /// Starts a transaction that only reads. On SQLite it is deferred, so readers run beside
    /// each other and beside the one writer (WAL) instead of queueing for the write lock; a
    /// write inside it may fail with "database is locked", so callers must not write.
    pub async fn begin_read(&self) -> Result<Tx, StoreError> {
        let tx = match self.inner.backend {
            Backend::Sqlite => self.inner.pool.begin_with("BEGIN DEFERRED").await,
            Backend::Postgres => self.inner.pool.begin().await,
        }
        .map_err(from_sqlx)?;
        Ok(Tx::new(tx, None))
    }

    /// The pool's current size.
    pub fn pool_stats(&self) -> PoolStats {
        let pool = &self.inner.pool;
        PoolStats {
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: self.inner.pool_max,
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// `host:port`, or the SQLite file: what to name in logs.
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// Closes every pooled connection, waiting for those in use to come back.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}

/// Opens one connection, retrying until `budget` is spent.
async fn first_connection(plan: &Plan, budget: Duration) -> Result<AnyConnection, StoreError> {
    let deadline = Instant::now() + budget;
    let mut pause = RETRY_START;
    let mut attempt: u32 = 1;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let cause = match tokio::time::timeout(
            remaining.max(Duration::from_millis(100)),
            AnyConnection::connect_with(&plan.options),
        )
        .await
        {
            Ok(Ok(conn)) => return Ok(conn),
            // A malformed URL will not heal by waiting.
            Ok(Err(e @ sqlx::Error::Configuration(_))) => {
                return Err(StoreError::Unreachable {
                    target: plan.target.clone(),
                    cause: e.to_string(),
                });
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "connection attempt timed out".to_owned(),
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(StoreError::Unreachable {
                target: plan.target.clone(),
                cause,
            });
        }
        let wait = pause.min(remaining);
        tracing::warn!(
            "cannot connect to the database at {} (attempt {attempt}): {cause}; retrying in {} ms",
            plan.target,
            wait.as_millis()
        );
        tokio::time::sleep(wait).await;
        pause = (pause * 2).min(RETRY_CAP);
        attempt += 1;
    }
}

/// One-time set-up on the first connection.
async fn prepare(conn: &mut AnyConnection, plan: &Plan) -> Result<(), StoreError> {
    match plan.backend {
        Backend::Sqlite => {
            // WAL lets readers run while one writer writes; the mode is stored in the file, so
            // setting it once covers every later connection.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
        }
        Backend::Postgres => {
            if let Some(schema) = &plan.schema {
                let sql = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
                match sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut *conn)
                    .await
                {
                    Ok(_) => {}
                    // Two nodes racing to create it: the loser sees a unique violation.
                    Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {}
                    Err(e) => return Err(from_sqlx(e)),
                }
            }
        }
    }
    Ok(())
}

impl FromStr for Backend {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" => Ok(Backend::Postgres),
            other => Err(StoreError::Internal(format!("unknown backend {other:?}"))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_passwords() {
        let s = DbSettings::Postgres {
            url: "postgres://u:inurl@db:5432/kc".into(),
            username: Some("u".into()),
            password: Some("hunter2".into()),
            schema: None,
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("inurl"), "{shown}");
        assert!(shown.contains("db:5432"), "{shown}");
    }

    #[test]
    fn pg_target_is_host_and_port() {
        let opts = ConnectOptions {
            db: DbSettings::Postgres {
                url: "postgres://db.example/kc".into(),
                username: None,
                password: None,
                schema: Some("gatehouse".into()),
            },
            pool_min: 0,
            pool_max: 1,
            application_name: "node1".into(),
            connect_timeout: Duration::from_secs(1),
        };
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let plan = plan(&opts).unwrap();
        assert_eq!(plan.target, "db.example:5432");
        assert!(check_schema_name("bad;name").is_err());
    }
}
