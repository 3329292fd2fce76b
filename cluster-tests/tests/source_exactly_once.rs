//! Exactly-once at the source, against a real MariaDB server (one private
//! server per test):
//!
//! - snapshot chunks follow the primary key (or a unique NOT NULL key),
//!   never `message.key.columns`, so rows sharing a message key or having
//!   a NULL one are all read, once, in initial and incremental snapshots;
//! - a parallel snapshot (`snapshot.max.threads`) resumed on a new view
//!   from a cursor with several tables in flight (with 4 threads, and
//!   with the setting back at 1) continues each table after its own key
//!   and streams a change between the views only for keys read before;
//! - resuming in the middle of a split transaction gives the transaction
//!   metadata an uninterrupted run gives;
//! - rolled-back work that the binlog holds anyway (`ROLLBACK` groups,
//!   `ROLLBACK TO SAVEPOINT`) is not emitted, and XA PREPARE is refused
//!   instead of silently losing rows;
//! - schema history entries of a snapshot or `recovery` start are equal
//!   when the position and the tables are.
mod source_harness;

use std::collections::BTreeMap;

use cluster_tests::mariadb::MariaDb;
use raftcdc::source::mysql::error::SourceError;
use raftcdc::source::mysql::replication::MySqlSource;
use raftcdc::source::{Batch, IncrementalRequest, IncrementalState};
use serde_json::{json, Value};
use source_harness::*;
use tokio::sync::{mpsc, watch};

/// Collects batches until one reports the (initial or incremental, as
/// `incremental` says) snapshot completed; returns the data events.
async fn until_snapshot_completes(running: &mut Running, incremental: bool) -> (Vec<Event>, Vec<Batch>) {
    let mut events = Vec::new();
    let mut batches = Vec::new();
    loop {
        let batch = match tokio::time::timeout(DEADLINE, running.rx.recv()).await {
            Ok(Some(batch)) => batch,
            Ok(None) => panic!("the source stopped: {:?}", (&mut running.task).await),
            Err(_) => panic!("the snapshot did not complete in time ({} events)", events.len()),
        };
        for record in batch.records.iter().filter(|r| data(&r.topic)) {
            events.push(Event {
                topic: record.topic.clone(),
                key: record.key.as_ref().map(|k| serde_json::from_slice(k).unwrap()).unwrap_or(Value::Null),
                value: record.value.as_ref().map(|v| serde_json::from_slice(v).unwrap()).unwrap_or(Value::Null),
            });
        }
        let done = batch.snapshot.as_ref().is_some_and(|s| s.completed && s.incremental == incremental);
        batches.push(batch);
        if done {
            return (events, batches);
        }
    }
}

/// `id` of every read (`op: r`) on `topic`, counted.
fn reads(events: &[Event], topic: &str) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    for event in events.iter().filter(|e| e.topic == topic && e.value["op"] == "r") {
        *counts.entry(event.value["after"]["id"].as_i64().unwrap()).or_insert(0) += 1;
    }
    counts
}

fn once(ids: impl IntoIterator<Item = i64>) -> BTreeMap<i64, usize> {
    ids.into_iter().map(|id| (id, 1)).collect()
}

/// Asserts every expected id was read once, naming the missing and the
/// repeated ones (not thousands of equal ones).
fn assert_read_once(got: &BTreeMap<i64, usize>, expected: &BTreeMap<i64, usize>, what: &str) {
    let missing: Vec<i64> = expected.keys().filter(|id| !got.contains_key(id)).copied().collect();
    let wrong: Vec<(i64, usize)> = got.iter().filter(|(id, n)| expected.get(id) != Some(n)).map(|(id, n)| (*id, *n)).collect();
    assert!(
        missing.is_empty() && wrong.is_empty(),
        "{what}: {} of {} rows missing (first: {:?}); unexpected or repeated (id, reads): {:?}",
        missing.len(),
        expected.len(),
        &missing[..missing.len().min(20)],
        &wrong[..wrong.len().min(20)]
    );
}

/// Rows whose `message.key.columns` value repeats across chunk ends and
/// is NULL for some: `grp` is `id / 7`, NULL for every fifth id.
const KEYED_TABLES: &[&str] = &[
    "CREATE TABLE pk (id INT PRIMARY KEY, grp INT NULL, v INT)",
    "CREATE TABLE uk (id INT NOT NULL, grp INT NULL, v INT, UNIQUE KEY u_id (id))",
    "CREATE TABLE nk (id INT, grp INT NULL, v INT)",
];

async fn keyed_rows(db: &MariaDb, rows: u64) {
    for table in ["pk", "uk", "nk"] {
        exec(db, &[&format!(
            "INSERT INTO {table} SELECT seq, IF(seq % 5 = 0, NULL, seq DIV 7), seq FROM seq_1_to_{rows}"
        )])
        .await;
    }
}

const MESSAGE_KEYS: &str = "inventory.pk:grp;inventory.uk:grp;inventory.nk:grp";

/// The initial snapshot chunks by the primary key (or the unique NOT NULL
/// key) even when `message.key.columns` names a non-unique, nullable
/// column: every row is read exactly once. (Chunking by `grp` skipped the
/// rows sharing a chunk's last `grp`, and everything after a NULL one.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_snapshot_chunks_by_the_primary_key_not_the_message_key() {
    let db = MariaDb::start(&[]).await;
    setup(&db, KEYED_TABLES).await;
    keyed_rows(&db, 60).await;
    let cfg = config(&db, &[
        ("snapshot.mode", "initial"),
        ("snapshot.fetch.size", "4"),
        ("message.key.columns", MESSAGE_KEYS),
    ]);
    let mut source = start(cfg, None);
    let (events, batches) = until_snapshot_completes(&mut source, false).await;
    for table in ["pk", "uk", "nk"] {
        assert_read_once(&reads(&events, &format!("dbserver1.inventory.{table}")), &once(1..=60), table);
    }
    // The message key is still `grp`.
    let first = events.iter().find(|e| e.topic == "dbserver1.inventory.pk").unwrap();
    assert_eq!(first.key, json!({"grp": first.value["after"]["grp"]}));
    // Cursors of keyed tables hold the chunk key (the id), not `grp`.
    let cursor = batches
        .iter()
        .find_map(|b| {
            let c = &b.offset["snapshot_cursor"];
            (c["table"] == json!(1) && c["last_key"].is_array()).then(|| c["last_key"].clone())
        })
        .expect("a chunk cursor inside `pk`");
    assert_eq!(cursor, json!([{"int": 4}]));
}

/// A resume inside a table keyed by its primary key continues after the
/// last committed id, with `message.key.columns` non-unique.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_snapshot_resumes_by_the_primary_key() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &[KEYED_TABLES[0]]).await;
    keyed_rows_one(&db, "pk", 30).await;
    let cfg = config(&db, &[
        ("snapshot.mode", "initial"),
        ("snapshot.fetch.size", "4"),
        ("message.key.columns", MESSAGE_KEYS),
    ]);
    let mut first = start(cfg.clone(), None);
    let (_, batches) = until_snapshot_completes(&mut first, false).await;
    drop(first);
    let chunk = batches
        .iter()
        .find(|b| b.offset["snapshot_cursor"]["last_key"] == json!([{"int": 12}]))
        .expect("the chunk ending at id 12");
    let mut resumed = start(cfg.clone(), Some(chunk.offset.clone()));
    let (events, _) = until_snapshot_completes(&mut resumed, false).await;
    assert_read_once(&reads(&events, "dbserver1.inventory.pk"), &once(13..=30), "pk after the resume");
    drop(resumed);

    // A cursor written by an older version, which chunked this table by
    // `grp` (its last key is a `grp` value, and it names no key columns):
    // it cannot continue an id-ordered read, so the table is read again.
    let mut old = chunk.offset.clone();
    old["snapshot_cursor"].as_object_mut().unwrap().remove("key_columns");
    old["snapshot_cursor"]["last_key"] = json!([{"int": 1}]);
    let mut resumed = start(cfg, Some(old));
    let (events, _) = until_snapshot_completes(&mut resumed, false).await;
    assert_read_once(&reads(&events, "dbserver1.inventory.pk"), &once(1..=30), "pk after an old cursor");
}

async fn keyed_rows_one(db: &MariaDb, table: &str, rows: u64) {
    exec(db, &[&format!(
        "INSERT INTO {table} SELECT seq, IF(seq % 5 = 0, NULL, seq DIV 7), seq FROM seq_1_to_{rows}"
    )])
    .await;
}

fn start_with_requests(
    cfg: std::sync::Arc<raftcdc::source::mysql::config::MySqlSourceConfig>,
    requests: watch::Receiver<Option<IncrementalRequest>>,
) -> Running {
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(async move { MySqlSource::new(cfg, true).with_snapshot_requests(requests).run(None, tx).await });
    Running { rx, task }
}

/// An incremental snapshot of tables larger than one chunk (1024 rows)
/// with a non-unique, nullable `message.key.columns`: every row is read
/// exactly once, and a table without any unique key is skipped (logged)
/// rather than read wrongly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_snapshot_chunks_by_the_primary_key_not_the_message_key() {
    const ROWS: i64 = 2500;
    let db = MariaDb::start(&[]).await;
    setup(&db, KEYED_TABLES).await;
    keyed_rows(&db, ROWS as u64).await;
    let (requests_tx, requests) = watch::channel(None);
    let cfg = config(&db, &[("message.key.columns", MESSAGE_KEYS), ("poll.interval.ms", "50")]);
    let mut source = start_with_requests(cfg, requests);
    source.ready().await;
    requests_tx
        .send(Some(IncrementalRequest {
            id: 1,
            tables: vec!["inventory.pk".into(), "inventory.uk".into()],
            filter: None,
            state: IncrementalState::Running,
            requested_ms: 0,
            patterns: false,
            conditions: Vec::new(),
        }))
        .unwrap();
    // A change streamed while the snapshot runs, on a row sharing its
    // message key (grp 1) with ids 7..=13: only id 8's chunk row may
    // give way to the streamed update.
    exec(&db, &["UPDATE pk SET v = -8 WHERE id = 8"]).await;
    let (events, _) = until_snapshot_completes(&mut source, true).await;
    let pk = reads(&events, "dbserver1.inventory.pk");
    let updated_read = pk.contains_key(&8);
    let mut expected = once(1..=ROWS);
    if !updated_read {
        expected.remove(&8);
        assert!(
            events.iter().any(|e| e.value["op"] == "u" && e.value["after"]["id"] == json!(8)),
            "id 8 was neither read nor streamed"
        );
    }
    assert_read_once(&pk, &expected, "pk");
    assert_read_once(&reads(&events, "dbserver1.inventory.uk"), &once(1..=ROWS), "uk");
}

/// Transaction metadata of one split transaction as a consumer sees it:
/// `(topic, transaction block or END summary)` per record.
fn transaction_view(batches: &[Batch]) -> Vec<(String, Value)> {
    let mut view = Vec::new();
    for batch in batches {
        for record in &batch.records {
            let value: Value = record.value.as_ref().map(|v| serde_json::from_slice(v).unwrap()).unwrap_or(Value::Null);
            let summary = if record.topic.ends_with(".transaction") {
                json!({"status": value["status"], "id": value["id"], "event_count": value["event_count"], "data_collections": value["data_collections"]})
            } else {
                value["transaction"].clone()
            };
            view.push((record.topic.clone(), summary));
        }
    }
    view
}

/// Resuming from any batch offset inside a transaction split across
/// batches yields exactly the rest of an uninterrupted run's records,
/// transaction metadata included: `total_order` and
/// `data_collection_order` continue, END counts the whole transaction.
/// (Before, they restarted at 1 and END counted only the events after the
/// resume, or was missing when the resume point was the last row.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_mid_transaction_keeps_transaction_metadata() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE a (id INT PRIMARY KEY)", "CREATE TABLE b (id INT PRIMARY KEY)"]).await;
    let extra = [("provide.transaction.metadata", "true"), ("max.batch.size", "10")];
    let mut source = streaming(&db, &extra).await;
    // 29 rows: BEGIN + 9 rows, then 10, then 10 rows that end exactly at
    // the transaction's last row.
    exec(&db, &[
        "BEGIN",
        "INSERT INTO a SELECT seq FROM seq_1_to_12",
        "INSERT INTO b SELECT seq FROM seq_1_to_12",
        "INSERT INTO a SELECT seq FROM seq_13_to_17",
        "COMMIT",
    ])
    .await;
    let (_, batches) = source.collect(31, |_| true).await;
    drop(source);
    let batches: Vec<Batch> = batches.into_iter().filter(|b| !b.records.is_empty()).collect();
    let whole = transaction_view(&batches);
    assert_eq!(whole.len(), 31);
    assert_eq!(whole[30].1["event_count"], json!(29), "{:?}", whole[30]);
    assert!(batches.iter().filter(|b| !b.ends_transaction).count() >= 3, "the transaction was split");

    let cfg = config(&db, &extra);
    let mut delivered = 0;
    for batch in &batches {
        delivered += batch.records.len();
        if batch.ends_transaction {
            break;
        }
        let mut resumed = start(cfg.clone(), Some(batch.offset.clone()));
        let (_, rest) = resumed.collect(31 - delivered, |_| true).await;
        let rest: Vec<Batch> = rest.into_iter().filter(|b| !b.records.is_empty()).collect();
        assert_eq!(transaction_view(&rest), whole[delivered..].to_vec(), "resumed from {}", batch.offset);
    }
}

/// What really happened is what is emitted: MariaDB writes rolled-back
/// InnoDB rows to the binlog when the transaction also created a
/// temporary table (the group then ends in `ROLLBACK`), and rows after a
/// savepoint when a non-transactional change followed it (`ROLLBACK TO`
/// inside a committed group). Rows of non-transactional tables are
/// written as their own committed groups and are emitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_rows_in_the_binlog_are_not_emitted() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &[
        "CREATE TABLE i (id INT PRIMARY KEY) ENGINE=InnoDB",
        "CREATE TABLE m (id INT PRIMARY KEY) ENGINE=MyISAM",
        "CREATE TABLE i2 (id INT PRIMARY KEY) ENGINE=InnoDB",
        "CREATE TRIGGER i2_to_m AFTER INSERT ON i2 FOR EACH ROW INSERT INTO m VALUES (NEW.id + 100)",
    ])
    .await;
    let mut source = streaming(&db, &[]).await;
    exec(&db, &["BEGIN", "INSERT INTO i VALUES (1)", "INSERT INTO m VALUES (1)", "ROLLBACK"]).await;
    exec(&db, &["INSERT INTO m VALUES (2)"]).await;
    exec(&db, &[
        "BEGIN",
        "INSERT INTO i VALUES (50)",
        "CREATE TEMPORARY TABLE tt (x INT) ENGINE=InnoDB",
        "INSERT INTO i VALUES (51)",
        "ROLLBACK",
    ])
    .await;
    exec(&db, &[
        "BEGIN",
        "INSERT INTO i VALUES (30)",
        "SAVEPOINT s",
        "INSERT INTO i VALUES (31)",
        "INSERT INTO i2 VALUES (32)",
        "ROLLBACK TO SAVEPOINT s",
        "INSERT INTO i VALUES (33)",
        "COMMIT",
    ])
    .await;
    exec(&db, &["INSERT INTO i VALUES (99)"]).await;
    let (events, _) = source.collect(6, data).await;
    let seen: Vec<(String, i64)> = events
        .iter()
        .map(|e| (e.topic.trim_start_matches("dbserver1.inventory.").to_string(), e.value["after"]["id"].as_i64().unwrap()))
        .collect();
    let expected: Vec<(String, i64)> =
        [("m", 1), ("m", 2), ("m", 132), ("i", 30), ("i", 33), ("i", 99)].iter().map(|(t, i)| (t.to_string(), *i)).collect();
    assert_eq!(seen, expected);
    // Nothing else arrives (the source is past the last insert already).
    let mut conn_rows = Vec::new();
    for table in ["i", "m", "i2"] {
        conn_rows.push((table, db_ids(&db, table).await));
    }
    assert_eq!(conn_rows, vec![("i", vec![30, 33, 99]), ("m", vec![1, 2, 132]), ("i2", vec![])]);
}

/// A rolled-back group larger than max.batch.size: its first parts were
/// handed over before the ROLLBACK was read, and cannot be taken back.
/// The source stops with a definite error saying so (the limit of a
/// bounded-memory reader), instead of emitting the rest as committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_after_a_delivered_part_is_a_definite_error() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE i (id INT PRIMARY KEY) ENGINE=InnoDB"]).await;
    let mut source = streaming(&db, &[("max.batch.size", "10")]).await;
    exec(&db, &[
        "BEGIN",
        "CREATE TEMPORARY TABLE tt (x INT) ENGINE=InnoDB",
        "INSERT INTO i SELECT seq FROM seq_1_to_25",
        "ROLLBACK",
    ])
    .await;
    let result = tokio::time::timeout(DEADLINE, &mut source.task).await.expect("the source stops").unwrap();
    match result {
        Err(SourceError::Definite(error)) if error.to_string().contains("rolled back") => {
            assert!(error.remedy().contains("max.batch.size"), "{}", error.remedy());
        }
        other => panic!("expected the rolled-back-after-delivery error, got {other:?}"),
    }
}

async fn db_ids(db: &MariaDb, table: &str) -> Vec<i64> {
    use mysql_async::prelude::Queryable;
    let mut conn = db.conn().await;
    conn.query(format!("SELECT id FROM inventory.{table} ORDER BY id")).await.unwrap()
}

/// MariaDB writes a two-phase XA transaction as two groups: its rows end
/// in an XA_PREPARE event, and `XA COMMIT`/`XA ROLLBACK` comes later in a
/// group of its own. raftcdc cannot carry prepared rows across groups
/// exactly once, so it refuses XA PREPARE with a definite error (before,
/// the next GTID silently dropped the prepared rows) — at the group's
/// GTID (flagged as a prepared XA), so not even a part of a transaction
/// larger than max.batch.size is handed over. One-phase XA (`XA COMMIT
/// ... ONE PHASE`) is an ordinary transaction and streams, split or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xa_one_phase_streams_and_xa_prepare_is_refused() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE i (id INT PRIMARY KEY)"]).await;
    let mut source = streaming(&db, &[("max.batch.size", "10")]).await;
    exec(&db, &["XA START 'one'", "INSERT INTO i SELECT seq FROM seq_1_to_25", "XA END 'one'", "XA COMMIT 'one' ONE PHASE"]).await;
    let (events, _) = source.collect(25, data).await;
    let ids: Vec<i64> = events.iter().map(|e| e.value["after"]["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (1..=25).collect::<Vec<_>>());
    exec(&db, &[
        "XA START 'two'",
        "INSERT INTO i SELECT seq FROM seq_101_to_125",
        "XA END 'two'",
        "XA PREPARE 'two'",
        "XA COMMIT 'two'",
    ])
    .await;
    let result = tokio::time::timeout(DEADLINE, &mut source.task).await.expect("the source stops").unwrap();
    match result {
        Err(SourceError::Definite(error)) if error.to_string().contains("XA_PREPARE") => {
            assert!(error.remedy().contains("ONE PHASE"), "{}", error.remedy());
        }
        other => panic!("expected the XA_PREPARE refusal, got {other:?}"),
    }
    let mut after = Vec::new();
    while let Ok(batch) = source.rx.try_recv() {
        after.extend(batch.records.into_iter().filter(|r| data(&r.topic)));
    }
    assert!(after.is_empty(), "no part of the prepared transaction was handed over: {} records", after.len());
}

/// Schema history entries of a snapshot and of a `recovery` start carry
/// no wall clock: two starts at the same position over the same tables
/// write equal entries (the replicated state keeps one of equal entries).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_recovery_history_entries_are_deterministic() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE a (id INT PRIMARY KEY)", "CREATE TABLE b (id INT PRIMARY KEY, v TEXT)"]).await;
    exec(&db, &["INSERT INTO a VALUES (1)"]).await;

    let history = |batches: &[Batch]| -> Vec<Value> { batches.iter().flat_map(|b| b.schema_history.clone()).collect() };
    let snapshot_cfg = config(&db, &[("snapshot.mode", "initial_only")]);
    let mut first = start(snapshot_cfg.clone(), None);
    let (_, batches) = until_snapshot_completes(&mut first, false).await;
    drop(first);
    let first_history = history(&batches);
    assert_eq!(first_history.len(), 2);
    next_second().await;
    let mut second = start(snapshot_cfg, None);
    let (_, batches) = until_snapshot_completes(&mut second, false).await;
    drop(second);
    assert_eq!(history(&batches), first_history, "a snapshot at the same position");

    let offset = batches.last().unwrap().offset.clone();
    let recovery_cfg = config(&db, &[("snapshot.mode", "recovery")]);
    let mut first = start(recovery_cfg.clone(), Some(offset.clone()));
    let first_history = first.ready().await.schema_history;
    drop(first);
    assert_eq!(first_history.len(), 2);
    next_second().await;
    let mut second = start(recovery_cfg, Some(offset));
    assert_eq!(second.ready().await.schema_history, first_history, "recovery from the same offset");
}

/// Waits until the wall clock's second changed (so a wall-clock time in
/// an entry would differ).
async fn next_second() {
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let start = now();
    while now() == start {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A streamed change as the resume test looks at it: table, op (`"-"` for
/// a tombstone) and the row's key (`id`, or `code` of the string-keyed
/// table).
fn change_of(event: &Event) -> (String, String, String) {
    let table = event.topic.rsplit('.').next().unwrap().to_string();
    if event.value.is_null() {
        return (table, "-".into(), key_text(&event.key));
    }
    let row = if event.value["op"] == "d" { &event.value["before"] } else { &event.value["after"] };
    (table, event.value["op"].as_str().unwrap().to_string(), key_text(row))
}

fn key_text(row: &Value) -> String {
    match (&row["id"], &row["code"]) {
        (Value::Number(n), _) => n.to_string(),
        (_, Value::String(s)) => s.clone(),
        _ => row.to_string(),
    }
}

fn expect(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter().map(|(t, o, k)| (t.to_string(), o.to_string(), k.to_string())).collect()
}

/// `(key, v)` of the reads on `table` among `events`.
fn read_values(events: &[Event], table: &str) -> BTreeMap<String, i64> {
    events
        .iter()
        .filter(|e| e.topic == format!("dbserver1.inventory.{table}") && e.value["op"] == "r")
        .map(|e| (key_text(&e.value["after"]), e.value["after"]["v"].as_i64().unwrap()))
        .collect()
}

/// The first batch (after `skip` of them) whose cursor stands in table
/// `table` after some key.
fn chunk_in(batches: &[Batch], table: u64, skip: usize) -> Value {
    batches
        .iter()
        .filter(|b| b.offset["snapshot_cursor"]["table"] == json!(table) && b.offset["snapshot_cursor"]["last_key"].is_array())
        .nth(skip)
        .unwrap_or_else(|| panic!("a chunk inside table {table}"))
        .offset
        .clone()
}

/// A snapshot resumed twice on new views (`P1`, `P2`) after changes
/// between the views, below and above the cursor, in an integer-keyed
/// table and a `utf8mb4_bin` string-keyed one: each key's snapshot read is
/// followed by exactly the changes after the view that read it, so no
/// change a read already shows is streamed again, a row deleted before its
/// view produces nothing, and every later change arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_resumed_on_new_views_streams_only_changes_after_each_keys_view() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &[
        "CREATE TABLE a (id INT PRIMARY KEY, v INT)",
        "CREATE TABLE s (code VARCHAR(20) COLLATE utf8mb4_bin PRIMARY KEY, v INT)",
    ])
    .await;
    exec(&db, &[
        "INSERT INTO a SELECT seq, 0 FROM seq_1_to_20",
        "INSERT INTO s SELECT CONCAT('k', LPAD(seq, 2, '0')), 0 FROM seq_1_to_20",
    ])
    .await;
    let cfg = config(&db, &[("snapshot.mode", "initial"), ("snapshot.fetch.size", "4"), ("poll.interval.ms", "50")]);

    // View P0: the committed output ends with the chunk of `a` up to id 8.
    let mut first = start(cfg.clone(), None);
    let (_, batches) = until_snapshot_completes(&mut first, false).await;
    drop(first);
    let after_8 = batches
        .iter()
        .find(|b| b.offset["snapshot_cursor"]["last_key"] == json!([{"int": 8}]))
        .expect("the chunk ending at id 8")
        .offset
        .clone();

    // Between P0 and P1: below the cursor (3), above it (12, 15, 25), and
    // in the table not yet started (s).
    exec(&db, &[
        "UPDATE a SET v = 1 WHERE id = 3",
        "UPDATE a SET v = 1 WHERE id = 12",
        "DELETE FROM a WHERE id = 15",
        "INSERT INTO a VALUES (25, 1)",
        "UPDATE s SET v = 1 WHERE code = 'k05'",
        "DELETE FROM s WHERE code = 'k07'",
    ])
    .await;

    // View P1: resumed after id 8; the committed output ends with the
    // second chunk of `s` (k05, k06, k08, k09).
    let mut second = start(cfg.clone(), Some(after_8));
    let (events, batches) = until_snapshot_completes(&mut second, false).await;
    drop(second);
    let a_reads = read_values(&events, "a");
    let mut a_ids: Vec<i64> = a_reads.keys().map(|k| k.parse().unwrap()).collect();
    a_ids.sort();
    assert_eq!(a_ids, [9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 25]);
    assert_eq!((a_reads["12"], a_reads["25"]), (1, 1), "read at P1");
    let after_k09 = chunk_in(&batches, 1, 1);
    assert_eq!(after_k09["snapshot_cursor"]["last_key"], json!([{"bytes": "6b3039"}]), "k09");

    // Between P1 and P2: `a` is done (its changes are after every view
    // now), `s` below the cursor (k03) and above it (k15, k16, k99).
    exec(&db, &[
        "UPDATE a SET v = 2 WHERE id = 12",
        "UPDATE s SET v = 2 WHERE code = 'k03'",
        "UPDATE s SET v = 2 WHERE code = 'k15'",
        "DELETE FROM s WHERE code = 'k16'",
        "INSERT INTO s VALUES ('k99', 2)",
    ])
    .await;

    // View P2: resumed after k09; then changes after every view.
    let mut third = start(cfg, Some(after_k09));
    let (events, _) = until_snapshot_completes(&mut third, false).await;
    let s_reads = read_values(&events, "s");
    let expected_s: Vec<String> = ["k10", "k11", "k12", "k13", "k14", "k15", "k17", "k18", "k19", "k20", "k99"].map(String::from).into();
    assert_eq!(s_reads.keys().cloned().collect::<Vec<_>>(), expected_s);
    assert_eq!(s_reads["k15"], 2, "read at P2");
    exec(&db, &[
        "UPDATE a SET v = 3 WHERE id = 20",
        "UPDATE s SET v = 3 WHERE code = 'k15'",
        "DELETE FROM s WHERE code = 'k99'",
        "INSERT INTO a VALUES (1000, 3)",
    ])
    .await;
    let mut streamed = Vec::new();
    while !streamed.iter().any(|c: &(String, String, String)| c.2 == "1000") {
        let (events, _) = third.collect(1, data).await;
        streamed.extend(events.iter().filter(|e| e.value["op"] != "r").map(change_of));
    }
    assert_eq!(
        streamed,
        expect(&[
            // Between P0 and P1: only the change below the first cursor.
            ("a", "u", "3"),
            // Between P1 and P2: `a` was read at P0/P1, k03 at P1.
            ("a", "u", "12"),
            ("s", "u", "k03"),
            // After every view: all of them.
            ("a", "u", "20"),
            ("s", "u", "k15"),
            ("s", "d", "k99"),
            ("s", "-", "k99"),
            ("a", "c", "1000"),
        ]),
        "streamed changes after the resumed snapshot"
    );
}

/// Where a committed cursor leaves table `index` (0 `a`, 1 `b`, ...):
/// keys up to the answer were read at the earlier view (`i64::MAX`: all,
/// the table is finished; 0: none, or a keyless table, read again).
fn read_up_to(cursor: &Value, index: u64) -> i64 {
    let key = |v: &Value| v.as_array().and_then(|k| k.first()).and_then(|k| k["int"].as_i64()).unwrap_or(0);
    let lowest = cursor["table"].as_u64().unwrap();
    if index < lowest {
        return i64::MAX;
    }
    if index == lowest {
        return key(&cursor["last_key"]);
    }
    let ahead = cursor["ahead"].as_array().cloned().unwrap_or_default();
    match ahead.iter().find(|t| t["table"] == json!(index)) {
        Some(t) if t["done"] == json!(true) => i64::MAX,
        Some(t) => key(&t["last_key"]),
        None => 0,
    }
}

/// `snapshot.max.threads=4` resumed on a new view from a cursor with
/// several tables in flight (and a keyless one): per table, the rows
/// above its own cursor are read at the new view, a change between the
/// views is streamed only for keys read at the first, and every change
/// after the resume exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_snapshot_resumed_with_tables_in_flight_is_exact_per_table() {
    parallel_resume("4").await;
}

/// The same, resumed after `snapshot.max.threads` was set back to 1: the
/// tables the cursor has in flight still continue after their own keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_cursor_resumed_with_one_thread_is_exact_per_table() {
    parallel_resume("1").await;
}

/// A parallel snapshot of three keyed tables and a keyless one, resumed
/// with `snapshot.max.threads=resume_threads` from a committed cursor
/// with two keyed tables in flight; see the tests above.
async fn parallel_resume(resume_threads: &str) {
    // Enough chunks per table that the readers' chunks interleave.
    const ROWS: i64 = 400;
    let tables = ["a", "b", "c", "k"];
    let db = MariaDb::start(&[]).await;
    setup(&db, &[
        "CREATE TABLE a (id INT PRIMARY KEY, v INT)",
        "CREATE TABLE b (id INT PRIMARY KEY, v INT)",
        "CREATE TABLE c (id INT PRIMARY KEY, v INT)",
        "CREATE TABLE k (id INT, v INT)",
    ])
    .await;
    for table in tables {
        exec(&db, &[&format!("INSERT INTO {table} SELECT seq, 0 FROM seq_1_to_{ROWS}")]).await;
    }
    let cfg = config(&db, &[
        ("snapshot.mode", "initial"),
        ("snapshot.fetch.size", "4"),
        ("snapshot.max.threads", "4"),
        ("poll.interval.ms", "50"),
    ]);

    // View P0, to the end; then a committed point with the lowest table
    // and another one both in flight.
    let mut first = start(cfg.clone(), None);
    let (events, batches) = until_snapshot_completes(&mut first, false).await;
    drop(first);
    for table in tables {
        assert_read_once(&reads(&events, &format!("dbserver1.inventory.{table}")), &once(1..=ROWS), table);
    }
    let resume = batches
        .iter()
        .map(|b| &b.offset)
        .find(|o| {
            let cursor = &o["snapshot_cursor"];
            cursor["last_key"].is_array()
                && cursor["ahead"].as_array().is_some_and(|a| a.iter().any(|t| t["done"] != json!(true) && t["last_key"].is_array()))
        })
        .expect("a committed cursor with two keyed tables in flight")
        .clone();
    let cursor = resume["snapshot_cursor"].clone();
    let bounds: Vec<i64> = (0..tables.len() as u64).map(|i| read_up_to(&cursor, i)).collect();
    eprintln!("resuming from {cursor}: read at P0 up to {bounds:?}");

    // Between P0 and P1: the first and last key of every table.
    let mut expected = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        for id in [1, ROWS] {
            exec(&db, &[&format!("UPDATE {table} SET v = 1 WHERE id = {id}")]).await;
            if id <= bounds[i] {
                expected.push((table.to_string(), "u".to_string(), id.to_string()));
            }
        }
    }

    // View P1: each table continues after its own cursor.
    let cfg = config(&db, &[
        ("snapshot.mode", "initial"),
        ("snapshot.fetch.size", "4"),
        ("snapshot.max.threads", resume_threads),
        ("poll.interval.ms", "50"),
    ]);
    let mut second = start(cfg, Some(resume));
    let (events, _) = until_snapshot_completes(&mut second, false).await;
    for (i, table) in tables.iter().enumerate() {
        let above: Vec<i64> = (1..=ROWS).filter(|&id| id > bounds[i]).collect();
        assert_read_once(&reads(&events, &format!("dbserver1.inventory.{table}")), &once(above), &format!("{table} after the resume"));
        for (key, v) in read_values(&events, table) {
            let id: i64 = key.parse().unwrap();
            assert_eq!(v, i64::from(id == 1 || id == ROWS), "{table} {id} is read at P1");
        }
    }
    exec(&db, &["UPDATE b SET v = 3 WHERE id = 2", "INSERT INTO a VALUES (1000, 3)"]).await;
    expected.extend(expect(&[("b", "u", "2"), ("a", "c", "1000")]));
    let mut streamed = Vec::new();
    while !streamed.iter().any(|c: &(String, String, String)| c.2 == "1000") {
        let (events, _) = second.collect(1, data).await;
        streamed.extend(events.iter().filter(|e| e.value["op"] != "r").map(change_of));
    }
    assert_eq!(streamed, expected, "streamed changes after the parallel resume (cursor {cursor})");
}
