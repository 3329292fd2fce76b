//! The leader's assigner: after every applied entry, Raft metrics change
//! and a short tick, while this node leads, it gathers [`PlacementInput`]
//! from the applied state and its [`Liveness`] view, runs
//! [`policy::plan`] and proposes each move as `AssignOwner` on its own
//! Raft (never forwarded, see [`super`]). A rejected compare-and-set means
//! someone changed the connector meanwhile; the next pass sees it.
//!
//! A leader that already owns a connector keeps its epoch (for example
//! after the whole cluster restarted and it won again): the only other
//! holder of that epoch would be this node's own previous process, which
//! is gone (sled locks the data directory), or a task of this process that
//! the supervisor stops and awaits before starting the next one. Kafka
//! fencing by `transactional.id` covers the producer side regardless.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::ServerState;

use super::liveness::Liveness;
use super::policy::{self, ConnectorView, Move, NodeView, PlacementInput};
use super::PlacementConstraints;
use crate::error::error_chain;
use crate::node::{Node, NodeError};
use crate::raft::command::{Command, CommandError};
use crate::raft::state::{ClusterState, DesiredState, TaskState};
use crate::raft::NodeId;

/// A voluntary move stops blocking the next one after this long even if
/// its connector never reports RUNNING.
pub const MOVE_SETTLE_LIMIT: Duration = Duration::from_secs(30);
/// The safety-net tick: liveness changes with time alone.
const TICK: Duration = Duration::from_millis(200);

/// The voluntary move the cluster waits for.
struct InFlight {
    name: String,
    since: Instant,
}

pub async fn run(node: Arc<Node>) {
    let mut changes = node.subscribe_changes();
    let mut metrics = node.raft.metrics();
    // Per leadership term: the liveness view, and the last leader seen
    // before this node led.
    let mut view: Option<(u64, Liveness)> = None;
    let mut last_other_leader: Option<NodeId> = None;
    let mut in_flight: Option<InFlight> = None;
    loop {
        let m = node.metrics();
        if m.current_leader.is_some_and(|l| l != node.id) {
            last_other_leader = m.current_leader;
        }
        if m.state == ServerState::Leader {
            let now = Instant::now();
            let placement = &node.config.placement;
            if !matches!(&view, Some((term, _)) if *term == m.current_term) {
                let members: Vec<NodeId> = m.membership_config.membership().nodes().map(|(id, _)| *id).collect();
                in_flight = None;
                view = Some((
                    m.current_term,
                    Liveness::new(node.id, last_other_leader, members.into_iter(), placement.lease_timeout, placement.settle, now),
                ));
            }
            let (_, liveness) = view.as_mut().expect("set above");
            let replicated: BTreeMap<NodeId, u64> = m
                .replication
                .as_ref()
                .map(|r| r.iter().filter_map(|(id, log)| log.map(|l| (*id, l.index))).collect())
                .unwrap_or_default();
            let membership = m.membership_config.membership().clone();
            let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
            let members: Vec<NodeId> = membership.nodes().map(|(id, _)| *id).collect();
            let input = node
                .read_state(|state| {
                    for id in &members {
                        let renewals = state.nodes.get(id).map_or(0, |n| n.lease_renewals);
                        liveness.observe(*id, renewals, replicated.get(id).copied(), now);
                    }
                    if let Some(f) = &in_flight {
                        if settled(state, &f.name) || f.since.elapsed() > MOVE_SETTLE_LIMIT {
                            in_flight = None;
                        }
                    }
                    gather(&node, state, liveness, &voters, &members, in_flight.is_some(), now)
                })
                .await;
            for planned in policy::plan(&input) {
                if propose(&node, &planned).await && !planned.reason.is_forced() {
                    in_flight = Some(InFlight {
                        name: planned.name.clone(),
                        since: Instant::now(),
                    });
                }
            }
        } else {
            view = None;
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            r = metrics.changed() => if r.is_err() { return },
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

/// A moved connector has settled when its task reports RUNNING (or it
/// FAILED) under the current epoch, or it is no longer runnable.
fn settled(state: &ClusterState, name: &str) -> bool {
    state.connectors.get(name).is_none_or(|c| {
        c.desired != DesiredState::Running || matches!(c.effective_task_state(), TaskState::Running | TaskState::Failed)
    })
}

/// The policy's input, from one read of the applied state.
fn gather(
    node: &Node,
    state: &ClusterState,
    liveness: &Liveness,
    voters: &BTreeSet<NodeId>,
    members: &[NodeId],
    move_in_flight: bool,
    now: Instant,
) -> PlacementInput {
    let nodes = members
        .iter()
        .filter_map(|id| {
            let record = state.nodes.get(id).cloned().unwrap_or_default();
            (voters.contains(id) || record.worker).then(|| NodeView {
                id: *id,
                capacity: record.capacity,
                labels: record.labels,
                cordoned: record.cordoned,
                draining: record.draining,
                alive: liveness.alive(*id, now),
                settled: liveness.settled(*id, now),
            })
        })
        .collect();
    let connectors = state
        .connectors
        .values()
        .map(|c| {
            let constraints = PlacementConstraints::from_properties(&c.config).unwrap_or_default();
            ConnectorView {
                name: c.name.clone(),
                owner: c.owner,
                epoch: c.epoch,
                runnable: c.desired == DesiredState::Running,
                failed: c.effective_task_state() == TaskState::Failed,
                events_per_sec: c.events_per_sec,
                pinned_to: constraints.node,
                labels: constraints.labels,
            }
        })
        .collect();
    PlacementInput {
        policy: node.config.placement.policy,
        leader: node.id,
        nodes,
        connectors,
        move_in_flight,
    }
}

/// Proposes one move on this node's own Raft; true if it was applied.
async fn propose(node: &Node, planned: &Move) -> bool {
    let command = Command::AssignOwner {
        name: planned.name.clone(),
        node_id: planned.to,
        expected_epoch: planned.expected_epoch,
    };
    match node.propose_as_leader(command).await {
        Ok(record) => {
            node.registry.moved(planned.reason);
            tracing::info!(
                connector = %planned.name,
                from = ?planned.from,
                to = planned.to,
                reason = planned.reason.as_str(),
                epoch = record.map(|r| r.epoch),
                "placed connector"
            );
            true
        }
        Err(NodeError::Rejected(CommandError::EpochMismatch { .. } | CommandError::NotFound { .. })) => false,
        Err(error) => {
            tracing::debug!(connector = %planned.name, error = %error_chain(&error), "placement failed; will retry");
            false
        }
    }
}
