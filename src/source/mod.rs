//! Sources of change events, and the seam between a source and the sink.
//!
//! A source hands the pipeline [`Batch`]es. A batch holds the Kafka
//! [`Record`]s of one or more whole source transactions, or of one part of
//! a transaction too large for one batch, and the offset to commit once
//! every record in it (and in every batch before it) has been delivered.
//! The contract the exactly-once sink builds on:
//!
//! 1. Batches arrive in binlog order, and records within a batch in binlog
//!    order (per table and key as well).
//! 2. `offset` is the resume point after the batch: resuming the source
//!    from it produces exactly the records that follow, no more, no less.
//! 3. A batch with `ends_transaction = false` is a part of a split
//!    transaction; its offset still resumes exactly (it carries the event
//!    and row counts inside the transaction, and the transaction metadata
//!    already emitted, so orders and END continue as if uninterrupted).
//!    A part, once handed over, is never taken back: a source that learns
//!    later that the transaction rolled back stops with a definite error.
//! 4. `schema_history` entries belong in the replicated schema history once
//!    the batch is delivered (under the owner's epoch), and so does
//!    `snapshot` progress.
//! 5. Snapshot chunks are batches too: their offset carries the snapshot
//!    cursor, so the same delivery makes chunks exactly-once. A snapshot
//!    resumed on a new consistent view records that view in the offset,
//!    and streaming emits a change only if it is newer than the view its
//!    row was read at, so no change a snapshot record shows is repeated.
//! 6. `signals` (rows inserted into the signal table) belong to the batch
//!    of their transaction; the owner acts on them through Raft before the
//!    batch is delivered, so resuming before the batch reads them again
//!    with the same identity ([`crate::signal`]).
//!
//! The channel between source and sink is bounded, so a slow or absent
//! sink pauses reading instead of growing memory.
pub mod mysql;

/// One Kafka record, encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub topic: String,
    pub key: Option<Vec<u8>>,
    /// `None` is a tombstone.
    pub value: Option<Vec<u8>>,
    /// Record headers (Debezium's: the primary-key-change headers).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The key's and value's Connect schemas, when the encoder hands them
    /// by reference instead of inline (a connector with transforms; see
    /// [`crate::envelope::EncodingOptions::schemas_by_reference`]): `key`
    /// and `value` are then payload-only JSON of these schemas. `None`:
    /// the bytes are complete as they are.
    pub schemas: Option<std::sync::Arc<crate::envelope::RecordSchemas>>,
    /// Where the parts of a change event's value are, beside a value whose
    /// schemas travel by reference (see [`crate::envelope::EnvelopeLayout`]);
    /// `None` for every other record.
    pub layout: Option<Box<crate::envelope::EnvelopeLayout>>,
    /// A change event: a row's create, update, delete or snapshot read, or
    /// a schema change (not a tombstone, transaction metadata or a
    /// heartbeat). What the source rows metric counts.
    pub change_event: bool,
}

impl Record {
    /// What the record holds in memory: the allocated capacity of its key,
    /// value, header names and values and topic name, plus its own and
    /// each header's fixed size. The owner's queue bounds this sum
    /// (`max.queue.size.in.bytes`), and the source cuts its batches by it.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Record>()
            + self.topic.capacity()
            + self.key.as_ref().map_or(0, Vec::capacity)
            + self.value.as_ref().map_or(0, Vec::capacity)
            + self.headers.capacity() * std::mem::size_of::<(String, Vec<u8>)>()
            + self.headers.iter().map(|(k, v)| k.capacity() + v.capacity()).sum::<usize>()
            + self.layout.as_ref().map_or(0, |_| std::mem::size_of::<crate::envelope::EnvelopeLayout>())
    }
}

/// Records plus the offset to commit after delivering them.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub records: Vec<Record>,
    pub offset: serde_json::Value,
    pub schema_history: Vec<serde_json::Value>,
    pub ends_transaction: bool,
    /// Snapshot progress as of this batch (snapshot batches only); it is
    /// committed to the replicated state with the offset, for status.
    pub snapshot: Option<SnapshotProgress>,
    /// Signals read from the signal table in this batch's transactions;
    /// the owner acts on them (through Raft) before delivering the batch
    /// (see [`crate::signal`]).
    pub signals: Vec<crate::signal::ReceivedSignal>,
}

/// How far a snapshot got, as connector status shows it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotProgress {
    pub tables_total: u64,
    pub tables_done: u64,
    pub rows_read: u64,
    pub current_table: String,
    pub last_key: serde_json::Value,
    pub completed: bool,
    /// An incremental (ad-hoc) snapshot rather than the initial one.
    #[serde(default)]
    pub incremental: bool,
}

/// How much binlog the server still holds behind the connector's position,
/// as the owner last measured it ([`mysql::retention`]); connector status
/// and metrics show it, and it warns before a purge overtakes the
/// connector.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BinlogRetention {
    /// Bytes from the start of the oldest binlog file the server has to the
    /// connector's position.
    pub headroom_bytes: u64,
    /// Whole binlog files before the connector's file.
    pub headroom_files: u64,
    /// The oldest binlog file the server has.
    pub oldest_file: String,
    /// The time of that file's first event (Unix seconds), if it could be read.
    pub oldest_event_ts: Option<u64>,
    /// `binlog_expire_logs_seconds` (or `expire_logs_days` in seconds);
    /// 0 when the server never purges by age.
    pub expire_seconds: u64,
    /// The headroom is under `raftcdc.binlog.retention.warn.bytes` and the
    /// connector reads a file the server no longer writes, so the next purge
    /// can take it.
    pub warning: bool,
    /// When it was measured (ms since the Unix epoch, on the owner).
    pub measured_ms: i64,
}

/// What a running source tells its task besides batches, for the
/// replicated state (status and metrics).
#[derive(Debug, Clone, PartialEq)]
pub enum SourceReport {
    Retention(BinlogRetention),
    /// The source (re)started reading from this server (`host:port`).
    Server { address: String, server_id: u32 },
}

/// The database server a connector reads from, as the replicated state
/// records it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceServer {
    /// `host:port`, as `database.hostname` names it.
    pub address: String,
    pub server_id: u32,
    /// Since when it is read (ms since the Unix epoch): the first record
    /// of this server after another one.
    pub since_ms: i64,
}

/// An incremental snapshot request, as the operator made it (the source
/// keeps its own progress in the committed offset).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncrementalRequest {
    /// Rises with every request, so a source can tell a new request from
    /// one it already completed.
    pub id: u64,
    /// `db.table` names (or, with `patterns`, patterns of them).
    pub tables: Vec<String>,
    pub filter: Option<String>,
    pub state: IncrementalState,
    pub requested_ms: i64,
    /// `tables` are Debezium `data-collections` patterns, matched whole
    /// against the captured tables when the snapshot starts (a signal's
    /// request); requests of `connector snapshot` name tables.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub patterns: bool,
    /// Per-table conditions (a signal's `additional-conditions`), used
    /// instead of `filter` for the tables they match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<crate::signal::TableCondition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum IncrementalState {
    Running,
    Paused,
    Stopped,
}

impl IncrementalState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncrementalState::Running => "RUNNING",
            IncrementalState::Paused => "PAUSED",
            IncrementalState::Stopped => "STOPPED",
        }
    }
}

/// Aborts a spawned task when dropped: a source (or its binlog reader) must
/// not outlive whoever consumes it, or it keeps a replication connection
/// open (and MariaDB will not purge binlogs a connected replica reads).
pub struct AbortOnDrop<T>(pub tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
