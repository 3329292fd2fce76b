//! Connector definitions as users write them: Debezium's Kafka Connect REST
//! payload, `{"name": ..., "config": {...}}`, so a file POSTed to Kafka
//! Connect today works unchanged with `raftcdc connector create --file`.
//!
//! This module owns parsing that payload and validating the config before it
//! is proposed to Raft (see [`crate::raft::state`] for why validation happens
//! before proposing), and redacting secrets wherever a config is shown.
//! Validation here covers what the cluster itself relies on; the MySQL
//! source validates its own properties in depth when it is built.
use std::collections::BTreeMap;

use serde::Deserialize;

/// What replaces a secret's value wherever a config is shown.
pub const REDACTED: &str = "********";

/// A connector definition, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorSpec {
    pub name: String,
    pub config: BTreeMap<String, String>,
}

/// A field-named problem with a connector definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SpecError {
    /// Dotted path of the offending field, e.g. `config.topic.prefix`.
    pub field: String,
    pub reason: String,
}

fn spec_error(field: impl Into<String>, reason: impl Into<String>) -> SpecError {
    SpecError {
        field: field.into(),
        reason: reason.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestPayload {
    name: String,
    config: BTreeMap<String, serde_json::Value>,
}

impl ConnectorSpec {
    /// Parses Debezium's REST payload. Config values may be JSON strings,
    /// numbers or booleans (Kafka Connect stringifies them too).
    pub fn from_rest_json(text: &str) -> Result<ConnectorSpec, SpecError> {
        let payload: RestPayload = serde_json::from_str(text).map_err(|e| spec_error("(file)", e.to_string()))?;
        let mut config = BTreeMap::new();
        for (key, value) in payload.config {
            let value = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                other => {
                    return Err(spec_error(
                        format!("config.{key}"),
                        format!("must be a string, number or boolean, got {other}"),
                    ))
                }
            };
            config.insert(key, value);
        }
        ConnectorSpec::new(payload.name, config)
    }

    /// Validates a name and config.
    pub fn new(name: String, config: BTreeMap<String, String>) -> Result<ConnectorSpec, SpecError> {
        crate::raft::state::validate_name(&name).map_err(|e| match e {
            crate::raft::command::CommandError::InvalidName { reason, .. } => spec_error("name", reason),
            other => spec_error("name", other.to_string()),
        })?;
        validate_config(&config)?;
        Ok(ConnectorSpec { name, config })
    }

    /// The config with secrets replaced by [`REDACTED`].
    pub fn redacted(config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        config
            .iter()
            .map(|(k, v)| {
                let v = if is_secret(k) { REDACTED.to_string() } else { v.clone() };
                (k.clone(), v)
            })
            .collect()
    }
}

/// Whether a property holds a secret (passwords, keys, tokens, JAAS
/// configs): such values never appear in status, logs or errors.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("secret")
        || key.contains("jaas.config")
        || key.ends_with("token")
        || key.ends_with(".key")
        || key.ends_with("credentials")
}

/// Validates the config as the MySQL source will interpret it, so an
/// unknown, unsupported or malformed property is refused at create time
/// rather than when the task starts.
fn validate_config(config: &BTreeMap<String, String>) -> Result<(), SpecError> {
    if let Some(key) = config.keys().find(|k| k.trim().is_empty()) {
        return Err(spec_error("config", format!("property name {key:?} is empty")));
    }
    crate::source::mysql::config::MySqlSourceConfig::from_properties(config)
        .map(|_| ())
        .map_err(|e| spec_error(format!("config.{}", e.property), e.reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"name":"inventory","config":{
        "connector.class":"io.debezium.connector.mysql.MySqlConnector",
        "database.hostname":"127.0.0.1","database.port":3306,"database.user":"cdc",
        "database.password":"hunter2","database.server.id":"5401","topic.prefix":"dbserver1"}}"#;

    #[test]
    fn parses_debezium_payload_and_redacts() {
        let spec = ConnectorSpec::from_rest_json(GOOD).unwrap();
        assert_eq!(spec.config["database.port"], "3306");
        let shown = ConnectorSpec::redacted(&spec.config);
        assert_eq!(shown["database.password"], REDACTED);
        assert_eq!(shown["database.user"], "cdc");
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (GOOD.replace(",\"topic.prefix\":\"dbserver1\"", ""), "config.topic.prefix"),
            (GOOD.replace("MySqlConnector", "Nope"), "config.connector.class"),
            (GOOD.replace("\"5401\"", "\"0\""), "config.database.server.id"),
            (GOOD.replace("3306", "70000"), "config.database.port"),
            (GOOD.replace("\"inventory\"", "\"bad name\""), "name"),
            (GOOD.replace("\"topic.prefix\"", "\"topic.prefx\""), "config.topic.prefx"),
            (GOOD.replace("\"cdc\"", "[1]"), "config.database.user"),
            ("{\"name\":\"x\"}".to_string(), "(file)"),
        ];
        for (text, field) in cases {
            let err = ConnectorSpec::from_rest_json(&text).unwrap_err();
            assert_eq!(err.field, field, "{err}");
            assert!(!err.to_string().contains("hunter2"));
        }
    }
}
