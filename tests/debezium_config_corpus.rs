//! The corpus: real-world Debezium MySQL connector configs, each parsed by
//! the connector front door (`ConnectorSpec::from_rest_json`, which runs
//! `ConnectorConfig::parse`), must be created, or be refused only for a
//! documented reason (the property named in docs/properties.md, or a value
//! raftcdc cannot honour).
//!
//! Sources (fixtures in tests/fixtures/debezium-mysql/, copied unchanged
//! except where noted):
//! - 01-20: the Debezium examples repository,
//!   https://github.com/debezium/debezium-examples/blob/main/<path>, with
//!   <path> given by the file name after `examples-` (the first `-` is the
//!   directory separator): tutorial/register-mysql.json,
//!   tutorial/register-mysql-avro.json, tutorial/register-mysql-apicurio.json,
//!   tutorial/register-mysql-apicurio-converter-json.json,
//!   tutorial/register-mysql-apicurio-converter-avro.json,
//!   tutorial/register-mysql-apicurio-compatibile-converter-avro.json,
//!   tutorial/register-mysql-ext-secrets.json,
//!   apicurio/register-mysql-apicurio.json, failover/register-mysql.json,
//!   graphql/mysql-source.json, jpa-aggregations/source.json,
//!   json-logging/register-mysql.json, ksql/register-mysql.json,
//!   kstreams-live-update/mysql-source.json, kstreams/mysql-source.json,
//!   mysql-replication/register-mysql.json,
//!   mysql-replication/connector-config-replica.json (a bare config map, as
//!   for `PUT /connectors/{name}/config`), unwrap-smt/source.json,
//!   end-to-end-demo/register-hiking-connector.json,
//!   end-to-end-demo/register-hiking-connector-json.json.
//! - 21: the Debezium tutorial's registration request,
//!   https://debezium.io/documentation/reference/stable/tutorial.html
//!   ("Registering a connector to monitor the inventory database").
//! - 22: the MySQL connector documentation's example configuration,
//!   https://debezium.io/documentation/reference/stable/connectors/mysql.html
//!   ("MySQL connector configuration example", `{context}` filled in).
//! - 23: Debezium Platform's example of a Kafka Connect payload,
//!   https://debezium.io/documentation/reference/stable/operations/debezium-platform.html
//! - 24: the Kubernetes guide's `KafkaConnector`,
//!   https://debezium.io/documentation/reference/stable/operations/kubernetes.html
//!   (its YAML `spec.config` as JSON, `spec.class` as `connector.class`).
//! - 25: the Streams deployment `KafkaConnector` of the MySQL documentation,
//!   https://debezium.io/documentation/reference/stable/connectors/mysql.html
//!   ("Using Streams to deploy a Debezium MySQL connector"; YAML as JSON,
//!   `spec.class` as `connector.class`, `{context}` filled in).
use std::path::Path;

use raftcdc::connector::{ConnectorConfig, ConnectorSpec, SpecError};

/// What each config must do.
enum Expect {
    /// Created; these properties are warned about as having no effect.
    Created(&'static [&'static str]),
    /// Refused, naming this property, with a reason containing this text.
    Refused(&'static str, &'static str),
}
use Expect::*;

const SCHEMA_HISTORY: &[&str] = &["schema.history.internal.kafka.bootstrap.servers", "schema.history.internal.kafka.topic", "tasks.max"];

const CORPUS: &[(&str, Expect)] = &[
    ("01-examples-tutorial-register-mysql.json", Created(SCHEMA_HISTORY)),
    // Avro needs a schema registry raftcdc does not talk to.
    ("02-examples-tutorial-register-mysql-avro.json", Refused("key.converter", "only org.apache.kafka.connect.json.JsonConverter")),
    ("03-examples-tutorial-register-mysql-apicurio.json", Refused("key.converter", "only org.apache.kafka.connect.json.JsonConverter")),
    // Apicurio's ExtJsonConverter writes a registry id instead of the schema.
    ("04-examples-tutorial-register-mysql-apicurio-converter-json.json", Refused("key.converter", "only org.apache.kafka.connect.json.JsonConverter")),
    ("05-examples-tutorial-register-mysql-apicurio-converter-avro.json", Refused("key.converter", "only org.apache.kafka.connect.json.JsonConverter")),
    ("06-examples-tutorial-register-mysql-apicurio-compatibile-converter-avro.json", Refused("key.converter", "only org.apache.kafka.connect.json.JsonConverter")),
    // `${file:...}` is resolved by Kafka Connect's config providers.
    ("07-examples-tutorial-register-mysql-ext-secrets.json", Refused("database.password", "config provider reference")),
    // Avro output (its schema.name.adjustment.mode=avro is accepted).
    ("08-examples-apicurio-register-mysql-apicurio.json", Refused("key.converter", "only org.apache.kafka.connect.json.JsonConverter")),
    ("09-examples-failover-register-mysql.json", Created(SCHEMA_HISTORY)),
    ("10-examples-graphql-mysql-source.json", Created(SCHEMA_HISTORY)),
    // A transform class raftcdc does not implement (an example's own SMT).
    ("11-examples-jpa-aggregations-source.json", Refused("transforms.expandjson.type", "unknown transform class")),
    ("12-examples-json-logging-register-mysql.json", Created(SCHEMA_HISTORY)),
    ("13-examples-ksql-register-mysql.json", Created(SCHEMA_HISTORY)),
    ("14-examples-kstreams-live-update-mysql-source.json", Created(SCHEMA_HISTORY)),
    ("15-examples-kstreams-mysql-source.json", Created(SCHEMA_HISTORY)),
    ("16-examples-mysql-replication-register-mysql.json", Created(SCHEMA_HISTORY)),
    ("17-examples-mysql-replication-connector-config-replica.json", Created(SCHEMA_HISTORY)),
    ("18-examples-unwrap-smt-source.json", Created(SCHEMA_HISTORY)),
    // Debezium 1.x configs: database.server.name became topic.prefix in 2.0.
    ("19-examples-end-to-end-demo-register-hiking-connector.json", Refused("database.server.name", "instead: topic.prefix")),
    ("20-examples-end-to-end-demo-register-hiking-connector-json.json", Refused("database.server.name", "instead: topic.prefix")),
    ("21-docs-tutorial-inventory-connector.json", Created(SCHEMA_HISTORY)),
    (
        "22-docs-mysql-connector-config-example.json",
        Created(&["schema.history.internal.kafka.bootstrap.servers", "schema.history.internal.kafka.topic"]),
    ),
    ("23-docs-debezium-platform-kafka-connect.json", Created(&["tasks.max"])),
    // Strimzi resolves `${secrets:...}` from Kubernetes secrets.
    ("24-docs-kubernetes-kafkaconnector.json", Refused("database.password", "config provider reference")),
    ("25-docs-streams-deploy-kafkaconnector.json", Created(SCHEMA_HISTORY)),
];

fn parse(text: &str) -> Result<ConnectorSpec, SpecError> {
    let json: serde_json::Value = serde_json::from_str(text).expect("fixture is JSON");
    if json.get("config").is_some() {
        ConnectorSpec::from_rest_json(text)
    } else {
        // A bare config map: wrap it as the REST payload.
        ConnectorSpec::from_rest_json(&serde_json::json!({"name": "corpus", "config": json}).to_string())
    }
}

#[test]
fn real_world_configs_are_created_or_refused_for_a_documented_reason() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/debezium-mysql");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let listed: Vec<&str> = CORPUS.iter().map(|(f, _)| *f).collect();
    assert_eq!(files, listed, "every fixture has an expectation, and every expectation a fixture");
    assert!(CORPUS.len() >= 20);
    for (file, expect) in CORPUS {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        match (parse(&text), expect) {
            (Ok(spec), Created(warned)) => {
                let config = ConnectorConfig::parse(&spec.config).expect("created specs parse");
                let got: Vec<&str> = config.warnings.iter().map(|w| w.property.as_str()).collect();
                assert_eq!(&got, warned, "{file}: warnings");
            }
            (Err(e), Refused(property, reason)) => {
                assert_eq!(e.field, format!("config.{property}"), "{file}: {e}");
                assert!(e.reason.contains(reason), "{file}: {e}");
                // Every refused property is in the generated table.
                let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/properties.md")).unwrap();
                // (A transform's option is documented by its prefix.)
                let documented = docs.contains(&format!("| `{property}`"))
                    || ["transforms.", "predicates."].iter().any(|p| property.starts_with(p) && docs.contains(&format!("| `{p}*`")));
                assert!(documented, "{file}: {property} is not documented");
            }
            (Ok(_), Refused(property, _)) => panic!("{file}: created, expected a refusal of {property}"),
            (Err(e), Created(_)) => panic!("{file}: refused: {e}"),
        }
    }
}
