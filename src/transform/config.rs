//! Kafka Connect's `transforms`/`predicates` configuration, parsed and
//! validated in one place.
//!
//! Owns the syntax (`transforms=a,b`, `transforms.a.type=<class>`,
//! `transforms.a.<option>`, `transforms.a.predicate`, `transforms.a.negate`,
//! `predicates=p`, `predicates.p.type`, `predicates.p.<option>`), the class
//! names raftcdc implements, and every option of every class, each parsed
//! into a typed value here.
//!
//! # Why it is correct
//! [`TransformsConfig::parse`] is called by the connector front door
//! (`ConnectorConfig::parse`) at create, update and task start, so a chain
//! the front door accepted is exactly the chain the owner runs: every
//! class, option and value was checked at create, and an error names the
//! property (`transforms.unwrap.delete.tombstone.handling.mode: ...`). What
//! is refused:
//! - an alias listed twice, or a `transforms.<x>.*`/`predicates.<x>.*` for
//!   an alias that is not listed (Kafka Connect ignores those; here they
//!   are almost always a typo);
//! - a missing or unknown `type`, and Debezium's scripting SMTs
//!   (`io.debezium.transforms.Filter`, `ContentBasedRouter`), with the
//!   declarative alternative;
//! - an option the class does not document, or a value it would refuse;
//! - a `predicate` that names no listed predicate, or `negate` without one.
//!
//! Classes may be given by their full name or, as Kafka Connect's plugin
//! aliases allow, by their simple name (`RegexRouter`,
//! `ReplaceField$Value`).
use std::collections::BTreeMap;

use regex::Regex;

pub use super::fields::InsertFields;

/// A transform or predicate property that is refused, naming it (without
/// the `config.` prefix the front door adds).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config.{property}: {reason}")]
pub struct TransformConfigError {
    pub property: String,
    pub reason: String,
}

pub(super) fn error(property: impl Into<String>, reason: impl Into<String>) -> TransformConfigError {
    TransformConfigError {
        property: property.into(),
        reason: reason.into(),
    }
}

/// Whether a connector property belongs to this layer.
pub fn is_transform_property(key: &str) -> bool {
    key == "transforms" || key == "predicates" || key.starts_with("transforms.") || key.starts_with("predicates.")
}

/// The whole chain: transforms in order, and the predicates they use.
#[derive(Debug, Clone, Default)]
pub struct TransformsConfig {
    pub transforms: Vec<TransformConfig>,
    pub predicates: Vec<PredicateConfig>,
}

/// One configured transform.
#[derive(Debug, Clone)]
pub struct TransformConfig {
    pub alias: String,
    pub kind: TransformKind,
    /// Applied only to records the predicate matches (or, negated, does
    /// not match).
    pub predicate: Option<PredicateUse>,
}

/// A transform's `predicate` (an index into [`TransformsConfig::predicates`])
/// and `negate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PredicateUse {
    pub index: usize,
    pub negate: bool,
}

/// One configured predicate.
#[derive(Debug, Clone)]
pub struct PredicateConfig {
    pub alias: String,
    pub kind: PredicateKind,
}

/// Kafka's predicates.
#[derive(Debug, Clone)]
pub enum PredicateKind {
    /// `org.apache.kafka.connect.transforms.predicates.TopicNameMatches`
    /// (`pattern`, matched against the whole topic name).
    TopicNameMatches(Regex),
    /// `...predicates.RecordIsTombstone`: the value is null.
    RecordIsTombstone,
    /// `...predicates.HasHeaderKey` (`name`).
    HasHeaderKey(String),
}

/// What a transform does, with its options.
#[derive(Debug, Clone)]
pub enum TransformKind {
    /// `io.debezium.transforms.ExtractNewRecordState`.
    ExtractNewRecordState(UnwrapConfig),
    /// `org.apache.kafka.connect.transforms.RegexRouter`.
    RegexRouter(RegexRoute),
    /// `org.apache.kafka.connect.transforms.Filter`: drops every record it
    /// applies to (so it is used with a predicate).
    Filter,
    /// Kafka's field and header transforms ([`FieldOp`]) on the key or
    /// the value.
    Field(Side, FieldOp),
    /// `org.apache.kafka.connect.transforms.Cast$Key`/`$Value` (`spec`).
    Cast(Side, CastSpec),
    /// `io.debezium.transforms.outbox.EventRouter`.
    EventRouter(super::outbox::OutboxConfig),
    /// `io.debezium.transforms.ByLogicalTableRouter`.
    LogicalTableRouter(super::routing::LogicalTableConfig),
    /// `org.apache.kafka.connect.transforms.TimestampRouter`.
    TimestampRouter(super::routing::TimestampRouteConfig),
    /// `org.apache.kafka.connect.transforms.TimestampConverter$Key`/`$Value`.
    TimestampConverter(Side, super::timestamp::TimestampConverterConfig),
    /// `io.debezium.transforms.HeaderToValue`.
    HeaderToValue(super::headers::HeaderToValueConfig),
    /// `io.debezium.transforms.TimezoneConverter`.
    TimezoneConverter(super::timezone::TimezoneConfig),
}

/// `Cast`'s target types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CastTarget {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
}

impl CastTarget {
    fn parse(text: &str) -> Option<CastTarget> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "int8" => CastTarget::Int8,
            "int16" => CastTarget::Int16,
            "int32" => CastTarget::Int32,
            "int64" => CastTarget::Int64,
            "float32" => CastTarget::Float32,
            "float64" => CastTarget::Float64,
            "boolean" => CastTarget::Boolean,
            "string" => CastTarget::String,
            _ => return None,
        })
    }
}

/// `Cast`'s `spec`: one type for the whole key/value, or `field:type`
/// pairs.
#[derive(Debug, Clone)]
pub enum CastSpec {
    Whole(CastTarget),
    Fields(Vec<(String, CastTarget)>),
}

/// Which part of the record a `$Key`/`$Value` transform works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Key,
    Value,
}

/// Kafka's struct and header transforms, with their options.
#[derive(Debug, Clone)]
pub enum FieldOp {
    /// `ReplaceField`: `exclude`, `include`, `renames` (`old:new`).
    Replace { exclude: Vec<String>, include: Vec<String>, renames: Vec<(String, String)> },
    /// `InsertField`.
    Insert(InsertFields),
    /// `MaskField`: `fields`, `replacement`.
    Mask { fields: Vec<String>, replacement: Option<String> },
    /// `ValueToKey`: `fields`.
    ValueToKey(Vec<String>),
    /// `ExtractField`: `field`.
    Extract(String),
    /// `HoistField`: `field`.
    Hoist(String),
    /// `Flatten`: `delimiter`.
    Flatten(String),
    /// `SetSchemaMetadata`: `schema.name`, `schema.version`.
    SetSchemaMetadata { name: Option<String>, version: Option<i32> },
    /// `InsertHeader`: `header`, `value.literal`.
    InsertHeader { header: String, value: String },
    /// `DropHeaders`: `headers`.
    DropHeaders(Vec<String>),
}

/// A whole-string regex and a Java-style replacement (`$1`, `${name}`),
/// already translated to the `regex` crate's syntax.
#[derive(Debug, Clone)]
pub struct RegexRoute {
    pub regex: Regex,
    pub replacement: String,
}

impl RegexRoute {
    /// The replaced string if `input` matches the whole regex
    /// (`Matcher.matches()` then `replaceFirst`).
    pub fn apply(&self, input: &str) -> Option<String> {
        let caps = self.regex.captures(input)?;
        let whole = caps.get(0)?;
        if whole.start() != 0 || whole.end() != input.len() {
            return None;
        }
        let mut out = String::new();
        caps.expand(&self.replacement, &mut out);
        Some(out)
    }
}

/// What ExtractNewRecordState does with tombstones and deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteTombstoneHandling {
    Drop,
    Tombstone,
    Rewrite,
    RewriteWithTombstone,
    DeleteToTombstone,
    /// The deprecated `delete.handling.mode` + `drop.tombstones` pair.
    Legacy { deletes: LegacyDeleteHandling, drop_tombstones: bool },
}

/// The deprecated `delete.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyDeleteHandling {
    None,
    Drop,
    Rewrite,
}

/// A field of the change event named in `add.fields`/`add.headers`:
/// `op`, `ts_ms`, a `source` field, a `transaction` field, or
/// `struct.field`, optionally renamed with `:new_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldReference {
    /// `source`, `transaction` or `None` for a top-level field.
    pub parent: Option<String>,
    pub field: String,
    /// The name of the added field or header (prefix included).
    pub new_name: String,
}

impl FieldReference {
    /// Debezium's `FieldReference`: `field[:new]`, `struct.field[:new]`;
    /// an unqualified field is looked up in `transaction` for the
    /// transaction fields, at the top for `op` and `ts_ms`, else in
    /// `source`.
    fn parse(prefix: &str, text: &str) -> Result<FieldReference, String> {
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() > 2 || parts[0].is_empty() {
            return Err(format!("unexpected field name {text:?}"));
        }
        let splits: Vec<&str> = parts[0].split('.').collect();
        let field = if splits.len() == 1 { splits[0] } else { splits[1] }.to_owned();
        let parent = if splits.len() == 1 {
            match field.as_str() {
                "id" | "total_order" | "data_collection_order" => Some("transaction".to_owned()),
                "op" | "ts_ms" => None,
                _ => Some("source".to_owned()),
            }
        } else {
            Some(splits[0].to_owned())
        };
        let new_name = match parts.get(1) {
            Some(new) => format!("{prefix}{new}"),
            None if splits.len() == 1 => format!("{prefix}{field}"),
            None => format!("{prefix}{}_{field}", splits[0]),
        };
        Ok(FieldReference { parent, field, new_name })
    }
}

/// ExtractNewRecordState's options.
#[derive(Debug, Clone)]
pub struct UnwrapConfig {
    pub handling: DeleteTombstoneHandling,
    pub add_fields: Vec<FieldReference>,
    pub add_headers: Vec<FieldReference>,
    pub route_by_field: Option<String>,
    pub drop_fields_header: Option<String>,
    pub drop_fields_from_key: bool,
    pub drop_fields_keep_schema_compatible: bool,
    pub replace_null_with_default: bool,
}

/// One transform's (or predicate's) options, consumed as they are read;
/// whatever is left is unknown.
pub(super) struct Options<'a> {
    prefix: String,
    class: &'a str,
    map: BTreeMap<&'a str, &'a str>,
}

impl<'a> Options<'a> {
    pub(super) fn property(&self, option: &str) -> String {
        format!("{}{option}", self.prefix)
    }

    pub(super) fn take(&mut self, option: &str) -> Option<&'a str> {
        self.map.remove(option)
    }

    pub(super) fn string(&mut self, option: &str, default: &str) -> String {
        self.take(option).unwrap_or(default).to_owned()
    }

    /// An option the class requires. A missing one is reported on the
    /// transform's `type` (a property the config has), naming the option.
    pub(super) fn required(&mut self, option: &str) -> Result<&'a str, TransformConfigError> {
        match self.take(option) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            Some(_) => Err(error(self.property(option), format!("must not be empty for {}", self.class))),
            None => Err(self.missing(option)),
        }
    }

    pub(super) fn missing(&self, option: &str) -> TransformConfigError {
        error(self.property("type"), format!("{} needs {}", self.class, self.property(option)))
    }

    pub(super) fn boolean(&mut self, option: &str, default: bool) -> Result<bool, TransformConfigError> {
        match self.take(option).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if v == "true" => Ok(true),
            Some(v) if v == "false" => Ok(false),
            Some(v) => Err(error(self.property(option), format!("\"{v}\" is not a boolean (true or false)"))),
        }
    }

    pub(super) fn regex(&mut self, option: &str) -> Result<Regex, TransformConfigError> {
        let text = self.required(option)?;
        Regex::new(text).map_err(|e| error(self.property(option), format!("invalid regular expression: {e}")))
    }

    pub(super) fn list(&mut self, option: &str) -> Vec<String> {
        self.take(option)
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Refuses whatever option is left.
    fn finish(self) -> Result<(), TransformConfigError> {
        match self.map.keys().next() {
            Some(option) => Err(error(
                format!("{}{option}", self.prefix),
                format!("unknown option for {}", self.class),
            )),
            None => Ok(()),
        }
    }
}

/// Translates a Java `Matcher.replaceFirst` replacement (`$1`, `${name}`,
/// `\$`) into the `regex` crate's (`${1}`, `${name}`, `$$`).
pub(super) fn java_replacement(property: &str, text: &str) -> Result<String, TransformConfigError> {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => return Err(error(property, "character to be escaped is missing")),
            },
            '$' => match chars.peek() {
                Some('{') => {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    out.push_str(&format!("${{{name}}}"));
                }
                Some(d) if d.is_ascii_digit() => {
                    let mut number = String::new();
                    while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                        number.push(*d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{number}}}"));
                }
                _ => return Err(error(property, "illegal group reference: `$` must be followed by a group number or {name}")),
            },
            other => out.push(other),
        }
    }
    Ok(out)
}

const KAFKA: &str = "org.apache.kafka.connect.transforms.";
const KAFKA_PREDICATES: &str = "org.apache.kafka.connect.transforms.predicates.";

/// The canonical class name for a configured `type` (full or simple name),
/// or `None` if unknown.
fn canonical(class: &str, known: &[&'static str]) -> Option<&'static str> {
    let class = class.trim();
    known
        .iter()
        .find(|full| **full == class || full.rsplit('.').next() == Some(class))
        .copied()
}

/// Every transform class raftcdc implements (for `GET /connector-plugins`).
pub const TRANSFORM_CLASSES: &[&str] = &[
    "io.debezium.transforms.ExtractNewRecordState",
    "io.debezium.transforms.outbox.EventRouter",
    "io.debezium.transforms.ByLogicalTableRouter",
    "io.debezium.transforms.HeaderToValue",
    "io.debezium.transforms.TimezoneConverter",
    "org.apache.kafka.connect.transforms.TimestampRouter",
    "org.apache.kafka.connect.transforms.TimestampConverter$Key",
    "org.apache.kafka.connect.transforms.TimestampConverter$Value",
    "org.apache.kafka.connect.transforms.RegexRouter",
    "org.apache.kafka.connect.transforms.Filter",
    "org.apache.kafka.connect.transforms.ReplaceField$Key",
    "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "org.apache.kafka.connect.transforms.InsertField$Key",
    "org.apache.kafka.connect.transforms.InsertField$Value",
    "org.apache.kafka.connect.transforms.MaskField$Key",
    "org.apache.kafka.connect.transforms.MaskField$Value",
    "org.apache.kafka.connect.transforms.ValueToKey",
    "org.apache.kafka.connect.transforms.ExtractField$Key",
    "org.apache.kafka.connect.transforms.ExtractField$Value",
    "org.apache.kafka.connect.transforms.HoistField$Key",
    "org.apache.kafka.connect.transforms.HoistField$Value",
    "org.apache.kafka.connect.transforms.Flatten$Key",
    "org.apache.kafka.connect.transforms.Flatten$Value",
    "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key",
    "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
    "org.apache.kafka.connect.transforms.Cast$Key",
    "org.apache.kafka.connect.transforms.Cast$Value",
    "org.apache.kafka.connect.transforms.InsertHeader",
    "org.apache.kafka.connect.transforms.DropHeaders",
];

/// Every predicate class raftcdc implements.
pub const PREDICATE_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
    "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
    "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
];

/// Classes refused with a reason and the alternative.
const REFUSED_CLASSES: &[(&str, &str)] = &[
    (
        "io.debezium.transforms.Filter",
        "scripted filters (Groovy/JavaScript) are not supported; use org.apache.kafka.connect.transforms.Filter with a predicate (TopicNameMatches, RecordIsTombstone, HasHeaderKey, negate=true)",
    ),
    (
        "io.debezium.transforms.ContentBasedRouter",
        "scripted routing (Groovy/JavaScript) is not supported; use ExtractNewRecordState's route.by.field, RegexRouter or ByLogicalTableRouter",
    ),
];

/// Splits an alias list (`a, b`), refusing empty and repeated aliases.
fn aliases(property: &str, value: Option<&String>) -> Result<Vec<String>, TransformConfigError> {
    let mut out: Vec<String> = Vec::new();
    let Some(value) = value else { return Ok(out) };
    for alias in value.split(',').map(str::trim) {
        if alias.is_empty() {
            if value.trim().is_empty() {
                continue;
            }
            return Err(error(property, "an alias is empty"));
        }
        if out.iter().any(|a| a == alias) {
            return Err(error(property, format!("duplicate alias \"{alias}\"")));
        }
        out.push(alias.to_owned());
    }
    Ok(out)
}

/// The options under `<group>.<alias>.` (without `type`, `predicate`,
/// `negate`), and refuses properties of unlisted aliases.
fn grouped<'a>(
    props: &'a BTreeMap<String, String>,
    group: &str,
    listed: &[String],
) -> Result<BTreeMap<&'a str, BTreeMap<&'a str, &'a str>>, TransformConfigError> {
    let mut out: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    let prefix = format!("{group}.");
    for (key, value) in props.range(prefix.clone()..) {
        let Some(rest) = key.strip_prefix(&prefix) else { break };
        // The alias is the longest listed alias the key continues with
        // (aliases may contain dots).
        let alias = listed
            .iter()
            .filter(|a| rest.len() > a.len() && rest.starts_with(a.as_str()) && rest.as_bytes()[a.len()] == b'.')
            .max_by_key(|a| a.len());
        let Some(alias) = alias else {
            return Err(error(key.clone(), format!("is not an option of a transform listed in `{group}`")));
        };
        let option = &rest[alias.len() + 1..];
        out.entry(&key[prefix.len()..prefix.len() + alias.len()]).or_default().insert(option, value.as_str());
    }
    Ok(out)
}

impl TransformsConfig {
    /// Parses and validates the connector's `transforms*`/`predicates*`
    /// properties (the other properties are ignored).
    pub fn parse(props: &BTreeMap<String, String>) -> Result<TransformsConfig, TransformConfigError> {
        let transform_aliases = aliases("transforms", props.get("transforms"))?;
        let predicate_aliases = aliases("predicates", props.get("predicates"))?;
        let mut transform_options = grouped(props, "transforms", &transform_aliases)?;
        let mut predicate_options = grouped(props, "predicates", &predicate_aliases)?;

        let mut predicates = Vec::new();
        for alias in &predicate_aliases {
            let map = predicate_options.remove(alias.as_str()).unwrap_or_default();
            predicates.push(PredicateConfig {
                alias: alias.clone(),
                kind: parse_predicate(alias, map)?,
            });
        }
        let mut transforms = Vec::new();
        for alias in &transform_aliases {
            let mut map = transform_options.remove(alias.as_str()).unwrap_or_default();
            let prefix = format!("transforms.{alias}.");
            let predicate = map.remove("predicate");
            let negate = map.remove("negate");
            let predicate = match (predicate, negate) {
                (None, None) => None,
                (None, Some(_)) => {
                    return Err(error(format!("{prefix}negate"), format!("needs {prefix}predicate")));
                }
                (Some(name), negate) => {
                    let name = name.trim();
                    let index = predicate_aliases.iter().position(|p| p == name).ok_or_else(|| {
                        error(format!("{prefix}predicate"), format!("\"{name}\" is not listed in `predicates`"))
                    })?;
                    let negate = match negate.map(|v| v.trim().to_ascii_lowercase()) {
                        None => false,
                        Some(v) if v == "true" => true,
                        Some(v) if v == "false" => false,
                        Some(v) => return Err(error(format!("{prefix}negate"), format!("\"{v}\" is not a boolean (true or false)"))),
                    };
                    Some(PredicateUse { index, negate })
                }
            };
            transforms.push(TransformConfig {
                alias: alias.clone(),
                kind: parse_transform(alias, map)?,
                predicate,
            });
        }
        Ok(TransformsConfig { transforms, predicates })
    }

    pub fn is_empty(&self) -> bool {
        self.transforms.is_empty()
    }
}

fn class_of<'a>(
    prefix: &str,
    map: &mut BTreeMap<&'a str, &'a str>,
    known: &[&'static str],
    what: &str,
) -> Result<&'static str, TransformConfigError> {
    let property = format!("{prefix}type");
    let Some(class) = map.remove("type").map(str::trim).filter(|c| !c.is_empty()) else {
        // Reported on the list that names the alias (a property the
        // config has).
        let (list, alias) = prefix.trim_end_matches('.').split_once('.').unwrap_or((prefix, ""));
        return Err(error(list, format!("\"{alias}\" has no {property} (the {what} class)")));
    };
    if let Some((_, why)) = REFUSED_CLASSES.iter().find(|(c, _)| *c == class) {
        return Err(error(property, format!("{class}: {why}")));
    }
    canonical(class, known).ok_or_else(|| {
        error(
            property,
            format!("unknown {what} class \"{class}\"; raftcdc implements: {}", known.join(", ")),
        )
    })
}

fn parse_predicate<'a>(alias: &str, mut map: BTreeMap<&'a str, &'a str>) -> Result<PredicateKind, TransformConfigError> {
    let prefix = format!("predicates.{alias}.");
    let class = class_of(&prefix, &mut map, PREDICATE_CLASSES, "predicate")?;
    let mut o = Options { prefix, class, map };
    let kind = match class.strip_prefix(KAFKA_PREDICATES).unwrap_or(class) {
        "TopicNameMatches" => PredicateKind::TopicNameMatches(o.regex("pattern")?),
        "RecordIsTombstone" => PredicateKind::RecordIsTombstone,
        "HasHeaderKey" => PredicateKind::HasHeaderKey(o.required("name")?.to_owned()),
        _ => unreachable!("every predicate class is handled"),
    };
    o.finish()?;
    Ok(kind)
}

fn parse_transform<'a>(alias: &str, mut map: BTreeMap<&'a str, &'a str>) -> Result<TransformKind, TransformConfigError> {
    let prefix = format!("transforms.{alias}.");
    let class = class_of(&prefix, &mut map, TRANSFORM_CLASSES, "transform")?;
    let mut o = Options { prefix, class, map };
    let kind = match class {
        "io.debezium.transforms.ExtractNewRecordState" => TransformKind::ExtractNewRecordState(parse_unwrap(&mut o)?),
        "io.debezium.transforms.outbox.EventRouter" => TransformKind::EventRouter(super::outbox::parse(&mut o)?),
        "io.debezium.transforms.ByLogicalTableRouter" => TransformKind::LogicalTableRouter(super::routing::parse_logical_table(&mut o)?),
        "io.debezium.transforms.HeaderToValue" => TransformKind::HeaderToValue(super::headers::parse(&mut o)?),
        "io.debezium.transforms.TimezoneConverter" => TransformKind::TimezoneConverter(super::timezone::parse(&mut o)?),
        _ => match class.strip_prefix(KAFKA).unwrap_or(class) {
            "RegexRouter" => {
                let regex = o.regex("regex")?;
                let regex = Regex::new(&format!("^(?:{})$", regex.as_str())).map_err(|e| error(o.property("regex"), e.to_string()))?;
                let replacement = java_replacement(&o.property("replacement"), o.required("replacement")?)?;
                TransformKind::RegexRouter(RegexRoute { regex, replacement })
            }
            "Filter" => TransformKind::Filter,
            "TimestampRouter" => TransformKind::TimestampRouter(super::routing::parse_timestamp_router(&mut o)?),
            simple => {
                let (base, side) = match simple.split_once('$') {
                    Some((base, "Key")) => (base, Side::Key),
                    Some((base, _)) => (base, Side::Value),
                    None => (simple, Side::Value),
                };
                if base == "Cast" {
                    TransformKind::Cast(side, parse_cast(&mut o)?)
                } else if base == "TimestampConverter" {
                    TransformKind::TimestampConverter(side, super::timestamp::parse_converter(&mut o)?)
                } else {
                    TransformKind::Field(side, parse_field_op(base, &mut o)?)
                }
            }
        },
    };
    o.finish()?;
    Ok(kind)
}

/// A required list option (at least one entry).
pub(super) fn required_list(o: &mut Options<'_>, option: &str) -> Result<Vec<String>, TransformConfigError> {
    let present = o.map.contains_key(option);
    let list = o.list(option);
    if list.is_empty() {
        if present {
            return Err(error(o.property(option), format!("must list at least one name for {}", o.class)));
        }
        return Err(o.missing(option));
    }
    Ok(list)
}

/// An `InsertField` field option: `name`, `name?` (optional, the
/// default) or `name!` (required).
fn insert_field(o: &mut Options<'_>, option: &str) -> Option<(String, bool)> {
    let text = o.take(option)?.trim();
    if let Some(name) = text.strip_suffix('!') {
        Some((name.to_owned(), false))
    } else {
        Some((text.strip_suffix('?').unwrap_or(text).to_owned(), true))
    }
}

fn parse_field_op(base: &str, o: &mut Options<'_>) -> Result<FieldOp, TransformConfigError> {
    // Accepted everywhere Kafka 3.8+ has it: JsonConverter writes a
    // field's default for a null either way.
    o.boolean("replace.null.with.default", true)?;
    Ok(match base {
        "ReplaceField" => {
            let mut exclude = o.list("exclude");
            exclude.extend(o.list("blacklist"));
            let mut include = o.list("include");
            include.extend(o.list("whitelist"));
            let property = o.property("renames");
            let renames = o
                .list("renames")
                .into_iter()
                .map(|pair| match pair.split_once(':') {
                    Some((from, to)) if !from.trim().is_empty() && !to.trim().is_empty() => Ok((from.trim().to_owned(), to.trim().to_owned())),
                    _ => Err(error(&property, format!("{pair:?} is not old:new"))),
                })
                .collect::<Result<_, _>>()?;
            FieldOp::Replace { exclude, include, renames }
        }
        "InsertField" => {
            if o.take("offset.field").is_some() {
                return Err(error(o.property("offset.field"), "only records a sink connector reads have a Kafka offset; a source record has none"));
            }
            let fields = InsertFields {
                topic: insert_field(o, "topic.field"),
                partition: insert_field(o, "partition.field"),
                timestamp: insert_field(o, "timestamp.field"),
                static_field: insert_field(o, "static.field"),
                static_value: o.take("static.value").map(str::to_owned),
            };
            for (option, field) in [("partition.field", &fields.partition), ("timestamp.field", &fields.timestamp)] {
                if matches!(field, Some((_, false))) {
                    return Err(error(o.property(option), "cannot be required (`!`): a source record has no partition and Debezium sets no record timestamp"));
                }
            }
            if matches!(fields.static_field, Some((_, false))) && fields.static_value.is_none() {
                return Err(error(o.property("static.field"), format!("is required (`!`), so {} is needed", o.property("static.value"))));
            }
            if fields.static_value.is_some() && fields.static_field.is_none() {
                return Err(error(o.property("static.value"), "needs static.field"));
            }
            FieldOp::Insert(fields)
        }
        "MaskField" => FieldOp::Mask {
            fields: required_list(o, "fields")?,
            replacement: o.take("replacement").map(str::to_owned),
        },
        "ValueToKey" => FieldOp::ValueToKey(required_list(o, "fields")?),
        "ExtractField" => {
            if let Some(v) = o.take("field.syntax.version") {
                if !v.trim().eq_ignore_ascii_case("v1") {
                    return Err(error(o.property("field.syntax.version"), format!("{v:?}: only V1 (plain field names) is supported")));
                }
            }
            FieldOp::Extract(o.required("field")?.trim().to_owned())
        }
        "HoistField" => FieldOp::Hoist(o.required("field")?.trim().to_owned()),
        "Flatten" => FieldOp::Flatten(o.string("delimiter", ".")),
        "SetSchemaMetadata" => {
            let name = o.take("schema.name").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
            let version = match o.take("schema.version") {
                Some(v) => Some(v.trim().parse::<i32>().map_err(|_| error(o.property("schema.version"), format!("{v:?} is not an integer")))?),
                None => None,
            };
            if name.is_none() && version.is_none() {
                return Err(error(o.property("type"), format!("SetSchemaMetadata needs {} or {}", o.property("schema.name"), o.property("schema.version"))));
            }
            FieldOp::SetSchemaMetadata { name, version }
        }
        "InsertHeader" => FieldOp::InsertHeader {
            header: o.required("header")?.trim().to_owned(),
            value: o.required("value.literal")?.to_owned(),
        },
        "DropHeaders" => FieldOp::DropHeaders(required_list(o, "headers")?),
        other => unreachable!("unhandled transform class {other}"),
    })
}

fn parse_cast(o: &mut Options<'_>) -> Result<CastSpec, TransformConfigError> {
    o.boolean("replace.null.with.default", true)?;
    let property = o.property("spec");
    let spec = required_list(o, "spec")?;
    let bad_type = |t: &str| error(&property, format!("{t:?} is not a cast type (int8, int16, int32, int64, float32, float64, boolean, string)"));
    if spec.len() == 1 && !spec[0].contains(':') {
        return CastTarget::parse(&spec[0]).map(CastSpec::Whole).ok_or_else(|| bad_type(&spec[0]));
    }
    spec.iter()
        .map(|pair| match pair.split_once(':') {
            Some((field, t)) if !field.trim().is_empty() => {
                CastTarget::parse(t).map(|target| (field.trim().to_owned(), target)).ok_or_else(|| bad_type(t))
            }
            _ => Err(error(&property, format!("{pair:?} is not field:type"))),
        })
        .collect::<Result<_, _>>()
        .map(CastSpec::Fields)
}

fn parse_unwrap(o: &mut Options<'_>) -> Result<UnwrapConfig, TransformConfigError> {
    let mode = o.take("delete.tombstone.handling.mode");
    let legacy_deletes = o.take("delete.handling.mode");
    let legacy_tombstones = o.map.contains_key("drop.tombstones");
    let drop_tombstones = o.boolean("drop.tombstones", true)?;
    let handling = match mode.map(|m| m.trim().to_ascii_lowercase()) {
        Some(m) => {
            for (present, option) in [(legacy_deletes.is_some(), "delete.handling.mode"), (legacy_tombstones, "drop.tombstones")] {
                if present {
                    return Err(error(
                        o.property(option),
                        "is deprecated and cannot be combined with delete.tombstone.handling.mode",
                    ));
                }
            }
            match m.as_str() {
                "drop" => DeleteTombstoneHandling::Drop,
                "tombstone" => DeleteTombstoneHandling::Tombstone,
                "rewrite" => DeleteTombstoneHandling::Rewrite,
                "rewrite-with-tombstone" => DeleteTombstoneHandling::RewriteWithTombstone,
                "delete-to-tombstone" => DeleteTombstoneHandling::DeleteToTombstone,
                other => {
                    return Err(error(
                        o.property("delete.tombstone.handling.mode"),
                        format!("\"{other}\" is not one of drop, tombstone, rewrite, rewrite-with-tombstone, delete-to-tombstone"),
                    ))
                }
            }
        }
        None if legacy_deletes.is_some() || legacy_tombstones => {
            let deletes = match legacy_deletes.map(|m| m.trim().to_ascii_lowercase()).as_deref() {
                None | Some("none") => LegacyDeleteHandling::None,
                Some("drop") => LegacyDeleteHandling::Drop,
                Some("rewrite") => LegacyDeleteHandling::Rewrite,
                Some(other) => {
                    return Err(error(
                        o.property("delete.handling.mode"),
                        format!("\"{other}\" is not one of none, drop, rewrite"),
                    ))
                }
            };
            DeleteTombstoneHandling::Legacy { deletes, drop_tombstones }
        }
        None => DeleteTombstoneHandling::Tombstone,
    };
    let fields_prefix = o.string("add.fields.prefix", "__");
    let headers_prefix = o.string("add.headers.prefix", "__");
    let mut references = |option: &str, prefix: &str| -> Result<Vec<FieldReference>, TransformConfigError> {
        let property = o.property(option);
        o.list(option)
            .iter()
            .map(|f| FieldReference::parse(prefix, f).map_err(|e| error(&property, e)))
            .collect()
    };
    let add_fields = references("add.fields", &fields_prefix)?;
    let add_headers = references("add.headers", &headers_prefix)?;
    let route_by_field = o.take("route.by.field").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let drop_fields_header = o.take("drop.fields.header.name").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(UnwrapConfig {
        handling,
        add_fields,
        add_headers,
        route_by_field,
        drop_fields_header,
        drop_fields_from_key: o.boolean("drop.fields.from.key", false)?,
        drop_fields_keep_schema_compatible: o.boolean("drop.fields.keep.schema.compatible", true)?,
        replace_null_with_default: o.boolean("replace.null.with.default", true)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn refused(pairs: &[(&str, &str)]) -> String {
        TransformsConfig::parse(&props(pairs)).unwrap_err().to_string()
    }

    #[test]
    fn a_common_chain_parses() {
        let config = TransformsConfig::parse(&props(&[
            ("transforms", "unwrap, route"),
            ("transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState"),
            ("transforms.unwrap.delete.tombstone.handling.mode", "rewrite"),
            ("transforms.unwrap.add.fields", "op,table,source.ts_ms,id:tx"),
            ("transforms.route.type", "RegexRouter"),
            ("transforms.route.regex", "([^.]+)\\.([^.]+)\\.([^.]+)"),
            ("transforms.route.replacement", "$3-$2"),
            ("transforms.route.predicate", "notHeartbeat"),
            ("transforms.route.negate", "true"),
            ("predicates", "notHeartbeat"),
            ("predicates.notHeartbeat.type", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"),
            ("predicates.notHeartbeat.pattern", "__debezium-heartbeat.*"),
        ]))
        .unwrap();
        assert_eq!(config.transforms.len(), 2);
        let TransformKind::ExtractNewRecordState(unwrap) = &config.transforms[0].kind else { panic!() };
        assert_eq!(unwrap.handling, DeleteTombstoneHandling::Rewrite);
        let names: Vec<&str> = unwrap.add_fields.iter().map(|f| f.new_name.as_str()).collect();
        assert_eq!(names, ["__op", "__table", "__source_ts_ms", "__tx"]);
        assert_eq!(unwrap.add_fields[3].parent.as_deref(), Some("transaction"));
        assert_eq!(unwrap.add_fields[0].parent, None);
        let TransformKind::RegexRouter(route) = &config.transforms[1].kind else { panic!() };
        assert_eq!(route.apply("srv.shop.orders").as_deref(), Some("orders-shop"));
        assert_eq!(route.apply("srv.shop"), None, "the whole topic must match");
        assert_eq!(config.transforms[1].predicate, Some(PredicateUse { index: 0, negate: true }));
    }

    #[test]
    fn errors_name_the_property() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("transforms", "a,a")], "config.transforms: duplicate alias \"a\""),
            (&[("transforms", "a")], "config.transforms: \"a\" has no transforms.a.type (the transform class)"),
            (&[("transforms", "a"), ("transforms.a.type", "NoSuch")], "config.transforms.a.type: unknown transform class \"NoSuch\""),
            (&[("transforms", "a"), ("transforms.b.type", "Filter")], "config.transforms.b.type: is not an option of a transform listed"),
            (
                &[("transforms", "a"), ("transforms.a.type", "io.debezium.transforms.ExtractNewRecordState"), ("transforms.a.delete.tombstone.handling.mode", "keep")],
                "config.transforms.a.delete.tombstone.handling.mode: \"keep\" is not one of",
            ),
            (
                &[("transforms", "a"), ("transforms.a.type", "io.debezium.transforms.ExtractNewRecordState"), ("transforms.a.no.such", "1")],
                "config.transforms.a.no.such: unknown option for io.debezium.transforms.ExtractNewRecordState",
            ),
            (&[("transforms", "a"), ("transforms.a.type", "RegexRouter"), ("transforms.a.regex", "(")], "config.transforms.a.regex: invalid regular expression"),
            (&[("transforms", "a"), ("transforms.a.type", "RegexRouter"), ("transforms.a.regex", "x")], "config.transforms.a.type: org.apache.kafka.connect.transforms.RegexRouter needs transforms.a.replacement"),
            (&[("transforms", "a"), ("transforms.a.type", "Filter"), ("transforms.a.predicate", "p")], "config.transforms.a.predicate: \"p\" is not listed in `predicates`"),
            (&[("transforms", "a"), ("transforms.a.type", "Filter"), ("transforms.a.negate", "true")], "config.transforms.a.negate: needs transforms.a.predicate"),
            (
                &[("transforms", "a"), ("transforms.a.type", "io.debezium.transforms.Filter")],
                "config.transforms.a.type: io.debezium.transforms.Filter: scripted filters (Groovy/JavaScript) are not supported; use org.apache.kafka.connect.transforms.Filter",
            ),
            (&[("transforms", "a"), ("transforms.a.type", "io.debezium.transforms.ContentBasedRouter")], "RegexRouter or ByLogicalTableRouter"),
            (&[("predicates", "p"), ("predicates.p.type", "HasHeaderKey")], "config.predicates.p.type: org.apache.kafka.connect.transforms.predicates.HasHeaderKey needs predicates.p.name"),
            (&[("predicates", "p"), ("predicates.p.type", "RecordIsTombstone"), ("predicates.p.x", "1")], "config.predicates.p.x: unknown option"),
        ];
        for (pairs, want) in cases {
            let got = refused(pairs);
            assert!(got.starts_with(want) || got.contains(want), "{pairs:?}: {got}");
        }
    }

    #[test]
    fn deprecated_unwrap_options_map_to_the_legacy_strategy() {
        let parse = |pairs: &[(&str, &str)]| {
            let mut all = vec![("transforms", "u"), ("transforms.u.type", "io.debezium.transforms.ExtractNewRecordState")];
            all.extend_from_slice(pairs);
            match TransformsConfig::parse(&props(&all)).unwrap().transforms.remove(0).kind {
                TransformKind::ExtractNewRecordState(u) => u.handling,
                _ => unreachable!(),
            }
        };
        assert_eq!(parse(&[]), DeleteTombstoneHandling::Tombstone);
        assert_eq!(
            parse(&[("transforms.u.delete.handling.mode", "rewrite")]),
            DeleteTombstoneHandling::Legacy { deletes: LegacyDeleteHandling::Rewrite, drop_tombstones: true }
        );
        assert_eq!(
            parse(&[("transforms.u.drop.tombstones", "false")]),
            DeleteTombstoneHandling::Legacy { deletes: LegacyDeleteHandling::None, drop_tombstones: false }
        );
    }

    #[test]
    fn java_replacements_translate() {
        assert_eq!(java_replacement("p", "$1a").unwrap(), "${1}a");
        assert_eq!(java_replacement("p", "${name}-x").unwrap(), "${name}-x");
        assert_eq!(java_replacement("p", "cost\\$").unwrap(), "cost$$");
        assert!(java_replacement("p", "$x").is_err());
    }

    #[test]
    fn no_transforms_is_empty() {
        assert!(TransformsConfig::parse(&props(&[("transforms", "")])).unwrap().is_empty());
        assert!(TransformsConfig::parse(&BTreeMap::new()).unwrap().is_empty());
    }
}
