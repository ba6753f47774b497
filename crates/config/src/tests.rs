#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

/// A scratch working directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "gatehouse-config-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    fn with_conf(text: &str) -> Dir {
        let d = Dir::new();
        std::fs::create_dir_all(d.0.join("conf")).unwrap();
        std::fs::write(d.0.join(DEFAULT_CONFIG_FILE), text).unwrap();
        d
    }

    fn conf(&self) -> PathBuf {
        self.0.join(DEFAULT_CONFIG_FILE)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

fn env(e: &[(&str, &str)]) -> HashMap<String, String> {
    e.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn run(mode: Mode, a: &[&str], e: &[(&str, &str)], cwd: &Path) -> Result<Resolved, ConfigError> {
    resolve(mode, &args(a), &env(e), cwd)
}

/// Resolves in an empty directory with no environment.
fn cli(a: &[&str]) -> Result<Config, ConfigError> {
    let d = Dir::new();
    run(Mode::Prod, a, &[], &d.0).map(|r| r.config)
}

/// The one-line message of a CLI-only resolution failure.
fn cli_err(a: &[&str]) -> String {
    cli(a).unwrap_err().to_string()
}

#[test]
fn defaults_depend_on_mode() {
    let d = Dir::new();
    let dev = run(Mode::Dev, &[], &[], &d.0).unwrap().config;
    let prod = run(Mode::Prod, &[], &[], &d.0).unwrap().config;
    assert!(dev.http_enabled && !prod.http_enabled);
    assert_eq!(dev.http_host, "127.0.0.1");
    assert_eq!(prod.http_host, "0.0.0.0");
    assert!(!dev.hostname_strict && prod.hostname_strict);
    assert_eq!(dev.cache, CacheKind::Local);
    assert_eq!(prod.cache, CacheKind::Ispn);
    assert_eq!(prod.db, DbKind::DevFile);
    assert_eq!(prod.http_port, 8080);
    assert_eq!(prod.https_port, 8443);
    assert_eq!(prod.http_management_port, 9000);
    assert_eq!(prod.http_max_request_body_size, 10_485_760);
    assert_eq!(prod.db_pool_max_size, 100);
    assert_eq!(prod.db_connect_timeout, 30);
    assert_eq!(prod.dblock_lock_wait_timeout, Duration::from_secs(900));
    assert!(prod.http_relative_path.is_root());
    assert_eq!(prod.log_level.root, Level::Info);
    assert_eq!(prod.data_dir, d.0.join("data"));
    assert_eq!(prod.sqlite_path(), d.0.join("data").join("gatehouse.db"));
    assert_eq!(prod.config_file, None);
    assert!(prod.postgres_url().is_none());
}

#[test]
fn precedence_cli_over_env_over_file_over_default() {
    let d = Dir::with_conf("http-port=1111\nhttps-port=2222\nhttp-management-port=3333\n");
    let r = run(
        Mode::Prod,
        &["--http-port=4444"],
        &[("KC_HTTP_PORT", "5555"), ("KC_HTTPS_PORT", "6666")],
        &d.0,
    )
    .unwrap();
    let c = &r.config;
    assert_eq!(c.http_port, 4444);
    assert_eq!(c.https_port, 6666);
    assert_eq!(c.http_management_port, 3333);
    assert_eq!(c.db_url_port, 5432);
    assert_eq!(r.source("http-port"), Some(&Source::Cli));
    assert_eq!(
        r.source("https-port"),
        Some(&Source::Env("KC_HTTPS_PORT".into()))
    );
    assert_eq!(
        r.source("http-management-port"),
        Some(&Source::File(d.conf()))
    );
    assert_eq!(r.source("db-url-port"), Some(&Source::Default));
    assert_eq!(c.config_file, Some(d.conf()));
}

#[test]
fn named_config_file_must_exist() {
    let d = Dir::new();
    let err = run(Mode::Prod, &["--config-file", "nope.conf"], &[], &d.0).unwrap_err();
    assert_eq!(err, ConfigError::ConfigFileNotFound(d.0.join("nope.conf")));
    let err = run(Mode::Prod, &[], &[("KC_CONFIG_FILE", "x.conf")], &d.0).unwrap_err();
    assert!(err.to_string().starts_with("Config file not found: "));

    std::fs::write(d.0.join("my.conf"), "db=postgres\n").unwrap();
    let r = run(Mode::Prod, &[], &[("KC_CONFIG_FILE", "my.conf")], &d.0).unwrap();
    assert_eq!(r.config.db, DbKind::Postgres);
    assert_eq!(r.config.config_file, Some(d.0.join("my.conf")));
    assert!(
        r.show()
            .contains("kc.config-file =  my.conf (ENV: KC_CONFIG_FILE)")
    );
}

#[test]
fn file_syntax_comments_blanks_whitespace() {
    let d = Dir::with_conf(
        "# a comment\n\n   db = postgres   \n\t# indented comment\nhostname=sso.example.com\n",
    );
    let c = run(Mode::Prod, &[], &[], &d.0).unwrap().config;
    assert_eq!(c.db, DbKind::Postgres);
    assert_eq!(c.hostname.as_deref(), Some("sso.example.com"));
}

#[test]
fn file_env_expansion() {
    let d = Dir::with_conf(
        "db-url-host=${DB_HOST}\ndb-url-database=${DB_NAME:keycloak2}\ndb-username=pre-${U:x}-post\n",
    );
    let c = run(Mode::Prod, &[], &[("DB_HOST", "db.internal")], &d.0)
        .unwrap()
        .config;
    assert_eq!(c.db_url_host, "db.internal");
    assert_eq!(c.db_url_database, "keycloak2");
    assert_eq!(c.db_username.as_deref(), Some("pre-x-post"));

    let c = run(
        Mode::Prod,
        &[],
        &[("DB_HOST", "h"), ("DB_NAME", "n"), ("U", "u")],
        &d.0,
    )
    .unwrap()
    .config;
    assert_eq!(c.db_url_database, "n");
    assert_eq!(c.db_username.as_deref(), Some("pre-u-post"));
}

#[test]
fn file_env_expansion_errors_name_the_line() {
    let d = Dir::with_conf("# header\ndb-url-host=${DB_HOST}\n");
    let err = run(Mode::Prod, &[], &[], &d.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Environment variable 'DB_HOST' used in {} line 2 is not set and has no default; use '${{DB_HOST:default}}' to give one.",
            d.conf().display()
        )
    );
    let d = Dir::with_conf("db-url-host=${DB_HOST\n");
    let err = run(Mode::Prod, &[], &[], &d.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Unterminated '${{' in {} line 1.", d.conf().display())
    );
    let d = Dir::with_conf("just words\n");
    let err = run(Mode::Prod, &[], &[], &d.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Invalid line in {} line 1: expected 'name=value'.",
            d.conf().display()
        )
    );
}

#[test]
fn unknown_cli_option_suggests() {
    assert_eq!(
        cli_err(&["--htp-port=1"]),
        "Unknown option: '--htp-port'. Did you mean '--http-port'?"
    );
    assert_eq!(
        cli_err(&["--hostname-strikt", "false"]),
        "Unknown option: '--hostname-strikt'. Did you mean '--hostname-strict'?"
    );
    assert_eq!(cli_err(&["--zzzzzz=1"]), "Unknown option: '--zzzzzz'.");
}

#[test]
fn unknown_file_option_suggests() {
    let d = Dir::with_conf("db=postgres\n\nhtp-port=8081\n");
    let err = run(Mode::Prod, &[], &[], &d.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Unknown option 'htp-port' in {} line 3. Did you mean 'http-port'?",
            d.conf().display()
        )
    );
}

#[test]
fn unexpected_argument() {
    assert_eq!(
        cli_err(&["http-port=1"]),
        "Unexpected argument: 'http-port=1'. Options are given as '--name=value' or '--name value'."
    );
    // A value is consumed once; a second bare word is an error.
    assert!(matches!(
        cli(&["--http-port", "1", "2"]),
        Err(ConfigError::UnexpectedArgument(a)) if a == "2"
    ));
}

#[test]
fn unknown_kc_env_is_ignored() {
    let d = Dir::new();
    let r = run(
        Mode::Prod,
        &[],
        &[
            ("KC_HTP_PORT", "1"),
            ("KC_", "x"),
            ("KC_HOME", "/opt"),
            ("HTTP_PORT", "2"),
        ],
        &d.0,
    )
    .unwrap();
    assert_eq!(r.config.http_port, 8080);
}

#[test]
fn separate_and_inline_values() {
    let a = cli(&["--http-port", "8081", "--db=postgres"]).unwrap();
    assert_eq!(a.http_port, 8081);
    assert_eq!(a.db, DbKind::Postgres);
    // `=` inside the value is kept.
    let b = cli(&["--db-url-properties=?a=b&c=d"]).unwrap();
    assert_eq!(b.db_url_properties.as_deref(), Some("?a=b&c=d"));
    // Later occurrences win.
    assert_eq!(
        cli(&["--http-port=1", "--http-port=2"]).unwrap().http_port,
        2
    );
}

#[test]
fn bare_boolean_flag() {
    let c = cli(&["--health-enabled", "--metrics-enabled"]).unwrap();
    assert!(c.health_enabled && c.metrics_enabled);
    let c = cli(&["--http-port=1", "--hostname-backchannel-dynamic"]).unwrap();
    assert!(c.hostname_backchannel_dynamic);
    let c = cli(&["--health-enabled", "false"]).unwrap();
    assert!(!c.health_enabled);
}

#[test]
fn missing_value() {
    assert_eq!(cli_err(&["--db"]), "Option '--db' expects a value.");
    assert_eq!(
        cli_err(&["--db", "--http-port=1"]),
        "Option '--db' expects a value."
    );
    assert_eq!(cli_err(&["--db="]), "Option '--db' expects a value.");
}

#[test]
fn bool_validation() {
    assert_eq!(
        cli_err(&["--health-enabled=yes"]),
        "Invalid value for option '--health-enabled': 'yes'. Expected values are: true, false"
    );
    assert!(cli(&["--health-enabled=TRUE"]).is_err());
}

#[test]
fn int_validation() {
    assert_eq!(
        cli_err(&["--http-port=abc"]),
        "Invalid value for option '--http-port': 'abc'. Expected an integer between 0 and 65535."
    );
    assert!(cli(&["--http-port=65536"]).is_err());
    assert!(cli(&["--http-port=-1"]).is_err());
    assert_eq!(cli(&["--http-port=0"]).unwrap().http_port, 0);
    assert_eq!(
        cli_err(&["--db-pool-max-size=x"]),
        "Invalid value for option '--db-pool-max-size': 'x'. Expected an integer between 0 and 4294967295."
    );
    let c = cli(&[
        "--db-pool-initial-size=2",
        "--db-pool-min-size=3",
        "--db-connect-timeout=5",
        "--spi-dblock-jpa-lock-wait-timeout=7",
    ])
    .unwrap();
    assert_eq!(c.db_pool_initial_size, Some(2));
    assert_eq!(c.db_pool_min_size, Some(3));
    assert_eq!(c.db_connect_timeout, 5);
    assert_eq!(c.dblock_lock_wait_timeout, Duration::from_secs(7));
}

#[test]
fn enum_validation() {
    assert_eq!(
        cli_err(&["--db=mysql"]),
        "Invalid value for option '--db': 'mysql'. Expected values are: dev-file, postgres"
    );
    assert_eq!(
        cli_err(&["--proxy-headers=x"]),
        "Invalid value for option '--proxy-headers': 'x'. Expected values are: forwarded, xforwarded"
    );
    let c = cli(&[
        "--proxy-headers=xforwarded",
        "--log-console-output=json",
        "--cache=local",
    ])
    .unwrap();
    assert_eq!(c.proxy_headers, Some(ProxyHeaders::Xforwarded));
    assert_eq!(c.log_console_output, LogOutput::Json);
    assert_eq!(c.cache, CacheKind::Local);
}

#[test]
fn invalid_value_names_env_and_file_sources() {
    let d = Dir::new();
    let err = run(Mode::Prod, &[], &[("KC_HTTP_PORT", "abc")], &d.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid value for option 'KC_HTTP_PORT': 'abc'. Expected an integer between 0 and 65535."
    );
    let d = Dir::with_conf("\ndb=mysql\n");
    let err = run(Mode::Prod, &[], &[], &d.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Invalid value for option 'db' in {} line 2: 'mysql'. Expected values are: dev-file, postgres",
            d.conf().display()
        )
    );
}

#[test]
fn jdbc_url_conversion() {
    let c = cli(&[
        "--db=postgres",
        "--db-url=jdbc:postgresql://db.example.com:5433/kc?sslmode=require&currentSchema=iam",
    ])
    .unwrap();
    assert_eq!(
        c.postgres_url().as_deref(),
        Some("postgres://db.example.com:5433/kc?sslmode=require")
    );
    assert_eq!(c.db_schema.as_deref(), Some("iam"));

    let c = cli(&["--db=postgres", "--db-url=jdbc:postgresql://db/kc"]).unwrap();
    assert_eq!(c.postgres_url().as_deref(), Some("postgres://db/kc"));
    assert_eq!(c.db_schema, None);

    // An explicit db-schema wins over currentSchema.
    let c = cli(&[
        "--db=postgres",
        "--db-url=postgresql://h:1/d?currentSchema=a",
        "--db-schema=b",
    ])
    .unwrap();
    assert_eq!(c.postgres_url().as_deref(), Some("postgres://h:1/d"));
    assert_eq!(c.db_schema.as_deref(), Some("b"));

    let c = cli(&[
        "--db=postgres",
        "--db-url=postgres://h/d?application_name=x",
    ])
    .unwrap();
    assert_eq!(
        c.postgres_url().as_deref(),
        Some("postgres://h/d?application_name=x")
    );

    assert_eq!(
        cli_err(&["--db-url=jdbc:mysql://h/d"]),
        "Invalid value for option '--db-url': 'jdbc:mysql://h/d'. Expected 'jdbc:postgresql://host[:port]/database[?properties]' or a 'postgres://' URL."
    );
}

#[test]
fn postgres_url_from_parts() {
    let c = cli(&["--db=postgres"]).unwrap();
    assert_eq!(
        c.postgres_url().as_deref(),
        Some("postgres://localhost:5432/keycloak")
    );
    let c = cli(&[
        "--db=postgres",
        "--db-url-host=::1",
        "--db-url-port=6543",
        "--db-url-database=iam",
        "--db-url-properties=?sslmode=disable",
        "--db-username=kc",
        "--db-password=pw",
    ])
    .unwrap();
    assert_eq!(
        c.postgres_url().as_deref(),
        Some("postgres://[::1]:6543/iam?sslmode=disable")
    );
    assert_eq!(c.db_username.as_deref(), Some("kc"));
    assert_eq!(c.db_password.as_ref().map(Secret::expose), Some("pw"));
}

#[test]
fn log_level_parsing_and_directives() {
    let l = LogLevel::parse("info,gatehouse::cluster:debug").unwrap();
    assert_eq!(l.root, Level::Info);
    assert_eq!(
        l.categories,
        vec![("gatehouse::cluster".to_owned(), Level::Debug)]
    );
    assert_eq!(l.to_env_filter_directives(), "info,gatehouse_cluster=debug");

    let l = LogLevel::parse("WARN, gatehouse::store::pg:TRACE ,org.keycloak.events:all,sqlx:fatal")
        .unwrap();
    assert_eq!(
        l.to_env_filter_directives(),
        "warn,gatehouse_store::pg=trace,org.keycloak.events=trace,sqlx=error"
    );
    assert_eq!(
        LogLevel::parse("off").unwrap().to_env_filter_directives(),
        "off"
    );
    // Root level may come anywhere, and defaults to info.
    assert_eq!(
        LogLevel::parse("gatehouse:debug,error")
            .unwrap()
            .to_env_filter_directives(),
        "error,gatehouse=debug"
    );
    assert_eq!(
        LogLevel::parse("gatehouse::x:debug").unwrap().root,
        Level::Info
    );
    assert_eq!(LogLevel::parse("verbose"), Err("verbose".to_owned()));
    assert_eq!(LogLevel::parse("info,a::b"), Err("a::b".to_owned()));
    assert_eq!(LogLevel::parse("info,debug"), Err("debug".to_owned()));

    let c = cli(&["--log-level=debug,gatehouse::cluster:trace"]).unwrap();
    assert_eq!(c.log_level.root, Level::Debug);
    assert_eq!(
        cli_err(&["--log-level=info,x:loud"]),
        format!(
            "Invalid value for option '--log-level': 'x:loud'. {}",
            LogLevel::EXPECTED
        )
    );
}

#[test]
fn proxy_trusted_addresses() {
    let c = cli(&[
        "--proxy-headers=forwarded",
        "--proxy-trusted-addresses=10.0.0.0/8, 192.168.1.7,::1,fd00::/8",
    ])
    .unwrap();
    let got: Vec<String> = c
        .proxy_trusted_addresses
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(got, ["10.0.0.0/8", "192.168.1.7/32", "::1/128", "fd00::/8"]);
    assert_eq!(
        cli_err(&["--proxy-trusted-addresses=10.0.0.0/8,10.0.0.300"]),
        "Invalid value for option '--proxy-trusted-addresses': '10.0.0.300'. Expected a comma-separated list of IP addresses or CIDR ranges."
    );
    assert!(cli(&["--proxy-trusted-addresses=10.0.0.0/33"]).is_err());
}

#[test]
fn relative_path_is_normalized() {
    assert_eq!(
        cli(&["--http-relative-path=/auth/"])
            .unwrap()
            .http_relative_path
            .as_str(),
        "/auth"
    );
    assert_eq!(
        cli(&["--http-relative-path=auth"])
            .unwrap()
            .http_relative_path
            .as_str(),
        "/auth"
    );
    assert!(
        cli(&["--http-relative-path=/"])
            .unwrap()
            .http_relative_path
            .is_root()
    );
    assert!(cli(&["--http-relative-path=/a?b"]).is_err());
}

#[test]
fn hostname_forms() {
    assert_eq!(
        cli(&["--hostname=https://sso.example.com:8443/auth"])
            .unwrap()
            .hostname
            .as_deref(),
        Some("https://sso.example.com:8443/auth")
    );
    assert!(cli(&["--hostname=sso.example.com"]).is_ok());
    assert!(cli(&["--hostname=ftp://x"]).is_err());
    assert!(cli(&["--hostname=a/b"]).is_err());
    assert!(cli(&["--hostname-admin=https://admin.example.com"]).is_ok());
    assert!(cli(&["--hostname-admin=admin.example.com"]).is_err());
}

#[test]
fn features() {
    let c = cli(&[
        "--features=token-exchange:v1,docker",
        "--features-disabled=impersonation",
    ])
    .unwrap();
    assert!(c.feature_enabled("token-exchange"));
    assert!(c.feature_enabled("docker"));
    assert!(!c.feature_enabled("impersonation"));
    assert!(c.feature_enabled("organization"));
    assert!(!c.feature_enabled("scripts"));

    let c = cli(&["--features=preview"]).unwrap();
    assert!(c.feature_enabled("scripts") && c.feature_enabled("recovery-codes"));
    assert!(!c.feature_enabled("declarative-ui"));

    assert_eq!(
        cli_err(&[
            "--features=token-exchange",
            "--features-disabled=token-exchange:v1"
        ]),
        "Feature 'token-exchange' is listed in both features and features-disabled."
    );
    assert!(cli_err(&["--features=teleport"]).starts_with(
        "Invalid value for option '--features': 'teleport'. Expected a comma-separated list"
    ));
    assert!(cli(&["--features=dpop:x1"]).is_err());
}

#[test]
fn node_name() {
    let c = cli(&[]).unwrap();
    assert!(
        (6..=64).contains(&c.node_name.len())
            && c.node_name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "{}",
        c.node_name
    );
    assert_eq!(
        cli(&["--node-name=node-1.a_b"]).unwrap().node_name,
        "node-1.a_b"
    );
    assert!(cli(&["--node-name=bad name"]).is_err());
    assert!(cli(&[&format!("--node-name={}", "a".repeat(65))]).is_err());
}

#[test]
fn spi_options_are_kept() {
    let d = Dir::with_conf("spi-theme-cache-themes=false\n");
    let r = run(
        Mode::Prod,
        &["--spi-events-listener-jboss-logging-success-level=info"],
        &[
            ("KC_SPI_HOSTNAME_V2_FOO", "bar"),
            ("KC_SPI_DBLOCK_JPA_LOCK_WAIT_TIMEOUT", "11"),
        ],
        &d.0,
    )
    .unwrap();
    let spi = &r.config.spi;
    assert_eq!(
        spi.get("spi-theme-cache-themes").map(String::as_str),
        Some("false")
    );
    assert_eq!(
        spi.get("spi-hostname-v2-foo").map(String::as_str),
        Some("bar")
    );
    assert!(spi.contains_key("spi-events-listener-jboss-logging-success-level"));
    assert!(!spi.contains_key("spi-dblock-jpa-lock-wait-timeout"));
    assert_eq!(r.config.dblock_lock_wait_timeout, Duration::from_secs(11));

    // Keycloak 26.2's `--` separators reach the typed option too.
    let c = cli(&["--spi-dblock--jpa--lock-wait-timeout=3"]).unwrap();
    assert_eq!(c.dblock_lock_wait_timeout, Duration::from_secs(3));
}

#[test]
fn legacy_admin_env_is_lower_priority() {
    let d = Dir::new();
    let r = run(
        Mode::Prod,
        &[],
        &[
            ("KEYCLOAK_ADMIN", "old"),
            ("KEYCLOAK_ADMIN_PASSWORD", "oldpw"),
        ],
        &d.0,
    )
    .unwrap();
    assert_eq!(r.config.bootstrap_admin_username.as_deref(), Some("old"));
    assert_eq!(
        r.config
            .bootstrap_admin_password
            .as_ref()
            .map(Secret::expose),
        Some("oldpw")
    );
    let r = run(
        Mode::Prod,
        &[],
        &[
            ("KEYCLOAK_ADMIN", "old"),
            ("KC_BOOTSTRAP_ADMIN_USERNAME", "new"),
        ],
        &d.0,
    )
    .unwrap();
    assert_eq!(r.config.bootstrap_admin_username.as_deref(), Some("new"));
}

#[test]
fn check_start_rules() {
    let prod = |a: &[&str]| cli(a).unwrap().check_start().map_err(|e| e.to_string());
    assert_eq!(
        prod(&["--http-enabled=true"]),
        Err("hostname is not configured; either configure hostname, or set hostname-strict to false".to_owned())
    );
    assert_eq!(
        prod(&["--hostname=sso.example.com"]),
        Err("Key material not provided to setup HTTPS. Please configure your keys/certificates or set http-enabled to true.".to_owned())
    );
    assert_eq!(
        prod(&["--hostname-strict=false", "--https-certificate-file=c.pem"]),
        Err(
            "Option 'https-certificate-key-file' is required when 'https-certificate-file' is set."
                .to_owned()
        )
    );
    assert_eq!(
        prod(&[
            "--hostname-strict=false",
            "--https-certificate-key-file=k.pem"
        ]),
        Err(
            "Option 'https-certificate-file' is required when 'https-certificate-key-file' is set."
                .to_owned()
        )
    );
    assert_eq!(
        prod(&["--hostname-strict=false", "--http-enabled=true"]),
        Ok(())
    );
    let tls = cli(&[
        "--hostname=sso.example.com",
        "--https-certificate-file=c.pem",
        "--https-certificate-key-file=k.pem",
    ])
    .unwrap();
    assert!(tls.https_enabled());
    assert!(tls.https_certificate_file.as_ref().unwrap().is_absolute());
    assert_eq!(tls.check_start(), Ok(()));

    let d = Dir::new();
    let dev = run(
        Mode::Dev,
        &["--hostname-strict=true", "--http-enabled=false"],
        &[],
        &d.0,
    )
    .unwrap();
    assert_eq!(dev.config.check_start(), Ok(()));
}

#[test]
fn secrets_never_print() {
    let s = Secret::new("hunter2");
    assert_eq!(format!("{s} {s:?}"), "******* *******");
    let c = cli(&[
        "--db-password=hunter2",
        "--bootstrap-admin-password=hunter3",
    ])
    .unwrap();
    let debug = format!("{c:?}");
    assert!(!debug.contains("hunter2") && !debug.contains("hunter3"));
}

#[test]
fn show_config_masks_secrets_and_names_sources() {
    let d = Dir::with_conf("log-level=info,gatehouse::cluster:debug\n");
    let r = run(
        Mode::Prod,
        &["--db-password", "hunter2", "--spi-x-y-password=hunter4"],
        &[
            ("KC_DB", "postgres"),
            ("KEYCLOAK_ADMIN_PASSWORD", "hunter3"),
        ],
        &d.0,
    )
    .unwrap();
    let text = r.show();
    assert!(!text.contains("hunter"), "{text}");
    assert!(!format!("{r:?}").contains("hunter"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Current Mode: production");
    assert_eq!(lines[1], "Current Configuration:");
    for expected in [
        "\tkc.db =  postgres (ENV: KC_DB)",
        "\tkc.db-password =  ******* (CLI)",
        "\tkc.bootstrap-admin-password =  ******* (ENV: KEYCLOAK_ADMIN_PASSWORD)",
        "\tkc.spi-x-y-password =  ******* (CLI)",
        "\tkc.http-port =  8080 (default)",
        "\tkc.log-level =  info,gatehouse::cluster:debug (conf/gatehouse.conf)",
        "\tkc.config-file =  conf/gatehouse.conf (default)",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "{expected:?} in\n{text}"
        );
    }
    // Sorted by option name; options without value are absent.
    let names: Vec<&str> = lines[2..]
        .iter()
        .map(|l| l.trim_start().split(' ').next().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(!text.contains("kc.db-url ="));

    let dev = run(Mode::Dev, &[], &[], &d.0).unwrap();
    assert!(dev.show().starts_with("Current Mode: development\n"));
}

#[test]
fn env_names() {
    assert_eq!(env_name("db-url-host"), "KC_DB_URL_HOST");
    assert_eq!(
        env_name("spi-dblock-jpa-lock-wait-timeout"),
        "KC_SPI_DBLOCK_JPA_LOCK_WAIT_TIMEOUT"
    );
}

#[test]
fn every_option_resolves_from_env() {
    // Each table entry must be reachable through its KC_ name.
    for spec in options::OPTIONS {
        assert_eq!(
            options::option_for_env(&env_name(spec.name)).as_deref(),
            Some(spec.name)
        );
    }
}

#[test]
fn cluster_options() {
    let c = cli(&[]).unwrap().cluster;
    assert_eq!(c.stack, CacheStack::JdbcPing);
    assert_eq!(c.name, "ISPN");
    assert_eq!((c.bind_address.as_str(), c.bind_port), ("0.0.0.0", 7800));
    assert!(c.mtls);
    assert_eq!(c.failure_timeout, Duration::from_secs(5));
    let c = cli(&[
        "--cache-cluster-name=blue",
        "--site=dc1",
        "--cache-embedded-network-bind-address=10.0.0.5",
        "--cache-embedded-network-bind-port=7900",
        "--cache-embedded-network-external-address=node1.internal",
        "--cache-embedded-network-external-port=17900",
        "--cache-embedded-failure-timeout=1500",
        "--cache-embedded-mtls-enabled=false",
    ])
    .unwrap()
    .cluster;
    assert_eq!(c.name, "blue");
    assert_eq!(c.site.as_deref(), Some("dc1"));
    assert_eq!(c.external_address.as_deref(), Some("node1.internal"));
    assert_eq!(c.external_port, Some(17900));
    assert_eq!(c.failure_timeout, Duration::from_millis(1500));
    assert!(!c.mtls);
    assert_eq!(
        cli_err(&["--cache-stack=udp"]),
        "Invalid value for option '--cache-stack': 'udp'. Expected values are: jdbc-ping, kubernetes, static"
    );
    let c = cli(&[
        "--cache-stack=static",
        "--cache-stack-static-members=a:7800, [::1]:7801",
    ])
    .unwrap()
    .cluster;
    assert_eq!(c.stack, CacheStack::Static);
    assert_eq!(c.static_members, ["a:7800", "[::1]:7801"]);
    assert!(cli_err(&["--cache-stack=static"]).contains("'cache-stack-static-members'"));
    assert!(
        cli_err(&["--cache-stack=static", "--cache-stack-static-members=a"])
            .contains("Expected a comma-separated list of host:port.")
    );
    assert!(cli_err(&["--cache-stack=kubernetes"]).contains("'cache-stack-dns-query'"));
    let c = cli(&[
        "--cache-stack=kubernetes",
        "--cache-stack-dns-query=gh.ns.svc",
    ])
    .unwrap()
    .cluster;
    assert_eq!(c.dns_query.as_deref(), Some("gh.ns.svc"));
    assert!(cli_err(&["--cache-cluster-name=a b"]).contains("'--cache-cluster-name'"));
    assert!(cli_err(&["--cache-embedded-failure-timeout=100"]).contains("at least 500"));
    assert_eq!(
        cli_err(&["--cache-embedded-mtls-key-store-file=node.pem"]),
        "'cache-embedded-mtls-key-store-file' needs 'cache-embedded-mtls-trust-store-file' too: \
         a node's own certificate and the CA it trusts come together."
    );
}

#[test]
fn distributed_cache_owners_and_the_tab_limit() {
    let c = cli(&[]).unwrap();
    assert_eq!(c.cluster.authentication_sessions_owners, 2);
    assert_eq!(c.auth_sessions_limit, 300);
    // Either of Keycloak's spellings.
    for spelling in [
        "--spi-cache-embedded--default--authentication-sessions-owners=1",
        "--spi-cache-embedded-default-authentication-sessions-owners=1",
    ] {
        assert_eq!(
            cli(&[spelling])
                .unwrap()
                .cluster
                .authentication_sessions_owners,
            1,
            "{spelling}"
        );
    }
    let c = cli(&["--spi-authentication-sessions--infinispan--auth-sessions-limit=5"]).unwrap();
    assert_eq!(c.auth_sessions_limit, 5);
    let err = cli_err(&["--spi-cache-embedded--default--authentication-sessions-owners=0"]);
    assert!(
        err.contains("--spi-cache-embedded--default--authentication-sessions-owners")
            && err.contains("Expected a number of copies from 1 to 16.")
            && !err.contains('\n'),
        "{err}"
    );
    let err = cli_err(&["--spi-authentication-sessions-infinispan-auth-sessions-limit=many"]);
    assert!(err.contains("Expected a number of browser tabs"), "{err}");
}
