//! KIP-875 offsets: `GET`, `PATCH` and `DELETE /connectors/{name}/offsets`.
//!
//! A raftcdc connector has one source partition, Debezium MySQL's
//! `{"server": <topic.prefix>}`, and its offset is the Raft-replicated
//! offset record, whose keys are Debezium's (`file`, `pos`, `gtids`, `row`,
//! `event`, `ts_sec`, ...): the mapping is the identity on the offset
//! object. Changes require a STOPPED connector, as Kafka does (the state
//! machine checks it again where it applies, so a stop racing a resume
//! cannot slip through):
//! - `PATCH` with an offset object is `SetOperatorOffset`, checked first
//!   by the source's own offset validator, as `connector offsets set` is
//!   (marked as set by an operator, so it wins over Kafka progress at the
//!   next start);
//! - `DELETE`, or `PATCH` with a `null` offset, is `ResetOffsets`: offset
//!   and snapshot progress cleared and a new incarnation, so the next
//!   start ignores the old progress records in Kafka: a true reset.
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::error::RestError;
use super::{answer, json_body, RestState};
use crate::node::NodeError;
use crate::raft::command::{Command, CommandError};
use crate::raft::state::{ConnectorRecord, DesiredState};
use crate::source::mysql::position::validate_operator_offset;

/// The source partition of a connector: `{"server": topic.prefix}`.
pub fn partition(record: &ConnectorRecord) -> Value {
    json!({"server": record.config.get("topic.prefix").cloned().unwrap_or_default()})
}

/// `{"offsets": [...]}` as Kafka shows a source connector's offsets.
pub fn offsets(record: &ConnectorRecord) -> Value {
    let entries: Vec<Value> = record
        .offset
        .iter()
        .map(|o| json!({"partition": partition(record), "offset": o.offset}))
        .collect();
    json!({ "offsets": entries })
}

/// `GET /connectors/{name}/offsets`.
pub async fn get(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    let record = state.node.connector(&name).await?;
    Ok(answer(StatusCode::OK, offsets(&record)))
}

fn require_stopped(record: &ConnectorRecord) -> Result<(), RestError> {
    if record.desired == DesiredState::Stopped {
        Ok(())
    } else {
        Err(NodeError::from(CommandError::NotStopped { name: record.name.clone() }).into())
    }
}

/// What a PATCH body asks for.
#[derive(Debug, PartialEq)]
enum Alteration {
    Set(Value),
    Reset,
}

/// Checks a PATCH body against the connector's one partition.
fn alteration(record: &ConnectorRecord, body: &Value) -> Result<Alteration, RestError> {
    let bad = |m: String| RestError::BadRequest(m);
    let entries = body
        .get("offsets")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("the body must be {\"offsets\": [{\"partition\": {...}, \"offset\": {...}}]}".into()))?;
    let [entry] = entries.as_slice() else {
        return Err(bad(format!(
            "offsets: a raftcdc connector has exactly one source partition, {}; got {} entries",
            partition(record),
            entries.len()
        )));
    };
    let given = entry.get("partition").ok_or_else(|| bad("offsets[0].partition: is required".into()))?;
    if *given != partition(record) {
        return Err(bad(format!(
            "offsets[0].partition: {given} is not this connector's partition {}",
            partition(record)
        )));
    }
    match entry.get("offset") {
        None | Some(Value::Null) => Ok(Alteration::Reset),
        Some(offset) => {
            validate_operator_offset(offset).map_err(|e| bad(format!("offsets[0].{e}")))?;
            Ok(Alteration::Set(offset.clone()))
        }
    }
}

/// `PATCH /connectors/{name}/offsets`.
pub async fn alter(
    State(state): State<RestState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RestError> {
    let body = json_body(body)?;
    let record = state.node.connector(&name).await?;
    require_stopped(&record)?;
    let command = match alteration(&record, &body)? {
        Alteration::Set(offset) => Command::SetOperatorOffset { name, offset },
        Alteration::Reset => Command::reset_offsets(name),
    };
    state.propose(command).await?;
    Ok(answer(
        StatusCode::OK,
        json!({"message": "The offsets for this connector have been altered successfully"}),
    ))
}

/// `DELETE /connectors/{name}/offsets`.
pub async fn reset(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    let record = state.node.connector(&name).await?;
    require_stopped(&record)?;
    state.propose(Command::reset_offsets(name)).await?;
    Ok(answer(
        StatusCode::OK,
        json!({"message": "The offsets for this connector have been reset successfully"}),
    ))
}


#[cfg(test)]
mod tests {
    use super::*;

    fn stopped() -> ConnectorRecord {
        let mut record: ConnectorRecord = serde_json::from_value(json!({
            "name": "c", "config": {"topic.prefix": "dbserver1"}, "desired": "stopped", "owner": null, "epoch": 1,
            "task": {"state": "UNASSIGNED", "node_id": null, "epoch": 0, "error": null, "remedy": null, "updated_ms": 0},
            "offset": null, "schema_history": [], "snapshot": null, "created_ms": 0, "updated_ms": 0
        }))
        .unwrap();
        record.desired = DesiredState::Stopped;
        record
    }

    #[test]
    fn one_partition_named_by_the_topic_prefix() {
        let record = stopped();
        assert_eq!(offsets(&record), json!({"offsets": []}));
        let set = json!({"offsets": [{"partition": {"server": "dbserver1"}, "offset": {"file": "f.000001", "pos": 4, "gtids": "0-1-2", "row": 1, "event": 2, "ts_sec": 7}}]});
        assert!(matches!(alteration(&record, &set).unwrap(), Alteration::Set(_)));
        let reset = json!({"offsets": [{"partition": {"server": "dbserver1"}, "offset": null}]});
        assert_eq!(alteration(&record, &reset).unwrap(), Alteration::Reset);
        for bad in [
            json!({}),
            json!({"offsets": []}),
            json!({"offsets": [{"partition": {"server": "other"}, "offset": {"file": "f", "pos": 4}}]}),
            json!({"offsets": [{"offset": {"file": "f", "pos": 4}}]}),
            json!({"offsets": [{"partition": {"server": "dbserver1"}, "offset": {"pos": "x"}}]}),
        ] {
            assert!(matches!(alteration(&record, &bad), Err(RestError::BadRequest(_))), "{bad}");
        }
        let mut running = record.clone();
        running.desired = DesiredState::Running;
        assert_eq!(require_stopped(&running).unwrap_err().status(), axum::http::StatusCode::BAD_REQUEST);
    }
}
