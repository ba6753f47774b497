//! `gatehouse`: the command line. Parses the command and options, wires the crates together,
//! and turns every start-up failure into one clear line and an exit code.
//!
//! Exit codes: 0 after a clean shutdown; 2 for bad options or a configuration that production
//! mode refuses (nothing was started); 1 for a failure while starting or running (database
//! unreachable, port in use, migration lock timeout).

mod logging;
mod transfer;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_cluster::Cluster;
use gatehouse_config::{CacheKind, Config, ConfigError, DbKind, LogOutput, Mode};
use gatehouse_server::{AppState, Readiness};
use gatehouse_services::{AdminCreated, CacheSettings, Features, Services};
use gatehouse_store::{ConnectOptions, DbSettings, Store};

/// How long requests in flight may take to finish once shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Keycloak 26's name for the bootstrap admin when only a password is given.
const DEFAULT_BOOTSTRAP_ADMIN: &str = "temp-admin";

const USAGE: &str = "\
Usage: gatehouse <command> [options]

Commands:
  start-dev     Start in development mode: embedded SQLite under data/, HTTP on 127.0.0.1:8080.
  start         Start in production mode (requires a hostname decision and HTTPS or --http-enabled true).
  show-config   Print the resolved configuration and where each value comes from.
  export        Export realms: --dir D | --file F [--realm R]
                [--users realm_file|same_file|different_files|skip] [--users-per-file N]
  import        Import realms: --dir D | --file F [--override true|false]

Options use Keycloak's names: --name=value or --name value on the command line,
KC_NAME in the environment, name=value in conf/gatehouse.conf.
Examples: --db postgres --db-url-host db.internal --http-port 8080 --health-enabled true";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let mode = match command.as_str() {
        "start-dev" => Mode::Dev,
        "start" | "show-config" | "export" | "import" => Mode::Prod,
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        "-V" | "--version" => {
            println!("gatehouse {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!(
                "Unknown command: '{other}'. Expected one of: start-dev, start, show-config, export, import"
            );
            return ExitCode::from(2);
        }
    };
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let env: HashMap<String, String> = std::env::vars().collect();
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(e) => {
            eprintln!("Cannot read the working directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let transfer = match command.as_str() {
        "export" => match gatehouse_config::export_options(rest) {
            Ok((opts, rest)) => Some((Transfer::Export(opts), rest)),
            Err(e) => return usage_error(&e),
        },
        "import" => match gatehouse_config::import_options(rest) {
            Ok((opts, rest)) => Some((Transfer::Import(opts), rest)),
            Err(e) => return usage_error(&e),
        },
        _ => None,
    };
    let (transfer, rest) = match transfer {
        Some((t, rest)) => (Some(t), rest),
        None => (None, rest.to_vec()),
    };
    let resolved = match gatehouse_config::resolve(mode, &rest, &env, &cwd) {
        Ok(r) => r,
        Err(e) => return usage_error(&e),
    };
    if command == "show-config" {
        print!("{}", resolved.show());
        return ExitCode::SUCCESS;
    }
    let config = resolved.config;
    if transfer.is_none()
        && let Err(e) = config.check_start()
    {
        return usage_error(&e);
    }
    if config.bootstrap_admin_username.is_some() && config.bootstrap_admin_password.is_none() {
        eprintln!(
            "Option '--bootstrap-admin-username' needs '--bootstrap-admin-password' (KC_BOOTSTRAP_ADMIN_PASSWORD) too."
        );
        return ExitCode::from(2);
    }
    let json = matches!(config.log_console_output, LogOutput::Json);
    if let Err(e) = logging::init(
        &config.node_name,
        json,
        &config.log_level.to_env_filter_directives(),
    ) {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match transfer {
        Some(transfer) => runtime.block_on(run_transfer(config, transfer)),
        None => runtime.block_on(run(config, mode)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// `export` or `import`, with the command's own options.
enum Transfer {
    Export(gatehouse_config::ExportOptions),
    Import(gatehouse_config::ImportOptions),
}

/// Runs an export or import against the configured database, with no listener: as Keycloak's
/// `kc.sh export|import`, it is meant for a stopped cluster or a database of its own.
async fn run_transfer(config: Config, transfer: Transfer) -> Result<(), String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let store = Store::connect(&connect_options(&config))
        .await
        .map_err(|e| format!("Failed: {e}"))?;
    store
        .migrate(config.dblock_lock_wait_timeout)
        .await
        .map_err(|e| format!("Failed: {e}"))?;
    let services = Services::new(store.clone());
    services
        .ensure_master_realm()
        .await
        .map_err(|e| format!("Failed: {e}"))?;
    let outcome = match &transfer {
        Transfer::Export(opts) => transfer::export(&services, opts).await,
        Transfer::Import(opts) => transfer::import(&services, opts).await,
    };
    store.close().await;
    tracing::info!("{}", outcome?);
    Ok(())
}

fn usage_error(e: &ConfigError) -> ExitCode {
    eprintln!("{e}");
    ExitCode::from(2)
}

async fn run(config: Config, mode: Mode) -> Result<(), String> {
    let started = Instant::now();
    // One process-wide TLS provider, chosen once: aws-lc-rs (DESIGN.md §5).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    let store = Store::connect(&connect_options(&config))
        .await
        .map_err(|e| format!("Failed to start: {e}"))?;
    let report = store
        .migrate(config.dblock_lock_wait_timeout)
        .await
        .map_err(|e| format!("Failed to start: {e}"))?;
    if report.applied > 0 {
        tracing::info!(
            "applied database migrations: {} of {}",
            report.applied,
            report.total
        );
    } else {
        tracing::info!("database schema up to date ({} migrations)", report.total);
    }

    if mode == Mode::Prod && config.db == DbKind::DevFile {
        tracing::warn!(
            "The dev-file database is for development only: use --db postgres in production, and for more than one node"
        );
    }
    let mut services = Services::new(store.clone())
        .with_features(Features {
            impersonation: config.feature_enabled("impersonation"),
        })
        .with_cache_settings(cache_settings(&config)?)
        .with_auth_sessions_limit(config.auth_sessions_limit);
    let cluster = match config.cache {
        CacheKind::Local => None,
        CacheKind::Ispn => {
            let cluster = Cluster::start(&config.cluster, &config.node_name, store.clone())
                .await
                .map_err(|e| format!("Failed to start: {e}"))?;
            store.set_commit_hook(Arc::new(cluster.clone()));
            services = services.with_cluster(cluster.clone());
            Some(cluster)
        }
    };
    let master = services
        .ensure_master_realm()
        .await
        .map_err(|e| format!("Failed to start: {e}"))?;
    if config.import_realm {
        transfer::import_at_start(&services, &config.data_dir)
            .await
            .map_err(|e| format!("Failed to start: {e}"))?;
    }
    bootstrap_admin(&services, &config, master.has_users).await?;

    let readiness = Readiness::default();
    services.start_expiration_task();
    let state = AppState::new(services.clone(), &config, readiness.clone())
        .map_err(|e| format!("Failed to start: {e}"))?;
    let mut running = gatehouse_server::serve(&config, state)
        .await
        .map_err(|e| format!("Failed to start: {e}"))?;
    readiness.set(true);
    tracing::info!(
        "Gatehouse {} on {} started in {:.3}s ({} mode, database {} at {}). Node name: {}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        started.elapsed().as_secs_f64(),
        if mode == Mode::Dev {
            "development"
        } else {
            "production"
        },
        store.backend().as_str(),
        store.target(),
        config.node_name,
    );
    if !master.has_users && config.bootstrap_admin_password.is_none() {
        tracing::info!(
            "No administrator yet: open the welcome page from this machine, or restart with KC_BOOTSTRAP_ADMIN_USERNAME and KC_BOOTSTRAP_ADMIN_PASSWORD"
        );
    }

    let outcome = tokio::select! {
        signal = shutdown_signal() => {
            tracing::info!("Received {signal}: shutting down");
            Ok(())
        }
        err = running.failed() => Err(format!("Stopped: {err}")),
    };
    // Stop looking ready first, so a load balancer stops sending new work while requests in
    // flight finish.
    readiness.set(false);
    running
        .shutdown(SHUTDOWN_GRACE)
        .await
        .map_err(|e| format!("Shutdown: {e}"))?;
    services.flush_session_timestamps().await;
    if let Some(cluster) = cluster {
        cluster.leave().await;
    }
    store.close().await;
    tracing::info!(
        "Gatehouse stopped in {:.3}s",
        started.elapsed().as_secs_f64()
    );
    outcome
}

/// The caches as Keycloak's options set them: `--spi-realm-cache-default-enabled`,
/// `--spi-user-cache-default-enabled`, and the sizes.
fn cache_settings(config: &Config) -> Result<CacheSettings, String> {
    let settings = CacheSettings {
        realm_cache: config
            .spi_flag("spi-realm-cache-default-enabled", true)
            .map_err(|e| e.to_string())?,
        user_cache: config
            .spi_flag("spi-user-cache-default-enabled", true)
            .map_err(|e| e.to_string())?,
        realm_size: u64::from(config.cache_realms_max_count),
        user_size: u64::from(config.cache_users_max_count),
    };
    if !settings.realm_cache || !settings.user_cache {
        tracing::info!(
            realm_cache = settings.realm_cache,
            user_cache = settings.user_cache,
            "caches switched off by configuration"
        );
    }
    Ok(settings)
}

fn connect_options(config: &Config) -> ConnectOptions {
    let db = match config.db {
        DbKind::DevFile => DbSettings::Sqlite {
            path: config.sqlite_path(),
        },
        DbKind::Postgres => DbSettings::Postgres {
            url: config.postgres_url().unwrap_or_default(),
            username: config.db_username.clone(),
            password: config.db_password.as_ref().map(|p| p.expose().to_owned()),
            schema: config.db_schema.clone(),
        },
    };
    let min = config
        .db_pool_min_size
        .unwrap_or(0)
        .max(config.db_pool_initial_size.unwrap_or(0));
    ConnectOptions {
        db,
        pool_min: min.min(config.db_pool_max_size),
        pool_max: config.db_pool_max_size.max(1),
        application_name: format!("gatehouse {}", config.node_name),
        connect_timeout: Duration::from_secs(config.db_connect_timeout),
    }
}

/// Creates the first admin from `bootstrap-admin-*` when the master realm has no user yet;
/// later starts leave existing users alone, as Keycloak does.
async fn bootstrap_admin(
    services: &Services,
    config: &Config,
    has_users: bool,
) -> Result<(), String> {
    let Some(password) = &config.bootstrap_admin_password else {
        return Ok(());
    };
    if has_users {
        tracing::debug!("master realm has users: bootstrap admin options ignored");
        return Ok(());
    }
    let username = config
        .bootstrap_admin_username
        .as_deref()
        .unwrap_or(DEFAULT_BOOTSTRAP_ADMIN);
    match services
        .create_master_admin(username, password.expose())
        .await
    {
        Ok(AdminCreated::Created { username, .. }) => {
            tracing::info!("Created temporary admin user with username {username}");
            Ok(())
        }
        Ok(AdminCreated::AlreadyExists) => Ok(()),
        Err(e) => Err(format!("Failed to create the bootstrap admin: {e}")),
    }
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the process can still be killed; serve on.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
