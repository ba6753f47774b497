//! Bad options and production-mode refusals: one clear line on stderr, exit code 2, nothing
//! started and nothing written.

use crate::harness::{free_port, run};

fn assert_refused(args: &[&str], env: &[(&str, &str)], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (status, stdout, stderr) = run(dir.path(), args, env);
    assert_eq!(
        status.code(),
        Some(2),
        "args {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains(expected),
        "args {args:?}: expected {expected:?} in stderr:\n{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line, got:\n{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "a refused start must not create the data folder"
    );
}

#[test]
fn unknown_option_suggests_the_near_miss() {
    assert_refused(
        &["start-dev", "--htp-port", "8080"],
        &[],
        "Did you mean '--http-port'?",
    );
}

#[test]
fn bad_values_name_the_option_and_what_is_accepted() {
    assert_refused(&["start-dev", "--http-port", "abc"], &[], "'--http-port'");
    assert_refused(&["start-dev", "--db=mysql"], &[], "dev-file, postgres");
    assert_refused(
        &["start-dev"],
        &[("KC_HTTP_ENABLED", "yes")],
        "KC_HTTP_ENABLED",
    );
    assert_refused(&["start-dev", "--log-level", "loud"], &[], "'--log-level'");
}

#[test]
fn unknown_command_is_refused() {
    assert_refused(&["begin"], &[], "Unknown command: 'begin'");
}

#[test]
fn production_needs_a_hostname_decision() {
    assert_refused(
        &["start", "--http-enabled", "true"],
        &[],
        "hostname is not configured",
    );
}

#[test]
fn production_needs_https_or_explicit_http() {
    assert_refused(
        &["start", "--hostname", "sso.example.com"],
        &[],
        "Key material not provided to setup HTTPS",
    );
}

#[test]
fn show_config_names_sources_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(
        dir.path().join("conf/gatehouse.conf"),
        "# comment\nhttp-port=${GH_TEST_PORT:8181}\nlog-level=info,gatehouse::store:debug\n",
    )
    .unwrap();
    let (status, stdout, stderr) = run(
        dir.path(),
        &["show-config", "--db-password", "s3cr3t-value"],
        &[("KC_DB", "postgres")],
    );
    assert!(status.success(), "{stderr}");
    assert!(!stdout.contains("s3cr3t-value"), "secret leaked:\n{stdout}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("kc.{name} ")))
            .unwrap_or_else(|| panic!("no kc.{name} in:\n{stdout}"))
            .to_owned()
    };
    assert!(line("db-password").contains("*******"));
    assert!(line("db-password").contains("CLI"));
    assert!(line("db").contains("postgres") && line("db").contains("KC_DB"));
    assert!(line("http-port").contains("8181") && line("http-port").contains("gatehouse.conf"));
    assert!(line("https-port").contains("8443") && line("https-port").contains("default"));
}

#[test]
fn unreachable_database_fails_with_host_and_port() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let (status, stdout, stderr) = run(
        dir.path(),
        &[
            "start",
            "--db",
            "postgres",
            "--db-url-host",
            "127.0.0.1",
            "--db-url-port",
            &port,
            "--db-connect-timeout",
            "2",
            "--hostname-strict",
            "false",
            "--http-enabled",
            "true",
            "--http-port",
            "0",
        ],
        &[],
    );
    let all = format!("{stdout}{stderr}");
    assert_eq!(status.code(), Some(1), "{all}");
    let target = format!("127.0.0.1:{port}");
    assert!(all.contains(&target), "log names {target}:\n{all}");
    let last = all.lines().last().unwrap_or_default();
    assert!(
        last.contains("ERROR") && last.contains(&target),
        "last line: {last}"
    );
}
