//! The leader's assigner: every connector that should run gets the leader
//! as its owner, under a new epoch.
//!
//! It reacts to applied entries and to Raft metrics (leadership changes),
//! with a slow tick as a safety net. `AssignOwner` is compare-and-set on the
//! epoch the assigner saw, so a stale view (the new leader has not applied
//! everything yet, or two leaders overlap briefly) can only lose the race,
//! never hand out the same epoch twice. Assignments are proposed only on
//! this node's own Raft (never forwarded): a leader that was frozen and
//! wakes up still believing it leads cannot have the real leader apply its
//! claim; its own log entry can never commit.
//!
//! A leader that already owns a connector keeps its epoch (for example
//! after the whole cluster restarted and it won again): the only other
//! holder of that epoch would be this node's own previous process, which
//! is gone (sled locks the data directory), or a task of this process that
//! the supervisor stops and awaits before starting the next one. Kafka
//! fencing by `transactional.id` covers the producer side regardless.
use std::sync::Arc;
use std::time::Duration;

use crate::node::Node;
use crate::raft::command::{Command, CommandError};
use crate::raft::state::DesiredState;
use crate::node::NodeError;

pub async fn run(node: Arc<Node>) {
    let mut changes = node.subscribe_changes();
    let mut metrics = node.raft.metrics();
    loop {
        if node.is_leader() {
            assign_all(&node).await;
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            r = metrics.changed() => if r.is_err() { return },
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn assign_all(node: &Node) {
    let wanted: Vec<(String, u64)> = node
        .select_connectors(|c| {
            (c.desired == DesiredState::Running && c.owner != Some(node.id)).then(|| (c.name.clone(), c.epoch))
        })
        .await;
    for (name, expected_epoch) in wanted {
        let command = Command::AssignOwner {
            name: name.clone(),
            node_id: node.id,
            expected_epoch,
        };
        // Never forwarded: a stale leader's claim must not reach the real one.
        match node.propose_as_leader(command).await {
            Ok(Some(record)) => {
                tracing::info!(connector = %name, epoch = record.epoch, "took ownership");
            }
            Ok(None) => {}
            // Someone changed the connector meanwhile; the next pass sees it.
            Err(NodeError::Rejected(CommandError::EpochMismatch { .. } | CommandError::NotFound { .. })) => {}
            Err(error) => {
                tracing::debug!(connector = %name, error = %crate::error::error_chain(&error), "assignment failed; will retry");
                return;
            }
        }
    }
}
