//! The Kafka cluster's id, as Kafka Connect's `GET /` reports it
//! (`kafka_cluster_id`).
//!
//! It is asked of the brokers with the connection settings (TLS, SASL) of
//! a connector's producer, so it works against any cluster the sink can
//! reach. The metadata call blocks, so it runs on the blocking pool,
//! bounded by the caller's timeout.
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::util::Timeout;
use rdkafka::ClientConfig;

use super::context::SinkContext;
use super::{KafkaSinkConfig, SinkError};

/// The cluster id the brokers of `config` report, or `None` if they report
/// none (or did not answer within `timeout`).
pub async fn fetch_cluster_id(config: &KafkaSinkConfig, timeout: Duration) -> Result<Option<String>, SinkError> {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &config.bootstrap_servers)
        .set("client.id", format!("{}-cluster-id", config.transactional_id))
        .set("allow.auto.create.topics", "false");
    for (key, value) in &config.connection_overrides() {
        client.set(key, value);
    }
    SinkContext::set_log_level(&mut client);
    let consumer: BaseConsumer<SinkContext> = client
        .create_with_context(SinkContext::new(&config.transactional_id))
        .map_err(|e| SinkError::kafka("create a metadata client", &config.transactional_id, e, None))?;
    // A lookup that died on the blocking pool answered nothing.
    Ok(tokio::task::spawn_blocking(move || consumer.client().fetch_cluster_id(Timeout::After(timeout)))
        .await
        .unwrap_or(None))
}
