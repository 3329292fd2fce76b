//! Kafka Connect's REST API, the web console and `/metrics`, served by
//! every node on the `[rest]` listener with axum.
//!
//! This module owns the HTTP side: the router, the bearer-token check, the
//! body limit and reading request bodies, and the listener. Handlers live
//! in [`connectors`] (connector lifecycle), [`offsets`] (KIP-875) and
//! [`plugins`]; JSON shapes in [`shapes`]; errors become Kafka-style
//! answers only in [`error`]; the console's page is [`console`].
//!
//! Why it is correct:
//! - Every read is served from this node's applied Raft state, and every
//!   write goes through [`RestState::propose`] ([`Node::propose`], which
//!   runs it on the leader or forwards it there, then waits until this node
//!   has applied it): a follower serves writes itself (never a redirect)
//!   and reads its own writes, so a load balancer may send any call to any
//!   node.
//! - Connector configs pass through [`crate::connector::ConnectorSpec`],
//!   the same front door as gRPC create and update, before any proposal.
//! - Bodies are read whole with a limit ([`MAX_BODY`]) and parsed here, so
//!   bad JSON and oversized bodies are answered in Kafka's error form and
//!   never reach a handler.
//! - With `[auth] token_file` set, every route except `/metrics` and the
//!   console's static page requires `Authorization: Bearer <token>`,
//!   compared in constant time (the control API's [`Token`]).
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::Value;

use crate::config::security::Token;
use crate::connector::ConnectorConfig;
use crate::node::{Node, NodeError};
use crate::raft::command::Command;
use crate::raft::network;
use crate::raft::state::ConnectorRecord;
use crate::raft::NodeId;
use crate::sink::kafka::{fetch_cluster_id, KafkaSinkConfig};

pub mod connectors;
pub mod console;
pub mod error;
pub mod offsets;
pub mod plugins;
pub mod shapes;
pub mod tls;

use error::RestError;

/// Largest request body accepted (a connector config is a few KiB).
pub const MAX_BODY: usize = 1024 * 1024;
/// Bound on asking another node for its REST address.
const PROBE_TIMEOUT: Duration = Duration::from_millis(700);
/// Longest a write on a follower waits for the follower to apply it.
const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(5);
/// The Kafka Connect release whose REST API this one follows.
pub const KAFKA_CONNECT_VERSION: &str = "3.9.0";

/// What every handler shares.
#[derive(Clone)]
pub struct RestState {
    pub node: Arc<Node>,
    token: Option<Token>,
    /// Node id → advertised REST address, learnt by probing (addresses are
    /// fixed for a node's lifetime; a node without REST maps to "").
    worker_ids: Arc<Mutex<HashMap<NodeId, String>>>,
    /// Recent task state changes, for the console.
    changes: console::StateChanges,
    /// The Kafka cluster's id, once a broker reported it.
    kafka_cluster_id: Arc<std::sync::OnceLock<String>>,
    /// Whether a lookup of it is under way.
    cluster_id_lookup: Arc<std::sync::atomic::AtomicBool>,
}

/// Asks the brokers in `[kafka] bootstrap_servers` for the cluster id,
/// with the connection settings (TLS, SASL) of the first connector whose
/// config has them, or none.
async fn lookup_kafka_cluster_id(node: &Node) -> Option<String> {
    let bootstrap = node.config.kafka_bootstrap_servers.clone()?;
    let cluster = &node.config.cluster_name;
    let sinks = node
        .select_connectors(|c| ConnectorConfig::parse(&c.config).ok()?.sink(cluster, &c.name, &bootstrap).ok())
        .await;
    let sink = match sinks.into_iter().find(|s| !s.connection_overrides().is_empty()) {
        Some(sink) => sink,
        None => KafkaSinkConfig::from_properties(cluster, "rest", &bootstrap, &BTreeMap::new()).ok()?,
    };
    match fetch_cluster_id(&sink, Duration::from_secs(5)).await {
        Ok(id) => id,
        Err(error) => {
            tracing::debug!(error = %crate::error::error_chain(&error), "the Kafka cluster id is not known yet");
            None
        }
    }
}

impl RestState {
    pub fn new(node: Arc<Node>) -> RestState {
        let token = node.config.security.token.clone();
        RestState {
            changes: console::StateChanges::watch(node.clone()),
            node,
            token,
            worker_ids: Arc::default(),
            kafka_cluster_id: Arc::default(),
            cluster_id_lookup: Arc::default(),
        }
    }

    /// The Kafka cluster's id once a broker reported it; until then
    /// `None`, and a lookup starts in the background (one at a time), so
    /// `GET /`, which health checks poll, never waits for Kafka.
    pub fn kafka_cluster_id(&self) -> Option<String> {
        if let Some(id) = self.kafka_cluster_id.get() {
            return Some(id.clone());
        }
        if !self.cluster_id_lookup.swap(true, std::sync::atomic::Ordering::AcqRel) {
            let (node, known, busy) = (self.node.clone(), self.kafka_cluster_id.clone(), self.cluster_id_lookup.clone());
            tokio::spawn(async move {
                if let Some(id) = lookup_kafka_cluster_id(&node).await {
                    let _ = known.set(id);
                }
                busy.store(false, std::sync::atomic::Ordering::Release);
            });
        }
        None
    }

    /// Proposes `command` through the leader (forwarded from a follower),
    /// then waits, bounded by [`READ_YOUR_WRITES_WAIT`], until this node
    /// has applied everything the leader had applied when the write
    /// returned: a client that writes through a follower and then reads
    /// from it sees its own write (DELETE then GET is a 404), as it would
    /// from one Kafka Connect worker.
    pub async fn propose(&self, command: Command) -> Result<Option<ConnectorRecord>, NodeError> {
        let reply = self.node.propose(command).await?;
        let metrics = self.node.metrics();
        if metrics.state != openraft::ServerState::Leader {
            let leader = metrics
                .current_leader
                .and_then(|l| metrics.membership_config.membership().get_node(&l).cloned());
            if let Some(leader) = leader {
                let probe = network::probe(self.node.dialer(), &leader.raft_addr, self.node.id, PROBE_TIMEOUT).await;
                if let Ok(probe) = probe {
                    let _ = self
                        .node
                        .raft
                        .wait(Some(READ_YOUR_WRITES_WAIT))
                        .applied_index_at_least(probe.last_applied_index, "this node applied the write")
                        .await;
                }
            }
        }
        Ok(reply)
    }

    /// This node's advertised REST address.
    pub fn own_worker_id(&self) -> String {
        self.node.config.rest.as_ref().map(|r| r.advertise.clone()).unwrap_or_default()
    }

    /// The `worker_id` of node `id`: its advertised REST address, asked
    /// once and remembered. A node that cannot be asked (it is down) is
    /// named `node-<id>` until it answers, so a status read never fails
    /// because an owner died.
    pub async fn worker_id(&self, id: Option<NodeId>) -> String {
        let Some(id) = id else {
            return self.own_worker_id();
        };
        if id == self.node.id {
            return self.own_worker_id();
        }
        if let Some(known) = self.worker_ids.lock().expect("worker id cache").get(&id) {
            return known.clone();
        }
        let member = self.node.metrics().membership_config.membership().get_node(&id).cloned();
        if let Some(member) = member {
            if let Ok(reply) = network::probe(self.node.dialer(), &member.raft_addr, self.node.id, PROBE_TIMEOUT).await {
                if !reply.rest_addr.is_empty() {
                    self.worker_ids.lock().expect("worker id cache").insert(id, reply.rest_addr.clone());
                    return reply.rest_addr;
                }
            }
        }
        format!("node-{id}")
    }
}

/// The whole HTTP surface.
pub fn router(state: RestState) -> Router {
    let api = Router::new()
        .route("/", get(connectors::root))
        .route("/connectors", get(connectors::list).post(connectors::create))
        .route("/connectors/{name}", get(connectors::info).delete(connectors::delete))
        .route(
            "/connectors/{name}/config",
            get(connectors::get_config).put(connectors::put_config).patch(connectors::patch_config),
        )
        .route("/connectors/{name}/status", get(connectors::status))
        .route("/connectors/{name}/tasks", get(connectors::tasks))
        .route("/connectors/{name}/tasks/{task}/status", get(connectors::task_status))
        .route("/connectors/{name}/tasks/{task}/restart", post(connectors::restart_task))
        .route("/connectors/{name}/topics", get(connectors::topics))
        .route("/connectors/{name}/topics/reset", put(connectors::reset_topics))
        .route("/connectors/{name}/restart", post(connectors::restart))
        .route("/connectors/{name}/pause", put(connectors::pause))
        .route("/connectors/{name}/resume", put(connectors::resume))
        .route("/connectors/{name}/stop", put(connectors::stop))
        .route("/connectors/{name}/snapshot", post(connectors::snapshot))
        .route(
            "/connectors/{name}/offsets",
            get(offsets::get).patch(offsets::alter).delete(offsets::reset),
        )
        .route("/connector-plugins", get(plugins::list))
        .route("/connector-plugins/{class}/config", get(plugins::config_definitions))
        .route("/connector-plugins/{class}/config/validate", put(plugins::validate))
        .route("/raftcdc/cluster", get(console::cluster))
        .route("/raftcdc/connectors/{name}", get(console::connector_detail))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .merge(api)
        .route("/metrics", get(metrics))
        .route("/ui", get(console::page))
        .route("/ui/", get(console::page))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn require_token(State(state): State<RestState>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let given = request.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes());
        match given {
            None => {
                return RestError::Unauthorized(
                    "this node requires a bearer token (Authorization: Bearer <token>)".into(),
                )
                .into_response()
            }
            Some(given) if !token.accepts(given) => {
                return RestError::Unauthorized("the bearer token is not valid for this cluster".into()).into_response()
            }
            Some(_) => {}
        }
    }
    next.run(request).await
}

async fn not_found(uri: axum::http::Uri) -> RestError {
    RestError::NotFound(format!("HTTP 404 Not Found: no such resource {}", uri.path()))
}

async fn method_not_allowed() -> RestError {
    RestError::MethodNotAllowed("HTTP 405 Method Not Allowed".into())
}

/// Prometheus text format, the same bytes as `[metrics] listen` serves.
pub async fn metrics(State(state): State<RestState>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, crate::metrics::exposition::CONTENT_TYPE)],
        crate::metrics::render(&state.node.metrics_snapshot().await),
    )
        .into_response()
}

/// A request body as JSON: empty, oversized and malformed bodies are
/// Kafka-style 400/413 errors.
pub fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, RestError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            RestError::TooLarge(format!("request body is larger than {MAX_BODY} bytes"))
        } else {
            RestError::BadRequest(format!("cannot read the request body: {rejection}"))
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(RestError::BadRequest("request body is empty; a JSON object is required".into()));
    }
    serde_json::from_slice(&bytes).map_err(|e| RestError::BadRequest(format!("request body is not valid JSON: {e}")))
}

/// `Json` answer with a status.
pub fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// Serves `router` on an already bound listener until `stopped` resolves,
/// over TLS when an acceptor is given.
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router.layer(axum::extract::DefaultBodyLimit::max(MAX_BODY));
    match tls {
        Some(acceptor) => tls::serve(listener, acceptor, router, stopped).await,
        None => axum::serve(listener, router).with_graceful_shutdown(stopped).await,
    }
}

/// A bound REST listener, ready to serve.
pub struct Bound {
    pub listener: tokio::net::TcpListener,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub router: Router,
}

/// `[metrics] listen`: only `GET`/`HEAD /metrics`, plain HTTP, no token
/// (what the hand-written endpoint before it answered; other paths are
/// 404, other methods 405, in plain text).
pub fn metrics_router(node: Arc<Node>) -> Router {
    async fn metrics_only(State(node): State<Arc<Node>>) -> Response {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, crate::metrics::exposition::CONTENT_TYPE)],
            crate::metrics::render(&node.metrics_snapshot().await),
        )
            .into_response()
    }
    Router::new()
        .route("/metrics", get(metrics_only))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found; metrics are at /metrics\n") })
        .with_state(node)
}

/// Binds `[rest] listen` and serves the REST API, console and `/metrics`.
pub async fn bind(node: &Arc<Node>) -> Result<Option<Bound>, super::ApiError> {
    let Some(rest) = &node.config.rest else {
        return Ok(None);
    };
    // `[tls.control]` secures this listener too.
    let tls = node
        .config
        .security
        .control
        .as_ref()
        .map(tls::acceptor)
        .transpose()
        .map_err(super::ApiError::RestTls)?;
    let listener = tokio::net::TcpListener::bind(rest.listen)
        .await
        .map_err(|source| super::ApiError::Bind {
            what: "the REST API",
            addr: rest.listen,
            source,
        })?;
    tracing::info!(rest = %rest.listen, advertise = %rest.advertise, tls = tls.is_some(), "serving the Kafka Connect REST API and the console at /ui");
    Ok(Some(Bound {
        listener,
        tls,
        router: router(RestState::new(node.clone())),
    }))
}
