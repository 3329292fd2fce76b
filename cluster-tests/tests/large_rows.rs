//! A row far larger than a Kafka record may be: a 16 MiB LONGBLOB neither
//! stalls nor crashes the owner. With the producer's default size limit
//! the connector fails definitively, saying which setting to raise; once
//! the operator raises it, the connector resumes from its last committed
//! record and delivers the row exactly once. And a snapshot of a table of
//! 1 MiB rows with the default settings never holds the table in the
//! owner's memory. A real MariaDB, the broker and three real nodes.
use std::time::Duration;

use cluster_tests::broker::Broker;
use cluster_tests::cluster::Cluster;
use cluster_tests::connectors;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::wait::wait_until;
use raftcdc::proto::UpdateConnectorRequest;

const BIG: usize = 16 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_16_mib_row_fails_with_the_remedy_then_is_delivered_once_the_limit_is_raised() {
    // The server accepts the 16 MiB statement (its default packet limit is
    // 16 MiB, the statement is larger).
    let db = MariaDb::start(&["--max-allowed-packet=64M"]).await;
    db.sql(&["CREATE DATABASE inventory", "CREATE TABLE inventory.blobs (id INT PRIMARY KEY, b LONGBLOB)"]).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    // The topic is created able to hold the row; the producer's own limit
    // is left at its default.
    let topics = [("topic.creation.default.max.message.bytes", "67108864")];
    let created = connectors::create_streaming(&cluster, leader, &db, "big", 6401, &topics).await;
    let owner = created.owner_node_id.expect("an owner") as usize;

    db.sql(&["INSERT INTO inventory.blobs VALUES (1, 'small')"]).await;
    db.sql(&[&format!("INSERT INTO inventory.blobs VALUES (2, REPEAT('x', {BIG}))")]).await;
    db.sql(&["INSERT INTO inventory.blobs VALUES (3, 'after')"]).await;

    let failed = cluster
        .wait_connector(&[leader], "big", "the task fails on the 16 MiB record", |_, c| {
            let task = c.task.as_ref().ok_or("no task status")?;
            if task.state == "FAILED" { Ok(()) } else { Err(format!("{task:?}")) }
        })
        .await
        .remove(0);
    let task = failed.task.unwrap();
    assert!(task.remedy.contains("producer.override.message.max.bytes"), "{task:?}");
    assert!(cluster.is_running(owner), "the owner survived the refused record");
    let topic = "dbserver1.inventory.blobs";
    let ids = |records: &[cluster_tests::broker::Consumed]| -> Vec<i64> {
        records
            .iter()
            .filter_map(|r| r.value.as_ref())
            .map(|v| serde_json::from_slice::<serde_json::Value>(v).unwrap()["after"]["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&broker.read_committed(topic).await), [1], "nothing after the refused record");

    // Raise the limit: the connector restarts from its committed offset.
    let mut config = connectors::capturing_config(&db, 6401, "dbserver1", &topics);
    config.insert("producer.override.message.max.bytes".into(), "67108864".into());
    cluster
        .client(leader)
        .update_connector(UpdateConnectorRequest { name: "big".into(), config: config.into_iter().collect() })
        .await
        .expect("update the connector");
    let records = wait_until(Duration::from_secs(120), "rows 2 and 3 are delivered", || async {
        let records = broker.read_committed(topic).await;
        if ids(&records).len() >= 3 { Ok(records) } else { Err(ids(&records)) }
    })
    .await;
    assert_eq!(ids(&records), [1, 2, 3], "each row exactly once, in order");
    let big: serde_json::Value = serde_json::from_slice(records[1].value.as_ref().unwrap()).unwrap();
    assert_eq!(big["after"]["b"].as_str().unwrap().len(), BIG.div_ceil(3) * 4, "the whole blob, base64");
    for node in cluster.nodes() {
        assert!(cluster.is_running(node), "node {node} is running");
    }
}

/// The owner never holds a table of 1 MiB rows through its snapshot with
/// the connector's default sizes, though `snapshot.fetch.size` (10,000)
/// and `max.batch.size` (2,048 rows) would each take every row of it: a
/// snapshot batch is bounded by bytes too, so the owner's peak RSS stays
/// below the table's size (160 MiB, 213 MiB as records) and no higher
/// than the byte bounds of the queue and the producer allow. Every row
/// arrives once, whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_1_mib_rows_never_holds_the_table() {
    const ROWS: usize = 160;
    const WIDE: usize = 1024 * 1024;
    let db = MariaDb::start(&[]).await;
    db.sql(&["CREATE DATABASE inventory", "CREATE TABLE inventory.wide (id INT PRIMARY KEY, b LONGBLOB)"]).await;
    let inserts: Vec<String> =
        (0..ROWS).map(|i| format!("INSERT INTO inventory.wide VALUES ({i}, REPEAT(CHAR({}), {WIDE}))", 65 + i % 26)).collect();
    db.sql(&inserts.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    // Records of 1.4 MiB (base64) need the producer's and the topic's
    // record limits raised; every size of the pipeline is its default.
    let extra = [
        ("snapshot.mode", "initial"),
        ("producer.override.message.max.bytes", "4194304"),
        ("topic.creation.default.max.message.bytes", "4194304"),
    ];
    connectors::create_streaming(&cluster, leader, &db, "wide", 6402, &extra).await;
    let done = cluster
        .wait_connector(&[leader], "wide", "the snapshot completed", |_, c| {
            if c.snapshot.as_ref().is_some_and(|s| s.completed) { Ok(()) } else { Err(format!("{:?}", c.snapshot)) }
        })
        .await
        .remove(0);
    let owner = done.owner_node_id.expect("an owner") as usize;
    let peak_mib = cluster.peak_rss_kib(owner).expect("the owner's peak RSS") / 1024;
    println!("owner (node {owner}) peak RSS: {peak_mib} MiB");
    let records = broker.read_committed("dbserver1.inventory.wide").await;
    let rows: Vec<(i64, usize)> = records
        .iter()
        .filter_map(|r| r.value.as_ref())
        .map(|v| {
            let value: serde_json::Value = serde_json::from_slice(v).unwrap();
            (value["after"]["id"].as_i64().unwrap(), value["after"]["b"].as_str().unwrap().len())
        })
        .collect();
    let expected: Vec<(i64, usize)> = (0..ROWS as i64).map(|i| (i, WIDE.div_ceil(3) * 4)).collect();
    assert_eq!(rows, expected, "every row once, whole, in key order");
    assert!(peak_mib < 160, "the owner's peak RSS was {peak_mib} MiB through a snapshot of {ROWS} rows of 1 MiB: it held the table");
}
