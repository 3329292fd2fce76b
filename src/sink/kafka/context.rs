//! librdkafka's callbacks → `tracing` events, tagged with the
//! transactional.id.
//!
//! Every client the sink creates (producer, admin client, progress reader)
//! carries a [`SinkContext`], so librdkafka's own log lines and its global
//! error callbacks (a broker connection refused while a broker restarts,
//! the fatal "fenced" error) land in the node's log next to the connector
//! they belong to. The context only observes: errors that matter reach the
//! caller through return values and are classified in [`super::error`];
//! nothing here changes what the sink does.
use std::sync::Arc;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientConfig;

/// The client context of every sink client.
#[derive(Clone)]
pub struct SinkContext {
    transactional_id: Arc<str>,
}

impl SinkContext {
    pub fn new(transactional_id: &str) -> SinkContext {
        SinkContext {
            transactional_id: transactional_id.into(),
        }
    }

    /// librdkafka's log level for a client config: debug lines only when
    /// the `librdkafka` tracing target asks for them (they are many).
    pub fn set_log_level(config: &mut ClientConfig) {
        let level = if tracing::enabled!(target: "librdkafka", tracing::Level::DEBUG) {
            RDKafkaLogLevel::Debug
        } else {
            RDKafkaLogLevel::Warning
        };
        config.set_log_level(level);
    }
}

impl ClientContext for SinkContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        let id = &*self.transactional_id;
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", transactional_id = id, facility, "{message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", transactional_id = id, facility, "{message}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", transactional_id = id, facility, "{message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", transactional_id = id, facility, "{message}")
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if matches!(error, KafkaError::PartitionEOF(_))
            || error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF)
        {
            // The progress reader asks for end-of-partition events.
            return;
        }
        tracing::warn!(target: "librdkafka", transactional_id = &*self.transactional_id, %error, "{reason}");
    }
}

impl ConsumerContext for SinkContext {}
