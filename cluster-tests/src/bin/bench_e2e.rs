//! End-to-end benchmark: MariaDB binlog → 3-node raftcdc cluster →
//! committed Kafka records, with every real part, printing from one run:
//!
//! 1. throughput: N rows (default 1,000,000; 9 mixed columns, 1,000-row
//!    transactions) loaded first, then streamed by a connector resumed at
//!    the position before the load, timed until its committed offset
//!    reaches the end; beside it, the sink's own limits in the same run:
//!    the same number of same-sized records produced into the same broker
//!    by a plain idempotent producer, and by a plain transactional
//!    producer committing every `--batch` records (raftcdc's transaction
//!    shape: what exactly-once costs the broker); R rounds (default 3) alternate the
//!    two, each round a new connector over the same binlog range, and the
//!    ratio is printed per round and over all rounds. Every one of these
//!    measurements starts on an empty broker (`Broker::wipe`): noida-db
//!    slows down as it fills, by 2-3x over a few million records;
//! 2. failover: K SIGKILLs of the owner under a steady write load; seconds
//!    from the kill until the new owner's first committed delivery (its
//!    Raft offset commit, which follows the Kafka commit), p50/p99/max;
//! 3. commit-to-visible latency at a fixed 5,000 rows/s: from the row's
//!    COMMIT returning to a read_committed consumer receiving it, p50/p99;
//! 4. initial snapshot: the same N loaded rows read by a new connector
//!    with `snapshot.mode=initial` and otherwise the connector's default
//!    settings (it prints them, and says so when `--snapshot-batch N` or
//!    `--snapshot-set key=value` changed them), from its creation until
//!    its status says the snapshot completed (every chunk committed in
//!    Kafka and Raft), rows/s, beside the sink's own two limits for
//!    records of the snapshot's size (transactions of the owner's mean
//!    size), measured again right after it, and beside a bare pipeline
//!    that does only what a snapshot cannot avoid on this machine: one
//!    connection `SELECT`s the same table in the same chunks and a plain
//!    transactional producer sends a record of the same size per row in
//!    transactions of the same size (no encoding, no Raft, no other node);
//!    R rounds (a new connector each), then all rounds together, as for
//!    throughput.
//!
//! After each section it prints every node's peak RSS during that section
//! (`VmHWM`, reset through `/proc/<pid>/clear_refs` when it starts). Each
//! connector run and each producer limit also prints the CPU time every
//! process spent in it (each node, the broker, MariaDB, this driver, which
//! is the producer of the limits), per record and in all, and how many
//! of the machine's cores that kept busy: when all of them are, the rate is
//! set by the CPU per record summed over the processes sharing the cores,
//! and the split says whose it is. The snapshot's transactional limit uses
//! transactions of the size the owner made (its rows over its Kafka
//! transactions), printed with it.
//!
//! With `--with-debezium`, Debezium 3.6.3's MySQL connector runs on the
//! same server in the same run, on a Kafka Connect 4.3 standalone worker
//! producing into the same broker (see `cluster_tests::debezium`), after
//! raftcdc's figure of each section, on an emptied broker as raftcdc's:
//! after throughput it streams the same loaded rows from the binlog file
//! they start in (`snapshot.mode=recovery` with a pre-written offset), and
//! after the snapshot it snapshots the same table (`initial_only`). Its
//! rate is counted on the broker, from the first record in the topic to
//! the last (the topic's end offset polled every 20 ms), so it leaves out
//! the JVM's start, which raftcdc's figures (from the connector's resume or
//! creation) do not: the ratio is conservative for raftcdc. The worker
//! runs with Kafka Connect's producer defaults, at-least-once, while
//! raftcdc's figures are exactly-once Kafka transactions. Both sides write
//! JSON with the same `schemas.enable` (off, as the bench always ran;
//! `--schemas` turns it on for both) and the same `max.batch.size` and
//! `max.queue.size`. It then prints both figures, their ratio, raftcdc's
//! largest node peak RSS and the worker JVM's `VmHWM`. The server reports
//! itself as MySQL 5.7.19 in this mode (Debezium refuses MariaDB 10.11);
//! raftcdc reads it the same way. Without Java or the jars (installed by
//! `scripts/services.sh`), or with `RAFTCDC_SKIP_DEBEZIUM=1`, it prints
//! why Debezium is skipped and runs raftcdc's half alone.
//!
//! `cargo run --release -p cluster-tests --bin raftcdc-bench-e2e -- [--rows N] [--kills K] [--rounds R] [--batch RECORDS_PER_TXN] [--snapshot-batch N] [--snapshot-set KEY=VALUE]... [--only throughput|snapshot|failover|latency[,...]] [--schemas] [--with-debezium]`
//! (build the node first: `cargo build --release --bin raftcdc` and set
//! `RAFTCDC_BIN=target/release/raftcdc`, or it uses the debug build).
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cluster_tests::bench::{flag, switch};
use cluster_tests::broker::Broker;
use cluster_tests::cluster::Cluster;
use cluster_tests::cpu::CpuMeter;
use cluster_tests::debezium::{self, Debezium, IntoKafka};
use cluster_tests::mariadb::MariaDb;
use cluster_tests::sink_limits::{sink_limits, BarePipeline, Limits};
use cluster_tests::wait_until;
use mysql_async::prelude::Queryable;
use raftcdc::proto::{ConnectorRef, CreateConnectorRequest, SetOffsetsRequest};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// How long one connector run of the throughput or snapshot section may
/// take before the bench gives up on it.
const RUN_DEADLINE: Duration = Duration::from_secs(900);

fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as i64
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn master_position(conn: &mut mysql_async::Conn) -> (String, u64, String) {
    let status: Vec<mysql_async::Row> = conn.query("SHOW MASTER STATUS").await.unwrap();
    let file: String = status[0].get(0).unwrap();
    let pos: u64 = status[0].get(1).unwrap();
    let gtid: Vec<Option<String>> = conn.query(format!("SELECT BINLOG_GTID_POS('{file}', {pos})")).await.unwrap();
    (file, pos, gtid.into_iter().next().flatten().unwrap_or_default())
}

fn seq_of(gtids: &str) -> u64 {
    gtids.split(',').filter_map(|g| g.rsplit('-').next()?.parse().ok()).max().unwrap_or(0)
}

async fn committed_gtid_seq(cluster: &Cluster, node: usize, name: &str) -> (u64, i64) {
    match cluster.connector(node, name).await {
        Ok(c) => c
            .offset
            .map(|o| {
                let v: serde_json::Value = serde_json::from_str(&o.offset_json).unwrap_or_default();
                (seq_of(v["gtids"].as_str().unwrap_or("")), o.committed_ms)
            })
            .unwrap_or((0, 0)),
        Err(_) => (0, 0),
    }
}

/// The connector properties the snapshot section sets beyond what it
/// captures: none by default, so the figure (and its peak RSS) is the
/// connector's defaults'. `--snapshot-batch N` sets `max.batch.size` and
/// `snapshot.fetch.size` to N and `max.queue.size` to 262,144 (the bench's
/// settings before); each `--snapshot-set key=value` adds one property.
/// The section prints which it ran with.
struct SnapshotSettings {
    overrides: Vec<(String, String)>,
}

/// The connector's defaults for the two sizes Debezium is given too.
const DEFAULT_MAX_BATCH_SIZE: usize = 2048;
const DEFAULT_MAX_QUEUE_SIZE: usize = 8192;
/// The connector's default `snapshot.fetch.size` (rows per chunk).
const DEFAULT_SNAPSHOT_FETCH_SIZE: usize = 10_000;

impl SnapshotSettings {
    fn from_args() -> SnapshotSettings {
        let args: Vec<String> = std::env::args().collect();
        let mut overrides = Vec::new();
        if switch("--snapshot-batch") {
            let batch = flag("--snapshot-batch", DEFAULT_MAX_BATCH_SIZE).to_string();
            overrides.push(("max.batch.size".to_string(), batch.clone()));
            overrides.push(("snapshot.fetch.size".to_string(), batch));
            overrides.push(("max.queue.size".to_string(), "262144".to_string()));
        }
        for pair in args.windows(2).filter(|w| w[0] == "--snapshot-set").map(|w| &w[1]) {
            let (key, value) = pair.split_once('=').unwrap_or_else(|| panic!("--snapshot-set {pair}: expected key=value"));
            overrides.retain(|(k, _)| k != key);
            overrides.push((key.to_string(), value.to_string()));
        }
        SnapshotSettings { overrides }
    }

    fn get(&self, key: &str) -> Option<usize> {
        self.overrides.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.parse().ok())
    }

    fn max_batch_size(&self) -> usize {
        self.get("max.batch.size").unwrap_or(DEFAULT_MAX_BATCH_SIZE)
    }

    fn snapshot_fetch_size(&self) -> usize {
        self.get("snapshot.fetch.size").unwrap_or(DEFAULT_SNAPSHOT_FETCH_SIZE)
    }

    fn max_queue_size(&self) -> usize {
        self.get("max.queue.size").unwrap_or(DEFAULT_MAX_QUEUE_SIZE)
    }

    fn describe(&self) -> String {
        if self.overrides.is_empty() {
            return "the connector's defaults (max.batch.size 2048, snapshot.fetch.size 10000, max.queue.size 8192, \
                    max.queue.size.in.bytes 32 MiB, no producer overrides)"
                .to_string();
        }
        let set: Vec<String> = self.overrides.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("NOT the connector's defaults: {}", set.join(", "))
    }
}

/// A section's rounds beside the sink's limits measured after each:
/// prints each round's ratios, then all rounds together.
struct Rounds {
    what: &'static str,
    unit: &'static str,
    rounds: usize,
    /// Seconds the section's runs took, and the seconds the limits (and
    /// the bare pipeline, when measured in every round) would have taken
    /// for the same records.
    took: f64,
    at_limit: f64,
    at_transactional: f64,
    at_bare: Option<f64>,
}

impl Rounds {
    fn new(what: &'static str, unit: &'static str) -> Rounds {
        Rounds { what, unit, rounds: 0, took: 0.0, at_limit: 0.0, at_transactional: 0.0, at_bare: Some(0.0) }
    }

    /// One round of `rows` in `took` seconds, beside `limits`.
    fn add(&mut self, round: usize, rows: usize, took: f64, limits: &Limits) {
        let what = self.what;
        let rate = rows as f64 / took;
        let bare = limits.bare.map_or(String::new(), |bare| format!("; {what} / bare pipeline: {:.0}%", 100.0 * rate / bare));
        println!(
            "round {round}: {what} / sink limit: {:.0}%; {what} / transactional limit: {:.0}%{bare}",
            100.0 * rate / limits.plain,
            100.0 * rate / limits.transactional
        );
        self.rounds += 1;
        self.took += took;
        self.at_limit += rows as f64 / limits.plain;
        self.at_transactional += rows as f64 / limits.transactional;
        self.at_bare = self.at_bare.zip(limits.bare).map(|(at, bare)| at + rows as f64 / bare);
    }

    /// Prints all rounds together; returns the section's rate over them.
    fn report(&self, rows: usize) -> f64 {
        let (what, unit, rounds) = (self.what, self.unit, self.rounds);
        let all = (rows * rounds) as f64;
        let bare = self.at_bare.map_or(String::new(), |at| {
            format!(", bare pipeline {:.0} rows/s; {what} / bare pipeline: {:.0}%", all / at, 100.0 * at / self.took)
        });
        println!(
            "all {rounds} rounds: {what} {:.0} {unit}, sink limit {:.0} records/s, transactional limit {:.0} records/s; {what} / sink limit: {:.0}%, {what} / transactional limit: {:.0}%{bare}",
            all / self.took,
            all / self.at_limit,
            all / self.at_transactional,
            100.0 * self.at_limit / self.took,
            100.0 * self.at_transactional / self.took
        );
        all / self.took
    }
}

/// One raftcdc figure to set beside Debezium's.
struct Side {
    rate: f64,
    peak_rss_mib: f64,
}

/// The owner's Kafka transactions for one connector, from its metrics.
struct Transactions {
    count: f64,
    seconds: f64,
    commit_seconds: f64,
}

impl Transactions {
    fn describe(&self) -> String {
        format!(
            "{:.0} Kafka transactions, mean {:.1} ms each, of which commit_transaction {:.1} ms",
            self.count,
            1000.0 * self.seconds / self.count,
            1000.0 * self.commit_seconds / self.count
        )
    }
}

/// Which node owns connector `name`, and (from that node's `/metrics`)
/// where its time went: whole Kafka transactions, and the broker's
/// `commit_transaction` within them.
async fn owner_transactions(cluster: &Cluster, leader: usize, name: &str) -> (Option<u64>, Option<Transactions>) {
    let owner = cluster.connector(leader, name).await.ok().and_then(|c| c.owner_node_id);
    let Some(node) = owner else { return (None, None) };
    let Ok(scrape) = cluster.scrape(node as usize).await else { return (owner, None) };
    let labels = [("connector", name)];
    let get = |metric: &str| scrape.value(metric, &labels).ok();
    let transactions = (|| {
        Some(Transactions {
            count: get("raftcdc_connector_kafka_transaction_duration_seconds_count")?,
            seconds: get("raftcdc_connector_kafka_transaction_duration_seconds_sum")?,
            commit_seconds: get("raftcdc_connector_kafka_commit_duration_seconds_sum")?,
        })
    })();
    (owner, transactions.filter(|t| t.count > 0.0))
}

/// CPU time of every process of an end-to-end section: the nodes, the
/// broker, the database and this driver (see [`CpuMeter`]).
fn meter(cluster: &Cluster, broker: &Broker, db: &MariaDb) -> CpuMeter {
    let mut processes: Vec<(String, u32)> =
        cluster.nodes().into_iter().filter_map(|n| cluster.pid(n).map(|pid| (format!("node {n}"), pid))).collect();
    processes.extend(broker.pid().map(|pid| ("broker".to_string(), pid)));
    processes.extend(db.pid().map(|pid| ("mariadb".to_string(), pid)));
    CpuMeter::start(processes).with_threads_of(broker.pid())
}

/// The largest peak RSS of any node since the section started.
fn max_peak_rss_mib(cluster: &Cluster) -> f64 {
    cluster.nodes().into_iter().filter_map(|n| cluster.peak_rss_kib(n)).max().unwrap_or(0) as f64 / 1024.0
}

/// Debezium's connector on a Kafka Connect worker, from `start` until the
/// broker holds `rows` records of `bench.t`, on an emptied broker, as
/// raftcdc's figures are taken; prints its figures and empties the broker
/// again. A failure is printed, not fatal: raftcdc's figures stand.
async fn debezium_run(
    dbz: &Debezium,
    db: &MariaDb,
    broker: &mut Broker,
    start: debezium::Start,
    rows: usize,
    (schemas_enable, max_batch_size, max_queue_size): (bool, usize, usize),
) -> Option<debezium::Figures> {
    let what = match start {
        debezium::Start::Snapshot => "snapshot (initial_only, SELECT -> Kafka)",
        debezium::Start::StreamFrom { .. } => "streaming (binlog -> Kafka)",
    };
    broker.wipe().await;
    let into = IntoKafka { bootstrap: broker.bootstrap(), schemas_enable, max_batch_size, max_queue_size };
    let figures = dbz.run_connect(db, "bench.t", start, rows as u64, &into).await;
    broker.wipe().await;
    match figures {
        Ok(f) => {
            println!(
                "debezium {what}, at-least-once: {:>9.0} records/s  ({} records on the broker, first to last in {:.2}s; {:.2}s from the JVM's start; peak RSS {:.0} MiB)",
                f.records_per_second,
                f.records,
                f.seconds,
                f.since_start_seconds.unwrap_or(f64::NAN),
                f.peak_rss_mib
            );
            Some(f)
        }
        Err(e) => {
            println!("debezium {what} failed: {e}");
            None
        }
    }
}

#[tokio::main]
async fn main() {
    let rows = flag("--rows", 1_000_000);
    let kills = flag("--kills", 10);
    // Alternations of the throughput run and the broker's own limit.
    let rounds = flag("--rounds", 3);
    // Records per Kafka transaction in the throughput section (its
    // connectors' max.batch.size; the snapshot section has its own flags).
    let per_transaction = flag("--batch", 8192);
    let batch = per_transaction.to_string();
    // The JSON converter's schemas.enable, for raftcdc and Debezium alike.
    let schemas = if switch("--schemas") { "true" } else { "false" };
    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    let run = |section: &str| only.as_deref().is_none_or(|o| o.split(',').any(|s| s == section));
    let dbz = switch("--with-debezium")
        .then(|| debezium::find().map_err(|why| println!("--with-debezium skipped: {why}; raftcdc's figures follow alone")).ok())
        .flatten();
    let db = MariaDb::start(if dbz.is_some() { &[debezium::AS_MYSQL] } else { &[] }).await;
    db.sql(&[
        "CREATE DATABASE bench",
        "CREATE TABLE bench.t (id BIGINT PRIMARY KEY, name VARCHAR(64), email VARCHAR(128), qty INT, price DECIMAL(10,2), \
         ratio DOUBLE, created DATETIME(6), active TINYINT, note TEXT)",
        "CREATE TABLE bench.lat (id BIGINT PRIMARY KEY, t_us BIGINT)",
    ])
    .await;
    let mut broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let mut conn = db.conn().await;

    // ---- 1. throughput ------------------------------------------------
    let (file, pos, gtid) = master_position(&mut conn).await;
    let load = Instant::now();
    for chunk in 0..rows.div_ceil(1000) {
        let values: Vec<String> = (chunk * 1000..((chunk + 1) * 1000).min(rows))
            .map(|i| {
                format!(
                    "({i},'name-{i}','user{i}@example.com',{},{}.{:02},{},'2024-01-{:02} 12:34:56.{:06}',{},'note {i} lorem ipsum')",
                    i % 1000, i % 100_000, i % 100, (i as f64) / 7.0, 1 + i % 28, i % 1_000_000, i % 2
                )
            })
            .collect();
        conn.query_drop(format!("INSERT INTO bench.t VALUES {}", values.join(","))).await.unwrap();
    }
    let (_, _, end_gtid) = master_position(&mut conn).await;
    println!("loaded {rows} rows in {:.1}s", load.elapsed().as_secs_f64());

    let mut client = cluster.client(leader);
    let offset = serde_json::json!({"file": file, "pos": pos, "gtids": gtid});
    let target = seq_of(&end_gtid);
    // Debezium's batch and queue sizes and JSON are raftcdc's.
    let like_raftcdc = (schemas == "true", per_transaction, 262_144);
    let mut versus = Vec::new();
    if run("throughput") {
        cluster.reset_peak_rss();
        // Rounds alternate the connector and the broker's own limit, each
        // round a new connector streaming the same binlog range into its own
        // topic: the broker's speed drifts, and alternating lets each ratio
        // compare neighbours.
        let mut totals = Rounds::new("end to end", "events/s");
        for round in 1..=rounds {
            let name = format!("bench{round}");
            let mut config = db.connector_config(6300 + round as u32 * 10, &name);
            for (k, v) in [
                ("snapshot.mode", "no_data"),
                ("database.include.list", "bench"),
                ("table.include.list", "bench\\.t"),
                ("value.converter.schemas.enable", schemas),
                ("key.converter.schemas.enable", schemas),
                ("max.batch.size", batch.as_str()),
                ("max.queue.size", "262144"),
            ] {
                config.insert(k.into(), v.into());
            }
            client
                .create_connector(CreateConnectorRequest { name: name.clone(), config: config.into_iter().collect(), paused: true })
                .await
                .unwrap();
            client
                .set_offsets(SetOffsetsRequest { name: name.clone(), offset_json: offset.to_string() })
                .await
                .unwrap();
            let cpu = meter(&cluster, &broker, &db);
            let started = Instant::now();
            client.resume_connector(ConnectorRef { name: name.clone() }).await.unwrap();
            wait_until(RUN_DEADLINE, "the connector caught up", || async {
                let seq = committed_gtid_seq(&cluster, leader, &name).await.0;
                if seq >= target { Ok(()) } else { Err(format!("committed up to GTID seq {seq} of {target}")) }
            })
            .await;
            let e2e = started.elapsed().as_secs_f64();
            let cpu = cpu.report(rows);
            let (owner, transactions) = owner_transactions(&cluster, leader, &name).await;
            if let Some(t) = &transactions {
                println!("round {round}: {}", t.describe());
            }
            client.delete_connector(ConnectorRef { name: name.clone() }).await.unwrap();
            println!(
                "round {round}: end to end (binlog -> committed Kafka, exactly-once): {:>9.0} events/s  ({rows} events in {e2e:.2}s; owner node {})",
                rows as f64 / e2e,
                owner.map_or("?".to_string(), |o| o.to_string())
            );
            println!("  connector {cpu}");
            let limits = sink_limits(&mut broker, &format!("{name}.bench.t"), rows, per_transaction, None).await;
            totals.add(round, rows, e2e, &limits);
        }
        let rate = totals.report(rows);
        println!("throughput {}", cluster.peak_rss_line());
        if let Some(dbz) = &dbz {
            let start = debezium::Start::StreamFrom { file: file.clone() };
            let raftcdc = Side { rate, peak_rss_mib: max_peak_rss_mib(&cluster) };
            versus.push(("streaming, events/s", raftcdc, debezium_run(dbz, &db, &mut broker, start, rows, like_raftcdc).await));
        }
    }

    // ---- 4. initial snapshot ---------------------------------------------
    if run("snapshot") {
        let settings = SnapshotSettings::from_args();
        println!("snapshot settings: {}", settings.describe());
        cluster.reset_peak_rss();
        let mut totals = Rounds::new("snapshot", "rows/s");
        for round in 1..=rounds {
            let name = format!("snap{round}");
            let mut config = db.connector_config(6303 + round as u32, &name);
            for (k, v) in [
                ("snapshot.mode", "initial"),
                ("database.include.list", "bench"),
                ("table.include.list", "bench\\.t"),
                ("value.converter.schemas.enable", schemas),
                ("key.converter.schemas.enable", schemas),
            ] {
                config.insert(k.into(), v.into());
            }
            for (k, v) in &settings.overrides {
                config.insert(k.clone(), v.clone());
            }
            let cpu = meter(&cluster, &broker, &db);
            let started = Instant::now();
            client
                .create_connector(CreateConnectorRequest { name: name.clone(), config: config.into_iter().collect(), paused: false })
                .await
                .unwrap();
            wait_until(RUN_DEADLINE, "the snapshot completed", || async {
                let snapshot = cluster.connector(leader, &name).await.ok().and_then(|c| c.snapshot);
                if snapshot.as_ref().is_some_and(|s| s.completed) { Ok(()) } else { Err(format!("{snapshot:?}")) }
            })
            .await;
            let took = started.elapsed().as_secs_f64();
            let cpu = cpu.report(rows);
            let (owner, transactions) = owner_transactions(&cluster, leader, &name).await;
            println!(
                "round {round}: initial snapshot (select -> committed Kafka, exactly-once): {:>9.0} rows/s  ({rows} rows in {took:.2}s; owner node {})",
                rows as f64 / took,
                owner.map_or("?".to_string(), |o| o.to_string())
            );
            if let Some(t) = &transactions {
                println!("round {round}: snapshot: {}", t.describe());
            }
            println!("  snapshot {cpu}");
            client.delete_connector(ConnectorRef { name: name.clone() }).await.unwrap();
            // The transactional limit in transactions of the size the owner
            // made (queued batches join a transaction up to half the queue).
            let per_transaction =
                transactions.as_ref().map_or(settings.max_batch_size(), |t| (rows as f64 / t.count).round().max(1.0) as usize);
            let bare = BarePipeline { db: &db, table: "bench.t", chunk: settings.snapshot_fetch_size() };
            let limits = sink_limits(&mut broker, &format!("{name}.bench.t"), rows, per_transaction, Some(bare)).await;
            totals.add(round, rows, took, &limits);
        }
        let rate = totals.report(rows);
        println!("snapshot {}", cluster.peak_rss_line());
        let raftcdc = Side { rate, peak_rss_mib: max_peak_rss_mib(&cluster) };
        if let Some(dbz) = &dbz {
            versus.push(("snapshot, rows/s", raftcdc, debezium_run(dbz, &db, &mut broker, debezium::Start::Snapshot, rows, (schemas == "true", settings.max_batch_size(), settings.max_queue_size())).await));
        }
    }
    if !versus.is_empty() {
        println!(
            "raftcdc (3 nodes, exactly-once transactions) beside Debezium 3.6.3 on a Kafka Connect 4.3 standalone worker \
             (at-least-once, Kafka Connect's producer defaults), same server, same broker, same run, JSON schemas.enable={schemas}:"
        );
        for (what, raftcdc, dbz) in &versus {
            match dbz {
                Some(dbz) => println!(
                    "  {what:20} raftcdc {:>9.0}  debezium {:>9.0}  ratio {:.1}x; peak RSS raftcdc {:.0} MiB (largest node), debezium {:.0} MiB (JVM)",
                    raftcdc.rate,
                    dbz.records_per_second,
                    raftcdc.rate / dbz.records_per_second,
                    raftcdc.peak_rss_mib,
                    dbz.peak_rss_mib
                ),
                None => println!("  {what:20} raftcdc {:>9.0}  debezium failed (above)", raftcdc.rate),
            }
        }
    }
    if !run("latency") && !run("failover") {
        return;
    }

    // ---- 3. commit-to-visible latency at 5,000 rows/s ------------------
    cluster.reset_peak_rss();
    let mut config = db.connector_config(6302, "lat");
    for (k, v) in [
        ("snapshot.mode", "no_data"),
        ("database.include.list", "bench"),
        ("table.include.list", "bench\\.lat"),
        ("value.converter.schemas.enable", "false"),
        ("key.converter.schemas.enable", "false"),
        ("poll.interval.ms", "10"),
    ] {
        config.insert(k.into(), v.into());
    }
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let mut client = cluster.client(leader);
    client
        .create_connector(CreateConnectorRequest { name: "lat".into(), config: config.into_iter().collect(), paused: false })
        .await
        .unwrap();
    while cluster.connector(leader, "lat").await.ok().and_then(|c| c.offset).is_none() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", "bench-latency")
        .set("isolation.level", "read_committed")
        .set("fetch.wait.max.ms", "5")
        .set("receive.message.max.bytes", "1000000000")
        .create()
        .unwrap();
    // Seed the topic, then read it from its end.
    conn.query_drop(format!("INSERT INTO bench.lat VALUES (0, {})", now_us())).await.unwrap();
    let topic = "lat.bench.lat";
    loop {
        let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)).unwrap();
        if md.topics().iter().any(|t| t.name() == topic && !t.partitions().is_empty() && t.error().is_none()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::End).unwrap();
    consumer.assign(&assignment).unwrap();
    let total = 25_000; // 5 s at 5,000 rows/s
    let writer_opts = db.root_opts();
    let writer = tokio::spawn(async move {
        let mut conn = mysql_async::Conn::new(writer_opts).await.unwrap();
        let start = Instant::now();
        // 50 rows every 10 ms = 5,000 rows/s, one transaction per tick.
        for tick in 0..(total / 50) {
            let due = start + Duration::from_millis(10 * tick as u64);
            tokio::time::sleep_until(due.into()).await;
            let t = now_us();
            let values: Vec<String> = (0..50).map(|j| format!("({}, {t})", 1 + tick * 50 + j)).collect();
            conn.query_drop(format!("INSERT INTO bench.lat VALUES {}", values.join(","))).await.unwrap();
        }
    });
    let mut latencies = Vec::with_capacity(total);
    while latencies.len() < total {
        let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv()).await.expect("records arrive").unwrap();
        let Some(payload) = message.payload() else { continue };
        let value: serde_json::Value = serde_json::from_slice(payload).unwrap();
        if let Some(t) = value["after"]["t_us"].as_i64() {
            if value["after"]["id"].as_i64() != Some(0) {
                latencies.push((now_us() - t) as f64 / 1000.0);
            }
        }
    }
    writer.await.unwrap();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "commit-to-visible at 5,000 rows/s (insert -> read_committed consumer): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} rows)",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(f64::NAN),
        latencies.len()
    );
    println!("latency {}", cluster.peak_rss_line());

    // ---- 2. failover ---------------------------------------------------
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let writer_opts = db.root_opts();
    let writer = tokio::spawn(async move {
        let mut conn = mysql_async::Conn::new(writer_opts).await.unwrap();
        let mut id = 1_000_000;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            conn.query_drop(format!("INSERT INTO bench.lat VALUES ({id}, {})", now_us())).await.unwrap();
            id += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let mut seconds = Vec::new();
    for k in 1..=kills {
        let owner = cluster.wait_leader(&cluster.nodes()).await;
        let killed_at_ms = now_us() / 1000;
        let killed = Instant::now();
        cluster.kill(owner);
        let survivors: Vec<usize> = cluster.nodes().into_iter().filter(|n| *n != owner).collect();
        let new_leader = cluster.wait_leader(&survivors).await;
        loop {
            let c = cluster.connector(new_leader, "lat").await.ok();
            let done = c.as_ref().is_some_and(|c| {
                c.owner_node_id == Some(new_leader as u64)
                    && c.offset.as_ref().is_some_and(|o| o.epoch == c.epoch && o.committed_ms > killed_at_ms)
            });
            if done {
                break;
            }
            assert!(killed.elapsed() < Duration::from_secs(60), "no committed delivery after the kill");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let s = killed.elapsed().as_secs_f64();
        println!("kill {k:>2}: owner {owner} killed; first committed delivery by node {new_leader} after {s:.3} s");
        seconds.push(s);
        cluster.restart(owner);
        cluster.wait_ready(owner).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.unwrap();
    seconds.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "failover (SIGKILL -> first committed record): p50 {:.3} s, p99 {:.3} s, max {:.3} s ({} kills)",
        percentile(&seconds, 50.0),
        percentile(&seconds, 99.0),
        seconds.last().copied().unwrap_or(f64::NAN),
        seconds.len()
    );
    println!("latency and failover {}", cluster.peak_rss_line());
}
