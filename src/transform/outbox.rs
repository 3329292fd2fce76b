//! Debezium's outbox event router, `io.debezium.transforms.outbox.EventRouter`:
//! each row inserted into an outbox table becomes one event on the topic
//! its `aggregatetype` (or `route.by.field`) names, keyed by its
//! `aggregateid`, its payload as the value.
//!
//! Owns [`OutboxConfig`] (every documented option, parsed and refused at
//! create) and [`EventRouter`].
//!
//! # Why the output is Debezium's
//! It follows `EventRouterDelegate.apply` of Debezium 3.x step for step
//! (and the golden test compares it with Debezium 3.6.3's own output):
//! 1. a tombstone is dropped; a value that is not a change event
//!    (heartbeats, schema changes) passes unchanged;
//! 2. a delete is dropped; an update is dropped with a warning or an
//!    error in the log, or fails the connector (`table.op.invalid.behavior`
//!    `warn`/`error`/`fatal`);
//! 3. from the `after` row: the record timestamp (the envelope's `ts_ms`,
//!    or `table.field.event.timestamp` as `io.debezium.time.Timestamp`,
//!    `MicroTimestamp` or `NanoTimestamp`), a header `id` with the event id
//!    and its column schema, the payload (expanded from JSON text with
//!    `table.expand.json.payload`, see [`super::json_payload`]);
//! 4. the value: the payload alone (its column's schema) when no
//!    additional field is placed in the envelope, else a struct named
//!    `<row schema namespace>.<routed value>.Value` (version from
//!    `table.field.event.schema.version`) with `payload` then each
//!    envelope field under its alias; `header` fields become headers with
//!    their column schema;
//! 5. a null or blank payload with `route.tombstone.on.empty.payload`
//!    gives a tombstone;
//! 6. the key is the `table.field.event.key` column with its schema, the
//!    topic the `route.by.field` value passed through `route.topic.regex`
//!    and `route.topic.replacement` (a whole-string match, as `RegexRouter`).
//!
//! # Where it differs, and why
//! - The value schema's name is computed for each record. Debezium caches
//!   it by payload schema (or by version), so the *first* routed value
//!   seen names every later record with an equal payload schema; that would
//!   make the output depend on what the owner read before a failover.
//! - `partition` placement is refused: raftcdc partitions by key only.
//! - The record timestamp is kept on the record for later transforms
//!   (`TimestampRouter`), but the Kafka record gets the producer's time.
//! - The tracing options are accepted and have no effect (raftcdc has no
//!   OpenTelemetry).
use super::config::{error, java_replacement, Options, RegexRoute, TransformConfigError};
use super::json_payload;
use super::record::{struct_fields, ConnectRecord, Data, Header, SchemaRef, Value};
use crate::envelope::schema::{ConnectSchema, SchemaType};
use std::sync::Arc;

/// `table.op.invalid.behavior`: what an update of the outbox table does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidOperation {
    Warn,
    Error,
    Fatal,
}

/// Where `table.fields.additional.placement` puts a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Header,
    Envelope,
}

/// One `table.fields.additional.placement` entry: `column:placement[:alias]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdditionalField {
    pub field: String,
    pub placement: Placement,
    pub alias: String,
}

/// The outbox router's options.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    pub invalid_operation: InvalidOperation,
    pub event_id: String,
    pub event_key: String,
    pub event_timestamp: Option<String>,
    pub payload: String,
    pub schema_version: Option<String>,
    pub additional: Vec<AdditionalField>,
    pub additional_error_on_missing: bool,
    pub route_by_field: String,
    pub route: RegexRoute,
    pub tombstone_on_empty_payload: bool,
    pub expand_json_payload: bool,
    pub null_as_bytes: bool,
}

fn non_empty(o: &mut Options<'_>, option: &str, default: &str) -> Result<String, TransformConfigError> {
    let value = o.string(option, default).trim().to_owned();
    if value.is_empty() {
        return Err(error(o.property(option), "must name a column"));
    }
    Ok(value)
}

fn optional_column(o: &mut Options<'_>, option: &str) -> Option<String> {
    o.take(option).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Parses EventRouter's options (Debezium's `EventRouterConfigDefinition`).
pub(super) fn parse(o: &mut Options<'_>) -> Result<OutboxConfig, TransformConfigError> {
    // The pre-2.0 name of the same option.
    let legacy = o.take("debezium.op.invalid.behavior").map(|v| ("debezium.op.invalid.behavior", v));
    let current = o.take("table.op.invalid.behavior").map(|v| ("table.op.invalid.behavior", v));
    let invalid_operation = match current.or(legacy) {
        None => InvalidOperation::Warn,
        Some((option, v)) => match v.trim().to_ascii_lowercase().as_str() {
            "warn" => InvalidOperation::Warn,
            "error" => InvalidOperation::Error,
            "fatal" => InvalidOperation::Fatal,
            other => return Err(error(o.property(option), format!("\"{other}\" is not one of warn, error, fatal"))),
        },
    };
    let event_id = non_empty(o, "table.field.event.id", "id")?;
    let event_key = non_empty(o, "table.field.event.key", "aggregateid")?;
    // Documented, read by nothing in Debezium 3.x.
    o.take("table.field.event.type");
    let event_timestamp = optional_column(o, "table.field.event.timestamp");
    let payload = non_empty(o, "table.field.event.payload", "payload")?;
    let schema_version = optional_column(o, "table.field.event.schema.version");
    let property = o.property("table.fields.additional.placement");
    let additional = o
        .list("table.fields.additional.placement")
        .iter()
        .map(|entry| {
            let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
            if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
                return Err(error(&property, format!("{entry:?} is not column:placement or column:placement:alias")));
            }
            let placement = match parts[1].to_ascii_lowercase().as_str() {
                "header" => Placement::Header,
                "envelope" => Placement::Envelope,
                "partition" => {
                    return Err(error(&property, format!("{entry:?}: partition placement is not supported: raftcdc partitions by the record key")))
                }
                other => return Err(error(&property, format!("{entry:?}: \"{other}\" is not one of header, envelope, partition"))),
            };
            Ok(AdditionalField {
                field: parts[0].to_owned(),
                placement,
                alias: parts.get(2).unwrap_or(&parts[0]).to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let additional_error_on_missing = o.boolean("table.fields.additional.error.on.missing", true)?;
    let route_by_field = non_empty(o, "route.by.field", "aggregatetype")?;
    let route = whole_string_route(o, "route.topic.regex", "(?<routedByValue>.*)", "route.topic.replacement", "outbox.event.${routedByValue}")?;
    let tombstone_on_empty_payload = o.boolean("route.tombstone.on.empty.payload", false)?;
    let expand_json_payload = o.boolean("table.expand.json.payload", false)?;
    let null_as_bytes = match o.take("table.json.payload.null.behavior").map(|v| v.trim().to_ascii_lowercase()) {
        None => false,
        Some(v) if v == "ignore" => false,
        Some(v) if v == "optional_bytes" => true,
        Some(v) => return Err(error(o.property("table.json.payload.null.behavior"), format!("\"{v}\" is not one of ignore, optional_bytes"))),
    };
    if let Some(mode) = o.take("field.name.adjustment.mode") {
        if !mode.trim().eq_ignore_ascii_case("none") {
            return Err(error(o.property("field.name.adjustment.mode"), format!("\"{mode}\": only none is supported")));
        }
    }
    o.take("tracing.span.context.field");
    o.take("tracing.operation.name");
    o.boolean("tracing.with.context.field.only", false)?;
    Ok(OutboxConfig {
        invalid_operation,
        event_id,
        event_key,
        event_timestamp,
        payload,
        schema_version,
        additional,
        additional_error_on_missing,
        route_by_field,
        route,
        tombstone_on_empty_payload,
        expand_json_payload,
        null_as_bytes,
    })
}

/// A `RegexRouter`-style route from two options with defaults: the regex
/// must match the whole input, the replacement is Java's syntax.
pub(super) fn whole_string_route(
    o: &mut Options<'_>,
    regex_option: &str,
    regex_default: &str,
    replacement_option: &str,
    replacement_default: &str,
) -> Result<RegexRoute, TransformConfigError> {
    let regex = o.string(regex_option, regex_default);
    let replacement = o.string(replacement_option, replacement_default);
    compile_route(o, regex_option, &regex, replacement_option, &replacement)
}

/// The route for a regex and a replacement the options gave.
pub(super) fn compile_route(o: &Options<'_>, regex_option: &str, regex: &str, replacement_option: &str, replacement: &str) -> Result<RegexRoute, TransformConfigError> {
    let regex = regex::Regex::new(&format!("^(?:{regex})$")).map_err(|e| error(o.property(regex_option), format!("invalid regular expression: {e}")))?;
    let replacement = java_replacement(&o.property(replacement_option), replacement)?;
    Ok(RegexRoute { regex, replacement })
}

/// A struct member by field name.
fn member<'v>(schema: &ConnectSchema, values: &'v [Value], name: &str) -> Option<(&'v Value, usize)> {
    let i = struct_fields(schema).iter().position(|(n, _)| n == name)?;
    values.get(i).map(|v| (v, i))
}

pub(super) struct EventRouter {
    config: OutboxConfig,
    only_headers: bool,
}

impl EventRouter {
    pub(super) fn new(config: OutboxConfig) -> EventRouter {
        let only_headers = !config.additional.iter().any(|f| f.placement == Placement::Envelope);
        EventRouter { config, only_headers }
    }

    pub(super) fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, String> {
        if record.value.is_null() {
            return Ok(None);
        }
        let Some(envelope) = record.value.schema.clone().filter(|s| s.name.as_deref().is_some_and(|n| n.ends_with(".Envelope"))) else {
            return Ok(Some(record));
        };
        let Value::Struct(members) = std::mem::replace(&mut record.value.value, Value::Null) else {
            return Err("the change event is not a struct".into());
        };
        let op = match member(&envelope, &members, "op") {
            Some((Value::String(op), _)) => op.clone(),
            _ => return Err("the change event has no op".into()),
        };
        let key_text = || format!("{:?}", record.key.value);
        match op.as_str() {
            "d" => return Ok(None),
            "u" => {
                match self.config.invalid_operation {
                    InvalidOperation::Warn => tracing::warn!(key = %key_text(), "unexpected update of the outbox table ignored"),
                    InvalidOperation::Error => tracing::error!(key = %key_text(), "unexpected update of the outbox table ignored"),
                    InvalidOperation::Fatal => return Err(format!("Unexpected update message received {}, fail.", key_text())),
                }
                return Ok(None);
            }
            _ => {}
        }
        let (after, after_index) = member(&envelope, &members, "after").ok_or("the change event has no after")?;
        let after_schema = struct_fields(&envelope)[after_index].1.clone();
        let Value::Struct(row) = after else {
            return Err(format!("Read Outbox Event: the `after` of an op `{op}` event is not a struct"));
        };
        let c = &self.config;
        let column = |name: &str| member(&after_schema, row, name).map(|(v, i)| (v, &struct_fields(&after_schema)[i].1));
        let (payload, payload_schema) = column(&c.payload).ok_or_else(|| format!("Unable to find payload field {} in event", c.payload))?;
        let mut payload = payload.clone();
        let mut payload_schema = Arc::new(payload_schema.clone());
        record.timestamp = Some(self.timestamp(&envelope, &members, &after_schema, row)?);
        let (event_id, id_schema) = column(&c.event_id).ok_or_else(|| format!("Unable to find event-id field {} in event", c.event_id))?;
        record.headers.push(Header { key: "id".into(), schema: Some(Arc::new(id_schema.clone())), value: event_id.clone() });
        if c.expand_json_payload {
            match &payload {
                Value::String(text) => match json_payload::expand(&c.payload, text, c.null_as_bytes)? {
                    Some(expanded) => {
                        payload_schema = Arc::new(expanded.schema);
                        payload = expanded.value;
                    }
                    None => tracing::warn!(key = %key_text(), "JSON expansion of the outbox payload failed; it is kept as a string"),
                },
                _ => tracing::warn!(key = %key_text(), "table.expand.json.payload is on but the outbox payload is not a string"),
            }
        }
        let routed = match column(&c.route_by_field) {
            Some((Value::String(s), _)) => s.clone(),
            Some((Value::Null, _)) => return Err(format!("route.by.field `{}` is null", c.route_by_field)),
            Some(_) => return Err(format!("route.by.field `{}` is not a string field", c.route_by_field)),
            None => return Err(format!("route.by.field `{}` is not a field of the outbox row", c.route_by_field)),
        };
        let mut envelope_fields = vec![("payload".to_owned(), (*payload_schema).clone())];
        let mut envelope_values = vec![payload.clone()];
        for field in &c.additional {
            let Some((value, schema)) = column(&field.field) else {
                if field.placement == Placement::Envelope || c.additional_error_on_missing {
                    return Err(format!("additional field `{}` is not a column of the outbox row", field.field));
                }
                continue;
            };
            match field.placement {
                Placement::Envelope => {
                    envelope_fields.push((field.alias.clone(), schema.clone()));
                    envelope_values.push(value.clone());
                }
                Placement::Header => {
                    record.headers.push(Header { key: field.alias.clone(), schema: Some(Arc::new(schema.clone())), value: value.clone() })
                }
            }
        }
        let blank = match &payload {
            Value::Null => true,
            Value::String(s) => s.trim_matches(|ch: char| ch <= ' ').is_empty(),
            _ => false,
        };
        record.value = if blank && c.tombstone_on_empty_payload {
            Data::null()
        } else if self.only_headers {
            Data { schema: Some(payload_schema), value: payload }
        } else {
            let mut schema = ConnectSchema::new(SchemaType::Struct(envelope_fields));
            schema.name = Some(value_schema_name(after_schema.name.as_deref(), &routed));
            if let Some(version_field) = &c.schema_version {
                schema.version = match column(version_field) {
                    Some((Value::Int(v), s)) if s.kind == SchemaType::Int32 => Some(*v as i32),
                    Some((Value::Null, _)) => None,
                    _ => return Err(format!("table.field.event.schema.version `{version_field}` is not an INT32 column")),
                };
            }
            Data::new(SchemaRef::new(schema), Value::Struct(envelope_values))
        };
        let (key, key_schema) = column(&c.event_key).ok_or_else(|| format!("table.field.event.key `{}` is not a column of the outbox row", c.event_key))?;
        record.key = Data::new(Arc::new(key_schema.clone()), key.clone());
        record.topic = c.route.apply(&routed).unwrap_or(routed);
        Ok(Some(record))
    }

    /// The event time in ms: the envelope's `ts_ms`, or the configured
    /// column's (a Debezium timestamp type; null falls back to `ts_ms`).
    fn timestamp(&self, envelope: &ConnectSchema, members: &[Value], row_schema: &ConnectSchema, row: &[Value]) -> Result<i64, String> {
        let ts_ms = match member(envelope, members, "ts_ms") {
            Some((Value::Int(ms), _)) => *ms,
            _ => return Err("the change event has no ts_ms".into()),
        };
        let Some(field) = &self.config.event_timestamp else { return Ok(ts_ms) };
        let Some((value, i)) = member(row_schema, row, field) else {
            return Err(format!("Unable to find timestamp field {field} in event"));
        };
        let schema = &struct_fields(row_schema)[i].1;
        if schema.kind != SchemaType::Int64 {
            return Err(format!("timestamp field {field} is not an int64 column"));
        }
        let Value::Int(t) = value else { return Ok(ts_ms) };
        match schema.name.as_deref() {
            Some("io.debezium.time.Timestamp") => Ok(*t),
            Some("io.debezium.time.MicroTimestamp") => Ok(t / 1_000),
            Some("io.debezium.time.NanoTimestamp") => Ok(t / 1_000_000),
            Some(other) => Err(format!("Unsupported field type {other} for event timestamp")),
            None => Err("Unsupported field type INT64 (without logical schema name) for event timestamp".into()),
        }
    }
}

/// `<namespace>.<routed>.<last part>` of the row schema's name
/// (`dbserver1.inventory.outbox.Value` → `dbserver1.inventory.outbox.Order.Value`).
fn value_schema_name(row_schema: Option<&str>, routed: &str) -> String {
    match row_schema {
        Some(name) => match name.rfind('.') {
            Some(dot) => format!("{}{routed}.{}", &name[..=dot], &name[dot + 1..]),
            None => format!("{routed}.{name}"),
        },
        None => routed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::config::TransformsConfig;

    fn refused(class: &str, options: &[(&str, &str)]) -> String {
        let mut props: BTreeMap<String, String> = BTreeMap::new();
        props.insert("transforms".into(), "t".into());
        props.insert("transforms.t.type".into(), class.into());
        for (k, v) in options {
            props.insert(format!("transforms.t.{k}"), v.to_string());
        }
        TransformsConfig::parse(&props).map(|_| String::new()).unwrap_or_else(|e| e.to_string())
    }

    /// (class, options, what the error contains; empty: accepted).
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

    #[test]
    fn the_new_transforms_refuse_bad_options_naming_the_property() {
        let outbox = "io.debezium.transforms.outbox.EventRouter";
        let cases: &[Case] = &[
            (outbox, &[], ""),
            (outbox, &[("table.op.invalid.behavior", "ignore")], "config.transforms.t.table.op.invalid.behavior: \"ignore\" is not one of warn, error, fatal"),
            (outbox, &[("table.fields.additional.placement", "kind:partition")], "config.transforms.t.table.fields.additional.placement: \"kind:partition\": partition placement is not supported"),
            (outbox, &[("table.fields.additional.placement", "kind")], "is not column:placement"),
            (outbox, &[("route.topic.regex", "(")], "config.transforms.t.route.topic.regex: invalid regular expression"),
            (outbox, &[("table.json.payload.null.behavior", "keep")], "config.transforms.t.table.json.payload.null.behavior"),
            (outbox, &[("table.field.event.payload.id", "x")], "config.transforms.t.table.field.event.payload.id: unknown option"),
            ("io.debezium.transforms.ByLogicalTableRouter", &[("topic.regex", "x")], "needs transforms.t.topic.replacement"),
            ("io.debezium.transforms.ByLogicalTableRouter", &[("topic.regex", "x"), ("topic.replacement", "y"), ("key.field.regex", "z")], "config.transforms.t.key.field.replacement: must be non-empty"),
            ("io.debezium.transforms.ByLogicalTableRouter", &[("topic.regex", "x"), ("topic.replacement", "y"), ("schema.name.adjustment.mode", "avro")], "config.transforms.t.schema.name.adjustment.mode"),
            ("io.debezium.transforms.HeaderToValue", &[("headers", "a,b"), ("fields", "a"), ("operation", "copy")], "config.transforms.t.fields: must have as many entries"),
            ("io.debezium.transforms.HeaderToValue", &[("headers", "a"), ("fields", "a"), ("operation", "swap")], "config.transforms.t.operation"),
            ("io.debezium.transforms.TimezoneConverter", &[("converted.timezone", "Asia/Kolkata")], "config.transforms.t.converted.timezone: \"Asia/Kolkata\": give a UTC offset"),
            ("io.debezium.transforms.TimezoneConverter", &[("converted.timezone", "+05:30"), ("include.list", "a:b"), ("exclude.list", "c:d")], "config.transforms.t.exclude.list: Both include and exclude"),
            ("io.debezium.transforms.TimezoneConverter", &[("converted.timezone", "+05:30"), ("include.list", "a:b:c")], "a rule with three parts starts with source: or topic:"),
            ("TimestampConverter$Value", &[("target.type", "string")], "config.transforms.t.format: TimestampConverter requires format"),
            ("TimestampConverter$Value", &[("target.type", "Instant")], "config.transforms.t.target.type"),
            ("TimestampConverter$Key", &[("target.type", "unix"), ("unix.precision", "days")], "config.transforms.t.unix.precision"),
            ("TimestampConverter$Value", &[("target.type", "string"), ("format", "yyyy-ww")], "pattern letter 'w' is not supported"),
            ("TimestampRouter", &[("timestamp.format", "yyyy'")], "config.transforms.t.timestamp.format"),
        ];
        for (class, options, want) in cases {
            let got = refused(class, options);
            if want.is_empty() {
                assert_eq!(got, "", "{class} {options:?}");
            } else {
                assert!(got.contains(want), "{class} {options:?}: {got}");
            }
        }
    }
}
