//! The one place where errors become HTTP answers, in Kafka Connect's form
//! `{"error_code": <status>, "message": "..."}`.
//!
//! Status codes follow Kafka Connect's `ConnectorsResource`: an unknown
//! connector or task is 404, a duplicate name 409, anything wrong with the
//! request (bad JSON, an invalid config, offsets of a connector that is not
//! STOPPED) 400, a missing or wrong bearer token 401, a body over the limit
//! 413, and a node that cannot reach a leader 503 (Kafka answers 409 or
//! 500 there; 503 tells a load balancer to try another node). Every
//! refusal is decided before anything is proposed to Raft, or is a
//! state-machine rejection that changed nothing, so an error never leaves a
//! partial change behind.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::error_chain;
use crate::node::NodeError;
use crate::raft::command::CommandError;
use crate::raft::network::ForwardError;

/// Why a REST call failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    TooLarge(String),
    /// Boxed: a `NodeError` is large and errors travel through every
    /// handler's `Result`.
    #[error("{0}")]
    Node(Box<NodeError>),
}

impl From<NodeError> for RestError {
    fn from(error: NodeError) -> RestError {
        RestError::Node(Box::new(error))
    }
}

impl RestError {
    pub fn status(&self) -> StatusCode {
        match self {
            RestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RestError::NotFound(_) => StatusCode::NOT_FOUND,
            RestError::Conflict(_) => StatusCode::CONFLICT,
            RestError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            RestError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            RestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RestError::Node(error) => node_status(error),
        }
    }

    /// Kafka Connect's wording where it has one, otherwise the error chain.
    pub fn message(&self) -> String {
        match self {
            RestError::Node(error) => match error.as_ref() {
                NodeError::Rejected(CommandError::NotFound { name }) => format!("Connector {name} not found"),
                NodeError::Rejected(CommandError::AlreadyExists { name }) => format!("Connector {name} already exists"),
                NodeError::Rejected(CommandError::NotStopped { name } | CommandError::NotPaused { name }) => {
                    format!(
                        "Connectors must be in the STOPPED state before their offsets can be modified. This can be \
                         done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' \
                         endpoint"
                    )
                }
                other => error_chain(other),
            },
            other => other.to_string(),
        }
    }
}

fn node_status(error: &NodeError) -> StatusCode {
    match error {
        NodeError::Invalid { .. } => StatusCode::BAD_REQUEST,
        NodeError::Rejected(rejected) => match rejected {
            CommandError::NotFound { .. } => StatusCode::NOT_FOUND,
            CommandError::AlreadyExists { .. } => StatusCode::CONFLICT,
            CommandError::InvalidName { .. }
            | CommandError::InvalidOffset { .. }
            | CommandError::NotPaused { .. }
            | CommandError::NotStopped { .. }
            | CommandError::NoSnapshot { .. } => StatusCode::BAD_REQUEST,
            CommandError::StaleEpoch { .. } | CommandError::EpochMismatch { .. } | CommandError::SignalRepeated { .. } => {
                StatusCode::CONFLICT
            }
        },
        NodeError::Precondition { .. } => StatusCode::CONFLICT,
        NodeError::NoLeader { .. }
        | NodeError::NotLeader { .. }
        | NodeError::Unreachable { .. }
        | NodeError::Forward { .. }
        | NodeError::Write(_)
        | NodeError::Fatal(_) => StatusCode::SERVICE_UNAVAILABLE,
        NodeError::Remote(remote) => match remote {
            ForwardError::NotLeader { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ForwardError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ForwardError::Failed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        },
        NodeError::Timeout(_)
        | NodeError::DataDir { .. }
        | NodeError::Store(_)
        | NodeError::RaftStorage(_)
        | NodeError::RaftConfig(_)
        | NodeError::RaftStart(_)
        | NodeError::Initialize(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<crate::connector::SpecError> for RestError {
    fn from(error: crate::connector::SpecError) -> RestError {
        RestError::BadRequest(error.to_string())
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({ "error_code": status.as_u16(), "message": self.message() });
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_codes_and_messages() {
        let not_found = RestError::from(NodeError::Rejected(CommandError::NotFound { name: "x".into() }));
        assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
        assert_eq!(not_found.message(), "Connector x not found");
        let duplicate = RestError::from(NodeError::Rejected(CommandError::AlreadyExists { name: "x".into() }));
        assert_eq!(duplicate.status(), StatusCode::CONFLICT);
        assert_eq!(duplicate.message(), "Connector x already exists");
        let running = RestError::from(NodeError::Rejected(CommandError::NotStopped { name: "x".into() }));
        assert_eq!(running.status(), StatusCode::BAD_REQUEST);
        assert!(running.message().contains("/connectors/x/stop"));
        let no_leader = RestError::from(NodeError::NoLeader { waited: std::time::Duration::ZERO });
        assert_eq!(no_leader.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
