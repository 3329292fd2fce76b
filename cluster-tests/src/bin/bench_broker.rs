//! The broker's own speed as it fills: R rounds, each producing N records
//! of 610 B into a new topic of the same private noida-db, first with a
//! transactional producer (8,192-record transactions, every record
//! acknowledged before each commit, as raftcdc's sink does) and then with
//! a plain idempotent one (the same producer as the end-to-end
//! benchmark's limits, [`cluster_tests::sink_limits::PlainProducer`]).
//! This is why `raftcdc-bench-e2e` empties the broker before every figure
//! it compares: noida-db keeps everything in memory and slows down as it
//! fills, so two figures taken at different fill levels do not compare.
//!
//! `cargo run --release -p cluster-tests --bin raftcdc-bench-broker -- [--rows N] [--rounds R]`
use std::time::Instant;

use cluster_tests::bench::flag;
use cluster_tests::broker::Broker;
use cluster_tests::sink_limits::PlainProducer;

const BATCH: usize = 8192;

#[tokio::main]
async fn main() {
    let rows = flag("--rows", 1_000_000);
    let rounds = flag("--rounds", 3);
    let broker = Broker::start().await;
    for round in 1..=rounds {
        for transactional in [true, false] {
            let kind = if transactional { "transactional" } else { "plain" };
            let mut producer = PlainProducer::new(&broker, &format!("broker-{round}-{kind}"), 610, transactional.then_some(BATCH));
            let started = Instant::now();
            for i in 0..rows {
                producer.send(&i.to_string()).await;
            }
            producer.flush().await;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "round {round}: {kind:<13} {:>9.0} records/s  (broker held {} records before)",
                rows as f64 / secs,
                (2 * (round - 1) + usize::from(!transactional)) * rows
            );
        }
    }
}
