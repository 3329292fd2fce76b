//! gRPC: the public control API and the node-to-node service, each on its
//! own listener so they can be secured and exposed separately.
//!
//! - [`control`]: `raftcdc.v1.Control`, plus standard `grpc.health.v1`
//!   health and server reflection (grpcurl works without `.proto` files).
//! - [`peer`]: `raftcdc.v1.RaftPeer`, for other nodes only.
//! - [`status`]: the one place errors become `tonic::Status`.
//! - [`auth`]: the control API's bearer-token check (health is exempt).
//! - [`client`]: dialling a control endpoint (TLS, token, timeouts).
//! - [`cluster`]: the node's status views as protobuf, and other nodes'
//!   identities read from their control endpoints.
//! - [`rest`]: Kafka Connect's REST API, the web console and `/metrics`
//!   over HTTP (axum), on `[rest] listen`; `/metrics` alone on
//!   `[metrics] listen`. All listeners are bound before any is served.
//!
//! Both listeners take TLS from the node config (`[tls.control]`,
//! `[tls.peer]`, see [`crate::config::security`]); the peer listener then
//! requires client certificates from the peer CA. Limits: every call on
//! either listener has a deadline, each connection runs a bounded number of
//! calls at once, and a TLS handshake must finish in 10 s.
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tonic::service::interceptor::InterceptedService;

use crate::node::Node;
use crate::proto::{control_server::ControlServer, raft_peer_server::RaftPeerServer, FILE_DESCRIPTOR_SET};

pub mod auth;
pub mod client;
pub mod cluster;
pub mod control;
pub mod peer;
pub mod rest;
pub mod status;

/// Largest control request accepted.
const MAX_CONTROL_MESSAGE: usize = 4 * 1024 * 1024;
/// Largest peer message (snapshot chunks and log batches, JSON-encoded).
const MAX_PEER_MESSAGE: usize = 256 * 1024 * 1024;
/// Upper bound on any control call (membership changes wait for catch-up).
const CONTROL_CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Upper bound on any peer call (callers set shorter deadlines; the longest
/// is a forwarded add-node waiting for the learner to catch up; snapshot
/// chunks get at least `raft.install_snapshot_timeout_ms`).
const PEER_CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Calls one connection may run at once; more wait for a slot. openraft
/// sends one replication stream per peer, so this only bounds misbehaviour.
const CONCURRENT_CALLS_PER_CONNECTION: usize = 32;

/// Errors of the gRPC layer: serving, the token check, and dialling a
/// control endpoint.
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
    #[error("cannot set up TLS on the REST API")]
    RestTls(#[source] rest::tls::RestTlsError),
    #[error("{what} failed")]
    Http {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("cannot set up TLS on {what}")]
    Tls {
        what: &'static str,
        #[source]
        source: tonic::transport::Error,
    },
    // ---- a control call refused by the token check ([`auth`])
    #[error(
        "{}: this node requires a bearer token (`authorization: Bearer <token>`; the CLI's --token-file)",
        auth::AUTHORIZATION
    )]
    MissingToken,
    #[error(
        "{}: the bearer token is not valid for this cluster",
        auth::AUTHORIZATION
    )]
    InvalidToken,
    // ---- dialling a control endpoint ([`client`])
    #[error("\"{url}\" is not a URL such as http://127.0.0.1:7001")]
    Url {
        url: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("cannot verify {url}: no CA certificate is configured for https endpoints")]
    NoCa { url: String },
    #[error("cannot set up TLS for {url}")]
    ClientTls {
        url: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("cannot connect to {url}")]
    Connect {
        url: String,
        #[source]
        source: tonic::transport::Error,
    },
}

/// Serves both listeners until `shutdown` resolves.
pub async fn serve(node: Arc<Node>, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ApiError> {
    let control_listener = bind(node.config.listen, "the control API").await?;
    let peer_listener = bind(node.config.peer_listen, "the peer service").await?;
    let rest = rest::bind(&node).await?;
    let metrics_listener = match node.config.metrics_listen {
        Some(addr) => Some(bind(addr, "the metrics endpoint").await?),
        None => None,
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<ControlServer<control::ControlService>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;

    // Health stays outside the token check so probes need no secret.
    let require_token = auth::RequireToken::new(node.config.security.token.clone());
    let reflection = InterceptedService::new(reflection, require_token.clone());
    let control = ControlServer::new(control::ControlService { node: node.clone() })
        .max_decoding_message_size(MAX_CONTROL_MESSAGE);
    let control = InterceptedService::new(control, require_token);
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
    let security = &node.config.security;
    let mut control_builder = tonic::transport::Server::builder()
        .timeout(CONTROL_CALL_TIMEOUT)
        .concurrency_limit_per_connection(CONCURRENT_CALLS_PER_CONNECTION);
    if let Some(tls) = &security.control {
        control_builder =
            control_builder
                .tls_config(tls.config())
                .map_err(|source| ApiError::Tls {
                    what: "the control API",
                    source,
                })?;
    }
    let peer_timeout = PEER_CALL_TIMEOUT.max(Duration::from_millis(
        node.config.raft.install_snapshot_timeout_ms,
    ));
    let mut peer_builder = tonic::transport::Server::builder()
        .timeout(peer_timeout)
        .concurrency_limit_per_connection(CONCURRENT_CALLS_PER_CONNECTION);
    if let Some(tls) = &security.peer {
        peer_builder = peer_builder
            .tls_config(tls.server.config())
            .map_err(|source| ApiError::Tls {
                what: "the peer service",
                source,
            })?;
    }
    tracing::info!(
        control_tls = security.control.is_some(),
        control_client_certs = security
            .control
            .as_ref()
            .is_some_and(|t| t.requires_client_cert()),
        peer_tls = security.peer.is_some(),
        token = security.token.is_some(),
        "security"
    );
    let control_server = control_builder
        .add_service(health_service)
        .add_service(reflection)
        .add_service(control)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(control_listener),
            stopped(stop_rx.clone()),
        );
    let peer_server = peer_builder
        .tcp_nodelay(true)
        .add_service(peer)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(peer_listener),
            stopped(stop_rx.clone()),
        );
    let rest_server = {
        let stopped = stopped(stop_rx.clone());
        async move {
            match rest {
                Some(bound) => rest::serve_listener(bound.listener, bound.tls, bound.router, stopped)
                    .await
                    .map_err(|source| ApiError::Http { what: "the REST API", source }),
                None => Ok(()),
            }
        }
    };
    let metrics_server = {
        let stopped = stopped(stop_rx.clone());
        let node = node.clone();
        async move {
            match metrics_listener {
                Some(listener) => {
                    tracing::info!(metrics = ?listener.local_addr().ok(), "serving /metrics");
                    rest::serve_listener(listener, None, rest::metrics_router(node), stopped)
                        .await
                        .map_err(|source| ApiError::Http { what: "the metrics endpoint", source })
                }
                None => Ok(()),
            }
        }
    };
    let grpc = async {
        tokio::try_join!(control_server, peer_server)?;
        Ok::<(), ApiError>(())
    };
    tokio::try_join!(grpc, rest_server, metrics_server)?;
    Ok(())
}

async fn bind(addr: std::net::SocketAddr, what: &'static str) -> Result<tokio::net::TcpListener, ApiError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ApiError::Bind { what, addr, source })
}
