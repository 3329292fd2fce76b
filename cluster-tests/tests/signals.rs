//! Debezium signals through real raftcdc processes, a real MariaDB and a
//! real broker: the source channel (rows inserted into the signal table)
//! and the Kafka channel (records on the signal topic) start, pause,
//! resume and stop incremental snapshots; malformed signals become status
//! warnings while the connector keeps running; and an owner killed after
//! acting on a signal, before its batch reached Kafka, does not make the
//! next owner act on it again. Every check reads the committed output:
//! each snapshot row exactly once, no streamed row lost or repeated.
use std::collections::BTreeMap;
use std::time::Duration;

use cluster_tests::broker::Broker;
use cluster_tests::cluster::{Cluster, FREEZE_AFTER_SIGNAL};
use cluster_tests::connectors;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::wait::wait_until;
use raftcdc::proto::Connector;
use serde_json::Value;

const ROWS: u64 = 3000;
const TOPIC: &str = "dbserver1.inventory.orders";
const ORDERS: &str = "CREATE TABLE inventory.orders (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)";
const SIGNALS: &str =
    "CREATE TABLE inventory.debezium_signal (id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048))";

/// A database with `ROWS` orders (not in Kafka: connectors stream only).
async fn database() -> MariaDb {
    let db = MariaDb::start(&[]).await;
    db.sql(&[
        "CREATE DATABASE inventory",
        ORDERS,
        SIGNALS,
        &format!("INSERT INTO inventory.orders SELECT seq, 'loaded' FROM inventory.seq_1_to_{ROWS}"),
    ])
    .await;
    db
}

fn signal_row(id: &str, kind: &str, data: &str) -> String {
    // MariaDB string literals take `\` as an escape.
    let data = data.replace('\\', "\\\\").replace('\'', "''");
    format!("INSERT INTO inventory.debezium_signal VALUES ('{id}', '{kind}', '{data}')")
}

/// Per order id: how many snapshot reads (`op: r`) and creates the
/// committed output holds.
async fn output(broker: &Broker) -> (BTreeMap<i64, usize>, BTreeMap<i64, usize>) {
    let (mut reads, mut creates) = (BTreeMap::new(), BTreeMap::new());
    for record in broker.read_committed(TOPIC).await {
        let Some(value) = record.value else { continue };
        let value: Value = serde_json::from_slice(&value).expect("JSON value");
        let id = value["after"]["id"].as_i64().expect("an id");
        match value["op"].as_str() {
            Some("r") => *reads.entry(id).or_default() += 1,
            Some("c") => *creates.entry(id).or_default() += 1,
            _ => {}
        }
    }
    (reads, creates)
}

/// Waits until the snapshot reads of the committed output are exactly
/// one per id in `ids`.
async fn wait_reads_exactly_once(broker: &Broker, ids: impl IntoIterator<Item = i64>) {
    let expected: BTreeMap<i64, usize> = ids.into_iter().map(|id| (id, 1)).collect();
    wait_until(Duration::from_secs(120), "every snapshot row exactly once", || async {
        let (reads, _) = output(broker).await;
        if reads.values().any(|n| *n > 1) {
            panic!("a snapshot row is in the output twice: {:?}", reads.iter().filter(|(_, n)| **n > 1).take(5).collect::<Vec<_>>());
        }
        if reads == expected { Ok(()) } else { Err(format!("{} of {} rows read", reads.len(), expected.len())) }
    })
    .await;
}

fn snapshot_state(c: &Connector) -> Option<(u64, String)> {
    c.incremental_snapshot.as_ref().map(|r| (r.id, r.state.clone()))
}

async fn wait_snapshot(cluster: &Cluster, node: usize, name: &str, id: u64, state: &str) -> Connector {
    cluster
        .wait_connector(&[node], name, &format!("incremental snapshot #{id} {state}"), |_, c| {
            match snapshot_state(c) {
                Some((i, s)) if i == id && s == state => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await
        .remove(0)
}

/// The source channel: the signal table is read although the include list
/// names only `orders`; a malformed row is a warning; execute + pause in
/// one transaction, then resume, snapshot each row once (with the
/// per-table condition); a log signal reaches the owner's log; execute +
/// stop ends a second request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_channel_signals_run_pause_resume_and_stop_snapshots() {
    let db = database().await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let extra = [("table.include.list", "inventory.orders"), ("signal.data.collection", "inventory.debezium_signal")];
    connectors::create_streaming(&cluster, leader, &db, "sig", 6321, &extra).await;

    db.sql(&[&signal_row("bad-1", "execute-snapshot", "{not json")]).await;
    let c = cluster
        .wait_connector(&[leader], "sig", "the malformed signal is a warning", |_, c| {
            if c.warnings.iter().any(|w| w.contains("bad-1") && w.contains("not JSON")) { Ok(()) } else { Err(format!("{:?}", c.warnings)) }
        })
        .await
        .remove(0);
    assert_eq!(c.task.as_ref().unwrap().state, "RUNNING");
    assert!(c.incremental_snapshot.is_none());
    // The same warning in the CLI's JSON and in the REST status.
    let out = cluster.cli(leader, &["connector", "status", "sig", "--output", "json"]).await;
    assert!(out.status.success(), "{out:?}");
    let json: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert!(json["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("bad-1")), "{json}");
    let rest = cluster.rest(leader).get("/connectors/sig/status").await.unwrap().json;
    assert_eq!(rest["signals"]["applied"], 1, "{rest}");
    assert!(rest["signals"]["warnings"][0]["reason"].as_str().unwrap().contains("not JSON"), "{rest}");

    let execute = r#"{"type":"incremental","data-collections":["inventory\\.ord.*"],
        "additional-conditions":[{"data-collection":"inventory.orders","filter":"id > 500"}]}"#;
    db.sql(&[
        "BEGIN",
        &signal_row("snap-1", "execute-snapshot", execute),
        &signal_row("pause-1", "pause-snapshot", r#"{"type":"incremental"}"#),
        "INSERT INTO inventory.orders VALUES (5001, 'streamed')",
        "COMMIT",
    ])
    .await;
    wait_snapshot(&cluster, leader, "sig", 1, "PAUSED").await;
    db.sql(&[&signal_row("resume-1", "resume-snapshot", r#"{"type":"incremental"}"#)]).await;
    wait_snapshot(&cluster, leader, "sig", 1, "COMPLETED").await;
    // The row streamed with the signal is in the table when it is read.
    wait_reads_exactly_once(&broker, (501..=ROWS as i64).chain([5001])).await;
    let (_, creates) = output(&broker).await;
    assert_eq!(creates, BTreeMap::from([(5001, 1)]), "the streamed row, once");

    db.sql(&[&signal_row("log-1", "log", r#"{"message":"hello from a signal"}"#)]).await;
    db.sql(&["BEGIN", &signal_row("snap-2", "execute-snapshot", r#"{"data-collections":["inventory.orders"]}"#), &signal_row("stop-2", "stop-snapshot", r#"{"type":"incremental"}"#), "COMMIT"]).await;
    let c = wait_snapshot(&cluster, leader, "sig", 2, "STOPPED").await;
    let owner = c.owner_node_id.expect("owned") as usize;
    wait_until(Duration::from_secs(60), "the log signal is in the owner's log", || async {
        let log = std::fs::read_to_string(cluster.log_path(owner)).unwrap_or_default();
        if log.contains("hello from a signal") { Ok(()) } else { Err("not yet") }
    })
    .await;
    let c = cluster.connector(leader, "sig").await.unwrap();
    assert_eq!(c.warnings.iter().filter(|w| w.starts_with("signal:")).count(), 1, "{:?}", c.warnings);
}

/// The Kafka channel: a record keyed by another prefix is not for this
/// connector, a malformed one is a warning, an execute-snapshot runs the
/// snapshot once; a new owner reads on from the replicated position and
/// acts on nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_channel_signals_run_a_snapshot_once_across_owners() {
    let db = database().await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let extra = [
        ("table.include.list", "inventory.orders"),
        ("signal.enabled.channels", "source,kafka"),
        ("signal.kafka.topic", "sig-topic"),
        ("signal.poll.interval.ms", "100"),
    ];
    connectors::create_streaming(&cluster, leader, &db, "ksig", 6322, &extra).await;
    let records: Vec<(&str, &str)> = vec![
        ("another-connector", r#"{"type":"execute-snapshot","data":{"data-collections":["inventory.orders"]}}"#),
        ("dbserver1", r#"{"type":"execute-snapshot","data":{"data-collections":"inventory.orders"}}"#),
        ("dbserver1", r#"{"type":"execute-snapshot","data":{"data-collections":["inventory.orders"],"type":"INCREMENTAL"}}"#),
    ];
    for (key, value) in records {
        let (key, value) = (key.as_bytes().to_vec(), value.as_bytes().to_vec());
        broker.fill("sig-topic", 0, 1, move |_| (key.clone(), value.clone())).await;
    }
    let c = wait_snapshot(&cluster, leader, "ksig", 1, "COMPLETED").await;
    assert!(c.warnings.iter().any(|w| w.contains("sig-topic-0@1") && w.contains("must be an array")), "{:?}", c.warnings);
    assert_eq!(c.task.as_ref().unwrap().state, "RUNNING");
    wait_reads_exactly_once(&broker, 1..=ROWS as i64).await;

    // A new owner starts at the recorded position (3): nothing repeats.
    let owner = c.owner_node_id.expect("owned") as usize;
    let epoch = c.epoch;
    cluster.kill(owner);
    let survivors: Vec<usize> = cluster.nodes().into_iter().filter(|n| *n != owner).collect();
    let leader = cluster.wait_leader(&survivors).await;
    db.sql(&["INSERT INTO inventory.orders VALUES (7001, 'after')"]).await;
    cluster
        .wait_connector(&[leader], "ksig", "a new owner streams", |_, c| {
            if c.epoch > epoch && c.task.as_ref().is_some_and(|t| t.state == "RUNNING") { Ok(()) } else { Err(format!("epoch {}", c.epoch)) }
        })
        .await;
    wait_until(Duration::from_secs(120), "the new owner streamed the insert", || async {
        let (_, creates) = output(&broker).await;
        if creates.get(&7001) == Some(&1) { Ok(()) } else { Err(format!("{creates:?}")) }
    })
    .await;
    let c = cluster.connector(leader, "ksig").await.unwrap();
    assert_eq!(snapshot_state(&c), Some((1, "COMPLETED".to_string())));
    assert_eq!(c.warnings.iter().filter(|w| w.starts_with("signal:")).count(), 1, "{:?}", c.warnings);
    wait_reads_exactly_once(&broker, 1..=ROWS as i64).await;
}

/// The owner is frozen right after it applied a signal through Raft and
/// before the batch with the signal row reached Kafka, then SIGKILLed.
/// The next owner reads the signal row again; the request id still
/// advanced by exactly one, and the output has every snapshot row and the
/// streamed row of the signal's transaction exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_killed_after_acting_on_a_signal_acts_once() {
    let db = database().await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).fault_points().start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let extra = [("signal.data.collection", "inventory.debezium_signal")];
    let c = connectors::create_streaming(&cluster, leader, &db, "kill", 6323, &extra).await;
    let owner = c.owner_node_id.expect("owned") as usize;
    cluster.arm_fault(owner, FREEZE_AFTER_SIGNAL, "kill");

    db.sql(&[
        "BEGIN",
        "INSERT INTO inventory.orders VALUES (6001, 'with the signal')",
        &signal_row("snap-k", "execute-snapshot", r#"{"data-collections":["inventory.orders"]}"#),
        "COMMIT",
    ])
    .await;
    cluster.wait_stopped(owner).await;
    let survivors: Vec<usize> = cluster.nodes().into_iter().filter(|n| *n != owner).collect();
    cluster
        .wait_connector(&[survivors[0]], "kill", "the signal applied before the freeze", |_, c| {
            match snapshot_state(c) {
                Some((1, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    cluster.kill(owner);
    let leader = cluster.wait_leader(&survivors).await;
    let c = wait_snapshot(&cluster, leader, "kill", 1, "COMPLETED").await;
    let successor = c.owner_node_id.expect("owned") as usize;
    assert_ne!(successor, owner);
    // The successor read the signal row again, and Raft dropped the repeat.
    wait_until(Duration::from_secs(60), "the successor re-read the signal and Raft dropped it", || async {
        let log = std::fs::read_to_string(cluster.log_path(successor)).unwrap_or_default();
        if log.contains("signal already applied; not acted on again") { Ok(()) } else { Err("not in its log") }
    })
    .await;
    wait_reads_exactly_once(&broker, (1..=ROWS as i64).chain([6001])).await;
    let (_, creates) = output(&broker).await;
    assert_eq!(creates, BTreeMap::from([(6001, 1)]), "the signal transaction's row, once");
    let c = cluster.connector(leader, "kill").await.unwrap();
    assert_eq!(snapshot_state(&c), Some((1, "COMPLETED".to_string())), "the request id advanced by exactly one");
    assert!(!c.warnings.iter().any(|w| w.starts_with("signal:")), "{:?}", c.warnings);
}
