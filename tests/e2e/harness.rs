//! Drives the real `gatehouse` binary: start it with options, wait for it to listen, read its
//! log, stop it with a signal. Ports are 0 so tests never collide; the addresses are read back
//! from the log lines every start prints.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a node may take to start before the test gives up. Generous: CI machines are slow
/// and PostgreSQL databases are created per test; no test asserts on start-up time.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running (or finished) gatehouse process.
pub struct Node {
    child: Child,
    log: Arc<Mutex<String>>,
    /// The public HTTP address, once started.
    pub http: Option<SocketAddr>,
    /// The HTTPS address, once started.
    pub https: Option<SocketAddr>,
    /// The management address, once started.
    pub management: Option<SocketAddr>,
}

/// Where the binary under test is: the one cargo built for this test run.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gatehouse"))
}

/// A command for the binary with a clean environment: no `KC_*` from the developer's shell.
pub fn command(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.current_dir(cwd).args(args).env_clear();
    for key in ["PATH", "HOME", "HOSTNAME", "LANG"] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    // Nodes of a test talk to each other on loopback, on ports the kernel picks, so tests
    // running side by side never meet on Keycloak's default port 7800.
    cmd.env("KC_CACHE_EMBEDDED_NETWORK_BIND_ADDRESS", "127.0.0.1");
    cmd.env("KC_CACHE_EMBEDDED_NETWORK_BIND_PORT", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs the binary to completion; returns its exit status, stdout and stderr.
pub fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let out = command(cwd, args, env)
        .stdin(Stdio::null())
        .output()
        .expect("run gatehouse");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Node {
    /// Starts the binary and returns at once; call [`Node::wait_started`] next.
    pub fn spawn(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Node {
        let mut child = command(cwd, args, env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gatehouse");
        let log = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut log = log.lock().expect("log lock");
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        Node {
            child,
            log,
            http: None,
            https: None,
            management: None,
        }
    }

    /// Starts the binary and waits until it says it started; panics with its log otherwise.
    pub fn start(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Node {
        let mut node = Node::spawn(cwd, args, env);
        node.wait_started();
        node
    }

    /// Waits for the start-up line and reads the listening addresses from the log.
    pub fn wait_started(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.log().contains(" started in ") {
                break;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the reader threads a moment to drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "gatehouse exited with {status} before starting:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "gatehouse did not start in {START_TIMEOUT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = self.log();
        self.http = address_after(&log, "Listening on: http://");
        self.https = address_after(&log, "Listening on: https://");
        self.management = address_after(&log, "Management interface listening on http://")
            .or_else(|| address_after(&log, "Management interface listening on https://"));
    }

    /// Everything the process printed so far (stdout and stderr).
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Waits until the log has a line matching `found` (the log is read from the process's pipes
    /// by other threads, so a line written just before a response may not be here yet); returns
    /// the log either way, for the caller's assertion to show.
    pub fn await_log(&self, found: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if found(&log) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://addr` of the public listener.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http.expect("http listener"))
    }

    /// `http://addr` of the management listener.
    pub fn management_url(&self, path: &str) -> String {
        format!(
            "http://{}{path}",
            self.management.expect("management listener")
        )
    }

    /// The process id, for signals that do not end it (SIGSTOP, SIGCONT).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends `signal` and waits for the process to exit.
    pub fn stop_with(mut self, signal: i32) -> (ExitStatus, String) {
        let pid = self.child.id() as i32;
        // SAFETY-free: libc::kill is a plain syscall wrapper; the pid is our own child's.
        unsafe_kill(pid, signal);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "gatehouse did not stop:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops with SIGTERM and asserts a clean exit.
    pub fn stop(self) -> String {
        let (status, log) = self.stop_with(libc::SIGTERM);
        assert!(
            status.success(),
            "exit status {status} after SIGTERM:\n{log}"
        );
        log
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(mut self, timeout: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "gatehouse did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `signal` to the process `pid` (one of ours).
pub fn signal(pid: i32, signal: i32) {
    unsafe_kill(pid, signal);
}

#[allow(unsafe_code)]
fn unsafe_kill(pid: i32, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, signal);
    }
}

fn address_after(log: &str, marker: &str) -> Option<SocketAddr> {
    let start = log.find(marker)? + marker.len();
    let rest = &log[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '\\')
        .unwrap_or(rest.len());
    rest[..end].trim_end_matches('.').parse().ok()
}

/// An HTTP client that keeps cookies and does not follow redirects, so tests see each response.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .build()
        .expect("http client")
}

/// A port nothing listens on (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A database a start-up test runs against.
pub struct Db {
    /// `sqlite` or `postgres`, for messages.
    pub name: &'static str,
    /// The options that point the server at it (none for the default SQLite file).
    pub args: Vec<String>,
    /// How the test itself opens it; `None` means the SQLite file under the node's `data/`.
    pub settings: Option<gatehouse_store::DbSettings>,
    _keep: Option<gatehouse_store::testing::TestDb>,
}

impl Db {
    /// The default: the SQLite file under the node's `data/`.
    pub fn sqlite() -> Db {
        Db {
            name: "sqlite",
            args: Vec::new(),
            settings: None,
            _keep: None,
        }
    }
}

/// The databases every start-up test runs against: SQLite always, and a fresh PostgreSQL
/// database when the test script started a server (which CI requires).
pub async fn databases() -> Vec<Db> {
    let mut out = vec![Db::sqlite()];
    for db in gatehouse_store::testing::backends().await {
        if let gatehouse_store::DbSettings::Postgres { url, .. } = &db.settings {
            out.push(Db {
                name: "postgres",
                args: postgres_options(url),
                settings: Some(db.settings.clone()),
                _keep: Some(db),
            });
        }
    }
    out
}

/// Opens the database a node in `cwd` used, as the test's own window into what was stored.
pub async fn open_store(db: &Db, cwd: &Path) -> gatehouse_store::Store {
    let settings = db
        .settings
        .clone()
        .unwrap_or(gatehouse_store::DbSettings::Sqlite {
            path: cwd.join("data").join("gatehouse.db"),
        });
    gatehouse_store::Store::connect(&gatehouse_store::ConnectOptions {
        db: settings,
        pool_min: 0,
        pool_max: 2,
        application_name: "e2e-test".into(),
        connect_timeout: Duration::from_secs(5),
    })
    .await
    .expect("open the node's database")
}

/// Command-line options that point the server at a `postgres://postgres@host:port/db` URL,
/// in the JDBC form Keycloak users write.
pub fn postgres_options(url: &str) -> Vec<String> {
    let rest = url.strip_prefix("postgres://").expect("postgres:// url");
    let (user, hostpath) = rest.split_once('@').unwrap_or(("postgres", rest));
    vec![
        "--db".into(),
        "postgres".into(),
        "--db-url".into(),
        format!("jdbc:postgresql://{hostpath}"),
        "--db-username".into(),
        user.into(),
    ]
}

/// Creates a client in the master realm of the node's database through the services layer (the
/// admin API that would create it is another issue), after `configure` has set it up.
pub async fn register_client(
    db: &Db,
    cwd: &Path,
    client_id: &str,
    configure: impl FnOnce(&mut gatehouse_model::Client),
) {
    let store = open_store(db, cwd).await;
    let services = gatehouse_services::Services::new(store.clone());
    let master = services.realm("master").await.expect("master realm");
    let mut client = gatehouse_model::Client::new(
        gatehouse_model::ClientUuid::new_random(),
        master.id,
        gatehouse_model::ClientId::new(client_id),
    );
    configure(&mut client);
    services.create_client(client).await.expect("create client");
    store.close().await;
}

/// Changes the master realm's settings in the node's database, as an admin would.
pub async fn update_master_realm(
    db: &Db,
    cwd: &Path,
    change: impl FnOnce(&mut gatehouse_model::Realm),
) {
    let store = open_store(db, cwd).await;
    let mut tx = store.begin().await.expect("transaction");
    let mut realm = tx
        .realm_by_name(&gatehouse_model::RealmName::new("master").expect("name"))
        .await
        .expect("read realm")
        .expect("master realm");
    change(&mut realm);
    tx.update_realm(&realm).await.expect("update realm");
    tx.commit().await.expect("commit");
    store.close().await;
}

/// `--cache-embedded-failure-timeout` of clustered nodes in tests: short, so that the survivors
/// of a kill -9 or a pause stop waiting for it soon; the default is 5 s.
pub const FAILURE_TIMEOUT_MS: &str = "2000";

/// The options of a clustered node named `name` on `db`, its HTTP listener on `http_port` (0:
/// the kernel picks), followed by `extra`.
pub fn cluster_node_args(db: &Db, name: &str, http_port: u16, extra: &[&str]) -> Vec<String> {
    let port = http_port.to_string();
    let mut args: Vec<String> = [
        "start",
        "--http-enabled",
        "true",
        "--http-port",
        port.as_str(),
        "--cache-embedded-failure-timeout",
        FAILURE_TIMEOUT_MS,
        "--node-name",
        name,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(db.args.iter().cloned());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The last cluster view a node logged, e.g. `[node1|3] (3) [node1, node2, node3]`.
pub fn last_view(node: &Node) -> Option<String> {
    node.log()
        .lines()
        .filter_map(|l| l.split("Received new cluster view: ").nth(1))
        .next_back()
        .map(|v| v.trim().to_owned())
}

/// The member names of a view, oldest first.
pub fn members_of(view: &str) -> Vec<String> {
    view.rsplit_once('[')
        .map(|(_, m)| {
            m.trim_end_matches(']')
                .split(", ")
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `v`, sorted.
pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Waits until every node's last view has exactly `members` (in any order: the oldest node
/// comes first, and which one is oldest depends on who started first) and they all agree.
pub fn await_view(nodes: &[&Node], members: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let views: Vec<Option<String>> = nodes.iter().map(|n| last_view(n)).collect();
        let agreed = views.iter().all(|v| v == &views[0]);
        if agreed
            && let Some(Some(v)) = views.first()
            && sorted(members_of(v)) == members
        {
            return v.clone();
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = nodes.iter().map(|n| n.log()).collect();
            panic!(
                "no common view of {members:?}; last views {views:?}\n{}",
                logs.join("\n=====\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
