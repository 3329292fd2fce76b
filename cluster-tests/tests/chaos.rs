//! The exactly-once chaos suite: a continuous workload against MariaDB,
//! three real raftcdc processes, a real broker, and a fault in the middle;
//! at the end the checker compares everything `read_committed` consumers
//! see with the database's history (no loss, no duplicate, per-key order,
//! transaction atomicity). Scale: `CHAOS_KILLS` (default 3) kills in the
//! repeated-kill scenario; CI runs the default, a soak sets it higher.
use std::time::Duration;

use cluster_tests::broker::Broker;
use cluster_tests::chaos::{self, History, Writer};
use cluster_tests::cluster::Cluster;
use cluster_tests::connectors;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::wait::wait_until;
use raftcdc::proto::ConnectorRef;

const TOPIC: &str = "dbserver1.inventory.chaos";
const TX_TOPIC: &str = "dbserver1.transaction";
const SETTLE: Duration = Duration::from_secs(90);

struct Rig {
    db: MariaDb,
    broker: Broker,
    cluster: Cluster,
}

/// Everything running, the connector streaming; answers the owner.
async fn rig() -> (Rig, usize) {
    let db = MariaDb::start(&[]).await;
    db.sql(&["CREATE DATABASE inventory", chaos::CREATE_TABLE]).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    connectors::create_streaming(&cluster, leader, &db, "chaos", 6201, &[("provide.transaction.metadata", "true")]).await;
    (Rig { db, broker, cluster }, leader)
}

/// Waits for the output to match the history, then asserts it.
async fn settle(rig: &Rig, history: &History) {
    let changes: usize = history.values().map(Vec::len).sum();
    wait_until(SETTLE, &format!("kafka shows all {changes} changes of {} keys exactly once", history.len()), || async {
        chaos::check(&rig.broker, TOPIC, TX_TOPIC, history).await
    })
    .await;
}

/// Waits until a node other than `old` leads and owns the connector.
async fn new_owner(rig: &Rig, among: &[usize], old_epoch: u64) -> usize {
    let leader = rig.cluster.wait_leader(among).await;
    rig.cluster
        .wait_connector(&[leader], "chaos", "owned by the new leader under a new epoch", |_, c| {
            if c.owner_node_id == Some(leader as u64) && c.epoch > old_epoch { Ok(()) } else { Err("not yet".into()) }
        })
        .await;
    leader
}

async fn epoch(rig: &Rig, node: usize) -> u64 {
    rig.cluster.connector(node, "chaos").await.expect("connector").epoch
}

fn others(rig: &Rig, node: usize) -> Vec<usize> {
    rig.cluster.nodes().into_iter().filter(|n| *n != node).collect()
}

/// Lets the workload run for a moment (the writer commits continuously;
/// this only spaces out faults, it synchronises nothing).
async fn under_load() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_the_owner_repeatedly_under_load() {
    let kills: usize = std::env::var("CHAOS_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let (rig, mut owner) = rig().await;
    let writer = Writer::start(&rig.db, 1, 1, 1);
    for _ in 0..kills {
        under_load().await;
        let before = epoch(&rig, owner).await;
        rig.cluster.kill(owner);
        let killed = owner;
        owner = new_owner(&rig, &others(&rig, killed), before).await;
        rig.cluster.restart(killed);
        rig.cluster.wait_ready(killed).await;
    }
    under_load().await;
    let (history, txns) = writer.stop().await;
    assert!(txns > 0);
    settle(&rig, &history).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_owner_that_wakes_up_commits_nothing() {
    let (rig, owner) = rig().await;
    let writer = Writer::start(&rig.db, 2, 1, 1);
    under_load().await;
    let before = epoch(&rig, owner).await;
    rig.cluster.freeze(owner);
    let survivors = others(&rig, owner);
    let new = new_owner(&rig, &survivors, before).await;
    under_load().await;
    rig.cluster.thaw(owner);
    // The zombie learns it was deposed: it follows the new leader.
    rig.cluster.wait_leader(&rig.cluster.nodes()).await;
    under_load().await;
    let (history, _) = writer.stop().await;
    settle(&rig, &history).await;
    assert_eq!(rig.cluster.wait_leader(&rig.cluster.nodes()).await, new);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_owner_is_replaced_and_commits_nothing() {
    let (rig, owner) = rig().await;
    let writer = Writer::start(&rig.db, 3, 1, 1);
    under_load().await;
    let before = epoch(&rig, owner).await;
    // Cut off from its peers, but not from MariaDB or the broker.
    rig.cluster.isolate(owner);
    new_owner(&rig, &others(&rig, owner), before).await;
    under_load().await;
    rig.cluster.heal_all();
    rig.cluster.wait_leader(&rig.cluster.nodes()).await;
    let (history, _) = writer.stop().await;
    settle(&rig, &history).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_every_node_at_once() {
    let (rig, owner) = rig().await;
    let writer = Writer::start(&rig.db, 4, 1, 1);
    under_load().await;
    let _ = owner;
    for node in rig.cluster.nodes() {
        rig.cluster.kill(node);
    }
    let restarted_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for node in rig.cluster.nodes() {
        rig.cluster.restart(node);
    }
    for node in rig.cluster.nodes() {
        rig.cluster.wait_ready(node).await;
    }
    let leader = rig.cluster.wait_leader(&rig.cluster.nodes()).await;
    rig.cluster
        // The owner may be the same node under the same epoch (its previous
        // process is dead); what matters is that offsets move again.
        .wait_connector(&[leader], "chaos", "committing offsets again after the restart", |_, c| {
            if c.offset.as_ref().is_some_and(|o| o.committed_ms > restarted_ms) { Ok(()) } else { Err("not yet".into()) }
        })
        .await;
    let (history, _) = writer.stop().await;
    settle(&rig, &history).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_the_broker() {
    let (mut rig, _owner) = rig().await;
    let writer = Writer::start(&rig.db, 5, 1, 1);
    under_load().await;
    rig.broker.restart().await;
    under_load().await;
    let (history, _) = writer.stop().await;
    settle(&rig, &history).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_mariadb() {
    let (mut rig, _owner) = rig().await;
    let writer = Writer::start(&rig.db, 6, 1, 1);
    under_load().await;
    let (mut history, _) = writer.stop().await;
    rig.db.restart().await; // SIGKILL, then start on the same datadir
    let next_id = history.keys().max().copied().unwrap_or(0) + 1;
    let next_seq = 1_000_000;
    let writer = Writer::start(&rig.db, 7, next_id, next_seq);
    under_load().await;
    let (more, _) = writer.stop().await;
    chaos::merge(&mut history, more);
    settle(&rig, &history).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_and_resuming_the_connector_mid_stream() {
    let (rig, owner) = rig().await;
    let writer = Writer::start(&rig.db, 8, 1, 1);
    under_load().await;
    let mut client = rig.cluster.client(owner);
    client.pause_connector(ConnectorRef { name: "chaos".into() }).await.expect("pause");
    rig.cluster
        .wait_connector(&[owner], "chaos", "paused", |_, c| {
            if c.task.as_ref().is_some_and(|t| t.state == "PAUSED") { Ok(()) } else { Err("not yet".into()) }
        })
        .await;
    under_load().await;
    client.resume_connector(ConnectorRef { name: "chaos".into() }).await.expect("resume");
    under_load().await;
    let (history, _) = writer.stop().await;
    settle(&rig, &history).await;
}
