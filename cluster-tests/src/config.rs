//! The node config files the harness writes (`nodeN.toml`).
//!
//! This module owns the mapping from a node's harness-chosen addresses to
//! the `[node]`/`[raft]`/`[kafka]`/`[metrics]`/`[rest]` TOML that `raftcdc serve` reads. It is correct
//! because it writes only the fields of the node's config contract, every
//! string through a TOML-safe quoting, and it leaves Raft timing at the
//! node's defaults: the tests check behaviour under the settings operators
//! get, and only the snapshot thresholds are tunable, for the test that
//! needs snapshots to happen after a handful of writes. The `[tls.*]` and
//! `[auth]` sections are written only for clusters built with
//! [`crate::ClusterBuilder::security`].
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// Per-cluster Raft settings; `None` leaves the node's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaftTuning {
    /// Build a Raft snapshot after this many logs.
    pub snapshot_logs_since_last: Option<u64>,
    /// Logs kept after a snapshot before they are purged.
    pub max_in_snapshot_log_to_keep: Option<u64>,
}

/// The `[tls.*]` and `[auth]` files of one node; `None` leaves a section
/// out. See `raftcdc::config::security` for what each means.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecurityFiles {
    /// `[tls.control]`: certificate, key and optional `client_ca`.
    pub control_tls: Option<(PathBuf, PathBuf, Option<PathBuf>)>,
    /// `[tls.peer]`: certificate, key and CA.
    pub peer_tls: Option<(PathBuf, PathBuf, PathBuf)>,
    /// `[auth] token_file`.
    pub token_file: Option<PathBuf>,
}

/// Everything in one node's config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    pub id: u64,
    pub cluster_name: String,
    /// Control gRPC address; tests dial it directly.
    pub listen: SocketAddr,
    /// Real node-to-node listen address.
    pub peer_listen: SocketAddr,
    /// What other nodes dial: the node's partition proxy.
    pub peer_advertise: SocketAddr,
    /// The node's own IP, so the proxies can tell who is calling.
    pub peer_source_addr: IpAddr,
    pub data_dir: PathBuf,
    pub raft: RaftTuning,
    /// `[kafka] bootstrap_servers`, for tests that deliver to a broker.
    pub kafka_bootstrap: Option<String>,
    /// `[metrics] listen`: the node's Prometheus endpoint.
    pub metrics_listen: Option<SocketAddr>,
    /// `[rest] listen`: Kafka Connect's REST API, the console, `/metrics`.
    pub rest_listen: Option<SocketAddr>,
    /// TLS and token files.
    pub security: SecurityFiles,
    /// Extra `[node]` lines (placement settings), as written.
    pub node_settings: Option<String>,
}

impl NodeConfig {
    /// The config as TOML.
    pub fn to_toml(&self) -> String {
        let mut toml = String::from("[node]\n");
        let fields = [
            ("id", self.id.to_string()),
            ("cluster_name", quoted(&self.cluster_name)),
            ("listen", quoted(&self.listen.to_string())),
            (
                "advertise",
                quoted(&format!("{}://{}", self.control_scheme(), self.listen)),
            ),
            ("peer_listen", quoted(&self.peer_listen.to_string())),
            ("peer_advertise", quoted(&self.peer_advertise.to_string())),
            ("peer_source_addr", quoted(&self.peer_source_addr.to_string())),
            ("data_dir", quoted(&self.data_dir.to_string_lossy())),
        ];
        for (key, value) in fields {
            let _ = writeln!(toml, "{key} = {value}");
        }
        if let Some(extra) = &self.node_settings {
            let _ = writeln!(toml, "{extra}");
        }
        let raft = [
            ("snapshot_logs_since_last", self.raft.snapshot_logs_since_last),
            ("max_in_snapshot_log_to_keep", self.raft.max_in_snapshot_log_to_keep),
        ];
        if raft.iter().any(|(_, value)| value.is_some()) {
            toml.push_str("\n[raft]\n");
            for (key, value) in raft {
                if let Some(value) = value {
                    let _ = writeln!(toml, "{key} = {value}");
                }
            }
        }
        if let Some(bootstrap) = &self.kafka_bootstrap {
            let _ = write!(toml, "\n[kafka]\nbootstrap_servers = {}\n", quoted(bootstrap));
        }
        if let Some(listen) = &self.metrics_listen {
            let _ = write!(toml, "\n[metrics]\nlisten = {}\n", quoted(&listen.to_string()));
        }
        if let Some(listen) = &self.rest_listen {
            let _ = write!(toml, "\n[rest]\nlisten = {}\n", quoted(&listen.to_string()));
        }
        let path = |p: &PathBuf| quoted(&p.to_string_lossy());
        if let Some((cert, key, client_ca)) = &self.security.control_tls {
            let _ = write!(
                toml,
                "\n[tls.control]\ncert = {}\nkey = {}\n",
                path(cert),
                path(key)
            );
            if let Some(ca) = client_ca {
                let _ = writeln!(toml, "client_ca = {}", path(ca));
            }
        }
        if let Some((cert, key, ca)) = &self.security.peer_tls {
            let _ = write!(
                toml,
                "\n[tls.peer]\ncert = {}\nkey = {}\nca = {}\n",
                path(cert),
                path(key),
                path(ca)
            );
        }
        if let Some(token_file) = &self.security.token_file {
            let _ = write!(toml, "\n[auth]\ntoken_file = {}\n", path(token_file));
        }
        toml
    }

    /// `https` when the control API speaks TLS, else `http`.
    pub fn control_scheme(&self) -> &'static str {
        if self.security.control_tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

/// A TOML basic string. JSON string escaping (`\"`, `\\`, `\n`, `\uXXXX`…)
/// is a subset of TOML's basic-string escapes, so serde_json's quoting is
/// valid TOML for any input.
pub fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}
