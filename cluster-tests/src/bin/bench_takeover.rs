//! `raftcdc-bench-takeover`: how long a new owner takes to find where a
//! connector's committed output ends, when its progress topic holds
//! millions of records, against a baseline measured in the same run.
//!
//! Usage: `raftcdc-bench-takeover [--records N] [--runs R]` (defaults
//! 2,000,000 and 3). Starts a private broker, fills the connector's
//! progress topic with N plain progress records (as days of one-a-second
//! progress transactions would, before compaction), commits one more in a
//! transaction, then times R times each:
//!
//! - **takeover**: what a new owner does, `KafkaSink::open` (which calls
//!   `init_transactions`) then `read_progress`, the backward read from
//!   the end of the topic;
//! - **full scan** (the baseline): a `read_committed` read of the whole
//!   topic from the beginning, which is what finding the newest record
//!   cost when the reader scanned the topic.
//!
//! It checks that both find the committed record and prints medians and
//! the ratio. The broker keeps everything in memory: 2 M records of about
//! 150 bytes take it to roughly 1 GiB.
use std::collections::BTreeMap;
use std::time::Instant;

use cluster_tests::bench::flag;
use cluster_tests::broker::Broker;
use raftcdc::sink::kafka::{KafkaSink, KafkaSinkConfig, Progress};
use serde_json::json;

const CONNECTOR: &str = "bench";
const INCARNATION: &str = "bench-incarnation";

fn progress(epoch: u64, pos: u64) -> Progress {
    Progress {
        connector: CONNECTOR.into(),
        incarnation: Some(INCARNATION.into()),
        epoch,
        offset: json!({"file": "mysql-bin.000042", "pos": pos, "gtids": "0-1-12345678", "row": 0, "event": 2}),
        snapshot: None,
    }
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("usage: raftcdc-bench-takeover [--records N] [--runs R]");
        return;
    }
    let records = flag("--records", 2_000_000) as u64;
    let runs = flag("--runs", 3).max(1);
    let broker = Broker::start().await;
    let config = || {
        KafkaSinkConfig::from_properties("bench", CONNECTOR, broker.bootstrap(), &BTreeMap::new()).expect("sink config")
    };
    let mut sink = KafkaSink::open(config()).await.expect("open");
    let topic = sink.config().offsets_topic.clone();

    let began = Instant::now();
    broker
        .fill(&topic, 0, records, |pos| (CONNECTOR.as_bytes().to_vec(), progress(1, pos).to_json()))
        .await;
    let data_topic = "bench.data";
    let record = raftcdc::source::Record {
        topic: data_topic.into(),
        key: Some(b"k".to_vec()),
        value: Some(b"v".to_vec()),
        headers: Vec::new(),
        schemas: None,
        layout: None,
        change_event: false,
    };
    let last = progress(2, u32::MAX as u64);
    sink.deliver(&[record], &last).await.expect("deliver");
    drop(sink);
    println!("progress topic {topic}: {records} records written in {:.1} s", began.elapsed().as_secs_f64());

    let (mut takeover, mut scan) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let began = Instant::now();
        let sink = KafkaSink::open(config()).await.expect("open");
        let found = sink.read_progress(CONNECTOR, INCARNATION).await.expect("read progress");
        let took = began.elapsed().as_secs_f64();
        assert_eq!(found.as_ref(), Some(&last), "the takeover finds the committed record");
        drop(sink);

        let began = Instant::now();
        let all = broker.read_committed(&topic).await;
        let scanned = began.elapsed().as_secs_f64();
        let newest: Progress = serde_json::from_slice(all.last().and_then(|c| c.value.as_deref()).expect("records"))
            .expect("progress JSON");
        assert_eq!(newest, last, "the scan finds it too");
        println!("run {run}: takeover {took:.3} s, full scan {scanned:.3} s ({} records)", all.len());
        takeover.push(took);
        scan.push(scanned);
    }
    let (takeover, scan) = (median(&mut takeover), median(&mut scan));
    println!(
        "median over {runs} runs with {records} progress records: takeover {takeover:.3} s, full scan (baseline) {scan:.3} s, {:.0}x faster",
        scan / takeover
    );
}
