//! Cluster membership: initialisation, adding and removing members, and
//! leadership transfer. Every change runs on the leader
//! ([`super::forward`] brings it there).
//!
//! # Adding a node
//! A new node joins as a learner and becomes a voter only once it holds
//! the entry that added it, so a node the leader cannot replicate to is
//! never promoted (it would weaken the quorum).
//!
//! # Leadership transfer
//! openraft 0.9 has no transfer API, and its followers refuse votes while
//! the leader lease holds. [`Node::transfer_leader`] therefore pauses the
//! leader's heartbeats and elections, asks the target to campaign until it
//! wins (or a deadline passes), then restores both switches.
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use openraft::{ChangeMembers, ServerState};

use super::status::NodeIdentity;
use super::{Node, NodeError, PROBE_TIMEOUT};
use crate::raft::network::{self, ForwardRequest};
use crate::raft::{Node as RaftNode, NodeId};

/// How long add-node waits for a new learner to catch up before giving up
/// (it then stays a learner).
pub(super) const LEARNER_CATCH_UP_WAIT: Duration = Duration::from_secs(60);

impl Node {
    /// Adds `node_id` as a learner, waits for it to catch up, then makes it
    /// a voter unless `learner_only`. Only on the leader.
    pub(super) async fn add_member_here(&self, node_id: NodeId, node: &RaftNode, learner_only: bool) -> Result<(), NodeError> {
        self.ensure_leader()?;
        let metrics = self.metrics();
        let membership = metrics.membership_config.membership();
        if membership.voter_ids().any(|v| v == node_id) {
            return Ok(());
        }
        if let Some(existing) = membership.get_node(&node_id) {
            if existing != node {
                return Err(NodeError::Invalid {
                    field: "endpoint".into(),
                    reason: format!("node {node_id} is already a member at {existing}, not {node}"),
                });
            }
        }
        // openraft's "blocking" add_learner counts a learner within
        // `replication_lag_threshold` entries as caught up, even one
        // it has never reached; so wait ourselves until the learner
        // holds the entry that added it. A node the leader cannot
        // replicate to (down, wrong address, refused certificate)
        // is never promoted to voter.
        let added = self
            .raft
            .add_learner(node_id, node.clone(), false)
            .await
            .map_err(|e| self.write_error(e))?;
        self.wait_for_learner(node_id, added.log_id.index).await?;
        if !learner_only {
            self.raft
                .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([node_id])), false)
                .await
                .map_err(|e| self.write_error(e))?;
        }
        Ok(())
    }

    /// Removes `node_id` from the membership. Only on the leader.
    pub(super) async fn remove_member_here(&self, node_id: NodeId) -> Result<(), NodeError> {
        self.ensure_leader()?;
        let metrics = self.metrics();
        let membership = metrics.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        if membership.get_node(&node_id).is_none() {
            return Err(NodeError::Invalid {
                field: "node_id".into(),
                reason: format!("node {node_id} is not a member"),
            });
        }
        if voters.contains(&node_id) {
            if voters.len() == 1 {
                return Err(NodeError::Invalid {
                    field: "node_id".into(),
                    reason: format!("node {node_id} is the last voter"),
                });
            }
            self.raft
                .change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([node_id])), false)
                .await
                .map_err(|e| self.write_error(e))?;
        } else {
            self.raft
                .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([node_id])), false)
                .await
                .map_err(|e| self.write_error(e))?;
        }
        Ok(())
    }

    /// Waits until this leader has replicated to `learner` up to `index`.
    pub(super) async fn wait_for_learner(&self, learner: NodeId, index: u64) -> Result<(), NodeError> {
        let caught_up = self
            .raft
            .wait(Some(LEARNER_CATCH_UP_WAIT))
            .metrics(
                |m| {
                    let matched = m
                        .replication
                        .as_ref()
                        .and_then(|r| r.get(&learner).cloned().flatten());
                    m.state != ServerState::Leader || matched.is_some_and(|l| l.index >= index)
                },
                "the learner has caught up",
            )
            .await;
        self.ensure_leader()?;
        caught_up.map(|_| ()).map_err(|_| NodeError::Precondition {
            what: "membership".into(),
            reason: format!(
                "node {learner} did not catch up within {LEARNER_CATCH_UP_WAIT:?}, so it stays a learner: \
                 the leader cannot replicate to it (is it running, is its peer address right, does its \
                 certificate come from the peer CA?); remove it or add it again"
            ),
        })
    }

    pub(super) fn ensure_leader(&self) -> Result<(), NodeError> {
        let metrics = self.metrics();
        if metrics.state == ServerState::Leader {
            Ok(())
        } else {
            Err(self.not_leader(metrics.current_leader))
        }
    }

    pub(super) async fn transfer_leader(&self, to: NodeId) -> Result<(), NodeError> {
        self.ensure_leader()?;
        if to == self.id {
            return Ok(());
        }
        let metrics = self.metrics();
        let membership = metrics.membership_config.membership();
        if !membership.voter_ids().any(|v| v == to) {
            return Err(NodeError::Invalid {
                field: "to_node_id".into(),
                reason: format!("node {to} is not a voter"),
            });
        }
        let target = membership.get_node(&to).cloned().expect("voter has a node");
        let runtime = self.raft.runtime_config();
        runtime.heartbeat(false);
        runtime.elect(false);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(self.config.raft.election_timeout_max_ms * 6);
        let mut result = Err(NodeError::Timeout(format!("node {to} did not win an election")));
        while tokio::time::Instant::now() < deadline {
            // Campaigning succeeds once the followers' leader lease lapses.
            let _ = network::forward(&self.dialer, &target.raft_addr, &ForwardRequest::Elect, PROBE_TIMEOUT).await;
            let waited = self
                .raft
                .wait(Some(Duration::from_millis(self.config.raft.election_timeout_min_ms)))
                .metrics(|m| m.current_leader == Some(to), "transfer target leads")
                .await;
            if waited.is_ok() {
                result = Ok(());
                break;
            }
        }
        let runtime = self.raft.runtime_config();
        runtime.heartbeat(true);
        runtime.elect(true);
        result
    }

    /// Initialises the cluster with `members` (each member's identity as
    /// read from its control endpoint, paired with that endpoint); with
    /// none, this node alone.
    pub async fn init_cluster(&self, members_found: Vec<(String, NodeIdentity)>) -> Result<(), NodeError> {
        let invalid = |reason: String| NodeError::Invalid {
            field: "member_endpoints".into(),
            reason,
        };
        let mut members = BTreeMap::new();
        if members_found.is_empty() {
            members.insert(
                self.id,
                RaftNode {
                    api_addr: self.config.advertise.clone(),
                    raft_addr: self.config.peer_advertise.clone(),
                },
            );
        }
        for (endpoint, info) in members_found {
            if info.cluster_name != self.config.cluster_name {
                return Err(invalid(format!(
                    "{endpoint} belongs to cluster \"{}\", not \"{}\"",
                    info.cluster_name, self.config.cluster_name
                )));
            }
            if info.initialized {
                return Err(NodeError::Precondition {
                    what: "member_endpoints".into(),
                    reason: format!("node {} at {endpoint} is already initialised", info.node_id),
                });
            }
            let node = RaftNode {
                api_addr: info.api_addr,
                raft_addr: info.raft_addr,
            };
            if members.insert(info.node_id, node).is_some() {
                return Err(invalid(format!("node id {} appears twice", info.node_id)));
            }
        }
        if !members.contains_key(&self.id) {
            return Err(invalid(format!(
                "must include the node receiving the request (node {}, {})",
                self.id, self.config.advertise
            )));
        }
        if self.raft.is_initialized().await.map_err(NodeError::Fatal)? {
            return Err(NodeError::Precondition {
                what: "cluster".into(),
                reason: "this node is already initialised".into(),
            });
        }
        self.raft.initialize(members).await.map_err(NodeError::Initialize)?;
        self.wait_for_leader_change(None).await
    }

    /// Adds the node that answered at `endpoint` as `info` (learner,
    /// then voter).
    pub async fn add_node(&self, endpoint: &str, info: NodeIdentity, learner_only: bool) -> Result<(), NodeError> {
        if info.cluster_name != self.config.cluster_name {
            return Err(NodeError::Invalid {
                field: "endpoint".into(),
                reason: format!(
                    "{endpoint} belongs to cluster \"{}\", not \"{}\"",
                    info.cluster_name, self.config.cluster_name
                ),
            });
        }
        let node = RaftNode {
            api_addr: info.api_addr,
            raft_addr: info.raft_addr,
        };
        self.execute(ForwardRequest::AddNode {
            node_id: info.node_id,
            node,
            learner_only,
        })
        .await
        .map(|_| ())
    }
}
