//! A test cluster: real `raftcdc serve` processes on a private loopback
//! subnet, each behind a partition proxy, plus the observations tests make.
//!
//! [`Cluster`] owns everything one test starts: the temporary directory
//! (configs, data directories, logs), the claimed subnet, the proxies and
//! the node processes. Node `i` (1-based) has node id `i` and IP
//! `127.A.B.i`; its ports are chosen once and written into its config, so
//! [`Cluster::restart`] brings it back at the addresses the Raft membership
//! knows.
//!
//! It is correct because:
//!
//! - **Every wait is a poll with a deadline** ([`crate::wait`]); a node that
//!   exits while being waited for fails the wait at once, with its log.
//! - **Every gRPC call has a timeout**, so a frozen node makes a call fail,
//!   never hang; tests dial each node's control address directly, bypassing
//!   the proxies, so partitions never hide a node from the test.
//! - **Failures leave evidence.** When a test panics, dropping the cluster
//!   prints the tail of every node's log (and keeps the whole directory when
//!   `RAFTCDC_KEEP_TEST_DIR` is set) before it kills the processes.
//! - **Nothing outlives the test.** Dropping the cluster kills its
//!   processes, stops its proxies, releases the subnet and deletes the
//!   directory.
//! - **Fault points are opt-in and per node.** With
//!   [`ClusterBuilder::fault_points`] every node runs with the product's
//!   fault-point variables, each naming a file in the cluster directory
//!   that only [`Cluster::arm_freeze_after_claim`] creates, so one node
//!   freezes at the exact step a test chose and the others never do.
//! - **Secure clusters are observed like plain ones.** With
//!   [`ClusterBuilder::security`] the nodes get TLS and a token, and the
//!   harness's own client and CLI calls carry the matching CA, client
//!   certificate and token ([`Credentials`]), so every helper works the same.
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use raftcdc::api::client::{ControlClient, ControlDialer};
use raftcdc::config::security::{self as node_security, ClientTls};
use raftcdc::proto::{
    ClusterStatus, Connector, ConnectorRef, GetClusterStatusRequest, GetNodeInfoRequest,
    InitClusterRequest, ListConnectorsRequest, NodeInfo,
};

use crate::config::{NodeConfig, RaftTuning, SecurityFiles};
use crate::pki::{CertPair, TestCa};
use crate::process::{log_tail, raftcdc_bin, NodeProcess};
use crate::proxy::{Partitions, PeerProxy};
use crate::scrape::Scrape;
use crate::subnet::{free_ports, SubnetClaim};
use crate::wait::{wait_until, DEFAULT_DEADLINE};

/// Per-call timeout of [`Cluster::client`].
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`Cluster::cli`] lets the CLI run before failing the test.
pub const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// Lines of each log printed by [`Cluster::dump_logs`].
pub const LOG_TAIL_LINES: usize = 60;

/// How a cluster is started.
#[derive(Clone, Debug)]
pub struct ClusterBuilder {
    size: usize,
    raft: RaftTuning,
    kafka: Option<String>,
    security: Security,
    fault_points: bool,
    node_settings: BTreeMap<usize, String>,
}

/// The product's fault point that freezes a node between a task's Raft
/// claim and `init_transactions` (`src/pipeline/fault.rs`).
pub const FREEZE_AFTER_CLAIM: &str = "RAFTCDC_FAULT_FREEZE_AFTER_CLAIM";

/// The product's fault point that freezes a node after a batch's signals
/// were applied through Raft and before the batch's Kafka transaction.
pub const FREEZE_AFTER_SIGNAL: &str = "RAFTCDC_FAULT_FREEZE_AFTER_SIGNAL";

/// The product's fault point that freezes a node after the Kafka
/// transaction of the batch completing the initial snapshot, before its
/// offset and snapshot progress reach Raft.
pub const FREEZE_AFTER_SNAPSHOT_DELIVERED: &str = "RAFTCDC_FAULT_FREEZE_AFTER_SNAPSHOT_DELIVERED";

impl Default for ClusterBuilder {
    fn default() -> Self {
        ClusterBuilder {
            size: 3,
            raft: RaftTuning::default(),
            kafka: None,
            security: Security::default(),
            fault_points: false,
            node_settings: BTreeMap::new(),
        }
    }
}

/// TLS and authentication of a test cluster. Certificates come from a CA
/// made for the cluster ([`crate::pki`]); the token is random.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Security {
    /// `[tls.peer]`: mutual TLS between nodes.
    pub peer_tls: bool,
    /// `[tls.control]`: TLS on the control API (endpoints become `https`).
    pub control_tls: bool,
    /// `[tls.control] client_ca`: control clients need a certificate.
    pub client_certs: bool,
    /// `[auth] token_file`: control calls need the token.
    pub token: bool,
}

impl Security {
    /// Everything on.
    pub fn all() -> Security {
        Security {
            peer_tls: true,
            control_tls: true,
            client_certs: true,
            token: true,
        }
    }

    fn any_tls(&self) -> bool {
        self.peer_tls || self.control_tls
    }
}

/// What a control client presents to a cluster: the CLI flags, or the
/// harness's own client. Tests change it to call without (or with a wrong)
/// token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `--token-file`.
    pub token_file: Option<PathBuf>,
    /// `--ca-cert`.
    pub ca_cert: Option<PathBuf>,
    /// `--client-cert` / `--client-key`.
    pub client_cert: Option<CertPair>,
}

impl Credentials {
    /// The CLI flags for these credentials.
    pub fn cli_args(&self) -> Vec<OsString> {
        let mut args = Vec::new();
        let mut flag = |name: &str, path: &Path| {
            args.push(OsString::from(name));
            args.push(path.as_os_str().to_owned());
        };
        if let Some(token) = &self.token_file {
            flag("--token-file", token);
        }
        if let Some(ca) = &self.ca_cert {
            flag("--ca-cert", ca);
        }
        if let Some(pair) = &self.client_cert {
            flag("--client-cert", &pair.cert);
            flag("--client-key", &pair.key);
        }
        args
    }

    /// A control dialer presenting these credentials.
    pub fn dialer(&self) -> ControlDialer {
        let roots = self
            .ca_cert
            .iter()
            .map(|ca| node_security::read_certificates(ca).expect("read the test CA"))
            .collect();
        let identity = self.client_cert.as_ref().map(|pair| {
            node_security::read_identity(&pair.cert, &pair.key)
                .unwrap_or_else(|(field, e)| panic!("read the test client {field}: {e}"))
        });
        let token = self
            .token_file
            .as_ref()
            .map(|path| node_security::read_token(path).expect("read the test token"));
        ControlDialer {
            tls: ClientTls::new(roots, identity),
            token,
            connect_timeout: CALL_TIMEOUT,
            timeout: CALL_TIMEOUT,
        }
    }
}

/// The test PKI of a cluster with TLS.
#[derive(Debug)]
pub struct ClusterPki {
    /// The CA every node's certificates are signed by.
    pub ca: TestCa,
    /// A CA nobody in the cluster trusts.
    pub rogue: TestCa,
}

impl ClusterBuilder {
    /// Extra `[node]` lines of node `node`'s config file (placement
    /// settings such as `capacity = 2` or `labels = {zone = "a"}`).
    pub fn node_settings(mut self, node: usize, toml: &str) -> Self {
        self.node_settings.insert(node, toml.to_owned());
        self
    }

    /// Number of nodes started (and put in the initial membership by
    /// [`Cluster::init`]); 3 by default.
    pub fn nodes(mut self, size: usize) -> Self {
        assert!(size >= 1, "a cluster needs at least one node");
        self.size = size;
        self
    }

    /// `raft.snapshot_logs_since_last` for every node.
    pub fn snapshot_logs_since_last(mut self, logs: u64) -> Self {
        self.raft.snapshot_logs_since_last = Some(logs);
        self
    }

    /// `raft.max_in_snapshot_log_to_keep` for every node.
    pub fn max_in_snapshot_log_to_keep(mut self, logs: u64) -> Self {
        self.raft.max_in_snapshot_log_to_keep = Some(logs);
        self
    }

    /// Kafka bootstrap servers every node's connectors deliver to.
    pub fn kafka(mut self, bootstrap: impl Into<String>) -> Self {
        self.kafka = Some(bootstrap.into());
        self
    }

    /// Starts every node with the product's fault points enabled, each
    /// pointing at a file of the node's own that nothing creates until a
    /// test arms it ([`Cluster::arm_freeze_after_claim`]).
    pub fn fault_points(mut self) -> Self {
        self.fault_points = true;
        self
    }

    /// TLS and token settings of every node (and of the harness's clients).
    pub fn security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }

    /// Starts the nodes and waits until each answers `GetNodeInfo`. The
    /// cluster is not initialised yet: see [`Cluster::init`].
    pub async fn start(self) -> Cluster {
        let claim = SubnetClaim::claim().expect("claim a loopback subnet");
        let dir = tempfile::Builder::new()
            .prefix("raftcdc-cluster-")
            .tempdir()
            .expect("create the cluster's temporary directory");
        let security = self.security;
        let mut credentials = Credentials::default();
        let pki = if security.any_tls() {
            let ca = TestCa::create(&dir.path().join("pki"), "ca").await;
            let rogue = TestCa::create(&dir.path().join("pki"), "rogue-ca").await;
            credentials.ca_cert = Some(ca.cert().to_owned());
            if security.client_certs {
                credentials.client_cert = Some(ca.issue("client", &[]).await);
            }
            Some(ClusterPki { ca, rogue })
        } else {
            None
        };
        if security.token {
            let path = dir.path().join("token");
            std::fs::write(
                &path,
                format!("raftcdc-test-token-{:016x}\n", crate::subnet::random_u64()),
            )
            .expect("write the token file");
            credentials.token_file = Some(path);
        }
        let dialer = credentials.dialer();
        let mut cluster = Cluster {
            nodes: Vec::new(),
            partitions: Partitions::default(),
            name: format!("raftcdc-test-{}", claim.subnet().tag()),
            raft: self.raft,
            kafka: self.kafka,
            initial_size: self.size,
            fault_points: self.fault_points,
            node_settings: self.node_settings,
            security,
            pki,
            credentials,
            dialer,
            claim,
            dir,
        };
        for _ in 0..self.size {
            cluster.spawn_node().await;
        }
        for node in 1..=self.size {
            cluster.wait_ready(node).await;
        }
        cluster
    }
}

/// One node's fixed addresses and its process.
#[derive(Debug)]
struct NodeSlot {
    config: NodeConfig,
    process: Mutex<NodeProcess>,
    _proxy: PeerProxy,
}

/// A running test cluster. See the module documentation.
#[derive(Debug)]
pub struct Cluster {
    nodes: Vec<NodeSlot>,
    partitions: Partitions,
    name: String,
    raft: RaftTuning,
    kafka: Option<String>,
    initial_size: usize,
    fault_points: bool,
    node_settings: BTreeMap<usize, String>,
    security: Security,
    pki: Option<ClusterPki>,
    credentials: Credentials,
    dialer: ControlDialer,
    claim: SubnetClaim,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// A cluster configured as the builder says.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// Starts `size` nodes with default settings (not initialised).
    pub async fn start(size: usize) -> Cluster {
        Cluster::builder().nodes(size).start().await
    }

    // ----- layout -------------------------------------------------------

    /// The `cluster_name` every node is configured with (unique per test
    /// cluster, so stray traffic between clusters is refused).
    pub fn cluster_name(&self) -> &str {
        &self.name
    }

    /// The node numbers (= node ids) that exist, `1..=n`.
    pub fn nodes(&self) -> Vec<usize> {
        (1..=self.nodes.len()).collect()
    }

    /// The cluster's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Node `i`'s control endpoint, `http://127.A.B.i:port` (`https` with
    /// control TLS).
    pub fn endpoint(&self, node: usize) -> String {
        let config = &self.slot(node).config;
        format!("{}://{}", config.control_scheme(), config.listen)
    }

    /// The cluster's test PKI, if it was built with TLS.
    pub fn pki(&self) -> Option<&ClusterPki> {
        self.pki.as_ref()
    }

    /// What the harness's clients and [`Cluster::cli`] present.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Node `i`'s real peer address (not through its proxy), `host:port`.
    pub fn peer_addr(&self, node: usize) -> String {
        self.slot(node).config.peer_listen.to_string()
    }

    /// The peer address node `i` advertises: its proxy, `host:port`.
    pub fn peer_advertise(&self, node: usize) -> String {
        self.slot(node).config.peer_advertise.to_string()
    }

    /// Node `i`'s Prometheus endpoint, `ip:port` (every test node serves one).
    pub fn metrics_addr(&self, node: usize) -> std::net::SocketAddr {
        self.slot(node).config.metrics_listen.expect("the harness configures a metrics endpoint")
    }

    /// Node `i`'s Kafka Connect REST endpoint, `http://ip:port`, or
    /// `https://` with control TLS (every test node serves one).
    pub fn rest_url(&self, node: usize) -> String {
        let config = &self.slot(node).config;
        let addr = config.rest_listen.expect("the harness configures a REST listener");
        format!("{}://{addr}", config.control_scheme())
    }

    /// A REST client for node `i`, carrying the cluster's token if any.
    pub fn rest(&self, node: usize) -> crate::rest::RestClient {
        let token = self
            .credentials
            .token_file
            .as_ref()
            .map(|path| std::fs::read_to_string(path).expect("read the token file").trim().to_string());
        crate::rest::RestClient::new(&self.rest_url(node)).with_token(token)
    }

    /// Scrapes node `i`'s `/metrics` and parses it; `Err` says why not.
    pub async fn scrape(&self, node: usize) -> Result<Scrape, String> {
        let (status, body) = crate::scrape::get(self.metrics_addr(node), "/metrics").await?;
        if status != 200 {
            return Err(format!("node {node}: /metrics answered {status}: {body}"));
        }
        Scrape::parse(&body)
    }

    /// Node `i`'s config as written to its config file.
    pub fn config(&self, node: usize) -> &NodeConfig {
        &self.slot(node).config
    }

    /// Node `i`'s log file.
    pub fn log_path(&self, node: usize) -> PathBuf {
        self.process(node).log_path().to_owned()
    }

    /// Node `i`'s data directory.
    pub fn data_dir(&self, node: usize) -> &Path {
        &self.slot(node).config.data_dir
    }

    /// Writes a config, starts a proxy and starts the process of a new node
    /// `n + 1`, and answers its number. Used by [`ClusterBuilder::start`],
    /// and by tests that add a node to a running cluster (it starts
    /// uninitialised; wait for it with [`Cluster::wait_ready`]).
    pub async fn spawn_node(&mut self) -> usize {
        self.spawn_node_signed(false).await
    }

    /// Like [`Cluster::spawn_node`], but the new node's peer certificate is
    /// signed by the rogue CA (its control certificate and the CA it trusts
    /// are the cluster's), so the cluster must refuse it as a peer. Needs a
    /// cluster built with peer TLS.
    pub async fn spawn_rogue_node(&mut self) -> usize {
        assert!(
            self.security.peer_tls,
            "a rogue peer needs a cluster with peer TLS"
        );
        self.spawn_node_signed(true).await
    }

    async fn spawn_node_signed(&mut self, rogue_peer_cert: bool) -> usize {
        let node = self.nodes.len() + 1;
        let subnet = self.claim.subnet();
        let ip = subnet.node_ip(node);
        let ports = free_ports(ip, 4).expect("find free ports on the node's IP");
        let peer_listen = (ip, ports[1]).into();
        let proxy = PeerProxy::start(subnet, node, peer_listen, self.partitions.clone())
            .await
            .expect("start the node's peer proxy");
        let mut security = SecurityFiles {
            token_file: self.credentials.token_file.clone(),
            ..SecurityFiles::default()
        };
        if let Some(pki) = &self.pki {
            let name = format!("node{node}");
            let own = pki.ca.issue(&name, &[ip.into()]).await;
            let peer = if rogue_peer_cert {
                pki.rogue.issue(&name, &[ip.into()]).await
            } else {
                own.clone()
            };
            let ca = pki.ca.cert().to_owned();
            if self.security.control_tls {
                let client_ca = self.security.client_certs.then(|| ca.clone());
                security.control_tls = Some((own.cert.clone(), own.key.clone(), client_ca));
            }
            if self.security.peer_tls {
                security.peer_tls = Some((peer.cert, peer.key, ca));
            }
        }
        let config = NodeConfig {
            id: node as u64,
            cluster_name: self.name.clone(),
            listen: (ip, ports[0]).into(),
            peer_listen,
            peer_advertise: proxy.listen_addr(),
            peer_source_addr: ip.into(),
            data_dir: self.dir.path().join(format!("node{node}-data")),
            raft: self.raft,
            kafka_bootstrap: self.kafka.clone(),
            metrics_listen: Some((ip, ports[2]).into()),
            // HTTPS with [tls.control]'s certificate when that is set.
            rest_listen: Some((ip, ports[3]).into()),
            security,
            node_settings: self.node_settings.get(&node).cloned(),
        };
        let config_path = self.dir.path().join(format!("node{node}.toml"));
        std::fs::create_dir_all(&config.data_dir).expect("create the node's data directory");
        std::fs::write(&config_path, config.to_toml()).expect("write the node's config");
        let log_path = self.dir.path().join(format!("node{node}.log"));
        let mut process = NodeProcess::new(node, config_path, log_path);
        if self.fault_points {
            process.set_env(FREEZE_AFTER_CLAIM, self.fault_file(node, FREEZE_AFTER_CLAIM));
            process.set_env(FREEZE_AFTER_SIGNAL, self.fault_file(node, FREEZE_AFTER_SIGNAL));
            process.set_env(FREEZE_AFTER_SNAPSHOT_DELIVERED, self.fault_file(node, FREEZE_AFTER_SNAPSHOT_DELIVERED));
        }
        process.start().unwrap_or_else(|e| panic!("start node {node}: {e}"));
        self.nodes.push(NodeSlot { config, process: Mutex::new(process), _proxy: proxy });
        node
    }

    // ----- processes ----------------------------------------------------

    /// `SIGKILL`s node `i` and reaps it.
    pub fn kill(&self, node: usize) {
        self.process(node).kill();
    }

    /// `SIGSTOP`s node `i`.
    pub fn freeze(&self, node: usize) {
        self.process(node).freeze();
    }

    /// `SIGCONT`s node `i`.
    pub fn thaw(&self, node: usize) {
        self.process(node).thaw();
    }

    /// The file that arms fault point `point` (an environment variable name
    /// such as [`FREEZE_AFTER_CLAIM`]) on node `i`.
    pub fn fault_file(&self, node: usize, point: &str) -> PathBuf {
        self.dir.path().join(format!("node{node}-{}", point.to_ascii_lowercase()))
    }

    /// Arms node `i`'s freeze-after-claim point for `connector`: the next
    /// task of that connector on node `i` to win its Raft claim stops the
    /// whole process (`SIGSTOP`) before `init_transactions`. Needs a
    /// cluster built with [`ClusterBuilder::fault_points`].
    pub fn arm_freeze_after_claim(&self, node: usize, connector: &str) {
        assert!(self.fault_points, "build the cluster with .fault_points() to arm one");
        std::fs::write(self.fault_file(node, FREEZE_AFTER_CLAIM), connector).expect("write the fault file");
    }

    /// Arms fault point `point` (such as [`FREEZE_AFTER_SIGNAL`]) of node
    /// `i` for `connector`; it fires once. Needs a cluster built with
    /// [`ClusterBuilder::fault_points`].
    pub fn arm_fault(&self, node: usize, point: &str, connector: &str) {
        assert!(self.fault_points, "build the cluster with .fault_points() to arm one");
        std::fs::write(self.fault_file(node, point), connector).expect("write the fault file");
    }

    /// Whether node `i`'s process is stopped (frozen by [`Cluster::freeze`]
    /// or by a fault point).
    pub fn is_stopped(&self, node: usize) -> bool {
        self.process(node).is_stopped()
    }

    /// Waits until node `i`'s process has stopped itself at a fault point.
    pub async fn wait_stopped(&self, node: usize) {
        wait_until(DEFAULT_DEADLINE, &format!("node {node} stops at its fault point"), || async move {
            self.assert_alive(node);
            if self.is_stopped(node) { Ok(()) } else { Err("still running") }
        })
        .await
    }

    /// Starts node `i` again on its config and data directory, killing it
    /// first if it is still running. Does not wait for it to be ready.
    pub fn restart(&self, node: usize) {
        let mut process = self.process(node);
        process.kill();
        process.start().unwrap_or_else(|e| panic!("restart node {node}: {e}"));
    }

    /// Whether node `i`'s process is alive (frozen counts as alive).
    pub fn is_running(&self, node: usize) -> bool {
        self.process(node).is_running()
    }

    /// Node `i`'s pid while it runs.
    pub fn pid(&self, node: usize) -> Option<u32> {
        self.process(node).pid()
    }

    /// Node `i`'s resident set size in KiB while it runs.
    pub fn rss_kib(&self, node: usize) -> Option<u64> {
        self.process(node).rss_kib()
    }

    /// Node `node`'s peak RSS in KiB since it started or the last
    /// [`Self::reset_peak_rss`].
    pub fn peak_rss_kib(&self, node: usize) -> Option<u64> {
        self.process(node).peak_rss_kib()
    }

    /// Starts a new peak RSS measurement on every running node.
    pub fn reset_peak_rss(&self) {
        for node in self.nodes() {
            self.process(node).reset_peak_rss();
        }
    }

    /// One line with every node's peak RSS since the last reset.
    pub fn peak_rss_line(&self) -> String {
        let peaks: Vec<String> = self
            .nodes()
            .into_iter()
            .map(|n| match self.peak_rss_kib(n) {
                Some(kib) => format!("node {n} {:.0} MiB", kib as f64 / 1024.0),
                None => format!("node {n} down"),
            })
            .collect();
        format!("peak RSS: {}", peaks.join(", "))
    }

    // ----- partitions ---------------------------------------------------

    /// Blackholes all traffic between nodes `a` and `b`.
    pub fn cut(&self, a: usize, b: usize) {
        self.partitions.cut(a, b);
    }

    /// Cuts node `i` from every other node (including nodes added later
    /// only if `isolate` is called again).
    pub fn isolate(&self, node: usize) {
        self.partitions.isolate(node, self.nodes());
    }

    /// Restores every link.
    pub fn heal_all(&self) {
        self.partitions.heal_all();
    }

    // ----- talking to nodes ---------------------------------------------

    /// A control client for node `i`, dialled lazily, with a
    /// [`CALL_TIMEOUT`] on every call (and the cluster's credentials).
    pub fn client(&self, node: usize) -> ControlClient {
        self.client_with_timeout(node, CALL_TIMEOUT)
    }

    /// A control client for node `i` whose calls time out after `timeout`.
    pub fn client_with_timeout(&self, node: usize, timeout: Duration) -> ControlClient {
        let dialer = ControlDialer {
            connect_timeout: timeout.min(Duration::from_secs(2)),
            timeout,
            ..self.dialer.clone()
        };
        dialer
            .connect_lazy(&self.endpoint(node))
            .expect("a node endpoint can be dialled")
    }

    /// Runs `raftcdc <group> --endpoint <node i> <rest of args…>` (e.g.
    /// `args = ["connector", "get", "x"]`) and answers its output whatever
    /// its exit code. The client flags belong to the command group (and are
    /// global within it), so `--endpoint` goes right after the group;
    /// `RAFTCDC_ENDPOINT`/`RAFTCDC_OUTPUT` from the caller's environment are
    /// removed so only `args` decide the output format.
    pub async fn cli(&self, node: usize, args: &[&str]) -> Output {
        self.cli_as(node, &self.credentials, args).await
    }

    /// [`Cluster::cli`] presenting `credentials` instead of the cluster's
    /// (the `RAFTCDC_*` credential variables are removed too).
    pub async fn cli_as(&self, node: usize, credentials: &Credentials, args: &[&str]) -> Output {
        let (group, rest) = args.split_first().expect("a CLI command group such as `connector`");
        let mut command = tokio::process::Command::new(raftcdc_bin());
        command
            .arg(group)
            .arg("--endpoint")
            .arg(self.endpoint(node))
            .args(credentials.cli_args())
            .args(rest)
            .env_remove("RAFTCDC_ENDPOINT")
            .env_remove("RAFTCDC_OUTPUT")
            .env_remove("RAFTCDC_TOKEN_FILE")
            .env_remove("RAFTCDC_CA_CERT")
            .env_remove("RAFTCDC_CLIENT_CERT")
            .env_remove("RAFTCDC_CLIENT_KEY")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        match tokio::time::timeout(CLI_TIMEOUT, command.output()).await {
            Ok(output) => output.expect("run the raftcdc CLI"),
            Err(_) => panic!("`raftcdc {}` against node {node} did not finish in {CLI_TIMEOUT:?}", args.join(" ")),
        }
    }

    /// Node `i`'s `GetClusterStatus`.
    pub async fn status(&self, node: usize) -> Result<ClusterStatus, tonic::Status> {
        Ok(self.client(node).get_cluster_status(GetClusterStatusRequest {}).await?.into_inner())
    }

    /// Node `i`'s `GetNodeInfo`.
    pub async fn node_info(&self, node: usize) -> Result<NodeInfo, tonic::Status> {
        Ok(self.client(node).get_node_info(GetNodeInfoRequest {}).await?.into_inner())
    }

    /// Connector `name` as node `i` knows it.
    pub async fn connector(&self, node: usize, name: &str) -> Result<Connector, tonic::Status> {
        let request = ConnectorRef { name: name.to_owned() };
        Ok(self.client(node).get_connector(request).await?.into_inner())
    }

    /// Every connector node `i` knows, in the order it lists them.
    pub async fn connectors(&self, node: usize) -> Result<Vec<Connector>, tonic::Status> {
        let reply = self.client(node).list_connectors(ListConnectorsRequest {}).await?;
        Ok(reply.into_inner().connectors)
    }

    // ----- waiting ------------------------------------------------------

    /// Waits until node `i` answers `GetNodeInfo` as node id `i`. Fails at
    /// once if the process exits.
    pub async fn wait_ready(&self, node: usize) -> NodeInfo {
        wait_until(DEFAULT_DEADLINE, &format!("node {node} answers GetNodeInfo"), || async move {
            self.assert_alive(node);
            let info = self.node_info(node).await.map_err(|e| e.to_string())?;
            if info.node_id == node as u64 {
                Ok(info)
            } else {
                Err(format!("node at {} claims id {}", self.endpoint(node), info.node_id))
            }
        })
        .await
    }

    /// `InitCluster` on node 1 with the control endpoints of the nodes the
    /// cluster was started with.
    pub async fn init(&self) -> ClusterStatus {
        let member_endpoints = (1..=self.initial_size).map(|n| self.endpoint(n)).collect();
        self.client(1)
            .init_cluster(InitClusterRequest { member_endpoints })
            .await
            .unwrap_or_else(|status| panic!("InitCluster on node 1 failed: {status:?}"))
            .into_inner()
    }

    /// Waits until every node in `among` reports the same leader, and that
    /// leader is one of `among`; answers its node number.
    pub async fn wait_leader(&self, among: &[usize]) -> usize {
        let description = format!("nodes {among:?} agree on a leader among themselves");
        wait_until(DEFAULT_DEADLINE, &description, || async move {
            let mut seen = Vec::new();
            for &node in among {
                let status = self.status(node).await.map_err(|e| format!("node {node}: {e}"))?;
                seen.push((node, status.leader_id));
            }
            match seen.first() {
                Some(&(_, Some(leader)))
                    if seen.iter().all(|&(_, l)| l == Some(leader))
                        && among.contains(&(leader as usize)) =>
                {
                    Ok(leader as usize)
                }
                _ => Err(format!("(node, leader_id) = {seen:?}")),
            }
        })
        .await
    }

    /// Waits until every node in `among` knows connector `name` and `check`
    /// accepts each node's view of it; answers the views in `among`'s order.
    /// `check` answers `Err(why not)` while the condition does not hold.
    pub async fn wait_connector<F>(
        &self,
        among: &[usize],
        name: &str,
        description: &str,
        check: F,
    ) -> Vec<Connector>
    where
        F: Fn(usize, &Connector) -> Result<(), String>,
    {
        let check = &check;
        let description = format!("connector {name:?} on nodes {among:?}: {description}");
        wait_until(DEFAULT_DEADLINE, &description, || async move {
            let mut views = Vec::new();
            for &node in among {
                let connector =
                    self.connector(node, name).await.map_err(|e| format!("node {node}: {e}"))?;
                check(node, &connector).map_err(|why| format!("node {node}: {why}: {connector:?}"))?;
                views.push(connector);
            }
            Ok::<_, String>(views)
        })
        .await
    }

    // ----- diagnostics --------------------------------------------------

    /// Prints the last [`LOG_TAIL_LINES`] lines of every node's log to
    /// stderr (which the test harness shows for a failed test).
    pub fn dump_logs(&self) {
        eprintln!(
            "===== cluster {} in {} (cut links: {:?}) =====",
            self.name,
            self.dir.path().display(),
            self.partitions.cut_links()
        );
        for node in self.nodes() {
            let path = self.log_path(node);
            eprintln!("----- node {node}: last {LOG_TAIL_LINES} lines of {} -----", path.display());
            eprintln!("{}", log_tail(&path, LOG_TAIL_LINES));
        }
        eprintln!("===== end of cluster {} logs =====", self.name);
    }

    // ----- internals ----------------------------------------------------

    fn slot(&self, node: usize) -> &NodeSlot {
        assert!(
            (1..=self.nodes.len()).contains(&node),
            "there is no node {node} (the cluster has nodes 1..={})",
            self.nodes.len()
        );
        &self.nodes[node - 1]
    }

    fn process(&self, node: usize) -> MutexGuard<'_, NodeProcess> {
        // A poisoned lock only means another thread panicked mid-call; the
        // process handle itself is still valid.
        self.slot(node).process.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Panics with the node's log if its process has exited on its own.
    fn assert_alive(&self, node: usize) {
        let exited = self.process(node).exit_status();
        if let Some(status) = exited {
            panic!(
                "node {node} exited ({status}); last lines of its log:\n{}",
                log_tail(&self.log_path(node), LOG_TAIL_LINES)
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_logs();
            if std::env::var_os("RAFTCDC_KEEP_TEST_DIR").is_some() {
                self.dir.disable_cleanup(true);
                eprintln!("keeping {} (RAFTCDC_KEEP_TEST_DIR is set)", self.dir.path().display());
            }
        }
        for node in self.nodes() {
            self.process(node).kill();
        }
    }
}
