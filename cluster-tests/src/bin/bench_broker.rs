//! The broker's own speed as it fills: R rounds, each producing N records
//! of 610 B in 8,192-record batches into a new topic of the same private
//! noida-db, first with a transactional producer (one transaction per
//! batch, as raftcdc's sink does) and then with a plain idempotent one.
//! This is why `raftcdc-bench-e2e` empties the broker before every figure
//! it compares: noida-db keeps everything in memory and slows down as it
//! fills, so two figures taken at different fill levels do not compare.
//!
//! `cargo run --release -p cluster-tests --bin raftcdc-bench-broker -- [--rows N] [--rounds R]`
use std::time::{Duration, Instant};

use cluster_tests::bench::flag;
use cluster_tests::broker::Broker;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;

const BATCH: usize = 8192;

#[tokio::main]
async fn main() {
    let rows = flag("--rows", 1_000_000);
    let rounds = flag("--rounds", 3);
    let broker = Broker::start().await;
    let payload = vec![b'x'; 610];
    for round in 1..=rounds {
        for transactional in [true, false] {
            let mut config = ClientConfig::new();
            config
                .set("bootstrap.servers", broker.bootstrap())
                .set("enable.idempotence", "true")
                .set("linger.ms", "5")
                .set("queue.buffering.max.messages", "1000000");
            if transactional {
                config.set("transactional.id", format!("bench-broker-{round}"));
            }
            let producer: FutureProducer = config.create().unwrap();
            if transactional {
                producer.init_transactions(Duration::from_secs(30)).unwrap();
            }
            let topic = format!("bench-broker-{round}-{}", if transactional { "txn" } else { "plain" });
            let started = Instant::now();
            let mut pending = Vec::with_capacity(BATCH);
            for batch in 0..rows.div_ceil(BATCH) {
                if transactional {
                    producer.begin_transaction().unwrap();
                }
                for i in batch * BATCH..((batch + 1) * BATCH).min(rows) {
                    let key = i.to_string();
                    pending.push(producer.send_result(FutureRecord::to(&topic).key(&key).payload(&payload)).unwrap());
                }
                for delivery in pending.drain(..) {
                    delivery.await.unwrap().unwrap();
                }
                if transactional {
                    // See KafkaSink::wait_destroyed.
                    while producer.in_flight_count() > 0 {
                        tokio::task::yield_now().await;
                    }
                    producer.commit_transaction(Duration::from_secs(30)).unwrap();
                }
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "round {round}: {:<13} {:>9.0} records/s  (broker held {} records before)",
                if transactional { "transactional" } else { "plain" },
                rows as f64 / secs,
                (2 * (round - 1) + usize::from(!transactional)) * rows
            );
        }
    }
}
