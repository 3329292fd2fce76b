//! Connector ownership: who runs each connector, and running it.
//!
//! - [`supervisor`]: on every node, starts the task of each connector this
//!   node owns at its current epoch and stops tasks it no longer owns.
//! - [`task`]: one connector's task under one epoch.
//! - [`queue`]: the owner's queue from the source to delivery, bounded by
//!   records and bytes.
//! - [`fault`]: freeze points the chaos suite arms; inert in production.
//!
//! # Fencing, end to end
//! Owners are chosen by [`crate::placement`]. A task carries the epoch it
//! was started under. It stops when its node sees a newer epoch, and every write it makes carries
//! its epoch, which the state machine rejects once stale
//! ([`crate::raft::state`]). A task on a frozen or partitioned node that
//! wakes up late can therefore still *try* to write, but nothing it writes
//! under the old epoch takes effect.
use std::sync::Arc;

use crate::node::Node;

pub mod fault;
pub mod queue;
pub mod supervisor;
pub mod task;

/// Starts the node's supervisor.
pub fn spawn(node: Arc<Node>) -> Vec<tokio::task::JoinHandle<()>> {
    vec![tokio::spawn(supervisor::run(node))]
}
