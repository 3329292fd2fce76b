//! [`ConnectorConfig::parse`]: one property map in, the source and sink
//! configurations out, built together, or the first error naming its
//! property.
//!
//! The steps, in order: the catalog ([`super::catalog`]) answers every key
//! (refused and unknown names fail here, with the reason and what to use
//! instead); the source reads what it implements
//! (`source::mysql::config`), the sink checks its keys
//! (`sink::kafka::config`), placement reads `raftcdc.placement.*`
//! (`placement::constraints`), the transform layer parses
//! `transforms*`/`predicates*` (`transform::config`), and the signal layer
//! reads `signal.*` (`signal::config`).
//! Accepted properties with no effect come back as [`PropertyWarning`]s,
//! which `connector status` shows.
use std::collections::BTreeMap;
use std::fmt;

use super::spec::{spec_error, SpecError};
use crate::placement::constraints::PlacementConstraints;
use crate::signal::SignalConfig;
use crate::sink::kafka::{KafkaSinkConfig, SinkConfigError};
use crate::source::mysql::config::MySqlSourceConfig;
use crate::transform::{OutputFormat, TransformConfigError, TransformsConfig};

/// A connector's configuration, validated as a whole.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// The MySQL/MariaDB source; it carries the sink's properties
    /// (`source.sink_properties`), already checked.
    pub source: MySqlSourceConfig,
    /// The `transforms` chain and its `predicates` (empty without).
    pub transforms: TransformsConfig,
    /// The signal channels (`signal.*`).
    pub signals: SignalConfig,
    /// Properties accepted with no effect, and why.
    pub warnings: Vec<PropertyWarning>,
}

/// A property that was accepted but changes nothing, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyWarning {
    pub property: String,
    pub reason: String,
}

impl fmt::Display for PropertyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config.{}: accepted, has no effect: {}", self.property, self.reason)
    }
}

impl ConnectorConfig {
    /// Validates every property of a connector. Errors are
    /// `config.<property>: <reason>` (or `config: ...` for the map itself).
    pub fn parse(props: &BTreeMap<String, String>) -> Result<ConnectorConfig, SpecError> {
        if let Some(key) = props.keys().find(|k| k.trim().is_empty()) {
            return Err(spec_error("config", format!("property name {key:?} is empty")));
        }
        super::catalog::check(props).map_err(|r| spec_error(format!("config.{}", r.property), r.reason))?;
        let source =
            MySqlSourceConfig::from_properties(props).map_err(|e| spec_error(format!("config.{}", e.property), e.reason))?;
        KafkaSinkConfig::check_properties(&source.sink_properties).map_err(sink_error)?;
        PlacementConstraints::from_properties(props).map_err(|e| spec_error(format!("config.{}", e.property), e.reason))?;
        let transforms = TransformsConfig::parse(props).map_err(transform_error)?;
        let signals = SignalConfig::from_properties(props).map_err(|e| spec_error(format!("config.{}", e.property), e.reason))?;
        Ok(ConnectorConfig {
            source,
            transforms,
            signals,
            warnings: Self::warnings(props),
        })
    }

    /// The properties of `props` accepted with no effect (cheap: no
    /// validation; for showing a stored config's warnings).
    pub fn warnings(props: &BTreeMap<String, String>) -> Vec<PropertyWarning> {
        super::catalog::warnings(props)
            .map(|(property, reason)| PropertyWarning {
                property: property.to_string(),
                reason: reason.to_string(),
            })
            .collect()
    }

    /// The sink configuration on this node: its cluster name and Kafka
    /// bootstrap servers, and the connector's (already checked) properties.
    pub fn sink(&self, cluster: &str, connector: &str, bootstrap_servers: &str) -> Result<KafkaSinkConfig, SinkConfigError> {
        KafkaSinkConfig::from_properties(cluster, connector, bootstrap_servers, &self.source.sink_properties)
    }
}

fn transform_error(e: TransformConfigError) -> SpecError {
    spec_error(format!("config.{}", e.property), e.reason)
}

impl ConnectorConfig {
    /// How records leave the transform chain: the user's converter
    /// settings (with transforms, the source itself always encodes with
    /// schemas, which the chain reads back).
    pub fn output_format(&self) -> OutputFormat {
        OutputFormat {
            key_schemas_enable: self.source.encoding.key_schemas_enable,
            value_schemas_enable: self.source.encoding.value_schemas_enable,
        }
    }
}

fn sink_error(e: SinkConfigError) -> SpecError {
    spec_error(format!("config.{}", e.property), e.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BTreeMap<String, String> {
        crate::source::mysql::config::tests::base()
    }

    /// Sink settings are refused when the connector is created, not when
    /// its task starts.
    #[test]
    fn sink_properties_are_checked_with_the_rest() {
        for (key, value) in [
            ("delivery.guarantee", "twice"),
            ("producer.override.acks", "1"),
            ("producer.override.no.such.setting", "1"),
            // Refused only with the rest of the producer's settings.
            ("producer.override.linger.ms", "400000"),
            ("topic.creation.default.partitions", "0"),
            ("topic.creation.groups", "compacted"),
        ] {
            let mut props = base();
            props.insert(key.into(), value.into());
            let error = ConnectorConfig::parse(&props).unwrap_err();
            assert_eq!(error.field, format!("config.{key}"), "{error}");
        }
    }

    /// Transforms are validated with the rest, naming the property.
    #[test]
    fn transforms_are_checked_with_the_rest() {
        let mut props = base();
        props.insert("transforms".into(), "unwrap".into());
        props.insert("transforms.unwrap.type".into(), "io.debezium.transforms.ExtractNewRecordState".into());
        assert_eq!(ConnectorConfig::parse(&props).unwrap().transforms.transforms.len(), 1);
        props.insert("transforms.unwrap.delete.tombstone.handling.mode".into(), "keep".into());
        let error = ConnectorConfig::parse(&props).unwrap_err();
        assert_eq!(error.field, "config.transforms.unwrap.delete.tombstone.handling.mode", "{error}");
        props.remove("transforms.unwrap.delete.tombstone.handling.mode");
        props.insert("predicates.p.type".into(), "RecordIsTombstone".into());
        let error = ConnectorConfig::parse(&props).unwrap_err();
        assert_eq!(error.field, "config.predicates.p.type", "{error}");
    }

    #[test]
    fn refused_and_unknown_properties_name_themselves() {
        for (key, value, reason) in [
            ("bogus.property", "1", "unknown property"),
            ("database.ssl.keystore.type", "JKS", "is not supported by raftcdc: "),
            ("signal.data.collection", "signals", "\"signals\" is not of the form"),
            ("signal.enabled.channels", "jmx", "the jmx channel is not supported"),
            ("signal.consumer.enable.auto.commit", "true", "raftcdc sets it"),
        ] {
            let mut props = base();
            props.insert(key.into(), value.into());
            let error = ConnectorConfig::parse(&props).unwrap_err();
            assert_eq!(error.field, format!("config.{key}"), "{error}");
            assert!(error.reason.starts_with(reason), "{error}");
            assert!(!error.to_string().contains("hunter2"));
        }
    }

    #[test]
    fn accepted_properties_without_effect_are_warnings() {
        let mut props = base();
        props.insert("tasks.max".into(), "1".into());
        props.insert("schema.history.internal.kafka.topic".into(), "history".into());
        let config = ConnectorConfig::parse(&props).unwrap();
        let warned: Vec<String> = config.warnings.iter().map(|w| w.property.clone()).collect();
        assert_eq!(warned, ["schema.history.internal.kafka.topic", "tasks.max"]);
        assert!(config.warnings[1].to_string().starts_with("config.tasks.max: accepted, has no effect: "));
        assert!(ConnectorConfig::parse(&base()).unwrap().warnings.is_empty());
    }
}
