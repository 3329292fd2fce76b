//! Source positions and the committed offset.
//!
//! # The offset
//! The offset uses Debezium's MySQL offset keys, so tools that read them
//! keep working, with this meaning (it is what [`SourceOffset`] holds):
//!
//! - `gtids`: every transaction fully delivered (MariaDB: one
//!   `domain-server-seq` per domain; MySQL: `uuid:interval` set). Absent
//!   when the server has GTIDs off.
//! - `file`, `pos`: where the first transaction *not* fully delivered
//!   begins (its GTID / BEGIN event). Resuming by file and position is only
//!   ever done at such a boundary (a rows event needs its table map, which
//!   precedes it in the same transaction).
//! - `event`, `row`: how much of that transaction was already delivered:
//!   `event` whole rows events, then `row` rows of the next one. Both are 0
//!   at a transaction boundary. A transaction too large for one batch is
//!   split, and these counters make the resume exact.
//! - `transaction_id`, `transaction_data_collection_order` (split offsets
//!   only): the open transaction's id (Debezium's key) and, per topic, how
//!   many of its events the delivered part carried. With
//!   `provide.transaction.metadata` a resume continues `total_order` (their
//!   sum) and `data_collection_order` from there, and END counts the whole
//!   transaction, exactly as an uninterrupted run. Offsets written before
//!   these keys existed still resume (metadata then restarts as before).
//! - `server_id`, `ts_sec`: the originating server and the commit time of
//!   the last delivered event, for lag and for humans.
//! - `snapshot_cursor` while an initial snapshot runs, `incremental_snapshot`
//!   for an ad-hoc one, and `snapshot_views` after an initial snapshot that
//!   resumed on new consistent views, until the stream has passed them
//!   (see [`super::snapshot_views`]). Offsets without it stream every
//!   change, as before.
//! - `skipped_events`, once a rows event was skipped under
//!   `event.processing.failure.handling.mode=warn|skip`: how many were
//!   skipped up to this offset, and the last one (see
//!   [`super::event_failure`]).
//!
//! # Why resuming is exact
//! The offset is only ever produced by the streaming loop *after* the
//! events it covers were handed over, and it names the start of the
//! transaction being delivered. Resuming re-reads that transaction from its
//! first event (by GTID state or file/position) and skips exactly the
//! `event` rows events and `row` rows already delivered, so nothing is
//! repeated; everything after was never delivered, so nothing is lost.
use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value};

use super::event_failure::SkippedEvents;
use super::incremental::IncrementalCursor;
use super::snapshot::SnapshotCursor;
use super::snapshot_views::SnapshotViews;

/// A MariaDB GTID position: the last sequence number per replication domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MariaGtidList(BTreeMap<u32, (u32, u64)>);

/// A MySQL GTID set: intervals of transaction numbers per source UUID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MySqlGtidSet(BTreeMap<String, Vec<(u64, u64)>>);

/// The GTID state of either flavour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GtidState {
    MariaDb(MariaGtidList),
    MySql(MySqlGtidSet),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("offset: {0}")]
pub struct PositionError(pub String);

impl MariaGtidList {
    /// Parses `domain-server-seq[,domain-server-seq...]`.
    pub fn parse(text: &str) -> Result<MariaGtidList, PositionError> {
        let mut list = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let numbers: Vec<&str> = part.split('-').collect();
            let parsed = match numbers.as_slice() {
                [d, s, n] => d.parse::<u32>().ok().zip(s.parse::<u32>().ok()).zip(n.parse::<u64>().ok()),
                _ => None,
            };
            let ((domain, server), seq) = parsed
                .ok_or_else(|| PositionError(format!("\"{part}\" is not a MariaDB GTID (domain-server-sequence)")))?;
            if list.insert(domain, (server, seq)).is_some() {
                return Err(PositionError(format!("domain {domain} appears twice in \"{text}\"")));
            }
        }
        Ok(MariaGtidList(list))
    }

    /// Records a transaction as delivered.
    pub fn advance(&mut self, domain: u32, server: u32, seq: u64) {
        self.0.insert(domain, (server, seq));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The last sequence number of `domain`, if the list has the domain.
    pub fn seq(&self, domain: u32) -> Option<u64> {
        self.0.get(&domain).map(|(_, seq)| *seq)
    }

    /// `(domain, server, seq)` of the last GTID of each domain.
    pub fn entries(&self) -> impl Iterator<Item = (u32, u32, u64)> + '_ {
        self.0.iter().map(|(domain, (server, seq))| (*domain, *server, *seq))
    }

    /// Whether `other` has reached this position in every domain.
    pub fn is_covered_by(&self, other: &MariaGtidList) -> bool {
        self.0.iter().all(|(domain, (_, seq))| other.seq(*domain).is_some_and(|s| s >= *seq))
    }
}

impl fmt::Display for MariaGtidList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(d, (s, n))| format!("{d}-{s}-{n}")).collect();
        f.write_str(&parts.join(","))
    }
}

impl MySqlGtidSet {
    /// Parses `uuid:1-5:7,uuid2:3`.
    pub fn parse(text: &str) -> Result<MySqlGtidSet, PositionError> {
        let mut set = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut pieces = part.split(':');
            let uuid = pieces.next().unwrap_or_default().to_ascii_lowercase();
            if uuid.len() != 36 {
                return Err(PositionError(format!("\"{part}\" does not start with a server UUID")));
            }
            let mut intervals = Vec::new();
            for interval in pieces {
                let (start, end) = match interval.split_once('-') {
                    Some((a, b)) => (a.parse::<u64>().ok(), b.parse::<u64>().ok()),
                    None => (interval.parse::<u64>().ok(), interval.parse::<u64>().ok()),
                };
                match (start, end) {
                    (Some(a), Some(b)) if a >= 1 && a <= b => intervals.push((a, b)),
                    _ => return Err(PositionError(format!("\"{interval}\" in \"{part}\" is not an interval"))),
                }
            }
            if intervals.is_empty() {
                return Err(PositionError(format!("\"{part}\" has no intervals")));
            }
            set.insert(uuid, intervals);
        }
        let mut set = MySqlGtidSet(set);
        set.normalize();
        Ok(set)
    }

    fn normalize(&mut self) {
        for intervals in self.0.values_mut() {
            intervals.sort_unstable();
            let mut merged: Vec<(u64, u64)> = Vec::with_capacity(intervals.len());
            for &(a, b) in intervals.iter() {
                match merged.last_mut() {
                    Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            *intervals = merged;
        }
    }

    /// Records transaction `gno` of `uuid` as delivered.
    pub fn add(&mut self, uuid: &str, gno: u64) {
        self.0.entry(uuid.to_ascii_lowercase()).or_default().push((gno, gno));
        self.normalize();
    }

    /// Whether transaction `gno` of `uuid` is in the set.
    pub fn contains(&self, uuid: &str, gno: u64) -> bool {
        self.0
            .get(&uuid.to_ascii_lowercase())
            .is_some_and(|intervals| intervals.iter().any(|&(a, b)| a <= gno && gno <= b))
    }

    /// Whether every transaction of this set is in `other`.
    pub fn is_subset_of(&self, other: &MySqlGtidSet) -> bool {
        self.0.iter().all(|(uuid, intervals)| {
            let theirs = other.0.get(uuid).map(Vec::as_slice).unwrap_or_default();
            intervals.iter().all(|&(a, b)| theirs.iter().any(|&(c, d)| c <= a && b <= d))
        })
    }

    /// `(uuid bytes, intervals)` for a GTID-based binlog dump request.
    pub fn intervals(&self) -> impl Iterator<Item = (&str, &[(u64, u64)])> {
        self.0.iter().map(|(u, i)| (u.as_str(), i.as_slice()))
    }
}

impl fmt::Display for MySqlGtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(uuid, intervals)| {
                let list: Vec<String> = intervals
                    .iter()
                    .map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
                    .collect();
                format!("{uuid}:{}", list.join(":"))
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl fmt::Display for GtidState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GtidState::MariaDb(list) => list.fmt(f),
            GtidState::MySql(set) => set.fmt(f),
        }
    }
}

/// Every top-level key [`SourceOffset::to_json`] can write, so whoever
/// validates an operator's offset (`raftcdc connector offsets set`) can
/// accept every offset this source commits.
pub const OFFSET_KEYS: &[&str] = &[
    "file",
    "pos",
    "gtids",
    "event",
    "row",
    "server_id",
    "ts_sec",
    "snapshot",
    "snapshot_cursor",
    "incremental_snapshot",
    "snapshot_views",
    "transaction_id",
    "transaction_data_collection_order",
    "skipped_events",
];

/// Checks an operator's offset (`offsets set`) before it is proposed: a
/// JSON object of the keys the source writes ([`OFFSET_KEYS`]), each of
/// its type, positioned by `file` + `pos` or by `gtids`, and readable by
/// [`SourceOffset::from_json`] in one server flavour's GTID syntax or the
/// other (which server the connector reads is known only when it runs). So
/// whatever `offsets get` printed can be set again, and what is accepted
/// here is an offset the source can resume from.
pub fn validate_operator_offset(value: &Value) -> Result<(), PositionError> {
    let invalid = |reason: String| PositionError(reason);
    let object = value
        .as_object()
        .ok_or_else(|| invalid(format!("must be a JSON object, got {value}")))?;
    for (key, field) in object {
        if !OFFSET_KEYS.contains(&key.as_str()) {
            return Err(invalid(format!("unknown key \"{key}\"; known keys: {}", OFFSET_KEYS.join(", "))));
        }
        let typed = match key.as_str() {
            "file" | "gtids" => field.is_string(),
            "pos" | "event" | "row" | "server_id" | "ts_sec" => field.is_u64(),
            _ => true,
        };
        if !typed {
            return Err(invalid(format!("\"{key}\" has the wrong type: {field}")));
        }
    }
    let has_file_pos = object.contains_key("file") && object.contains_key("pos");
    let has_gtids = object.get("gtids").and_then(Value::as_str).is_some_and(|g| !g.trim().is_empty());
    if !has_file_pos && !has_gtids {
        return Err(invalid("needs \"file\" and \"pos\", or a non-empty \"gtids\"".into()));
    }
    SourceOffset::from_json(value, true)
        .or_else(|_| SourceOffset::from_json(value, false))
        .map(|_| ())
}

/// Where streaming stands, in the shape of the committed offset.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceOffset {
    pub file: String,
    pub pos: u64,
    pub gtids: Option<GtidState>,
    pub event: u64,
    pub row: u64,
    pub server_id: u32,
    pub ts_sec: u64,
    /// Set while an initial snapshot is in progress: `file`/`pos`/`gtids`
    /// are then the snapshot's binlog position, where streaming starts
    /// once the snapshot completes (see [`super::snapshot`]).
    pub snapshot: Option<SnapshotCursor>,
    /// The incremental snapshot in progress or last run, if any (see
    /// [`super::incremental`]).
    pub incremental: Option<IncrementalCursor>,
    /// Split offsets: the transaction metadata already delivered.
    pub transaction: Option<TxnProgress>,
    /// After a resumed initial snapshot, until the stream has passed them:
    /// the views its rows were read at (see [`super::snapshot_views`]).
    pub views: Option<SnapshotViews>,
    /// The rows events skipped so far under
    /// `event.processing.failure.handling.mode=warn|skip`, counted up to
    /// this offset (see [`super::event_failure`]).
    pub skipped: Option<SkippedEvents>,
}

/// How much transaction metadata the delivered part of a split
/// transaction carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnProgress {
    /// Debezium's transaction id (the GTID, or `file:pos`).
    pub id: String,
    /// Events per topic (`data_collection_order` of the last one).
    pub collections: BTreeMap<String, u64>,
}

impl SourceOffset {
    /// A transaction-boundary offset at `file:pos` with `gtids`.
    pub fn at(file: String, pos: u64, gtids: Option<GtidState>, server_id: u32) -> SourceOffset {
        SourceOffset {
            file,
            pos,
            gtids,
            event: 0,
            row: 0,
            server_id,
            ts_sec: 0,
            snapshot: None,
            incremental: None,
            transaction: None,
            views: None,
            skipped: None,
        }
    }

    /// The offset as Debezium-shaped JSON.
    pub fn to_json(&self) -> Value {
        let mut object = json!({
            "file": self.file,
            "pos": self.pos,
            "event": self.event,
            "row": self.row,
            "server_id": self.server_id,
            "ts_sec": self.ts_sec,
        });
        if let Some(gtids) = &self.gtids {
            object["gtids"] = Value::String(gtids.to_string());
        }
        if let Some(cursor) = &self.snapshot {
            // Debezium's own flag, plus where the snapshot stands.
            object["snapshot"] = Value::Bool(true);
            object["snapshot_cursor"] = serde_json::to_value(cursor).unwrap_or(Value::Null);
        }
        if let Some(cursor) = &self.incremental {
            object["incremental_snapshot"] = serde_json::to_value(cursor).unwrap_or(Value::Null);
        }
        if let Some(views) = &self.views {
            object["snapshot_views"] = serde_json::to_value(views).unwrap_or(Value::Null);
        }
        if let Some(progress) = &self.transaction {
            object["transaction_id"] = Value::String(progress.id.clone());
            object["transaction_data_collection_order"] =
                serde_json::to_value(&progress.collections).unwrap_or(Value::Null);
        }
        if let Some(skipped) = &self.skipped {
            object["skipped_events"] = serde_json::to_value(skipped).unwrap_or(Value::Null);
        }
        object
    }

    /// Reads a committed offset. `mariadb` tells which GTID syntax to
    /// expect (the server flavour is known by then).
    pub fn from_json(value: &Value, mariadb: bool) -> Result<SourceOffset, PositionError> {
        let object = value
            .as_object()
            .ok_or_else(|| PositionError(format!("must be a JSON object, got {value}")))?;
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string);
        let number = |key: &str| object.get(key).and_then(Value::as_u64).unwrap_or(0);
        let gtids = match text("gtids").filter(|g| !g.trim().is_empty()) {
            Some(g) if mariadb => Some(GtidState::MariaDb(MariaGtidList::parse(&g)?)),
            Some(g) => Some(GtidState::MySql(MySqlGtidSet::parse(&g)?)),
            None => None,
        };
        let file = text("file").unwrap_or_default();
        if gtids.is_none() && file.is_empty() {
            return Err(PositionError("needs \"gtids\" or \"file\" and \"pos\"".into()));
        }
        // Optional structured fields: absent or null is `None`.
        fn cursor<T: serde::de::DeserializeOwned>(
            object: &serde_json::Map<String, Value>,
            key: &str,
        ) -> Result<Option<T>, PositionError> {
            match object.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(value) => serde_json::from_value(value.clone())
                    .map(Some)
                    .map_err(|e| PositionError(format!("\"{key}\" is malformed: {e}"))),
            }
        }
        let snapshot = cursor(object, "snapshot_cursor")?;
        let incremental = cursor(object, "incremental_snapshot")?;
        let views = cursor(object, "snapshot_views")?;
        let skipped = cursor(object, "skipped_events")?;
        let transaction = match text("transaction_id") {
            Some(id) => Some(TxnProgress {
                id,
                collections: cursor(object, "transaction_data_collection_order")?.unwrap_or_default(),
            }),
            None => None,
        };
        Ok(SourceOffset {
            file,
            pos: number("pos").max(4),
            gtids,
            event: number("event"),
            row: number("row"),
            server_id: number("server_id") as u32,
            ts_sec: number("ts_sec"),
            snapshot,
            incremental,
            transaction,
            views,
            skipped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_gtid_lists_round_trip() {
        let mut list = MariaGtidList::parse("0-1-20, 1-2-5").unwrap();
        assert_eq!(list.to_string(), "0-1-20,1-2-5");
        list.advance(0, 3, 21);
        assert_eq!(list.to_string(), "0-3-21,1-2-5");
        assert!(MariaGtidList::parse("0-1").is_err());
        assert!(MariaGtidList::parse("0-1-2,0-1-3").is_err());
        assert!(MariaGtidList::parse("").unwrap().is_empty());
    }

    #[test]
    fn mysql_gtid_sets_merge_intervals() {
        let uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let mut set = MySqlGtidSet::parse(&format!("{uuid}:1-5:7")).unwrap();
        set.add(uuid, 6);
        assert_eq!(set.to_string(), format!("{uuid}:1-7"));
        set.add(uuid, 9);
        assert_eq!(set.to_string(), format!("{uuid}:1-7:9"));
        assert!(MySqlGtidSet::parse("nope:1-2").is_err());
        assert!(MySqlGtidSet::parse(&format!("{uuid}:5-2")).is_err());
    }

    #[test]
    fn offsets_round_trip() {
        let offset = SourceOffset {
            file: "mysql-bin.000002".into(),
            pos: 1234,
            gtids: Some(GtidState::MariaDb(MariaGtidList::parse("0-1-20").unwrap())),
            event: 2,
            row: 17,
            server_id: 1,
            ts_sec: 1_700_000_000,
            snapshot: None,
            incremental: None,
            views: None,
            skipped: None,
            transaction: Some(TxnProgress {
                id: "0-1-21".into(),
                collections: [("dbserver1.inventory.a".to_string(), 12), ("dbserver1.inventory.b".to_string(), 5)].into(),
            }),
        };
        let json = offset.to_json();
        assert_eq!(json["gtids"], "0-1-20");
        assert_eq!(json["transaction_id"], "0-1-21");
        assert_eq!(json["transaction_data_collection_order"], json!({"dbserver1.inventory.a": 12, "dbserver1.inventory.b": 5}));
        assert_eq!(SourceOffset::from_json(&json, true).unwrap(), offset);
        // Every key written is a documented one.
        let mut full = offset.clone();
        full.snapshot = Some(SnapshotCursor::new(vec![("d".into(), "t".into())]));
        full.views = Some(SnapshotViews { tables: vec![], views: vec![] });
        full.skipped = Some(SkippedEvents { count: 1, last: None });
        assert_eq!(SourceOffset::from_json(&full.to_json(), true).unwrap().skipped, full.skipped);
        full.incremental = Some(IncrementalCursor {
            id: 1,
            tables: vec![],
            filter: None,
            table: 0,
            last_key: None,
            key_columns: None,
            rows: 0,
            done: true,
            conditions: Vec::new(),
        });
        let written: Vec<String> = full.to_json().as_object().unwrap().keys().cloned().collect();
        let mut known: Vec<String> = OFFSET_KEYS.iter().map(|k| k.to_string()).collect();
        known.sort();
        assert_eq!(written, known);
        // An offset from before the transaction keys existed still reads.
        let mut old = json.clone();
        old.as_object_mut().unwrap().retain(|k, _| !k.starts_with("transaction"));
        assert_eq!(SourceOffset::from_json(&old, true).unwrap().transaction, None);
        assert!(SourceOffset::from_json(&json!({"row": 1}), true).is_err());
        assert!(SourceOffset::from_json(&json!({"gtids": "x"}), true).is_err());
    }

    /// Whatever the source commits, an operator can set again; malformed
    /// offsets are refused naming what is wrong.
    #[test]
    fn operator_offsets_are_what_the_source_can_resume_from() {
        let written = SourceOffset::from_json(&json!({"file": "b.000001", "pos": 4, "gtids": "0-1-20"}), true).unwrap().to_json();
        validate_operator_offset(&written).unwrap();
        validate_operator_offset(&json!({"gtids": "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5"})).unwrap();
        validate_operator_offset(&json!({"file": "mysql-bin.000003", "pos": 154})).unwrap();
        for (bad, says) in [
            (json!([1]), "JSON object"),
            (json!({"pos": 1}), "needs"),
            (json!({"file": "f", "pos": -1}), "wrong type"),
            (json!({"bogus": 1, "gtids": "0-1-2"}), "unknown key \"bogus\""),
            (json!({"gtids": "not a gtid"}), "offset"),
        ] {
            let error = validate_operator_offset(&bad).unwrap_err().to_string();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
