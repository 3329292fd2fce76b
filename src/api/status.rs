//! The one place where errors become gRPC statuses.
//!
//! Codes follow gRPC's conventions: a malformed request is
//! `INVALID_ARGUMENT`, an unknown connector `NOT_FOUND`, a duplicate
//! `ALREADY_EXISTS`, a request the current state forbids (offsets on a
//! running connector, a stale epoch) `FAILED_PRECONDITION`, and anything a
//! retry may fix (no leader yet, a peer down) `UNAVAILABLE`; a call without
//! the control API's bearer token is `UNAUTHENTICATED`. The message is
//! the error's whole source chain and starts with the request field it is
//! about. When the leader is known but could not be reached, its control
//! address travels in the `x-raftcdc-leader` header so a client can retry
//! there.
use tonic::{Code, Status};

use super::ApiError;
use crate::error::error_chain;
use crate::node::NodeError;
use crate::raft::command::CommandError;
use crate::raft::network::ForwardError;

/// Metadata header naming the leader's control endpoint.
pub const LEADER_HEADER: &str = "x-raftcdc-leader";

impl From<NodeError> for Status {
    fn from(error: NodeError) -> Status {
        let message = error_chain(&error);
        let code = match &error {
            NodeError::Invalid { .. } => Code::InvalidArgument,
            NodeError::Rejected(rejected) => match rejected {
                CommandError::NotFound { .. } => Code::NotFound,
                CommandError::AlreadyExists { .. } | CommandError::SignalRepeated { .. } => Code::AlreadyExists,
                CommandError::InvalidName { .. } | CommandError::InvalidOffset { .. } => Code::InvalidArgument,
                CommandError::NotPaused { .. }
                | CommandError::NotStopped { .. }
                | CommandError::NoSnapshot { .. }
                | CommandError::StaleEpoch { .. }
                | CommandError::EpochMismatch { .. } => Code::FailedPrecondition,
            },
            NodeError::Precondition { .. } => Code::FailedPrecondition,
            NodeError::NoLeader { .. }
            | NodeError::NotLeader { .. }
            | NodeError::Unreachable { .. }
            | NodeError::Forward { .. }
            | NodeError::Write(_)
            | NodeError::Fatal(_) => Code::Unavailable,
            NodeError::Remote(remote) => match remote {
                ForwardError::NotLeader { .. } => Code::Unavailable,
                ForwardError::Invalid { .. } => Code::InvalidArgument,
                ForwardError::Failed { .. } => Code::Internal,
            },
            NodeError::Timeout(_) => Code::DeadlineExceeded,
            NodeError::DataDir { .. }
            | NodeError::Store(_)
            | NodeError::RaftStorage(_)
            | NodeError::RaftConfig(_)
            | NodeError::RaftStart(_)
            | NodeError::Initialize(_) => Code::Internal,
        };
        let mut status = Status::new(code, message);
        let leader_addr = match &error {
            NodeError::NotLeader { leader_api_addr, .. } => leader_api_addr.clone(),
            NodeError::Remote(ForwardError::NotLeader { leader_api_addr, .. }) => leader_api_addr.clone(),
            _ => None,
        };
        if let Some(value) = leader_addr.and_then(|a| a.parse().ok()) {
            status.metadata_mut().insert(LEADER_HEADER, value);
        }
        status
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Status {
        let code = match &error {
            ApiError::MissingToken | ApiError::InvalidToken => Code::Unauthenticated,
            ApiError::Url { .. } | ApiError::NoCa { .. } => Code::InvalidArgument,
            ApiError::Connect { .. } => Code::Unavailable,
            ApiError::Bind { .. }
            | ApiError::Serve(_)
            | ApiError::Http { .. }
            | ApiError::RestTls(_)
            | ApiError::Reflection(_)
            | ApiError::Tls { .. }
            | ApiError::ClientTls { .. } => Code::Internal,
        };
        Status::new(code, error_chain(&error))
    }
}

impl From<crate::connector::SpecError> for NodeError {
    fn from(error: crate::connector::SpecError) -> NodeError {
        NodeError::Invalid {
            field: error.field,
            reason: error.reason,
        }
    }
}
