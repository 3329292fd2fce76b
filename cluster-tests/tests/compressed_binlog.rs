//! MariaDB's compressed binlog (`log_bin_compress=ON`) against a real
//! server: the same workload on a server that compresses every event over
//! 10 bytes and on one that does not gives the same change events, key,
//! before, after, operation and DDL, record for record (the uncompressed
//! server's output is the golden copy; positions differ, as compressed
//! events are shorter).
mod source_harness;

use cluster_tests::mariadb::MariaDb;
use mysql_async::prelude::Queryable;
use serde_json::{json, Value};
use source_harness::*;

/// Statements whose query and rows events are all over 10 bytes: inserts
/// of one and many rows, long values, updates, deletes, DDL in between.
const WORKLOAD: &[&str] = &[
    "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(200), body TEXT, price DECIMAL(10,2), seen DATETIME(3))",
    "INSERT INTO items VALUES (1, 'first', REPEAT('abc', 100), 1.50, '2024-01-02 03:04:05.678')",
    "INSERT INTO items VALUES (2, 'second', NULL, 2.25, NULL), (3, 'third', 'short', -3.00, '1999-12-31 23:59:59.999')",
    "BEGIN",
    "UPDATE items SET body = REPEAT('xyz', 500), price = price * 2 WHERE id <= 2",
    "DELETE FROM items WHERE id = 3",
    "COMMIT",
    "ALTER TABLE items ADD COLUMN note VARCHAR(50) DEFAULT 'none'",
    "INSERT INTO items (id, name, note) VALUES (4, 'after the DDL', 'a note long enough to compress')",
    "UPDATE items SET id = 40 WHERE id = 4",
    "TRUNCATE TABLE items",
    "ALTER TABLE items COMMENT 'the end of the workload'",
];

/// What must be equal on both servers: topic, key, and the value without
/// its binlog position and times.
fn essence(event: &Event) -> Value {
    let mut value = event.value.clone();
    if let Some(source) = value.get_mut("source").and_then(Value::as_object_mut) {
        for field in ["file", "pos", "ts_ms", "ts_us", "ts_ns", "thread"] {
            source.remove(field);
        }
    }
    if let Some(object) = value.as_object_mut() {
        for field in ["ts_ms", "ts_us", "ts_ns"] {
            object.remove(field);
        }
        // Schema change records name the position in their own fields.
        if let Some(source) = object.get_mut("position").and_then(Value::as_object_mut) {
            source.remove("file");
            source.remove("pos");
        }
    }
    json!({ "topic": event.topic, "key": event.key, "value": value })
}

async fn run(db: &MariaDb) -> Vec<Value> {
    setup(db, &[]).await;
    let mut source = streaming(db, &[("include.schema.changes", "true")]).await;
    exec(db, WORKLOAD).await;
    // Everything up to the last DDL's schema change record.
    let mut events = Vec::new();
    while !events.iter().any(|e: &Event| e.value["ddl"].as_str().is_some_and(|d| d.contains("the end of the workload"))) {
        events.extend(source.collect(1, |topic| topic.starts_with("dbserver1")).await.0);
    }
    events.iter().map(essence).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_events_give_the_same_change_events_as_plain_ones() {
    let plain = MariaDb::start(&[]).await;
    let compressed = MariaDb::start(&["--log-bin-compress=ON", "--log-bin-compress-min-len=10"]).await;
    let golden = run(&plain).await;
    let got = run(&compressed).await;
    assert!(golden.len() >= 12, "{golden:#?}");
    assert_eq!(got, golden);

    // The server did write compressed events (QUERY_COMPRESSED and rows).
    let mut conn = compressed.conn().await;
    let kinds: Vec<String> = conn.query("SHOW BINLOG EVENTS").await.map(|rows: Vec<mysql_async::Row>| {
        rows.into_iter().filter_map(|mut r| r.take::<String, _>(2)).collect()
    }).unwrap();
    for kind in ["Query_compressed", "Write_rows_compressed_v1", "Update_rows_compressed_v1", "Delete_rows_compressed_v1"] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
}
