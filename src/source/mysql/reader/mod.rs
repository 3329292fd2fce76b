//! The binlog reader: events, one at a time, into [`Batch`]es with exact
//! offsets; the transaction being read, split, rolled back or ended.
//!
//! # What it tracks, and why the offsets are exact
//! The reader keeps the binlog file and the end position of the last event,
//! the GTID state of every *fully* processed transaction, and the open
//! transaction: where it began (file/position of its GTID or BEGIN event),
//! its GTID, and how many rows events and rows of it were already handed
//! over. From these it derives two kinds of offset (see
//! [`super::position`]):
//!
//! - at a commit (XID, `COMMIT`, or the end of a standalone DDL), the
//!   boundary offset: the next event's position and the GTID state
//!   including this transaction;
//! - inside a transaction that fills `max.batch.size` records or
//!   [`MySqlSourceConfig::batch_bytes`] bytes of them, the split offset
//!   (an XA transaction is never split: one that fills `max.batch.size`
//!   is refused, and bytes do not count for it):
//!   the transaction's start, the GTID state *before* it, and the number of
//!   rows events and rows already handed over.
//!
//! A batch is sent only after every record of it was built, and its offset
//! covers exactly those records, so resuming from any batch's offset
//! continues with the first record not in it. On resume, the first
//! transaction is re-read from its start and the first `event` rows events
//! and `row` rows are skipped. The split offset also carries the
//! transaction metadata already emitted (`transaction_id`, events per
//! topic), so `total_order`, `data_collection_order` and END continue.
//!
//! # Compressed events
//! MariaDB's compressed query and rows events are inflated into the plain
//! events they stand for ([`super::compressed`]) and read at their own
//! positions. MySQL's TRANSACTION_PAYLOAD is followed in the stream by the
//! events it holds (mysql_async decompresses them); they are read at the
//! payload's position, so the commit's offset is the payload's end, and a
//! split offset is the transaction's GTID event before it, as ever.
//!
//! # What happened, and only that
//! Every event type is read, skipped as bookkeeping, or refused with a
//! definite error that names it and the setting to change
//! ([`super::events`]): skipping an event that carries or ends rows would
//! lose or invent changes. A group that ends in `ROLLBACK` (MariaDB and
//! MySQL write one when a transaction that touched a temporary table rolls
//! back) is dropped; rows between `SAVEPOINT` and `ROLLBACK TO` that the
//! binlog holds are taken back out. In row format such rows are always of
//! transactional tables: non-transactional changes are written as their
//! own committed groups (measured on MariaDB 10.11). Two-phase XA
//! (XA_PREPARE, its commit in a later group) is refused. A rollback that
//! reaches into a part already handed over (a split transaction) is a
//! definite error, never silent.
//!
//! # Rows events that cannot be processed
//! A rows event is taken whole or not at all (module `rows`): its rows are
//! encoded into the open transaction, and the split batches inside it are
//! handed over, only once every row of it was encoded. One that cannot be
//! processed (see [`super::event_failure`]) leaves the transaction as it
//! was and stops the source, or is skipped and counted in every later
//! offset, as `event.processing.failure.handling.mode` says.
//!
//! # Transactions of filtered GTID sources
//! `gtid.source.includes`/`excludes` (with `gtid.source.filter.dml.events`,
//! as in Debezium) decide at a transaction's GTID event whether its rows
//! events are emitted; one left out has its rows events passed over
//! unread (no records, no signals, no incremental snapshot notes), while
//! its DDL (schema history, schema change events, TRUNCATE) is processed
//! and its GTID and end position still advance the offset. The decision
//! depends on the GTID and the configuration only, and the event index
//! still counts the passed-over events, so a reader resuming from any
//! committed offset passes over exactly the same events.
//!
//! # Schemas come from the binlog itself
//! Rows are decoded with the TABLE_MAP event that precedes them in the same
//! transaction; with `binlog_row_metadata=FULL` it carries the column
//! names, types, signedness, charsets, ENUM/SET values and the primary key
//! *as of that event*. Events from before an `ALTER TABLE` are therefore
//! decoded with the schema they were written with, never with today's
//! information_schema. DDL statements are still recorded (schema history,
//! schema change topic), for consumers and for the record.
mod rows;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use mysql_common::binlog::events::{Event, EventData};
use serde_json::Value;

use super::config::MySqlSourceConfig;
use super::ddl::{DdlEvent, SchemaModel};
use super::decode::TableDecoder;
use super::error::{DefiniteError, SourceError};
use super::event_failure::SkippedEvents;
use super::events::*;
use super::incremental::{row_identity, IncrementalCursor};
use super::position::{GtidState, SourceOffset, TxnProgress};
use super::records::{RecordBuilder, RowEvent, TableOutput, TxnMeta};
use super::snapshot_views::ViewFilter;
use super::table_schema::{refine, Refinement};
use super::validate::ServerInfo;
use crate::signal::ReceivedSignal;
use crate::source::{Batch, Record};

/// The transaction being read.
struct Txn {
    /// Debezium's transaction id: the GTID, or `file:pos` without GTIDs.
    id: String,
    start_file: String,
    start_pos: u64,
    gtid: Option<TxnGtid>,
    rows_events: u64,
    rows_in_event: u64,
    thread: Option<u32>,
    query: Option<String>,
    records: Vec<Record>,
    schema_history: Vec<Value>,
    meta: TxnMeta,
    /// Resume skip for this transaction: rows events, then rows.
    skip: (u64, u64),
    /// Parts of this transaction already handed over (split batches).
    parts_sent: u64,
    /// Bytes of the row records gathered since the last part was handed
    /// over ([`Record::bytes`]): a part is also cut at
    /// [`MySqlSourceConfig::batch_bytes`].
    part_bytes: usize,
    /// MySQL's `XA START` began it: it may end in a (refused) XA_PREPARE,
    /// so it is never split.
    xa: bool,
    /// Open savepoints, oldest first.
    savepoints: Vec<Savepoint>,
    /// Signals inserted into the signal table in this transaction, not
    /// handed over yet.
    signals: Vec<ReceivedSignal>,
    /// Rows events of it skipped ([`super::event_failure`]): its commit
    /// then hands over a batch, so the offset with the count is committed.
    skipped_events: u64,
    /// Its GTID's source is left out by `gtid.source.includes`/`excludes`
    /// (with `gtid.source.filter.dml.events`): its rows events are passed
    /// over, its DDL is not (see [`MySqlSourceConfig::emits_dml_of`]).
    dml_filtered: bool,
}

/// What `ROLLBACK TO SAVEPOINT` returns the open transaction to.
struct Savepoint {
    /// Lowercase, without backticks (savepoint names are case-insensitive).
    name: String,
    records: usize,
    schema_history: usize,
    meta: TxnMeta,
    parts_sent: u64,
    /// Set while the transaction was still skipping what a previous run
    /// delivered: rolling back to it would take back delivered rows.
    before_resume_point: bool,
}

#[derive(Clone)]
enum TxnGtid {
    MariaDb { domain: u32, server: u32, seq: u64 },
    MySql { uuid: String, gno: u64 },
}

impl TxnGtid {
    fn text(&self) -> String {
        match self {
            TxnGtid::MariaDb { domain, server, seq } => format!("{domain}-{server}-{seq}"),
            TxnGtid::MySql { uuid, gno } => format!("{uuid}:{gno}"),
        }
    }

    /// What `gtid.source.includes`/`excludes` match, as Debezium forms it:
    /// MariaDB `<domain_id>-<server_id>` (`0-1` for `0-1-42`), MySQL the
    /// source UUID (the part of `uuid:5` before the colon).
    fn source(&self) -> String {
        match self {
            TxnGtid::MariaDb { domain, server, .. } => format!("{domain}-{server}"),
            TxnGtid::MySql { uuid, .. } => uuid.clone(),
        }
    }
}

/// The streaming loop's state.
pub(super) struct Reader {
    config: Arc<MySqlSourceConfig>,
    server: ServerInfo,
    builder: RecordBuilder,
    pub(super) file: String,
    pub(super) pos: u64,
    gtids: Option<GtidState>,
    fde_seen: bool,
    txn: Option<Txn>,
    resume_skip: Option<(u64, u64)>,
    tables: HashMap<u64, TableSlot>,
    /// Last table output per `db.table`, for TRUNCATE (no table map).
    by_name: HashMap<(String, String), Arc<TableOutput>>,
    last_progress: Instant,
    last_heartbeat: Instant,
    ts_sec: u64,
    /// Column types only the DDL knows, per table (MariaDB); cleared by
    /// every DDL statement.
    pub(super) refined: HashMap<(String, String), Vec<(String, Refinement)>>,
    /// The incremental snapshot's cursor, carried in every offset.
    pub(super) incremental: Option<IncrementalCursor>,
    /// The resume offset's transaction metadata, for the first transaction.
    resume_transaction: Option<TxnProgress>,
    /// The table of an open incremental snapshot window, whose changed
    /// rows' identities the window needs.
    pub(super) watch: Option<Watch>,
    /// A resumed initial snapshot's views, until the stream passes them:
    /// changes its rows already show are not emitted again.
    views: Option<ViewFilter>,
    /// Inside a TRANSACTION_PAYLOAD: its start and end position.
    payload: Option<(u64, u64)>,
    /// The captured tables as their DDL declares them, for schema change
    /// events' `tableChanges` ([`super::ddl`]); shared with the source so
    /// it outlives a reconnect.
    pub(super) schema_model: Arc<std::sync::Mutex<SchemaModel>>,
    /// The rows events skipped up to here, carried in every offset
    /// ([`super::event_failure`]).
    skipped: SkippedEvents,
}

/// See [`Reader::watch`].
pub(super) struct Watch {
    db: String,
    table: String,
    key: Vec<String>,
    pub(super) touched: Vec<String>,
}

struct TableSlot {
    raw: Vec<u8>,
    /// Set for captured tables and for the signal table.
    output: Option<Arc<TableOutput>>,
    /// The include lists capture it: its rows are emitted.
    captured: bool,
    /// It is `signal.data.collection`: inserted rows are signals.
    signal: bool,
    /// Its table map could not be read, and the failure mode skips its
    /// rows events: `db.table` and why.
    unreadable: Option<(String, String)>,
}

impl Reader {
    /// A reader starting at `offset` (a transaction boundary, or inside a
    /// split transaction).
    pub(super) fn new(config: Arc<MySqlSourceConfig>, server: ServerInfo, offset: &SourceOffset) -> Reader {
        let config_comments = config.include_schema_comments;
        Reader {
            builder: RecordBuilder::new(config.clone()),
            config,
            file: offset.file.clone(),
            pos: offset.pos,
            gtids: offset.gtids.clone(),
            fde_seen: false,
            txn: None,
            resume_skip: (offset.event > 0 || offset.row > 0).then_some((offset.event, offset.row)),
            tables: HashMap::new(),
            by_name: HashMap::new(),
            last_progress: Instant::now(),
            last_heartbeat: Instant::now(),
            ts_sec: offset.ts_sec,
            refined: HashMap::new(),
            incremental: offset.incremental.clone(),
            resume_transaction: offset.transaction.clone(),
            watch: None,
            views: offset.views.clone().map(|views| ViewFilter::new(views, server.mariadb)),
            payload: None,
            schema_model: Arc::new(std::sync::Mutex::new(SchemaModel::new(config_comments))),
            skipped: offset.skipped.clone().unwrap_or_default(),
            server,
        }
    }

    /// Between transactions (where an incremental snapshot can step).
    pub(super) fn between_transactions(&self) -> bool {
        self.txn.is_none()
    }

    pub(super) fn position(&self) -> String {
        format!("{}:{}", self.file, self.pos)
    }

    pub(super) fn boundary_offset(&self) -> Value {
        SourceOffset {
            file: self.file.clone(),
            pos: self.pos,
            gtids: self.gtids.clone(),
            event: 0,
            row: 0,
            server_id: self.server.server_id,
            ts_sec: self.ts_sec,
            snapshot: None,
            incremental: self.incremental.clone(),
            transaction: None,
            views: self.views.as_ref().map(|f| f.views().clone()),
            skipped: self.skipped_so_far(),
        }
        .to_json()
    }

    /// The skipped events an offset carries (none until one was skipped).
    fn skipped_so_far(&self) -> Option<SkippedEvents> {
        (self.skipped.count > 0).then(|| self.skipped.clone())
    }

    /// Handles one event; returns the batches it completes. A MariaDB
    /// compressed event is read as the plain event it compresses
    /// ([`super::compressed`]), at the compressed event's position.
    pub(super) fn handle(&mut self, event: &Event) -> Result<Vec<Batch>, SourceError> {
        let header = event.header();
        let event_type = header.event_type_raw();
        let end_pos = header.log_pos() as u64;
        let start_pos = end_pos.saturating_sub(header.event_size() as u64);
        if let Some((payload_start, payload_end)) = self.payload {
            // Inside a TRANSACTION_PAYLOAD: its events are at its place.
            if !is_payload_content(event_type) {
                return Err(DefiniteError::UnterminatedPayload {
                    position: format!("{}:{payload_start}", self.file),
                }
                .into());
            }
            let batches = self.handle_at(event, payload_start, payload_end)?;
            if self.txn.is_none() {
                self.payload = None;
            }
            return Ok(batches);
        }
        if event_type == TRANSACTION_PAYLOAD_EVENT {
            return self.payload_frame(event, start_pos, end_pos);
        }
        match event_class(event_type) {
            EventClass::Compressed => {
                let plain = super::compressed::uncompress_mariadb(event).map_err(|source| DefiniteError::Parse {
                    position: format!("{}:{start_pos}", self.file),
                    source,
                })?;
                self.handle_at(&plain, start_pos, end_pos)
            }
            _ => self.handle_at(event, start_pos, end_pos),
        }
    }

    /// MySQL's TRANSACTION_PAYLOAD (`binlog_transaction_compression=ON`):
    /// mysql_async's stream hands over the events it holds right after it
    /// (decompressed), so this checks the frame and reads those events at
    /// its position until their transaction ends. Its GTID event comes
    /// before it, outside; a payload that ends without its commit, or that
    /// cannot be decompressed (mysql_async then yields nothing of it), is a
    /// definite error at the next event, never skipped.
    fn payload_frame(&mut self, event: &Event, start_pos: u64, end_pos: u64) -> Result<Vec<Batch>, SourceError> {
        use mysql_common::binlog::consts::TransactionPayloadCompressionType as Compression;
        let position = format!("{}:{start_pos}", self.file);
        let payload: mysql_common::binlog::events::TransactionPayloadEvent<'_> = event
            .read_event()
            .map_err(|source| DefiniteError::Parse { position: position.clone(), source })?;
        match payload.algorithm() {
            Compression::ZSTD | Compression::NONE => {}
        }
        if self.txn.is_none() {
            // A payload without a GTID event before it (anonymous GTIDs
            // only have one too): its BEGIN opens the transaction here.
            self.begin(start_pos, None)?;
        }
        self.payload = Some((start_pos, end_pos));
        Ok(Vec::new())
    }

    /// Handles `event`, which spans `start_pos..end_pos` of the binlog.
    fn handle_at(&mut self, event: &Event, start_pos: u64, end_pos: u64) -> Result<Vec<Batch>, SourceError> {
        let header = event.header();
        let event_type = header.event_type_raw();
        if header.timestamp() > 0 {
            self.ts_sec = header.timestamp() as u64;
        }
        let mut batches = Vec::new();
        match event_class(event_type) {
            EventClass::Read | EventClass::Skipped => {}
            EventClass::Compressed | EventClass::Refused => {
                return Err(refused(event_type, format!("{}:{start_pos}", self.file)))
            }
        }
        match event_type {
            ROTATE_EVENT => {
                let data = self.read(event)?;
                if let Some(EventData::RotateEvent(rotate)) = data {
                    let mut name = rotate.name_raw().to_vec();
                    // The first, fake ROTATE precedes the format description,
                    // so its payload still ends with the 4 checksum bytes.
                    if !self.fde_seen && self.server.checksum && name.len() > 4 {
                        name.truncate(name.len() - 4);
                    }
                    self.file = String::from_utf8_lossy(&name).into_owned();
                    self.pos = rotate.position();
                }
                return Ok(batches);
            }
            FORMAT_DESCRIPTION_EVENT => self.fde_seen = true,
            MARIADB_GTID_EVENT => {
                let data = event.data();
                if data.len() >= 13 {
                    let seq = u64::from_le_bytes(data[0..8].try_into().expect("8 bytes"));
                    let domain = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes"));
                    // data[12] holds flags; FL_STANDALONE marks DDL, which
                    // ends its transaction by itself (see QUERY below).
                    // FL_PREPARED_XA starts the first group of a two-phase
                    // XA transaction: refused here, before any part of it
                    // could be handed over.
                    if data[12] & MARIADB_FL_PREPARED_XA != 0 {
                        return Err(refused(XA_PREPARE_EVENT, format!("{}:{start_pos}", self.file)));
                    }
                    self.begin(start_pos, Some(TxnGtid::MariaDb { domain, server: header.server_id(), seq }))?;
                }
            }
            MYSQL_GTID_EVENT => {
                if let Some(EventData::GtidEvent(gtid)) = self.read(event)? {
                    let uuid = format_uuid(&gtid.sid());
                    self.begin(start_pos, Some(TxnGtid::MySql { uuid, gno: gtid.gno() }))?;
                }
            }
            MYSQL_ANONYMOUS_GTID_EVENT => self.begin(start_pos, None)?,
            MARIADB_ANNOTATE_ROWS_EVENT if self.config.include_query => {
                let text = String::from_utf8_lossy(event.data()).into_owned();
                if let Some(txn) = self.txn.as_mut() {
                    txn.query = Some(text);
                }
            }
            QUERY_EVENT => {
                if let Some(EventData::QueryEvent(query)) = self.read(event)? {
                    let sql = query.query().into_owned();
                    let schema = query.schema().into_owned();
                    let thread = query.thread_id();
                    match sql.trim().to_ascii_uppercase().as_str() {
                        "BEGIN" => {
                            if self.txn.is_none() {
                                self.begin(start_pos, None)?;
                            }
                            if let Some(txn) = self.txn.as_mut() {
                                txn.thread = Some(thread);
                            }
                        }
                        // COMMIT; or `XA COMMIT`/`XA ROLLBACK`, MariaDB's
                        // second group of a two-phase XA transaction
                        // (reached only from an offset set past its refused
                        // XA PREPARE): a group without rows.
                        s if s == "COMMIT" || is_xa_end_of_group(s) => {
                            self.pos = end_pos;
                            batches.extend(self.commit());
                            return Ok(batches);
                        }
                        "ROLLBACK" => {
                            self.pos = end_pos;
                            batches.extend(self.roll_back(start_pos)?);
                            return Ok(batches);
                        }
                        s if s.starts_with("XA START") || s.starts_with("XA BEGIN") => {
                            if let Some(txn) = self.txn.as_mut() {
                                txn.xa = true;
                            }
                        }
                        _ if self.txn.is_some() && savepoint_statement(&sql).is_some() => {
                            let statement = savepoint_statement(&sql).expect("just matched");
                            self.savepoint(statement, start_pos)?;
                        }
                        _ if is_transaction_noise(&sql) => {}
                        _ => {
                            // DDL: it commits implicitly, so it ends its
                            // transaction (MariaDB flags it standalone).
                            if self.txn.is_none() {
                                self.begin(start_pos, None)?;
                            }
                            self.pos = end_pos;
                            self.ddl(&schema, &sql, thread, start_pos)?;
                            batches.extend(self.commit());
                            return Ok(batches);
                        }
                    }
                }
            }
            TABLE_MAP_EVENT => {
                if self.known_table_map(event.data()) {
                    // The same map as before: its decoder is cached.
                } else if let Some(EventData::TableMapEvent(tme)) = self.read(event)? {
                    let table_id = tme.table_id();
                    let raw = event.data();
                    let db = tme.database_name().into_owned();
                    let table = tme.table_name().into_owned();
                    let captured = self.config.filters.captures_table(&db, &table);
                    let signal = self.config.signal_table.as_ref().is_some_and(|(d, t)| *d == db && *t == table);
                    let mut unreadable = None;
                    let output = if captured || signal {
                        match self.table_output(&tme, start_pos)? {
                            Ok(output) => {
                                let output = Arc::new(output);
                                if captured {
                                    self.by_name.insert((db, table), output.clone());
                                }
                                Some(output)
                            }
                            Err(reason) => {
                                unreadable = Some((format!("{db}.{table}"), reason));
                                None
                            }
                        }
                    } else {
                        None
                    };
                    self.tables.insert(table_id, TableSlot { raw: raw.to_vec(), output, captured, signal, unreadable });
                }
            }
            t if is_rows_event(t) => {
                if self.txn.is_none() {
                    // Rows without a GTID/BEGIN (resume mid-file); treat the
                    // event itself as the transaction start.
                    self.begin(start_pos, None)?;
                }
                self.rows(event, start_pos, &mut batches)?;
            }
            XID_EVENT => {
                self.pos = end_pos;
                batches.extend(self.commit());
                return Ok(batches);
            }
            _ => {}
        }
        if end_pos > 0 && self.txn.is_none() {
            self.pos = end_pos;
        }
        if self.txn.is_none() {
            batches.extend(self.idle_progress());
        }
        Ok(batches)
    }

    /// For a new table map of a captured MariaDB table whose DDL-only
    /// types are not known yet: the table to look up.
    pub(super) fn needs_refinement(&self, event: &Event) -> Option<(String, String)> {
        if !self.server.mariadb || event.header().event_type_raw() != TABLE_MAP_EVENT {
            return None;
        }
        if self.known_table_map(event.data()) {
            return None;
        }
        let Ok(Some(EventData::TableMapEvent(tme))) = event.read_data() else { return None };
        let key = (tme.database_name().into_owned(), tme.table_name().into_owned());
        (self.config.filters.captures_table(&key.0, &key.1) && !self.refined.contains_key(&key)).then_some(key)
    }

    /// Whether a TABLE_MAP event's body is byte for byte the one cached
    /// for its table id, checked without parsing the event: the table id is
    /// the body's first 6 bytes (little-endian; every server since 5.1
    /// writes 6-byte ids). Servers repeat the map before every rows event,
    /// so this is the common case.
    fn known_table_map(&self, data: &[u8]) -> bool {
        let Some(id) = data.get(..6) else { return false };
        let mut bytes = [0u8; 8];
        bytes[..6].copy_from_slice(id);
        self.tables
            .get(&u64::from_le_bytes(bytes))
            .is_some_and(|slot| slot.raw == data)
    }

    fn refine(&self, decoder: &mut TableDecoder) {
        let key = (decoder.db().to_string(), decoder.table().to_string());
        if let Some(refined) = self.refined.get(&key) {
            refine(decoder, refined);
        }
    }

    fn read<'e>(&self, event: &'e Event) -> Result<Option<EventData<'e>>, SourceError> {
        event.read_data().map_err(|source| {
            DefiniteError::Parse {
                position: self.position(),
                source,
            }
            .into()
        })
    }

    fn begin(&mut self, start_pos: u64, gtid: Option<TxnGtid>) -> Result<(), SourceError> {
        if let Some(open) = &self.txn {
            // A group that never ended. One without rows (MariaDB's
            // `XA COMMIT` group, say) loses nothing; one with rows would
            // lose them silently, so it stops the source instead.
            if open.rows_events > 0 || !open.records.is_empty() || !open.schema_history.is_empty() || open.parts_sent > 0 {
                return Err(DefiniteError::UnterminatedTransaction {
                    id: open.id.clone(),
                    position: format!("{}:{start_pos}", self.file),
                }
                .into());
            }
        }
        let skip = self.resume_skip.take().unwrap_or((0, 0));
        let id = gtid
            .as_ref()
            .map(TxnGtid::text)
            .unwrap_or_else(|| format!("{}:{start_pos}", self.file));
        let dml_filtered = gtid.as_ref().is_some_and(|gtid| !self.config.emits_dml_of(&gtid.source()));
        // A split offset says how much transaction metadata its part
        // carried, so orders and END continue as if never interrupted.
        let resumed = self.resume_transaction.take().filter(|_| skip != (0, 0));
        let meta = match resumed {
            Some(progress) if progress.id == id => TxnMeta::resumed_with(&progress.collections),
            // Offsets written before they carried the counts.
            _ => TxnMeta::new(skip != (0, 0)),
        };
        self.txn = Some(Txn {
            id,
            start_file: self.file.clone(),
            start_pos,
            gtid,
            rows_events: 0,
            rows_in_event: 0,
            thread: None,
            query: None,
            records: Vec::new(),
            schema_history: Vec::new(),
            meta,
            skip,
            parts_sent: 0,
            part_bytes: 0,
            xa: false,
            savepoints: Vec::new(),
            signals: Vec::new(),
            skipped_events: 0,
            dml_filtered,
        });
        Ok(())
    }

    /// A group that ends in `ROLLBACK`. MariaDB and MySQL write one when
    /// a transaction that cannot be rolled back safely in the binlog (it
    /// created or dropped a temporary table, for one) rolls back: its rows
    /// are in the group, but none of them happened. In row format every
    /// rows event in such a group is of a transactional table (changes to
    /// non-transactional tables go to the statement cache and are written
    /// as their own committed group, measured on MariaDB 10.11), so the
    /// whole group is dropped; its GTID still counts as processed.
    fn roll_back(&mut self, start_pos: u64) -> Result<Option<Batch>, SourceError> {
        let Some(txn) = self.txn.as_mut() else { return Ok(None) };
        if txn.parts_sent > 0 || txn.skip != (0, 0) {
            return Err(DefiniteError::RolledBackAfterDelivery {
                id: txn.id.clone(),
                position: format!("{}:{start_pos}", self.file),
            }
            .into());
        }
        if txn.rows_events > 0 {
            tracing::info!(id = %txn.id, rows_events = txn.rows_events, position = %format!("{}:{start_pos}", self.file), "source: a rolled-back transaction's rows are in the binlog; not emitted");
        }
        txn.records.clear();
        txn.schema_history.clear();
        txn.signals.clear();
        txn.meta = TxnMeta::new(false);
        self.invalidate_window();
        Ok(self.commit())
    }

    /// `SAVEPOINT`, `ROLLBACK TO SAVEPOINT`, `RELEASE SAVEPOINT` inside
    /// the open transaction. MariaDB writes the rows between a savepoint
    /// and its rollback when a non-transactional change came in between;
    /// they did not happen, so they are taken back out.
    fn savepoint(&mut self, statement: SavepointStatement, start_pos: u64) -> Result<(), SourceError> {
        let txn = self.txn.as_mut().expect("a transaction is open");
        match statement {
            SavepointStatement::Set(name) => {
                txn.savepoints.retain(|s| s.name != name);
                let before_resume_point = txn.rows_events < txn.skip.0 || (txn.rows_events == txn.skip.0 && txn.skip.1 > 0);
                txn.savepoints.push(Savepoint {
                    name,
                    records: txn.records.len(),
                    schema_history: txn.schema_history.len(),
                    meta: txn.meta.clone(),
                    parts_sent: txn.parts_sent,
                    before_resume_point,
                });
            }
            SavepointStatement::Release(name) => {
                if let Some(i) = txn.savepoints.iter().rposition(|s| s.name == name) {
                    txn.savepoints.truncate(i);
                }
            }
            SavepointStatement::RollbackTo(name) => {
                let Some(i) = txn.savepoints.iter().rposition(|s| s.name == name) else {
                    return Ok(());
                };
                txn.savepoints.truncate(i + 1);
                let mark = &txn.savepoints[i];
                if mark.parts_sent != txn.parts_sent || mark.before_resume_point {
                    return Err(DefiniteError::RolledBackAfterDelivery {
                        id: txn.id.clone(),
                        position: format!("{}:{start_pos}", self.file),
                    }
                    .into());
                }
                if txn.records.len() > mark.records {
                    tracing::info!(id = %txn.id, savepoint = %name, records = txn.records.len() - mark.records, "source: rows rolled back to a savepoint are in the binlog; not emitted");
                }
                txn.records.truncate(mark.records);
                txn.schema_history.truncate(mark.schema_history);
                txn.meta = mark.meta.clone();
                self.invalidate_window();
            }
        }
        Ok(())
    }

    /// Rows the stream noted for an incremental snapshot window may have
    /// been rolled back: the window's chunk is read again.
    fn invalidate_window(&mut self) {
        if let Some(watch) = self.watch.as_mut() {
            watch.touched.push(super::incremental::WINDOW_INVALID.to_string());
        }
    }

    fn ddl(&mut self, schema: &str, sql: &str, thread: u32, start_pos: u64) -> Result<(), SourceError> {
        self.refined.clear();
        let (events, unparsed) = self.model_ddl(schema, sql, start_pos);
        let txn = self.txn.as_mut().expect("a transaction is open");
        let gtid = txn.gtid.is_some().then_some(txn.id.as_str());
        let mut entry = serde_json::json!({
            "database": schema,
            "ddl": sql,
            "file": self.file,
            "pos": start_pos,
            "gtid": gtid,
            "ts_sec": self.ts_sec,
        });
        if let Some(error) = unparsed {
            // Shown by `connector status` (see `super::ddl`).
            entry["unparsed"] = Value::String(error);
        }
        txn.schema_history.push(entry);
        let event = RowEvent {
            txn_id: &txn.id,
            file: &self.file,
            pos: start_pos,
            row: 0,
            gtid,
            ts_sec: self.ts_sec,
            thread: Some(thread),
            query: Some(sql),
            server_id: self.server.server_id,
        };
        let truncated = truncated_table(schema, sql);
        if let Some((db, table)) = truncated.clone() {
            if let Some(output) = self.by_name.get(&(db, table)).cloned() {
                self.builder
                    .truncate_record(&output, &event, &mut txn.meta, &mut txn.records)
                    .map_err(|source| DefiniteError::Encode {
                        position: format!("{}:{start_pos}", self.file),
                        source,
                    })?;
            }
        }
        // A TRUNCATE is a data event (`op: t`) for Debezium, never a
        // schema change record.
        if self.config.include_schema_changes && !is_transaction_noise(sql) && truncated.is_none() {
            for ddl_event in &events {
                let ddl = ddl_event.ddl.as_deref().unwrap_or(sql);
                let table = ddl_event.source_table.as_deref();
                txn.records.push(self.builder.schema_change_record(schema, ddl, &event, table, &ddl_event.changes));
            }
        }
        Ok(())
    }

    /// Applies a DDL statement to the table model: its schema change
    /// events, and why it did not apply, if it did not. A statement the
    /// parser cannot read is still one event, with no `tableChanges`.
    fn model_ddl(&self, schema: &str, sql: &str, start_pos: u64) -> (Vec<DdlEvent>, Option<String>) {
        let filters = &self.config.filters;
        let captures = |db: &str, table: &str| filters.captures_table(db, table);
        let applied = self.schema_model.lock().map_err(|_| "the schema model is poisoned".to_string()).and_then(|mut model| {
            model.apply(schema, sql, &captures).map_err(|e| crate::error::error_chain(&e))
        });
        match applied {
            Ok(events) => (events, None),
            Err(error) => {
                // Only statements that may touch captured tables are
                // worth a warning (grants and the like are not).
                let concerned = schema.is_empty() || filters.databases.allows(schema);
                if concerned {
                    tracing::warn!(position = %format!("{}:{start_pos}", self.file), ddl = %sql, %error, "source: this DDL is not in the table model; its schema change event has no tableChanges");
                }
                let unparsed = concerned.then(|| format!("{}:{start_pos}: {error}", self.file));
                (vec![DdlEvent { ddl: None, changes: Vec::new(), source_table: None }], unparsed)
            }
        }
    }

    /// Ends the open transaction; returns its last batch, if it has one.
    fn commit(&mut self) -> Option<Batch> {
        let mut txn = self.txn.take()?;
        if let Some(gtid) = &txn.gtid {
            match (gtid, self.gtids.get_or_insert_with(|| default_gtids(self.server.mariadb))) {
                (TxnGtid::MariaDb { domain, server, seq }, GtidState::MariaDb(list)) => list.advance(*domain, *server, *seq),
                (TxnGtid::MySql { uuid, gno }, GtidState::MySql(set)) => set.add(uuid, *gno),
                _ => {}
            }
        }
        if self.views.as_ref().is_some_and(|f| f.passed(&self.file, self.pos, self.gtids.as_ref())) {
            tracing::info!(position = %self.position(), "source: the stream passed every view of the resumed snapshot; all changes are emitted from here");
            self.views = None;
        }
        self.builder.end_transaction(&txn.id, self.ts_sec, &mut txn.meta, &mut txn.records);
        if txn.records.is_empty() && txn.schema_history.is_empty() && txn.signals.is_empty() && txn.skipped_events == 0 {
            return self.idle_progress();
        }
        self.last_progress = Instant::now();
        Some(Batch {
            records: txn.records,
            offset: self.boundary_offset(),
            schema_history: txn.schema_history,
            ends_transaction: true,
            snapshot: None,
            signals: txn.signals,
        })
    }

    /// Between transactions: a heartbeat record every `heartbeat.interval.ms`,
    /// and an empty progress batch at most every `poll.interval.ms` so the
    /// offset keeps up with traffic on tables that are not captured.
    fn idle_progress(&mut self) -> Option<Batch> {
        if let Some(interval) = self.config.heartbeat_interval {
            if self.last_heartbeat.elapsed() >= interval {
                self.last_heartbeat = Instant::now();
                self.last_progress = Instant::now();
                let offset = self.boundary_offset();
                return Some(Batch {
                    records: vec![self.builder.heartbeat_record()],
                    offset,
                    schema_history: Vec::new(),
                    ends_transaction: true,
                    snapshot: None,
                    signals: Vec::new(),
                });
            }
        }
        if self.last_progress.elapsed() >= self.config.poll_interval {
            self.last_progress = Instant::now();
            return Some(Batch {
                records: Vec::new(),
                offset: self.boundary_offset(),
                schema_history: Vec::new(),
                ends_transaction: true,
                snapshot: None,
                signals: Vec::new(),
            });
        }
        None
    }
}

impl Watch {
    pub(super) fn new(db: &str, table: &str, key: &[String]) -> Watch {
        Watch {
            db: db.to_string(),
            table: table.to_string(),
            key: key.to_vec(),
            touched: Vec::new(),
        }
    }

    /// Notes the identities of the rows `changes` touch (both images: a
    /// key change touches the old row and the new one).
    fn note(&mut self, decoder: &TableDecoder, changes: &[super::decode::RowChange]) {
        let columns = decoder.columns();
        let positions: Vec<usize> = self
            .key
            .iter()
            .filter_map(|name| columns.iter().position(|c| &c.name == name))
            .collect();
        if positions.len() != self.key.len() {
            // A DDL renamed or dropped a key column mid-window: the chunk
            // is read again rather than merged by a key that changed.
            self.touched.push(super::incremental::WINDOW_INVALID.to_string());
            return;
        }
        for change in changes {
            for row in [&change.before, &change.after].into_iter().flatten() {
                self.touched.push(row_identity(positions.iter().map(|&i| &row[i])));
            }
        }
    }
}

fn default_gtids(mariadb: bool) -> GtidState {
    if mariadb {
        GtidState::MariaDb(Default::default())
    } else {
        GtidState::MySql(Default::default())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mysql_common::binlog::consts::BinlogVersion;
    use mysql_common::binlog::events::FormatDescriptionEvent;

    /// A reader of a MySQL server, between transactions.
    fn new_reader() -> Reader {
        let config = Arc::new(MySqlSourceConfig::from_properties(&super::super::config::tests::base()).unwrap());
        Reader {
            builder: RecordBuilder::new(config.clone()),
            config,
            server: ServerInfo {
                mariadb: false,
                version: "8.0.36".into(),
                gtid_enabled: false,
                checksum: false,
                server_id: 1,
            },
            file: "binlog.000001".into(),
            pos: 4,
            gtids: None,
            fde_seen: true,
            txn: None,
            resume_skip: None,
            tables: HashMap::new(),
            by_name: HashMap::new(),
            last_progress: Instant::now(),
            last_heartbeat: Instant::now(),
            ts_sec: 0,
            refined: HashMap::new(),
            incremental: None,
            resume_transaction: None,
            watch: None,
            views: None,
            payload: None,
            schema_model: Default::default(),
            skipped: SkippedEvents::default(),
        }
    }

    /// A v4 event of `event_type` ending at `log_pos`, byte by byte: the
    /// 19-byte header (timestamp, type, server id, size, next position,
    /// flags) and `body`.
    pub(crate) fn event(event_type: u8, log_pos: u32, body: &[u8]) -> Event {
        let mut bytes = Vec::new();
        bytes.extend(1_700_000_000u32.to_le_bytes());
        bytes.push(event_type);
        bytes.extend(1u32.to_le_bytes());
        bytes.extend(((19 + body.len()) as u32).to_le_bytes());
        bytes.extend(log_pos.to_le_bytes());
        bytes.extend(0u16.to_le_bytes());
        bytes.extend(body);
        Event::read(&FormatDescriptionEvent::new(BinlogVersion::Version4), &bytes[..]).unwrap()
    }

    /// A QUERY event body: the 13-byte post-header, no status variables,
    /// the default database `db` and the statement.
    pub(crate) fn query_body(db: &str, sql: &str) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(7u32.to_le_bytes()); // thread id
        body.extend(0u32.to_le_bytes()); // exec time
        body.push(db.len() as u8); // database name length
        body.extend(0u16.to_le_bytes()); // error code
        body.extend(0u16.to_le_bytes()); // status variables length
        body.extend(db.as_bytes());
        body.push(0);
        body.extend(sql.as_bytes());
        body
    }

    /// A QUERY event in database `d`.
    fn query(log_pos: u32, sql: &str) -> Event {
        event(QUERY_EVENT, log_pos, &query_body("d", sql))
    }

    fn refused(result: Result<Vec<Batch>, SourceError>) -> Option<(u8, &'static str)> {
        match result {
            Err(SourceError::Definite(DefiniteError::UnsupportedEvent { event_type, name, .. })) => Some((event_type, name)),
            _ => None,
        }
    }

    /// MySQL-only events (no MySQL server can be installed here, so they
    /// are built byte by byte): XA_PREPARE (38), PARTIAL_UPDATE_ROWS (39)
    /// and TRANSACTION_PAYLOAD (40) stop the source with a definite error
    /// naming the event and the setting, inside a transaction or not.
    /// Before, they fell through a catch-all, and the next GTID replaced
    /// the open transaction with its rows.
    #[test]
    fn events_that_cannot_be_decoded_exactly_are_refused() {
        for (event_type, name, remedy) in [
            (38u8, "XA_PREPARE", "ONE PHASE"),
            (39, "PARTIAL_UPDATE_ROWS", "binlog_row_value_options"),
            (42, "GTID_TAGGED", "tagged GTIDs"),
            (26, "INCIDENT", "snapshot"),
            (200, "UNKNOWN", "report"),
        ] {
            let mut reader = new_reader();
            reader.handle(&event(MYSQL_ANONYMOUS_GTID_EVENT, 200, &[0; 42])).unwrap();
            assert!(reader.txn.is_some());
            let result = reader.handle(&event(event_type, 300, &[0; 20]));
            let error = match &result {
                Err(SourceError::Definite(error)) => error.remedy(),
                other => panic!("type {event_type}: {other:?}"),
            };
            assert_eq!(refused(result), Some((event_type, name)));
            assert!(error.contains(remedy), "{name}: {error}");
            // Between transactions too.
            assert_eq!(refused(new_reader().handle(&event(event_type, 300, &[0; 20]))), Some((event_type, name)));
        }
        // Bookkeeping events pass.
        for event_type in [35u8, 36, 41, 161, 163] {
            assert!(new_reader().handle(&event(event_type, 300, &[0; 20])).is_ok(), "type {event_type}");
        }
        // A compressed event whose block is not one is a definite error.
        assert!(matches!(
            new_reader().handle(&event(169, 300, &[0; 20])),
            Err(SourceError::Definite(DefiniteError::Parse { .. }))
        ));
    }

    /// MySQL's documented TRANSACTION_PAYLOAD body: header fields as
    /// (type, length, value), each a length-encoded integer (1 payload
    /// size, 2 compression type, 3 uncompressed size), the end mark 0, then
    /// the payload: the transaction's events, zstd-compressed (type 0) or
    /// as they are (type 255).
    fn payload_body(events: &[u8], zstd: bool) -> Vec<u8> {
        fn lenenc(out: &mut Vec<u8>, n: u64) {
            match n {
                0..=250 => out.push(n as u8),
                251..=0xFFFF => {
                    out.push(252);
                    out.extend((n as u16).to_le_bytes());
                }
                _ => {
                    out.push(254);
                    out.extend(n.to_le_bytes());
                }
            }
        }
        let payload = if zstd { zstd::encode_all(events, 3).unwrap() } else { events.to_vec() };
        let mut body = Vec::new();
        for (field, value) in [(1u64, payload.len() as u64), (2, if zstd { 0 } else { 255 }), (3, events.len() as u64)] {
            let mut encoded = Vec::new();
            lenenc(&mut encoded, value);
            lenenc(&mut body, field);
            lenenc(&mut body, encoded.len() as u64);
            body.extend(encoded);
        }
        body.push(0);
        body.extend(payload);
        body
    }

    /// The bytes of a v4 event without a checksum, as inside a payload.
    fn event_bytes(event_type: u8, body: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend(1_700_000_000u32.to_le_bytes());
        bytes.push(event_type);
        bytes.extend(1u32.to_le_bytes());
        bytes.extend(((19 + body.len()) as u32).to_le_bytes());
        bytes.extend(0u32.to_le_bytes());
        bytes.extend(0u16.to_le_bytes());
        bytes.extend(body);
        bytes
    }

    /// The events one transaction's payload holds: BEGIN, the map of
    /// `shop.things (id INT NOT NULL)`, a v2 insert of `id`s, the XID.
    fn transaction_events(ids: &[i32]) -> Vec<u8> {
        let begin = query_body("shop", "BEGIN");
        let map = super::super::decode::tests::table_map_body("shop", "things", &[(3, vec![], false, "id")], &[(8, vec![1, 0])]);
        let rows: Vec<u8> = ids.iter().flat_map(|id| [vec![0u8], id.to_le_bytes().to_vec()].concat()).collect();
        let insert = super::super::decode::tests::rows_event_body(1, 1, &[true], true, &rows);
        [
            event_bytes(QUERY_EVENT, &begin),
            event_bytes(TABLE_MAP_EVENT, &map),
            event_bytes(30, &insert),
            event_bytes(XID_EVENT, &9u64.to_le_bytes()),
        ]
        .concat()
    }

    /// What mysql_async's stream does with a payload: the events it holds,
    /// decompressed, one by one.
    fn expand(payload: &Event) -> Vec<Event> {
        use mysql_common::binlog::events::TransactionPayloadEvent;
        use std::io::Read;
        let tpe: TransactionPayloadEvent<'_> = payload.read_event().unwrap();
        let mut bytes = Vec::new();
        tpe.decompressed().unwrap().read_to_end(&mut bytes).unwrap();
        let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
        let mut events = Vec::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            events.push(Event::read(&fde, &mut rest).unwrap());
        }
        events
    }

    /// A signal table the include lists do not capture is still read:
    /// each inserted row becomes a signal in its transaction's batch, with
    /// its place in the binlog as identity, and no change record.
    #[test]
    fn an_uncaptured_signal_table_yields_signals_and_no_records() {
        let mut props = super::super::config::tests::base();
        props.insert("table.include.list".into(), "shop.other".into());
        props.insert("signal.data.collection".into(), "shop.things".into());
        let mut reader = new_reader();
        reader.config = Arc::new(MySqlSourceConfig::from_properties(&props).unwrap());
        reader.builder = RecordBuilder::new(reader.config.clone());
        let bytes = transaction_events(&[5, 6]);
        let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
        let mut rest = &bytes[..];
        let mut batches = Vec::new();
        while !rest.is_empty() {
            batches.extend(reader.handle(&Event::read(&fde, &mut rest).unwrap()).unwrap());
        }
        assert!(batches.iter().all(|b| b.records.iter().all(|r| r.topic != "dbserver1.shop.things")));
        let signals: Vec<&crate::signal::ReceivedSignal> = batches.iter().flat_map(|b| &b.signals).collect();
        let origins: Vec<String> = signals.iter().map(|s| s.origin.describe()).collect();
        assert_eq!(origins.len(), 2, "{origins:?}");
        assert!(origins[0].starts_with("source signal \"5\" at binlog.000001:") && origins[0].ends_with("/0/0"), "{origins:?}");
        assert!(origins[1].starts_with("source signal \"6\"") && origins[1].ends_with("/0/1"), "{origins:?}");
        // The table has no type column: a warning, not an action.
        assert!(matches!(signals[0].action, Some(crate::signal::SignalAction::Refused { .. })));
        assert!(batches.last().unwrap().ends_transaction);
    }

    /// A MySQL 8.0.20+ compressed transaction (built from the documented
    /// format: no MySQL server can run here) is read like the plain one:
    /// its rows, committed at the payload's end; uncompressed payloads too.
    /// A payload whose transaction does not end before the next GTID (as
    /// when mysql_async cannot decompress it and yields nothing of it) is a
    /// definite error, not a silent loss.
    #[test]
    fn transaction_payloads_are_read_at_their_position() {
        for zstd in [true, false] {
            let mut reader = new_reader();
            reader.handle(&event(MYSQL_ANONYMOUS_GTID_EVENT, 200, &[0; 42])).unwrap();
            let payload = event(TRANSACTION_PAYLOAD_EVENT, 900, &payload_body(&transaction_events(&[5, 6]), zstd));
            let mut batches = reader.handle(&payload).unwrap();
            for inner in expand(&payload) {
                batches.extend(reader.handle(&inner).unwrap());
            }
            let records: Vec<&Record> = batches.iter().flat_map(|b| &b.records).filter(|r| r.topic == "dbserver1.shop.things").collect();
            let ids: Vec<i64> = records
                .iter()
                .map(|r| serde_json::from_slice::<Value>(r.value.as_ref().unwrap()).unwrap()["payload"]["after"]["id"].as_i64().unwrap())
                .collect();
            assert_eq!(ids, [5, 6], "zstd {zstd}");
            let last = batches.last().unwrap();
            assert!(last.ends_transaction);
            assert_eq!(last.offset["pos"], 900, "the commit is at the payload's end");
            assert!(reader.payload.is_none() && reader.txn.is_none());
        }
        let mut reader = new_reader();
        reader.handle(&event(MYSQL_ANONYMOUS_GTID_EVENT, 200, &[0; 42])).unwrap();
        reader.handle(&event(TRANSACTION_PAYLOAD_EVENT, 900, &payload_body(&transaction_events(&[5]), true))).unwrap();
        assert!(matches!(
            reader.handle(&event(MYSQL_ANONYMOUS_GTID_EVENT, 1000, &[0; 42])),
            Err(SourceError::Definite(DefiniteError::UnterminatedPayload { .. }))
        ));
    }

    /// A transaction with rows that never ended stops the source instead
    /// of being replaced by the next one; one without rows (MariaDB's
    /// `XA COMMIT` group) is not an error.
    #[test]
    fn an_open_transaction_with_rows_is_never_replaced() {
        let mut reader = new_reader();
        reader.handle(&event(MYSQL_ANONYMOUS_GTID_EVENT, 200, &[0; 42])).unwrap();
        reader.handle(&event(MYSQL_ANONYMOUS_GTID_EVENT, 300, &[0; 42])).unwrap();
        reader.txn.as_mut().unwrap().rows_events = 1;
        assert!(matches!(
            reader.handle(&event(MYSQL_ANONYMOUS_GTID_EVENT, 400, &[0; 42])),
            Err(SourceError::Definite(DefiniteError::UnterminatedTransaction { .. }))
        ));
        let mut reader = new_reader();
        reader.handle(&event(MYSQL_ANONYMOUS_GTID_EVENT, 200, &[0; 42])).unwrap();
        reader.handle(&query(300, "XA COMMIT X'7831',X'',1")).unwrap();
        assert!(reader.txn.is_none(), "XA COMMIT ends its group");
        // MySQL's XA START marks the transaction: it is never split.
        reader.handle(&event(MYSQL_ANONYMOUS_GTID_EVENT, 400, &[0; 42])).unwrap();
        reader.handle(&query(450, "XA START X'7832',X'',1")).unwrap();
        assert!(reader.txn.as_ref().unwrap().xa);
    }


    /// Records after a savepoint are taken back by `ROLLBACK TO`; once a
    /// part of the transaction was handed over past the savepoint, the
    /// rollback is a definite error instead.
    #[test]
    fn rollback_to_savepoint_takes_back_what_followed_it() {
        let record = |n: u8| Record { topic: "t".into(), key: Some(vec![n]), value: Some(vec![n]), headers: Vec::new(), schemas: None, layout: None, change_event: false };
        let mut reader = new_reader();
        reader.handle(&event(MYSQL_ANONYMOUS_GTID_EVENT, 200, &[0; 42])).unwrap();
        reader.handle(&query(250, "BEGIN")).unwrap();
        reader.txn.as_mut().unwrap().records.push(record(1));
        reader.handle(&query(300, "SAVEPOINT `s`")).unwrap();
        reader.txn.as_mut().unwrap().records.push(record(2));
        reader.handle(&query(350, "ROLLBACK TO `s`")).unwrap();
        assert_eq!(reader.txn.as_ref().unwrap().records, vec![record(1)]);
        reader.txn.as_mut().unwrap().parts_sent = 1;
        assert!(matches!(
            reader.handle(&query(400, "ROLLBACK TO `s`")),
            Err(SourceError::Definite(DefiniteError::RolledBackAfterDelivery { .. }))
        ));
        // A whole-group ROLLBACK drops the rows and ends the group.
        let mut reader = new_reader();
        reader.handle(&event(MYSQL_ANONYMOUS_GTID_EVENT, 200, &[0; 42])).unwrap();
        reader.txn.as_mut().unwrap().records.push(record(1));
        reader.txn.as_mut().unwrap().rows_events = 1;
        let batches = reader.handle(&query(300, "ROLLBACK")).unwrap();
        assert!(reader.txn.is_none());
        assert!(batches.iter().all(|b| b.records.is_empty()), "{batches:?}");
    }


}
