//! [`ConnectorConfig::parse`]: one property map in, the source and sink
//! configurations out, built together, or the first error naming its
//! property.
//!
//! The steps, in order: the catalog ([`super::catalog`]) answers every key
//! (refused and unknown names fail here, with the reason and what to use
//! instead); the source reads what it implements
//! (`source::mysql::config`), the sink checks its keys
//! (`sink::kafka::config`), placement reads `raftcdc.placement.*`
//! (`placement::constraints`), and the transforms' place is marked below.
//! Accepted properties with no effect come back as [`PropertyWarning`]s,
//! which `connector status` shows.
use std::collections::BTreeMap;
use std::fmt;

use super::spec::{spec_error, SpecError};
use crate::placement::constraints::PlacementConstraints;
use crate::sink::kafka::{KafkaSinkConfig, SinkConfigError};
use crate::source::mysql::config::MySqlSourceConfig;

/// A connector's configuration, validated as a whole.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// The MySQL/MariaDB source; it carries the sink's properties
    /// (`source.sink_properties`), already checked.
    pub source: MySqlSourceConfig,
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
        // Transforms: `transforms`/`predicates` are refused by the catalog
        // today. Their config parse goes here, and its result becomes a
        // field of `ConnectorConfig`, when the catalog marks them
        // implemented.
        Ok(ConnectorConfig {
            source,
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
            ("topic.creation.default.partitions", "0"),
            ("topic.creation.groups", "compacted"),
        ] {
            let mut props = base();
            props.insert(key.into(), value.into());
            let error = ConnectorConfig::parse(&props).unwrap_err();
            assert_eq!(error.field, format!("config.{key}"), "{error}");
        }
    }

    #[test]
    fn refused_and_unknown_properties_name_themselves() {
        for (key, value, reason) in [
            ("bogus.property", "1", "unknown property"),
            ("transforms", "unwrap", "is not supported by raftcdc: "),
            ("database.ssl.keystore.type", "JKS", "is not supported by raftcdc: "),
            ("signal.data.collection", "db.signals", "is not supported by raftcdc: "),
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
