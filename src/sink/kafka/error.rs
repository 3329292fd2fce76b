//! The Kafka sink's error model: every failure is fenced, transient or
//! definite, and the class says what the caller must do.
//!
//! - **Fenced** ([`SinkError::Fenced`]): a newer producer with the same
//!   `transactional.id` called `init_transactions`, so this owner is deposed.
//!   The broker has already made this producer's open transaction invisible
//!   and refuses its commits. The task stops and never retries: the newer
//!   owner is delivering.
//! - **Transient** ([`SinkError::Transient`] and the variants
//!   [`SinkError::is_transient`] names): the broker was unreachable, a
//!   request timed out, a transaction hit an abortable error, or the
//!   producer hit a fatal error that a new producer (a new producer id)
//!   clears. The caller drops the sink, opens a new one (whose
//!   `init_transactions` aborts or completes whatever this one left open),
//!   reads the committed progress with `read_progress`, and resumes the
//!   source from there. Nothing is lost and nothing is doubled, because the
//!   records and the progress record of a batch are committed together or
//!   not at all.
//! - **Definite** ([`SinkError::Definite`], [`SinkError::InvalidProgress`]):
//!   retrying cannot help (authorization, invalid configuration, a record
//!   larger than the broker accepts, an invalid topic name or topic config).
//!   The connector stops with the error until an operator acts.
//!
//! How a librdkafka error is classified ([`classify`]), in this order:
//!
//! 1. **Fenced** if the error's code, or the code of the producer's fatal
//!    error (`rd_kafka_fatal_error`), is `_FENCED` (librdkafka's local code
//!    for "fenced by a newer instance"), `PRODUCER_FENCED` or
//!    `INVALID_PRODUCER_EPOCH`. A fenced transactional producer raises a
//!    fatal error and then fails everything (purged messages, `_FATAL`
//!    commits), which is why the fatal error is consulted and not only the
//!    error at hand.
//! 2. **Definite** if either code is in [`DEFINITE_CODES`]. This comes
//!    before the librdkafka flags because librdkafka marks some permanent
//!    failures abortable (a too-large record makes the transaction
//!    abortable, and retrying it forever would never succeed).
//! 3. **Transient** if librdkafka says so for a transactional error
//!    (`is_retriable()`, `txn_requires_abort()`, or `is_fatal()` for a
//!    fatal error not caught above, which a new producer clears), or if the
//!    code is in [`TRANSIENT_CODES`] (network, timeouts, leadership and
//!    coordinator moves, purged messages, metadata not yet propagated), or
//!    the client was dropped mid-call.
//! 4. **Definite** otherwise: an error nobody has argued is safe to retry
//!    stops the connector visibly rather than looping.
//!
//! Errors keep their source chain: the `KafkaError` is the `source`, and
//! messages name the operation and the transactional.id, never a secret.
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Errors of the Kafka sink layer.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A newer producer with the same transactional.id exists: this owner is
    /// deposed. Stop, never retry.
    #[error("transactional.id {transactional_id} was fenced by a newer producer: this owner is deposed")]
    Fenced {
        transactional_id: String,
        #[source]
        source: KafkaError,
    },
    /// Broker unreachable, timeouts, retriable or abortable errors: drop the
    /// sink, open a new one, resume from `read_progress`.
    #[error("{operation} failed (transient)")]
    Transient {
        operation: String,
        #[source]
        source: KafkaError,
    },
    /// Anything retrying cannot fix (authorization, invalid config, record
    /// too large, invalid topic).
    #[error("{operation} failed")]
    Definite {
        operation: String,
        #[source]
        source: KafkaError,
    },
    /// A progress record in the offsets topic that is not
    /// `{"connector","epoch","offset"}` JSON: something other than raftcdc
    /// wrote it. Definite.
    #[error(
        "the progress record of connector {connector} at {topic}/{partition}@{offset} is not raftcdc progress JSON"
    )]
    InvalidProgress {
        connector: String,
        topic: String,
        partition: i32,
        offset: i64,
        #[source]
        source: serde_json::Error,
    },
    /// `deliver` was called on a sink whose earlier failure left its
    /// producer unusable. Transient: drop it and open a new one.
    #[error("the sink for transactional.id {transactional_id} failed earlier ({reason}); drop it and open a new one")]
    MustReopen { transactional_id: String, reason: String },
    /// A blocking librdkafka call on the blocking thread pool did not finish
    /// (the runtime is shutting down). Transient.
    #[error("{operation}: the blocking librdkafka call did not finish")]
    Blocking {
        operation: String,
        #[source]
        source: tokio::task::JoinError,
    },
}

impl SinkError {
    /// This owner is deposed; stop and never retry.
    pub fn is_fenced(&self) -> bool {
        matches!(self, SinkError::Fenced { .. })
    }

    /// Reopen the sink and resume from its committed progress.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SinkError::Transient { .. } | SinkError::MustReopen { .. } | SinkError::Blocking { .. }
        )
    }

    /// Neither fenced nor transient: the connector stops until an operator
    /// acts.
    pub fn is_definite(&self) -> bool {
        !self.is_fenced() && !self.is_transient()
    }

    /// What an operator can do about a definite error.
    pub fn remedy(&self) -> String {
        use RDKafkaErrorCode as C;
        let code = match self {
            SinkError::Definite { source, .. } => source.rdkafka_error_code(),
            _ => None,
        };
        match code {
            Some(C::MessageSizeTooLarge | C::MessageBatchTooLarge | C::InvalidMessageSize) => {
                "a record is larger than the producer or the broker accepts: raise producer.override.message.max.bytes \
                 (librdkafka's limit, 1000000 bytes by default) and, to match, the topic's max.message.bytes \
                 (topic.creation.default.max.message.bytes for new topics) and the broker's message.max.bytes; \
                 then `raftcdc connector update`, which resumes from the last committed record"
                    .into()
            }
            Some(
                C::TopicAuthorizationFailed
                | C::ClusterAuthorizationFailed
                | C::TransactionalIdAuthorizationFailed
                | C::GroupAuthorizationFailed,
            ) => "grant the connector's Kafka principal WRITE and DESCRIBE on its topics, CREATE for new topics, and \
                  WRITE and DESCRIBE on its transactional.id (raftcdc-<cluster>-<connector>)"
                .into(),
            _ => "check the connector's producer.override.* and topic.creation.* settings and the broker".into(),
        }
    }

    /// Builds the error for a failed librdkafka call, classified by
    /// [`classify`]. `fatal` is the producer's fatal error code, if it has
    /// one (`Client::fatal_error`).
    pub fn kafka(
        operation: impl Into<String>,
        transactional_id: &str,
        source: KafkaError,
        fatal: Option<RDKafkaErrorCode>,
    ) -> SinkError {
        let operation = operation.into();
        match classify(&source, fatal) {
            ErrorClass::Fenced => SinkError::Fenced {
                transactional_id: transactional_id.to_string(),
                source,
            },
            ErrorClass::Transient => SinkError::Transient { operation, source },
            ErrorClass::Definite => SinkError::Definite { operation, source },
        }
    }
}

/// What a librdkafka error means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    Fenced,
    Transient,
    Definite,
}

/// Codes that mean a newer producer owns the transactional.id.
pub const FENCED_CODES: &[RDKafkaErrorCode] = &[
    RDKafkaErrorCode::Fenced,
    RDKafkaErrorCode::ProducerFenced,
    RDKafkaErrorCode::InvalidProducerEpoch,
];

/// Codes no retry can fix.
pub const DEFINITE_CODES: &[RDKafkaErrorCode] = &[
    // Authorization and authentication.
    RDKafkaErrorCode::TopicAuthorizationFailed,
    RDKafkaErrorCode::GroupAuthorizationFailed,
    RDKafkaErrorCode::ClusterAuthorizationFailed,
    RDKafkaErrorCode::TransactionalIdAuthorizationFailed,
    RDKafkaErrorCode::Authentication,
    RDKafkaErrorCode::SaslAuthenticationFailed,
    RDKafkaErrorCode::UnsupportedSASLMechanism,
    RDKafkaErrorCode::IllegalSASLState,
    RDKafkaErrorCode::SecurityDisabled,
    // Records the broker will never accept.
    RDKafkaErrorCode::MessageSizeTooLarge,
    RDKafkaErrorCode::InvalidMessageSize,
    RDKafkaErrorCode::MessageBatchTooLarge,
    RDKafkaErrorCode::InvalidRecord,
    RDKafkaErrorCode::InvalidTimestamp,
    RDKafkaErrorCode::BadMessage,
    RDKafkaErrorCode::UnsupportedForMessageFormat,
    RDKafkaErrorCode::UnsupportedCompressionType,
    // Topics and configuration.
    RDKafkaErrorCode::InvalidTopic,
    RDKafkaErrorCode::InvalidPartitions,
    RDKafkaErrorCode::InvalidReplicationFactor,
    RDKafkaErrorCode::InvalidReplicaAssignment,
    RDKafkaErrorCode::InvalidConfig,
    RDKafkaErrorCode::PolicyViolation,
    RDKafkaErrorCode::InvalidRequiredAcks,
    RDKafkaErrorCode::InvalidTransactionTimeout,
    RDKafkaErrorCode::InvalidArgument,
    RDKafkaErrorCode::InvalidRequest,
    RDKafkaErrorCode::UnsupportedVersion,
    RDKafkaErrorCode::UnsupportedFeature,
    RDKafkaErrorCode::NotImplemented,
    RDKafkaErrorCode::NotConfigured,
];

/// Codes that a retry (on a new producer, from the committed progress) can
/// clear.
pub const TRANSIENT_CODES: &[RDKafkaErrorCode] = &[
    // The network and the client's own timeouts.
    RDKafkaErrorCode::BrokerTransportFailure,
    RDKafkaErrorCode::AllBrokersDown,
    RDKafkaErrorCode::Resolve,
    RDKafkaErrorCode::MessageTimedOut,
    RDKafkaErrorCode::OperationTimedOut,
    RDKafkaErrorCode::TimedOutQueue,
    RDKafkaErrorCode::RequestTimedOut,
    RDKafkaErrorCode::NetworkException,
    RDKafkaErrorCode::QueueFull,
    RDKafkaErrorCode::Retry,
    RDKafkaErrorCode::Interrupted,
    RDKafkaErrorCode::RebootstrapRequired,
    // Messages purged by an abort or by a fatal error (the fatal error
    // itself decides fenced vs transient).
    RDKafkaErrorCode::PurgeQueue,
    RDKafkaErrorCode::PurgeInflight,
    RDKafkaErrorCode::BrokerDestroy,
    RDKafkaErrorCode::DestroyBroker,
    // Leadership, coordinators and metadata moving (for example right after
    // the sink created a topic, or while a broker restarts).
    RDKafkaErrorCode::UnknownTopicOrPartition,
    RDKafkaErrorCode::UnknownTopic,
    RDKafkaErrorCode::UnknownPartition,
    RDKafkaErrorCode::LeaderNotAvailable,
    RDKafkaErrorCode::NotLeaderForPartition,
    RDKafkaErrorCode::BrokerNotAvailable,
    RDKafkaErrorCode::ReplicaNotAvailable,
    RDKafkaErrorCode::NotEnoughReplicas,
    RDKafkaErrorCode::NotEnoughReplicasAfterAppend,
    RDKafkaErrorCode::NotController,
    RDKafkaErrorCode::KafkaStorageError,
    RDKafkaErrorCode::FencedLeaderEpoch,
    RDKafkaErrorCode::UnknownLeaderEpoch,
    RDKafkaErrorCode::OffsetNotAvailable,
    RDKafkaErrorCode::PreferredLeaderNotAvailable,
    RDKafkaErrorCode::ThrottlingQuotaExceeded,
    RDKafkaErrorCode::InvalidMessage,
    RDKafkaErrorCode::CoordinatorLoadInProgress,
    RDKafkaErrorCode::CoordinatorNotAvailable,
    RDKafkaErrorCode::NotCoordinator,
    RDKafkaErrorCode::WaitingForCoordinator,
    RDKafkaErrorCode::TransactionCoordinatorFenced,
    RDKafkaErrorCode::ConcurrentTransactions,
    // Idempotence/transaction state a new producer id resets.
    RDKafkaErrorCode::OutOfOrderSequenceNumber,
    RDKafkaErrorCode::DuplicateSequenceNumber,
    RDKafkaErrorCode::UnknownProducerId,
    RDKafkaErrorCode::InvalidProducerIdMapping,
    RDKafkaErrorCode::InvalidTransactionalState,
    RDKafkaErrorCode::State,
    RDKafkaErrorCode::Fatal,
    RDKafkaErrorCode::InProgress,
    RDKafkaErrorCode::PreviousInProgress,
];

/// Classifies a librdkafka error; see the module docs for the rules.
pub fn classify(error: &KafkaError, fatal: Option<RDKafkaErrorCode>) -> ErrorClass {
    let code = error.rdkafka_error_code();
    let codes = [code, fatal];
    let any_in = |list: &[RDKafkaErrorCode]| codes.iter().flatten().any(|c| list.contains(c));
    if any_in(FENCED_CODES) {
        return ErrorClass::Fenced;
    }
    if any_in(DEFINITE_CODES) {
        return ErrorClass::Definite;
    }
    if let KafkaError::Transaction(e) = error {
        if e.is_retriable() || e.txn_requires_abort() || e.is_fatal() {
            return ErrorClass::Transient;
        }
    }
    if matches!(error, KafkaError::Canceled) || code.is_some_and(|c| TRANSIENT_CODES.contains(&c)) {
        return ErrorClass::Transient;
    }
    ErrorClass::Definite
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fencing_wins_over_everything() {
        let purged = KafkaError::MessageProduction(RDKafkaErrorCode::PurgeInflight);
        assert_eq!(classify(&purged, None), ErrorClass::Transient);
        assert_eq!(classify(&purged, Some(RDKafkaErrorCode::Fenced)), ErrorClass::Fenced);
        assert_eq!(
            classify(&KafkaError::MessageProduction(RDKafkaErrorCode::ProducerFenced), None),
            ErrorClass::Fenced
        );
        assert_eq!(
            classify(
                &KafkaError::MessageProduction(RDKafkaErrorCode::InvalidProducerEpoch),
                None
            ),
            ErrorClass::Fenced
        );
    }

    #[test]
    fn permanent_record_errors_are_definite() {
        let too_large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        assert_eq!(classify(&too_large, None), ErrorClass::Definite);
        assert_eq!(
            classify(&KafkaError::AdminOp(RDKafkaErrorCode::InvalidTopic), None),
            ErrorClass::Definite
        );
        let auth = KafkaError::MessageProduction(RDKafkaErrorCode::Fatal);
        assert_eq!(
            classify(&auth, Some(RDKafkaErrorCode::TransactionalIdAuthorizationFailed)),
            ErrorClass::Definite
        );
    }

    #[test]
    fn network_and_timeouts_are_transient() {
        for code in [
            RDKafkaErrorCode::AllBrokersDown,
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::NotCoordinator,
            RDKafkaErrorCode::Fatal,
        ] {
            assert_eq!(
                classify(&KafkaError::MessageProduction(code), None),
                ErrorClass::Transient,
                "{code:?}"
            );
        }
        assert_eq!(classify(&KafkaError::Canceled, None), ErrorClass::Transient);
        assert_eq!(
            classify(&KafkaError::ClientCreation("bad".into()), None),
            ErrorClass::Definite
        );
    }
}
