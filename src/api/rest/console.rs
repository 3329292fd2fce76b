//! The web console: one HTML page with its script and style inside the
//! binary (`console.html`, no external assets), served at `/ui`, and the
//! two JSON reads it needs beyond Kafka Connect's API:
//! `GET /raftcdc/cluster` (members, leader, term, reachability, lag, and
//! every connector's summary) and `GET /raftcdc/connectors/{name}`
//! (config with secrets masked, offsets, schema history, snapshot
//! progress, and recent task state changes).
//!
//! The page polls `/raftcdc/cluster` every second, so a leader change or an
//! owner move shows within two seconds; its buttons call the Kafka Connect
//! endpoints (`pause`, `resume`, `restart`) and raftcdc's `snapshot`, with
//! the bearer token the user entered (kept in the browser's session
//! storage). The page itself needs no token; every read it makes does.
//!
//! Recent task state changes are what this node saw applied: a watcher
//! ([`StateChanges`]) compares each connector's (state, owner, epoch)
//! after every applied entry and keeps the last [`KEPT_CHANGES`] per
//! connector in memory. They start empty when the node starts.
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::error::RestError;
use super::{answer, offsets, shapes, RestState};
use crate::node::Node;
use crate::raft::state::ConnectorRecord;
use crate::raft::NodeId;

/// The page, with its script and style.
const PAGE: &str = include_str!("console.html");
/// State changes kept per connector.
pub const KEPT_CHANGES: usize = 20;
/// Schema history entries the connector page shows (the latest).
const SHOWN_HISTORY: usize = 50;

/// `GET /ui`.
pub async fn page() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // Everything the page uses is in the page.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
            ),
        ],
        PAGE,
    )
        .into_response()
}

/// One observed change of a connector's task.
#[derive(Debug, Clone, PartialEq)]
struct Change {
    at_ms: i64,
    state: &'static str,
    owner: Option<NodeId>,
    epoch: u64,
    error: Option<String>,
}

/// Recent task state changes per connector, as this node applied them.
#[derive(Debug, Default, Clone)]
pub struct StateChanges {
    changes: Arc<Mutex<BTreeMap<String, VecDeque<Change>>>>,
}

impl StateChanges {
    /// Starts watching `node`'s applied state; the watcher ends with the
    /// node's change channel.
    pub fn watch(node: Arc<Node>) -> StateChanges {
        let this = StateChanges::default();
        let changes = this.clone();
        tokio::spawn(async move {
            let mut applied = node.subscribe_changes();
            loop {
                let seen = node
                    .select_connectors(|c| {
                        Some((
                            c.name.clone(),
                            Change {
                                at_ms: c.updated_ms,
                                state: shapes::task_state(c.effective_task_state()),
                                owner: c.owner,
                                epoch: c.epoch,
                                error: c.task.error.clone(),
                            },
                        ))
                    })
                    .await;
                changes.record(seen);
                if applied.changed().await.is_err() {
                    return;
                }
            }
        });
        this
    }

    fn record(&self, seen: Vec<(String, Change)>) {
        let mut all = self.changes.lock().expect("state changes");
        all.retain(|name, _| seen.iter().any(|(n, _)| n == name));
        for (name, change) in seen {
            let list = all.entry(name).or_default();
            let same = list
                .back()
                .is_some_and(|last| (last.state, last.owner, last.epoch) == (change.state, change.owner, change.epoch));
            if !same {
                if list.len() == KEPT_CHANGES {
                    list.pop_front();
                }
                list.push_back(change);
            }
        }
    }

    fn of(&self, name: &str) -> Vec<Value> {
        let all = self.changes.lock().expect("state changes");
        all.get(name)
            .map(|list| {
                list.iter()
                    .rev()
                    .map(|c| json!({"at_ms": c.at_ms, "state": c.state, "owner": c.owner, "epoch": c.epoch, "error": c.error}))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// How far behind the source the last committed offset was when it was
/// committed (its binlog event time, `ts_sec`, against its commit time),
/// as `raftcdc connector status` shows it; `null` before the first commit.
/// An idle database does not make it grow.
fn lag_ms(record: &ConnectorRecord) -> Option<i64> {
    let offset = record.offset.as_ref()?;
    let ts_sec = offset.offset.get("ts_sec")?.as_i64().filter(|t| *t > 0)?;
    Some((offset.committed_ms - ts_sec * 1000).max(0))
}

async fn summary(state: &RestState, record: &ConnectorRecord) -> Value {
    let worker = state.worker_id(record.owner).await;
    json!({
        "name": record.name,
        "state": shapes::task_state(record.effective_task_state()),
        "connector_state": shapes::connector_state(record),
        "owner": record.owner,
        "worker_id": worker,
        "epoch": record.epoch,
        "lag_ms": lag_ms(record),
        "snapshot": record.snapshot.as_ref().map(|s| json!({
            "tables_total": s.tables_total,
            "tables_done": s.tables_done,
            "rows_read": s.rows_read,
            "current_table": s.current_table,
            "completed": s.completed,
            "incremental": s.incremental,
        })),
        "error": record.task.error,
        "remedy": record.task.remedy,
    })
}

/// `GET /raftcdc/cluster`.
pub async fn cluster(State(state): State<RestState>) -> Result<Response, RestError> {
    let status = state.node.cluster_status().await;
    let members: Vec<Value> = status
        .members
        .iter()
        .map(|m| {
            json!({
                "node_id": m.node_id,
                "api_addr": m.api_addr,
                "rest_addr": m.rest_addr,
                "voter": m.voter,
                "role": m.role,
                "reachable": m.reachable,
                "term": m.term,
                "lag": m.lag,
                "last_applied_index": m.last_applied_index,
                "error": m.error,
            })
        })
        .collect();
    let mut connectors = Vec::new();
    for record in state.node.connectors().await {
        connectors.push(summary(&state, &record).await);
    }
    Ok(answer(
        StatusCode::OK,
        json!({
            "cluster_name": status.cluster_name,
            "reporting_node_id": status.reporting_node_id,
            "leader_id": status.leader_id,
            "term": status.term,
            "committed_index": status.committed_index,
            "members": members,
            "connectors": connectors,
        }),
    ))
}

/// `GET /raftcdc/connectors/{name}`.
pub async fn connector_detail(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    let record = state.node.connector(&name).await?;
    let mut body = summary(&state, &record).await;
    let history = &record.schema_history;
    body["config"] = shapes::config(&record);
    body["offsets"] = offsets::offsets(&record)["offsets"].clone();
    body["schema_history_total"] = json!(history.len());
    body["schema_history"] = json!(history[history.len().saturating_sub(SHOWN_HISTORY)..]);
    body["changes"] = json!(state.changes.of(&name));
    Ok(answer(StatusCode::OK, body))
}
