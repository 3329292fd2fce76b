//! The node-to-node transport: openraft's [`RaftNetwork`] over the
//! `raftcdc.v1.RaftPeer` gRPC service, plus the forwarding protocol that
//! lets any node serve writes.
//!
//! openraft's messages travel as JSON inside [`RaftPayload`] (the same
//! encoding as the log on disk). Every call carries the cluster name in the
//! `x-raftcdc-cluster` header and the peer service refuses other clusters'
//! traffic, so two clusters sharing hosts can never merge by mistake.
//!
//! Outgoing connections may bind a configured source address
//! (`node.peer_source_addr`): on multi-homed hosts this pins peer traffic to
//! one interface, and the cluster tests use it to tell links apart.
//!
//! With `[tls.peer]` every peer is dialled as `https://`: the node presents
//! its peer certificate and verifies the peer's against the peer CA (the
//! peer listener does the same in reverse, see [`crate::api`]), so only
//! holders of a certificate from that CA take part in Raft.
//!
//! Failures to connect are reported to openraft as `Unreachable`, which
//! makes it back off instead of spinning; everything else is a
//! `NetworkError` it retries at the next heartbeat.
use std::net::IpAddr;
use std::time::Duration;

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tonic::transport::{Channel, Endpoint};

use super::command::{CommandReply, Proposal};
use super::typ;
use super::{Node, NodeId, TypeConfig};
use crate::config::security::ClientTls;
use crate::proto::raft_peer_client::RaftPeerClient;
use crate::proto::{ProbeReply, ProbeRequest, RaftPayload};

/// Header carrying the cluster name on every peer call.
pub const CLUSTER_HEADER: &str = "x-raftcdc-cluster";

/// How peers are dialled.
#[derive(Debug, Clone)]
pub struct PeerDialer {
    pub cluster_name: String,
    pub source_addr: Option<IpAddr>,
    pub connect_timeout: Duration,
    /// Mutual TLS (`[tls.peer]`); `None` dials plaintext.
    pub tls: Option<ClientTls>,
}

impl PeerDialer {
    /// A lazily connecting channel to `raft_addr` (`host:port`); tonic
    /// reconnects it on demand after failures.
    pub fn channel(&self, raft_addr: &str) -> Result<Channel, PeerError> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let endpoint = Endpoint::from_shared(format!("{scheme}://{raft_addr}"))
            .map_err(|source| PeerError::Address {
                addr: raft_addr.to_string(),
                source,
            })?
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .local_address(self.source_addr);
        let endpoint = match &self.tls {
            Some(tls) => endpoint
                .tls_config(tls.config())
                .map_err(|source| PeerError::Tls {
                    addr: raft_addr.to_string(),
                    source,
                })?,
            None => endpoint,
        };
        Ok(endpoint.connect_lazy())
    }

    pub fn request<T>(&self, message: T, timeout: Duration) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(timeout);
        if let Ok(value) = self.cluster_name.parse() {
            request.metadata_mut().insert(CLUSTER_HEADER, value);
        }
        request
    }
}

/// Errors talking to a peer.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("invalid peer address {addr}")]
    Address {
        addr: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("cannot set up TLS to peer {addr}")]
    Tls {
        addr: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("peer call failed")]
    Rpc(#[from] tonic::Status),
    #[error("cannot encode or decode a peer message")]
    Codec(#[from] serde_json::Error),
    #[error(transparent)]
    Forward(#[from] ForwardError),
}

/// A write forwarded from a follower to the leader (or, for `Elect`, to the
/// target of a leadership transfer).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ForwardRequest {
    Propose { proposal: Proposal },
    AddNode { node_id: NodeId, node: Node, learner_only: bool },
    RemoveNode { node_id: NodeId },
    TransferLeader { to: NodeId },
    /// Start an election now (sent to a transfer's target).
    Elect,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ForwardReply {
    Command { reply: CommandReply },
    Done,
}

/// Why a forwarded request was not carried out. It crossed a process
/// boundary, so the cause travels as text.
#[derive(Debug, Clone, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ForwardError {
    #[error("node {node_id} is not the leader (leader: {leader:?})")]
    NotLeader {
        node_id: NodeId,
        leader: Option<NodeId>,
        leader_api_addr: Option<String>,
    },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("on the leader: {message}")]
    Failed { message: String },
}

fn encode<T: Serialize>(value: &T) -> Result<RaftPayload, serde_json::Error> {
    Ok(RaftPayload {
        json: serde_json::to_vec(value)?,
    })
}

fn decode<T: DeserializeOwned>(payload: &RaftPayload) -> Result<T, serde_json::Error> {
    serde_json::from_slice(&payload.json)
}

/// Sends a forward request to the peer at `raft_addr`.
pub async fn forward(
    dialer: &PeerDialer,
    raft_addr: &str,
    request: &ForwardRequest,
    timeout: Duration,
) -> Result<ForwardReply, PeerError> {
    let mut client = RaftPeerClient::new(dialer.channel(raft_addr)?);
    let reply = client.forward(dialer.request(encode(request)?, timeout)).await?;
    let result: Result<ForwardReply, ForwardError> = decode(reply.get_ref())?;
    Ok(result?)
}

/// Proposes a state-machine command at the node listening on `peer_addr`.
/// That node applies it only if it leads; otherwise the answer is
/// [`ForwardError::NotLeader`] naming the leader it knows, and the caller
/// retries there (one hop by design, see [`crate::node`]). A node's own
/// writes use [`crate::node::Node::propose`], which does that retry.
pub async fn propose_via(
    peer_addr: &str,
    cluster_name: &str,
    command: super::command::Command,
) -> Result<CommandReply, PeerError> {
    let dialer = PeerDialer {
        cluster_name: cluster_name.to_string(),
        source_addr: None,
        connect_timeout: Duration::from_secs(2),
        tls: None,
    };
    let request = ForwardRequest::Propose {
        proposal: Proposal::now(command),
    };
    match forward(&dialer, peer_addr, &request, Duration::from_secs(10)).await? {
        ForwardReply::Command { reply } => Ok(reply),
        ForwardReply::Done => Ok(CommandReply::Applied { connector: None }),
    }
}

/// Asks a peer for its view of the cluster.
pub async fn probe(
    dialer: &PeerDialer,
    raft_addr: &str,
    from: NodeId,
    timeout: Duration,
) -> Result<ProbeReply, PeerError> {
    let mut client = RaftPeerClient::new(dialer.channel(raft_addr)?);
    let reply = client
        .probe(dialer.request(ProbeRequest { from_node_id: from }, timeout))
        .await?;
    Ok(reply.into_inner())
}

/// openraft's network factory.
pub struct Network {
    pub dialer: PeerDialer,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> PeerConnection {
        PeerConnection {
            target,
            client: self.dialer.channel(&node.raft_addr).map(RaftPeerClient::new),
            dialer: self.dialer.clone(),
        }
    }
}

/// One connection to one peer.
pub struct PeerConnection {
    target: NodeId,
    client: Result<RaftPeerClient<Channel>, PeerError>,
    dialer: PeerDialer,
}

/// Either openraft's response or the remote Raft error, as serialised by
/// the peer service.
type Remote<T, E> = Result<T, RaftError<NodeId, E>>;

impl PeerConnection {
    async fn call<Req, Resp, E>(
        &mut self,
        method: Method,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, Node, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let client = match &mut self.client {
            Ok(client) => client,
            Err(e) => return Err(RPCError::Unreachable(Unreachable::new(e))),
        };
        let payload = encode(request).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let request = self.dialer.request(payload, option.hard_ttl());
        let result = match method {
            Method::Append => client.append_entries(request).await,
            Method::Snapshot => client.install_snapshot(request).await,
            Method::Vote => client.vote(request).await,
        };
        let reply = result.map_err(|status| {
            if status.code() == tonic::Code::Unavailable {
                RPCError::Unreachable(Unreachable::new(&status))
            } else {
                RPCError::Network(NetworkError::new(&status))
            }
        })?;
        let remote: Remote<Resp, E> =
            decode(reply.get_ref()).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        remote.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

enum Method {
    Append,
    Snapshot,
    Vote,
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        request: typ::AppendEntriesRequest,
        option: RPCOption,
    ) -> Result<typ::AppendEntriesResponse, typ::RPCError> {
        self.call(Method::Append, &request, &option).await
    }

    async fn install_snapshot(
        &mut self,
        request: typ::InstallSnapshotRequest,
        option: RPCOption,
    ) -> Result<typ::InstallSnapshotResponse, typ::RPCError<InstallSnapshotError>> {
        self.call(Method::Snapshot, &request, &option).await
    }

    async fn vote(
        &mut self,
        request: typ::VoteRequest,
        option: RPCOption,
    ) -> Result<typ::VoteResponse, typ::RPCError> {
        self.call(Method::Vote, &request, &option).await
    }
}
