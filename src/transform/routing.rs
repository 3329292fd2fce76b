//! Topic routing transforms beyond `RegexRouter`: Debezium's
//! `io.debezium.transforms.ByLogicalTableRouter` (many physical tables,
//! one logical topic) and Kafka's `TimestampRouter`.
//!
//! # ByLogicalTableRouter, as Debezium 3.x does it
//! A record whose topic matches `topic.regex` as a whole moves to
//! `topic.replacement` (a record that does not match, or whose new topic
//! would be empty, is unchanged). Its key (a struct; a null key stays
//! null) gets a schema named `<new topic>.Key` with the same fields plus,
//! with `key.enforce.uniqueness` (the default), a required string field
//! `key.field.name` holding the old topic (or `key.field.regex` →
//! `key.field.replacement` applied to it, when that matches). A change
//! event's envelope is renamed `<new topic>.Envelope` and its
//! `before`/`after` share a copy of the `before` schema renamed
//! `<new topic>.Value`; tombstones and other records keep their value.
//! Copies keep version, doc, parameters and the optional flag, as
//! Debezium's `copySchemaExcludingName` does.
//!
//! # TimestampRouter, as Kafka 3.x does it
//! The topic becomes `topic.format` with `${topic}` and `${timestamp}`
//! replaced, the timestamp formatted with `timestamp.format` (a Java
//! `SimpleDateFormat` pattern, in UTC) from the record timestamp. Debezium
//! sets no record timestamp, so, as on Kafka Connect, a record without one
//! fails; the outbox router sets one.
use std::collections::HashMap;
use std::sync::Arc;

use super::config::{error, Options, RegexRoute, TransformConfigError};
use super::outbox::compile_route;
use super::record::{struct_fields, ConnectRecord, Data, SchemaRef, Value};
use super::timestamp::JavaDateFormat;
use crate::envelope::schema::{ConnectSchema, SchemaType};

/// ByLogicalTableRouter's options.
#[derive(Debug, Clone)]
pub struct LogicalTableConfig {
    pub topic: RegexRoute,
    pub key_enforce_uniqueness: bool,
    pub key_field_name: String,
    pub key_field: Option<RegexRoute>,
}

pub(super) fn parse_logical_table(o: &mut Options<'_>) -> Result<LogicalTableConfig, TransformConfigError> {
    let regex = o.required("topic.regex")?.to_owned();
    let replacement = o.required("topic.replacement")?.to_owned();
    let topic = compile_route(o, "topic.regex", &regex, "topic.replacement", &replacement)?;
    let key_regex = o.take("key.field.regex").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let key_replacement = o.take("key.field.replacement").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let key_field = match (key_regex, key_replacement) {
        (Some(regex), Some(replacement)) => {
            Some(compile_route(o, "key.field.regex", &regex, "key.field.replacement", &replacement)?)
        }
        (Some(_), None) => return Err(error(o.property("key.field.replacement"), "must be non-empty if key.field.regex is set")),
        (None, _) => None,
    };
    let key_field_name = o.string("key.field.name", "__dbz__physicalTableIdentifier").trim().to_owned();
    if key_field_name.is_empty() {
        return Err(error(o.property("key.field.name"), "must not be empty"));
    }
    if let Some(mode) = o.take("schema.name.adjustment.mode") {
        if !mode.trim().eq_ignore_ascii_case("none") {
            return Err(error(o.property("schema.name.adjustment.mode"), format!("\"{mode}\": only none is supported (raftcdc writes schema names unadjusted)")));
        }
    }
    if let Some(size) = o.take("logical.table.cache.size") {
        if !size.trim().parse::<u32>().is_ok_and(|n| n > 0) {
            return Err(error(o.property("logical.table.cache.size"), format!("{size:?} is not a positive integer")));
        }
    }
    Ok(LogicalTableConfig {
        topic,
        key_enforce_uniqueness: o.boolean("key.enforce.uniqueness", true)?,
        key_field_name,
        key_field,
    })
}

pub(super) struct LogicalTableRouter {
    config: LogicalTableConfig,
    /// (old schema, new topic) → new schema; the old schema is kept alive
    /// so its pointer is not reused while cached.
    keys: HashMap<(usize, String), (SchemaRef, SchemaRef)>,
    envelopes: HashMap<(usize, String), (SchemaRef, SchemaRef)>,
}

const CACHE_LIMIT: usize = 1024;

/// `copySchemaExcludingName`: a struct with `source`'s version, doc,
/// parameters, optional flag and (optionally) fields, named `name`.
fn renamed(source: &ConnectSchema, name: String, fields: Vec<(String, ConnectSchema)>) -> ConnectSchema {
    let mut copy = ConnectSchema::new(SchemaType::Struct(fields));
    copy.optional = source.optional;
    copy.version = source.version;
    copy.doc = source.doc.clone();
    copy.parameters = source.parameters.clone();
    copy.name = Some(name);
    copy
}

fn cached(cache: &mut HashMap<(usize, String), (SchemaRef, SchemaRef)>, old: &SchemaRef, topic: &str, build: impl FnOnce() -> ConnectSchema) -> SchemaRef {
    let key = (Arc::as_ptr(old) as usize, topic.to_owned());
    if let Some((_, new)) = cache.get(&key) {
        return new.clone();
    }
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    let new = Arc::new(build());
    cache.insert(key, (old.clone(), new.clone()));
    new
}

impl LogicalTableRouter {
    pub(super) fn new(config: LogicalTableConfig) -> LogicalTableRouter {
        LogicalTableRouter { config, keys: HashMap::new(), envelopes: HashMap::new() }
    }

    pub(super) fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, String> {
        let Some(topic) = self.config.topic.apply(&record.topic) else { return Ok(Some(record)) };
        if topic.is_empty() {
            tracing::warn!(topic = %record.topic, "ByLogicalTableRouter's topic.replacement gives an empty topic; the record keeps its topic");
            return Ok(Some(record));
        }
        let old_topic = std::mem::replace(&mut record.topic, topic.clone());
        if !record.key.is_null() {
            let schema = record.key.schema.clone().filter(|s| matches!(s.kind, SchemaType::Struct(_))).ok_or("the key is not a struct")?;
            let c = &self.config;
            let new_schema = cached(&mut self.keys, &schema, &topic, || {
                let mut fields = struct_fields(&schema).to_vec();
                if c.key_enforce_uniqueness {
                    fields.push((c.key_field_name.clone(), ConnectSchema::new(SchemaType::String)));
                }
                renamed(&schema, format!("{topic}.Key"), fields)
            });
            let Value::Struct(mut values) = std::mem::replace(&mut record.key.value, Value::Null) else {
                return Err("the key is not a struct".into());
            };
            if c.key_enforce_uniqueness {
                let identifier = c.key_field.as_ref().and_then(|route| route.apply(&old_topic)).unwrap_or(old_topic);
                values.push(Value::String(identifier));
            }
            record.key = Data::new(new_schema, Value::Struct(values));
        }
        let envelope = record.value.schema.clone().filter(|s| s.name.as_deref().is_some_and(|n| n.ends_with(".Envelope")));
        if let (Some(schema), false) = (envelope, record.value.is_null()) {
            let new_schema = cached(&mut self.envelopes, &schema, &topic, || {
                let fields = struct_fields(&schema);
                let row = fields.iter().find(|(n, _)| n == "before").map(|(_, s)| s);
                let row = row.map(|row| renamed(row, format!("{topic}.Value"), struct_fields(row).to_vec()));
                let fields = fields
                    .iter()
                    .map(|(name, field)| match (&row, name.as_str()) {
                        (Some(row), "before" | "after") => (name.clone(), row.clone()),
                        _ => (name.clone(), field.clone()),
                    })
                    .collect();
                renamed(&schema, format!("{topic}.Envelope"), fields)
            });
            record.value.schema = Some(new_schema);
        }
        Ok(Some(record))
    }
}

/// TimestampRouter's options.
#[derive(Debug, Clone)]
pub struct TimestampRouteConfig {
    /// `topic.format`, split at `${topic}` and `${timestamp}`.
    pub format: String,
    pub timestamp: JavaDateFormat,
}

pub(super) fn parse_timestamp_router(o: &mut Options<'_>) -> Result<TimestampRouteConfig, TransformConfigError> {
    let format = o.string("topic.format", "${topic}-${timestamp}");
    let property = o.property("timestamp.format");
    let timestamp = JavaDateFormat::parse(&o.string("timestamp.format", "yyyyMMdd")).map_err(|e| error(property, e))?;
    Ok(TimestampRouteConfig { format, timestamp })
}

pub(super) fn route_by_timestamp(config: &TimestampRouteConfig, record: &mut ConnectRecord) -> Result<(), String> {
    let ms = record.timestamp.ok_or("Timestamp missing on record (Debezium sets none; the outbox router sets one)")?;
    let stamp = config.timestamp.format_millis(ms);
    record.topic = config.format.replace("${topic}", &record.topic).replace("${timestamp}", &stamp);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::record::Header;

    fn key(topic: &str) -> ConnectRecord {
        let schema = ConnectSchema::structure(vec![("id".into(), ConnectSchema::new(SchemaType::Int32))]).named(format!("{topic}.Key"), None);
        ConnectRecord {
            topic: topic.into(),
            key: Data::new(Arc::new(schema), Value::Struct(vec![Value::Int(7)])),
            value: Data::null(),
            headers: vec![Header::string("h", "v")],
            timestamp: Some(1_704_164_645_678),
        }
    }

    fn route(pattern: &str, replacement: &str) -> RegexRoute {
        RegexRoute { regex: regex::Regex::new(&format!("^(?:{pattern})$")).unwrap(), replacement: replacement.into() }
    }

    #[test]
    fn logical_table_router_keys_with_and_without_uniqueness() {
        let mut router = LogicalTableRouter::new(LogicalTableConfig {
            topic: route("(.*)_shard(.*)", "${1}_all"),
            key_enforce_uniqueness: false,
            key_field_name: "__dbz__physicalTableIdentifier".into(),
            key_field: None,
        });
        let out = router.apply(key("db.t_shard1")).unwrap().unwrap();
        assert_eq!(out.topic, "db.t_all");
        assert_eq!(out.key.schema.as_ref().unwrap().name.as_deref(), Some("db.t_all.Key"));
        assert_eq!(out.key.value, Value::Struct(vec![Value::Int(7)]), "no identifier without uniqueness");
        let unchanged = router.apply(key("db.other")).unwrap().unwrap();
        assert_eq!(unchanged, key("db.other"));
        let mut unique = LogicalTableRouter::new(LogicalTableConfig { key_enforce_uniqueness: true, ..router.config.clone() });
        let out = unique.apply(key("db.t_shard2")).unwrap().unwrap();
        assert_eq!(out.key.value, Value::Struct(vec![Value::Int(7), Value::String("db.t_shard2".into())]));
    }

    #[test]
    fn timestamp_router_formats_the_record_timestamp() {
        let config = TimestampRouteConfig { format: "${topic}-${timestamp}".into(), timestamp: JavaDateFormat::parse("yyyyMMdd").unwrap() };
        let mut record = key("orders");
        route_by_timestamp(&config, &mut record).unwrap();
        assert_eq!(record.topic, "orders-20240102");
        record.timestamp = None;
        assert!(route_by_timestamp(&config, &mut record).unwrap_err().contains("Timestamp missing"));
    }
}
