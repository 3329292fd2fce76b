//! Kafka Connect schemas and their JSON form, as `JsonConverter` writes
//! them with `schemas.enable=true`.
//!
//! Owns: the small [`ConnectSchema`] model, its serialization, and the
//! fixed Debezium schemas (source block, transaction block, envelope).
//!
//! Why it matches: `JsonConverter.asJsonSchema` emits, in this order,
//! `type`, then `fields` (structs) or `items` (arrays), then `optional`,
//! `name`, `version`, `doc`, `parameters` (insertion order) and `default`
//! when set; a struct member additionally gets `"field": <name>` appended
//! last. The fixed schemas follow Debezium 3.6.1.Final:
//! `BinlogSourceInfoStructMaker` + `SchemaFactory.sourceInfoSchemaBuilder`
//! (source, version 1, with the `snapshot` field an optional
//! `io.debezium.data.Enum` defaulting to `"false"`),
//! `SchemaFactory.transactionBlockSchema` (`event.block`) and
//! `SchemaFactory.datatypeEnvelopeSchema` + `TableSchemaBuilder.create`
//! (envelope version 2; fields `before, after, source, transaction, op,
//! ts_ms, ts_us, ts_ns`).

use super::json::{write_i64, write_str};
use super::Connector;

/// A Connect schema type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SchemaType {
    Boolean,
    /// Only transforms produce it (`Cast` to `int8`).
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    String,
    Bytes,
    Struct(Vec<(String, ConnectSchema)>),
    Array(Box<ConnectSchema>),
    /// Keys and values; only transforms produce it.
    Map(Box<ConnectSchema>, Box<ConnectSchema>),
}

/// A Kafka Connect schema (the subset Debezium's MySQL connector uses).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConnectSchema {
    pub kind: SchemaType,
    pub optional: bool,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    pub parameters: Vec<(String, String)>,
    /// The default value, already JSON-encoded.
    pub default: Option<Vec<u8>>,
}

impl ConnectSchema {
    pub fn new(kind: SchemaType) -> Self {
        ConnectSchema {
            kind,
            optional: false,
            name: None,
            version: None,
            doc: None,
            parameters: Vec::new(),
            default: None,
        }
    }

    pub fn optional(mut self, optional: bool) -> Self {
        self.optional = optional;
        self
    }

    pub fn named(mut self, name: impl Into<String>, version: Option<i32>) -> Self {
        self.name = Some(name.into());
        self.version = version;
        self
    }

    pub fn param(mut self, key: &str, value: impl Into<String>) -> Self {
        self.parameters.push((key.to_owned(), value.into()));
        self
    }

    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.doc = Some(doc.into());
        self
    }

    pub fn structure(fields: Vec<(String, ConnectSchema)>) -> Self {
        ConnectSchema::new(SchemaType::Struct(fields))
    }

    /// Serializes as `JsonConverter.asJsonSchema` does; `field` is the
    /// member name when this schema is a struct field.
    pub fn write_json(&self, out: &mut Vec<u8>, field: Option<&str>) {
        out.extend_from_slice(b"{\"type\":");
        let type_name: &[u8] = match &self.kind {
            SchemaType::Boolean => b"\"boolean\"",
            SchemaType::Int8 => b"\"int8\"",
            SchemaType::Int16 => b"\"int16\"",
            SchemaType::Int32 => b"\"int32\"",
            SchemaType::Int64 => b"\"int64\"",
            SchemaType::Float32 => b"\"float\"",
            SchemaType::Float64 => b"\"double\"",
            SchemaType::String => b"\"string\"",
            SchemaType::Bytes => b"\"bytes\"",
            SchemaType::Struct(_) => b"\"struct\"",
            SchemaType::Array(_) => b"\"array\"",
            SchemaType::Map(..) => b"\"map\"",
        };
        out.extend_from_slice(type_name);
        match &self.kind {
            SchemaType::Struct(fields) => {
                out.extend_from_slice(b",\"fields\":[");
                for (i, (name, schema)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    schema.write_json(out, Some(name));
                }
                out.push(b']');
            }
            SchemaType::Array(items) => {
                out.extend_from_slice(b",\"items\":");
                items.write_json(out, None);
            }
            SchemaType::Map(keys, values) => {
                out.extend_from_slice(b",\"keys\":");
                keys.write_json(out, None);
                out.extend_from_slice(b",\"values\":");
                values.write_json(out, None);
            }
            _ => {}
        }
        out.extend_from_slice(if self.optional {
            b",\"optional\":true"
        } else {
            b",\"optional\":false"
        });
        if let Some(name) = &self.name {
            out.extend_from_slice(b",\"name\":");
            write_str(out, name);
        }
        if let Some(version) = self.version {
            out.extend_from_slice(b",\"version\":");
            write_i64(out, i64::from(version));
        }
        if let Some(doc) = &self.doc {
            out.extend_from_slice(b",\"doc\":");
            write_str(out, doc);
        }
        if !self.parameters.is_empty() {
            out.extend_from_slice(b",\"parameters\":{");
            for (i, (k, v)) in self.parameters.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_str(out, v);
            }
            out.push(b'}');
        }
        if let Some(default) = &self.default {
            out.extend_from_slice(b",\"default\":");
            out.extend_from_slice(default);
        }
        if let Some(field) = field {
            out.extend_from_slice(b",\"field\":");
            write_str(out, field);
        }
        out.push(b'}');
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write_json(&mut out, None);
        out
    }
}

fn field(name: &str, schema: ConnectSchema) -> (String, ConnectSchema) {
    (name.to_owned(), schema)
}

fn prim(kind: SchemaType, optional: bool) -> ConnectSchema {
    ConnectSchema::new(kind).optional(optional)
}

/// Values of Debezium's `SnapshotRecord`, lower-case, in declaration order.
pub(crate) const SNAPSHOT_ALLOWED: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

/// The `source` block schema (`io.debezium.connector.<mysql|mariadb>.Source`).
pub(crate) fn source_schema(connector: Connector) -> ConnectSchema {
    let mut snapshot = ConnectSchema::new(SchemaType::String)
        .optional(true)
        .named("io.debezium.data.Enum", Some(1))
        .param("allowed", SNAPSHOT_ALLOWED);
    snapshot.default = Some(b"\"false\"".to_vec());
    ConnectSchema::structure(vec![
        field("version", prim(SchemaType::String, false)),
        field("connector", prim(SchemaType::String, false)),
        field("name", prim(SchemaType::String, false)),
        field("ts_ms", prim(SchemaType::Int64, false)),
        field("snapshot", snapshot),
        field("db", prim(SchemaType::String, false)),
        field("sequence", prim(SchemaType::String, true)),
        field("ts_us", prim(SchemaType::Int64, true)),
        field("ts_ns", prim(SchemaType::Int64, true)),
        field("table", prim(SchemaType::String, true)),
        field("server_id", prim(SchemaType::Int64, false)),
        field("gtid", prim(SchemaType::String, true)),
        field("file", prim(SchemaType::String, false)),
        field("pos", prim(SchemaType::Int64, false)),
        field("row", prim(SchemaType::Int32, false)),
        field("thread", prim(SchemaType::Int64, true)),
        field("query", prim(SchemaType::String, true)),
    ])
    .named(format!("io.debezium.connector.{}.Source", connector.name()), Some(1))
}

/// The envelope's `transaction` block schema (`event.block`).
pub(crate) fn transaction_block_schema() -> ConnectSchema {
    ConnectSchema::structure(vec![
        field("id", prim(SchemaType::String, false)),
        field("total_order", prim(SchemaType::Int64, false)),
        field("data_collection_order", prim(SchemaType::Int64, false)),
    ])
    .optional(true)
    .named("event.block", Some(1))
}

/// The change-event envelope schema for a table whose row schema is `value`.
pub(crate) fn envelope_schema(name: String, value: ConnectSchema, connector: Connector) -> ConnectSchema {
    ConnectSchema::structure(vec![
        field("before", value.clone()),
        field("after", value),
        field("source", source_schema(connector)),
        field("transaction", transaction_block_schema()),
        field("op", prim(SchemaType::String, false)),
        field("ts_ms", prim(SchemaType::Int64, true)),
        field("ts_us", prim(SchemaType::Int64, true)),
        field("ts_ns", prim(SchemaType::Int64, true)),
    ])
    .named(name, Some(2))
}

/// `io.debezium.connector.common.TransactionMetadataKey`.
pub(crate) fn transaction_key_schema() -> ConnectSchema {
    ConnectSchema::structure(vec![field("id", prim(SchemaType::String, false))])
        .named("io.debezium.connector.common.TransactionMetadataKey", Some(1))
}

/// `io.debezium.connector.common.TransactionMetadataValue`.
pub(crate) fn transaction_value_schema() -> ConnectSchema {
    let collection = ConnectSchema::structure(vec![
        field("data_collection", prim(SchemaType::String, false)),
        field("event_count", prim(SchemaType::Int64, false)),
    ])
    .optional(true)
    .named("event.collection", Some(1));
    ConnectSchema::structure(vec![
        field("status", prim(SchemaType::String, false)),
        field("id", prim(SchemaType::String, false)),
        field("event_count", prim(SchemaType::Int64, true)),
        field(
            "data_collections",
            ConnectSchema::new(SchemaType::Array(Box::new(collection))).optional(true),
        ),
        field("ts_ms", prim(SchemaType::Int64, false)),
    ])
    .named("io.debezium.connector.common.TransactionMetadataValue", Some(1))
}

/// `io.debezium.connector.common.ServerNameKey` (heartbeat key).
pub(crate) fn heartbeat_key_schema() -> ConnectSchema {
    ConnectSchema::structure(vec![field("serverName", prim(SchemaType::String, false))])
        .named("io.debezium.connector.common.ServerNameKey", Some(1))
}

/// `io.debezium.connector.common.Heartbeat` (heartbeat value).
pub(crate) fn heartbeat_value_schema() -> ConnectSchema {
    ConnectSchema::structure(vec![field("ts_ms", prim(SchemaType::Int64, false))])
        .named("io.debezium.connector.common.Heartbeat", Some(1))
}

/// `io.debezium.connector.<c>.SchemaChangeKey`.
pub(crate) fn schema_change_key_schema(connector: Connector) -> ConnectSchema {
    ConnectSchema::structure(vec![field("databaseName", prim(SchemaType::String, false))]).named(
        format!("io.debezium.connector.{}.SchemaChangeKey", connector.name()),
        Some(1),
    )
}

/// `io.debezium.connector.<c>.SchemaChangeValue` with Debezium's
/// `io.debezium.connector.schema.{Change,Table,Column}` (all version 1).
pub(crate) fn schema_change_value_schema(connector: Connector) -> ConnectSchema {
    let strings = || ConnectSchema::new(SchemaType::Array(Box::new(prim(SchemaType::String, false)))).optional(true);
    let column = ConnectSchema::structure(vec![
        field("name", prim(SchemaType::String, false)),
        field("jdbcType", prim(SchemaType::Int32, false)),
        field("nativeType", prim(SchemaType::Int32, true)),
        field("typeName", prim(SchemaType::String, false)),
        field("typeExpression", prim(SchemaType::String, true)),
        field("charsetName", prim(SchemaType::String, true)),
        field("length", prim(SchemaType::Int32, true)),
        field("scale", prim(SchemaType::Int32, true)),
        field("position", prim(SchemaType::Int32, false)),
        field("optional", prim(SchemaType::Boolean, true)),
        field("autoIncremented", prim(SchemaType::Boolean, true)),
        field("generated", prim(SchemaType::Boolean, true)),
        field("comment", prim(SchemaType::String, true)),
        field("defaultValueExpression", prim(SchemaType::String, true)),
        field("enumValues", strings()),
    ])
    .named("io.debezium.connector.schema.Column", Some(1));
    let table = ConnectSchema::structure(vec![
        field("defaultCharsetName", prim(SchemaType::String, true)),
        field("primaryKeyColumnNames", strings()),
        field("columns", ConnectSchema::new(SchemaType::Array(Box::new(column)))),
        field("comment", prim(SchemaType::String, true)),
    ])
    .optional(true)
    .named("io.debezium.connector.schema.Table", Some(1));
    let change = ConnectSchema::structure(vec![
        field("type", prim(SchemaType::String, false)),
        field("id", prim(SchemaType::String, false)),
        field("table", table),
    ])
    .named("io.debezium.connector.schema.Change", Some(1));
    ConnectSchema::structure(vec![
        field("source", source_schema(connector)),
        field("ts_ms", prim(SchemaType::Int64, false)),
        field("databaseName", prim(SchemaType::String, true)),
        field("schemaName", prim(SchemaType::String, true)),
        field("ddl", prim(SchemaType::String, true)),
        field("tableChanges", ConnectSchema::new(SchemaType::Array(Box::new(change)))),
    ])
    .named(
        format!("io.debezium.connector.{}.SchemaChangeValue", connector.name()),
        Some(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_follows_json_converter() {
        let mut s = ConnectSchema::new(SchemaType::Bytes)
            .optional(true)
            .named("org.apache.kafka.connect.data.Decimal", Some(1))
            .param("scale", "2")
            .param("connect.decimal.precision", "10")
            .doc("price");
        s.default = Some(b"\"AA==\"".to_vec());
        let mut out = Vec::new();
        s.write_json(&mut out, Some("p"));
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"doc":"price","parameters":{"scale":"2","connect.decimal.precision":"10"},"default":"AA==","field":"p"}"#
        );
    }

    #[test]
    fn source_schema_json() {
        let json = String::from_utf8(source_schema(Connector::Mysql).to_json()).expect("utf8");
        assert!(json.starts_with(r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},"#));
        assert!(json.contains(r#"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"}"#));
        assert!(json.ends_with(r#"{"type":"string","optional":true,"field":"query"}],"optional":false,"name":"io.debezium.connector.mysql.Source","version":1}"#));
        let maria = String::from_utf8(source_schema(Connector::Mariadb).to_json()).expect("utf8");
        assert!(maria.contains("io.debezium.connector.mariadb.Source"));
    }
}
