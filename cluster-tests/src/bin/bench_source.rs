//! Source benchmark: binlog → fully encoded Debezium JSON, beside the
//! server's own raw binlog dump speed, measured in the same run.
//!
//! Loads N rows (default 1,000,000) of 9 mixed columns in 1,000-row
//! transactions into a private MariaDB, then times:
//! 1. `mariadb-binlog --read-from-remote-server --raw` of the same binlog
//!    files (the baseline: bytes off the wire, no decoding);
//! 2. raftcdc's MySQL source streaming the same events from the first
//!    binlog file into encoded key/value JSON (schemas enabled, Debezium's
//!    default), counting records and bytes;
//! 3. the same stream through the most common transform chain
//!    (ExtractNewRecordState with `delete.tombstone.handling.mode=rewrite`
//!    and `add.fields=op,table,source.ts_ms`, then RegexRouter), beside
//!    the same stream without transforms; both passes run as the owner
//!    runs a connector (the source, the owner's queue gate, the chain on
//!    its own thread after it), minus Kafka. Printed: the chain's cost in
//!    throughput, in CPU per event (process CPU time over the pass, which
//!    other load on a shared machine moves much less), and the chain
//!    alone on one batch held in cache;
//! 4. raftcdc's initial snapshot of the same table (`initial_only`,
//!    chunked key-order SELECTs) into the same JSON, rows/s;
//! 5. the same rows split over four tables, snapshotted with
//!    `snapshot.max.threads=1` and `=4` one after the other: rows/s of
//!    each and their ratio.
//!
//! With `--with-debezium`, Debezium 3.6.3's MySQL connector (embedded
//! engine, JSON with schemas, no Kafka: see `cluster_tests::debezium`)
//! then does the same two things on the same server in the same run:
//! stream the same binlog files from their start, and snapshot the same
//! table; the benchmark prints both sides, their ratio and each side's
//! peak RSS. The server then reports itself as MySQL 5.7.19, which
//! Debezium needs to accept MariaDB 10.11; raftcdc reads it the same way.
//!
//! Usage: `cargo run --release -p cluster-tests --bin raftcdc-bench-source -- [--rows N] [--with-debezium]`
use std::sync::Arc;
use std::time::Instant;

use cluster_tests::bench::{flag, switch};
use cluster_tests::debezium;
use cluster_tests::mariadb::MariaDb;
use mysql_async::prelude::Queryable;
use raftcdc::connector::ConnectorConfig;
use raftcdc::pipeline::queue::{self, QueueBounds};
use raftcdc::source::mysql::config::MySqlSourceConfig;
use raftcdc::source::mysql::replication::MySqlSource;
use raftcdc::transform::TransformChain;
use serde_json::json;

/// The allocator the raftcdc binary ships with (see src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// CPU seconds (user + system) this process has used so far: the source's
/// threads and the consumer's, not the database server's.
fn cpu_secs() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Tables of the parallel snapshot figure.
const PARALLEL_TABLES: usize = 4;

/// raftcdc's initial snapshot of `bench.s0..` with `snapshot.max.threads`
/// = `threads`, no Kafka: rows/s, rows, seconds.
async fn parallel_snapshot(db: &MariaDb, threads: usize, server_id: u32) -> (f64, usize, f64) {
    let mut props = db.connector_config(server_id, "par");
    props.insert("snapshot.mode".into(), "initial_only".into());
    props.insert("snapshot.fetch.size".into(), "8192".into());
    props.insert("snapshot.max.threads".into(), threads.to_string());
    props.insert("max.batch.size".into(), "8192".into());
    props.insert("max.queue.size".into(), "65536".into());
    props.insert("table.include.list".into(), "bench\\.s[0-9]+".into());
    let config = Arc::new(MySqlSourceConfig::from_properties(&props).unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let started = Instant::now();
    let task = tokio::spawn(async move { MySqlSource::new(config, true).run(None, tx).await });
    let mut rows = 0usize;
    while let Some(batch) = rx.recv().await {
        rows += batch.records.iter().filter(|r| r.topic.starts_with("par.bench.s")).count();
        if batch.snapshot.as_ref().is_some_and(|s| s.completed) {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    drop(rx);
    let _ = task.await;
    (rows as f64 / secs, rows, secs)
}

/// The records of the source's first batches from `offset`, at least
/// `count` of them (or all there are).
async fn first_batch(config: Arc<MySqlSourceConfig>, offset: serde_json::Value, count: usize) -> Vec<raftcdc::source::Record> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let task = tokio::spawn(async move { MySqlSource::new(config, true).run(Some(offset), tx).await });
    let mut records = Vec::new();
    while records.len() < count {
        let Some(batch) = rx.recv().await else { break };
        records.extend(batch.records);
    }
    drop(rx);
    let _ = task.await;
    records
}

#[tokio::main]
async fn main() {
    let rows = flag("--rows", 1_000_000);
    let with_debezium = switch("--with-debezium");
    let dbz = with_debezium
        .then(|| debezium::find().map_err(|why| println!("--with-debezium skipped: {why}; raftcdc's figures follow alone")).ok())
        .flatten();

    let db = MariaDb::start(if with_debezium { &[debezium::AS_MYSQL] } else { &[] }).await;
    let mut conn = db.conn().await;
    conn.query_drop("CREATE DATABASE bench").await.unwrap();
    conn.query_drop(
        "CREATE TABLE bench.t (id BIGINT PRIMARY KEY, name VARCHAR(64), email VARCHAR(128), qty INT, price DECIMAL(10,2), \
         ratio DOUBLE, created DATETIME(6), active TINYINT, note TEXT)",
    )
    .await
    .unwrap();
    let status: Vec<mysql_async::Row> = conn.query("SHOW MASTER STATUS").await.unwrap();
    let first_file: String = status[0].get(0).unwrap();

    let load = Instant::now();
    let per_txn = 1000;
    for chunk in 0..rows.div_ceil(per_txn) {
        let start = chunk * per_txn;
        let end = (start + per_txn).min(rows);
        let values: Vec<String> = (start..end)
            .map(|i| {
                format!(
                    "({i},'name-{i}','user{i}@example.com',{},{}.{:02},{},'2024-01-{:02} 12:34:56.{:06}',{},'note {i} lorem ipsum')",
                    i % 1000,
                    i % 100_000,
                    i % 100,
                    (i as f64) / 7.0,
                    1 + i % 28,
                    i % 1_000_000,
                    i % 2
                )
            })
            .collect();
        conn.query_drop(format!("INSERT INTO bench.t VALUES {}", values.join(","))).await.unwrap();
    }
    let load_secs = load.elapsed().as_secs_f64();
    conn.query_drop("FLUSH BINARY LOGS").await.unwrap();
    let files: Vec<mysql_async::Row> = conn.query("SHOW BINARY LOGS").await.unwrap();
    let files: Vec<String> = files
        .iter()
        .map(|r| r.get::<String, _>(0).unwrap())
        .filter(|f| f.as_str() >= first_file.as_str())
        .collect();
    let binlog_bytes: u64 = {
        let all: Vec<mysql_async::Row> = conn.query("SHOW BINARY LOGS").await.unwrap();
        all.iter()
            .filter(|r| files.contains(&r.get::<String, _>(0).unwrap()))
            .map(|r| r.get::<u64, _>(1).unwrap())
            .sum()
    };
    println!("loaded {rows} rows in {load_secs:.1}s; binlog {:.1} MB in {} file(s)", binlog_bytes as f64 / 1e6, files.len());

    // Baseline: the server's own raw dump of the same files.
    let out_dir = tempfile::tempdir().unwrap();
    let raw = Instant::now();
    let status = std::process::Command::new("mariadb-binlog")
        .args(["--read-from-remote-server", "--raw", "--host", &db.host.to_string(), "--port", &db.port.to_string(), "--user", "root"])
        .arg(format!("--result-file={}/", out_dir.path().display()))
        .args(&files[..files.len() - 1])
        .status()
        .expect("mariadb-binlog runs");
    let raw_secs = raw.elapsed().as_secs_f64();
    assert!(status.success());
    println!(
        "baseline  mariadb-binlog --raw:   {:>9.1} MB/s  ({raw_secs:.2}s)",
        binlog_bytes as f64 / 1e6 / raw_secs
    );

    // raftcdc: binlog -> encoded Debezium JSON, with the Connect schema in
    // every message (JsonConverter's default) and payload-only; then the
    // same through the unwrap + route chain, in the same run.
    let mut streamed = 0.0;
    let mut plain_rates = std::collections::HashMap::new();
    let mut plain_cpu = std::collections::HashMap::new();
    for (schemas, transforms) in [("true", false), ("false", false), ("true", true), ("false", true)] {
        let mut props = db.connector_config(7777, "bench");
        props.insert("max.batch.size".into(), "4096".into());
        props.insert("max.queue.size".into(), "65536".into());
        props.insert("key.converter.schemas.enable".into(), schemas.into());
        props.insert("value.converter.schemas.enable".into(), schemas.into());
        if transforms {
            for (k, v) in [
                ("transforms", "unwrap,route"),
                ("transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState"),
                ("transforms.unwrap.delete.tombstone.handling.mode", "rewrite"),
                ("transforms.unwrap.add.fields", "op,table,source.ts_ms"),
                ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
                ("transforms.route.regex", "([^.]+)\\.bench\\.(.*)"),
                ("transforms.route.replacement", "$1_$2"),
            ] {
                props.insert(k.into(), v.into());
            }
        }
        // As the owner does: with transforms, the source encodes with
        // schemas and the chain writes the configured format.
        let parsed = ConnectorConfig::parse(&props).unwrap();
        let mut chain = (!parsed.transforms.is_empty()).then(|| TransformChain::new(&parsed.transforms, parsed.output_format()));
        let mut source = MySqlSourceConfig::from_properties(&props).unwrap();
        if chain.is_some() {
            source.encoding.key_schemas_enable = true;
            source.encoding.value_schemas_enable = true;
            source.encoding.schemas_by_reference = true;
        }
        let config = Arc::new(source);
        let offset = json!({"file": first_file, "pos": 4});
        // One batch of the source's records, untimed, to time the chain on
        // records held in cache afterwards.
        let sample = match chain {
            Some(_) => Some(first_batch(config.clone(), offset.clone(), 1000).await),
            None => None,
        };
        // As the owner runs it: the source, the queue's gate (records and
        // bytes), the chain on its own thread, then the consumer (here it
        // only counts; the owner's delivery loop produces to Kafka).
        let (tx, source_rx) = tokio::sync::mpsc::channel(1);
        let (gated, _gate) = queue::gate(
            source_rx,
            QueueBounds { records: config.max_queue_size, bytes: config.max_queue_bytes },
        );
        let (mut rx, _failure) = match chain.take() {
            Some(chain) => queue::transform_batches(chain, gated),
            None => (gated, Default::default()),
        };
        let started = Instant::now();
        let cpu_started = cpu_secs();
        let task = tokio::spawn(async move { MySqlSource::new(config, true).run(Some(offset), tx).await });
        let mut events = 0usize;
        let mut bytes = 0usize;
        let topic = if transforms { "bench_t" } else { "bench.bench.t" };
        while events < rows {
            let Some((batch, held)) = rx.recv().await else { break };
            for record in &batch.records {
                if record.topic == topic {
                    events += 1;
                    bytes += record.value.as_ref().map_or(0, Vec::len) + record.key.as_ref().map_or(0, Vec::len);
                }
            }
            drop(held);
        }
        let secs = started.elapsed().as_secs_f64();
        let cpu_per_event = (cpu_secs() - cpu_started) / events.max(1) as f64;
        drop(rx);
        let _ = task.await;
        let rate = events as f64 / secs;
        let label = if transforms { "unwrap+route" } else { "no transforms" };
        if schemas == "true" && !transforms {
            streamed = rate;
        }
        println!(
            "raftcdc   binlog -> JSON, {label:13} (schemas.enable={schemas:5}): {:>9.0} events/s  {:>7.1} MB/s of JSON  {:>7.1} MB/s of binlog  ({events} events, {secs:.2}s, {:.0} B/event)",
            rate,
            bytes as f64 / 1e6 / secs,
            binlog_bytes as f64 / 1e6 / secs,
            bytes as f64 / events.max(1) as f64
        );
        if transforms {
            let plain: f64 = plain_rates[schemas];
            println!(
                "          the chain costs {:.1}% of the throughput without transforms (schemas.enable={schemas}), run as the owner runs it (on its own thread after the queue)",
                100.0 * (1.0 - rate / plain),
            );
            if let Some(sample) = sample {
                // The same batch again and again: records in cache, no
                // source beside it (the chain's own cost per record).
                let mut chain = TransformChain::new(&parsed.transforms, parsed.output_format());
                let mut best = f64::MAX;
                for _ in 0..20 {
                    let copy = sample.clone();
                    let began = Instant::now();
                    let out = chain.apply(copy).expect("the chain applies");
                    best = best.min(began.elapsed().as_secs_f64());
                    drop(out);
                }
                println!(
                    "          the chain alone on one batch of {} records in cache, best of 20: {:.2} µs/record ({:.0} records/s on one thread)",
                    sample.len(),
                    best * 1e6 / sample.len() as f64,
                    sample.len() as f64 / best
                );
            }
            // On a shared machine wall-clock rates swing with other load;
            // CPU per event does not: what a CPU-bound connector loses.
            let plain: f64 = plain_cpu[schemas];
            println!(
                "          CPU per event: {:.2} µs without transforms, {:.2} µs with: the chain costs {:.1}% of CPU-bound throughput (schemas.enable={schemas})",
                plain * 1e6,
                cpu_per_event * 1e6,
                100.0 * (1.0 - plain / cpu_per_event)
            );
        } else {
            plain_rates.insert(schemas, rate);
            plain_cpu.insert(schemas, cpu_per_event);
        }
    }

    // raftcdc: the initial snapshot of the same table (chunked SELECTs in
    // key order -> encoded JSON, schemas on), with no Kafka: the same
    // conditions as the Debezium figure beside it.
    let mut props = db.connector_config(7778, "snap");
    props.insert("snapshot.mode".into(), "initial_only".into());
    props.insert("snapshot.fetch.size".into(), "8192".into());
    props.insert("max.batch.size".into(), "8192".into());
    props.insert("max.queue.size".into(), "65536".into());
    props.insert("table.include.list".into(), "bench\\.t".into());
    let config = Arc::new(MySqlSourceConfig::from_properties(&props).unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let started = Instant::now();
    let task = tokio::spawn(async move { MySqlSource::new(config, true).run(None, tx).await });
    let mut snapshot_rows = 0usize;
    while snapshot_rows < rows {
        let Some(batch) = rx.recv().await else { break };
        snapshot_rows += batch.records.iter().filter(|r| r.topic == "snap.bench.t").count();
    }
    let secs = started.elapsed().as_secs_f64();
    drop(rx);
    let _ = task.await;
    let snapshotted = snapshot_rows as f64 / secs;
    println!(
        "raftcdc   snapshot SELECT -> JSON (schemas.enable=true ): {snapshotted:>9.0} rows/s  ({snapshot_rows} rows, {secs:.2}s)"
    );
    let raftcdc_rss = rss_mib();
    println!("peak RSS of this process (source + encoder): {raftcdc_rss:.0} MiB");

    // The parallel snapshot: the same rows split over four tables, read
    // with snapshot.max.threads=1 and =4 in the same run.
    for i in 0..PARALLEL_TABLES {
        conn.query_drop(format!("CREATE TABLE bench.s{i} LIKE bench.t")).await.unwrap();
        conn.query_drop(format!("INSERT INTO bench.s{i} SELECT * FROM bench.t WHERE id % {PARALLEL_TABLES} = {i}")).await.unwrap();
    }
    let mut rates = Vec::new();
    for threads in [1, PARALLEL_TABLES] {
        let (rate, count, secs) = parallel_snapshot(&db, threads, 7779 + threads as u32).await;
        println!(
            "raftcdc   snapshot of {PARALLEL_TABLES} tables, snapshot.max.threads={threads}: {rate:>9.0} rows/s  ({count} rows, {secs:.2}s)"
        );
        rates.push(rate);
    }
    println!(
        "ratio snapshot.max.threads={PARALLEL_TABLES} / 1, same tables, same run: {:.2}x ({} cores on this machine, the server on them too)",
        rates[1] / rates[0],
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );

    let Some(dbz) = dbz else { return };
    let stream = dbz
        .run(&db, "bench.t", debezium::Start::StreamFrom { file: first_file.clone() }, rows as u64)
        .await
        .unwrap_or_else(|e| panic!("Debezium streaming: {e}"));
    println!(
        "debezium  binlog -> JSON (schemas.enable=true ): {:>9.0} events/s  ({} events, {:.2}s, peak RSS {:.0} MiB)",
        stream.records_per_second, stream.records, stream.seconds, stream.peak_rss_mib
    );
    let snap = dbz
        .run(&db, "bench.t", debezium::Start::Snapshot, rows as u64)
        .await
        .unwrap_or_else(|e| panic!("Debezium snapshot: {e}"));
    println!(
        "debezium  snapshot SELECT -> JSON (schemas.enable=true ): {:>9.0} rows/s  ({} rows, {:.2}s, peak RSS {:.0} MiB)",
        snap.records_per_second, snap.records, snap.seconds, snap.peak_rss_mib
    );
    println!(
        "ratio raftcdc/debezium, same server, same run: streaming {:.1}x, snapshot {:.1}x; peak RSS {raftcdc_rss:.0} MiB vs {:.0} MiB",
        streamed / stream.records_per_second,
        snapshotted / snap.records_per_second,
        stream.peak_rss_mib.max(snap.peak_rss_mib)
    );
}
