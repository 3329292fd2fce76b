//! Progress records: where a connector's delivered output ends.
//!
//! Every batch is committed in one Kafka transaction together with one
//! progress record `{"connector","epoch","offset"}`, keyed by the connector
//! name, in the offsets topic (compacted, so only the newest record per
//! connector is kept for good). The progress record is therefore exactly as
//! durable and as visible as the batch it describes: a `read_committed`
//! reader sees both or neither. That is what makes the resume point exact:
//!
//! - after a crash, a failover or a transient error, the new owner first
//!   calls `init_transactions` (in `KafkaSink::open`), which aborts — or,
//!   for a commit already under way, completes — whatever the previous
//!   producer with the same transactional.id left open;
//! - only then does it read the newest progress record with
//!   [`read_latest`], so the record it finds is final: no transaction that
//!   could still change it is pending;
//! - it resumes the source from that record's `offset`, which (by the
//!   source contract in [`crate::source`]) produces exactly the records that
//!   follow the last committed batch.
//!
//! Reading: a consumer with `isolation.level=read_committed` and no group
//! assigns every partition of the offsets topic from the beginning and
//! reads until librdkafka reports the end of each partition. For a
//! read_committed consumer the end is the last stable offset, so a
//! transaction someone else still has open cannot make the read wait.
//! Records of aborted transactions are never returned. The newest record
//! for the key wins within its partition; a null value (a tombstone an
//! operator wrote) means "no progress". The offsets topic is created with
//! one partition; should it have more (created by someone else, or grown),
//! every partition is read and the record with the highest epoch wins,
//! since epochs only rise and a key moves partitions only when the
//! partition count changes.
//!
//! The read is linear in the topic's size until compaction runs, which is
//! fine for a topic holding one small record per committed batch and read
//! once per open. The consumer raises `receive.message.max.bytes` because
//! some brokers (noida-db, the test broker) ignore fetch size limits.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use super::context::SinkContext;
use super::error::SinkError;

/// The progress record: the source offset after the last delivered batch,
/// and the ownership epoch that delivered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub connector: String,
    pub epoch: u64,
    pub offset: serde_json::Value,
}

impl Progress {
    /// The record value: `{"connector","epoch","offset"}` JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // A struct of a string, an integer and a JSON value always
        // serializes.
        serde_json::to_vec(self).expect("progress serializes to JSON")
    }
}

/// How long one read of the offsets topic may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The newest committed progress record for `connector` in `topic`.
/// Blocking: call from the blocking thread pool.
pub fn read_latest(
    bootstrap_servers: &str,
    connection: &crate::connector::Properties,
    transactional_id: &str,
    topic: &str,
    connector: &str,
    timeout: Duration,
) -> Result<Option<Progress>, SinkError> {
    let deadline = Instant::now() + timeout;
    let operation = format!("read progress of {connector} from {topic}");
    let kafka = |e: KafkaError| SinkError::kafka(&operation, transactional_id, e, None);

    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        .set("client.id", format!("{transactional_id}-progress"))
        // librdkafka's assign() needs a group.id; the reader never joins
        // the group or commits (it always starts from the beginning).
        .set("group.id", format!("{transactional_id}-progress"))
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("allow.auto.create.topics", "false")
        .set("auto.offset.reset", "earliest")
        .set("receive.message.max.bytes", "1000000000");
    // Encryption and authentication, as the producer's.
    for (key, value) in connection {
        config.set(key, value);
    }
    SinkContext::set_log_level(&mut config);
    let consumer: BaseConsumer<SinkContext> = config
        .create_with_context(SinkContext::new(transactional_id))
        .map_err(&kafka)?;

    let metadata = consumer.fetch_metadata(Some(topic), left(deadline)).map_err(&kafka)?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Ok(None);
    };
    if let Some(code) = found.error() {
        return match RDKafkaErrorCode::from(code) {
            RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => Ok(None),
            other => Err(kafka(KafkaError::MetadataFetch(other))),
        };
    }
    let mut assignment = TopicPartitionList::new();
    for partition in found.partitions() {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition.id(), left(deadline))
            .map_err(&kafka)?;
        if high > low {
            assignment
                .add_partition_offset(topic, partition.id(), Offset::Beginning)
                .map_err(&kafka)?;
        }
    }
    let mut unfinished: Vec<i32> = assignment.elements().iter().map(|e| e.partition()).collect();
    if unfinished.is_empty() {
        return Ok(None);
    }
    consumer.assign(&assignment).map_err(&kafka)?;

    // Newest progress per partition (None after a tombstone).
    let mut newest: BTreeMap<i32, Option<Progress>> = BTreeMap::new();
    while !unfinished.is_empty() {
        if Instant::now() >= deadline {
            return Err(kafka(KafkaError::MessageConsumption(
                RDKafkaErrorCode::OperationTimedOut,
            )));
        }
        match consumer.poll(left(deadline).min(Duration::from_millis(200))) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(partition))) => unfinished.retain(|p| *p != partition),
            Some(Err(e)) => return Err(kafka(e)),
            Some(Ok(message)) => {
                if message.key() != Some(connector.as_bytes()) {
                    continue;
                }
                let progress = match message.payload() {
                    None => None,
                    Some(value) => Some(serde_json::from_slice::<Progress>(value).map_err(|source| {
                        SinkError::InvalidProgress {
                            connector: connector.to_string(),
                            topic: topic.to_string(),
                            partition: message.partition(),
                            offset: message.offset(),
                            source,
                        }
                    })?),
                };
                newest.insert(message.partition(), progress);
            }
        }
    }
    Ok(newest.into_values().flatten().max_by_key(|p| p.epoch))
}

fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}
