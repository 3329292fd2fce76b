//! The Kafka signal channel's reader: partition 0 of `signal.kafka.topic`
//! (Debezium's channel reads one partition too), from a position the
//! caller takes from the replicated state.
//!
//! The reader never commits offsets to a consumer group: the position is
//! replicated with the action of each signal (see the module docs of
//! [`super`]), so whoever owns the connector next starts where the last
//! acted-on signal ends. Without a recorded position it starts at the
//! topic's beginning, as Debezium's consumer does with
//! `auto.offset.reset=earliest` and no committed group offset.
//!
//! librdkafka's calls block, so the reader runs on the blocking pool and
//! hands signals over a bounded channel; it ends when the receiver is
//! dropped (the owner's attempt ended).
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;
use tokio::sync::mpsc;

use super::{parse, ReceivedSignal, SignalAction, SignalConfig, SignalOrigin};

/// The partition Debezium's Kafka channel reads.
const PARTITION: i32 = 0;

/// Starts reading `config.kafka_topic` at `start` (`None`: its
/// beginning). Records whose key is not `topic.prefix` are for other
/// connectors and are skipped.
pub fn read_signals(
    config: SignalConfig,
    bootstrap_servers: String,
    connection: BTreeMap<String, String>,
    start: Option<i64>,
) -> mpsc::Receiver<ReceivedSignal> {
    let (tx, rx) = mpsc::channel(16);
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &bootstrap_servers)
            .set("group.id", &config.kafka_group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest");
        for (key, value) in connection.iter().chain(config.consumer.iter()) {
            client.set(key, value);
        }
        let consumer: BaseConsumer = match client.create() {
            Ok(consumer) => consumer,
            Err(error) => {
                tracing::warn!(%error, topic = %config.kafka_topic, "kafka signal channel: cannot create the consumer; no Kafka signals are read");
                return;
            }
        };
        let mut assignment = TopicPartitionList::new();
        let offset = start.map_or(Offset::Beginning, Offset::Offset);
        if let Err(error) = assignment
            .add_partition_offset(&config.kafka_topic, PARTITION, offset)
            .and_then(|()| consumer.assign(&assignment))
        {
            tracing::warn!(%error, topic = %config.kafka_topic, "kafka signal channel: cannot assign the topic; no Kafka signals are read");
            return;
        }
        tracing::info!(topic = %config.kafka_topic, start = ?start, "kafka signal channel: reading");
        let mut last_error = None::<Instant>;
        while !tx.is_closed() {
            // Poll until the topic has nothing more, then wait for the
            // next `signal.poll.interval.ms` (in slices, to notice a stop).
            loop {
                match consumer.poll(config.kafka_poll_timeout) {
                    None => break,
                    Some(Err(error)) => {
                        if last_error.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                            tracing::warn!(%error, topic = %config.kafka_topic, "kafka signal channel: read failed; retrying");
                            last_error = Some(Instant::now());
                        }
                        break;
                    }
                    Some(Ok(message)) => {
                        if message.key() != Some(config.topic_prefix.as_bytes()) {
                            continue;
                        }
                        let signal = ReceivedSignal {
                            origin: SignalOrigin::Kafka {
                                topic: message.topic().to_string(),
                                partition: message.partition(),
                                offset: message.offset(),
                            },
                            action: record_action(message.payload()),
                        };
                        if tx.blocking_send(signal).is_err() {
                            return;
                        }
                    }
                }
            }
            let until = Instant::now() + config.poll_interval;
            while Instant::now() < until && !tx.is_closed() {
                std::thread::sleep(Duration::from_millis(50).min(config.poll_interval));
            }
        }
    });
    rx
}

/// A signal record's value: `{"type": "...", "data": {...}}` (`data` may
/// also be a JSON string, as the source channel's column holds it).
pub fn record_action(value: Option<&[u8]>) -> Option<SignalAction> {
    let refused = |reason: String| Some(SignalAction::Refused { reason });
    let Some(value) = value else { return refused("the record has no value (a tombstone)".into()) };
    let record: Value = match serde_json::from_slice(value) {
        Ok(record) => record,
        Err(e) => return refused(format!("the record's value is not JSON: {e}")),
    };
    let Some(signal_type) = record.get("type").and_then(Value::as_str) else {
        return refused("the record's value has no \"type\" string".into());
    };
    let data = match record.get("data") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => Some(other.to_string()),
    };
    parse(signal_type, data.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_records_carry_type_and_data() {
        let value = br#"{"type":"execute-snapshot","data":{"data-collections":["db.t"],"type":"INCREMENTAL"}}"#;
        assert_eq!(
            record_action(Some(value)),
            Some(SignalAction::ExecuteSnapshot { data_collections: vec!["db.t".into()], conditions: vec![] })
        );
        let as_text = br#"{"type":"log","data":"{\"message\":\"hi\"}"}"#;
        assert_eq!(record_action(Some(as_text)), Some(SignalAction::Log { message: "hi".into() }));
        for (value, reason) in [(None, "tombstone"), (Some(&b"nope"[..]), "not JSON"), (Some(&b"{}"[..]), "no \"type\"")] {
            let Some(SignalAction::Refused { reason: got }) = record_action(value) else { panic!("{value:?}") };
            assert!(got.contains(reason), "{got}");
        }
    }
}
