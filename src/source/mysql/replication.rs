//! Streaming: from the binlog to transaction-aligned [`Batch`]es.
//!
//! The connection, the dump request and the loop live here: events are read
//! in their own task, handed to the [`super::reader`] one by one (which
//! owns what each means, and why the offsets are exact), and between
//! transactions the loop steps the incremental snapshot, telling the
//! reader which table's changed rows an open window needs.
//!
//! # A dead link is never waited on
//! The server is asked for a heartbeat (`@master_heartbeat_period`) at a
//! third of `raftcdc.binlog.read.timeout.ms` (at most every second), so a
//! healthy idle stream is never silent for the read timeout; a read that
//! waits longer (a silently dropped TCP link, a frozen server) ends the
//! stream with a transient error and the loop reconnects with backoff from
//! the last batch sent. Connecting, the server checks and opening the
//! stream are bounded by `connect.timeout.ms` plus the read timeout.
//!
//! # Several servers
//! `database.hostname` may list several servers. Each connection attempt
//! tries them in turn, the one read last first, and reads from the first
//! that passes the checks; one that is not the offset's server must also
//! pass the failover rule ([`super::failover`]). The server chosen is
//! reported to the task, which records it through Raft.
//!
//! # MariaDB and MySQL
//! MariaDB: GTID mode through `@mariadb_slave_capability=4` and
//! `@slave_connect_state` (MySQL's GTID dump command is refused by
//! MariaDB); its GTID (162) and annotate (160) events are parsed by hand
//! because mysql_common does not know them, and its compressed events
//! (165-171) are refused ([`super::events`]). MySQL: the
//! GTID dump request with the executed GTID set (`with_gtid`), or
//! file/position when `gtid_mode` is off.
//!
//! The GTID position is sent whole, whatever `gtid.source.includes`/
//! `excludes` say (Debezium narrows it to the sources they keep): it is
//! exactly what was delivered in every domain, so a narrowed one would
//! re-read or skip left-out sources' DDL. The lists act in the reader,
//! on each transaction's rows events ([`super::reader`]).
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::BinlogStreamRequest;
use mysql_common::binlog::events::Event;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::config::{MySqlSourceConfig, SnapshotMode};
use super::ddl::SchemaModel;
use super::error::{classify, DefiniteError, SourceError, TransientError};
use super::failover;
use super::incremental::Incremental;
use super::position::SourceOffset;
use super::reader::{Reader, Watch};
use super::snapshot::{self, Plan};
use super::table_schema::refinements;
use super::validate::{self, ServerInfo};
use crate::source::{AbortOnDrop, Batch, IncrementalRequest, Record, SourceReport};

/// A running MySQL/MariaDB source.
pub struct MySqlSource {
    config: Arc<MySqlSourceConfig>,
    /// The first run of a task (`snapshot.mode=always` snapshots then).
    task_start: bool,
    /// The operator's incremental snapshot request, as Raft has it.
    requests: watch::Receiver<Option<IncrementalRequest>>,
    /// Where binlog retention measurements and the server read go.
    reports: Option<mpsc::Sender<SourceReport>>,
    /// The index in `database.hostname` of the server read last.
    current: AtomicUsize,
    /// The replicated schema history the task started with, replayed
    /// into the table model once ([`snapshot::seed_schema_model`]).
    history: Vec<Value>,
    /// The table model behind `tableChanges` ([`super::ddl`]), kept across
    /// reconnects; seeded once, before the first stream (`model_ready`).
    schema_model: Arc<std::sync::Mutex<SchemaModel>>,
    model_ready: std::sync::atomic::AtomicBool,
}

impl MySqlSource {
    pub fn new(config: Arc<MySqlSourceConfig>, task_start: bool) -> MySqlSource {
        MySqlSource {
            config,
            task_start,
            requests: watch::channel(None).1,
            reports: None,
            current: AtomicUsize::new(0),
            history: Vec::new(),
            schema_model: Arc::default(),
            model_ready: Default::default(),
        }
    }

    /// The connector's replicated schema history, which the table model
    /// behind `tableChanges` is rebuilt from.
    pub fn with_schema_history(mut self, history: Vec<Value>) -> MySqlSource {
        self.history = history;
        self
    }

    /// Measures binlog retention while streaming and sends the results
    /// (and, later, other facts about the server) to `reports`.
    pub fn with_reports(mut self, reports: mpsc::Sender<SourceReport>) -> MySqlSource {
        self.reports = Some(reports);
        self
    }

    /// Follows incremental snapshot requests from `requests`.
    pub fn with_snapshot_requests(mut self, requests: watch::Receiver<Option<IncrementalRequest>>) -> MySqlSource {
        self.requests = requests;
        self
    }

    /// Streams from `start` (a committed offset; `None` for a new
    /// connector) until the receiver is dropped or an error occurs.
    /// Transient errors are retried with backoff from the offset of the
    /// last batch sent; a definite error is returned.
    pub async fn run(&self, start: Option<Value>, out: mpsc::Sender<Batch>) -> Result<(), SourceError> {
        let mut resume = start;
        // errors.max.retries, errors.retry.delay.initial.ms/max.ms.
        let retry = self.config.retry;
        let mut backoff = retry.initial_delay;
        let mut retries: u64 = 0;
        let mut snapshot_due = self.task_start;
        let mut resnapshotted = false;
        loop {
            let mut last_sent = None;
            let began = Instant::now();
            match self.stream_once(resume.clone(), &out, &mut last_sent, &mut snapshot_due).await {
                Ok(()) => return Ok(()),
                Err(SourceError::Definite(DefiniteError::BinlogNotAvailable { .. }))
                    if self.config.snapshot_mode == SnapshotMode::WhenNeeded && !resnapshotted =>
                {
                    tracing::warn!("source: the offset's binlog is purged; snapshot.mode=when_needed takes a new snapshot");
                    resnapshotted = true;
                    resume = None;
                }
                Err(SourceError::Definite(error)) => return Err(error.into()),
                Err(SourceError::Transient(error)) => {
                    if out.is_closed() {
                        return Ok(());
                    }
                    if began.elapsed() > Duration::from_secs(30) {
                        backoff = retry.initial_delay;
                        retries = 0;
                    }
                    if retry.max_retries.is_some_and(|max| retries >= max) {
                        return Err(DefiniteError::RetriesExhausted { retries, source: error }.into());
                    }
                    retries += 1;
                    tracing::warn!(error = %crate::error::error_chain(&error), position = error.position(), retry_in_ms = backoff.as_millis() as u64, "source: transient error; reconnecting");
                    if last_sent.is_some() {
                        resume = last_sent;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(retry.max_delay);
                }
            }
        }
    }

    /// The server to read from: the configured hosts in turn, the one
    /// read last first, until one passes [`check_server`]. With one host
    /// its error is returned as it is; with several, a definite refusal of
    /// every host returns the first refusal, and anything else (some host
    /// down) is a transient error listing why each host was passed over.
    async fn choose_server(
        &self,
        start: Option<Value>,
        snapshot_due: bool,
    ) -> Result<(Arc<MySqlSourceConfig>, ServerInfo, Plan, Option<SourceOffset>), SourceError> {
        let hosts = &self.config.hosts;
        let last = self.current.load(Ordering::Relaxed).min(hosts.len() - 1);
        let order = std::iter::once(last).chain((0..hosts.len()).filter(|i| *i != last));
        let mut reasons = Vec::new();
        let mut refusal = None;
        let mut transient = false;
        for index in order {
            let config = Arc::new(self.config.for_host(&hosts[index]));
            let address = format!("{}:{}", config.hostname, config.port);
            match bounded(&config, "checking the server", check_server(&config, start.clone(), snapshot_due)).await {
                Ok((server, plan, from)) => {
                    if index != last {
                        tracing::warn!(server = %address, server_id = server.server_id, "source: switched to this server");
                    }
                    self.current.store(index, Ordering::Relaxed);
                    if let Some(reports) = &self.reports {
                        let _ = reports.send(SourceReport::Server { address, server_id: server.server_id }).await;
                    }
                    return Ok((config, server, plan, from));
                }
                Err(error) if hosts.len() == 1 => return Err(error),
                Err(error) => {
                    tracing::warn!(server = %address, error = %crate::error::error_chain(&error), "source: this server cannot be read now; trying the next");
                    reasons.push(format!("{address}: {}", crate::error::error_chain(&error)));
                    match error {
                        SourceError::Transient(_) => transient = true,
                        SourceError::Definite(_) => {
                            refusal.get_or_insert(error);
                        }
                    }
                }
            }
        }
        match refusal {
            Some(error) if !transient => Err(error),
            _ => Err(TransientError::NoServer { tried: reasons.join("; ") }.into()),
        }
    }

    /// One connection's worth of streaming.
    async fn stream_once(
        &self,
        start: Option<Value>,
        out: &mpsc::Sender<Batch>,
        last_sent: &mut Option<Value>,
        snapshot_due: &mut bool,
    ) -> Result<(), SourceError> {
        let (config, server, plan, stream_from) = self.choose_server(start, *snapshot_due).await?;
        let config = &config;
        let offset = match (stream_from, plan) {
            (Some(offset), _) => offset,
            (None, Plan::Idle) => {
                tracing::info!("source: snapshot.mode=initial_only and the snapshot is complete; not streaming");
                out.closed().await;
                return Ok(());
            }
            (None, plan) => {
                *snapshot_due = false;
                let resume = match plan {
                    Plan::ResumeSnapshot(offset) => Some(offset),
                    _ => None,
                };
                let Some(offset) = snapshot::run(config, &server, resume, out, last_sent).await? else {
                    return Ok(());
                };
                if config.snapshot_mode == SnapshotMode::InitialOnly {
                    tracing::info!("source: snapshot.mode=initial_only: snapshot complete; not streaming");
                    out.closed().await;
                    return Ok(());
                }
                offset
            }
        };
        if config.snapshot_mode == SnapshotMode::Recovery && *snapshot_due {
            *snapshot_due = false;
            let batch = snapshot::schema_history_batch(config, &server, &offset).await?;
            let sent = batch.offset.clone();
            if out.send(batch).await.is_err() {
                return Ok(());
            }
            *last_sent = Some(sent);
        }
        // From here on a retry resumes at this offset, not at a newer
        // "current" position: nothing after it has been delivered.
        *last_sent = Some(offset.to_json());

        let gtid_text = offset.gtids.as_ref().map(|g| g.to_string());
        let stream = bounded(config, "opening the binlog stream", open_stream(config, &server, &offset, gtid_text.as_deref())).await?;
        tracing::info!(file = %offset.file, pos = offset.pos, gtids = ?gtid_text, "source: streaming");

        let (position_tx, position_rx) = watch::channel((offset.file.clone(), offset.pos));
        let _retention = self
            .reports
            .clone()
            .map(|reports| AbortOnDrop(tokio::spawn(super::retention::follow(config.clone(), position_rx, reports))));
        if !self.model_ready.load(Ordering::Relaxed) {
            snapshot::seed_schema_model(config, &self.history, &self.schema_model).await?;
            self.model_ready.store(true, Ordering::Relaxed);
        }
        let mut reader = Reader::new(config.clone(), server.clone(), &offset);
        reader.schema_model = self.schema_model.clone();
        let mut incremental = Incremental::new(config.clone(), server, self.requests.clone());
        // The network read runs in its own task, handing over whatever
        // events are ready (up to a chunk) without waiting for more, so
        // reading and decoding use two cores without adding latency.
        // A read that waits longer than the read timeout (heartbeats
        // included) means a dead link or a frozen server: the task says so
        // and stops, and the loop reconnects.
        let (events_tx, mut events_rx) = mpsc::channel::<Read>(8);
        let read_timeout = config.binlog_read_timeout;
        let reader_task = tokio::spawn(async move {
            let mut chunks = stream.ready_chunks(512);
            loop {
                let read = match tokio::time::timeout(read_timeout, chunks.next()).await {
                    Ok(Some(chunk)) => Read::Events(chunk),
                    Ok(None) => break,
                    Err(_) => Read::Silent,
                };
                let silent = matches!(read, Read::Silent);
                if events_tx.send(read).await.is_err() || silent {
                    break;
                }
            }
        });
        let _abort_reader = AbortOnDrop(reader_task);
        let mut schema_conn: Option<mysql_async::Conn> = None;
        loop {
            // With an incremental snapshot to advance, don't wait for events.
            let chunk = if incremental.wants_steps(reader.incremental.as_ref()) {
                tokio::select! {
                    chunk = events_rx.recv() => chunk,
                    _ = tokio::time::sleep(Duration::from_millis(5)) => Some(Read::Events(Vec::new())),
                }
            } else {
                events_rx.recv().await
            };
            let chunk = match chunk {
                Some(Read::Events(chunk)) => chunk,
                Some(Read::Silent) => {
                    return Err(TransientError::Silent {
                        position: reader.position(),
                        waited_ms: read_timeout.as_millis() as u64,
                    }
                    .into())
                }
                None => break,
            };
            for event in chunk {
                let event = event.map_err(|e| classify(e, &reader.position(), &config.user, config.server_id))?;
                if let Some((db, table)) = reader.needs_refinement(&event) {
                    if schema_conn.is_none() {
                        schema_conn = Some(validate::connect_for_queries(config).await?);
                    }
                    let conn = schema_conn.as_mut().expect("just connected");
                    let refined = refinements(conn, &db, &table).await?;
                    reader.refined.insert((db, table), refined);
                }
                for batch in reader.handle(&event)? {
                    if config.heartbeat_action_query.is_some() && is_heartbeat(&batch, config) {
                        heartbeat_action(config, &mut schema_conn).await?;
                    }
                    let offset = batch.offset.clone();
                    if out.send(batch).await.is_err() {
                        return Ok(());
                    }
                    *last_sent = Some(offset);
                }
            }
            if let Some(watch) = reader.watch.as_mut() {
                incremental.observe_rows(watch.touched.drain(..));
            }
            position_tx.send_if_modified(|(file, pos)| {
                let changed = *file != reader.file || *pos != reader.pos;
                if changed {
                    file.clone_from(&reader.file);
                    *pos = reader.pos;
                }
                changed
            });
            if reader.between_transactions() {
                let (file, pos) = (reader.file.clone(), reader.pos);
                let stepped = incremental.step(&mut reader.incremental, &file, pos).await?;
                reader.watch = incremental.watched().map(|(db, table, key)| Watch::new(db, table, key));
                if let Some((records, progress)) = stepped {
                    let batch = Batch {
                        records,
                        offset: reader.boundary_offset(),
                        schema_history: Vec::new(),
                        ends_transaction: true,
                        snapshot: Some(progress),
                        signals: Vec::new(),
                    };
                    let offset = batch.offset.clone();
                    if out.send(batch).await.is_err() {
                        return Ok(());
                    }
                    *last_sent = Some(offset);
                }
            }
        }
        Err(TransientError::StreamEnded {
            position: reader.position(),
        }
        .into())
    }
}

/// The server checks and the plan on one server: what it is, whether it
/// may serve the offset ([`super::failover`]), and where to start.
async fn check_server(
    config: &MySqlSourceConfig,
    start: Option<Value>,
    snapshot_due: bool,
) -> Result<(ServerInfo, Plan, Option<SourceOffset>), SourceError> {
    let mut conn = validate::connect_for_queries(config).await?;
    let server = validate::validate_server(&mut conn, config).await?;
    let candidate = failover::read_candidate(&mut conn, config, &server).await?;
    failover::check_logs_replicated(server.mariadb, &candidate)?;
    let committed = match start {
        Some(value) => Some(SourceOffset::from_json(&value, server.mariadb).map_err(DefiniteError::from)?),
        None => None,
    };
    if let Some(offset) = committed.as_ref().filter(|o| o.server_id != 0 && o.server_id != server.server_id) {
        failover::check_switch(offset.server_id, offset.gtids.as_ref(), &candidate)?;
        tracing::warn!(
            from_server_id = offset.server_id,
            to_server_id = server.server_id,
            server = %candidate.address,
            gtids = %offset.gtids.as_ref().map(ToString::to_string).unwrap_or_default(),
            "source: reading from another server than the offset's; it has every delivered transaction and none that would be skipped"
        );
    }
    let gone = match &committed {
        Some(offset) if config.snapshot_mode == SnapshotMode::WhenNeeded && offset.snapshot.is_none() => {
            snapshot::binlog_gone(&mut conn, config, offset).await?
        }
        _ => false,
    };
    let plan = snapshot::plan(config.snapshot_mode, committed, snapshot_due, gone);
    let stream_from = match plan {
        Plan::Stream(ref offset) => Some(offset.clone()),
        Plan::StreamFromCurrent => Some(validate::current_offset(&mut conn, config, &server).await?),
        _ => None,
    };
    // The checks' connection is done with; the snapshot and the binlog
    // stream open their own.
    let _ = tokio::time::timeout(config.connect_timeout, conn.disconnect()).await;
    Ok((server, plan, stream_from))
}

/// What the network read task hands the loop.
enum Read {
    /// Events that were ready (up to a chunk), or an error.
    Events(Vec<Result<Event, mysql_async::Error>>),
    /// Nothing, not even a heartbeat, within the read timeout.
    Silent,
}

/// The binlog connection, asked for heartbeats and the dump from `offset`
/// (its GTID state as text in `gtid_text`).
async fn open_stream(
    config: &MySqlSourceConfig,
    server: &validate::ServerInfo,
    offset: &SourceOffset,
    gtid_text: Option<&str>,
) -> Result<mysql_async::BinlogStream, SourceError> {
    let mut binlog_conn = validate::connect(config).await?;
    let position = format!("{}:{}", offset.file, offset.pos);
    let wrap = |e: mysql_async::Error| classify(e, &position, &config.user, config.server_id);
    // A heartbeat at least every second (idle progress and heartbeat
    // records are made between events) and three within the read timeout,
    // so only a dead link is silent for that long.
    let heartbeat_ns = config
        .heartbeat_interval
        .unwrap_or(Duration::from_secs(1))
        .min(Duration::from_secs(1))
        .min(config.binlog_read_timeout / 3)
        .as_nanos();
    binlog_conn
        .query_drop(format!("SET @master_heartbeat_period={heartbeat_ns}"))
        .await
        .map_err(wrap)?;
    let mysql_sids: Vec<mysql_common::packets::Sid<'static>>;
    let request = if server.mariadb {
        binlog_conn.query_drop("SET @mariadb_slave_capability=4").await.map_err(wrap)?;
        match &gtid_text {
            Some(gtids) if !gtids.is_empty() => {
                binlog_conn
                    .query_drop(format!("SET @slave_connect_state='{gtids}'"))
                    .await
                    .map_err(wrap)?;
                binlog_conn.query_drop("SET @slave_gtid_strict_mode=0").await.map_err(wrap)?;
                binlog_conn.query_drop("SET @slave_gtid_ignore_duplicates=0").await.map_err(wrap)?;
                BinlogStreamRequest::new(config.server_id)
            }
            _ => BinlogStreamRequest::new(config.server_id)
                .with_filename(offset.file.as_bytes())
                .with_pos(offset.pos),
        }
    } else if let Some(gtids) = gtid_text.as_ref().filter(|g| !g.is_empty()) {
        mysql_sids = gtids
            .split(',')
            .map(|part| part.trim().parse())
            .collect::<Result<_, _>>()
            .map_err(|e: std::io::Error| DefiniteError::Parse {
                position: format!("gtids {gtids}"),
                source: e,
            })?;
        BinlogStreamRequest::new(config.server_id)
            .with_gtid()
            .with_gtid_set(mysql_sids.clone())
    } else {
        BinlogStreamRequest::new(config.server_id)
            .with_filename(offset.file.as_bytes())
            .with_pos(offset.pos)
    };
    binlog_conn.get_binlog_stream(request).await.map_err(wrap)
}

/// `work` (connecting, server checks, opening the stream), given up after
/// `connect.timeout.ms + raftcdc.binlog.read.timeout.ms`: a blackholed link
/// or a frozen server answers nothing, and no query may wait forever.
async fn bounded<T>(
    config: &MySqlSourceConfig,
    doing: &'static str,
    work: impl std::future::Future<Output = Result<T, SourceError>>,
) -> Result<T, SourceError> {
    let limit = config.connect_timeout + config.binlog_read_timeout;
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(TransientError::NoAnswer {
            doing,
            waited_ms: limit.as_millis() as u64,
        }
        .into()),
    }
}

/// Whether `batch` is the heartbeat record alone.
fn is_heartbeat(batch: &Batch, config: &MySqlSourceConfig) -> bool {
    matches!(batch.records.as_slice(), [record] if record.topic == config.heartbeat_topic())
}

/// Runs `heartbeat.action.query` on the connection for queries (opened,
/// with `database.initial.statements`, if there is none), as Debezium runs
/// it with each heartbeat. A statement the server refuses stops the
/// connector (as in Debezium); a lost connection is transient.
async fn heartbeat_action(config: &MySqlSourceConfig, conn: &mut Option<mysql_async::Conn>) -> Result<(), SourceError> {
    let Some(query) = config.heartbeat_action_query.as_deref() else { return Ok(()) };
    if conn.is_none() {
        *conn = Some(validate::connect_for_queries(config).await?);
    }
    let result = conn.as_mut().expect("just connected").query_drop(query).await;
    match result {
        Ok(()) => Ok(()),
        Err(error @ mysql_async::Error::Server(_)) => Err(DefiniteError::Query {
            query: "heartbeat.action.query".into(),
            source: error,
        }
        .into()),
        Err(other) => {
            *conn = None;
            Err(TransientError::Connection {
                position: "heartbeat.action.query".into(),
                source: other,
            }
            .into())
        }
    }
}

/// Collects the counts of captured rows per table, for tests and tooling.
pub fn data_collections(records: &[Record]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        *counts.entry(record.topic.clone()).or_insert(0) += 1;
    }
    counts
}
