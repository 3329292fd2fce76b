//! The Kafka sink's configuration, from Kafka Connect's property names.
//!
//! [`KafkaSinkConfig::from_properties`] is the single place the sink's
//! connector properties are interpreted. A connector payload pasted from
//! Kafka Connect keeps working: `delivery.guarantee`,
//! `topic.creation.default.*` and `producer.override.*` mean what they mean
//! there. Every key the MySQL config passes through is in exactly one class:
//!
//! - **typed**: `delivery.guarantee`, `topic.creation.default.partitions`,
//!   `topic.creation.default.replication.factor`,
//!   `producer.override.transaction.timeout.ms` and the producer's queue
//!   bound (`producer.override.queue.buffering.max.kbytes`, or Kafka
//!   Connect's `producer.override.buffer.memory` in bytes, translated) are
//!   parsed into fields;
//! - **passed on**: other `topic.creation.default.<key>` become topic configs
//!   of the topics the sink creates; other `producer.override.<key>` become
//!   librdkafka producer properties (checked here by librdkafka itself, so a
//!   misspelt or out-of-range key fails now, naming the property);
//! - **owned by the sink**: producer properties exactly-once depends on
//!   ([`SINK_OWNED_PRODUCER_KEYS`], and their librdkafka aliases) are refused
//!   in `producer.override.*`, as Vector refuses a `librdkafka_options` key
//!   that a typed option sets. Letting an override turn off idempotence or
//!   change the partitioner would silently break the guarantees the rest of
//!   the sink argues for;
//! - **refused**: Kafka Connect topic creation groups
//!   (`topic.creation.groups`, `topic.creation.<group>.*`) and
//!   `topic.creation.enable=false`, which raftcdc does not implement;
//! - **not the sink's**: `kafka.*` keys are passed through by the source
//!   config for the layer that chooses the Kafka cluster (the bootstrap
//!   servers are an argument here); the sink does not read them.
//!
//! # The producer's queue bound
//! librdkafka keeps a copy of every record it has not yet had
//! acknowledged, up to `queue.buffering.max.kbytes` (librdkafka's default:
//! 1 GiB). The sink bounds it at [`DEFAULT_PRODUCER_QUEUE_KBYTES`] (16 MiB)
//! unless the connector sets it, as the Java producer Kafka Connect runs
//! bounds it with `buffer.memory` (32 MiB): when it is full, the sink waits
//! for the oldest acknowledgement before producing more, so a large
//! transaction costs time, not memory. A record is at most
//! `message.max.bytes` long (librdkafka refuses a longer one, and the sink
//! reports which setting to raise), so the default bound grows to hold one
//! record of that size, and an explicit bound smaller than it is refused:
//! such a record would never fit in the queue.
//!
//! Anything else is an unknown property and is refused, so a typo never
//! falls back to a default. Every error names the property, in the form the
//! rest of raftcdc uses: `config.producer.override.acks: ...`.
use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;

use crate::connector::Properties;

/// `delivery.guarantee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryGuarantee {
    /// Transactional producer: every batch and its progress record are
    /// committed atomically, and readers with `isolation.level=read_committed`
    /// see each record exactly once.
    #[default]
    ExactlyOnce,
    /// Idempotent producer, no transactions: after a failure the batch is
    /// delivered again, so records can appear more than once.
    AtLeastOnce,
}

impl DeliveryGuarantee {
    /// The property value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryGuarantee::ExactlyOnce => "exactly_once",
            DeliveryGuarantee::AtLeastOnce => "at_least_once",
        }
    }
}

/// A validated sink configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaSinkConfig {
    /// librdkafka `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// Stable per connector: `raftcdc-<cluster>-<connector>`. Every owner of
    /// the connector, on any node, uses the same id, so a new owner's
    /// `init_transactions` fences the previous one at the broker.
    pub transactional_id: String,
    /// `delivery.guarantee`: `exactly_once` (default) or `at_least_once`.
    pub delivery: DeliveryGuarantee,
    /// The connector's own compacted topic holding its progress records,
    /// `raftcdc-progress-<cluster>-<connector>` (see
    /// [`super::progress::progress_topic`]).
    pub offsets_topic: String,
    /// `topic.creation.default.partitions` for topics the sink creates
    /// (default 1; `-1` means the broker's `num.partitions`).
    pub topic_partitions: i32,
    /// `topic.creation.default.replication.factor` (default 1; `-1` means the
    /// broker's `default.replication.factor`, which is what Kafka Connect
    /// uses when the property is absent). raftcdc defaults to 1 so a
    /// single-broker development cluster works out of the box; set 3 (or -1)
    /// for production.
    pub topic_replication_factor: i32,
    /// Other `topic.creation.default.<key>` properties, as topic configs.
    pub topic_configs: BTreeMap<String, String>,
    /// `producer.override.<key>` properties with the prefix stripped.
    /// `Debug` masks secrets (`sasl.password`, `ssl.key.password`, ...).
    pub producer_overrides: Properties,
    /// librdkafka `transaction.timeout.ms`, from
    /// `producer.override.transaction.timeout.ms` (default 60 s). The broker
    /// aborts a transaction left open this long.
    pub transaction_timeout: Duration,
    /// librdkafka `queue.buffering.max.kbytes`: how much record data the
    /// producer holds unacknowledged. From
    /// `producer.override.queue.buffering.max.kbytes`, or
    /// `producer.override.buffer.memory` (bytes, rounded up to KiB); default
    /// [`DEFAULT_PRODUCER_QUEUE_KBYTES`], raised to hold one record of
    /// `message.max.bytes` (see the module docs).
    pub producer_queue_kbytes: u64,
}

/// A configuration problem, naming the property.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config.{property}: {reason}")]
pub struct SinkConfigError {
    pub property: String,
    pub reason: String,
}

fn error(property: &str, reason: impl Into<String>) -> SinkConfigError {
    SinkConfigError {
        property: property.to_string(),
        reason: reason.into(),
    }
}

pub const PRODUCER_OVERRIDE: &str = "producer.override.";
pub const TOPIC_CREATION: &str = "topic.creation.";
pub const TOPIC_CREATION_DEFAULT: &str = "topic.creation.default.";
pub const DELIVERY_GUARANTEE: &str = "delivery.guarantee";
/// Keys for the layer that picks the Kafka cluster; see the module docs.
pub const NOT_THE_SINKS: &str = "kafka.";

/// librdkafka's default, which Kafka Connect's exactly-once source tasks
/// also inherit from the Java producer.
pub const DEFAULT_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// The producer's queue bound when the connector sets none: 16 MiB, the
/// largest Kafka transaction the owner builds by default (half of
/// `max.queue.size.in.bytes`). See the module docs.
pub const DEFAULT_PRODUCER_QUEUE_KBYTES: u64 = 16 * 1024;
/// librdkafka's name for the producer's queue bound, in KiB.
pub const PRODUCER_QUEUE_KBYTES: &str = "queue.buffering.max.kbytes";
/// The Java producer's name for it, in bytes (Kafka Connect's
/// `producer.override.buffer.memory`).
pub const JAVA_BUFFER_MEMORY: &str = "buffer.memory";
/// librdkafka's largest accepted `queue.buffering.max.kbytes`.
const MAX_PRODUCER_QUEUE_KBYTES: u64 = i32::MAX as u64;
/// librdkafka's default `message.max.bytes`.
const DEFAULT_MESSAGE_MAX_BYTES: u64 = 1_000_000;

/// Producer properties the sink sets itself, each with its librdkafka
/// aliases, and why an override is refused.
pub const SINK_OWNED_PRODUCER_KEYS: &[(&[&str], &str)] = &[
    (
        &["bootstrap.servers", "metadata.broker.list"],
        "the bootstrap servers come from the node's Kafka settings",
    ),
    (
        &["transactional.id"],
        "it is raftcdc-<cluster>-<connector>, the same on every node, so a new owner fences the old one",
    ),
    (&["enable.idempotence"], "the sink always uses an idempotent producer"),
    (
        &["acks", "request.required.acks"],
        "the idempotent producer needs acks=all",
    ),
    (&["isolation.level"], "progress is always read with read_committed"),
    (
        &["partitioner"],
        "the sink uses murmur2_random, the Java client's default partitioning",
    ),
    (
        &["enable.gapless.guarantee"],
        "transactions already order and fence delivery",
    ),
    (
        &["allow.auto.create.topics"],
        "the sink creates topics itself with topic.creation.default.*",
    ),
];

/// `producer.override.*` names (prefix stripped) that say how to reach the
/// brokers, encryption and authentication, rather than how to produce.
const CONNECTION_KEYS: &[&str] = &["security.protocol", "ssl.", "sasl.", "enable.ssl.certificate.verification"];

/// librdkafka caps in-flight requests per connection at 5 with idempotence.
const MAX_IN_FLIGHT_KEYS: &[&str] = &["max.in.flight", "max.in.flight.requests.per.connection"];
/// Whether librdkafka accepts one client property (`name` without any
/// `producer.override.`/`signal.consumer.` prefix): it checks the name and
/// the value's type and range, and a single-property config makes its
/// error about this key alone. Its description names the property and,
/// for a bad value, the value; string properties (where secrets live)
/// accept any value, so no secret is echoed.
pub fn librdkafka_accepts(name: &str, value: &str) -> Result<(), String> {
    let mut probe = ClientConfig::new();
    probe.set(name, value);
    match probe.create_native_config() {
        Ok(_) => Ok(()),
        Err(rdkafka::error::KafkaError::ClientConfig(_, description, _, _)) => Err(format!("librdkafka refuses it: {description}")),
        Err(other) => Err(format!("librdkafka refuses it: {other}")),
    }
}

/// librdkafka refuses an idempotent producer with retries disabled.
const RETRIES_KEYS: &[&str] = &["retries", "message.send.max.retries"];
/// Per-message delivery timeouts, which a transactional producer must keep
/// at or below `transaction.timeout.ms`.
const MESSAGE_TIMEOUT_KEYS: &[&str] = &["message.timeout.ms", "delivery.timeout.ms"];

impl KafkaSinkConfig {
    /// `props` are the connector properties the MySQL config passes through
    /// (keys starting with `producer.override.`, `topic.creation.`,
    /// `delivery.guarantee`; `kafka.*` is ignored). Errors name the property
    /// (`config.producer.override.acks: ...`). It is an error if a
    /// `producer.override` sets a key the sink sets itself
    /// ([`SINK_OWNED_PRODUCER_KEYS`]).
    pub fn from_properties(
        cluster: &str,
        connector: &str,
        bootstrap_servers: &str,
        props: &BTreeMap<String, String>,
    ) -> Result<KafkaSinkConfig, SinkConfigError> {
        if bootstrap_servers.trim().is_empty() {
            return Err(error("bootstrap.servers", "no Kafka bootstrap servers are configured"));
        }
        Ok(KafkaSinkConfig {
            bootstrap_servers: bootstrap_servers.to_string(),
            transactional_id: format!("raftcdc-{cluster}-{connector}"),
            offsets_topic: super::progress::progress_topic(cluster, connector),
            ..Self::parse_properties(props)?
        })
    }

    /// Checks the sink's connector properties as [`Self::from_properties`]
    /// will when the task starts. Which properties are valid does not depend
    /// on the cluster, the connector or the bootstrap servers, so the
    /// connector front door ([`crate::connector`]) refuses them at create.
    pub fn check_properties(props: &BTreeMap<String, String>) -> Result<(), SinkConfigError> {
        Self::parse_properties(props).map(|_| ())
    }

    /// The property-derived fields; the identity fields are left empty for
    /// [`Self::from_properties`] to fill.
    fn parse_properties(props: &BTreeMap<String, String>) -> Result<KafkaSinkConfig, SinkConfigError> {
        let mut config = KafkaSinkConfig {
            bootstrap_servers: String::new(),
            transactional_id: String::new(),
            delivery: DeliveryGuarantee::ExactlyOnce,
            offsets_topic: String::new(),
            topic_partitions: 1,
            topic_replication_factor: 1,
            topic_configs: BTreeMap::new(),
            producer_overrides: Properties::default(),
            transaction_timeout: DEFAULT_TRANSACTION_TIMEOUT,
            producer_queue_kbytes: DEFAULT_PRODUCER_QUEUE_KBYTES,
        };
        for (key, value) in props {
            if key == DELIVERY_GUARANTEE {
                config.delivery = match value.as_str() {
                    "exactly_once" => DeliveryGuarantee::ExactlyOnce,
                    "at_least_once" => DeliveryGuarantee::AtLeastOnce,
                    other => {
                        return Err(error(
                            key,
                            format!("\"{other}\" is not one of exactly_once, at_least_once"),
                        ))
                    }
                };
            } else if let Some(name) = key.strip_prefix(PRODUCER_OVERRIDE) {
                config.producer_override(key, name, value)?;
            } else if let Some(name) = key.strip_prefix(TOPIC_CREATION_DEFAULT) {
                config.topic_creation_default(key, name, value)?;
            } else if key.starts_with(TOPIC_CREATION) {
                topic_creation_other(key, value)?;
            } else if key.starts_with(NOT_THE_SINKS) {
                continue;
            } else {
                return Err(error(key, "unknown property for the Kafka sink"));
            }
        }
        config.check_timeouts(props)?;
        config.producer_queue_kbytes = producer_queue_kbytes(props, &config.producer_overrides)?;
        config.check_together()?;
        Ok(config)
    }

    /// Whether librdkafka creates the producer the task will create from
    /// these settings. Each override was checked on its own above; this
    /// catches settings it refuses only together (`linger.ms` not below
    /// `message.timeout.ms`, say), which it checks when a client is
    /// created, not when a property is set. The probe has no brokers (it
    /// connects to nothing) and leaves out the connection settings
    /// (certificate files are read where the task runs). The error names
    /// the first override librdkafka's reason mentions.
    fn check_together(&self) -> Result<(), SinkConfigError> {
        let mut probe = self.clone();
        probe.transactional_id = "raftcdc-settings-check".into();
        probe.bootstrap_servers = String::new();
        let connection = self.connection_overrides();
        probe.producer_overrides.retain(|name, _| !connection.contains_key(name));
        let Err(refused) = super::producer_config(&probe).create::<rdkafka::producer::BaseProducer>() else {
            return Ok(());
        };
        let reason = match &refused {
            rdkafka::error::KafkaError::ClientCreation(reason) => reason.clone(),
            other => other.to_string(),
        };
        let named = self
            .producer_overrides
            .keys()
            .filter(|name| reason.contains(&format!("`{name}`")))
            .min_by_key(|name| reason.find(&format!("`{name}`")));
        let property = match named {
            Some(name) => format!("{PRODUCER_OVERRIDE}{name}"),
            None => "producer.override.*".to_string(),
        };
        Err(error(&property, format!("librdkafka refuses the producer's settings together: {reason}")))
    }

    /// The `producer.override.*` settings that say how to reach the brokers
    /// (`security.protocol`, `ssl.*`, `sasl.*`, prefix stripped). The sink's
    /// admin client and progress reader use them too, so a broker that
    /// requires TLS or SASL accepts every client the sink opens.
    pub fn connection_overrides(&self) -> Properties {
        self.producer_overrides
            .iter()
            .filter(|(name, _)| {
                CONNECTION_KEYS
                    .iter()
                    .any(|key| if key.ends_with('.') { name.starts_with(key) } else { name == key })
            })
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }

    fn producer_override(&mut self, key: &str, name: &str, value: &str) -> Result<(), SinkConfigError> {
        if name.is_empty() {
            return Err(error(key, "names no producer property"));
        }
        if let Some((_, why)) = SINK_OWNED_PRODUCER_KEYS.iter().find(|(names, _)| names.contains(&name)) {
            return Err(error(
                key,
                format!("raftcdc sets {name} itself and it cannot be overridden: {why}"),
            ));
        }
        if name == "sasl.jaas.config" {
            // Java's JAAS line; the value (which holds the password) is
            // never echoed.
            return Err(error(
                key,
                "is a Java client setting; librdkafka takes producer.override.sasl.mechanism, producer.override.sasl.username and producer.override.sasl.password",
            ));
        }
        if name == "transaction.timeout.ms" {
            let ms: u64 = value
                .parse()
                .ok()
                .filter(|ms| (1_000..=i32::MAX as u64).contains(ms))
                .ok_or_else(|| {
                    error(
                        key,
                        format!("\"{value}\" is not a number of milliseconds from 1000 to {}", i32::MAX),
                    )
                })?;
            self.transaction_timeout = Duration::from_millis(ms);
            return Ok(());
        }
        if name == PRODUCER_QUEUE_KBYTES || name == JAVA_BUFFER_MEMORY {
            // Typed: read with message.max.bytes once every key is seen.
            return Ok(());
        }
        if RETRIES_KEYS.contains(&name) && value.parse::<u32>().map_or(true, |n| n == 0) {
            return Err(error(
                key,
                format!("\"{value}\": the idempotent producer needs at least 1 retry"),
            ));
        }
        if MAX_IN_FLIGHT_KEYS.contains(&name) && value.parse::<u32>().map_or(true, |n| !(1..=5).contains(&n)) {
            return Err(error(
                key,
                format!("\"{value}\": the idempotent producer allows 1 to 5 in-flight requests"),
            ));
        }
        librdkafka_accepts(name, value).map_err(|reason| error(key, reason))?;
        self.producer_overrides.insert(name.to_string(), value.to_string());
        Ok(())
    }

    fn topic_creation_default(&mut self, key: &str, name: &str, value: &str) -> Result<(), SinkConfigError> {
        match name {
            "partitions" => {
                self.topic_partitions = parse_count(key, value, i32::MAX)?;
            }
            "replication.factor" => {
                self.topic_replication_factor = parse_count(key, value, i16::MAX as i32)?;
            }
            "include" | "exclude" => {
                return Err(error(key, "the default group applies to every topic; include/exclude lists belong to topic creation groups, which are not supported"));
            }
            "" => return Err(error(key, "names no topic config")),
            _ if value.is_empty() => return Err(error(key, "empty topic config value")),
            _ => {
                self.topic_configs.insert(name.to_string(), value.to_string());
            }
        }
        Ok(())
    }

    /// The per-message delivery timeout must not outlive the transaction.
    fn check_timeouts(&self, props: &BTreeMap<String, String>) -> Result<(), SinkConfigError> {
        if self.delivery != DeliveryGuarantee::ExactlyOnce {
            return Ok(());
        }
        for name in MESSAGE_TIMEOUT_KEYS {
            if let Some(value) = self.producer_overrides.get(*name) {
                let key = format!("{PRODUCER_OVERRIDE}{name}");
                let ms: u64 = value
                    .parse()
                    .map_err(|_| error(&key, format!("\"{value}\" is not a number")))?;
                if ms > self.transaction_timeout.as_millis() as u64 {
                    return Err(error(
                        &key,
                        format!(
                            "{ms} ms is longer than the transaction timeout ({} ms{}); a transactional producer needs it to be shorter or equal",
                            self.transaction_timeout.as_millis(),
                            if props.contains_key("producer.override.transaction.timeout.ms") { "" } else { ", the default" }
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The producer's queue bound in KiB (see the module docs): the
/// connector's `queue.buffering.max.kbytes`, or its `buffer.memory` in
/// bytes rounded up to KiB (not both), which must hold one record of
/// `message.max.bytes`; else the default, raised to hold one.
fn producer_queue_kbytes(props: &BTreeMap<String, String>, overrides: &Properties) -> Result<u64, SinkConfigError> {
    let native_key = format!("{PRODUCER_OVERRIDE}{PRODUCER_QUEUE_KBYTES}");
    let java_key = format!("{PRODUCER_OVERRIDE}{JAVA_BUFFER_MEMORY}");
    let message_max_bytes = overrides
        .get("message.max.bytes")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_MESSAGE_MAX_BYTES);
    let record_kbytes = message_max_bytes.div_ceil(1024);
    let (key, kbytes) = match (props.get(&native_key), props.get(&java_key)) {
        (None, None) => return Ok(DEFAULT_PRODUCER_QUEUE_KBYTES.max(record_kbytes)),
        (Some(_), Some(_)) => {
            return Err(error(
                &java_key,
                format!("is the Java producer's name for {native_key}; set one of them, not both"),
            ))
        }
        (Some(value), None) => {
            let kbytes = value.parse::<u64>().ok().filter(|k| (1..=MAX_PRODUCER_QUEUE_KBYTES).contains(k));
            let kbytes = kbytes.ok_or_else(|| {
                error(&native_key, format!("\"{value}\" is not a number of KiB from 1 to {MAX_PRODUCER_QUEUE_KBYTES}"))
            })?;
            (native_key, kbytes)
        }
        (None, Some(value)) => {
            let max_bytes = MAX_PRODUCER_QUEUE_KBYTES * 1024;
            let bytes = value.parse::<u64>().ok().filter(|b| (1..=max_bytes).contains(b));
            let bytes = bytes
                .ok_or_else(|| error(&java_key, format!("\"{value}\" is not a number of bytes from 1 to {max_bytes}")))?;
            (java_key, bytes.div_ceil(1024))
        }
    };
    if kbytes < record_kbytes {
        return Err(error(
            &key,
            format!(
                "{kbytes} KiB cannot hold one record of message.max.bytes ({message_max_bytes} bytes{}); raise it to at least {record_kbytes} KiB",
                if overrides.contains_key("message.max.bytes") { "" } else { ", librdkafka's default" }
            ),
        ));
    }
    Ok(kbytes)
}

/// `topic.creation.*` keys other than the default group.
fn topic_creation_other(key: &str, value: &str) -> Result<(), SinkConfigError> {
    match key {
        "topic.creation.enable" => match value {
            "true" => Ok(()),
            "false" => Err(error(key, "raftcdc always creates the topics it writes (with topic.creation.default.*); pre-create them to control their settings")),
            other => Err(error(key, format!("\"{other}\" is not true or false"))),
        },
        "topic.creation.groups" => Err(error(key, "topic creation groups are not supported; only topic.creation.default.* applies")),
        _ => Err(error(key, "topic creation groups are not supported; only topic.creation.default.* applies")),
    }
}

/// A partition count or replication factor: `1..=max`, or `-1` for the
/// broker's default.
fn parse_count(key: &str, value: &str, max: i32) -> Result<i32, SinkConfigError> {
    match value.trim().parse::<i32>() {
        Ok(n) if n == -1 || (1..=max).contains(&n) => Ok(n),
        _ => Err(error(
            key,
            format!("\"{value}\" is not a number from 1 to {max}, or -1 for the broker's default"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<KafkaSinkConfig, SinkConfigError> {
        KafkaSinkConfig::from_properties("prod", "inventory", "k1:9092,k2:9092", &props(pairs))
    }

    #[test]
    fn defaults() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.transactional_id, "raftcdc-prod-inventory");
        assert_eq!(c.offsets_topic, "raftcdc-progress-prod-inventory");
        assert_eq!(c.delivery, DeliveryGuarantee::ExactlyOnce);
        assert_eq!((c.topic_partitions, c.topic_replication_factor), (1, 1));
        assert_eq!(c.transaction_timeout, DEFAULT_TRANSACTION_TIMEOUT);
        assert_eq!(c.producer_queue_kbytes, DEFAULT_PRODUCER_QUEUE_KBYTES);
        assert!(c.producer_overrides.is_empty() && c.topic_configs.is_empty());
        let producer = super::super::producer_config(&c);
        assert_eq!(producer.get(PRODUCER_QUEUE_KBYTES), Some("16384"), "librdkafka's 1 GiB default is not left in place");
    }

    /// The producer's queue bound: the default, librdkafka's name, Kafka
    /// Connect's `buffer.memory` (bytes, rounded up to KiB), and a default
    /// raised to hold one record of `message.max.bytes`.
    #[test]
    fn producer_queue_bound() {
        let kbytes = |pairs: &[(&str, &str)]| parse(pairs).unwrap().producer_queue_kbytes;
        assert_eq!(kbytes(&[("producer.override.queue.buffering.max.kbytes", "4096")]), 4096);
        assert_eq!(kbytes(&[("producer.override.buffer.memory", "33554432")]), 32 * 1024);
        assert_eq!(kbytes(&[("producer.override.buffer.memory", "1000001")]), 977);
        assert_eq!(kbytes(&[("producer.override.message.max.bytes", "67108864")]), 64 * 1024);
        assert_eq!(kbytes(&[("producer.override.message.max.bytes", "100000")]), DEFAULT_PRODUCER_QUEUE_KBYTES);
        let c = parse(&[("producer.override.buffer.memory", "8388608")]).unwrap();
        assert!(!c.producer_overrides.contains_key("buffer.memory") && !c.producer_overrides.contains_key(PRODUCER_QUEUE_KBYTES));
        let producer: rdkafka::producer::BaseProducer = super::super::producer_config(&c).create().expect("librdkafka accepts it");
        drop(producer);
        assert_eq!(super::super::producer_config(&c).get(PRODUCER_QUEUE_KBYTES), Some("8192"));
    }

    #[test]
    fn kafka_connect_properties() {
        let c = parse(&[
            ("delivery.guarantee", "at_least_once"),
            ("topic.creation.enable", "true"),
            ("topic.creation.default.partitions", "6"),
            ("topic.creation.default.replication.factor", "-1"),
            ("topic.creation.default.cleanup.policy", "compact"),
            ("topic.creation.default.compression.type", "lz4"),
            ("producer.override.linger.ms", "20"),
            ("producer.override.compression.type", "lz4"),
            ("producer.override.transaction.timeout.ms", "120000"),
            ("kafka.bootstrap.servers", "ignored:9092"),
        ])
        .unwrap();
        assert_eq!(c.delivery, DeliveryGuarantee::AtLeastOnce);
        assert_eq!((c.topic_partitions, c.topic_replication_factor), (6, -1));
        assert_eq!(c.topic_configs["cleanup.policy"], "compact");
        assert_eq!(c.topic_configs["compression.type"], "lz4");
        assert_eq!(c.producer_overrides["linger.ms"], "20");
        assert!(!c.producer_overrides.contains_key("transaction.timeout.ms"));
        assert_eq!(c.transaction_timeout, Duration::from_secs(120));
    }

    #[test]
    fn errors_name_the_property() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("delivery.guarantee", "exactly-once")],
                "config.delivery.guarantee: \"exactly-once\" is not one of",
            ),
            (
                &[("producer.override.transactional.id", "mine")],
                "config.producer.override.transactional.id: raftcdc sets",
            ),
            (
                &[("producer.override.enable.idempotence", "false")],
                "config.producer.override.enable.idempotence: raftcdc sets",
            ),
            (
                &[("producer.override.acks", "1")],
                "config.producer.override.acks: raftcdc sets",
            ),
            (
                &[("producer.override.request.required.acks", "1")],
                "config.producer.override.request.required.acks: raftcdc sets",
            ),
            (
                &[("producer.override.metadata.broker.list", "x")],
                "config.producer.override.metadata.broker.list: raftcdc sets",
            ),
            (
                &[("producer.override.partitioner", "random")],
                "config.producer.override.partitioner: raftcdc sets",
            ),
            (
                &[("producer.override.linger.ms", "400000")],
                "config.producer.override.linger.ms: librdkafka refuses the producer's settings together: `message.timeout.ms` must be greater than `linger.ms`",
            ),
            (
                &[("producer.override.lnger.ms", "5")],
                "config.producer.override.lnger.ms: librdkafka refuses it",
            ),
            (
                &[("producer.override.linger.ms", "soon")],
                "config.producer.override.linger.ms: librdkafka refuses it",
            ),
            (
                &[("producer.override.max.in.flight", "6")],
                "config.producer.override.max.in.flight: ",
            ),
            (
                &[("producer.override.retries", "0")],
                "config.producer.override.retries: ",
            ),
            (
                &[("producer.override.transaction.timeout.ms", "10")],
                "config.producer.override.transaction.timeout.ms: ",
            ),
            (
                &[("producer.override.message.timeout.ms", "90000")],
                "config.producer.override.message.timeout.ms: 90000 ms is longer",
            ),
            (
                &[("producer.override.queue.buffering.max.kbytes", "0")],
                "config.producer.override.queue.buffering.max.kbytes: \"0\" is not a number of KiB",
            ),
            (
                &[("producer.override.queue.buffering.max.kbytes", "512")],
                "config.producer.override.queue.buffering.max.kbytes: 512 KiB cannot hold one record of message.max.bytes (1000000 bytes, librdkafka's default)",
            ),
            (
                &[("producer.override.buffer.memory", "lots")],
                "config.producer.override.buffer.memory: \"lots\" is not a number of bytes",
            ),
            (
                &[
                    ("producer.override.buffer.memory", "67108864"),
                    ("producer.override.message.max.bytes", "100000000"),
                ],
                "config.producer.override.buffer.memory: 65536 KiB cannot hold one record of message.max.bytes (100000000 bytes)",
            ),
            (
                &[
                    ("producer.override.buffer.memory", "33554432"),
                    ("producer.override.queue.buffering.max.kbytes", "32768"),
                ],
                "config.producer.override.buffer.memory: is the Java producer's name",
            ),
            (
                &[("topic.creation.default.partitions", "0")],
                "config.topic.creation.default.partitions: ",
            ),
            (
                &[("topic.creation.default.replication.factor", "40000")],
                "config.topic.creation.default.replication.factor: ",
            ),
            (&[("topic.creation.enable", "false")], "config.topic.creation.enable: "),
            (
                &[("topic.creation.groups", "compacted")],
                "config.topic.creation.groups: ",
            ),
            (
                &[("topic.creation.compacted.include", "a.*")],
                "config.topic.creation.compacted.include: ",
            ),
            (
                &[("producer.overide.acks", "1")],
                "config.producer.overide.acks: unknown property",
            ),
        ];
        for (pairs, expected) in cases {
            let e = parse(pairs).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{pairs:?}: {e}");
        }
    }

    /// librdkafka is built with TLS (the `ssl` feature, system OpenSSL),
    /// which also brings SASL PLAIN, SCRAM and OAUTHBEARER without
    /// cyrus-sasl: a SASL_SSL/SCRAM producer config is accepted when the
    /// producer is created (which validates the whole config; no broker is
    /// contacted), and the sink's other clients get the same connection
    /// settings. Secrets stay out of `Debug`.
    #[test]
    fn sasl_ssl_scram_creates_a_producer() {
        let features = ClientConfig::new().create_native_config().unwrap().get("builtin.features").unwrap();
        for feature in ["ssl", "sasl_plain", "sasl_scram", "sasl_oauthbearer"] {
            assert!(features.split(',').any(|f| f == feature), "librdkafka lacks {feature}: {features}");
        }
        let c = parse(&[
            ("producer.override.security.protocol", "SASL_SSL"),
            ("producer.override.sasl.mechanism", "SCRAM-SHA-512"),
            ("producer.override.sasl.username", "raftcdc"),
            ("producer.override.sasl.password", "Zq-sasl-secret"),
            ("producer.override.ssl.key.password", "Zq-key-secret"),
            ("producer.override.ssl.endpoint.identification.algorithm", "https"),
            ("producer.override.linger.ms", "5"),
        ])
        .unwrap();
        let connection = c.connection_overrides();
        assert_eq!(
            connection.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "sasl.mechanism",
                "sasl.password",
                "sasl.username",
                "security.protocol",
                "ssl.endpoint.identification.algorithm",
                "ssl.key.password"
            ]
        );
        let shown = format!("{c:?} {connection:?}");
        assert!(!shown.contains("Zq-sasl-secret") && !shown.contains("Zq-key-secret"), "{shown}");
        let producer: Result<rdkafka::producer::BaseProducer, _> = super::super::producer_config(&c).create();
        producer.expect("librdkafka accepts SASL_SSL with SCRAM-SHA-512");

        let e = parse(&[(
            "producer.override.sasl.jaas.config",
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"Zq-jaas-secret\";",
        )])
        .unwrap_err();
        assert!(e.to_string().starts_with("config.producer.override.sasl.jaas.config: is a Java client setting"));
        assert!(!format!("{e} {e:?}").contains("Zq-jaas-secret"));
    }

    #[test]
    fn message_timeout_is_free_without_transactions() {
        parse(&[
            ("delivery.guarantee", "at_least_once"),
            ("producer.override.message.timeout.ms", "90000"),
        ])
        .unwrap();
        parse(&[
            ("producer.override.transaction.timeout.ms", "120000"),
            ("producer.override.message.timeout.ms", "90000"),
        ])
        .unwrap();
    }
}

#[cfg(test)]
mod property_tests {
    //! The sink's properties from arbitrary input (NUL bytes, unknown librdkafka
    //! names, any value): never a panic, and a refusal names a property given.
    use super::*;
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(vec![
                "delivery.guarantee",
                "producer.override.linger.ms",
                "producer.override.retries",
                "producer.override.max.in.flight",
                "producer.override.transaction.timeout.ms",
                "producer.override.message.timeout.ms",
                "producer.override.sasl.password",
                "producer.override.acks",
                "producer.override.buffer.memory",
                "producer.override.queue.buffering.max.kbytes",
                "producer.override.message.max.bytes",
                "topic.creation.enable",
                "topic.creation.default.partitions",
                "topic.creation.default.replication.factor",
                "topic.creation.default.cleanup.policy",
                "kafka.bootstrap.servers",
            ])
            .prop_map(str::to_string),
            "(producer\\.override\\.|topic\\.creation\\.(default\\.)?)[a-z.\\x00]{0,16}",
            any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_properties_are_refused_by_name(
            props in proptest::collection::btree_map(key(), prop_oneof![any::<String>(), "-?[0-9]{1,12}"], 0..5),
        ) {
            if let Err(e) = KafkaSinkConfig::from_properties("prod", "c", "k:9092", &props) {
                prop_assert!(props.contains_key(&e.property), "{e}");
                let prefix = format!("config.{}: ", e.property);
                prop_assert!(e.to_string().starts_with(&prefix), "{e}");
            }
        }
    }
}
