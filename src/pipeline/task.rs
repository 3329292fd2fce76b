//! One connector's task under one epoch.
//!
//! The task announces itself with `ReportTaskStatus` under its epoch; if the
//! state machine answers `StaleEpoch` it has been deposed and ends at once.
//! It then holds ownership until the supervisor stops it.
//!
//! The MySQL source and the exactly-once Kafka sink plug in here (issues
//! #3 and #4): the task will read the binlog from the committed offset,
//! deliver transaction-aligned batches, and commit offsets with
//! `CommitOffset` under the same epoch.
use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::watch;

use crate::node::{error_chain, Node, NodeError};
use crate::raft::command::{Command, CommandError};
use crate::raft::state::TaskState;

pub struct TaskContext {
    pub node: Arc<Node>,
    pub name: String,
    pub epoch: u64,
    /// The connector's config at this epoch (used by the source and sink).
    #[allow(dead_code)]
    pub config: BTreeMap<String, String>,
    pub stopped: watch::Receiver<bool>,
}

pub async fn run(mut context: TaskContext) {
    let report = Command::ReportTaskStatus {
        name: context.name.clone(),
        epoch: context.epoch,
        node_id: context.node.id,
        state: TaskState::Running,
        error: None,
        remedy: None,
    };
    // Announce the task; transient failures (no leader yet, a forward that
    // timed out) are retried until the task is stopped.
    loop {
        let reported = tokio::select! {
            r = context.node.propose(report.clone()) => r,
            _ = context.stopped.wait_for(|s| *s) => return,
        };
        match reported {
            Ok(_) => {
                tracing::info!(connector = %context.name, epoch = context.epoch, "task running");
                break;
            }
            Err(NodeError::Rejected(CommandError::StaleEpoch { current, .. })) => {
                tracing::warn!(connector = %context.name, epoch = context.epoch, current, "deposed: a newer epoch exists; stopping");
                return;
            }
            Err(error) => {
                tracing::warn!(connector = %context.name, error = %error_chain(&error), "cannot report task status; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                    _ = context.stopped.wait_for(|s| *s) => return,
                }
            }
        }
    }
    let _ = context.stopped.wait_for(|s| *s).await;
}
