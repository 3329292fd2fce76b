//! A raftcdc node: owns the Raft instance, its storage and the background
//! tasks (the leader's assigner and the connector supervisor). It has no
//! service code: the gRPC layer in [`crate::api`] calls into it.
//!
//! # Writes from any node
//! Every write is a [`ForwardRequest`]. [`Node::execute`] runs it locally if
//! this node is the leader; otherwise it sends it to the leader's peer port,
//! where [`Node::handle_forward`] runs it *locally only* (one hop at most, so
//! two nodes with different views of the leader can never bounce a request
//! between them). When no leader is known, it waits for one (on Raft
//! metrics, bounded) and then tries again.
//!
//! # Leadership transfer
//! openraft 0.9 has no transfer API, and its followers refuse votes while
//! the leader lease holds. [`Node::transfer_leader`] therefore pauses the
//! leader's heartbeats and elections, asks the target to campaign until it
//! wins (or a deadline passes), then restores both switches.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::{ChangeMembers, ServerState};
use tokio::sync::{watch, RwLock};

use crate::api::client::ControlDialer;
use crate::api::ApiError;
use crate::config::NodeConfig;
use crate::metrics::Registry;
use crate::proto;
use crate::raft::command::{Command, CommandError, CommandReply, Proposal};
use crate::raft::log_store::LogStore;
use crate::raft::network::{self, ForwardError, ForwardReply, ForwardRequest, Network, PeerDialer, PeerError};
use crate::raft::state::ConnectorRecord;
use crate::raft::state_machine::{Applied, StateMachineStore};
use crate::raft::{typ, Node as RaftNode, NodeId, Raft};
use crate::storage::{Store, StoreError};

/// How long a write waits for a leader to be elected before giving up.
const LEADER_WAIT: Duration = Duration::from_secs(5);
/// Timeout of one forwarded request.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of one reachability probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(700);
/// How long add-node waits for a new learner to catch up before giving up
/// (it then stays a learner).
const LEARNER_CATCH_UP_WAIT: Duration = Duration::from_secs(60);
/// Bounds on reading another node's identity from its control endpoint.
const NODE_INFO_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const NODE_INFO_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot create data directory {path}")]
    DataDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("storage failure")]
    Store(#[from] StoreError),
    #[error("raft storage failure")]
    RaftStorage(#[from] typ::StorageError),
    #[error("invalid raft settings")]
    RaftConfig(#[from] openraft::ConfigError),
    #[error("raft failed to start")]
    RaftStart(#[source] openraft::error::Fatal<NodeId>),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{0}")]
    Rejected(#[from] CommandError),
    #[error("{what}: {reason}")]
    Precondition { what: String, reason: String },
    #[error("no leader has been elected within {waited:?}; is a majority of voters up and reachable?")]
    NoLeader { waited: Duration },
    #[error("node {node_id} is not the leader")]
    NotLeader {
        node_id: NodeId,
        leader: Option<NodeId>,
        leader_api_addr: Option<String>,
    },
    #[error("raft write failed")]
    Write(#[source] RaftError<NodeId, ClientWriteError<NodeId, RaftNode>>),
    #[error("cluster initialisation failed")]
    Initialize(#[source] RaftError<NodeId, typ::InitializeError>),
    #[error("raft has stopped")]
    Fatal(#[source] openraft::error::Fatal<NodeId>),
    #[error("cannot reach {endpoint}")]
    Unreachable {
        endpoint: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("forwarding to leader node {leader} failed")]
    Forward {
        leader: NodeId,
        #[source]
        source: PeerError,
    },
    #[error("the leader refused the request: {0}")]
    Remote(ForwardError),
    #[error("timed out: {0}")]
    Timeout(String),
}

/// One node.
pub struct Node {
    pub id: NodeId,
    pub config: NodeConfig,
    pub raft: Raft,
    /// Prometheus metrics of this node's own work ([`crate::metrics`]).
    pub registry: Arc<Registry>,
    applied: Arc<RwLock<Applied>>,
    changes: watch::Receiver<u64>,
    dialer: PeerDialer,
    /// Other nodes' control endpoints, with this node's TLS and token.
    control_dialer: ControlDialer,
}

impl Node {
    /// Opens storage and starts Raft. Background tasks are started by
    /// [`crate::pipeline::spawn`].
    pub async fn start(config: NodeConfig) -> Result<Arc<Node>, NodeError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| NodeError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let store = Store::open(&config.data_dir)?;
        let state_machine = StateMachineStore::open(store.clone()).await?;
        let applied = state_machine.applied();
        let changes = state_machine.subscribe();
        let registry = Arc::new(Registry::new(state_machine.snapshot_count()));
        let dialer = PeerDialer {
            cluster_name: config.cluster_name.clone(),
            source_addr: config.peer_source_addr,
            connect_timeout: Duration::from_millis(config.raft.election_timeout_min_ms.max(200)),
            tls: config
                .security
                .peer
                .as_ref()
                .map(|peer| peer.client.clone()),
        };
        let control_dialer = ControlDialer {
            tls: config.security.control_client(),
            token: config.security.token.clone(),
            connect_timeout: NODE_INFO_CONNECT_TIMEOUT,
            timeout: NODE_INFO_TIMEOUT,
        };
        let raft_config = Arc::new(config.openraft()?);
        let raft = Raft::new(
            config.id,
            raft_config,
            Network { dialer: dialer.clone() },
            LogStore::new(store),
            state_machine,
        )
        .await
        .map_err(NodeError::RaftStart)?;
        Ok(Arc::new(Node {
            id: config.id,
            config,
            raft,
            registry,
            applied,
            changes,
            dialer,
            control_dialer,
        }))
    }

    pub fn dialer(&self) -> &PeerDialer {
        &self.dialer
    }

    /// Changes whenever an entry is applied.
    pub fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    pub fn metrics(&self) -> typ::RaftMetrics {
        self.raft.metrics().borrow().clone()
    }

    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().state == ServerState::Leader
    }

    /// This node's identity.
    pub async fn info(&self) -> proto::NodeInfo {
        proto::NodeInfo {
            node_id: self.id,
            cluster_name: self.config.cluster_name.clone(),
            api_addr: self.config.advertise.clone(),
            raft_addr: self.config.peer_advertise.clone(),
            initialized: self.raft.is_initialized().await.unwrap_or(false),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    // ---- reads -------------------------------------------------------

    pub async fn connectors(&self) -> Vec<ConnectorRecord> {
        self.select_connectors(|c| Some(c.clone())).await
    }

    /// What `select` picks from each connector, without cloning whole
    /// records: the assigner and the supervisor run this after every
    /// applied entry, and a record's schema history grows without bound.
    pub async fn select_connectors<T>(&self, select: impl FnMut(&ConnectorRecord) -> Option<T>) -> Vec<T> {
        self.applied.read().await.state.connectors.values().filter_map(select).collect()
    }

    pub async fn connector(&self, name: &str) -> Result<ConnectorRecord, NodeError> {
        self.read_connector(name, ConnectorRecord::clone).await
    }

    /// Reads part of a connector's record without cloning all of it (its
    /// schema history grows without bound; per-commit readers want one field).
    pub async fn read_connector<T>(&self, name: &str, read: impl FnOnce(&ConnectorRecord) -> T) -> Result<T, NodeError> {
        self.applied
            .read()
            .await
            .state
            .connectors
            .get(name)
            .map(read)
            .ok_or_else(|| CommandError::NotFound { name: name.to_string() }.into())
    }

    // ---- writes ------------------------------------------------------

    /// Proposes a state-machine command through the leader; a command the
    /// state machine refuses comes back as [`NodeError::Rejected`].
    pub async fn propose(&self, command: Command) -> Result<Option<ConnectorRecord>, NodeError> {
        let request = ForwardRequest::Propose {
            proposal: Proposal::now(command),
        };
        Self::command_reply(self.execute(request).await?)
    }

    /// Proposes a command only if this node is the leader, never by
    /// forwarding: for decisions that are only valid *as* the leader's (the
    /// assigner's), a node that merely believed it led must not have them
    /// applied by the real leader.
    pub async fn propose_as_leader(&self, command: Command) -> Result<Option<ConnectorRecord>, NodeError> {
        let request = ForwardRequest::Propose {
            proposal: Proposal::now(command),
        };
        Self::command_reply(self.execute_local(&request).await?)
    }

    fn command_reply(reply: ForwardReply) -> Result<Option<ConnectorRecord>, NodeError> {
        match reply {
            ForwardReply::Command {
                reply: CommandReply::Applied { connector },
            } => Ok(connector.map(|c| *c)),
            ForwardReply::Command {
                reply: CommandReply::Rejected(error),
            } => Err(error.into()),
            ForwardReply::Done => Ok(None),
        }
    }

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

    async fn wait_for_leader_change(&self, not: Option<NodeId>) -> Result<(), NodeError> {
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

    fn not_leader(&self, leader: Option<NodeId>) -> NodeError {
        NodeError::NotLeader {
            node_id: self.id,
            leader,
            leader_api_addr: leader.and_then(|l| self.member_node(l)).map(|n| n.api_addr),
        }
    }

    fn member_node(&self, id: NodeId) -> Option<RaftNode> {
        self.raft.metrics().borrow().membership_config.membership().get_node(&id).cloned()
    }

    fn write_error(&self, error: RaftError<NodeId, ClientWriteError<NodeId, RaftNode>>) -> NodeError {
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
    async fn execute_local(&self, request: &ForwardRequest) -> Result<ForwardReply, NodeError> {
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
                self.ensure_leader()?;
                let metrics = self.metrics();
                let membership = metrics.membership_config.membership();
                if membership.voter_ids().any(|v| v == *node_id) {
                    return Ok(ForwardReply::Done);
                }
                if let Some(existing) = membership.get_node(node_id) {
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
                    .add_learner(*node_id, node.clone(), false)
                    .await
                    .map_err(|e| self.write_error(e))?;
                self.wait_for_learner(*node_id, added.log_id.index).await?;
                if !learner_only {
                    self.raft
                        .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([*node_id])), false)
                        .await
                        .map_err(|e| self.write_error(e))?;
                }
                Ok(ForwardReply::Done)
            }
            ForwardRequest::RemoveNode { node_id } => {
                self.ensure_leader()?;
                let metrics = self.metrics();
                let membership = metrics.membership_config.membership();
                let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
                if membership.get_node(node_id).is_none() {
                    return Err(NodeError::Invalid {
                        field: "node_id".into(),
                        reason: format!("node {node_id} is not a member"),
                    });
                }
                if voters.contains(node_id) {
                    if voters.len() == 1 {
                        return Err(NodeError::Invalid {
                            field: "node_id".into(),
                            reason: format!("node {node_id} is the last voter"),
                        });
                    }
                    self.raft
                        .change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([*node_id])), false)
                        .await
                        .map_err(|e| self.write_error(e))?;
                } else {
                    self.raft
                        .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([*node_id])), false)
                        .await
                        .map_err(|e| self.write_error(e))?;
                }
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

    /// Waits until this leader has replicated to `learner` up to `index`.
    async fn wait_for_learner(&self, learner: NodeId, index: u64) -> Result<(), NodeError> {
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

    fn ensure_leader(&self) -> Result<(), NodeError> {
        let metrics = self.metrics();
        if metrics.state == ServerState::Leader {
            Ok(())
        } else {
            Err(self.not_leader(metrics.current_leader))
        }
    }

    async fn transfer_leader(&self, to: NodeId) -> Result<(), NodeError> {
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

    // ---- cluster administration ---------------------------------------

    /// Asks a node's control endpoint who it is (with this node's TLS
    /// settings and token, as every node of the cluster shares them).
    pub async fn node_info_at(&self, endpoint: &str) -> Result<proto::NodeInfo, NodeError> {
        let unreachable = |source: Box<dyn std::error::Error + Send + Sync>| NodeError::Unreachable {
            endpoint: endpoint.to_string(),
            source,
        };
        let mut client = match self.control_dialer.connect(endpoint).await {
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
            .map_err(|e| unreachable(Box::new(e)))?;
        Ok(reply.into_inner())
    }

    /// Initialises the cluster from the control endpoints of its members.
    pub async fn init_cluster(&self, endpoints: &[String]) -> Result<(), NodeError> {
        let invalid = |reason: String| NodeError::Invalid {
            field: "member_endpoints".into(),
            reason,
        };
        let mut members = BTreeMap::new();
        if endpoints.is_empty() {
            members.insert(
                self.id,
                RaftNode {
                    api_addr: self.config.advertise.clone(),
                    raft_addr: self.config.peer_advertise.clone(),
                },
            );
        }
        for endpoint in endpoints {
            let info = self.node_info_at(endpoint).await?;
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

    /// Adds the node at `endpoint` (learner, then voter).
    pub async fn add_node(&self, endpoint: &str, learner_only: bool) -> Result<(), NodeError> {
        let info = self.node_info_at(endpoint).await?;
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

    /// Members, leader and each member's view, probed from here.
    pub async fn cluster_status(&self) -> proto::ClusterStatus {
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
                let mut member = proto::MemberStatus {
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
        proto::ClusterStatus {
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

/// An error with its whole source chain, for places that must send it as
/// text (across a process boundary).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
