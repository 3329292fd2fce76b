//! A raftcdc node: owns the Raft instance, its storage and the replicated
//! state this node has applied. It has no service code: the gRPC layer in
//! [`crate::api`] calls into it, and the background tasks
//! ([`crate::pipeline`]) read and propose through it.
//!
//! - this file: starting the node, reading the applied state, proposing
//!   commands, and the layer's error enum [`NodeError`].
//! - [`forward`]: running a write on the leader, locally or by forwarding.
//! - [`membership`]: cluster initialisation, adding and removing members,
//!   leadership transfer.
//! - [`status`]: what the node reports about itself and the cluster, as
//!   domain structs ([`crate::api`] turns them into protobuf; metrics read
//!   [`crate::metrics::MetricsSnapshot`]).
//!
//! The node imports nothing of the API layer: identities of other nodes
//! are read by the API layer (which owns the control client) and handed in
//! as [`status::NodeIdentity`].
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::ServerState;
use tokio::sync::{watch, RwLock};

use crate::config::NodeConfig;
use crate::metrics::Registry;
use crate::raft::command::{Command, CommandError, CommandReply, Proposal};
use crate::raft::log_store::LogStore;
use crate::raft::network::{ForwardError, ForwardReply, ForwardRequest, Network, PeerDialer, PeerError};
use crate::raft::state::{ClusterState, ConnectorRecord};
use crate::raft::state_machine::{Applied, StateMachineStore};
use crate::raft::{typ, Node as RaftNode, NodeId, Raft};
use crate::storage::{Store, StoreError};

pub mod forward;
pub mod membership;
pub mod status;

pub use status::{role_name, ClusterView, MemberView, NodeIdentity, NodePlacementView};

/// Timeout of one reachability probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(700);

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot create data directory {path}")]
    DataDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("storage failure")]
    Store(#[from] StoreError),
    #[error("raft storage failure")]
    RaftStorage(#[from] typ::StorageError),
    #[error("invalid raft settings")]
    RaftConfig(#[from] openraft::ConfigError),
    #[error("raft failed to start")]
    RaftStart(#[source] openraft::error::Fatal<NodeId>),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{0}")]
    Rejected(#[from] CommandError),
    #[error("{what}: {reason}")]
    Precondition { what: String, reason: String },
    #[error("no leader has been elected within {waited:?}; is a majority of voters up and reachable?")]
    NoLeader { waited: Duration },
    #[error("node {node_id} is not the leader")]
    NotLeader {
        node_id: NodeId,
        leader: Option<NodeId>,
        leader_api_addr: Option<String>,
    },
    #[error("raft write failed")]
    Write(#[source] RaftError<NodeId, ClientWriteError<NodeId, RaftNode>>),
    #[error("cluster initialisation failed")]
    Initialize(#[source] RaftError<NodeId, typ::InitializeError>),
    #[error("raft has stopped")]
    Fatal(#[source] openraft::error::Fatal<NodeId>),
    #[error("cannot reach {endpoint}")]
    Unreachable {
        endpoint: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("forwarding to leader node {leader} failed")]
    Forward {
        leader: NodeId,
        #[source]
        source: PeerError,
    },
    #[error("the leader refused the request: {0}")]
    Remote(ForwardError),
    #[error("timed out: {0}")]
    Timeout(String),
}

/// One node.
pub struct Node {
    pub id: NodeId,
    pub config: NodeConfig,
    pub raft: Raft,
    /// Prometheus metrics of this node's own work ([`crate::metrics`]).
    pub registry: Arc<Registry>,
    applied: Arc<RwLock<Applied>>,
    changes: watch::Receiver<u64>,
    dialer: PeerDialer,
}

impl Node {
    /// Opens storage and starts Raft. Background tasks are started by
    /// [`crate::pipeline::spawn`].
    pub async fn start(config: NodeConfig) -> Result<Arc<Node>, NodeError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| NodeError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let store = Store::open(&config.data_dir)?;
        let state_machine = StateMachineStore::open(store.clone()).await?;
        let applied = state_machine.applied();
        let changes = state_machine.subscribe();
        let registry = Arc::new(Registry::new(state_machine.snapshot_count()));
        let dialer = PeerDialer {
            cluster_name: config.cluster_name.clone(),
            source_addr: config.peer_source_addr,
            connect_timeout: Duration::from_millis(config.raft.election_timeout_min_ms.max(200)),
            tls: config
                .security
                .peer
                .as_ref()
                .map(|peer| peer.client.clone()),
        };
        let raft_config = Arc::new(config.openraft()?);
        let raft = Raft::new(
            config.id,
            raft_config,
            Network { dialer: dialer.clone() },
            LogStore::new(store),
            state_machine,
        )
        .await
        .map_err(NodeError::RaftStart)?;
        Ok(Arc::new(Node {
            id: config.id,
            config,
            raft,
            registry,
            applied,
            changes,
            dialer,
        }))
    }

    pub fn dialer(&self) -> &PeerDialer {
        &self.dialer
    }

    /// Changes whenever an entry is applied.
    pub fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    pub fn metrics(&self) -> typ::RaftMetrics {
        self.raft.metrics().borrow().clone()
    }

    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().state == ServerState::Leader
    }

    // ---- reads -------------------------------------------------------

    pub async fn connectors(&self) -> Vec<ConnectorRecord> {
        self.select_connectors(|c| Some(c.clone())).await
    }

    /// What `select` picks from each connector, without cloning whole
    /// records: the assigner and the supervisor run this after every
    /// applied entry, and a record's schema history grows without bound.
    pub async fn select_connectors<T>(&self, select: impl FnMut(&ConnectorRecord) -> Option<T>) -> Vec<T> {
        self.applied.read().await.state.connectors.values().filter_map(select).collect()
    }

    /// Reads the whole applied state at once (one consistent view).
    pub async fn read_state<T>(&self, read: impl FnOnce(&ClusterState) -> T) -> T {
        read(&self.applied.read().await.state)
    }

    pub async fn connector(&self, name: &str) -> Result<ConnectorRecord, NodeError> {
        self.read_connector(name, ConnectorRecord::clone).await
    }

    /// Reads part of a connector's record without cloning all of it (its
    /// schema history grows without bound; per-commit readers want one field).
    pub async fn read_connector<T>(&self, name: &str, read: impl FnOnce(&ConnectorRecord) -> T) -> Result<T, NodeError> {
        self.applied
            .read()
            .await
            .state
            .connectors
            .get(name)
            .map(read)
            .ok_or_else(|| CommandError::NotFound { name: name.to_string() }.into())
    }

    // ---- writes ------------------------------------------------------

    /// Proposes a state-machine command through the leader; a command the
    /// state machine refuses comes back as [`NodeError::Rejected`].
    pub async fn propose(&self, command: Command) -> Result<Option<ConnectorRecord>, NodeError> {
        let request = ForwardRequest::Propose {
            proposal: Proposal::now(command),
        };
        Self::command_reply(self.execute(request).await?)
    }

    /// Proposes a command only if this node is the leader, never by
    /// forwarding: for decisions that are only valid *as* the leader's (the
    /// assigner's), a node that merely believed it led must not have them
    /// applied by the real leader.
    pub async fn propose_as_leader(&self, command: Command) -> Result<Option<ConnectorRecord>, NodeError> {
        let request = ForwardRequest::Propose {
            proposal: Proposal::now(command),
        };
        Self::command_reply(self.execute_local(&request).await?)
    }

    fn command_reply(reply: ForwardReply) -> Result<Option<ConnectorRecord>, NodeError> {
        match reply {
            ForwardReply::Command {
                reply: CommandReply::Applied { connector },
            } => Ok(connector.map(|c| *c)),
            ForwardReply::Command {
                reply: CommandReply::Rejected(error),
            } => Err(error.into()),
            ForwardReply::Done => Ok(None),
        }
    }
}
