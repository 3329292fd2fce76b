//! Transforms end to end: real change events from a private MariaDB, real
//! raftcdc processes and the Kafka-protocol broker.
//!
//! - The most common production chain (`ExtractNewRecordState` with
//!   `delete.tombstone.handling.mode=rewrite` and
//!   `add.fields=op,table,source.ts_ms`, then `RegexRouter`) through three
//!   nodes with the owner killed twice under load: the checker
//!   ([`cluster_tests::chaos`]) finds every change exactly once, in order
//!   per key, on the routed topic.
//! - Golden output of that chain on real events (insert, update, key
//!   change, delete), schemas on and off, as Debezium and Kafka document
//!   it.
//! - A record the chain cannot transform fails the connector with a
//!   definite error naming the transform.
//! - The outbox pattern: an `outbox` table written by transactions that
//!   insert events (and, like most outbox writers, often delete them in
//!   the same transaction), Debezium's `EventRouter` routing them by
//!   `aggregatetype` with the JSON payload expanded, through three nodes
//!   with the owner killed: every event exactly once on its topic, in
//!   order per aggregate.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mysql_async::prelude::Queryable;

use cluster_tests::broker::Broker;
use cluster_tests::chaos::{self, Expected, Workload};
use cluster_tests::cluster::Cluster;
use cluster_tests::connectors;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::wait::wait_until;

const DEADLINE: Duration = Duration::from_secs(90);

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The chain under test, routing `<prefix>.inventory.<table>` to
/// `<prefix>_<table>`.
fn unwrap_and_route() -> Vec<(&'static str, &'static str)> {
    vec![
        ("transforms", "unwrap,route"),
        ("transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState"),
        ("transforms.unwrap.delete.tombstone.handling.mode", "rewrite"),
        ("transforms.unwrap.add.fields", "op,table,source.ts_ms"),
        ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
        ("transforms.route.regex", "([^.]+)\\.inventory\\.(.*)"),
        ("transforms.route.replacement", "$1_$2"),
    ]
}

/// Kills the owner of `connector`, waits until another node owns it and
/// commits, then restarts the killed node.
async fn kill_owner_until_taken_over(cluster: &Cluster, connector: &str) {
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let view = cluster
        .wait_connector(&[leader], connector, "has an owner", |_, c| if c.owner_node_id.is_some() { Ok(()) } else { Err("no owner".into()) })
        .await
        .remove(0);
    let owner = view.owner_node_id.unwrap() as usize;
    let killed_ms = now_ms();
    cluster.kill(owner);
    let survivors: Vec<usize> = cluster.nodes().into_iter().filter(|n| *n != owner).collect();
    let leader = cluster.wait_leader(&survivors).await;
    cluster
        .wait_connector(&[leader], connector, "taken over and committing", |_, c| match c.owner_node_id {
            Some(new) if new as usize != owner && c.epoch > view.epoch => {
                if c.offset.as_ref().is_some_and(|o| o.committed_ms > killed_ms) { Ok(()) } else { Err("no new offset yet".into()) }
            }
            _ => Err("not taken over yet".into()),
        })
        .await;
    cluster.restart(owner);
    cluster.wait_ready(owner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwrap_and_route_stay_exactly_once_across_owner_kills() {
    let db = MariaDb::start(&[]).await;
    db.sql(&["CREATE DATABASE inventory", chaos::CREATE_TABLE]).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let mut extra = unwrap_and_route();
    extra.extend([("table.include.list", chaos::TABLE), ("value.converter.schemas.enable", "true"), ("max.batch.size", "8")]);
    connectors::create_capturing(&cluster, leader, &db, "smt", 6301, "dbserver1", &extra).await;

    let writer = Workload { key_changes: true, max_statements: 6, ..Workload::new(chaos::TABLE) }.start(&db, 13);
    for _ in 0..2 {
        writer.progress(20).await;
        kill_owner_until_taken_over(&cluster, "smt").await;
    }
    writer.progress(20).await;
    let log = writer.stop().await;
    assert!(log.len() >= 60, "the writer committed only {} transactions", log.len());
    chaos::settle(&broker, &[Expected::unwrapped("dbserver1_chaos", &log)]).await;

    // The shape Debezium's unwrap gives, with its schema.
    let first = broker.read_committed("dbserver1_chaos").await.remove(0);
    let value: serde_json::Value = serde_json::from_slice(first.value.as_deref().unwrap()).unwrap();
    let fields: Vec<&str> = value["schema"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["id", "seq", "v", "__deleted", "__op", "__table", "__source_ts_ms"]);
    assert_eq!(value["schema"]["name"], "dbserver1.inventory.chaos.Value");
    assert_eq!(value["payload"]["__table"], "chaos");
    assert!(value["payload"]["__source_ts_ms"].as_i64().unwrap() > 0);
    assert_eq!(std::str::from_utf8(first.key.as_deref().unwrap()).unwrap(), format!("{{\"id\":{}}}", value["payload"]["id"]));
}

/// Replaces the event time, which the test cannot know.
fn without_times(text: &str) -> String {
    const FIELD: &str = "\"__source_ts_ms\":";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(FIELD) {
        out.push_str(&rest[..at + FIELD.len()]);
        out.push('T');
        rest = rest[at + FIELD.len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

async fn values(broker: &Broker, topic: &str, count: usize) -> Vec<(String, String)> {
    wait_until(DEADLINE, &format!("{count} records in {topic}"), || async {
        let n = broker.read_committed(topic).await.len();
        if n >= count { Ok(()) } else { Err(format!("{n} so far")) }
    })
    .await;
    broker
        .read_committed(topic)
        .await
        .into_iter()
        .map(|r| {
            let text = |b: Option<Vec<u8>>| b.map(|b| without_times(&String::from_utf8(b).unwrap())).unwrap_or_else(|| "<null>".into());
            (text(r.key), text(r.value))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwrap_and_route_golden_output_on_real_events() {
    let db = MariaDb::start(&[]).await;
    db.sql(&[
        "CREATE DATABASE inventory",
        "CREATE TABLE inventory.items (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(6,2), at DATETIME(3))",
    ])
    .await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().nodes(1).kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let node = cluster.wait_leader(&cluster.nodes()).await;
    for (name, prefix, server_id, schemas) in [("golden-on", "on", 6311, "true"), ("golden-off", "off", 6312, "false")] {
        let mut extra = unwrap_and_route();
        extra.extend([
            ("table.include.list", "inventory.items"),
            ("value.converter.schemas.enable", schemas),
            ("key.converter.schemas.enable", schemas),
        ]);
        connectors::create_capturing(&cluster, node, &db, name, server_id, prefix, &extra).await;
    }
    db.sql(&[
        "INSERT INTO inventory.items VALUES (1, 'pen', 1.50, '2024-01-02 03:04:05.678')",
        "UPDATE inventory.items SET name = NULL WHERE id = 1",
        "UPDATE inventory.items SET id = 2 WHERE id = 1",
        "DELETE FROM inventory.items WHERE id = 2",
    ])
    .await;

    let row = |id: i32, name: &str, deleted: bool, op: &str| {
        format!(
            r#"{{"id":{id},"name":{name},"price":"AJY=","at":1704164645678,"__deleted":"{deleted}","__op":"{op}","__table":"items","__source_ts_ms":T}}"#
        )
    };
    // insert, update, key change (delete of 1 then create of 2; the
    // tombstone is dropped by `rewrite`), delete (its tombstone dropped).
    let expected = [
        (1, row(1, "\"pen\"", false, "c")),
        (1, row(1, "null", false, "u")),
        (1, row(1, "null", true, "d")),
        (2, row(2, "null", false, "c")),
        (2, row(2, "null", true, "d")),
    ];
    let off = values(&broker, "off_items", expected.len()).await;
    let want_off: Vec<(String, String)> = expected.iter().map(|(id, v)| (format!("{{\"id\":{id}}}"), v.clone())).collect();
    assert_eq!(off, want_off);

    let on = values(&broker, "on_items", expected.len()).await;
    // The extracted row's schema is required, as Debezium 3.6.3 writes it.
    let value_schema = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"6"},"field":"price"},{"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","version":1,"field":"at"},{"type":"string","optional":true,"field":"__deleted"},{"type":"string","optional":true,"field":"__op"},{"type":"string","optional":true,"field":"__table"},{"type":"int64","optional":true,"field":"__source_ts_ms"}],"optional":false,"name":"on.inventory.items.Value"}"#;
    let key_schema = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"on.inventory.items.Key"}"#;
    let want_on: Vec<(String, String)> = expected
        .iter()
        .map(|(id, v)| {
            (
                format!(r#"{{"schema":{key_schema},"payload":{{"id":{id}}}}}"#),
                format!(r#"{{"schema":{value_schema},"payload":{v}}}"#),
            )
        })
        .collect();
    assert_eq!(on, want_on);
}

/// A record the chain cannot transform (here `route.by.field` names a
/// number) stops the connector with a definite error that names the
/// transform and a remedy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_the_chain_cannot_transform_fails_the_connector() {
    let db = MariaDb::start(&[]).await;
    db.sql(&["CREATE DATABASE inventory", "CREATE TABLE inventory.items (id INT PRIMARY KEY, name VARCHAR(20))"]).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().nodes(1).kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let node = cluster.wait_leader(&cluster.nodes()).await;
    let extra = [
        ("table.include.list", "inventory.items"),
        ("transforms", "unwrap"),
        ("transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState"),
        ("transforms.unwrap.route.by.field", "id"),
    ];
    connectors::create_capturing(&cluster, node, &db, "broken", 6321, "dbserver1", &extra).await;
    db.sql(&["INSERT INTO inventory.items VALUES (1, 'pen')"]).await;
    let view = cluster
        .wait_connector(&[node], "broken", "failed", |_, c| match &c.task {
            Some(t) if t.state == "FAILED" => Ok(()),
            other => Err(format!("task {other:?}")),
        })
        .await
        .remove(0);
    let task = view.task.unwrap();
    assert!(task.error.contains("transform `unwrap`") && task.error.contains("route.by.field `id` is not a string field"), "{}", task.error);
    assert!(task.remedy.contains("connector update"), "{}", task.remedy);
}

const AGGREGATE_TYPES: [&str; 2] = ["Order", "Customer"];

/// One outbox event the writer committed: (event number, aggregate type,
/// aggregate id).
type OutboxEvent = (u64, &'static str, String);

/// Inserts outbox events until stopped, 1-3 per transaction, deleting
/// every other transaction's events again before its commit (the delete
/// events are the router's to drop). Answers the committed events.
fn outbox_writer(db: &MariaDb, stop: Arc<AtomicBool>, committed: Arc<AtomicU64>) -> tokio::task::JoinHandle<Vec<OutboxEvent>> {
    let opts = db.root_opts();
    tokio::spawn(async move {
        let mut conn = mysql_async::Conn::new(opts).await.expect("writer connection");
        let mut events = Vec::new();
        let mut n = 0u64;
        let mut txn = 0u64;
        while !stop.load(Ordering::Relaxed) {
            txn += 1;
            let mut batch = Vec::new();
            let mut sql = vec!["BEGIN".to_string()];
            for _ in 0..1 + txn % 3 {
                n += 1;
                let kind = AGGREGATE_TYPES[(n * 7 % 3 % 2) as usize];
                let aggregate = format!("a{}", n % 5);
                sql.push(format!(
                    "INSERT INTO inventory.outbox VALUES ('e{n}', '{kind}', '{aggregate}', 'Happened', '{{\"n\":{n},\"aggregate\":\"{aggregate}\",\"tags\":[\"x\"]}}')"
                ));
                batch.push((n, kind, aggregate));
            }
            if txn.is_multiple_of(2) {
                let ids: Vec<String> = batch.iter().map(|(n, _, _)| format!("'e{n}'")).collect();
                sql.push(format!("DELETE FROM inventory.outbox WHERE id IN ({})", ids.join(", ")));
            }
            sql.push("COMMIT".to_string());
            for statement in &sql {
                conn.query_drop(statement).await.unwrap_or_else(|e| panic!("writer: {statement}: {e}"));
            }
            events.extend(batch);
            committed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let _ = conn.disconnect().await;
        events
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_events_are_routed_by_aggregate_type_exactly_once_across_an_owner_kill() {
    let db = MariaDb::start(&[]).await;
    db.sql(&[
        "CREATE DATABASE inventory",
        "CREATE TABLE inventory.outbox (id VARCHAR(36) PRIMARY KEY, aggregatetype VARCHAR(255) NOT NULL, aggregateid VARCHAR(255) NOT NULL, type VARCHAR(255) NOT NULL, payload TEXT)",
    ])
    .await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let extra = [
        ("table.include.list", "inventory.outbox"),
        ("transforms", "outbox"),
        ("transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter"),
        ("transforms.outbox.table.expand.json.payload", "true"),
        ("transforms.outbox.table.fields.additional.placement", "type:header:eventType"),
        ("value.converter.schemas.enable", "false"),
        ("key.converter.schemas.enable", "false"),
        ("max.batch.size", "8"),
    ];
    connectors::create_capturing(&cluster, leader, &db, "outbox", 6331, "dbserver1", &extra).await;

    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicU64::new(0));
    let writer = outbox_writer(&db, stop.clone(), committed.clone());
    let progress = |txns: u64| {
        let committed = committed.clone();
        async move {
            let target = committed.load(Ordering::Relaxed) + txns;
            wait_until(Duration::from_secs(60), "the outbox writer commits", || {
                let committed = committed.clone();
                async move {
                    let now = committed.load(Ordering::Relaxed);
                    if now >= target { Ok(()) } else { Err(format!("{now} of {target}")) }
                }
            })
            .await
        }
    };
    progress(20).await;
    kill_owner_until_taken_over(&cluster, "outbox").await;
    progress(20).await;
    stop.store(true, Ordering::Relaxed);
    let events = writer.await.expect("the writer");
    assert!(events.len() >= 40, "the writer committed only {} events", events.len());

    for kind in AGGREGATE_TYPES {
        let topic = format!("outbox.event.{kind}");
        let want: Vec<&OutboxEvent> = events.iter().filter(|(_, k, _)| *k == kind).collect();
        wait_until(DEADLINE, &format!("{} events in {topic}", want.len()), || async {
            let n = broker.read_committed(&topic).await.len();
            if n >= want.len() { Ok(()) } else { Err(format!("{n} so far")) }
        })
        .await;
        let records = broker.read_committed(&topic).await;
        let mut seen: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for record in &records {
            let key: String = serde_json::from_slice(record.key.as_deref().expect("a key")).expect("the aggregate id as a JSON string");
            let value: serde_json::Value = serde_json::from_slice(record.value.as_deref().expect("a value")).unwrap();
            let n = value["n"].as_u64().unwrap_or_else(|| panic!("an expanded payload: {value}"));
            assert_eq!(value["aggregate"], key, "the key is the aggregate id");
            assert_eq!(value["tags"], serde_json::json!(["x"]));
            let header = |name: &str| record.headers.iter().find(|(k, _)| k == name).map(|(_, v)| String::from_utf8_lossy(v).into_owned());
            assert_eq!(header("id").as_deref(), Some(format!("e{n}").as_str()), "the event id header");
            assert_eq!(header("eventType").as_deref(), Some("Happened"));
            seen.entry(key).or_default().push(n);
        }
        let mut expected: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (n, _, aggregate) in &want {
            expected.entry(aggregate.clone()).or_default().push(*n);
        }
        assert_eq!(seen, expected, "{topic}: every event exactly once, in order per aggregate");
    }
}
