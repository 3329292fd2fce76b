//! Kafka Connect's JSON shapes, built from raftcdc's domain records.
//!
//! This module owns the mapping, and nothing else reads or writes these
//! shapes. A raftcdc connector is one Debezium MySQL source connector with
//! exactly one task, id 0, run by the connector's owner; the task's
//! `worker_id` is the owner's advertised REST address (`rest.advertise`).
//! States map onto Kafka Connect's `AbstractStatus.State`:
//!
//! | raftcdc (effective task state) | connector  | task 0                    |
//! |--------------------------------|------------|---------------------------|
//! | desired paused                 | PAUSED     | PAUSED                    |
//! | desired stopped                | STOPPED    | (no task, as Kafka shows) |
//! | no owner                       | UNASSIGNED | UNASSIGNED                |
//! | owner starting a new epoch     | RUNNING    | UNASSIGNED                |
//! | owner reports RUNNING          | RUNNING    | RUNNING                   |
//! | owner reports FAILED           | RUNNING    | FAILED, `trace` = error + remedy |
//!
//! Kafka keeps the connector instance RUNNING while a task fails; tools
//! that alert on failures read task states, as they do against Kafka.
//! Configs are shown with secrets replaced by `********`; a PUT or PATCH
//! that sends `********` back for a secret keeps the stored value (see
//! [`restore_secrets`]), so read-modify-write clients never store the mask.
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::connector::{is_secret, ConnectorSpec, REDACTED};
use crate::raft::state::{ConnectorRecord, DesiredState, TaskState};

/// The connector class raftcdc implements.
pub const MYSQL_CONNECTOR_CLASS: &str = "io.debezium.connector.mysql.MySqlConnector";

/// `GET /connectors/{name}/config`: the config with `name`, secrets masked.
pub fn config(record: &ConnectorRecord) -> Value {
    let mut config: Map<String, Value> = ConnectorSpec::redacted(&record.config)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    config.insert("name".into(), Value::String(record.name.clone()));
    Value::Object(config)
}

/// `ConnectorInfo`: `GET /connectors/{name}`.
pub fn info(record: &ConnectorRecord) -> Value {
    let tasks: Vec<Value> = if record.desired == DesiredState::Stopped {
        Vec::new()
    } else {
        vec![json!({"connector": record.name, "task": 0})]
    };
    json!({
        "name": record.name,
        "config": config(record),
        "tasks": tasks,
        "type": "source",
    })
}

/// Kafka's name for a task state.
pub fn task_state(state: TaskState) -> &'static str {
    match state {
        TaskState::Unassigned | TaskState::Starting => "UNASSIGNED",
        TaskState::Running => "RUNNING",
        TaskState::Paused => "PAUSED",
        TaskState::Failed => "FAILED",
        TaskState::Stopped => "STOPPED",
    }
}

/// Kafka's name for the connector instance's state.
pub fn connector_state(record: &ConnectorRecord) -> &'static str {
    match (record.desired, record.owner) {
        (DesiredState::Paused, _) => "PAUSED",
        (DesiredState::Stopped, _) => "STOPPED",
        (DesiredState::Running, None) => "UNASSIGNED",
        (DesiredState::Running, Some(_)) => "RUNNING",
    }
}

/// `TaskState` of task 0 (`/tasks/0/status` and inside `/status`).
pub fn task_status(record: &ConnectorRecord, worker_id: &str) -> Value {
    let state = record.effective_task_state();
    let mut task = json!({"id": 0, "state": task_state(state), "worker_id": worker_id});
    if state == TaskState::Failed {
        let mut trace = record.task.error.clone().unwrap_or_default();
        if let Some(remedy) = &record.task.remedy {
            trace.push_str("\nRemedy: ");
            trace.push_str(remedy);
        }
        task["trace"] = Value::String(trace);
    }
    task
}

/// `ConnectorStateInfo`: `GET /connectors/{name}/status`.
pub fn status(record: &ConnectorRecord, worker_id: &str) -> Value {
    let tasks: Vec<Value> = if record.desired == DesiredState::Stopped {
        Vec::new()
    } else {
        vec![task_status(record, worker_id)]
    };
    let mut status = json!({
        "name": record.name,
        "connector": {"state": connector_state(record), "worker_id": worker_id},
        "tasks": tasks,
        "type": "source",
    });
    // raftcdc's own: what the signal channels applied, and the signals
    // they could not act on (only once a signal was read).
    if !record.signals.is_empty() {
        status["signals"] = json!({
            "applied": record.signals.applied,
            "kafka_position": record.signals.kafka_position,
            "warnings": record.signals.warnings.iter().map(|w| json!({"signal": w.signal, "reason": w.reason, "at_ms": w.at_ms})).collect::<Vec<_>>(),
        });
    }
    status
}

/// `GET /connectors/{name}/tasks`: task 0 with the connector's config.
pub fn tasks(record: &ConnectorRecord) -> Value {
    if record.desired == DesiredState::Stopped {
        return json!([]);
    }
    json!([{"id": {"connector": record.name, "task": 0}, "config": config(record)}])
}

/// A REST config object as the string map the front door takes: Kafka
/// Connect accepts numbers and booleans and stringifies them; `name`, if
/// present, must equal `url_name`. A secret's value is never echoed.
pub fn config_map(body: &Value, url_name: &str) -> Result<BTreeMap<String, String>, String> {
    let object = body.as_object().ok_or_else(|| format!("the config must be a JSON object, got {}", kind(body)))?;
    let mut config = BTreeMap::new();
    for (key, value) in object {
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                let got = if is_secret(key) { kind(other).to_string() } else { other.to_string() };
                return Err(format!("config.{key}: must be a string, number or boolean, got {got}"));
            }
        };
        if key == "name" {
            if value != url_name {
                return Err(format!(
                    "Connector name configuration ({value}) doesn't match connector name in the URL ({url_name})"
                ));
            }
            continue;
        }
        config.insert(key.clone(), value);
    }
    Ok(config)
}

/// Puts the stored value back for every secret sent as `********` (what
/// a GET showed), so a read-modify-write never stores the mask.
pub fn restore_secrets(config: &mut BTreeMap<String, String>, stored: &BTreeMap<String, String>) {
    for (key, value) in config.iter_mut() {
        if is_secret(key) && value == REDACTED {
            if let Some(old) = stored.get(key) {
                value.clone_from(old);
            }
        }
    }
}

pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(desired: DesiredState, owner: Option<u64>, task: TaskState) -> ConnectorRecord {
        let config = BTreeMap::from([
            ("topic.prefix".to_string(), "p".to_string()),
            ("database.password".to_string(), "hunter2".to_string()),
        ]);
        let mut record = ConnectorRecord::for_tests(config.into(), owner.unwrap_or(0), 4, task);
        record.desired = desired;
        record.owner = owner;
        record.task.node_id = owner;
        record.task.error = Some("boom".into());
        record.task.remedy = Some("fix it".into());
        record
    }

    #[test]
    fn states_map_onto_kafka_connects() {
        let running = status(&record(DesiredState::Running, Some(1), TaskState::Running), "http://w1:8083");
        assert_eq!(running["connector"], json!({"state": "RUNNING", "worker_id": "http://w1:8083"}));
        assert_eq!(running["tasks"], json!([{"id": 0, "state": "RUNNING", "worker_id": "http://w1:8083"}]));
        let failed = status(&record(DesiredState::Running, Some(1), TaskState::Failed), "w");
        assert_eq!(failed["tasks"][0]["trace"], "boom\nRemedy: fix it");
        let unowned = status(&record(DesiredState::Running, None, TaskState::Running), "w");
        assert_eq!((&unowned["connector"]["state"], &unowned["tasks"][0]["state"]), (&json!("UNASSIGNED"), &json!("UNASSIGNED")));
        let stopped = record(DesiredState::Stopped, Some(1), TaskState::Running);
        assert_eq!(status(&stopped, "w")["tasks"], json!([]));
        assert_eq!(info(&stopped)["tasks"], json!([]));
        assert_eq!(status(&record(DesiredState::Paused, Some(1), TaskState::Running), "w")["tasks"][0]["state"], "PAUSED");
    }

    #[test]
    fn configs_are_masked_and_round_trip() {
        let r = record(DesiredState::Running, None, TaskState::Running);
        let shown = config(&r);
        assert_eq!(shown["database.password"], REDACTED);
        assert_eq!(shown["name"], "c");
        let mut back = config_map(&shown, "c").unwrap();
        assert!(!back.contains_key("name"));
        restore_secrets(&mut back, &r.config.clone().into_inner());
        assert_eq!(back["database.password"], "hunter2");
        assert!(config_map(&json!({"name": "other"}), "c").unwrap_err().contains("doesn't match"));
        let refused = config_map(&json!({"database.password": ["hunter2"]}), "c").unwrap_err();
        assert!(!refused.contains("hunter2"), "{refused}");
        assert_eq!(config_map(&json!({"a": 1, "b": true}), "c").unwrap()["a"], "1");
    }
}
