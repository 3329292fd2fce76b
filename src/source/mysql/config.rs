//! The MySQL connector's configuration, from Debezium's property names.
//!
//! [`MySqlSourceConfig::from_properties`] is the single place the source's
//! properties are interpreted. Which properties exist, and whether each is
//! implemented, accepted with no effect, or refused, is the connector
//! front door's catalog (`connector::catalog`), which has answered every
//! key before this runs; here the source reads the properties the catalog
//! says it implements, checks their values (errors name the property), and
//! keeps the sink's properties (`sink_properties`) for the sink layer.
//! Properties that accept only the value raftcdc writes (e.g.
//! `snapshot.query.mode=select_all`) are in [`FIXED_VALUES`]. Secrets never
//! leave this module unredacted: [`Secret`] prints as `********`.
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use regex::Regex;

use super::event_failure::{self, EventFailureMode};
use super::tls::DatabaseTls;
use crate::connector::catalog;
use crate::connector::Properties;
use crate::envelope::{
    BigintUnsignedHandlingMode, BinaryHandlingMode, Connector, DecimalHandlingMode, EncodingOptions,
    FieldNameAdjustmentMode, SchemaNameAdjustmentMode, TimePrecisionMode, is_column_mapper_property, ColumnMappers, TopicNaming,
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

/// Retries of transient source errors (`errors.max.retries`,
/// `errors.retry.delay.initial.ms`, `errors.retry.delay.max.ms`, with
/// Debezium's defaults): the delay starts at `initial_delay` and doubles up
/// to `max_delay`; the count and the delay start over once a connection
/// has lasted 30 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// `None`: retry without limit (Debezium's `-1`, the default).
    pub max_retries: Option<u64>,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: None,
            initial_delay: Duration::from_millis(300),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// `max.queue.size.in.bytes` when unset. Debezium's default is 0 (no
/// byte bound); raftcdc bounds by bytes unless told not to, which keeps an
/// owner's memory flat with wide rows (see [`crate::pipeline::queue`]).
pub const DEFAULT_MAX_QUEUE_BYTES: u64 = 32 * 1024 * 1024;
/// The largest byte bound (16 TiB: the queue counts in 4 KiB permits).
const MAX_QUEUE_BYTES: u64 = 1 << 44;
/// Upper bound of `snapshot.max.threads`: each thread is one database
/// connection held for the whole snapshot.
const MAX_SNAPSHOT_THREADS: usize = 256;

/// The validated connector configuration.
#[derive(Debug, Clone)]
pub struct MySqlSourceConfig {
    /// Which Debezium connector class the config names; it decides
    /// `source.connector` (`mysql` or `mariadb`) and the schema names.
    pub class: Connector,
    /// The server connections go to: the first of [`Self::hosts`], or the
    /// one the source chose ([`Self::for_host`]).
    pub hostname: String,
    pub port: u16,
    /// `database.hostname` as a list: `host[:port],host[:port]...` (a
    /// host without a port uses `database.port`). The source reads from the
    /// first that is up and can serve its position (see
    /// [`super::failover`]).
    pub hosts: Vec<(String, u16)>,
    pub user: String,
    pub password: Secret,
    /// `database.ssl.*`: the TLS mode and PEM files (see [`super::tls`]).
    pub tls: DatabaseTls,
    pub server_id: u32,
    pub topic_prefix: String,
    pub filters: Filters,
    pub tombstones_on_delete: bool,
    pub include_schema_changes: bool,
    /// `include.schema.comments`: table and column comments in schema
    /// change events' `tableChanges`.
    pub include_schema_comments: bool,
    pub include_query: bool,
    pub provide_transaction_metadata: bool,
    pub heartbeat_interval: Option<Duration>,
    pub heartbeat_topic_prefix: String,
    /// `topic.heartbeat.name`: the whole heartbeat topic name, if set.
    pub heartbeat_topic_name: Option<String>,
    pub transaction_topic_suffix: String,
    pub max_batch_size: usize,
    pub max_queue_size: usize,
    /// `max.queue.size.in.bytes` (default 32 MiB; 0 = no byte bound, as
    /// in Debezium): the most bytes of records queued and pending in the
    /// owner ([`crate::pipeline::queue`]).
    pub max_queue_bytes: Option<usize>,
    pub poll_interval: Duration,
    pub connect_timeout: Duration,
    /// `raftcdc.binlog.read.timeout.ms` (default 6000): the longest the
    /// binlog stream may go without an event; the server is asked for a
    /// heartbeat at a third of it, so only a dead link or a frozen server
    /// is silent that long. Then the source reconnects (a transient error).
    pub binlog_read_timeout: Duration,
    /// `raftcdc.binlog.retention.warn.bytes` (default 1 GiB, MariaDB's and
    /// MySQL's default `max_binlog_size`): the retention headroom under
    /// which the connector warns (see [`super::retention`]).
    pub retention_warn_bytes: u64,
    /// `raftcdc.binlog.retention.check.interval.ms` (default 60000): how
    /// often the headroom is measured while streaming.
    pub retention_check_interval: Duration,
    pub encoding: EncodingOptions,
    /// `message.key.columns`: `db.table` regex → key column names.
    pub message_key_columns: Vec<(Regex, Vec<String>)>,
    pub skipped_operations: SkippedOperations,
    /// `snapshot.select.statement.overrides`: `db.table` → the SELECT the
    /// initial snapshot reads it with.
    pub snapshot_select_overrides: BTreeMap<String, String>,
    /// `snapshot.include.collection.list`: the captured tables whose rows
    /// the initial snapshot reads (`db.table` regexes; default all).
    pub snapshot_tables: Filter,
    /// How transient source errors are retried.
    pub retry: RetryPolicy,
    /// `heartbeat.action.query`: run with every heartbeat.
    pub heartbeat_action_query: Option<String>,
    /// `database.initial.statements`, split: run on every connection
    /// raftcdc opens for queries (not on the binlog stream's).
    pub initial_statements: Vec<String>,
    /// `skip.messages.without.change`: drop updates that change no
    /// captured column.
    pub skip_messages_without_change: bool,
    pub snapshot_mode: SnapshotMode,
    /// Rows per snapshot chunk (`snapshot.fetch.size`, default 10000): one
    /// chunk is one read, one batch and one committed cursor step.
    pub snapshot_fetch_size: usize,
    /// Tables the initial snapshot reads at the same time, each over its
    /// own connection in one consistent view (`snapshot.max.threads`,
    /// default 1; see [`super::snapshot_parallel`]).
    pub snapshot_max_threads: usize,
    /// Properties raftcdc's Kafka sink interprets (`producer.override.*`,
    /// `topic.creation.*`, `delivery.guarantee`), kept for the sink layer.
    /// (`Debug` masks secrets such as `producer.override.sasl.password`.)
    pub sink_properties: Properties,
    /// `signal.data.collection` as `(db, table)`, when the source channel
    /// is enabled (`signal.enabled.channels`): rows inserted into it are
    /// signals ([`crate::signal`]), read whether or not the include lists
    /// capture the table.
    pub signal_table: Option<(String, String)>,
    /// `event.processing.failure.handling.mode` (or its deprecated alias
    /// `event.deserialization.failure.handling.mode`): what a rows event
    /// that cannot be processed does ([`super::event_failure`]).
    pub event_failure_mode: EventFailureMode,
    /// `gtid.source.includes` / `gtid.source.excludes` (anchored regexes
    /// over a GTID's source: MariaDB `<domain_id>-<server_id>`, MySQL the
    /// UUID) and `gtid.source.filter.dml.events`: which transactions' rows
    /// events are not emitted ([`Self::emits_dml_of`]).
    pub gtid_sources: Filter,
    pub gtid_source_filter_dml_events: bool,
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

/// Every property name the catalog implements in this layer (whole names,
/// not prefixes), for the REST API's plugin config definitions
/// (`GET /connector-plugins/{class}/config`).
pub fn supported_property_names() -> impl Iterator<Item = &'static str> {
    catalog::CATALOG
        .iter()
        .filter(|e| !e.is_prefix() && e.answer == catalog::Answer::Implemented(catalog::Layer::Source))
        .map(|e| e.name)
}

/// Properties whose only accepted value is the one raftcdc writes (the
/// default in Debezium or Kafka Connect); any other value would change the
/// output in a way raftcdc cannot. Each with the accepted value and what
/// to do instead.
const FIXED_VALUES: &[(&str, &str, &str)] = &[
    ("table.ignore.builtin", "true", "raftcdc never captures the system schemas"),
    ("source.struct.version", "v2", "raftcdc writes Debezium's v2 source block"),
    ("snapshot.query.mode", "select_all", "custom snapshot queries are Java classes; raftcdc reads every row"),
    ("key.converter.decimal.format", "BASE64", "use decimal.handling.mode=double or string"),
    ("value.converter.decimal.format", "BASE64", "use decimal.handling.mode=double or string"),
    ("key.converter.replace.null.with.default", "true", "raftcdc always writes JsonConverter's default"),
    ("value.converter.replace.null.with.default", "true", "raftcdc always writes JsonConverter's default"),
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

/// `database.hostname`: `host[:port]` items separated by commas.
fn parse_hosts(value: &str, default_port: u16) -> Result<Vec<(String, u16)>, ConfigError> {
    let mut hosts = Vec::new();
    for item in value.split(',').map(str::trim) {
        let bad = |why: &str| error("database.hostname", format!("\"{item}\" {why}; use host[:port],host[:port]..."));
        let (host, port) = match item.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| bad("has no valid port"))?),
            None => (item, default_port),
        };
        if host.is_empty() || host.contains(char::is_whitespace) || host.contains(':') {
            return Err(bad("is not a host name or address"));
        }
        if hosts.iter().any(|(h, p)| h == host && *p == port) {
            return Err(bad("is listed twice"));
        }
        hosts.push((host.to_string(), port));
    }
    Ok(hosts)
}

/// Debezium's `snapshot.select.statement.overrides=db.t1,db.t2` with one
/// `snapshot.select.statement.overrides.<db>.<table>` statement for each
/// listed table (a listed table without its statement is refused).
fn select_overrides(p: &Props<'_>) -> Result<BTreeMap<String, String>, ConfigError> {
    const LIST: &str = "snapshot.select.statement.overrides";
    let mut overrides = BTreeMap::new();
    let Some(list) = p.get(LIST) else { return Ok(overrides) };
    for table in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if table.split('.').count() != 2 || table.split('.').any(str::is_empty) {
            return Err(error(LIST, format!("\"{table}\" is not of the form db.table")));
        }
        let key = format!("{LIST}.{table}");
        let statement = p.get(&key).ok_or_else(|| error(&key, format!("is required: {LIST} lists {table}")))?;
        overrides.insert(table.to_string(), statement.to_string());
    }
    Ok(overrides)
}

fn retry_policy(p: &Props<'_>) -> Result<RetryPolicy, ConfigError> {
    let default = RetryPolicy::default();
    let max_retries: i64 = p.number("errors.max.retries", -1, -1, i64::MAX)?;
    let initial_ms: u64 = p.number("errors.retry.delay.initial.ms", default.initial_delay.as_millis() as u64, 1, 3_600_000)?;
    let max_ms: u64 = p.number("errors.retry.delay.max.ms", default.max_delay.as_millis() as u64, 1, 3_600_000)?;
    if max_ms < initial_ms {
        return Err(error(
            "errors.retry.delay.max.ms",
            format!("{max_ms} must be at least errors.retry.delay.initial.ms ({initial_ms})"),
        ));
    }
    Ok(RetryPolicy {
        max_retries: u64::try_from(max_retries).ok(),
        initial_delay: Duration::from_millis(initial_ms),
        max_delay: Duration::from_millis(max_ms),
    })
}

/// Debezium's split of `database.initial.statements`: `;` separates
/// statements, `;;` is a literal `;`, and each statement is trimmed (empty
/// ones dropped).
fn split_statements(text: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != ';' {
            current.push(c);
        } else if chars.peek() == Some(&';') {
            chars.next();
            current.push(';');
        } else {
            let statement = current.trim();
            if !statement.is_empty() {
                statements.push(statement.to_string());
            }
            current.clear();
        }
    }
    let statement = current.trim();
    if !statement.is_empty() {
        statements.push(statement.to_string());
    }
    statements
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

/// `signal.data.collection` (`db.table`), if the source channel reads it.
fn signal_table(p: &Props) -> Result<Option<(String, String)>, ConfigError> {
    let Some(name) = p.get("signal.data.collection").map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let Some((db, table)) = name.split_once('.').filter(|(d, t)| !d.is_empty() && !t.is_empty() && !t.contains('.')) else {
        return Err(error(
            "signal.data.collection",
            format!("\"{name}\" is not of the form <databaseName>.<tableName>"),
        ));
    };
    let source_channel = p
        .get("signal.enabled.channels")
        .map(str::trim)
        .filter(|channels| !channels.is_empty())
        .is_none_or(|channels| channels.split(',').any(|c| c.trim() == "source"));
    Ok(source_channel.then(|| (db.to_string(), table.to_string())))
}

impl MySqlSourceConfig {
    /// The most bytes of records (or, for a snapshot, of row data) one
    /// batch gathers before it is handed over: an eighth of
    /// `max.queue.size.in.bytes`, since besides the batches the queue
    /// counts a few are outside it at any time (the one being filled, the
    /// one waiting at the queue's gate), and they should stay small beside
    /// the bound. `usize::MAX` without a byte bound.
    pub fn batch_bytes(&self) -> usize {
        self.max_queue_bytes.map_or(usize::MAX, |bytes| (bytes / 8).max(1))
    }

    /// Interprets a connector's Debezium properties. The connector front
    /// door has already answered every key with the catalog
    /// ([`catalog::check`]: nothing refused or unknown is left); this reads
    /// the ones the source implements and checks their values.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<MySqlSourceConfig, ConfigError> {
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
        p.number::<u32>("tasks.max", 1, 1, u32::MAX)?;
        for (key, accepted, instead) in FIXED_VALUES {
            if let Some(v) = p.get(key) {
                if !v.eq_ignore_ascii_case(accepted) {
                    return Err(error(key, format!("\"{v}\": only {accepted} is supported ({instead})")));
                }
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
            schema_name_adjustment: p.parsed(SchemaNameAdjustmentMode::PROPERTY, SchemaNameAdjustmentMode::None)?,
            field_name_adjustment: p.parsed(FieldNameAdjustmentMode::PROPERTY, FieldNameAdjustmentMode::None)?,
            key_schemas_enable: p.boolean("key.converter.schemas.enable", true)?,
            value_schemas_enable: p.boolean("value.converter.schemas.enable", true)?,
            topic_naming: TopicNaming::parse(p.get("topic.naming.strategy"), p.get("topic.delimiter"))
                .map_err(|(property, reason)| error(property, reason))?,
            schemas_by_reference: false,
            column_mappers: ColumnMappers::from_properties(
                props.iter().filter(|(k, _)| is_column_mapper_property(k)).map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .map_err(|(property, reason)| error(&property, reason))?,
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
            .filter(|(k, _)| catalog::is_implemented_by(k, catalog::Layer::Sink))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let port = p.number("database.port", 3306, 1, u16::MAX)?;
        let hosts = parse_hosts(p.required("database.hostname")?, port)?;
        Ok(MySqlSourceConfig {
            class,
            hostname: hosts[0].0.clone(),
            port: hosts[0].1,
            hosts,
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
            include_schema_comments: p.boolean("include.schema.comments", false)?,
            include_query: p.boolean("include.query", false)?,
            provide_transaction_metadata: p.boolean("provide.transaction.metadata", false)?,
            heartbeat_interval: (heartbeat_ms > 0).then(|| Duration::from_millis(heartbeat_ms)),
            heartbeat_topic_prefix: p
                .get("topic.heartbeat.prefix")
                .or_else(|| p.get("heartbeat.topics.prefix"))
                .unwrap_or("__debezium-heartbeat")
                .to_string(),
            heartbeat_topic_name: p.get("topic.heartbeat.name").map(str::to_string),
            transaction_topic_suffix: p.get("topic.transaction").unwrap_or("transaction").to_string(),
            max_batch_size,
            max_queue_size,
            max_queue_bytes: match p.number::<u64>("max.queue.size.in.bytes", DEFAULT_MAX_QUEUE_BYTES, 0, MAX_QUEUE_BYTES)? {
                0 => None,
                bytes => Some(bytes as usize),
            },
            poll_interval: Duration::from_millis(p.number("poll.interval.ms", 500, 1, 3_600_000)?),
            connect_timeout: Duration::from_millis(p.number("connect.timeout.ms", 30_000, 1, 3_600_000)?),
            binlog_read_timeout: Duration::from_millis(p.number("raftcdc.binlog.read.timeout.ms", 6_000, 300, 3_600_000)?),
            retention_warn_bytes: p.number("raftcdc.binlog.retention.warn.bytes", 1 << 30, 0, u64::MAX)?,
            retention_check_interval: Duration::from_millis(p.number(
                "raftcdc.binlog.retention.check.interval.ms",
                60_000,
                100,
                86_400_000,
            )?),
            encoding,
            message_key_columns,
            skipped_operations,
            skip_messages_without_change: p.boolean("skip.messages.without.change", false)?,
            initial_statements: p.get("database.initial.statements").map(split_statements).unwrap_or_default(),
            heartbeat_action_query: p.get("heartbeat.action.query").map(str::to_string),
            retry: retry_policy(&p)?,
            snapshot_tables: p.regex_list("snapshot.include.collection.list")?.map_or(Filter::All, Filter::Include),
            snapshot_select_overrides: select_overrides(&p)?,
            snapshot_mode: p.parsed("snapshot.mode", SnapshotMode::Initial)?,
            snapshot_fetch_size: p.number("snapshot.fetch.size", 10_000, 1, 1_000_000)?,
            snapshot_max_threads: p.number("snapshot.max.threads", 1, 1, MAX_SNAPSHOT_THREADS)?,
            sink_properties,
            signal_table: signal_table(&p)?,
            event_failure_mode: EventFailureMode::from_properties(
                p.get(event_failure::PROPERTY),
                p.get(event_failure::DEPRECATED_PROPERTY),
            )
            .map_err(|(property, reason)| error(property, reason))?,
            gtid_sources: p.filter("gtid.source.includes", "gtid.source.excludes")?,
            gtid_source_filter_dml_events: p.boolean("gtid.source.filter.dml.events", true)?,
        })
    }

    /// Whether the rows events of a transaction whose GTID has this source
    /// (MariaDB `<domain_id>-<server_id>`, MySQL the UUID) are emitted, as
    /// Debezium decides it: always, unless `gtid.source.filter.dml.events`
    /// is true (the default) and `gtid.source.includes`/`excludes` leave
    /// the source out. Depends on the configuration only, so every reader
    /// of the same binlog decides the same.
    pub fn emits_dml_of(&self, gtid_source: &str) -> bool {
        !self.gtid_source_filter_dml_events || self.gtid_sources.allows(gtid_source)
    }

    /// This config, connecting to `host` (one of [`Self::hosts`]).
    pub fn for_host(&self, host: &(String, u16)) -> MySqlSourceConfig {
        MySqlSourceConfig {
            hostname: host.0.clone(),
            port: host.1,
            ..self.clone()
        }
    }

    /// Topic of a captured table.
    pub fn table_topic(&self, db: &str, table: &str) -> String {
        self.encoding.topic_naming.data_change_topic(&self.topic_prefix, db, table)
    }

    pub fn transaction_topic(&self) -> String {
        self.encoding.topic_naming.transaction_topic(&self.topic_prefix, &self.transaction_topic_suffix)
    }

    pub fn heartbeat_topic(&self) -> String {
        match &self.heartbeat_topic_name {
            Some(name) => name.clone(),
            None => self.encoding.topic_naming.heartbeat_topic(&self.heartbeat_topic_prefix, &self.topic_prefix),
        }
    }

    /// The `snapshot.select.statement.overrides` statement of a table.
    pub fn snapshot_select_override(&self, db: &str, table: &str) -> Option<&str> {
        self.snapshot_select_overrides.get(&format!("{db}.{table}")).map(String::as_str)
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
        assert_eq!(c.snapshot_max_threads, 1);
        assert_eq!(with(&[("snapshot.max.threads", "4")]).unwrap().snapshot_max_threads, 4);
        assert_eq!(c.table_topic("inventory", "customers"), "dbserver1.inventory.customers");
        assert_eq!(c.heartbeat_topic(), "__debezium-heartbeat.dbserver1");
        assert_eq!(c.transaction_topic(), "dbserver1.transaction");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn several_hosts_with_or_without_ports() {
        let c = with(&[("database.hostname", "db1:3307, db2"), ("database.port", "3310")]).unwrap();
        assert_eq!(c.hosts, [("db1".to_string(), 3307), ("db2".to_string(), 3310)]);
        assert_eq!((c.hostname.as_str(), c.port), ("db1", 3307));
        let second = c.for_host(&c.hosts[1]);
        assert_eq!((second.hostname.as_str(), second.port), ("db2", 3310));
        assert_eq!(with(&[]).unwrap().hosts, [("db".to_string(), 3306)]);
        for bad in ["db1,", "db1:x", "db1:0", "db1,db1:3306", "a b"] {
            let err = with(&[("database.hostname", bad)]).unwrap_err();
            assert_eq!(err.property, "database.hostname", "{bad}: {err}");
        }
    }

    #[test]
    fn topic_naming_strategy_and_delimiter() {
        let c = with(&[("topic.delimiter", "_")]).unwrap();
        assert_eq!(c.table_topic("inventory", "customers"), "dbserver1_inventory_customers");
        assert_eq!(c.heartbeat_topic(), "__debezium-heartbeat_dbserver1");
        assert_eq!(c.transaction_topic(), "dbserver1_transaction");
        let c = with(&[("topic.naming.strategy", "io.debezium.schema.SchemaTopicNamingStrategy")]).unwrap();
        assert_eq!(c.table_topic("inventory", "customers"), "dbserver1.customers");
        assert_eq!(with(&[("topic.heartbeat.name", "heartbeats")]).unwrap().heartbeat_topic(), "heartbeats");
        for (key, value) in [("schema.name.adjustment.mode", "avro_unicode"), ("field.name.adjustment.mode", "AVRO"), ("field.name.adjustment.mode", "none")] {
            assert!(with(&[(key, value)]).is_ok(), "{key}={value}");
        }
        let c = with(&[("schema.name.adjustment.mode", "avro"), ("field.name.adjustment.mode", "avro_unicode")]).unwrap();
        assert_eq!(c.encoding.schema_name_adjustment, SchemaNameAdjustmentMode::Avro);
        assert_eq!(c.encoding.field_name_adjustment, FieldNameAdjustmentMode::AvroUnicode);
        for key in ["schema.name.adjustment.mode", "field.name.adjustment.mode"] {
            let err = with(&[(key, "unicode")]).unwrap_err();
            assert_eq!(err.property, key);
            assert!(err.reason.contains("none, avro, avro_unicode"), "{err}");
        }
        for (key, value) in [("topic.naming.strategy", "io.debezium.schema.DefaultRegexTopicNamingStrategy"), ("topic.delimiter", "/")] {
            assert_eq!(with(&[(key, value)]).unwrap_err().property, key);
        }
    }

    #[test]
    fn initial_statements_split_as_debezium_does() {
        assert_eq!(split_statements("SET a=1; SET b='x;;y' ;;; ;SET c=2;"), ["SET a=1", "SET b='x;y' ;", "SET c=2"]);
        assert_eq!(split_statements(";;"), [";"]);
        assert!(split_statements(" ; ").is_empty());
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
    fn gtid_source_filters_match_the_whole_source() {
        // MariaDB sources are <domain_id>-<server_id>.
        let c = with(&[("gtid.source.includes", "0-.*, 5-1")]).unwrap();
        assert!(c.emits_dml_of("0-1") && c.emits_dml_of("0-12") && c.emits_dml_of("5-1"));
        assert!(!c.emits_dml_of("7-1") && !c.emits_dml_of("5-10") && !c.emits_dml_of("10-1"));
        let c = with(&[("gtid.source.excludes", "7-.*")]).unwrap();
        assert!(c.emits_dml_of("0-1") && !c.emits_dml_of("7-1") && c.emits_dml_of("17-1"));
        // MySQL sources are server UUIDs.
        let c = with(&[("gtid.source.includes", "3e11fa47-71ca-11e1-9e33-c80aa9429562")]).unwrap();
        assert!(c.emits_dml_of("3e11fa47-71ca-11e1-9e33-c80aa9429562"));
        assert!(!c.emits_dml_of("4e11fa47-71ca-11e1-9e33-c80aa9429562"));
        // filter.dml.events=false: nothing is filtered from the stream.
        let c = with(&[("gtid.source.excludes", "7-.*"), ("gtid.source.filter.dml.events", "false")]).unwrap();
        assert!(c.emits_dml_of("7-1"));
        // No filter: every source.
        let c = with(&[]).unwrap();
        assert!(c.gtid_source_filter_dml_events && c.emits_dml_of("7-1"));
    }

    #[test]
    fn gtid_source_filters_are_refused_at_create_when_invalid() {
        let both = with(&[("gtid.source.includes", "0-.*"), ("gtid.source.excludes", "7-.*")]).unwrap_err();
        assert_eq!(both.property, "gtid.source.excludes");
        assert!(both.to_string().contains("gtid.source.includes"), "{both}");
        let bad = with(&[("gtid.source.includes", "0-(")]).unwrap_err();
        assert_eq!(bad.property, "gtid.source.includes", "{bad}");
        let bad = with(&[("gtid.source.excludes", "[7")]).unwrap_err();
        assert_eq!(bad.property, "gtid.source.excludes", "{bad}");
        let bad = with(&[("gtid.source.filter.dml.events", "sometimes")]).unwrap_err();
        assert_eq!(bad.property, "gtid.source.filter.dml.events", "{bad}");
    }

    #[test]
    fn errors_name_the_property() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("database.ssl.mode", "sometimes")], "config.database.ssl.mode: \"sometimes\" is not an SSL mode"),
            (&[("tasks.max", "0")], "config.tasks.max"),
            (&[("snapshot.query.mode", "custom")], "config.snapshot.query.mode: \"custom\": only select_all"),
            (&[("table.ignore.builtin", "false")], "config.table.ignore.builtin"),
            (&[("decimal.handling.mode", "exact")], "config.decimal.handling.mode"),
            (&[("time.precision.mode", "nanos")], "config.time.precision.mode"),
            (&[("tombstones.on.delete", "yes")], "config.tombstones.on.delete"),
            (&[("database.port", "0")], "config.database.port"),
            (&[("max.batch.size", "100"), ("max.queue.size", "50")], "config.max.queue.size"),
            (&[("table.include.list", "a"), ("table.exclude.list", "b")], "config.table.exclude.list"),
            (&[("table.include.list", "(")], "config.table.include.list"),
            (&[("snapshot.mode", "sometimes")], "config.snapshot.mode"),
            (&[("snapshot.max.threads", "0")], "config.snapshot.max.threads: \"0\" must be an integer from 1"),
            (&[("snapshot.max.threads", "four")], "config.snapshot.max.threads"),
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
            "errors.retry.delay.initial.ms" => "errors.retry.delay.max.ms",
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
            key in proptest::sample::select(
                supported_property_names()
                    .chain(catalog::CATALOG.iter().filter(|e| e.answer == catalog::Answer::Implemented(catalog::Layer::Sink)).map(|e| e.name))
                    .collect::<Vec<_>>()
            ),
            value in value(),
        ) {
            let mut props = base();
            props.insert(key.to_string(), value.clone());
            if let Err(e) = MySqlSourceConfig::from_properties(&props) {
                // A list may name the property it lacks beneath itself
                // (snapshot.select.statement.overrides.<db>.<table>).
                prop_assert!(
                    e.property == key || partner(key) == Some(e.property.as_str()) || e.property.starts_with(&format!("{key}.")),
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
                prop_oneof![
                    proptest::sample::select(supported_property_names().collect::<Vec<_>>()).prop_map(str::to_string),
                    any::<String>()
                ],
                value(),
                0..8,
            ),
        ) {
            // A refusal names a property that is there, or a required one
            // that is missing.
            const REQUIRED: &[&str] =
                &["connector.class", "database.hostname", "database.user", "database.server.id", "topic.prefix"];
            if let Err(e) = MySqlSourceConfig::from_properties(&props) {
                // (or one a present list needs: snapshot.select.statement.overrides.<db>.<table>)
                let needed_by_a_list = props.keys().any(|k| e.property.starts_with(&format!("{k}.")));
                prop_assert!(props.contains_key(&e.property) || REQUIRED.contains(&e.property.as_str()) || needed_by_a_list, "{e}");
            }
        }
    }
}
