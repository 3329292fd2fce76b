//! The MySQL source against a real MariaDB server (one private server per
//! test): every column type as Debezium represents it, transactions, DDL in
//! the middle of a stream, binlog rotation, server crashes, exact resume
//! from any batch's offset, purged binlogs and misconfigured servers.
mod source_harness;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use cluster_tests::mariadb::{MariaDb, CDC_PASSWORD, CDC_USER};
use cluster_tests::pki::TestCa;
use mysql_async::prelude::Queryable;
use raftcdc::source::mysql::error::{DefiniteError, SourceError};
use raftcdc::source::Batch;
use serde_json::{json, Value};
use source_harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integers_every_width_signed_and_unsigned() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &[typed_table("ints")]).await;
    let mut source = streaming(&db, &[]).await;
    exec(&db, &typed_rows("ints")).await;
    let (events, _) = source.collect(3, data).await;
    assert_eq!(afters(&events), vec![
        json!({"id":1,"ti":-128,"tiu":255,"si":-32768,"siu":65535,"mi":-8388608,"miu":16777215,"i":-2147483648,"iu":4294967295u64,"bi":-9223372036854775808i64,"biu":-1}),
        json!({"id":2,"ti":127,"tiu":0,"si":32767,"siu":0,"mi":8388607,"miu":0,"i":2147483647,"iu":0,"bi":9223372036854775807i64,"biu":0}),
        json!({"id":3,"ti":-1,"tiu":null,"si":-1,"siu":null,"mi":-1,"miu":null,"i":-1,"iu":null,"bi":-1,"biu":null}),
    ]);
    assert_eq!(events[0].key, json!({"id": 1}));
    assert_eq!(events[0].topic, "dbserver1.inventory.ints");
    drop(source);

    // bigint.unsigned.handling.mode=precise: Connect Decimal, scale 0.
    let mut source = streaming(&db, &[("bigint.unsigned.handling.mode", "precise")]).await;
    exec(&db, &["INSERT INTO ints (id, biu) VALUES (4, 18446744073709551615)"]).await;
    let (events, _) = source.collect(1, data).await;
    assert_eq!(events[0].value["after"]["biu"], json!("AP//////////"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decimals_floats_and_bits_under_each_mode() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &[typed_table("nums")]).await;
    let inserts = [
        "INSERT INTO nums VALUES (1, 12345678.90, -99999, 1.5, -2.25e10, b'1', b'1000000001')",
        "INSERT INTO nums VALUES (2, -0.01, 0, -0.5, 0.125, b'0', b'0000000000')",
        "INSERT INTO nums VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL)",
    ];
    let mut source = streaming(&db, &[]).await;
    exec(&db, &inserts).await;
    let (events, _) = source.collect(3, data).await;
    assert_eq!(afters(&events), vec![
        json!({"id":1,"d":"SZYC0g==","dn":"/nlh","f":1.5,"db":-2.25e10,"b1":true,"b10":"AQI="}),
        json!({"id":2,"d":"/w==","dn":"AA==","f":-0.5,"db":0.125,"b1":false,"b10":"AAA="}),
        json!({"id":3,"d":null,"dn":null,"f":null,"db":null,"b1":null,"b10":null}),
    ]);
    drop(source);
    for (round, (mode, first, second)) in [
        ("string", json!(["12345678.90", "-99999"]), json!(["-0.01", "0"])),
        ("double", json!([12345678.9, -99999.0]), json!([-0.01, 0.0])),
    ]
    .into_iter()
    .enumerate()
    {
        let mut source = streaming(&db, &[("decimal.handling.mode", mode)]).await;
        let base = 10 * (round + 1);
        let statements: Vec<String> = inserts[..2]
            .iter()
            .enumerate()
            .map(|(i, sql)| sql.replacen(&format!("VALUES ({}", i + 1), &format!("VALUES ({}", base + i + 1), 1))
            .collect();
        exec(&db, &statements.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let (created, _) = source.collect(2, data).await;
        assert_eq!(json!([created[0].value["after"]["d"], created[0].value["after"]["dn"]]), first, "{mode}");
        assert_eq!(json!([created[1].value["after"]["d"], created[1].value["after"]["dn"]]), second, "{mode}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strings_binary_and_charsets() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &[typed_table("strs")]).await;
    let mut source = streaming(&db, &[]).await;
    exec(&db, &typed_rows("strs")).await;
    let (events, _) = source.collect(3, data).await;
    assert_eq!(afters(&events), vec![
        json!({"id":1,"c":"ab","vc":"héllo 🎉","t":"text","l1":"café","bin":"AQIAAA==","vb":"AP8=","bl":"3q2+7w==","e":"medium","s":"a,c"}),
        json!({"id":2,"c":"","vc":"","t":"","l1":"","bin":"AAAAAA==","vb":"","bl":"","e":"small","s":""}),
        json!({"id":3,"c":null,"vc":null,"t":null,"l1":null,"bin":null,"vb":null,"bl":null,"e":null,"s":null}),
    ]);
    drop(source);
    let mut source = streaming(&db, &[("binary.handling.mode", "hex")]).await;
    exec(&db, &["UPDATE strs SET vb = X'0AFF' WHERE id = 1"]).await;
    let (events, _) = source.collect(1, data).await;
    assert_eq!(events[0].value["before"]["vb"], json!("00ff"));
    assert_eq!(events[0].value["after"]["vb"], json!("0aff"));
    assert_eq!(events[0].value["op"], json!("u"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporal_types_and_zero_dates() {
    let db = MariaDb::start(&["--sql-mode="]).await;
    setup(&db, &[typed_table("times")]).await;
    let mut source = streaming(&db, &[]).await;
    let mut rows = vec!["SET time_zone = '+00:00'"];
    rows.extend(typed_rows("times"));
    exec(&db, &rows).await;
    let (events, _) = source.collect(4, data).await;
    assert_eq!(afters(&events), vec![
        json!({"id":1,"d":19782,"t":-3020399000000i64,"t0":45296000000i64,"dt0":1709210096000i64,"dt3":1709210096789i64,
               "dt6":-1,"ts0":"2024-02-29T12:34:56Z","ts6":"2038-01-19T03:14:07.123456Z","y":2024}),
        json!({"id":2,"d":0,"t":1,"t0":-1000000,"dt0":0,"dt3":0,"dt6":1,"ts0":"1970-01-01T00:00:01Z","ts6":"1970-01-01T00:00:01.000001Z","y":0}),
        json!({"id":3,"d":null,"t":null,"t0":null,"dt0":null,"dt3":null,"dt6":null,"ts0":null,"ts6":null,"y":null}),
        json!({"id":4,"d":null,"t":0,"t0":0,"dt0":null,"dt3":null,"dt6":null,"ts0":null,"ts6":null,"y":1901}),
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_mariadb_types() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &[typed_table("docs")]).await;
    let mut source = streaming(&db, &[]).await;
    exec(&db, &typed_rows("docs")).await;
    let (events, _) = source.collect(2, data).await;
    let first = &events[0].value["after"];
    assert_eq!(serde_json::from_str::<Value>(first["j"].as_str().unwrap()).unwrap(), json!({"a": [1, 2.5, "x"], "b": null}));
    // Debezium has no INET6 mapping; raftcdc writes MariaDB's text.
    assert_eq!(first["ip"], json!("2001:db8::1"));
    assert_eq!(first["u"], json!("123e4567-e89b-12d3-a456-426614174000"));
    // MySqlGeometry.fromBytes: SRID 0 is written as null.
    assert_eq!(first["g"]["srid"], Value::Null);
    assert!(first["g"]["wkb"].is_string());
    assert_eq!(events[1].value["after"], json!({"id":2,"j":null,"ip":null,"u":null,"g":null}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelope_with_schemas_deletes_tombstones_and_key_changes() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(255) NOT NULL, score DECIMAL(5,2))"]).await;
    let mut source = streaming(&db, &[("key.converter.schemas.enable", "true"), ("value.converter.schemas.enable", "true")]).await;
    exec(&db, &[
        "INSERT INTO customers VALUES (1001, 'sally@example.com', 1.50)",
        "UPDATE customers SET email = 'sally.t@example.com' WHERE id = 1001",
        "UPDATE customers SET id = 1002 WHERE id = 1001",
        "DELETE FROM customers WHERE id = 1002",
    ]).await;
    // c, u, (d + tombstone + c for the key change), d + tombstone
    let (events, _) = source.collect(7, data).await;
    let ops: Vec<Value> = events.iter().map(|e| e.value.get("payload").map(|p| p["op"].clone()).unwrap_or(Value::Null)).collect();
    assert_eq!(ops, vec![json!("c"), json!("u"), json!("d"), Value::Null, json!("c"), json!("d"), Value::Null]);
    let create = &events[0].value;
    assert_eq!(create["schema"]["name"], "dbserver1.inventory.customers.Envelope");
    assert_eq!(events[0].key, json!({"schema": {"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "id"}],
        "optional": false, "name": "dbserver1.inventory.customers.Key"}, "payload": {"id": 1001}}));
    let payload = &create["payload"];
    assert_eq!(payload["before"], Value::Null);
    assert_eq!(payload["after"], json!({"id": 1001, "email": "sally@example.com", "score": "AJY="}));
    let source_block = &payload["source"];
    assert_eq!(source_block["connector"], "mysql");
    assert_eq!(source_block["name"], "dbserver1");
    assert_eq!(source_block["db"], "inventory");
    assert_eq!(source_block["table"], "customers");
    assert_eq!(source_block["snapshot"], "false");
    assert!(source_block["file"].as_str().unwrap().starts_with("mysql-bin."));
    assert!(source_block["gtid"].as_str().unwrap().starts_with("0-1-"));
    for field in ["ts_ms", "ts_us", "ts_ns"] {
        assert!(payload[field].is_i64() || payload[field].is_u64(), "{field}");
    }
    let update = &events[1].value["payload"];
    assert_eq!(update["before"]["email"], "sally@example.com");
    assert_eq!(update["after"]["email"], "sally.t@example.com");
    assert_eq!(events[2].key["payload"], json!({"id": 1001}));
    assert_eq!(events[3].key["payload"], json!({"id": 1001}));
    assert_eq!(events[4].key["payload"], json!({"id": 1002}));
    assert_eq!(events[5].value["payload"]["before"]["id"], 1002);
    assert_eq!(events[5].value["payload"]["after"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_ddl_truncate_and_rotation() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE orders (id INT PRIMARY KEY, qty INT)", "CREATE TABLE nokey (a INT, b INT)"]).await;
    let mut source = streaming(&db, &[
        ("provide.transaction.metadata", "true"),
        ("skipped.operations", "none"),
        ("table.include.list", "inventory\\..*"),
        ("message.key.columns", "inventory.nokey:b"),
    ]).await;
    exec(&db, &[
        "BEGIN",
        "INSERT INTO orders VALUES (1, 10), (2, 20)",
        "INSERT INTO nokey VALUES (7, 8)",
        "COMMIT",
    ]).await;
    let (events, batches) = source.collect(5, |_| true).await;
    let topics: Vec<&str> = events.iter().map(|e| e.topic.as_str()).collect();
    assert_eq!(topics, vec![
        "dbserver1.transaction", "dbserver1.inventory.orders", "dbserver1.inventory.orders", "dbserver1.inventory.nokey", "dbserver1.transaction",
    ]);
    let txid = events[0].value["id"].clone();
    assert_eq!(events[0].value["status"], "BEGIN");
    assert_eq!(events[4].value["status"], "END");
    assert_eq!(events[4].value["event_count"], 3);
    assert_eq!(events[1].value["transaction"], json!({"id": txid, "total_order": 1, "data_collection_order": 1}));
    assert_eq!(events[3].value["transaction"], json!({"id": txid, "total_order": 3, "data_collection_order": 1}));
    assert_eq!(events[3].key, json!({"b": 8}));
    assert!(batches.iter().all(|b| b.ends_transaction));

    // DDL mid-stream: ADD, DROP, RENAME COLUMN; RENAME TABLE; TRUNCATE; rotation.
    exec(&db, &[
        "ALTER TABLE orders ADD COLUMN note VARCHAR(10)",
        "INSERT INTO orders VALUES (3, 30, 'x')",
        "ALTER TABLE orders DROP COLUMN qty",
        "INSERT INTO orders VALUES (4, 'y')",
        "ALTER TABLE orders RENAME COLUMN note TO memo",
        "INSERT INTO orders VALUES (5, 'z')",
        "FLUSH BINARY LOGS",
        "RENAME TABLE orders TO orders2",
        "INSERT INTO orders2 VALUES (6, 'w')",
        "TRUNCATE TABLE orders2",
    ]).await;
    let (events, batches) = source.collect(9, |t| !t.ends_with(".transaction")).await;
    let data_events: Vec<&Event> = events.iter().filter(|e| data(&e.topic)).collect();
    assert_eq!(data_events[0].value["after"], json!({"id": 3, "qty": 30, "note": "x"}));
    assert_eq!(data_events[1].value["after"], json!({"id": 4, "note": "y"}));
    assert_eq!(data_events[2].value["after"], json!({"id": 5, "memo": "z"}));
    assert_eq!(data_events[3].topic, "dbserver1.inventory.orders2");
    assert_eq!(data_events[3].value["after"], json!({"id": 6, "memo": "w"}));
    assert_eq!(data_events[4].value["op"], "t");
    let ddl: Vec<String> = events
        .iter()
        .filter(|e| e.topic == "dbserver1")
        .map(|e| e.value["ddl"].as_str().unwrap().to_string())
        .collect();
    // TRUNCATE is the `t` record, not a schema change (as Debezium), but
    // it stays in the schema history.
    assert_eq!(ddl.len(), 4, "{ddl:?}");
    assert!(ddl[0].starts_with("ALTER TABLE orders ADD"));
    assert!(!ddl.iter().any(|d| d.starts_with("TRUNCATE")), "{ddl:?}");
    let history: usize = batches.iter().map(|b| b.schema_history.len()).sum();
    assert_eq!(history, 5);
    let files: Vec<String> = batches.iter().filter_map(|b| b.offset["file"].as_str().map(str::to_string)).collect();
    assert!(files.first() != files.last(), "the binlog rotated: {files:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_from_any_offset_is_exact_even_mid_transaction() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE seq (id INT PRIMARY KEY)"]).await;
    let mut source = streaming(&db, &[("max.batch.size", "10")]).await;
    let values: Vec<String> = (1..=35).map(|i| format!("({i})")).collect();
    exec(&db, &["BEGIN", &format!("INSERT INTO seq VALUES {}", values[..20].join(",")), &format!("INSERT INTO seq VALUES {}", values[20..].join(",")), "COMMIT"]).await;
    exec(&db, &["INSERT INTO seq VALUES (36), (37)"]).await;
    let (events, batches) = source.collect(37, data).await;
    let ids: Vec<i64> = events.iter().map(|e| e.value["after"]["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (1..=37).collect::<Vec<_>>());
    assert!(batches.iter().any(|b| !b.ends_transaction), "the 35-row transaction was split");
    drop(source);

    // Resuming from every batch's offset yields exactly what followed it.
    let config = config(&db, &[("max.batch.size", "10")]);
    let mut seen = 0;
    for batch in batches.iter().filter(|b| !b.records.is_empty()) {
        seen += batch.records.iter().filter(|r| data(&r.topic)).count();
        if seen == 37 {
            break;
        }
        let mut resumed = start(config.clone(), Some(batch.offset.clone()));
        let (rest, _) = resumed.collect(37 - seen, data).await;
        let ids: Vec<i64> = rest.iter().map(|e| e.value["after"]["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, ((seen as i64 + 1)..=37).collect::<Vec<_>>(), "resume from {}", batch.offset);
    }
}

/// A binlog transaction of wide rows is split into parts by bytes too:
/// with `max.queue.size.in.bytes` at 2 MiB a part holds about an eighth of
/// it (two rows of 200 KiB as records), though `max.batch.size` would take
/// the whole transaction; resumed from a part in the middle, the rest of
/// the transaction arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_of_wide_rows_is_split_by_bytes_and_resumes_after_any_part() {
    const WIDE: usize = 150 * 1024;
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE wide (id INT PRIMARY KEY, b LONGBLOB)"]).await;
    let extra = [("max.queue.size.in.bytes", "2097152")];
    let mut source = streaming(&db, &extra).await;
    let mut statements = vec!["BEGIN".to_string()];
    statements.extend((1..=9).map(|i| format!("INSERT INTO wide VALUES ({i}, REPEAT('{i}', {WIDE}))")));
    statements.push("COMMIT".to_string());
    exec(&db, &statements.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let (events, batches) = source.collect(9, data).await;
    drop(source);
    let ids = |events: &[Event]| -> Vec<i64> { events.iter().map(|e| e.value["after"]["id"].as_i64().unwrap()).collect() };
    assert_eq!(ids(&events), (1..=9).collect::<Vec<_>>());
    let parts: Vec<&Batch> = batches.iter().filter(|b| b.records.iter().any(|r| data(&r.topic))).collect();
    let sizes: Vec<usize> = parts.iter().map(|b| b.records.len()).collect();
    assert_eq!(sizes, [2, 2, 2, 2, 1], "two 150 KiB rows (200 KiB as records) reach an eighth of 2 MiB");
    assert!(parts[..4].iter().all(|b| !b.ends_transaction) && parts[4].ends_transaction);

    let mut resumed = start(config(&db, &extra), Some(parts[1].offset.clone()));
    let (rest, _) = resumed.collect(5, data).await;
    assert_eq!(ids(&rest), [5, 6, 7, 8, 9], "the rest of the transaction, nothing twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_crash_mid_stream_resumes_without_loss_or_duplicates() {
    let mut db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE seq (id INT PRIMARY KEY)"]).await;
    let mut source = streaming(&db, &[]).await;
    for i in 1..=50 {
        exec(&db, &[&format!("INSERT INTO seq VALUES ({i})")]).await;
    }
    let (first, _) = source.collect(50, data).await;
    db.restart().await; // SIGKILL, then start on the same datadir
    for i in 51..=100 {
        exec(&db, &[&format!("INSERT INTO seq VALUES ({i})")]).await;
    }
    let (second, _) = source.collect(50, data).await;
    let ids: Vec<i64> = first.iter().chain(&second).map(|e| e.value["after"]["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (1..=100).collect::<Vec<_>>());
}

/// A server whose table `seq` holds ids 1 and 2, and an offset from
/// between the two inserts whose binlog file has since been purged.
async fn offset_then_purged() -> (MariaDb, Value) {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE seq (id INT PRIMARY KEY)"]).await;
    let mut source = streaming(&db, &[]).await;
    exec(&db, &["INSERT INTO seq VALUES (1)"]).await;
    let (_, batches) = source.collect(1, data).await;
    let offset = batches.last().unwrap().offset.clone();
    drop(source);
    // PURGE skips a file a connected replica still reads.
    db.wait_no_replicas().await;
    exec(&db, &["INSERT INTO seq VALUES (2)", "FLUSH BINARY LOGS", "FLUSH BINARY LOGS"]).await;
    let mut conn = db.conn().await;
    let status: Vec<mysql_async::Row> = conn.query("SHOW MASTER STATUS").await.unwrap();
    let current: String = status[0].get(0).unwrap();
    // MariaDB also keeps a file until its binlog checkpoint is written
    // (asynchronously, after the engine commits): purge until it is gone.
    let deadline = Instant::now() + DEADLINE;
    loop {
        conn.query_drop(format!("PURGE BINARY LOGS TO '{current}'")).await.unwrap();
        let logs: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await.unwrap();
        if !logs.iter().any(|(f, _)| f.as_str() == offset["file"].as_str().unwrap()) {
            break;
        }
        assert!(Instant::now() < deadline, "{} was never purged: {logs:?}", offset["file"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (db, offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purged_binlog_is_a_definite_error() {
    let (db, offset) = offset_then_purged().await;
    let mut conn = db.conn().await;
    let mut source = start(config(&db, &[]), Some(offset.clone()));
    let result = tokio::time::timeout(DEADLINE, &mut source.task).await.expect("stops").unwrap();
    let logs: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await.unwrap();
    match result {
        Err(SourceError::Definite(error @ DefiniteError::BinlogNotAvailable { .. })) => {
            assert!(!logs.iter().any(|(f, _)| f.as_str() == offset["file"].as_str().unwrap()), "{logs:?}");
            assert!(error.remedy().contains("offsets set"));
        }
        other => panic!("expected BinlogNotAvailable, got {other:?}"),
    }
}

async fn definite_error(db: &MariaDb, extra: &[(&str, &str)]) -> DefiniteError {
    let mut source = start(config(db, extra), None);
    match tokio::time::timeout(DEADLINE, &mut source.task).await.expect("stops").unwrap() {
        Err(SourceError::Definite(error)) => error,
        other => panic!("expected a definite error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misconfigured_servers_get_the_documented_error() {
    for (flag, setting, expected) in [
        ("--binlog-row-metadata=MINIMAL", "binlog_row_metadata", "FULL"),
        ("--binlog-format=STATEMENT", "binlog_format", "ROW"),
        ("--binlog-row-image=MINIMAL", "binlog_row_image", "FULL"),
    ] {
        let db = MariaDb::start(&[flag]).await;
        match definite_error(&db, &[]).await {
            error @ DefiniteError::InvalidSystemSetting { .. } => {
                let text = error.to_string();
                assert!(text.contains(setting) && text.contains(expected), "{text}");
                assert!(error.remedy().contains(&format!("SET GLOBAL {setting}={expected}")));
            }
            other => panic!("{flag}: expected InvalidSystemSetting, got {other:?}"),
        }
    }
    let db = MariaDb::start(&[]).await;
    db.sql(&["CREATE USER 'weak'@'%' IDENTIFIED BY 'pw'", "GRANT SELECT ON *.* TO 'weak'@'%'"]).await;
    match definite_error(&db, &[("database.user", "weak"), ("database.password", "pw")]).await {
        DefiniteError::MissingPrivileges { missing, .. } => assert!(missing.contains(&"REPLICATION SLAVE".to_string())),
        other => panic!("expected MissingPrivileges, got {other:?}"),
    }
    match definite_error(&db, &[("database.password", "wrong-password")]).await {
        error @ DefiniteError::AccessDenied { .. } => assert!(!format!("{error:?}").contains("wrong-password")),
        other => panic!("expected AccessDenied, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_and_filters() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE a (id INT PRIMARY KEY, secret VARCHAR(10), shown INT)", "CREATE TABLE b (id INT PRIMARY KEY)"]).await;
    let mut source = streaming(&db, &[
        ("heartbeat.interval.ms", "100"),
        ("table.include.list", "inventory\\.a"),
        ("column.exclude.list", "inventory\\.a\\.secret"),
    ]).await;
    exec(&db, &["INSERT INTO b VALUES (1)", "INSERT INTO a VALUES (1, 'x', 2)"]).await;
    let (events, _) = source.collect(1, data).await;
    assert_eq!(events[0].topic, "dbserver1.inventory.a");
    assert_eq!(events[0].value["after"], json!({"id": 1, "shown": 2}));
    let (beats, _) = source.collect(2, |t| t.starts_with("__debezium-heartbeat")).await;
    assert_eq!(beats[0].topic, "__debezium-heartbeat.dbserver1");
    assert_eq!(beats[0].key, json!({"serverName": "dbserver1"}));
    assert!(beats[1].value["ts_ms"].as_i64().unwrap() > 0);
    let _ = BTreeMap::<String, String>::new();
}

/// The DDL of one of [`TYPED_TABLES`].
fn typed_table(name: &str) -> &'static str {
    TYPED_TABLES.iter().find(|ddl| ddl.starts_with(&format!("CREATE TABLE {name} "))).expect("a typed table")
}

/// The inserts of one of [`TYPED_TABLES`] in [`TYPED_ROWS`].
fn typed_rows(name: &str) -> Vec<&'static str> {
    TYPED_ROWS.iter().copied().filter(|sql| sql.starts_with(&format!("INSERT INTO {name} "))).collect()
}

/// Every type family's table and its edge-value rows: the type tests above
/// stream them, the snapshot test reads them back (`nums` has its own rows
/// above, with a float the test compares exactly).
const TYPED_TABLES: &[&str] = &[
    "CREATE TABLE ints (id INT PRIMARY KEY, ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, \
     mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED)",
    "CREATE TABLE nums (id INT PRIMARY KEY, d DECIMAL(10,2), dn DECIMAL(5,0), f FLOAT, db DOUBLE, b1 BIT(1), b10 BIT(10))",
    "CREATE TABLE strs (id INT PRIMARY KEY, c CHAR(4), vc VARCHAR(20), t TEXT, l1 VARCHAR(10) CHARACTER SET latin1, \
     bin BINARY(4), vb VARBINARY(8), bl BLOB, e ENUM('small','medium','large'), s SET('a','b','c'))",
    "CREATE TABLE times (id INT PRIMARY KEY, d DATE, t TIME(6), t0 TIME, dt0 DATETIME, dt3 DATETIME(3), dt6 DATETIME(6), \
     ts0 TIMESTAMP NULL, ts6 TIMESTAMP(6) NULL, y YEAR)",
    "CREATE TABLE docs (id INT PRIMARY KEY, j JSON, ip INET6, u UUID, g GEOMETRY)",
];

const TYPED_ROWS: &[&str] = &[
    "SET time_zone = '+00:00'",
    "INSERT INTO ints VALUES (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615)",
    "INSERT INTO ints VALUES (2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0)",
    "INSERT INTO ints VALUES (3, -1, NULL, -1, NULL, -1, NULL, -1, NULL, -1, NULL)",
    "INSERT INTO nums VALUES (1, 12345678.90, -99999, 1.5, -2.25e10, b'1', b'1000000001')",
    "INSERT INTO nums VALUES (2, -0.01, 0, 3.4028e38, 0.125, b'0', b'0000000000')",
    "INSERT INTO nums VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL)",
    "INSERT INTO strs VALUES (1, 'ab', 'héllo 🎉', 'text', 'café', X'0102', X'00FF', X'DEADBEEF', 'medium', 'a,c')",
    "INSERT INTO strs VALUES (2, '', '', '', '', X'00000000', X'', X'', 'small', '')",
    "INSERT INTO strs VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    "INSERT INTO times VALUES (1, '2024-02-29', '-838:59:59.000000', '12:34:56', '2024-02-29 12:34:56', '2024-02-29 12:34:56.789', \
     '1969-12-31 23:59:59.999999', '2024-02-29 12:34:56', '2038-01-19 03:14:07.123456', 2024)",
    "INSERT INTO times VALUES (2, '1970-01-01', '00:00:00.000001', '-00:00:01', '1970-01-01 00:00:00', '1970-01-01 00:00:00.000', \
     '1970-01-01 00:00:00.000001', '1970-01-01 00:00:01', '1970-01-01 00:00:01.000001', 0)",
    "INSERT INTO times VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    "INSERT INTO times VALUES (4, '0000-00-00', '00:00:00', '00:00:00', '0000-00-00 00:00:00', NULL, NULL, NULL, NULL, 1901)",
    "INSERT INTO docs VALUES (1, '{\"a\": [1, 2.5, \"x\"], \"b\": null}', '2001:db8::1', '123e4567-e89b-12d3-a456-426614174000', ST_GeomFromText('POINT(1 2)'))",
    "INSERT INTO docs VALUES (2, NULL, NULL, NULL, NULL)",
];

/// Snapshot reads (`op: r`) of every type must be the streamed inserts'
/// records to the byte, schemas included: consumers cannot tell them apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_reads_every_type_exactly_as_streaming_does() {
    let db = MariaDb::start(&["--sql-mode="]).await;
    setup(&db, TYPED_TABLES).await;
    let schemas = [("key.converter.schemas.enable", "true"), ("value.converter.schemas.enable", "true")];
    let mut source = streaming(&db, &schemas).await;
    exec(&db, TYPED_ROWS).await;
    let rows = TYPED_ROWS.len() - 1;
    let (streamed, _) = source.collect(rows, data).await;
    drop(source);

    let mut extra = schemas.to_vec();
    extra.extend([("snapshot.mode", "initial"), ("snapshot.fetch.size", "2")]);
    let mut snapshot = start(config(&db, &extra), None);
    let (read, batches) = snapshot.collect(rows, data).await;
    let markers: Vec<&str> = read.iter().map(|e| e.value["payload"]["source"]["snapshot"].as_str().unwrap()).collect();
    for event in &read {
        let created = streamed
            .iter()
            .find(|c| c.topic == event.topic && c.key == event.key)
            .unwrap_or_else(|| panic!("no streamed insert for {} {}", event.topic, event.key));
        assert_eq!(event.value["payload"]["op"], json!("r"));
        assert_eq!(event.value["payload"]["before"], Value::Null);
        assert_eq!(event.value["payload"]["after"], created.value["payload"]["after"], "{} {}", event.topic, event.key);
        assert_eq!(event.value["schema"], created.value["schema"], "{}", event.topic);
    }
    // Tables in name order (docs, ints, nums, strs, times), rows in key order.
    assert_eq!(read[0].topic, "dbserver1.inventory.docs");
    assert_eq!(markers[0], "first");
    assert_eq!(markers[1], "last_in_data_collection");
    assert_eq!(markers[2], "first_in_data_collection");
    assert_eq!(markers[3], "true");
    assert_eq!(*markers.last().unwrap(), "last");
    let last = batches.iter().rev().find_map(|b| b.snapshot.clone()).expect("snapshot progress");
    assert!(last.completed && last.rows_read == rows as u64 && last.tables_total == 5, "{last:?}");
    assert!(batches.iter().any(|b| b.offset["snapshot"] == json!(true)), "chunk offsets carry the cursor");
    // The schema history got each table's DDL.
    let ddls: Vec<&Batch> = batches.iter().filter(|b| !b.schema_history.is_empty()).collect();
    assert_eq!(ddls[0].schema_history.len(), 5);

    // Then it streams from the snapshot's position.
    exec(&db, &["INSERT INTO ints (id) VALUES (99)"]).await;
    let (created, _) = snapshot.collect(1, data).await;
    assert_eq!(created[0].value["payload"]["op"], json!("c"));
    assert_eq!(created[0].value["payload"]["after"]["id"], json!(99));
}

/// A snapshot resumed from a committed chunk's offset (as a new owner
/// does) reads only the rest of the table, on a new view, and then streams
/// every change since the *original* snapshot position except those the
/// new view's reads already show: changes below the cursor (read at the
/// first view) arrive, changes to rows read at the new view before it do
/// not, and later ones do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_resumes_after_its_last_committed_chunk() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE seq (id INT PRIMARY KEY, v INT)", "CREATE TABLE nokey (a INT)"]).await;
    let inserts: Vec<String> = (1..=25).map(|i| format!("INSERT INTO seq VALUES ({i}, {i})")).collect();
    exec(&db, &inserts.iter().map(String::as_str).collect::<Vec<_>>()).await;
    exec(&db, &["INSERT INTO nokey VALUES (1), (2), (3)"]).await;
    let cfg = config(&db, &[("snapshot.mode", "initial"), ("snapshot.fetch.size", "10")]);
    let mut first = start(cfg.clone(), None);
    let (events, batches) = first.collect(28, data).await;
    drop(first);
    // `nokey` (read whole) sorts before `seq` (read in key order).
    let ids: Vec<i64> = events[3..].iter().map(|e| e.value["after"]["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (1..=25).collect::<Vec<_>>());
    let chunk = batches
        .iter()
        .find(|b| b.records.iter().any(|r| r.key.as_deref() == Some(&b"{\"id\":10}"[..])))
        .expect("the batch with id 10");
    assert_eq!(chunk.records.len(), 10, "one chunk per batch");
    assert_eq!(chunk.offset["snapshot_cursor"]["last_key"], json!([{"int": 10}]));

    exec(&db, &[
        "UPDATE seq SET v = 55 WHERE id = 5",
        "UPDATE seq SET v = 99 WHERE id = 15",
        "INSERT INTO seq VALUES (26, 26)",
        "DELETE FROM seq WHERE id = 20",
    ])
    .await;
    let mut resumed = start(cfg, Some(chunk.offset.clone()));
    let (events, _) = resumed.collect(15 + 1, data).await;
    let reads: Vec<(i64, i64)> = events
        .iter()
        .filter(|e| e.value["op"] == json!("r"))
        .map(|e| (e.value["after"]["id"].as_i64().unwrap(), e.value["after"]["v"].as_i64().unwrap()))
        .collect();
    let expected: Vec<(i64, i64)> = (11..=26).filter(|i| *i != 20).map(|i| (i, if i == 15 { 99 } else { i })).collect();
    assert_eq!(reads, expected, "the rest of the table, from the new view, nothing twice");
    exec(&db, &["UPDATE seq SET v = 100 WHERE id = 15"]).await;
    let (after, _) = resumed.collect(1, data).await;
    let streamed: Vec<(String, Value)> = events[15..]
        .iter()
        .chain(&after)
        .map(|e| (e.value["op"].as_str().unwrap_or("tombstone").to_string(), e.key.clone()))
        .collect();
    assert_eq!(streamed, vec![
        // Below the cursor: read at the first view, so its change arrives.
        ("u".to_string(), json!({"id": 5})),
        // 15, 26 and 20 were read (or not) at the new view: only the
        // change after it.
        ("u".to_string(), json!({"id": 15})),
    ]);
    assert_eq!(after[0].value["after"]["v"], json!(100));
}

/// Wide rows leave a snapshot in batches bounded by bytes, not only by
/// rows: with `max.queue.size.in.bytes` at 2 MiB a batch holds about an
/// eighth of it (two rows of 200 KiB), though the chunk and
/// `max.batch.size` would take every row. Every batch ends at a row the
/// next read starts after: resumed from one in the middle, the rest of the
/// table arrives once, with the snapshot's markers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_wide_rows_goes_out_in_batches_bounded_by_bytes_and_resumes_after_any() {
    const WIDE: usize = 200 * 1024;
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE wide (id INT PRIMARY KEY, b LONGBLOB)"]).await;
    let inserts: Vec<String> = (1..=9).map(|i| format!("INSERT INTO wide VALUES ({i}, REPEAT('{i}', {WIDE}))")).collect();
    exec(&db, &inserts.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let cfg = config(&db, &[("snapshot.mode", "initial"), ("max.queue.size.in.bytes", "2097152")]);
    let mut first = start(cfg.clone(), None);
    let (events, batches) = first.collect(9, data).await;
    drop(first);
    let ids = |events: &[Event]| -> Vec<i64> { events.iter().map(|e| e.value["after"]["id"].as_i64().unwrap()).collect() };
    assert_eq!(ids(&events), (1..=9).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e.value["after"]["b"].as_str().unwrap().len() == WIDE.div_ceil(3) * 4), "whole rows");
    let markers: Vec<&str> = events.iter().map(|e| e.value["source"]["snapshot"].as_str().unwrap()).collect();
    assert_eq!(markers, ["first", "true", "true", "true", "true", "true", "true", "true", "last"]);
    let rows: Vec<&Batch> = batches.iter().filter(|b| b.records.iter().any(|r| data(&r.topic))).collect();
    let sizes: Vec<usize> = rows.iter().map(|b| b.records.len()).collect();
    assert_eq!(sizes, [2, 2, 2, 2, 1], "two 200 KiB rows reach an eighth of 2 MiB");
    for batch in &rows[..4] {
        let last: Value = serde_json::from_slice(batch.records.last().unwrap().key.as_deref().unwrap()).unwrap();
        assert_eq!(batch.offset["snapshot_cursor"]["last_key"], json!([{"int": last["id"]}]), "the cursor ends at the batch's last row");
    }

    let mut resumed = start(cfg, Some(rows[1].offset.clone()));
    let (events, _) = resumed.collect(5, data).await;
    assert_eq!(ids(&events), [5, 6, 7, 8, 9], "the rest, from the batch after the resume point, nothing twice");
    assert_eq!(events.last().unwrap().value["source"]["snapshot"], json!("last"));
}

/// `when_needed` takes a new snapshot when the offset's binlog is gone,
/// where `initial` stops with the purged-binlog error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_needed_resnapshots_after_a_purged_binlog() {
    let (db, offset) = offset_then_purged().await;

    let mut source = start(config(&db, &[("snapshot.mode", "when_needed")]), Some(offset));
    let (events, _) = source.collect(2, data).await;
    let reads: Vec<(&str, i64)> = events
        .iter()
        .map(|e| (e.value["op"].as_str().unwrap(), e.value["after"]["id"].as_i64().unwrap()))
        .collect();
    assert_eq!(reads, vec![("r", 1), ("r", 2)]);
    exec(&db, &["INSERT INTO seq VALUES (3)"]).await;
    let (events, _) = source.collect(1, data).await;
    assert_eq!(events[0].value["op"], json!("c"));
}

/// `recovery` records the captured tables' current DDL in the schema
/// history (no rows), then streams from the offset; `initial_only` snapshots
/// and then stays idle instead of streaming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_and_initial_only_modes() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE a (id INT PRIMARY KEY)", "CREATE TABLE b (id INT PRIMARY KEY, v TEXT)"]).await;
    exec(&db, &["INSERT INTO a VALUES (1)"]).await;
    let mut source = streaming(&db, &[]).await;
    exec(&db, &["INSERT INTO a VALUES (2)"]).await;
    let (_, batches) = source.collect(1, data).await;
    let offset = batches.last().unwrap().offset.clone();
    drop(source);

    let mut recovery = start(config(&db, &[("snapshot.mode", "recovery")]), Some(offset));
    let first = recovery.ready().await;
    let ddls: Vec<&str> = first.schema_history.iter().map(|e| e["ddl"].as_str().unwrap()).collect();
    assert_eq!(ddls.len(), 2, "{ddls:?}");
    assert!(ddls[0].starts_with("CREATE TABLE `a`") && ddls[1].starts_with("CREATE TABLE `b`"), "{ddls:?}");
    assert!(first.records.iter().all(|r| !data(&r.topic)), "no rows are read in recovery mode");
    exec(&db, &["INSERT INTO a VALUES (3)"]).await;
    let (events, _) = recovery.collect(1, data).await;
    assert_eq!((events[0].value["op"].as_str(), events[0].value["after"]["id"].as_i64()), (Some("c"), Some(3)));
    drop(recovery);

    let mut only = start(config(&db, &[("snapshot.mode", "initial_only")]), None);
    let (events, batches) = only.collect(3, data).await;
    assert!(events.iter().all(|e| e.value["op"] == "r"));
    assert!(batches.last().unwrap().snapshot.as_ref().unwrap().completed);
    assert!(!only.task.is_finished(), "initial_only idles rather than ending the source");
}

/// A server with a certificate from a throwaway CA, and the connector user
/// altered to `REQUIRE SSL`.
async fn tls_server(pki: &Path) -> (MariaDb, TestCa) {
    let ca = TestCa::create(pki, "db-ca").await;
    let server = ca.issue("mariadb", &[]).await;
    let db = MariaDb::start(&[
        &format!("--ssl-cert={}", server.cert.display()),
        &format!("--ssl-key={}", server.key.display()),
        &format!("--ssl-ca={}", ca.cert().display()),
    ])
    .await;
    db.sql(&[&format!("ALTER USER '{CDC_USER}'@'%' REQUIRE SSL")]).await;
    setup(&db, &["CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))"]).await;
    (db, ca)
}

/// `database.ssl.mode` against a server whose connector user must use TLS:
/// every mode that encrypts streams rows end to end over TLS; `disabled` is
/// refused by the server, naming the user; a wrong CA fails the handshake
/// with a definite error. No password shows in any error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_modes_against_a_server_requiring_ssl() {
    let pki = tempfile::tempdir().unwrap();
    let (db, ca) = tls_server(pki.path()).await;
    let ca_file = ca.cert().display().to_string();
    for (i, (mode, truststore)) in [
        ("required", None),
        ("preferred", None),
        ("verify_ca", Some(ca_file.as_str())),
        ("verify_identity", Some(ca_file.as_str())),
    ]
    .into_iter()
    .enumerate()
    {
        let server_id = (6000 + i).to_string();
        let mut extra = vec![("database.ssl.mode", mode), ("database.server.id", server_id.as_str())];
        extra.extend(truststore.map(|path| ("database.ssl.truststore", path)));
        let tls_config = config(&db, &extra);
        tls_config.tls.check_files().expect("PEM files");
        let mut conn = raftcdc::source::mysql::validate::connect(&tls_config).await.expect("TLS connection");
        let cipher: Vec<(String, String)> = conn.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'").await.unwrap();
        assert!(!cipher[0].1.is_empty(), "{mode}: not encrypted");
        conn.disconnect().await.unwrap();

        let mut running = streaming(&db, &extra).await;
        exec(&db, &[&format!("INSERT INTO t VALUES ({i}, '{mode}')")]).await;
        let (events, _) = running.collect(1, data).await;
        assert_eq!(events[0].value["after"], json!({"id": i, "v": mode}), "{mode}");
    }

    match definite_error(&db, &[("database.ssl.mode", "disabled")]).await {
        error @ DefiniteError::AccessDenied { .. } => {
            let text = format!("{error} {error:?} {}", error.remedy());
            assert!(text.contains(&format!("user {CDC_USER}")) && text.contains("Access denied"), "{text}");
            assert!(text.contains("database.ssl.mode"), "{text}");
            assert!(!text.contains(CDC_PASSWORD), "{text}");
        }
        other => panic!("expected AccessDenied, got {other:?}"),
    }

    let rogue = TestCa::create(pki.path(), "rogue-ca").await;
    let rogue_file = rogue.cert().display().to_string();
    for mode in ["verify_ca", "verify_identity"] {
        let extra = [
            ("database.ssl.mode", mode),
            ("database.ssl.truststore", rogue_file.as_str()),
            ("database.ssl.truststore.password", "changeit-secret"),
        ];
        match definite_error(&db, &extra).await {
            error @ DefiniteError::Tls { .. } => {
                let mut text = format!("{error} {error:?} {}", error.remedy());
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    text.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                assert!(text.contains(&format!("{}:{}", db.host, db.port)), "{text}");
                assert!(text.contains("UnknownIssuer"), "{text}");
                assert!(!text.contains(CDC_PASSWORD) && !text.contains("changeit-secret"), "{text}");
            }
            other => panic!("{mode}: expected a TLS error, got {other:?}"),
        }
    }
}

/// A server without TLS: `preferred` falls back to plaintext, `required`
/// is a definite error saying the server offers no TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_preferred_falls_back_only_when_the_server_has_none() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE t (id INT PRIMARY KEY)"]).await;
    let mut running = streaming(&db, &[("database.ssl.mode", "preferred")]).await;
    exec(&db, &["INSERT INTO t VALUES (1)"]).await;
    let (events, _) = running.collect(1, data).await;
    assert_eq!(events[0].value["after"], json!({"id": 1}));
    drop(running);
    match definite_error(&db, &[("database.ssl.mode", "required")]).await {
        error @ DefiniteError::TlsUnavailable { .. } => {
            assert!(error.to_string().contains("database.ssl.mode=required"), "{error}");
        }
        other => panic!("expected TlsUnavailable, got {other:?}"),
    }
}

/// Connected as 127.0.0.2, which the server certificate does not name:
/// `verify_identity` refuses it; `verify_ca` checks only the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_hostname_is_checked_only_by_verify_identity() {
    let pki = tempfile::tempdir().unwrap();
    let ca = TestCa::create(pki.path(), "db-ca").await;
    let server = ca.issue("mariadb", &[]).await;
    let db = MariaDb::start(&[
        &format!("--ssl-cert={}", server.cert.display()),
        &format!("--ssl-key={}", server.key.display()),
        "--bind-address=0.0.0.0",
    ])
    .await;
    let ca_file = ca.cert().display().to_string();
    for mode in ["verify_ca", "verify_identity"] {
        let config = config(
            &db,
            &[("database.hostname", "127.0.0.2"), ("database.ssl.mode", mode), ("database.ssl.truststore", &ca_file)],
        );
        match (mode, raftcdc::source::mysql::validate::connect(&config).await) {
            ("verify_ca", Ok(conn)) => conn.disconnect().await.unwrap(),
            ("verify_identity", Err(SourceError::Definite(error @ DefiniteError::Tls { .. }))) => {
                assert!(format!("{error:?}").contains("NotValidForName"), "{error:?}");
            }
            (mode, other) => panic!("{mode}: {:?}", other.map(|_| ())),
        }
    }
}
