//! The property catalog: every property a Debezium MySQL connector config
//! or a Kafka Connect connector config can carry, with raftcdc's answer to
//! it, in one table ([`CATALOG`]).
//!
//! Each entry is one of:
//! - **implemented**: the layer named in the entry ([`Layer`]) parses and
//!   validates the value (the source's own parsing stays in
//!   `source::mysql::config`, the sink's in `sink::kafka::config`); a value
//!   that layer cannot honour is refused there, naming the property;
//! - **accepted, no effect**: honouring it would not change a record
//!   raftcdc writes (e.g. `tasks.max`: a binlog reader is one task), so it
//!   is accepted and shown as a warning in `connector status`, with the
//!   reason;
//! - **refused**: honouring it would change the output in a way raftcdc
//!   cannot; the error says why and what to use instead.
//!
//! A name that matches no entry is refused as unknown, so a typo never
//! falls back to a default.
//!
//! # Why one table, here
//! The validator ([`check`], called by `ConnectorConfig::parse` before any
//! layer parses), the warnings shown in status ([`warnings`]), the REST
//! API's plugin config definitions and the generated `docs/properties.md`
//! ([`render_markdown`]) all read this table, so the documentation cannot
//! drift from what create accepts. The table is owned by the connector
//! front door because the *answer* to a property (is it ours, which layer,
//! why not) is a front-door decision; what an implemented value *means*
//! stays with the layer that implements it. This module is a leaf (it
//! imports nothing from the crate), like [`super::properties`], so the
//! source and the sink may read it without a cycle between layers.
//!
//! # Matching
//! An entry whose name ends in `.` is a prefix (matched with
//! [`super::properties::matches_entry`], the one prefix rule); any other is
//! a whole name. A whole name wins over a prefix, and a longer prefix over
//! a shorter one, so `database.ssl.mode` (implemented) sits under
//! `database.ssl.` (refused: unknown TLS setting), which sits under
//! `database.` (the JDBC driver pass-through, no effect).
use std::collections::BTreeMap;

use super::properties::matches_entry;

/// The layer that implements a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The connector front door itself.
    Connector,
    /// The MySQL/MariaDB source (`source::mysql::config`).
    Source,
    /// The Kafka sink (`sink::kafka::config`).
    Sink,
}

/// raftcdc's answer to a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Implemented(Layer),
    /// Accepted, has no effect, for this reason.
    NoEffect(&'static str),
    /// Refused: why, and what to use instead.
    Refused { why: &'static str, instead: &'static str },
}

/// One property (or prefix) and its answer.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// A whole name, or a prefix ending in `.`.
    pub name: &'static str,
    pub answer: Answer,
    /// The default value as Debezium documents it (empty: none).
    pub default: &'static str,
    /// What the property does, in one line.
    pub doc: &'static str,
}

impl Entry {
    pub fn is_prefix(&self) -> bool {
        self.name.ends_with('.')
    }

    /// The name as the docs show it: prefixes as `prefix.*`.
    pub fn shown_name(&self) -> String {
        if self.is_prefix() {
            format!("{}*", self.name)
        } else {
            self.name.to_string()
        }
    }
}

/// A property the catalog refuses, or does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub property: String,
    pub reason: String,
}

const fn implemented(layer: Layer, name: &'static str, default: &'static str, doc: &'static str) -> Entry {
    Entry {
        name,
        answer: Answer::Implemented(layer),
        default,
        doc,
    }
}

const fn source(name: &'static str, default: &'static str, doc: &'static str) -> Entry {
    implemented(Layer::Source, name, default, doc)
}

const fn connector(name: &'static str, default: &'static str, doc: &'static str) -> Entry {
    implemented(Layer::Connector, name, default, doc)
}

const fn sink(name: &'static str, default: &'static str, doc: &'static str) -> Entry {
    implemented(Layer::Sink, name, default, doc)
}

const fn no_effect(name: &'static str, default: &'static str, doc: &'static str, why: &'static str) -> Entry {
    Entry {
        name,
        answer: Answer::NoEffect(why),
        default,
        doc,
    }
}

const fn refused(
    name: &'static str,
    default: &'static str,
    doc: &'static str,
    why: &'static str,
    instead: &'static str,
) -> Entry {
    Entry {
        name,
        answer: Answer::Refused { why, instead },
        default,
        doc,
    }
}

const JDBC: &str = "raftcdc speaks the MySQL protocol itself; there is no JDBC driver to configure";
const HISTORY: &str = "schema history lives in the replicated Raft state, not in a Kafka topic or file";
const JAVA_CLASS: &str = "it names a Java class, and raftcdc runs no Java code";
const SNAPSHOT_LOCKS: &str = "MariaDB snapshots take no lock (with snapshot.max.threads > 1, FLUSH TABLES WITH READ LOCK briefly if the connections' views keep differing under load); MySQL holds FLUSH TABLES WITH READ LOCK only while the view opens";
const SNAPSHOT_MODE_VALUE: &str = "it is read only with a snapshot.mode that raftcdc refuses (custom, configuration_based)";
const SIGNALS: &str = "only the source (signal table) and kafka signal channels are read";
const SIGNALS_INSTEAD: &str = "signal.enabled.channels=source,kafka, or `raftcdc connector snapshot`";

/// Every property: Debezium 3.x's MySQL connector documentation (required,
/// advanced, schema history, signals, notifications, pass-through), the
/// names older Debezium releases used, Kafka Connect's connector-level
/// keys, and raftcdc's own sink keys. In the order the docs show them.
pub const CATALOG: &[Entry] = &[
    // ---- Kafka Connect connector keys ----
    no_effect("name", "", "Connector name (Kafka Connect).", "the connector name is the payload's `name` (or the CLI argument)"),
    source("connector.class", "", "io.debezium.connector.mysql.MySqlConnector or io.debezium.connector.mariadb.MariaDbConnector; decides `source.connector` and the schema names."),
    no_effect("tasks.max", "1", "Maximum tasks (a positive integer).", "a binlog reader is always one task (as in Debezium), whatever the value"),
    no_effect("tasks.max.enforce", "true", "Kafka Connect's check that a connector stays within tasks.max.", "a MySQL connector always runs exactly one task"),
    source("key.converter", "org.apache.kafka.connect.json.JsonConverter", "Key converter; only JsonConverter (raftcdc writes its format) is accepted."),
    source("value.converter", "org.apache.kafka.connect.json.JsonConverter", "Value converter; only JsonConverter is accepted."),
    source("key.converter.schemas.enable", "true", "Wrap keys as JsonConverter's {\"schema\",\"payload\"}."),
    source("value.converter.schemas.enable", "true", "Wrap values as JsonConverter's {\"schema\",\"payload\"}."),
    source("key.converter.decimal.format", "BASE64", "JsonConverter's decimal encoding; only BASE64 is accepted (for other forms use decimal.handling.mode=double or string)."),
    source("value.converter.decimal.format", "BASE64", "JsonConverter's decimal encoding; only BASE64 is accepted (for other forms use decimal.handling.mode=double or string)."),
    source("key.converter.replace.null.with.default", "true", "JsonConverter: write a field's default instead of null; only true is accepted."),
    source("value.converter.replace.null.with.default", "true", "JsonConverter: write a field's default instead of null; only true is accepted."),
    no_effect("key.converter.", "", "Other key converter settings (e.g. schema.registry.url, schemas.cache.size).", "they do not change JsonConverter's output"),
    no_effect("value.converter.", "", "Other value converter settings (e.g. schema.registry.url, schemas.cache.size).", "they do not change JsonConverter's output"),
    no_effect("header.converter", "org.apache.kafka.connect.storage.SimpleHeaderConverter", "Header converter.", "headers are always written as SimpleHeaderConverter writes them"),
    no_effect("header.converter.", "", "Header converter settings.", "headers are always written as SimpleHeaderConverter writes them"),
    no_effect("config.action.reload", "restart", "What Kafka Connect does when externalised config values change.", "configs are stored in Raft and change only with `connector update`"),
    no_effect("errors.tolerance", "none", "Kafka Connect: tolerate converter and transform failures.", "raftcdc's JSON conversion has no per-record failures to tolerate"),
    no_effect("errors.retry.timeout", "0", "Kafka Connect: how long to retry a failed conversion or transform.", "raftcdc's JSON conversion has no per-record failures to retry"),
    no_effect("errors.log.", "", "Kafka Connect: log conversion and transform failures (errors.log.enable, errors.log.include.messages).", "errors are reported in the connector status and the node log"),
    no_effect("errors.deadletterqueue.", "", "Kafka Connect's dead letter queue.", "dead letter queues exist for sink connectors only"),
    source("errors.max.retries", "-1", "Retries of a transient source error (database connection, server restart) before the connector fails: -1 without limit, 0 none."),
    source("errors.retry.delay.initial.ms", "300", "First delay before retrying a transient source error, doubling up to errors.retry.delay.max.ms."),
    source("errors.retry.delay.max.ms", "10000", "Longest delay between retries of a transient source error."),
    no_effect("exactly.once.support", "requested", "KIP-618: whether the connector must support exactly-once delivery.", "delivery is always exactly-once unless delivery.guarantee says otherwise"),
    no_effect("transaction.boundary", "poll", "KIP-618: where Kafka transactions begin and end.", "raftcdc's Kafka transactions follow source transactions and max.batch.size, and grow behind a backlog up to half of max.queue.size"),
    no_effect("transaction.boundary.interval.ms", "", "KIP-618: interval for transaction.boundary=interval.", "raftcdc's Kafka transactions follow source transactions and max.batch.size, and grow behind a backlog up to half of max.queue.size"),
    no_effect("offsets.storage.topic", "", "KIP-618: the connector's own offsets topic.", "offsets live in the Raft state and in raftcdc-progress-<cluster>-<connector>"),
    sink("producer.override.", "", "librdkafka producer settings (checked by librdkafka at create; settings exactly-once depends on are refused). The producer holds at most queue.buffering.max.kbytes of unacknowledged records: 16 MiB by default (librdkafka's own default is 1 GiB), at least message.max.bytes; Kafka Connect's buffer.memory (bytes) is accepted in its place."),
    no_effect("consumer.override.", "", "Consumer client settings.", "a source connector runs no consumer; the progress reader takes its connection settings from producer.override.*"),
    no_effect("admin.override.", "", "Admin client settings.", "the sink's admin client takes its connection settings from producer.override.*"),
    sink("topic.creation.", "", "Kafka Connect topic creation: topic.creation.enable and topic.creation.default.* (groups are refused by the sink)."),
    sink("delivery.guarantee", "exactly_once", "raftcdc: exactly_once (transactions) or at_least_once."),
    no_effect("kafka.", "", "Kafka cluster settings in a connector config.", "the Kafka cluster is the node's [kafka] bootstrap_servers"),
    connector("transforms", "", "Single message transforms, in order (aliases); every transform's class and options are checked at create (see README, Transforms)."),
    connector("transforms.", "", "A transform's type, options, predicate and negate (transforms.<alias>.<option>)."),
    connector("predicates", "", "Predicates for single message transforms (aliases)."),
    connector("predicates.", "", "A predicate's type and options (predicates.<alias>.<option>)."),
    // ---- Debezium: required and common ----
    source("database.hostname", "", "Host name or IP address of the MySQL/MariaDB server."),
    source("database.port", "3306", "Port of the server."),
    source("database.user", "", "User to connect as."),
    source("database.password", "", "Password (redacted everywhere)."),
    source("database.server.id", "", "Replica server id, unique among the server's replicas."),
    source("topic.prefix", "", "Logical name and topic prefix (ASCII letters, digits, '.', '_', '-')."),
    source("database.include.list", "", "Anchored regexes of databases to capture."),
    source("database.exclude.list", "", "Anchored regexes of databases not to capture."),
    source("table.include.list", "", "Anchored regexes of db.table to capture."),
    source("table.exclude.list", "", "Anchored regexes of db.table not to capture."),
    source("column.include.list", "", "Anchored regexes of db.table.column to include in values."),
    source("column.exclude.list", "", "Anchored regexes of db.table.column to leave out of values."),
    source("table.ignore.builtin", "true", "Ignore system tables; only true is accepted (raftcdc never captures mysql, sys, information_schema, performance_schema)."),
    no_effect("schema.include.list", "", "Schemas to capture (connectors with schemas).", "MySQL has no schemas inside databases (Debezium ignores it too); use database.include.list"),
    no_effect("schema.exclude.list", "", "Schemas not to capture (connectors with schemas).", "MySQL has no schemas inside databases (Debezium ignores it too); use database.exclude.list"),
    source("skip.messages.without.change", "false", "Emit no update whose captured columns (after column.include.list/column.exclude.list) are unchanged."),
    source("column.truncate.", "", "column.truncate.to.<N>.chars: cut matching columns' values (db.table.column regexes) to N characters, as Debezium does."),
    source("column.mask.", "", "column.mask.with.<N>.chars (N asterisks) and column.mask.hash[.v2].<ALGORITHM>.with.salt.<SALT> (Debezium's salted hex pseudonyms; MD5, SHA-1, SHA-2) for matching character columns."),
    source("column.propagate.source.type", "", "Regexes over db.table.column: add Debezium's __debezium.source.column.type/length/scale/comment/name schema parameters (values unchanged)."),
    source("datatype.propagate.source.type", "", "Regexes over db.table.TYPE: add Debezium's __debezium.source.column.type/length/scale/comment/name schema parameters (values unchanged)."),
    source("time.precision.mode", "adaptive_time_microseconds", "adaptive_time_microseconds or connect."),
    source("decimal.handling.mode", "precise", "precise, double or string."),
    source("bigint.unsigned.handling.mode", "long", "long or precise."),
    source("binary.handling.mode", "bytes", "bytes, base64, base64-url-safe or hex."),
    source("include.schema.changes", "true", "Emit schema change events on the <topic.prefix> topic."),
    source("include.schema.comments", "false", "Write table and column comments (from the DDL) into schema change events' tableChanges. Data records' field schemas carry no comment docs either way."),
    source("include.query", "false", "Put the SQL statement into source.query (needs binlog_rows_query_log_events)."),
    source("event.deserialization.failure.handling.mode", "fail", "Deprecated alias of event.processing.failure.handling.mode, with the same values; a config giving both with different values is refused."),
    no_effect("inconsistent.schema.handling.mode", "fail", "What to do with an event of a table missing from the schema history.", "rows decode with the binlog's own table metadata, so a table is unknown only when its table map is missing or unreadable, which event.processing.failure.handling.mode handles"),
    source("max.batch.size", "2048", "Largest batch of events."),
    source("max.queue.size", "8192", "Largest number of queued events; larger than max.batch.size."),
    source("max.queue.size.in.bytes", "33554432", "Largest volume of records, in bytes, queued and pending in the owner (with max.queue.size records); 0 = no byte bound. Debezium's default is 0; raftcdc's is 32 MiB, which keeps an owner's memory flat with wide rows. A batch (of a snapshot, or a part of a large binlog transaction) holds at most about an eighth of it. A record larger than the bound passes alone."),
    source("poll.interval.ms", "500", "How long to wait for new events before a batch."),
    source("connect.timeout.ms", "30000", "How long to wait for a connection."),
    source("gtid.source.includes", "", "Anchored regexes of GTID sources whose transactions' data changes are emitted (MariaDB: <domain_id>-<server_id>, e.g. 0-1; MySQL: the source UUID); DDL of every source is still processed."),
    source("gtid.source.excludes", "", "Anchored regexes of GTID sources whose transactions' data changes are not emitted (not with gtid.source.includes)."),
    source("gtid.source.filter.dml.events", "true", "Apply gtid.source.includes/excludes to data change events; false emits every transaction's changes."),
    no_effect("gtid.ignore.on.recovery", "true", "Ignore GTIDs when recovering schema history.", HISTORY),
    source("tombstones.on.delete", "true", "Follow a delete with a tombstone."),
    source("message.key.columns", "", "db.table regex:col1,col2;... custom message keys."),
    source("schema.name.adjustment.mode", "none", "Make record schema names (<topic>.Key, .Value, .Envelope) valid Avro names: none, avro (invalid characters become _, a leading digit keeps itself after the _) or avro_unicode (they become _uXXXX, _ included)."),
    source("field.name.adjustment.mode", "none", "Make field (column) names valid Avro names, in keys and values: none, avro (invalid characters, . included, become _) or avro_unicode (they become _uXXXX, _ included)."),
    no_effect("database.jdbc.driver", "com.mysql.cj.jdbc.Driver", "JDBC driver class.", JDBC),
    no_effect("database.protocol", "jdbc:mysql", "JDBC protocol.", JDBC),
    // ---- Debezium: advanced ----
    no_effect("binlog.buffer.size", "0", "Look-ahead buffer for transactions that may roll back.", "raftcdc reads each binlog group whole and drops rolled-back rows without re-reading"),
    no_effect("binlog.net.read.timeout", "0", "Session net_read_timeout of the binlog connection.", "raftcdc keeps the server's timeouts and reconnects after a dropped binlog connection"),
    no_effect("binlog.net.write.timeout", "0", "Session net_write_timeout of the binlog connection.", "raftcdc keeps the server's timeouts and reconnects after a dropped binlog connection"),
    no_effect("connect.keep.alive", "true", "Keep-alive thread for the binlog connection.", "raftcdc reconnects by itself after a dropped connection"),
    no_effect("connect.keep.alive.interval.ms", "60000", "Keep-alive interval.", "raftcdc reconnects by itself after a dropped connection"),
    refused("converters", "", "Custom converters (and their <name>.type settings).", JAVA_CLASS, "decimal.handling.mode, time.precision.mode, bigint.unsigned.handling.mode, binary.handling.mode"),
    no_effect("custom.metric.tags", "", "Extra tags on the connector's JMX metrics.", "raftcdc's Prometheus metrics are labelled by connector name"),
    no_effect("custom.sanitize.pattern", "", "Pattern for sanitizing metric tag values.", "raftcdc's Prometheus metrics are labelled by connector name"),
    source("database.initial.statements", "", "SQL statements (;-separated, ;; for a literal ;) run on every connection raftcdc opens for queries and snapshots, not on the binlog reader's."),
    no_effect("database.query.timeout.ms", "600000", "JDBC query timeout.", JDBC),
    source("database.ssl.mode", "disabled", "disabled, preferred, required, verify_ca or verify_identity (raftcdc's default is disabled; Debezium's is preferred)."),
    source("database.ssl.truststore", "", "PEM bundle of CA certificates (Debezium: a Java trust store)."),
    source("database.ssl.keystore", "", "PEM file with the client certificate and unencrypted key (Debezium: a Java key store)."),
    no_effect("database.ssl.truststore.password", "", "Trust store password.", "database.ssl.truststore is a PEM file, which has no store password"),
    no_effect("database.ssl.keystore.password", "", "Key store password.", "database.ssl.keystore is a PEM file with an unencrypted key, which has no store password"),
    refused("database.ssl.", "", "Other TLS settings.", "raftcdc takes PEM files, not Java store types or JDBC TLS options", "database.ssl.mode, database.ssl.truststore, database.ssl.keystore"),
    no_effect("ddl.parser.type", "antlr", "DDL parser implementation.", "raftcdc does not parse DDL; schemas come from the binlog's table metadata"),
    no_effect("enable.time.adjuster", "true", "Convert two-digit years to four digits.", "the server stores YEAR values with four digits, and the binlog carries them so"),
    no_effect("event.converting.failure.handling.mode", "warn", "What to do when a column value cannot be converted.", "values Debezium converts to null are null here too; a value it cannot represent makes its rows event fail, which event.processing.failure.handling.mode handles"),
    source("event.processing.failure.handling.mode", "fail", "What to do with a binlog rows event that cannot be processed (undecodable rows, a value Debezium cannot represent such as the date 2021-02-30, an unknown table): fail stops the connector naming the event's position and table; warn logs it and skips the event (all its rows); skip (or ignore) skips it silently. Skipped events are counted in connector status."),
    source("heartbeat.action.query", "", "A statement run on the source with every heartbeat (needs heartbeat.interval.ms); a refused statement stops the connector."),
    source("heartbeat.interval.ms", "0", "Interval of heartbeat records (0: none)."),
    source("heartbeat.topics.prefix", "__debezium-heartbeat", "Old name of topic.heartbeat.prefix (used when that is not set)."),
    no_effect("incremental.snapshot.allow.schema.changes", "false", "Detect schema changes during an incremental snapshot.", "every row decodes with the schema the binlog gives it, so chunks survive schema changes"),
    no_effect("incremental.snapshot.chunk.size", "1024", "Rows per incremental snapshot chunk.", "incremental chunks are always 1024 rows (Debezium's default)"),
    no_effect("incremental.snapshot.watermarking.strategy", "insert_insert", "How watermarks are written.", "raftcdc's incremental snapshot writes no watermarks; it bounds chunks by binlog positions"),
    no_effect("min.row.count.to.stream.results", "1000", "Row count above which a snapshot query streams its result.", "the snapshot always streams its reads: chunks of snapshot.fetch.size rows by key"),
    no_effect("notification.", "", "Notifications (notification.enabled.channels, notification.sink.topic.name).", "snapshot progress is reported in connector status and metrics, not as notifications"),
    no_effect("poll.dispatch.interval.ms", "", "How often the queue dispatches.", "batches are handed over as soon as they are full or poll.interval.ms passes"),
    source("provide.transaction.metadata", "false", "BEGIN/END records and the transaction block."),
    no_effect("read.only", "false", "Incremental snapshots without writing to the signal table.", "raftcdc never writes to the source database"),
    source("signal.data.collection", "", "The signal table (db.table, columns id, type, data): inserted rows are signals, read whether or not the include lists capture it."),
    connector("signal.enabled.channels", "source", "Signal channels to read: source and/or kafka."),
    connector("signal.kafka.topic", "<topic.prefix>-signal", "The Kafka signal channel's topic (partition 0 is read); records keyed by topic.prefix are signals."),
    connector("signal.kafka.bootstrap.servers", "", "Brokers of the signal topic; empty: the node's [kafka] bootstrap_servers (with the sink's TLS/SASL settings)."),
    connector("signal.kafka.groupId", "kafka-signal", "The signal consumer's group.id (no offsets are committed: the position is kept in the replicated state)."),
    connector("signal.kafka.poll.timeout.ms", "100", "How long one poll of the signal topic waits for records."),
    connector("signal.poll.interval.ms", "5000", "How often the Kafka signal channel polls its topic."),
    connector("signal.consumer.", "", "librdkafka consumer properties for the signal topic (security settings, say); group.id, bootstrap.servers and offset handling are raftcdc's."),
    refused("signal.", "", "Other signal properties (signal.file, JMX).", SIGNALS, SIGNALS_INSTEAD),
    source("skipped.operations", "t", "Operations not to emit: c, u, d, t or none."),
    no_effect("snapshot.delay.ms", "0", "Wait before a snapshot starts.", "a snapshot starts when the connector's owner is elected; its output is the same"),
    source("snapshot.fetch.size", "10000", "Rows per snapshot chunk (one streamed read; its rows go out in batches of at most max.batch.size rows and an eighth of max.queue.size.in.bytes, each one committed cursor step)."),
    source("snapshot.include.collection.list", "", "Anchored regexes of db.table: the captured tables whose rows the initial snapshot reads (default: all); every captured table's schema is still recorded and its changes streamed."),
    no_effect("snapshot.lock.timeout.ms", "10000", "How long to wait for snapshot locks.", SNAPSHOT_LOCKS),
    no_effect("snapshot.locking.mode", "minimal", "Locks held during the snapshot.", SNAPSHOT_LOCKS),
    no_effect("snapshot.locking.mode.custom.name", "", "Custom locking implementation.", JAVA_CLASS),
    source("snapshot.max.threads", "1", "Tables the initial snapshot reads at the same time (an integer from 1 to 256), each over its own database connection, all in one consistent view; records of one table stay in key order, tables interleave."),
    no_effect("snapshot.max.threads.multiplier", "1", "Chunks per table read in parallel.", "each table is read by one connection in chunk-key order (its cursor keeps one last key per table, and its records stay in key order); snapshot.max.threads reads tables in parallel"),
    no_effect("legacy.snapshot.max.threads", "", "Old parallel snapshot implementation switch.", "raftcdc has one parallel snapshot, set by snapshot.max.threads"),
    no_effect("internal.legacy.snapshot.max.threads", "", "Internal parallel snapshot switch.", "raftcdc has one parallel snapshot, set by snapshot.max.threads"),
    source("snapshot.mode", "initial", "initial, initial_only, no_data (schema_only), when_needed, always, recovery (schema_only_recovery) or never."),
    no_effect("snapshot.mode.configuration.based.", "", "Settings of snapshot.mode=configuration_based.", SNAPSHOT_MODE_VALUE),
    no_effect("snapshot.mode.custom.name", "", "Custom snapshotter name.", SNAPSHOT_MODE_VALUE),
    source("snapshot.query.mode", "select_all", "How snapshot rows are read; only select_all is accepted."),
    no_effect("snapshot.query.mode.custom.name", "", "Custom snapshot query implementation.", "it is read only with snapshot.query.mode=custom, which raftcdc refuses"),
    source("snapshot.select.statement.overrides", "", "db.table list of tables the initial snapshot reads with their own SELECT (snapshot.select.statement.overrides.<db>.<table>); the statement must return the table's columns, and is read in key chunks like the table."),
    source("snapshot.select.statement.overrides.", "", "The SELECT for one listed table (e.g. SELECT * FROM db.t WHERE deleted = 0)."),
    no_effect("snapshot.tables.order.by.row.count", "disabled", "Order of tables in the initial snapshot.", "the order across tables does not change any topic's records"),
    no_effect("snapshot.scan.all.columns.force", "false", "Read all columns in the snapshot even if some are excluded.", "excluded columns are never in records either way"),
    source("source.struct.version", "v2", "Version of the source block; only v2 is accepted."),
    refused("sourceinfo.struct.maker", "", "Class that builds the source block.", JAVA_CLASS, "remove it: raftcdc writes Debezium's default source block"),
    no_effect("statistics.metrics.enabled", "false", "Extra statistics metrics.", "raftcdc's Prometheus metrics are always on"),
    no_effect("advanced.metrics.enable", "false", "Extra per-table metrics.", "raftcdc's Prometheus metrics are always on"),
    no_effect("streaming.delay.ms", "0", "Wait before streaming starts.", "streaming starts when the snapshot ends; its output is the same"),
    no_effect("topic.cache.size", "10000", "Size of the topic name cache.", "topic names are computed once per table schema"),
    source("topic.delimiter", ".", "Delimiter between the parts of topic names (ASCII letters, digits, '.', '_', '-')."),
    source("topic.heartbeat.prefix", "__debezium-heartbeat", "Heartbeat topic <prefix>.<topic.prefix>."),
    source("topic.heartbeat.name", "", "Full heartbeat topic name, instead of <topic.heartbeat.prefix>.<topic.prefix> (lets connectors share one)."),
    source("topic.naming.strategy", "io.debezium.schema.DefaultTopicNamingStrategy", "io.debezium.schema.DefaultTopicNamingStrategy (<prefix>.<db>.<table>) or io.debezium.schema.SchemaTopicNamingStrategy (<prefix>.<table> on MySQL, as in Debezium); other classes are refused."),
    source("topic.transaction", "transaction", "Transaction topic <topic.prefix>.<topic.transaction>."),
    no_effect("use.nongraceful.disconnect", "false", "Close the binlog connection without a graceful handshake.", "raftcdc closes its connections by itself"),
    no_effect("guardrail.collections.max", "0", "Fail when more tables than this are captured.", "raftcdc captures any number of tables"),
    no_effect("guardrail.collections.limit.action", "warn", "What the guardrail does.", "raftcdc captures any number of tables"),
    no_effect("database.server.id.offset", "10000", "Offset added to server ids of snapshot connections.", "raftcdc's snapshot connections are not replicas"),
    no_effect("connection.validation.timeout.ms", "60000", "Timeout of the connection check at start.", "the connection check uses connect.timeout.ms"),
    no_effect("custom.retriable.exception", "", "Regex of exception messages to retry.", "raftcdc classifies errors itself as transient or definite"),
    no_effect("executor.shutdown.timeout.ms", "4000", "Wait for executors at shutdown.", "raftcdc's tasks stop at the next batch boundary"),
    no_effect("retriable.restart.connector.wait.ms", "10000", "Wait before restarting after a retriable error.", "the delay is errors.retry.delay.initial.ms, doubling up to errors.retry.delay.max.ms"),
    no_effect("log.position.check.enable", "true", "Check at start that the offset's binlog still exists.", "raftcdc always checks; snapshot.mode=when_needed decides what follows"),
    no_effect("offset.activity.monitor.interval.ms", "", "Offset activity monitoring.", "offsets are committed with every batch and shown in connector status"),
    no_effect("query.fetch.size", "0", "JDBC fetch size.", JDBC),
    no_effect("queue.provider.type", "", "Implementation of the change event queue.", JAVA_CLASS),
    no_effect("multi.partition.mode", "false", "Multi-partition offsets.", "a MySQL connector has one partition"),
    no_effect("unavailable.value.placeholder", "__debezium_unavailable_value", "Placeholder for values not in the log.", "MySQL binlog_row_image=FULL carries every value"),
    no_effect("extended.headers.enabled", "true", "Debezium context headers on records.", "raftcdc writes no record headers"),
    refused("post.processors", "", "Post processors (e.g. column reselection).", JAVA_CLASS, "remove it"),
    refused("transaction.metadata.factory", "", "Class that builds transaction metadata.", JAVA_CLASS, "remove it: raftcdc writes Debezium's default transaction metadata"),
    no_effect("resolve.create.table.like.schema", "", "Resolve CREATE TABLE ... LIKE from schema history.", "schemas come from the binlog's table metadata"),
    no_effect("openlineage.integration.", "", "OpenLineage events.", "raftcdc emits no OpenLineage events"),
    // ---- raftcdc's own connector properties ----
    source("raftcdc.binlog.read.timeout.ms", "6000", "A binlog stream silent this long (the server is asked for heartbeats at a third of it) is a dead link: reconnect, or fail over to the next host."),
    source("raftcdc.binlog.retention.warn.bytes", "1073741824", "Warn (status, log, metric) when the binlog the server still holds before the connector's position falls under this many bytes."),
    source("raftcdc.binlog.retention.check.interval.ms", "60000", "How often the owner measures the binlog retention headroom."),
    connector("raftcdc.placement.node", "", "Pin the connector to this node id."),
    connector("raftcdc.placement.labels", "", "Run the connector only on nodes with these labels (key=value,key=value)."),
    // ---- Debezium: schema history ----
    no_effect("schema.history.internal", "io.debezium.storage.kafka.history.KafkaSchemaHistory", "Schema history implementation.", HISTORY),
    no_effect("schema.history.internal.", "", "Schema history settings (kafka.topic, kafka.bootstrap.servers, producer.*, consumer.*, store.only.captured.tables.ddl, ...).", HISTORY),
    // ---- Debezium: pass-through ----
    no_effect("driver.", "", "JDBC driver pass-through settings.", JDBC),
    no_effect("database.", "", "Other database.* settings: JDBC driver pass-through (e.g. database.connectionTimeZone).", JDBC),
    // ---- Names from older Debezium releases ----
    refused("database.server.name", "", "Debezium 1.x logical name.", "renamed in Debezium 2.0", "topic.prefix"),
    no_effect("database.history", "", "Debezium 1.x schema history implementation.", HISTORY),
    no_effect("database.history.", "", "Debezium 1.x schema history settings.", HISTORY),
    refused("database.whitelist", "", "Debezium 1.x name.", "renamed in Debezium 1.3, removed in 2.0", "database.include.list"),
    refused("database.blacklist", "", "Debezium 1.x name.", "renamed in Debezium 1.3, removed in 2.0", "database.exclude.list"),
    refused("table.whitelist", "", "Debezium 1.x name.", "renamed in Debezium 1.3, removed in 2.0", "table.include.list"),
    refused("table.blacklist", "", "Debezium 1.x name.", "renamed in Debezium 1.3, removed in 2.0", "table.exclude.list"),
    refused("column.whitelist", "", "Debezium 1.x name.", "renamed in Debezium 1.3, removed in 2.0", "column.include.list"),
    refused("column.blacklist", "", "Debezium 1.x name.", "renamed in Debezium 1.3, removed in 2.0", "column.exclude.list"),
    refused("snapshot.new.tables", "", "Debezium 1.x parallel snapshot of new tables.", "removed in Debezium 2.0", "`raftcdc connector snapshot` for new tables"),
];

/// The entry that answers `key`: a whole name first, then the longest
/// matching prefix.
pub fn lookup(key: &str) -> Option<&'static Entry> {
    CATALOG
        .iter()
        .find(|e| !e.is_prefix() && e.name == key)
        .or_else(|| {
            CATALOG
                .iter()
                .filter(|e| e.is_prefix() && matches_entry(key, e.name))
                .max_by_key(|e| e.name.len())
        })
}

/// Answers every property of `props`: the first refused one (by name
/// order), else the first unknown one, is an error. Refusals come first so
/// that a config carrying `converters` is told about `converters`, not
/// about the `<name>.type` key it brings along.
pub fn check(props: &BTreeMap<String, String>) -> Result<(), Refusal> {
    let mut unknown = None;
    for (key, value) in props {
        if is_config_provider_reference(value) {
            // The value itself is never echoed: it often names a secret.
            return Err(Refusal {
                property: key.clone(),
                reason: "is a Kafka Connect config provider reference (${provider:path:key}), which raftcdc does not \
                         resolve; put the value itself in the config (secrets are redacted wherever configs are shown)"
                    .into(),
            });
        }
        match lookup(key).map(|e| e.answer) {
            Some(Answer::Refused { why, instead }) => {
                return Err(Refusal {
                    property: key.clone(),
                    reason: format!("is not supported by raftcdc: {why}; instead: {instead}"),
                })
            }
            Some(_) => {}
            None => {
                unknown.get_or_insert_with(|| key.clone());
            }
        }
    }
    match unknown {
        Some(property) => Err(Refusal {
            property,
            reason: "unknown property (see docs/properties.md for every property raftcdc knows)".into(),
        }),
        None => Ok(()),
    }
}

/// Whether a value holds a Kafka Connect `ConfigProvider` reference such
/// as `${file:/secrets/mysql.properties:password}`: Kafka Connect replaces
/// it before the connector sees it; raftcdc would use it literally, so it
/// is refused at create instead of failing later.
fn is_config_provider_reference(value: &str) -> bool {
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let inner = &rest[start + 2..];
        let Some(end) = inner.find('}') else { return false };
        if let Some((provider, _)) = inner[..end].split_once(':') {
            if !provider.is_empty() && provider.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
                return true;
            }
        }
        rest = &inner[end..];
    }
    false
}

/// The properties of `props` accepted with no effect, and why.
pub fn warnings(props: &BTreeMap<String, String>) -> impl Iterator<Item = (&str, &'static str)> {
    props.keys().filter_map(|key| match lookup(key)?.answer {
        Answer::NoEffect(why) => Some((key.as_str(), why)),
        _ => None,
    })
}

/// Whether `key` is implemented by `layer`.
pub fn is_implemented_by(key: &str, layer: Layer) -> bool {
    matches!(lookup(key), Some(Entry { answer: Answer::Implemented(l), .. }) if *l == layer)
}

/// The generated `docs/properties.md`.
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# Connector properties\n\n\
         <!-- Generated from src/connector/catalog.rs; do not edit. Regenerate with\n\
         RAFTCDC_WRITE_PROPERTIES_DOC=1 cargo test -p raftcdc --lib properties_doc_is_current -->\n\n\
         Every property a Debezium MySQL connector config (Debezium 3.x) or a Kafka\n\
         Connect connector config can carry, and raftcdc's answer to it. This table\n\
         is generated from the table the validator itself uses, so it is what\n\
         `raftcdc connector create` does.\n\n\
         - **implemented**: the value is validated at create and honoured.\n\
         - **no effect**: accepted, changes nothing here (the reason is given); the\n\
           property is listed as a warning in `connector status`.\n\
         - **refused**: honouring it would change the output in a way raftcdc\n\
           cannot; create fails naming the property, with the reason and what to\n\
           use instead.\n\n\
         Values that are Kafka Connect config provider references\n\
         (`${file:...}`, `${secrets:...}`) are refused: raftcdc does not resolve\n\
         them. Any other name is refused as unknown. A name ending in `.*` covers every\n\
         property under it; a whole name wins over such a prefix, and a longer\n\
         prefix over a shorter one.\n\n\
         | Property | Status | Default | Meaning | Why / instead |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for e in CATALOG {
        let (status, note) = match e.answer {
            Answer::Implemented(Layer::Connector) => ("implemented".to_string(), String::new()),
            Answer::Implemented(Layer::Source) => ("implemented (source)".to_string(), String::new()),
            Answer::Implemented(Layer::Sink) => ("implemented (sink)".to_string(), String::new()),
            Answer::NoEffect(why) => ("no effect".to_string(), why.to_string()),
            Answer::Refused { why, instead } => ("**refused**".to_string(), format!("{why}; instead: {instead}")),
        };
        let default = if e.default.is_empty() { String::new() } else { format!("`{}`", e.default) };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            e.shown_name(),
            status,
            cell(&default),
            cell(e.doc),
            cell(&note)
        ));
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(keys: &[&str]) -> BTreeMap<String, String> {
        keys.iter().map(|k| (k.to_string(), "x".to_string())).collect()
    }

    #[test]
    fn names_are_unique_and_prefixes_end_in_a_dot() {
        let mut seen = std::collections::BTreeSet::new();
        for e in CATALOG {
            assert!(seen.insert(e.name), "{} twice", e.name);
            assert!(!e.name.is_empty() && !e.name.contains('*') && !e.name.contains(' '), "{}", e.name);
            assert!(!e.doc.is_empty(), "{} has no doc", e.name);
        }
    }

    #[test]
    fn whole_names_win_then_the_longest_prefix() {
        assert_eq!(lookup("database.ssl.mode").unwrap().name, "database.ssl.mode");
        assert_eq!(lookup("database.ssl.keystore.type").unwrap().name, "database.ssl.");
        assert_eq!(lookup("database.connectionTimeZone").unwrap().name, "database.");
        assert_eq!(lookup("value.converter.schemas.enable").unwrap().name, "value.converter.schemas.enable");
        assert_eq!(lookup("value.converter.schema.registry.url").unwrap().name, "value.converter.");
        assert_eq!(lookup("snapshot.select.statement.overrides.db.t").unwrap().name, "snapshot.select.statement.overrides.");
        assert!(lookup("bogus").is_none());
    }

    #[test]
    fn refusals_come_before_unknowns_and_say_what_to_use() {
        let e = check(&props(&["boolean.type", "converters"])).unwrap_err();
        assert_eq!(e.property, "converters");
        assert!(e.reason.contains("instead: decimal.handling.mode"), "{}", e.reason);
        let e = check(&props(&["aaa.bogus", "tasks.max"])).unwrap_err();
        assert_eq!(e.property, "aaa.bogus");
        assert!(e.reason.starts_with("unknown property"));
        assert_eq!(check(&props(&["database.server.name"])).unwrap_err().reason, "is not supported by raftcdc: renamed in Debezium 2.0; instead: topic.prefix");
    }

    #[test]
    fn config_provider_references_are_refused_without_echoing_them() {
        let mut p = props(&["database.hostname"]);
        p.insert("database.password".into(), "${file:/secrets/mysql.properties:password}".into());
        let e = check(&p).unwrap_err();
        assert_eq!(e.property, "database.password");
        assert!(!e.reason.contains("/secrets"), "{}", e.reason);
        assert!(is_config_provider_reference("jdbc:${secrets:ns/name:key}"));
        assert!(!is_config_provider_reference("pa${ss"));
        assert!(!is_config_provider_reference("${}:x}"));
        assert!(!is_config_provider_reference("a ${b c:d}"));
    }

    #[test]
    fn warnings_list_the_no_effect_properties() {
        let p = props(&["tasks.max.enforce", "database.hostname", "errors.tolerance", "producer.override.linger.ms"]);
        let warned: Vec<&str> = warnings(&p).map(|(k, _)| k).collect();
        assert_eq!(warned, ["errors.tolerance", "tasks.max.enforce"]);
    }
}

#[cfg(test)]
mod doc_tests {
    /// `docs/properties.md` is the rendered catalog. With
    /// `RAFTCDC_WRITE_PROPERTIES_DOC=1` the test rewrites it instead.
    #[test]
    fn properties_doc_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/properties.md");
        let rendered = super::render_markdown();
        if std::env::var_os("RAFTCDC_WRITE_PROPERTIES_DOC").is_some() {
            std::fs::write(&path, &rendered).expect("write docs/properties.md");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == rendered,
            "docs/properties.md is out of date; regenerate it with \
             RAFTCDC_WRITE_PROPERTIES_DOC=1 cargo test -p raftcdc --lib properties_doc_is_current"
        );
    }
}
