//! One connector's task under one epoch: MySQL source → Kafka sink →
//! offset commit, with the fencing that makes delivery exactly once.
//!
//! # Takeover order, and why it gives exactly-once
//! A task starts only after its node won the connector under a new epoch
//! (raised through Raft by [`crate::placement`]). Then:
//!
//! 0. **Claim.** The task commits a status write under its epoch through
//!    Raft. Only a current epoch is accepted and only a real leader can
//!    commit, so a node that merely *believes* it owns the connector (a
//!    leader restarted from its old vote, for a few milliseconds) never
//!    reaches step 1. If a producer is fenced while Raft still says its
//!    epoch is current, the owner simply fences back.
//! 1. **Fence.** Opening the sink calls `init_transactions` with the
//!    connector's stable `transactional.id`. The broker bumps the producer
//!    epoch, aborts any transaction the previous owner left open and fails
//!    every later call of that producer with a fenced error. From here on
//!    the old owner can commit nothing to Kafka.
//! 2. **Read progress.** The last progress record in the offsets topic is
//!    read with `read_committed`. Because every Kafka transaction holds a
//!    batch's records *and* its progress record, the last committed
//!    progress record names exactly where committed output ends.
//!    Only this connector's records of this incarnation count: the
//!    progress topic is the connector's own, so no other connector's open
//!    transaction can hide a record, and a re-created connector ignores
//!    its predecessor's ([`crate::sink::kafka::progress`]).
//! 3. **Pick the resume point** ([`resume_point`]): Kafka's record. The
//!    owner commits to Raft only after Kafka, so the Raft offset is never
//!    ahead of Kafka's, whatever its epoch; only an operator's
//!    `offsets set` (which raised the epoch and is marked) wins over it.
//! 4. **Confirm** the claim through Raft again, now that
//!    `init_transactions` is done: an owner whose `init_transactions`
//!    completed late (it was frozen or cut off from the broker after step
//!    0) may have fenced a newer owner, and must stop before producing
//!    anything. Any later owner fences this one with its own
//!    `init_transactions` *before* it reads progress, so what this owner
//!    commits after the confirmation is always seen by its successor.
//! 5. **Stream** from there. Each delivery is one Kafka transaction
//!    (records + progress record); after it commits, the offset is handed
//!    to the [`OffsetCommitter`], which commits it to Raft under the task's
//!    epoch while the next Kafka transaction is already being produced.
//!
//! A crash between the Kafka commit and the Raft commit loses nothing and
//! duplicates nothing: the next owner resumes from the Kafka progress
//! record, which is later. That includes snapshot progress, which Raft
//! alone keeps and which rides on the offset commit: until Raft has the
//! newest delivered progress, every progress record carries it, and a new
//! owner whose Raft state lacks the progress of the record it resumes
//! from commits it before delivering anything ([`unconfirmed_snapshot`]).
//! Otherwise an owner dying right after the batch that completed a
//! snapshot would leave it shown as unfinished under a streaming offset.
//!
//! Schema history lives only in Raft, so it is written *before* the Kafka
//! transaction of the batch that carries it (Debezium's order too: history
//! first, then the records). A crash in between leaves history one DDL
//! ahead of Kafka; the next owner re-reads that DDL from the binlog and the
//! state machine drops the repeated entry (it ignores an entry equal to a
//! recent one), so every DDL is recorded exactly once.
//!
//! A crash before the Kafka commit leaves an open transaction that step 1
//! of the next owner aborts, so its records never become visible to
//! `read_committed` consumers. A deposed owner that wakes up is stopped
//! three ways: its Kafka producer is fenced, its Raft writes are rejected
//! as `StaleEpoch`, and its supervisor stops it when it sees the newer
//! epoch. A deposed owner can still commit Kafka
//! transactions between its deposition and the new owner's
//! `init_transactions`; the new owner reads progress only after that call,
//! so it resumes after them: they are neither lost nor repeated.
//!
//! # Batching and memory
//! Source batches (whole source transactions, or parts of one too large
//! for `max.batch.size`) are combined into one Kafka transaction until it
//! holds `max.batch.size` records (or half of `max.queue.size.in.bytes`)
//! or `poll.interval.ms` has passed, whichever comes first. Batches the
//! source has already queued by then join it too, up to half of
//! `max.queue.size` records and half of `max.queue.size.in.bytes`: behind a
//! backlog (a snapshot, a resumed stream) transactions grow and commits
//! become fewer, while a connector that keeps up delivers as soon as a
//! transaction is full or due. Between the
//! source and delivery, [`super::queue`] bounds the queued and pending
//! batches by `max.queue.size` records and `max.queue.size.in.bytes`
//! bytes, so a slow or unreachable broker stops the binlog reader instead
//! of growing memory.
//!
//! # Signals
//! Debezium signals ([`crate::signal`]) are acted on through Raft
//! (`ApplySignal`, under the task's epoch). Signal-table rows come with
//! the batch of their transaction and are proposed *before* that batch's
//! Kafka transaction, like schema history: a crash in between makes the
//! next owner read them again, and the state machine drops the repeat. The
//! Kafka channel's reader starts at the position the replicated state
//! records and proposes each signal with its offset, so the action and
//! the position move in one entry.
//!
//! # Transforms
//! A connector's `transforms` chain runs here, in the owner, on every
//! batch between the source and the delivery loop, on its own thread and in
//! order (see [`crate::transform`]), so the records are transformed before
//! they are produced in the Kafka transaction (a second bounded channel of
//! the same size holds the transformed batches): the progress record is never
//! transformed, a dropped record still advances the offset (its batch keeps
//! the offset, and the progress record of its delivery carries it), and a
//! new owner re-reading a batch transforms it the same way.
//!
//! # Errors
//! Definite errors (bad config, a purged binlog, wrong server settings, a
//! broker refusing the producer's config) stop the task with status
//! `FAILED` and a remedy. Transient ones (broker or database unreachable)
//! restart the whole sequence above after a backoff, which re-fences and
//! re-reads progress, so the resume point is always exact.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use crate::metrics::ErrorKind;
use crate::error::error_chain;
use crate::node::{Node, NodeError};
use crate::raft::command::{Command, CommandError};
use crate::raft::state::{OffsetRecord, TaskState};
use crate::connector::ConnectorConfig;
use crate::sink::kafka::{KafkaSink, Progress, SinkError};
use crate::source::mysql::error::SourceError;
use crate::source::mysql::replication::MySqlSource;
use crate::signal::{ReceivedSignal, SignalAction, SignalConfig};
use crate::source::{AbortOnDrop, Batch, IncrementalRequest, Record, SnapshotProgress, SourceReport};
use crate::transform::TransformChain;

use super::queue::{Gated, Held, QueueBounds};

pub struct TaskContext {
    pub node: Arc<Node>,
    pub name: String,
    /// The connector's incarnation; its progress records carry it.
    pub incarnation: String,
    pub epoch: u64,
    /// The connector's config at this epoch.
    pub config: BTreeMap<String, String>,
    pub stopped: watch::Receiver<bool>,
}

/// Why one attempt of the task ended.
#[derive(Debug, thiserror::Error)]
enum TaskError {
    #[error("deposed: {0}")]
    Deposed(String),
    /// Kafka fenced this task's producer. That means deposed only if Raft
    /// knows a newer epoch: a stale node can fence the rightful owner for a
    /// moment (see [`claim`]), and the owner must then fence back.
    #[error("fenced: {0}")]
    Fenced(String),
    #[error("{error}")]
    Definite { error: String, remedy: String },
    #[error("{0}")]
    Transient(String),
    #[error("stopped")]
    Stopped,
}

impl TaskError {
    /// The `kind` this error counts as in `raftcdc_connector_errors_total`.
    fn metric_kind(&self) -> Option<ErrorKind> {
        match self {
            TaskError::Fenced(_) => Some(ErrorKind::Fenced),
            TaskError::Definite { .. } => Some(ErrorKind::Definite),
            TaskError::Transient(_) => Some(ErrorKind::Transient),
            TaskError::Deposed(_) | TaskError::Stopped => None,
        }
    }
}

impl From<SinkError> for TaskError {
    fn from(error: SinkError) -> TaskError {
        let text = error_chain(&error);
        if error.is_fenced() {
            TaskError::Fenced(text)
        } else if error.is_transient() {
            TaskError::Transient(text)
        } else {
            TaskError::Definite {
                error: text,
                remedy: error.remedy(),
            }
        }
    }
}

impl From<SourceError> for TaskError {
    fn from(error: SourceError) -> TaskError {
        match error {
            SourceError::Transient(e) => TaskError::Transient(error_chain(&e)),
            SourceError::Definite(e) => TaskError::Definite {
                error: error_chain(&e),
                remedy: e.remedy(),
            },
        }
    }
}

pub async fn run(mut context: TaskContext) {
    let mut backoff = Duration::from_millis(250);
    let mut first_attempt = true;
    loop {
        let started = Instant::now();
        // `attempt` honours the stop signal itself, between deliveries: a
        // Kafka transaction is never abandoned half-way by a stop.
        let result = attempt(&context, std::mem::take(&mut first_attempt)).await;
        context.node.registry.connector(&context.name).attempt_failed(result.as_ref().err().and_then(TaskError::metric_kind));
        match result {
            Ok(()) | Err(TaskError::Stopped) => return,
            Err(TaskError::Deposed(why)) => {
                tracing::warn!(connector = %context.name, epoch = context.epoch, %why, "deposed; stopping");
                return;
            }
            Err(TaskError::Fenced(why)) if check_epoch(&context).await.is_err() => {
                tracing::warn!(connector = %context.name, epoch = context.epoch, %why, "fenced by a newer owner; stopping");
                return;
            }
            Err(TaskError::Fenced(why)) => {
                // Still the owner by Raft: a stale node fenced us; fence back.
                tracing::warn!(connector = %context.name, epoch = context.epoch, %why, "fenced while still the owner; reopening");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop_requested(&mut context.stopped) => return,
                }
            }
            Err(TaskError::Definite { error, remedy }) => {
                tracing::error!(connector = %context.name, %error, %remedy, "connector failed");
                report(&context, TaskState::Failed, Some(error), Some(remedy)).await;
                return;
            }
            Err(TaskError::Transient(error)) => {
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = Duration::from_millis(250);
                }
                tracing::warn!(connector = %context.name, %error, retry_in_ms = backoff.as_millis() as u64, "transient failure; restarting from the committed position");
                report(&context, TaskState::Starting, Some(error), Some("retrying with backoff".into())).await;
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop_requested(&mut context.stopped) => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(15));
            }
        }
    }
}

/// The task's status, under its epoch.
fn status(context: &TaskContext, state: TaskState, error: Option<String>, remedy: Option<String>) -> Command {
    Command::ReportTaskStatus {
        name: context.name.clone(),
        epoch: context.epoch,
        node_id: context.node.id,
        state,
        error,
        remedy,
    }
}

/// Reports the task's state under its epoch (best effort: a stale epoch
/// means a newer owner reports for the connector now).
async fn report(context: &TaskContext, state: TaskState, error: Option<String>, remedy: Option<String>) {
    if let Err(error) = context.node.propose(status(context, state, error, remedy)).await {
        tracing::debug!(connector = %context.name, error = %error_chain(&error), "cannot report task status");
    }
}

/// One pass of the takeover sequence and the delivery loop.
async fn attempt(context: &TaskContext, first_attempt: bool) -> Result<(), TaskError> {
    let node = &context.node;
    let mut stopped = context.stopped.clone();
    if *stopped.borrow() {
        return Err(TaskError::Stopped);
    }
    // The config was validated by the front door when it was created or
    // updated; what is checked here are facts of this node: the TLS files
    // on its disk and its Kafka bootstrap servers.
    let config = ConnectorConfig::parse(&context.config).map_err(|e| TaskError::Definite {
        error: e.to_string(),
        remedy: "fix the property with `raftcdc connector update`".into(),
    })?;
    config.source.tls.check_files().map_err(|e| TaskError::Definite {
        error: e.to_string(),
        remedy: "put the file on every node that can own the connector, or fix the property with `raftcdc connector update`".into(),
    })?;
    let bootstrap = node.config.kafka_bootstrap_servers.clone().ok_or_else(|| TaskError::Definite {
        error: "kafka.bootstrap_servers is not set in this node's config".into(),
        remedy: "set [kafka] bootstrap_servers in every node's config file and restart the nodes".into(),
    })?;
    let sink_config = config.sink(&node.config.cluster_name, &context.name, &bootstrap).map_err(|e| TaskError::Definite {
        error: e.to_string(),
        remedy: "set [kafka] bootstrap_servers in this node's config file and restart it".into(),
    })?;
    // With transforms, the source hands the chain its schemas by reference
    // with payload-only records (the chain reads them into Connect
    // records), and the chain writes the user's converter format.
    let chain = (!config.transforms.is_empty()).then(|| TransformChain::new(&config.transforms, config.output_format()));
    let signals = config.signals.clone();
    let signal_connection = sink_config.connection_overrides().into_iter().collect::<BTreeMap<_, _>>();
    let mut source_config = config.source;
    if chain.is_some() {
        source_config.encoding.key_schemas_enable = true;
        source_config.encoding.value_schemas_enable = true;
        source_config.encoding.schemas_by_reference = true;
    }
    let source_config = Arc::new(source_config);

    // 0. Prove through Raft that this epoch is current before touching
    // Kafka, so a node that only *believes* it owns the connector (a stale
    // leader just after its restart, say) never fences the real owner.
    claim(context).await?;
    super::fault::reached(super::fault::Point::AfterClaim, &context.name);
    // 1. Fence every older producer of this connector. Reading is safe to
    // abandon on stop; opening is not: `init_transactions` runs on the
    // blocking pool and cannot be cancelled, so a task that returned
    // without waiting for it could fence its successor later.
    let open = KafkaSink::open(sink_config);
    tokio::pin!(open);
    let mut sink = tokio::select! {
        sink = &mut open => sink?,
        _ = stop_requested(&mut stopped) => {
            drop(open.await);
            return Err(TaskError::Stopped);
        }
    };
    // 2. Where committed output ends.
    let progress = tokio::select! {
        progress = sink.read_progress(&context.name, &context.incarnation) => progress?,
        _ = stop_requested(&mut stopped) => return Err(TaskError::Stopped),
    };
    let (raft_offset, history, raft_snapshot) = node
        .read_connector(&context.name, |c| (c.offset.clone(), c.schema_history.clone(), c.snapshot.clone()))
        .await
        .unwrap_or_default();
    let unconfirmed = unconfirmed_snapshot(progress.as_ref(), raft_offset.as_ref(), raft_snapshot.as_ref());
    let resume = resume_point(progress, raft_offset);
    // 3. Confirm through Raft, now that `init_transactions` is done, that
    // the epoch is still current. An owner whose `init_transactions`
    // completed late (frozen, or cut off from the broker) may have fenced
    // a newer owner meanwhile; it must not produce, and this write fails
    // for it. Any owner after this one must call `init_transactions`
    // itself, which fences this producer before the newer owner reads
    // progress, so whatever this owner commits from here on is seen.
    propose_as_owner(context, status(context, TaskState::Running, None, None), "confirm ownership").await?;
    // Snapshot progress the previous owner delivered to Kafka but not to
    // Raft goes to Raft, with the offset it was delivered with, before
    // anything else is delivered (see [`unconfirmed_snapshot`]).
    if let Some((offset, snapshot)) = unconfirmed {
        tracing::info!(connector = %context.name, ?snapshot, "committing the snapshot progress the previous owner delivered to Kafka only");
        let command = Command::CommitOffset {
            name: context.name.clone(),
            epoch: context.epoch,
            offset,
            schema_history: Vec::new(),
            snapshot: Some(snapshot),
        };
        propose_as_owner(context, command, "commit the delivered snapshot progress").await?;
    }
    tracing::info!(connector = %context.name, epoch = context.epoch, resume = ?resume, "task starting");

    // 5. Stream.
    // The source hands over one batch at a time; the gate bounds what is
    // queued and pending by records and bytes (see [`super::queue`]).
    let (tx, source_rx) = mpsc::channel::<Batch>(1);
    let (gated, _gate) = super::queue::gate(
        source_rx,
        QueueBounds {
            records: source_config.max_queue_size,
            bytes: source_config.max_queue_bytes,
        },
    );
    let max_transaction_bytes = source_config.max_queue_bytes.map_or(usize::MAX, |bytes| bytes / 2);
    let max_transaction_records = source_config.max_batch_size.max(source_config.max_queue_size / 2);
    // With transforms, batches pass through the chain on its own thread
    // on their way here, so transforming one batch overlaps the Kafka
    // transaction of the one before.
    let (mut rx, transform_failure) = match chain {
        Some(chain) => {
            let (rx, failure) = super::queue::transform_batches(chain, gated);
            (rx, Some(failure))
        }
        None => (gated, None),
    };
    let (_request_watcher, requests) = follow_snapshot_requests(context);
    let _kafka_signals = signals
        .channels
        .kafka
        .then(|| follow_kafka_signals(context, signals.clone(), &bootstrap, signal_connection));
    let (reports, _report_forwarder) = forward_source_reports(context);
    let source = MySqlSource::new(source_config.clone(), first_attempt)
        .with_schema_history(history)
        .with_snapshot_requests(requests)
        .with_reports(reports);
    let mut source_task = AbortOnDrop(tokio::spawn(async move { source.run(resume, tx).await }.in_current_span()));

    let mut committer = OffsetCommitter::start(context);
    let mut pending = Pending::default();
    let deadline = source_config.poll_interval;
    let outcome = loop {
        let timer = tokio::time::sleep(pending.time_left(deadline));
        tokio::select! {
            batch = rx.recv() => match batch {
                Some((batch, held)) => pending.add(batch, held),
                None => {
                    // The source (or the transform chain) ended: deliver
                    // what it produced, then report why.
                    if let Err(error) = deliver(context, &mut sink, &mut pending, &mut committer).await {
                        break Err(error);
                    }
                    if let Some(error) = transform_failure.as_ref().and_then(|f| f.lock().ok().and_then(|mut e| e.take())) {
                        break Err(TaskError::Definite {
                            error,
                            remedy: "fix or remove the transform with `raftcdc connector update`".into(),
                        });
                    }
                    break match (&mut source_task.0).await {
                        Ok(Ok(())) => Err(TaskError::Transient("the source stopped".into())),
                        Ok(Err(error)) => Err(error.into()),
                        Err(join) => Err(TaskError::Transient(format!("the source task failed: {join}"))),
                    };
                }
            },
            _ = timer, if pending.has_work() => {}
            // Undelivered batches are simply not committed: whoever runs
            // the connector next re-reads them from the committed offset.
            _ = stop_requested(&mut stopped) => break Err(TaskError::Stopped),
            // The committer ends early only when Raft deposed this epoch.
            deposed = committer.deposed() => break Err(deposed),
        }
        if pending.full(source_config.max_batch_size, max_transaction_bytes) || (pending.has_work() && pending.time_left(deadline).is_zero()) {
            pending.take_queued(&mut rx, max_transaction_records, max_transaction_bytes);
            if let Err(error) = deliver(context, &mut sink, &mut pending, &mut committer).await {
                break Err(error);
            }
        }
    };
    // Whatever ended the attempt, offsets Kafka already holds go to Raft
    // too (best effort: Kafka's progress record stays authoritative).
    drop(source_task);
    committer.finish().await;
    outcome
}

/// The connector's incremental snapshot request as the replicated state
/// has it, kept current for the source (which must not depend on Raft).
fn follow_snapshot_requests(
    context: &TaskContext,
) -> (AbortOnDrop<()>, watch::Receiver<Option<IncrementalRequest>>) {
    let (tx, rx) = watch::channel(None);
    let node = context.node.clone();
    let name = context.name.clone();
    let watcher = tokio::spawn(async move {
        let mut changes = node.subscribe_changes();
        loop {
            // Runs after every applied entry: read the one field.
            let current = node.read_connector(&name, |c| c.incremental.clone()).await.ok().flatten();
            tx.send_if_modified(|request| {
                let changed = *request != current;
                *request = current;
                changed
            });
            if changes.changed().await.is_err() {
                return;
            }
        }
    });
    (AbortOnDrop(watcher), rx)
}

/// The Kafka signal channel: reads the signal topic from the position the
/// replicated state records and applies each signal through Raft, in
/// order, retrying a proposal that fails until it is applied (or the
/// epoch is gone). Ends with the attempt; the reader thread ends with it.
fn follow_kafka_signals(
    context: &TaskContext,
    config: SignalConfig,
    node_bootstrap: &str,
    connection: BTreeMap<String, String>,
) -> AbortOnDrop<()> {
    let node = context.node.clone();
    let name = context.name.clone();
    let epoch = context.epoch;
    let bootstrap = config.kafka_bootstrap_servers.clone().unwrap_or_else(|| node_bootstrap.to_string());
    // The sink's TLS/SASL settings apply only to the node's own brokers.
    let connection = if config.kafka_bootstrap_servers.is_some() { BTreeMap::new() } else { connection };
    let follower = tokio::spawn(
        async move {
            let start = match node.read_connector(&name, |c| c.signals.kafka_position).await {
                Ok(start) => start,
                Err(_) => return,
            };
            let mut signals = crate::signal::kafka::read_signals(config, bootstrap, connection, start);
            while let Some(signal) = signals.recv().await {
                let mut backoff = Duration::from_millis(100);
                loop {
                    match apply_signal(&node, &name, epoch, &signal).await {
                        Ok(()) => break,
                        Err(TaskError::Deposed(_)) => return,
                        Err(error) => {
                            tracing::warn!(connector = %name, %error, "kafka signal channel: applying a signal failed; retrying");
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                    }
                }
            }
        }
        .in_current_span(),
    );
    AbortOnDrop(follower)
}

/// Acts on one signal through Raft under `epoch` (rule 8 of
/// [`crate::raft::state`] drops a repeat); a `log` signal is written to
/// this owner's log once its entry applied and was not a repeat.
async fn apply_signal(node: &Node, name: &str, epoch: u64, signal: &ReceivedSignal) -> Result<(), TaskError> {
    let Some(action) = signal.action.clone() else { return Ok(()) };
    let command = Command::ApplySignal { name: name.to_string(), epoch, origin: signal.origin.clone(), action: action.clone() };
    let signal_name = signal.origin.describe();
    match node.propose(command).await {
        Ok(_) => {
            match &action {
                SignalAction::Log { message } => tracing::info!(connector = %name, signal = %signal_name, "{message}"),
                SignalAction::Refused { reason } => tracing::warn!(connector = %name, signal = %signal_name, %reason, "signal not acted on"),
                other => tracing::info!(connector = %name, signal = %signal_name, action = other.name(), "signal applied"),
            }
            Ok(())
        }
        Err(NodeError::Rejected(CommandError::SignalRepeated { .. })) => {
            tracing::info!(connector = %name, signal = %signal_name, "signal already applied; not acted on again");
            Ok(())
        }
        Err(error) => Err(owner_write_error(epoch, error, &format!("apply {signal_name}"))),
    }
}

/// What the source reports besides batches (binlog retention, the server
/// it reads), proposed
/// to Raft under the task's epoch; a stale epoch's write is rejected there
/// (best effort: the next measurement tries again).
fn forward_source_reports(context: &TaskContext) -> (mpsc::Sender<SourceReport>, AbortOnDrop<()>) {
    let (tx, mut rx) = mpsc::channel::<SourceReport>(16);
    let node = context.node.clone();
    let name = context.name.clone();
    let epoch = context.epoch;
    let forwarder = tokio::spawn(
        async move {
            let mut last_server = None;
            while let Some(report) = rx.recv().await {
                let command = match report {
                    SourceReport::Retention(retention) => Command::RecordBinlogRetention {
                        name: name.clone(),
                        epoch,
                        retention,
                    },
                    // Every connection attempt reports its server; Raft
                    // records it once per server per epoch.
                    SourceReport::Server { address, server_id } => {
                        if last_server.as_ref() == Some(&(address.clone(), server_id)) {
                            continue;
                        }
                        last_server = Some((address.clone(), server_id));
                        Command::RecordSourceServer {
                            name: name.clone(),
                            epoch,
                            address,
                            server_id,
                        }
                    }
                };
                if let Err(error) = node.propose(command).await {
                    tracing::debug!(connector = %name, error = %error_chain(&error), "cannot record a source report");
                }
            }
        }
        .in_current_span(),
    );
    (tx, AbortOnDrop(forwarder))
}

/// Resolves once the supervisor asks the task to stop (the watch guard is
/// dropped inside, so the future stays `Send`).
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// Commits a `STARTING` status under the task's epoch. The state machine
/// applies it only while the epoch is current, and only a leader with a
/// quorum can commit it, so success proves the task may fence Kafka now.
async fn claim(context: &TaskContext) -> Result<(), TaskError> {
    propose_as_owner(context, status(context, TaskState::Starting, None, None), "confirm ownership").await
}

/// Proposes an owner write that must be applied before the task goes on:
/// a stale epoch or a deleted connector means deposed, any other failure
/// is transient (`what` says what could not be done).
async fn propose_as_owner(context: &TaskContext, command: Command, what: &str) -> Result<(), TaskError> {
    match context.node.propose(command).await {
        Ok(_) => Ok(()),
        Err(error) => Err(owner_write_error(context.epoch, error, what)),
    }
}

/// What a failed owner write under `epoch` means for the task: a stale
/// epoch or a deleted connector means deposed, anything else is transient
/// (`what` says what could not be done).
fn owner_write_error(epoch: u64, error: NodeError, what: &str) -> TaskError {
    match error {
        NodeError::Rejected(CommandError::StaleEpoch { current, .. }) => TaskError::Deposed(format!("epoch {epoch} is now {current}")),
        NodeError::Rejected(CommandError::NotFound { .. }) => TaskError::Deposed("the connector was deleted".into()),
        error => TaskError::Transient(format!("cannot {what} through Raft: {}", error_chain(&error))),
    }
}

/// Fails with `Deposed` if this task's epoch is no longer current.
async fn check_epoch(context: &TaskContext) -> Result<(), TaskError> {
    match context.node.read_connector(&context.name, |c| c.epoch).await {
        Ok(epoch) if epoch == context.epoch => Ok(()),
        Ok(epoch) => Err(TaskError::Deposed(format!("epoch {} is now {epoch}", context.epoch))),
        Err(_) => Err(TaskError::Deposed("the connector was deleted".into())),
    }
}

/// Source batches waiting to be delivered in one Kafka transaction.
#[derive(Default)]
struct Pending {
    records: Vec<Record>,
    offset: Option<serde_json::Value>,
    schema_history: Vec<serde_json::Value>,
    snapshot: Option<SnapshotProgress>,
    signals: Vec<ReceivedSignal>,
    since: Option<Instant>,
    /// The queue permits of the batches above: given back when their
    /// transaction is over (see [`super::queue`]).
    held: Vec<Held>,
}

impl Pending {
    fn add(&mut self, batch: Batch, held: Held) {
        self.since.get_or_insert_with(Instant::now);
        self.held.push(held);
        self.records.extend(batch.records);
        self.schema_history.extend(batch.schema_history);
        self.signals.extend(batch.signals);
        self.offset = Some(batch.offset);
        if batch.snapshot.is_some() {
            self.snapshot = batch.snapshot;
        }
    }

    /// Adds the batches already waiting in `queue` while the pending
    /// records stay under `max_records` and `max_bytes` (half the queue's
    /// bounds, so the source can go on reading while they are delivered).
    /// Behind a backlog this makes fewer, larger transactions, and each
    /// commit's round trips are shared by more records; with no backlog
    /// nothing is waiting, and a transaction is what it was.
    fn take_queued(&mut self, queue: &mut Gated, max_records: usize, max_bytes: usize) {
        while !self.full(max_records, max_bytes) {
            match queue.try_recv() {
                Ok((batch, held)) => self.add(batch, held),
                Err(_empty_or_closed) => return,
            }
        }
    }

    fn has_work(&self) -> bool {
        self.offset.is_some()
    }

    /// Whether the pending records fill a transaction: `max.batch.size`
    /// records, or half the queue's byte bound (so the next transaction's
    /// batches can queue while this one is delivered).
    fn full(&self, max_records: usize, max_bytes: usize) -> bool {
        self.records.len() >= max_records || self.held.iter().map(Held::bytes).sum::<usize>() >= max_bytes
    }

    fn time_left(&self, deadline: Duration) -> Duration {
        match self.since {
            Some(since) => deadline.saturating_sub(since.elapsed()),
            None => deadline,
        }
    }
}

/// Records the pending batches' schema history in Raft, delivers them as
/// one Kafka transaction, then hands the offset to the [`OffsetCommitter`].
async fn deliver(
    context: &TaskContext,
    sink: &mut KafkaSink,
    pending: &mut Pending,
    committer: &mut OffsetCommitter,
) -> Result<(), TaskError> {
    let Some(offset) = pending.offset.take() else { return Ok(()) };
    let records = std::mem::take(&mut pending.records);
    let schema_history = std::mem::take(&mut pending.schema_history);
    let snapshot = pending.snapshot.take();
    let carried = committer.carried(snapshot.as_ref());
    let signals = std::mem::take(&mut pending.signals);
    pending.since = None;
    // Given back when the transaction is over, whatever its outcome.
    let _held = std::mem::take(&mut pending.held);
    let progress = Progress {
        connector: context.name.clone(),
        incarnation: Some(context.incarnation.clone()),
        epoch: context.epoch,
        offset,
        snapshot: carried,
    };
    if !schema_history.is_empty() {
        record_history(context, schema_history).await?;
    }
    // Signals act before their batch is in Kafka (see the module docs); a
    // transient failure restarts from the committed position, before them.
    if !signals.is_empty() {
        for signal in &signals {
            apply_signal(&context.node, &context.name, context.epoch, signal).await?;
        }
        super::fault::reached(super::fault::Point::AfterSignal, &context.name);
    }
    let began = Instant::now();
    sink.deliver(&records, &progress).await?;
    if snapshot.as_ref().is_some_and(|s| s.completed && !s.incremental) {
        super::fault::reached(super::fault::Point::AfterSnapshotDelivered, &context.name);
    }
    context.node.registry.connector(&context.name).delivered(&records, &progress.offset, began.elapsed(), sink.last_commit_duration());
    let new_topics = unrecorded_topics(context, &records).await;
    committer
        .commit(Commit {
            offset: progress.offset,
            snapshot,
            new_topics,
        })
        .await
}

/// The topics `records` were written to that the connector's replicated
/// active topics do not list (read from this node's applied state).
async fn unrecorded_topics(context: &TaskContext, records: &[Record]) -> Vec<String> {
    let mut topics: Vec<&str> = Vec::new();
    for record in records {
        if topics.last() != Some(&record.topic.as_str()) && !topics.contains(&record.topic.as_str()) {
            topics.push(&record.topic);
        }
    }
    context
        .node
        .read_connector(&context.name, |c| {
            topics.iter().filter(|t| !c.active_topics.contains(**t)).map(|t| t.to_string()).collect()
        })
        .await
        .unwrap_or_default()
}

/// Writes a batch's schema history entries to Raft under the task's epoch,
/// before the batch goes to Kafka (see the module docs).
async fn record_history(context: &TaskContext, entries: Vec<serde_json::Value>) -> Result<(), TaskError> {
    let command = Command::RecordSchemaHistory {
        name: context.name.clone(),
        epoch: context.epoch,
        entries,
    };
    // A transient failure restarts from the committed position: nothing
    // of the batch is in Kafka yet, so the DDLs are read again.
    propose_as_owner(context, command, "record schema history").await
}

/// Step 3 of the takeover: where to resume. Kafka's progress record is
/// where committed output ends, and the Raft offset, which owners commit
/// only after Kafka, is never later, so Kafka's wins; an older-epoch Kafka
/// record that is later than a newer-epoch Raft offset is exactly the
/// output a late owner committed before it was fenced, and must not be
/// replayed. The one exception is an operator's `offsets set`, which
/// raised the epoch past every record in Kafka and is marked as such.
/// Without a Kafka record (a new connector, or a progress topic deleted),
/// the Raft offset is all there is.
fn resume_point(kafka: Option<Progress>, raft: Option<OffsetRecord>) -> Option<serde_json::Value> {
    match (kafka, raft) {
        (Some(kafka), Some(raft)) if raft.set_by_operator && raft.epoch > kafka.epoch => Some(raft.offset),
        (Some(kafka), _) => Some(kafka.offset),
        (None, raft) => raft.map(|r| r.offset),
    }
}

/// The snapshot progress in Kafka's newest progress record that Raft does
/// not have, with the offset to commit it with: the previous owner
/// delivered it, then died (or its Raft commit failed) before Raft had it.
/// Its successor resumes from Kafka's record, past the batches that carried
/// the progress, so nobody would ever commit it otherwise: a snapshot whose
/// last batch was delivered would stay shown as unfinished under a
/// streaming offset. `None` when Raft's offset is the resume point (an
/// operator's `offsets set`, see [`resume_point`]) or already has it.
fn unconfirmed_snapshot(
    kafka: Option<&Progress>,
    raft: Option<&OffsetRecord>,
    raft_snapshot: Option<&SnapshotProgress>,
) -> Option<(serde_json::Value, SnapshotProgress)> {
    let kafka = kafka?;
    let snapshot = kafka.snapshot.as_ref()?;
    if raft.is_some_and(|r| r.set_by_operator && r.epoch > kafka.epoch) || raft_snapshot == Some(snapshot) {
        return None;
    }
    Some((kafka.offset.clone(), snapshot.clone()))
}

/// Raft committed `committed`: if it is the newest delivered snapshot
/// progress, progress records need not carry it any more.
fn confirm_snapshot(unconfirmed: &Mutex<Option<SnapshotProgress>>, committed: Option<&SnapshotProgress>) {
    let mut unconfirmed = unconfirmed.lock().unwrap_or_else(|e| e.into_inner());
    if committed.is_some() && unconfirmed.as_ref() == committed {
        *unconfirmed = None;
    }
}

/// One delivered batch's offset commit.
struct Commit {
    offset: serde_json::Value,
    snapshot: Option<SnapshotProgress>,
    /// Topics this delivery wrote to that the connector's active topics
    /// did not list yet.
    new_topics: Vec<String>,
}

impl Commit {
    /// Folds a later commit into this one: its offset and snapshot
    /// progress supersede.
    fn absorb(&mut self, later: Commit) {
        self.offset = later.offset;
        if later.snapshot.is_some() {
            self.snapshot = later.snapshot;
        }
        self.new_topics.extend(later.new_topics);
    }
}

/// Commits delivered offsets to Raft in the background, in delivery order,
/// so the Raft round trip of one batch overlaps the Kafka transaction of
/// the next.
///
/// Correctness does not change: the Raft offset still only follows Kafka's
/// progress record (a commit is queued only after its Kafka commit
/// returned) and is still written under the task's epoch. It can now lag
/// Kafka by the batches queued here instead of one; the takeover reads
/// Kafka's progress first, so a lag never repeats output. Commits that
/// queue up while one is in flight are folded into one proposal
/// ([`Commit::absorb`]), so a slow Raft costs fewer proposals, not a
/// longer queue; the queue is bounded, so a Raft that cannot commit at
/// all stops delivery instead of growing memory.
///
/// It also records the connector's active topics (Kafka Connect's
/// `GET /connectors/{name}/topics`): topics a committed delivery wrote to
/// that the replicated list lacks ([`unrecorded_topics`]) are proposed
/// (`RecordTopics`) before that delivery's offset. A failed proposal is
/// retried with the next commit; it never holds up delivery. Recording is
/// idempotent, so a topic proposed twice while the first proposal is in
/// flight costs one spare entry, and a topic written again after an
/// operator's reset is simply listed again.
///
/// Snapshot progress is committed only here, so a commit that fails (or
/// never happens: the owner dies first) must not lose it. A failed
/// commit's progress is carried into the next commit, and until Raft has
/// confirmed the newest delivered progress, every delivery's progress
/// record carries it too ([`OffsetCommitter::carried`]); a new owner
/// commits it from there ([`unconfirmed_snapshot`]).
struct OffsetCommitter {
    queue: Option<mpsc::Sender<Commit>>,
    worker: AbortOnDrop<TaskError>,
    /// The newest snapshot progress delivered and not yet committed to
    /// Raft.
    unconfirmed: Arc<Mutex<Option<SnapshotProgress>>>,
}

impl OffsetCommitter {
    fn start(context: &TaskContext) -> OffsetCommitter {
        let (queue, mut commits) = mpsc::channel::<Commit>(8);
        let node = context.node.clone();
        let name = context.name.clone();
        let epoch = context.epoch;
        let unconfirmed = Arc::new(Mutex::new(None::<SnapshotProgress>));
        let confirmed = unconfirmed.clone();
        let worker = tokio::spawn(
            async move {
                let mut unrecorded = BTreeSet::new();
                // The progress of a commit Raft refused, for the next one.
                let mut failed_snapshot: Option<SnapshotProgress> = None;
                while let Some(mut commit) = commits.recv().await {
                    while let Ok(later) = commits.try_recv() {
                        commit.absorb(later);
                    }
                    let failed = failed_snapshot.take();
                    if commit.snapshot.is_none() {
                        commit.snapshot = failed;
                    }
                    unrecorded.extend(std::mem::take(&mut commit.new_topics));
                    if !unrecorded.is_empty() {
                        let command = Command::RecordTopics {
                            name: name.clone(),
                            epoch,
                            topics: unrecorded.iter().cloned().collect(),
                        };
                        match node.propose(command).await {
                            Ok(_) => unrecorded.clear(),
                            Err(NodeError::Rejected(CommandError::StaleEpoch { current, .. })) => {
                                return TaskError::Deposed(format!("Raft rejected epoch {epoch} (current {current})"));
                            }
                            Err(error) => {
                                tracing::warn!(connector = %name, error = %error_chain(&error), "recording active topics failed; retried with the next commit");
                            }
                        }
                    }
                    let command = Command::CommitOffset {
                        name: name.clone(),
                        epoch,
                        offset: commit.offset,
                        schema_history: Vec::new(),
                        snapshot: commit.snapshot.clone(),
                    };
                    match node.propose(command).await {
                        Ok(_) => confirm_snapshot(&confirmed, commit.snapshot.as_ref()),
                        Err(NodeError::Rejected(CommandError::StaleEpoch { current, .. })) => {
                            return TaskError::Deposed(format!("Raft rejected epoch {epoch} (current {current})"));
                        }
                        // Kafka holds the progress; the next commit
                        // supersedes this one's offset, and carries its
                        // snapshot progress unless it has newer.
                        Err(error) => {
                            tracing::warn!(connector = %name, error = %error_chain(&error), "offset commit to Raft failed; Kafka progress is authoritative");
                            failed_snapshot = commit.snapshot;
                        }
                    }
                }
                TaskError::Stopped
            }
            .in_current_span(),
        );
        OffsetCommitter {
            queue: Some(queue),
            worker: AbortOnDrop(worker),
            unconfirmed,
        }
    }

    /// The snapshot progress a delivery's progress record carries: the
    /// delivery's own (`delivered`), else the newest one Raft has not
    /// confirmed yet.
    fn carried(&self, delivered: Option<&SnapshotProgress>) -> Option<SnapshotProgress> {
        let mut unconfirmed = self.unconfirmed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(delivered) = delivered {
            *unconfirmed = Some(delivered.clone());
        }
        unconfirmed.clone()
    }

    /// Queues a commit (waits while the queue is full).
    async fn commit(&mut self, commit: Commit) -> Result<(), TaskError> {
        let queue = self.queue.as_ref().expect("queue open until finish");
        if queue.send(commit).await.is_err() {
            return Err(self.deposed().await);
        }
        Ok(())
    }

    /// Resolves only if the worker ended on its own: Raft deposed the task.
    async fn deposed(&mut self) -> TaskError {
        match (&mut self.worker.0).await {
            Ok(error) => error,
            Err(join) => TaskError::Transient(format!("the offset committer failed: {join}")),
        }
    }

    /// Lets the worker commit what is queued, for a bounded time (Raft may
    /// have no quorum; Kafka's progress record covers whatever is left).
    async fn finish(mut self) {
        self.queue = None;
        if self.worker.0.is_finished() {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.worker.0).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn progress(rows: u64) -> SnapshotProgress {
        SnapshotProgress {
            tables_total: 1,
            tables_done: 0,
            rows_read: rows,
            current_table: "db.t".into(),
            last_key: json!([rows]),
            completed: false,
            incremental: false,
        }
    }

    /// Behind a backlog a transaction takes the queued batches up to its
    /// bound, and no further; with nothing queued it stays as it was.
    #[tokio::test]
    async fn a_transaction_takes_what_is_queued_up_to_half_the_queue() {
        use super::super::queue::{gate, tests::batch};
        let (tx, rx) = mpsc::channel(1);
        let (mut queue, _gate) = gate(rx, QueueBounds { records: 100, bytes: None });
        let mut pending = Pending::default();
        for _ in 0..5 {
            tx.send(batch(10, 8)).await.unwrap();
        }
        // The gate lets all five through (its bound is 100 records): the
        // first is received as the loop receives it, then the other four
        // wait in the queue.
        let (first, held) = queue.recv().await.unwrap();
        pending.add(first, held);
        while queue.len() < 4 {
            tokio::task::yield_now().await;
        }
        pending.take_queued(&mut queue, 25, usize::MAX);
        assert_eq!(pending.records.len(), 30, "10 + 10 + 10: the third batch reaches 25");
        assert_eq!(queue.len(), 2);
        pending.take_queued(&mut queue, 1000, usize::MAX);
        assert_eq!(pending.records.len(), 50);
        pending.take_queued(&mut queue, 1000, usize::MAX);
        assert_eq!((pending.records.len(), pending.held.len()), (50, 5), "nothing queued, nothing taken");
    }

    /// Folded commits keep the newest offset and snapshot progress.
    #[test]
    fn absorbed_commits_keep_the_latest_offset_and_progress() {
        let mut commit = Commit { offset: json!({"pos": 1}), snapshot: Some(progress(10)), new_topics: vec!["a".into()] };
        commit.absorb(Commit { offset: json!({"pos": 2}), snapshot: None, new_topics: vec!["b".into()] });
        assert_eq!(commit.new_topics, ["a", "b"]);
        assert_eq!(commit.snapshot, Some(progress(10)), "no progress in a later commit keeps the earlier one");
        commit.absorb(Commit { offset: json!({"pos": 3}), snapshot: Some(progress(20)), new_topics: Vec::new() });
        assert_eq!(commit.offset, json!({"pos": 3}));
        assert_eq!(commit.snapshot, Some(progress(20)));
    }

    fn kafka(epoch: u64, pos: u64) -> Option<Progress> {
        Some(Progress { connector: "c".into(), incarnation: Some("i".into()), epoch, offset: json!({"pos": pos}), snapshot: None })
    }

    fn raft(epoch: u64, pos: u64, set_by_operator: bool) -> Option<OffsetRecord> {
        Some(OffsetRecord { offset: json!({"pos": pos}), epoch, committed_ms: 0, set_by_operator })
    }

    /// A late owner's Kafka commits (older epoch, later position) are not
    /// replayed by a newer owner whose Raft offset is at a newer epoch;
    /// only an operator's offset beats Kafka.
    #[test]
    fn kafka_progress_wins_unless_an_operator_set_the_offset() {
        assert_eq!(resume_point(kafka(1, 500), raft(2, 300, false)), Some(json!({"pos": 500})));
        assert_eq!(resume_point(kafka(2, 500), raft(2, 300, false)), Some(json!({"pos": 500})));
        assert_eq!(resume_point(kafka(2, 500), raft(3, 100, true)), Some(json!({"pos": 100})));
        // An operator's offset older than Kafka's newest record has been
        // consumed already: output continued after it.
        assert_eq!(resume_point(kafka(4, 500), raft(3, 100, true)), Some(json!({"pos": 500})));
        assert_eq!(resume_point(None, raft(2, 300, false)), Some(json!({"pos": 300})));
        assert_eq!(resume_point(None, None), None);
    }

    /// Snapshot progress that reached Kafka but not Raft (the owner died
    /// between the two, say right after the batch completing the snapshot)
    /// is committed by the next owner with Kafka's offset; progress Raft
    /// already has, or an operator's offset, leave nothing to commit.
    #[test]
    fn snapshot_progress_only_in_kafka_is_committed_by_the_next_owner() {
        let completed = SnapshotProgress {
            tables_done: 1,
            completed: true,
            ..progress(30)
        };
        let with = |epoch, pos, snapshot: &SnapshotProgress| Progress {
            snapshot: Some(snapshot.clone()),
            ..kafka(epoch, pos).unwrap()
        };
        let record = with(2, 500, &completed);
        assert_eq!(
            unconfirmed_snapshot(Some(&record), raft(2, 300, false).as_ref(), Some(&progress(20))),
            Some((json!({"pos": 500}), completed.clone()))
        );
        assert_eq!(unconfirmed_snapshot(Some(&record), None, None), Some((json!({"pos": 500}), completed.clone())));
        assert_eq!(unconfirmed_snapshot(Some(&record), raft(2, 500, false).as_ref(), Some(&completed)), None);
        assert_eq!(unconfirmed_snapshot(Some(&record), raft(3, 100, true).as_ref(), Some(&progress(20))), None);
        assert_eq!(unconfirmed_snapshot(kafka(2, 500).as_ref(), raft(2, 300, false).as_ref(), Some(&progress(20))), None);
        assert_eq!(unconfirmed_snapshot(None, raft(2, 300, false).as_ref(), Some(&progress(20))), None);
    }

    /// A delivery's progress record carries its own snapshot progress, and
    /// after it the newest one until Raft confirms it.
    #[tokio::test]
    async fn progress_records_carry_snapshot_progress_until_raft_has_it() {
        let committer = OffsetCommitter {
            queue: None,
            worker: AbortOnDrop(tokio::spawn(async { TaskError::Stopped })),
            unconfirmed: Arc::new(Mutex::new(None)),
        };
        assert_eq!(committer.carried(None), None);
        assert_eq!(committer.carried(Some(&progress(10))), Some(progress(10)));
        assert_eq!(committer.carried(None), Some(progress(10)));
        assert_eq!(committer.carried(Some(&progress(20))), Some(progress(20)));
        // Raft commits an older progress (delivered earlier), then none,
        // then the newest.
        confirm_snapshot(&committer.unconfirmed, Some(&progress(10)));
        confirm_snapshot(&committer.unconfirmed, None);
        assert_eq!(committer.carried(None), Some(progress(20)));
        confirm_snapshot(&committer.unconfirmed, Some(&progress(20)));
        assert_eq!(committer.carried(None), None);
    }
}
