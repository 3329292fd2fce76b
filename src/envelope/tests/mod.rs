//! Golden tests: full JSON, as Debezium 3.6.1.Final + `JsonConverter`
//! would write it, for every type family under each relevant mode.
//!
//! This file holds the shared fixtures (the source block, its schema,
//! one-column encoders); the goldens are split by concept: `values`
//! (non-temporal types), `temporal` (dates and times), `messages`
//! (whole keys and values, the connector's other records) and `names`
//! (schema and field names under the name adjustment modes).

use super::*;
use crate::source::mysql::column::{BlobSize, ColumnType, ColumnValue as V, GeometryKind};

const SOURCE_SCHEMA: &str = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":true,"field":"table"},{"type":"int64","optional":false,"field":"server_id"},{"type":"string","optional":true,"field":"gtid"},{"type":"string","optional":false,"field":"file"},{"type":"int64","optional":false,"field":"pos"},{"type":"int32","optional":false,"field":"row"},{"type":"int64","optional":true,"field":"thread"},{"type":"string","optional":true,"field":"query"}],"optional":false,"name":"io.debezium.connector.mysql.Source","version":1,"field":"source"}"#;

const TX_SCHEMA: &str = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"}"#;

const SOURCE_PAYLOAD: &str = r#"{"version":"3.6.1.Final","connector":"mysql","name":"srv","ts_ms":1529476623000,"snapshot":"false","db":"shop","sequence":null,"ts_us":1529476623000000,"ts_ns":1529476623000000000,"table":"t","server_id":223344,"gtid":null,"file":"mysql-bin.000003","pos":154,"row":0,"thread":7,"query":null}"#;

fn source() -> SourceInfo<'static> {
    SourceInfo {
        connector: Connector::Mysql,
        name: "srv",
        ts_ms: 0,
        ts_us: 0,
        ts_ns: 0,
        snapshot: Snapshot::False,
        db: "shop",
        sequence: None,
        table: Some("t"),
        server_id: 223344,
        gtid: None,
        file: "mysql-bin.000003",
        pos: 154,
        row: 0,
        thread: Some(7),
        query: None,
    }
    .with_time_us(1_529_476_623_000_000)
}

fn col(name: &str, position: usize, column_type: ColumnType, nullable: bool) -> ColumnSchema {
    ColumnSchema {
        name: name.into(),
        position,
        column_type,
        nullable,
        in_primary_key: false,
        binlog_type: 0,
        binlog_meta: [0, 0],
        default: None,
        comment: None,
        auto_increment: false,
        generated: false,
    }
}

fn payload_only() -> EncodingOptions {
    EncodingOptions {
        key_schemas_enable: false,
        value_schemas_enable: false,
        ..EncodingOptions::default()
    }
}

fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("utf8")
}

/// The full insert payload for a one-column table `c` with value `field`.
fn insert_payload(field: &str) -> String {
    format!(
        r#"{{"before":null,"after":{{"c":{field}}},"source":{SOURCE_PAYLOAD},"transaction":null,"op":"c","ts_ms":1700000000000,"ts_us":1700000000000000,"ts_ns":1700000000000000000}}"#
    )
}

/// Encodes one value of a one-column table and returns (value payload,
/// the column's field schema as it appears in the envelope's `after`).
fn encode_one(
    column_type: ColumnType,
    nullable: bool,
    options: EncodingOptions,
    value: V,
) -> Result<(String, String), EncodeError> {
    let columns = vec![col("c", 0, column_type, nullable)];
    let mut with_schema = options.clone();
    with_schema.value_schemas_enable = true;
    let schema_encoder = TableEncoder::new("srv", "shop", "t", &columns, Some(&[]), with_schema)?;
    let encoder = TableEncoder::new(
        "srv",
        "shop",
        "t",
        &columns,
        Some(&[]),
        EncodingOptions {
            value_schemas_enable: false,
            ..options
        },
    )?;
    let row = vec![value];
    let payload = utf8(encoder.value(Op::Create, None, Some(&row), &source(), 1_700_000_000_000, None)?);
    // Extract the field schema from the envelope schema: it sits between
    // `"fields":[` and `],"optional":true,"name":"srv.shop.t.Value"`.
    let schema = utf8(schema_encoder.value_schema_json(Connector::Mysql).to_vec());
    let marker = "\"fields\":[{\"type\":\"struct\",\"fields\":[";
    let start = schema.find(marker).expect("envelope") + marker.len();
    let end = schema
        .find("],\"optional\":true,\"name\":\"srv.shop.t.Value\"")
        .expect("value schema");
    Ok((payload, schema[start..end].to_owned()))
}

/// Asserts the value payload and the field schema of one case.
#[track_caller]
fn case(column_type: ColumnType, nullable: bool, options: &EncodingOptions, value: V, field: &str, field_schema: &str) {
    let (payload, schema) = encode_one(column_type, nullable, options.clone(), value).expect("encodes");
    assert_eq!(payload, insert_payload(field));
    assert_eq!(schema, field_schema);
}

fn opts() -> EncodingOptions {
    EncodingOptions::default()
}

mod messages;
mod names;
mod temporal;
mod values;
