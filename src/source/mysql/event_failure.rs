//! What the source does with a binlog event it cannot turn into change
//! events: `event.processing.failure.handling.mode` (and its deprecated
//! alias `event.deserialization.failure.handling.mode`), and the record of
//! the events it skipped.
//!
//! # Which events
//! A *rows event* (one `WRITE/UPDATE/DELETE_ROWS` event of the binlog, all
//! of its rows) fails processing when:
//! - its rows cannot be decoded with its table map (a row image that does
//!   not match the table's columns, a truncated or malformed value);
//! - a value cannot be encoded as Debezium represents it (an impossible
//!   date such as `2021-02-30`, stored under `ALLOW_INVALID_DATES`; a value
//!   Debezium cannot convert in a required column);
//! - its table id was never described by a table map (the table's schema
//!   is unknown), or its table map could not be read.
//!
//! Configuration errors (`binlog_row_metadata` not `FULL`, partial JSON
//! updates), events raftcdc refuses by type, and transient errors (a lost
//! connection, retried) are never skipped: they stop the connector or are
//! retried whatever the mode, because skipping them would lose every
//! change of a table, or changes that can be read fine.
//!
//! # The modes (Debezium's)
//! - `fail` (default): the connector stops with a definite error naming the
//!   event's binlog position, GTID and table.
//! - `warn`: the event is logged at WARN (position, GTID, table, reason) and
//!   skipped; streaming continues.
//! - `skip` (and `ignore`, Debezium 3's name for it): skipped, logged at
//!   DEBUG only.
//!
//! The smallest unit skipped is one rows event, all its rows, as Debezium
//! skips one binlog event: none of its rows is emitted, also when only one
//! of them failed.
//!
//! # Why skipping is exactly-once
//! Whether an event fails depends only on its bytes, its table map and the
//! connector's config, so a new owner that re-reads the binlog from the
//! same committed offset fails (and skips) exactly the same events. The
//! skipped events are counted in the committed offset itself
//! ([`SkippedEvents`], key `skipped_events`): an event is counted once it is
//! past the resume point, and a resume from an offset re-reads only events
//! that offset has not counted, so the count is exact across owner changes,
//! and `connector status` and the metrics read it from the replicated
//! state. Skipping still advances the offset.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The property.
pub const PROPERTY: &str = "event.processing.failure.handling.mode";
/// Its deprecated alias (Debezium's MySQL connector before 2.x).
pub const DEPRECATED_PROPERTY: &str = "event.deserialization.failure.handling.mode";

/// What to do with an event that fails processing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EventFailureMode {
    /// Stop with a definite error.
    #[default]
    Fail,
    /// Log at WARN, skip, continue.
    Warn,
    /// Skip silently (DEBUG log), continue.
    Skip,
}

impl FromStr for EventFailureMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fail" => Ok(EventFailureMode::Fail),
            "warn" => Ok(EventFailureMode::Warn),
            "skip" | "ignore" => Ok(EventFailureMode::Skip),
            other => Err(format!("\"{other}\" is not a failure handling mode; use fail, warn or skip (ignore)")),
        }
    }
}

impl fmt::Display for EventFailureMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventFailureMode::Fail => "fail",
            EventFailureMode::Warn => "warn",
            EventFailureMode::Skip => "skip",
        })
    }
}

impl EventFailureMode {
    /// The mode from the property and its deprecated alias (either value
    /// absent when unset): both accept the same values; given both, they
    /// must agree. Errors name the property, and for a disagreement both.
    pub fn from_properties(processing: Option<&str>, deprecated: Option<&str>) -> Result<EventFailureMode, (&'static str, String)> {
        let current = processing.map(|v| v.parse::<EventFailureMode>().map_err(|e| (PROPERTY, e))).transpose()?;
        let old = deprecated.map(|v| v.parse::<EventFailureMode>().map_err(|e| (DEPRECATED_PROPERTY, e))).transpose()?;
        match (current, old) {
            (Some(a), Some(b)) if a != b => Err((
                DEPRECATED_PROPERTY,
                format!("is {b} but {PROPERTY} is {a}; {DEPRECATED_PROPERTY} is a deprecated alias of {PROPERTY}: set only {PROPERTY}"),
            )),
            (a, b) => Ok(a.or(b).unwrap_or_default()),
        }
    }
}

/// The events skipped so far (in `warn` and `skip` mode), as the committed
/// offset carries them (`skipped_events`): how many, and the last one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedEvents {
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<SkippedEvent>,
}

/// One skipped rows event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedEvent {
    /// The rows event's own position (`mysqlbinlog --start-position`).
    pub file: String,
    pub pos: u64,
    /// Its transaction's GTID, when the server has GTIDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtid: Option<String>,
    /// `db.table`, or `table id N` when no table map named it.
    pub table: String,
    pub reason: String,
}

impl SkippedEvents {
    /// Counts `event` as skipped.
    pub fn add(&mut self, event: SkippedEvent) {
        self.count += 1;
        self.last = Some(event);
    }

    /// What `connector status` shows (`None` when nothing was skipped).
    pub fn status_warning(&self) -> Option<String> {
        let last = self.last.as_ref()?;
        Some(format!(
            "{PROPERTY}: {} binlog rows event{} skipped (their rows were not delivered); last at {}",
            self.count,
            if self.count == 1 { "" } else { "s" },
            last
        ))
    }
}

impl fmt::Display for SkippedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)?;
        if let Some(gtid) = &self.gtid {
            write!(f, " (GTID {gtid})")?;
        }
        write!(f, ", table {}: {}", self.table, self.reason)
    }
}

/// The skipped events an offset (JSON) records, if any: for status and
/// metrics, which read committed offsets without parsing the rest.
pub fn skipped_in_offset(offset: &serde_json::Value) -> Option<SkippedEvents> {
    offset.get("skipped_events").and_then(|v| serde_json::from_value(v.clone()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_debezium_spells_them() {
        assert_eq!("fail".parse(), Ok(EventFailureMode::Fail));
        assert_eq!(" WARN ".parse(), Ok(EventFailureMode::Warn));
        assert_eq!("skip".parse(), Ok(EventFailureMode::Skip));
        assert_eq!("ignore".parse(), Ok(EventFailureMode::Skip));
        assert!("drop".parse::<EventFailureMode>().unwrap_err().contains("fail, warn or skip"));
    }

    #[test]
    fn the_deprecated_alias_agrees_or_is_refused_naming_both() {
        let mode = EventFailureMode::from_properties;
        assert_eq!(mode(None, None), Ok(EventFailureMode::Fail));
        assert_eq!(mode(Some("warn"), None), Ok(EventFailureMode::Warn));
        assert_eq!(mode(None, Some("skip")), Ok(EventFailureMode::Skip));
        assert_eq!(mode(Some("skip"), Some("ignore")), Ok(EventFailureMode::Skip));
        let (property, reason) = mode(Some("fail"), Some("warn")).unwrap_err();
        assert_eq!(property, DEPRECATED_PROPERTY);
        assert!(reason.contains(PROPERTY) && reason.contains("warn") && reason.contains("fail"), "{reason}");
        assert_eq!(mode(Some("nope"), Some("warn")).unwrap_err().0, PROPERTY);
        assert_eq!(mode(None, Some("nope")).unwrap_err().0, DEPRECATED_PROPERTY);
    }

    /// At create: the connector config names the property it refuses.
    #[test]
    fn connector_configs_are_refused_naming_the_property() {
        use crate::connector::ConnectorConfig;
        let config = |pairs: &[(&str, &str)]| {
            let mut props = crate::source::mysql::config::tests::base();
            props.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            ConnectorConfig::parse(&props)
        };
        assert_eq!(config(&[(PROPERTY, "warn")]).unwrap().source.event_failure_mode, EventFailureMode::Warn);
        assert_eq!(config(&[(DEPRECATED_PROPERTY, "skip")]).unwrap().source.event_failure_mode, EventFailureMode::Skip);
        assert_eq!(config(&[]).unwrap().source.event_failure_mode, EventFailureMode::Fail);
        let error = config(&[(PROPERTY, "drop")]).unwrap_err().to_string();
        assert!(error.contains(PROPERTY) && error.contains("\"drop\""), "{error}");
        let error = config(&[(PROPERTY, "warn"), (DEPRECATED_PROPERTY, "fail")]).unwrap_err().to_string();
        assert!(error.contains(PROPERTY) && error.contains(DEPRECATED_PROPERTY), "{error}");
    }

    #[test]
    fn skipped_events_round_trip_through_the_offset_and_read_in_status() {
        let mut skipped = SkippedEvents::default();
        assert_eq!(skipped.status_warning(), None);
        skipped.add(SkippedEvent {
            file: "mysql-bin.000003".into(),
            pos: 1234,
            gtid: Some("0-1-7".into()),
            table: "inventory.t".into(),
            reason: "column `d`: invalid date/time 2021-02-30".into(),
        });
        skipped.add(SkippedEvent { file: "mysql-bin.000003".into(), pos: 2345, gtid: None, table: "inventory.u".into(), reason: "r".into() });
        let offset = serde_json::json!({"file": "f", "pos": 4, "skipped_events": skipped});
        assert_eq!(skipped_in_offset(&offset), Some(skipped.clone()));
        assert_eq!(skipped_in_offset(&serde_json::json!({"file": "f"})), None);
        let warning = skipped.status_warning().unwrap();
        assert!(warning.contains("2 binlog rows events skipped") && warning.contains("last at mysql-bin.000003:2345, table inventory.u: r"), "{warning}");
        skipped.count = 1;
        skipped.last.as_mut().unwrap().gtid = Some("0-1-8".into());
        let warning = skipped.status_warning().unwrap();
        assert!(warning.contains("1 binlog rows event skipped") && warning.contains("last at mysql-bin.000003:2345 (GTID 0-1-8)"), "{warning}");
    }

    /// The reader against a binlog built byte by byte: one MariaDB
    /// transaction (GTID 0-1-7) over `shop.things (id INT, d DATE)` with
    /// one rows event per inner slice, the second holding 2021-02-30.
    mod reading {
        use std::sync::Arc;

        use mysql_common::binlog::events::Event;
        use serde_json::Value;

        use crate::source::mysql::config::MySqlSourceConfig;
        use crate::source::mysql::decode::tests::{rows_event_body, table_map_body};
        use crate::source::mysql::error::{DefiniteError, SourceError};
        use crate::source::mysql::events::*;
        use crate::source::mysql::position::SourceOffset;
        use crate::source::mysql::reader::Reader;
        use crate::source::mysql::validate::ServerInfo;
        use super::*;
        use crate::source::Batch;

        use crate::source::mysql::reader::tests::{event, query_body};

        /// A DATE as stored: day | month << 5 | year << 9, 3 bytes.
        fn date(y: u32, m: u32, d: u32) -> [u8; 3] {
            let v = d | (m << 5) | (y << 9);
            [v as u8, (v >> 8) as u8, (v >> 16) as u8]
        }

        /// The transaction's events, each ending 100 bytes after the last (the
        /// second rows event, 55 bytes, starts at 545).
        fn transaction(events: &[&[(i32, [u8; 3])]]) -> Vec<Event> {
            let mut gtid = 7u64.to_le_bytes().to_vec();
            gtid.extend(0u32.to_le_bytes());
            gtid.push(0);
            let begin = query_body("shop", "BEGIN");
            let map = table_map_body("shop", "things", &[(3, vec![], false, "id"), (10, vec![], true, "d")], &[(8, vec![1, 0])]);
            let mut out = vec![event(MARIADB_GTID_EVENT, 100, &gtid), event(QUERY_EVENT, 200, &begin)];
            let mut pos = 200;
            for rows in events {
                pos += 100;
                out.push(event(TABLE_MAP_EVENT, pos, &map));
                let data: Vec<u8> = rows.iter().flat_map(|(id, d)| [vec![0u8], id.to_le_bytes().to_vec(), d.to_vec()].concat()).collect();
                pos += 100;
                out.push(event(30, pos, &rows_event_body(2, 1, &[true, true], true, &data)));
            }
            out.push(event(XID_EVENT, pos + 100, &9u64.to_le_bytes()));
            out
        }

        fn reader(mode: &str, max_batch: &str, offset: &SourceOffset) -> Reader {
            let mut props = crate::source::mysql::config::tests::base();
            props.insert(PROPERTY.into(), mode.into());
            props.insert("max.batch.size".into(), max_batch.into());
            let config = Arc::new(MySqlSourceConfig::from_properties(&props).unwrap());
            let server = ServerInfo { mariadb: true, version: "10.11".into(), gtid_enabled: true, checksum: false, server_id: 1 };
            Reader::new(config, server, offset)
        }

        fn start() -> SourceOffset {
            SourceOffset::at("binlog.000001".into(), 4, None, 1)
        }

        fn read(reader: &mut Reader, events: &[Event]) -> Result<Vec<Batch>, SourceError> {
            let mut batches = Vec::new();
            for event in events {
                batches.extend(reader.handle(event)?);
            }
            Ok(batches)
        }

        fn ids(batches: &[Batch]) -> Vec<i64> {
            batches
                .iter()
                .flat_map(|b| &b.records)
                .filter(|r| r.topic == "dbserver1.shop.things")
                .map(|r| serde_json::from_slice::<Value>(r.value.as_ref().unwrap()).unwrap()["payload"]["after"]["id"].as_i64().unwrap())
                .collect()
        }

        fn binlog() -> Vec<Event> {
            let (good, bad) = (date(2021, 1, 1), date(2021, 2, 30));
            transaction(&[&[(1, good)], &[(2, good), (3, bad), (4, good)], &[(5, good)]])
        }

        /// fail: a definite error naming the rows event's position, the
        /// GTID, the table and the value; nothing of the event was handed
        /// over.
        #[test]
        fn fail_names_the_event_position_gtid_and_table() {
            let mut reader = reader("fail", "2048", &start());
            let error = read(&mut reader, &binlog()).unwrap_err();
            let SourceError::Definite(error @ DefiniteError::RowsEvent { .. }) = error else { panic!("{error:?}") };
            let text = crate::error::error_chain(&error);
            assert!(text.starts_with("the rows event at binlog.000001:545 (GTID 0-1-7) for table shop.things cannot be processed"), "{text}");
            assert!(text.contains("2021-02-30"), "{text}");
            assert_eq!(error.position(), Some("binlog.000001:545 (GTID 0-1-7)"));
            assert!(error.remedy().contains("event.processing.failure.handling.mode=warn"));
        }

        /// warn and skip: the whole rows event (rows 2, 3 and 4) is
        /// skipped, the rest of the transaction delivered, and the commit's
        /// offset counts it. Resuming from every batch's offset (split
        /// mid-transaction with max.batch.size=1) gives exactly the rest,
        /// and the same count: a new owner skips the same event once.
        #[test]
        fn warn_and_skip_drop_the_whole_event_and_count_it_once_from_any_offset() {
            for mode in ["warn", "skip", "ignore"] {
                for max_batch in ["2048", "1"] {
                    let mut first = reader(mode, max_batch, &start());
                    let batches = read(&mut first, &binlog()).unwrap();
                    assert_eq!(ids(&batches), [1, 5], "{mode} {max_batch}");
                    let last = batches.last().unwrap();
                    assert!(last.ends_transaction);
                    let skipped = skipped_in_offset(&last.offset).expect("counted in the offset");
                    assert_eq!(skipped.count, 1);
                    let event = skipped.last.unwrap();
                    assert_eq!((event.file.as_str(), event.pos, event.gtid.as_deref(), event.table.as_str()), ("binlog.000001", 545, Some("0-1-7"), "shop.things"));
                    assert!(event.reason.contains("2021-02-30"), "{}", event.reason);
                    for (i, batch) in batches.iter().enumerate() {
                        let offset = SourceOffset::from_json(&batch.offset, true).unwrap();
                        let mut resumed = reader(mode, max_batch, &offset);
                        // A split offset resumes at its transaction's start;
                        // a boundary offset past it reads nothing of it.
                        let events = if offset.event > 0 || offset.row > 0 { binlog() } else { Vec::new() };
                        let rest = read(&mut resumed, &events).unwrap();
                        let delivered: Vec<i64> = ids(&batches[..=i]);
                        let mut all = delivered.clone();
                        all.extend(ids(&rest));
                        assert_eq!(all, [1, 5], "{mode} {max_batch}: resumed from {}", batch.offset);
                        let end = rest.last().map_or(&batch.offset, |b| &b.offset);
                        assert_eq!(skipped_in_offset(end).map(|s| s.count), Some(1), "{mode} {max_batch}: {end}");
                    }
                }
            }
        }

        /// A rows event whose table id no table map described: fail stops
        /// naming the table id; warn skips it.
        #[test]
        fn a_rows_event_of_an_unknown_table_fails_or_is_skipped() {
            let mut events = binlog();
            events.remove(2); // the first table map
            let error = read(&mut reader("fail", "2048", &start()), &events).unwrap_err();
            assert!(crate::error::error_chain(&error).contains("no table map describes table id 42"), "{error}");
            let mut warn = reader("warn", "2048", &start());
            let batches = read(&mut warn, &events).unwrap();
            // The first rows event is skipped; the later ones have their map.
            assert_eq!(ids(&batches), [5]);
            assert_eq!(skipped_in_offset(&batches.last().unwrap().offset).unwrap().count, 2);
        }
    }
}
