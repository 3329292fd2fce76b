//! Rows events: from one `WRITE/UPDATE/DELETE_ROWS` event to the open
//! transaction's records, signals and split batches, or to a failure that
//! `event.processing.failure.handling.mode` decides (see
//! [`super::super::event_failure`]); and the table maps they are decoded
//! with.
//!
//! # Why an event is taken whole or not at all
//! Every row of an event is encoded into the open transaction before any
//! split batch inside it is handed over; the split points (and their
//! offsets, computed at the row they follow) wait in [`PendingSplit`]s. A
//! row that fails returns the transaction to where it stood before the
//! event (records, signals, parts sent, transaction metadata, the
//! incremental snapshot window's notes), so a skipped event leaves nothing
//! of it anywhere, and a stopped source handed over nothing of it.
//!
//! # Transactions of filtered GTID sources
//! A rows event of a transaction whose GTID source `gtid.source.*` leaves
//! out is passed over before it is parsed (see the reader's header); it
//! only counts in the transaction's event index.
//!
//! # Why a skip is counted once
//! The count lives in the reader ([`Reader::skipped`]) and goes into every
//! offset after it. An event before a split offset's resume point was
//! handled by the run that committed that offset: delivered (it cannot fail
//! now) or skipped and counted (in that offset), so it is passed over
//! without counting.
use mysql_common::binlog::events::{Event, EventData};
use serde_json::Value;

use super::super::decode::{DecodeError, TableDecoder};
use super::super::error::{DefiniteError, RowsEventError, SourceError};
use super::super::event_failure::{EventFailureMode, SkippedEvent};
use super::super::events::*;
use super::super::position::{SourceOffset, TxnProgress};
use super::super::records::{RowEvent, TableOutput};
use super::super::snapshot_views::{TxnGtidRef, TxnStart};
use super::{Reader, TxnGtid};
use crate::source::{Batch, Record};

/// Where a rows event sits, for [`Reader::table_rows`].
struct RowsContext {
    event_index: u64,
    start_pos: u64,
    captured: bool,
    signal: bool,
    server_id: u32,
}

/// A split point found inside a rows event: the batch ends after the
/// first `records` records and `signals` signals of the transaction.
struct PendingSplit {
    records: usize,
    signals: usize,
    offset: Value,
}

impl Reader {
    /// A captured (or signal) table's decoder and encoder from its table
    /// map. A map that cannot be read stops the source, unless the failure
    /// mode skips events ([`super::super::event_failure`]): then the reason, and
    /// the table's rows events are skipped one by one. A map without
    /// column names (`binlog_row_metadata` not `FULL`) is a server setting
    /// to fix and always stops the source.
    pub(super) fn table_output(&self, tme: &mysql_common::binlog::events::TableMapEvent<'_>, start_pos: u64) -> Result<Result<TableOutput, String>, SourceError> {
        let position = format!("{}:{start_pos}", self.file);
        let skips = self.config.event_failure_mode != EventFailureMode::Fail;
        let mut decoder = match TableDecoder::new(tme) {
            Ok(decoder) => decoder,
            Err(source) if !skips || matches!(source, DecodeError::MissingFullMetadata { .. }) => {
                return Err(DefiniteError::Decode { position, source }.into())
            }
            Err(source) => return Ok(Err(self.unreadable_map(&position, tme, &source))),
        };
        self.refine(&mut decoder);
        match self.builder.table(decoder) {
            Ok(output) => Ok(Ok(output)),
            Err(source) if !skips => Err(DefiniteError::Encode { position, source }.into()),
            Err(source) => Ok(Err(self.unreadable_map(&position, tme, &source))),
        }
    }

    /// Logs a table map that cannot be read (in warn mode) and says why.
    fn unreadable_map(&self, position: &str, tme: &mysql_common::binlog::events::TableMapEvent<'_>, error: &dyn std::error::Error) -> String {
        let reason = format!("its table map cannot be read: {}", crate::error::error_chain(error));
        let table = format!("{}.{}", tme.database_name(), tme.table_name());
        if self.config.event_failure_mode == EventFailureMode::Warn {
            tracing::warn!(%position, %table, %reason, "source: this table's rows events will be skipped (event.processing.failure.handling.mode=warn)");
        }
        reason
    }

    /// Decodes a rows event into records, splitting the transaction into
    /// batches when it outgrows `max.batch.size` records or an eighth of
    /// `max.queue.size.in.bytes` of them. An event that cannot be
    /// processed leaves the transaction as it was, and stops the source or
    /// is skipped as `event.processing.failure.handling.mode` says
    /// ([`Self::event_failed`]).
    pub(super) fn rows(&mut self, event: &Event, start_pos: u64, batches: &mut Vec<Batch>) -> Result<(), SourceError> {
        if let Some(txn) = self.txn.as_mut().filter(|txn| txn.dml_filtered) {
            // `gtid.source.*` leaves its GTID source out: passed over
            // unread, still counted so event indexes stay the same.
            txn.rows_events += 1;
            return Ok(());
        }
        let Some(EventData::RowsEvent(rows)) = self.read(event)? else {
            return Ok(());
        };
        let table_id = rows.table_id();
        let slot = self
            .tables
            .get(&table_id)
            .map(|slot| (slot.output.clone(), slot.captured, slot.signal, slot.unreadable.clone()));
        let txn = self.txn.as_mut().expect("a transaction is open");
        let event_index = txn.rows_events;
        txn.rows_in_event = 0;
        let failure = match slot {
            None => Some((format!("table id {table_id}"), RowsEventError::UnknownTable { table_id })),
            Some((_, _, _, Some((table, reason)))) => Some((table, RowsEventError::UnreadableTable { reason })),
            Some((None, ..)) => None,
            Some((Some(output), captured, signal, None)) => {
                let context = RowsContext { event_index, start_pos, captured, signal, server_id: event.header().server_id() };
                self.table_rows(&output, &rows, &context, batches)?
                    .err()
                    .map(|error| (format!("{}.{}", output.decoder.db(), output.decoder.table()), error))
            }
        };
        if let Some((table, error)) = failure {
            self.event_failed(start_pos, event_index, table, error)?;
        }
        let txn = self.txn.as_mut().expect("a transaction is open");
        txn.rows_events += 1;
        Ok(())
    }

    /// The rows of one rows event of a captured (or signal) table: its
    /// records and signals into the open transaction, and the split batches
    /// they complete into `batches`. The split batches are handed over only
    /// once every row of the event was encoded, so an event that fails
    /// (inner error) leaves nothing of it behind: not in the transaction,
    /// not in a batch. The outer error stops the source whatever the mode.
    fn table_rows(
        &mut self,
        output: &TableOutput,
        rows: &mysql_common::binlog::events::RowsEventData<'_>,
        context: &RowsContext,
        batches: &mut Vec<Batch>,
    ) -> Result<Result<(), RowsEventError>, SourceError> {
        let position = format!("{}:{}", self.file, context.start_pos);
        let changes = match output.decoder.decode(rows) {
            Ok(changes) => changes,
            // A server setting to change, never one event's problem.
            Err(source @ DecodeError::PartialJson { .. }) => return Err(DefiniteError::Decode { position, source }.into()),
            Err(error) => return Ok(Err(error.into())),
        };
        let event_index = context.event_index;
        let txn = self.txn.as_mut().expect("a transaction is open");
        let skip_rows = match txn.skip {
            (events, _) if event_index < events => u64::MAX,
            (events, rows) if event_index == events => rows,
            _ => 0,
        };
        // Where the transaction stood before this event, to leave it so if
        // a row fails.
        let marks = (txn.records.len(), txn.signals.len(), txn.parts_sent, txn.part_bytes, txn.meta.clone());
        let mut watch_mark = None;
        if let Some(watch) = self.watch.as_mut().filter(|w| w.db == output.decoder.db() && w.table == output.decoder.table()) {
            watch_mark = Some(watch.touched.len());
            watch.note(&output.decoder, &changes);
        }
        // Split points found while encoding, handed over at the end.
        let mut splits: Vec<PendingSplit> = Vec::new();
        let mut part_start = 0;
        let mut failed = None;
        for (row_index, change) in changes.into_iter().enumerate() {
            let row_index = row_index as u64;
            txn.rows_in_event = row_index + 1;
            if row_index < skip_rows {
                continue;
            }
            if context.signal {
                if let (None, Some(after)) = (&change.before, &change.after) {
                    let position = format!("{}/{event_index}/{row_index}", txn.id);
                    txn.signals.push(super::super::signal::signal_of_row(after, position));
                }
            }
            if !context.captured {
                continue;
            }
            if let Some(filter) = self.views.as_mut() {
                let start = TxnStart {
                    file: &txn.start_file,
                    pos: txn.start_pos,
                    gtid: txn.gtid.as_ref().map(|gtid| match gtid {
                        TxnGtid::MariaDb { domain, seq, .. } => TxnGtidRef::MariaDb { domain: *domain, seq: *seq },
                        TxnGtid::MySql { uuid, gno } => TxnGtidRef::MySql { uuid, gno: *gno },
                    }),
                };
                if !filter.emits(&output.decoder, &change, &start) {
                    continue;
                }
            }
            let event = RowEvent {
                txn_id: &txn.id,
                file: &self.file,
                pos: txn.start_pos,
                row: row_index,
                // With a GTID, the id is its text.
                gtid: txn.gtid.is_some().then_some(txn.id.as_str()),
                ts_sec: self.ts_sec,
                thread: txn.thread,
                query: txn.query.as_deref(),
                server_id: context.server_id,
            };
            let before = txn.records.len();
            if let Err(error) = self.builder.row_records(output, &event, change, &mut txn.meta, &mut txn.records) {
                failed = Some(error);
                break;
            }
            txn.part_bytes += txn.records[before..].iter().map(Record::bytes).sum::<usize>();
            let full = txn.records.len() - part_start >= self.config.max_batch_size
                // An XA transaction is never split (it is refused below
                // once it fills max.batch.size); wide rows alone must not
                // refuse it, so the byte bound leaves it out.
                || (!txn.xa && txn.part_bytes >= self.config.batch_bytes());
            if full {
                if txn.xa {
                    // Its end may be an XA_PREPARE (refused): a part
                    // handed over now could never be taken back.
                    return Err(refused(XA_PREPARE_EVENT, position));
                }
                txn.parts_sent += 1;
                let offset = SourceOffset {
                    file: txn.start_file.clone(),
                    pos: txn.start_pos,
                    gtids: self.gtids.clone(),
                    event: event_index,
                    row: row_index + 1,
                    server_id: self.server.server_id,
                    ts_sec: self.ts_sec,
                    snapshot: None,
                    incremental: self.incremental.clone(),
                    views: self.views.as_ref().map(|f| f.views().clone()),
                    transaction: Some(TxnProgress {
                        id: txn.id.clone(),
                        collections: txn.meta.collections(),
                    }),
                    skipped: (self.skipped.count > 0).then(|| self.skipped.clone()),
                };
                part_start = txn.records.len();
                txn.part_bytes = 0;
                splits.push(PendingSplit { records: part_start, signals: txn.signals.len(), offset: offset.to_json() });
            }
        }
        if let Some(error) = failed {
            let (records, signals, parts_sent, part_bytes, meta) = marks;
            txn.records.truncate(records);
            txn.signals.truncate(signals);
            txn.parts_sent = parts_sent;
            txn.part_bytes = part_bytes;
            txn.meta = meta;
            if let (Some(mark), Some(watch)) = (watch_mark, self.watch.as_mut()) {
                watch.touched.truncate(mark);
            }
            return Ok(Err(error.into()));
        }
        let (mut records_taken, mut signals_taken) = (0, 0);
        for split in splits {
            batches.push(Batch {
                records: txn.records.drain(..split.records - records_taken).collect(),
                offset: split.offset,
                schema_history: std::mem::take(&mut txn.schema_history),
                ends_transaction: false,
                snapshot: None,
                signals: txn.signals.drain(..split.signals - signals_taken).collect(),
            });
            (records_taken, signals_taken) = (split.records, split.signals);
        }
        Ok(Ok(()))
    }

    /// A rows event at `start_pos` (the `event_index`th of its transaction)
    /// of `table` cannot be processed: a definite error naming its position,
    /// GTID and table (`fail`), or it is skipped and counted (`warn` logs
    /// it). An event before the resume point was skipped and counted by the
    /// run that committed the resume offset (a run that failed on it could
    /// not have), so it is passed over without counting it again.
    fn event_failed(&mut self, start_pos: u64, event_index: u64, table: String, error: RowsEventError) -> Result<(), SourceError> {
        let txn = self.txn.as_mut().expect("a transaction is open");
        let gtid = txn.gtid.is_some().then(|| txn.id.clone());
        let position = match &gtid {
            Some(gtid) => format!("{}:{start_pos} (GTID {gtid})", self.file),
            None => format!("{}:{start_pos}", self.file),
        };
        let reason = crate::error::error_chain(&error);
        if event_index < txn.skip.0 {
            // Only a run that skipped it can have committed an offset past it.
            tracing::debug!(%position, %table, %reason, "source: a rows event before the resume point cannot be processed; skipped and counted before");
            return Ok(());
        }
        let mode = self.config.event_failure_mode;
        if mode == EventFailureMode::Fail {
            return Err(DefiniteError::RowsEvent { position, table, source: error }.into());
        }
        if mode == EventFailureMode::Warn {
            tracing::warn!(%position, %table, %reason, "source: a rows event cannot be processed; skipped, its rows are not delivered (event.processing.failure.handling.mode=warn)");
        } else {
            tracing::debug!(%position, %table, %reason, "source: a rows event cannot be processed; skipped (event.processing.failure.handling.mode=skip)");
        }
        txn.skipped_events += 1;
        self.skipped.add(SkippedEvent { file: self.file.clone(), pos: start_pos, gtid, table, reason });
        Ok(())
    }
}
