//! `raftcdc-bench-placement`: what placement costs and buys, with every
//! real part (one private MariaDB, the broker, three raftcdc processes),
//! printing figures, never asserting on time:
//!
//! 1. **failover**: 6 connectors spread over the nodes, each streaming its
//!    own table while a writer inserts into every table. `--kills K`
//!    (default 20) rounds each kill the owner of a connector owned by a
//!    *follower*, then the *leader* (and its connectors), and measure from
//!    the kill until a survivor reports that connector's offset committed
//!    under a newer epoch: the new owner's first committed delivery (its
//!    Raft commit follows its Kafka commit). Prints p50/p99/max of both
//!    kinds side by side: leader failover is the baseline follower
//!    failover is held against.
//! 2. **drain**: 10 connectors all on one node (the others cordoned while
//!    they move there), then that node drained while the others are
//!    uncordoned: time until it owns none and every connector runs again.
//! 3. **CPU share**: 6 connectors streaming under the writer; each node's
//!    CPU time (utime + stime from `/proc`) over `--cpu-secs S` (default
//!    10), as a share of the cluster's: placement must spread the work.
//!
//! `cargo run --release -p cluster-tests --bin raftcdc-bench-placement -- [--kills K] [--cpu-secs S]`
//! (build the node first, `cargo build --release --bin raftcdc`, and point
//! `RAFTCDC_BIN` at it).
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster_tests::bench::flag;
use cluster_tests::broker::Broker;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::placement::{self, by_name, create_many, state, wait_spread, wait_until_all_running};
use cluster_tests::Cluster;
use mysql_async::prelude::Queryable;
use raftcdc::proto::{MoveConnectorRequest, NodeRef};

const NODES: [usize; 3] = [1, 2, 3];
const PROBE_GAP: Duration = Duration::from_millis(10);
const ROUND_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("usage: raftcdc-bench-placement [--kills K] [--cpu-secs S]");
        return;
    }
    let kills = flag("--kills", 20).max(1);
    let cpu_secs = flag("--cpu-secs", 10).max(1) as u64;
    let db = MariaDb::start(&[]).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    cluster.wait_leader(&NODES).await;
    let leader = cluster.wait_leader(&NODES).await;
    create_many(&cluster, leader, &db, 0..6, 8000).await;
    wait_spread(&cluster, leader, &NODES, "6 connectors spread").await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(write_forever(db.root_opts(), 10, stop.clone()));

    // 1. Failover.
    let (mut follower_secs, mut leader_secs) = (Vec::new(), Vec::new());
    for round in 1..=kills {
        for kill_leader in [false, true] {
            let leader = cluster.wait_leader(&NODES).await;
            let view = wait_spread(&cluster, leader, &NODES, "every connector runs before the kill").await;
            let victim = if kill_leader { leader } else { *NODES.iter().find(|n| **n != leader).unwrap() };
            let (name, epoch) = view
                .values()
                .find(|c| c.owner_node_id == Some(victim as u64))
                .map(|c| (c.name.clone(), c.epoch))
                .expect("spread: every node owns a connector");
            cluster.kill(victim);
            let killed = Instant::now();
            let survivors: Vec<usize> = NODES.into_iter().filter(|n| *n != victim).collect();
            let secs = committed_under_newer_epoch(&cluster, &survivors, &name, epoch, killed).await;
            let kind = if kill_leader { "leader" } else { "follower" };
            println!("kill {round:>3}: {kind} {victim} killed; {name} committed by its new owner after {secs:.3} s");
            if kill_leader { leader_secs.push(secs) } else { follower_secs.push(secs) }
            cluster.restart(victim);
            cluster.wait_ready(victim).await;
        }
    }
    println!();
    report("failover, follower-owned", &mut follower_secs);
    report("failover, leader-owned (baseline)", &mut leader_secs);

    // 2. Drain a node that owns 10 connectors.
    let leader = cluster.wait_leader(&NODES).await;
    wait_spread(&cluster, leader, &NODES, "every connector runs before the drain").await;
    create_many(&cluster, leader, &db, 6..10, 8000).await;
    let target = *NODES.iter().find(|n| **n != leader).unwrap();
    let mut client = cluster.client(leader);
    for other in NODES.into_iter().filter(|n| *n != target) {
        client.cordon_node(NodeRef { node_id: other as u64 }).await.expect("cordon");
    }
    for i in 0..10 {
        client.move_connector(MoveConnectorRequest { name: placement::name(i), to_node_id: target as u64 }).await.expect("move");
    }
    cluster_tests::wait_until(placement::MANY_DEADLINE, "10 connectors run on one node", || async {
        let view = by_name(&cluster, leader).await?;
        let owned = view.values().filter(|c| c.owner_node_id == Some(target as u64) && state(c) == "RUNNING").count();
        if owned == 10 { Ok(()) } else { Err(format!("{owned} of 10")) }
    })
    .await;
    client.drain_node(NodeRef { node_id: target as u64 }).await.expect("drain");
    let began = Instant::now();
    for other in NODES.into_iter().filter(|n| *n != target) {
        client.uncordon_node(NodeRef { node_id: other as u64 }).await.expect("uncordon");
    }
    cluster_tests::wait_until(placement::MANY_DEADLINE, "the drained node owns nothing", || async {
        let view = by_name(&cluster, leader).await?;
        let left = view.values().filter(|c| c.owner_node_id == Some(target as u64)).count();
        if left == 0 { Ok(()) } else { Err(format!("{left} left")) }
    })
    .await;
    wait_until_all_running(&cluster, leader).await;
    println!("drain of node {target} with 10 connectors: {:.3} s until it owned none and all ran again", began.elapsed().as_secs_f64());
    client.uncordon_node(NodeRef { node_id: target as u64 }).await.expect("uncordon");
    for i in 6..10 {
        client.delete_connector(raftcdc::proto::ConnectorRef { name: placement::name(i) }).await.expect("delete");
    }

    // 3. CPU share while 6 connectors stream.
    wait_spread(&cluster, leader, &NODES, "6 connectors spread again").await;
    let before: BTreeMap<usize, u64> = NODES.iter().map(|n| (*n, cpu_ticks(&cluster, *n))).collect();
    tokio::time::sleep(Duration::from_secs(cpu_secs)).await;
    let used: BTreeMap<usize, u64> = NODES.iter().map(|n| (*n, cpu_ticks(&cluster, *n) - before[n])).collect();
    let view = by_name(&cluster, leader).await.expect("connectors");
    let total: u64 = used.values().sum::<u64>().max(1);
    for (node, ticks) in &used {
        let owned = view.values().filter(|c| c.owner_node_id == Some(*node as u64)).count();
        println!(
            "node {node}: {owned} connectors, {:.1}% of the cluster's CPU over {cpu_secs} s{}",
            100.0 * *ticks as f64 / total as f64,
            if *node == cluster.wait_leader(&NODES).await { " (leader)" } else { "" }
        );
    }
    stop.store(true, Ordering::SeqCst);
    let _ = writer.await;
}

/// Inserts a row into each of tables `t00..` every 50 ms until `stop`.
async fn write_forever(opts: mysql_async::Opts, tables: usize, stop: Arc<AtomicBool>) {
    let mut conn = mysql_async::Conn::new(opts).await.expect("writer connection");
    let mut id = 1_000_000i64;
    while !stop.load(Ordering::SeqCst) {
        for i in 0..tables {
            // Tables are created as the benchmark goes; a missing one is skipped.
            let _ = conn.query_drop(format!("INSERT INTO inventory.t{i:02} VALUES ({id}, 0)")).await;
        }
        id += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Seconds from `since` until a survivor reports `name`'s offset committed
/// under an epoch above `epoch`.
async fn committed_under_newer_epoch(cluster: &Cluster, survivors: &[usize], name: &str, epoch: u64, since: Instant) -> f64 {
    loop {
        assert!(since.elapsed() < ROUND_DEADLINE, "{name} was not taken over within {ROUND_DEADLINE:?}");
        for &node in survivors {
            let mut client = cluster.client_with_timeout(node, Duration::from_millis(300));
            if let Ok(c) = client.get_connector(raftcdc::proto::ConnectorRef { name: name.into() }).await {
                let c = c.into_inner();
                if c.epoch > epoch && c.offset.as_ref().is_some_and(|o| o.epoch == c.epoch) {
                    return since.elapsed().as_secs_f64();
                }
            }
        }
        tokio::time::sleep(PROBE_GAP).await;
    }
}

/// utime + stime of node `node`'s process, in clock ticks.
fn cpu_ticks(cluster: &Cluster, node: usize) -> u64 {
    let Some(pid) = cluster.pid(node) else { return 0 };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    // After the name: state is field 3, utime 14 and stime 15 (1-based).
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
}

/// Prints p50/p99/max (nearest rank) of `samples`, in seconds.
fn report(what: &str, samples: &mut [f64]) {
    samples.sort_by(f64::total_cmp);
    let percentile = |p: f64| samples[((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1];
    println!(
        "{what}: p50 {:.3} s, p99 {:.3} s, max {:.3} s ({} kills)",
        percentile(0.5),
        percentile(0.99),
        samples[samples.len() - 1],
        samples.len()
    );
}
