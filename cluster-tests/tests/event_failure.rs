//! `event.processing.failure.handling.mode` against a real MariaDB: rows
//! events that cannot be processed, written by the server itself, stop the
//! source (`fail`, naming the position, GTID and table) or are skipped whole
//! (`warn`, `skip`) with everything around them delivered exactly once, and
//! the skip counted in the offset; resuming from any batch's offset skips
//! the same events and counts each once. Through real raftcdc processes and
//! a real broker, `connector status` and the metrics show the count, and a
//! new owner after a kill skips the same event once.
//!
//! The triggers: an impossible date stored under `ALLOW_INVALID_DATES`
//! (`2021-02-30`: Debezium fails on it, raftcdc's encoder refuses it), and in
//! `time.precision.mode=connect` a `TIME` beyond 24 hours in a `NOT NULL`
//! column (Debezium cannot convert it and the field is required). A schema
//! change hidden from the binlog (`sql_log_bin=0`) is not a failure here:
//! rows decode with the binlog's own table map, so they arrive with the
//! columns they have.
mod source_harness;

use std::time::Duration;

use cluster_tests::broker::Broker;
use cluster_tests::cluster::Cluster;
use cluster_tests::connectors;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::wait::wait_until;
use mysql_async::prelude::Queryable;
use raftcdc::proto::Connector;
use raftcdc::source::mysql::error::{DefiniteError, SourceError};
use raftcdc::source::mysql::event_failure::skipped_in_offset;
use raftcdc::source::Batch;
use serde_json::Value;
use source_harness::*;

const TABLE: &str = "CREATE TABLE t (id INT PRIMARY KEY, d DATE)";

/// Good rows 1, then 2..4 in one statement (one rows event) with 3 an
/// impossible date, then a transaction of 5, 6 (impossible) and 7, then 8.
async fn write_rows(db: &MariaDb) {
    exec(
        db,
        &[
            "INSERT INTO t VALUES (1, '2021-01-01')",
            "SET SESSION sql_mode = 'ALLOW_INVALID_DATES'",
            "INSERT INTO t VALUES (2, '2021-02-02'), (3, '2021-02-30'), (4, '2021-02-04')",
            "BEGIN",
            "INSERT INTO t VALUES (5, '2021-03-05')",
            "INSERT INTO t VALUES (6, '2021-02-30')",
            "INSERT INTO t VALUES (7, '2021-03-07')",
            "COMMIT",
            "INSERT INTO t VALUES (8, '2021-03-08')",
        ],
    )
    .await;
}

fn ids(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.value["after"]["id"].as_i64().unwrap()).collect()
}

/// Collects batches until the data events reach `want` and a batch
/// carries `count` skipped events (progress batches follow every
/// `poll.interval.ms`).
async fn until_skipped(source: &mut Running, want: usize, count: u64) -> (Vec<Event>, Vec<Batch>) {
    let (events, mut batches) = source.collect(want, data).await;
    while batches.last().and_then(|b| skipped_in_offset(&b.offset)).map(|s| s.count) != Some(count) {
        let batch = source.ready().await;
        assert!(batch.records.iter().all(|r| !data(&r.topic)), "more data than expected: {batch:?}");
        batches.push(batch);
    }
    (events, batches)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_stops_naming_the_position_gtid_and_table() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &[TABLE]).await;
    let mut source = streaming(&db, &[]).await;
    write_rows(&db).await;
    let (events, _) = source.collect(1, data).await;
    assert_eq!(ids(&events), [1]);
    let result = tokio::time::timeout(DEADLINE, &mut source.task).await.expect("stops").unwrap();
    let error = match result {
        Err(SourceError::Definite(error @ DefiniteError::RowsEvent { .. })) => error,
        other => panic!("expected a rows event error, got {other:?}"),
    };
    let text = raftcdc::error::error_chain(&error);
    let position = error.position().unwrap().to_string();
    assert!(position.starts_with("mysql-bin.000001:") && position.contains("(GTID 0-1-"), "{position}");
    assert!(text.contains("for table inventory.t") && text.contains("2021-02-30"), "{text}");
    // The position is the rows event's own (mysqlbinlog --start-position).
    let pos: u64 = position["mysql-bin.000001:".len()..].split(' ').next().unwrap().parse().unwrap();
    let mut conn = db.conn().await;
    let rows: Vec<(String, u64, String)> = conn
        .query("SHOW BINLOG EVENTS IN 'mysql-bin.000001'")
        .await
        .unwrap()
        .into_iter()
        .map(|row: mysql_async::Row| (row.get::<String, _>(0).unwrap(), row.get::<u64, _>(1).unwrap(), row.get::<String, _>(2).unwrap()))
        .collect();
    let at = rows.iter().find(|(_, p, _)| *p == pos).unwrap_or_else(|| panic!("no event at {pos}: {rows:?}"));
    assert!(at.2.contains("Write_rows"), "{at:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_and_skip_drop_whole_rows_events_and_resume_identically() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &[TABLE]).await;
    let start_offset = streaming(&db, &[]).await.ready().await.offset;
    write_rows(&db).await;
    for mode in ["warn", "skip"] {
        let extra = [("event.processing.failure.handling.mode", mode), ("max.batch.size", "1"), ("poll.interval.ms", "50")];
        let mut source = start(config(&db, &extra), Some(start_offset.clone()));
        let (events, batches) = until_skipped(&mut source, 4, 2).await;
        // The whole multi-row event (2, 3, 4) and the event of 6 are
        // skipped; 5 and 7 of the same transaction are delivered.
        assert_eq!(ids(&events), [1, 5, 7, 8], "{mode}");
        let skipped = skipped_in_offset(&batches.last().unwrap().offset).unwrap();
        assert_eq!(skipped.count, 2, "{mode}");
        let last = skipped.last.unwrap();
        assert_eq!(last.table, "inventory.t");
        assert!(last.reason.contains("2021-02-30") && last.gtid.is_some(), "{last:?}");
        drop(source);

        // Resuming from every batch's offset: exactly what followed it,
        // and the same count at the end.
        let mut seen = 0;
        for batch in &batches {
            seen += batch.records.iter().filter(|r| data(&r.topic)).count();
            if seen == 4 {
                break;
            }
            let mut resumed = start(config(&db, &extra), Some(batch.offset.clone()));
            let (rest, more) = until_skipped(&mut resumed, 4 - seen, 2).await;
            assert_eq!(ids(&rest), [1, 5, 7, 8][seen..], "{mode}: resumed from {}", batch.offset);
            assert_eq!(skipped_in_offset(&more.last().unwrap().offset).unwrap().count, 2);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconvertible_times_and_hidden_schema_changes() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE tt (id INT PRIMARY KEY, t TIME NOT NULL)", "CREATE TABLE h (id INT PRIMARY KEY, v INT)"]).await;
    let extra = [("time.precision.mode", "connect"), ("event.processing.failure.handling.mode", "warn")];
    let mut source = streaming(&db, &extra).await;
    exec(
        &db,
        &[
            "INSERT INTO tt VALUES (1, '12:00:00')",
            "INSERT INTO tt VALUES (2, '25:00:00')",
            "INSERT INTO h VALUES (1, 10)",
            "SET SESSION sql_log_bin = 0",
            "ALTER TABLE h ADD COLUMN extra INT",
            "SET SESSION sql_log_bin = 1",
            "INSERT INTO h VALUES (2, 20, 99)",
            "INSERT INTO tt VALUES (3, '13:00:00')",
        ],
    )
    .await;
    let (events, batches) = until_skipped(&mut source, 4, 1).await;
    let got: Vec<(String, Value)> = events.iter().map(|e| (e.topic.clone(), e.value["after"].clone())).collect();
    assert_eq!(
        got,
        [
            ("dbserver1.inventory.tt".to_string(), serde_json::json!({"id": 1, "t": 43200000})),
            ("dbserver1.inventory.h".to_string(), serde_json::json!({"id": 1, "v": 10})),
            // The hidden column is in the binlog's table map: delivered.
            ("dbserver1.inventory.h".to_string(), serde_json::json!({"id": 2, "v": 20, "extra": 99})),
            ("dbserver1.inventory.tt".to_string(), serde_json::json!({"id": 3, "t": 46800000})),
        ]
    );
    let last = skipped_in_offset(&batches.last().unwrap().offset).unwrap().last.unwrap();
    assert_eq!(last.table, "inventory.tt");
    assert!(last.reason.contains("column `t`"), "{last:?}");
}

/// The `after.id`s of the committed output of `inventory.t`, in order.
async fn committed_ids(broker: &Broker) -> Vec<i64> {
    let mut ids = Vec::new();
    for record in broker.read_committed("dbserver1.inventory.t").await {
        let Some(value) = record.value else { continue };
        let value: Value = serde_json::from_slice(&value).expect("JSON value");
        ids.push(value["after"]["id"].as_i64().expect("an id"));
    }
    ids
}

fn skip_warning(c: &Connector) -> Option<&String> {
    c.warnings.iter().find(|w| w.starts_with("event.processing.failure.handling.mode:"))
}

/// Through real raftcdc processes and a real broker, `warn`: the
/// connector keeps running past an impossible date; `connector status`
/// (text and JSON) and the metric count the skipped event. Then the owner
/// is frozen, a transaction with another one is written, and the owner is
/// killed: the next owner reads it from the committed offset, skips the
/// same rows event once, and the committed output holds every other row
/// exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_skipped_events_across_an_owner_kill() {
    let db = MariaDb::start(&[]).await;
    db.sql(&["CREATE DATABASE inventory", "CREATE TABLE inventory.t (id INT PRIMARY KEY, d DATE)"]).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let extra = [("event.processing.failure.handling.mode", "warn")];
    let c = connectors::create_streaming(&cluster, leader, &db, "skips", 6331, &extra).await;
    let owner = c.owner_node_id.expect("owned") as usize;
    db.sql(&[
        "SET SESSION sql_mode = 'ALLOW_INVALID_DATES'",
        "INSERT INTO inventory.t VALUES (1, '2021-01-01')",
        "INSERT INTO inventory.t VALUES (2, '2021-02-30')",
        "INSERT INTO inventory.t VALUES (3, '2021-01-03')",
    ])
    .await;
    let c = cluster
        .wait_connector(&[leader], "skips", "one skipped event in status", |_, c| match skip_warning(c) {
            Some(w) if w.contains(": 1 binlog rows event skipped") => Ok(()),
            other => Err(format!("{other:?}")),
        })
        .await
        .remove(0);
    assert_eq!(c.task.as_ref().unwrap().state, "RUNNING");
    let warning = skip_warning(&c).unwrap();
    assert!(warning.contains("table inventory.t") && warning.contains("2021-02-30") && warning.contains("(GTID 0-1-"), "{warning}");
    let text = cluster.cli(leader, &["connector", "status", "skips"]).await;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("warning:  event.processing.failure.handling.mode: 1 binlog rows event skipped"), "{text}");
    let json = cluster.cli(leader, &["connector", "status", "skips", "--output", "json"]).await;
    let json: Value = serde_json::from_slice(&json.stdout).expect("status JSON");
    assert!(json["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("1 binlog rows event skipped")), "{json}");
    wait_until(Duration::from_secs(60), "the metric counts the skipped event", || async {
        let scrape = cluster.scrape(leader).await?;
        match scrape.value("raftcdc_source_skipped_events_total", &[("connector", "skips")]) {
            Ok(1.0) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    wait_until(Duration::from_secs(60), "rows 1 and 3 committed", || async {
        let ids = committed_ids(&broker).await;
        if ids == [1, 3] { Ok(()) } else { Err(format!("{ids:?}")) }
    })
    .await;

    // Frozen before it reads the next transaction, then killed: the next
    // owner reads it from the offset the frozen owner committed last.
    cluster.freeze(owner);
    db.sql(&[
        "SET SESSION sql_mode = 'ALLOW_INVALID_DATES'",
        "BEGIN",
        "INSERT INTO inventory.t VALUES (4, '2021-01-04')",
        "INSERT INTO inventory.t VALUES (5, '2021-02-31'), (6, '2021-01-06')",
        "INSERT INTO inventory.t VALUES (7, '2021-01-07')",
        "COMMIT",
        "INSERT INTO inventory.t VALUES (8, '2021-01-08')",
    ])
    .await;
    cluster.kill(owner);
    let survivors: Vec<usize> = cluster.nodes().into_iter().filter(|n| *n != owner).collect();
    let leader = cluster.wait_leader(&survivors).await;
    let c = cluster
        .wait_connector(&[leader], "skips", "two skipped events under a new owner", |_, c| {
            match (c.owner_node_id, skip_warning(c)) {
                (Some(o), Some(w)) if o as usize != owner && w.contains(": 2 binlog rows events skipped") => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await
        .remove(0);
    assert!(skip_warning(&c).unwrap().contains("2021-02-31"), "{:?}", c.warnings);
    // The new owner read the event itself (warn: its log names it).
    let successor = c.owner_node_id.expect("owned") as usize;
    let log = std::fs::read_to_string(cluster.log_path(successor)).unwrap_or_default();
    assert!(log.contains("a rows event cannot be processed; skipped") && log.contains("2021-02-31"), "not in node {successor}'s log");
    wait_until(Duration::from_secs(60), "every other row exactly once", || async {
        let ids = committed_ids(&broker).await;
        if ids == [1, 3, 4, 7, 8] { Ok(()) } else { Err(format!("{ids:?}")) }
    })
    .await;
}
