//! `GET /connector-plugins`, `GET /connector-plugins/{class}/config` and
//! `PUT /connector-plugins/{class}/config/validate`.
//!
//! raftcdc implements one connector class, Debezium's MySQL source. Its
//! validation answer is Kafka Connect's `ConfigInfos`
//! (`{name, error_count, groups, configs: [{definition, value}]}`) built
//! from the same validator `POST /connectors` and gRPC create use
//! ([`ConnectorSpec::new`]): every given property gets a `configs` entry,
//! and every refused one (even if it was missing) carries the reason in
//! `value.errors`. The validator stops at the first refused property, so
//! [`refusals`] sets that property aside and validates the rest again
//! until the rest passes. Secret values are never echoed.
use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::error::RestError;
use super::shapes::{self, MYSQL_CONNECTOR_CLASS};
use super::{answer, json_body, RestState};
use crate::connector::{is_secret, ConnectorSpec, REDACTED};
// The version the records' `source.version` carries, as Kafka Connect
// lists a plugin by its own version.
use crate::envelope::DEBEZIUM_VERSION;

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

/// A property's Kafka `ConfigKeyInfo`, with its default and documentation
/// from the property catalog.
fn definition(name: &str) -> Value {
    let entry = crate::connector::catalog::lookup(name);
    let default = entry.map(|e| e.default).filter(|d| !d.is_empty());
    let documentation = entry.map_or("", |e| e.doc);
    json!({
        "name": name,
        "type": if is_secret(name) { "PASSWORD" } else { "STRING" },
        "required": matches!(name, "connector.class" | "database.hostname" | "database.user" | "database.server.id" | "topic.prefix"),
        "default_value": default,
        "importance": "MEDIUM",
        "documentation": documentation,
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

/// Stand-ins for the required properties, so that one that is missing or
/// refused does not hide the refusals of the others.
const REQUIRED_STAND_INS: &[(&str, &str)] = &[
    ("connector.class", MYSQL_CONNECTOR_CLASS),
    ("database.hostname", "validate"),
    ("database.user", "validate"),
    ("database.server.id", "1"),
    ("topic.prefix", "validate"),
];

/// Every property the validator refuses in `config`, with the reason:
/// validates, sets the refused property aside (a required one is replaced
/// by a stand-in, anything else removed), and validates the rest again,
/// until it passes or refuses a property already reported (a refusal that
/// names the property it conflicts with, say).
pub fn refusals(config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut rest = config.clone();
    let mut refused = BTreeMap::new();
    // The spec's name is not under test here: validate with a valid one.
    while let Err(e) = ConnectorSpec::new("validate".into(), rest.clone()) {
        let property = e.field.strip_prefix("config.").unwrap_or(&e.field).to_string();
        if refused.contains_key(&property) || property == "config" {
            break;
        }
        refused.insert(property.clone(), e.reason);
        match REQUIRED_STAND_INS.iter().find(|(name, _)| *name == property) {
            Some((_, stand_in)) => rest.insert(property, stand_in.to_string()),
            None => rest.remove(&property),
        };
    }
    refused
}

/// Kafka's `ConfigInfos` for `config`.
pub fn validation(config: &BTreeMap<String, String>) -> Value {
    let refused = refusals(config);
    let mut configs: Vec<Value> = config
        .iter()
        .map(|(key, value)| {
            let shown = if is_secret(key) { REDACTED } else { value.as_str() };
            let errors: Vec<&String> = refused.get(key).into_iter().collect();
            json!({
                "definition": definition(key),
                "value": {"name": key, "value": shown, "recommended_values": [], "errors": errors, "visible": true},
            })
        })
        .collect();
    for (property, reason) in refused.iter().filter(|(p, _)| !config.contains_key(*p)) {
        configs.push(json!({
            "definition": definition(property),
            "value": {"name": property, "value": null, "recommended_values": [], "errors": [reason], "visible": true},
        }));
    }
    json!({
        "name": MYSQL_CONNECTOR_CLASS,
        "error_count": refused.len(),
        "groups": ["Common"],
        "configs": configs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The source's smallest valid config, changed by `pairs` (`-` removes).
    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut config = crate::source::mysql::config::tests::base();
        for (k, v) in pairs {
            match v {
                &"-" => config.remove(*k),
                v => config.insert(k.to_string(), v.to_string()),
            };
        }
        config
    }

    #[test]
    fn every_refused_property_is_reported_not_only_the_first() {
        assert!(refusals(&config(&[])).is_empty());
        let refused = refusals(&config(&[
            ("database.port", "not-a-port"),
            ("topic.prefix", "-"),
            ("tombstones.on.delete", "yes"),
            ("no.such.property", "1"),
        ]));
        let names: Vec<&str> = refused.keys().map(String::as_str).collect();
        assert_eq!(names, ["database.port", "no.such.property", "tombstones.on.delete", "topic.prefix"], "{refused:?}");
        let answer = validation(&config(&[("database.port", "0"), ("tombstones.on.delete", "yes")]));
        assert_eq!(answer["error_count"], 2);
        assert!(!answer.to_string().contains("hunter2"));
    }
}
