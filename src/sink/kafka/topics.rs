//! Topics the sink writes: created on first use, then remembered.
//!
//! Kafka Connect creates a source connector's topics with
//! `topic.creation.default.*` before it first writes them; [`Topics`] does
//! the same, so a topic never comes into being by broker auto-creation with
//! the broker's defaults (every sink client sets
//! `allow.auto.create.topics=false`, and the user cannot override it).
//!
//! Correctness:
//! - A topic is looked up (metadata for that topic only) before it is
//!   created, so topics an operator pre-created with their own settings are
//!   used as they are, and a principal without CREATE permission works as
//!   long as the topics exist.
//! - Creating races with another creator (an older owner, an operator):
//!   `TOPIC_ALREADY_EXISTS` counts as success.
//! - The cache only ever holds topics that exist. It is per sink instance,
//!   so a reopened sink looks again; a topic deleted under a running sink
//!   makes produce fail with a transient error, and the reopened sink
//!   re-creates it.
//! - Lookups and creation happen before `begin_transaction`, so a slow
//!   admin call never holds a transaction open.
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientConfig;

use super::context::SinkContext;
use super::error::SinkError;
use super::KafkaSinkConfig;

/// How long one metadata lookup or topic creation may take.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A topic's creation settings.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub partitions: i32,
    pub replication_factor: i32,
    pub configs: BTreeMap<String, String>,
}

pub struct Topics {
    admin: Arc<AdminClient<SinkContext>>,
    transactional_id: String,
    data_topics: TopicSpec,
    known: HashSet<String>,
}

impl Topics {
    pub fn new(config: &KafkaSinkConfig, context: SinkContext) -> Result<Topics, SinkError> {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &config.bootstrap_servers)
            .set("client.id", format!("{}-admin", config.transactional_id))
            .set("allow.auto.create.topics", "false");
        // Encryption and authentication, as the producer's.
        for (key, value) in &config.connection_overrides() {
            client.set(key, value);
        }
        SinkContext::set_log_level(&mut client);
        let admin = client
            .create_with_context(context)
            .map_err(|e| SinkError::kafka("create the admin client", &config.transactional_id, e, None))?;
        Ok(Topics {
            admin: Arc::new(admin),
            transactional_id: config.transactional_id.clone(),
            data_topics: TopicSpec {
                partitions: config.topic_partitions,
                replication_factor: config.topic_replication_factor,
                configs: config.topic_configs.clone(),
            },
            known: HashSet::new(),
        })
    }

    /// Makes sure a topic the connector writes exists, creating it with
    /// `topic.creation.default.*` if not.
    pub async fn ensure(&mut self, topic: &str) -> Result<(), SinkError> {
        let spec = self.data_topics.clone();
        self.ensure_with(topic, &spec).await
    }

    /// Makes sure `topic` exists, creating it with `spec` if not.
    pub async fn ensure_with(&mut self, topic: &str, spec: &TopicSpec) -> Result<(), SinkError> {
        if self.known.contains(topic) {
            return Ok(());
        }
        if !self.exists(topic).await? {
            self.create(topic, spec).await?;
        }
        self.known.insert(topic.to_string());
        Ok(())
    }

    async fn exists(&self, topic: &str) -> Result<bool, SinkError> {
        let admin = self.admin.clone();
        let name = topic.to_string();
        let operation = format!("look up topic {topic}");
        let metadata = tokio::task::spawn_blocking(move || admin.inner().fetch_metadata(Some(&name), ADMIN_TIMEOUT))
            .await
            .map_err(|source| SinkError::Blocking {
                operation: operation.clone(),
                source,
            })?
            .map_err(|e| SinkError::kafka(&operation, &self.transactional_id, e, None))?;
        let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Ok(false);
        };
        match found.error() {
            None => Ok(!found.partitions().is_empty()),
            Some(code) => match RDKafkaErrorCode::from(code) {
                RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => Ok(false),
                // Exists, but a partition has no leader right now: let the
                // producer wait for it rather than trying to create it.
                RDKafkaErrorCode::LeaderNotAvailable => Ok(true),
                other => Err(SinkError::kafka(
                    operation,
                    &self.transactional_id,
                    KafkaError::MetadataFetch(other),
                    None,
                )),
            },
        }
    }

    async fn create(&self, topic: &str, spec: &TopicSpec) -> Result<(), SinkError> {
        let operation = format!("create topic {topic}");
        let mut new_topic = NewTopic::new(topic, spec.partitions, TopicReplication::Fixed(spec.replication_factor));
        for (key, value) in &spec.configs {
            new_topic = new_topic.set(key, value);
        }
        let options = AdminOptions::new()
            .operation_timeout(Some(ADMIN_TIMEOUT))
            .request_timeout(Some(ADMIN_TIMEOUT));
        let results = self
            .admin
            .create_topics([&new_topic], &options)
            .await
            .map_err(|e| SinkError::kafka(&operation, &self.transactional_id, e, None))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, code)) => {
                    return Err(SinkError::kafka(
                        operation,
                        &self.transactional_id,
                        KafkaError::AdminOp(code),
                        None,
                    ))
                }
            }
        }
        tracing::info!(
            transactional_id = %self.transactional_id,
            topic,
            partitions = spec.partitions,
            replication_factor = spec.replication_factor,
            "created topic"
        );
        Ok(())
    }
}
