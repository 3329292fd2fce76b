//! The connector-level messages: schema-change events, transaction
//! metadata and heartbeats.
//!
//! Owns their keys, values and topics. Shapes follow Debezium 3.6.1.Final:
//! - schema changes (topic `<prefix>`): key `SchemaChangeKey
//!   {databaseName}`, value `SchemaChangeValue {source, ts_ms,
//!   databaseName, schemaName, ddl, tableChanges}` with `tableChanges` as
//!   `ConnectTableChangeSerializer` writes them (`EventDispatcher`,
//!   `SchemaFactory.schemaHistoryConnector*Schema`);
//! - transaction metadata (topic `<prefix>.transaction`): key
//!   `TransactionMetadataKey {id}`, value `TransactionMetadataValue {status,
//!   id, event_count, data_collections, ts_ms}`, where `BEGIN` leaves
//!   `event_count`/`data_collections` null (`AbstractTransactionStructMaker`);
//! - heartbeats (topic `__debezium-heartbeat.<prefix>`): key `ServerNameKey
//!   {serverName}`, value `Heartbeat {ts_ms}` (`HeartbeatImpl`).
//!
//! Schemas are serialized once in [`ConnectorEncoder::new`].

use super::json::{write_i64, write_str};
use super::schema;
use super::{write_source, Connector, EncodingOptions, SourceInfo};
use crate::source::mysql::column::ColumnSchema;
use crate::source::mysql::ddl::column_type::quoted;
use crate::source::mysql::ddl::{ColumnModel, ModelChange, TableModel};

/// The kind of a table change in a schema-change event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableChangeKind {
    Create,
    Alter,
    Drop,
}

impl TableChangeKind {
    /// Debezium's name of the change (`CREATE`, `ALTER`, `DROP`).
    pub fn as_str(self) -> &'static str {
        match self {
            TableChangeKind::Create => "CREATE",
            TableChangeKind::Alter => "ALTER",
            TableChangeKind::Drop => "DROP",
        }
    }
}

/// One entry of `tableChanges`, built from the binlog's view of the
/// table's columns (the source describes tables from their DDL instead:
/// [`ConnectorEncoder::schema_change_value_modelled`]).
///
/// Column facts the binlog does not carry (display widths, defaults,
/// comments, auto-increment) come from [`ColumnSchema`]'s optional fields;
/// `length` is what [`crate::source::mysql::column::ColumnType::length`]
/// can derive.
#[derive(Debug, Clone, Copy)]
pub struct TableChange<'a> {
    pub kind: TableChangeKind,
    pub db: &'a str,
    pub table: &'a str,
    pub columns: &'a [ColumnSchema],
    /// Primary-key column indices, in key order.
    pub primary_key: &'a [usize],
    pub default_charset: Option<&'a str>,
    pub comment: Option<&'a str>,
}

/// Encodes the connector's non-data messages.
#[derive(Debug, Clone)]
pub struct ConnectorEncoder {
    prefix: String,
    options: EncodingOptions,
    schema_change_key_schema: Vec<u8>,
    schema_change_value_schema: Vec<u8>,
    transaction_key_schema: Vec<u8>,
    transaction_value_schema: Vec<u8>,
    heartbeat_key_schema: Vec<u8>,
    heartbeat_value_schema: Vec<u8>,
}

fn wrap(out: &mut Vec<u8>, schemas: bool, schema: &[u8], payload: impl FnOnce(&mut Vec<u8>)) {
    if schemas {
        out.extend_from_slice(b"{\"schema\":");
        out.extend_from_slice(schema);
        out.extend_from_slice(b",\"payload\":");
    }
    payload(out);
    if schemas {
        out.push(b'}');
    }
}

fn opt_str(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        Some(v) => write_str(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

impl ConnectorEncoder {
    /// An encoder for the connector with logical name `topic_prefix`.
    pub fn new(topic_prefix: &str, connector: Connector, options: EncodingOptions) -> ConnectorEncoder {
        let c = connector;
        ConnectorEncoder {
            prefix: topic_prefix.to_owned(),
            schema_change_key_schema: schema::schema_change_key_schema(c).to_json(),
            schema_change_value_schema: schema::schema_change_value_schema(c).to_json(),
            transaction_key_schema: schema::transaction_key_schema().to_json(),
            transaction_value_schema: schema::transaction_value_schema().to_json(),
            heartbeat_key_schema: schema::heartbeat_key_schema().to_json(),
            heartbeat_value_schema: schema::heartbeat_value_schema().to_json(),
            options,
        }
    }

    /// `<prefix>`: the schema-change topic.
    pub fn schema_change_topic(&self) -> String {
        self.prefix.clone()
    }

    /// `<prefix>.<topic.transaction>` (Debezium default suffix:
    /// `transaction`).
    pub fn transaction_topic(&self, suffix: &str) -> String {
        self.options.topic_naming.transaction_topic(&self.prefix, suffix)
    }

    /// `<topic.heartbeat.prefix>.<prefix>` (Debezium default heartbeat
    /// prefix: `__debezium-heartbeat`).
    pub fn heartbeat_topic(&self, heartbeat_prefix: &str) -> String {
        self.options.topic_naming.heartbeat_topic(heartbeat_prefix, &self.prefix)
    }

    fn key(&self, schema: &[u8], payload: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::with_capacity(schema.len() + 64);
        wrap(&mut out, self.options.key_schemas_enable, schema, payload);
        out
    }

    fn value(&self, schema: &[u8], payload: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::with_capacity(schema.len() + 256);
        wrap(&mut out, self.options.value_schemas_enable, schema, payload);
        out
    }

    /// Heartbeat key: `{"serverName": <prefix>}`.
    pub fn heartbeat_key(&self) -> Vec<u8> {
        self.key(&self.heartbeat_key_schema, |out| {
            out.extend_from_slice(b"{\"serverName\":");
            write_str(out, &self.prefix);
            out.push(b'}');
        })
    }

    /// Heartbeat value: `{"ts_ms": ...}`.
    pub fn heartbeat_value(&self, ts_ms: i64) -> Vec<u8> {
        self.value(&self.heartbeat_value_schema, |out| {
            out.extend_from_slice(b"{\"ts_ms\":");
            write_i64(out, ts_ms);
            out.push(b'}');
        })
    }

    /// Transaction-metadata key: `{"id": <transaction id>}`.
    pub fn transaction_key(&self, id: &str) -> Vec<u8> {
        self.key(&self.transaction_key_schema, |out| {
            out.extend_from_slice(b"{\"id\":");
            write_str(out, id);
            out.push(b'}');
        })
    }

    /// The `BEGIN` record of a transaction.
    pub fn transaction_begin(&self, id: &str, ts_ms: i64) -> Vec<u8> {
        self.value(&self.transaction_value_schema, |out| {
            out.extend_from_slice(b"{\"status\":\"BEGIN\",\"id\":");
            write_str(out, id);
            out.extend_from_slice(b",\"event_count\":null,\"data_collections\":null,\"ts_ms\":");
            write_i64(out, ts_ms);
            out.push(b'}');
        })
    }

    /// The `END` record: total events and per-table counts
    /// (`("db.table", count)`, in first-seen order).
    pub fn transaction_end(&self, id: &str, ts_ms: i64, event_count: i64, data_collections: &[(&str, i64)]) -> Vec<u8> {
        self.value(&self.transaction_value_schema, |out| {
            out.extend_from_slice(b"{\"status\":\"END\",\"id\":");
            write_str(out, id);
            out.extend_from_slice(b",\"event_count\":");
            write_i64(out, event_count);
            out.extend_from_slice(b",\"data_collections\":[");
            for (i, (collection, count)) in data_collections.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"data_collection\":");
                write_str(out, collection);
                out.extend_from_slice(b",\"event_count\":");
                write_i64(out, *count);
                out.push(b'}');
            }
            out.extend_from_slice(b"],\"ts_ms\":");
            write_i64(out, ts_ms);
            out.push(b'}');
        })
    }

    /// Schema-change key: `{"databaseName": <db>}`.
    pub fn schema_change_key(&self, db: &str) -> Vec<u8> {
        self.key(&self.schema_change_key_schema, |out| {
            out.extend_from_slice(b"{\"databaseName\":");
            write_str(out, db);
            out.push(b'}');
        })
    }

    /// Schema-change value. `ts_ms` is the event's processing time;
    /// `schema_name` is null for MySQL.
    pub fn schema_change_value(
        &self,
        source: &SourceInfo<'_>,
        ts_ms: i64,
        database_name: Option<&str>,
        schema_name: Option<&str>,
        ddl: Option<&str>,
        changes: &[TableChange<'_>],
    ) -> Vec<u8> {
        self.schema_change_value_with(source, ts_ms, database_name, schema_name, ddl, |out| write_list(out, changes, write_table_change))
    }

    /// Schema-change value whose `tableChanges` describe the tables as
    /// their DDL declares them ([`crate::source::mysql::ddl`]), as
    /// Debezium's DDL parser does.
    pub fn schema_change_value_modelled(
        &self,
        source: &SourceInfo<'_>,
        ts_ms: i64,
        database_name: Option<&str>,
        schema_name: Option<&str>,
        ddl: Option<&str>,
        changes: &[ModelChange],
    ) -> Vec<u8> {
        self.schema_change_value_with(source, ts_ms, database_name, schema_name, ddl, |out| write_list(out, changes, write_model_change))
    }

    fn schema_change_value_with(
        &self,
        source: &SourceInfo<'_>,
        ts_ms: i64,
        database_name: Option<&str>,
        schema_name: Option<&str>,
        ddl: Option<&str>,
        write_changes: impl FnOnce(&mut Vec<u8>),
    ) -> Vec<u8> {
        self.value(&self.schema_change_value_schema, |out| {
            out.extend_from_slice(b"{\"source\":");
            write_source(out, source);
            out.extend_from_slice(b",\"ts_ms\":");
            write_i64(out, ts_ms);
            out.extend_from_slice(b",\"databaseName\":");
            opt_str(out, database_name);
            out.extend_from_slice(b",\"schemaName\":");
            opt_str(out, schema_name);
            out.extend_from_slice(b",\"ddl\":");
            opt_str(out, ddl);
            out.extend_from_slice(b",\"tableChanges\":[");
            write_changes(out);
            out.extend_from_slice(b"]}");
        })
    }
}

fn write_model_change(out: &mut Vec<u8>, change: &ModelChange) {
    let opt_i64 = |out: &mut Vec<u8>, v: Option<i64>| match v {
        Some(v) => write_i64(out, v),
        None => out.extend_from_slice(b"null"),
    };
    let flag = |out: &mut Vec<u8>, name: &[u8], v: bool| {
        out.extend_from_slice(name);
        out.extend_from_slice(if v { b"true" } else { b"false" });
    };
    out.extend_from_slice(b"{\"type\":");
    write_str(out, change.kind.as_str());
    out.extend_from_slice(b",\"id\":");
    write_str(out, &format!("\"{}\".\"{}\"", change.db, change.table));
    let Some(table) = &change.model else {
        out.extend_from_slice(b",\"table\":null}");
        return;
    };
    out.extend_from_slice(b",\"table\":{\"defaultCharsetName\":");
    opt_str(out, table.default_charset.as_deref());
    out.extend_from_slice(b",\"primaryKeyColumnNames\":[");
    for (i, name) in table.primary_key.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, name);
    }
    out.extend_from_slice(b"],\"columns\":[");
    for (i, column) in table.columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        write_str(out, &column.name);
        out.extend_from_slice(b",\"jdbcType\":");
        write_i64(out, i64::from(column.jdbc_type));
        out.extend_from_slice(b",\"nativeType\":null,\"typeName\":");
        write_str(out, &column.type_name);
        out.extend_from_slice(b",\"typeExpression\":");
        write_str(out, &column.type_expression);
        out.extend_from_slice(b",\"charsetName\":");
        opt_str(out, column.charset.as_deref());
        out.extend_from_slice(b",\"length\":");
        opt_i64(out, column.length);
        out.extend_from_slice(b",\"scale\":");
        opt_i64(out, column.scale);
        out.extend_from_slice(b",\"position\":");
        write_i64(out, i as i64 + 1);
        flag(out, b",\"optional\":", column.optional);
        flag(out, b",\"autoIncremented\":", column.auto_incremented);
        flag(out, b",\"generated\":", column.generated);
        out.extend_from_slice(b",\"comment\":");
        opt_str(out, column.comment.as_deref());
        out.extend_from_slice(b",\"defaultValueExpression\":");
        opt_str(out, column.default_value.as_deref());
        out.extend_from_slice(b",\"enumValues\":");
        match &column.enum_values {
            Some(values) => {
                out.push(b'[');
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, v);
                }
                out.push(b']');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"comment\":");
    opt_str(out, table.comment.as_deref());
    out.extend_from_slice(b"}}");
}

/// The binlog's view of a table, written as a modelled one.
fn write_table_change(out: &mut Vec<u8>, change: &TableChange<'_>) {
    let columns = change
        .columns
        .iter()
        .map(|column| {
            let t = &column.column_type;
            let type_name = t.type_name();
            ColumnModel {
                name: column.name.clone(),
                jdbc_type: t.jdbc_type(),
                type_expression: type_name.clone(),
                type_name,
                charset: column.charset_name().map(str::to_owned),
                length: t.length().map(i64::from),
                scale: t.scale().map(i64::from),
                optional: column.nullable,
                auto_incremented: column.auto_increment,
                generated: column.generated,
                comment: column.comment.clone(),
                default_value: None,
                enum_values: t.enum_values().filter(|v| !v.is_empty()).map(|v| v.iter().map(|v| quoted(v)).collect()),
            }
        })
        .collect();
    let model = TableModel {
        columns,
        primary_key: change.primary_key.iter().filter_map(|&i| change.columns.get(i)).map(|c| c.name.clone()).collect(),
        default_charset: change.default_charset.map(str::to_owned),
        comment: change.comment.map(str::to_owned),
    };
    write_model_change(
        out,
        &ModelChange { kind: change.kind, db: change.db.to_owned(), table: change.table.to_owned(), model: Some(model) },
    );
}

/// Writes `items` as the members of a JSON array, comma-separated.
fn write_list<T>(out: &mut Vec<u8>, items: &[T], write: impl Fn(&mut Vec<u8>, &T)) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
}
