//! From decoded rows to Kafka [`Record`]s, following Debezium's MySQL
//! connector event for event:
//!
//! - insert → `c`; update → `u`; delete → `d` followed by a tombstone
//!   (null value, same key, null on a keyless table as Debezium writes
//!   it) when `tombstones.on.delete=true`;
//! - `TRUNCATE` → one `t` record (null key) when `skipped.operations`
//!   allows it, and never a schema change record;
//! - an update that changes the key becomes `d` (old key) + tombstone +
//!   `c` (new key), with Debezium's `__debezium.newkey` /
//!   `__debezium.oldkey` headers, so log compaction keeps the right rows;
//! - `skipped.operations` drops whole operations (default: truncate);
//! - with `provide.transaction.metadata`, a `BEGIN` record precedes the
//!   transaction's first event, every event carries its `transaction`
//!   block, and an `END` record with per-table counts follows the last;
//! - `column.include.list`/`exclude.list` project columns away before
//!   encoding; `message.key.columns` overrides the key;
//! - with `skip.messages.without.change`, an update whose projected row
//!   is the same before and after (only excluded columns changed) emits
//!   nothing, as Debezium compares the value structs before anything else.
//!
//! Records carry Debezium's headers only (the primary-key-change
//! `__debezium.newkey`/`__debezium.oldkey`); change events (rows' and
//! schema changes) are marked [`Record::change_event`] in memory, for the
//! rows metric.
use std::collections::BTreeMap;
use std::sync::Arc;

use super::column::Row;
use super::config::MySqlSourceConfig;
use super::ddl::ModelChange;
use super::decode::{RowChange, TableDecoder};
use crate::envelope::{ConnectorEncoder, EncodeError, Op, Snapshot, SourceInfo, TableEncoder, TransactionInfo};
use crate::source::Record;

/// Everything needed to turn one table's rows into records.
pub struct TableOutput {
    pub decoder: TableDecoder,
    encoder: TableEncoder,
    /// Kept column indices when a column filter applies.
    projection: Option<Vec<usize>>,
}

/// Where a row event sits, for the `source` block and the header.
pub struct RowEvent<'a> {
    pub txn_id: &'a str,
    pub file: &'a str,
    /// Start of the transaction's events (what Debezium reports as `pos`).
    pub pos: u64,
    pub row: u64,
    pub gtid: Option<&'a str>,
    pub ts_sec: u64,
    pub thread: Option<u32>,
    pub query: Option<&'a str>,
    pub server_id: u32,
}

/// Transaction-metadata bookkeeping for the open transaction.
#[derive(Debug, Default, Clone)]
pub struct TxnMeta {
    begin_emitted: bool,
    total: i64,
    per_collection: BTreeMap<String, i64>,
}

impl TxnMeta {
    /// `resumed`: the transaction's BEGIN was delivered before a restart.
    pub fn new(resumed: bool) -> TxnMeta {
        TxnMeta {
            begin_emitted: resumed,
            ..Default::default()
        }
    }

    /// Resumed inside a transaction whose delivered part carried
    /// `collections` events per topic (from the split offset): orders
    /// continue from there, and END counts the whole transaction.
    pub fn resumed_with(collections: &BTreeMap<String, u64>) -> TxnMeta {
        let per_collection: BTreeMap<String, i64> = collections.iter().map(|(t, n)| (t.clone(), *n as i64)).collect();
        let total = per_collection.values().sum();
        TxnMeta {
            begin_emitted: total > 0,
            total,
            per_collection,
        }
    }

    /// Events per topic so far (what a split offset carries).
    pub fn collections(&self) -> BTreeMap<String, u64> {
        self.per_collection.iter().map(|(t, n)| (t.clone(), *n as u64)).collect()
    }
}

/// Builds records for one connector.
pub struct RecordBuilder {
    config: Arc<MySqlSourceConfig>,
    connector: ConnectorEncoder,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl TableOutput {
    /// The table's topic.
    pub fn topic(&self) -> &str {
        self.encoder.topic()
    }
}

impl RecordBuilder {
    pub fn new(config: Arc<MySqlSourceConfig>) -> RecordBuilder {
        let connector = ConnectorEncoder::new(&config.topic_prefix, config.class, config.encoding.clone());
        RecordBuilder { config, connector }
    }

    /// Prepares a captured table's encoder (once per table map).
    pub fn table(&self, decoder: TableDecoder) -> Result<TableOutput, EncodeError> {
        let (db, table) = (decoder.db().to_string(), decoder.table().to_string());
        let columns = decoder.columns();
        let projection: Option<Vec<usize>> = match self.config.filters.columns {
            crate::source::mysql::config::Filter::All => None,
            ref filter => Some(
                columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| filter.allows(&format!("{db}.{table}.{}", c.name)))
                    .map(|(i, _)| i)
                    .collect(),
            ),
        };
        let kept: Vec<_> = match &projection {
            Some(indices) => indices
                .iter()
                .enumerate()
                .map(|(new, &old)| {
                    let mut column = columns[old].clone();
                    column.position = new;
                    column
                })
                .collect(),
            None => columns.to_vec(),
        };
        let key: Option<Vec<usize>> = match self.config.key_columns_for(&db, &table) {
            Some(names) => Some(
                names
                    .iter()
                    .filter_map(|name| kept.iter().position(|c| &c.name == name))
                    .collect(),
            ),
            None => {
                let pk = decoder.primary_key();
                let mapped: Vec<usize> = pk
                    .iter()
                    .filter_map(|old| match &projection {
                        Some(indices) => indices.iter().position(|i| i == old),
                        None => Some(*old),
                    })
                    .collect();
                Some(mapped)
            }
        };
        let encoder = TableEncoder::new(
            &self.config.topic_prefix,
            &db,
            &table,
            &kept,
            key.as_deref(),
            self.config.encoding.clone(),
        )?;
        Ok(TableOutput {
            decoder,
            encoder,
            projection,
        })
    }

    fn source<'a>(&'a self, output: Option<&'a TableOutput>, event: &'a RowEvent<'_>, db: &'a str) -> SourceInfo<'a> {
        SourceInfo {
            connector: self.config.class,
            name: &self.config.topic_prefix,
            ts_ms: 0,
            ts_us: 0,
            ts_ns: 0,
            snapshot: Snapshot::False,
            db,
            sequence: None,
            table: output.map(|o| o.decoder.table()),
            server_id: event.server_id as i64,
            gtid: event.gtid,
            file: event.file,
            pos: event.pos as i64,
            row: event.row as i32,
            thread: event.thread.map(i64::from),
            query: if self.config.include_query { event.query } else { None },
        }
        .with_time_us(event.ts_sec as i64 * 1_000_000)
    }

    fn project(&self, output: &TableOutput, row: Row) -> Row {
        match &output.projection {
            None => row,
            Some(indices) => indices.iter().map(|&i| row[i].clone()).collect(),
        }
    }

    /// Appends the records of one changed row.
    pub fn row_records(
        &self,
        output: &TableOutput,
        event: &RowEvent<'_>,
        change: RowChange,
        meta: &mut TxnMeta,
        out: &mut Vec<Record>,
    ) -> Result<(), EncodeError> {
        let skipped = &self.config.skipped_operations;
        let before = change.before.map(|r| self.project(output, r));
        let after = change.after.map(|r| self.project(output, r));
        match (before, after) {
            (None, Some(after)) if !skipped.create => {
                let key = output.encoder.key(&after)?;
                self.data(output, event, Op::Create, None, Some(&after), key, meta, out, Vec::new())?;
            }
            (Some(before), Some(after)) if !skipped.update => {
                if self.config.skip_messages_without_change && before == after {
                    return Ok(());
                }
                let old_key = output.encoder.key(&before)?;
                let new_key = output.encoder.key(&after)?;
                if output.encoder.has_key() && old_key != new_key {
                    // Debezium: a primary-key change is a delete of the old
                    // key (plus tombstone) and a create of the new one.
                    let header = |key: &Option<Vec<u8>>| output.encoder.key_with_inline_schema(key.as_deref().unwrap_or_default());
                    let new_key_header = ("__debezium.newkey".to_string(), header(&new_key));
                    let old_key_header = ("__debezium.oldkey".to_string(), header(&old_key));
                    self.data(output, event, Op::Delete, Some(&before), None, old_key.clone(), meta, out, vec![new_key_header])?;
                    if self.config.tombstones_on_delete {
                        out.push(Record {
                            topic: output.encoder.topic().to_string(),
                            key: old_key,
                            value: None,
                            headers: Vec::new(),
                            schemas: output.encoder.record_schemas(self.config.class),
                            layout: None,
                            change_event: false,
                        });
                    }
                    self.data(output, event, Op::Create, None, Some(&after), new_key, meta, out, vec![old_key_header])?;
                } else {
                    self.data(output, event, Op::Update, Some(&before), Some(&after), new_key, meta, out, Vec::new())?;
                }
            }
            (Some(before), None) if !skipped.delete => {
                let key = output.encoder.key(&before)?;
                self.data(output, event, Op::Delete, Some(&before), None, key.clone(), meta, out, Vec::new())?;
                // Debezium follows every delete with a tombstone, also on a
                // table without a key (both then have a null key).
                if self.config.tombstones_on_delete {
                    out.push(Record {
                        topic: output.encoder.topic().to_string(),
                        key,
                        value: None,
                        headers: Vec::new(),
                        schemas: output.encoder.record_schemas(self.config.class),
                        layout: None,
                        change_event: false,
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// One data record; `key` is the row's encoded key, which the caller
    /// has already computed (it compares keys for updates).
    #[allow(clippy::too_many_arguments)]
    fn data(
        &self,
        output: &TableOutput,
        event: &RowEvent<'_>,
        op: Op,
        before: Option<&Row>,
        after: Option<&Row>,
        key: Option<Vec<u8>>,
        meta: &mut TxnMeta,
        out: &mut Vec<Record>,
        headers: Vec<(String, Vec<u8>)>,
    ) -> Result<(), EncodeError> {
        let topic = output.encoder.topic();
        let transaction = self.next_in_transaction(topic, event, meta, out);
        let info = transaction.as_ref().map(|(order, collection_order)| TransactionInfo {
            id: event.txn_id,
            total_order: *order,
            data_collection_order: *collection_order,
        });
        let source = self.source(Some(output), event, output.decoder.db());
        let (value, layout) = output.encoder.value_with_layout(op, before, after, &source, now_ms(), info.as_ref())?;
        out.push(Record {
            topic: topic.to_string(),
            key,
            value: Some(value),
            headers,
            schemas: output.encoder.record_schemas(self.config.class),
            layout,
            change_event: true,
        });
        Ok(())
    }

    /// Transaction-metadata orders for the next event (and the BEGIN
    /// record before the first one), when metadata is on.
    fn next_in_transaction(
        &self,
        topic: &str,
        event: &RowEvent<'_>,
        meta: &mut TxnMeta,
        out: &mut Vec<Record>,
    ) -> Option<(i64, i64)> {
        if !self.config.provide_transaction_metadata {
            return None;
        }
        if !meta.begin_emitted {
            meta.begin_emitted = true;
            out.push(Record {
                topic: self.config.transaction_topic(),
                key: Some(self.connector.transaction_key(event.txn_id)),
                value: Some(self.connector.transaction_begin(event.txn_id, event.ts_sec as i64 * 1000)),
                headers: Vec::new(),
                schemas: None,
                layout: None,
                change_event: false,
            });
        }
        meta.total += 1;
        let per = meta.per_collection.entry(topic.to_string()).or_insert(0);
        *per += 1;
        Some((meta.total, *per))
    }

    /// A snapshot read (`op: r`) of one row. Like Debezium's, it carries no
    /// transaction block, and `source.snapshot` says where in the snapshot
    /// the row falls.
    pub fn snapshot_record(
        &self,
        output: &TableOutput,
        event: &RowEvent<'_>,
        marker: Snapshot,
        row: Row,
    ) -> Result<Record, EncodeError> {
        let row = self.project(output, row);
        let key = output.encoder.key(&row)?;
        let mut source = self.source(Some(output), event, output.decoder.db());
        source.snapshot = marker;
        let (value, layout) = output.encoder.value_with_layout(Op::Read, None, Some(&row), &source, now_ms(), None)?;
        Ok(Record {
            topic: output.encoder.topic().to_string(),
            key,
            value: Some(value),
            headers: Vec::new(),
            schemas: output.encoder.record_schemas(self.config.class),
            layout,
            change_event: true,
        })
    }

    /// A truncate event for a table (when `t` is not skipped).
    pub fn truncate_record(
        &self,
        output: &TableOutput,
        event: &RowEvent<'_>,
        meta: &mut TxnMeta,
        out: &mut Vec<Record>,
    ) -> Result<(), EncodeError> {
        if self.config.skipped_operations.truncate {
            return Ok(());
        }
        self.data(output, event, Op::Truncate, None, None, None, meta, out, Vec::new())
    }

    /// A schema change record on the `<topic.prefix>` topic: `table` is
    /// its `source.table`, `changes` its `tableChanges` (see
    /// [`super::ddl`]).
    pub fn schema_change_record<'a>(
        &'a self,
        db: &'a str,
        ddl: &str,
        event: &'a RowEvent<'_>,
        table: Option<&'a str>,
        changes: &[ModelChange],
    ) -> Record {
        let mut source = self.source(None, event, db);
        source.table = table;
        Record {
            topic: self.connector.schema_change_topic(),
            key: Some(self.connector.schema_change_key(db)),
            value: Some(self.connector.schema_change_value_modelled(&source, now_ms(), Some(db), None, Some(ddl), changes)),
            headers: Vec::new(),
            schemas: None,
            layout: None,
            change_event: true,
        }
    }

    /// Closes the transaction: the END record, when BEGIN was emitted.
    pub fn end_transaction(&self, id: &str, ts_sec: u64, meta: &mut TxnMeta, out: &mut Vec<Record>) {
        if !self.config.provide_transaction_metadata || meta.total == 0 {
            return;
        }
        let collections: Vec<(&str, i64)> = meta.per_collection.iter().map(|(t, n)| (t.as_str(), *n)).collect();
        out.push(Record {
            topic: self.config.transaction_topic(),
            key: Some(self.connector.transaction_key(id)),
            value: Some(self.connector.transaction_end(id, ts_sec as i64 * 1000, meta.total, &collections)),
            headers: Vec::new(),
            schemas: None,
            layout: None,
            change_event: false,
        });
    }

    /// A heartbeat record on `__debezium-heartbeat.<topic.prefix>`.
    pub fn heartbeat_record(&self) -> Record {
        Record {
            topic: self.config.heartbeat_topic(),
            key: Some(self.connector.heartbeat_key()),
            value: Some(self.connector.heartbeat_value(now_ms())),
            headers: Vec::new(),
            schemas: None,
            layout: None,
            change_event: false,
        }
    }
}
