//! `raftcdc-bench-failover`: how long a 3-node cluster is unwritable, and
//! how long a connector is unowned, after its leader is `SIGKILL`ed.
//!
//! Usage: `raftcdc-bench-failover [--kills K]` (default 20). Build the node
//! first (`cargo build --bin raftcdc`, or set `RAFTCDC_BIN`).
//!
//! Each round notes the leader, kills it, and from the moment of the kill
//! measures, concurrently:
//!
//! - **write**: until a surviving node accepts and commits a write (the
//!   creation of a paused connector `bench-<k>`). Attempts alternate between
//!   the survivors with a short per-call timeout and no pause, so the figure
//!   is the cluster's, not the poll interval's. `ALREADY_EXISTS` counts as
//!   committed: an earlier attempt went through but its reply was lost.
//! - **owner**: until a survivor reports the connector `bench` owned by a
//!   node other than the killed one, under a higher epoch.
//!
//! The killed node is then restarted, and the next round starts only once
//! it has rejoined (all three agree on a leader and it has applied the
//! round's write), so every round starts from a healthy cluster. It prints
//! one line per kill, then p50/p99/max of both figures (nearest-rank
//! percentiles), then each node's RSS. Raft settings are the node's
//! defaults. The cluster is the tests' harness, so it is torn down (and its
//! logs shown on a panic) the same way.
use std::time::{Duration, Instant};

use cluster_tests::connectors::create_request;
use cluster_tests::Cluster;
use tonic::Code;

/// Per-call timeout of a write attempt during failover.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(300);

/// Pause between two owner probes. Small next to an election (~1 s).
const PROBE_GAP: Duration = Duration::from_millis(10);

/// A failover taking longer than this is reported as a failure.
const ROUND_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    const USAGE: &str = "usage: raftcdc-bench-failover [--kills K]";
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return;
    }
    let kills = match parse_kills(std::env::args().skip(1)) {
        Ok(kills) => kills,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            std::process::exit(2);
        }
    };

    let cluster = Cluster::start(3).await;
    cluster.init().await;
    let mut leader = cluster.wait_leader(&[1, 2, 3]).await;
    cluster.client(leader).create_connector(create_request("bench", false)).await.expect("create the bench connector");
    cluster
        .wait_connector(&[1, 2, 3], "bench", "owned by the leader", |_, c| {
            (c.owner_node_id == Some(leader as u64)).then_some(()).ok_or_else(|| "not owned yet".into())
        })
        .await;
    println!("cluster up in {}; killing the leader {kills} times", cluster.dir().display());

    let mut write_secs = Vec::with_capacity(kills);
    let mut owner_secs = Vec::with_capacity(kills);
    for round in 1..=kills {
        leader = cluster.wait_leader(&[1, 2, 3]).await;
        let epoch_before = cluster.connector(leader, "bench").await.expect("read the bench connector").epoch;
        let survivors: Vec<usize> = cluster.nodes().into_iter().filter(|&n| n != leader).collect();
        let write_name = format!("bench-{round}");

        cluster.kill(leader);
        let killed_at = Instant::now();
        let (write, owner) = tokio::join!(
            first_committed_write(&cluster, &survivors, &write_name, killed_at),
            owner_moved(&cluster, &survivors, leader, epoch_before, killed_at),
        );
        println!(
            "kill {round:>3}: leader {leader} killed; write committed after {write:.3} s, owner moved after {owner:.3} s"
        );
        write_secs.push(write);
        owner_secs.push(owner);

        cluster.restart(leader);
        cluster.wait_ready(leader).await;
        cluster.wait_leader(&[1, 2, 3]).await;
        cluster.wait_connector(&[leader], &write_name, "the restarted node caught up", |_, _| Ok(())).await;
    }

    println!();
    report("write committed", &mut write_secs);
    report("owner moved", &mut owner_secs);
    for node in cluster.nodes() {
        match cluster.rss_kib(node) {
            Some(kib) => println!("node {node} RSS: {:.1} MiB", kib as f64 / 1024.0),
            None => println!("node {node} RSS: unavailable"),
        }
    }
}

/// Seconds from `since` until a survivor commits the creation of `name`.
async fn first_committed_write(cluster: &Cluster, survivors: &[usize], name: &str, since: Instant) -> f64 {
    for target in survivors.iter().cycle() {
        assert!(since.elapsed() < ROUND_DEADLINE, "no write committed within {ROUND_DEADLINE:?} of the kill");
        let mut client = cluster.client_with_timeout(*target, ATTEMPT_TIMEOUT);
        match client.create_connector(create_request(name, true)).await {
            Ok(_) => return since.elapsed().as_secs_f64(),
            Err(status) if status.code() == Code::AlreadyExists => return since.elapsed().as_secs_f64(),
            Err(_) => {}
        }
    }
    unreachable!("cycle() over a non-empty list never ends")
}

/// Seconds from `since` until a survivor reports `bench` owned by a node
/// other than `killed` under an epoch above `epoch_before`.
async fn owner_moved(cluster: &Cluster, survivors: &[usize], killed: usize, epoch_before: u64, since: Instant) -> f64 {
    loop {
        assert!(since.elapsed() < ROUND_DEADLINE, "the connector did not move within {ROUND_DEADLINE:?} of the kill");
        for &node in survivors {
            let client = cluster.client_with_timeout(node, ATTEMPT_TIMEOUT);
            let probe = get_bench(client).await;
            if let Ok(c) = probe {
                let owner = c.owner_node_id.unwrap_or(0);
                if owner != 0 && owner != killed as u64 && c.epoch > epoch_before {
                    return since.elapsed().as_secs_f64();
                }
            }
        }
        tokio::time::sleep(PROBE_GAP).await;
    }
}

async fn get_bench(
    mut client: raftcdc::api::client::ControlClient,
) -> Result<raftcdc::proto::Connector, tonic::Status> {
    let request = raftcdc::proto::ConnectorRef { name: "bench".into() };
    Ok(client.get_connector(request).await?.into_inner())
}

/// Prints p50/p99/max of `samples` (seconds).
fn report(what: &str, samples: &mut [f64]) {
    samples.sort_by(f64::total_cmp);
    let percentile = |p: f64| {
        let rank = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        samples[rank - 1]
    };
    if samples.is_empty() {
        println!("{what}: no samples");
    } else {
        println!(
            "{what}: p50 {:.3} s, p99 {:.3} s, max {:.3} s ({} kills)",
            percentile(0.50),
            percentile(0.99),
            samples[samples.len() - 1],
            samples.len()
        );
    }
}

/// `--kills K` (or `--kills=K`); anything else is a usage error.
fn parse_kills(mut args: impl Iterator<Item = String>) -> Result<usize, String> {
    let mut kills = 20;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--kills" => args.next().ok_or("--kills needs a value")?,
            other => match other.strip_prefix("--kills=") {
                Some(value) => value.to_owned(),
                None => return Err(format!("unknown argument {other:?}")),
            },
        };
        kills = value.parse().map_err(|_| format!("--kills: {value:?} is not a number"))?;
    }
    if kills == 0 {
        return Err("--kills must be at least 1".into());
    }
    Ok(kills)
}
