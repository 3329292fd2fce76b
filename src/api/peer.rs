//! The node-to-node service (`raftcdc.v1.RaftPeer`): openraft's RPCs,
//! forwarded writes and reachability probes.
//!
//! Every call must carry this cluster's name in
//! [`crate::raft::network::CLUSTER_HEADER`]; anything else is refused before
//! it reaches Raft. Payloads are JSON (see [`crate::raft::network`]); a
//! payload that does not decode is `INVALID_ARGUMENT` and never reaches Raft.
use std::sync::Arc;

use serde::{de::DeserializeOwned, Serialize};
use tonic::{Request, Response, Status};

use crate::node::Node;
use crate::proto::{raft_peer_server::RaftPeer, ProbeReply, ProbeRequest, RaftPayload};
use crate::raft::network::{ForwardRequest, CLUSTER_HEADER};
use crate::raft::typ;

pub struct PeerService {
    pub node: Arc<Node>,
}

impl PeerService {
    fn admit<T>(&self, request: Request<T>) -> Result<T, Status> {
        let cluster = request.metadata().get(CLUSTER_HEADER).and_then(|v| v.to_str().ok());
        if cluster != Some(self.node.config.cluster_name.as_str()) {
            return Err(Status::permission_denied(format!(
                "{CLUSTER_HEADER}: this node belongs to cluster \"{}\", the caller to {:?}",
                self.node.config.cluster_name, cluster
            )));
        }
        Ok(request.into_inner())
    }
}

fn decode<T: DeserializeOwned>(payload: &RaftPayload) -> Result<T, Status> {
    serde_json::from_slice(&payload.json)
        .map_err(|e| Status::invalid_argument(format!("json: cannot decode peer payload: {e}")))
}

fn encode<T: Serialize>(value: &T) -> Result<Response<RaftPayload>, Status> {
    serde_json::to_vec(value)
        .map(|json| Response::new(RaftPayload { json }))
        .map_err(|e| Status::internal(format!("cannot encode peer reply: {e}")))
}

#[tonic::async_trait]
impl RaftPeer for PeerService {
    async fn append_entries(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let request: typ::AppendEntriesRequest = decode(&self.admit(request)?)?;
        encode(&self.node.raft.append_entries(request).await)
    }

    async fn install_snapshot(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let request: typ::InstallSnapshotRequest = decode(&self.admit(request)?)?;
        encode(&self.node.raft.install_snapshot(request).await)
    }

    async fn vote(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let request: typ::VoteRequest = decode(&self.admit(request)?)?;
        encode(&self.node.raft.vote(request).await)
    }

    async fn forward(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let request: ForwardRequest = decode(&self.admit(request)?)?;
        encode(&self.node.handle_forward(request).await)
    }

    async fn probe(&self, request: Request<ProbeRequest>) -> Result<Response<ProbeReply>, Status> {
        self.admit(request)?;
        Ok(Response::new(self.node.probe_reply()))
    }
}
