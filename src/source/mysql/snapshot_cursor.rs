//! The initial snapshot's cursor: where it stands, as the committed offset
//! carries it, and how emitted chunks move it (see [`super::snapshot`]).
//!
//! # Shape
//! `tables` is the table list fixed when the snapshot started; `table` is
//! the lowest table not finished (every table before it is), with the
//! chunk key of its last emitted row in `last_key` (of the columns
//! `key_columns`) and its emitted rows in `table_rows`. A single-threaded
//! snapshot reads the tables one after another, so that is all: the
//! tables after `table` are untouched. This shape is unchanged since the
//! first version, and every older cursor is read as it was written.
//!
//! A parallel snapshot (`snapshot.max.threads` > 1) also has tables after
//! `table` in progress or finished: `ahead` lists each of them that has
//! rows emitted or is finished ([`TableCursor`]: its index, last key and
//! key columns, rows, `done`), ascending by index, and is absent from the
//! JSON when empty (so single-threaded cursors are byte for byte what
//! they were). A table after `table` without an entry has nothing
//! emitted. What is left to read is therefore exact for every table:
//! nothing of the tables before `table` and of the `done` ones, the rows
//! above `last_key` of `table` and of each entry in progress, and all of
//! every other table ([`SnapshotCursor::pending`]).
//!
//! # Moving it
//! [`SnapshotCursor::advance`] records rows emitted from one table (the
//! chunk's last key, and whether the table ended); when `table` ends, the
//! cursor moves to the next table not finished, taking its entry's state
//! out of `ahead`, so `table` always stays the lowest unfinished one and
//! a single-threaded snapshot moves exactly as `table += 1` did.
//! [`SnapshotCursor::restart`] takes a table's rows back out of the count
//! when it is read again from its start (a keyless table, or a cursor not
//! by the table's chunk key). `rows` is always the sum of the rows emitted
//! from every table.
use serde::{Deserialize, Serialize};

use super::chunk_keys::KeyValue;
use super::snapshot_views::ResumedView;

/// Where an in-progress snapshot stands; lives in the committed offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotCursor {
    /// The captured tables when the snapshot started, `[db, table]`, in
    /// the order they are read.
    pub tables: Vec<(String, String)>,
    /// Index in `tables` of the table being read (with several threads:
    /// the lowest table not finished).
    pub table: usize,
    /// Chunk key of the last row emitted from that table (`None`: none).
    pub last_key: Option<Vec<KeyValue>>,
    /// Rows emitted by the whole snapshot so far.
    pub rows: u64,
    /// Rows emitted from the current table so far.
    pub table_rows: u64,
    /// How many times the snapshot resumed on a new consistent view.
    #[serde(default)]
    pub resumed: u32,
    /// The chunk key's columns that `last_key` holds values of (absent in
    /// cursors written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_columns: Option<Vec<String>>,
    /// Each resume's view and where it started reading (see
    /// [`super::snapshot_views`]); absent in cursors without resumes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<ResumedView>,
    /// A parallel snapshot's tables after `table` with rows emitted or
    /// finished, ascending by index; absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ahead: Vec<TableCursor>,
}

/// A table after the cursor's `table` that a parallel snapshot has
/// emitted rows of, or finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableCursor {
    /// Index in the cursor's `tables`.
    pub table: usize,
    /// Chunk key of its last emitted row (`None`: a table without a chunk
    /// key, or finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_key: Option<Vec<KeyValue>>,
    /// The chunk key's columns `last_key` holds values of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_columns: Option<Vec<String>>,
    /// Rows emitted from it so far.
    #[serde(default)]
    pub rows: u64,
    /// Every row of it is emitted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub done: bool,
}

/// A table still to read, and where its read continues.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingTable {
    /// Index in the cursor's `tables`.
    pub table: usize,
    pub db: String,
    pub name: String,
    /// Continue after this chunk key (`None`: from the start).
    pub last_key: Option<Vec<KeyValue>>,
    /// The columns `last_key` holds values of, as the cursor recorded them.
    pub key_columns: Option<Vec<String>>,
    /// Rows already emitted from it.
    pub rows: u64,
}

impl SnapshotCursor {
    /// A snapshot of `tables` that has read nothing yet.
    pub fn new(tables: Vec<(String, String)>) -> SnapshotCursor {
        SnapshotCursor {
            tables,
            table: 0,
            last_key: None,
            rows: 0,
            table_rows: 0,
            resumed: 0,
            key_columns: None,
            views: Vec::new(),
            ahead: Vec::new(),
        }
    }

    /// The tables still to read, in table order.
    pub fn pending(&self) -> Vec<PendingTable> {
        let mut pending = Vec::new();
        for (index, (db, name)) in self.tables.iter().enumerate().skip(self.table) {
            let (last_key, key_columns, rows) = if index == self.table {
                (self.last_key.clone(), self.key_columns.clone(), self.table_rows)
            } else {
                match self.ahead.iter().find(|t| t.table == index) {
                    Some(entry) if entry.done => continue,
                    Some(entry) => (entry.last_key.clone(), entry.key_columns.clone(), entry.rows),
                    None => (None, None, 0),
                }
            };
            pending.push(PendingTable {
                table: index,
                db: db.clone(),
                name: name.clone(),
                last_key,
                key_columns,
                rows,
            });
        }
        pending
    }

    /// Tables every row of which is emitted.
    pub fn tables_done(&self) -> u64 {
        (self.table.min(self.tables.len()) + self.ahead.iter().filter(|t| t.done).count()) as u64
    }

    /// Rows emitted from table `index` so far.
    pub fn rows_of(&self, index: usize) -> u64 {
        if index == self.table {
            self.table_rows
        } else {
            self.ahead.iter().find(|t| t.table == index).map_or(0, |t| t.rows)
        }
    }

    /// The last emitted chunk key of table `index`.
    pub fn last_key_of(&self, index: usize) -> Option<Vec<KeyValue>> {
        if index == self.table {
            self.last_key.clone()
        } else {
            self.ahead.iter().find(|t| t.table == index).and_then(|t| t.last_key.clone())
        }
    }

    /// Records `rows` more rows of table `index` emitted, the last of them
    /// at chunk key `last_key` (of `key_columns`), and whether the table
    /// is now finished. `index` is a table not finished yet.
    pub fn advance(
        &mut self,
        index: usize,
        rows: u64,
        last_key: Option<Vec<KeyValue>>,
        key_columns: Option<Vec<String>>,
        finished: bool,
    ) {
        self.rows += rows;
        if index == self.table {
            self.table_rows += rows;
            self.last_key = last_key;
            self.key_columns = key_columns;
            if finished {
                self.next_table();
            }
            return;
        }
        let at = match self.ahead.binary_search_by_key(&index, |t| t.table) {
            Ok(at) => at,
            Err(at) => {
                self.ahead.insert(
                    at,
                    TableCursor {
                        table: index,
                        last_key: None,
                        key_columns: None,
                        rows: 0,
                        done: false,
                    },
                );
                at
            }
        };
        let entry = &mut self.ahead[at];
        entry.rows += rows;
        if finished {
            entry.done = true;
            entry.last_key = None;
            entry.key_columns = None;
        } else {
            entry.last_key = last_key;
            entry.key_columns = key_columns;
        }
    }

    /// Table `index` is read again from its start: its emitted rows leave
    /// the count and its key is forgotten.
    pub fn restart(&mut self, index: usize) {
        if index == self.table {
            self.rows -= self.table_rows;
            self.table_rows = 0;
            self.last_key = None;
        } else if let Ok(at) = self.ahead.binary_search_by_key(&index, |t| t.table) {
            self.rows -= self.ahead[at].rows;
            self.ahead.remove(at);
        }
    }

    /// Moves past the current table to the next one not finished.
    pub(super) fn next_table(&mut self) {
        self.table += 1;
        self.last_key = None;
        self.key_columns = None;
        self.table_rows = 0;
        while let Some(entry) = self.ahead.first().filter(|t| t.table == self.table).cloned() {
            self.ahead.remove(0);
            if entry.done {
                self.table += 1;
                continue;
            }
            self.last_key = entry.last_key;
            self.key_columns = entry.key_columns;
            self.table_rows = entry.rows;
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(n: usize) -> Vec<(String, String)> {
        (0..n).map(|i| ("d".to_string(), format!("t{i}"))).collect()
    }

    fn key(k: i64) -> Option<Vec<KeyValue>> {
        Some(vec![KeyValue::Int(k)])
    }

    fn id() -> Option<Vec<String>> {
        Some(vec!["id".to_string()])
    }

    /// One table at a time moves the cursor exactly as the single-threaded
    /// snapshot always did, and the JSON has no new field.
    #[test]
    fn one_table_at_a_time_keeps_the_old_shape() {
        let mut cursor = SnapshotCursor::new(tables(2));
        cursor.advance(0, 3, key(3), id(), false);
        assert_eq!((cursor.table, cursor.rows, cursor.table_rows, cursor.last_key.clone()), (0, 3, 3, key(3)));
        let json = serde_json::to_value(&cursor).unwrap();
        assert!(json.get("ahead").is_none(), "{json}");
        cursor.advance(0, 2, key(5), id(), true);
        assert_eq!((cursor.table, cursor.rows, cursor.table_rows, cursor.last_key.clone(), cursor.key_columns.clone()), (1, 5, 0, None, None));
        assert_eq!(cursor.tables_done(), 1);
    }

    /// Tables in flight out of order: each keeps its own key, finished
    /// ones are skipped when the lowest table ends, and what is left to
    /// read is exactly the rest of each.
    #[test]
    fn tables_in_flight_merge_into_one_cursor() {
        let mut cursor = SnapshotCursor::new(tables(5));
        cursor.advance(2, 4, key(40), id(), false);
        cursor.advance(0, 1, key(1), id(), false);
        cursor.advance(1, 2, key(20), id(), true);
        cursor.advance(3, 5, key(50), id(), false);
        assert_eq!(cursor.rows, 12);
        assert_eq!(cursor.tables_done(), 1);
        let pending: Vec<(usize, Option<Vec<KeyValue>>, u64)> =
            cursor.pending().into_iter().map(|p| (p.table, p.last_key, p.rows)).collect();
        assert_eq!(pending, vec![(0, key(1), 1), (2, key(40), 4), (3, key(50), 5), (4, None, 0)]);
        // The lowest table ends: table 1 is done, table 2 becomes current.
        cursor.advance(0, 0, key(1), id(), true);
        assert_eq!((cursor.table, cursor.table_rows, cursor.last_key.clone()), (2, 4, key(40)));
        assert_eq!(cursor.ahead.iter().map(|t| t.table).collect::<Vec<_>>(), vec![3]);
        assert_eq!(cursor.tables_done(), 2);
        assert_eq!(cursor.rows_of(3), 5);
        assert_eq!(cursor.last_key_of(3), key(50));
        // A table read again from its start gives its rows back.
        cursor.restart(3);
        assert_eq!((cursor.rows, cursor.rows_of(3)), (7, 0));
        cursor.restart(2);
        assert_eq!((cursor.rows, cursor.table_rows, cursor.last_key.clone()), (3, 0, None));
        // Everything ends.
        cursor.advance(4, 1, key(1), id(), true);
        cursor.advance(3, 1, key(1), id(), true);
        cursor.advance(2, 1, key(1), id(), true);
        assert_eq!((cursor.table, cursor.ahead.len(), cursor.tables_done(), cursor.rows), (5, 0, 5, 6));
        assert!(cursor.pending().is_empty());
    }

    /// The parallel shape round-trips; a cursor written before it (no
    /// `ahead`) still reads, with nothing ahead.
    #[test]
    fn parallel_cursors_round_trip_and_old_ones_still_read() {
        let mut cursor = SnapshotCursor::new(tables(3));
        cursor.advance(1, 2, key(9), id(), false);
        cursor.advance(2, 1, key(1), id(), true);
        let json = serde_json::to_value(&cursor).unwrap();
        assert_eq!(json["ahead"], serde_json::json!([
            {"table": 1, "last_key": [{"int": 9}], "key_columns": ["id"], "rows": 2},
            {"table": 2, "rows": 1, "done": true}
        ]));
        assert_eq!(serde_json::from_value::<SnapshotCursor>(json).unwrap(), cursor);
        let old = serde_json::json!({
            "tables": [["d", "t0"], ["d", "t1"]], "table": 1, "last_key": [{"int": 7}],
            "rows": 10, "table_rows": 4, "resumed": 1
        });
        let old: SnapshotCursor = serde_json::from_value(old).unwrap();
        assert!(old.ahead.is_empty());
        let pending = old.pending();
        assert_eq!(pending.len(), 1);
        assert_eq!((pending[0].table, pending[0].last_key.clone(), pending[0].rows), (1, key(7), 4));
    }
}
