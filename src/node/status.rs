//! What a node reports about itself and the cluster, as domain structs:
//! [`crate::api`] converts them to protobuf, [`crate::metrics`] renders a
//! [`MetricsSnapshot`] (so neither this layer nor metrics imports the API).
//!
//! Every view is read from one copy of openraft's metrics and, for the
//! snapshot, one read of the applied state, so a report never mixes two
//! Raft states. The reachability probe's answer stays a protobuf message:
//! it is the peer protocol's own ([`crate::raft::network::probe`]).
use std::collections::BTreeSet;

use openraft::ServerState;

use super::{Node, PROBE_TIMEOUT};
use crate::error::error_chain;
use crate::metrics::MetricsSnapshot;
use crate::proto;
use crate::raft::network;
use crate::raft::{typ, NodeId};

/// A node's identity, as its control endpoint tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    pub node_id: NodeId,
    pub cluster_name: String,
    /// Advertised control endpoint.
    pub api_addr: String,
    /// Advertised peer (Raft) address.
    pub raft_addr: String,
    pub initialized: bool,
    pub version: String,
}

/// One member as the reporting node sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberView {
    pub node_id: NodeId,
    pub api_addr: String,
    pub raft_addr: String,
    pub voter: bool,
    /// Whether the member answered a probe from the reporting node.
    pub reachable: bool,
    /// leader | follower | candidate | learner | unknown
    pub role: String,
    pub term: u64,
    pub last_log_index: Option<u64>,
    pub last_applied_index: Option<u64>,
    /// Replicated up to here, as the leader knows (leader only).
    pub matched_index: Option<u64>,
    pub snapshot_index: Option<u64>,
    pub purged_index: Option<u64>,
    /// Why the probe failed, when unreachable.
    pub error: String,
    /// How long the probe took (0 for the reporting node itself).
    pub probe_ms: Option<u64>,
    /// Entries this member has yet to apply.
    pub lag: Option<u64>,
    /// The member's Kafka Connect REST endpoint, empty if none.
    pub rest_addr: String,
}

/// The cluster as the reporting node sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterView {
    pub cluster_name: String,
    pub reporting_node_id: NodeId,
    pub leader_id: Option<NodeId>,
    pub leader_api_addr: String,
    pub term: u64,
    pub last_log_index: Option<u64>,
    pub committed_index: Option<u64>,
    pub last_applied_index: Option<u64>,
    pub members: Vec<MemberView>,
    /// Per member: what placement sees.
    pub placement: Vec<NodePlacementView>,
    /// `spread` or `leader`.
    pub placement_policy: &'static str,
}

/// One member as placement sees it, from the replicated state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodePlacementView {
    pub node_id: NodeId,
    pub connectors: Vec<String>,
    /// Summed [`crate::placement::policy::weight`] of its connectors.
    pub load: f64,
    pub capacity: Option<u32>,
    pub cordoned: bool,
    pub draining: bool,
    pub labels: std::collections::BTreeMap<String, String>,
    /// A voter, or a learner that is a worker.
    pub eligible: bool,
}

impl Node {
    /// This node's identity.
    pub async fn info(&self) -> NodeIdentity {
        NodeIdentity {
            node_id: self.id,
            cluster_name: self.config.cluster_name.clone(),
            api_addr: self.config.advertise.clone(),
            raft_addr: self.config.peer_advertise.clone(),
            initialized: self.raft.is_initialized().await.unwrap_or(false),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// What `/metrics` renders: Raft's metrics, the replicated state's
    /// connectors and this node's registry, read once each.
    pub async fn metrics_snapshot(&self) -> MetricsSnapshot {
        let raft = self.metrics();
        let committed_index = self.committed_index(&raft);
        let connectors = self.select_connectors(|c| Some(crate::metrics::ConnectorView::of(c))).await;
        let members = raft.membership_config.membership().nodes().map(|(id, _)| *id).collect();
        MetricsSnapshot {
            members,
            node_id: self.id,
            cluster_name: self.config.cluster_name.clone(),
            raft,
            committed_index,
            connectors,
            registry: self.registry.clone(),
        }
    }

    /// Members, leader and each member's view, probed from here.
    pub async fn cluster_status(&self) -> ClusterView {
        let metrics = self.metrics();
        let membership = metrics.membership_config.membership().clone();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let probes = membership.nodes().map(|(id, node)| {
            let (id, node) = (*id, node.clone());
            let metrics = &metrics;
            let voter = voters.contains(&id);
            async move {
                let started = std::time::Instant::now();
                let probe = if id == self.id {
                    Ok(self.probe_reply())
                } else {
                    network::probe(&self.dialer, &node.raft_addr, self.id, PROBE_TIMEOUT).await
                };
                let probe_ms = started.elapsed().as_millis() as u64;
                let matched = metrics
                    .replication
                    .as_ref()
                    .and_then(|r| r.get(&id).cloned().flatten())
                    .map(|l| l.index)
                    .or_else(|| (id == self.id && metrics.state == ServerState::Leader).then_some(metrics.last_log_index).flatten());
                let mut member = MemberView {
                    node_id: id,
                    api_addr: node.api_addr.clone(),
                    raft_addr: node.raft_addr.clone(),
                    voter,
                    matched_index: matched,
                    ..Default::default()
                };
                match probe {
                    Ok(p) => {
                        member.reachable = true;
                        member.probe_ms = Some(if id == self.id { 0 } else { probe_ms });
                        member.role = p.role;
                        member.term = p.term;
                        member.last_log_index = p.last_log_index;
                        member.last_applied_index = p.last_applied_index;
                        member.snapshot_index = p.snapshot_index;
                        member.purged_index = p.purged_index;
                        member.rest_addr = p.rest_addr; // REST API: worker ids and the console
                    }
                    Err(e) => {
                        member.role = "unknown".into();
                        member.error = error_chain(&e);
                    }
                }
                member
            }
        });
        let mut members = futures::future::join_all(probes).await;
        let head = members.iter().filter(|m| m.reachable).filter_map(|m| m.last_log_index).max();
        for member in members.iter_mut().filter(|m| m.reachable) {
            member.lag = head.map(|h| h.saturating_sub(member.last_applied_index.unwrap_or(0)));
        }
        let leader_api_addr = metrics
            .current_leader
            .and_then(|l| membership.get_node(&l))
            .map(|n| n.api_addr.clone())
            .unwrap_or_default();
        let committed = self.committed_index(&metrics);
        let placement = self.placement_view(&membership, &voters).await;
        ClusterView {
            placement,
            placement_policy: self.config.placement.policy.as_str(),
            cluster_name: self.config.cluster_name.clone(),
            reporting_node_id: self.id,
            leader_id: metrics.current_leader,
            leader_api_addr,
            term: metrics.current_term,
            last_log_index: metrics.last_log_index,
            committed_index: committed,
            last_applied_index: metrics.last_applied.map(|l| l.index),
            members,
        }
    }

    /// Each member's placement facts and owned connectors, from one read
    /// of the applied state.
    async fn placement_view(&self, membership: &openraft::Membership<NodeId, crate::raft::Node>, voters: &BTreeSet<NodeId>) -> Vec<NodePlacementView> {
        self.read_state(|state| {
            membership
                .nodes()
                .map(|(id, _)| {
                    let record = state.nodes.get(id).cloned().unwrap_or_default();
                    let owned: Vec<&crate::raft::state::ConnectorRecord> =
                        state.connectors.values().filter(|c| c.owner == Some(*id)).collect();
                    NodePlacementView {
                        node_id: *id,
                        connectors: owned.iter().map(|c| c.name.clone()).collect(),
                        load: owned.iter().map(|c| crate::placement::policy::weight(c.events_per_sec)).sum(),
                        capacity: record.capacity,
                        cordoned: record.cordoned,
                        draining: record.draining,
                        labels: record.labels,
                        eligible: voters.contains(id) || record.worker,
                    }
                })
                .collect()
        })
        .await
    }

    /// The committed index as this node can tell: on the leader the index a
    /// quorum of voters holds (the replication map says how far each got),
    /// elsewhere the last applied index (followers apply only committed
    /// entries).
    pub fn committed_index(&self, metrics: &typ::RaftMetrics) -> Option<u64> {
        if metrics.state == ServerState::Leader {
            let voters: BTreeSet<NodeId> = metrics.membership_config.membership().voter_ids().collect();
            quorum_committed(&voters, self.id, metrics)
        } else {
            metrics.last_applied.map(|l| l.index)
        }
    }

    /// This node's answer to a reachability probe.
    pub fn probe_reply(&self) -> proto::ProbeReply {
        let m = self.metrics();
        proto::ProbeReply {
            node_id: self.id,
            role: role_name(m.state).into(),
            term: m.current_term,
            leader_id: m.current_leader,
            last_log_index: m.last_log_index,
            last_applied_index: m.last_applied.map(|l| l.index),
            snapshot_index: m.snapshot.map(|l| l.index),
            purged_index: m.purged.map(|l| l.index),
            // REST API: other nodes name this node's worker id with it.
            rest_addr: self.config.rest.as_ref().map(|r| r.advertise.clone()).unwrap_or_default(),
        }
    }
}

/// The highest index replicated on a majority of voters, as the leader sees it.
fn quorum_committed(voters: &BTreeSet<NodeId>, me: NodeId, metrics: &typ::RaftMetrics) -> Option<u64> {
    let mut indexes: Vec<u64> = voters
        .iter()
        .map(|v| {
            if *v == me {
                metrics.last_log_index.unwrap_or(0)
            } else {
                metrics
                    .replication
                    .as_ref()
                    .and_then(|r| r.get(v).cloned().flatten())
                    .map(|l| l.index)
                    .unwrap_or(0)
            }
        })
        .collect();
    if indexes.is_empty() {
        return None;
    }
    indexes.sort_unstable_by(|a, b| b.cmp(a));
    Some(indexes[indexes.len() / 2])
}

pub fn role_name(state: ServerState) -> &'static str {
    match state {
        ServerState::Leader => "leader",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Learner => "learner",
        ServerState::Shutdown => "shutdown",
    }
}