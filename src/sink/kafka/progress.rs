//! Progress records: where a connector's delivered output ends.
//!
//! Every batch is committed in one Kafka transaction together with one
//! progress record `{"connector","incarnation","epoch","offset"}` (and
//! `"snapshot"`, see [`Progress::snapshot`]), keyed by the connector name, in **the connector's own progress topic**
//! (compacted, one partition, written only by this connector's
//! transactional producer; see [`progress_topic`]). The progress record is
//! therefore exactly as durable and as visible as the batch it describes:
//! a `read_committed` reader sees both or neither. That is what makes the
//! resume point exact:
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
//! # Why one topic per connector
//! A `read_committed` reader stops at the partition's last stable offset:
//! the first record of the oldest transaction still open in it. When all
//! connectors shared one partition, a transaction another connector left
//! open (its owner died and its successor had not yet called
//! `init_transactions`, or it was paused or deleted) hid every later
//! progress record of *this* connector, and the takeover resumed from an
//! older one: duplicates. In a topic that only this connector's
//! transactional.id writes, the only transactions that can be open are this
//! connector's own, and `init_transactions` has just closed them, so the
//! last stable offset is the end of the log. A connector's takeover never
//! depends on another connector.
//!
//! # Incarnations
//! A connector deleted and created again under the same name is a new
//! *incarnation* (an id the replicated state gives every created
//! connector). Its progress topic may still hold the old incarnation's
//! records; they describe another connector's output, so the reader
//! ignores every record whose `incarnation` differs: a re-created
//! connector starts as new (initial snapshot), and a cluster rebuilt with
//! the same `cluster_name` does not resume from the old cluster's records.
//!
//! # A bounded read
//! Progress records are written to partition 0 (explicitly, whatever the
//! key hashes to), so only partition 0 is read and ties between partitions
//! cannot arise. The reader does not scan the topic from the beginning:
//! compaction only ever runs on closed segments, so a busy connector's
//! topic can hold millions of records. It starts [`FIRST_WINDOW`] offsets
//! before the end and reads to the end; if no record of this incarnation
//! was among them (the tail can hold transaction markers, aborted records
//! or another incarnation's records), it starts twice as far back and
//! reads to the end again, down to the start of the log. The newest
//! matching record of the first read that has one is the answer: that read
//! went to the end. A takeover on Kafka therefore reads a few dozen
//! records however long the connector has run.
//!
//! Every read goes to the end, rather than stopping where the previous one
//! started, because of a broker quirk measured here: noida-db (the test
//! broker) answers a `read_committed` fetch that starts after an aborted
//! transaction with nothing at all, while a fetch from before it returns
//! every committed record to the end. Stopping at the previous start would
//! then find an older record and resume too early. Reading to the end
//! costs at most twice the records and is right on both; on such a broker
//! the read goes back to before the first aborted transaction.
//!
//! The consumer raises `receive.message.max.bytes` because some brokers
//! (noida-db, the test broker) ignore fetch size limits.
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use super::context::SinkContext;
use super::error::SinkError;

/// The progress record: the source offset after the last delivered batch,
/// the ownership epoch that delivered it, and the connector incarnation it
/// belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub connector: String,
    /// The connector incarnation (see the module docs); records without
    /// one were written by an earlier release and match no incarnation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incarnation: Option<String>,
    pub epoch: u64,
    pub offset: serde_json::Value,
    /// Snapshot progress delivered up to this record that Raft had not
    /// confirmed when it was written (this delivery's own, or an earlier
    /// one's whose Raft commit was still under way or failed). Snapshot
    /// progress lives only in Raft, committed after Kafka: without it here
    /// an owner dying between the two would leave a completed snapshot
    /// shown as unfinished forever, since its successor resumes from this
    /// record and streams. The successor commits it to Raft first.
    /// Records of earlier releases have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<crate::source::SnapshotProgress>,
}

impl Progress {
    /// The record value: `{"connector","incarnation","epoch","offset"}`
    /// JSON, with `"snapshot"` when there is one.
    pub fn to_json(&self) -> Vec<u8> {
        // A struct of strings, integers, booleans and JSON values always
        // serializes.
        serde_json::to_vec(self).expect("progress serializes to JSON")
    }
}

/// The partition progress records are written to and read from.
pub const PARTITION: i32 = 0;

/// How many offsets before the end the first window reads.
pub const FIRST_WINDOW: i64 = 64;

/// Kafka's limit on topic names.
const MAX_TOPIC_NAME: usize = 249;

/// The connector's own progress topic: `raftcdc-progress-<cluster>-<connector>`.
/// Names longer than Kafka allows keep their first characters and end in a
/// hash of the whole name, so they stay unique and stable.
pub fn progress_topic(cluster: &str, connector: &str) -> String {
    let name = format!("raftcdc-progress-{cluster}-{connector}");
    if name.len() <= MAX_TOPIC_NAME {
        return name;
    }
    // FNV-1a: stable across releases and platforms, unlike std's hasher.
    let hash = name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3));
    // Names are ASCII (validated), so any byte index is a char boundary.
    format!("{}-{hash:016x}", &name[..MAX_TOPIC_NAME - 17])
}

/// How long one read of the progress topic may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// What one read found, and how much it had to read for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressRead {
    pub progress: Option<Progress>,
    /// Records consumed (of any connector or incarnation), for the bound.
    pub records_read: u64,
}

/// The newest committed progress record of `incarnation` of `connector`
/// in `topic`, read backwards from the end (see the module docs).
/// Blocking: call from the blocking thread pool.
pub fn read_latest(
    bootstrap_servers: &str,
    connection: &crate::connector::Properties,
    transactional_id: &str,
    topic: &str,
    connector: &str,
    incarnation: &str,
    timeout: Duration,
) -> Result<ProgressRead, SinkError> {
    let deadline = Instant::now() + timeout;
    let operation = format!("read progress of {connector} from {topic}");
    let kafka = |e: KafkaError| SinkError::kafka(&operation, transactional_id, e, None);

    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        .set("client.id", format!("{transactional_id}-progress"))
        // librdkafka's assign() needs a group.id; the reader never joins
        // the group or commits.
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
    // One consumer per read: librdkafka does not reliably fetch again
    // after a partition that reached its end is assigned anew.
    let new_consumer = || -> Result<BaseConsumer<SinkContext>, SinkError> {
        config.create_with_context(SinkContext::new(transactional_id)).map_err(&kafka)
    };
    let consumer = new_consumer()?;

    let metadata = consumer.fetch_metadata(Some(topic), left(deadline)).map_err(&kafka)?;
    let nothing = ProgressRead { progress: None, records_read: 0 };
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Ok(nothing);
    };
    if let Some(code) = found.error() {
        return match RDKafkaErrorCode::from(code) {
            RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => Ok(nothing),
            other => Err(kafka(KafkaError::MetadataFetch(other))),
        };
    }
    if !found.partitions().iter().any(|p| p.id() == PARTITION) {
        return Ok(nothing);
    }
    let (low, high) = consumer
        .fetch_watermarks(topic, PARTITION, left(deadline))
        .map_err(&kafka)?;

    let mut records_read = 0u64;
    let mut window = FIRST_WINDOW;
    let mut start = high;
    while start > low {
        start = high.saturating_sub(window).max(low);
        let mut newest = None;
        let consumer = new_consumer()?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(topic, PARTITION, Offset::Offset(start))
            .map_err(&kafka)?;
        consumer.assign(&assignment).map_err(&kafka)?;
        loop {
            if Instant::now() >= deadline {
                return Err(kafka(KafkaError::MessageConsumption(RDKafkaErrorCode::OperationTimedOut)));
            }
            match consumer.poll(left(deadline).min(Duration::from_millis(200))) {
                None => {}
                Some(Err(KafkaError::PartitionEOF(_))) => break,
                Some(Err(e)) => return Err(kafka(e)),
                Some(Ok(message)) => {
                    records_read += 1;
                    if message.key() != Some(connector.as_bytes()) {
                        continue;
                    }
                    match message.payload() {
                        // A tombstone an operator wrote: no progress.
                        None => newest = Some(None),
                        Some(value) => {
                            let progress = serde_json::from_slice::<Progress>(value).map_err(|source| {
                                SinkError::InvalidProgress {
                                    connector: connector.to_string(),
                                    topic: topic.to_string(),
                                    partition: message.partition(),
                                    offset: message.offset(),
                                    source,
                                }
                            })?;
                            if progress.incarnation.as_deref() == Some(incarnation) {
                                newest = Some(Some(progress));
                            }
                        }
                    }
                }
            }
        }
        if let Some(progress) = newest {
            return Ok(ProgressRead { progress, records_read });
        }
        window = window.saturating_mul(2);
    }
    Ok(ProgressRead { progress: None, records_read })
}

fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_topics_are_per_connector_and_fit_kafkas_limit() {
        assert_eq!(progress_topic("prod", "inventory"), "raftcdc-progress-prod-inventory");
        assert_ne!(progress_topic("prod", "a"), progress_topic("prod", "b"));
        let long = "c".repeat(200);
        let topic = progress_topic(&"x".repeat(100), &long);
        assert_eq!(topic.len(), MAX_TOPIC_NAME);
        assert_eq!(topic, progress_topic(&"x".repeat(100), &long), "stable");
        assert_ne!(topic, progress_topic(&"x".repeat(100), &"c".repeat(199)));
    }

    #[test]
    fn records_of_earlier_releases_have_no_incarnation() {
        let old: Progress = serde_json::from_str(r#"{"connector":"c","epoch":3,"offset":{"pos":4}}"#).unwrap();
        assert_eq!(old.incarnation, None);
    }
}
