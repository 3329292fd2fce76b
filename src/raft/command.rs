//! The state machine's input and output.
//!
//! A [`Proposal`] is what goes into the Raft log: a [`Command`] plus the wall
//! clock of the proposing node. The timestamp travels in the entry so that
//! every replica records the same `updated_ms` when it applies it: apply
//! must be a pure function of (state, entry).
//!
//! Applying never fails the Raft entry: a command that breaks a rule (a
//! stale epoch, an unknown connector) is committed but answers
//! [`CommandReply::Rejected`] and leaves the state untouched. That is how a
//! deposed owner is fenced: its write reaches the log, and every replica
//! deterministically ignores it.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::connector::Properties;
use crate::signal::{SignalAction, SignalOrigin};

use super::state::{ConnectorRecord, DesiredState, IncrementalState, SnapshotProgress, TaskState};
use super::NodeId;

/// One Raft log payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Milliseconds since the Unix epoch on the proposing node.
    pub at_ms: i64,
    pub command: Command,
}

impl Proposal {
    pub fn now(command: Command) -> Proposal {
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        Proposal { at_ms, command }
    }
}

/// A change to the replicated state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Creates a connector; its config was validated before proposing.
    /// Build it with [`Command::create_connector`], which gives the new
    /// connector a fresh incarnation.
    CreateConnector {
        name: String,
        config: Properties,
        paused: bool,
        /// The new connector's incarnation id, chosen by the proposer
        /// (apply must not draw random numbers). Entries written by
        /// earlier releases have none; they create incarnation `""`, the
        /// same value a state snapshot of those releases loads as.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incarnation: Option<String>,
    },
    /// Replaces a connector's config and restarts its task (new epoch).
    UpdateConnector {
        name: String,
        config: Properties,
    },
    DeleteConnector {
        name: String,
    },
    SetDesiredState {
        name: String,
        state: DesiredState,
    },
    /// Restarts the task: same owner, new epoch.
    RestartConnector {
        name: String,
    },
    /// Gives the connector to `node_id` under a new epoch, if its epoch is
    /// still `expected_epoch` (compare-and-set, so two assigners can't both
    /// win).
    AssignOwner {
        name: String,
        node_id: NodeId,
        expected_epoch: u64,
    },
    /// The owner's commit of delivered source progress.
    CommitOffset {
        name: String,
        epoch: u64,
        offset: serde_json::Value,
        /// Schema history entries applied with the offset. Owners now write
        /// history before delivering ([`Command::AppendSchemaHistory`]) and
        /// leave this empty; it stays so that log entries written by earlier
        /// releases replay to the same state.
        #[serde(default)]
        schema_history: Vec<serde_json::Value>,
        /// Snapshot progress as of this offset (snapshot chunks only).
        #[serde(default)]
        snapshot: Option<SnapshotProgress>,
    },
    /// An operator's replacement of the offset; the connector must be
    /// paused or (since STOPPED exists) stopped. Its apply checks the
    /// offset's keys with a list frozen as it was when this command was
    /// written (`validate_offset`), so old log entries replay the same way;
    /// operators' offsets are now proposed as [`Command::SetOperatorOffset`].
    SetOffsets {
        name: String,
        offset: serde_json::Value,
    },
    /// An operator's replacement of the offset; the connector must be
    /// paused or stopped. The offset was validated before proposing, beside the source
    /// offset type (`source::mysql::position::validate_operator_offset`);
    /// apply only checks that it is a JSON object, so a validator that
    /// learns new keys never changes how the log replays.
    SetOperatorOffset {
        name: String,
        offset: serde_json::Value,
    },
    /// The owner's report of its task's state.
    ReportTaskStatus {
        name: String,
        epoch: u64,
        node_id: NodeId,
        state: TaskState,
        error: Option<String>,
        remedy: Option<String>,
    },
    /// The owner records a DDL in the connector's schema history, before
    /// the batch that carries it goes to Kafka; a repeat of one of the last
    /// 64 entries is dropped. Written by earlier releases; owners now write
    /// [`Command::RecordSchemaHistory`]. Kept, with its rule, so that old
    /// log entries replay to the same state.
    AppendSchemaHistory {
        name: String,
        epoch: u64,
        entry: serde_json::Value,
    },
    /// The owner records a batch's DDLs in the connector's schema history,
    /// before the batch goes to Kafka; an entry equal to any entry already
    /// in the history is dropped (rule 5 in [`super::state`]).
    RecordSchemaHistory {
        name: String,
        epoch: u64,
        entries: Vec<serde_json::Value>,
    },
    /// An operator's incremental snapshot request (replaces any earlier
    /// one; its id is one more than the last).
    RequestSnapshot {
        name: String,
        tables: Vec<String>,
        filter: Option<String>,
    },
    /// Pauses, resumes or stops the incremental snapshot.
    SetSnapshotState {
        name: String,
        state: IncrementalState,
    },
    /// KIP-875's offset reset of a STOPPED connector: clears its offset,
    /// snapshot progress and incremental snapshot, raises its epoch and
    /// gives it the fresh `incarnation` the proposer drew (build it with
    /// [`Command::reset_offsets`]), so the next owner starts as a new
    /// connector would. Added after every variant above.
    ResetOffsets {
        name: String,
        incarnation: String,
    },
    /// The owner records topics it has produced to for the first time
    /// (Kafka Connect's active topics, `GET /connectors/{name}/topics`),
    /// after the transaction that wrote to them committed. Added after
    /// every variant above.
    RecordTopics {
        name: String,
        epoch: u64,
        topics: Vec<String>,
    },
    /// An operator's reset of the active topics (`PUT
    /// /connectors/{name}/topics/reset`). Added after every variant above.
    ResetTopics {
        name: String,
    },
    /// A node states what placement needs to know of it (its `[node]`
    /// capacity, labels and worker flag); proposed by the node itself at
    /// start. Keeps its cordon and drain marks. Added after every variant
    /// above, like the two after it.
    RegisterNode {
        node_id: NodeId,
        capacity: Option<u32>,
        labels: BTreeMap<String, String>,
        worker: bool,
    },
    /// An operator's cordon (no new connectors) and drain (give every
    /// connector away, one at a time) marks of a node.
    SetNodeSchedule {
        node_id: NodeId,
        cordoned: bool,
        draining: bool,
    },
    /// A node renews its lease (the leader watches the renewals arrive,
    /// see `crate::placement`) and reports the recent events/s of the
    /// connectors it runs; a report whose epoch is not the connector's
    /// current one, or whose owner is another node, is ignored.
    RenewLease {
        node_id: NodeId,
        #[serde(default)]
        loads: Vec<LoadReport>,
    },
    /// The owner's measurement of how much binlog the server still holds
    /// behind the connector's position (status, metrics, the retention
    /// warning); applied under the owner's epoch. Added after every
    /// variant above.
    RecordBinlogRetention {
        name: String,
        epoch: u64,
        retention: super::state::BinlogRetention,
    },
    /// The owner reads from this database server (`host:port` of
    /// `database.hostname`, its `@@server_id`), recorded at every task
    /// start and at every switch, under the owner's epoch. `since_ms` is
    /// the entry's time when the server differs from the recorded one.
    /// Added after every variant above.
    RecordSourceServer {
        name: String,
        epoch: u64,
        address: String,
        server_id: u32,
    },
    /// The owner acts on a Debezium signal (see [`crate::signal`]), under
    /// its epoch. `origin` is the signal's identity: a signal the connector
    /// already applied (rule 8 in [`super::state`]) is a repeat, committed
    /// but answered with [`CommandError::SignalRepeated`], so an owner that
    /// died after proposing and before its progress moved past the signal
    /// cannot make the next owner act on it twice. A signal that cannot be
    /// acted on (malformed, or nothing to pause) is recorded as a warning,
    /// never refused. Added after every variant above.
    ApplySignal {
        name: String,
        epoch: u64,
        origin: SignalOrigin,
        action: SignalAction,
    },
}

/// One connector's recent traffic, as its owner measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    pub name: String,
    pub epoch: u64,
    pub events_per_sec: f64,
}

impl Command {
    /// Creates connector `name` as a new incarnation.
    pub fn create_connector(name: String, config: Properties, paused: bool) -> Command {
        Command::CreateConnector {
            name,
            config,
            paused,
            incarnation: Some(new_incarnation()),
        }
    }

    /// Resets connector `name`'s offsets (it must be stopped).
    pub fn reset_offsets(name: String) -> Command {
        Command::ResetOffsets {
            name,
            incarnation: new_incarnation(),
        }
    }

    /// The connector the command is about; `None` for commands about a
    /// node.
    pub fn connector(&self) -> Option<&str> {
        Some(match self {
            Command::CreateConnector { name, .. }
            | Command::UpdateConnector { name, .. }
            | Command::DeleteConnector { name }
            | Command::SetDesiredState { name, .. }
            | Command::RestartConnector { name }
            | Command::AssignOwner { name, .. }
            | Command::CommitOffset { name, .. }
            | Command::SetOffsets { name, .. }
            | Command::SetOperatorOffset { name, .. }
            | Command::ReportTaskStatus { name, .. }
            | Command::AppendSchemaHistory { name, .. }
            | Command::RecordSchemaHistory { name, .. }
            | Command::RequestSnapshot { name, .. }
            | Command::SetSnapshotState { name, .. }
            | Command::ResetOffsets { name, .. }
            | Command::RecordTopics { name, .. }
            | Command::ResetTopics { name }
            | Command::RecordBinlogRetention { name, .. }
            | Command::RecordSourceServer { name, .. }
            | Command::ApplySignal { name, .. } => name,
            Command::RegisterNode { .. } | Command::SetNodeSchedule { .. } | Command::RenewLease { .. } => return None,
        })
    }
}

/// A fresh incarnation id: 128 bits from std's randomly keyed hashers
/// (each `RandomState` gets new keys), mixed with the time and the
/// process id, as 32 hex digits.
fn new_incarnation() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut halves = [0u64; 2];
    for (i, half) in halves.iter_mut().enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_u32(std::process::id());
        hasher.write_usize(i);
        *half = hasher.finish();
    }
    format!("{:016x}{:016x}", halves[0], halves[1])
}

/// What applying an entry answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CommandReply {
    /// Applied; `connector` is the connector after the change (absent for
    /// deletes and for blank or membership entries).
    Applied { connector: Option<Box<ConnectorRecord>> },
    /// Committed but refused by the state machine's rules.
    Rejected(CommandError),
}

/// Why the state machine refused a command. Every message names the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum CommandError {
    #[error("name: connector \"{name}\" does not exist")]
    NotFound { name: String },
    #[error("name: a connector named \"{name}\" already exists")]
    AlreadyExists { name: String },
    #[error("name: {reason}")]
    InvalidName { name: String, reason: String },
    #[error(
        "epoch: connector \"{name}\" is at epoch {current}; a write under epoch {given} comes from a deposed owner and is rejected"
    )]
    StaleEpoch { name: String, current: u64, given: u64 },
    #[error("epoch: connector \"{name}\" moved to epoch {current} while assigning from epoch {expected}")]
    EpochMismatch { name: String, current: u64, expected: u64 },
    #[error("name: connector \"{name}\" must be paused first (raftcdc connector pause {name})")]
    NotPaused { name: String },
    #[error("name: connector \"{name}\" must be stopped first (raftcdc connector stop {name})")]
    NotStopped { name: String },
    #[error("offset: {reason}")]
    InvalidOffset { reason: String },
    #[error("name: connector \"{name}\" has no incremental snapshot to control (start one with raftcdc connector snapshot {name} --tables ...)")]
    NoSnapshot { name: String },
    #[error("signal: connector \"{name}\" already applied {signal}; the repeat changes nothing")]
    SignalRepeated { name: String, signal: String },
}
