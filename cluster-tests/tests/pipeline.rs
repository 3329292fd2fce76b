//! End to end with every real part: a private MariaDB, the Kafka-protocol
//! broker, and three real raftcdc processes. Row changes reach Kafka once,
//! as `read_committed` consumers see them, across a SIGKILL of the owner;
//! DDL lands in the connector's replicated schema history.
use std::collections::BTreeSet;
use std::time::Duration;

use cluster_tests::broker::Broker;
use cluster_tests::cluster::Cluster;
use cluster_tests::connectors;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::wait::wait_until;
use mysql_async::prelude::Queryable;
use raftcdc::proto::ConnectorRef;

const DEADLINE: Duration = Duration::from_secs(60);
const TOPIC: &str = "dbserver1.inventory.seq";

async fn insert(db: &MariaDb, ids: std::ops::RangeInclusive<i64>) {
    let mut conn = db.conn().await;
    for id in ids {
        conn.query_drop(format!("INSERT INTO inventory.seq VALUES ({id}, {})", id * 10)).await.unwrap();
    }
}

/// The ids in the topic's committed records, failing on any duplicate.
async fn committed_ids(broker: &Broker) -> Result<BTreeSet<i64>, String> {
    let mut ids = BTreeSet::new();
    for record in broker.read_committed(TOPIC).await {
        let Some(value) = record.value else { continue };
        let value: serde_json::Value = serde_json::from_slice(&value).map_err(|e| e.to_string())?;
        if value["op"] != "c" {
            continue;
        }
        let id = value["after"]["id"].as_i64().ok_or("no id")?;
        if !ids.insert(id) {
            return Err(format!("duplicate id {id} in committed output"));
        }
    }
    Ok(ids)
}

async fn wait_for_ids(broker: &Broker, want: std::ops::RangeInclusive<i64>) {
    let want: BTreeSet<i64> = want.collect();
    wait_until(DEADLINE, "every inserted row is committed exactly once", || async {
        match committed_ids(broker).await {
            Ok(ids) if ids == want => Ok(()),
            Ok(ids) => Err(format!("have {} of {} ids", ids.len(), want.len())),
            Err(e) => panic!("{e}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_reach_kafka_exactly_once_across_an_owner_kill_and_ddl_reaches_raft() {
    let db = MariaDb::start(&[]).await;
    db.sql(&["CREATE DATABASE inventory", "CREATE TABLE inventory.seq (id BIGINT PRIMARY KEY, v INT)"]).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;

    // Streaming has begun once the first offset is committed to Raft.
    let first = connectors::create_streaming(&cluster, leader, &db, "inventory", 6101, &[]).await;

    insert(&db, 1..=50).await;
    wait_for_ids(&broker, 1..=50).await;

    // SIGKILL the owner (the leader) under load: a survivor takes over.
    cluster.kill(leader);
    let survivors: Vec<usize> = cluster.nodes().into_iter().filter(|n| *n != leader).collect();
    let writer = {
        let ids = 51..=150;
        async { insert(&db, ids).await }
    };
    writer.await;
    let new_leader = cluster.wait_leader(&survivors).await;
    let moved = cluster
        .wait_connector(&[new_leader], "inventory", "the connector moved to the new leader", |_, c| {
            if c.owner_node_id == Some(new_leader as u64) && c.epoch > first.epoch {
                Ok(())
            } else {
                Err("not moved yet".into())
            }
        })
        .await
        .remove(0);
    wait_for_ids(&broker, 1..=150).await;

    // DDL is recorded in the replicated schema history, on every survivor.
    db.sql(&["ALTER TABLE inventory.seq ADD COLUMN note VARCHAR(10)", "INSERT INTO inventory.seq VALUES (151, 1510, 'x')"]).await;
    wait_for_ids(&broker, 1..=151).await;
    cluster
        .wait_connector(&survivors, "inventory", "the ALTER is in the schema history", |_, c| {
            if c.schema_history_entries >= 1 && c.offset.as_ref().is_some_and(|o| o.epoch >= moved.epoch) {
                Ok(())
            } else {
                Err("not yet".into())
            }
        })
        .await;
    let status = cluster.client(new_leader).get_connector(ConnectorRef { name: "inventory".into() }).await.unwrap().into_inner();
    assert_eq!(status.task.unwrap().state, "RUNNING");
}
