//! The exactly-once Kafka sink: a transactional producer that commits each
//! batch together with its progress record.
//!
//! - [`config`]: connector properties (`delivery.guarantee`,
//!   `topic.creation.default.*`, `producer.override.*`) → [`KafkaSinkConfig`].
//! - [`error`]: fenced / transient / definite, and how librdkafka errors map.
//! - [`progress`]: the progress record and how the resume point is read.
//! - `topics`: topic creation on first use.
//! - `cluster_id`: the Kafka cluster's id, for the REST API's `GET /`.
//! - `context`: librdkafka logs → tracing.
//! - `deliveries`: the producer's delivery reports: the first failure, and
//!   a wake-up when the queue has room again.
//!
//! # Why delivery is exactly once
//!
//! One connector has one stable `transactional.id`,
//! `raftcdc-<cluster>-<connector>`, whichever node owns it. A batch is
//! delivered in one transaction: `begin_transaction`, every record of the
//! batch, one progress record (key = connector, value = the source offset
//! after the batch) in the connector's own progress topic,
//! `commit_transaction`. So for a `read_committed` reader:
//!
//! 1. **Atomic.** The records and the progress record of a batch become
//!    visible together or never (an aborted or abandoned transaction is
//!    never visible).
//! 2. **No duplicates on resume.** Every owner, after `open`, reads the
//!    newest committed progress record of the connector's incarnation
//!    ([`KafkaSink::read_progress`]) and resumes the source at its offset.
//!    By (1) that offset sits exactly after the last visible record, and by
//!    the source contract ([`crate::source`]) resuming there produces
//!    exactly what follows. The progress topic is the connector's alone, so
//!    no other connector's open transaction can hide a record from this
//!    read ([`progress`] explains why that matters).
//! 3. **No zombie writes.** `open` calls `init_transactions`, which bumps
//!    the producer epoch for the transactional.id at the broker: a previous
//!    owner's open transaction is aborted (or a commit it already started
//!    is completed, before the new owner reads the progress), and every
//!    later produce or commit from it fails with a fencing error
//!    ([`SinkError::Fenced`]). A deposed owner, however slow, can no longer
//!    add anything. This is the broker-side twin of the Raft epoch check on
//!    offset commits: Raft decides who owns the connector, Kafka refuses
//!    anyone who is not the latest to call `init_transactions`.
//! 4. **Order.** Records are produced in the order given, by one
//!    idempotent producer (which keeps order per partition through retries),
//!    and keyed records go to the partition the Java client's default
//!    partitioner picks (librdkafka `partitioner=murmur2_random`: murmur2 of
//!    the key; null keys go anywhere), so per-key order is the source's.
//!
//! The progress topic is the sink's source of truth for where output ends.
//! The pipeline also records the offset in Raft after `deliver` returns;
//! that copy can lag by the few batches whose Raft commits are still in
//! flight (or lost to a crash between the Kafka commit and the Raft
//! commit), never lead, so on resume the Kafka progress wins when it
//! is present.
//!
//! # Producer lifecycle
//!
//! `open` → (`read_progress`) → `deliver`* → drop. After **any** error from
//! `deliver` the sink is spent: every later `deliver` answers
//! [`SinkError::MustReopen`] (or [`SinkError::Fenced`] again). On a
//! definite error it has aborted its transaction, so `read_committed`
//! readers are not held back while the connector is stopped; after a
//! transient error the reopen aborts it (see `spend`). On a transient error the caller drops it,
//! `open`s a new one, calls `read_progress` and resumes from there — the
//! failed batch may or may not have committed (a commit that timed out can
//! still complete), and only the progress record knows. On fencing the
//! caller stops. Dropping a sink never blocks the async runtime: the
//! producer is destroyed on the blocking pool.
//!
//! `deliver` holds at most one batch in flight: it returns only when every
//! record is acknowledged and the transaction committed, and it waits for
//! delivery reports whenever librdkafka's queue is full. Cancelling a
//! `deliver` (dropping its future) leaves its transaction open; call
//! [`KafkaSink::abort`] or reopen.
//!
//! With `delivery.guarantee=at_least_once` there is no transactional.id: an
//! idempotent producer delivers the records, waits for every
//! acknowledgement, then writes the progress record and waits for it, so
//! progress never runs ahead of the data, but a failure between the two
//! repeats the batch on resume.
mod cluster_id;
pub mod config;
mod context;
mod deliveries;
pub mod error;
pub mod progress;
mod topics;

use std::collections::BTreeSet;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

pub use cluster_id::fetch_cluster_id;
pub use config::{DeliveryGuarantee, KafkaSinkConfig, SinkConfigError};
pub use error::{ErrorClass, SinkError};
pub use progress::Progress;

use crate::source::Record;
use context::SinkContext;
use deliveries::DeliveryContext;
use topics::{TopicSpec, Topics};

/// How long an abort after a failure may take before the sink gives up on
/// it (a reopen aborts anyway).
const ABORT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a producer waits for a delivery report before it offers a
/// record to a full queue again: a report's record leaves the queue just
/// after the report, so the wake-up can come a moment early.
const QUEUE_RETRY: Duration = Duration::from_millis(1);

type Producer_ = ThreadedProducer<DeliveryContext>;

/// Where a sink is in its lifecycle.
#[derive(Debug)]
enum State {
    /// No transaction open; `deliver` may run.
    Ready,
    /// A transaction is open: inside `deliver`, after
    /// `deliver_without_commit`, or after a `deliver` future was dropped.
    InTransaction,
    /// A failure left the producer unusable for this owner.
    Spent { fenced: Option<KafkaError>, reason: String },
}

/// The Kafka sink of one connector owner.
pub struct KafkaSink {
    config: KafkaSinkConfig,
    /// Always `Some` until `Drop` moves it to the blocking pool.
    clients: Option<Clients>,
    state: State,
    /// How long the last `commit_transaction` took (for metrics).
    last_commit: Option<Duration>,
}

/// The librdkafka clients, destroyed together off the async runtime.
struct Clients {
    producer: Producer_,
    topics: Topics,
}

impl KafkaSink {
    /// Creates the producer and (exactly-once) calls `init_transactions`,
    /// which fences any older producer with the same transactional.id and
    /// aborts its open transaction. Creates the connector's progress topic
    /// (compacted, `cleanup.policy=compact`, one partition) if missing.
    pub async fn open(config: KafkaSinkConfig) -> Result<KafkaSink, SinkError> {
        let context = SinkContext::new(&config.transactional_id);
        let producer: Producer_ = producer_config(&config)
            .create_with_context(DeliveryContext::new(context.clone()))
            .map_err(|e| SinkError::kafka("create the producer", &config.transactional_id, e, None))?;
        let topics = Topics::new(&config, context)?;
        let mut sink = KafkaSink {
            config,
            clients: Some(Clients { producer, topics }),
            state: State::Ready,
            last_commit: None,
        };
        if sink.config.delivery == DeliveryGuarantee::ExactlyOnce {
            let timeout = sink.config.transaction_timeout;
            sink.blocking("init_transactions", move |p| p.init_transactions(timeout))
                .await?;
        }
        let offsets = TopicSpec {
            partitions: 1,
            replication_factor: sink.config.topic_replication_factor,
            configs: [("cleanup.policy".to_string(), "compact".to_string())].into(),
        };
        let offsets_topic = sink.config.offsets_topic.clone();
        sink.topics().ensure_with(&offsets_topic, &offsets).await?;
        tracing::info!(
            transactional_id = %sink.config.transactional_id,
            delivery = sink.config.delivery.as_str(),
            offsets_topic = %sink.config.offsets_topic,
            "Kafka sink open"
        );
        Ok(sink)
    }

    pub fn config(&self) -> &KafkaSinkConfig {
        &self.config
    }

    /// The last committed progress record of `incarnation` of `connector`
    /// in its progress topic, read with `isolation.level=read_committed`
    /// (see [`progress`]). `None` if there is none.
    pub async fn read_progress(&self, connector: &str, incarnation: &str) -> Result<Option<Progress>, SinkError> {
        let bootstrap = self.config.bootstrap_servers.clone();
        let connection = self.config.connection_overrides();
        let id = self.config.transactional_id.clone();
        let topic = self.config.offsets_topic.clone();
        let connector = connector.to_string();
        let incarnation = incarnation.to_string();
        let read = tokio::task::spawn_blocking(move || {
            progress::read_latest(&bootstrap, &connection, &id, &topic, &connector, &incarnation, progress::READ_TIMEOUT)
        })
        .await
        .map_err(|source| SinkError::Blocking {
            operation: "read_progress".into(),
            source,
        })??;
        tracing::debug!(
            transactional_id = %self.config.transactional_id,
            records_read = read.records_read,
            found = read.progress.is_some(),
            "read progress"
        );
        Ok(read.progress)
    }

    /// Delivers `records` and the progress record atomically (exactly-once:
    /// one transaction; at-least-once: records, then progress, each waited
    /// for). Topics are created on first use. Returns when everything is
    /// committed and acknowledged. After an error the sink is spent; see
    /// the module docs.
    pub async fn deliver(&mut self, records: &[Record], progress: &Progress) -> Result<(), SinkError> {
        self.check_ready()?;
        let result = match self.config.delivery {
            DeliveryGuarantee::ExactlyOnce => self.deliver_transaction(records, progress, true).await,
            DeliveryGuarantee::AtLeastOnce => self.deliver_idempotent(records, progress).await,
        };
        if let Err(error) = &result {
            self.spend(error).await;
        }
        result
    }

    /// How long the broker took to commit the last transaction
    /// (`commit_transaction`, after every record was acknowledged); `None`
    /// before the first commit and in at-least-once mode.
    pub fn last_commit_duration(&self) -> Option<Duration> {
        self.last_commit
    }

    /// For fault tests: does everything `deliver` does in exactly-once mode
    /// up to and including the broker's acknowledgement of every record,
    /// then leaves the transaction open instead of committing it. Follow
    /// with [`KafkaSink::abort`], or drop the sink and reopen.
    #[doc(hidden)]
    pub async fn deliver_without_commit(&mut self, records: &[Record], progress: &Progress) -> Result<(), SinkError> {
        self.check_ready()?;
        assert_eq!(
            self.config.delivery,
            DeliveryGuarantee::ExactlyOnce,
            "only transactions can stay open"
        );
        let result = self.deliver_transaction(records, progress, false).await;
        if let Err(error) = &result {
            self.spend(error).await;
        }
        result
    }

    /// Aborts the open transaction, if any: one left by
    /// `deliver_without_commit`, or by a `deliver` future that was dropped.
    /// Nothing it produced becomes visible to `read_committed` readers.
    pub async fn abort(&mut self) -> Result<(), SinkError> {
        match self.state {
            State::Ready => Ok(()),
            State::Spent { .. } => self.check_ready(),
            State::InTransaction => {
                let mut result = self
                    .blocking("abort_transaction", |p| p.abort_transaction(ABORT_TIMEOUT))
                    .await;
                if result.is_ok() {
                    // The aborted records' purge reports are not the next
                    // transaction's failures: wait until they are all in,
                    // then forget them.
                    result = self.send_now().await;
                    self.producer().context().forget_failures();
                }
                match &result {
                    Ok(()) => self.state = State::Ready,
                    Err(error) => self.state = spent(error),
                }
                result
            }
        }
    }

    fn check_ready(&self) -> Result<(), SinkError> {
        match &self.state {
            State::Ready => Ok(()),
            State::InTransaction => Err(SinkError::MustReopen {
                transactional_id: self.config.transactional_id.clone(),
                reason: "a transaction is still open (a deliver was cancelled); abort it first".into(),
            }),
            State::Spent {
                fenced: Some(source), ..
            } => Err(SinkError::Fenced {
                transactional_id: self.config.transactional_id.clone(),
                source: source.clone(),
            }),
            State::Spent { fenced: None, reason } => Err(SinkError::MustReopen {
                transactional_id: self.config.transactional_id.clone(),
                reason: reason.clone(),
            }),
        }
    }

    async fn deliver_transaction(
        &mut self,
        records: &[Record],
        progress: &Progress,
        commit: bool,
    ) -> Result<(), SinkError> {
        self.ensure_topics(records).await?;
        self.blocking("begin_transaction", |p| p.begin_transaction()).await?;
        self.state = State::InTransaction;
        for record in records {
            self.produce(record_of(record)).await?;
        }
        let progress_value = progress.to_json();
        self.produce(self.progress_record(progress, &progress_value)).await?;
        self.settle_all().await?;
        if commit {
            // rust-rdkafka's commit_transaction first flushes, and a flush
            // that finds any record not yet destroyed polls the event queue
            // for up to 100 ms, racing the producer's own poll thread for
            // events it never gets. `settle_all` has waited until
            // librdkafka holds no record, so that flush returns at once.
            let timeout = self.config.transaction_timeout;
            let began = std::time::Instant::now();
            self.blocking("commit_transaction", move |p| p.commit_transaction(timeout))
                .await?;
            self.last_commit = Some(began.elapsed());
            self.state = State::Ready;
        }
        Ok(())
    }

    async fn deliver_idempotent(&mut self, records: &[Record], progress: &Progress) -> Result<(), SinkError> {
        self.ensure_topics(records).await?;
        for record in records {
            self.produce(record_of(record)).await?;
        }
        // Progress only after every record is acknowledged.
        self.settle_all().await?;
        let progress_value = progress.to_json();
        self.produce(self.progress_record(progress, &progress_value)).await?;
        self.settle_all().await
    }

    /// The progress record of a delivery, in the connector's progress topic.
    fn progress_record<'a>(&'a self, progress: &'a Progress, value: &'a [u8]) -> BaseRecord<'a, [u8], [u8]> {
        BaseRecord::to(&self.config.offsets_topic)
            .partition(progress::PARTITION)
            .key(progress.connector.as_bytes())
            .payload(value)
    }

    async fn ensure_topics(&mut self, records: &[Record]) -> Result<(), SinkError> {
        let topics: BTreeSet<&str> = records.iter().map(|r| r.topic.as_str()).collect();
        for topic in topics {
            self.topics().ensure(topic).await?;
        }
        Ok(())
    }

    /// Hands one record to librdkafka; when its queue is full, waits for
    /// delivery reports to make room (this bounds memory to what
    /// librdkafka's queue holds, and keeps one batch in flight), and stops
    /// at the first failed delivery.
    async fn produce(&self, mut record: BaseRecord<'_, [u8], [u8]>) -> Result<(), SinkError> {
        loop {
            match self.producer().send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    if self.producer().context().failure().is_some() {
                        return self.settle_all().await;
                    }
                    let _ = tokio::time::timeout(QUEUE_RETRY, self.producer().context().reported()).await;
                }
                Err((error, back)) => return Err(self.error(format!("produce to {}", back.topic), error)),
            }
        }
    }

    /// Sends whatever librdkafka still holds back for `linger.ms` at once
    /// and waits until every record is acknowledged: `rd_kafka_flush`
    /// ignores linger while it waits and, with delivery reports as events
    /// (rust-rdkafka's mode), only waits for the record count to reach
    /// zero, without polling. (rust-rdkafka's own `flush` polls the event
    /// queue itself, racing the producer's poll thread.) Without this, the
    /// last records of every transaction wait out `linger.ms`.
    async fn send_now(&self) -> Result<(), SinkError> {
        let timeout_ms = self.config.transaction_timeout.as_millis().min(i32::MAX as u128) as i32;
        let code = self
            .blocking("flush", move |p| {
                // SAFETY: the producer is alive for the call (the closure
                // holds a clone) and rd_kafka_flush is thread-safe.
                let code = unsafe { rdkafka::bindings::rd_kafka_flush(p.client().native_ptr(), timeout_ms) };
                Ok(RDKafkaErrorCode::from(code))
            })
            .await?;
        match code {
            RDKafkaErrorCode::NoError => Ok(()),
            code => Err(self.error("flush", KafkaError::Flush(code))),
        }
    }

    /// Sends everything at once ([`Self::send_now`]), which returns once
    /// every record's delivery report is in, then answers the failure that
    /// says most about why delivery failed, if any record failed (see
    /// [`deliveries`]).
    async fn settle_all(&self) -> Result<(), SinkError> {
        self.send_now().await?;
        match self.producer().context().failure() {
            None => Ok(()),
            Some(failure) => Err(self.error(format!("deliver to {}", failure.topic), failure.error)),
        }
    }

    /// Runs a blocking producer call on the blocking thread pool.
    async fn blocking<T: Send + 'static>(
        &self,
        operation: &'static str,
        call: impl FnOnce(&Producer_) -> Result<T, KafkaError> + Send + 'static,
    ) -> Result<T, SinkError> {
        let producer = self.producer().clone();
        match tokio::task::spawn_blocking(move || call(&producer)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.error(operation, error)),
            Err(source) => Err(SinkError::Blocking {
                operation: operation.to_string(),
                source,
            }),
        }
    }

    /// Classifies a librdkafka error, consulting the producer's fatal error.
    fn error(&self, operation: impl Into<String>, error: KafkaError) -> SinkError {
        let fatal = self.producer().client().fatal_error().map(|(code, _)| code);
        SinkError::kafka(operation, &self.config.transactional_id, error, fatal)
    }

    /// After a failed deliver: abort the open transaction if nobody else
    /// will soon, and mark the sink spent.
    ///
    /// - Definite: the connector stops and nobody reopens soon, so abort now;
    ///   an open transaction holds back `read_committed` readers of every
    ///   partition it touched until the broker times it out (noida-db never
    ///   does).
    /// - Fenced: the newer owner's `init_transactions` already aborted it.
    /// - Transient: the caller reopens at once and the new producer's
    ///   `init_transactions` aborts it. Aborting here could only wait on the
    ///   same unreachable broker, or interfere with a commit whose outcome
    ///   is in doubt (a `commit_transaction` that timed out continues in the
    ///   background).
    async fn spend(&mut self, error: &SinkError) {
        if matches!(self.state, State::InTransaction) && error.is_definite() {
            if let Err(abort) = self
                .blocking("abort_transaction", |p| p.abort_transaction(ABORT_TIMEOUT))
                .await
            {
                tracing::warn!(
                    transactional_id = %self.config.transactional_id,
                    error = %crate::error::error_chain(&abort),
                    "abort after a failed delivery failed; the next open aborts it"
                );
            }
        }
        tracing::warn!(
            transactional_id = %self.config.transactional_id,
            fenced = error.is_fenced(),
            transient = error.is_transient(),
            error = %crate::error::error_chain(error),
            "Kafka delivery failed; this sink is spent"
        );
        self.state = spent(error);
    }

    fn producer(&self) -> &Producer_ {
        &self.clients.as_ref().expect("the clients live until drop").producer
    }

    fn topics(&mut self) -> &mut Topics {
        &mut self.clients.as_mut().expect("the clients live until drop").topics
    }
}

fn spent(error: &SinkError) -> State {
    State::Spent {
        fenced: match error {
            SinkError::Fenced { source, .. } => Some(source.clone()),
            _ => None,
        },
        reason: crate::error::error_chain(error),
    }
}

impl Drop for KafkaSink {
    fn drop(&mut self) {
        // Destroying a producer purges, flushes for up to 500 ms and joins
        // librdkafka's threads (the admin client's too): keep that off the
        // async runtime.
        if let (Some(clients), Ok(runtime)) = (self.clients.take(), tokio::runtime::Handle::try_current()) {
            runtime.spawn_blocking(move || drop(clients));
        }
    }
}

/// The producer's librdkafka config: what exactly-once needs, then the
/// user's overrides (which [`KafkaSinkConfig::from_properties`] has checked
/// never touch a key set here).
fn producer_config(config: &KafkaSinkConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("client.id", config.transactional_id.clone())
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("partitioner", "murmur2_random")
        .set("allow.auto.create.topics", "false");
    for (key, value) in &config.producer_overrides {
        client.set(key, value);
    }
    client.set(config::PRODUCER_QUEUE_KBYTES, config.producer_queue_kbytes.to_string());
    client.set("bootstrap.servers", &config.bootstrap_servers);
    if config.delivery == DeliveryGuarantee::ExactlyOnce {
        client.set("transactional.id", &config.transactional_id).set(
            "transaction.timeout.ms",
            config.transaction_timeout.as_millis().to_string(),
        );
    }
    SinkContext::set_log_level(&mut client);
    client
}

/// A source record as a librdkafka record (borrowing; librdkafka copies).
fn record_of(record: &Record) -> BaseRecord<'_, [u8], [u8]> {
    let mut out = BaseRecord::to(&record.topic);
    if let Some(key) = &record.key {
        out = out.key(&key[..]);
    }
    if let Some(value) = &record.value {
        out = out.payload(&value[..]);
    }
    if !record.headers.is_empty() {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (key, value) in &record.headers {
            headers = headers.insert(Header {
                key,
                value: Some(&value[..]),
            });
        }
        out = out.headers(headers);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pipeline runs the sink inside spawned tasks.
    #[allow(dead_code)]
    fn futures_are_send(sink: &mut KafkaSink, config: KafkaSinkConfig, records: &[Record], progress: &Progress) {
        fn send<T: Send>(_: T) {}
        send(KafkaSink::open(config));
        send(sink.read_progress("connector", "incarnation"));
        send(sink.deliver(records, progress));
        send(sink.abort());
    }

    #[test]
    fn records_keep_key_value_and_headers() {
        let record = Record {
            topic: "t".into(),
            key: Some(b"k".to_vec()),
            value: None,
            headers: vec![("h".into(), b"v".to_vec())],
            schemas: None,
            layout: None,
            change_event: false,
        };
        let out = record_of(&record);
        assert_eq!((out.topic, out.key, out.payload), ("t", Some(&b"k"[..]), None));
        let headers = out.headers.expect("headers");
        use rdkafka::message::Headers;
        assert_eq!(headers.count(), 1);
        assert_eq!(headers.get(0).key, "h");
        assert_eq!(headers.get(0).value, Some(&b"v"[..]));
    }
}
