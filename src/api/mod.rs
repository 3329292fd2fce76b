//! gRPC: the public control API and the node-to-node service, each on its
//! own listener so they can be secured and exposed separately.
//!
//! - [`control`]: `raftcdc.v1.Control`, plus standard `grpc.health.v1`
//!   health and server reflection (grpcurl works without `.proto` files).
//! - [`peer`]: `raftcdc.v1.RaftPeer`, for other nodes only.
//! - [`status`]: the one place errors become `tonic::Status`.
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::node::Node;
use crate::proto::{control_server::ControlServer, raft_peer_server::RaftPeerServer, FILE_DESCRIPTOR_SET};

pub mod control;
pub mod peer;
pub mod status;

/// Largest control request accepted.
const MAX_CONTROL_MESSAGE: usize = 4 * 1024 * 1024;
/// Largest peer message (snapshot chunks and log batches, JSON-encoded).
const MAX_PEER_MESSAGE: usize = 256 * 1024 * 1024;
/// Upper bound on any control call (membership changes wait for catch-up).
const CONTROL_CALL_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot bind {what} on {addr}")]
    Bind {
        what: &'static str,
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("gRPC server failed")]
    Serve(#[from] tonic::transport::Error),
    #[error("cannot build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Serves both listeners until `shutdown` resolves.
pub async fn serve(node: Arc<Node>, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ApiError> {
    let control_listener = bind(node.config.listen, "the control API").await?;
    let peer_listener = bind(node.config.peer_listen, "the peer service").await?;

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<ControlServer<control::ControlService>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;

    let control = ControlServer::new(control::ControlService { node: node.clone() })
        .max_decoding_message_size(MAX_CONTROL_MESSAGE);
    let peer = RaftPeerServer::new(peer::PeerService { node: node.clone() })
        .max_decoding_message_size(MAX_PEER_MESSAGE)
        .max_encoding_message_size(MAX_PEER_MESSAGE);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    tracing::info!(control = %node.config.listen, peer = %node.config.peer_listen, "serving");
    let control_server = tonic::transport::Server::builder()
        .timeout(CONTROL_CALL_TIMEOUT)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(control)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(control_listener),
            stopped(stop_rx.clone()),
        );
    let peer_server = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(peer)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(peer_listener),
            stopped(stop_rx),
        );
    tokio::try_join!(control_server, peer_server)?;
    Ok(())
}

async fn bind(addr: std::net::SocketAddr, what: &'static str) -> Result<tokio::net::TcpListener, ApiError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ApiError::Bind { what, addr, source })
}
