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
/// The Debezium release whose MySQL connector raftcdc's output matches.
pub const DEBEZIUM_VERSION: &str = "2.7.3.Final";

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
    json!({
        "name": record.name,
        "connector": {"state": connector_state(record), "worker_id": worker_id},
        "tasks": tasks,
        "type": "source",
    })
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
