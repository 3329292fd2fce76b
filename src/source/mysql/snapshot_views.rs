//! The consistent views a resumed initial snapshot read its rows at, and
//! which streamed changes each key therefore still needs.
//!
//! # The rule
//! An uninterrupted snapshot reads every row at one view `P0` and streams
//! from `P0`: each key's `r` record is followed by exactly the changes
//! after `P0`. A snapshot resumed on another node reads the rest at a new
//! view `P1 ≥ P0` (see [`super::snapshot`]), while streaming still starts
//! at `P0`, so the keys read at `P1` need only the changes after `P1`:
//! a change between `P0` and `P1` is already in their `r` record, and a
//! row deleted between them was never read at all.
//!
//! Each resume `i` therefore records a [`ResumedView`]: the view `P_i`,
//! the table in progress (its index in the snapshot's table list) and the
//! chunk key of the last row committed from it before `P_i` (`None`: the
//! whole table is read at `P_i`). The resumes split the snapshot's key
//! space `(table index, key)` into segments: segment `i` is everything
//! from resume `i`'s starting point up to resume `i + 1`'s, read at `P_i`
//! (segment 0 at `P0`). A streamed row change of table `T`, key `k`, in a
//! transaction starting at binlog position `p` is emitted iff
//! `p ≥ V(T, k)`, the view of `(T, k)`'s segment ([`ViewFilter::emits`]).
//!
//! # Why it is exact
//! - A key read in segment `i` was read by `SELECT ... WHERE key > last
//!   ORDER BY key` at `P_i`: its `r` record shows every transaction before
//!   `P_i` and none after. Suppressing exactly the changes before `P_i`
//!   leaves the changes after it, each once (streaming from `P0 ≤ P_i`
//!   passes every one of them). A row deleted before `P_i` was not read,
//!   and its changes (all before `P_i`) are all suppressed.
//! - Which segment a key belongs to is decided like the reads decided
//!   it: a table after the resume's table is wholly in the segment, a table
//!   before it wholly in an earlier one, and in the resume's table the keys
//!   `> last` are in it — compared in the order the server's `ORDER BY`
//!   used ([`compare_keys`]): integers, DECIMAL, date and time types
//!   numerically, binary strings bytewise, and `_bin` strings of
//!   utf8mb4/utf8mb3/ascii by code point (PAD SPACE: as if the shorter were
//!   padded with spaces; `_nopad_bin` without padding). A key whose order
//!   depends on any other collation (or on a type not listed) is *not*
//!   guessed: that one table stays with the earlier segment's view, so
//!   its rows above the cursor keep the old at-least-the-final-state
//!   behaviour (changes between the views restated), logged at the resume.
//! - Positions: a transaction is after a view when its GTID is not in the
//!   view's GTID state (MariaDB: its sequence number is above the state's
//!   in its domain, or the domain is new — sequence numbers grow within a
//!   domain; MySQL: it is not in the executed set). Without GTIDs on both
//!   sides, binlog file sequence number and position compare (the same
//!   server's binlog: the transaction's start against the view's
//!   `binlog_snapshot_position`, which is where the first transaction
//!   after the view starts).
//!
//! # Parallel snapshots
//! With `snapshot.max.threads` > 1 several tables are in flight at a
//! resume, so "from resume `i`'s starting point on" is no longer one
//! point in `(table index, key)` order. A resume then also records, in
//! `ahead` ([`ViewStart`]), every table after its `table` that the cursor
//! lists: finished ones (`done`: none of them is read at `P_i`) and ones
//! in progress (read at `P_i` above their own `after_key`, settled like
//! the main table's once the run knows their chunk key). A table after
//! `table` without an entry is read wholly at `P_i`. Segment `i` — the
//! set `S_i` of keys not yet emitted when resume `i` started — is thus
//! still exact for every table, and these sets only shrink from one
//! resume to the next (emitted keys stay emitted). Every connection of a
//! run reads at the same view `P_i` (see [`super::snapshot_parallel`]),
//! so a key was read at `P_i` for the last `i` whose `S_i` holds it,
//! which is the view [`ViewFilter::emits`] picks: the argument above
//! holds table by table. A start whose order is not known yet or not
//! exactly (`ordered: false`) leaves the table to the earlier view, as
//! for the main table; a run that never reached the table to settle it
//! emitted none of its keys, so a later resume's start covers them.
//!
//! # Lifetime in the offset
//! The views travel in the snapshot cursor (so a further failover keeps
//! them and adds its own), then, once the snapshot completes, in the
//! streaming offset (`snapshot_views`), boundary and split offsets alike,
//! until the stream has passed the last view: from there every change is
//! after every view and the rule is always true, so they are dropped.
//! Offsets without them (older ones, uninterrupted snapshots) stream
//! everything, as before.
//!
//! # Not covered
//! An `UPDATE` that changes a row's chunk key is judged by its new key;
//! `TRUNCATE` records are streamed as before.
use std::cmp::Ordering;
use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::column::{ColumnSchema, ColumnType, ColumnValue};
use super::decode::{RowChange, TableDecoder};
use super::incremental::position_key;
use super::position::{GtidState, MariaGtidList, MySqlGtidSet};
use super::chunk_keys::KeyValue;
use super::table_schema::column_value;

/// One resume of an initial snapshot on a new consistent view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumedView {
    /// Index (in the snapshot's table list) of the table in progress.
    pub table: usize,
    /// Chunk key of the last row of that table read before this view;
    /// `None`: the whole table was read at this view.
    pub after_key: Option<Vec<KeyValue>>,
    /// The chunk key's columns, which `after_key` holds values of.
    #[serde(default)]
    pub key_columns: Vec<String>,
    /// Whether keys of that table can be ordered exactly as the server's
    /// `ORDER BY` did; if not, the table keeps the earlier view.
    pub ordered: bool,
    /// The view's binlog position.
    pub file: String,
    pub pos: u64,
    /// The view's GTID state, if the server has GTIDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtids: Option<String>,
    /// A parallel snapshot's tables after `table` that were in progress or
    /// finished when it resumed (absent when empty; see "Parallel
    /// snapshots" above).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ahead: Vec<ViewStart>,
}

/// Where a resumed view starts in one table after the view's `table` (a
/// parallel snapshot's table in progress or finished at the resume).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewStart {
    /// Index in the snapshot's table list.
    pub table: usize,
    /// Chunk key of the last row of the table read before the view
    /// (`None`: the whole table is read at this view, unless `done`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_key: Option<Vec<KeyValue>>,
    /// The chunk key's columns, which `after_key` holds values of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_columns: Vec<String>,
    /// As [`ResumedView::ordered`].
    #[serde(default)]
    pub ordered: bool,
    /// The table was finished before the view: none of it is read at it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub done: bool,
}

/// Where a view starts in one table, whichever field records it.
struct Start<'a> {
    after_key: &'a Option<Vec<KeyValue>>,
    key_columns: &'a [String],
    ordered: bool,
}

impl ResumedView {
    /// Where this view starts in table `table`: `None` when none of the
    /// table is read at it (a table before the view's, or one finished
    /// before it); a table after every table in progress has no entry
    /// and is read wholly at it.
    fn start(&self, table: usize) -> Option<Start<'_>> {
        const WHOLE: &Option<Vec<KeyValue>> = &None;
        if table < self.table {
            return None;
        }
        if table == self.table {
            return Some(Start {
                after_key: &self.after_key,
                key_columns: &self.key_columns,
                ordered: self.ordered,
            });
        }
        match self.ahead.iter().find(|a| a.table == table) {
            None => Some(Start {
                after_key: WHOLE,
                key_columns: &[],
                ordered: true,
            }),
            Some(entry) if entry.done => None,
            Some(entry) => Some(Start {
                after_key: &entry.after_key,
                key_columns: &entry.key_columns,
                ordered: entry.ordered,
            }),
        }
    }

    /// Settles where this view starts in table `table` (one in progress
    /// when it resumed), once the table's chunk key is known: after
    /// `after_key` (`None`: the table is read from its start at this view),
    /// by `key_columns`, whose order is `ordered` (exactly as the server
    /// orders it) or not. Answers whether the start is exact (`None`: the
    /// view has no start in that table to settle).
    pub fn settle(&mut self, table: usize, after_key: Option<Vec<KeyValue>>, key_columns: &[String], ordered: bool) -> Option<bool> {
        let ordered = after_key.is_none() || ordered;
        if table == self.table {
            self.after_key = after_key;
            self.key_columns = key_columns.to_vec();
            self.ordered = ordered;
            return Some(ordered);
        }
        let entry = self.ahead.iter_mut().find(|a| a.table == table && !a.done)?;
        entry.after_key = after_key;
        entry.key_columns = key_columns.to_vec();
        entry.ordered = ordered;
        Some(ordered)
    }
}

/// The views of a completed, resumed snapshot, carried in the streaming
/// offset until the stream has passed them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotViews {
    /// The snapshot's tables, `[db, table]`, in the order they were read.
    pub tables: Vec<(String, String)>,
    /// The resumes, in order.
    pub views: Vec<ResumedView>,
}

/// A transaction's GTID, as the filter compares it.
pub enum TxnGtidRef<'a> {
    MariaDb { domain: u32, seq: u64 },
    MySql { uuid: &'a str, gno: u64 },
}

/// A transaction's start, as the filter compares it with a view.
pub struct TxnStart<'a> {
    pub file: &'a str,
    pub pos: u64,
    pub gtid: Option<TxnGtidRef<'a>>,
}

/// How a key column's values order under `ORDER BY`, where Rust can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyOrder {
    /// Numbers, DECIMAL, date and time types.
    Natural,
    /// Binary strings, and `_nopad_bin` character strings (code point
    /// order, which is UTF-8 byte order).
    Bytes,
    /// `_bin` character strings with PAD SPACE.
    PadSpace,
}

/// MariaDB/MySQL collation ids of `_bin` collations of character sets
/// whose binary order is code point order: `ascii_bin`, `utf8mb4_bin`,
/// `utf8mb3_bin` (PAD SPACE) and their `_nopad_bin` variants (MariaDB:
/// id + 1024), plus MySQL's `utf8mb4_0900_bin` (NO PAD).
const PAD_SPACE_BIN: &[u16] = &[65, 46, 83];
const NO_PAD_BIN: &[u16] = &[65 + 1024, 46 + 1024, 83 + 1024, 309];

fn key_order(column: &ColumnSchema) -> Option<KeyOrder> {
    use ColumnType::*;
    match &column.column_type {
        TinyInt { .. } | SmallInt { .. } | MediumInt { .. } | Int { .. } | BigInt { .. } | Boolean | Decimal { .. } => {
            Some(KeyOrder::Natural)
        }
        Date | Time { .. } | DateTime { .. } | Timestamp { .. } | Year => Some(KeyOrder::Natural),
        Binary { .. } | VarBinary { .. } | Blob { .. } => Some(KeyOrder::Bytes),
        Char { collation, .. } | VarChar { collation, .. } | Text { collation, .. } => {
            if *collation == 63 || NO_PAD_BIN.contains(collation) {
                Some(KeyOrder::Bytes)
            } else if PAD_SPACE_BIN.contains(collation) {
                Some(KeyOrder::PadSpace)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Whether every column of a chunk key orders exactly in Rust as the
/// server ordered it.
pub fn exactly_ordered(columns: &[ColumnSchema], key: &[usize]) -> bool {
    key.iter().all(|&i| columns.get(i).and_then(key_order).is_some())
}

/// Compares two keys (values of the same key columns) as the server's
/// `ORDER BY` does; `None` when some column's order is not known exactly.
pub fn compare_keys(columns: &[&ColumnSchema], a: &[ColumnValue], b: &[ColumnValue]) -> Option<Ordering> {
    for ((column, x), y) in columns.iter().zip(a).zip(b) {
        let order = compare_values(key_order(column)?, x, y)?;
        if order != Ordering::Equal {
            return Some(order);
        }
    }
    Some(Ordering::Equal)
}

fn compare_values(order: KeyOrder, a: &ColumnValue, b: &ColumnValue) -> Option<Ordering> {
    use ColumnValue as V;
    Some(match (a, b) {
        (V::Int(x), V::Int(y)) => x.cmp(y),
        (V::UInt(x), V::UInt(y)) => x.cmp(y),
        (V::Year(x), V::Year(y)) => x.cmp(y),
        (V::Decimal(x), V::Decimal(y)) => compare_decimals(x, y)?,
        (V::Date { year, month, day }, V::Date { year: y2, month: m2, day: d2 }) => (year, month, day).cmp(&(y2, m2, d2)),
        (
            V::DateTime { year, month, day, hour, minute, second, micros },
            V::DateTime { year: y2, month: mo2, day: d2, hour: h2, minute: mi2, second: s2, micros: u2 },
        ) => (year, month, day, hour, minute, second, micros).cmp(&(y2, mo2, d2, h2, mi2, s2, u2)),
        (V::Timestamp { secs, micros }, V::Timestamp { secs: s2, micros: u2 }) => (secs, micros).cmp(&(s2, u2)),
        (
            V::Time { negative, hours, minutes, seconds, micros },
            V::Time { negative: n2, hours: h2, minutes: m2, seconds: s2, micros: u2 },
        ) => {
            let signed = |negative: bool, magnitude: i128| if negative { -magnitude } else { magnitude };
            let micros_of = |h: u16, m: u8, s: u8, u: u32| ((h as i128 * 60 + m as i128) * 60 + s as i128) * 1_000_000 + u as i128;
            signed(*negative, micros_of(*hours, *minutes, *seconds, *micros)).cmp(&signed(*n2, micros_of(*h2, *m2, *s2, *u2)))
        }
        (V::Bytes(x), V::Bytes(y)) if order == KeyOrder::Bytes => x.cmp(y),
        (V::Text(x), V::Text(y)) if order == KeyOrder::Bytes => x.as_bytes().cmp(y.as_bytes()),
        (V::Text(x), V::Text(y)) if order == KeyOrder::PadSpace => pad_space(x, y),
        _ => return None,
    })
}

/// Code point order with the shorter string padded with spaces.
fn pad_space(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.chars(), b.chars());
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let (x, y) = (x.unwrap_or(' '), y.unwrap_or(' '));
                if x != y {
                    return x.cmp(&y);
                }
            }
        }
    }
}

/// Compares DECIMALs in canonical plain notation (`-12.50`).
fn compare_decimals(a: &str, b: &str) -> Option<Ordering> {
    fn parts(text: &str) -> Option<(bool, &str, &str)> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let zero = int.is_empty() && frac.is_empty();
        Some((negative && !zero, int, frac))
    }
    let (na, ia, fa) = parts(a)?;
    let (nb, ib, fb) = parts(b)?;
    let magnitude = ia.len().cmp(&ib.len()).then_with(|| ia.cmp(ib)).then_with(|| fa.cmp(fb));
    Some(match (na, nb) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    })
}

/// The streaming side of the rule: which row changes the resumed
/// snapshot's keys still need.
pub struct ViewFilter {
    views: SnapshotViews,
    gtids: Vec<Option<GtidState>>,
    /// Tables already warned about (a key that could not be compared).
    warned: HashSet<usize>,
}

impl ViewFilter {
    pub fn new(views: SnapshotViews, mariadb: bool) -> ViewFilter {
        let gtids = views
            .views
            .iter()
            .map(|view| {
                let text = view.gtids.as_deref()?;
                if mariadb {
                    MariaGtidList::parse(text).ok().map(GtidState::MariaDb)
                } else {
                    MySqlGtidSet::parse(text).ok().map(GtidState::MySql)
                }
            })
            .collect();
        ViewFilter {
            views,
            gtids,
            warned: HashSet::new(),
        }
    }

    pub fn views(&self) -> &SnapshotViews {
        &self.views
    }

    /// Whether `change` of `decoder`'s table, in the transaction starting
    /// at `start`, is after the view its key was read at.
    pub fn emits(&mut self, decoder: &TableDecoder, change: &RowChange, start: &TxnStart<'_>) -> bool {
        let Some(row) = change.after.as_ref().or(change.before.as_ref()) else {
            return true;
        };
        match self.segment(decoder, row) {
            Some(i) => self.after_view(i, start),
            None => true,
        }
    }

    /// The resume whose segment holds the row's key (`None`: segment 0).
    fn segment(&mut self, decoder: &TableDecoder, row: &[ColumnValue]) -> Option<usize> {
        let table = self
            .views
            .tables
            .iter()
            .position(|(db, table)| db == decoder.db() && table == decoder.table())?;
        let (segment, uncompared) = self.segment_at(table, decoder.columns(), row);
        if let Some(key) = uncompared {
            if self.warned.insert(table) {
                tracing::warn!(db = decoder.db(), table = decoder.table(), ?key, "snapshot views: a streamed row's chunk key cannot be compared with a resume's cursor (the key changed?); its changes are streamed as with the earlier view");
            }
        }
        segment
    }

    /// The resume whose segment holds `row` of table `table` (`None`:
    /// segment 0), and the key columns of a start it could not be compared
    /// with, if any.
    fn segment_at(&self, table: usize, columns: &[ColumnSchema], row: &[ColumnValue]) -> (Option<usize>, Option<Vec<String>>) {
        let mut uncompared = None;
        for i in (0..self.views.views.len()).rev() {
            let Some(start) = self.views.views[i].start(table) else { continue };
            if !start.ordered {
                continue;
            }
            let Some(boundary) = start.after_key else {
                return (Some(i), uncompared);
            };
            match key_after(columns, start.key_columns, boundary, row) {
                Some(true) => return (Some(i), uncompared),
                Some(false) => {}
                None => uncompared = Some(start.key_columns.to_vec()),
            }
        }
        (None, uncompared)
    }

    fn after_view(&self, i: usize, start: &TxnStart<'_>) -> bool {
        let view = &self.views.views[i];
        match (&self.gtids[i], &start.gtid) {
            (Some(GtidState::MariaDb(state)), Some(TxnGtidRef::MariaDb { domain, seq })) => {
                state.seq(*domain).is_none_or(|last| *seq > last)
            }
            (Some(GtidState::MySql(set)), Some(TxnGtidRef::MySql { uuid, gno })) => !set.contains(uuid, *gno),
            _ => position_key(start.file, start.pos) >= position_key(&view.file, view.pos),
        }
    }

    /// Whether a stream standing at `file:pos` with `gtids` (everything
    /// before it processed) has passed every view: then every later change
    /// is emitted and the views can be dropped.
    pub fn passed(&self, file: &str, pos: u64, gtids: Option<&GtidState>) -> bool {
        self.views.views.iter().zip(&self.gtids).all(|(view, view_gtids)| match (view_gtids, gtids) {
            (Some(GtidState::MariaDb(view)), Some(GtidState::MariaDb(now))) => view.is_covered_by(now),
            (Some(GtidState::MySql(view)), Some(GtidState::MySql(now))) => view.is_subset_of(now),
            _ => position_key(file, pos) >= position_key(&view.file, view.pos),
        })
    }
}

/// Whether `row`'s chunk key is above `boundary`; `None` when it cannot be
/// told (a key column is gone, or a value does not convert).
fn key_after(columns: &[ColumnSchema], key_columns: &[String], boundary: &[KeyValue], row: &[ColumnValue]) -> Option<bool> {
    if key_columns.is_empty() || key_columns.len() != boundary.len() {
        return None;
    }
    let mut schemas = Vec::with_capacity(key_columns.len());
    let mut values = Vec::with_capacity(key_columns.len());
    let mut bound = Vec::with_capacity(key_columns.len());
    for (name, value) in key_columns.iter().zip(boundary) {
        let column = columns.iter().find(|c| &c.name == name)?;
        values.push(row.get(column.position)?.clone());
        bound.push(column_value(column, value.to_value()).ok()?);
        schemas.push(column);
    }
    Some(compare_keys(&schemas, &values, &bound)? == Ordering::Greater)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_by_value() {
        let cmp = |a, b| compare_decimals(a, b).unwrap();
        assert_eq!(cmp("12", "9"), Ordering::Greater);
        assert_eq!(cmp("-12.50", "-9.00"), Ordering::Less);
        assert_eq!(cmp("0.10", "0.09"), Ordering::Greater);
        assert_eq!(cmp("-0.00", "0.00"), Ordering::Equal);
        assert_eq!(cmp("1.5", "1.50"), Ordering::Equal);
        assert_eq!(cmp("-1", "0"), Ordering::Less);
    }

    #[test]
    fn bin_collations_pad_with_spaces() {
        // utf8mb4_bin is PAD SPACE: "a\t" sorts before "a" (tab < space).
        assert_eq!(pad_space("a\t", "a"), Ordering::Less);
        assert_eq!(pad_space("a ", "a"), Ordering::Equal);
        assert_eq!(pad_space("k10", "k09"), Ordering::Greater);
        assert_eq!(pad_space("é", "z"), Ordering::Greater);
    }

    #[test]
    fn times_compare_with_their_sign() {
        let time = |negative, hours| ColumnValue::Time { negative, hours, minutes: 0, seconds: 0, micros: 0 };
        assert_eq!(compare_values(KeyOrder::Natural, &time(true, 5), &time(true, 1)), Some(Ordering::Less));
        assert_eq!(compare_values(KeyOrder::Natural, &time(false, 1), &time(true, 9)), Some(Ordering::Greater));
        // Text under a collation Rust cannot order: no answer.
        assert_eq!(compare_values(KeyOrder::Natural, &ColumnValue::Text("a".into()), &ColumnValue::Text("b".into())), None);
    }

    fn column(name: &str, column_type: ColumnType) -> ColumnSchema {
        ColumnSchema {
            name: name.into(),
            position: 0,
            column_type,
            nullable: false,
            in_primary_key: true,
            binlog_type: 0,
            binlog_meta: [0, 0],
            default: None,
            comment: None,
            auto_increment: false,
            generated: false,
        }
    }

    /// Keys under a collation raftcdc does not order itself are never
    /// guessed: the table keeps the earlier view.
    #[test]
    fn only_keys_with_a_known_order_are_compared() {
        let varchar = |collation| column("k", ColumnType::VarChar { collation, max_bytes: 80 });
        assert!(exactly_ordered(&[column("id", ColumnType::Int { unsigned: false })], &[0]));
        assert!(exactly_ordered(&[varchar(46)], &[0])); // utf8mb4_bin
        assert!(exactly_ordered(&[varchar(46 + 1024)], &[0])); // utf8mb4_nopad_bin
        assert!(exactly_ordered(&[column("b", ColumnType::VarBinary { max_len: 16 })], &[0]));
        assert!(!exactly_ordered(&[varchar(45)], &[0])); // utf8mb4_general_ci
        assert!(!exactly_ordered(&[varchar(224)], &[0])); // utf8mb4_unicode_ci
        assert!(!exactly_ordered(&[column("f", ColumnType::Float { unsigned: false, scaled: false })], &[0]));
        let ci = varchar(45);
        assert_eq!(compare_keys(&[&ci], &[ColumnValue::Text("a".into())], &[ColumnValue::Text("B".into())]), None);
    }

    fn view(table: usize, after: Option<i64>, pos: u64) -> ResumedView {
        ResumedView {
            table,
            after_key: after.map(|k| vec![KeyValue::Int(k)]),
            key_columns: vec!["id".into()],
            ordered: true,
            file: "bin.000001".into(),
            pos,
            gtids: Some(format!("0-1-{pos}")),
            ahead: Vec::new(),
        }
    }

    /// A parallel snapshot resumed with tables 1 (after key 5) and 3 (done)
    /// ahead of table 0 (after key 8): each key is placed in the view it
    /// was read at.
    #[test]
    fn parallel_resumes_place_each_table_by_its_own_start() {
        let start = |table, after: Option<i64>, done| ViewStart {
            table,
            after_key: after.map(|k| vec![KeyValue::Int(k)]),
            key_columns: if after.is_some() { vec!["id".into()] } else { Vec::new() },
            ordered: after.is_some(),
            done,
        };
        let mut first = view(0, Some(8), 100);
        first.ahead = vec![start(1, Some(5), false), start(3, None, true)];
        // A second resume while table 1 was still in flight (after key 9).
        let mut second = view(1, Some(9), 200);
        second.ahead = vec![start(2, None, true), start(3, None, true)];
        let filter = ViewFilter::new(
            SnapshotViews {
                tables: (0..5).map(|i| ("d".to_string(), format!("t{i}"))).collect(),
                views: vec![first, second],
            },
            true,
        );
        let id = [column("id", ColumnType::Int { unsigned: false })];
        let at = |table, k: i64| filter.segment_at(table, &id, &[ColumnValue::Int(k)]).0;
        assert_eq!(at(0, 8), None); // read at P0
        assert_eq!(at(0, 9), Some(0));
        assert_eq!(at(1, 5), None);
        assert_eq!(at(1, 6), Some(0)); // read at P1, before the second resume
        assert_eq!(at(1, 10), Some(1));
        assert_eq!(at(2, 1), Some(0)); // finished before the second resume
        assert_eq!(at(3, 1), None); // finished before the first
        assert_eq!(at(4, 1), Some(1)); // untouched until the second
        // An unsettled start (order unknown) keeps the earlier view.
        let mut unsettled = filter.views().clone();
        unsettled.views[1].ahead = vec![ViewStart { ordered: false, ..start(4, Some(3), false) }];
        let filter = ViewFilter::new(unsettled, true);
        assert_eq!(filter.segment_at(4, &id, &[ColumnValue::Int(7)]).0, Some(0));
    }

    #[test]
    fn settling_sets_the_start_of_a_table_in_flight() {
        let mut resumed = view(0, None, 100);
        resumed.ordered = false;
        resumed.ahead = vec![ViewStart { table: 2, after_key: None, key_columns: Vec::new(), ordered: false, done: false }];
        assert_eq!(resumed.settle(2, Some(vec![KeyValue::Int(4)]), &["id".to_string()], true), Some(true));
        assert_eq!(resumed.ahead[0].after_key, Some(vec![KeyValue::Int(4)]));
        assert_eq!(resumed.settle(0, None, &["k".to_string()], false), Some(true));
        assert!(resumed.ordered);
        assert_eq!(resumed.settle(1, None, &[], true), None);
        // Views without tables ahead serialize as before.
        assert!(serde_json::to_value(&resumed).unwrap().get("ahead").is_some());
        assert!(serde_json::to_value(view(0, None, 1)).unwrap().get("ahead").is_none());
    }

    #[test]
    fn views_are_passed_by_position_or_gtid_state() {
        let views = SnapshotViews {
            tables: vec![("d".into(), "a".into()), ("d".into(), "b".into())],
            views: vec![view(0, Some(8), 100), view(1, None, 200)],
        };
        let filter = ViewFilter::new(views.clone(), true);
        let state = |text: &str| GtidState::MariaDb(MariaGtidList::parse(text).unwrap());
        assert!(!filter.passed("bin.000001", 150, Some(&state("0-1-150"))));
        assert!(filter.passed("bin.000001", 150, Some(&state("0-1-200"))));
        assert!(filter.passed("bin.000002", 4, None));
        assert!(!filter.passed("bin.000001", 199, None));
        let start = |seq| TxnStart { file: "x", pos: 0, gtid: Some(TxnGtidRef::MariaDb { domain: 0, seq }) };
        assert!(!filter.after_view(1, &start(200)));
        assert!(filter.after_view(1, &start(201)));
        assert!(filter.after_view(1, &TxnStart { file: "bin.000001", pos: 200, gtid: None }));
        // Without GTIDs in the view, by file and position.
        let mut no_gtids = views;
        no_gtids.views[0].gtids = None;
        let filter = ViewFilter::new(no_gtids, false);
        assert!(!filter.after_view(0, &TxnStart { file: "bin.000001", pos: 99, gtid: None }));
        assert!(filter.after_view(0, &TxnStart { file: "bin.000002", pos: 4, gtid: None }));
    }

    #[test]
    fn views_survive_the_offset() {
        let views = SnapshotViews {
            tables: vec![("d".into(), "a".into())],
            views: vec![view(0, Some(8), 100)],
        };
        let json = serde_json::to_value(&views).unwrap();
        assert_eq!(serde_json::from_value::<SnapshotViews>(json).unwrap(), views);
    }
}
