//! Prometheus metrics of a node: the registry and what each metric means.
//! The text format itself lives in [`exposition`]; the `/metrics` endpoint
//! is served over HTTP by [`crate::api::rest`] (on `[rest] listen`, and on
//! `[metrics] listen` alone).
//!
//! # What is measured where
//! - **Pushed by the pipeline** (this node's own work, kept in
//!   [`Registry`]): records, rows and bytes delivered, Kafka delivery and commit
//!   durations, how far behind the source the last delivery was, errors
//!   that ended a task attempt, and whether a task runs here. The hooks are
//!   single calls: [`ConnectorMetrics::delivered`] after a Kafka commit,
//!   [`ConnectorMetrics::attempt_failed`] when an attempt ends with an
//!   error, [`ConnectorMetrics::task_running`] around a task's life.
//! - **Read at scrape time** (never stale, nothing to keep in sync): Raft
//!   state from openraft's metrics, and per-connector epoch, owner, state,
//!   offset age and snapshot progress from the replicated state, so every
//!   node answers the same for them; so is the binlog retention headroom
//!   the owner last measured ([`crate::source::mysql::retention`]), and the
//!   rows events skipped by `event.processing.failure.handling.mode`, which
//!   the committed offset counts ([`crate::source::mysql::event_failure`]).
//!
//! # Why it is correct
//! - Counters only rise while the process lives (Prometheus handles the
//!   reset at restart), and the hooks never block: they are atomics; the
//!   one lock, a name → cells map, is held only to look up or insert and
//!   never across an `.await`.
//! - Scrape-time values come from one read of openraft's metrics watch and
//!   one read of the applied state, so a scrape never mixes two Raft states
//!   within a family.
//! - The source lag uses the binlog timestamp (`ts_sec`) the MySQL offset
//!   of every batch already carries ([`crate::source::mysql::position`]),
//!   so the source needs no extra hook; the binlog's resolution is seconds,
//!   as for Debezium's `MilliSecondsBehindSource`.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openraft::ServerState;

use crate::placement::policy::MoveReason;
use crate::raft::state::{ConnectorRecord, SnapshotProgress, TaskState};
use crate::raft::{typ, NodeId};
use crate::source::Record;

pub mod exposition;

use exposition::{Counter, Exposition, Gauge, Histogram, Kind};

/// Upper bounds (seconds) of the Kafka transaction duration histogram.
static TRANSACTION_SECONDS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Why a task attempt ended with an error (`kind` label of
/// `raftcdc_connector_errors_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Retried after a backoff (broker or database unreachable, ...).
    Transient,
    /// Stops the connector as `FAILED` until an operator acts.
    Definite,
    /// Kafka fenced the task's producer.
    Fenced,
}

impl ErrorKind {
    const ALL: [ErrorKind; 3] = [ErrorKind::Transient, ErrorKind::Definite, ErrorKind::Fenced];

    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::Definite => "definite",
            ErrorKind::Fenced => "fenced",
        }
    }
}

/// The metrics one node keeps about its own work.
#[derive(Debug)]
pub struct Registry {
    connectors: Mutex<BTreeMap<String, Arc<ConnectorMetrics>>>,
    /// Raft snapshots built or installed since the process started (shared
    /// with the state machine, which counts them).
    snapshots: Arc<AtomicU64>,
    /// Placement moves this node proposed as leader, by reason (indexed as
    /// `MoveReason::ALL`).
    moves: [Counter; 6],
}

/// One connector's cells on this node.
#[derive(Debug)]
pub struct ConnectorMetrics {
    records: Counter,
    rows: Counter,
    bytes: Counter,
    transaction_seconds: Histogram,
    commit_seconds: Histogram,
    behind_source_ms: Gauge,
    /// Binlog timestamp (ms) of the last delivery that set `behind_source_ms`.
    last_source_ms: AtomicU64,
    /// Indexed by `ErrorKind as usize` (declaration order, as `ErrorKind::ALL`).
    errors: [Counter; 3],
    tasks_running: AtomicI64,
}

impl Default for ConnectorMetrics {
    fn default() -> Self {
        ConnectorMetrics {
            records: Counter::default(),
            rows: Counter::default(),
            bytes: Counter::default(),
            transaction_seconds: Histogram::new(&TRANSACTION_SECONDS),
            commit_seconds: Histogram::new(&TRANSACTION_SECONDS),
            behind_source_ms: Gauge::default(),
            last_source_ms: AtomicU64::new(0),
            errors: Default::default(),
            tasks_running: AtomicI64::new(0),
        }
    }
}

impl Registry {
    /// `snapshots` is the state machine's count of snapshots built or
    /// installed ([`crate::raft::state_machine::StateMachineStore::snapshot_count`]).
    pub fn new(snapshots: Arc<AtomicU64>) -> Registry {
        Registry {
            connectors: Mutex::default(),
            snapshots,
            moves: Default::default(),
        }
    }

    /// The cells of connector `name`, created on first use.
    pub fn connector(&self, name: &str) -> Arc<ConnectorMetrics> {
        let mut connectors = self.connectors.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        connectors.entry(name.to_string()).or_default().clone()
    }

    /// Source rows delivered so far, per connector (for load reports).
    pub fn source_rows(&self) -> BTreeMap<String, u64> {
        self.connectors().into_iter().map(|(name, m)| (name, m.rows.get())).collect()
    }

    /// Counts one placement move the leader made on this node.
    pub fn moved(&self, reason: MoveReason) {
        let index = MoveReason::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        self.moves[index].add(1);
    }

    fn connectors(&self) -> BTreeMap<String, Arc<ConnectorMetrics>> {
        self.connectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl ConnectorMetrics {
    /// One delivery succeeded: its records, the batch's offset (whose
    /// `ts_sec` is the binlog time of its last event), how long the whole
    /// delivery took and how long its Kafka commit took (`None` without
    /// transactions).
    pub fn delivered(&self, records: &[Record], offset: &serde_json::Value, took: Duration, commit: Option<Duration>) {
        self.records.add(records.len() as u64);
        let rows = records.iter().filter(|r| r.change_event).count();
        self.rows.add(rows as u64);
        let bytes: usize = records
            .iter()
            .map(|r| r.key.as_ref().map_or(0, Vec::len) + r.value.as_ref().map_or(0, Vec::len))
            .sum();
        self.bytes.add(bytes as u64);
        self.transaction_seconds.observe(took.as_secs_f64());
        if let Some(commit) = commit {
            self.commit_seconds.observe(commit.as_secs_f64());
        }
        // Only a delivery of newer binlog events moves the lag: an idle
        // source re-sends its last timestamp, and "behind" must not grow
        // while nothing happens (Debezium's gauge behaves the same).
        let source_ms = offset.get("ts_sec").and_then(serde_json::Value::as_u64).unwrap_or(0) * 1000;
        if source_ms > 0 && source_ms > self.last_source_ms.load(Ordering::Relaxed) {
            self.last_source_ms.store(source_ms, Ordering::Relaxed);
            self.behind_source_ms.set(now_ms().saturating_sub(source_ms) as f64);
        }
    }

    /// A task attempt ended with an error of `kind` (`None`: it ended
    /// without one, or was deposed or stopped, which are not errors).
    pub fn attempt_failed(&self, kind: Option<ErrorKind>) {
        if let Some(kind) = kind {
            self.errors[kind as usize].add(1);
        }
    }

    /// Marks a task of this connector as running here until the guard drops.
    pub fn task_running(self: &Arc<Self>) -> TaskRunning {
        self.tasks_running.fetch_add(1, Ordering::Relaxed);
        TaskRunning(self.clone())
    }
}

/// See [`ConnectorMetrics::task_running`].
#[derive(Debug)]
pub struct TaskRunning(Arc<ConnectorMetrics>);

impl Drop for TaskRunning {
    fn drop(&mut self) {
        self.0.tasks_running.fetch_sub(1, Ordering::Relaxed);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Everything one scrape renders, read once by the node
/// ([`crate::node::Node::metrics_snapshot`]): metrics depend on this
/// struct, not on the node, so the layers do not import each other.
pub struct MetricsSnapshot {
    pub node_id: NodeId,
    pub cluster_name: String,
    /// openraft's metrics, one copy.
    pub raft: typ::RaftMetrics,
    /// Committed index as this node can tell.
    pub committed_index: Option<u64>,
    /// The replicated state's connectors (the same on every node).
    pub connectors: Vec<ConnectorView>,
    /// Members of the cluster.
    pub members: Vec<NodeId>,
    /// This node's own work.
    pub registry: Arc<Registry>,
}

/// The part of a connector's record the metrics show.
pub struct ConnectorView {
    pub name: String,
    pub epoch: u64,
    pub owner: Option<NodeId>,
    pub state: TaskState,
    pub offset_committed_ms: Option<i64>,
    pub snapshot: Option<SnapshotProgress>,
    pub binlog_retention: Option<crate::raft::state::BinlogRetention>,
    pub source_server: Option<crate::raft::state::SourceServer>,
    /// Rows events skipped under `event.processing.failure.handling.mode`,
    /// as the committed offset counts them.
    pub skipped_events: u64,
}

impl ConnectorView {
    pub fn of(record: &ConnectorRecord) -> ConnectorView {
        ConnectorView {
            name: record.name.clone(),
            epoch: record.epoch,
            owner: record.owner,
            state: record.effective_task_state(),
            offset_committed_ms: record.offset.as_ref().map(|o| o.committed_ms),
            snapshot: record.snapshot.clone(),
            binlog_retention: record.binlog_retention.clone(),
            source_server: record.source_server.clone(),
            skipped_events: record
                .offset
                .as_ref()
                .and_then(|o| crate::source::mysql::event_failure::skipped_in_offset(&o.offset))
                .map_or(0, |s| s.count),
        }
    }
}

/// The scrape answer for `snapshot`.
pub fn render(snapshot: &MetricsSnapshot) -> String {
    let mut out = Exposition::default();
    render_node(snapshot, &mut out);
    render_connectors(snapshot, &mut out);
    out.finish()
}

fn render_node(node: &MetricsSnapshot, out: &mut Exposition) {
    let m = &node.raft;
    let id = node.node_id.to_string();
    out.family(
        "raftcdc_node_info",
        Kind::Gauge,
        "Constant 1; labels identify the node.",
    );
    out.sample(
        "raftcdc_node_info",
        &[
            ("node_id", id.as_str()),
            ("cluster", node.cluster_name.as_str()),
            ("version", env!("CARGO_PKG_VERSION")),
        ],
        1.0,
    );
    let last_log = m.last_log_index;
    let applied = m.last_applied.map(|l| l.index);
    let purged = m.purged.map(|l| l.index);
    let committed = node.committed_index;
    let gauges: [(&str, &str, Option<f64>); 10] = [
        ("raftcdc_raft_term", "Current Raft term.", Some(m.current_term as f64)),
        (
            "raftcdc_raft_leader_id",
            "Node id of the current leader as this node knows it; 0 when none is known.",
            Some(m.current_leader.unwrap_or(0) as f64),
        ),
        (
            "raftcdc_raft_is_leader",
            "1 if this node is the leader, else 0.",
            Some(f64::from(u8::from(m.state == ServerState::Leader))),
        ),
        (
            "raftcdc_raft_last_log_index",
            "Index of the last entry in this node's log.",
            last_log.map(|i| i as f64),
        ),
        (
            "raftcdc_raft_committed_index",
            "Committed index: on the leader the index a quorum of voters holds, elsewhere the last applied index.",
            committed.map(|i| i as f64),
        ),
        (
            "raftcdc_raft_last_applied_index",
            "Index of the last entry applied to the state machine.",
            applied.map(|i| i as f64),
        ),
        (
            "raftcdc_raft_apply_lag_entries",
            "Entries in the log not yet applied (last log index - last applied index).",
            Some(last_log.unwrap_or(0).saturating_sub(applied.unwrap_or(0)) as f64),
        ),
        (
            "raftcdc_raft_log_entries",
            "Entries kept in the log (last log index - last purged index).",
            Some(
                last_log
                    .map_or(0, |l| l + 1)
                    .saturating_sub(purged.map_or(0, |p| p + 1)) as f64,
            ),
        ),
        (
            "raftcdc_raft_snapshot_index",
            "Last log index included in the current Raft snapshot.",
            m.snapshot.map(|l| l.index as f64),
        ),
        (
            "raftcdc_raft_quorum_ack_age_seconds",
            "On the leader: time since a quorum last acknowledged it.",
            m.millis_since_quorum_ack.map(|ms| ms as f64 / 1000.0),
        ),
    ];
    for (name, help, value) in gauges {
        out.family(name, Kind::Gauge, help);
        if let Some(value) = value {
            out.sample(name, &[], value);
        }
    }
    out.family(
        "raftcdc_raft_snapshots_total",
        Kind::Counter,
        "Raft snapshots built or installed by this node since it started.",
    );
    out.sample(
        "raftcdc_raft_snapshots_total",
        &[],
        node.registry.snapshots.load(Ordering::Relaxed) as f64,
    );
    out.family(
        "raftcdc_placement_moves_total",
        Kind::Counter,
        "Connector moves this node proposed while it led, by reason (unowned, drain, over_capacity, constraint, balance, leader).",
    );
    for (reason, counter) in MoveReason::ALL.iter().zip(&node.registry.moves) {
        out.sample("raftcdc_placement_moves_total", &[("reason", reason.as_str())], counter.get() as f64);
    }
    out.family(
        "raftcdc_node_owned_connectors",
        Kind::Gauge,
        "Connectors each node owns, from the replicated state (the same on every node).",
    );
    let mut owned: BTreeMap<NodeId, u64> = node.members.iter().map(|id| (*id, 0)).collect();
    for c in &node.connectors {
        if let Some(owner) = c.owner {
            *owned.entry(owner).or_default() += 1;
        }
    }
    for (id, count) in owned {
        out.sample("raftcdc_node_owned_connectors", &[("node_id", id.to_string().as_str())], count as f64);
    }
}

/// The binlog retention headroom the owners last measured (from the
/// replicated state; absent until a measurement was committed).
fn render_retention(records: &[ConnectorView], now_ms: i64, out: &mut Exposition) {
    type Read = fn(&crate::raft::state::BinlogRetention, i64) -> Option<f64>;
    let families: [(&str, &str, Read); 5] = [
        (
            "raftcdc_source_binlog_headroom_bytes",
            "Binlog bytes the database still holds before the connector's position (from the start of its oldest binlog file).",
            |r, _| Some(r.headroom_bytes as f64),
        ),
        (
            "raftcdc_source_binlog_headroom_files",
            "Whole binlog files the database still holds before the connector's file.",
            |r, _| Some(r.headroom_files as f64),
        ),
        (
            "raftcdc_source_binlog_oldest_event_age_seconds",
            "Age of the first event of the oldest binlog file the database holds; absent when it could not be read.",
            |r, now_ms| r.oldest_event_ts.map(|ts| ((now_ms / 1000) - ts as i64).max(0) as f64),
        ),
        (
            "raftcdc_source_binlog_expire_seconds",
            "The database's binlog_expire_logs_seconds (or expire_logs_days in seconds); 0 when it does not purge by age.",
            |r, _| Some(r.expire_seconds as f64),
        ),
        (
            "raftcdc_source_binlog_retention_warning",
            "1 when the headroom is under raftcdc.binlog.retention.warn.bytes and the connector reads a binlog file the database no longer writes: a purge can overtake it.",
            |r, _| Some(f64::from(u8::from(r.warning))),
        ),
    ];
    for (name, help, read) in families {
        out.family(name, Kind::Gauge, help);
        for c in records {
            if let Some(value) = c.binlog_retention.as_ref().and_then(|r| read(r, now_ms)) {
                out.sample(name, &[("connector", c.name.as_str())], value);
            }
        }
    }
    out.family(
        "raftcdc_source_server_info",
        Kind::Gauge,
        "1 for the database server the connector's owner reads (address as database.hostname names it, server_id).",
    );
    for c in records {
        if let Some(s) = &c.source_server {
            let server_id = s.server_id.to_string();
            out.sample(
                "raftcdc_source_server_info",
                &[("connector", c.name.as_str()), ("address", s.address.as_str()), ("server_id", server_id.as_str())],
                1.0,
            );
        }
    }
    out.family(
        "raftcdc_source_server_since_timestamp_seconds",
        Kind::Gauge,
        "When the connector started reading from its current database server (Unix time): it moves at every failover to another server.",
    );
    for c in records {
        if let Some(s) = &c.source_server {
            out.sample(
                "raftcdc_source_server_since_timestamp_seconds",
                &[("connector", c.name.as_str())],
                s.since_ms as f64 / 1000.0,
            );
        }
    }
}

/// A per-connector counter family: name, help, and how to read it.
type CounterFamily = (&'static str, &'static str, fn(&ConnectorMetrics) -> u64);

fn render_connectors(node: &MetricsSnapshot, out: &mut Exposition) {
    let records = &node.connectors;
    let local = node.registry.connectors();
    let now = now_ms() as i64;

    // From the replicated state: the same on every node.
    out.family("raftcdc_connector_epoch", Kind::Gauge, "The connector's current epoch.");
    for c in records {
        out.sample(
            "raftcdc_connector_epoch",
            &[("connector", c.name.as_str())],
            c.epoch as f64,
        );
    }
    out.family(
        "raftcdc_connector_owner_node_id",
        Kind::Gauge,
        "Node id of the connector's owner; 0 when unassigned.",
    );
    for c in records {
        out.sample(
            "raftcdc_connector_owner_node_id",
            &[("connector", c.name.as_str())],
            c.owner.unwrap_or(0) as f64,
        );
    }
    out.family(
        "raftcdc_connector_state",
        Kind::Gauge,
        "1 for the connector's current state (UNASSIGNED, STARTING, RUNNING, PAUSED, FAILED, STOPPED), 0 for the others.",
    );
    for c in records {
        let current = c.state;
        for state in [
            TaskState::Unassigned,
            TaskState::Starting,
            TaskState::Running,
            TaskState::Paused,
            TaskState::Failed,
            TaskState::Stopped,
        ] {
            let value = f64::from(u8::from(state == current));
            out.sample(
                "raftcdc_connector_state",
                &[("connector", c.name.as_str()), ("state", state.as_str())],
                value,
            );
        }
    }
    out.family(
        "raftcdc_connector_offset_age_seconds",
        Kind::Gauge,
        "Time since the connector's source offset was last committed to Raft.",
    );
    for c in records {
        if let Some(committed_ms) = c.offset_committed_ms {
            let age = (now - committed_ms).max(0) as f64 / 1000.0;
            out.sample(
                "raftcdc_connector_offset_age_seconds",
                &[("connector", c.name.as_str())],
                age,
            );
        }
    }
    out.family(
        "raftcdc_connector_snapshot_progress_ratio",
        Kind::Gauge,
        "Snapshot progress (kind: initial or incremental), tables done / tables total (1 when completed); absent without a snapshot.",
    );
    for c in records {
        if let Some(s) = &c.snapshot {
            let ratio = match (s.completed, s.tables_total) {
                (true, _) => 1.0,
                (false, 0) => 0.0,
                (false, total) => s.tables_done as f64 / total as f64,
            };
            out.sample(
                "raftcdc_connector_snapshot_progress_ratio",
                &[("connector", c.name.as_str()), ("kind", if s.incremental { "incremental" } else { "initial" })],
                ratio,
            );
        }
    }
    out.family(
        "raftcdc_connector_snapshot_rows",
        Kind::Gauge,
        "Rows the snapshot (kind: initial or incremental) has read so far; absent without a snapshot.",
    );
    for c in records {
        if let Some(s) = &c.snapshot {
            out.sample(
                "raftcdc_connector_snapshot_rows",
                &[("connector", c.name.as_str()), ("kind", if s.incremental { "incremental" } else { "initial" })],
                s.rows_read as f64,
            );
        }
    }
    out.family(
        "raftcdc_source_skipped_events_total",
        Kind::Counter,
        "Binlog rows events skipped because they could not be processed (event.processing.failure.handling.mode=warn or skip), as the committed offset counts them: each once, whichever node read it.",
    );
    for c in records {
        out.sample(
            "raftcdc_source_skipped_events_total",
            &[("connector", c.name.as_str())],
            c.skipped_events as f64,
        );
    }
    render_retention(records, now, out);

    // This node's own work.
    let counters: [CounterFamily; 3] = [
        (
            "raftcdc_connector_records_delivered_total",
            "Kafka records this node committed for the connector (data, tombstones, schema changes, transaction metadata, heartbeats; not progress records).",
            |m| m.records.get(),
        ),
        (
            "raftcdc_connector_source_rows_total",
            "Change events from the binlog this node delivered: one per captured row change (a key change gives a delete and a create) and per schema change.",
            |m| m.rows.get(),
        ),
        (
            "raftcdc_connector_delivered_bytes_total",
            "Key and value bytes of the records this node committed for the connector.",
            |m| m.bytes.get(),
        ),
    ];
    for (name, help, read) in counters {
        out.family(name, Kind::Counter, help);
        for (connector, m) in &local {
            out.sample(name, &[("connector", connector.as_str())], read(m) as f64);
        }
    }
    out.family(
        "raftcdc_connector_errors_total",
        Kind::Counter,
        "Task attempts on this node that ended with an error, by kind (transient: retried; definite: connector FAILED; fenced: Kafka fenced the producer).",
    );
    for (connector, m) in &local {
        for kind in ErrorKind::ALL {
            let value = m.errors[kind as usize].get() as f64;
            out.sample(
                "raftcdc_connector_errors_total",
                &[("connector", connector.as_str()), ("kind", kind.as_str())],
                value,
            );
        }
    }
    out.family(
        "raftcdc_connector_kafka_transaction_duration_seconds",
        Kind::Histogram,
        "Duration of one delivery on this node: Kafka transaction begin, records and progress record produced, commit acknowledged.",
    );
    for (connector, m) in &local {
        let snapshot = m.transaction_seconds.snapshot();
        out.histogram(
            "raftcdc_connector_kafka_transaction_duration_seconds",
            &[("connector", connector.as_str())],
            &snapshot,
        );
    }
    out.family(
        "raftcdc_connector_kafka_commit_duration_seconds",
        Kind::Histogram,
        "Kafka transaction commit latency on this node: commit_transaction, after every record was acknowledged (exactly_once only).",
    );
    for (connector, m) in &local {
        let snapshot = m.commit_seconds.snapshot();
        out.histogram(
            "raftcdc_connector_kafka_commit_duration_seconds",
            &[("connector", connector.as_str())],
            &snapshot,
        );
    }
    out.family(
        "raftcdc_connector_milliseconds_behind_source",
        Kind::Gauge,
        "Delivery time minus binlog time of the newest event of the last delivery that carried newer events (binlog time has second resolution).",
    );
    for (connector, m) in &local {
        if let Some(ms) = m.behind_source_ms.get() {
            out.sample(
                "raftcdc_connector_milliseconds_behind_source",
                &[("connector", connector.as_str())],
                ms,
            );
        }
    }
    out.family(
        "raftcdc_connector_task_running",
        Kind::Gauge,
        "1 while this node runs the connector's task, else 0.",
    );
    let mut names: Vec<&str> = records.iter().map(|c| c.name.as_str()).collect();
    names.extend(local.keys().map(String::as_str));
    names.sort_unstable();
    names.dedup();
    for name in names {
        let running = local
            .get(name)
            .is_some_and(|m| m.tasks_running.load(Ordering::Relaxed) > 0);
        out.sample(
            "raftcdc_connector_task_running",
            &[("connector", name)],
            f64::from(u8::from(running)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: Option<&[u8]>, change_event: bool) -> Record {
        Record {
            topic: "t".into(),
            key: Some(b"kk".to_vec()),
            value: value.map(<[u8]>::to_vec),
            headers: Vec::new(),
            schemas: None,
            layout: None,
            change_event,
        }
    }

    #[test]
    fn delivered_counts_records_rows_bytes_and_lag() {
        let m = Arc::new(ConnectorMetrics::default());
        let records = [
            record(Some(b"vvvv"), true),
            record(None, false),
            record(Some(b"v"), false),
        ];
        let ts_sec = now_ms() / 1000 - 5;
        let offset = serde_json::json!({ "ts_sec": ts_sec });
        m.delivered(
            &records,
            &offset,
            Duration::from_millis(20),
            Some(Duration::from_millis(5)),
        );
        assert_eq!(m.records.get(), 3);
        assert_eq!(
            m.rows.get(),
            1,
            "a tombstone and a record that is not a change event are not rows"
        );
        assert_eq!(m.bytes.get(), 2 + 4 + 2 + 2 + 1);
        let lag = m.behind_source_ms.get().unwrap();
        assert!((5000.0..7000.0).contains(&lag), "{lag}");
        assert_eq!(m.transaction_seconds.snapshot().count, 1);
        assert_eq!(
            m.commit_seconds.snapshot().buckets[1],
            (0.01, 1),
            "5 ms falls in le=0.01"
        );
        // An idle re-send of the same binlog time leaves the lag alone.
        m.behind_source_ms.set(1.0);
        m.delivered(&[], &offset, Duration::ZERO, None);
        assert_eq!(m.commit_seconds.snapshot().count, 1, "no commit, no observation");
        assert_eq!(m.behind_source_ms.get(), Some(1.0));

        let running = m.task_running();
        assert_eq!(m.tasks_running.load(Ordering::Relaxed), 1);
        drop(running);
        assert_eq!(m.tasks_running.load(Ordering::Relaxed), 0);
        m.attempt_failed(Some(ErrorKind::Fenced));
        m.attempt_failed(None);
        assert_eq!(m.errors.iter().map(Counter::get).collect::<Vec<_>>(), vec![0, 0, 1]);
    }
}
