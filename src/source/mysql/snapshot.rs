//! The initial snapshot: every captured table's rows as `op: r` records,
//! consistent with the binlog position streaming continues from, chunked,
//! and resumable on whichever node takes the connector over.
//!
//! # Consistency
//! The snapshot reads inside one `REPEATABLE READ` transaction opened with
//! `START TRANSACTION WITH CONSISTENT SNAPSHOT`, and needs the binlog
//! position `P0` that view corresponds to:
//!
//! - **MariaDB** reports it without any lock: after the transaction
//!   starts, `binlog_snapshot_file` / `binlog_snapshot_position` (status
//!   variables) name exactly the binlog position of the view, and
//!   `BINLOG_GTID_POS` turns it into the GTID state.
//! - **MySQL** has no such variables, so raftcdc does what Debezium does:
//!   `FLUSH TABLES WITH READ LOCK`, start the transaction, read `SHOW
//!   MASTER STATUS` (position and executed GTID set), `UNLOCK TABLES`. The
//!   global read lock is held for those three statements only (needs the
//!   `RELOAD` privilege).
//!
//! Every row of the view is emitted, then streaming starts at `P0`, so
//! each change after the view arrives exactly once, after the snapshot.
//!
//! # Chunks, and what is committed
//! Tables are read one after another (several at once: see below), each
//! in chunk-key order (the primary key,
//! or else a unique index whose columns are all NOT NULL; see
//! [`super::table_schema::chunk_key`]), `snapshot.fetch.size` rows at
//! a time: `WHERE key > last ORDER BY key LIMIT n+1` (the extra row only
//! tells whether the table ends in this chunk, for Debezium's
//! `last_in_data_collection` / `last` markers; it is read again as the
//! next chunk's first row). A chunk's rows are streamed and go out as
//! [`Batch`]es of at most `max.batch.size` rows and an eighth of
//! `max.queue.size.in.bytes` ([`super::snapshot_scan`]), each ending at a
//! row the next read can start after; a batch's offset is `P0` plus a
//! [`SnapshotCursor`]: the table list, the table being read and the chunk
//! key of its last emitted row. The pipeline delivers a
//! batch's records and its offset in one Kafka transaction and then
//! commits the offset (with the progress shown in status) to Raft under
//! the owner's epoch, so committed output and committed cursor always
//! agree: a batch is either in Kafka's committed output together with the
//! cursor that follows it, or neither is. Memory is bounded by the batch
//! bounds and the pipeline's bounded queue, not by the table size, the
//! chunk size or the width of a row.
//!
//! # Parallel tables (`snapshot.max.threads`)
//! With `snapshot.max.threads` = 1 (the default) everything here is as
//! described: one connection, one table after another, and the cursor
//! and output of earlier versions byte for byte. With more, up to that
//! many tables are read at once over as many connections that all share
//! one view `P0` (or, on a resume, one new view), and one merge emits
//! their chunks as batches whose cursor holds every table in flight
//! ([`super::snapshot_cursor`]); a resumed view records the start in each
//! of them. The argument (one view for every row a run reads, so the
//! single-view reasoning above and below holds unchanged) is in
//! [`super::snapshot_parallel`]. A cursor a parallel run left with
//! tables in flight is resumed by that path whatever the setting is now.
//!
//! # Resuming on another node
//! A new owner (or the same one after a transient error) resumes from the
//! committed cursor: it opens a *new* consistent view `P1 ≥ P0` and reads
//! the rest (rows with a key above the cursor, then the remaining tables)
//! from it; streaming still starts at `P0`. This is correct:
//!
//! - no chunk is emitted twice: the next read starts strictly after the
//!   last committed key, and uncommitted chunks were never visible;
//! - no row is lost: a row that exists at `P1` above the cursor is read
//!   from `P1`; a row below the cursor was read at `P0`;
//! - no change is streamed twice or for a row never read: the resume
//!   records its view `P1` and where it started reading (the table in
//!   progress and the cursor key) in the cursor, as a
//!   [`ResumedView`](super::snapshot_views::ResumedView). Streaming starts
//!   at `P0` and emits a change of a key read at `P1` only if its
//!   transaction is at or after `P1`: the changes between `P0` and `P1`
//!   are in that key's `r` record already, and a row deleted between them
//!   was never read. Keys read at `P0` (below the cursor, earlier tables)
//!   get every change after `P0`. So each key's `r` record is followed by
//!   exactly the changes after the view it was read at, as in an
//!   uninterrupted snapshot. Further failovers add further views; the
//!   argument, the key order used to place a key relative to the cursor
//!   and the position comparison are in [`super::snapshot_views`].
//! - the views live in the offset: in the cursor (committed with the
//!   chunks read at them), then in the streaming offset until the stream
//!   has passed the last one.
//!
//! One case keeps the older at-least-the-final-state output: when the
//! table in progress at a resume has a chunk key whose order depends on a
//! non-binary collation (`utf8mb4_general_ci`, say), raftcdc cannot tell
//! which of its streamed keys lie above the cursor without guessing the
//! collation, so that table's rows read at `P1` are followed by the
//! changes between `P0` and `P1` again (logged at the resume). Tables
//! wholly read at `P1` and every other key type are exact.
//!
//! The chunk key is never `message.key.columns`: those columns shape the
//! Kafka key only and need not identify a row. Chunking by them would
//! skip the rows that share the last value of a chunk (`key > last`), and
//! every row after a NULL one (`> NULL` is never true).
//!
//! A table without a primary key and without a unique NOT NULL index
//! cannot be read from a key: it is read in one pass (still emitted batch
//! by batch; logged), and a resume inside such a table reads that one
//! table again from its start, so its rows may appear twice after a
//! failover (its streamed changes follow the new view's rows exactly).
//! Give such tables a primary key to make them resumable.
//!
//! # Modes (`snapshot.mode`, Debezium's names)
//! See [`plan`]: `initial` snapshots when there is no offset; `initial_only`
//! snapshots and then does not stream; `no_data` (`schema_only`) and
//! `never` stream from the current position; `when_needed` also
//! snapshots when the offset's binlog file is gone; `always` snapshots at
//! every task start; `recovery` (`schema_only_recovery`) records the
//! current DDL of the captured tables in the schema history and streams.
use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::{Row, Value};
use tokio::sync::mpsc;

use super::chunk_keys::{cursor_key_matches, display_key};
pub use super::chunk_keys::KeyValue;
use super::column::Row as ColumnRow;
use super::config::{MySqlSourceConfig, SnapshotMode};
use super::ddl::SchemaModel;
use super::error::{classify, DefiniteError, SourceError};
use super::position::SourceOffset;
use super::records::{RecordBuilder, RowEvent, TableOutput};
pub use super::snapshot_cursor::SnapshotCursor;
use super::snapshot_parallel;
use super::snapshot_scan::{scan, GroupSink, RowGroup, ScanPlan};
use super::snapshot_views::{exactly_ordered, ResumedView, SnapshotViews, ViewStart};
use super::table_schema::{chunk_key, column_value, quote_identifier, table_decoder};
use super::validate::{self, ServerInfo};
use crate::envelope::Snapshot;
use crate::source::{Batch, Record, SnapshotProgress};

/// What a source attempt does first.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Stream from this offset.
    Stream(SourceOffset),
    /// Stream from the current binlog position (no offset yet).
    StreamFromCurrent,
    /// Snapshot from scratch, then stream.
    Snapshot,
    /// Continue the snapshot in this offset's cursor, then stream.
    ResumeSnapshot(SourceOffset),
    /// `initial_only` after its snapshot: nothing more to do.
    Idle,
}

/// Decides what to do with a committed offset. `task_start` is true for a
/// task's first attempt (`always` snapshots then, not on every retry);
/// `binlog_gone` tells whether the offset's binlog file was purged.
pub fn plan(mode: SnapshotMode, offset: Option<SourceOffset>, task_start: bool, binlog_gone: bool) -> Plan {
    use SnapshotMode::*;
    let snapshots = matches!(mode, Initial | InitialOnly | WhenNeeded | Always);
    match offset {
        Some(offset) if offset.snapshot.is_some() && snapshots => Plan::ResumeSnapshot(offset),
        Some(mut offset) if offset.snapshot.is_some() => {
            // The mode was changed away from snapshotting mid-snapshot:
            // stream from the snapshot's position (the views of rows read
            // after resumes still apply).
            let cursor = offset.snapshot.take().expect("checked");
            if !cursor.views.is_empty() {
                offset.views = Some(SnapshotViews {
                    tables: cursor.tables,
                    views: cursor.views,
                });
            }
            Plan::Stream(offset)
        }
        Some(_) if mode == Always && task_start => Plan::Snapshot,
        Some(_) if mode == WhenNeeded && binlog_gone => Plan::Snapshot,
        Some(_) if mode == InitialOnly => Plan::Idle,
        Some(offset) => Plan::Stream(offset),
        None if snapshots => Plan::Snapshot,
        None => Plan::StreamFromCurrent,
    }
}

/// Whether `offset`'s binlog file is no longer on the server.
pub async fn binlog_gone(
    conn: &mut mysql_async::Conn,
    config: &MySqlSourceConfig,
    offset: &SourceOffset,
) -> Result<bool, SourceError> {
    let logs: Vec<Row> = validate::query(conn, "SHOW BINARY LOGS", config).await?;
    Ok(!logs.iter().any(|row| row.get::<String, _>(0).as_deref() == Some(offset.file.as_str())))
}

/// Runs (or resumes) the snapshot, sending chunk batches to `out`.
/// Returns the offset streaming starts from (`P0`), or `None` if the
/// receiver went away.
pub async fn run(
    config: &Arc<MySqlSourceConfig>,
    server: &ServerInfo,
    resume: Option<SourceOffset>,
    out: &mpsc::Sender<Batch>,
    last_sent: &mut Option<serde_json::Value>,
) -> Result<Option<SourceOffset>, SourceError> {
    // `snapshot.max.threads` > 1, or a cursor a parallel run left with
    // tables in flight: several connections, all at one view.
    let parallel = config.snapshot_max_threads > 1
        || resume.as_ref().and_then(|o| o.snapshot.as_ref()).is_some_and(|c| !c.ahead.is_empty());
    let (mut conn, mut readers, view) = if parallel {
        let (mut conns, view) = snapshot_parallel::open_shared_view(config, server, config.snapshot_max_threads.max(1)).await?;
        let conn = conns.remove(0);
        (conn, conns, view)
    } else {
        let mut conn = validate::connect_for_queries(config).await?;
        let view = open_view(&mut conn, config, server).await?;
        (conn, Vec::new(), view)
    };
    let builder = RecordBuilder::new(config.clone());
    let mut captured = Vec::new();
    let (base, mut cursor, fresh) = match resume {
        Some(mut offset) => {
            let mut cursor = offset.snapshot.take().expect("a resumed snapshot has a cursor");
            cursor.resumed += 1;
            // Rows from here on are read at this view: the stream must
            // skip their changes before it (completed in `table`, which
            // knows the table's chunk key).
            cursor.views.push(ResumedView {
                table: cursor.table,
                after_key: cursor.last_key.clone(),
                key_columns: Vec::new(),
                ordered: false,
                file: view.file.clone(),
                pos: view.pos,
                gtids: view.gtids.as_ref().map(|g| g.to_string()),
                ahead: cursor
                    .ahead
                    .iter()
                    .map(|t| ViewStart {
                        table: t.table,
                        after_key: t.last_key.clone(),
                        key_columns: Vec::new(),
                        ordered: false,
                        done: t.done,
                    })
                    .collect(),
            });
            tracing::info!(
                table = cursor.table,
                rows = cursor.rows,
                view = %format!("{}:{}", view.file, view.pos),
                "snapshot: resuming from the committed chunk on a new consistent view"
            );
            (offset, cursor, false)
        }
        None => {
            let tables = captured_tables(&mut conn, config).await?;
            // snapshot.include.collection.list: rows of these tables only;
            // the schema of every captured table is still recorded.
            let rows_of: Vec<(String, String)> =
                tables.iter().filter(|(db, table)| config.snapshot_tables.allows(&format!("{db}.{table}"))).cloned().collect();
            tracing::info!(tables = tables.len(), with_rows = rows_of.len(), position = %format!("{}:{}", view.file, view.pos), "snapshot: starting");
            captured = tables;
            (view, SnapshotCursor::new(rows_of), true)
        }
    };
    let mut snapshot = Snapshotter {
        conn,
        encoder: RowEncoder {
            config,
            server,
            builder,
            base,
            ts_sec: now_sec(),
        },
        view_pending: !fresh,
    };
    if fresh {
        let batch = snapshot.schema_batch(&captured, Some(&cursor)).await?;
        if !send(out, batch, last_sent).await {
            return Ok(None);
        }
    }
    if parallel {
        let Snapshotter { conn, encoder, .. } = snapshot;
        readers.insert(0, conn);
        if !snapshot_parallel::read_tables(&encoder, readers, &mut cursor, !fresh, out, last_sent).await? {
            return Ok(None);
        }
        let done = close(&encoder, &cursor, out, last_sent).await;
        if done.is_some() {
            tracing::info!(rows = cursor.rows, "snapshot: completed");
        }
        return Ok(done);
    }
    while cursor.table < cursor.tables.len() {
        if !snapshot.table(&mut cursor, out, last_sent).await? {
            return Ok(None);
        }
    }
    let Some(done) = close(&snapshot.encoder, &cursor, out, last_sent).await else {
        return Ok(None);
    };
    let _ = snapshot.conn.query_drop("COMMIT").await;
    let _ = snapshot.conn.disconnect().await;
    tracing::info!(rows = cursor.rows, "snapshot: completed");
    Ok(Some(done))
}

/// Commits the completed snapshot, if its last batch did not already:
/// every table ended in a chunk whose batch completed the snapshot, unless
/// the last tables were empty (or dropped); then a closing batch commits
/// the completion. Answers the offset streaming starts from (`None`: the
/// receiver went away).
async fn close(
    encoder: &RowEncoder<'_>,
    cursor: &SnapshotCursor,
    out: &mpsc::Sender<Batch>,
    last_sent: &mut Option<serde_json::Value>,
) -> Option<SourceOffset> {
    let done = encoder.offset(cursor, true);
    if last_sent.as_ref() != Some(&done.to_json()) {
        let batch = Batch {
            records: Vec::new(),
            offset: done.to_json(),
            schema_history: Vec::new(),
            ends_transaction: true,
            snapshot: Some(progress(cursor, true)),
            signals: Vec::new(),
        };
        if !send(out, batch, last_sent).await {
            return None;
        }
    }
    Some(done)
}

/// A batch of the current DDL of `tables`, for the schema history (and
/// the schema change topic), at `offset`'s position. Used by the snapshot
/// and by `recovery` mode.
pub async fn schema_history_batch(
    config: &Arc<MySqlSourceConfig>,
    server: &ServerInfo,
    offset: &SourceOffset,
) -> Result<Batch, SourceError> {
    let mut conn = validate::connect_for_queries(config).await?;
    let tables = captured_tables(&mut conn, config).await?;
    let mut snapshot = Snapshotter {
        conn,
        encoder: RowEncoder::new(config, server, offset.clone(), now_sec()),
        view_pending: false,
    };
    let batch = snapshot.schema_batch(&tables, None).await;
    let _ = snapshot.conn.disconnect().await;
    batch
}

/// Prepares the table model streaming starts with ([`super::ddl`]): the
/// schema history replayed, then every captured table the history does
/// not describe read with `SHOW CREATE TABLE`, and the databases' default
/// character sets for tables created later without one.
pub async fn seed_schema_model(
    config: &Arc<MySqlSourceConfig>,
    history: &[serde_json::Value],
    model: &std::sync::Mutex<SchemaModel>,
) -> Result<(), SourceError> {
    let captures = |db: &str, table: &str| config.filters.captures_table(db, table);
    let mut seeded = SchemaModel::new(config.include_schema_comments);
    seeded.replay(history, &captures);
    let mut conn = validate::connect_for_queries(config).await?;
    let server: Vec<(String,)> = validate::query(&mut conn, "SELECT @@character_set_server", config).await?;
    let databases: Vec<(String, String)> =
        validate::query(&mut conn, "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA", config).await?;
    seeded.set_charsets(server.into_iter().next().map(|(c,)| c), databases);
    for (db, table) in captured_tables(&mut conn, config).await? {
        if seeded.knows(&db, &table) {
            continue;
        }
        let sql = format!("SHOW CREATE TABLE {}.{}", quote_identifier(&db), quote_identifier(&table));
        let rows: Vec<(String, String)> = match conn.query(&sql).await {
            Ok(rows) => rows,
            Err(mysql_async::Error::Server(e)) if e.code == 1146 => continue,
            Err(e) => return Err(sql_error(config, &sql)(e)),
        };
        let Some((_, ddl)) = rows.into_iter().next() else { continue };
        if let Err(error) = seeded.apply(&db, &ddl, &captures) {
            tracing::warn!(%db, %table, error = %crate::error::error_chain(&error), "source: this table's DDL is not in the table model; its schema change events will have no tableChanges");
        }
    }
    let _ = conn.disconnect().await;
    if let Ok(mut shared) = model.lock() {
        *shared = seeded;
    }
    Ok(())
}

pub(super) fn now_sec() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Status of `cursor`: with several tables in flight, `current_table` and
/// `last_key` are the lowest table not finished.
pub(super) fn progress(cursor: &SnapshotCursor, completed: bool) -> SnapshotProgress {
    let current = cursor.tables.get(cursor.table);
    SnapshotProgress {
        tables_total: cursor.tables.len() as u64,
        tables_done: if completed { cursor.tables.len() as u64 } else { cursor.tables_done() },
        rows_read: cursor.rows,
        current_table: current.map(|(d, t)| format!("{d}.{t}")).unwrap_or_default(),
        last_key: display_key(cursor.last_key.as_deref()),
        completed,
        incremental: false,
    }
}

/// How long the server waits to write a snapshot read's next rows while
/// the pipeline waits on Kafka (see [`super::snapshot_scan`]): far longer
/// than the sink waits for a stalled broker before it gives up.
const SNAPSHOT_NET_WRITE_TIMEOUT_SECS: u32 = 3600;

/// Session settings every snapshot read needs: UTC `TIMESTAMP`s, utf8mb4
/// text (see [`super::table_schema`]), repeatable read, no writes, and a
/// `net_write_timeout` that outlasts a wait for the queue.
pub(super) async fn prepare_session(conn: &mut mysql_async::Conn, config: &MySqlSourceConfig) -> Result<(), SourceError> {
    let write_timeout = format!("SET SESSION net_write_timeout = {SNAPSHOT_NET_WRITE_TIMEOUT_SECS}");
    for sql in [
        "SET SESSION time_zone = '+00:00'",
        "SET NAMES utf8mb4",
        &write_timeout,
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "SET SESSION TRANSACTION READ ONLY",
    ] {
        validate::query::<Row>(conn, sql, config).await?;
    }
    Ok(())
}

/// Opens the consistent view; returns its binlog position.
async fn open_view(
    conn: &mut mysql_async::Conn,
    config: &MySqlSourceConfig,
    server: &ServerInfo,
) -> Result<SourceOffset, SourceError> {
    prepare_session(conn, config).await?;
    if server.mariadb {
        validate::query::<Row>(conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT", config).await?;
        let (file, pos) = view_position(conn, config).await?;
        validate::offset_at(conn, config, server, file, pos, None).await
    } else {
        validate::query::<Row>(conn, "FLUSH TABLES WITH READ LOCK", config).await?;
        let opened = async {
            validate::query::<Row>(conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT", config).await?;
            validate::master_status(conn, config).await
        }
        .await;
        validate::query::<Row>(conn, "UNLOCK TABLES", config).await?;
        let (file, pos, executed) = opened?;
        validate::offset_at(conn, config, server, file, pos, executed).await
    }
}

/// MariaDB: the binlog position of the connection's consistent view
/// (`binlog_snapshot_file` / `binlog_snapshot_position`).
pub(super) async fn view_position(conn: &mut mysql_async::Conn, config: &MySqlSourceConfig) -> Result<(String, u64), SourceError> {
    let status: Vec<(String, String)> = validate::query(conn, "SHOW STATUS LIKE 'binlog_snapshot_%'", config).await?;
    let get = |name: &str| status.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let file = get("binlog_snapshot_file").unwrap_or_default();
    let pos = get("binlog_snapshot_position").and_then(|p| p.parse().ok()).unwrap_or(4);
    Ok((file, pos))
}

/// The captured base tables, in a stable order.
pub(super) async fn captured_tables(
    conn: &mut mysql_async::Conn,
    config: &MySqlSourceConfig,
) -> Result<Vec<(String, String)>, SourceError> {
    let all: Vec<(String, String)> = validate::query(
        conn,
        "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' \
         ORDER BY TABLE_SCHEMA, TABLE_NAME",
        config,
    )
    .await?;
    Ok(all
        .into_iter()
        .filter(|(db, table)| config.filters.captures_table(db, table))
        .collect())
}

struct Snapshotter<'a> {
    conn: mysql_async::Conn,
    encoder: RowEncoder<'a>,
    /// This run resumed on a new view whose starting point in the current
    /// table is not settled yet (the first [`Snapshotter::table`] does).
    view_pending: bool,
}

/// Turns snapshot rows into records (apart from the connection, so rows
/// can be encoded while a scan holds it).
pub(super) struct RowEncoder<'a> {
    pub(super) config: &'a Arc<MySqlSourceConfig>,
    pub(super) server: &'a ServerInfo,
    pub(super) builder: RecordBuilder,
    /// `P0`: where streaming starts once the snapshot completes (for an
    /// incremental snapshot: the stream's position at the chunk read).
    pub(super) base: SourceOffset,
    pub(super) ts_sec: u64,
}

impl<'a> RowEncoder<'a> {
    /// An encoder with a fresh record builder for `config`.
    pub(super) fn new(config: &'a Arc<MySqlSourceConfig>, server: &'a ServerInfo, base: SourceOffset, ts_sec: u64) -> RowEncoder<'a> {
        RowEncoder { config, server, builder: RecordBuilder::new(config.clone()), base, ts_sec }
    }
}

impl RowEncoder<'_> {
    /// The offset after `cursor`'s rows: `P0` with the cursor, or once the
    /// snapshot is `completed`, `P0` with the resumes' views (if any) for
    /// the stream.
    pub(super) fn offset(&self, cursor: &SnapshotCursor, completed: bool) -> SourceOffset {
        let mut offset = self.base.clone();
        if completed {
            offset.views = (!cursor.views.is_empty()).then(|| SnapshotViews {
                tables: cursor.tables.clone(),
                views: cursor.views.clone(),
            });
        } else {
            offset.snapshot = Some(cursor.clone());
        }
        offset.ts_sec = self.ts_sec;
        offset
    }

    /// A batch of rows that ends at `cursor`, committing the cursor as
    /// its offset; once the snapshot is `completed`, the cursor moves past
    /// the last table.
    pub(super) fn chunk_batch(&self, cursor: &mut SnapshotCursor, records: Vec<Record>, completed: bool) -> Batch {
        let batch = Batch {
            records,
            offset: self.offset(cursor, completed).to_json(),
            schema_history: Vec::new(),
            ends_transaction: true,
            snapshot: Some(progress(cursor, completed)),
            signals: Vec::new(),
        };
        if completed {
            cursor.table = cursor.tables.len();
        }
        batch
    }

    fn event<'e>(&'e self, txn_id: &'e str) -> RowEvent<'e> {
        RowEvent {
            txn_id,
            file: &self.base.file,
            pos: self.base.pos,
            row: 0,
            gtid: None,
            ts_sec: self.ts_sec,
            thread: None,
            query: None,
            server_id: self.server.server_id,
        }
    }

    pub(super) fn record(&self, output: &TableOutput, values: Vec<Value>, marker: Snapshot) -> Result<Record, SourceError> {
        let columns = output.decoder.columns();
        let position = || format!("snapshot of `{}`.`{}`", output.decoder.db(), output.decoder.table());
        let row: ColumnRow = values
            .into_iter()
            .zip(columns)
            .map(|(value, column)| column_value(column, value))
            .collect::<Result<_, _>>()
            .map_err(|source| DefiniteError::SnapshotValue {
                position: position(),
                source,
            })?;
        let event = self.event("");
        self.builder
            .snapshot_record(output, &event, marker, row)
            .map_err(|source| DefiniteError::Encode {
                position: position(),
                source,
            }
            .into())
    }
}

/// A failed statement, classified like every other source error.
pub(super) fn sql_error<'a>(config: &'a MySqlSourceConfig, sql: &'a str) -> impl Fn(mysql_async::Error) -> SourceError + 'a {
    move |e| match classify(e, sql, &config.user, config.server_id) {
        SourceError::Definite(DefiniteError::Query { source, .. }) => DefiniteError::Query {
            query: sql.to_string(),
            source,
        }
        .into(),
        other => other,
    }
}

pub(super) async fn send(out: &mpsc::Sender<Batch>, batch: Batch, last_sent: &mut Option<serde_json::Value>) -> bool {
    let offset = batch.offset.clone();
    if out.send(batch).await.is_err() {
        return false;
    }
    *last_sent = Some(offset);
    true
}

impl Snapshotter<'_> {
    /// `SHOW CREATE TABLE` of each table → schema history entries (and
    /// schema change records with `include.schema.changes`).
    ///
    /// An entry is a function of the position and the DDL only: snapshots
    /// under `snapshot.mode=always` and `recovery` starts write these at
    /// every task start, and the replicated state keeps one of equal
    /// entries, so a start over an unchanged database adds nothing.
    async fn schema_batch(
        &mut self,
        tables: &[(String, String)],
        cursor: Option<&SnapshotCursor>,
    ) -> Result<Batch, SourceError> {
        let mut history = Vec::new();
        let mut records = Vec::new();
        for (db, table) in tables {
            let sql = format!("SHOW CREATE TABLE {}.{}", quote_identifier(db), quote_identifier(table));
            let rows: Vec<(String, String)> = match self.conn.query(&sql).await {
                Ok(rows) => rows,
                // Dropped since it was listed: nothing to record.
                Err(mysql_async::Error::Server(e)) if e.code == 1146 => continue,
                Err(e) => return Err(sql_error(self.encoder.config, &sql)(e)),
            };
            let Some((_, ddl)) = rows.into_iter().next() else { continue };
            history.push(serde_json::json!({
                "database": db,
                "ddl": ddl,
                "file": self.encoder.base.file,
                "pos": self.encoder.base.pos,
                "gtid": serde_json::Value::Null,
                // The position's own binlog time (0 for a snapshot's view,
                // which has none), never the wall clock: see above.
                "ts_sec": self.encoder.base.ts_sec,
                "snapshot": true,
            }));
            if self.encoder.config.include_schema_changes {
                let event = self.encoder.event("");
                // The table as `SHOW CREATE TABLE` declares it (which names
                // its character set, so no database default is needed).
                let mut model = SchemaModel::new(self.encoder.config.include_schema_comments);
                let changes = match model.apply(db, &ddl, &|_: &str, _: &str| true) {
                    Ok(events) => events.into_iter().flat_map(|e| e.changes).collect(),
                    Err(error) => {
                        tracing::warn!(%db, %table, error = %crate::error::error_chain(&error), "snapshot: this table's DDL is not in the table model; its schema change event has no tableChanges");
                        Vec::new()
                    }
                };
                records.push(self.encoder.builder.schema_change_record(db, &ddl, &event, Some(table), &changes));
            }
        }
        let offset = match cursor {
            Some(cursor) => self.encoder.offset(cursor, false),
            None => self.encoder.base.clone(),
        };
        Ok(Batch {
            records,
            offset: offset.to_json(),
            schema_history: history,
            ends_transaction: true,
            snapshot: cursor.map(|c| progress(c, false)),
            signals: Vec::new(),
        })
    }

    /// Reads the cursor's current table to its end (or until the receiver
    /// goes away: `false`), advancing the cursor.
    async fn table(
        &mut self,
        cursor: &mut SnapshotCursor,
        out: &mpsc::Sender<Batch>,
        last_sent: &mut Option<serde_json::Value>,
    ) -> Result<bool, SourceError> {
        let (db, table) = cursor.tables[cursor.table].clone();
        let Some(decoder) = table_decoder(&mut self.conn, &db, &table, self.encoder.server.mariadb).await? else {
            tracing::info!(%db, %table, "snapshot: table no longer exists; skipped");
            self.view_pending = false;
            cursor.next_table();
            return Ok(true);
        };
        let output = self.encoder.builder.table(decoder).map_err(|source| DefiniteError::Encode {
            position: format!("snapshot of `{db}`.`{table}`"),
            source,
        })?;
        let columns = output.decoder.columns();
        let key = chunk_key(&mut self.conn, &db, &table, columns).await?;
        let select = match self.encoder.config.snapshot_select_override(&db, &table) {
            Some(statement) => select_from_override(&output, statement),
            None => select_all(&output),
        };
        let key_names: Vec<String> = key.iter().map(|&i| columns[i].name.clone()).collect();
        let had_key_columns = self.encoder.config.key_columns_for(&db, &table).is_some();
        if !key.is_empty()
            && cursor.last_key.is_some()
            && !cursor_key_matches(cursor.key_columns.as_deref(), &key_names, had_key_columns)
        {
            tracing::warn!(%db, %table, cursor = ?cursor.key_columns, key = ?key_names, rows = cursor.table_rows, "snapshot: the committed cursor is not by the table's chunk key; the table is read again from its start");
            cursor.rows -= cursor.table_rows;
            cursor.table_rows = 0;
            cursor.last_key = None;
        }
        cursor.key_columns = Some(key_names.clone());
        if std::mem::take(&mut self.view_pending) {
            let index = cursor.table;
            settle_view(cursor, index, &key_names, key.is_empty() || exactly_ordered(columns, &key), &db, &table);
        }
        if key.is_empty() {
            tracing::info!(%db, %table, "snapshot: no primary key and no unique NOT NULL key; the table is read in one pass");
            if cursor.table_rows > 0 {
                tracing::warn!(%db, %table, rows = cursor.table_rows, "snapshot: a table without a key is read again from its start");
                cursor.rows -= cursor.table_rows;
                cursor.table_rows = 0;
            }
        }
        let order: Vec<String> = key.iter().map(|&i| quote_identifier(&columns[i].name)).collect();
        // Asked before the scan holds the connection: the view is fixed, so
        // the answer holds at the table's end too.
        let rest_empty = self.rest_is_empty(cursor).await?;
        let Snapshotter { conn, encoder, .. } = self;
        let plan = ScanPlan::new(encoder.config, &select, &key, &order);
        let after = cursor.last_key.clone();
        let mut batches = ChunkBatches {
            encoder,
            output: &output,
            cursor,
            rest_empty,
            out,
            last_sent,
        };
        scan(conn, encoder.config, &plan, after, &mut batches).await
    }

    /// Whether every table after the cursor's is empty (so the current
    /// table's last row is the snapshot's last).
    async fn rest_is_empty(&mut self, cursor: &SnapshotCursor) -> Result<bool, SourceError> {
        for (db, table) in cursor.tables.iter().skip(cursor.table + 1) {
            let sql = format!("SELECT 1 FROM {}.{} LIMIT 1", quote_identifier(db), quote_identifier(table));
            match self.conn.query::<u8, _>(&sql).await {
                Ok(rows) if !rows.is_empty() => return Ok(false),
                Ok(_) => {}
                Err(mysql_async::Error::Server(e)) if e.code == 1146 => {}
                Err(e) => return Err(sql_error(self.encoder.config, &sql)(e)),
            }
        }
        Ok(true)
    }
}

/// The one-connection snapshot's batches: each group of rows is one batch
/// whose cursor ends at the group's last row.
struct ChunkBatches<'s, 'e> {
    encoder: &'s RowEncoder<'e>,
    output: &'s TableOutput,
    cursor: &'s mut SnapshotCursor,
    /// Every later table is empty: the table's last row is the snapshot's.
    rest_empty: bool,
    out: &'s mpsc::Sender<Batch>,
    last_sent: &'s mut Option<serde_json::Value>,
}

impl GroupSink for ChunkBatches<'_, '_> {
    async fn take(&mut self, group: RowGroup) -> Result<bool, SourceError> {
        let cursor = &mut *self.cursor;
        let count = group.rows.len();
        let mut records = Vec::with_capacity(count);
        for (i, values) in group.rows.into_iter().enumerate() {
            let last_in_table = group.ends && i + 1 == count;
            let marker = marker(cursor.rows, cursor.table_rows, last_in_table, self.rest_empty);
            records.push(self.encoder.record(self.output, values, marker)?);
            cursor.rows += 1;
            cursor.table_rows += 1;
        }
        if group.last_key.is_some() {
            cursor.last_key = group.last_key;
        }
        if group.ends {
            cursor.next_table();
        }
        let completed = group.ends && self.rest_empty && count > 0;
        let batch = self.encoder.chunk_batch(cursor, records, completed);
        Ok((count == 0 && !group.ends) || send(self.out, batch, self.last_sent).await)
    }
}

/// `SELECT` of every column of the table, in order.
pub(super) fn select_all(output: &TableOutput) -> String {
    let (db, table) = (output.decoder.db(), output.decoder.table());
    format!(
        "SELECT {} FROM {}.{}",
        output.decoder.columns().iter().map(|c| quote_identifier(&c.name)).collect::<Vec<_>>().join(", "),
        quote_identifier(db),
        quote_identifier(table)
    )
}

/// `snapshot.select.statement.overrides`: every column of the table, in
/// order, from the user's statement as a derived table. The snapshot
/// chunks it by the table's key like the table itself (the statement's
/// rows, read at the same consistent view, in key ranges), so a resumed
/// snapshot stays exact; the statement must return the table's columns
/// by name (e.g. `SELECT * FROM db.t WHERE ...`), or the server refuses
/// the read and the connector stops naming it.
pub(super) fn select_from_override(output: &TableOutput, statement: &str) -> String {
    format!(
        "SELECT {} FROM ({}) AS `snapshot_select_override`",
        output.decoder.columns().iter().map(|c| quote_identifier(&c.name)).collect::<Vec<_>>().join(", "),
        statement.trim().trim_end_matches(';')
    )
}

/// Settles the starting point of the view this run resumed on in table
/// `index` (one in progress at the resume), once its chunk key is known:
/// after the cursor's key (or, if the table is read again from its start,
/// all of it). If the key's order is not known exactly (`ordered`), the
/// table's rows above the cursor keep the earlier view's changes (the old
/// at-least-the-final-state output).
pub(super) fn settle_view(cursor: &mut SnapshotCursor, index: usize, key_names: &[String], ordered: bool, db: &str, table: &str) {
    let after_key = cursor.last_key_of(index);
    let Some(view) = cursor.views.last_mut() else {
        return;
    };
    if view.settle(index, after_key, key_names, ordered) == Some(false) {
        tracing::warn!(%db, %table, key = ?key_names, "snapshot: the chunk key's order depends on a collation raftcdc does not order itself; changes between the views to this table's rows after the cursor are streamed again after their snapshot rows");
    }
}

/// Debezium's `source.snapshot` marker for the next row, after `rows`
/// rows of the snapshot and `table_rows` of its table.
pub(super) fn marker(rows: u64, table_rows: u64, last_in_table: bool, last_overall: bool) -> Snapshot {
    if rows == 0 {
        Snapshot::First
    } else if last_overall && last_in_table {
        Snapshot::Last
    } else if table_rows == 0 {
        Snapshot::FirstInDataCollection
    } else if last_in_table {
        Snapshot::LastInDataCollection
    } else {
        Snapshot::True
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(cursor: Option<SnapshotCursor>) -> SourceOffset {
        let mut offset = SourceOffset::at("bin.000001".into(), 4, None, 1);
        offset.snapshot = cursor;
        offset
    }

    fn cursor() -> SnapshotCursor {
        SnapshotCursor {
            last_key: Some(vec![KeyValue::Int(7), KeyValue::Bytes("6162".into())]),
            rows: 10,
            table_rows: 10,
            key_columns: Some(vec!["a".into(), "b".into()]),
            ..SnapshotCursor::new(vec![("d".into(), "t".into())])
        }
    }

    #[test]
    fn a_cursor_continues_only_by_the_key_it_was_taken_by() {
        let key = ["id".to_string()];
        assert!(cursor_key_matches(Some(&key), &key, true));
        assert!(!cursor_key_matches(Some(&["grp".to_string()]), &key, false));
        // Older cursors: by the primary key unless message.key.columns applied.
        assert!(cursor_key_matches(None, &key, false));
        assert!(!cursor_key_matches(None, &key, true));
        // And they still parse.
        let mut json = offset(Some(cursor())).to_json();
        json["snapshot_cursor"].as_object_mut().unwrap().remove("key_columns");
        assert_eq!(SourceOffset::from_json(&json, true).unwrap().snapshot.unwrap().key_columns, None);
    }

    #[test]
    fn plans_follow_debezium_modes() {
        use SnapshotMode::*;
        assert_eq!(plan(Initial, None, true, false), Plan::Snapshot);
        assert_eq!(plan(NoData, None, true, false), Plan::StreamFromCurrent);
        assert_eq!(plan(Recovery, None, true, false), Plan::StreamFromCurrent);
        assert_eq!(plan(Initial, Some(offset(None)), true, false), Plan::Stream(offset(None)));
        assert_eq!(plan(InitialOnly, Some(offset(None)), true, false), Plan::Idle);
        assert_eq!(plan(Always, Some(offset(None)), true, false), Plan::Snapshot);
        assert_eq!(plan(Always, Some(offset(None)), false, false), Plan::Stream(offset(None)));
        assert_eq!(plan(WhenNeeded, Some(offset(None)), true, true), Plan::Snapshot);
        assert_eq!(plan(WhenNeeded, Some(offset(None)), true, false), Plan::Stream(offset(None)));
        assert_eq!(plan(Initial, Some(offset(Some(cursor()))), false, false), Plan::ResumeSnapshot(offset(Some(cursor()))));
        assert_eq!(plan(NoData, Some(offset(Some(cursor()))), false, false), Plan::Stream(offset(None)));
    }

    #[test]
    fn cursor_round_trips_through_the_offset() {
        let original = offset(Some(cursor()));
        let json = original.to_json();
        assert_eq!(json["snapshot"], true);
        assert_eq!(SourceOffset::from_json(&json, true).unwrap(), original);
        assert_eq!(KeyValue::Bytes("6162".into()).to_value(), Value::Bytes(b"ab".to_vec()));
    }

    #[test]
    fn markers_follow_debezium() {
        let mut c = cursor();
        c.rows = 0;
        c.table_rows = 0;
        assert_eq!(marker(c.rows, c.table_rows, false, false), Snapshot::First);
        c.rows = 5;
        assert_eq!(marker(c.rows, c.table_rows, false, false), Snapshot::FirstInDataCollection);
        c.table_rows = 2;
        assert_eq!(marker(c.rows, c.table_rows, false, false), Snapshot::True);
        assert_eq!(marker(c.rows, c.table_rows, true, false), Snapshot::LastInDataCollection);
        assert_eq!(marker(c.rows, c.table_rows, true, true), Snapshot::Last);
    }
}
