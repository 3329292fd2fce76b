//! Debezium-compatible JSON encoding of change events.
//!
//! This module owns every byte raftcdc writes to Kafka *as a message*: the
//! keys and values of data-change events (topic `<prefix>.<db>.<table>`),
//! tombstones, schema-change events (topic `<prefix>`), transaction
//! metadata (`<prefix>.transaction`) and heartbeats
//! (`__debezium-heartbeat.<prefix>`). The goal is that a consumer cannot
//! tell them apart from what Debezium's MySQL (or MariaDB) connector,
//! serialized by Kafka Connect's `JsonConverter`, would have produced.
//!
//! # Which Debezium
//!
//! The shape followed is Debezium **3.6.1.Final** ([`DEBEZIUM_VERSION`],
//! also written as `source.version`): its `SchemaFactory`,
//! `BinlogSourceInfoStructMaker`, `Envelope`, `TableSchemaBuilder`,
//! `JdbcValueConverters`/`BinlogValueConverters`, `ConnectTableChangeSerializer`,
//! `AbstractTransactionStructMaker` and `HeartbeatImpl`, plus Kafka's
//! `JsonConverter` (with its defaults: `schemas.enable=true`,
//! `decimal.format=BASE64`, `replace.null.with.default=true`). User-facing
//! reference: <https://debezium.io/documentation/reference/stable/connectors/mysql.html>
//! (data change events, data type mappings, transaction metadata,
//! schema change topic) and the MariaDB connector page.
//!
//! # Why it is correct
//!
//! Each piece is derived from the code that produces Debezium's output and
//! pinned by golden tests:
//! - [`schema`]: Connect schemas and `JsonConverter`'s schema JSON (key
//!   order `type, fields|items, optional, name, version, doc, parameters,
//!   default, field`);
//! - [`value`]: the column type mapping and every value conversion,
//!   including zero dates, `YEAR 0000`, ENUM/SET, BIT byte order, binary
//!   modes and DECIMAL's unscaled two's complement;
//! - [`json`]: Jackson's string escaping and Java's number formatting;
//! - `name_adjustment`: `schema.name.adjustment.mode` and
//!   `field.name.adjustment.mode` (Avro-valid schema and field names);
//! - `options`: the properties that shape the output, and their defaults;
//! - this file: the envelope (`before, after, source, transaction, op,
//!   ts_ms, ts_us, ts_ns`), the key, and the `source` block.
//!
//! # Why it is fast
//!
//! [`TableEncoder::new`] does all per-table work once: it maps each column
//! to a field plan, pre-escapes the field names and serializes the key and
//! envelope schemas to bytes. Encoding a row then appends bytes to one
//! `Vec<u8>`: no JSON tree, no per-row schema work, no allocation beyond the
//! output buffer (see the `encode_benchmark` test).
//!
//! For a connector with transforms (schemas by reference), the encoder
//! also notes where each member of the envelope and of its `source` block
//! starts and ends while it writes them ([`EnvelopeLayout`], from
//! [`TableEncoder::value_with_layout`]), so the chain reads the parts it
//! needs without scanning the JSON for them.
//!
//! # Why a record holds only its bytes
//!
//! [`TableEncoder::key`] and [`TableEncoder::value`] encode into a buffer
//! reused per thread and return an exact-size copy ([`exact_copy`]). A
//! buffer reserved up front for the largest likely event and handed over
//! as the record would hold about twice the event's bytes (a 610-byte
//! value sat in a 1,088-byte allocation) for as long as the record is
//! queued, and the owner's queue bound (`max.queue.size.in.bytes`)
//! counts what records hold: the copy costs one `memcpy`, the slack cost
//! half the bound.
//!
//! # What the caller provides
//!
//! Per event, a [`SourceInfo`] (binlog coordinates, borrowed), the `op`, the
//! before/after rows from the decoder, the processing time and optional
//! [`TransactionInfo`]. The other messages come from [`ConnectorEncoder`].
//! A tombstone is the data-change key with a null (absent) value; there is
//! nothing to encode for it.

mod column_mappers;
pub(crate) mod json;
mod name_adjustment;
mod options;
mod records;
pub(crate) mod schema;
mod topic_naming;
mod value;

use std::collections::HashMap;
use std::sync::Arc;

pub use records::{ConnectorEncoder, TableChange, TableChangeKind};
pub use column_mappers::{is_column_mapper_property, ColumnMapper, ColumnMappers, HashAlgorithm};
pub use options::{
    BigintUnsignedHandlingMode, BinaryHandlingMode, DecimalHandlingMode, EncodingOptions, FieldNameAdjustmentMode,
    OptionError, SchemaNameAdjustmentMode, TimePrecisionMode,
};
pub use topic_naming::{TopicNaming, TopicNamingStrategy};
pub(crate) use value::epoch_days;

use crate::source::mysql::column::{ColumnSchema, Row};
use json::{write_i64, write_str};
use schema::{ConnectSchema, SchemaType};
use value::{plan_column, FieldPlan};

/// The Debezium release whose output shape raftcdc follows; written as the
/// `source.version` of every event.
pub const DEBEZIUM_VERSION: &str = "3.6.1.Final";

/// Errors while encoding an event.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("column `{column}`: a {value} value does not fit the column's type")]
    TypeMismatch { column: String, value: &'static str },
    #[error("column `{column}`: {reason} (Debezium would fail with event.converting.failure.handling.mode=warn)")]
    Unconvertible { column: String, reason: &'static str },
    #[error("column `{column}`: invalid date/time {value} (Debezium fails on it by default)")]
    InvalidTemporal { column: String, value: String },
    #[error("row has {actual} values, table `{table}` has {expected} columns")]
    RowLength {
        table: String,
        expected: usize,
        actual: usize,
    },
    #[error("table `{table}`: columns `{first}` and `{second}` both become field `{field}` (field.name.adjustment.mode); Debezium fails on it too")]
    DuplicateField {
        table: String,
        field: String,
        first: String,
        second: String,
    },
    #[error("key column index {index} out of range for table `{table}` with {columns} columns")]
    KeyColumn {
        table: String,
        index: usize,
        columns: usize,
    },
}

/// Which Debezium connector is emulated: decides `source.connector` and
/// the `io.debezium.connector.<name>.*` schema names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Connector {
    Mysql = 0,
    Mariadb = 1,
}

impl Connector {
    /// `mysql` or `mariadb` (Debezium's `Module.name()`).
    pub fn name(self) -> &'static str {
        match self {
            Connector::Mysql => "mysql",
            Connector::Mariadb => "mariadb",
        }
    }

    /// From a Debezium `connector.class`.
    pub fn from_connector_class(class: &str) -> Option<Connector> {
        match class {
            "io.debezium.connector.mysql.MySqlConnector" => Some(Connector::Mysql),
            "io.debezium.connector.mariadb.MariaDbConnector" => Some(Connector::Mariadb),
            _ => None,
        }
    }
}

/// The operation of a data-change event (`op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Create,
    Update,
    Delete,
    Truncate,
    /// A snapshot read.
    Read,
}

impl Op {
    pub fn code(self) -> &'static str {
        match self {
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Truncate => "t",
            Op::Read => "r",
        }
    }
}

/// `source.snapshot` (Debezium's `SnapshotRecord`). `False` is written as
/// the field's default, `"false"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Snapshot {
    True,
    First,
    FirstInDataCollection,
    LastInDataCollection,
    Last,
    False,
    Incremental,
}

impl Snapshot {
    fn as_str(self) -> Option<&'static str> {
        match self {
            Snapshot::True => Some("true"),
            Snapshot::First => Some("first"),
            Snapshot::FirstInDataCollection => Some("first_in_data_collection"),
            Snapshot::LastInDataCollection => Some("last_in_data_collection"),
            Snapshot::Last => Some("last"),
            Snapshot::Incremental => Some("incremental"),
            Snapshot::False => None,
        }
    }
}

/// The `source` block of an event (`version` is [`DEBEZIUM_VERSION`]).
/// Field meanings follow Debezium's `BinlogSourceInfo`; strings are
/// borrowed so building one per row costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceInfo<'a> {
    /// `mysql` or `mariadb`; also selects the `Source` schema name.
    pub connector: Connector,
    /// The logical server name, i.e. `topic.prefix`.
    pub name: &'a str,
    /// Event time (binlog header timestamp) in ms, µs, ns since the epoch.
    pub ts_ms: i64,
    pub ts_us: i64,
    pub ts_ns: i64,
    pub snapshot: Snapshot,
    /// Database (`db`); `""` when unknown, as Debezium writes it.
    pub db: &'a str,
    pub sequence: Option<&'a str>,
    pub table: Option<&'a str>,
    pub server_id: i64,
    /// GTID of the event's transaction, if GTIDs are on.
    pub gtid: Option<&'a str>,
    /// Binlog file and the position of the event (for rows: the position
    /// where the transaction's events start, as Debezium reports it).
    pub file: &'a str,
    pub pos: i64,
    /// 0-based row number within the rows event.
    pub row: i32,
    pub thread: Option<i64>,
    /// The SQL text (`binlog_rows_query_log_events` / annotate events).
    pub query: Option<&'a str>,
}

impl SourceInfo<'_> {
    /// Sets `ts_ms`/`ts_us`/`ts_ns` from one microsecond timestamp.
    pub fn with_time_us(mut self, micros: i64) -> Self {
        self.ts_ms = micros.div_euclid(1000);
        self.ts_us = micros;
        self.ts_ns = micros.saturating_mul(1000);
        self
    }
}

/// The envelope's `transaction` block
/// (`provide.transaction.metadata=true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionInfo<'a> {
    pub id: &'a str,
    /// 1-based position of the event among all events of the transaction.
    pub total_order: i64,
    /// 1-based position among the transaction's events for this table.
    pub data_collection_order: i64,
}

/// Kafka topic names as Debezium's `DefaultTopicNamingStrategy` derives
/// them: characters outside `[A-Za-z0-9._-]` become `_`, at most 249.
pub fn sanitize_topic_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.len() > 249 {
        s.truncate(249);
    }
    match s.as_str() {
        "." => "_".to_owned(),
        ".." => "__".to_owned(),
        _ => s,
    }
}

/// The data-change topic of a table under Debezium's default naming:
/// `<prefix>.<db>.<table>`, sanitized (see [`TopicNaming`] for the others).
pub fn data_change_topic(topic_prefix: &str, db: &str, table: &str) -> String {
    TopicNaming::default().data_change_topic(topic_prefix, db, table)
}

/// The field name of each column under `mode`; two columns that become
/// the same field are refused, as Connect's `SchemaBuilder` refuses a
/// duplicate field under Debezium.
fn adjusted_field_names(table: &str, columns: &[ColumnSchema], mode: FieldNameAdjustmentMode) -> Result<Vec<String>, EncodeError> {
    let names: Vec<String> = columns.iter().map(|c| mode.adjust(&c.name).into_owned()).collect();
    if mode != FieldNameAdjustmentMode::None {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            if let Some(&first) = seen.get(name.as_str()) {
                return Err(EncodeError::DuplicateField {
                    table: table.to_owned(),
                    field: name.clone(),
                    first: columns[first].name.clone(),
                    second: columns[i].name.clone(),
                });
            }
            seen.insert(name, i);
        }
    }
    Ok(names)
}

/// One field of a row struct: its pre-escaped `"name":` and its plan.
#[derive(Debug, Clone)]
struct Field {
    index: usize,
    name_json: Vec<u8>,
    plan: FieldPlan,
}

fn field_name_json(name: &str, first: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + 4);
    if !first {
        v.push(b',');
    }
    write_str(&mut v, name);
    v.push(b':');
    v
}

/// Encodes the keys and values of one table's data-change events. Build
/// one per table schema (i.e. per decoder) and reuse it for every row.
#[derive(Debug, Clone)]
pub struct TableEncoder {
    topic: String,
    prefix: String,
    table: String,
    options: EncodingOptions,
    key_fields: Vec<Field>,
    value_fields: Vec<Field>,
    key_schema_json: Vec<u8>,
    /// The envelope schema for the MySQL and the MariaDB `Source` name.
    envelope_schema_json: [Vec<u8>; 2],
    /// The same schemas as objects, for records that carry them by
    /// reference (`schemas_by_reference`); `None` otherwise.
    record_schemas: Option<[Arc<RecordSchemas>; 2]>,
}

/// The Connect schemas of one table's data-change records, shared by
/// every record the table's encoder writes when schemas travel by
/// reference: the key schema (`None` for a table without a key) and the
/// envelope (value) schema.
#[derive(Debug, PartialEq)]
pub struct RecordSchemas {
    pub(crate) key: Option<Arc<ConnectSchema>>,
    pub(crate) value: Arc<ConnectSchema>,
}

/// Members of the envelope and of its `source` block
/// ([`schema::envelope_schema`], [`schema::source_schema`]).
pub(crate) const ENVELOPE_MEMBERS: usize = 8;
pub(crate) const SOURCE_MEMBERS: usize = 17;

/// A byte range `(start, end)` in an encoded value.
pub(crate) type Span = (u32, u32);

/// Where an encoded envelope value's parts lie in its bytes: the range of
/// every top-level member's value and of every member of its `source`
/// block, in schema order. The encoder hands it over with a value whose
/// schemas travel by reference (a connector with transforms), so the
/// chain reads the parts it needs where they are instead of scanning the
/// JSON for them (`transform::codec`). It is exact because it is taken
/// by the code that writes the value, while it writes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvelopeLayout {
    pub(crate) members: [Span; ENVELOPE_MEMBERS],
    pub(crate) source: [Span; SOURCE_MEMBERS],
}

/// Takes the [`Span`] of each member as it is written, in order.
struct MemberSpans<'a> {
    spans: &'a mut [Span],
    /// Where the value starts in the buffer.
    base: usize,
    next: usize,
}

impl<'a> MemberSpans<'a> {
    fn new(spans: &'a mut [Span], base: usize) -> MemberSpans<'a> {
        MemberSpans { spans, base, next: 0 }
    }

    /// The next member's value starts here.
    fn open(&mut self, out: &[u8]) {
        if let Some(span) = self.spans.get_mut(self.next) {
            span.0 = (out.len() - self.base) as u32;
        }
    }

    /// The member opened last ends here.
    fn close(&mut self, out: &[u8]) {
        if let Some(span) = self.spans.get_mut(self.next) {
            span.1 = (out.len() - self.base) as u32;
        }
        self.next += 1;
    }

    /// Writes `key` (the member's `"name":` with its separator), then the
    /// member's value with `write`, taking the value's span.
    fn member(&mut self, out: &mut Vec<u8>, key: &[u8], write: impl FnOnce(&mut Vec<u8>)) {
        out.extend_from_slice(key);
        self.open(out);
        write(out);
        self.close(out);
    }
}

impl TableEncoder {
    /// Precomputes schemas and field plans. `key_columns` are column
    /// indices in the order the key lists them (Debezium: primary-key order,
    /// e.g. [`TableDecoder::primary_key`](crate::source::mysql::decode::TableDecoder::primary_key),
    /// or table order for `message.key.columns`); `None` uses the columns
    /// flagged `in_primary_key`, in table order. An empty key means the
    /// table's events have a null key.
    pub fn new(
        topic_prefix: &str,
        db: &str,
        table: &str,
        columns: &[ColumnSchema],
        key_columns: Option<&[usize]>,
        options: EncodingOptions,
    ) -> Result<TableEncoder, EncodeError> {
        let topic = options.topic_naming.data_change_topic(topic_prefix, db, table);
        let key_indices: Vec<usize> = match key_columns {
            Some(indices) => indices.to_vec(),
            None => columns
                .iter()
                .filter(|c| c.in_primary_key)
                .map(|c| c.position)
                .collect(),
        };
        if let Some(&index) = key_indices.iter().find(|&&i| i >= columns.len()) {
            return Err(EncodeError::KeyColumn {
                table: table.to_owned(),
                index,
                columns: columns.len(),
            });
        }

        let field_names = adjusted_field_names(table, columns, options.field_name_adjustment)?;
        let mut value_schema_fields = Vec::with_capacity(columns.len());
        let mut value_fields = Vec::with_capacity(columns.len());
        // Keys are never mapped (Debezium applies column mappers to values).
        let mut unmapped = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let (mut schema, mut plan) = plan_column(column, &options);
            unmapped.push((schema.clone(), plan.clone()));
            if let Some(mapper) = options.column_mappers.mapper_for(db, table, &column.name, &column.type_name()) {
                let (parameters, mapping) = match mapper {
                    ColumnMapper::PropagateSourceType => (
                        column_mappers::source_type_parameters(&column.column_type, column.comment.as_deref(), &column.name),
                        None,
                    ),
                    other => other.bind(&column.column_type, &plan.kind),
                };
                for (key, value) in parameters {
                    schema = schema.param(key, value);
                }
                plan.mapping = mapping;
            }
            value_schema_fields.push((field_names[i].clone(), schema));
            value_fields.push(Field {
                index: i,
                name_json: field_name_json(&field_names[i], i == 0),
                plan,
            });
        }
        let mut key_schema_fields = Vec::with_capacity(key_indices.len());
        let mut key_fields = Vec::with_capacity(key_indices.len());
        for (n, &i) in key_indices.iter().enumerate() {
            key_schema_fields.push((field_names[i].clone(), unmapped[i].0.clone()));
            key_fields.push(Field {
                index: i,
                name_json: field_name_json(&field_names[i], n == 0),
                plan: unmapped[i].1.clone(),
            });
        }

        let schema_name = |suffix: &str| {
            let name = format!("{topic}.{suffix}");
            options.schema_name_adjustment.adjust(&name).into_owned()
        };
        let key_schema =
            (!key_fields.is_empty()).then(|| ConnectSchema::structure(key_schema_fields).named(schema_name("Key"), None));
        let key_schema_json = key_schema.as_ref().map(ConnectSchema::to_json).unwrap_or_default();
        let value_schema = ConnectSchema::new(SchemaType::Struct(value_schema_fields))
            .optional(true)
            .named(schema_name("Value"), None);
        let envelope_name = schema_name("Envelope");
        let envelope_schemas = [Connector::Mysql, Connector::Mariadb]
            .map(|connector| schema::envelope_schema(envelope_name.clone(), value_schema.clone(), connector));
        let envelope_schema_json = [envelope_schemas[0].to_json(), envelope_schemas[1].to_json()];
        let record_schemas = options.schemas_by_reference.then(|| {
            let key = key_schema.map(Arc::new);
            envelope_schemas.map(|value| Arc::new(RecordSchemas { key: key.clone(), value: Arc::new(value) }))
        });

        Ok(TableEncoder {
            topic,
            prefix: topic_prefix.to_owned(),
            table: table.to_owned(),
            options,
            key_fields,
            value_fields,
            key_schema_json,
            envelope_schema_json,
            record_schemas,
        })
    }

    /// The schemas a record of this table carries by reference (only
    /// with `schemas_by_reference`).
    pub fn record_schemas(&self, connector: Connector) -> Option<Arc<RecordSchemas>> {
        self.record_schemas.as_ref().map(|s| s[connector as usize].clone())
    }

    /// Whether values are written with their schema inline.
    fn inline_value_schema(&self) -> bool {
        self.options.value_schemas_enable && !self.options.schemas_by_reference
    }

    /// Whether keys are written with their schema inline.
    fn inline_key_schema(&self) -> bool {
        self.options.key_schemas_enable && !self.options.schemas_by_reference
    }

    /// A key written by [`TableEncoder::key`] as `JsonConverter` writes it
    /// with `schemas.enable=true` (for Debezium's key-change headers,
    /// which carry a whole key): with schemas by reference the schema is
    /// put back inline, otherwise the key is returned as it is.
    pub fn key_with_inline_schema(&self, key: &[u8]) -> Vec<u8> {
        if !self.options.schemas_by_reference || !self.options.key_schemas_enable {
            return key.to_vec();
        }
        let mut out = Vec::with_capacity(self.key_schema_json.len() + key.len() + 24);
        out.extend_from_slice(b"{\"schema\":");
        out.extend_from_slice(&self.key_schema_json);
        out.extend_from_slice(b",\"payload\":");
        out.extend_from_slice(key);
        out.push(b'}');
        out
    }

    /// The Kafka topic of this table's events.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Whether events of this table have a (non-null) key.
    pub fn has_key(&self) -> bool {
        !self.key_fields.is_empty()
    }

    /// The key schema as `JsonConverter` writes it (`None` without a key).
    pub fn key_schema_json(&self) -> Option<&[u8]> {
        (!self.key_schema_json.is_empty()).then_some(&self.key_schema_json[..])
    }

    /// The envelope (value) schema as `JsonConverter` writes it.
    pub fn value_schema_json(&self, connector: Connector) -> &[u8] {
        &self.envelope_schema_json[connector as usize]
    }

    fn check_row(&self, row: &Row) -> Result<(), EncodeError> {
        if row.len() != self.value_fields.len() {
            return Err(EncodeError::RowLength {
                table: self.table.clone(),
                expected: self.value_fields.len(),
                actual: row.len(),
            });
        }
        Ok(())
    }

    /// The serialized key of a row, or `None` if the table has no key.
    pub fn key(&self, row: &Row) -> Result<Option<Vec<u8>>, EncodeError> {
        if self.key_fields.is_empty() {
            return Ok(None);
        }
        self.check_row(row)?;
        let inline = self.inline_key_schema();
        exact_copy(|out| {
            if inline {
                out.extend_from_slice(b"{\"schema\":");
                out.extend_from_slice(&self.key_schema_json);
                out.extend_from_slice(b",\"payload\":");
            }
            write_struct(out, &self.key_fields, row)?;
            if inline {
                out.push(b'}');
            }
            Ok(())
        })
        .map(Some)
    }

    /// The serialized value of a data-change event. `ts_ms` is the
    /// envelope's processing time (`ts_us`/`ts_ns` are derived from it).
    pub fn value(
        &self,
        op: Op,
        before: Option<&Row>,
        after: Option<&Row>,
        source: &SourceInfo<'_>,
        ts_ms: i64,
        transaction: Option<&TransactionInfo<'_>>,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut layout = EnvelopeLayout::default();
        exact_copy(|out| self.write_value(out, op, before, after, source, ts_ms, transaction, &mut layout))
    }

    /// [`TableEncoder::value`], and where its parts are when the value's
    /// schemas travel by reference (`None` otherwise: nothing reads it).
    #[allow(clippy::too_many_arguments)]
    pub fn value_with_layout(
        &self,
        op: Op,
        before: Option<&Row>,
        after: Option<&Row>,
        source: &SourceInfo<'_>,
        ts_ms: i64,
        transaction: Option<&TransactionInfo<'_>>,
    ) -> Result<(Vec<u8>, Option<Box<EnvelopeLayout>>), EncodeError> {
        let mut layout = EnvelopeLayout::default();
        let value = exact_copy(|out| self.write_value(out, op, before, after, source, ts_ms, transaction, &mut layout))?;
        Ok((value, self.options.schemas_by_reference.then(|| Box::new(layout))))
    }

    /// Writes the value; `layout` gets where its parts are (relative to
    /// where the payload starts).
    #[allow(clippy::too_many_arguments)]
    fn write_value(
        &self,
        out: &mut Vec<u8>,
        op: Op,
        before: Option<&Row>,
        after: Option<&Row>,
        source: &SourceInfo<'_>,
        ts_ms: i64,
        transaction: Option<&TransactionInfo<'_>>,
        layout: &mut EnvelopeLayout,
    ) -> Result<(), EncodeError> {
        let schemas = self.inline_value_schema();
        let schema_json = self.value_schema_json(source.connector);
        out.reserve(if schemas { schema_json.len() } else { 0 } + 48 * self.value_fields.len() + 512);
        if schemas {
            out.extend_from_slice(b"{\"schema\":");
            out.extend_from_slice(schema_json);
            out.extend_from_slice(b",\"payload\":");
        }
        let base = out.len();
        let mut members = MemberSpans::new(&mut layout.members, base);
        for (key, row) in [(&b"{\"before\":"[..], before), (&b",\"after\":"[..], after)] {
            out.extend_from_slice(key);
            members.open(out);
            match row {
                Some(row) => {
                    self.check_row(row)?;
                    write_struct(out, &self.value_fields, row)?;
                }
                None => out.extend_from_slice(b"null"),
            }
            members.close(out);
        }
        members.member(out, b",\"source\":", |out| write_source_spans(out, source, &mut layout.source, base));
        members.member(out, b",\"transaction\":", |out| match transaction {
            Some(tx) => {
                out.extend_from_slice(b"{\"id\":");
                write_str(out, tx.id);
                out.extend_from_slice(b",\"total_order\":");
                write_i64(out, tx.total_order);
                out.extend_from_slice(b",\"data_collection_order\":");
                write_i64(out, tx.data_collection_order);
                out.push(b'}');
            }
            None => out.extend_from_slice(b"null"),
        });
        members.member(out, b",\"op\":", |out| {
            out.push(b'"');
            out.extend_from_slice(op.code().as_bytes());
            out.push(b'"');
        });
        members.member(out, b",\"ts_ms\":", |out| write_i64(out, ts_ms));
        members.member(out, b",\"ts_us\":", |out| write_i64(out, ts_ms.saturating_mul(1000)));
        members.member(out, b",\"ts_ns\":", |out| write_i64(out, ts_ms.saturating_mul(1_000_000)));
        out.push(b'}');
        if schemas {
            out.push(b'}');
        }
        Ok(())
    }

    /// The topic prefix this encoder was built for.
    pub fn topic_prefix(&self) -> &str {
        &self.prefix
    }
}

fn write_struct(out: &mut Vec<u8>, fields: &[Field], row: &Row) -> Result<(), EncodeError> {
    out.push(b'{');
    for field in fields {
        out.extend_from_slice(&field.name_json);
        field.plan.write(out, &row[field.index])?;
    }
    out.push(b'}');
    Ok(())
}

/// Writes the `source` struct (`BinlogSourceInfoStructMaker` field order).
pub(crate) fn write_source(out: &mut Vec<u8>, s: &SourceInfo<'_>) {
    let base = out.len();
    write_source_spans(out, s, &mut [(0, 0); SOURCE_MEMBERS], base);
}

/// [`write_source`], taking each member's span (relative to `base`).
fn write_source_spans(out: &mut Vec<u8>, s: &SourceInfo<'_>, spans: &mut [Span; SOURCE_MEMBERS], base: usize) {
    let opt_str = |out: &mut Vec<u8>, v: Option<&str>| match v {
        Some(v) => write_str(out, v),
        None => out.extend_from_slice(b"null"),
    };
    let mut m = MemberSpans::new(spans, base);
    m.member(out, b"{\"version\":", |out| write_str(out, DEBEZIUM_VERSION));
    m.member(out, b",\"connector\":", |out| {
        out.push(b'"');
        out.extend_from_slice(s.connector.name().as_bytes());
        out.push(b'"');
    });
    m.member(out, b",\"name\":", |out| write_str(out, s.name));
    m.member(out, b",\"ts_ms\":", |out| write_i64(out, s.ts_ms));
    m.member(out, b",\"snapshot\":", |out| match s.snapshot.as_str() {
        Some(v) => write_str(out, v),
        // Debezium leaves the field unset for FALSE; JsonConverter then
        // writes the schema default (replace.null.with.default).
        None => out.extend_from_slice(b"\"false\""),
    });
    m.member(out, b",\"db\":", |out| write_str(out, s.db));
    m.member(out, b",\"sequence\":", |out| opt_str(out, s.sequence));
    m.member(out, b",\"ts_us\":", |out| write_i64(out, s.ts_us));
    m.member(out, b",\"ts_ns\":", |out| write_i64(out, s.ts_ns));
    m.member(out, b",\"table\":", |out| opt_str(out, s.table));
    m.member(out, b",\"server_id\":", |out| write_i64(out, s.server_id));
    m.member(out, b",\"gtid\":", |out| opt_str(out, s.gtid));
    m.member(out, b",\"file\":", |out| write_str(out, s.file));
    m.member(out, b",\"pos\":", |out| write_i64(out, s.pos));
    m.member(out, b",\"row\":", |out| write_i64(out, i64::from(s.row)));
    m.member(out, b",\"thread\":", |out| match s.thread {
        Some(t) => write_i64(out, t),
        None => out.extend_from_slice(b"null"),
    });
    m.member(out, b",\"query\":", |out| opt_str(out, s.query));
    out.push(b'}');
}

/// A scratch buffer this large or larger (a huge BLOB's event) is not kept
/// for the next event.
const SCRATCH_KEPT_BYTES: usize = 1 << 20;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `write` on this thread's scratch buffer and returns what it wrote
/// as an exact-size `Vec` (capacity == length), so an encoded record holds
/// no spare capacity; see the module docs.
pub(crate) fn exact_copy<E>(write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>) -> Result<Vec<u8>, E> {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.clear();
            let written = write(&mut buffer).map(|()| buffer.to_vec());
            if buffer.capacity() >= SCRATCH_KEPT_BYTES {
                *buffer = Vec::new();
            }
            written
        }
        // Only if `write` itself encodes another event on this thread.
        Err(_) => {
            let mut buffer = Vec::new();
            write(&mut buffer)?;
            Ok(buffer.to_vec())
        }
    })
}

#[cfg(test)]
mod tests;
