//! Debezium signals: ad-hoc instructions to a running connector, sent as a
//! row inserted into the signal table (`signal.data.collection`, the
//! *source* channel) or as a record on the signal topic
//! (`signal.kafka.topic`, the *kafka* channel), and acted on exactly once.
//!
//! This module owns what a signal *means* ([`parse`]: Debezium's payloads
//! to a [`SignalAction`]), where it came from ([`SignalOrigin`], its
//! identity), and the channels' configuration ([`config`]) and the Kafka
//! channel's reader ([`kafka`]). What an action *does* is the replicated
//! state's business (`raft::state`, `Command::ApplySignal`): a signal is
//! acted on by applying one Raft entry, never by a node on its own.
//!
//! # Exactly once
//! A signal is acted on exactly when its `ApplySignal` entry applies and
//! is not a repeat. The entry carries the signal's identity, the state
//! machine remembers what each channel applied, and a repeat is committed
//! but answers `SignalRepeated` and changes nothing. That makes a proposal
//! safe to repeat, and both channels repeat it only in one situation: the
//! owner died after proposing and before its progress moved past the
//! signal.
//!
//! - **Source channel.** A signal row arrives in the binlog inside a
//!   transaction; the reader hands it over with the batch of that
//!   transaction ([`crate::source::Batch::signals`]). The owner proposes
//!   `ApplySignal` *before* the batch's Kafka transaction (the order schema
//!   history uses, see `pipeline::task`). If the owner dies after the
//!   proposal but before the Kafka commit, the next owner resumes before
//!   the signal row, reads it again and proposes it again: the state
//!   machine drops the repeat, because the identity is the same — the
//!   transaction's GTID (or its binlog `file:pos` without GTIDs), the rows
//!   event and row number inside it, and the signal's `id`. It dies
//!   *before* the proposal: nothing was acted on, the signal is read again
//!   and acted on once. Proposing after the Kafka commit instead would
//!   lose the signal in a crash between the two.
//! - **Kafka channel.** The channel's consumed position lives in the
//!   replicated state, not in a consumer group: `ApplySignal` for the
//!   record at offset `o` sets the position to `o + 1` in the same entry
//!   that acts on it, and the state machine ignores a record below the
//!   position. A new owner starts reading at the replicated position, so
//!   a record is acted on exactly when its entry applied, whoever reads it.
//!
//! Both rules are pure functions of the log, so every replica agrees, and
//! the entries carry the owner's epoch, so a deposed owner's late
//! proposals are rejected.
//!
//! # What the actions map to
//! `execute-snapshot` of type `incremental` is an incremental snapshot
//! request, the same one `raftcdc connector snapshot` makes (its id rises
//! by one), with Debezium's `data-collections` kept as patterns (matched
//! whole against `db.table` when the snapshot starts) and each
//! `additional-conditions` entry kept per data collection.
//! `pause-snapshot`, `resume-snapshot` and `stop-snapshot` change that
//! request's state. `log` is written to the owner's log. Anything else —
//! a payload that does not parse, a `blocking` snapshot, an unknown type —
//! is a [`SignalAction::Refused`]: recorded as a warning in the connector's
//! status, never an error of the connector.
pub mod config;
pub mod kafka;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use config::{SignalChannels, SignalConfig};

/// Where a signal came from, which is also its identity for the state
/// machine's repeat check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum SignalOrigin {
    /// A row inserted into the signal table.
    Source {
        /// The row's `id` column.
        id: String,
        /// The transaction's GTID (or `file:pos`), the rows event and the
        /// row inside it: `<txn>/<event>/<row>`.
        position: String,
    },
    /// A record of the signal topic.
    Kafka { topic: String, partition: i32, offset: i64 },
}

impl SignalOrigin {
    /// The signal as status and logs name it.
    pub fn describe(&self) -> String {
        match self {
            SignalOrigin::Source { id, position } => format!("source signal {id:?} at {position}"),
            SignalOrigin::Kafka { topic, partition, offset } => format!("kafka signal {topic}-{partition}@{offset}"),
        }
    }
}

/// A per-table condition of an incremental snapshot (Debezium's
/// `additional-conditions` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCondition {
    /// A pattern matched whole against `db.table`.
    pub data_collection: String,
    /// An SQL condition added to the chunk query's `WHERE`.
    pub filter: String,
}

/// What a signal asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum SignalAction {
    /// An incremental snapshot of the tables `data_collections` match.
    ExecuteSnapshot {
        data_collections: Vec<String>,
        conditions: Vec<TableCondition>,
    },
    /// Stops the incremental snapshot; `data_collections` empty: all of it.
    StopSnapshot { data_collections: Vec<String> },
    PauseSnapshot,
    ResumeSnapshot,
    /// Writes `message` to the owner's log.
    Log { message: String },
    /// Not acted on; shown in status as a warning.
    Refused { reason: String },
}

impl SignalAction {
    /// The action's name, as Debezium's signal type spells it.
    pub fn name(&self) -> &'static str {
        match self {
            SignalAction::ExecuteSnapshot { .. } => "execute-snapshot",
            SignalAction::StopSnapshot { .. } => "stop-snapshot",
            SignalAction::PauseSnapshot => "pause-snapshot",
            SignalAction::ResumeSnapshot => "resume-snapshot",
            SignalAction::Log { .. } => "log",
            SignalAction::Refused { .. } => "refused",
        }
    }
}

/// Signal types Debezium's incremental snapshot writes to its own signal
/// table as watermarks; raftcdc writes none, and ignores them (no action,
/// no warning) if a Debezium connector left some behind.
const WATERMARKS: &[&str] = &["snapshot-window-open", "snapshot-window-close"];

/// A signal read from a channel: its identity and what it asks for
/// (`None`: Debezium's own watermark signals, which ask for nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSignal {
    pub origin: SignalOrigin,
    pub action: Option<SignalAction>,
}

/// Interprets a signal's `type` and `data` (a JSON object, or nothing) the
/// way Debezium 3.x does. Never fails: what cannot be acted on is a
/// [`SignalAction::Refused`] with the reason.
pub fn parse(signal_type: &str, data: Option<&str>) -> Option<SignalAction> {
    let signal_type = signal_type.trim();
    if WATERMARKS.contains(&signal_type) {
        return None;
    }
    Some(parse_action(signal_type, data).unwrap_or_else(|reason| SignalAction::Refused {
        reason: format!("{signal_type:?} signal: {reason}"),
    }))
}

fn parse_action(signal_type: &str, data: Option<&str>) -> Result<SignalAction, String> {
    let data = match data.map(str::trim).filter(|d| !d.is_empty()) {
        None => Value::Object(Default::default()),
        Some(text) => serde_json::from_str::<Value>(text).map_err(|e| format!("data is not JSON: {e}"))?,
    };
    let object = data.as_object().ok_or_else(|| format!("data must be a JSON object, got {data}"))?;
    let snapshot_type = || -> Result<(), String> {
        match object.get("type") {
            None => Ok(()),
            Some(Value::String(t)) if t.eq_ignore_ascii_case("incremental") => Ok(()),
            Some(Value::String(t)) if t.eq_ignore_ascii_case("blocking") => Err(
                "blocking snapshots are not supported by raftcdc; send type \"incremental\" (the snapshot runs while streaming continues)".into(),
            ),
            Some(other) => Err(format!("data.type must be \"incremental\" or \"blocking\", got {other}")),
        }
    };
    match signal_type {
        "execute-snapshot" => {
            snapshot_type()?;
            let data_collections = collections(object.get("data-collections"))?;
            if data_collections.is_empty() {
                return Err("data.data-collections must name at least one table".into());
            }
            let mut conditions = Vec::new();
            match object.get("additional-conditions") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let field = |name: &str| {
                            item.get(name)
                                .and_then(Value::as_str)
                                .map(str::trim)
                                .filter(|s| !s.is_empty())
                                .map(str::to_string)
                                .ok_or_else(|| format!("data.additional-conditions[{i}].{name} must be a non-empty string"))
                        };
                        let condition = TableCondition { data_collection: field("data-collection")?, filter: field("filter")? };
                        check_pattern(&condition.data_collection)
                            .map_err(|e| format!("data.additional-conditions[{i}].data-collection: {e}"))?;
                        check_filter(&condition.filter).map_err(|e| format!("data.additional-conditions[{i}].filter: {e}"))?;
                        conditions.push(condition);
                    }
                }
                Some(other) => return Err(format!("data.additional-conditions must be an array, got {other}")),
            }
            // Debezium 2.0-2.2 took one condition for every table.
            if let Some(condition) = object.get("additional-condition") {
                let filter = condition
                    .as_str()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .ok_or("data.additional-condition must be a non-empty string")?;
                check_filter(filter).map_err(|e| format!("data.additional-condition: {e}"))?;
                conditions.push(TableCondition { data_collection: ".*".into(), filter: filter.to_string() });
            }
            Ok(SignalAction::ExecuteSnapshot { data_collections, conditions })
        }
        "stop-snapshot" => {
            snapshot_type()?;
            Ok(SignalAction::StopSnapshot { data_collections: collections(object.get("data-collections"))? })
        }
        "pause-snapshot" => snapshot_type().map(|()| SignalAction::PauseSnapshot),
        "resume-snapshot" => snapshot_type().map(|()| SignalAction::ResumeSnapshot),
        "log" => {
            let message = object
                .get("message")
                .and_then(Value::as_str)
                .ok_or("data.message must be a string")?;
            Ok(SignalAction::Log { message: message.to_string() })
        }
        "" => Err("the type is empty".into()),
        other => Err(format!(
            "unknown signal type {other:?}; raftcdc acts on execute-snapshot, stop-snapshot, pause-snapshot, resume-snapshot and log"
        )),
    }
}

/// `data-collections`: absent, or an array of non-empty patterns.
fn collections(value: Option<&Value>) -> Result<Vec<String>, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let items = value
        .as_array()
        .ok_or_else(|| format!("data.data-collections must be an array of db.table names or patterns, got {value}"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let text = item
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| format!("data.data-collections[{i}] must be a non-empty string"))?;
            check_pattern(text).map_err(|e| format!("data.data-collections[{i}]: {e}"))?;
            Ok(text.to_string())
        })
        .collect()
}

/// A data-collection pattern must compile (it is matched whole).
fn check_pattern(pattern: &str) -> Result<(), String> {
    whole_match(pattern).map(|_| ()).map_err(|e| format!("{pattern:?} is not a valid pattern: {e}"))
}

/// A filter is one SQL condition, as `raftcdc connector snapshot --filter`.
fn check_filter(filter: &str) -> Result<(), String> {
    if filter.contains(';') {
        return Err("must be one SQL condition, without `;`".into());
    }
    Ok(())
}

/// `pattern` anchored to match a whole `db.table`.
pub fn whole_match(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
}

/// The condition for `db.table` among `conditions`: the first whose
/// data-collection matches it whole (Debezium's order).
pub fn condition_for<'a>(conditions: &'a [TableCondition], table: &str) -> Option<&'a str> {
    conditions
        .iter()
        .find(|c| whole_match(&c.data_collection).is_ok_and(|r| r.is_match(table)))
        .map(|c| c.filter.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(action: Option<SignalAction>) -> String {
        match action {
            Some(SignalAction::Refused { reason }) => reason,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn execute_snapshot_takes_collections_and_per_table_conditions() {
        let data = r#"{"type":"incremental","data-collections":["inv.orders","inv\\.cust.*"],
            "additional-conditions":[{"data-collection":"inv.orders","filter":"id > 10"}]}"#;
        assert_eq!(
            parse("execute-snapshot", Some(data)),
            Some(SignalAction::ExecuteSnapshot {
                data_collections: vec!["inv.orders".into(), "inv\\.cust.*".into()],
                conditions: vec![TableCondition { data_collection: "inv.orders".into(), filter: "id > 10".into() }],
            })
        );
        // No type means incremental; the 2.0 single condition applies to all.
        let Some(SignalAction::ExecuteSnapshot { conditions, .. }) =
            parse("execute-snapshot", Some(r#"{"data-collections":["a.b"],"additional-condition":"x = 1"}"#))
        else {
            panic!()
        };
        assert_eq!(conditions, vec![TableCondition { data_collection: ".*".into(), filter: "x = 1".into() }]);
    }

    #[test]
    fn control_and_log_signals() {
        assert_eq!(parse("pause-snapshot", Some(r#"{"type":"INCREMENTAL"}"#)), Some(SignalAction::PauseSnapshot));
        assert_eq!(parse("resume-snapshot", None), Some(SignalAction::ResumeSnapshot));
        assert_eq!(parse("stop-snapshot", Some(r#"{"type":"incremental"}"#)), Some(SignalAction::StopSnapshot { data_collections: vec![] }));
        assert_eq!(
            parse("stop-snapshot", Some(r#"{"data-collections":["a.b"],"type":"incremental"}"#)),
            Some(SignalAction::StopSnapshot { data_collections: vec!["a.b".into()] })
        );
        assert_eq!(parse("log", Some(r#"{"message":"hello"}"#)), Some(SignalAction::Log { message: "hello".into() }));
        assert_eq!(parse("snapshot-window-open", Some(r#"{"openWindowTimestamp":1}"#)), None);
    }

    #[test]
    fn malformed_signals_are_refused_with_the_reason() {
        assert!(refused(parse("execute-snapshot", Some("{not json"))).contains("data is not JSON"));
        assert!(refused(parse("execute-snapshot", Some("[1]"))).contains("must be a JSON object"));
        assert!(refused(parse("execute-snapshot", Some(r#"{"type":"incremental"}"#))).contains("at least one table"));
        assert!(refused(parse("execute-snapshot", Some(r#"{"data-collections":"a.b"}"#))).contains("must be an array"));
        assert!(refused(parse("execute-snapshot", Some(r#"{"data-collections":["a.("]}"#))).contains("not a valid pattern"));
        assert!(refused(parse("execute-snapshot", Some(r#"{"type":"blocking","data-collections":["a.b"]}"#))).contains("blocking snapshots are not supported"));
        let bad_filter = r#"{"data-collections":["a.b"],"additional-conditions":[{"data-collection":"a.b","filter":"1; DROP TABLE x"}]}"#;
        assert!(refused(parse("execute-snapshot", Some(bad_filter))).contains("filter: must be one SQL condition"));
        let no_filter = r#"{"data-collections":["a.b"],"additional-conditions":[{"data-collection":"a.b"}]}"#;
        assert!(refused(parse("execute-snapshot", Some(no_filter))).contains("additional-conditions[0].filter"));
        assert!(refused(parse("log", Some("{}"))).contains("data.message"));
        assert!(refused(parse("reboot", None)).contains("unknown signal type \"reboot\""));
        assert!(refused(parse("", None)).contains("empty"));
    }

    #[test]
    fn conditions_match_whole_names_first_wins() {
        let conditions = vec![
            TableCondition { data_collection: "inv.order".into(), filter: "a".into() },
            TableCondition { data_collection: "inv\\..*".into(), filter: "b".into() },
        ];
        assert_eq!(condition_for(&conditions, "inv.order"), Some("a"));
        assert_eq!(condition_for(&conditions, "inv.orders"), Some("b"), "a pattern matches whole names only");
        assert_eq!(condition_for(&conditions, "other.t"), None);
    }
}
