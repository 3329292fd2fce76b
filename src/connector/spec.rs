//! Connector definitions as users write them: Debezium's Kafka Connect REST
//! payload, `{"name": ..., "config": {...}}`, so a file POSTed to Kafka
//! Connect today works unchanged with `raftcdc connector create --file`.
//! [`ConnectorSpec::new`] is where a definition is accepted or refused: it
//! runs the whole [`super::ConnectorConfig::parse`], so every property
//! error is returned at create or update, naming the property. Values shown
//! to users go through [`ConnectorSpec::redacted`]; errors name properties
//! but never echo a secret's value.
use std::collections::BTreeMap;

use serde::Deserialize;

use super::properties::{is_secret, Properties, REDACTED};

/// A connector definition, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorSpec {
    pub name: String,
    pub config: Properties,
}


/// A field-named problem with a connector definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SpecError {
    /// Dotted path of the offending field, e.g. `config.topic.prefix`.
    pub field: String,
    pub reason: String,
}

pub(super) fn spec_error(field: impl Into<String>, reason: impl Into<String>) -> SpecError {
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
                    // A secret's value is never echoed, even a malformed one.
                    let got = if is_secret(&key) {
                        json_kind(&other).to_string()
                    } else {
                        other.to_string()
                    };
                    return Err(spec_error(
                        format!("config.{key}"),
                        format!("must be a string, number or boolean, got {got}"),
                    ));
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
        super::ConnectorConfig::parse(&config)?;
        Ok(ConnectorSpec {
            name,
            config: config.into(),
        })
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

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
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

#[cfg(test)]
mod property_tests {
    //! Connector payloads and property maps from arbitrary input: parsing never
    //! panics, and a refusal names `name`, `config` or `config.<the property>`.
    use super::*;
    use proptest::prelude::*;

    /// Property names: every one the validator knows (prefixes as they are,
    /// and with a property under them), and arbitrary strings.
    fn key() -> impl Strategy<Value = String> {
        let known: Vec<String> = super::super::catalog::CATALOG
            .iter()
            .map(|e| e.name)
            .flat_map(|name| match name.ends_with('.') {
                true => vec![name.to_string(), format!("{name}linger.ms"), format!("{name}sasl.password")],
                false => vec![name.to_string()],
            })
            .collect();
        prop_oneof![proptest::sample::select(known), "[a-z.]{0,30}", any::<String>()]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[0-9-]{0,12}", "[a-z_.,:;()*\\\\]{0,20}"]
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            any::<f64>().prop_map(|f| serde_json::json!(f)),
            any::<String>().prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(2, 8, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(".{0,8}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// The fewest properties a valid MySQL connector needs.
    pub(super) fn base() -> BTreeMap<String, String> {
        [
            ("connector.class", "io.debezium.connector.mysql.MySqlConnector"),
            ("database.hostname", "db"),
            ("database.user", "cdc"),
            ("database.server.id", "5401"),
            ("topic.prefix", "dbserver1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            if let Err(e) = ConnectorSpec::from_rest_json(&text) {
                prop_assert_eq!(e.field, "(file)");
            }
        }

        #[test]
        fn arbitrary_payloads_are_refused_by_field(
            name in prop_oneof![Just("inventory".to_string()), any::<String>()],
            config in proptest::collection::btree_map(key(), json_value(), 0..6),
            on_base in any::<bool>(),
        ) {
            let mut full: serde_json::Map<String, serde_json::Value> = if on_base {
                base().into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect()
            } else {
                serde_json::Map::new()
            };
            full.extend(config);
            let keys: Vec<String> = full.keys().cloned().collect();
            let text = serde_json::json!({"name": name, "config": full}).to_string();
            if let Err(e) = ConnectorSpec::from_rest_json(&text) {
                let named = e.field.strip_prefix("config.");
                prop_assert!(
                    e.field == "name" || e.field == "config"
                        || named.is_some_and(|k| keys.iter().any(|key| key == k) || REQUIRED.contains(&k)),
                    "{e}"
                );
            }
        }

        #[test]
        fn arbitrary_property_maps_are_refused_by_property(
            extra in proptest::collection::btree_map(key(), value(), 0..6),
            on_base in any::<bool>(),
        ) {
            let mut config = if on_base { base() } else { BTreeMap::new() };
            config.extend(extra);
            match ConnectorSpec::new("c".into(), config.clone()) {
                Ok(spec) => prop_assert_eq!(spec.config.into_inner(), config),
                Err(e) => {
                    let property = e.field.strip_prefix("config.");
                    prop_assert!(
                        e.field == "config"
                            || property.is_some_and(|p| config.contains_key(p) || REQUIRED.contains(&p)),
                        "{e}"
                    );
                }
            }
        }
    }

    /// Properties whose absence is an error naming them.
    const REQUIRED: &[&str] = &[
        "connector.class",
        "database.hostname",
        "database.user",
        "database.server.id",
        "topic.prefix",
    ];
}

#[cfg(test)]
mod redaction_tests {
    //! A secret's value never shows: not in what `connector get` / `status` /
    //! `list` return, not in any `Debug` of a type holding the config, not in an
    //! error about it. The tests go through every type that holds connector
    //! properties (spec, command, record, source and sink configs) and every
    //! path a value is shown by (the control API's `connector_to_proto`,
    //! validation errors of the spec, the source and the sink), for each kind
    //! of secret property and random secret values.
    use super::property_tests::base;
    use super::*;
    use crate::raft::command::Command;
    use crate::raft::state::{ConnectorRecord, TaskState};
    use crate::sink::kafka::KafkaSinkConfig;
    use crate::source::mysql::config::MySqlSourceConfig;
    use proptest::prelude::*;

    /// Secret-bearing properties of the MySQL source (its password and
    /// Debezium's TLS key and trust store passwords) and of Kafka
    /// pass-through settings (SASL and SSL).
    const SECRET_KEYS: &[&str] = &[
        "database.password",
        "database.ssl.keystore.password",
        "database.ssl.truststore.password",
        "producer.override.sasl.password",
        "producer.override.sasl.jaas.config",
        "producer.override.sasl.oauthbearer.config",
        "producer.override.sasl.oauthbearer.client.secret",
        "producer.override.ssl.key.password",
        "producer.override.ssl.keystore.password",
        "producer.override.ssl.key.pem",
        "producer.override.ssl.keystore.key",
        "producer.override.ssl.truststore.password",
    ];


    fn record(config: BTreeMap<String, String>) -> ConnectorRecord {
        ConnectorRecord::for_tests(config.into(), 1, 3, TaskState::Running)
    }

    /// Holding configs as `Properties` changed no byte of the Raft log or
    /// snapshots: it serialises exactly as the map did.
    #[test]
    fn properties_serialise_as_the_map() {
        let mut map = base();
        map.insert("database.password".into(), "hunter2".into());
        let command = Command::CreateConnector {
            name: "c".into(),
            config: map.clone().into(),
            paused: false,
            incarnation: None,
        };
        let json = serde_json::to_value(&command).unwrap();
        assert_eq!(json["config"], serde_json::to_value(&map).unwrap());
        assert_eq!(serde_json::from_value::<Command>(json).unwrap(), command);
        assert!(format!("{command:?}").contains(REDACTED) && !format!("{command:?}").contains("hunter2"));
    }

    #[test]
    fn every_secret_key_is_a_secret() {
        for key in SECRET_KEYS {
            assert!(is_secret(key), "{key}");
        }
        for key in [
            "database.user",
            "database.hostname",
            "producer.override.linger.ms",
            "message.key.columns",
        ] {
            assert!(!is_secret(key), "{key}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn secrets_never_show(
            key in proptest::sample::select(SECRET_KEYS),
            secret in "Zq[A-Za-z0-9]{10,20}",
            also_password in any::<bool>(),
        ) {
            let mut config = base();
            config.insert(key.to_string(), secret.clone());
            if also_password {
                config.insert("database.password".into(), secret.clone());
            }
            let hidden = |text: String| -> Result<(), TestCaseError> {
                prop_assert!(!text.contains(&secret), "{} shows in {}", secret, text);
                Ok(())
            };

            // What the control API returns for get / status / list / create.
            let shown = crate::api::control::connector_to_proto(&record(config.clone()));
            prop_assert_eq!(shown.config.get(key).map(String::as_str), Some(REDACTED));
            hidden(format!("{shown:?}"))?;
            hidden(format!("{:?}", ConnectorSpec::redacted(&config)))?;

            // Debug of every type that holds the config.
            hidden(format!("{:?}", record(config.clone())))?;
            hidden(format!("{:?}", Command::create_connector("c".into(), config.clone().into(), false)))?;

            // Validation, accepted or not, shows no secret in Debug or errors.
            match ConnectorSpec::new("c".into(), config.clone()) {
                Ok(spec) => hidden(format!("{spec:?}"))?,
                Err(e) => hidden(format!("{e} {e:?}"))?,
            }
            match MySqlSourceConfig::from_properties(&config) {
                Ok(source) => {
                    hidden(format!("{source:?}"))?;
                    match KafkaSinkConfig::from_properties("prod", "c", "k:9092", &source.sink_properties) {
                        Ok(sink) => hidden(format!("{sink:?} {:?}", sink.connection_overrides()))?,
                        Err(e) => hidden(format!("{e} {e:?}"))?,
                    }
                }
                Err(e) => hidden(format!("{e} {e:?}"))?,
            }

            // A malformed secret in a REST payload is not echoed either.
            let mut payload: serde_json::Map<String, serde_json::Value> =
                base().into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
            payload.insert(key.to_string(), serde_json::json!([secret.clone(), {"s": secret.clone()}]));
            let e = ConnectorSpec::from_rest_json(&serde_json::json!({"name": "c", "config": payload}).to_string())
                .unwrap_err();
            prop_assert_eq!(&e.field, &format!("config.{key}"));
            hidden(format!("{e} {e:?}"))?;
        }
    }
}
