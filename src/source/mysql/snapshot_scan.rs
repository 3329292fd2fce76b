//! Reading one table's rows for a snapshot, for both the one-connection
//! snapshot ([`super::snapshot`]) and the parallel one
//! ([`super::snapshot_parallel`]): chunk by chunk in chunk-key order
//! (`WHERE key > last ORDER BY key LIMIT n+1`, see
//! [`super::chunk_keys::chunk_query`]), or in one pass for a table
//! without a chunk key.
//!
//! # Rows are streamed, and handed over in groups bounded by bytes
//! A chunk's rows are read as the server sends them, never collected
//! whole, and handed to the caller in [`RowGroup`]s of at most
//! `max.batch.size` rows *and* about an eighth of
//! `max.queue.size.in.bytes` of row data, whichever comes first. So memory
//! follows the queue's byte bound, not `snapshot.fetch.size` × the row
//! width: a table of 1 MiB rows goes out a few rows at a time, and a
//! single row larger than that is a group of its own (why an eighth: see
//! [`MySqlSourceConfig::batch_bytes`]). Reading also overlaps the server's work on
//! a chunk with the encoding of the rows already received.
//!
//! # Why every group ends at a resume point
//! A group ends at a row whose chunk key the next read can start after
//! (`key > last` continues exactly as after a whole chunk), and says
//! whether it holds the table's last row: a group is handed over only once
//! the row after it (or the end of the rows) has been seen. The `n+1`-th
//! row of a chunk only tells that the table goes on; it is read again as
//! the next chunk's first row.
//!
//! # The held result
//! While the caller's send of a group waits for room in the queue, the
//! chunk's result stays open and the server waits to write the rest of
//! it. A snapshot session therefore raises `net_write_timeout` (see
//! [`super::snapshot::prepare_session`]) well above the time the sink
//! takes to give up on a stalled broker, so the server never drops the
//! read first.
use mysql_async::prelude::Queryable;
use mysql_async::{Params, Value};

use super::chunk_keys::{chunk_query, KeyValue};
use super::config::MySqlSourceConfig;
use super::error::SourceError;
use super::snapshot::sql_error;

/// How one table is read.
pub(super) struct ScanPlan<'a> {
    /// `SELECT <columns> FROM <table>` (or the table's select override).
    pub select: &'a str,
    /// The chunk key's column indexes; empty for a table read in one pass.
    pub key: &'a [usize],
    /// The chunk key's quoted column names, in order.
    pub order: &'a [String],
    /// `snapshot.fetch.size`: rows per chunk.
    pub chunk: usize,
    /// `max.batch.size`: rows per group.
    pub group_rows: usize,
    /// Bytes of row data per group (see the module docs).
    pub group_bytes: usize,
}

impl<'a> ScanPlan<'a> {
    /// The plan for `select` with `key` (by `order`) under `config`'s sizes.
    pub fn new(config: &MySqlSourceConfig, select: &'a str, key: &'a [usize], order: &'a [String]) -> ScanPlan<'a> {
        ScanPlan {
            select,
            key,
            order,
            chunk: config.snapshot_fetch_size.max(1),
            group_rows: config.max_batch_size.max(1),
            group_bytes: config.batch_bytes(),
        }
    }
}

/// Rows of one table that end at a resume point.
#[derive(Debug, Default)]
pub(super) struct RowGroup {
    pub rows: Vec<Vec<Value>>,
    /// The chunk key of the last row (`None`: no rows, or no chunk key).
    pub last_key: Option<Vec<KeyValue>>,
    /// The group holds the table's last row (or the table had none left).
    pub ends: bool,
    /// Row data held, as the group's byte bound counts it.
    bytes: usize,
}

impl RowGroup {
    fn full(&self, plan: &ScanPlan<'_>) -> bool {
        self.rows.len() >= plan.group_rows || self.bytes >= plan.group_bytes
    }

    fn push(&mut self, values: Vec<Value>) {
        self.bytes += values.iter().map(value_bytes).sum::<usize>();
        self.rows.push(values);
    }

    /// The group so far, as handed over; it starts again empty.
    fn take(&mut self, key: &[usize], ends: bool) -> RowGroup {
        let mut group = std::mem::take(self);
        if !key.is_empty() {
            group.last_key = group.rows.last().map(|values| key.iter().map(|&k| KeyValue::from(&values[k])).collect());
        }
        group.ends = ends;
        group
    }
}

/// What a value holds in memory.
fn value_bytes(value: &Value) -> usize {
    std::mem::size_of::<Value>() + if let Value::Bytes(bytes) = value { bytes.capacity() } else { 0 }
}

/// Where a scan's groups go.
pub(super) trait GroupSink {
    /// Takes the next group; `false` stops the scan (the receiver went
    /// away).
    fn take(&mut self, group: RowGroup) -> impl std::future::Future<Output = Result<bool, SourceError>> + Send;
}

/// Reads the table after `last_key` (its start if `None`) to its end,
/// handing every group to `sink`; the last group has `ends` set (and may
/// be empty). Stops with `false` as soon as the sink answers `false`.
pub(super) async fn scan(
    conn: &mut mysql_async::Conn,
    config: &MySqlSourceConfig,
    plan: &ScanPlan<'_>,
    mut last_key: Option<Vec<KeyValue>>,
    sink: &mut impl GroupSink,
) -> Result<bool, SourceError> {
    let keyed = !plan.key.is_empty();
    loop {
        let (sql, params) = if keyed {
            chunk_query(plan.select, plan.order, last_key.as_deref(), plan.chunk + 1, None)
        } else {
            (plan.select.to_string(), Params::Empty)
        };
        let mut result = conn.exec_iter(sql.as_str(), params).await.map_err(sql_error(config, &sql))?;
        let mut group = RowGroup::default();
        let mut read = 0;
        let table_goes_on = loop {
            let Some(row) = result.next().await.map_err(sql_error(config, &sql))? else { break false };
            read += 1;
            if keyed && read > plan.chunk {
                break true;
            }
            if group.full(plan) {
                // A row follows: the full group does not end the table.
                if !sink.take(group.take(plan.key, false)).await? {
                    return Ok(false);
                }
            }
            group.push(row.unwrap());
        };
        result.drop_result().await.map_err(sql_error(config, &sql))?;
        let group = group.take(plan.key, !table_goes_on);
        if group.last_key.is_some() {
            last_key.clone_from(&group.last_key);
        }
        if !sink.take(group).await? {
            return Ok(false);
        }
        if !table_goes_on {
            return Ok(true);
        }
    }
}
