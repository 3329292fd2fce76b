//! What the end-to-end benchmark sets raftcdc's rates beside, measured in
//! the same run on the same broker: a plain producer's limits (idempotent,
//! and transactional in transactions of raftcdc's size) and, for a
//! snapshot, a bare `SELECT` → produce pipeline over the same table.
//!
//! Every measurement starts and ends on an emptied broker (the test broker
//! slows down as it fills), produces records of the size raftcdc's were,
//! and prints the CPU time of every process it involves, so a rate can be
//! read beside whose cores it took.
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;

use crate::broker::Broker;
use crate::cpu::CpuMeter;
use crate::mariadb::MariaDb;

/// The sink's own limits, measured now: as many records as `topic` got,
/// of its average size, produced into the same broker (emptied first, as
/// it was for the measurement this is compared with) by a plain producer
/// with no source: once idempotent without transactions (the broker's
/// limit), once in transactions of `per_transaction` records as raftcdc
/// commits them (the broker's limit for exactly-once delivery of that
/// shape). With `bare` (the snapshot section), a third figure: the same
/// transactional producer fed by a bare `SELECT` of the table
/// ([`bare_pipeline`]). Prints each and returns them in records/s; leaves
/// the broker empty again.
pub async fn sink_limits(broker: &mut Broker, topic: &str, rows: usize, per_transaction: usize, bare: Option<BarePipeline<'_>>) -> Limits {
    let sample = broker.read_committed(topic).await;
    let sizes: Vec<usize> = sample.iter().take(1000).filter_map(|r| r.value.as_ref().map(Vec::len)).collect();
    drop(sample);
    let size = sizes.iter().sum::<usize>() / sizes.len().max(1);
    let plain = producer_limit(broker, topic, rows, size, None).await;
    println!("sink's own limit (idempotent producer, {size} B records): {plain:>9.0} records/s");
    let transactional = producer_limit(broker, topic, rows, size, Some(per_transaction)).await;
    println!("sink's transactional limit (transactions of {per_transaction} records, {size} B records): {transactional:>9.0} records/s");
    let bare = match bare {
        Some(pipeline) => {
            let rate = bare_pipeline(broker, &pipeline, topic, rows, size, per_transaction).await;
            println!(
                "bare select -> produce pipeline (chunks of {} rows by key, one {size} B record per row, transactions of {per_transaction} records): {rate:>9.0} rows/s",
                pipeline.chunk
            );
            Some(rate)
        }
        None => None,
    };
    Limits { plain, transactional, bare }
}

/// What a section's rate is set beside, in records/s.
pub struct Limits {
    pub plain: f64,
    pub transactional: f64,
    /// The bare `SELECT` → transactional producer pipeline (snapshot only).
    pub bare: Option<f64>,
}

/// The table [`bare_pipeline`] reads (keyed by an integer `id`), and how.
pub struct BarePipeline<'a> {
    pub db: &'a MariaDb,
    pub table: &'a str,
    /// Rows per chunk (the connector's `snapshot.fetch.size`).
    pub chunk: usize,
}

/// A plain producer of same-sized records into the broker: idempotent,
/// every record acknowledged every 10,000 records; or in transactions of
/// `per_transaction` records, every record acknowledged before each
/// commit, as raftcdc's sink does (rust-rdkafka's pre-commit flush polls
/// in 100 ms steps).
pub struct PlainProducer {
    producer: FutureProducer,
    topic: String,
    payload: Vec<u8>,
    transactions: Option<usize>,
    flush_every: usize,
    pending: Vec<rdkafka::producer::DeliveryFuture>,
}

/// How long the limits' producers wait for `init_transactions` and each
/// commit.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);

impl PlainProducer {
    /// A producer into `bench-baseline-<topic>` (dots made dashes) of
    /// records of `size` bytes.
    pub fn new(broker: &Broker, topic: &str, size: usize, per_transaction: Option<usize>) -> PlainProducer {
        let topic = format!("bench-baseline-{}", topic.replace('.', "-"));
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", broker.bootstrap())
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("queue.buffering.max.messages", "1000000");
        if per_transaction.is_some() {
            config.set("transactional.id", format!("{topic}-txn"));
        }
        let producer: FutureProducer = config.create().unwrap();
        let transactions = per_transaction.map(|n| n.max(1));
        if transactions.is_some() {
            // The bench drives one producer at a time: blocking here only
            // blocks the driver.
            tokio::task::block_in_place(|| producer.init_transactions(TRANSACTION_TIMEOUT)).unwrap();
        }
        let flush_every = transactions.unwrap_or(10_000);
        PlainProducer {
            producer,
            topic,
            payload: vec![b'x'; size.max(1)],
            transactions,
            flush_every,
            pending: Vec::with_capacity(flush_every.min(1 << 16)),
        }
    }

    /// Sends one record with `key`; waits for acknowledgements (and
    /// commits) when a transaction or a flush interval is full.
    pub async fn send(&mut self, key: &str) {
        if self.transactions.is_some() && self.pending.is_empty() {
            self.producer.begin_transaction().unwrap();
        }
        let record = FutureRecord::to(&self.topic).key(key).payload(&self.payload);
        self.pending.push(self.producer.send_result(record).unwrap());
        if self.pending.len() == self.flush_every {
            self.flush().await;
        }
    }

    /// Waits for every record sent so far (and commits the open
    /// transaction).
    pub async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        for delivery in self.pending.drain(..) {
            delivery.await.unwrap().unwrap();
        }
        if self.transactions.is_some() {
            tokio::task::block_in_place(|| self.producer.commit_transaction(TRANSACTION_TIMEOUT)).unwrap();
        }
    }
}

/// One run of [`sink_limits`]: records/s of a plain producer, in
/// transactions of `per_transaction` records if set.
async fn producer_limit(broker: &mut Broker, topic: &str, rows: usize, size: usize, per_transaction: Option<usize>) -> f64 {
    broker.wipe().await;
    let mut producer = PlainProducer::new(broker, topic, size, per_transaction);
    let cpu = CpuMeter::start(broker.pid().map(|pid| ("broker".to_string(), pid))).with_threads_of(broker.pid());
    let started = Instant::now();
    for i in 0..rows {
        producer.send(&i.to_string()).await;
    }
    producer.flush().await;
    let took = started.elapsed().as_secs_f64();
    let kind = if per_transaction.is_some() { "transactional" } else { "idempotent" };
    println!("  {kind} producer {}", cpu.report(rows));
    drop(producer);
    broker.wipe().await;
    rows as f64 / took
}

/// The simplest pipeline that does what a snapshot must on this machine:
/// one connection reads the table in key order, chunk by chunk, with the
/// prepared `WHERE key > ? ORDER BY key LIMIT n` a snapshot uses (every
/// row's values parsed by the same client library), handing each row's
/// key through a bounded channel to a plain transactional producer, which
/// sends a record of the snapshot's mean size per row in transactions of
/// the owner's size; reading goes on while a transaction commits, as in
/// raftcdc. No encoding, no Raft, no second node: what is left between
/// it and the snapshot is raftcdc's own cost, while the database's and
/// the broker's share the cores with both. Reads the whole table (`rows`
/// rows); returns rows/s.
async fn bare_pipeline(broker: &mut Broker, bare: &BarePipeline<'_>, topic: &str, rows: usize, size: usize, per_transaction: usize) -> f64 {
    broker.wipe().await;
    let mut conn = bare.db.conn().await;
    let mut producer = PlainProducer::new(broker, topic, size, Some(per_transaction));
    let mut processes: Vec<(String, u32)> = broker.pid().map(|pid| ("broker".to_string(), pid)).into_iter().collect();
    processes.extend(bare.db.pid().map(|pid| ("mariadb".to_string(), pid)));
    let cpu = CpuMeter::start(processes).with_threads_of(broker.pid());
    let started = Instant::now();
    let chunk = bare.chunk.max(1);
    let sql = format!("SELECT * FROM {} WHERE id > ? ORDER BY id LIMIT {chunk}", bare.table);
    let (keys, mut received) = tokio::sync::mpsc::channel::<Vec<i64>>(8);
    let reader = tokio::spawn(async move {
        let mut last = i64::MIN;
        loop {
            let mut result = conn.exec_iter(sql.as_str(), (last,)).await.unwrap();
            let mut group = Vec::with_capacity(1024);
            let mut in_chunk = 0;
            while let Some(row) = result.next().await.unwrap() {
                last = row.get(0).unwrap();
                group.push(last);
                in_chunk += 1;
                if group.len() == 1024 {
                    keys.send(std::mem::replace(&mut group, Vec::with_capacity(1024))).await.unwrap();
                }
            }
            keys.send(group).await.unwrap();
            if in_chunk < chunk {
                return;
            }
        }
    });
    let mut read = 0;
    while let Some(group) = received.recv().await {
        for key in group {
            producer.send(&key.to_string()).await;
            read += 1;
        }
    }
    producer.flush().await;
    let took = started.elapsed().as_secs_f64();
    reader.await.unwrap();
    assert_eq!(read, rows, "the bare pipeline reads the whole table");
    println!("  bare select -> produce {}", cpu.report(read));
    drop(producer);
    broker.wipe().await;
    read as f64 / took
}
