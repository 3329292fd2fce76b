//! `raftcdc tail`: prints committed change events as they arrive, so no
//! Kafka tooling is needed to see what a connector delivers.
//!
//! It reads with `isolation.level=read_committed` — exactly what a
//! downstream consumer sees: records of aborted or still-open Kafka
//! transactions never show. It assigns every partition of the topic
//! itself (no consumer group, nothing committed), so it can be run any
//! number of times without disturbing anyone.
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::CliError;

/// What to tail.
#[derive(clap::Args, Debug, Clone)]
pub struct TailArgs {
    /// Kafka bootstrap servers.
    #[arg(long, env = "RAFTCDC_KAFKA_BOOTSTRAP", default_value = "127.0.0.1:29092")]
    pub bootstrap_servers: String,
    /// Topic to read, e.g. `dbserver1.inventory.customers`.
    #[arg(long)]
    pub topic: String,
    /// Start at the beginning of the topic instead of its end.
    #[arg(long)]
    pub from_beginning: bool,
    /// Stop after this many records.
    #[arg(long)]
    pub max: Option<usize>,
    /// Stop after this many seconds without a new record (default: never).
    #[arg(long)]
    pub idle_timeout: Option<u64>,
}

fn kafka_error(what: &str, error: rdkafka::error::KafkaError) -> CliError {
    CliError::Input {
        field: "--bootstrap-servers".into(),
        reason: format!("{what}: {error}"),
    }
}

/// Prints `key<TAB>value` per record (a tombstone's value prints as `null`).
pub async fn run(args: TailArgs) -> Result<(), CliError> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap_servers)
        .set("group.id", "raftcdc-tail")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("receive.message.max.bytes", "1000000000")
        .create()
        .map_err(|e| kafka_error("cannot create a consumer", e))?;
    // The topic appears with the first delivery: wait for it (within the
    // idle timeout, if one is set).
    let started = Instant::now();
    let partitions: Vec<i32> = loop {
        let metadata = consumer
            .fetch_metadata(Some(&args.topic), Duration::from_secs(10))
            .map_err(|e| kafka_error("cannot read metadata", e))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == args.topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if !partitions.is_empty() {
            break partitions;
        }
        if args.idle_timeout.is_some_and(|idle| started.elapsed() >= Duration::from_secs(idle)) {
            return Err(CliError::Input {
                field: "--topic".into(),
                reason: format!("topic {} does not exist", args.topic),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut assignment = TopicPartitionList::new();
    let start = if args.from_beginning { Offset::Beginning } else { Offset::End };
    for partition in partitions {
        assignment
            .add_partition_offset(&args.topic, partition, start)
            .map_err(|e| kafka_error("cannot assign", e))?;
    }
    consumer.assign(&assignment).map_err(|e| kafka_error("cannot assign", e))?;
    let mut printed = 0;
    let mut last = Instant::now();
    loop {
        if args.max.is_some_and(|max| printed >= max) {
            return Ok(());
        }
        let wait = match args.idle_timeout {
            Some(idle) => Duration::from_secs(idle).saturating_sub(last.elapsed()),
            None => Duration::from_secs(3600),
        };
        match tokio::time::timeout(wait, consumer.recv()).await {
            Err(_) if args.idle_timeout.is_some() => return Ok(()),
            Err(_) => continue,
            Ok(Err(e)) => return Err(kafka_error("cannot read", e)),
            Ok(Ok(message)) => {
                let text = |bytes: Option<&[u8]>| bytes.map_or("null".into(), |b| String::from_utf8_lossy(b).into_owned());
                println!("{}\t{}", text(message.key()), text(message.payload()));
                printed += 1;
                last = Instant::now();
            }
        }
    }
}
