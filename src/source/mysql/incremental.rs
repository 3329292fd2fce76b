//! Incremental (ad-hoc) snapshots: tables read in chunks *while* the
//! binlog keeps streaming, with DBLog's watermark algorithm, and without
//! writing anything to the source database.
//!
//! # The algorithm
//! An operator's request (`raftcdc connector snapshot NAME --tables ...`,
//! recorded through Raft) reaches the running source through a watch
//! channel. Between two source transactions the streaming loop calls
//! [`Incremental::step`], which either opens or closes a chunk window:
//!
//! 1. **Open.** The stream has processed everything up to position `R`.
//!    The next chunk (`WHERE key > last [AND filter] ORDER BY key LIMIT
//!    n`) is read on a side connection, then `SHOW MASTER STATUS` gives the
//!    high watermark `H`. Reading positions replaces DBLog's watermark
//!    writes, so no signal table is needed.
//! 2. **Stream.** Events between `R` and `H` are streamed as usual; the
//!    identity of every row they change in the chunk's table (its chunk
//!    key values, before and after images) is noted
//!    ([`Incremental::observe_rows`]).
//! 3. **Close.** Once the stream reaches `H` (between transactions), the
//!    chunk's rows are emitted (`op: r`, `source.snapshot: incremental`)
//!    *except* those an event in the window touched: for those the stream
//!    already carried a state at least as new as the chunk's (row images
//!    are FULL).
//!
//! The chunk key is the primary key, or a unique NOT NULL index
//! ([`super::table_schema::chunk_key`]): it identifies rows, so chunks
//! continue exactly (`key > last`) and only the rows the stream really
//! touched give way. `message.key.columns` (which need not be unique)
//! only shapes the Kafka key. A table with no such key has no row identity
//! to merge chunk and stream by; it is skipped with a warning.
//!
//! # Why the output is right
//! The chunk's read view lies between `R` and `H`. A change committed
//! before `R` was emitted before the chunk and the chunk row includes it;
//! a change after `R` (even one the view missed) lies in the window, so its
//! key's chunk row is dropped and the stream's event is the latest word.
//! Every emitted chunk row is therefore the key's state at a point no
//! earlier than every streamed event before it, and every later change is
//! streamed after it: the last record of every key is its current row.
//! (A commit the stream had already delivered before `R` but the engine
//! had not yet made visible to the read would escape this; MariaDB and
//! MySQL write the binlog before committing in the engine, so the window
//! between the two is microseconds, and the dump thread sends a group
//! only after writing it. Debezium's signal-table-free "read-only"
//! incremental snapshots share this bound.)
//!
//! # Exactly once, and resume
//! The chunk is emitted as one batch whose offset carries the advanced
//! [`IncrementalCursor`] (the tables, the table being read, the last key);
//! every streaming offset carries the cursor too. So a chunk is in Kafka's
//! committed output exactly when the cursor after it is committed, and a
//! new owner resumes with the next chunk. An open window is not state: it
//! is simply read again after a resume.
//!
//! # Pause, resume, stop
//! A paused request opens no new windows; stop ends the snapshot (the
//! cursor is kept, marked done, so the same request id is never re-run).
//! A new request (a higher id) replaces whatever ran before.
use std::collections::HashSet;
use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::Row;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::config::MySqlSourceConfig;
use super::error::{DefiniteError, SourceError};
use super::position::SourceOffset;
use super::records::RecordBuilder;
use super::column::ColumnValue;
use super::chunk_keys::{chunk_query, cursor_key_matches, display_key, KeyValue};
use super::snapshot::{now_sec, prepare_session, select_all, sql_error, RowEncoder};
use super::table_schema::{chunk_key, column_value, quote_identifier, table_decoder};
use super::validate::{self, ServerInfo};
use crate::envelope::Snapshot;
use crate::signal::{condition_for, whole_match, TableCondition};
use crate::source::{IncrementalRequest, IncrementalState, Record, SnapshotProgress};

/// Rows per incremental chunk (Debezium's `incremental.snapshot.chunk.size`
/// default): small, because the stream waits while a chunk is read.
pub const CHUNK_ROWS: usize = 1024;

/// Where an incremental snapshot stands; lives in every committed offset
/// while one exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncrementalCursor {
    /// The request this cursor serves.
    pub id: u64,
    pub tables: Vec<(String, String)>,
    pub filter: Option<String>,
    /// Index in `tables` of the table being read.
    pub table: usize,
    pub last_key: Option<Vec<KeyValue>>,
    /// The chunk key's columns `last_key` holds values of (see
    /// `snapshot::cursor_key_matches`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_columns: Option<Vec<String>>,
    pub rows: u64,
    /// Completed or stopped.
    pub done: bool,
    /// Per-table conditions of a signal's request (`additional-conditions`):
    /// the first whose pattern matches a table replaces `filter` for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<TableCondition>,
}

impl IncrementalCursor {
    fn progress(&self) -> SnapshotProgress {
        SnapshotProgress {
            tables_total: self.tables.len() as u64,
            tables_done: if self.done { self.tables.len() as u64 } else { self.table as u64 },
            rows_read: self.rows,
            current_table: self.tables.get(self.table).map(|(d, t)| format!("{d}.{t}")).unwrap_or_default(),
            last_key: display_key(self.last_key.as_deref()),
            completed: self.done,
            incremental: true,
        }
    }

    fn advance_table(&mut self) {
        self.table += 1;
        self.last_key = None;
        self.key_columns = None;
        if self.table >= self.tables.len() {
            self.done = true;
        }
    }
}

/// A chunk read, waiting for the stream to reach its high watermark.
struct Window {
    /// The chunk's table, and its chunk key's column names.
    table: (String, String),
    key: Vec<String>,
    high: (String, u64),
    /// `(row identity, record)` per chunk row (see [`row_identity`]).
    rows: Vec<(String, Record)>,
    /// Identities of the rows the stream touched since the chunk was read.
    touched: HashSet<String>,
    last_key: Option<Vec<KeyValue>>,
    table_ends: bool,
}

/// The incremental snapshot side of one streaming connection.
pub struct Incremental {
    config: Arc<MySqlSourceConfig>,
    server: ServerInfo,
    requests: watch::Receiver<Option<IncrementalRequest>>,
    conn: Option<mysql_async::Conn>,
    window: Option<Window>,
}

/// Noted instead of identities when the stream cannot tell which rows it
/// touched (a DDL changed the key columns): the window is dropped and its
/// chunk read again.
pub const WINDOW_INVALID: &str = "*";

/// A row's identity in a window: its chunk key values, as both the binlog
/// decoder and [`column_value`] give them (the same [`ColumnValue`]s for
/// the same stored row), in a hashable form.
pub fn row_identity<'a>(values: impl Iterator<Item = &'a ColumnValue>) -> String {
    format!("{:?}", values.collect::<Vec<_>>())
}

/// Orders binlog positions: file sequence number, then position.
pub(super) fn position_key(file: &str, pos: u64) -> (u64, u64) {
    let sequence = file.rsplit('.').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    (sequence, pos)
}

impl Incremental {
    pub fn new(
        config: Arc<MySqlSourceConfig>,
        server: ServerInfo,
        requests: watch::Receiver<Option<IncrementalRequest>>,
    ) -> Incremental {
        Incremental {
            config,
            server,
            requests,
            conn: None,
            window: None,
        }
    }

    /// Whether the loop should call [`Incremental::step`] even when no
    /// binlog events arrive (a chunk is waiting or can be read).
    pub fn wants_steps(&self, cursor: Option<&IncrementalCursor>) -> bool {
        self.window.is_some()
            || cursor.is_some_and(|c| !c.done)
                && self.requests.borrow().as_ref().is_some_and(|r| r.state == IncrementalState::Running)
            || self.new_request(cursor).is_some()
    }

    /// The open window's table and chunk key columns: the stream reports
    /// the identity ([`row_identity`]) of every row it changes there.
    pub fn watched(&self) -> Option<(&str, &str, &[String])> {
        self.window.as_ref().map(|w| (w.table.0.as_str(), w.table.1.as_str(), w.key.as_slice()))
    }

    /// Notes rows the stream changed in the open window's table.
    pub fn observe_rows(&mut self, identities: impl IntoIterator<Item = String>) {
        if let Some(window) = self.window.as_mut() {
            window.touched.extend(identities);
        }
    }

    /// A request this source has not started yet (cloned only then: this
    /// runs between every two transactions).
    fn new_request(&self, cursor: Option<&IncrementalCursor>) -> Option<IncrementalRequest> {
        let request = self.requests.borrow();
        let request = request.as_ref()?;
        let known = cursor.is_some_and(|c| c.id >= request.id);
        (!known && request.state != IncrementalState::Stopped).then(|| request.clone())
    }

    /// One step between transactions, at stream position `file:pos`.
    /// Updates `cursor` and returns a batch to send (whose offset the
    /// caller builds *after* this returns, so it carries the new cursor),
    /// or `None`.
    pub async fn step(
        &mut self,
        cursor: &mut Option<IncrementalCursor>,
        file: &str,
        pos: u64,
    ) -> Result<Option<(Vec<Record>, SnapshotProgress)>, SourceError> {
        if let Some(request) = self.new_request(cursor.as_ref()) {
            let tables: Vec<(String, String)> = if request.patterns {
                self.matching_tables(&request.tables).await?
            } else {
                request
                    .tables
                    .iter()
                    .filter_map(|t| t.split_once('.'))
                    .map(|(d, t)| (d.to_string(), t.to_string()))
                    .collect()
            };
            tracing::info!(id = request.id, tables = ?tables, "incremental snapshot: starting");
            let started = IncrementalCursor {
                id: request.id,
                filter: request.filter.clone(),
                table: 0,
                last_key: None,
                key_columns: None,
                rows: 0,
                done: tables.is_empty(),
                conditions: request.conditions.clone(),
                tables,
            };
            self.window = None;
            let progress = started.progress();
            *cursor = Some(started);
            return Ok(Some((Vec::new(), progress)));
        }
        let Some(current) = cursor.as_mut().filter(|c| !c.done) else {
            self.window = None;
            return Ok(None);
        };
        let state = self.requests.borrow().as_ref().filter(|r| r.id == current.id).map(|r| r.state);
        if state == Some(IncrementalState::Stopped) {
            tracing::info!(id = current.id, rows = current.rows, "incremental snapshot: stopped");
            current.done = true;
            self.window = None;
            return Ok(Some((Vec::new(), current.progress())));
        }
        if self.window.is_none() {
            if state != Some(IncrementalState::Running) {
                return Ok(None);
            }
            if let Some(skipped) = self.open_window(current, file, pos).await? {
                return Ok(Some(skipped));
            }
        }
        // A window just opened on an idle stream may already be reached.
        Ok(self.close_window(current, file, pos))
    }

    /// Emits the open window's chunk once the stream reached its high
    /// watermark: the rows no streamed event touched meanwhile.
    fn close_window(
        &mut self,
        cursor: &mut IncrementalCursor,
        file: &str,
        pos: u64,
    ) -> Option<(Vec<Record>, SnapshotProgress)> {
        let window = self.window.take_if(|w| position_key(file, pos) >= position_key(&w.high.0, w.high.1))?;
        if window.touched.contains(WINDOW_INVALID) {
            tracing::info!(id = cursor.id, "incremental snapshot: the chunk's key changed while it was open; reading it again");
            return None;
        }
        let records: Vec<Record> = window
            .rows
            .into_iter()
            .filter(|(identity, _)| !window.touched.contains(identity))
            .map(|(_, record)| record)
            .collect();
        cursor.rows += records.len() as u64;
        cursor.last_key = window.last_key;
        if window.table_ends {
            cursor.advance_table();
            if cursor.done {
                tracing::info!(id = cursor.id, rows = cursor.rows, "incremental snapshot: completed");
            }
        }
        Some((records, cursor.progress()))
    }

    /// The side connection chunks are read on (opened on first use).
    async fn connection(&mut self) -> Result<&mut mysql_async::Conn, SourceError> {
        if self.conn.is_none() {
            let mut conn = validate::connect_for_queries(&self.config).await?;
            prepare_session(&mut conn, &self.config).await?;
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("connected"))
    }

    /// The captured tables a signal's `data-collections` patterns match
    /// whole (`db.table`), in the order of the patterns, each once.
    /// Debezium matches them against the tables it captures; so does this.
    async fn matching_tables(&mut self, patterns: &[String]) -> Result<Vec<(String, String)>, SourceError> {
        let sql = "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME";
        let config = self.config.clone();
        let conn = self.connection().await?;
        let all: Vec<(String, String)> = conn.query(sql).await.map_err(sql_error(&config, sql))?;
        let captured: Vec<&(String, String)> = all.iter().filter(|(d, t)| config.filters.captures_table(d, t)).collect();
        let mut tables: Vec<(String, String)> = Vec::new();
        for pattern in patterns {
            // The signal was checked before it was applied; a pattern that
            // does not compile matches nothing.
            let Ok(regex) = whole_match(pattern) else { continue };
            let before = tables.len();
            for (db, table) in &captured {
                let pair = (db.clone(), table.clone());
                if regex.is_match(&format!("{db}.{table}")) && !tables.contains(&pair) {
                    tables.push(pair);
                }
            }
            if tables.len() == before {
                tracing::warn!(%pattern, "incremental snapshot: the data-collection matches no captured table");
            }
        }
        Ok(tables)
    }

    /// Reads the next chunk into a window. Returns a progress batch only
    /// when a table was skipped instead (gone, or without a chunk key).
    async fn open_window(
        &mut self,
        cursor: &mut IncrementalCursor,
        file: &str,
        pos: u64,
    ) -> Result<Option<(Vec<Record>, SnapshotProgress)>, SourceError> {
        self.connection().await?;
        let conn = self.conn.as_mut().expect("connected");
        let (db, table) = cursor.tables[cursor.table].clone();
        // Read per chunk: a DDL between chunks changes what the rows are.
        let decoder = table_decoder(conn, &db, &table, self.server.mariadb).await?;
        let builder = RecordBuilder::new(self.config.clone());
        let Some(decoder) = decoder else {
            tracing::warn!(%db, %table, "incremental snapshot: table does not exist; skipped");
            cursor.advance_table();
            return Ok(Some((Vec::new(), cursor.progress())));
        };
        let output = builder.table(decoder).map_err(|source| DefiniteError::Encode {
            position: format!("incremental snapshot of `{db}`.`{table}`"),
            source,
        })?;
        let columns = output.decoder.columns();
        let key = chunk_key(conn, &db, &table, columns).await?;
        let select = select_all(&output);
        if key.is_empty() {
            tracing::warn!(%db, %table, "incremental snapshot: table has no primary key and no unique NOT NULL key; skipped");
            cursor.advance_table();
            return Ok(Some((Vec::new(), cursor.progress())));
        }
        let key_names: Vec<String> = key.iter().map(|&i| columns[i].name.clone()).collect();
        let had_key_columns = self.config.key_columns_for(&db, &table).is_some();
        if cursor.last_key.is_some() && !cursor_key_matches(cursor.key_columns.as_deref(), &key_names, had_key_columns) {
            tracing::warn!(%db, %table, cursor = ?cursor.key_columns, key = ?key_names, "incremental snapshot: the committed cursor is not by the table's chunk key; the table is read again from its start");
            cursor.last_key = None;
        }
        cursor.key_columns = Some(key_names);
        let order: Vec<String> = key.iter().map(|&i| quote_identifier(&columns[i].name)).collect();
        let filter = condition_for(&cursor.conditions, &format!("{db}.{table}")).or(cursor.filter.as_deref());
        let (sql, params) = chunk_query(&select, &order, cursor.last_key.as_deref(), CHUNK_ROWS, filter);
        let rows: Vec<Row> = conn.exec(&sql, params).await.map_err(sql_error(&self.config, &sql))?;
        let (high_file, high_pos, _) = validate::master_status(conn, &self.config).await?;
        let high = (high_file, high_pos);
        let encoder = RowEncoder {
            config: &self.config,
            server: &self.server,
            builder,
            base: SourceOffset::at(file.to_string(), pos, None, self.server.server_id),
            ts_sec: now_sec(),
        };
        let table_ends = rows.len() < CHUNK_ROWS;
        let mut last_key = cursor.last_key.clone();
        let mut chunk = Vec::with_capacity(rows.len());
        for row in rows {
            let values = row.unwrap();
            last_key = Some(key.iter().map(|&k| KeyValue::from(&values[k])).collect());
            let identity: Vec<ColumnValue> = key
                .iter()
                .map(|&k| column_value(&columns[k], values[k].clone()))
                .collect::<Result<_, _>>()
                .map_err(|source| DefiniteError::SnapshotValue {
                    position: format!("incremental snapshot of `{db}`.`{table}`"),
                    source,
                })?;
            let record = encoder.record(&output, values, Snapshot::Incremental)?;
            chunk.push((row_identity(identity.iter()), record));
        }
        let key = key.iter().map(|&k| columns[k].name.clone()).collect();
        self.window = Some(Window {
            table: (db, table),
            key,
            high,
            rows: chunk,
            touched: HashSet::new(),
            last_key,
            table_ends,
        });
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::mysql::decode::{RawColumn, TableDecoder, T_LONG, T_VARCHAR};

    fn incremental() -> Incremental {
        let config = Arc::new(MySqlSourceConfig::from_properties(&super::super::config::tests::base()).unwrap());
        let server = ServerInfo {
            mariadb: true,
            version: "10.11".into(),
            gtid_enabled: true,
            checksum: true,
            server_id: 1,
        };
        Incremental::new(config, server, watch::channel(None).1)
    }

    fn record(n: u8) -> Record {
        Record { topic: "t".into(), key: Some(b"{\"grp\":1}".to_vec()), value: Some(vec![n]), headers: Vec::new(), schemas: None, layout: None, change_event: false }
    }

    fn cursor() -> IncrementalCursor {
        IncrementalCursor {
            id: 1,
            tables: vec![("d".into(), "t".into())],
            filter: None,
            table: 0,
            last_key: None,
            key_columns: Some(vec!["id".into()]),
            rows: 0,
            done: false,
            conditions: Vec::new(),
        }
    }

    fn window(rows: &[i64], touched: &[String]) -> Window {
        let id = |n: i64| row_identity([ColumnValue::Int(n)].iter());
        Window {
            table: ("d".into(), "t".into()),
            key: vec!["id".into()],
            high: ("bin.000001".into(), 100),
            rows: rows.iter().map(|&n| (id(n), record(n as u8))).collect(),
            touched: touched.iter().cloned().collect(),
            last_key: rows.last().map(|&n| vec![KeyValue::Int(n)]),
            table_ends: false,
        }
    }

    /// Chunk rows share one message key (`grp`) but not their identity:
    /// a streamed change of id 8 makes only id 8's chunk row give way.
    #[test]
    fn a_window_drops_only_the_rows_the_stream_touched() {
        let id = |n: i64| row_identity([ColumnValue::Int(n)].iter());
        let mut incremental = incremental();
        incremental.window = Some(window(&[7, 8, 9], &[]));
        assert_eq!(incremental.watched(), Some(("d", "t", &["id".to_string()][..])));
        incremental.observe_rows([id(8), id(42)]);
        let mut cursor = cursor();
        assert!(incremental.close_window(&mut cursor, "bin.000001", 50).is_none(), "below the high watermark");
        let (records, _) = incremental.close_window(&mut cursor, "bin.000001", 100).unwrap();
        assert_eq!(records, vec![record(7), record(9)]);
        assert_eq!((cursor.rows, cursor.last_key), (2, Some(vec![KeyValue::Int(9)])));

        // A rollback or a key change mid-window: the chunk is read again.
        let mut cursor = self::cursor();
        incremental.window = Some(window(&[7, 8, 9], &[WINDOW_INVALID.to_string()]));
        assert!(incremental.close_window(&mut cursor, "bin.000002", 4).is_none());
        assert!(incremental.window.is_none());
        assert_eq!((cursor.rows, cursor.last_key), (0, None));
    }

    /// A row read with SQL and the same row decoded from the binlog have
    /// one identity.
    #[test]
    fn sql_and_binlog_values_of_a_row_have_one_identity() {
        let column = |name: &str, real_type, meta| RawColumn {
            name: name.into(),
            real_type,
            meta,
            unsigned: false,
            collation: 45,
            members: Vec::new(),
            geometry: None,
            nullable: false,
        };
        let decoder = TableDecoder::from_columns(
            0,
            "d".into(),
            "t".into(),
            vec![column("id", T_LONG, [0, 0]), column("code", T_VARCHAR, [40, 0])],
            vec![0, 1],
        )
        .unwrap();
        let columns = decoder.columns();
        let from_sql = [
            column_value(&columns[0], mysql_async::Value::Int(8)).unwrap(),
            column_value(&columns[1], mysql_async::Value::Bytes(b"ab".to_vec())).unwrap(),
        ];
        let from_binlog = [ColumnValue::Int(8), ColumnValue::Text("ab".into())];
        assert_eq!(row_identity(from_sql.iter()), row_identity(from_binlog.iter()));
    }

    #[test]
    fn binlog_positions_order_by_file_then_offset() {
        assert!(position_key("mysql-bin.000002", 4) > position_key("mysql-bin.000001", 9_000));
        assert!(position_key("mysql-bin.000002", 400) > position_key("mysql-bin.000002", 4));
    }

    #[test]
    fn cursor_progress_counts_tables() {
        let mut cursor = IncrementalCursor {
            id: 1,
            tables: vec![("d".into(), "a".into()), ("d".into(), "b".into())],
            filter: None,
            table: 0,
            last_key: None,
            key_columns: None,
            rows: 0,
            done: false,
            conditions: Vec::new(),
        };
        cursor.advance_table();
        assert_eq!(cursor.progress().current_table, "d.b");
        cursor.advance_table();
        assert!(cursor.done && cursor.progress().completed && cursor.progress().incremental);
    }
}
