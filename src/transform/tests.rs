//! Golden tests of the transforms on change events the encoder produces
//! (the same bytes the source writes), schemas on and off, against the
//! output Debezium's and Kafka's documentation and sources give.
use std::collections::BTreeMap;

use super::*;
use crate::envelope::{
    Connector, ConnectorEncoder, EncodingOptions, Op, Snapshot, SourceInfo, TableChange, TableChangeKind, TableEncoder, TransactionInfo,
};
use crate::source::mysql::column::{BlobSize, ColumnSchema, ColumnType, ColumnValue as V, Row};

fn col(name: &str, position: usize, column_type: ColumnType, nullable: bool) -> ColumnSchema {
    ColumnSchema {
        name: name.into(),
        position,
        column_type,
        nullable,
        in_primary_key: position == 0,
        binlog_type: 0,
        binlog_meta: [0, 0],
        default: None,
        comment: None,
        auto_increment: false,
        generated: false,
    }
}

/// `id INT PRIMARY KEY, name VARCHAR(20) NULL`.
fn simple_columns() -> Vec<ColumnSchema> {
    vec![
        col("id", 0, ColumnType::Int { unsigned: false }, false),
        col("name", 1, ColumnType::VarChar { collation: 45, max_bytes: 80 }, true),
    ]
}

/// Every type family the envelope golden tests cover.
fn wide_columns() -> Vec<ColumnSchema> {
    let mut columns = vec![
        col("id", 0, ColumnType::BigInt { unsigned: false }, false),
        col("tiny", 1, ColumnType::TinyInt { unsigned: false }, true),
        col("price", 2, ColumnType::Decimal { precision: 10, scale: 2, unsigned: false }, true),
        col("f", 3, ColumnType::Float { unsigned: false, scaled: false }, true),
        col("d", 4, ColumnType::Double { unsigned: false }, false),
        col("bits", 5, ColumnType::Bit { bits: 10 }, true),
        col("flag", 6, ColumnType::Bit { bits: 1 }, true),
        col("txt", 7, ColumnType::Text { collation: 45, size: BlobSize::Regular }, true),
        col("blob", 8, ColumnType::Blob { size: BlobSize::Regular }, true),
        col("day", 9, ColumnType::Date, true),
        col("t", 10, ColumnType::Time { fsp: 6 }, true),
        col("dt", 11, ColumnType::DateTime { fsp: 3 }, true),
        col("ts", 12, ColumnType::Timestamp { fsp: 6 }, false),
        col("y", 13, ColumnType::Year, true),
        col("e", 14, ColumnType::Enum { values: vec!["a,b".into(), "c".into()], collation: 45 }, true),
        col("s", 15, ColumnType::Set { values: vec!["x".into(), "y".into()], collation: 45 }, true),
        col("j", 16, ColumnType::Json, true),
        col("req", 17, ColumnType::VarChar { collation: 45, max_bytes: 80 }, false),
    ];
    columns[17].default = Some(V::Text("dflt".into()));
    columns
}

fn wide_row(n: i64) -> Row {
    vec![
        V::Int(n),
        V::Int(-5),
        V::Decimal("-12.50".into()),
        V::Float(1.1),
        V::Double(0.1 + 0.2),
        V::Bit(vec![0x02, 0x01]),
        V::Bit(vec![1]),
        V::Text("quote \" back \\ nl \n tab \t \u{1} é 😀".into()),
        V::Bytes(vec![0, 1, 2, 250, 255]),
        V::Date { year: 2024, month: 2, day: 29 },
        V::Time { negative: true, hours: 838, minutes: 59, seconds: 59, micros: 0 },
        V::DateTime { year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5, micros: 678_000 },
        V::Timestamp { secs: 1_700_000_000, micros: 123_456 },
        V::Year(2024),
        V::Enum(1),
        V::Set(3),
        V::Json("{\"a\":[1,2.5,null]}".into()),
        V::Null,
    ]
}

fn source(snapshot: Snapshot) -> SourceInfo<'static> {
    SourceInfo {
        connector: Connector::Mariadb,
        name: "srv",
        ts_ms: 0,
        ts_us: 0,
        ts_ns: 0,
        snapshot,
        db: "shop",
        sequence: None,
        table: Some("t"),
        server_id: 223344,
        gtid: Some("0-1-42"),
        file: "mysql-bin.000003",
        pos: 154,
        row: 0,
        thread: Some(7),
        query: None,
    }
    .with_time_us(1_529_476_623_000_000)
}

const TS: i64 = 1_700_000_000_000;

fn schemas(on: bool) -> EncodingOptions {
    EncodingOptions {
        key_schemas_enable: on,
        value_schemas_enable: on,
        ..EncodingOptions::default()
    }
}

/// The records the source writes for one change: the event, and for a
/// delete its tombstone.
fn event(
    encoder: &TableEncoder,
    op: Op,
    before: Option<&Row>,
    after: Option<&Row>,
    tx: Option<&TransactionInfo<'_>>,
) -> Vec<Record> {
    let key_row = after.or(before).expect("a row");
    let key = encoder.key(key_row).unwrap();
    let snapshot = if op == Op::Read { Snapshot::True } else { Snapshot::False };
    let info = source(snapshot);
    // As the source writes a change event: with its layout when its
    // schemas travel by reference.
    let (value, layout) = encoder.value_with_layout(op, before, after, &info, TS, tx).unwrap();
    let mut out = vec![Record {
        topic: encoder.topic().into(),
        key: key.clone(),
        value: Some(value),
        // A header of some producer's, for the header transforms to act on.
        headers: vec![("app.position".into(), b"{\"pos\":154}".to_vec())],
        schemas: encoder.record_schemas(info.connector),
        layout,
        change_event: true,
    }];
    if op == Op::Delete {
        out.push(Record {
            topic: encoder.topic().into(),
            key,
            value: None,
            headers: Vec::new(),
            schemas: encoder.record_schemas(info.connector),
            layout: None,
            change_event: false,
        });
    }
    out
}

fn chain(pairs: &[(&str, &str)], schemas_on: bool) -> TransformChain {
    let props: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = TransformsConfig::parse(&props).unwrap();
    TransformChain::new(
        &config,
        OutputFormat {
            key_schemas_enable: schemas_on,
            value_schemas_enable: schemas_on,
        },
    )
}

fn text(bytes: &Option<Vec<u8>>) -> String {
    match bytes {
        Some(b) => String::from_utf8(b.clone()).unwrap(),
        None => "<null>".into(),
    }
}

/// With an empty chain, the model path writes exactly what the direct
/// path writes, schemas on and off, for every type family, every kind of
/// data event and the connector's other records.
#[test]
fn empty_chain_is_byte_identical_to_the_direct_path() {
    // The source writes schemas inline, or hands them by reference as the
    // owner of a connector with transforms has it do: the same output.
    let by_reference = EncodingOptions { schemas_by_reference: true, ..schemas(true) };
    for (columns, source_options) in [
        (simple_columns(), schemas(true)),
        (wide_columns(), schemas(true)),
        (simple_columns(), by_reference.clone()),
        (wide_columns(), by_reference),
    ] {
        let with_schemas = TableEncoder::new("srv", "shop", "t", &columns, None, source_options).unwrap();
        let rows: Vec<Row> = if columns.len() == 2 {
            vec![vec![V::Int(1), V::Text("a".into())], vec![V::Int(2), V::Null]]
        } else {
            vec![wide_row(1), wide_row(-7)]
        };
        let tx = TransactionInfo { id: "0-1-42", total_order: 1, data_collection_order: 1 };
        let mut source_records = Vec::new();
        source_records.extend(event(&with_schemas, Op::Create, None, Some(&rows[0]), Some(&tx)));
        source_records.extend(event(&with_schemas, Op::Update, Some(&rows[0]), Some(&rows[1]), None));
        source_records.extend(event(&with_schemas, Op::Delete, Some(&rows[1]), None, None));
        source_records.extend(event(&with_schemas, Op::Read, None, Some(&rows[0]), None));
        for on in [true, false] {
            let direct = TableEncoder::new("srv", "shop", "t", &columns, None, schemas(on)).unwrap();
            let mut expected = Vec::new();
            expected.extend(event(&direct, Op::Create, None, Some(&rows[0]), Some(&tx)));
            expected.extend(event(&direct, Op::Update, Some(&rows[0]), Some(&rows[1]), None));
            expected.extend(event(&direct, Op::Delete, Some(&rows[1]), None, None));
            expected.extend(event(&direct, Op::Read, None, Some(&rows[0]), None));
            let connector = ConnectorEncoder::new("srv", Connector::Mariadb, schemas(true));
            let direct_connector = ConnectorEncoder::new("srv", Connector::Mariadb, schemas(on));
            let others = |c: &ConnectorEncoder| {
                vec![
                    Record { topic: "__debezium-heartbeat.srv".into(), key: Some(c.heartbeat_key()), value: Some(c.heartbeat_value(TS)), headers: vec![], schemas: None, layout: None, change_event: false },
                    Record { topic: "srv.transaction".into(), key: Some(c.transaction_key("0-1-42")), value: Some(c.transaction_begin("0-1-42", TS)), headers: vec![], schemas: None, layout: None, change_event: false },
                    Record {
                        topic: "srv.transaction".into(),
                        key: Some(c.transaction_key("0-1-42")),
                        value: Some(c.transaction_end("0-1-42", TS, 3, &[("srv.shop.t", 3)])),
                        headers: vec![],
                        schemas: None,
                        layout: None,
                        change_event: false,
                    },
                    Record {
                        topic: "srv".into(),
                        key: Some(c.schema_change_key("shop")),
                        value: Some(c.schema_change_value(&source(Snapshot::False), TS, Some("shop"), None, Some("DROP TABLE x"), &[])),
                        headers: vec![],
                        schemas: None,
                        layout: None,
                        change_event: false,
                    },
                    Record {
                        topic: "srv".into(),
                        key: Some(c.schema_change_key("shop")),
                        value: Some(c.schema_change_value(
                            &source(Snapshot::False),
                            TS,
                            Some("shop"),
                            None,
                            Some("CREATE TABLE t (...)"),
                            &[TableChange {
                                kind: TableChangeKind::Create,
                                db: "shop",
                                table: "t",
                                columns: &wide_columns(),
                                primary_key: &[0],
                                default_charset: Some("utf8mb4"),
                                comment: Some("a \"table\""),
                            }],
                        )),
                        headers: vec![],
                        schemas: None,
                        layout: None,
                        change_event: false,
                    },
                ]
            };
            let mut input = source_records.clone();
            input.extend(others(&connector));
            expected.extend(others(&direct_connector));
            let out = chain(&[], on).apply(input).unwrap();
            assert_eq!(out.len(), expected.len());
            for (got, want) in out.iter().zip(&expected) {
                assert_eq!(text(&got.key), text(&want.key), "schemas {on}");
                assert_eq!(text(&got.value), text(&want.value), "schemas {on}");
                assert_eq!(got.headers, want.headers);
                assert_eq!(got.topic, want.topic);
            }
        }
    }
}

fn simple() -> TableEncoder {
    TableEncoder::new("srv", "shop", "t", &simple_columns(), None, schemas(true)).unwrap()
}

/// A create (in a transaction), an update, a delete (with its
/// tombstone) and a truncate of `rows[0]`/`rows[1]`, written by an
/// encoder with `options`.
fn lifecycle(columns: &[ColumnSchema], rows: &[Row], options: EncodingOptions) -> Vec<Record> {
    let e = TableEncoder::new("srv", "shop", "t", columns, None, options).unwrap();
    let tx = TransactionInfo { id: "0-1-42", total_order: 1, data_collection_order: 1 };
    let mut out = Vec::new();
    out.extend(event(&e, Op::Create, None, Some(&rows[0]), Some(&tx)));
    out.extend(event(&e, Op::Update, Some(&rows[0]), Some(&rows[1]), None));
    out.extend(event(&e, Op::Delete, Some(&rows[1]), None, None));
    out.push(Record {
        topic: e.topic().into(),
        key: None,
        value: Some(e.value(Op::Truncate, None, None, &source(Snapshot::False), TS, None).unwrap()),
        headers: vec![],
        schemas: e.record_schemas(Connector::Mariadb),
        layout: None,
        change_event: false,
    });
    out
}

#[test]
fn an_unwrap_first_reads_only_what_it_uses_with_the_same_output() {
    // Schemas by reference let an unconditional unwrap in front skip the
    // envelope members it does not read, and keep rows as JSON text when
    // nothing after it reads inside them; the output must not change,
    // whatever it adds (nested, top-level, fallback names, headers) and
    // whatever follows it.
    const ROUTE: [(&str, &str); 3] = [
        ("transforms.r.type", "org.apache.kafka.connect.transforms.RegexRouter"),
        ("transforms.r.regex", "(.*)"),
        ("transforms.r.replacement", "x_$1"),
    ];
    // `field`: a string column of the table.
    let configs = |field: &'static str| -> Vec<Vec<(&'static str, &'static str)>> { vec![
        vec![("transforms", "u"), UNWRAP],
        vec![("transforms", "u"), UNWRAP, ("transforms.u.delete.tombstone.handling.mode", "rewrite"), ("transforms.u.add.fields", "op,table,source.ts_ms,transaction.id,ts_ms,source.snapshot")],
        vec![("transforms", "u,r"), UNWRAP, ("transforms.u.add.headers", "db,source.file,op"), ("transforms.u.add.fields", "source.nonexistent,gtid"), ROUTE[0], ROUTE[1], ROUTE[2]],
        vec![("transforms", "u"), UNWRAP, ("transforms.u.route.by.field", field), ("transforms.u.delete.tombstone.handling.mode", "rewrite-with-tombstone")],
        vec![("transforms", "u"), UNWRAP, ("transforms.u.delete.tombstone.handling.mode", "delete-to-tombstone")],
        vec![
            ("transforms", "u,h,d,f,r"),
            UNWRAP,
            ("transforms.u.delete.tombstone.handling.mode", "rewrite"),
            ("transforms.u.add.fields", "op"),
            ("transforms.h.type", "org.apache.kafka.connect.transforms.InsertHeader"),
            ("transforms.h.header", "origin"),
            ("transforms.h.value.literal", "raftcdc"),
            ("transforms.d.type", "org.apache.kafka.connect.transforms.DropHeaders"),
            ("transforms.d.headers", "app.position"),
            ("transforms.f.type", "org.apache.kafka.connect.transforms.Filter"),
            ("transforms.f.predicate", "tomb"),
            ("predicates", "tomb"),
            ("predicates.tomb.type", "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"),
            ROUTE[0],
            ROUTE[1],
            ROUTE[2],
        ],
        // A step that reads inside the row after the unwrap: rows are
        // read as values.
        vec![
            ("transforms", "u,x"),
            UNWRAP,
            ("transforms.u.add.fields", "op"),
            ("transforms.x.type", "org.apache.kafka.connect.transforms.ReplaceField$Value"),
            ("transforms.x.exclude", field),
        ],
    ]};
    let simple_rows = [row(1, Some("a")), row(1, Some("b"))];
    let wide_rows = [wide_row(1), wide_row(-7)];
    let by_reference = EncodingOptions { schemas_by_reference: true, ..schemas(true) };
    for (columns, rows, field) in [(simple_columns(), &simple_rows[..], "name"), (wide_columns(), &wide_rows[..], "req")] {
        let inline = lifecycle(&columns, rows, schemas(true));
        let referenced = lifecycle(&columns, rows, by_reference.clone());
        assert!(referenced.iter().filter(|r| r.value.is_some()).take(3).all(|r| r.layout.is_some()));
        // Read by layout (as the source hands them over), and scanned.
        let scanned: Vec<Record> = referenced.iter().cloned().map(|r| Record { layout: None, ..r }).collect();
        // Rows stay text unless a step reads inside them.
        let raw: Vec<bool> = configs(field).iter().map(|c| chain(c, true).raw_rows).collect();
        assert_eq!(raw, [true, true, true, false, true, true, false]);
        for config in &configs(field) {
            for on in [true, false] {
                let want = chain(config, on).apply(inline.clone()).unwrap();
                for input in [&referenced, &scanned] {
                    let got = chain(config, on).apply(input.clone()).unwrap();
                    assert_eq!(got.len(), want.len(), "{config:?}");
                    for (got, want) in got.iter().zip(&want) {
                        assert_eq!((text(&got.key), text(&got.value)), (text(&want.key), text(&want.value)), "{config:?} schemas {on}");
                        assert_eq!((&got.topic, &got.headers), (&want.topic, &want.headers), "{config:?}");
                    }
                }
            }
        }
    }
}

fn row(id: i64, name: Option<&str>) -> Row {
    vec![V::Int(id), name.map(|n| V::Text(n.into())).unwrap_or(V::Null)]
}

/// insert (1,'a'), update to (1,'b'), delete (+ tombstone), truncate.
fn changes() -> Vec<Record> {
    let e = simple();
    let mut out = Vec::new();
    out.extend(event(&e, Op::Create, None, Some(&row(1, Some("a"))), None));
    out.extend(event(&e, Op::Update, Some(&row(1, Some("a"))), Some(&row(1, Some("b"))), None));
    out.extend(event(&e, Op::Delete, Some(&row(1, Some("b"))), None, None));
    out.push(Record {
        topic: e.topic().into(),
        key: None,
        value: Some(e.value(Op::Truncate, None, None, &source(Snapshot::False), TS, None).unwrap()),
        headers: vec![],
        schemas: None,
        layout: None,
        change_event: false,
    });
    out
}

const UNWRAP: (&str, &str) = ("transforms.u.type", "io.debezium.transforms.ExtractNewRecordState");

fn values(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| text(&r.value)).collect()
}

const ROW_SCHEMA_FIELDS: &str = r#"{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"}"#;

#[test]
fn unwrap_default_mode_is_tombstone() {
    let out = chain(&[("transforms", "u"), UNWRAP], false).apply(changes()).unwrap();
    // create, update, delete as a null value; the tombstone and the
    // truncate are dropped.
    assert_eq!(values(&out), [r#"{"id":1,"name":"a"}"#, r#"{"id":1,"name":"b"}"#, "null"]);
    assert_eq!(text(&out[2].key), r#"{"id":1}"#);
    // The headers the source wrote stay.
    assert_eq!(out[0].headers[0].0, "app.position");

    let out = chain(&[("transforms", "u"), UNWRAP], true).apply(changes()).unwrap();
    // The extracted row's schema is required, as Debezium 3.6 writes it;
    let row_schema = format!(r#"{{"type":"struct","fields":[{ROW_SCHEMA_FIELDS}],"optional":true,"name":"srv.shop.t.Value"}}"#);
    let extracted_schema = row_schema.replace(r#""optional":true,"name""#, r#""optional":false,"name""#);
    assert_eq!(values(&out)[0], format!(r#"{{"schema":{extracted_schema},"payload":{{"id":1,"name":"a"}}}}"#));
    // `tombstone` gives a null value with the row schema (ExtractField's
    // result), which JsonConverter writes as a payload of null.
    assert_eq!(values(&out)[2], format!(r#"{{"schema":{row_schema},"payload":null}}"#));
    assert_eq!(
        text(&out[0].key),
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"srv.shop.t.Key"},"payload":{"id":1}}"#
    );
}

#[test]
fn unwrap_rewrite_with_added_fields_schemas_on_and_off() {
    let config = [
        ("transforms", "u"),
        UNWRAP,
        ("transforms.u.delete.tombstone.handling.mode", "rewrite"),
        ("transforms.u.add.fields", "op,table,source.ts_ms"),
    ];
    let out = chain(&config, false).apply(changes()).unwrap();
    assert_eq!(
        values(&out),
        [
            r#"{"id":1,"name":"a","__deleted":"false","__op":"c","__table":"t","__source_ts_ms":1529476623000}"#,
            r#"{"id":1,"name":"b","__deleted":"false","__op":"u","__table":"t","__source_ts_ms":1529476623000}"#,
            r#"{"id":1,"name":"b","__deleted":"true","__op":"d","__table":"t","__source_ts_ms":1529476623000}"#,
        ]
    );
    let out = chain(&config, true).apply(changes()).unwrap();
    let schema = format!(
        r#"{{"type":"struct","fields":[{ROW_SCHEMA_FIELDS},{{"type":"string","optional":true,"field":"__deleted"}},{{"type":"string","optional":true,"field":"__op"}},{{"type":"string","optional":true,"field":"__table"}},{{"type":"int64","optional":true,"field":"__source_ts_ms"}}],"optional":false,"name":"srv.shop.t.Value"}}"#
    );
    assert_eq!(
        values(&out)[2],
        format!(r#"{{"schema":{schema},"payload":{{"id":1,"name":"b","__deleted":"true","__op":"d","__table":"t","__source_ts_ms":1529476623000}}}}"#)
    );
}

#[test]
fn unwrap_every_delete_mode() {
    let run = |mode: &str| {
        let out = chain(&[("transforms", "u"), UNWRAP, ("transforms.u.delete.tombstone.handling.mode", mode)], false)
            .apply(changes())
            .unwrap();
        values(&out)
    };
    assert_eq!(run("drop"), [r#"{"id":1,"name":"a"}"#, r#"{"id":1,"name":"b"}"#]);
    assert_eq!(run("tombstone"), [r#"{"id":1,"name":"a"}"#, r#"{"id":1,"name":"b"}"#, "null"]);
    assert_eq!(
        run("rewrite-with-tombstone"),
        [
            r#"{"id":1,"name":"a","__deleted":"false"}"#,
            r#"{"id":1,"name":"b","__deleted":"false"}"#,
            r#"{"id":1,"name":"b","__deleted":"true"}"#,
            "<null>"
        ]
    );
    // A real Kafka tombstone (null bytes) in place of the delete.
    assert_eq!(run("delete-to-tombstone"), [r#"{"id":1,"name":"a"}"#, r#"{"id":1,"name":"b"}"#, "<null>"]);
    let legacy = |pairs: &[(&str, &str)]| {
        let mut all = vec![("transforms", "u"), UNWRAP];
        all.extend_from_slice(pairs);
        values(&chain(&all, false).apply(changes()).unwrap())
    };
    assert_eq!(legacy(&[("transforms.u.drop.tombstones", "false")]), [r#"{"id":1,"name":"a"}"#, r#"{"id":1,"name":"b"}"#, "null", "<null>"]);
    assert_eq!(legacy(&[("transforms.u.delete.handling.mode", "drop")]), [r#"{"id":1,"name":"a"}"#, r#"{"id":1,"name":"b"}"#]);
}

#[test]
fn unwrap_headers_prefixes_renames_and_routing() {
    let config = [
        ("transforms", "u"),
        UNWRAP,
        ("transforms.u.add.headers", "op,source.db,ts_ms"),
        ("transforms.u.add.headers.prefix", "dbz."),
        ("transforms.u.add.fields", "gtid:gtid,file,snapshot,transaction.id"),
        ("transforms.u.add.fields.prefix", "_"),
        ("transforms.u.route.by.field", "name"),
        ("transforms.u.delete.tombstone.handling.mode", "rewrite-with-tombstone"),
    ];
    let out = chain(&config, false).apply(changes()).unwrap();
    assert_eq!(out[0].topic, "a", "routed by the row's `name`");
    assert_eq!(out[2].topic, "b", "a delete is routed by `before`");
    assert_eq!(out[3].topic, "srv.shop.t", "the tombstone keeps its topic");
    // The snapshot marker is unset outside snapshots, the transaction
    // block is absent: both null.
    assert_eq!(
        text(&out[0].value),
        r#"{"id":1,"name":"a","__deleted":"false","_gtid":"0-1-42","_file":"mysql-bin.000003","_snapshot":null,"_transaction_id":null}"#
    );
    let headers: Vec<(String, String)> = out[0].headers.iter().map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).unwrap())).collect();
    assert_eq!(
        headers,
        [
            ("app.position".to_string(), "{\"pos\":154}".to_string()),
            ("dbz.op".into(), "c".into()),
            ("dbz.source_db".into(), "shop".into()),
            ("dbz.ts_ms".into(), TS.to_string()),
        ]
    );
    // A tombstone gets only the operation header, as "d".
    let tombstone_headers: Vec<&str> = out[3].headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(tombstone_headers, ["dbz.op"]);
    assert_eq!(out[3].headers[0].1, b"d");
}

#[test]
fn unwrap_passes_other_records_unchanged() {
    let connector = ConnectorEncoder::new("srv", Connector::Mariadb, schemas(true));
    let heartbeat = Record {
        topic: "__debezium-heartbeat.srv".into(),
        key: Some(connector.heartbeat_key()),
        value: Some(connector.heartbeat_value(TS)),
        headers: vec![],
        schemas: None,
        layout: None,
        change_event: false,
    };
    let out = chain(&[("transforms", "u"), UNWRAP], true).apply(vec![heartbeat.clone()]).unwrap();
    assert_eq!(out, [heartbeat]);
}

#[test]
fn regex_router_and_filter_with_predicates() {
    let connector = ConnectorEncoder::new("srv", Connector::Mariadb, schemas(true));
    let mut input = changes();
    input.push(Record {
        topic: "__debezium-heartbeat.srv".into(),
        key: Some(connector.heartbeat_key()),
        value: Some(connector.heartbeat_value(TS)),
        headers: vec![],
        schemas: None,
        layout: None,
        change_event: false,
    });
    let config = [
        ("transforms", "dropHeartbeats,dropTombstones,route"),
        ("transforms.dropHeartbeats.type", "org.apache.kafka.connect.transforms.Filter"),
        ("transforms.dropHeartbeats.predicate", "isHeartbeat"),
        ("transforms.dropTombstones.type", "Filter"),
        ("transforms.dropTombstones.predicate", "isTombstone"),
        ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
        ("transforms.route.regex", "srv\\.([^.]+)\\.(.*)"),
        ("transforms.route.replacement", "cdc.$1_$2"),
        ("transforms.route.predicate", "positioned"),
        ("predicates", "isHeartbeat,isTombstone,positioned"),
        ("predicates.isHeartbeat.type", "TopicNameMatches"),
        ("predicates.isHeartbeat.pattern", "__debezium-heartbeat\\..*"),
        ("predicates.isTombstone.type", "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"),
        ("predicates.positioned.type", "HasHeaderKey"),
        ("predicates.positioned.name", "app.position"),
    ];
    let out = chain(&config, false).apply(input).unwrap();
    let topics: Vec<&str> = out.iter().map(|r| r.topic.as_str()).collect();
    // create, update, delete routed; the tombstone and the heartbeat
    // dropped; the truncate has no position header: not routed.
    assert_eq!(topics, ["cdc.shop_t", "cdc.shop_t", "cdc.shop_t", "srv.shop.t"]);

    // negate: route everything *except* heartbeats.
    let config = [
        ("transforms", "route"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", "(.*)"),
        ("transforms.route.replacement", "all"),
        ("transforms.route.predicate", "isHeartbeat"),
        ("transforms.route.negate", "true"),
        ("predicates", "isHeartbeat"),
        ("predicates.isHeartbeat.type", "TopicNameMatches"),
        ("predicates.isHeartbeat.pattern", "__debezium-heartbeat.*"),
    ];
    let mut input = changes();
    input.push(Record {
        topic: "__debezium-heartbeat.srv".into(),
        key: Some(connector.heartbeat_key()),
        value: Some(connector.heartbeat_value(TS)),
        headers: vec![],
        schemas: None,
        layout: None,
        change_event: false,
    });
    let out = chain(&config, true).apply(input).unwrap();
    assert_eq!(out.last().unwrap().topic, "__debezium-heartbeat.srv");
    assert!(out[..out.len() - 1].iter().all(|r| r.topic == "all"));
}

/// Create and delete of (1,'a') through unwrap then `more`, schemas off.
fn unwrapped_then(more: &[(&str, &str)], schemas_on: bool) -> Vec<Record> {
    let mut config = vec![("transforms", "u,t"), UNWRAP];
    config.extend_from_slice(more);
    let e = simple();
    let mut input = event(&e, Op::Create, None, Some(&row(1, Some("a"))), None);
    input.extend(event(&e, Op::Delete, Some(&row(1, Some("a"))), None, None));
    chain(&config, schemas_on).apply(input).unwrap()
}

#[test]
fn replace_field_excludes_includes_and_renames() {
    let out = unwrapped_then(
        &[("transforms.t.type", "org.apache.kafka.connect.transforms.ReplaceField$Value"), ("transforms.t.exclude", "name"), ("transforms.t.renames", "id:key_id")],
        true,
    );
    assert_eq!(
        text(&out[0].value),
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"key_id"}],"optional":false,"name":"srv.shop.t.Value"},"payload":{"key_id":1}}"#
    );
    // The delete's null value (tombstone mode) stays null, without schema.
    assert_eq!(text(&out[1].value), "<null>");
    let out = unwrapped_then(&[("transforms.t.type", "ReplaceField$Key"), ("transforms.t.include", "nothing")], false);
    assert_eq!(text(&out[0].key), "{}");
}

#[test]
fn insert_field_topic_and_static() {
    let out = unwrapped_then(
        &[
            ("transforms.t.type", "org.apache.kafka.connect.transforms.InsertField$Value"),
            ("transforms.t.topic.field", "topic!"),
            ("transforms.t.static.field", "origin"),
            ("transforms.t.static.value", "mariadb"),
            ("transforms.t.timestamp.field", "ts"),
        ],
        true,
    );
    assert_eq!(
        text(&out[0].value),
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{ROW_SCHEMA_FIELDS},{{"type":"string","optional":false,"field":"topic"}},{{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"}},{{"type":"string","optional":true,"field":"origin"}}],"optional":false,"name":"srv.shop.t.Value"}},"payload":{{"id":1,"name":"a","topic":"srv.shop.t","ts":null,"origin":"mariadb"}}}}"#
        )
    );
    // A null value passes unchanged.
    assert!(text(&out[1].value).ends_with(r#""payload":null}"#));
}

#[test]
fn value_to_key_extract_hoist_mask() {
    let out = unwrapped_then(&[("transforms.t.type", "ValueToKey"), ("transforms.t.fields", "name,id")], true);
    assert_eq!(
        text(&out[0].key),
        r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"field":"name"},{"type":"int32","optional":false,"field":"id"}],"optional":false},"payload":{"name":"a","id":1}}"#
    );
    let out = unwrapped_then(&[("transforms.t.type", "ExtractField$Key"), ("transforms.t.field", "id")], true);
    assert_eq!(text(&out[0].key), r#"{"schema":{"type":"int32","optional":false},"payload":1}"#);
    let out = unwrapped_then(&[("transforms.t.type", "ExtractField$Value"), ("transforms.t.field", "name")], false);
    assert_eq!(text(&out[0].value), r#""a""#);
    let out = unwrapped_then(&[("transforms.t.type", "HoistField$Key"), ("transforms.t.field", "k")], false);
    assert_eq!(text(&out[0].key), r#"{"k":{"id":1}}"#);
    let out = unwrapped_then(&[("transforms.t.type", "MaskField$Value"), ("transforms.t.fields", "name,id")], false);
    assert_eq!(text(&out[0].value), r#"{"id":0,"name":""}"#);
    let out = unwrapped_then(&[("transforms.t.type", "MaskField$Value"), ("transforms.t.fields", "name"), ("transforms.t.replacement", "***")], false);
    assert_eq!(text(&out[0].value), r#"{"id":1,"name":"***"}"#);
}

#[test]
fn flatten_schema_metadata_and_headers() {
    let config = [
        ("transforms", "flat,meta,hdr,drop"),
        ("transforms.flat.type", "org.apache.kafka.connect.transforms.Flatten$Value"),
        ("transforms.flat.delimiter", "_"),
        ("transforms.meta.type", "SetSchemaMetadata$Value"),
        ("transforms.meta.schema.name", "flat.Row"),
        ("transforms.meta.schema.version", "3"),
        ("transforms.hdr.type", "InsertHeader"),
        ("transforms.hdr.header", "origin"),
        ("transforms.hdr.value.literal", "raftcdc"),
        ("transforms.drop.type", "DropHeaders"),
        ("transforms.drop.headers", "app.position"),
    ];
    let e = simple();
    let input = event(&e, Op::Create, None, Some(&row(1, Some("a"))), None);
    let out = chain(&config, true).apply(input).unwrap();
    let value: serde_json::Value = serde_json::from_slice(out[0].value.as_ref().unwrap()).unwrap();
    let names: Vec<&str> = value["schema"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(&names[..6], ["before_id", "before_name", "after_id", "after_name", "source_version", "source_connector"]);
    // Fields of an optional struct become optional.
    assert_eq!(value["schema"]["fields"][0]["optional"], true);
    assert_eq!(value["schema"]["name"], "flat.Row");
    assert_eq!(value["schema"]["version"], 3);
    assert_eq!(value["payload"]["after_name"], "a");
    assert_eq!(value["payload"]["before_id"], serde_json::Value::Null);
    assert_eq!(out[0].headers, [("origin".to_string(), b"raftcdc".to_vec())]);
}

#[test]
fn cast_fields_and_whole_values() {
    let out = unwrapped_then(&[("transforms.t.type", "org.apache.kafka.connect.transforms.Cast$Value"), ("transforms.t.spec", "id:float64")], true);
    assert_eq!(
        text(&out[0].value),
        r#"{"schema":{"type":"struct","fields":[{"type":"double","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"}],"optional":false,"name":"srv.shop.t.Value"},"payload":{"id":1.0,"name":"a"}}"#
    );
    let out = unwrapped_then(&[("transforms.t.type", "Cast$Value"), ("transforms.t.spec", "id:string,name:boolean")], false);
    assert_eq!(text(&out[0].value), r#"{"id":"1","name":false}"#);
    let mut config = vec![("transforms", "u,k,t"), UNWRAP];
    config.extend([
        ("transforms.k.type", "ExtractField$Key"),
        ("transforms.k.field", "id"),
        ("transforms.t.type", "Cast$Key"),
        ("transforms.t.spec", "int8"),
    ]);
    let e = simple();
    let out = chain(&config, true).apply(event(&e, Op::Create, None, Some(&row(300, Some("a"))), None)).unwrap();
    // 300 narrows as Java's byteValue() does.
    assert_eq!(text(&out[0].key), r#"{"schema":{"type":"int8","optional":false},"payload":44}"#);
    // A string that is not a number fails the record, naming the transform.
    let mut config = vec![("transforms", "u,t"), UNWRAP];
    config.extend([("transforms.t.type", "Cast$Value"), ("transforms.t.spec", "name:int32")]);
    let error = chain(&config, false).apply(event(&e, Op::Create, None, Some(&row(1, Some("a"))), None)).unwrap_err();
    assert!(error.to_string().contains("transform `t`") && error.to_string().contains("\"a\" is not an integer"), "{error}");
    let refused = TransformsConfig::parse(&[("transforms", "t"), ("transforms.t.type", "Cast$Value"), ("transforms.t.spec", "id:decimal")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap_err();
    assert_eq!(refused.property, "transforms.t.spec");
}

#[test]
fn skipping_a_value_stops_exactly_after_it() {
    for (json, rest) in [
        (r#""a \"quoted\" \\ string","#, ","),
        (r#"{"a":[1,2,{"b":"}"}],"c":null}}"#, "}"),
        (r#"-1.5e-7 ,"#, " ,"),
        (r#"null]"#, "]"),
        (r#"true}"#, "}"),
        (r#"[[],{}, "x"] "#, " "),
    ] {
        let mut reader = super::codec::Reader::new(json.as_bytes());
        reader.skip().unwrap();
        assert_eq!(&json[reader.position()..], rest, "{json}");
    }
    assert!(super::codec::Reader::new(br#"{"a":"#).skip().is_err());
    assert!(super::codec::Reader::new(br#""open"#).skip().is_err());
}
