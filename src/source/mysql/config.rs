//! The MySQL connector's configuration, from Debezium's property names.
//!
//! [`MySqlSourceConfig::from_properties`] is the single place properties
//! are interpreted. Every property is in exactly one of three classes:
//!
//! - **supported**: parsed and validated here (errors name the property);
//! - **accepted but unused**: Kafka Connect framework settings that mean
//!   nothing here, such as `schema.history.internal.*` (raftcdc keeps schema
//!   history in the replicated state, not in a Kafka topic); they are
//!   listed, so pasting a working Kafka Connect payload just works;
//! - **known but unsupported**: Debezium features raftcdc does not
//!   implement; they are refused with a message saying so, never ignored.
//!
//! Anything else is an unknown property and is refused too, so a typo can
//! never silently fall back to a default. Secrets never leave this module
//! unredacted: [`Secret`] prints as `********`.
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use regex::Regex;

use super::tls::DatabaseTls;
use crate::connector::properties::matches_entry;
use crate::connector::Properties;
use crate::envelope::{
    BigintUnsignedHandlingMode, BinaryHandlingMode, Connector, DecimalHandlingMode, EncodingOptions, TimePrecisionMode,
};

/// A secret string: `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::connector::REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::connector::REDACTED)
    }
}

/// Debezium's `snapshot.mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    Initial,
    InitialOnly,
    NoData,
    WhenNeeded,
    Always,
    Recovery,
    Never,
}

/// Operations that can be skipped with `skipped.operations`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkippedOperations {
    pub create: bool,
    pub update: bool,
    pub delete: bool,
    pub truncate: bool,
}

/// A comma-separated list of regular expressions, each matched against the
/// whole identifier (Debezium anchors them).
#[derive(Debug, Clone)]
pub struct RegexList(Vec<Regex>);

impl RegexList {
    pub fn matches(&self, identifier: &str) -> bool {
        self.0.iter().any(|r| r.is_match(identifier))
    }
}

/// An include list or an exclude list (Debezium forbids both at once).
#[derive(Debug, Clone, Default)]
pub enum Filter {
    #[default]
    All,
    Include(RegexList),
    Exclude(RegexList),
}

impl Filter {
    pub fn allows(&self, identifier: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Include(list) => list.matches(identifier),
            Filter::Exclude(list) => !list.matches(identifier),
        }
    }
}

/// Which databases, tables and columns are captured.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub databases: Filter,
    /// Matched against `db.table`.
    pub tables: Filter,
    /// Matched against `db.table.column`.
    pub columns: Filter,
}

impl Filters {
    /// System schemas are never captured, whatever the lists say.
    pub fn captures_table(&self, db: &str, table: &str) -> bool {
        !matches!(db, "mysql" | "sys" | "performance_schema" | "information_schema")
            && self.databases.allows(db)
            && self.tables.allows(&format!("{db}.{table}"))
    }
}

/// The validated connector configuration.
#[derive(Debug, Clone)]
pub struct MySqlSourceConfig {
    /// Which Debezium connector class the config names; it decides
    /// `source.connector` (`mysql` or `mariadb`) and the schema names.
    pub class: Connector,
    pub hostname: String,
    pub port: u16,
    pub user: String,
    pub password: Secret,
    /// `database.ssl.*`: the TLS mode and PEM files (see [`super::tls`]).
    pub tls: DatabaseTls,
    pub server_id: u32,
    pub topic_prefix: String,
    pub filters: Filters,
    pub tombstones_on_delete: bool,
    pub include_schema_changes: bool,
    pub include_query: bool,
    pub provide_transaction_metadata: bool,
    pub heartbeat_interval: Option<Duration>,
    pub heartbeat_topic_prefix: String,
    pub transaction_topic_suffix: String,
    pub max_batch_size: usize,
    pub max_queue_size: usize,
    pub poll_interval: Duration,
    pub connect_timeout: Duration,
    pub encoding: EncodingOptions,
    /// `message.key.columns`: `db.table` regex → key column names.
    pub message_key_columns: Vec<(Regex, Vec<String>)>,
    pub skipped_operations: SkippedOperations,
    pub snapshot_mode: SnapshotMode,
    /// Rows per snapshot chunk (`snapshot.fetch.size`, default 10000): one
    /// chunk is one read, one batch and one committed cursor step.
    pub snapshot_fetch_size: usize,
    /// Properties raftcdc's Kafka sink interprets (`producer.override.*`,
    /// `topic.creation.*`, `delivery.guarantee`), kept for the sink layer.
    /// (`Debug` masks secrets such as `producer.override.sasl.password`.)
    pub sink_properties: Properties,
}

/// A configuration problem, naming the property.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config.{property}: {reason}")]
pub struct ConfigError {
    pub property: String,
    pub reason: String,
}

fn error(property: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        property: property.to_string(),
        reason: reason.into(),
    }
}

/// Kafka Connect settings that mean nothing to raftcdc, and why.
const ACCEPTED_UNUSED: &[(&str, &str)] = &[
    ("name", "the connector name is the payload's `name`"),
    ("tasks.max", "a MySQL connector always runs one task"),
    ("schema.history.internal.", "schema history lives in the replicated Raft state"),
    ("database.history.", "schema history lives in the replicated Raft state"),
    ("errors.log.", "errors are reported in the connector status and the node log"),
    ("key.converter", "output is always Kafka Connect's JsonConverter format"),
    ("value.converter", "output is always Kafka Connect's JsonConverter format"),
    (
        "database.ssl.truststore.password",
        "database.ssl.truststore is a PEM file, which has no store password",
    ),
    (
        "database.ssl.keystore.password",
        "database.ssl.keystore is a PEM file with an unencrypted key, which has no store password",
    ),
    (
        "snapshot.locking.mode",
        "MariaDB snapshots take no lock; MySQL snapshots hold FLUSH TABLES WITH READ LOCK only while the view opens",
    ),
];

/// Debezium features raftcdc refuses rather than silently ignores.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("converters", "custom converters are not supported"),
    ("column.mask.", "column masking is not supported"),
    ("column.truncate.", "column truncation is not supported"),
    ("column.propagate.source.type", "source type propagation is not supported"),
    ("datatype.propagate.source.type", "source type propagation is not supported"),
    ("signal.", "signalling tables are not needed: use `raftcdc connector snapshot`"),
    ("incremental.snapshot.", "use `raftcdc connector snapshot`"),
    ("gtid.source.", "GTID source filtering is not supported"),
    ("database.initial.statements", "initial statements are not supported"),
    ("topic.naming.strategy", "only Debezium's default topic naming is supported"),
    ("topic.delimiter", "only Debezium's default topic naming (`.`) is supported"),
    ("schema.name.adjustment.mode", "schema name adjustment is not supported"),
    ("field.name.adjustment.mode", "field name adjustment is not supported"),
    ("include.schema.comments", "schema comments are not supported"),
    ("notification.", "notifications are not supported"),
    ("custom.metric.tags", "custom metric tags are not supported"),
    ("binlog.buffer.size", "not needed: raftcdc never re-reads a transaction from a buffer"),
    ("event.deserialization.failure.handling.mode", "decode failures always stop the connector"),
    ("event.processing.failure.handling.mode", "processing failures always stop the connector"),
    ("inconsistent.schema.handling.mode", "schemas come from the binlog's own row metadata"),
    ("enable.time.adjuster", "not supported"),
    ("snapshot.select.statement.overrides", "not supported"),
    ("snapshot.include.collection.list", "not supported"),
    ("snapshot.new.tables", "not supported"),
];

/// `transforms`, `predicates` and their `.`-prefixed options belong to the
/// transform layer (`crate::transform::config`), which the connector front
/// door calls; the source passes them by.
const TRANSFORM_PREFIXES: &[&str] = &["transforms", "transforms.", "predicates", "predicates."];

/// Properties for the Kafka sink, passed through.
const SINK_PREFIXES: &[&str] = &["producer.override.", "topic.creation.", "delivery.guarantee", "kafka."];

/// Every property name (or prefix) the validator knows, in any of its
/// classes: supported, accepted and unused, refused, or the sink's. For
/// tests that feed it arbitrary payloads.
#[cfg(test)]
pub(crate) fn known_property_names() -> impl Iterator<Item = &'static str> {
    SUPPORTED
        .iter()
        .copied()
        .chain(ACCEPTED_UNUSED.iter().chain(UNSUPPORTED).map(|(name, _)| *name))
        .chain(SINK_PREFIXES.iter().copied())
        .chain(TRANSFORM_PREFIXES.iter().copied())
}

/// Every supported property name, for the REST API's plugin config
/// definitions (`GET /connector-plugins/{class}/config`).
pub fn supported_property_names() -> impl Iterator<Item = &'static str> {
    SUPPORTED.iter().copied()
}

/// Every supported property.
const SUPPORTED: &[&str] = &[
    "connector.class",
    "database.hostname",
    "database.port",
    "database.user",
    "database.password",
    "database.server.id",
    super::tls::SSL_MODE,
    super::tls::TRUSTSTORE,
    super::tls::KEYSTORE,
    "topic.prefix",
    "database.include.list",
    "database.exclude.list",
    "table.include.list",
    "table.exclude.list",
    "column.include.list",
    "column.exclude.list",
    "tombstones.on.delete",
    "include.schema.changes",
    "include.query",
    "provide.transaction.metadata",
    "heartbeat.interval.ms",
    "topic.heartbeat.prefix",
    "topic.transaction",
    "max.batch.size",
    "max.queue.size",
    "poll.interval.ms",
    "connect.timeout.ms",
    "decimal.handling.mode",
    "time.precision.mode",
    "bigint.unsigned.handling.mode",
    "binary.handling.mode",
    "key.converter.schemas.enable",
    "value.converter.schemas.enable",
    "message.key.columns",
    "skipped.operations",
    "snapshot.mode",
    "snapshot.fetch.size",
];

struct Props<'a>(&'a BTreeMap<String, String>);

impl Props<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn required(&self, key: &str) -> Result<&str, ConfigError> {
        self.get(key).ok_or_else(|| error(key, "is required"))
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(error(key, format!("\"{v}\" must be true or false"))),
        }
    }

    fn number<T>(&self, key: &str, default: T, min: T, max: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
    {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.parse::<T>() {
                Ok(n) if n >= min && n <= max => Ok(n),
                _ => Err(error(key, format!("\"{v}\" must be an integer from {min} to {max}"))),
            },
        }
    }

    fn parsed<T>(&self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e: T::Err| error(key, e.to_string())),
        }
    }

    fn regex_list(&self, key: &str) -> Result<Option<RegexList>, ConfigError> {
        let Some(value) = self.get(key) else { return Ok(None) };
        let mut list = Vec::new();
        for pattern in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let anchored = format!("^(?:{pattern})$");
            let regex = Regex::new(&anchored)
                .map_err(|e| error(key, format!("\"{pattern}\" is not a valid regular expression: {e}")))?;
            list.push(regex);
        }
        Ok(Some(RegexList(list)))
    }

    fn filter(&self, include: &str, exclude: &str) -> Result<Filter, ConfigError> {
        match (self.regex_list(include)?, self.regex_list(exclude)?) {
            (Some(_), Some(_)) => Err(error(exclude, format!("cannot be combined with {include}"))),
            (Some(list), None) => Ok(Filter::Include(list)),
            (None, Some(list)) => Ok(Filter::Exclude(list)),
            (None, None) => Ok(Filter::All),
        }
    }
}

impl std::str::FromStr for SnapshotMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "initial" => SnapshotMode::Initial,
            "initial_only" => SnapshotMode::InitialOnly,
            "no_data" | "schema_only" => SnapshotMode::NoData,
            "when_needed" => SnapshotMode::WhenNeeded,
            "always" => SnapshotMode::Always,
            "recovery" | "schema_only_recovery" => SnapshotMode::Recovery,
            "never" => SnapshotMode::Never,
            other => {
                return Err(format!(
                    "\"{other}\" is not a snapshot mode; use initial, initial_only, no_data, when_needed, always, recovery or never"
                ))
            }
        })
    }
}

impl MySqlSourceConfig {
    /// The properties of `props` that are accepted but have no effect, with
    /// the reason for each.
    pub fn without_effect(props: &BTreeMap<String, String>) -> impl Iterator<Item = (&str, &'static str)> {
        props.keys().filter_map(|key| {
            ACCEPTED_UNUSED
                .iter()
                .find(|(entry, _)| matches_entry(key, entry))
                .map(|(_, why)| (key.as_str(), *why))
        })
    }

    /// Interprets a connector's Debezium properties.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<MySqlSourceConfig, ConfigError> {
        for key in props.keys() {
            if SUPPORTED.contains(&key.as_str())
                || ACCEPTED_UNUSED.iter().any(|(entry, _)| matches_entry(key, entry))
                || SINK_PREFIXES.iter().any(|entry| matches_entry(key, entry))
                || TRANSFORM_PREFIXES.iter().any(|entry| matches_entry(key, entry))
            {
                continue;
            }
            if let Some((_, why)) = UNSUPPORTED.iter().find(|(entry, _)| matches_entry(key, entry)) {
                return Err(error(key, format!("is not supported by raftcdc: {why}")));
            }
            return Err(error(key, "unknown property"));
        }
        let p = Props(props);
        let class_name = p.required("connector.class")?;
        let class = Connector::from_connector_class(class_name).ok_or_else(|| {
            error(
                "connector.class",
                format!("\"{class_name}\" is not supported; use io.debezium.connector.mysql.MySqlConnector or io.debezium.connector.mariadb.MariaDbConnector"),
            )
        })?;
        for converter in ["key.converter", "value.converter"] {
            if let Some(v) = p.get(converter) {
                if v != "org.apache.kafka.connect.json.JsonConverter" {
                    return Err(error(converter, format!("\"{v}\": only org.apache.kafka.connect.json.JsonConverter output is supported")));
                }
            }
        }
        if let Some(tasks) = p.get("tasks.max") {
            if tasks != "1" {
                return Err(error("tasks.max", format!("\"{tasks}\": a MySQL connector runs exactly one task")));
            }
        }
        let topic_prefix = p.required("topic.prefix")?.to_string();
        if topic_prefix.len() > 200
            || !topic_prefix.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(error(
                "topic.prefix",
                format!("\"{topic_prefix}\" may contain only ASCII letters, digits, '.', '_' and '-'"),
            ));
        }
        let server_id: u32 = p.number("database.server.id", 0, 1, u32::MAX)?;
        if server_id == 0 {
            return Err(error("database.server.id", "is required (unique among the server's replicas)"));
        }
        let max_batch_size: usize = p.number("max.batch.size", 2048, 1, 1_000_000)?;
        let max_queue_size: usize = p.number("max.queue.size", 8192, 2, 10_000_000)?;
        if max_queue_size <= max_batch_size {
            return Err(error(
                "max.queue.size",
                format!("{max_queue_size} must be larger than max.batch.size ({max_batch_size})"),
            ));
        }
        let heartbeat_ms: u64 = p.number("heartbeat.interval.ms", 0, 0, 86_400_000)?;
        let encoding = EncodingOptions {
            decimal: p.parsed("decimal.handling.mode", DecimalHandlingMode::Precise)?,
            time_precision: p.parsed("time.precision.mode", TimePrecisionMode::AdaptiveTimeMicroseconds)?,
            bigint_unsigned: p.parsed("bigint.unsigned.handling.mode", BigintUnsignedHandlingMode::Long)?,
            binary: p.parsed("binary.handling.mode", BinaryHandlingMode::Bytes)?,
            key_schemas_enable: p.boolean("key.converter.schemas.enable", true)?,
            value_schemas_enable: p.boolean("value.converter.schemas.enable", true)?,
        };
        let mut message_key_columns = Vec::new();
        if let Some(spec) = p.get("message.key.columns") {
            for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
                let (table, columns) = entry.rsplit_once(':').ok_or_else(|| {
                    error("message.key.columns", format!("\"{entry}\" must look like db.table:col1,col2"))
                })?;
                let regex = Regex::new(&format!("^(?:{})$", table.trim())).map_err(|e| {
                    error("message.key.columns", format!("\"{table}\" is not a valid regular expression: {e}"))
                })?;
                let columns: Vec<String> =
                    columns.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
                if columns.is_empty() {
                    return Err(error("message.key.columns", format!("\"{entry}\" names no columns")));
                }
                message_key_columns.push((regex, columns));
            }
        }
        let mut skipped_operations = SkippedOperations::default();
        match p.get("skipped.operations") {
            None => skipped_operations.truncate = true,
            Some(v) if v.eq_ignore_ascii_case("none") => {}
            Some(v) => {
                for op in v.split(',').map(str::trim) {
                    match op {
                        "c" => skipped_operations.create = true,
                        "u" => skipped_operations.update = true,
                        "d" => skipped_operations.delete = true,
                        "t" => skipped_operations.truncate = true,
                        other => {
                            return Err(error("skipped.operations", format!("\"{other}\" is not one of c, u, d, t or none")))
                        }
                    }
                }
            }
        }
        let sink_properties = props
            .iter()
            .filter(|(k, _)| SINK_PREFIXES.iter().any(|entry| matches_entry(k, entry)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(MySqlSourceConfig {
            class,
            hostname: p.required("database.hostname")?.to_string(),
            port: p.number("database.port", 3306, 1, u16::MAX)?,
            user: p.required("database.user")?.to_string(),
            password: Secret::new(props.get("database.password").cloned().unwrap_or_default()),
            tls: DatabaseTls::from_properties(props)?,
            server_id,
            filters: Filters {
                databases: p.filter("database.include.list", "database.exclude.list")?,
                tables: p.filter("table.include.list", "table.exclude.list")?,
                columns: p.filter("column.include.list", "column.exclude.list")?,
            },
            topic_prefix,
            tombstones_on_delete: p.boolean("tombstones.on.delete", true)?,
            include_schema_changes: p.boolean("include.schema.changes", true)?,
            include_query: p.boolean("include.query", false)?,
            provide_transaction_metadata: p.boolean("provide.transaction.metadata", false)?,
            heartbeat_interval: (heartbeat_ms > 0).then(|| Duration::from_millis(heartbeat_ms)),
            heartbeat_topic_prefix: p.get("topic.heartbeat.prefix").unwrap_or("__debezium-heartbeat").to_string(),
            transaction_topic_suffix: p.get("topic.transaction").unwrap_or("transaction").to_string(),
            max_batch_size,
            max_queue_size,
            poll_interval: Duration::from_millis(p.number("poll.interval.ms", 500, 1, 3_600_000)?),
            connect_timeout: Duration::from_millis(p.number("connect.timeout.ms", 30_000, 1, 3_600_000)?),
            encoding,
            message_key_columns,
            skipped_operations,
            snapshot_mode: p.parsed("snapshot.mode", SnapshotMode::Initial)?,
            snapshot_fetch_size: p.number("snapshot.fetch.size", 10_000, 1, 1_000_000)?,
            sink_properties,
        })
    }

    /// Topic of a captured table.
    pub fn table_topic(&self, db: &str, table: &str) -> String {
        crate::envelope::data_change_topic(&self.topic_prefix, db, table)
    }

    pub fn transaction_topic(&self) -> String {
        format!("{}.{}", self.topic_prefix, self.transaction_topic_suffix)
    }

    pub fn heartbeat_topic(&self) -> String {
        format!("{}.{}", self.heartbeat_topic_prefix, self.topic_prefix)
    }

    /// Key columns configured with `message.key.columns` for a table.
    pub fn key_columns_for(&self, db: &str, table: &str) -> Option<&[String]> {
        let id = format!("{db}.{table}");
        self.message_key_columns
            .iter()
            .find(|(regex, _)| regex.is_match(&id))
            .map(|(_, columns)| columns.as_slice())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid MySQL connector config with the fewest properties.
    pub(crate) fn base() -> BTreeMap<String, String> {
        [
            ("connector.class", "io.debezium.connector.mysql.MySqlConnector"),
            ("database.hostname", "db"),
            ("database.user", "cdc"),
            ("database.password", "hunter2"),
            ("database.server.id", "5401"),
            ("topic.prefix", "dbserver1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn with(pairs: &[(&str, &str)]) -> Result<MySqlSourceConfig, ConfigError> {
        let mut props = base();
        for (k, v) in pairs {
            props.insert(k.to_string(), v.to_string());
        }
        MySqlSourceConfig::from_properties(&props)
    }

    #[test]
    fn defaults_follow_debezium() {
        let c = with(&[]).unwrap();
        assert_eq!(c.port, 3306);
        assert!(c.tombstones_on_delete && c.include_schema_changes && !c.provide_transaction_metadata);
        assert!(c.skipped_operations.truncate && !c.skipped_operations.delete);
        assert_eq!(c.snapshot_mode, SnapshotMode::Initial);
        assert_eq!(c.table_topic("inventory", "customers"), "dbserver1.inventory.customers");
        assert_eq!(c.heartbeat_topic(), "__debezium-heartbeat.dbserver1");
        assert_eq!(c.transaction_topic(), "dbserver1.transaction");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn filters_are_anchored_regexes() {
        let c = with(&[("table.include.list", "inventory\\.cust.*, other.t1")]).unwrap();
        assert!(c.filters.captures_table("inventory", "customers"));
        assert!(!c.filters.captures_table("inventory", "orders"));
        assert!(c.filters.captures_table("other", "t1"));
        assert!(!c.filters.captures_table("other", "t10"));
        assert!(!with(&[]).unwrap().filters.captures_table("mysql", "user"));
    }

    #[test]
    fn errors_name_the_property() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("bogus.property", "1")], "config.bogus.property: unknown property"),
            (&[("converters", "c")], "config.converters: is not supported"),
            (&[("database.ssl.mode", "sometimes")], "config.database.ssl.mode: \"sometimes\" is not an SSL mode"),
            (&[("database.ssl.keystore.type", "JKS")], "config.database.ssl.keystore.type: unknown property"),
            (&[("decimal.handling.mode", "exact")], "config.decimal.handling.mode"),
            (&[("time.precision.mode", "nanos")], "config.time.precision.mode"),
            (&[("tombstones.on.delete", "yes")], "config.tombstones.on.delete"),
            (&[("database.port", "0")], "config.database.port"),
            (&[("max.batch.size", "100"), ("max.queue.size", "50")], "config.max.queue.size"),
            (&[("table.include.list", "a"), ("table.exclude.list", "b")], "config.table.exclude.list"),
            (&[("table.include.list", "(")], "config.table.include.list"),
            (&[("snapshot.mode", "sometimes")], "config.snapshot.mode"),
            (&[("skipped.operations", "x")], "config.skipped.operations"),
            (&[("message.key.columns", "db.t")], "config.message.key.columns"),
            (&[("value.converter", "io.confluent.connect.avro.AvroConverter")], "config.value.converter"),
        ];
        for (pairs, expected) in cases {
            let err = with(pairs).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{pairs:?}: {err}");
            assert!(!err.contains("hunter2"));
        }
        let mut props = base();
        props.remove("topic.prefix");
        assert_eq!(MySqlSourceConfig::from_properties(&props).unwrap_err().property, "topic.prefix");
    }

    #[test]
    fn kafka_connect_payloads_paste_cleanly() {
        let c = with(&[
            ("tasks.max", "1"),
            ("schema.history.internal.kafka.topic", "schema-changes.inventory"),
            ("schema.history.internal.kafka.bootstrap.servers", "kafka:9092"),
            ("key.converter", "org.apache.kafka.connect.json.JsonConverter"),
            ("producer.override.linger.ms", "5"),
            ("message.key.columns", "inventory.orders:order_number,purchaser"),
            ("database.ssl.mode", "verify_identity"),
            ("database.ssl.truststore", "/etc/raftcdc/mysql-ca.pem"),
            ("database.ssl.truststore.password", "changeit"),
        ])
        .unwrap();
        assert_eq!(c.tls.mode, super::super::tls::SslMode::VerifyIdentity);
        assert!(!format!("{c:?}").contains("changeit"));
        assert_eq!(c.sink_properties["producer.override.linger.ms"], "5");
        assert_eq!(c.key_columns_for("inventory", "orders").unwrap(), ["order_number", "purchaser"]);
    }
}

#[cfg(test)]
mod property_tests {
    //! Any value of any supported or passed-through property is either accepted
    //! or refused naming that property (or the one it is checked against);
    //! nothing panics, whatever the bytes.
    use super::*;
    use proptest::prelude::*;

    /// The unit tests' valid config, as the MariaDB connector class.
    fn base() -> BTreeMap<String, String> {
        let mut props = super::tests::base();
        props.insert("connector.class".into(), "io.debezium.connector.mariadb.MariaDbConnector".into());
        props
    }

    /// The property a refusal of `key` may name instead of `key` itself.
    fn partner(key: &str) -> Option<&'static str> {
        Some(match key {
            "max.batch.size" => "max.queue.size",
            "database.include.list" => "database.exclude.list",
            "table.include.list" => "table.exclude.list",
            "column.include.list" => "column.exclude.list",
            _ => return None,
        })
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "-?[0-9]{1,25}",
            "(true|false|none|c|u|d|t|never|no_data|precise|double|string|long|hex|,|;|:)+",
            "[a-z_.*()\\[\\]\\\\|+?{}0-9]{0,20}(:[a-z,]{0,10})?",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_value_of_a_known_property_is_refused_by_name(
            key in proptest::sample::select(SUPPORTED.iter().chain(SINK_PREFIXES).copied().collect::<Vec<_>>()),
            value in value(),
        ) {
            let mut props = base();
            props.insert(key.to_string(), value.clone());
            if let Err(e) = MySqlSourceConfig::from_properties(&props) {
                prop_assert!(
                    e.property == key || partner(key) == Some(e.property.as_str()),
                    "{key} = {value:?}: {e}"
                );
                let prefix = format!("config.{}: ", e.property);
                prop_assert!(e.to_string().starts_with(&prefix), "{e}");
                prop_assert!(key == "database.password" || !e.to_string().contains("hunter2"));
            }
        }

        #[test]
        fn arbitrary_maps_never_panic(
            props in proptest::collection::btree_map(
                prop_oneof![proptest::sample::select(SUPPORTED).prop_map(str::to_string), any::<String>()],
                value(),
                0..8,
            ),
        ) {
            // A refusal names a property that is there, or a required one
            // that is missing.
            const REQUIRED: &[&str] =
                &["connector.class", "database.hostname", "database.user", "database.server.id", "topic.prefix"];
            if let Err(e) = MySqlSourceConfig::from_properties(&props) {
                prop_assert!(props.contains_key(&e.property) || REQUIRED.contains(&e.property.as_str()), "{e}");
            }
        }
    }
}
