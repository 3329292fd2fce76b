//! Raft: the replicated control plane.
//!
//! One Raft group (openraft 0.9) replicates the cluster's whole state: the
//! connectors, their owners and epochs, committed source offsets, schema
//! history and snapshot progress ([`state::ClusterState`]).
//!
//! - [`command`]: what may be proposed, and what applying it answers.
//! - [`state`]: the deterministic apply function; all fencing rules live here.
//! - [`log_store`]: the durable Raft log on the [`crate::storage`] seam.
//! - [`state_machine`]: applies entries, builds and installs snapshots.
//! - [`network`]: the gRPC transport to peers, including forwarding.
//!
//! The type configuration is declared once here with short aliases in [`typ`].
use std::fmt;
use std::io::Cursor;

pub mod command;
pub mod log_store;
pub mod network;
pub mod state;
pub mod state_machine;

/// A node's id: unique in the cluster, chosen by the operator, never reused.
pub type NodeId = u64;

/// What the membership records about a node: where to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Node {
    /// Advertised control endpoint, `http://host:port`.
    pub api_addr: String,
    /// Advertised peer address, `host:port`.
    pub raft_addr: String,
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{api: {}, raft: {}}}", self.api_addr, self.raft_addr)
    }
}

openraft::declare_raft_types!(
    /// raftcdc's openraft type configuration.
    pub TypeConfig:
        D = command::Proposal,
        R = command::CommandReply,
        NodeId = NodeId,
        Node = Node,
        SnapshotData = Cursor<Vec<u8>>,
);

/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;

/// Short aliases of openraft's generic types.
pub mod typ {
    use super::{Node, NodeId, TypeConfig};
    pub use openraft::error::Infallible;

    pub type Entry = openraft::Entry<TypeConfig>;
    pub type LogId = openraft::LogId<NodeId>;
    pub type Vote = openraft::Vote<NodeId>;
    pub type StoredMembership = openraft::StoredMembership<NodeId, Node>;
    pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, Node>;
    pub type Snapshot = openraft::storage::Snapshot<TypeConfig>;
    pub type StorageError = openraft::StorageError<NodeId>;
    pub type RaftMetrics = openraft::RaftMetrics<NodeId, Node>;

    pub type RaftError<E = Infallible> = openraft::error::RaftError<NodeId, E>;
    pub type RPCError<E = Infallible> = openraft::error::RPCError<NodeId, Node, RaftError<E>>;
    pub type ClientWriteError = openraft::error::ClientWriteError<NodeId, Node>;
    pub type ForwardToLeader = openraft::error::ForwardToLeader<NodeId, Node>;
    pub type InitializeError = openraft::error::InitializeError<NodeId, Node>;
    pub type InstallSnapshotError = openraft::error::InstallSnapshotError;
    pub type ClientWriteResponse = openraft::raft::ClientWriteResponse<TypeConfig>;
    pub type AppendEntriesRequest = openraft::raft::AppendEntriesRequest<TypeConfig>;
    pub type AppendEntriesResponse = openraft::raft::AppendEntriesResponse<NodeId>;
    pub type InstallSnapshotRequest = openraft::raft::InstallSnapshotRequest<TypeConfig>;
    pub type InstallSnapshotResponse = openraft::raft::InstallSnapshotResponse<NodeId>;
    pub type VoteRequest = openraft::raft::VoteRequest<NodeId>;
    pub type VoteResponse = openraft::raft::VoteResponse<NodeId>;
}
