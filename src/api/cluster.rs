//! The cluster's side of the control API: the node's status views turned
//! into protobuf, and other nodes' identities read from their control
//! endpoints (for cluster init and add-node).
//!
//! The node layer reports domain structs ([`crate::node::ClusterView`],
//! [`crate::node::NodeIdentity`]) and never dials a control endpoint
//! itself: this module owns both conversions and the control client, so
//! the node does not import the API layer. The conversions are field for
//! field, so the wire shape is exactly what the node reports.
use std::time::Duration;

use super::client::ControlDialer;
use super::ApiError;
use crate::config::NodeConfig;
use crate::node::{ClusterView, MemberView, NodeError, NodeIdentity, NodePlacementView};
use crate::proto;

/// Bounds on reading another node's identity from its control endpoint.
const NODE_INFO_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const NODE_INFO_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks the control endpoint `endpoint` who it is, with this node's TLS
/// settings and token (every node of a cluster shares them).
pub async fn identity_at(config: &NodeConfig, endpoint: &str) -> Result<NodeIdentity, NodeError> {
    let dialer = ControlDialer {
        tls: config.security.control_client(),
        token: config.security.token.clone(),
        connect_timeout: NODE_INFO_CONNECT_TIMEOUT,
        timeout: NODE_INFO_TIMEOUT,
    };
    let unreachable = |source: Box<dyn std::error::Error + Send + Sync>| NodeError::Unreachable {
        endpoint: endpoint.to_string(),
        source,
    };
    let mut client = match dialer.connect(endpoint).await {
        Ok(client) => client,
        Err(ApiError::Url { .. }) => {
            return Err(NodeError::Invalid {
                field: "endpoint".into(),
                reason: format!("\"{endpoint}\" is not a valid URL such as http://host:7001"),
            })
        }
        Err(ApiError::NoCa { .. }) => {
            return Err(NodeError::Invalid {
                field: "endpoint".into(),
                reason: format!(
                    "\"{endpoint}\" is https but this node has no CA to verify it (set tls.peer.ca or tls.control.client_ca)"
                ),
            })
        }
        Err(error) => return Err(unreachable(Box::new(error))),
    };
    let reply = client
        .get_node_info(proto::GetNodeInfoRequest {})
        .await
        .map_err(|e| unreachable(Box::new(e)))?
        .into_inner();
    Ok(NodeIdentity {
        node_id: reply.node_id,
        cluster_name: reply.cluster_name,
        api_addr: reply.api_addr,
        raft_addr: reply.raft_addr,
        initialized: reply.initialized,
        version: reply.version,
    })
}

impl From<NodeIdentity> for proto::NodeInfo {
    fn from(info: NodeIdentity) -> proto::NodeInfo {
        proto::NodeInfo {
            node_id: info.node_id,
            cluster_name: info.cluster_name,
            api_addr: info.api_addr,
            raft_addr: info.raft_addr,
            initialized: info.initialized,
            version: info.version,
        }
    }
}

impl From<MemberView> for proto::MemberStatus {
    fn from(m: MemberView) -> proto::MemberStatus {
        proto::MemberStatus {
            node_id: m.node_id,
            api_addr: m.api_addr,
            raft_addr: m.raft_addr,
            voter: m.voter,
            reachable: m.reachable,
            role: m.role,
            term: m.term,
            last_log_index: m.last_log_index,
            last_applied_index: m.last_applied_index,
            matched_index: m.matched_index,
            snapshot_index: m.snapshot_index,
            purged_index: m.purged_index,
            error: m.error,
            probe_ms: m.probe_ms,
            lag: m.lag,
            rest_addr: m.rest_addr,
        }
    }
}

impl From<ClusterView> for proto::ClusterStatus {
    fn from(c: ClusterView) -> proto::ClusterStatus {
        proto::ClusterStatus {
            cluster_name: c.cluster_name,
            reporting_node_id: c.reporting_node_id,
            leader_id: c.leader_id,
            leader_api_addr: c.leader_api_addr,
            term: c.term,
            last_log_index: c.last_log_index,
            committed_index: c.committed_index,
            last_applied_index: c.last_applied_index,
            members: c.members.into_iter().map(Into::into).collect(),
            placement: c.placement.into_iter().map(Into::into).collect(),
            placement_policy: c.placement_policy.to_string(),
        }
    }
}

impl From<NodePlacementView> for proto::NodePlacement {
    fn from(p: NodePlacementView) -> proto::NodePlacement {
        proto::NodePlacement {
            node_id: p.node_id,
            connectors: p.connectors,
            load: p.load,
            capacity: p.capacity,
            cordoned: p.cordoned,
            draining: p.draining,
            labels: p.labels.into_iter().collect(),
            eligible: p.eligible,
        }
    }
}
