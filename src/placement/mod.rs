//! Placement: which node owns each connector, decided by the Raft leader
//! and written through Raft, one compare-and-set `AssignOwner` per move.
//!
//! - [`policy`]: the decision, a pure function of the replicated state and
//!   the leader's liveness view ([`policy::plan`]).
//! - [`liveness`]: the leader's view of which nodes are alive and settled.
//! - [`assigner`]: the leader's loop: gathers the input, plans, proposes.
//! - [`lease`]: every node's loop renewing its lease through Raft, with the
//!   recent events/s of the connectors it runs.
//! - [`constraints`]: the connector properties `raftcdc.placement.node` and
//!   `raftcdc.placement.labels`.
//!
//! # Why ownership stays exclusive
//! Placement only ever proposes `AssignOwner { expected_epoch }`, and only
//! on the leader's own Raft (never forwarded): a node that merely believes
//! it leads cannot have its decision applied, and two decisions made from
//! the same view cannot both win, since the first raises the epoch. Every
//! move therefore takes a fresh epoch, and the takeover order of
//! [`crate::pipeline::task`] (claim under the epoch, `init_transactions`,
//! read progress, resume) fences whoever ran the connector before, alive,
//! frozen or cut off. Placement decides *where*; it never weakens *once*.
//!
//! # How the leader knows an owner is gone
//! Every node renews a lease through Raft every quarter of
//! `placement.lease_timeout_ms` (a `RenewLease` entry, which also carries
//! its connectors' events/s, so load reports cost nothing extra). The
//! leader notes, on its own monotonic clock, when it sees each node's
//! renewal count change in the applied state, and when the node's Raft
//! replication progress (the index the leader knows it holds) advances. A
//! node seen by neither for `lease_timeout_ms` is gone. This needs no
//! clock agreement between nodes and no outside coordinator, and a
//! renewal that commits proves the node can reach a quorum, which is what
//! its tasks need too. A dedicated probe would be cheaper still, but would
//! only prove the process answers, not that its writes commit; the leases
//! are a few small entries a second, whatever the number of connectors.
//!
//! A node that becomes leader starts every other node's lease afresh (they
//! get one timeout to show up), except the former leader's: an election
//! means it stopped heartbeating, so its connectors move at once, as they
//! did before placement existed (leader failover is as fast as ever).
//!
//! # Stability (hysteresis)
//! - A node is gone only after a whole lease timeout without a renewal.
//! - A node that comes (back) receives voluntary moves only after
//!   `placement.settle_ms` of uninterrupted liveness, so a flapping node is
//!   never handed connectors between two of its failures.
//! - At most one voluntary move runs at a time cluster-wide: the next
//!   waits until the moved connector reports RUNNING under its new epoch
//!   (or [`assigner::MOVE_SETTLE_LIMIT`] passes, so a connector that
//!   cannot start never blocks placement).
//! - Loads are quantised ([`policy::weight`]) and a balancing move must
//!   narrow the gap by a margin, so the next plan never undoes it.
use std::sync::Arc;

use crate::node::Node;

pub mod assigner;
pub mod constraints;
pub mod lease;
pub mod liveness;
pub mod policy;

pub use constraints::{parse_labels, PlacementConstraints};
pub use policy::Policy;

/// Starts the leader's assigner and this node's lease renewal.
pub fn spawn(node: Arc<Node>) -> Vec<tokio::task::JoinHandle<()>> {
    vec![tokio::spawn(assigner::run(node.clone())), tokio::spawn(lease::run(node))]
}
