//! The replicated state and its deterministic apply function.
//!
//! [`ClusterState`] is what every replica holds after applying the same log
//! prefix. [`ClusterState::apply`] is a pure function of the state and one
//! [`Proposal`]: no clock, no I/O, no randomness. That is what makes the
//! replicas agree, and it is where the fencing rules live:
//!
//! 1. **Epochs are unique and only rise.** Every change of owner, restart,
//!    config update and operator offset change takes the next value of a
//!    cluster-wide counter (`last_epoch`, raised in one place:
//!    `raise_epoch`). A deleted and re-created
//!    connector therefore never reuses an epoch a zombie task may still hold.
//! 2. **Owner writes carry their epoch.** `CommitOffset`,
//!    `ReportTaskStatus`, `AppendSchemaHistory`, `RecordSchemaHistory`,
//!    `RecordTopics`, `RecordBinlogRetention`, `RecordSourceServer` and
//!    `ApplySignal` are
//!    applied only when their epoch equals the connector's current
//!    epoch; otherwise they answer [`CommandError::StaleEpoch`] and change
//!    nothing. An owner that was replaced (by a failover, a restart or an
//!    operator) can still reach the log, but can no longer change anything.
//! 3. **Assignment is compare-and-set** on the epoch, so two leaders in
//!    quick succession cannot both believe they won the same epoch.
//! 4. **Operator offsets need a paused connector** and raise the epoch, so
//!    a task that was running before the pause cannot commit over them.
//!    They are marked `set_by_operator`: that mark, not the epoch alone,
//!    is what lets a Raft offset win over a later Kafka progress record at
//!    the next takeover ([`crate::pipeline::task`]).
//! 5. **Schema history is appended at most once per DDL.** An owner writes
//!    a batch's DDL entries before the batch goes to Kafka (see
//!    [`crate::pipeline::task`]), so a crash in between makes the next
//!    owner read the same DDLs, at the same binlog positions, again; an
//!    entry equal to any entry already recorded is therefore dropped
//!    (`RecordSchemaHistory`). Entries name their binlog position, and the
//!    snapshot's entries are the same at every task start, so equal
//!    entries are the same DDL. The older `AppendSchemaHistory` compared
//!    with the last 64 entries only; it keeps that rule for replay.
//! 6. **Every created connector is a new incarnation.** `CreateConnector`
//!    carries an id the proposer drew; progress records in Kafka carry it,
//!    and a takeover ignores records of other incarnations, so a connector
//!    deleted and created again under the same name starts fresh.
//!
//! 7. **Placement facts are advisory.** `RegisterNode`, `SetNodeSchedule`
//!    and `RenewLease` record node capacity, labels, cordon and drain
//!    marks, lease renewals and connectors' events/s. None of them changes
//!    an owner or an epoch: only `AssignOwner` (compare-and-set) does, so
//!    the fencing rules above hold whatever placement decides. A load
//!    report counts only from the connector's current owner at its
//!    current epoch.
//!
//! 8. **A signal is acted on at most once.** `ApplySignal` carries the
//!    signal's identity ([`crate::signal::SignalOrigin`]). Source-channel
//!    signals (a signal table row: its GTID or binlog position, event and
//!    row, and its `id`) are remembered among the last
//!    [`SIGNAL_MEMORY`] applied; Kafka-channel signals advance the
//!    channel's replicated position, and a record below it is a repeat.
//!    A repeat answers [`CommandError::SignalRepeated`] and changes
//!    nothing. Owners propose a signal before their progress passes it, so
//!    a crash makes the next owner propose it again, and this rule makes
//!    that harmless (see [`crate::signal`]).
//!
//! Validation of a connector's *config* (the Debezium properties) happens
//! before proposing, not here: if a later release tightened the validator,
//! replaying an old log must still reproduce the same state.
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::connector::Properties;
use crate::signal::{SignalAction, SignalOrigin};

use super::command::{Command, CommandError, CommandReply, Proposal};
use super::NodeId;

/// The whole replicated state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterState {
    pub connectors: BTreeMap<String, ConnectorRecord>,
    /// The epoch handed out last; epochs are unique cluster-wide.
    pub last_epoch: u64,
    /// What placement knows of each node (rule 7); absent in states of
    /// releases before placement.
    #[serde(default)]
    pub nodes: BTreeMap<NodeId, NodeRecord>,
}

/// A node as placement sees it in the replicated state (rule 7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// `[node] capacity`: most connectors it may own.
    pub capacity: Option<u32>,
    /// `[node] labels`.
    pub labels: BTreeMap<String, String>,
    /// `[node] worker`: a learner that may own connectors.
    pub worker: bool,
    /// No new connectors go to it.
    pub cordoned: bool,
    /// Its connectors move away, one at a time.
    pub draining: bool,
    /// Lease renewals applied; the leader watches it change.
    pub lease_renewals: u64,
}

/// What the operator wants a connector to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DesiredState {
    Running,
    Paused,
    /// Kafka Connect's STOPPED (KIP-875): no task runs and the offsets may
    /// be edited or reset. Added after `Running` and `Paused`; log entries
    /// written before it never carry it, so they replay unchanged.
    Stopped,
}

/// The state an owner reports for its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskState {
    Unassigned,
    Starting,
    Running,
    Paused,
    Failed,
    /// The connector is stopped (shown, never reported by an owner).
    Stopped,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Unassigned => "UNASSIGNED",
            TaskState::Starting => "STARTING",
            TaskState::Running => "RUNNING",
            TaskState::Paused => "PAUSED",
            TaskState::Failed => "FAILED",
            TaskState::Stopped => "STOPPED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub state: TaskState,
    pub node_id: Option<NodeId>,
    pub epoch: u64,
    pub error: Option<String>,
    pub remedy: Option<String>,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OffsetRecord {
    pub offset: serde_json::Value,
    pub epoch: u64,
    pub committed_ms: i64,
    /// Set by an operator's `SetOffsets` (rule 4), not by an owner's commit.
    #[serde(default)]
    pub set_by_operator: bool,
}

pub use crate::source::{BinlogRetention, IncrementalRequest, IncrementalState, SnapshotProgress, SourceServer};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorRecord {
    pub name: String,
    /// This connector's incarnation (rule 6); `""` for connectors created
    /// by earlier releases.
    #[serde(default)]
    pub incarnation: String,
    /// Its `Debug` masks secrets; the values themselves are replicated as
    /// they are (the task needs the password).
    pub config: Properties,
    pub desired: DesiredState,
    pub owner: Option<NodeId>,
    pub epoch: u64,
    pub task: TaskRecord,
    pub offset: Option<OffsetRecord>,
    pub schema_history: Vec<serde_json::Value>,
    pub snapshot: Option<SnapshotProgress>,
    /// The operator's latest incremental snapshot request.
    #[serde(default)]
    pub incremental: Option<IncrementalRequest>,
    /// The topics this connector has produced records to since it was
    /// created or its topics were reset (Kafka Connect's active topics).
    #[serde(default)]
    pub active_topics: BTreeSet<String>,
    /// Recent events/s its owner reported (rule 7), for placement.
    #[serde(default)]
    pub events_per_sec: f64,
    /// The owner's last binlog retention measurement
    /// ([`Command::RecordBinlogRetention`]); `measured_ms` is its apply time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binlog_retention: Option<BinlogRetention>,
    /// The database server the owner reads ([`Command::RecordSourceServer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_server: Option<SourceServer>,
    /// What the connector's signal channels have applied (rule 8), and
    /// the warnings of signals it could not act on.
    #[serde(default, skip_serializing_if = "SignalState::is_empty")]
    pub signals: SignalState,
    pub created_ms: i64,
    pub updated_ms: i64,
}


impl ConnectorRecord {
    /// A connector as `CreateConnector` makes it at `now`: unowned, epoch
    /// 0, its task unassigned, nothing committed.
    fn created(name: String, incarnation: String, config: Properties, desired: DesiredState, now: i64) -> ConnectorRecord {
        ConnectorRecord {
            name,
            incarnation,
            config,
            desired,
            owner: None,
            epoch: 0,
            task: TaskRecord {
                state: TaskState::Unassigned,
                node_id: None,
                epoch: 0,
                error: None,
                remedy: None,
                updated_ms: now,
            },
            offset: None,
            schema_history: Vec::new(),
            snapshot: None,
            incremental: None,
            active_topics: BTreeSet::new(),
            events_per_sec: 0.0,
            binlog_retention: None,
            source_server: None,
            signals: SignalState::default(),
            created_ms: now,
            updated_ms: now,
        }
    }
}

#[cfg(test)]
impl ConnectorRecord {
    /// A connector named `c` for tests: running on node `owner` at
    /// `epoch`, its task in `state` under that epoch, nothing committed.
    pub(crate) fn for_tests(config: Properties, owner: NodeId, epoch: u64, state: TaskState) -> ConnectorRecord {
        let mut record = ConnectorRecord::created("c".into(), String::new(), config, DesiredState::Running, 0);
        record.owner = Some(owner);
        record.epoch = epoch;
        record.task = TaskRecord { state, node_id: Some(owner), epoch, error: None, remedy: None, updated_ms: 0 };
        record
    }
}

/// How many source-channel signal identities a connector remembers
/// (rule 8): far more than one batch's worth of signals, which is what an
/// owner that dies can leave to be proposed again.
pub const SIGNAL_MEMORY: usize = 1024;

/// How many signal warnings status shows (the newest).
pub const SIGNAL_WARNINGS: usize = 20;

/// A connector's signal channels as the replicated state knows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SignalState {
    /// Identities of the last [`SIGNAL_MEMORY`] source-channel signals
    /// applied, oldest first.
    #[serde(default)]
    pub source_applied: std::collections::VecDeque<String>,
    /// The Kafka channel's position: the next offset of partition 0 to
    /// read (`None`: nothing applied yet; read from the start).
    #[serde(default)]
    pub kafka_position: Option<i64>,
    /// Signals applied (repeats not counted).
    #[serde(default)]
    pub applied: u64,
    /// Signals not acted on, newest last (at most [`SIGNAL_WARNINGS`]).
    #[serde(default)]
    pub warnings: Vec<SignalWarning>,
}

impl SignalState {
    pub fn is_empty(&self) -> bool {
        *self == SignalState::default()
    }
}

/// A signal that was read but not acted on, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalWarning {
    /// The signal, as [`SignalOrigin::describe`] names it.
    pub signal: String,
    pub reason: String,
    pub at_ms: i64,
}

impl ConnectorRecord {
    /// Rule 8: records `origin` as applied, or answers that it was.
    fn remember_signal(&mut self, origin: &SignalOrigin) -> Result<(), CommandError> {
        let repeated = || CommandError::SignalRepeated { name: self.name.clone(), signal: origin.describe() };
        match origin {
            SignalOrigin::Source { id, position } => {
                let identity = format!("{id}@{position}");
                if self.signals.source_applied.contains(&identity) {
                    return Err(repeated());
                }
                if self.signals.source_applied.len() >= SIGNAL_MEMORY {
                    self.signals.source_applied.pop_front();
                }
                self.signals.source_applied.push_back(identity);
            }
            SignalOrigin::Kafka { offset, .. } => {
                if self.signals.kafka_position.is_some_and(|next| *offset < next) {
                    return Err(repeated());
                }
                self.signals.kafka_position = Some(offset + 1);
            }
        }
        self.signals.applied += 1;
        Ok(())
    }

    fn signal_warning(&mut self, origin: &SignalOrigin, reason: String, now: i64) {
        if self.signals.warnings.len() >= SIGNAL_WARNINGS {
            self.signals.warnings.remove(0);
        }
        self.signals.warnings.push(SignalWarning { signal: origin.describe(), reason, at_ms: now });
    }

    /// Acts on a signal that is not a repeat. Whatever cannot be done
    /// becomes a warning: a signal never fails the entry.
    fn act_on_signal(&mut self, origin: &SignalOrigin, action: &SignalAction, now: i64) {
        let snapshot_state = |record: &ConnectorRecord| record.incremental.as_ref().map(|r| r.state);
        match action {
            SignalAction::ExecuteSnapshot { data_collections, conditions } => {
                let id = self.incremental.as_ref().map_or(1, |r| r.id + 1);
                self.incremental = Some(IncrementalRequest {
                    id,
                    tables: data_collections.clone(),
                    filter: None,
                    state: IncrementalState::Running,
                    requested_ms: now,
                    patterns: true,
                    conditions: conditions.clone(),
                });
            }
            SignalAction::StopSnapshot { data_collections } => match self.incremental.as_mut() {
                Some(request) if request.state != IncrementalState::Stopped => {
                    let all = data_collections.is_empty() || request.tables.iter().all(|t| data_collections.contains(t));
                    if all {
                        request.state = IncrementalState::Stopped;
                    } else {
                        let reason = format!(
                            "stop-snapshot names only some of the snapshot's data-collections ({}); raftcdc stops a whole incremental snapshot: name all of {} or none",
                            data_collections.join(", "),
                            request.tables.join(", ")
                        );
                        self.signal_warning(origin, reason, now);
                    }
                }
                _ => self.signal_warning(origin, "stop-snapshot: no incremental snapshot is running".into(), now),
            },
            SignalAction::PauseSnapshot => match snapshot_state(self) {
                Some(IncrementalState::Running) | Some(IncrementalState::Paused) => {
                    self.incremental.as_mut().expect("checked").state = IncrementalState::Paused;
                }
                _ => self.signal_warning(origin, "pause-snapshot: no incremental snapshot is running".into(), now),
            },
            SignalAction::ResumeSnapshot => match snapshot_state(self) {
                Some(IncrementalState::Running) | Some(IncrementalState::Paused) => {
                    self.incremental.as_mut().expect("checked").state = IncrementalState::Running;
                }
                _ => self.signal_warning(origin, "resume-snapshot: no incremental snapshot is paused".into(), now),
            },
            // The owner writes it to its log once this entry applied.
            SignalAction::Log { .. } => {}
            SignalAction::Refused { reason } => self.signal_warning(origin, reason.clone(), now),
        }
    }
}

impl ConnectorRecord {
    /// The task state to show: derived from desire, ownership and the
    /// owner's last report under the *current* epoch.
    pub fn effective_task_state(&self) -> TaskState {
        match (self.desired, self.owner) {
            (DesiredState::Paused, _) => TaskState::Paused,
            (DesiredState::Stopped, _) => TaskState::Stopped,
            (DesiredState::Running, None) => TaskState::Unassigned,
            (DesiredState::Running, Some(_)) if self.task.epoch != self.epoch => TaskState::Starting,
            (DesiredState::Running, Some(_)) => self.task.state,
        }
    }
}

/// Checks a connector name: Kafka Connect accepts almost anything, but the
/// name becomes part of transactional ids and CLI arguments, so raftcdc
/// keeps it to a safe alphabet.
pub fn validate_name(name: &str) -> Result<(), CommandError> {
    let invalid = |reason: &str| CommandError::InvalidName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if name.len() > 200 {
        return Err(invalid("must be at most 200 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(invalid(&format!(
            "\"{name}\" may contain only ASCII letters, digits, '.', '_' and '-'"
        )));
    }
    Ok(())
}

/// The keys of Debezium's MySQL source offset and the JSON type each takes.
const OFFSET_KEYS: &[(&str, OffsetKind)] = &[
    ("file", OffsetKind::String),
    ("pos", OffsetKind::Unsigned),
    ("gtids", OffsetKind::String),
    ("row", OffsetKind::Unsigned),
    ("event", OffsetKind::Unsigned),
    ("server_id", OffsetKind::Unsigned),
    ("ts_sec", OffsetKind::Unsigned),
    ("snapshot", OffsetKind::Any),
    ("snapshot_completed", OffsetKind::Bool),
    ("transaction_id", OffsetKind::Any),
];

#[derive(Clone, Copy)]
enum OffsetKind {
    String,
    Unsigned,
    Bool,
    Any,
}

/// Validates an operator-supplied offset of a `SetOffsets` entry: a JSON
/// object in Debezium's MySQL offset shape, positioned either by `file` +
/// `pos` or by `gtids`. **Frozen**: apply runs it on entries written by
/// earlier releases, which must replay the same way forever, so its key
/// list never changes. New offsets are validated before proposing by
/// `source::mysql::position::validate_operator_offset` and proposed as
/// `SetOperatorOffset`.
pub fn validate_offset(offset: &serde_json::Value) -> Result<(), CommandError> {
    let invalid = |reason: String| CommandError::InvalidOffset { reason };
    let object = offset
        .as_object()
        .ok_or_else(|| invalid(format!("must be a JSON object, got {offset}")))?;
    for (key, value) in object {
        let Some((_, kind)) = OFFSET_KEYS.iter().find(|(k, _)| k == key) else {
            let known: Vec<&str> = OFFSET_KEYS.iter().map(|(k, _)| *k).collect();
            return Err(invalid(format!("unknown key \"{key}\"; known keys: {}", known.join(", "))));
        };
        let ok = match kind {
            OffsetKind::String => value.is_string(),
            OffsetKind::Unsigned => value.is_u64(),
            OffsetKind::Bool => value.is_boolean(),
            OffsetKind::Any => true,
        };
        if !ok {
            return Err(invalid(format!("\"{key}\" has the wrong type: {value}")));
        }
    }
    let has_file_pos = object.contains_key("file") && object.contains_key("pos");
    let has_gtids = object.get("gtids").and_then(|g| g.as_str()).is_some_and(|g| !g.is_empty());
    if !has_file_pos && !has_gtids {
        return Err(invalid("needs \"file\" and \"pos\", or a non-empty \"gtids\"".into()));
    }
    Ok(())
}

/// How far back [`ConnectorRecord::record_history`] looks for a repeat.
const HISTORY_REPEAT_WINDOW: usize = 64;

impl ConnectorRecord {
    /// Rule 5 of the module docs: appends a schema history entry unless an
    /// equal entry is among the last [`HISTORY_REPEAT_WINDOW`]. An entry
    /// names its DDL's binlog position, so equal entries are the same DDL
    /// read twice (an owner wrote it, then died before its batch reached
    /// Kafka, and the next owner read it again).
    fn record_history(&mut self, entry: &serde_json::Value) {
        let repeated = self.schema_history.iter().rev().take(HISTORY_REPEAT_WINDOW).any(|e| e == entry);
        if !repeated {
            self.schema_history.push(entry.clone());
        }
    }
}

impl ClusterState {
    /// Rule 1 of the module docs: gives an existing connector the next
    /// cluster-wide epoch, which deposes whoever held the old one.
    fn raise_epoch(&mut self, name: &str) -> Result<&mut ConnectorRecord, CommandError> {
        self.existing(name)?;
        self.last_epoch += 1;
        let epoch = self.last_epoch;
        let record = self.existing(name)?;
        record.epoch = epoch;
        Ok(record)
    }

    /// Rule 4: an operator's offset raises the epoch and is marked.
    fn set_operator_offset(&mut self, name: &str, offset: &serde_json::Value, now: i64) -> Result<&mut ConnectorRecord, CommandError> {
        let record = self.raise_epoch(name)?;
        record.offset = Some(OffsetRecord {
            offset: offset.clone(),
            epoch: record.epoch,
            committed_ms: now,
            set_by_operator: true,
        });
        Ok(record)
    }

    /// Applies one proposal. Never panics; a refused command leaves the
    /// state exactly as it was.
    pub fn apply(&mut self, proposal: &Proposal) -> CommandReply {
        match self.apply_inner(proposal) {
            Ok(connector) => CommandReply::Applied {
                connector: connector.map(Box::new),
            },
            Err(error) => CommandReply::Rejected(error),
        }
    }

    fn existing(&mut self, name: &str) -> Result<&mut ConnectorRecord, CommandError> {
        self.connectors
            .get_mut(name)
            .ok_or_else(|| CommandError::NotFound { name: name.to_string() })
    }

    /// Looks up a connector for an owner's write and checks its epoch.
    fn owned(&mut self, name: &str, epoch: u64) -> Result<&mut ConnectorRecord, CommandError> {
        let record = self.existing(name)?;
        if record.epoch != epoch {
            return Err(CommandError::StaleEpoch {
                name: name.to_string(),
                current: record.epoch,
                given: epoch,
            });
        }
        Ok(record)
    }

    fn apply_inner(&mut self, proposal: &Proposal) -> Result<Option<ConnectorRecord>, CommandError> {
        let now = proposal.at_ms;
        let record = match &proposal.command {
            Command::RegisterNode {
                node_id,
                capacity,
                labels,
                worker,
            } => {
                let node = self.nodes.entry(*node_id).or_default();
                node.capacity = *capacity;
                node.labels = labels.clone();
                node.worker = *worker;
                return Ok(None);
            }
            Command::SetNodeSchedule {
                node_id,
                cordoned,
                draining,
            } => {
                let node = self.nodes.entry(*node_id).or_default();
                node.cordoned = *cordoned;
                node.draining = *draining;
                return Ok(None);
            }
            Command::RenewLease { node_id, loads } => {
                self.nodes.entry(*node_id).or_default().lease_renewals += 1;
                for load in loads {
                    if let Some(record) = self.connectors.get_mut(&load.name) {
                        if record.epoch == load.epoch && record.owner == Some(*node_id) && load.events_per_sec.is_finite() {
                            record.events_per_sec = load.events_per_sec.max(0.0);
                        }
                    }
                }
                return Ok(None);
            }
            Command::CreateConnector {
                name,
                config,
                paused,
                incarnation,
            } => {
                validate_name(name)?;
                if self.connectors.contains_key(name) {
                    return Err(CommandError::AlreadyExists { name: name.clone() });
                }
                let desired = if *paused { DesiredState::Paused } else { DesiredState::Running };
                let record = ConnectorRecord::created(
                    name.clone(),
                    incarnation.clone().unwrap_or_default(),
                    config.clone(),
                    desired,
                    now,
                );
                self.connectors.entry(name.clone()).or_insert(record)
            }
            Command::UpdateConnector { name, config } => {
                let record = self.raise_epoch(name)?;
                record.config = config.clone();
                record
            }
            Command::DeleteConnector { name } => {
                self.existing(name)?;
                self.connectors.remove(name);
                return Ok(None);
            }
            Command::SetDesiredState { name, state } => {
                let record = self.existing(name)?;
                record.desired = *state;
                record
            }
            Command::RestartConnector { name } => self.raise_epoch(name)?,
            Command::AssignOwner {
                name,
                node_id,
                expected_epoch,
            } => {
                let current = self.existing(name)?.epoch;
                if current != *expected_epoch {
                    return Err(CommandError::EpochMismatch {
                        name: name.clone(),
                        current,
                        expected: *expected_epoch,
                    });
                }
                let record = self.raise_epoch(name)?;
                record.owner = Some(*node_id);
                record
            }
            Command::CommitOffset {
                name,
                epoch,
                offset,
                schema_history,
                snapshot,
            } => {
                if !offset.is_object() {
                    return Err(CommandError::InvalidOffset {
                        reason: format!("must be a JSON object, got {offset}"),
                    });
                }
                let record = self.owned(name, *epoch)?;
                record.offset = Some(OffsetRecord {
                    offset: offset.clone(),
                    epoch: *epoch,
                    committed_ms: now,
                    set_by_operator: false,
                });
                for entry in schema_history {
                    record.record_history(entry);
                }
                if snapshot.is_some() {
                    record.snapshot = snapshot.clone();
                }
                record
            }
            Command::SetOffsets { name, offset } => {
                // Paused or (since STOPPED was added) stopped. Entries
                // written before STOPPED existed were applied to paused or
                // running connectors only, so they replay as they did.
                if !matches!(self.existing(name)?.desired, DesiredState::Paused | DesiredState::Stopped) {
                    return Err(CommandError::NotPaused { name: name.clone() });
                }
                // Frozen: the key list of the release that wrote these
                // entries (see `validate_offset`).
                validate_offset(offset)?;
                self.set_operator_offset(name, offset, now)?
            }
            Command::SetOperatorOffset { name, offset } => {
                if !matches!(self.existing(name)?.desired, DesiredState::Paused | DesiredState::Stopped) {
                    return Err(CommandError::NotPaused { name: name.clone() });
                }
                if !offset.is_object() {
                    return Err(CommandError::InvalidOffset {
                        reason: format!("must be a JSON object, got {offset}"),
                    });
                }
                self.set_operator_offset(name, offset, now)?
            }
            Command::ResetOffsets { name, incarnation } => {
                if self.existing(name)?.desired != DesiredState::Stopped {
                    return Err(CommandError::NotStopped { name: name.clone() });
                }
                // A new epoch fences any task still running from before
                // the stop; a new incarnation makes the next owner ignore
                // the connector's earlier progress records in Kafka (rule
                // 6), so the reset is not undone at takeover.
                let record = self.raise_epoch(name)?;
                record.offset = None;
                record.snapshot = None;
                record.incremental = None;
                record.incarnation = incarnation.clone();
                record
            }
            Command::ReportTaskStatus {
                name,
                epoch,
                node_id,
                state,
                error,
                remedy,
            } => {
                let record = self.owned(name, *epoch)?;
                record.task = TaskRecord {
                    state: *state,
                    node_id: Some(*node_id),
                    epoch: *epoch,
                    error: error.clone(),
                    remedy: remedy.clone(),
                    updated_ms: now,
                };
                record
            }
            Command::AppendSchemaHistory { name, epoch, entry } => {
                let record = self.owned(name, *epoch)?;
                record.record_history(entry);
                record
            }
            Command::RecordSchemaHistory { name, epoch, entries } => {
                let record = self.owned(name, *epoch)?;
                for entry in entries {
                    if !record.schema_history.contains(entry) {
                        record.schema_history.push(entry.clone());
                    }
                }
                record
            }
            Command::RequestSnapshot { name, tables, filter } => {
                let record = self.existing(name)?;
                let id = record.incremental.as_ref().map_or(1, |r| r.id + 1);
                record.incremental = Some(IncrementalRequest {
                    id,
                    tables: tables.clone(),
                    filter: filter.clone(),
                    state: IncrementalState::Running,
                    requested_ms: now,
                    patterns: false,
                    conditions: Vec::new(),
                });
                record
            }
            Command::RecordTopics { name, epoch, topics } => {
                let record = self.owned(name, *epoch)?;
                record.active_topics.extend(topics.iter().cloned());
                record
            }
            Command::ResetTopics { name } => {
                let record = self.existing(name)?;
                record.active_topics.clear();
                record
            }
            Command::RecordBinlogRetention { name, epoch, retention } => {
                let record = self.owned(name, *epoch)?;
                record.binlog_retention = Some(BinlogRetention {
                    measured_ms: now,
                    ..retention.clone()
                });
                record
            }
            Command::RecordSourceServer { name, epoch, address, server_id } => {
                let record = self.owned(name, *epoch)?;
                let same = record
                    .source_server
                    .as_ref()
                    .is_some_and(|s| s.address == *address && s.server_id == *server_id);
                if !same {
                    record.source_server = Some(SourceServer {
                        address: address.clone(),
                        server_id: *server_id,
                        since_ms: now,
                    });
                }
                record
            }
            Command::ApplySignal { name, epoch, origin, action } => {
                let record = self.owned(name, *epoch)?;
                record.remember_signal(origin)?;
                record.act_on_signal(origin, action, now);
                record
            }
            Command::SetSnapshotState { name, state } => {
                let record = self.existing(name)?;
                match record.incremental.as_mut() {
                    Some(request) if request.state != IncrementalState::Stopped => request.state = *state,
                    _ => return Err(CommandError::NoSnapshot { name: name.clone() }),
                }
                record
            }
        };
        record.updated_ms = now;
        // An owner's writes arrive several times a second and nobody reads
        // their reply's record: do not clone the record (and its schema
        // history) for them.
        let owner_write = matches!(
            proposal.command,
            Command::CommitOffset { .. }
                | Command::ReportTaskStatus { .. }
                | Command::AppendSchemaHistory { .. }
                | Command::RecordSchemaHistory { .. }
                | Command::RecordTopics { .. }
                | Command::RecordBinlogRetention { .. }
                | Command::RecordSourceServer { .. }
                | Command::ApplySignal { .. }
        );
        Ok((!owner_write).then(|| record.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(command: Command) -> Proposal {
        Proposal { at_ms: 1_000, command }
    }

    fn create(state: &mut ClusterState, name: &str) {
        let reply = state.apply(&at(Command::create_connector(
            name.into(),
            BTreeMap::from([("topic.prefix".into(), "p".into())]).into(),
            false,
        )));
        assert!(matches!(reply, CommandReply::Applied { .. }), "{reply:?}");
    }

    /// Rule 5: a DDL read again by the next owner (same entry, same
    /// position) is recorded once; a different DDL is appended.
    #[test]
    fn schema_history_records_a_repeated_ddl_once() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let first = assign(&mut state, "c", 1);
        let ddl = json!({"database": "db", "ddl": "ALTER TABLE t ADD c INT", "file": "b.000001", "pos": 400, "gtid": "0-1-7", "ts_sec": 5});
        state.apply(&at(Command::AppendSchemaHistory { name: "c".into(), epoch: first, entry: ddl.clone() }));
        // The owner dies before Kafka; the next one reads the DDL again.
        let second = assign(&mut state, "c", 2);
        state.apply(&at(Command::AppendSchemaHistory { name: "c".into(), epoch: second, entry: ddl.clone() }));
        state.apply(&at(Command::CommitOffset {
            name: "c".into(),
            epoch: second,
            offset: json!({"file": "b.000001", "pos": 500}),
            schema_history: vec![ddl.clone()],
            snapshot: None,
        }));
        assert_eq!(state.connectors["c"].schema_history, vec![ddl.clone()]);
        let mut later = ddl.clone();
        later["pos"] = json!(600);
        state.apply(&at(Command::AppendSchemaHistory { name: "c".into(), epoch: second, entry: later.clone() }));
        assert_eq!(state.connectors["c"].schema_history, vec![ddl, later]);
    }

    fn assign(state: &mut ClusterState, name: &str, node: NodeId) -> u64 {
        let expected_epoch = state.connectors[name].epoch;
        match state.apply(&at(Command::AssignOwner {
            name: name.into(),
            node_id: node,
            expected_epoch,
        })) {
            CommandReply::Applied { connector: Some(c) } => c.epoch,
            other => panic!("assign failed: {other:?}"),
        }
    }

    /// The owner's retention measurement is recorded under its epoch, at
    /// the entry's time.
    #[test]
    fn binlog_retention_is_recorded_under_the_owners_epoch() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let epoch = assign(&mut state, "c", 1);
        let retention = BinlogRetention { headroom_bytes: 120, oldest_file: "b.000002".into(), warning: true, ..Default::default() };
        state.apply(&at(Command::RecordBinlogRetention { name: "c".into(), epoch, retention: retention.clone() }));
        assert_eq!(state.connectors["c"].binlog_retention, Some(BinlogRetention { measured_ms: 1_000, ..retention }));
    }

    /// The server read is recorded under the owner's epoch; `since_ms`
    /// moves only when the server changes.
    #[test]
    fn the_source_server_is_recorded_with_the_time_it_changed() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let epoch = assign(&mut state, "c", 1);
        let record = |state: &mut ClusterState, at_ms: i64, address: &str, server_id: u32| {
            state.apply(&Proposal {
                at_ms,
                command: Command::RecordSourceServer { name: "c".into(), epoch, address: address.into(), server_id },
            });
            state.connectors["c"].source_server.clone().unwrap()
        };
        assert_eq!(record(&mut state, 1_000, "db1:3306", 1).since_ms, 1_000);
        assert_eq!(record(&mut state, 2_000, "db1:3306", 1).since_ms, 1_000, "the same server");
        let switched = record(&mut state, 3_000, "db2:3306", 2);
        assert_eq!((switched.address.as_str(), switched.server_id, switched.since_ms), ("db2:3306", 2, 3_000));
    }

    #[test]
    fn stale_epoch_writes_are_rejected_and_change_nothing() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let old = assign(&mut state, "c", 1);
        let new = assign(&mut state, "c", 2);
        assert!(new > old);
        let before = state.clone();
        for command in [
            Command::CommitOffset { name: "c".into(), epoch: old, offset: json!({"file": "f", "pos": 4}), schema_history: vec![], snapshot: None },
            Command::ReportTaskStatus {
                name: "c".into(),
                epoch: old,
                node_id: 1,
                state: TaskState::Running,
                error: None,
                remedy: None,
            },
            Command::AppendSchemaHistory { name: "c".into(), epoch: old, entry: json!({"ddl": "x"}) },
            Command::RecordBinlogRetention { name: "c".into(), epoch: old, retention: BinlogRetention::default() },
            Command::RecordSourceServer { name: "c".into(), epoch: old, address: "db2:3306".into(), server_id: 2 },
        ] {
            let reply = state.apply(&at(command));
            assert_eq!(
                reply,
                CommandReply::Rejected(CommandError::StaleEpoch { name: "c".into(), current: new, given: old })
            );
        }
        assert_eq!(state, before);
        let reply = state.apply(&at(Command::CommitOffset {
            name: "c".into(),
            epoch: new,
            offset: json!({"file": "f", "pos": 4}),
            schema_history: vec![json!({"ddl": "ALTER TABLE t ADD c INT"})],
            snapshot: None,
        }));
        assert!(matches!(reply, CommandReply::Applied { .. }));
    }

    #[test]
    fn epochs_are_never_reused_across_recreation() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let first = assign(&mut state, "c", 1);
        state.apply(&at(Command::DeleteConnector { name: "c".into() }));
        create(&mut state, "c");
        let second = assign(&mut state, "c", 1);
        assert!(second > first);
        let reply = state.apply(&at(Command::CommitOffset {
            name: "c".into(),
            epoch: first,
            offset: json!({}),
            schema_history: vec![],
            snapshot: None,
        }));
        assert!(matches!(reply, CommandReply::Rejected(CommandError::StaleEpoch { .. })));
    }

    #[test]
    fn assignment_is_compare_and_set() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        assign(&mut state, "c", 1);
        let reply = state.apply(&at(Command::AssignOwner { name: "c".into(), node_id: 2, expected_epoch: 0 }));
        assert!(matches!(reply, CommandReply::Rejected(CommandError::EpochMismatch { .. })));
        assert_eq!(state.connectors["c"].owner, Some(1));
    }

    #[test]
    fn set_offsets_needs_pause_and_a_valid_offset_and_raises_the_epoch() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let owner_epoch = assign(&mut state, "c", 1);
        let offset = json!({"file": "mysql-bin.000003", "pos": 154});
        let reply = state.apply(&at(Command::SetOffsets { name: "c".into(), offset: offset.clone() }));
        assert_eq!(reply, CommandReply::Rejected(CommandError::NotPaused { name: "c".into() }));
        state.apply(&at(Command::SetDesiredState { name: "c".into(), state: DesiredState::Paused }));
        for bad in [json!([1]), json!({"pos": 1}), json!({"file": "f", "pos": -1}), json!({"bogus": 1, "gtids": "0-1-2"})] {
            let reply = state.apply(&at(Command::SetOffsets { name: "c".into(), offset: bad }));
            assert!(matches!(reply, CommandReply::Rejected(CommandError::InvalidOffset { .. })), "{reply:?}");
        }
        let reply = state.apply(&at(Command::SetOffsets { name: "c".into(), offset: offset.clone() }));
        let CommandReply::Applied { connector: Some(c) } = reply else { panic!("{reply:?}") };
        assert!(c.epoch > owner_epoch);
        assert_eq!(c.offset.unwrap().offset, offset);
        // The task that ran before the pause can no longer commit.
        let reply = state.apply(&at(Command::CommitOffset { name: "c".into(), epoch: owner_epoch, offset: json!({}), schema_history: vec![], snapshot: None }));
        assert!(matches!(reply, CommandReply::Rejected(CommandError::StaleEpoch { .. })));
    }

    #[test]
    fn names_and_duplicates() {
        let mut state = ClusterState::default();
        for bad in ["", "has space", "slash/y"] {
            let reply = state.apply(&at(Command::create_connector(bad.into(), Default::default(), false)));
            assert!(matches!(reply, CommandReply::Rejected(CommandError::InvalidName { .. })), "{bad}");
        }
        create(&mut state, "ok.name-1");
        let reply = state.apply(&at(Command::create_connector("ok.name-1".into(), Default::default(), true)));
        assert!(matches!(reply, CommandReply::Rejected(CommandError::AlreadyExists { .. })));
        assert_eq!(state.connectors.len(), 1);
        let reply = state.apply(&at(Command::RestartConnector { name: "missing".into() }));
        assert_eq!(reply, CommandReply::Rejected(CommandError::NotFound { name: "missing".into() }));
    }

    /// Rule 5 for batches: a crash after a batch of more than 64 DDLs was
    /// recorded makes the next owner record the same batch again; none of
    /// it is appended twice, and a later DDL still is.
    #[test]
    fn schema_history_records_a_repeated_batch_once_however_long() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let first = assign(&mut state, "c", 1);
        let ddl = |pos: u64| json!({"ddl": format!("ALTER TABLE t{pos} ADD c INT"), "file": "b.000001", "pos": pos});
        let batch: Vec<_> = (0..100).map(|i| ddl(1000 + i)).collect();
        state.apply(&at(Command::RecordSchemaHistory { name: "c".into(), epoch: first, entries: batch.clone() }));
        let second = assign(&mut state, "c", 2);
        let mut again = batch.clone();
        again.push(ddl(5000));
        state.apply(&at(Command::RecordSchemaHistory { name: "c".into(), epoch: second, entries: again.clone() }));
        assert_eq!(state.connectors["c"].schema_history, again);
        // Stale owners are fenced here too.
        let reply = state.apply(&at(Command::RecordSchemaHistory { name: "c".into(), epoch: first, entries: vec![ddl(9)] }));
        assert!(matches!(reply, CommandReply::Rejected(CommandError::StaleEpoch { .. })));
    }

    /// The legacy command keeps its 64-entry window, so old logs replay to
    /// the state they produced.
    #[test]
    fn legacy_history_appends_keep_their_window() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let epoch = assign(&mut state, "c", 1);
        let ddl = |pos: u64| json!({"ddl": "ALTER", "pos": pos});
        for pos in 0..65 {
            state.apply(&at(Command::AppendSchemaHistory { name: "c".into(), epoch, entry: ddl(pos) }));
        }
        state.apply(&at(Command::AppendSchemaHistory { name: "c".into(), epoch, entry: ddl(0) }));
        assert_eq!(state.connectors["c"].schema_history.len(), 66, "beyond the window a repeat was appended");
    }

    /// Rule 6: every creation is a new incarnation, drawn by the proposer;
    /// entries of earlier releases (none given) create incarnation "".
    #[test]
    fn every_creation_is_a_new_incarnation() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let first = state.connectors["c"].incarnation.clone();
        assert_eq!(first.len(), 32, "{first}");
        state.apply(&at(Command::DeleteConnector { name: "c".into() }));
        create(&mut state, "c");
        assert_ne!(state.connectors["c"].incarnation, first);

        let legacy: Command = serde_json::from_value(json!({
            "type": "create_connector", "name": "old", "config": {"topic.prefix": "p"}, "paused": false
        }))
        .unwrap();
        state.apply(&at(legacy));
        assert_eq!(state.connectors["old"].incarnation, "");
    }

    /// KIP-875: a stopped connector's offsets may be set or reset; a reset
    /// needs STOPPED, clears progress, raises the epoch and starts a new
    /// incarnation.
    #[test]
    fn stopped_connectors_take_offset_changes_and_resets() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let epoch = assign(&mut state, "c", 1);
        state.apply(&at(Command::CommitOffset { name: "c".into(), epoch, offset: json!({"file": "f", "pos": 4}), schema_history: vec![], snapshot: None }));
        let reply = state.apply(&at(Command::reset_offsets("c".into())));
        assert_eq!(reply, CommandReply::Rejected(CommandError::NotStopped { name: "c".into() }));
        state.apply(&at(Command::SetDesiredState { name: "c".into(), state: DesiredState::Stopped }));
        assert_eq!(state.connectors["c"].effective_task_state(), TaskState::Stopped);
        let reply = state.apply(&at(Command::SetOffsets { name: "c".into(), offset: json!({"file": "f", "pos": 9}) }));
        assert!(matches!(reply, CommandReply::Applied { .. }), "{reply:?}");
        let before = state.connectors["c"].clone();
        state.apply(&at(Command::reset_offsets("c".into())));
        let after = &state.connectors["c"];
        assert_eq!(after.offset, None);
        assert!(after.epoch > before.epoch);
        assert_ne!(after.incarnation, before.incarnation);
        // An owner of the old epoch is fenced.
        let reply = state.apply(&at(Command::CommitOffset { name: "c".into(), epoch, offset: json!({"file": "f", "pos": 5}), schema_history: vec![], snapshot: None }));
        assert!(matches!(reply, CommandReply::Rejected(CommandError::StaleEpoch { .. })));
    }

    /// Rule 4: only an operator's offset carries the mark that lets it win
    /// over Kafka's progress.
    #[test]
    fn operator_offsets_are_marked() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let epoch = assign(&mut state, "c", 1);
        state.apply(&at(Command::CommitOffset { name: "c".into(), epoch, offset: json!({"file": "f", "pos": 4}), schema_history: vec![], snapshot: None }));
        assert!(!state.connectors["c"].offset.as_ref().unwrap().set_by_operator);
        state.apply(&at(Command::SetDesiredState { name: "c".into(), state: DesiredState::Paused }));
        state.apply(&at(Command::SetOffsets { name: "c".into(), offset: json!({"file": "f", "pos": 9}) }));
        assert!(state.connectors["c"].offset.as_ref().unwrap().set_by_operator);
    }

    /// `SetOffsets` keeps its frozen key list for replay; offsets proposed
    /// now (`SetOperatorOffset`, validated before proposing) may carry every
    /// key the source writes.
    #[test]
    fn operator_offsets_with_newer_keys_replay_by_their_command() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        assign(&mut state, "c", 1);
        state.apply(&at(Command::SetDesiredState { name: "c".into(), state: DesiredState::Paused }));
        let offset = json!({"file": "f", "pos": 4, "transaction_data_collection_order": {"t": 3}, "transaction_id": "0-1-5"});
        let frozen = state.apply(&at(Command::SetOffsets { name: "c".into(), offset: offset.clone() }));
        assert!(matches!(frozen, CommandReply::Rejected(CommandError::InvalidOffset { .. })), "{frozen:?}");
        let now = state.apply(&at(Command::SetOperatorOffset { name: "c".into(), offset: offset.clone() }));
        assert!(matches!(now, CommandReply::Applied { .. }), "{now:?}");
        let record = state.connectors["c"].offset.clone().unwrap();
        assert_eq!(record.offset, offset);
        assert!(record.set_by_operator);
    }
    fn signal(state: &mut ClusterState, epoch: u64, origin: SignalOrigin, action: SignalAction) -> CommandReply {
        state.apply(&at(Command::ApplySignal { name: "c".into(), epoch, origin, action }))
    }

    fn source_origin(position: &str) -> SignalOrigin {
        SignalOrigin::Source { id: "s1".into(), position: position.into() }
    }

    fn execute() -> SignalAction {
        SignalAction::ExecuteSnapshot { data_collections: vec!["db\\.t.*".into()], conditions: vec![] }
    }

    /// Rule 8: a source signal read again by the next owner (same identity)
    /// requests no second snapshot; a new row does.
    #[test]
    fn a_repeated_source_signal_is_acted_on_once() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let first = assign(&mut state, "c", 1);
        assert!(matches!(signal(&mut state, first, source_origin("0-1-9/0/0"), execute()), CommandReply::Applied { .. }));
        let request = state.connectors["c"].incremental.clone().unwrap();
        assert_eq!((request.id, request.patterns, request.state), (1, true, IncrementalState::Running));
        let second = assign(&mut state, "c", 2);
        let reply = signal(&mut state, second, source_origin("0-1-9/0/0"), execute());
        assert!(matches!(reply, CommandReply::Rejected(CommandError::SignalRepeated { .. })), "{reply:?}");
        assert_eq!(state.connectors["c"].incremental.as_ref().unwrap().id, 1);
        signal(&mut state, second, source_origin("0-1-12/0/0"), execute());
        assert_eq!(state.connectors["c"].incremental.as_ref().unwrap().id, 2);
        assert_eq!(state.connectors["c"].signals.applied, 2);
        // A deposed owner's proposal is fenced like any owner write.
        let reply = signal(&mut state, first, source_origin("0-1-13/0/0"), execute());
        assert!(matches!(reply, CommandReply::Rejected(CommandError::StaleEpoch { .. })));
    }

    /// Rule 8 for the Kafka channel: the position moves with the action; a
    /// record below it is a repeat.
    #[test]
    fn kafka_signals_advance_the_replicated_position() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let epoch = assign(&mut state, "c", 1);
        let at_offset = |offset| SignalOrigin::Kafka { topic: "sig".into(), partition: 0, offset };
        signal(&mut state, epoch, at_offset(3), execute());
        assert_eq!(state.connectors["c"].signals.kafka_position, Some(4));
        let reply = signal(&mut state, epoch, at_offset(3), execute());
        assert!(matches!(reply, CommandReply::Rejected(CommandError::SignalRepeated { .. })));
        signal(&mut state, epoch, at_offset(7), SignalAction::PauseSnapshot);
        let record = &state.connectors["c"];
        assert_eq!((record.signals.kafka_position, record.incremental.as_ref().unwrap().state), (Some(8), IncrementalState::Paused));
    }

    /// Signals that cannot be acted on are warnings, never failures.
    #[test]
    fn signals_that_cannot_act_become_warnings() {
        let mut state = ClusterState::default();
        create(&mut state, "c");
        let epoch = assign(&mut state, "c", 1);
        signal(&mut state, epoch, source_origin("a/0/0"), SignalAction::ResumeSnapshot);
        signal(&mut state, epoch, source_origin("a/0/1"), SignalAction::Refused { reason: "bad json".into() });
        signal(&mut state, epoch, source_origin("a/0/2"), execute());
        signal(&mut state, epoch, source_origin("a/0/3"), SignalAction::StopSnapshot { data_collections: vec!["other.t".into()] });
        let record = &state.connectors["c"];
        let reasons: Vec<&str> = record.signals.warnings.iter().map(|w| w.reason.as_str()).collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons[0].contains("no incremental snapshot is paused") && reasons[1] == "bad json" && reasons[2].contains("only some"));
        assert_eq!(record.incremental.as_ref().unwrap().state, IncrementalState::Running);
        signal(&mut state, epoch, source_origin("a/0/4"), SignalAction::StopSnapshot { data_collections: vec![] });
        assert_eq!(state.connectors["c"].incremental.as_ref().unwrap().state, IncrementalState::Stopped);
    }
}

