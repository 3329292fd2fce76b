//! Whole messages: keys and values with and without schemas, MariaDB
//! names, option parsing, heartbeat, transaction and schema-change
//! records, column mappers, source-type parameters, and the encoding
//! benchmark.

use super::*;

/// A key and a value hold exactly their bytes (no spare capacity the
/// owner's queue would carry), with and without schemas, for a small
/// event after a large one on the same thread.
#[test]
fn keys_and_values_hold_exactly_their_bytes() {
    let mut id = col("id", 0, ColumnType::Int { unsigned: false }, false);
    id.in_primary_key = true;
    let text = ColumnType::VarChar { collation: 45, max_bytes: 1_000_000 };
    let columns = vec![id, col("name", 1, text, true)];
    for schemas in [false, true] {
        let options = EncodingOptions { value_schemas_enable: schemas, key_schemas_enable: schemas, ..opts() };
        let encoder = TableEncoder::new("srv", "shop", "t", &columns, None, options).expect("encoder");
        for name in ["x".repeat(2_000_000), "small".to_string()] {
            let row = vec![V::Int(1), V::Text(name)];
            let key = encoder.key(&row).expect("key").expect("has key");
            let value = encoder.value(Op::Create, None, Some(&row), &source(), 1, None).expect("value");
            assert_eq!((key.capacity(), value.capacity()), (key.len(), value.len()), "schemas {schemas}");
        }
    }
}

/// The complete key and value, schemas enabled, for a small table.
#[test]
fn full_messages_with_schemas() {
    let mut id = col("id", 0, ColumnType::Int { unsigned: false }, false);
    id.in_primary_key = true;
    let columns = vec![
        id,
        col(
            "name",
            1,
            ColumnType::VarChar {
                collation: 45,
                max_bytes: 1020,
            },
            true,
        ),
    ];
    let encoder = TableEncoder::new("srv", "shop", "t", &columns, None, opts()).expect("encoder");
    assert_eq!(encoder.topic(), "srv.shop.t");
    let before = vec![V::Int(1), V::Text("old".into())];
    let after = vec![V::Int(1), V::Text("new".into())];
    let key = utf8(encoder.key(&after).expect("key").expect("has key"));
    assert_eq!(
        key,
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"srv.shop.t.Key"},"payload":{"id":1}}"#
    );
    let tx = TransactionInfo {
        id: "0-1-20",
        total_order: 3,
        data_collection_order: 2,
    };
    let value = utf8(
        encoder
            .value(
                Op::Update,
                Some(&before),
                Some(&after),
                &source(),
                1_700_000_000_123,
                Some(&tx),
            )
            .expect("value"),
    );
    let row_schema = |field: &str| {
        format!(
            r#"{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}},{{"type":"string","optional":true,"field":"name"}}],"optional":true,"name":"srv.shop.t.Value","field":"{field}"}}"#
        )
    };
    let expected = format!(
        r#"{{"schema":{{"type":"struct","fields":[{},{},{SOURCE_SCHEMA},{TX_SCHEMA},{{"type":"string","optional":false,"field":"op"}},{{"type":"int64","optional":true,"field":"ts_ms"}},{{"type":"int64","optional":true,"field":"ts_us"}},{{"type":"int64","optional":true,"field":"ts_ns"}}],"optional":false,"name":"srv.shop.t.Envelope","version":2}},"payload":{{"before":{{"id":1,"name":"old"}},"after":{{"id":1,"name":"new"}},"source":{SOURCE_PAYLOAD},"transaction":{{"id":"0-1-20","total_order":3,"data_collection_order":2}},"op":"u","ts_ms":1700000000123,"ts_us":1700000000123000,"ts_ns":1700000000123000000}}}}"#,
        row_schema("before"),
        row_schema("after")
    );
    assert_eq!(value, expected);
    // It is valid JSON, too.
    serde_json::from_str::<serde_json::Value>(&value).expect("valid JSON");

    // Schemas by reference: payload-only bytes, the same schema objects
    // (whose JSON is the inline schema), and a key header with its schema
    // inline as before.
    let by_reference = TableEncoder::new("srv", "shop", "t", &columns, None, EncodingOptions { schemas_by_reference: true, ..opts() })
        .expect("encoder");
    assert!(encoder.record_schemas(Connector::Mariadb).is_none());
    let schemas = by_reference.record_schemas(source().connector).expect("schemas by reference");
    let ref_key = by_reference.key(&after).expect("key").expect("has key");
    assert_eq!(utf8(ref_key.clone()), r#"{"id":1}"#);
    assert_eq!(utf8(by_reference.key_with_inline_schema(&ref_key)), key);
    assert_eq!(schemas.key.as_ref().expect("a key schema").to_json(), encoder.key_schema_json().expect("inline key schema"));
    assert_eq!(schemas.value.to_json(), encoder.value_schema_json(source().connector));
    let ref_value = utf8(
        by_reference
            .value(Op::Update, Some(&before), Some(&after), &source(), 1_700_000_000_123, Some(&tx))
            .expect("value"),
    );
    let payload_at = expected.find(",\"payload\":").expect("payload") + ",\"payload\":".len();
    assert_eq!(ref_value, expected[payload_at..expected.len() - 1]);
    // Its layout: each span is exactly that member's JSON, for the
    // envelope's members and the source block's, in schema order.
    let (laid_out, layout) = by_reference
        .value_with_layout(Op::Update, Some(&before), Some(&after), &source(), 1_700_000_000_123, Some(&tx))
        .expect("value");
    assert_eq!(utf8(laid_out.clone()), ref_value);
    let layout = layout.expect("a layout by reference");
    let parsed: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&laid_out).expect("valid JSON");
    let member = |(start, end): Span| serde_json::from_slice::<serde_json::Value>(&laid_out[start as usize..end as usize]).expect("a span is one value");
    let fields = |schema: &ConnectSchema| match &schema.kind {
        SchemaType::Struct(fields) => fields.iter().map(|(name, schema)| (name.clone(), schema.clone())).collect::<Vec<_>>(),
        _ => panic!("a struct schema"),
    };
    let envelope_fields = fields(&schemas.value);
    assert_eq!((envelope_fields.len(), parsed.len()), (ENVELOPE_MEMBERS, ENVELOPE_MEMBERS));
    for ((name, _), span) in envelope_fields.iter().zip(layout.members) {
        assert_eq!(member(span), parsed[name.as_str()], "{name}");
    }
    let source_fields = fields(&envelope_fields[2].1);
    let source_block = parsed["source"].as_object().expect("source");
    assert_eq!((source_fields.len(), source_block.len()), (SOURCE_MEMBERS, SOURCE_MEMBERS));
    for ((name, _), span) in source_fields.iter().zip(layout.source) {
        assert_eq!(member(span), source_block[name.as_str()], "source.{name}");
    }
    // Without schemas by reference there is nothing to locate.
    assert!(encoder.value_with_layout(Op::Read, None, Some(&after), &source(), 1, None).expect("value").1.is_none());

    // Delete, schemas disabled; a snapshot read.
    let plain = TableEncoder::new("srv", "shop", "t", &columns, None, payload_only()).expect("encoder");
    assert_eq!(utf8(plain.key(&before).expect("key").expect("has key")), r#"{"id":1}"#);
    let mut snap = source();
    snap.snapshot = Snapshot::Last;
    snap.thread = None;
    let read = utf8(
        plain
            .value(Op::Read, None, Some(&after), &snap, 5, None)
            .expect("value"),
    );
    assert!(read.contains(r#""snapshot":"last","db":"shop""#), "{read}");
    assert!(read.contains(r#""thread":null,"query":null}"#), "{read}");
    assert!(
        read.ends_with(r#""op":"r","ts_ms":5,"ts_us":5000,"ts_ns":5000000}"#),
        "{read}"
    );

    // Tables without a key have a null key.
    let keyless = TableEncoder::new("srv", "shop", "t", &columns, Some(&[]), opts()).expect("encoder");
    assert_eq!(keyless.key(&after).expect("key"), None);
    assert!(keyless.key_schema_json().is_none());
    // A wrong row length is an error.
    assert!(matches!(
        plain.key(&vec![V::Int(1)]),
        Err(EncodeError::RowLength { .. })
    ));
}

#[test]
fn mariadb_source_and_topic_names() {
    let columns = vec![col("c", 0, ColumnType::Int { unsigned: false }, true)];
    let encoder = TableEncoder::new("my server", "shop-1", "t$x", &columns, Some(&[]), opts()).expect("encoder");
    assert_eq!(encoder.topic(), "my_server.shop-1.t_x");
    let schema = utf8(encoder.value_schema_json(Connector::Mariadb).to_vec());
    assert!(schema.contains(r#""name":"io.debezium.connector.mariadb.Source","version":1,"field":"source""#));
    assert!(schema.ends_with(r#""name":"my_server.shop-1.t_x.Envelope","version":2}"#));
    let mut src = source();
    src.connector = Connector::Mariadb;
    src.name = "my server";
    let value = utf8(
        encoder
            .value(Op::Create, None, Some(&vec![V::Int(1)]), &src, 0, None)
            .expect("value"),
    );
    assert!(value.contains(r#""source":{"version":"3.6.1.Final","connector":"mariadb","name":"my server","#));
}

#[test]
fn options_parse_with_helpful_errors() {
    assert_eq!(
        "precise".parse::<DecimalHandlingMode>(),
        Ok(DecimalHandlingMode::Precise)
    );
    assert_eq!("STRING".parse::<DecimalHandlingMode>(), Ok(DecimalHandlingMode::String));
    assert_eq!(
        "base64-url-safe".parse::<BinaryHandlingMode>(),
        Ok(BinaryHandlingMode::Base64UrlSafe)
    );
    assert_eq!("connect".parse::<TimePrecisionMode>(), Ok(TimePrecisionMode::Connect));
    let err = "adaptive"
        .parse::<TimePrecisionMode>()
        .expect_err("MySQL refuses adaptive");
    assert_eq!(
        err.to_string(),
        "invalid value 'adaptive' for time.precision.mode; valid values: adaptive_time_microseconds, connect"
    );
    let err = "big".parse::<BigintUnsignedHandlingMode>().expect_err("invalid");
    assert!(err.to_string().ends_with("valid values: long, precise"), "{err}");
    let props = [
        ("decimal.handling.mode", "string"),
        ("value.converter.schemas.enable", "false"),
    ];
    let o = EncodingOptions::from_properties(|k| props.iter().find(|(p, _)| *p == k).map(|(_, v)| *v)).expect("valid");
    assert_eq!(o.decimal, DecimalHandlingMode::String);
    assert!(!o.value_schemas_enable && o.key_schemas_enable);
}

#[test]
fn heartbeat_and_transaction_records() {
    let c = ConnectorEncoder::new("srv", Connector::Mysql, opts());
    assert_eq!(c.heartbeat_topic("__debezium-heartbeat"), "__debezium-heartbeat.srv");
    assert_eq!(c.transaction_topic("transaction"), "srv.transaction");
    assert_eq!(
        utf8(c.heartbeat_key()),
        r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"serverName"}],"optional":false,"name":"io.debezium.connector.common.ServerNameKey","version":1},"payload":{"serverName":"srv"}}"#
    );
    assert_eq!(
        utf8(c.heartbeat_value(1_700_000_000_000)),
        r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.Heartbeat","version":1},"payload":{"ts_ms":1700000000000}}"#
    );
    assert_eq!(
        utf8(c.transaction_key("0-1-20")),
        r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"}],"optional":false,"name":"io.debezium.connector.common.TransactionMetadataKey","version":1},"payload":{"id":"0-1-20"}}"#
    );
    let tx_value_schema = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"status"},{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":true,"field":"event_count"},{"type":"array","items":{"type":"struct","fields":[{"type":"string","optional":false,"field":"data_collection"},{"type":"int64","optional":false,"field":"event_count"}],"optional":true,"name":"event.collection","version":1},"optional":true,"field":"data_collections"},{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.TransactionMetadataValue","version":1}"#;
    assert_eq!(
        utf8(c.transaction_begin("0-1-20", 10)),
        format!(
            r#"{{"schema":{tx_value_schema},"payload":{{"status":"BEGIN","id":"0-1-20","event_count":null,"data_collections":null,"ts_ms":10}}}}"#
        )
    );
    let plain = ConnectorEncoder::new("srv", Connector::Mysql, payload_only());
    assert_eq!(
        utf8(plain.transaction_end("0-1-20", 11, 3, &[("shop.t", 2), ("shop.u", 1)])),
        r#"{"status":"END","id":"0-1-20","event_count":3,"data_collections":[{"data_collection":"shop.t","event_count":2},{"data_collection":"shop.u","event_count":1}],"ts_ms":11}"#
    );
    assert_eq!(utf8(plain.heartbeat_key()), r#"{"serverName":"srv"}"#);
}

#[test]
fn schema_change_records() {
    let mut id = col("id", 0, ColumnType::Int { unsigned: true }, false);
    id.in_primary_key = true;
    id.auto_increment = true;
    let columns = vec![
        id,
        col(
            "e",
            1,
            ColumnType::Enum {
                values: vec!["a".into(), "it's".into()],
                collation: 45,
            },
            true,
        ),
        col(
            "p",
            2,
            ColumnType::Decimal {
                precision: 10,
                scale: 2,
                unsigned: false,
            },
            true,
        ),
    ];
    let plain = ConnectorEncoder::new("srv", Connector::Mysql, payload_only());
    let mut src = source();
    src.table = Some("t");
    let ddl = "CREATE TABLE t (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, e ENUM('a','it''s'), p DECIMAL(10,2))";
    let change = TableChange {
        kind: TableChangeKind::Create,
        db: "shop",
        table: "t",
        columns: &columns,
        primary_key: &[0],
        default_charset: Some("utf8mb4"),
        comment: None,
    };
    let value = utf8(plain.schema_change_value(&src, 99, Some("shop"), None, Some(ddl), &[change]));
    let expected = format!(
        r#"{{"source":{SOURCE_PAYLOAD},"ts_ms":99,"databaseName":"shop","schemaName":null,"ddl":"CREATE TABLE t (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, e ENUM('a','it''s'), p DECIMAL(10,2))","tableChanges":[{{"type":"CREATE","id":"\"shop\".\"t\"","table":{{"defaultCharsetName":"utf8mb4","primaryKeyColumnNames":["id"],"columns":[{{"name":"id","jdbcType":4,"nativeType":null,"typeName":"INT UNSIGNED","typeExpression":"INT UNSIGNED","charsetName":null,"length":null,"scale":null,"position":1,"optional":false,"autoIncremented":true,"generated":false,"comment":null,"defaultValueExpression":null,"enumValues":null}},{{"name":"e","jdbcType":1,"nativeType":null,"typeName":"ENUM","typeExpression":"ENUM","charsetName":"utf8mb4","length":null,"scale":null,"position":2,"optional":true,"autoIncremented":false,"generated":false,"comment":null,"defaultValueExpression":null,"enumValues":["'a'","'it''s'"]}},{{"name":"p","jdbcType":3,"nativeType":null,"typeName":"DECIMAL","typeExpression":"DECIMAL","charsetName":null,"length":10,"scale":2,"position":3,"optional":true,"autoIncremented":false,"generated":false,"comment":null,"defaultValueExpression":null,"enumValues":null}}],"comment":null}}}}]}}"#
    );
    assert_eq!(value, expected);
    assert_eq!(utf8(plain.schema_change_key("shop")), r#"{"databaseName":"shop"}"#);
    let with_schema = ConnectorEncoder::new("srv", Connector::Mysql, opts());
    let full = utf8(with_schema.schema_change_value(&src, 99, Some("shop"), None, Some(ddl), &[change]));
    let parsed: serde_json::Value = serde_json::from_str(&full).expect("valid JSON");
    assert_eq!(
        parsed["schema"]["name"],
        "io.debezium.connector.mysql.SchemaChangeValue"
    );
    assert_eq!(
        parsed["schema"]["fields"][5]["items"]["name"],
        "io.debezium.connector.schema.Change"
    );
    assert_eq!(
        parsed["payload"]["tableChanges"][0]["table"]["columns"][1]["charsetName"],
        "utf8mb4"
    );
    let key = utf8(with_schema.schema_change_key("shop"));
    assert!(key.starts_with(r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"databaseName"}],"optional":false,"name":"io.debezium.connector.mysql.SchemaChangeKey","version":1}"#));
}

/// Encoding speed for 9-column rows. `cargo test --release --lib
/// encode_benchmark -- --ignored --nocapture`.
#[test]
#[ignore]
fn encode_benchmark() {
    let mut id = col("id", 0, ColumnType::BigInt { unsigned: false }, false);
    id.in_primary_key = true;
    let columns = vec![
        id,
        col("a", 1, ColumnType::Int { unsigned: false }, true),
        col(
            "name",
            2,
            ColumnType::VarChar {
                collation: 45,
                max_bytes: 1020,
            },
            true,
        ),
        col(
            "email",
            3,
            ColumnType::VarChar {
                collation: 45,
                max_bytes: 1020,
            },
            true,
        ),
        col(
            "price",
            4,
            ColumnType::Decimal {
                precision: 10,
                scale: 2,
                unsigned: false,
            },
            true,
        ),
        col("created", 5, ColumnType::DateTime { fsp: 0 }, true),
        col("updated", 6, ColumnType::Timestamp { fsp: 6 }, true),
        col("score", 7, ColumnType::Double { unsigned: false }, true),
        col("flag", 8, ColumnType::TinyInt { unsigned: false }, true),
    ];
    let row = vec![
        V::Int(123_456_789),
        V::Int(42),
        V::Text("Jane Smith".into()),
        V::Text("jane@example.com".into()),
        V::Decimal("123.45".into()),
        V::DateTime {
            year: 2024,
            month: 5,
            day: 17,
            hour: 12,
            minute: 30,
            second: 1,
            micros: 0,
        },
        V::Timestamp {
            secs: 1_715_949_001,
            micros: 123_456,
        },
        V::Double(3.25),
        V::Int(1),
    ];
    for (label, options) in [("schemas enabled", opts()), ("payload only", payload_only())] {
        let encoder = TableEncoder::new("srv", "shop", "t", &columns, None, options).expect("encoder");
        let n = 500_000;
        let start = std::time::Instant::now();
        let mut bytes = 0usize;
        for i in 0..n {
            let mut src = source();
            src.row = i % 100;
            let value = encoder.value(Op::Create, None, Some(&row), &src, 1_700_000_000_000, None).expect("value");
            bytes += value.len();
            bytes += encoder.key(&row).expect("key").map_or(0, |k| k.len());
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{label}: {n} events in {secs:.3}s = {:.0} events/s, {:.0} MB/s",
            n as f64 / secs,
            bytes as f64 / secs / 1e6
        );
    }
}

/// Debezium's column mappers: values are masked, hashed or truncated, the
/// field schemas carry `masked`/`truncateLength`, keys are untouched, and
/// a null stays null when hashed but is masked by a mask.
#[test]
fn column_mappers_change_values_not_keys() {
    let varchar = |chars: u32| ColumnType::VarChar { collation: 45, max_bytes: chars * 4 };
    let mut id = col("id", 0, ColumnType::Int { unsigned: false }, false);
    id.in_primary_key = true;
    let columns = vec![
        id,
        col("name", 1, varchar(255), true),
        col("email", 2, varchar(10), true),
        col("note", 3, ColumnType::Text { collation: 45, size: BlobSize::Long }, true),
        col("code", 4, varchar(3), true),
        col("raw", 5, ColumnType::VarBinary { max_len: 100 }, true),
        col("nothing", 6, varchar(20), true),
        col("tag", 7, varchar(20), true),
    ];
    let mappers = ColumnMappers::from_properties([
        ("column.mask.with.3.chars", "shop\\.t\\.(id|name|nothing)"),
        ("column.mask.hash.SHA-1.with.salt.salt", "shop\\.t\\.email"),
        ("column.mask.hash.v2.SHA-256.with.salt.salt", "shop\\.t\\.tag"),
        ("column.truncate.to.4.chars", "shop\\.t\\.(note|code|raw)"),
    ])
    .expect("mappers");
    let options = EncodingOptions { column_mappers: mappers, ..opts() };
    let encoder = TableEncoder::new("srv", "shop", "t", &columns, None, options).expect("encoder");
    let row = vec![
        V::Int(7),
        V::Text("Alice".into()),
        V::Text("alice@example.com".into()),
        V::Text("h\u{e9}llo world".into()),
        V::Text("abc".into()),
        V::Bytes(vec![1, 2, 3, 4, 5]),
        V::Null,
        V::Text("alice@example.com".into()),
    ];
    let key = utf8(encoder.key(&row).expect("key").expect("has key"));
    assert!(key.ends_with(r#""payload":{"id":7}}"#), "{key}");
    let value: serde_json::Value = serde_json::from_slice(&encoder.value(Op::Create, None, Some(&row), &source(), 1, None).expect("value")).unwrap();
    assert_eq!(
        value["payload"]["after"],
        serde_json::json!({
            "id": 7,
            "name": "***",
            // SHA-1 v1 (JDK golden in column_mappers), cut to VARCHAR(10).
            "email": "337e27dfb0",
            "note": "h\u{e9}ll",
            "code": "abc",
            "raw": "AQIDBA==",
            "nothing": "***",
            // SHA-256 of "salt" + UTF-8, as the JDK computes it, cut to
            // VARCHAR(20).
            "tag": "109f0b7ded1d94140eda",
        })
    );
    let fields: Vec<String> = value["schema"]["fields"][1]["fields"].as_array().unwrap().iter().map(|f| f.to_string()).collect();
    assert_eq!(
        fields,
        [
            r#"{"field":"id","optional":false,"parameters":{"masked":"true"},"type":"int32"}"#,
            r#"{"field":"name","optional":true,"parameters":{"masked":"true"},"type":"string"}"#,
            r#"{"field":"email","optional":true,"parameters":{"masked":"true"},"type":"string"}"#,
            r#"{"field":"note","optional":true,"parameters":{"truncateLength":"4"},"type":"string"}"#,
            r#"{"field":"code","optional":true,"type":"string"}"#,
            r#"{"field":"raw","optional":true,"parameters":{"truncateLength":"4"},"type":"bytes"}"#,
            r#"{"field":"nothing","optional":true,"parameters":{"masked":"true"},"type":"string"}"#,
            r#"{"field":"tag","optional":true,"parameters":{"masked":"true"},"type":"string"}"#,
        ]
    );
    // A hashed null stays null.
    let mut null_email = row.clone();
    null_email[2] = V::Null;
    let value: serde_json::Value = serde_json::from_slice(&encoder.value(Op::Create, None, Some(&null_email), &source(), 1, None).expect("value")).unwrap();
    assert_eq!(value["payload"]["after"]["email"], serde_json::Value::Null);
}

/// `column.propagate.source.type` / `datatype.propagate.source.type`: the
/// `__debezium.source.column.*` parameters after the type's own, in
/// Debezium's order (type, length, scale, comment, name).
#[test]
fn source_type_parameters() {
    let mut price = col("p", 0, ColumnType::Decimal { precision: 10, scale: 2, unsigned: false }, true);
    price.comment = Some("price".into());
    let columns = vec![
        price,
        col("name", 1, ColumnType::VarChar { collation: 45, max_bytes: 1020 }, true),
        col("n", 2, ColumnType::Int { unsigned: true }, true),
    ];
    let mappers = ColumnMappers::from_properties([
        ("column.propagate.source.type", "shop\\.t\\.p"),
        ("datatype.propagate.source.type", ".+\\.varchar,.+\\.INT UNSIGNED"),
    ])
    .expect("mappers");
    let options = EncodingOptions { column_mappers: mappers, ..opts() };
    let encoder = TableEncoder::new("srv", "shop", "t", &columns, None, options).expect("encoder");
    let row = vec![V::Decimal("1.50".into()), V::Text("x".into()), V::UInt(3)];
    let value: serde_json::Value = serde_json::from_slice(&encoder.value(Op::Create, None, Some(&row), &source(), 1, None).expect("value")).unwrap();
    let parameters: Vec<String> =
        value["schema"]["fields"][1]["fields"].as_array().unwrap().iter().map(|f| f["parameters"].to_string()).collect();
    assert_eq!(
        parameters,
        [
            r#"{"__debezium.source.column.comment":"price","__debezium.source.column.length":"10","__debezium.source.column.name":"p","__debezium.source.column.scale":"2","__debezium.source.column.type":"DECIMAL","connect.decimal.precision":"10","scale":"2"}"#,
            r#"{"__debezium.source.column.length":"255","__debezium.source.column.name":"name","__debezium.source.column.type":"VARCHAR"}"#,
            r#"{"__debezium.source.column.name":"n","__debezium.source.column.type":"INT UNSIGNED"}"#,
        ]
    );
    // The order as written (serde_json sorts keys above).
    let text = String::from_utf8(encoder.value(Op::Create, None, Some(&row), &source(), 1, None).unwrap()).unwrap();
    assert!(text.contains(r#""parameters":{"scale":"2","connect.decimal.precision":"10","__debezium.source.column.type":"DECIMAL","__debezium.source.column.length":"10","__debezium.source.column.scale":"2","__debezium.source.column.comment":"price","__debezium.source.column.name":"p"}"#), "{text}");
    assert_eq!(value["payload"]["after"]["p"], "AJY=");
}
