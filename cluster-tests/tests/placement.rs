//! Placement with every real part: one private MariaDB, the broker, and
//! three or five raftcdc processes running up to thirty connectors, each
//! on its own one-row table. Connectors spread over every node within one
//! of even; a killed follower owner, a killed leader and a partitioned
//! follower lose their connectors to the survivors, which deliver under
//! the new epochs; cordon keeps new connectors off a node, drain empties
//! it, a new node receives connectors one at a time, and node labels,
//! capacity and connector pins decide where connectors may run, and only
//! learners marked as workers take connectors; a connector that failed
//! definitively stays where it failed.
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cluster_tests::broker::Broker;
use cluster_tests::cluster::Cluster;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::placement::{self, by_name, counts, create_many, create_one, state, wait_delivering, wait_spread};
use raftcdc::proto::{AddNodeRequest, RemoveNodeRequest};

async fn start(nodes: usize) -> (MariaDb, Broker, Cluster, usize) {
    let db = MariaDb::start(&[]).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().nodes(nodes).kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    (db, broker, cluster, leader)
}

/// Watches node `node`'s view until `done` is set and answers the most
/// connectors ever seen not RUNNING at once: with one voluntary move at a
/// time and no forced move, at most one.
async fn most_moving_at_once(cluster: &Cluster, node: usize, done: &AtomicBool) -> usize {
    let most = AtomicUsize::new(0);
    while !done.load(Ordering::SeqCst) {
        if let Ok(connectors) = by_name(cluster, node).await {
            let moving = connectors.values().filter(|c| state(c) != "RUNNING").count();
            most.fetch_max(moving, Ordering::SeqCst);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    most.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_connectors_spread_and_survive_owner_kills_and_a_new_node_takes_its_share_one_at_a_time() {
    const N: usize = 30;
    let (db, _broker, mut cluster, leader) = start(3).await;
    create_many(&cluster, leader, &db, 0..N, 7000).await;
    wait_spread(&cluster, leader, &[1, 2, 3], "30 connectors run spread over 3 nodes").await;
    wait_delivering(&cluster, leader, &db, N, 1).await;

    // SIGKILL a follower that owns connectors: they move to the others.
    let follower = *[1, 2, 3].iter().find(|n| **n != leader).unwrap();
    cluster.kill(follower);
    let survivors: Vec<usize> = [1, 2, 3].into_iter().filter(|n| *n != follower).collect();
    wait_spread(&cluster, leader, &survivors, "the dead follower's connectors run on the survivors").await;
    wait_delivering(&cluster, leader, &db, N, 2).await;

    // The operator replaces the dead node with a fourth one: it receives
    // its share one connector at a time.
    cluster
        .client(leader)
        .remove_node(RemoveNodeRequest { node_id: follower as u64 })
        .await
        .expect("remove the dead follower");
    let fourth = cluster.spawn_node().await;
    cluster.wait_ready(fourth).await;
    cluster
        .client(leader)
        .add_node(AddNodeRequest { endpoint: cluster.endpoint(fourth), learner_only: false })
        .await
        .expect("add the fourth node");
    let mut live = survivors.clone();
    live.push(fourth);
    let done = AtomicBool::new(false);
    let (most, _) = tokio::join!(most_moving_at_once(&cluster, leader, &done), async {
        wait_spread(&cluster, leader, &live, "the new node takes its share").await;
        done.store(true, Ordering::SeqCst);
    });
    assert!(most <= 1, "{most} connectors were moving at once while rebalancing");
    wait_delivering(&cluster, leader, &db, N, 3).await;

    // SIGKILL the leader: its connectors move at once, as before placement.
    cluster.kill(leader);
    let rest: Vec<usize> = live.into_iter().filter(|n| *n != leader).collect();
    let new_leader = cluster.wait_leader(&rest).await;
    wait_spread(&cluster, new_leader, &rest, "the dead leader's connectors run on the others").await;
    wait_delivering(&cluster, new_leader, &db, N, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordon_keeps_new_connectors_off_drain_empties_a_node_and_a_partitioned_owner_loses_its_own() {
    let (db, _broker, cluster, leader) = start(3).await;
    create_many(&cluster, leader, &db, 0..9, 7100).await;
    wait_spread(&cluster, leader, &[1, 2, 3], "9 connectors run spread over 3 nodes").await;
    let target = *[1, 2, 3].iter().find(|n| **n != leader).unwrap();
    let others: Vec<usize> = [1, 2, 3].into_iter().filter(|n| *n != target).collect();

    // Cordon: the node keeps its own and takes no new ones.
    let out = cluster.cli(leader, &["node", "cordon", &target.to_string()]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    create_many(&cluster, leader, &db, 9..12, 7100).await;
    let view = placement::wait_until_all_running(&cluster, leader).await;
    assert_eq!(counts(&view, &[target])[&(target as u64)], 3, "a cordoned node keeps its connectors");
    for i in 9..12 {
        assert_ne!(view[&placement::name(i)].owner_node_id, Some(target as u64), "a new connector went to the cordoned node");
    }

    // Drain: the CLI waits until the node owns nothing, one move at a time.
    let done = AtomicBool::new(false);
    let (most, out) = tokio::join!(most_moving_at_once(&cluster, leader, &done), async {
        let out = cluster.cli(leader, &["node", "drain", &target.to_string()]).await;
        done.store(true, Ordering::SeqCst);
        out
    });
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(most <= 1, "{most} connectors were moving at once while draining");
    let view = wait_spread(&cluster, leader, &others, "the drained node's connectors run on the others").await;
    assert_eq!(counts(&view, &[target])[&(target as u64)], 0);
    wait_delivering(&cluster, leader, &db, 12, 1).await;

    // Uncordon: it takes its share back.
    let out = cluster.cli(leader, &["node", "uncordon", &target.to_string()]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    wait_spread(&cluster, leader, &[1, 2, 3], "the uncordoned node takes its share back").await;

    // Partition the follower: its connectors move to the majority side.
    cluster.isolate(target);
    wait_spread(&cluster, leader, &others, "the partitioned follower's connectors run on the others").await;
    wait_delivering(&cluster, leader, &db, 12, 2).await;
    cluster.heal_all();
    wait_spread(&cluster, leader, &[1, 2, 3], "the healed follower takes its share back").await;
    wait_delivering(&cluster, leader, &db, 12, 3).await;

    // The status shows per-node connectors and load; every node's metrics
    // count each node's connectors, the same everywhere.
    let out = cluster.cli(leader, &["cluster", "status"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("placement: spread") && text.contains("CONNECTORS"), "{text}");
    for node in [1, 2, 3] {
        cluster_tests::wait_until(cluster_tests::DEFAULT_DEADLINE, "per-node owned counts in the metrics", || async {
            let scrape = cluster.scrape(node).await?;
            let owned: Vec<f64> = [1, 2, 3]
                .iter()
                .map(|n| scrape.value("raftcdc_node_owned_connectors", &[("node_id", &n.to_string())]))
                .collect::<Result<_, _>>()?;
            if owned.iter().sum::<f64>() == 12.0 && owned.iter().all(|c| *c == 4.0) { Ok(()) } else { Err(format!("{owned:?}")) }
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_spread_thirty_connectors_and_a_killed_owner_loses_only_its_own() {
    const N: usize = 30;
    let (db, _broker, cluster, leader) = start(5).await;
    create_many(&cluster, leader, &db, 0..N, 7200).await;
    let before = wait_spread(&cluster, leader, &[1, 2, 3, 4, 5], "30 connectors run spread over 5 nodes").await;
    let victim = *[1, 2, 3, 4, 5].iter().find(|n| **n != leader).unwrap();
    cluster.kill(victim);
    let rest: Vec<usize> = [1, 2, 3, 4, 5].into_iter().filter(|n| *n != victim).collect();
    let after = wait_spread(&cluster, leader, &rest, "the killed owner's connectors run on the others").await;
    // Only the victim's connectors moved: the others kept their epoch.
    for (name, c) in &before {
        if c.owner_node_id != Some(victim as u64) {
            assert_eq!(after[name].epoch, c.epoch, "{name} moved although its owner lives");
        }
    }
    wait_delivering(&cluster, leader, &db, N, 1).await;
}

/// `[node] labels` and `capacity`, and the connector properties
/// `raftcdc.placement.labels` and `raftcdc.placement.node`, decide where
/// connectors run, in a real cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_pins_and_capacity_decide_where_connectors_run() {
    let db = MariaDb::start(&[]).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder()
        .kafka(broker.bootstrap())
        .node_settings(1, "labels = {zone = \"a\"}")
        .node_settings(2, "capacity = 1")
        .start()
        .await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let tables: Vec<String> = (0..6).map(|i| format!("CREATE TABLE inventory.t{i:02} (id BIGINT PRIMARY KEY, v INT)")).collect();
    let mut statements = vec!["CREATE DATABASE inventory"];
    statements.extend(tables.iter().map(String::as_str));
    db.sql(&statements).await;
    create_one(&cluster, leader, &db, 0, 7300, &[("raftcdc.placement.labels", "zone=a")]).await;
    create_one(&cluster, leader, &db, 1, 7300, &[("raftcdc.placement.node", "3")]).await;
    for i in 2..6 {
        create_one(&cluster, leader, &db, i, 7300, &[]).await;
    }
    let view = placement::wait_until_all_running(&cluster, leader).await;
    assert_eq!(view["c00"].owner_node_id, Some(1), "the labelled connector runs on the labelled node");
    assert_eq!(view["c01"].owner_node_id, Some(3), "the pinned connector runs on its node");
    assert!(counts(&view, &[2])[&2] <= 1, "node 2 has capacity 1: {:?}", counts(&view, &[1, 2, 3]));
    // A bad placement property is refused at create, naming it.
    let mut config = cluster_tests::connectors::mysql_config("bad");
    config.insert("raftcdc.placement.node".into(), "zero".into());
    let refused = cluster
        .client(leader)
        .create_connector(raftcdc::proto::CreateConnectorRequest { name: "bad".into(), config, paused: false })
        .await
        .expect_err("a bad placement property is refused at create");
    assert!(refused.message().contains("raftcdc.placement.node"), "{refused:?}");
}

/// A learner owns connectors only with `[node] worker = true`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_marked_as_worker_takes_its_share_and_a_plain_learner_none() {
    let db = MariaDb::start(&[]).await;
    let broker = Broker::start().await;
    let mut cluster = Cluster::builder().kafka(broker.bootstrap()).node_settings(4, "worker = true").start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    for _ in 0..2 {
        let learner = cluster.spawn_node().await;
        cluster.wait_ready(learner).await;
        cluster
            .client(leader)
            .add_node(AddNodeRequest { endpoint: cluster.endpoint(learner), learner_only: true })
            .await
            .expect("add a learner");
    }
    create_many(&cluster, leader, &db, 0..8, 7400).await;
    let view = wait_spread(&cluster, leader, &[1, 2, 3, 4], "8 connectors spread over 3 voters and the worker learner").await;
    assert_eq!(counts(&view, &[5])[&5], 0, "a learner that is not a worker owns nothing");
}

/// Waits until `c03` is FAILED and every other connector RUNNING, as node
/// `node` sees it; answers c03's owner and epoch.
async fn failed_beside_running(cluster: &Cluster, node: usize, description: &str) -> (Option<u64>, u64) {
    cluster_tests::wait::wait_until(Duration::from_secs(60), description, || async {
        let view = by_name(cluster, node).await?;
        let broken = &view["c03"];
        let others_running = view.values().filter(|c| c.name != "c03").all(|c| state(c) == "RUNNING");
        if state(broken) == "FAILED" && others_running {
            Ok((broken.owner_node_id, broken.epoch))
        } else {
            Err(format!("c03 {}; {:?}", state(broken), counts(&view, &[1, 2, 3])))
        }
    })
    .await
}

/// A connector that fails definitively (here: access denied) stays FAILED
/// on its node, under its epoch: new connectors spreading around it and
/// the death of another node move others, never it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_definitively_failed_connector_stays_on_its_node() {
    let (db, _broker, cluster, leader) = start(3).await;
    create_many(&cluster, leader, &db, 0..3, 7400).await;
    db.sql(&["CREATE TABLE inventory.t03 (id BIGINT PRIMARY KEY, v INT)"]).await;
    create_one(&cluster, leader, &db, 3, 7400, &[("database.password", "wrong")]).await;
    let (owner, epoch) = failed_beside_running(&cluster, leader, "c03 fails, the others run").await;
    let owner = owner.expect("the failed connector has an owner");

    // More connectors: the policy spreads them and leaves c03 alone.
    create_many(&cluster, leader, &db, 4..8, 7400).await;
    let after = failed_beside_running(&cluster, leader, "the new connectors run").await;
    assert_eq!(after, (Some(owner), epoch), "c03 stayed on its node under its epoch");

    // Another node dies: its connectors move, c03 does not.
    let victim = [1, 2, 3].into_iter().find(|n| *n as u64 != owner && *n != leader).expect("a third node");
    cluster.kill(victim);
    cluster_tests::wait::wait_until(Duration::from_secs(60), "no connector left on the dead node", || async {
        let view = by_name(&cluster, leader).await?;
        match view.values().find(|c| c.owner_node_id == Some(victim as u64)) {
            Some(c) => Err(format!("{} still on node {victim}", c.name)),
            None => Ok(()),
        }
    })
    .await;
    let after = failed_beside_running(&cluster, leader, "the dead node's connectors run elsewhere").await;
    assert_eq!(after, (Some(owner), epoch), "c03 stayed on its node under its epoch");
}
