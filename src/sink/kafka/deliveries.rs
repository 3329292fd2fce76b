//! The producer's delivery reports, kept as one record of failure instead
//! of one future per record.
//!
//! librdkafka reports every record's fate once, on the producer's poll
//! thread. The sink needs only two things from those reports: whether any
//! record of the current transaction failed (and why), and a wake-up when
//! a report frees room in a full queue. So the producer's context keeps
//! the first failure and a [`Notify`]; a record carries no opaque, and
//! producing one allocates nothing beyond librdkafka's own copy.
//!
//! # Why this is enough for exactly-once
//! The sink reads a transaction's outcome only after `rd_kafka_flush` has
//! returned. (A failure seen earlier, while waiting for queue room, only
//! makes it stop producing and flush at once.) librdkafka counts a record
//! until just after its report has been served (the report's event is
//! destroyed after [`ProducerContext::delivery`] returns), and the flush
//! waits for that count to reach zero. So once it returns, every report of
//! the transaction has been recorded here, and a transaction is committed
//! only if none of them failed. A failure spends
//! the sink ([`super`]), and an abort forgets the failures it caused once
//! their reports are in, so a failure never has to be told apart by
//! transaction.
//!
//! When several records fail, a purge (what librdkafka reports for every
//! record left when the transaction is aborted or fails) says least about
//! why, so a failure that is not a purge replaces a purge: the operator is
//! told the record that made the transaction fail (timed out, too large).
//! Which one is kept never changes the classification; fencing is read
//! from the producer's fatal error either way ([`super::error`]).
use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use tokio::sync::Notify;

use super::context::SinkContext;

/// A record librdkafka could not deliver.
#[derive(Debug, Clone)]
pub struct Failure {
    pub error: KafkaError,
    pub topic: String,
}

/// What the producer's delivery reports have said since it was created.
#[derive(Default)]
struct Reports {
    failure: Mutex<Option<Failure>>,
    /// Woken after every report (a producer waiting for queue room).
    reported: Notify,
}

/// The producer's context: the sink's logging context plus its delivery
/// reports.
#[derive(Clone)]
pub struct DeliveryContext {
    sink: SinkContext,
    reports: Arc<Reports>,
}

impl DeliveryContext {
    pub fn new(sink: SinkContext) -> DeliveryContext {
        DeliveryContext {
            sink,
            reports: Arc::default(),
        }
    }

    /// The failure that says most about why delivery failed (see the
    /// module docs), if any record failed.
    pub fn failure(&self) -> Option<Failure> {
        self.reports.failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets every failure reported so far: after an abort, once every
    /// report of the aborted transaction is in.
    pub fn forget_failures(&self) {
        *self.reports.failure.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Resolves after the next delivery report (or at once if one came
    /// since the last wait).
    pub async fn reported(&self) {
        self.reports.reported.notified().await
    }

    fn record(&self, error: &KafkaError, topic: &str) {
        let mut failure = self.reports.failure.lock().unwrap_or_else(|e| e.into_inner());
        let replaces = match &*failure {
            None => true,
            Some(kept) => purged(&kept.error) && !purged(error),
        };
        if replaces {
            *failure = Some(Failure {
                error: error.clone(),
                topic: topic.to_string(),
            });
        }
    }
}

/// What librdkafka reports for a record it dropped because the
/// transaction was aborted or failed, not for a cause of its own.
fn purged(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight)
    )
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.sink.log(level, facility, message)
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.sink.error(error, reason)
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, message)) = result {
            self.record(error, message.topic());
        }
        self.reports.reported.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: RDKafkaErrorCode) -> KafkaError {
        KafkaError::MessageProduction(code)
    }

    #[test]
    fn a_cause_replaces_a_purge_and_the_first_cause_stays() {
        let context = DeliveryContext::new(SinkContext::new("t"));
        assert!(context.failure().is_none());
        context.record(&failed(RDKafkaErrorCode::PurgeQueue), "a");
        assert_eq!(context.failure().unwrap().topic, "a");
        context.record(&failed(RDKafkaErrorCode::PurgeInflight), "b");
        assert_eq!(context.failure().unwrap().topic, "a");
        context.record(&failed(RDKafkaErrorCode::MessageSizeTooLarge), "c");
        let kept = context.failure().unwrap();
        assert_eq!((kept.topic.as_str(), kept.error.rdkafka_error_code()), ("c", Some(RDKafkaErrorCode::MessageSizeTooLarge)));
        context.record(&failed(RDKafkaErrorCode::MessageTimedOut), "d");
        context.record(&failed(RDKafkaErrorCode::PurgeQueue), "e");
        assert_eq!(context.failure().unwrap().topic, "c");
        context.forget_failures();
        assert!(context.failure().is_none());
    }
}
