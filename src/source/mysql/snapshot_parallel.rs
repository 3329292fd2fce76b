//! The initial snapshot with `snapshot.max.threads` > 1: up to that many
//! tables read at the same time, each over its own connection, all at one
//! consistent view, their chunks merged into the one stream of batches
//! whose offsets commit exactly what has been emitted (see
//! [`super::snapshot`] for the single-threaded snapshot this extends, and
//! [`super::snapshot_cursor`] for the cursor).
//!
//! # One view for every connection
//! [`open_shared_view`] gives `N` connections transactions that all see
//! the same view `P`, and `P`'s binlog position:
//!
//! - **MySQL**, as Debezium does: `FLUSH TABLES WITH READ LOCK` on the
//!   first connection, `START TRANSACTION WITH CONSISTENT SNAPSHOT` on
//!   each, `SHOW MASTER STATUS`, `UNLOCK TABLES`. No transaction commits
//!   while the lock is held, so every view holds exactly the transactions
//!   committed before the lock, and the position read under it is theirs.
//! - **MariaDB**, without a lock first: every connection starts its
//!   consistent snapshot at once and reports `binlog_snapshot_file` /
//!   `binlog_snapshot_position`, the binlog position its view corresponds
//!   to exactly (MariaDB takes the view and the position under its commit
//!   ordering, and a transaction is in the binlog before the position iff
//!   its commit is in the view). Equal positions therefore mean equal
//!   views. If they differ (a commit landed in between), the transactions
//!   are ended and started again, a few times; then the lock is taken as
//!   on MySQL (which needs `RELOAD`). If the server refuses the lock, the
//!   snapshot keeps only the connections whose view equals the first
//!   one's (at least that one: fewer threads, never a second view) and
//!   logs it.
//!
//! Since every row a run emits is read at `P`, everything the
//! single-threaded snapshot proves about one view holds unchanged: each
//! row's `r` record shows every transaction before `P` and none after,
//! streaming starts at the snapshot's first view `P0`, and a run resumed
//! on a new view records it (with every table in flight) for the stream's
//! filter ([`super::snapshot_views`], "Parallel snapshots").
//!
//! # Readers and the merge
//! The tables still to read ([`SnapshotCursor::pending`], in table order,
//! those in flight at a resume first among them by index) form a queue;
//! each connection's reader takes the next table, reads it in chunk-key
//! order exactly as the single-threaded snapshot does (`WHERE key > last
//! ORDER BY key LIMIT n+1`, or one pass for a table without a chunk key;
//! the same scan, [`super::snapshot_scan`]), encodes its rows and sends
//! them, in groups of at most `max.batch.size` rows and an eighth of
//! `max.queue.size.in.bytes` each ending at a resume point, to one merge. So records of one table
//! keep chunk-key order, and tables interleave.
//!
//! The merge is the only place batches are made: for each group it
//! advances the cursor (that table's last key, its rows, whether it
//! ended) and emits the group's records with the cursor *after* them as
//! the batch's offset. A batch's offset therefore describes exactly what
//! has been emitted up to and including it, for every table in flight,
//! and the pipeline commits it with the batch's records in one Kafka
//! transaction, as for the single-threaded snapshot: a chunk is in the
//! committed output together with a cursor past it, or neither is. A new
//! owner reads every table in flight from its own last key, so no chunk
//! is emitted twice or lost (a table without a chunk key is read again
//! from its start, as single-threaded). A reader that fails fails the
//! run (the others stop with it); the next attempt resumes from the
//! committed cursor.
//!
//! # Markers
//! Debezium's `source.snapshot` marker depends on where a row falls in
//! the *emitted* order: `first` on the snapshot's first record, `last` on
//! its very last, `first_in_data_collection` / `last_in_data_collection`
//! on a table's first and last. A reader knows only its table, so it
//! encodes rows that cannot be either of a table's ends as `true`, and
//! hands over the (at most two per table) rows that are a table's first or
//! last unencoded; the merge encodes them with the marker their place in
//! the emitted order gives. The group holding a table's last row is held
//! back until another group with records arrives (then it was not the
//! snapshot's last) or every reader has finished (then it was, and its
//! batch completes the snapshot). Memory: each reader holds the group it
//! is filling (its rows streamed, never a whole chunk), the merge at most
//! one held group plus one group per reader in its channel.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use mysql_async::prelude::Queryable;
use mysql_async::{Row, Value};
use tokio::sync::mpsc;

use super::chunk_keys::{cursor_key_matches, KeyValue};
use super::config::MySqlSourceConfig;
use super::error::{DefiniteError, SourceError, TransientError};
use super::position::SourceOffset;
use super::records::TableOutput;
use super::snapshot::{
    marker, prepare_session, select_all, select_from_override, send, settle_view, view_position, RowEncoder,
};
use super::snapshot_cursor::{PendingTable, SnapshotCursor};
use super::snapshot_scan::{scan, GroupSink, RowGroup, ScanPlan};
use super::snapshot_views::exactly_ordered;
use super::table_schema::{chunk_key, quote_identifier, table_decoder};
use super::validate::{self, ServerInfo};
use crate::envelope::Snapshot;
use crate::source::{AbortOnDrop, Batch, Record};

/// Lock-free tries at one MariaDB view before taking the global read lock.
const LOCK_FREE_TRIES: usize = 5;

/// Opens `connections` connections whose transactions all see one
/// consistent view; returns them (at least one) and the view's position.
pub(super) async fn open_shared_view(
    config: &MySqlSourceConfig,
    server: &ServerInfo,
    connections: usize,
) -> Result<(Vec<mysql_async::Conn>, SourceOffset), SourceError> {
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut conn = validate::connect_for_queries(config).await?;
        prepare_session(&mut conn, config).await?;
        conns.push(conn);
    }
    if server.mariadb {
        for attempt in 1..=LOCK_FREE_TRIES {
            let positions = start_views(&mut conns, config, server.mariadb).await?;
            if positions.iter().all(|p| *p == positions[0]) {
                tracing::info!(connections, attempt, "snapshot: the connections share one view, without a lock");
                let (file, pos) = positions[0].clone();
                let view = validate::offset_at(&mut conns[0], config, server, file, pos, None).await?;
                return Ok((conns, view));
            }
            end_views(&mut conns).await;
        }
    }
    match validate::query::<Row>(&mut conns[0], "FLUSH TABLES WITH READ LOCK", config).await {
        Ok(_) => {}
        Err(SourceError::Definite(error)) if server.mariadb => {
            tracing::warn!(error = %crate::error::error_chain(&error), "snapshot: the connections' views differ under load and the global read lock is refused (RELOAD privilege); reading with the connections that share the first one's view");
            let positions = start_views(&mut conns, config, server.mariadb).await?;
            let mut shared = Vec::new();
            for (conn, position) in conns.into_iter().zip(&positions) {
                if *position == positions[0] {
                    shared.push(conn);
                } else {
                    let _ = conn.disconnect().await;
                }
            }
            let (file, pos) = positions[0].clone();
            let view = validate::offset_at(&mut shared[0], config, server, file, pos, None).await?;
            return Ok((shared, view));
        }
        Err(error) => return Err(error),
    }
    tracing::info!(connections, "snapshot: opening the connections' views under the global read lock");
    let opened = async {
        let positions = start_views(&mut conns, config, server.mariadb).await?;
        if server.mariadb {
            let (file, pos) = positions[0].clone();
            Ok((file, pos, None))
        } else {
            validate::master_status(&mut conns[0], config).await
        }
    }
    .await;
    validate::query::<Row>(&mut conns[0], "UNLOCK TABLES", config).await?;
    let (file, pos, executed) = opened?;
    let view = validate::offset_at(&mut conns[0], config, server, file, pos, executed).await?;
    Ok((conns, view))
}

/// Starts a consistent snapshot on every connection at once; answers each
/// one's view position on MariaDB (nothing on MySQL, which has no
/// per-connection position).
async fn start_views(
    conns: &mut [mysql_async::Conn],
    config: &MySqlSourceConfig,
    mariadb: bool,
) -> Result<Vec<(String, u64)>, SourceError> {
    let starts = conns
        .iter_mut()
        .map(|conn| validate::query::<Row>(conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT", config));
    for started in futures::future::join_all(starts).await {
        started?;
    }
    let mut positions = Vec::with_capacity(conns.len());
    if mariadb {
        for conn in conns.iter_mut() {
            positions.push(view_position(conn, config).await?);
        }
    }
    Ok(positions)
}

async fn end_views(conns: &mut [mysql_async::Conn]) {
    for conn in conns.iter_mut() {
        let _ = conn.query_drop("COMMIT").await;
    }
}

/// A table's start in this run, told with its first group.
struct Opened {
    db: String,
    name: String,
    key_columns: Vec<String>,
    /// The chunk key orders exactly as the server orders it.
    ordered: bool,
    /// The table is read again from its start (its earlier rows leave the
    /// count).
    restarted: bool,
}

/// One row of a group: encoded, or (a table's first or last row) left for
/// the merge to encode with its marker.
enum GroupRow {
    Encoded(Record),
    End { values: Vec<Value>, last_in_table: bool },
}

/// Rows of one table that end at a resume point, as a reader hands them
/// over.
struct Group {
    table: usize,
    output: Option<Arc<TableOutput>>,
    opened: Option<Opened>,
    rows: Vec<GroupRow>,
    /// The table's chunk key after the group (`None`: keyless).
    last_key: Option<Vec<KeyValue>>,
    key_columns: Option<Vec<String>>,
    /// The group holds the table's last rows.
    ends: bool,
}

/// Reads the cursor's pending tables over `conns` (at the view they share)
/// to their end, sending batches to `out`; `false` if the receiver went
/// away. `resumed`: this run opened a new view, the cursor's last.
pub(super) async fn read_tables(
    encoder: &RowEncoder<'_>,
    mut conns: Vec<mysql_async::Conn>,
    cursor: &mut SnapshotCursor,
    resumed: bool,
    out: &mpsc::Sender<Batch>,
    last_sent: &mut Option<serde_json::Value>,
) -> Result<bool, SourceError> {
    let pending = cursor.pending();
    let readers = conns.len().min(pending.len());
    for mut conn in conns.drain(readers..) {
        let _ = conn.query_drop("COMMIT").await;
        let _ = conn.disconnect().await;
    }
    tracing::info!(tables = pending.len(), readers, "snapshot: reading tables in parallel (snapshot.max.threads)");
    let queue = Arc::new(Mutex::new(VecDeque::from(pending)));
    let (tx, mut rx) = mpsc::channel(readers.max(1));
    let _readers: Vec<AbortOnDrop<()>> = conns
        .into_iter()
        .map(|conn| {
            let reader = Reader {
                conn,
                config: encoder.config.clone(),
                server: encoder.server.clone(),
                base: encoder.base.clone(),
                ts_sec: encoder.ts_sec,
                tx: tx.clone(),
            };
            AbortOnDrop(tokio::spawn(reader.run(queue.clone())))
        })
        .collect();
    drop(tx);
    let mut merge = Merge {
        encoder,
        cursor,
        resumed,
        held: None,
    };
    while let Some(group) = rx.recv().await {
        for batch in merge.take(group?)? {
            if !send(out, batch, last_sent).await {
                return Ok(false);
            }
        }
    }
    if let Some(batch) = merge.finish()? {
        if !send(out, batch, last_sent).await {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Turns groups into batches; see the module documentation.
struct Merge<'m, 'e> {
    encoder: &'m RowEncoder<'e>,
    cursor: &'m mut SnapshotCursor,
    resumed: bool,
    /// The group with a table's last row, until it is known whether it is
    /// the snapshot's last.
    held: Option<Group>,
}

impl Merge<'_, '_> {
    /// The batches to emit now for `group`.
    fn take(&mut self, group: Group) -> Result<Vec<Batch>, SourceError> {
        let mut batches = Vec::new();
        let has_rows = !group.rows.is_empty();
        if has_rows {
            if let Some(held) = self.held.take() {
                batches.push(self.apply(held, false)?);
            }
            if group.ends {
                self.held = Some(group);
                return Ok(batches);
            }
        }
        let batch = self.apply(group, false)?;
        // A table's end without rows emits nothing: while a group is held,
        // its batch carries this cursor step too.
        if has_rows || self.held.is_none() {
            batches.push(batch);
        }
        Ok(batches)
    }

    /// Every reader finished: the held group is the snapshot's last.
    fn finish(&mut self) -> Result<Option<Batch>, SourceError> {
        let held_table = self.held.as_ref().map(|g| g.table);
        if let Some(left) = self.cursor.pending().into_iter().find(|p| Some(p.table) != held_table) {
            return Err(TransientError::SnapshotReaderStopped {
                db: left.db,
                table: left.name,
            }
            .into());
        }
        match self.held.take() {
            Some(held) => Ok(Some(self.apply(held, true)?)),
            None => Ok(None),
        }
    }

    /// Advances the cursor past `group` and makes its batch.
    fn apply(&mut self, group: Group, last_overall: bool) -> Result<Batch, SourceError> {
        let table = group.table;
        if let Some(opened) = &group.opened {
            if opened.restarted {
                self.cursor.restart(table);
            }
            if self.resumed {
                settle_view(self.cursor, table, &opened.key_columns, opened.ordered, &opened.db, &opened.name);
            }
        }
        let (rows, table_rows) = (self.cursor.rows, self.cursor.rows_of(table));
        let count = group.rows.len() as u64;
        let mut records = Vec::with_capacity(group.rows.len());
        for (i, row) in group.rows.into_iter().enumerate() {
            records.push(match row {
                GroupRow::Encoded(record) => record,
                GroupRow::End { values, last_in_table } => {
                    let output = group.output.as_deref().expect("a group with rows has its table's output");
                    let marker = marker(rows + i as u64, table_rows + i as u64, last_in_table, last_overall);
                    self.encoder.record(output, values, marker)?
                }
            });
        }
        self.cursor.advance(table, count, group.last_key, group.key_columns, group.ends);
        Ok(self.encoder.chunk_batch(self.cursor, records, last_overall))
    }
}

/// One connection's reader: takes tables off the queue until it is empty.
struct Reader {
    conn: mysql_async::Conn,
    config: Arc<MySqlSourceConfig>,
    server: ServerInfo,
    base: SourceOffset,
    ts_sec: u64,
    tx: mpsc::Sender<Result<Group, SourceError>>,
}

impl Reader {
    async fn run(self, queue: Arc<Mutex<VecDeque<PendingTable>>>) {
        let Reader {
            mut conn,
            config,
            server,
            base,
            ts_sec,
            tx,
        } = self;
        let encoder = RowEncoder::new(&config, &server, base, ts_sec);
        loop {
            let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
            let Some(table) = next else { break };
            match read_table(&mut conn, &encoder, table, &tx).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => {
                    let _ = tx.send(Err(error)).await;
                    return;
                }
            }
        }
        let _ = conn.query_drop("COMMIT").await;
        let _ = conn.disconnect().await;
    }
}

/// Reads one table from where the cursor left it to its end; `false` if
/// the merge went away.
async fn read_table(
    conn: &mut mysql_async::Conn,
    encoder: &RowEncoder<'_>,
    table: PendingTable,
    tx: &mpsc::Sender<Result<Group, SourceError>>,
) -> Result<bool, SourceError> {
    let PendingTable { table: index, db, name, mut last_key, key_columns: stored, rows: mut table_rows } = table;
    let Some(decoder) = table_decoder(conn, &db, &name, encoder.server.mariadb).await? else {
        tracing::info!(%db, table = %name, "snapshot: table no longer exists; skipped");
        let group = Group {
            table: index,
            output: None,
            opened: None,
            rows: Vec::new(),
            last_key: None,
            key_columns: None,
            ends: true,
        };
        return Ok(tx.send(Ok(group)).await.is_ok());
    };
    let output = Arc::new(encoder.builder.table(decoder).map_err(|source| DefiniteError::Encode {
        position: format!("snapshot of `{db}`.`{name}`"),
        source,
    })?);
    let columns = output.decoder.columns();
    let key = chunk_key(conn, &db, &name, columns).await?;
    let select = match encoder.config.snapshot_select_override(&db, &name) {
        Some(statement) => select_from_override(&output, statement),
        None => select_all(&output),
    };
    let key_names: Vec<String> = key.iter().map(|&i| columns[i].name.clone()).collect();
    let had_key_columns = encoder.config.key_columns_for(&db, &name).is_some();
    let mut restarted = false;
    if !key.is_empty() && last_key.is_some() && !cursor_key_matches(stored.as_deref(), &key_names, had_key_columns) {
        tracing::warn!(%db, table = %name, cursor = ?stored, key = ?key_names, rows = table_rows, "snapshot: the committed cursor is not by the table's chunk key; the table is read again from its start");
        restarted = true;
    }
    if key.is_empty() {
        tracing::info!(%db, table = %name, "snapshot: no primary key and no unique NOT NULL key; the table is read in one pass");
        if table_rows > 0 {
            tracing::warn!(%db, table = %name, rows = table_rows, "snapshot: a table without a key is read again from its start");
            restarted = true;
        }
    }
    if restarted {
        last_key = None;
        table_rows = 0;
    }
    let opened = Some(Opened {
        db: db.clone(),
        name: name.clone(),
        key_columns: key_names.clone(),
        ordered: key.is_empty() || exactly_ordered(columns, &key),
        restarted,
    });
    let order: Vec<String> = key.iter().map(|&i| quote_identifier(&columns[i].name)).collect();
    let plan = ScanPlan::new(encoder.config, &select, &key, &order);
    let mut groups = TableGroups {
        encoder,
        index,
        output,
        opened,
        key_columns: key_names,
        table_rows,
        tx,
    };
    scan(conn, encoder.config, &plan, last_key, &mut groups).await
}

/// One reader's groups of one table, for the merge.
struct TableGroups<'g, 'e> {
    encoder: &'g RowEncoder<'e>,
    index: usize,
    output: Arc<TableOutput>,
    /// Told with the first group.
    opened: Option<Opened>,
    key_columns: Vec<String>,
    /// Rows of the table read before this group.
    table_rows: u64,
    tx: &'g mpsc::Sender<Result<Group, SourceError>>,
}

impl GroupSink for TableGroups<'_, '_> {
    async fn take(&mut self, group: RowGroup) -> Result<bool, SourceError> {
        let count = group.rows.len();
        if count == 0 && !group.ends {
            return Ok(true);
        }
        let mut rows = Vec::with_capacity(count);
        for (i, values) in group.rows.into_iter().enumerate() {
            let first = self.table_rows == 0;
            let last_in_table = group.ends && i + 1 == count;
            // A table's first and last rows are left for the merge to
            // encode with their markers.
            rows.push(if first || last_in_table {
                GroupRow::End { values, last_in_table }
            } else {
                GroupRow::Encoded(self.encoder.record(&self.output, values, Snapshot::True)?)
            });
            self.table_rows += 1;
        }
        let group = Group {
            table: self.index,
            output: Some(self.output.clone()),
            opened: self.opened.take(),
            rows,
            last_key: group.last_key,
            key_columns: Some(self.key_columns.clone()),
            ends: group.ends,
        };
        Ok(self.tx.send(Ok(group)).await.is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::mysql::decode::{RawColumn, TableDecoder, T_LONG};
    use crate::source::mysql::records::RecordBuilder;

    fn config() -> Arc<MySqlSourceConfig> {
        let props: std::collections::BTreeMap<String, String> = [
            ("connector.class", "io.debezium.connector.mariadb.MariaDbConnector"),
            ("database.hostname", "db"),
            ("database.user", "cdc"),
            ("database.password", "secret"),
            ("database.server.id", "5401"),
            ("topic.prefix", "p"),
            ("snapshot.max.threads", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Arc::new(MySqlSourceConfig::from_properties(&props).unwrap())
    }

    fn server() -> ServerInfo {
        ServerInfo {
            mariadb: true,
            version: "10.11".into(),
            gtid_enabled: true,
            checksum: true,
            server_id: 1,
        }
    }

    fn output(builder: &RecordBuilder, table: &str) -> Arc<TableOutput> {
        let id = RawColumn {
            name: "id".into(),
            real_type: T_LONG,
            meta: [0, 0],
            unsigned: false,
            collation: 63,
            members: Vec::new(),
            geometry: None,
            nullable: false,
        };
        let decoder = TableDecoder::from_columns(0, "d".into(), table.into(), vec![id], vec![0]).unwrap();
        Arc::new(builder.table(decoder).unwrap())
    }

    /// A group of `ids` of table `index`: the first row left to the merge
    /// if `first`, the last if `ends`, the others encoded as `true`.
    fn group(encoder: &RowEncoder<'_>, output: &Arc<TableOutput>, index: usize, ids: &[i64], first: bool, ends: bool) -> Group {
        let rows = ids
            .iter()
            .enumerate()
            .map(|(i, &id)| {
                let values = vec![Value::Int(id)];
                let last_in_table = ends && i + 1 == ids.len();
                if (first && i == 0) || last_in_table {
                    GroupRow::End { values, last_in_table }
                } else {
                    GroupRow::Encoded(encoder.record(output, values, Snapshot::True).unwrap())
                }
            })
            .collect();
        Group {
            table: index,
            output: Some(output.clone()),
            opened: None,
            rows,
            last_key: ids.last().map(|&id| vec![KeyValue::Int(id)]),
            key_columns: Some(vec!["id".into()]),
            ends,
        }
    }

    fn markers(batch: &Batch) -> Vec<String> {
        batch
            .records
            .iter()
            .map(|r| {
                let value: serde_json::Value = serde_json::from_slice(r.value.as_ref().unwrap()).unwrap();
                let value = if value["payload"].is_object() { value["payload"].clone() } else { value };
                value["source"]["snapshot"].as_str().unwrap().to_string()
            })
            .collect()
    }

    fn cursor_of(batch: &Batch) -> Option<SnapshotCursor> {
        SourceOffset::from_json(&batch.offset, true).unwrap().snapshot
    }

    /// Two tables interleaved, a third empty: each batch's cursor holds
    /// exactly what was emitted, a table's last group waits until it is
    /// known whether it is the snapshot's last, and the markers follow the
    /// emitted order.
    #[test]
    fn groups_merge_into_batches_with_exact_cursors_and_markers() {
        let (config, server) = (config(), server());
        let encoder = RowEncoder::new(&config, &server, SourceOffset::at("bin.000001".into(), 4, None, 1), 0);
        let (a, b) = (output(&encoder.builder, "a"), output(&encoder.builder, "b"));
        let tables = ["a", "b", "c"].iter().map(|t| ("d".to_string(), t.to_string())).collect();
        let mut cursor = SnapshotCursor::new(tables);
        let mut merge = Merge {
            encoder: &encoder,
            cursor: &mut cursor,
            resumed: false,
            held: None,
        };
        // Table b's first group goes out first: `first` is its first row.
        let batches = merge.take(group(&encoder, &b, 1, &[1, 2, 3], true, false)).unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(markers(&batches[0]), ["first", "true", "true"]);
        let after = cursor_of(&batches[0]).unwrap();
        assert_eq!((after.table, after.rows, after.ahead.len()), (0, 3, 1));
        assert_eq!((after.ahead[0].table, after.ahead[0].last_key.clone()), (1, Some(vec![KeyValue::Int(3)])));
        // Table a, whole in one group: held back.
        assert!(merge.take(group(&encoder, &a, 0, &[1, 2], true, true)).unwrap().is_empty());
        // Table c is empty: its end is applied but emits nothing while a
        // group is held.
        let empty = Group {
            table: 2,
            output: None,
            opened: None,
            rows: Vec::new(),
            last_key: None,
            key_columns: Some(vec!["id".into()]),
            ends: true,
        };
        assert!(merge.take(empty).unwrap().is_empty());
        // More of b: a's group goes out first, then b's last is held.
        let batches = merge.take(group(&encoder, &b, 1, &[4, 5], false, true)).unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(markers(&batches[0]), ["first_in_data_collection", "last_in_data_collection"]);
        let after = cursor_of(&batches[0]).unwrap();
        // a and c done, b (3 rows, after key 3) is the lowest unfinished.
        assert_eq!((after.table, after.table_rows, after.last_key.clone(), after.rows), (1, 3, Some(vec![KeyValue::Int(3)]), 5));
        assert_eq!(after.tables_done(), 2);
        // Every reader finished: b's last group completes the snapshot.
        let last = merge.finish().unwrap().unwrap();
        assert_eq!(markers(&last), ["true", "last"]);
        assert!(cursor_of(&last).is_none(), "the last batch's offset is the completed snapshot's");
        assert!(last.snapshot.as_ref().unwrap().completed);
        assert_eq!(last.snapshot.as_ref().unwrap().rows_read, 7);
    }

    /// A cursor resumed with one table left (the others done, this one
    /// after its last committed key): the group with its remaining rows is
    /// the snapshot's last, and its batch commits the completed snapshot.
    #[test]
    fn a_resumed_cursor_with_one_table_left_completes_with_its_last_batch() {
        let (config, server) = (config(), server());
        let encoder = RowEncoder::new(&config, &server, SourceOffset::at("bin.000001".into(), 4, None, 1), 0);
        let b = output(&encoder.builder, "b");
        let tables = ["a", "b", "c"].iter().map(|t| ("d".to_string(), t.to_string())).collect();
        let mut cursor = SnapshotCursor::new(tables);
        let id = || Some(vec!["id".to_string()]);
        cursor.advance(0, 10, Some(vec![KeyValue::Int(10)]), id(), true);
        cursor.advance(2, 4, Some(vec![KeyValue::Int(4)]), id(), true);
        cursor.advance(1, 3, Some(vec![KeyValue::Int(3)]), id(), false);
        let mut resumed = SourceOffset::from_json(&encoder.offset(&cursor, false).to_json(), true).unwrap().snapshot.unwrap();
        assert_eq!(resumed.pending().len(), 1);
        let mut merge = Merge {
            encoder: &encoder,
            cursor: &mut resumed,
            resumed: false,
            held: None,
        };
        assert!(merge.take(group(&encoder, &b, 1, &[4, 5], false, true)).unwrap().is_empty());
        let last = merge.finish().unwrap().unwrap();
        assert_eq!(markers(&last), ["true", "last"]);
        assert!(cursor_of(&last).is_none(), "the last batch's offset is the completed snapshot's");
        let progress = last.snapshot.as_ref().unwrap();
        assert!(progress.completed);
        assert_eq!((progress.tables_done, progress.tables_total, progress.rows_read), (3, 3, 19));
    }

    /// A reader that stopped without finishing its table fails the run
    /// instead of completing the snapshot.
    #[test]
    fn a_table_left_unread_is_not_completed() {
        let (config, server) = (config(), server());
        let encoder = RowEncoder::new(&config, &server, SourceOffset::at("bin.000001".into(), 4, None, 1), 0);
        let a = output(&encoder.builder, "a");
        let mut cursor = SnapshotCursor::new(vec![("d".into(), "a".into()), ("d".into(), "b".into())]);
        let mut merge = Merge {
            encoder: &encoder,
            cursor: &mut cursor,
            resumed: false,
            held: None,
        };
        assert!(merge.take(group(&encoder, &a, 0, &[1], true, true)).unwrap().is_empty());
        let error = merge.finish().unwrap_err();
        assert!(error.to_string().contains("`d`.`b`"), "{error}");
    }
}
