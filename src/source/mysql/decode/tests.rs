//! Tests of the [`TableDecoder`]: table maps to schemas, v1 and v2 rows
//! events to rows, the errors, a benchmark and a live-server round trip
//! (both ignored). The table-map and rows-event body builders are shared
//! with other modules' tests. The value formats are tested in their own
//! modules.

use super::*;
use mysql_common::binlog::consts::BinlogVersion;
use mysql_common::binlog::events::{
    DeleteRowsEventV1, FormatDescriptionEvent, UpdateRowsEvent, WriteRowsEvent, WriteRowsEventV1,
};
use mysql_common::binlog::BinlogCtx;
use mysql_common::io::ParseBuf;

/// Builds a table-map body: `(type, metadata, nullable, name)` per column,
/// plus extra optional-metadata TLVs.
pub(crate) fn table_map_body(
    db: &str,
    table: &str,
    cols: &[(u8, Vec<u8>, bool, &str)],
    extra_optional: &[(u8, Vec<u8>)],
) -> Vec<u8> {
    let mut b = vec![42, 0, 0, 0, 0, 0, 1, 0];
    b.push(db.len() as u8);
    b.extend_from_slice(db.as_bytes());
    b.push(0);
    b.push(table.len() as u8);
    b.extend_from_slice(table.as_bytes());
    b.push(0);
    b.push(cols.len() as u8);
    b.extend(cols.iter().map(|c| c.0));
    let meta: Vec<u8> = cols.iter().flat_map(|c| c.1.clone()).collect();
    b.push(meta.len() as u8);
    b.extend_from_slice(&meta);
    let mut nulls = vec![0u8; cols.len().div_ceil(8)];
    for (i, c) in cols.iter().enumerate() {
        if c.2 {
            nulls[i / 8] |= 1 << (i % 8);
        }
    }
    b.extend_from_slice(&nulls);
    let mut names = Vec::new();
    for c in cols {
        names.push(c.3.len() as u8);
        names.extend_from_slice(c.3.as_bytes());
    }
    let mut tlv = |t: u8, v: &[u8]| {
        b.push(t);
        b.push(v.len() as u8);
        b.extend_from_slice(v);
    };
    tlv(4, &names);
    for (t, v) in extra_optional {
        tlv(*t, v);
    }
    b
}

fn fde() -> FormatDescriptionEvent<'static> {
    FormatDescriptionEvent::new(BinlogVersion::Version4)
}

fn parse_tme<'a>(body: &'a [u8], fde: &'a FormatDescriptionEvent<'a>) -> TableMapEvent<'a> {
    ParseBuf(body)
        .parse(BinlogCtx::new(body.len(), fde, 19))
        .expect("table map parses")
}

fn all_types_table() -> Vec<(u8, Vec<u8>, bool, &'static str)> {
    vec![
        (T_LONG, vec![], false, "id"),
        (T_INT24, vec![], true, "m"),
        (T_LONGLONG, vec![], true, "u"),
        (T_YEAR, vec![], true, "y"),
        (T_STRING, vec![0xFE, 4], true, "bin4"),
        (T_VARCHAR, vec![0xFC, 0x03], true, "name"),
        (T_STRING, vec![0xF7, 1], true, "e"),
        (T_STRING, vec![0xF8, 1], true, "s"),
        (T_BIT, vec![2, 1], true, "b"),
        (T_TIMESTAMP2, vec![3], true, "ts"),
    ]
}

fn all_types_optional() -> Vec<(u8, Vec<u8>)> {
    vec![
        // SIGNEDNESS over id, m, u, y: u unsigned → 0b0010_0000.
        (1, vec![0b0010_0000]),
        // DEFAULT_CHARSET utf8mb4 (45) with bin4 (char col 0) binary.
        (2, vec![45, 0, 63]),
        // SET values: ("x","y"); ENUM values: ("a","b").
        (5, vec![2, 1, b'x', 1, b'y']),
        (6, vec![2, 1, b'a', 1, b'b']),
        (10, vec![45]),
        (8, vec![0]),
    ]
}

#[test]
fn table_map_to_schemas() {
    let body = table_map_body("shop", "things", &all_types_table(), &all_types_optional());
    let fde = fde();
    let tme = parse_tme(&body, &fde);
    let dec = TableDecoder::new(&tme).expect("decoder");
    assert_eq!(dec.db(), "shop");
    assert_eq!(dec.table(), "things");
    assert_eq!(dec.primary_key(), &[0]);
    let c = dec.columns();
    assert_eq!(c[0].column_type, ColumnType::Int { unsigned: false });
    assert!(!c[0].nullable && c[0].in_primary_key);
    assert_eq!(c[2].column_type, ColumnType::BigInt { unsigned: true });
    assert_eq!(c[4].column_type, ColumnType::Binary { len: 4 });
    assert_eq!(
        c[5].column_type,
        ColumnType::VarChar {
            collation: 45,
            max_bytes: 1020
        }
    );
    assert_eq!(
        c[6].column_type,
        ColumnType::Enum {
            values: vec!["a".into(), "b".into()],
            collation: 45
        }
    );
    assert_eq!(
        c[7].column_type,
        ColumnType::Set {
            values: vec!["x".into(), "y".into()],
            collation: 45
        }
    );
    assert_eq!(c[8].column_type, ColumnType::Bit { bits: 10 });
    assert_eq!(c[9].column_type, ColumnType::Timestamp { fsp: 3 });
    assert_eq!(c[2].type_name(), "BIGINT UNSIGNED");
}

#[test]
fn missing_names_is_a_configuration_error() {
    let mut body = table_map_body("d", "t", &[(T_LONG, vec![], false, "id")], &[]);
    // Strip the optional metadata (the COLUMN_NAME TLV: type, length,
    // then the length-prefixed name "id": 5 bytes).
    body.truncate(body.len() - 5);
    let fde = fde();
    let tme = parse_tme(&body, &fde);
    let err = TableDecoder::new(&tme).expect_err("must refuse");
    assert!(matches!(err, DecodeError::MissingFullMetadata { .. }), "{err}");
    assert!(err.to_string().contains("binlog_row_metadata"));
}

/// A row image for `all_types_table` (all columns present).
fn all_types_row(nulls: u16, values: &[u8]) -> Vec<u8> {
    let mut r = nulls.to_le_bytes().to_vec();
    r.extend_from_slice(values);
    r
}

fn all_types_values() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&7i32.to_le_bytes()); // id
    v.extend_from_slice(&[0xFF, 0xFF, 0xFF]); // m = -1
    v.extend_from_slice(&u64::MAX.to_le_bytes()); // u
    v.push(0); // y = 0000
    v.extend_from_slice(&[2, 0xAB, 0xCD]); // bin4, stripped to 2 bytes
    let name = "héllo 😀".as_bytes();
    v.extend_from_slice(&(name.len() as u16).to_le_bytes());
    v.extend_from_slice(name);
    v.push(2); // e = 'b'
    v.push(3); // s = 'x,y'
    v.extend_from_slice(&[0x02, 0x01]); // b = 0x201
    v.extend_from_slice(&1_529_476_623u32.to_be_bytes());
    v.extend_from_slice(&1230u16.to_be_bytes()); // ts .123
    v
}

fn expected_all_types() -> Row {
    vec![
        ColumnValue::Int(7),
        ColumnValue::Int(-1),
        ColumnValue::UInt(u64::MAX),
        ColumnValue::Year(0),
        ColumnValue::Bytes(vec![0xAB, 0xCD, 0, 0]),
        ColumnValue::Text("héllo 😀".into()),
        ColumnValue::Enum(2),
        ColumnValue::Set(3),
        ColumnValue::Bit(vec![0x02, 0x01]),
        ColumnValue::Timestamp {
            secs: 1_529_476_623,
            micros: 123_000,
        },
    ]
}

pub(crate) fn rows_event_body(ncols: usize, images: usize, present: &[bool], v2: bool, rows: &[u8]) -> Vec<u8> {
    let mut b = vec![42, 0, 0, 0, 0, 0, 0, 0];
    if v2 {
        b.extend_from_slice(&[2, 0]);
    }
    b.push(ncols as u8);
    let mut bitmap = vec![0u8; ncols.div_ceil(8)];
    for (i, &p) in present.iter().enumerate() {
        if p {
            bitmap[i / 8] |= 1 << (i % 8);
        }
    }
    for _ in 0..images {
        b.extend_from_slice(&bitmap);
    }
    b.extend_from_slice(rows);
    b
}

#[test]
fn decodes_v2_insert_and_update() {
    let body = table_map_body("shop", "things", &all_types_table(), &all_types_optional());
    let fde = fde();
    let tme = parse_tme(&body, &fde);
    let dec = TableDecoder::new(&tme).expect("decoder");
    let present = vec![true; 10];

    let row = all_types_row(0, &all_types_values());
    let ev_body = rows_event_body(10, 1, &present, true, &[row.clone(), row.clone()].concat());
    let ev: WriteRowsEvent<'_> = ParseBuf(&ev_body)
        .parse(BinlogCtx::new(ev_body.len(), &fde, 30))
        .expect("write rows");
    let changes = dec.decode(&RowsEventData::WriteRowsEvent(ev)).expect("decodes");
    assert_eq!(changes.len(), 2);
    assert_eq!(
        changes[0],
        RowChange {
            before: None,
            after: Some(expected_all_types())
        }
    );

    // Update: before with all nullable columns NULL, after full.
    let nulls: u16 = 0b11_1111_1110;
    let mut before_vals = Vec::new();
    before_vals.extend_from_slice(&7i32.to_le_bytes());
    let before = all_types_row(nulls, &before_vals);
    let ev_body = rows_event_body(10, 2, &present, true, &[before, row].concat());
    let ev: UpdateRowsEvent<'_> = ParseBuf(&ev_body)
        .parse(BinlogCtx::new(ev_body.len(), &fde, 31))
        .expect("update rows");
    let changes = dec.decode(&RowsEventData::UpdateRowsEvent(ev)).expect("decodes");
    assert_eq!(changes.len(), 1);
    let mut expected_before = vec![ColumnValue::Null; 10];
    expected_before[0] = ColumnValue::Int(7);
    assert_eq!(changes[0].before.as_ref(), Some(&expected_before));
    assert_eq!(changes[0].after.as_ref(), Some(&expected_all_types()));
}

#[test]
fn decodes_v1_events_with_partial_images() {
    let body = table_map_body("shop", "things", &all_types_table(), &all_types_optional());
    let fde = fde();
    let tme = parse_tme(&body, &fde);
    let dec = TableDecoder::new(&tme).expect("decoder");

    // Only id and name present; name NULL.
    let mut present = vec![false; 10];
    present[0] = true;
    present[5] = true;
    let mut row = vec![0b10];
    row.extend_from_slice(&9i32.to_le_bytes());
    let ev_body = rows_event_body(10, 1, &present, false, &row);
    let ev: DeleteRowsEventV1<'_> = ParseBuf(&ev_body)
        .parse(BinlogCtx::new(ev_body.len(), &fde, 25))
        .expect("delete rows");
    let changes = dec.decode(&RowsEventData::DeleteRowsEventV1(ev)).expect("decodes");
    let mut expected = vec![ColumnValue::Null; 10];
    expected[0] = ColumnValue::Int(9);
    assert_eq!(
        changes,
        vec![RowChange {
            before: Some(expected),
            after: None
        }]
    );

    // A truncated v1 insert is an error, not a panic.
    let row = all_types_row(0, &all_types_values());
    let ev_body = rows_event_body(10, 1, &[true; 10], false, &row[..row.len() - 3]);
    let ev: WriteRowsEventV1<'_> = ParseBuf(&ev_body)
        .parse(BinlogCtx::new(ev_body.len(), &fde, 23))
        .expect("write rows");
    let err = dec.decode(&RowsEventData::WriteRowsEventV1(ev)).expect_err("truncated");
    assert!(
        matches!(err, DecodeError::Truncated { ref at, .. } if at == "column `ts`"),
        "{err}"
    );
}

#[test]
fn column_count_mismatch_is_reported() {
    let body = table_map_body("shop", "things", &all_types_table(), &all_types_optional());
    let fde = fde();
    let tme = parse_tme(&body, &fde);
    let dec = TableDecoder::new(&tme).expect("decoder");
    let ev_body = rows_event_body(3, 1, &[true; 3], true, &[0, 1, 0, 0, 0]);
    let ev: WriteRowsEvent<'_> = ParseBuf(&ev_body)
        .parse(BinlogCtx::new(ev_body.len(), &fde, 30))
        .expect("write rows");
    assert!(matches!(
        dec.decode(&RowsEventData::WriteRowsEvent(ev)),
        Err(DecodeError::ColumnCountMismatch {
            expected: 10,
            actual: 3,
            ..
        })
    ));
}

/// Decoding speed for 9-column rows. `cargo test --release --lib
/// decode_benchmark -- --ignored --nocapture`.
#[test]
#[ignore]
fn decode_benchmark() {
    let cols: Vec<(u8, Vec<u8>, bool, &str)> = vec![
        (T_LONGLONG, vec![], false, "id"),
        (T_LONG, vec![], true, "a"),
        (T_VARCHAR, vec![0xFC, 0x03], true, "name"),
        (T_VARCHAR, vec![0xFC, 0x03], true, "email"),
        (T_NEWDECIMAL, vec![10, 2], true, "price"),
        (T_DATETIME2, vec![0], true, "created"),
        (T_TIMESTAMP2, vec![6], true, "updated"),
        (T_DOUBLE, vec![8], true, "score"),
        (T_TINY, vec![], true, "flag"),
    ];
    let body = table_map_body("bench", "t", &cols, &[(1, vec![0]), (2, vec![45])]);
    let fde = fde();
    let tme = parse_tme(&body, &fde);
    let dec = TableDecoder::new(&tme).expect("decoder");
    let mut row = vec![0u8, 0u8];
    row.extend_from_slice(&123456789i64.to_le_bytes());
    row.extend_from_slice(&42i32.to_le_bytes());
    row.extend_from_slice(&[11, 0]);
    row.extend_from_slice(b"Jane Smith ");
    row.extend_from_slice(&[17, 0]);
    row.extend_from_slice(b"jane@example.com ");
    row.extend_from_slice(&[0x80, 0x00, 0x30, 0x39, 0x07]);
    row.extend_from_slice(&[0x99, 0xA0, 0x6B, 0x12, 0x34]);
    row.extend_from_slice(&[0x5B, 0x29, 0xF2, 0x0F, 0x01, 0xE2, 0x40]);
    row.extend_from_slice(&3.25f64.to_le_bytes());
    row.push(1);
    let per_event = 100;
    let rows: Vec<u8> = std::iter::repeat_n(row.clone(), per_event).flatten().collect();
    let ev_body = rows_event_body(9, 1, &[true; 9], true, &rows);
    let ev: WriteRowsEvent<'_> = ParseBuf(&ev_body)
        .parse(BinlogCtx::new(ev_body.len(), &fde, 30))
        .expect("write rows");
    let ev = RowsEventData::WriteRowsEvent(ev);
    let check = dec.decode(&ev).expect("decodes");
    assert_eq!(check.len(), per_event);
    let start = std::time::Instant::now();
    let mut total = 0usize;
    for _ in 0..10_000 {
        total += dec.decode(&ev).expect("decodes").len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!("decoded {total} rows in {secs:.3}s: {:.0} rows/s", total as f64 / secs);
}

/// End-to-end against a real server. Start one as in MARIADB.md and run
/// `RAFTCDC_TEST_MYSQL_URL=mysql://root@127.0.0.1:PORT cargo test --lib
/// live_server_round_trip -- --ignored --nocapture`.
#[test]
#[ignore]
fn live_server_round_trip() {
    let Ok(url) = std::env::var("RAFTCDC_TEST_MYSQL_URL") else {
        println!("RAFTCDC_TEST_MYSQL_URL not set; skipping");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(live::run(&url));
}

mod live {
    use super::super::*;
    use crate::envelope::{EncodingOptions, Op, SourceInfo, TableEncoder};
    use futures::StreamExt;
    use mysql_async::prelude::Queryable;
    use mysql_async::BinlogStreamRequest;
    use mysql_common::binlog::events::EventData;
    use std::collections::HashMap;

    pub(super) async fn run(url: &str) {
        let opts = mysql_async::Opts::from_url(url).expect("url");
        let mut conn = mysql_async::Conn::new(opts.clone()).await.expect("connect");
        let (file, pos): (String, u64) = conn
            .query_first::<(String, u64, String, String), _>("SHOW MASTER STATUS")
            .await
            .expect("master status")
            .map(|r| (r.0, r.1))
            .expect("binlog enabled");
        let setup = r#"
            DROP DATABASE IF EXISTS rcdc_live; CREATE DATABASE rcdc_live; USE rcdc_live;
            CREATE TABLE t (
              id INT NOT NULL PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, y YEAR,
              si SMALLINT, mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
              bi BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE, dec1 DECIMAL(10,2),
              dec2 DECIMAL(30,10), b1 BIT(1), b10 BIT(10), c CHAR(5), vc VARCHAR(300),
              lat VARCHAR(10) CHARACTER SET latin1, tx TEXT, bin4 BINARY(4), vb VARBINARY(10),
              bl BLOB, dt DATE, tm TIME(3), dtm DATETIME(6), ts TIMESTAMP(2) NULL,
              e ENUM('a','b','c'), s SET('x','y','z'), j JSON, g POINT, dt0 DATETIME
            ) DEFAULT CHARSET=utf8mb4;
            SET SESSION sql_mode='';
            INSERT INTO t VALUES (1, -128, 255, 0, -32768, -8388608, 16777215, -2147483648,
              4294967295, -9223372036854775808, 18446744073709551615, 1.5, -2.25, -12345678.91,
              '12345678901234567890.0123456789', b'1', b'1000000001', 'ab', 'héllo 😀',
              'café', 'text', x'AB00', x'00FF', x'DEADBEEF', '0000-00-00', '-838:59:59.999',
              '2018-06-20 06:37:03.123456', '2018-06-20 06:37:03.12', 'b', 'x,z',
              '{"k":[1,2.5,"v"]}', ST_GeomFromText('POINT(1 2)'), '2000-01-01 00:00:00');
            INSERT INTO t (id) VALUES (2);
            UPDATE t SET vc = 'changed', mi = -1 WHERE id = 1;
            DELETE FROM t WHERE id = 2;
        "#;
        conn.query_drop(setup).await.expect("setup");

        let mut stream_conn = mysql_async::Conn::new(opts).await.expect("connect");
        stream_conn
            .query_drop("SET @mariadb_slave_capability=4")
            .await
            .expect("capability");
        let mut stream = stream_conn
            .get_binlog_stream(
                BinlogStreamRequest::new(4242)
                    .with_filename(file.as_bytes())
                    .with_pos(pos),
            )
            .await
            .expect("binlog stream");
        let mut decoders: HashMap<u64, TableDecoder> = HashMap::new();
        let mut seen = 0;
        while let Some(event) = stream.next().await {
            let event = event.expect("event");
            let Ok(Some(data)) = event.read_data() else { continue };
            match data {
                EventData::TableMapEvent(tme) if tme.database_name() == "rcdc_live" => {
                    decoders.insert(tme.table_id(), TableDecoder::new(&tme).expect("decoder"));
                }
                EventData::RowsEvent(rows) => {
                    let Some(dec) = decoders.get(&rows.table_id()) else {
                        continue;
                    };
                    for column in dec.columns() {
                        println!(
                            "{:>5} {:?} nullable={}",
                            column.name, column.column_type, column.nullable
                        );
                    }
                    let encoder = TableEncoder::new(
                        "live",
                        dec.db(),
                        dec.table(),
                        dec.columns(),
                        None,
                        EncodingOptions::default(),
                    )
                    .expect("encoder");
                    for change in dec.decode(&rows).expect("decode") {
                        println!("{change:?}");
                        let op = match (&change.before, &change.after) {
                            (None, Some(_)) => Op::Create,
                            (Some(_), Some(_)) => Op::Update,
                            _ => Op::Delete,
                        };
                        let source = SourceInfo {
                            connector: crate::envelope::Connector::Mariadb,
                            name: "live",
                            ts_ms: 0,
                            ts_us: 0,
                            ts_ns: 0,
                            snapshot: crate::envelope::Snapshot::False,
                            db: dec.db(),
                            sequence: None,
                            table: Some(dec.table()),
                            server_id: 1,
                            gtid: None,
                            file: &file,
                            pos: 0,
                            row: 0,
                            thread: None,
                            query: None,
                        };
                        let row = change.after.as_ref().or(change.before.as_ref()).expect("row");
                        let key = encoder.key(row).expect("key").expect("has key");
                        println!("key: {}", String::from_utf8_lossy(&key));
                        let value = encoder
                            .value(op, change.before.as_ref(), change.after.as_ref(), &source, 0, None)
                            .expect("value");
                        let text = String::from_utf8(value).expect("utf8");
                        let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid json");
                        println!("payload: {}", parsed["payload"]["after"]);
                        seen += 1;
                    }
                }
                _ => {}
            }
            if seen >= 4 {
                break;
            }
        }
        assert_eq!(seen, 4);
    }
}
