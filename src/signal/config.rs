//! The `signal.*` properties, read and checked once at connector create
//! (`ConnectorConfig::parse` calls [`SignalConfig::from_properties`]), with
//! every error naming its property. `signal.data.collection` is the
//! source's (`source::mysql::config`: the reader needs it); this reads the
//! rest: which channels are on and how the Kafka channel reads its topic.
use std::collections::BTreeMap;
use std::time::Duration;


/// Which channels a connector reads (`signal.enabled.channels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignalChannels {
    pub source: bool,
    pub kafka: bool,
}

/// The connector's signal channels.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalConfig {
    pub channels: SignalChannels,
    /// `signal.kafka.topic` (default `<topic.prefix>-signal`).
    pub kafka_topic: String,
    /// `signal.kafka.bootstrap.servers`; `None`: the node's
    /// `[kafka] bootstrap_servers`.
    pub kafka_bootstrap_servers: Option<String>,
    /// `signal.kafka.groupId`: the consumer's `group.id` (no offsets are
    /// committed to the group; the position lives in Raft).
    pub kafka_group_id: String,
    /// `signal.kafka.poll.timeout.ms`: how long one poll waits for records.
    pub kafka_poll_timeout: Duration,
    /// `signal.poll.interval.ms`: how often the Kafka channel polls.
    pub poll_interval: Duration,
    /// `signal.consumer.*`, without the prefix: librdkafka consumer
    /// properties (security settings, say).
    pub consumer: BTreeMap<String, String>,
    /// `topic.prefix`: the Kafka channel acts on records with this key.
    pub topic_prefix: String,
}

/// A `signal.*` property the connector cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{property}: {reason}")]
pub struct SignalConfigError {
    pub property: String,
    pub reason: String,
}

fn error(property: &str, reason: impl Into<String>) -> SignalConfigError {
    SignalConfigError { property: property.to_string(), reason: reason.into() }
}

/// Consumer properties raftcdc sets itself.
const OWN_CONSUMER_KEYS: &[(&str, &str)] = &[
    ("bootstrap.servers", "use signal.kafka.bootstrap.servers"),
    ("group.id", "use signal.kafka.groupId"),
    ("enable.auto.commit", "the channel's position is kept in the replicated state; no offsets are committed"),
    ("enable.auto.offset.store", "the channel's position is kept in the replicated state; no offsets are stored"),
    ("auto.offset.reset", "a connector without a recorded position reads the signal topic from its start"),
];

impl SignalConfig {
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<SignalConfig, SignalConfigError> {
        let get = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut channels = SignalChannels::default();
        for channel in get("signal.enabled.channels").unwrap_or("source").split(',').map(str::trim).filter(|c| !c.is_empty()) {
            match channel {
                "source" => channels.source = true,
                "kafka" => channels.kafka = true,
                "jmx" | "file" | "in-process" => {
                    return Err(error(
                        "signal.enabled.channels",
                        format!("the {channel} channel is not supported by raftcdc; use source and/or kafka"),
                    ))
                }
                other => return Err(error("signal.enabled.channels", format!("unknown channel \"{other}\"; use source and/or kafka"))),
            }
        }
        let millis = |key: &str, default: u64, min: u64| -> Result<Duration, SignalConfigError> {
            match get(key) {
                None => Ok(Duration::from_millis(default)),
                Some(text) => match text.parse::<u64>() {
                    Ok(ms) if (min..=3_600_000).contains(&ms) => Ok(Duration::from_millis(ms)),
                    _ => Err(error(key, format!("\"{text}\" must be a number of milliseconds from {min} to 3600000"))),
                },
            }
        };
        let topic_prefix = get("topic.prefix").unwrap_or_default().to_string();
        let kafka_topic = match get("signal.kafka.topic") {
            Some(topic) => {
                if topic.len() > 249 || !topic.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
                    return Err(error(
                        "signal.kafka.topic",
                        format!("\"{topic}\" is not a Kafka topic name (ASCII letters, digits, '.', '_' and '-', at most 249)"),
                    ));
                }
                topic.to_string()
            }
            None => format!("{topic_prefix}-signal"),
        };
        let mut consumer = BTreeMap::new();
        for (key, value) in props.range("signal.consumer.".to_string()..).take_while(|(k, _)| k.starts_with("signal.consumer.")) {
            let name = &key["signal.consumer.".len()..];
            if name.is_empty() {
                return Err(error(key, "names no consumer property"));
            }
            if let Some((_, why)) = OWN_CONSUMER_KEYS.iter().find(|(k, _)| *k == name) {
                return Err(error(key, format!("raftcdc sets it: {why}")));
            }
            crate::sink::kafka::config::librdkafka_accepts(name, value).map_err(|reason| error(key, reason))?;
            consumer.insert(name.to_string(), value.clone());
        }
        Ok(SignalConfig {
            channels,
            kafka_topic,
            kafka_bootstrap_servers: get("signal.kafka.bootstrap.servers").map(str::to_string),
            kafka_group_id: get("signal.kafka.groupId").unwrap_or("kafka-signal").to_string(),
            kafka_poll_timeout: millis("signal.kafka.poll.timeout.ms", 100, 1)?,
            poll_interval: millis("signal.poll.interval.ms", 5000, 1)?,
            consumer,
            topic_prefix,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut map: BTreeMap<String, String> = [("topic.prefix", "shop")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        map.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        map
    }

    #[test]
    fn defaults_follow_debezium() {
        let c = SignalConfig::from_properties(&props(&[])).unwrap();
        assert_eq!(c.channels, SignalChannels { source: true, kafka: false });
        assert_eq!(c.kafka_topic, "shop-signal");
        assert_eq!(c.kafka_group_id, "kafka-signal");
        assert_eq!((c.kafka_poll_timeout, c.poll_interval), (Duration::from_millis(100), Duration::from_secs(5)));
        let c = SignalConfig::from_properties(&props(&[
            ("signal.enabled.channels", "source, kafka"),
            ("signal.kafka.topic", "sig"),
            ("signal.consumer.security.protocol", "PLAINTEXT"),
        ]))
        .unwrap();
        assert_eq!(c.channels, SignalChannels { source: true, kafka: true });
        assert_eq!(c.consumer["security.protocol"], "PLAINTEXT");
    }

    #[test]
    fn bad_values_name_their_property() {
        for (key, value, reason) in [
            ("signal.enabled.channels", "jmx", "not supported"),
            ("signal.enabled.channels", "carrier-pigeon", "unknown channel"),
            ("signal.kafka.topic", "a topic", "not a Kafka topic name"),
            ("signal.kafka.poll.timeout.ms", "0", "milliseconds"),
            ("signal.poll.interval.ms", "soon", "milliseconds"),
            ("signal.consumer.group.id", "g", "raftcdc sets it"),
            ("signal.consumer.no.such.thing", "1", "librdkafka refuses it"),
            ("signal.consumer.", "1", "names no consumer property"),
        ] {
            let e = SignalConfig::from_properties(&props(&[(key, value)])).unwrap_err();
            assert_eq!(e.property, key, "{e}");
            assert!(e.reason.contains(reason), "{e}");
        }
    }
}
