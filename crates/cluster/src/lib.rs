//! Gatehouse's cluster: nodes sharing one database find each other through a table in it
//! (`jdbc-ping`), talk over a private mutual-TLS transport, agree on membership views, push
//! cache invalidations to each other, and hold the distributed caches ([`Caches`]: entries on
//! `owners` nodes, see `dist.rs`).
//!
//! Invariants:
//! - This is the only crate that speaks to other nodes. It knows nothing of realms or users:
//!   it moves [`Event`]s (cache revisions and cache clears), views, and distributed-cache
//!   entries as opaque bytes.
//! - A distributed-cache write is answered only after every live owner of its key holds it.
//! - A write is announced before its caller answers: [`Cluster`] is the store's commit hook, and
//!   `committed` returns once every member of the view acknowledged the new revision or the
//!   failure timeout passed.
//! - A node trusts pushed revisions ([`Cluster::revision`]) only while it holds a lease: it has
//!   heard from every member of its view within the failure timeout, it has read the database's
//!   revision since its last tick, and every node that announced itself in the database is
//!   reachable. Otherwise callers read the revision from the database, so a node cut off from
//!   the others serves correct data, only slower. A member that missed an invalidation has
//!   either lost its lease by the time the writer gives up waiting, or catches up at its next
//!   tick (one fifth of the failure timeout).

mod dist;
mod membership;
mod tls;
mod wire;

pub use dist::{CacheName, Caches, Conflict, Entry, Expect, Owners, Unavailable};
pub use wire::{Event, Member, View};

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gatehouse_config::{CacheStack, ClusterConfig};
use gatehouse_store::{PingRow, Store};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};

use membership::Membership;
use tls::Tls;
use wire::Message;

/// Why the cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Certificates or keys for the transport's TLS.
    #[error("cluster transport TLS: {0}")]
    Tls(String),
    /// The private transport's address cannot be listened on.
    #[error("cannot listen for cluster peers on {address}: {source}")]
    Bind {
        /// `host:port` as configured.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database (discovery, CA) failed.
    #[error(transparent)]
    Store(#[from] gatehouse_store::StoreError),
}

/// Frames waiting for one peer beyond this are dropped: a peer that does not read is either
/// paused or gone, and the membership and lease rules take care of what it misses.
const QUEUE: usize = 256;

pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// What `/metrics` and the management view show.
#[derive(Debug, Clone)]
pub struct Status {
    /// The cluster's name.
    pub cluster: String,
    /// This node.
    pub me: Member,
    /// The installed view, if any yet.
    pub view: Option<View>,
    /// Whether this node trusts pushed revisions now (see the crate docs).
    pub caches_trusted: bool,
    /// Nodes that announced themselves in the database but are not heard from.
    pub unreachable: Vec<String>,
    /// Events this node sent to others.
    pub events_sent: u64,
    /// Events this node received from others.
    pub events_received: u64,
    /// Acknowledgements that did not come within the failure timeout.
    pub acks_missed: u64,
    /// Events whose every acknowledgement came.
    pub acks_complete: u64,
    /// Upper bound of the 99th percentile of the time from sending an event to its last
    /// acknowledgement (a commit to every node's invalidation), in microseconds.
    pub ack_p99_micros: u64,
    /// The longest such time, in microseconds.
    pub ack_max_micros: u64,
    /// The distributed caches: copies kept and entries this node holds.
    pub distributed: Vec<DistributedCache>,
}

/// One distributed cache as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributedCache {
    /// Keycloak's name (`authenticationSessions`).
    pub name: &'static str,
    /// Copies of each entry (`owners`).
    pub owners: usize,
    /// Entries this node holds, as primary or backup.
    pub entries: usize,
}

/// Bucket bounds of the acknowledgement-time histogram, in microseconds.
const ACK_BUCKETS: [u64; 14] = [
    100,
    250,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    u64::MAX,
];

/// Times from an event's sending to its last acknowledgement.
#[derive(Default)]
struct AckTimes {
    buckets: [AtomicU64; ACK_BUCKETS.len()],
    count: AtomicU64,
    max: AtomicU64,
}

impl AckTimes {
    fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = ACK_BUCKETS.iter().position(|b| us <= *b).unwrap_or(0);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(us, Ordering::Relaxed);
    }

    fn p99(&self) -> u64 {
        let count = self.count.load(Ordering::Relaxed);
        let target = count - count / 100;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if count > 0 && seen >= target {
                return ACK_BUCKETS[i].min(self.max.load(Ordering::Relaxed));
            }
        }
        0
    }
}

/// A running cluster member; cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    shared: Arc<Shared>,
}

struct Pending {
    waiting: HashSet<String>,
    done: Arc<Notify>,
}

/// How peers are found.
enum Stack {
    /// Rows of the `cluster_ping` table.
    JdbcPing,
    /// The addresses a DNS name resolves to (a Kubernetes headless service), all on `port`.
    Dns { query: String, port: u16 },
    /// A fixed list of `host:port`.
    Static(Vec<String>),
}

struct Shared {
    cluster: String,
    stack: Stack,
    me: Member,
    timeout: Duration,
    interval: Duration,
    store: Store,
    tls: Option<Tls>,
    state: Mutex<Membership>,
    outbound: Mutex<HashMap<String, mpsc::Sender<Arc<Vec<u8>>>>>,
    pending: Mutex<HashMap<u64, Pending>>,
    seq: AtomicU64,
    known: AtomicI64,
    base: Instant,
    lease_ms: AtomicU64,
    unreachable: Mutex<Vec<String>>,
    discovered: Mutex<Vec<String>>,
    events: broadcast::Sender<Event>,
    view: watch::Sender<Option<View>>,
    sent: AtomicU64,
    received: AtomicU64,
    missed: AtomicU64,
    ack_times: AckTimes,
    stopping: AtomicBool,
    /// The distributed caches' entries this node holds.
    dist: Arc<dist::Segments>,
    /// Distributed-cache requests waiting for their answer, by id.
    replies: Mutex<HashMap<u64, oneshot::Sender<dist::Outcome>>>,
    /// Until when (ms since `base`) a state transfer may still be bringing entries here.
    transfer_until_ms: AtomicU64,
    /// Distributed-cache operations other nodes asked for that are running now.
    serving: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind, still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

impl Cluster {
    /// Starts listening on the private address, joins the cluster named in `config` and starts
    /// the background tasks. `node_name` is this node's name (and sticky-session route).
    pub async fn start(
        config: &ClusterConfig,
        node_name: &str,
        store: Store,
    ) -> Result<Cluster, ClusterError> {
        let owners = Owners {
            authentication_sessions: config.authentication_sessions_owners,
        };
        let tls = match (
            &config.key_store_file,
            &config.trust_store_file,
            config.mtls,
        ) {
            (_, _, false) => {
                tracing::warn!(
                    "cluster transport without TLS (cache-embedded-mtls-enabled=false): \
                     anyone who reaches port {} can join",
                    config.bind_port
                );
                None
            }
            (Some(k), Some(t), true) => Some(Tls::from_files(k, t)?),
            _ => Some(Tls::from_database(&store, &config.name, node_name).await?),
        };
        let bind = format!("{}:{}", config.bind_address, config.bind_port);
        let listener = TcpListener::bind(&bind)
            .await
            .map_err(|source| ClusterError::Bind {
                address: bind.clone(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| ClusterError::Bind {
            address: bind.clone(),
            source,
        })?;
        let host = config
            .external_address
            .clone()
            .unwrap_or_else(|| advertised_host(&config.bind_address, local));
        let port = config.external_port.unwrap_or(local.port());
        let me = Member {
            name: node_name.to_owned(),
            address: join_host_port(&host, port),
            site: config.site.clone(),
            started_at: now_millis(),
        };
        let timeout = config.failure_timeout;
        let interval = (timeout / 5).max(Duration::from_millis(100));
        let now = Instant::now();
        let known = store.cache_revision().await?;
        let stack = match config.stack {
            CacheStack::JdbcPing => Stack::JdbcPing,
            CacheStack::Kubernetes => Stack::Dns {
                query: config.dns_query.clone().unwrap_or_default(),
                port,
            },
            CacheStack::Static => Stack::Static(config.static_members.clone()),
        };
        let shared = Arc::new(Shared {
            cluster: config.name.clone(),
            stack,
            me: me.clone(),
            timeout,
            interval,
            store,
            tls,
            state: Mutex::new(Membership::new(me.clone(), timeout, now)),
            outbound: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            seq: AtomicU64::new(1),
            known: AtomicI64::new(known),
            base: now,
            lease_ms: AtomicU64::new(0),
            unreachable: Mutex::new(Vec::new()),
            discovered: Mutex::new(Vec::new()),
            events: broadcast::channel(64).0,
            view: watch::channel(None).0,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            missed: AtomicU64::new(0),
            ack_times: AckTimes::default(),
            stopping: AtomicBool::new(false),
            dist: Arc::new(dist::Segments::new(owners)),
            replies: Mutex::new(HashMap::new()),
            transfer_until_ms: AtomicU64::new(0),
            serving: AtomicUsize::new(0),
        });
        dist::spawn_sweeper(&shared.dist);
        tracing::info!(
            "cluster '{}': node {} listening on {local} (advertised as {}){}",
            shared.cluster,
            me.name,
            me.address,
            if shared.tls.is_some() {
                ", mutual TLS"
            } else {
                ""
            }
        );
        shared.discover().await;
        tokio::spawn(accept_loop(shared.clone(), listener));
        tokio::spawn(tick_loop(shared.clone()));
        tokio::spawn(discovery_loop(shared.clone()));
        Ok(Cluster { shared })
    }

    /// The cache revision to check cached entries against, when this node may trust what it
    /// was told; `None` means: read it from the database.
    pub fn revision(&self) -> Option<i64> {
        let s = &self.shared;
        let now = u64::try_from(s.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        (now < s.lease_ms.load(Ordering::Acquire)).then(|| s.known.load(Ordering::Acquire))
    }

    /// Events other nodes sent (cache clears); revisions are applied by the cluster itself.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// Sends `event` to every other member and waits for their acknowledgements (at most the
    /// failure timeout).
    pub async fn announce(&self, event: Event) {
        self.shared.notify_all(event).await;
    }

    /// The distributed caches, shared with the other members.
    pub fn caches(&self) -> Caches {
        Caches::clustered(self.shared.clone())
    }

    /// Changes of the installed view.
    pub fn views(&self) -> watch::Receiver<Option<View>> {
        self.shared.view.subscribe()
    }

    /// This node's picture of the cluster.
    pub fn status(&self) -> Status {
        let s = &self.shared;
        Status {
            cluster: s.cluster.clone(),
            me: s.me.clone(),
            view: lock(&s.state).view().cloned(),
            caches_trusted: self.revision().is_some(),
            unreachable: lock(&s.unreachable).clone(),
            events_sent: s.sent.load(Ordering::Relaxed),
            events_received: s.received.load(Ordering::Relaxed),
            acks_missed: s.missed.load(Ordering::Relaxed),
            acks_complete: s.ack_times.count.load(Ordering::Relaxed),
            ack_p99_micros: s.ack_times.p99(),
            ack_max_micros: s.ack_times.max.load(Ordering::Relaxed),
            distributed: s.dist.status(),
        }
    }

    /// Leaves the cluster: hands the distributed caches' entries to the owners of the view
    /// without this node, tells the members, so that they install that view at once, and
    /// removes the discovery row.
    pub async fn leave(&self) {
        let s = &self.shared;
        // From here on this node refuses cache requests and routes its own to the next owners;
        // the operations already running finish first, so the hand-over below has them.
        s.stopping.store(true, Ordering::Release);
        let waiting = Instant::now();
        while s.serving.load(Ordering::Acquire) > 0 && waiting.elapsed() < s.timeout {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let others: Vec<Member> = lock(&s.state)
            .view()
            .map(|v| {
                v.members
                    .iter()
                    .filter(|m| m.name != s.me.name)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if !others.is_empty() {
            let members: Vec<&Member> = others.iter().collect();
            let (sent, _) = s.hand_over(&members).await;
            tracing::info!(
                "distributed caches: handed {sent} copies to the remaining members before leaving"
            );
        }
        let frame = wire::encode(&Message::Leave {
            from: s.me.name.clone(),
        });
        if let Ok(frame) = frame {
            let frame = Arc::new(frame);
            let peers = lock(&s.state).addresses();
            for (_, addr) in peers {
                s.send(&addr, frame.clone());
            }
        }
        if let Err(e) = s.store.leave(&s.cluster, &s.me.name).await {
            tracing::warn!("could not remove this node's discovery row: {e}");
        }
        // Give the writers a moment to put the frames on the wire.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl gatehouse_store::CommitHook for Cluster {
    fn committed(
        &self,
        revision: i64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            self.shared.known.fetch_max(revision, Ordering::AcqRel);
            self.shared.notify_all(Event::Revision(revision)).await;
        })
    }
}

fn advertised_host(bind: &str, local: SocketAddr) -> String {
    let unspecified = local.ip().is_unspecified();
    if !unspecified {
        return bind.to_owned();
    }
    // Bound to every interface: peers dial the host name, which resolves on every platform
    // that runs clusters (Kubernetes pods, containers, VMs).
    host_name().unwrap_or_else(|| "127.0.0.1".to_owned())
}

fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
}

fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl Shared {
    fn elapsed_ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_millis()).unwrap_or(u64::MAX)
    }

    /// Queues a frame for the peer at `addr`, starting its writer on first use.
    fn send(self: &Arc<Self>, addr: &str, frame: Arc<Vec<u8>>) {
        let mut out = lock(&self.outbound);
        let tx = out.entry(addr.to_owned()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(writer(self.clone(), addr.to_owned(), rx));
            tx
        });
        if tx.try_send(frame).is_err() {
            tracing::debug!("queue to {addr} is full; dropping a frame");
        }
    }

    fn send_msg(self: &Arc<Self>, addr: &str, msg: &Message) {
        match wire::encode(msg) {
            Ok(frame) => self.send(addr, Arc::new(frame)),
            Err(e) => tracing::error!("cannot encode a cluster message: {e}"),
        }
    }

    async fn notify_all(self: &Arc<Self>, event: Event) {
        // The view's members, and any node heard from that a view does not name yet (one that
        // is joining): it may already trust what it caches.
        let targets: Vec<(String, String)> = {
            let state = lock(&self.state);
            let mut names: Vec<String> = state
                .view()
                .map(|v| v.members.iter().map(|m| m.name.clone()).collect())
                .unwrap_or_default();
            for alive in state.alive_names(Instant::now()) {
                if !names.contains(&alive) {
                    names.push(alive);
                }
            }
            names
                .into_iter()
                .filter(|n| *n != self.me.name)
                .filter_map(|n| state.address_of(&n).map(|a| (n.clone(), a.to_owned())))
                .collect()
        };
        if targets.is_empty() {
            return;
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let done = Arc::new(Notify::new());
        lock(&self.pending).insert(
            seq,
            Pending {
                waiting: targets.iter().map(|(n, _)| n.clone()).collect(),
                done: done.clone(),
            },
        );
        let msg = Message::Notify {
            from: self.me.name.clone(),
            seq,
            event,
        };
        for (_, addr) in &targets {
            self.send_msg(addr, &msg);
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        let sent_at = Instant::now();
        let acked = tokio::time::timeout(self.timeout, done.notified()).await;
        if acked.is_ok() {
            self.ack_times.record(sent_at.elapsed());
        }
        let left = lock(&self.pending).remove(&seq);
        if acked.is_err()
            && let Some(p) = left
            && !p.waiting.is_empty()
        {
            self.missed.fetch_add(1, Ordering::Relaxed);
            let mut names: Vec<String> = p.waiting.into_iter().collect();
            names.sort();
            tracing::warn!(
                "no acknowledgement of {event:?} from [{}] within {:?}; they catch up from the \
                 database within {:?}",
                names.join(", "),
                self.timeout,
                self.interval
            );
        }
    }

    fn install(self: &Arc<Self>, view: &View) {
        tracing::info!("Received new cluster view: {view}");
        self.view.send_replace(Some(view.clone()));
        tokio::spawn(self.clone().rebalance(view.clone()));
    }

    fn dispatch(self: &Arc<Self>, msg: Message) {
        let now = Instant::now();
        match msg {
            Message::Hello { .. } => {}
            Message::Heartbeat { from, view_id } => lock(&self.state).heard(from, view_id, now),
            Message::View { from: _, view } => {
                let installed = lock(&self.state).offer(view.clone(), now);
                if installed {
                    self.install(&view);
                }
            }
            Message::Notify { from, seq, event } => {
                self.received.fetch_add(1, Ordering::Relaxed);
                match event {
                    Event::Revision(r) => {
                        self.known.fetch_max(r, Ordering::AcqRel);
                    }
                    other => {
                        let _ = self.events.send(other);
                    }
                }
                let addr = lock(&self.state).address_of(&from).map(str::to_owned);
                match addr {
                    Some(addr) => self.send_msg(
                        &addr,
                        &Message::Ack {
                            from: self.me.name.clone(),
                            seq,
                        },
                    ),
                    None => tracing::debug!("cannot acknowledge {seq} to unknown node {from}"),
                }
            }
            Message::Ack { from, seq } => {
                let mut pending = lock(&self.pending);
                if let Some(p) = pending.get_mut(&seq) {
                    p.waiting.remove(&from);
                    if p.waiting.is_empty() {
                        p.done.notify_one();
                    }
                }
            }
            Message::Leave { from } => {
                tracing::info!("node {from} is leaving the cluster");
                lock(&self.state).left(&from);
            }
            Message::CacheReply { id, outcome } => self.answered(id, outcome),
            msg @ (Message::CacheRequest { .. }
            | Message::Replicate { .. }
            | Message::Peek { .. }) => {
                tokio::spawn(self.clone().serve_message(msg));
            }
        }
    }

    /// Learns where the other nodes are, as `cache-stack` says.
    async fn discover(self: &Arc<Self>) {
        if self.stopping.load(Ordering::Acquire) {
            return;
        }
        match &self.stack {
            Stack::JdbcPing => self.discover_in_database().await,
            Stack::Dns { query, port } => {
                match tokio::net::lookup_host((query.as_str(), *port)).await {
                    Ok(found) => {
                        let addrs = found.map(|a| a.to_string()).collect();
                        lock(&self.state).seeded(addrs);
                    }
                    Err(e) => tracing::warn!("cluster discovery: DNS query '{query}': {e}"),
                }
            }
            Stack::Static(members) => lock(&self.state).seeded(members.clone()),
        }
    }

    /// Announces this node in the database and learns of the others.
    async fn discover_in_database(self: &Arc<Self>) {
        let now = now_millis();
        let row = PingRow {
            node_name: self.me.name.clone(),
            address: self.me.address.clone(),
            site: self.me.site.clone(),
            started_at: self.me.started_at,
            last_seen: now,
        };
        if let Err(e) = self.store.announce(&self.cluster, &row).await {
            tracing::warn!("cluster discovery: cannot write this node's row: {e}");
            return;
        }
        let fresh_since = now - i64::try_from(self.timeout.as_millis()).unwrap_or(i64::MAX);
        match self.store.discovered(&self.cluster, fresh_since).await {
            Ok(rows) => {
                let mut state = lock(&self.state);
                let mut names = Vec::new();
                for r in rows.iter().filter(|r| r.node_name != self.me.name) {
                    state.discovered(&r.node_name, &r.address, r.started_at);
                    names.push(r.node_name.clone());
                }
                state.forget_older_than(Instant::now() - self.timeout * 10, &names);
                *lock(&self.discovered) = names;
            }
            Err(e) => tracing::warn!("cluster discovery: cannot read the table: {e}"),
        }
    }

    async fn tick(self: &Arc<Self>) {
        // The database's revision first: the lease extended below then covers only what this
        // node has seen, even if an invalidation was lost on the way.
        let db_ok = match self.store.cache_revision().await {
            Ok(r) => {
                self.known.fetch_max(r, Ordering::AcqRel);
                true
            }
            Err(e) => {
                tracing::debug!("cannot read the cache revision: {e}");
                false
            }
        };
        let now = Instant::now();
        let (beats, new_view, lease, alive) = {
            let mut state = lock(&self.state);
            let view_id = state.max_seen().max(state.view().map_or(0, |v| v.id));
            let beat = Message::Heartbeat {
                from: self.me.clone(),
                view_id,
            };
            let new_view = state.tick(now);
            (
                (beat, state.addresses()),
                new_view,
                state.lease_until(now),
                state.alive_names(now),
            )
        };
        if let Ok(frame) = wire::encode(&beats.0) {
            let frame = Arc::new(frame);
            for (_, addr) in &beats.1 {
                self.send(addr, frame.clone());
            }
        }
        if let Some(view) = new_view {
            self.install(&view);
            let msg = Message::View {
                from: self.me.name.clone(),
                view: view.clone(),
            };
            for m in view.members.iter().filter(|m| m.name != self.me.name) {
                self.send_msg(&m.address, &msg);
            }
        }
        let unreachable: Vec<String> = lock(&self.discovered)
            .iter()
            .filter(|n| !alive.contains(n))
            .cloned()
            .collect();
        {
            let mut before = lock(&self.unreachable);
            // A starting node has heard nobody yet: that is not news.
            let settled = self.base.elapsed() > self.timeout;
            if *before != unreachable && settled {
                if unreachable.is_empty() {
                    tracing::info!("every discovered node is reachable again: caches on");
                } else {
                    tracing::warn!(
                        "cannot reach [{}], which announced themselves in the database: \
                         serving from the database with caches bypassed until they are heard \
                         or their rows expire",
                        unreachable.join(", ")
                    );
                }
            }
            if settled {
                *before = unreachable.clone();
            }
        }
        let lease = if db_ok && unreachable.is_empty() {
            self.elapsed_ms(lease)
        } else {
            0
        };
        self.lease_ms.store(lease, Ordering::Release);
    }
}

async fn tick_loop(shared: Arc<Shared>) {
    let mut every = tokio::time::interval(shared.interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        shared.tick().await;
    }
}

async fn discovery_loop(shared: Arc<Shared>) {
    let mut every = tokio::time::interval(shared.interval * 2);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rounds: u64 = 0;
    loop {
        every.tick().await;
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        shared.discover().await;
        rounds += 1;
        if rounds.is_multiple_of(50) {
            let before =
                now_millis() - i64::try_from((shared.timeout * 20).as_millis()).unwrap_or(0);
            if let Err(e) = shared.store.forget_stale(&shared.cluster, before).await {
                tracing::debug!("cluster discovery: cannot remove stale rows: {e}");
            }
        }
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("cluster transport: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(serve_peer(shared.clone(), tcp, peer));
    }
}

async fn serve_peer(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    let mut stream: Box<dyn Stream> = match &shared.tls {
        None => Box::new(tcp),
        Some(tls) => match tokio::time::timeout(shared.timeout, tls.acceptor.accept(tcp)).await {
            Ok(Ok(s)) => Box::new(s),
            Ok(Err(e)) => {
                tracing::warn!("refused a cluster peer from {peer}: {e}");
                return;
            }
            Err(_) => {
                tracing::warn!("refused a cluster peer from {peer}: TLS handshake timed out");
                return;
            }
        },
    };
    match wire::read(&mut stream).await {
        Ok(Some(Message::Hello { cluster, from })) if cluster == shared.cluster => {
            tracing::debug!("connection from {} ({peer})", from.name);
        }
        Ok(Some(Message::Hello { cluster, from })) => {
            tracing::warn!(
                "refused node {} from {peer}: it belongs to cluster '{cluster}', not '{}'",
                from.name,
                shared.cluster
            );
            return;
        }
        Ok(_) => {
            tracing::warn!("refused a cluster peer from {peer}: no greeting");
            return;
        }
        Err(e) => {
            tracing::debug!("cluster peer {peer}: {e}");
            return;
        }
    }
    loop {
        match wire::read(&mut stream).await {
            Ok(Some(msg)) => shared.dispatch(msg),
            Ok(None) => return,
            Err(e) => {
                tracing::debug!("cluster peer {peer}: {e}");
                return;
            }
        }
    }
}

async fn connect(shared: &Shared, addr: &str) -> Result<Box<dyn Stream>, String> {
    let tcp = tokio::time::timeout(shared.timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let mut stream: Box<dyn Stream> = match &shared.tls {
        None => Box::new(tcp),
        Some(tls) => Box::new(
            tokio::time::timeout(shared.timeout, tls.connector.connect(Tls::peer_name(), tcp))
                .await
                .map_err(|_| "TLS handshake timed out".to_owned())?
                .map_err(|e| format!("TLS: {e}"))?,
        ),
    };
    let hello = wire::encode(&Message::Hello {
        cluster: shared.cluster.clone(),
        from: shared.me.clone(),
    })
    .map_err(|e| e.to_string())?;
    wire::write(&mut stream, &hello)
        .await
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

/// Owns the connection to one peer: connects on demand, writes frames in order, and after a
/// failure drops the connection and starts again with the next frame.
async fn writer(shared: Arc<Shared>, addr: String, mut rx: mpsc::Receiver<Arc<Vec<u8>>>) {
    let mut conn: Option<Box<dyn Stream>> = None;
    let mut failing_since: Option<Instant> = None;
    while let Some(frame) = rx.recv().await {
        if conn.is_none() {
            match connect(&shared, &addr).await {
                Ok(c) => {
                    conn = Some(c);
                    failing_since = None;
                }
                Err(e) => {
                    if failing_since.is_none() {
                        tracing::debug!("cannot reach cluster peer {addr}: {e}");
                        failing_since = Some(Instant::now());
                    }
                    continue;
                }
            }
        }
        if let Some(c) = conn.as_mut() {
            let written = tokio::time::timeout(shared.timeout, wire::write(c, &frame)).await;
            if !matches!(written, Ok(Ok(()))) {
                conn = None;
            }
        }
    }
}
