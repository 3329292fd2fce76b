//! The source signal channel's half in the binlog reader: a row inserted
//! into `signal.data.collection` becomes a [`ReceivedSignal`].
//!
//! Debezium reads the signal table's first three columns by position —
//! `id`, `type`, `data` — whatever they are called, and acts on inserted
//! rows only; so does this. The signal's identity is the row's place in
//! the binlog (the transaction's GTID or `file:pos`, the rows event and
//! the row within the transaction) plus its `id`: reading the same binlog
//! again gives the same identity, which is what lets the replicated state
//! drop a repeat (see [`crate::signal`]). The reader hands the signal over
//! with its transaction's batch; whether the row is also emitted as a
//! change record is up to the include lists, as for any table.
use super::column::{ColumnValue, Row};
use crate::signal::{parse, ReceivedSignal, SignalAction, SignalOrigin};

/// The signal an inserted signal-table row carries; `position` is
/// `<txn>/<event>/<row>`.
pub fn signal_of_row(row: &Row, position: String) -> ReceivedSignal {
    let id = row.first().and_then(text).unwrap_or_default();
    let origin = SignalOrigin::Source { id, position };
    let action = match (row.get(1).and_then(text), row.get(2).and_then(text)) {
        (Some(signal_type), data) => parse(&signal_type, data.as_deref()),
        (None, _) => Some(SignalAction::Refused {
            reason: "the signal table row has no type (its second column); the table needs the columns id, type, data".into(),
        }),
    };
    ReceivedSignal { origin, action }
}

/// A column as text (`None` for NULL).
fn text(value: &ColumnValue) -> Option<String> {
    match value {
        ColumnValue::Null => None,
        ColumnValue::Text(text) => Some(text.clone()),
        ColumnValue::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        ColumnValue::Int(n) => Some(n.to_string()),
        ColumnValue::UInt(n) => Some(n.to_string()),
        other => Some(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_row_is_read_by_column_position() {
        let row = vec![
            ColumnValue::Text("sig-1".into()),
            ColumnValue::Text("execute-snapshot".into()),
            ColumnValue::Text(r#"{"data-collections":["db.t"],"type":"incremental"}"#.into()),
        ];
        let signal = signal_of_row(&row, "0-1-7/0/0".into());
        assert_eq!(signal.origin, SignalOrigin::Source { id: "sig-1".into(), position: "0-1-7/0/0".into() });
        assert_eq!(
            signal.action,
            Some(SignalAction::ExecuteSnapshot { data_collections: vec!["db.t".into()], conditions: vec![] })
        );
        let no_type = signal_of_row(&vec![ColumnValue::Text("x".into()), ColumnValue::Null], "p".into());
        assert!(matches!(no_type.action, Some(SignalAction::Refused { .. })));
        let log = signal_of_row(&vec![ColumnValue::Text("x".into()), ColumnValue::Bytes(b"log".to_vec()), ColumnValue::Null], "p".into());
        assert!(matches!(log.action, Some(SignalAction::Refused { ref reason }) if reason.contains("data.message")));
    }
}
