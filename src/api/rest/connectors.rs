//! Connector lifecycle endpoints, after Kafka Connect's `ConnectorsResource`
//! and `RootResource`: list (with `expand`), create, read, config
//! get/put/patch, status, tasks, topics, restart, pause, resume, stop and
//! delete.
//!
//! Each handler reads the applied state or proposes one command through
//! [`crate::node::Node::propose`] (forwarded to the leader from a
//! follower). Configs are validated by [`ConnectorSpec::new`], the front
//! door gRPC uses, before anything is proposed: a refused request changes
//! nothing. Status codes are Kafka's: 201 for a created connector (with a
//! `Location`), 200 for an updated config, 202 for pause/resume and for a
//! restart with `includeTasks`/`onlyFailed`, 204 for stop, delete, task
//! restart and a plain restart.
use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::error::RestError;
use super::shapes;
use super::{answer, json_body, RestState, KAFKA_CONNECT_VERSION};
use crate::connector::ConnectorSpec;
use crate::node::NodeError;
use crate::raft::command::{Command, CommandError};
use crate::raft::state::{ConnectorRecord, DesiredState, TaskState};

/// `GET /`.
pub async fn root(State(state): State<RestState>) -> Response {
    answer(
        StatusCode::OK,
        json!({
            "version": KAFKA_CONNECT_VERSION,
            "commit": option_env!("RAFTCDC_COMMIT").unwrap_or("unknown"),
            "kafka_cluster_id": state.kafka_cluster_id(),
            "raftcdc_version": env!("CARGO_PKG_VERSION"),
        }),
    )
}

/// `GET /connectors[?expand=status|info]`.
pub async fn list(
    State(state): State<RestState>,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, RestError> {
    // `expand` may repeat (`?expand=status&expand=info`): read the pairs.
    let Query(pairs) = query.map_err(|e| RestError::BadRequest(e.body_text()))?;
    let expand: Vec<&str> = pairs.iter().filter(|(k, _)| k == "expand").map(|(_, v)| v.as_str()).collect();
    let records = state.node.connectors().await;
    if expand.is_empty() {
        let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
        return Ok(answer(StatusCode::OK, json!(names)));
    }
    let mut out = Map::new();
    for record in &records {
        let mut entry = Map::new();
        if expand.contains(&"status") {
            let worker = state.worker_id(record.owner).await;
            entry.insert("status".into(), shapes::status(record, &worker));
        }
        if expand.contains(&"info") {
            entry.insert("info".into(), shapes::info(record));
        }
        out.insert(record.name.clone(), Value::Object(entry));
    }
    Ok(answer(StatusCode::OK, Value::Object(out)))
}

/// `POST /connectors` with `{"name", "config", "initial_state"?}`.
pub async fn create(State(state): State<RestState>, body: Result<Bytes, BytesRejection>) -> Result<Response, RestError> {
    let body = json_body(body)?;
    let object = body
        .as_object()
        .ok_or_else(|| RestError::BadRequest(format!("the body must be a JSON object, got {}", shapes::kind(&body))))?;
    if let Some(key) = object.keys().find(|k| !matches!(k.as_str(), "name" | "config" | "initial_state")) {
        return Err(RestError::BadRequest(format!("Unrecognized field \"{key}\"")));
    }
    let name = match object.get("name") {
        Some(Value::String(name)) => name.clone(),
        // Kafka takes the name from the config when the top level has none.
        None => match object.get("config").and_then(|c| c.get("name")) {
            Some(Value::String(name)) => name.clone(),
            _ => return Err(RestError::BadRequest("Connector name must be set".into())),
        },
        Some(other) => return Err(RestError::BadRequest(format!("name: must be a string, got {}", shapes::kind(other)))),
    };
    let config = object
        .get("config")
        .ok_or_else(|| RestError::BadRequest("Connector config must be set".into()))?;
    let config = shapes::config_map(config, &name).map_err(RestError::BadRequest)?;
    let initial = match object.get("initial_state") {
        None | Some(Value::Null) => DesiredState::Running,
        Some(Value::String(s)) => match s.to_ascii_uppercase().as_str() {
            "RUNNING" => DesiredState::Running,
            "PAUSED" => DesiredState::Paused,
            "STOPPED" => DesiredState::Stopped,
            _ => return Err(RestError::BadRequest(format!("initial_state: {s:?} is not RUNNING, PAUSED or STOPPED"))),
        },
        Some(other) => {
            return Err(RestError::BadRequest(format!("initial_state: must be a string, got {}", shapes::kind(other))))
        }
    };
    let spec = ConnectorSpec::new(name, config)?;
    let name = spec.name.clone();
    let record = created(&state, spec, initial).await?;
    Ok(created_answer(&name, &record))
}

/// Creates a connector in its initial state. STOPPED is reached from a
/// paused creation (no task is ever started between the two proposals).
async fn created(state: &RestState, spec: ConnectorSpec, initial: DesiredState) -> Result<ConnectorRecord, RestError> {
    let name = spec.name.clone();
    let paused = initial != DesiredState::Running;
    let mut record = state.propose(Command::create_connector(spec.name, spec.config, paused)).await?;
    if initial == DesiredState::Stopped {
        record = state
            .node
            .propose(Command::SetDesiredState {
                name: name.clone(),
                state: DesiredState::Stopped,
            })
            .await?;
    }
    match record {
        Some(record) => Ok(record),
        None => Ok(state.node.connector(&name).await?),
    }
}

fn created_answer(name: &str, record: &ConnectorRecord) -> Response {
    let mut response = answer(StatusCode::CREATED, shapes::info(record));
    if let Ok(location) = format!("/connectors/{name}").parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

async fn record(state: &RestState, name: &str) -> Result<ConnectorRecord, RestError> {
    Ok(state.node.connector(name).await?)
}

/// `GET /connectors/{name}`.
pub async fn info(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    Ok(answer(StatusCode::OK, shapes::info(&record(&state, &name).await?)))
}

/// `GET /connectors/{name}/config`.
pub async fn get_config(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    Ok(answer(StatusCode::OK, shapes::config(&record(&state, &name).await?)))
}

/// `PUT /connectors/{name}/config`: creates (201) or replaces (200).
pub async fn put_config(
    State(state): State<RestState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RestError> {
    let body = json_body(body)?;
    let mut config = shapes::config_map(&body, &name).map_err(RestError::BadRequest)?;
    match state.node.read_connector(&name, |r| r.config.clone().into_inner()).await {
        Ok(stored) => {
            shapes::restore_secrets(&mut config, &stored);
            let spec = ConnectorSpec::new(name, config)?;
            let record = update(&state, spec).await?;
            Ok(answer(StatusCode::OK, shapes::info(&record)))
        }
        Err(NodeError::Rejected(CommandError::NotFound { .. })) => {
            let spec = ConnectorSpec::new(name.clone(), config)?;
            let record = created(&state, spec, DesiredState::Running).await?;
            Ok(created_answer(&name, &record))
        }
        Err(other) => Err(other.into()),
    }
}

async fn update(state: &RestState, spec: ConnectorSpec) -> Result<ConnectorRecord, RestError> {
    let name = spec.name.clone();
    let record = state
        .node
        .propose(Command::UpdateConnector {
            name: spec.name,
            config: spec.config,
        })
        .await?;
    match record {
        Some(record) => Ok(record),
        None => Ok(state.node.connector(&name).await?),
    }
}

/// `PATCH /connectors/{name}/config` (KIP-477): merges; `null` removes.
pub async fn patch_config(
    State(state): State<RestState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RestError> {
    let body = json_body(body)?;
    let patch = body
        .as_object()
        .ok_or_else(|| RestError::BadRequest(format!("the config patch must be a JSON object, got {}", shapes::kind(&body))))?;
    let mut config: BTreeMap<String, String> = state.node.read_connector(&name, |r| r.config.clone().into_inner()).await?;
    let stored = config.clone();
    let mut set = Map::new();
    for (key, value) in patch {
        if value.is_null() {
            config.remove(key);
        } else {
            set.insert(key.clone(), value.clone());
        }
    }
    let mut changes = shapes::config_map(&Value::Object(set), &name).map_err(RestError::BadRequest)?;
    shapes::restore_secrets(&mut changes, &stored);
    config.extend(changes);
    let spec = ConnectorSpec::new(name, config)?;
    let record = update(&state, spec).await?;
    Ok(answer(StatusCode::OK, shapes::info(&record)))
}

/// `GET /connectors/{name}/status`.
pub async fn status(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    let record = record(&state, &name).await?;
    let worker = state.worker_id(record.owner).await;
    Ok(answer(StatusCode::OK, shapes::status(&record, &worker)))
}

/// `GET /connectors/{name}/tasks`.
pub async fn tasks(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    Ok(answer(StatusCode::OK, shapes::tasks(&record(&state, &name).await?)))
}

/// The one task id a connector has, or Kafka's 404.
fn task_zero(record: &ConnectorRecord, task: &str) -> Result<(), RestError> {
    if task == "0" && record.desired != DesiredState::Stopped {
        Ok(())
    } else {
        Err(RestError::NotFound(format!("Task {}-{task} not found", record.name)))
    }
}

/// `GET /connectors/{name}/tasks/{id}/status`.
pub async fn task_status(
    State(state): State<RestState>,
    Path((name, task)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let record = record(&state, &name).await?;
    task_zero(&record, &task)?;
    let worker = state.worker_id(record.owner).await;
    Ok(answer(StatusCode::OK, shapes::task_status(&record, &worker)))
}

/// `POST /connectors/{name}/tasks/{id}/restart`: a new epoch on the same
/// owner.
pub async fn restart_task(
    State(state): State<RestState>,
    Path((name, task)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let record = record(&state, &name).await?;
    task_zero(&record, &task)?;
    state.propose(Command::RestartConnector { name }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /connectors/{name}/topics`: the topics the connector has written
/// records to since it was created or its topics were reset, as the
/// owner recorded them through Raft after each commit.
pub async fn topics(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    let record = record(&state, &name).await?;
    Ok(answer(StatusCode::OK, json!({ record.name: {"topics": record.active_topics} })))
}

/// `PUT /connectors/{name}/topics/reset`: 202, as Kafka answers.
pub async fn reset_topics(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    record(&state, &name).await?;
    state.propose(Command::ResetTopics { name }).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST /connectors/{name}/restart[?includeTasks=&onlyFailed=]`.
///
/// The connector instance and its one task are one unit in raftcdc, so a
/// restart always restarts the task under a new epoch, except with
/// `onlyFailed=true` when the task has not failed. Without either flag
/// Kafka answers 204; with one, 202 and the status with what restarts
/// marked RESTARTING.
pub async fn restart(
    State(state): State<RestState>,
    Path(name): Path<String>,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, RestError> {
    let Query(pairs) = query.map_err(|e| RestError::BadRequest(e.body_text()))?;
    // As JAX-RS reads a boolean query parameter: "true" in any case is
    // true, anything else false (Python clients send "True"/"False").
    let flag = |key: &str| pairs.iter().any(|(k, v)| k == key && v.eq_ignore_ascii_case("true"));
    let (include_tasks, only_failed) = (flag("includeTasks"), flag("onlyFailed"));
    let record = record(&state, &name).await?;
    let failed = record.effective_task_state() == TaskState::Failed;
    let restarts = !only_failed || failed;
    if restarts {
        state.propose(Command::RestartConnector { name: name.clone() }).await?;
    }
    if !include_tasks && !only_failed {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let worker = state.worker_id(record.owner).await;
    let mut body = shapes::status(&record, &worker);
    if restarts {
        body["connector"]["state"] = json!("RESTARTING");
        if include_tasks {
            if let Some(tasks) = body["tasks"].as_array_mut() {
                for task in tasks {
                    task["state"] = json!("RESTARTING");
                }
            }
        }
    }
    Ok(answer(StatusCode::ACCEPTED, body))
}

async fn set_desired(state: &RestState, name: String, desired: DesiredState) -> Result<(), RestError> {
    state.propose(Command::SetDesiredState { name, state: desired }).await?;
    Ok(())
}

/// `PUT /connectors/{name}/pause`: 202.
pub async fn pause(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    set_desired(&state, name, DesiredState::Paused).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `PUT /connectors/{name}/resume`: 202 (also starts a STOPPED connector).
pub async fn resume(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    set_desired(&state, name, DesiredState::Running).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `PUT /connectors/{name}/stop` (KIP-875): 204.
pub async fn stop(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    set_desired(&state, name, DesiredState::Stopped).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /connectors/{name}`: 204.
pub async fn delete(State(state): State<RestState>, Path(name): Path<String>) -> Result<Response, RestError> {
    state.propose(Command::DeleteConnector { name }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /connectors/{name}/snapshot` (raftcdc's own, for the console):
/// `{"tables": ["db.t"]}` starts an incremental snapshot, with the checks
/// of `raftcdc connector snapshot`.
pub async fn snapshot(
    State(state): State<RestState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RestError> {
    let body = json_body(body)?;
    let tables: Vec<String> = match body.get("tables") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| t.as_str().map(str::to_string).ok_or_else(|| RestError::BadRequest("tables: must be strings".into())))
            .collect::<Result<_, _>>()?,
        _ => return Err(RestError::BadRequest("tables: a list of db.table is required".into())),
    };
    let filter = body.get("filter").and_then(Value::as_str).map(str::to_string);
    let record = record(&state, &name).await?;
    crate::api::control::validate_snapshot_request(&record, &tables, filter.as_deref())?;
    state.propose(Command::RequestSnapshot { name, tables, filter }).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
