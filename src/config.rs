//! The node configuration file (`raftcdc serve --config node.toml`).
//!
//! The file is parsed once at start-up into [`NodeConfig`], a validated form
//! the rest of the node trusts. Unknown fields are errors (a typo must not
//! silently fall back to a default), and every error names the field as a
//! dotted path (`node.listen`, `raft.election_timeout_min_ms`).
//!
//! ```toml
//! [node]
//! id = 1
//! cluster_name = "raftcdc"
//! listen = "0.0.0.0:7001"
//! advertise = "http://10.0.0.1:7001"
//! peer_listen = "0.0.0.0:7101"
//! peer_advertise = "10.0.0.1:7101"
//! data_dir = "/var/lib/raftcdc"
//!
//! [raft]
//! heartbeat_interval_ms = 100
//!
//! [kafka]
//! bootstrap_servers = "10.0.0.9:9092"
//!
//! [metrics]
//! listen = "0.0.0.0:7201"   # optional; absent = no /metrics endpoint
//!
//! [rest]
//! listen = "0.0.0.0:8083"   # optional; absent = no Kafka Connect REST API
//! advertise = "http://10.0.0.1:8083"
//!
//! [placement]
//! policy = "spread"         # or "leader": the leader owns every connector
//! ```
//!
//! `[node]` may also carry `capacity` (most connectors it owns), `labels`
//! (`{zone = "a"}`, matched by `raftcdc.placement.labels`) and `worker`
//! (a learner that may own connectors); see [`crate::placement`].
//!
//! `[rest]` serves Kafka Connect's REST API, the web console (`/ui`) and
//! `/metrics` on one listener ([`crate::api::rest`]). It uses the control
//! API's TLS (`[tls.control]`) and bearer token (`[auth]`): one set of
//! settings secures both front doors. `[metrics] listen` keeps working as a
//! separate plain-HTTP listener serving only `/metrics` (for scrapers that
//! must not hold the token or the CA); with `[rest]` set it is optional,
//! since `/metrics` is also served there without a token.
//!
//! `[tls.control]`, `[tls.peer]` and `[auth]` (TLS on the listeners, the
//! control API's bearer token) are documented and loaded in [`security`];
//! the certificate, key and token files they name are read here, once.
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod security;

use security::{AuthSection, Security, TlsSection};

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Identity and addresses of this node.
    pub node: NodeSection,
    /// Raft timing and log compaction.
    #[serde(default)]
    pub raft: RaftSection,
    /// Where connectors deliver their events.
    #[serde(default)]
    pub kafka: KafkaSection,
    /// TLS on the control and peer listeners (see [`security`]).
    #[serde(default)]
    pub tls: TlsSection,
    /// Bearer-token authentication of the control API (see [`security`]).
    #[serde(default)]
    pub auth: AuthSection,
    /// The Prometheus `/metrics` endpoint.
    #[serde(default)]
    pub metrics: MetricsSection,
    /// Kafka Connect's REST API and the web console.
    #[serde(default)]
    pub rest: RestSection,
    /// How the leader places connectors on nodes (see [`crate::placement`]).
    #[serde(default)]
    pub placement: PlacementSection,
}

/// How the leader places connectors. Set it the same on every node: the
/// leader's settings decide, and leadership moves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlacementSection {
    /// `spread` (default): connectors spread over every node by load;
    /// `leader`: the Raft leader owns every connector.
    pub policy: String,
    /// A node whose lease the leader has not seen renewed for this long is
    /// gone: its connectors move. Nodes renew every quarter of it.
    pub lease_timeout_ms: u64,
    /// A node (new, or back after it was gone) receives voluntary moves
    /// only after it has been alive this long: a flapping node gets no
    /// connectors back.
    pub settle_ms: u64,
}

impl Default for PlacementSection {
    fn default() -> Self {
        PlacementSection {
            policy: "spread".into(),
            lease_timeout_ms: 1200,
            settle_ms: 5000,
        }
    }
}

/// `[placement]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementConfig {
    pub policy: crate::placement::policy::Policy,
    pub lease_timeout: std::time::Duration,
    pub settle: std::time::Duration,
}

/// Kafka Connect's REST API, the web console at `/ui` and `/metrics`, on
/// one HTTP listener. TLS and the bearer token are the control API's
/// (`[tls.control]`, `[auth]`); `/metrics` and the console's static page
/// need no token (the page asks for it and sends it with every call).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestSection {
    /// Listen address, `ip:port` (Kafka Connect's default port is 8083).
    /// Absent: no REST API and no console.
    pub listen: Option<String>,
    /// URL clients and other nodes use for this node's REST API,
    /// `http://host:port` (`https://` when `[tls.control]` is set, which
    /// then also secures this listener). It is
    /// the `worker_id` of the task this node owns. Default:
    /// `http(s)://<listen>`; required when `listen` is a wildcard address.
    #[serde(default)]
    pub advertise: Option<String>,
}

/// `[rest]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestConfig {
    pub listen: SocketAddr,
    /// Without a trailing `/`.
    pub advertise: String,
}

/// The Prometheus endpoint (plain HTTP, `GET /metrics`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Listen address of the `/metrics` endpoint, `ip:port`. Absent: no
    /// metrics endpoint is served.
    pub listen: Option<String>,
}

/// The Kafka cluster connectors deliver to (shared by every connector of
/// this raftcdc cluster, as a Kafka Connect worker's is).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSection {
    /// `host:port[,host:port...]` of the brokers. Without it connectors
    /// cannot run (their status says so).
    pub bootstrap_servers: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// This node's id: at least 1, unique in the cluster, never reused for a
    /// different data directory.
    pub id: u64,
    /// Name of the cluster. Peers with another name are refused, and it is
    /// part of Kafka transactional ids. Default `raftcdc`.
    #[serde(default = "default_cluster_name")]
    pub cluster_name: String,
    /// Listen address of the control API (gRPC), `host:port`.
    pub listen: String,
    /// Control endpoint other nodes and clients use to reach this node,
    /// `http://host:port`, or `https://host:port` when `[tls.control]` is
    /// set (the scheme must match). Default: `http(s)://<listen>`.
    #[serde(default)]
    pub advertise: Option<String>,
    /// Listen address of the node-to-node (Raft) service, `host:port`.
    pub peer_listen: String,
    /// Address peers dial for the node-to-node service, `host:port`.
    /// Default: `peer_listen`.
    #[serde(default)]
    pub peer_advertise: Option<String>,
    /// Local IP address outgoing peer connections bind to. Default: chosen
    /// by the operating system.
    #[serde(default)]
    pub peer_source_addr: Option<String>,
    /// Directory for the Raft log, snapshots and node state. Created if
    /// missing.
    pub data_dir: PathBuf,
    /// Most connectors this node may own. Default: no limit.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// Labels connectors can ask for (`raftcdc.placement.labels`), e.g.
    /// `{zone = "a"}`.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Whether this node may own connectors while it is a learner (voters
    /// always may). Default false.
    #[serde(default)]
    pub worker: bool,
}

fn default_cluster_name() -> String {
    "raftcdc".to_string()
}

/// Raft settings.
///
/// With the defaults a new leader is elected about 1.2-1.6 s after the old
/// one dies: openraft 0.9 followers refuse votes for a leader lease of
/// `election_timeout_max_ms` after the last heartbeat, and a candidate
/// campaigns after a random `[min, max)` election timeout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftSection {
    /// Leader heartbeat period.
    pub heartbeat_interval_ms: u64,
    /// A follower that hears no leader for a random time in
    /// `[election_timeout_min_ms, election_timeout_max_ms)` starts an
    /// election. Must exceed `heartbeat_interval_ms`.
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// Build a snapshot after this many log entries since the last one.
    pub snapshot_logs_since_last: u64,
    /// Entries kept in the log after a snapshot, so that briefly lagging
    /// followers catch up from the log instead of a snapshot.
    pub max_in_snapshot_log_to_keep: u64,
    /// Timeout of one snapshot chunk transfer.
    pub install_snapshot_timeout_ms: u64,
}

impl Default for RaftSection {
    fn default() -> Self {
        RaftSection {
            heartbeat_interval_ms: 100,
            election_timeout_min_ms: 400,
            election_timeout_max_ms: 800,
            snapshot_logs_since_last: 5000,
            max_in_snapshot_log_to_keep: 1000,
            install_snapshot_timeout_ms: 10_000,
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub id: u64,
    pub cluster_name: String,
    pub listen: SocketAddr,
    pub advertise: String,
    pub peer_listen: SocketAddr,
    pub peer_advertise: String,
    pub peer_source_addr: Option<IpAddr>,
    pub data_dir: PathBuf,
    pub raft: RaftSection,
    /// `kafka.bootstrap_servers`, if set.
    pub kafka_bootstrap_servers: Option<String>,
    /// `metrics.listen`, if set.
    pub metrics_listen: Option<SocketAddr>,
    /// `[rest]`, if `rest.listen` is set.
    pub rest: Option<RestConfig>,
    /// `[tls.*]` and `[auth]`, with their files loaded.
    pub security: Security,
    /// `[node] capacity`.
    pub capacity: Option<u32>,
    /// `[node] labels`.
    pub labels: std::collections::BTreeMap<String, String>,
    /// `[node] worker`.
    pub worker: bool,
    /// `[placement]`.
    pub placement: PlacementConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {field}: {message}")]
    Parse {
        path: PathBuf,
        field: String,
        message: String,
        #[source]
        source: toml::de::Error,
    },
    #[error("{path}: {field}: {reason}")]
    Invalid {
        path: PathBuf,
        field: &'static str,
        reason: String,
    },
    /// A certificate, key or token file named by `field` is unusable.
    #[error("{path}: {field}")]
    Material {
        path: PathBuf,
        field: &'static str,
        #[source]
        source: security::MaterialError,
    },
}

impl NodeConfig {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates config text; `path` is only used in errors.
    pub fn parse(path: &Path, text: &str) -> Result<NodeConfig, ConfigError> {
        let parse_error = |field: String, source: toml::de::Error| ConfigError::Parse {
            path: path.to_path_buf(),
            field,
            message: source.message().to_string(),
            source,
        };
        let deserializer = toml::Deserializer::parse(text).map_err(|e| parse_error("(file)".into(), e))?;
        let file: FileConfig = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let mut field = e.path().to_string();
            let source = e.into_inner();
            // A missing key is reported at its table: name the key. (An
            // unknown key is already part of the path.)
            if let Some(key) = source
                .message()
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
            {
                field = if field == "." { key.to_string() } else { format!("{field}.{key}") };
            }
            parse_error(field, source)
        })?;
        file.validate(path)
    }
}

impl FileConfig {
    fn validate(self, path: &Path) -> Result<NodeConfig, ConfigError> {
        let invalid = |field: &'static str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            field,
            reason,
        };
        let node = self.node;
        let raft = self.raft;
        let control_scheme = if self.tls.control.is_some() {
            "https://"
        } else {
            "http://"
        };
        let kafka_bootstrap_servers = match self.kafka.bootstrap_servers {
            Some(servers) if servers.split(',').any(|s| !s.trim().contains(':')) => {
                return Err(invalid(
                    "kafka.bootstrap_servers",
                    format!("\"{servers}\" must be host:port[,host:port...]"),
                ))
            }
            other => other,
        };
        if node.id == 0 {
            return Err(invalid("node.id", "must be at least 1".into()));
        }
        if node.cluster_name.is_empty()
            || !node
                .cluster_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(invalid(
                "node.cluster_name",
                format!("\"{}\" must be non-empty ASCII letters, digits, '.', '_' or '-'", node.cluster_name),
            ));
        }
        let socket = |field: &'static str, value: &str| {
            value
                .parse::<SocketAddr>()
                .map_err(|e| invalid(field, format!("\"{value}\" is not an ip:port address ({e})")))
        };
        let listen = socket("node.listen", &node.listen)?;
        let peer_listen = socket("node.peer_listen", &node.peer_listen)?;
        let metrics_listen = self
            .metrics
            .listen
            .map(|addr| socket("metrics.listen", &addr))
            .transpose()?;
        if let Some(addr) = metrics_listen.filter(|a| *a == listen || *a == peer_listen) {
            return Err(invalid("metrics.listen", format!("{addr} is already node.listen or node.peer_listen")));
        }
        let rest = match self.rest.listen {
            None if self.rest.advertise.is_some() => {
                return Err(invalid("rest.advertise", "needs rest.listen".into()))
            }
            None => None,
            Some(addr) => {
                let rest_listen = socket("rest.listen", &addr)?;
                if [Some(listen), Some(peer_listen), metrics_listen].contains(&Some(rest_listen)) {
                    return Err(invalid(
                        "rest.listen",
                        format!("{rest_listen} is already node.listen, node.peer_listen or metrics.listen"),
                    ));
                }
                let advertise = match self.rest.advertise {
                    Some(url) => {
                        let rest = url.strip_prefix(control_scheme).ok_or_else(|| {
                            invalid(
                                "rest.advertise",
                                format!("\"{url}\" must start with {control_scheme} (TLS is set by [tls.control])"),
                            )
                        })?;
                        if rest.is_empty() || !rest.contains(':') {
                            return Err(invalid("rest.advertise", format!("\"{url}\" needs a host and a port")));
                        }
                        url.trim_end_matches('/').to_string()
                    }
                    None if rest_listen.ip().is_unspecified() => {
                        return Err(invalid(
                            "rest.advertise",
                            format!("required when rest.listen ({rest_listen}) is a wildcard address"),
                        ))
                    }
                    None => format!("{control_scheme}{rest_listen}"),
                };
                Some(RestConfig {
                    listen: rest_listen,
                    advertise,
                })
            }
        };
        let advertise = match node.advertise {
            Some(url) => {
                let rest = url
                    .strip_prefix("http://")
                    .or_else(|| url.strip_prefix("https://"))
                    .ok_or_else(|| invalid("node.advertise", format!("\"{url}\" must start with http:// or https://")))?;
                if rest.is_empty() || !rest.contains(':') {
                    return Err(invalid("node.advertise", format!("\"{url}\" needs a host and a port")));
                }
                if !url.starts_with(control_scheme) {
                    return Err(invalid(
                        "node.advertise",
                        format!("\"{url}\" must start with {control_scheme} (TLS is set by [tls.control])"),
                    ));
                }
                url.trim_end_matches('/').to_string()
            }
            None if listen.ip().is_unspecified() => {
                return Err(invalid(
                    "node.advertise",
                    format!("required when node.listen ({listen}) is a wildcard address"),
                ))
            }
            None => format!("{control_scheme}{listen}"),
        };
        let peer_advertise = match node.peer_advertise {
            Some(addr) if !addr.contains(':') || addr.contains("://") => {
                return Err(invalid("node.peer_advertise", format!("\"{addr}\" must be host:port")))
            }
            Some(addr) => addr,
            None if peer_listen.ip().is_unspecified() => {
                return Err(invalid(
                    "node.peer_advertise",
                    format!("required when node.peer_listen ({peer_listen}) is a wildcard address"),
                ))
            }
            None => peer_listen.to_string(),
        };
        let peer_source_addr = node
            .peer_source_addr
            .map(|ip| {
                ip.parse::<IpAddr>()
                    .map_err(|e| invalid("node.peer_source_addr", format!("\"{ip}\" is not an IP address ({e})")))
            })
            .transpose()?;
        if node.data_dir.as_os_str().is_empty() {
            return Err(invalid("node.data_dir", "must not be empty".into()));
        }
        if raft.heartbeat_interval_ms == 0 {
            return Err(invalid("raft.heartbeat_interval_ms", "must be at least 1".into()));
        }
        if raft.election_timeout_min_ms <= raft.heartbeat_interval_ms {
            return Err(invalid(
                "raft.election_timeout_min_ms",
                format!(
                    "{} must exceed raft.heartbeat_interval_ms ({})",
                    raft.election_timeout_min_ms, raft.heartbeat_interval_ms
                ),
            ));
        }
        if raft.election_timeout_max_ms <= raft.election_timeout_min_ms {
            return Err(invalid(
                "raft.election_timeout_max_ms",
                format!(
                    "{} must exceed raft.election_timeout_min_ms ({})",
                    raft.election_timeout_max_ms, raft.election_timeout_min_ms
                ),
            ));
        }
        if raft.snapshot_logs_since_last == 0 {
            return Err(invalid("raft.snapshot_logs_since_last", "must be at least 1".into()));
        }
        if raft.install_snapshot_timeout_ms == 0 {
            return Err(invalid("raft.install_snapshot_timeout_ms", "must be at least 1".into()));
        }
        if node.capacity == Some(0) {
            return Err(invalid("node.capacity", "must be at least 1 (or absent for no limit)".into()));
        }
        let label_text: Vec<String> = node.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        crate::placement::constraints::parse_labels(&label_text.join(",")).map_err(|reason| invalid("node.labels", reason))?;
        let policy = match self.placement.policy.as_str() {
            "spread" => crate::placement::policy::Policy::Spread,
            "leader" => crate::placement::policy::Policy::Leader,
            other => return Err(invalid("placement.policy", format!("\"{other}\" must be spread or leader"))),
        };
        if self.placement.lease_timeout_ms < 4 * raft.heartbeat_interval_ms {
            return Err(invalid(
                "placement.lease_timeout_ms",
                format!("{} must be at least 4 x raft.heartbeat_interval_ms ({})", self.placement.lease_timeout_ms, raft.heartbeat_interval_ms),
            ));
        }
        let placement = PlacementConfig {
            policy,
            lease_timeout: std::time::Duration::from_millis(self.placement.lease_timeout_ms),
            settle: std::time::Duration::from_millis(self.placement.settle_ms),
        };
        let security = self.tls.load(self.auth, path)?;
        Ok(NodeConfig {
            capacity: node.capacity,
            labels: node.labels,
            worker: node.worker,
            placement,
            id: node.id,
            cluster_name: node.cluster_name,
            listen,
            advertise,
            peer_listen,
            peer_advertise,
            peer_source_addr,
            data_dir: node.data_dir,
            raft,
            kafka_bootstrap_servers,
            metrics_listen,
            rest,
            security,
        })
    }
}

impl NodeConfig {
    /// openraft's config derived from ours.
    pub fn openraft(&self) -> Result<openraft::Config, openraft::ConfigError> {
        openraft::Config {
            cluster_name: self.cluster_name.clone(),
            heartbeat_interval: self.raft.heartbeat_interval_ms,
            election_timeout_min: self.raft.election_timeout_min_ms,
            election_timeout_max: self.raft.election_timeout_max_ms,
            install_snapshot_timeout: self.raft.install_snapshot_timeout_ms,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.raft.snapshot_logs_since_last),
            max_in_snapshot_log_to_keep: self.raft.max_in_snapshot_log_to_keep,
            ..Default::default()
        }
        .validate()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The smallest valid node config.
    pub(crate) const GOOD: &str = r#"
[node]
id = 1
listen = "127.0.0.1:7001"
peer_listen = "127.0.0.1:7101"
data_dir = "/tmp/x"
"#;

    fn err(text: &str) -> String {
        NodeConfig::parse(Path::new("node.toml"), text).unwrap_err().to_string()
    }

    #[test]
    fn defaults_fill_in() {
        let c = NodeConfig::parse(Path::new("node.toml"), GOOD).unwrap();
        assert_eq!(c.advertise, "http://127.0.0.1:7001");
        assert_eq!(c.peer_advertise, "127.0.0.1:7101");
        assert_eq!(c.cluster_name, "raftcdc");
        c.openraft().unwrap();
    }

    #[test]
    fn errors_name_the_field() {
        assert!(err(&GOOD.replace("id = 1", "id = 1\nfoo = 2")).contains("node.foo"), "{}", err(&GOOD.replace("id = 1", "id = 1\nfoo = 2")));
        assert!(err(&format!("{GOOD}\n[bogus]\nx=1")).contains("bogus"));
        assert!(err(&GOOD.replace("id = 1\n", "")).contains("node.id: missing field"), "{}", err(&GOOD.replace("id = 1\n", "")));
        assert!(!err(&GOOD.replace("id = 1", "id = 1\nfoo = 2")).contains("node.foo.foo"));
        assert!(err(&GOOD.replace("id = 1\n", "")).contains("missing field `id`"));
        assert!(err(&GOOD.replace("id = 1", "id = 0")).contains("node.id"));
        assert!(err(&GOOD.replace("id = 1", "id = \"one\"")).contains("node.id"));
        assert!(err(&GOOD.replace("127.0.0.1:7001", "nope")).contains("node.listen"));
        assert!(err(&format!("{GOOD}\n[raft]\nelection_timeout_min_ms = 50")).contains("raft.election_timeout_min_ms"));
        assert!(err(&format!("{GOOD}\n[raft]\nheartbeat_ms = 50")).contains("raft.heartbeat_ms"));
        assert!(err(&GOOD.replace("127.0.0.1:7001", "0.0.0.0:7001")).contains("node.advertise"));
        assert!(err(&format!("{GOOD}\n[kafka]\nbootstrap_servers = \"kafka\"")).contains("kafka.bootstrap_servers"));
        assert!(err(&format!("{GOOD}\n[kafka]\nbootstrap = \"k:9092\"")).contains("kafka.bootstrap"));
        assert!(err(&format!("{GOOD}\n[metrics]\nlisten = \"nope\"")).contains("metrics.listen"));
        assert!(err(&format!("{GOOD}\n[metrics]\nlisten = \"127.0.0.1:7001\"")).contains("metrics.listen"));
        assert!(err(&format!("{GOOD}\n[metrics]\nport = 7201")).contains("metrics.port"));
    }

    #[test]
    fn placement_settings() {
        let config = NodeConfig::parse(Path::new("node.toml"), GOOD).unwrap();
        assert_eq!(config.placement.policy, crate::placement::policy::Policy::Spread);
        assert_eq!((config.capacity, config.worker), (None, false));
        let config = NodeConfig::parse(
            Path::new("node.toml"),
            &format!("{}\n[placement]\npolicy = \"leader\"", GOOD.replace("id = 1", "id = 1\ncapacity = 4\nlabels = {zone = \"a\"}")),
        )
        .unwrap();
        assert_eq!(config.placement.policy, crate::placement::policy::Policy::Leader);
        assert_eq!((config.capacity, config.labels.get("zone").map(String::as_str)), (Some(4), Some("a")));
        for (text, field) in [
            (GOOD.replace("id = 1", "id = 1\ncapacity = 0"), "node.capacity"),
            (GOOD.replace("id = 1", "id = 1\nlabels = {\"z one\" = \"a\"}"), "node.labels"),
            (format!("{GOOD}\n[placement]\npolicy = \"random\""), "placement.policy"),
            (format!("{GOOD}\n[placement]\nlease_timeout_ms = 10"), "placement.lease_timeout_ms"),
        ] {
            let error = NodeConfig::parse(Path::new("node.toml"), &text).unwrap_err().to_string();
            assert!(error.starts_with(&format!("node.toml: {field}: ")), "{text}: {error}");
        }
    }

    #[test]
    fn rest_section() {
        let parse = |extra: &str| NodeConfig::parse(Path::new("node.toml"), &format!("{GOOD}\n[rest]\n{extra}"));
        assert_eq!(NodeConfig::parse(Path::new("node.toml"), GOOD).unwrap().rest, None);
        let rest = parse("listen = \"127.0.0.1:8083\"").unwrap().rest.unwrap();
        assert_eq!(rest.advertise, "http://127.0.0.1:8083");
        let rest = parse("listen = \"0.0.0.0:8083\"\nadvertise = \"http://h1:8083/\"").unwrap().rest.unwrap();
        assert_eq!(rest.advertise, "http://h1:8083");
        for (extra, field) in [
            ("listen = \"0.0.0.0:8083\"", "rest.advertise"),
            ("advertise = \"http://h1:8083\"", "rest.advertise"),
            ("listen = \"127.0.0.1:8083\"\nadvertise = \"https://h1:8083\"", "rest.advertise"),
            ("listen = \"nope\"", "rest.listen"),
            ("port = 1", "rest.port"),
        ] {
            let error = parse(extra).unwrap_err().to_string();
            assert!(error.starts_with(&format!("node.toml: {field}: ")), "{extra}: {error}");
        }
    }

    #[test]
    fn metrics_endpoint_is_off_unless_configured() {
        let c = NodeConfig::parse(Path::new("node.toml"), GOOD).unwrap();
        assert_eq!(c.metrics_listen, None);
        let c = NodeConfig::parse(Path::new("node.toml"), &format!("{GOOD}\n[metrics]\nlisten = \"0.0.0.0:7201\"")).unwrap();
        assert_eq!(c.metrics_listen, Some("0.0.0.0:7201".parse().unwrap()));
    }
}

#[cfg(test)]
mod property_tests {
    //! Arbitrary input never panics the parser, and every refusal names a
    //! field: the one that was changed, or one it is checked against.
    use super::*;
    use proptest::prelude::*;

    const BASE: &[(&str, &str)] = &[
        ("node.id", "1"),
        ("node.cluster_name", "\"c1\""),
        ("node.listen", "\"127.0.0.1:7001\""),
        ("node.peer_listen", "\"127.0.0.1:7101\""),
        ("node.data_dir", "\"/tmp/x\""),
    ];
    /// Every field of the file, as `section.key`.
    const FIELDS: &[&str] = &[
        "node.id",
        "node.cluster_name",
        "node.listen",
        "node.advertise",
        "node.peer_listen",
        "node.peer_advertise",
        "node.peer_source_addr",
        "node.data_dir",
        "raft.heartbeat_interval_ms",
        "raft.election_timeout_min_ms",
        "raft.election_timeout_max_ms",
        "raft.snapshot_logs_since_last",
        "raft.max_in_snapshot_log_to_keep",
        "raft.install_snapshot_timeout_ms",
        "kafka.bootstrap_servers",
        "rest.listen",
        "rest.advertise",
    ];

    /// Fields whose validity depends on `field`'s value.
    fn related(field: &str) -> &'static [&'static str] {
        match field {
            "node.listen" | "node.advertise" => &["node.listen", "node.advertise"],
            "node.peer_listen" | "node.peer_advertise" => &["node.peer_listen", "node.peer_advertise"],
            "rest.listen" | "rest.advertise" => &["rest.listen", "rest.advertise"],
            // The lease timeout is checked against the heartbeat interval.
            f if f.starts_with("raft.") && f.contains("election_timeout") || f == "raft.heartbeat_interval_ms" => &[
                "raft.heartbeat_interval_ms",
                "raft.election_timeout_min_ms",
                "raft.election_timeout_max_ms",
                "placement.lease_timeout_ms",
            ],
            _ => &[],
        }
    }

    /// A TOML file from `section.key = value` lines.
    fn render(fields: &[(String, String)]) -> String {
        let mut text = String::new();
        for section in ["node", "raft", "kafka", "rest"] {
            let lines: Vec<String> = fields
                .iter()
                .filter_map(|(f, v)| f.strip_prefix(&format!("{section}.")).map(|k| format!("{k} = {v}\n")))
                .collect();
            if !lines.is_empty() {
                text.push_str(&format!("[{section}]\n{}", lines.concat()));
            }
        }
        text
    }

    /// Any TOML value, written as TOML (strings quoted and escaped).
    fn toml_value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>().prop_map(|s| toml::Value::String(s).to_string()),
            "[0-9a-z.:/\\[\\], -]{0,30}".prop_map(|s| toml::Value::String(s).to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            (0u64..2000).prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| toml::Value::Float(f).to_string()),
            any::<bool>().prop_map(|b| b.to_string()),
            Just("[1, \"a\"]".to_string()),
            Just("{ x = 1 }".to_string()),
        ]
    }

    fn parse(text: &str) -> Result<NodeConfig, ConfigError> {
        NodeConfig::parse(Path::new("node.toml"), text)
    }

    fn field_of(error: &ConfigError) -> String {
        match error {
            ConfigError::Parse { field, .. } => field.clone(),
            ConfigError::Invalid { field, .. } | ConfigError::Material { field, .. } => field.to_string(),
            ConfigError::Read { .. } => unreachable!("parse reads no file"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            if let Err(e) = parse(&text) {
                prop_assert!(e.to_string().starts_with("node.toml: "), "{e}");
                prop_assert!(!field_of(&e).is_empty());
            }
        }

        #[test]
        fn toml_ish_text_never_panics(
            text in "(\\[(node|raft|kafka|x)\\]\n|[a-z_]{1,24} = (\"[^\"\\\\\n]{0,24}\"|-?[0-9]{1,22}|true|\\[\\]|\\{\\})\n|#[^\n]{0,10}\n){0,12}"
        ) {
            if let Err(e) = parse(&text) {
                prop_assert!(!field_of(&e).is_empty(), "{e}");
            }
        }

        #[test]
        fn one_arbitrary_field_value_is_refused_by_name(
            field in proptest::sample::select(FIELDS),
            value in toml_value(),
        ) {
            let mut fields: Vec<(String, String)> = BASE
                .iter()
                .filter(|(f, _)| *f != field)
                .map(|(f, v)| (f.to_string(), v.to_string()))
                .collect();
            fields.push((field.to_string(), value.clone()));
            let text = render(&fields);
            match parse(&text) {
                Ok(config) => {
                    // Whatever was accepted is usable by openraft too.
                    prop_assert!(config.openraft().is_ok(), "{text}");
                }
                Err(e) => {
                    let named = field_of(&e);
                    prop_assert!(
                        named == field || related(field).contains(&named.as_str()),
                        "changed {field} = {value}, error names {named}: {e}"
                    );
                    prop_assert!(e.to_string().starts_with(&format!("node.toml: {named}: ")), "{e}");
                }
            }
        }

        #[test]
        fn an_unknown_field_is_named(section in "node|raft|kafka", key in "[a-z][a-z_]{0,20}", value in toml_value()) {
            let known = FIELDS.contains(&format!("{section}.{key}").as_str()) || key == "id";
            prop_assume!(!known);
            let mut fields: Vec<(String, String)> = BASE.iter().map(|(f, v)| (f.to_string(), v.to_string())).collect();
            fields.push((format!("{section}.{key}"), value));
            let e = parse(&render(&fields)).unwrap_err();
            prop_assert_eq!(field_of(&e), format!("{section}.{key}"), "{}", e);
        }
    }
}
