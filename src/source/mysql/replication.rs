//! Streaming: from the binlog to transaction-aligned [`Batch`]es.
//!
//! The connection, the dump request and the loop live here: events are read
//! in their own task, handed to the [`super::reader`] one by one (which
//! owns what each means, and why the offsets are exact), and between
//! transactions the loop steps the incremental snapshot, telling the
//! reader which table's changed rows an open window needs.
//!
//! # MariaDB and MySQL
//! MariaDB: GTID mode through `@mariadb_slave_capability=4` and
//! `@slave_connect_state` (MySQL's GTID dump command is refused by
//! MariaDB); its GTID (162) and annotate (160) events are parsed by hand
//! because mysql_common does not know them, and its compressed events
//! (165-171) are refused ([`super::events`]). MySQL: the
//! GTID dump request with the executed GTID set (`with_gtid`), or
//! file/position when `gtid_mode` is off.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::BinlogStreamRequest;
use mysql_common::binlog::events::Event;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::config::{MySqlSourceConfig, SnapshotMode};
use super::error::{classify, DefiniteError, SourceError, TransientError};
use super::incremental::Incremental;
use super::position::SourceOffset;
use super::reader::{Reader, Watch};
use super::snapshot::{self, Plan};
use super::table_schema::refinements;
use super::validate;
use crate::source::{AbortOnDrop, Batch, IncrementalRequest, Record};

/// A running MySQL/MariaDB source.
pub struct MySqlSource {
    config: Arc<MySqlSourceConfig>,
    /// The first run of a task (`snapshot.mode=always` snapshots then).
    task_start: bool,
    /// The operator's incremental snapshot request, as Raft has it.
    requests: watch::Receiver<Option<IncrementalRequest>>,
}

impl MySqlSource {
    pub fn new(config: Arc<MySqlSourceConfig>, task_start: bool) -> MySqlSource {
        MySqlSource {
            config,
            task_start,
            requests: watch::channel(None).1,
        }
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
                    tracing::warn!(error = %crate::node::error_chain(&error), position = error.position(), retry_in_ms = backoff.as_millis() as u64, "source: transient error; reconnecting");
                    if last_sent.is_some() {
                        resume = last_sent;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(retry.max_delay);
                }
            }
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
        let config = &self.config;
        let mut conn = validate::connect_for_queries(config).await?;
        let server = validate::validate_server(&mut conn, config).await?;
        let committed = match start {
            Some(value) => Some(SourceOffset::from_json(&value, server.mariadb).map_err(DefiniteError::from)?),
            None => None,
        };
        let gone = match &committed {
            Some(offset) if config.snapshot_mode == SnapshotMode::WhenNeeded && offset.snapshot.is_none() => {
                snapshot::binlog_gone(&mut conn, config, offset).await?
            }
            _ => false,
        };
        let plan = snapshot::plan(config.snapshot_mode, committed, *snapshot_due, gone);
        let stream_from = match plan {
            Plan::Stream(ref offset) => Some(offset.clone()),
            Plan::StreamFromCurrent => Some(validate::current_offset(&mut conn, config, &server).await?),
            _ => None,
        };
        // The checks' connection is done with; the snapshot and the binlog
        // stream open their own.
        let _ = conn.disconnect().await;
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

        let mut binlog_conn = validate::connect(config).await?;
        let position = format!("{}:{}", offset.file, offset.pos);
        let wrap = |e: mysql_async::Error| classify(e, &position, &config.user, config.server_id);
        let heartbeat_ns = config
            .heartbeat_interval
            .unwrap_or(Duration::from_secs(1))
            .min(Duration::from_secs(1))
            .as_nanos();
        binlog_conn
            .query_drop(format!("SET @master_heartbeat_period={heartbeat_ns}"))
            .await
            .map_err(wrap)?;
        let gtid_text = offset.gtids.as_ref().map(|g| g.to_string());
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
        let stream = binlog_conn.get_binlog_stream(request).await.map_err(wrap)?;
        tracing::info!(file = %offset.file, pos = offset.pos, gtids = ?gtid_text, "source: streaming");

        let mut reader = Reader::new(config.clone(), server.clone(), &offset);
        let mut incremental = Incremental::new(config.clone(), server, self.requests.clone());
        // The network read runs in its own task, handing over whatever
        // events are ready (up to a chunk) without waiting for more, so
        // reading and decoding use two cores without adding latency.
        let (events_tx, mut events_rx) = mpsc::channel::<Vec<Result<Event, mysql_async::Error>>>(8);
        let reader_task = tokio::spawn(async move {
            let mut chunks = stream.ready_chunks(512);
            while let Some(chunk) = chunks.next().await {
                if events_tx.send(chunk).await.is_err() {
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
                    _ = tokio::time::sleep(Duration::from_millis(5)) => Some(Vec::new()),
                }
            } else {
                events_rx.recv().await
            };
            let Some(chunk) = chunk else { break };
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
