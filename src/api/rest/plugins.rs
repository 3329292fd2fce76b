//! `GET /connector-plugins`, `GET /connector-plugins/{class}/config` and
//! `PUT /connector-plugins/{class}/config/validate`.
//!
//! raftcdc implements one connector class, Debezium's MySQL source. Its
//! validation answer is Kafka Connect's `ConfigInfos`
//! (`{name, error_count, groups, configs: [{definition, value}]}`) built
//! from the same validator `POST /connectors` and gRPC create use
//! ([`ConnectorSpec::new`], which stops at the first refused property):
//! every given property gets a `configs` entry, and the refused one (even
//! if it was missing) carries the reason in `value.errors`. Secret values
//! are never echoed.
use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::error::RestError;
use super::shapes::{self, DEBEZIUM_VERSION, MYSQL_CONNECTOR_CLASS};
use super::{answer, json_body, RestState};
use crate::connector::{is_secret, ConnectorSpec, REDACTED};

/// The short names Kafka accepts for a class in the URL.
fn is_mysql_class(class: &str) -> bool {
    matches!(class, MYSQL_CONNECTOR_CLASS | "MySqlConnector" | "MySql")
}

fn unknown_class(class: &str) -> RestError {
    RestError::NotFound(format!("Failed to find any class that implements Connector and which name matches {class}"))
}

/// `GET /connector-plugins[?connectorsOnly=false]`: with
/// `connectorsOnly=false`, Kafka Connect also lists the transformations
/// and predicates, which here are the classes the transform layer
/// implements.
pub async fn list(
    State(_state): State<RestState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, RestError> {
    let mut plugins = vec![json!({"class": MYSQL_CONNECTOR_CLASS, "type": "source", "version": DEBEZIUM_VERSION})];
    if query.get("connectorsOnly").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
        use crate::transform::config::{PREDICATE_CLASSES, TRANSFORM_CLASSES};
        let entry = |class: &str, kind: &str| json!({"class": class, "type": kind, "version": DEBEZIUM_VERSION});
        plugins.extend(TRANSFORM_CLASSES.iter().map(|c| entry(c, "transformation")));
        plugins.extend(PREDICATE_CLASSES.iter().map(|c| entry(c, "predicate")));
    }
    Ok(answer(StatusCode::OK, Value::Array(plugins)))
}

fn definition(name: &str) -> Value {
    json!({
        "name": name,
        "type": if is_secret(name) { "PASSWORD" } else { "STRING" },
        "required": matches!(name, "connector.class" | "database.hostname" | "database.user" | "database.server.id" | "topic.prefix"),
        "default_value": null,
        "importance": "MEDIUM",
        "documentation": "",
        "group": null,
        "width": "NONE",
        "display_name": name,
        "dependents": [],
        "order": -1,
    })
}

/// `GET /connector-plugins/{class}/config` (KIP-769).
pub async fn config_definitions(Path(class): Path<String>) -> Result<Response, RestError> {
    if !is_mysql_class(&class) {
        return Err(unknown_class(&class));
    }
    let defs: Vec<Value> = crate::source::mysql::config::supported_property_names()
        .map(definition)
        .collect();
    Ok(answer(StatusCode::OK, Value::Array(defs)))
}

/// `PUT /connector-plugins/{class}/config/validate`.
pub async fn validate(Path(class): Path<String>, body: Result<Bytes, BytesRejection>) -> Result<Response, RestError> {
    if !is_mysql_class(&class) {
        return Err(unknown_class(&class));
    }
    let body = json_body(body)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("validate").to_string();
    let config = shapes::config_map(&body, &name).map_err(RestError::BadRequest)?;
    match config.get("connector.class") {
        Some(given) if given != MYSQL_CONNECTOR_CLASS && !is_mysql_class(given) => {
            return Err(RestError::BadRequest(format!(
                "Connector config {{connector.class={given}}} contains no connector type matching {class}"
            )))
        }
        None => {
            return Err(RestError::BadRequest("Connector config contains no connector type".into()));
        }
        _ => {}
    }
    Ok(answer(StatusCode::OK, validation(&config)))
}

/// Kafka's `ConfigInfos` for `config`.
pub fn validation(config: &BTreeMap<String, String>) -> Value {
    // The spec's name is not under test here: validate with a valid one.
    let refused = ConnectorSpec::new("validate".into(), config.clone()).err();
    let refused_property = refused
        .as_ref()
        .map(|e| e.field.strip_prefix("config.").unwrap_or(&e.field).to_string());
    let mut configs: Vec<Value> = config
        .iter()
        .map(|(key, value)| {
            let shown = if is_secret(key) { REDACTED } else { value.as_str() };
            let errors: Vec<String> = match (&refused, &refused_property) {
                (Some(e), Some(p)) if p == key => vec![e.reason.clone()],
                _ => Vec::new(),
            };
            json!({
                "definition": definition(key),
                "value": {"name": key, "value": shown, "recommended_values": [], "errors": errors, "visible": true},
            })
        })
        .collect();
    if let (Some(e), Some(p)) = (&refused, &refused_property) {
        if !config.contains_key(p) {
            configs.push(json!({
                "definition": definition(p),
                "value": {"name": p, "value": null, "recommended_values": [], "errors": [e.reason], "visible": true},
            }));
        }
    }
    json!({
        "name": MYSQL_CONNECTOR_CLASS,
        "error_count": usize::from(refused.is_some()),
        "groups": ["Common"],
        "configs": configs,
    })
}
