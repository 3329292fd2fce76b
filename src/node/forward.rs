//! Running a write on the leader, from any node.
//!
//! Every write is a [`ForwardRequest`]. [`Node::execute`] runs it locally if
//! this node is the leader; otherwise it sends it to the leader's peer port,
//! where [`Node::handle_forward`] runs it *locally only* (one hop at most, so
//! two nodes with different views of the leader can never bounce a request
//! between them). When no leader is known, it waits for one (on Raft
//! metrics, bounded) and then tries again.
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};

use super::membership::LEARNER_CATCH_UP_WAIT;
use super::{Node, NodeError};
use crate::error::error_chain;
use crate::raft::network::{self, ForwardError, ForwardReply, ForwardRequest, PeerError};
use crate::raft::{Node as RaftNode, NodeId};

/// How long a write waits for a leader to be elected before giving up.
pub(super) const LEADER_WAIT: Duration = Duration::from_secs(5);
/// Timeout of one forwarded request.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

impl Node {
    /// Runs a write on the leader, locally or by forwarding.
    pub async fn execute(&self, request: ForwardRequest) -> Result<ForwardReply, NodeError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let error = match self.execute_local(&request).await {
                Ok(reply) => return Ok(reply),
                Err(error) => error,
            };
            let NodeError::NotLeader { leader, .. } = error else {
                return Err(error);
            };
            match leader {
                Some(leader) if leader != self.id => {
                    match self.forward_to(leader, &request).await {
                        Err(NodeError::Remote(ForwardError::NotLeader { .. })) | Err(NodeError::Forward { .. })
                            if attempts < 3 =>
                        {
                            // Leadership moved while we forwarded: wait for
                            // the new leader to show up here and try again.
                            self.wait_for_leader_change(Some(leader)).await?;
                        }
                        other => return other,
                    }
                }
                _ if attempts < 3 => {
                    self.wait_for_leader_change(None).await?;
                }
                _ => return Err(NodeError::NoLeader { waited: LEADER_WAIT }),
            }
        }
    }

    pub(super) async fn wait_for_leader_change(&self, not: Option<NodeId>) -> Result<(), NodeError> {
        self.raft
            .wait(Some(LEADER_WAIT))
            .metrics(
                |m| m.current_leader.is_some() && m.current_leader != not,
                "a leader is known",
            )
            .await
            .map(|_| ())
            .map_err(|_| NodeError::NoLeader { waited: LEADER_WAIT })
    }

    async fn forward_to(&self, leader: NodeId, request: &ForwardRequest) -> Result<ForwardReply, NodeError> {
        let addr = self
            .member_node(leader)
            .ok_or_else(|| NodeError::NoLeader { waited: Duration::ZERO })?
            .raft_addr;
        // Add-node waits for the learner to catch up on the leader.
        let timeout = match request {
            ForwardRequest::AddNode { .. } => FORWARD_TIMEOUT + LEARNER_CATCH_UP_WAIT,
            _ => FORWARD_TIMEOUT,
        };
        match network::forward(&self.dialer, &addr, request, timeout).await {
            Ok(reply) => Ok(reply),
            Err(PeerError::Forward(remote)) => Err(NodeError::Remote(remote)),
            Err(source) => Err(NodeError::Forward { leader, source }),
        }
    }

    /// Entry point of the peer service's `Forward` call.
    pub async fn handle_forward(&self, request: ForwardRequest) -> Result<ForwardReply, ForwardError> {
        self.execute_local(&request).await.map_err(|error| match error {
            NodeError::NotLeader {
                node_id,
                leader,
                leader_api_addr,
            } => ForwardError::NotLeader {
                node_id,
                leader,
                leader_api_addr,
            },
            NodeError::Invalid { field, reason } => ForwardError::Invalid { field, reason },
            other => ForwardError::Failed {
                message: error_chain(&other),
            },
        })
    }

    pub(super) fn not_leader(&self, leader: Option<NodeId>) -> NodeError {
        NodeError::NotLeader {
            node_id: self.id,
            leader,
            leader_api_addr: leader.and_then(|l| self.member_node(l)).map(|n| n.api_addr),
        }
    }

    pub(super) fn member_node(&self, id: NodeId) -> Option<RaftNode> {
        self.raft.metrics().borrow().membership_config.membership().get_node(&id).cloned()
    }

    pub(super) fn write_error(&self, error: RaftError<NodeId, ClientWriteError<NodeId, RaftNode>>) -> NodeError {
        match error {
            RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => self.not_leader(f.leader_id),
            RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => NodeError::Precondition {
                what: "membership".into(),
                reason: e.to_string(),
            },
            other => NodeError::Write(other),
        }
    }

    /// Runs a write only if this node is the leader.
    pub(super) async fn execute_local(&self, request: &ForwardRequest) -> Result<ForwardReply, NodeError> {
        match request {
            ForwardRequest::Propose { proposal } => {
                let response = self
                    .raft
                    .client_write(proposal.clone())
                    .await
                    .map_err(|e| self.write_error(e))?;
                Ok(ForwardReply::Command { reply: response.data })
            }
            ForwardRequest::AddNode {
                node_id,
                node,
                learner_only,
            } => {
                self.add_member_here(*node_id, node, *learner_only).await?;
                Ok(ForwardReply::Done)
            }
            ForwardRequest::RemoveNode { node_id } => {
                self.remove_member_here(*node_id).await?;
                Ok(ForwardReply::Done)
            }
            ForwardRequest::TransferLeader { to } => {
                self.transfer_leader(*to).await?;
                Ok(ForwardReply::Done)
            }
            ForwardRequest::Elect => {
                self.raft.trigger().elect().await.map_err(NodeError::Fatal)?;
                Ok(ForwardReply::Done)
            }
        }
    }

}
