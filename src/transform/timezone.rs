//! Debezium's `io.debezium.transforms.TimezoneConverter`: the time fields
//! of a change event's `before`/`after` (and named `source` fields) move to
//! `converted.timezone`.
//!
//! # As Debezium 3.x does it
//! Only change events are touched (other records and tombstones pass), and
//! the schema is unchanged. Which events and fields: with neither list,
//! every event except those of a table or topic some rule names; with
//! `include.list`, the events a rule matches (all time fields, or the
//! rule's fields); with `exclude.list`, the events no rule matches (all
//! fields), or, for a matching rule with fields, the other fields. Rules
//! are `source:<table>[:<field>]`, `topic:<topic>[:<field>]` or
//! `<table or topic>:<field>`; an entry without a prefix takes the prefix
//! of the entry before it. A field is `before.x`, `after.x`, `source.x`
//! or `x` (both rows). A rule matches by exact topic first, then exact
//! `source.table`, then the unprefixed rules by topic, then by table.
//!
//! Converted types: `io.debezium.time.ZonedTimestamp` and `ZonedTime`
//! (ISO strings, rewritten with the new offset, the fraction printed with
//! as few digits as needed, as `DateTimeFormatter.ISO_LOCAL_TIME` prints
//! it), and `io.debezium.time.Timestamp`, `MicroTimestamp`,
//! `NanoTimestamp` and Connect's `Timestamp` (a local date-time stored as
//! if it were UTC: shifted by the offset). Dates and times of day are
//! left alone (Debezium logs a warning).
//!
//! # Where it differs, and why
//! `converted.timezone` must be a fixed offset (`+05:30`, `-08:00`,
//! `+05:30:15`) or UTC (`UTC`, `Z`, `GMT`, `Etc/UTC`): raftcdc carries no
//! time-zone database, and a geographic zone's offset depends on the date
//! (and, for `ZonedTime`, on Debezium's wall clock). A geographic zone is
//! refused at create, naming the offset form.
use std::collections::{BTreeMap, BTreeSet};

use super::config::{error, Options, TransformConfigError};
use super::record::{struct_fields, ConnectRecord, Value};
use super::timestamp::{civil_from_days, days_from_civil};

/// TimezoneConverter's options.
#[derive(Debug, Clone)]
pub struct TimezoneConfig {
    /// The offset east of UTC, in seconds.
    pub offset_seconds: i64,
    pub mode: RuleMode,
    /// Rules by topic, by table, and unprefixed: name → fields.
    pub topics: BTreeMap<String, BTreeSet<String>>,
    pub tables: BTreeMap<String, BTreeSet<String>>,
    pub unprefixed: BTreeMap<String, BTreeSet<String>>,
}

/// Which list the rules came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleMode {
    All,
    Include,
    Exclude,
}

fn parse_offset(text: &str) -> Option<i64> {
    let t = text.trim();
    if ["UTC", "Z", "GMT", "Etc/UTC", "Etc/GMT", "UCT", "Universal", "Zulu", "Etc/Universal", "Etc/Zulu", "Etc/UCT"].contains(&t) {
        return Some(0);
    }
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let parts: Vec<&str> = rest.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let n: Vec<i64> = parts.iter().map(|p| p.parse().unwrap_or(0)).collect();
    Some(sign * (n[0] * 3600 + n[1] * 60 + n.get(2).copied().unwrap_or(0)))
}

pub(super) fn parse(o: &mut Options<'_>) -> Result<TimezoneConfig, TransformConfigError> {
    let zone = o.required("converted.timezone")?;
    let offset_seconds = parse_offset(zone).ok_or_else(|| {
        error(
            o.property("converted.timezone"),
            format!("{zone:?}: give a UTC offset (+hh:mm, e.g. +08:00) or UTC; geographic zones are not supported (raftcdc has no time-zone database)"),
        )
    })?;
    let include = o.list("include.list");
    let exclude = o.list("exclude.list");
    let (mode, rules, option) = match (include.is_empty(), exclude.is_empty()) {
        (false, false) => return Err(error(o.property("exclude.list"), "Both include and exclude lists are specified. Please specify only one.")),
        (false, true) => (RuleMode::Include, include, "include.list"),
        (true, false) => (RuleMode::Exclude, exclude, "exclude.list"),
        (true, true) => (RuleMode::All, Vec::new(), ""),
    };
    let mut config = TimezoneConfig { offset_seconds, mode, topics: BTreeMap::new(), tables: BTreeMap::new(), unprefixed: BTreeMap::new() };
    let mut prefix: Option<&str> = None;
    for (i, item) in rules.iter().enumerate() {
        let parts: Vec<&str> = item.split(':').collect();
        let valid = parts.len() <= 3
            && (i > 0 || parts.len() >= 2)
            && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || "\"._ ".contains(c)));
        if !valid {
            return Err(error(
                o.property(option),
                format!("{item:?}: rules are source:<tablename>[:<fieldname>], topic:<topicname>[:<fieldname>] or <matchname>:<fieldname>"),
            ));
        }
        let (this_prefix, name, field) = match parts.as_slice() {
            [name] => (None, *name, None),
            [p, name, rest @ ..] if p.eq_ignore_ascii_case("source") || p.eq_ignore_ascii_case("topic") => (Some(if p.eq_ignore_ascii_case("source") { "source" } else { "topic" }), *name, rest.first().copied()),
            [name, field] => (None, *name, Some(*field)),
            _ => {
                return Err(error(o.property(option), format!("{item:?}: a rule with three parts starts with source: or topic:")));
            }
        };
        if this_prefix.is_some() {
            prefix = this_prefix;
        }
        let map = match prefix {
            Some("topic") => &mut config.topics,
            Some(_) => &mut config.tables,
            None => &mut config.unprefixed,
        };
        let fields = map.entry(name.to_owned()).or_default();
        if let Some(field) = field {
            fields.insert(field.to_owned());
        }
    }
    Ok(config)
}

const ZONED_TIMESTAMP: &str = "io.debezium.time.ZonedTimestamp";
const ZONED_TIME: &str = "io.debezium.time.ZonedTime";

pub(super) struct TimezoneConverter {
    config: TimezoneConfig,
}

/// What to convert in one event.
enum Selection<'a> {
    All,
    Only(&'a BTreeSet<String>),
    Except(&'a BTreeSet<String>),
}

impl TimezoneConverter {
    pub(super) fn new(config: TimezoneConfig) -> TimezoneConverter {
        TimezoneConverter { config }
    }

    fn rule<'a>(&'a self, table: Option<&str>, topic: &str) -> Option<&'a BTreeSet<String>> {
        let c = &self.config;
        c.topics
            .get(topic)
            .or_else(|| table.and_then(|t| c.tables.get(t)))
            .or_else(|| c.unprefixed.get(topic))
            .or_else(|| table.and_then(|t| c.unprefixed.get(t)))
    }

    pub(super) fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, String> {
        let Some(schema) = record.value.schema.clone().filter(|s| s.name.as_deref().is_some_and(|n| n.ends_with(".Envelope"))) else {
            return Ok(Some(record));
        };
        let Value::Struct(members) = &mut record.value.value else { return Ok(Some(record)) };
        let fields = struct_fields(&schema);
        let position = |name: &str| fields.iter().position(|(n, _)| n == name);
        let table = position("source").and_then(|i| match &members[i] {
            Value::Struct(source) => struct_fields(&fields[i].1)
                .iter()
                .position(|(n, _)| n == "table")
                .and_then(|t| source[t].as_str().map(str::to_owned)),
            _ => None,
        });
        let c = &self.config;
        let selection = match c.mode {
            RuleMode::All => {
                let named = c.topics.contains_key(&record.topic)
                    || table.as_ref().is_some_and(|t| c.tables.contains_key(t) || c.unprefixed.contains_key(t));
                if named {
                    return Ok(Some(record));
                }
                Selection::All
            }
            RuleMode::Include => match self.rule(table.as_deref(), &record.topic) {
                None => return Ok(Some(record)),
                Some(fields) if fields.is_empty() => Selection::All,
                Some(fields) => Selection::Only(fields),
            },
            RuleMode::Exclude => match self.rule(table.as_deref(), &record.topic) {
                None => Selection::All,
                Some(fields) if fields.is_empty() => return Ok(Some(record)),
                Some(fields) => Selection::Except(fields),
            },
        };
        let offset = self.config.offset_seconds;
        for part in ["before", "after", "source"] {
            let Some(i) = position(part) else { continue };
            let named = match &selection {
                Selection::All => None,
                Selection::Only(set) | Selection::Except(set) => Some(part_fields(set, part)),
            };
            // `source` is converted only when a rule names its fields.
            if part == "source" && named.as_ref().is_none_or(|n| n.is_empty()) {
                continue;
            }
            let wanted = |name: &str| match (&selection, &named) {
                (Selection::Only(_), Some(n)) => n.contains(name),
                (Selection::Except(_), Some(n)) => !n.contains(name),
                _ => true,
            };
            let Value::Struct(values) = &mut members[i] else { continue };
            for (j, (name, field)) in struct_fields(&fields[i].1).iter().enumerate() {
                let Some(logical) = field.name.as_deref() else { continue };
                if values[j].is_null() || !wanted(name) {
                    continue;
                }
                values[j] = shift(logical, std::mem::replace(&mut values[j], Value::Null), offset)?;
            }
        }
        Ok(Some(record))
    }
}

/// The fields of `set` that apply to `part` (`before`, `after`, `source`):
/// `part.x`, and a plain `x` for the rows.
fn part_fields<'a>(set: &'a BTreeSet<String>, part: &str) -> BTreeSet<&'a str> {
    set.iter()
        .filter_map(|f| match ["source.", "before.", "after."].iter().find(|p| f.starts_with(**p)) {
            Some(prefix) => (prefix[..prefix.len() - 1] == *part).then(|| &f[prefix.len()..]),
            None => (part != "source").then_some(f.as_str()),
        })
        .collect()
}

/// One value of logical type `logical`, moved to the offset.
fn shift(logical: &str, value: Value, offset: i64) -> Result<Value, String> {
    Ok(match (logical, value) {
        (ZONED_TIMESTAMP, Value::String(s)) => Value::String(zoned_timestamp(&s, offset)?),
        (ZONED_TIME, Value::String(s)) => Value::String(zoned_time(&s, offset)?),
        ("io.debezium.time.Timestamp" | "org.apache.kafka.connect.data.Timestamp", Value::Int(ms)) => Value::Int(ms - offset * 1000),
        ("io.debezium.time.MicroTimestamp", Value::Int(us)) => Value::Int(us - offset * 1_000_000),
        ("io.debezium.time.NanoTimestamp", Value::Int(ns)) => Value::Int(ns - offset * 1_000_000_000),
        (_, other) => other,
    })
}

/// `+hh:mm[:ss]` or `Z` (Java's `appendOffsetId`).
fn offset_id(offset: i64) -> String {
    if offset == 0 {
        return "Z".into();
    }
    let a = offset.abs();
    let mut s = format!("{}{:02}:{:02}", if offset < 0 { '-' } else { '+' }, a / 3600, a / 60 % 60);
    if a % 60 != 0 {
        s.push_str(&format!(":{:02}", a % 60));
    }
    s
}

/// `HH:mm:ss[.fraction]`, the fraction without trailing zeros.
fn local_time(seconds_of_day: i64, nanos: i64) -> String {
    let mut s = format!("{:02}:{:02}:{:02}", seconds_of_day / 3600, seconds_of_day / 60 % 60, seconds_of_day % 60);
    if nanos > 0 {
        s.push_str(format!(".{nanos:09}").trim_end_matches('0'));
    }
    s
}

/// Parses `HH:mm[:ss[.f]]` and an offset id; (seconds of day, nanos, offset).
fn parse_time_and_offset(text: &str) -> Option<(i64, i64, i64)> {
    let split = text.find(['Z', '+', '-'])?;
    let (time, zone) = text.split_at(split);
    let offset = if zone == "Z" { 0 } else { parse_offset(zone)? };
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let n: Vec<i64> = hms.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if !(2..=3).contains(&n.len()) || fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = if fraction.is_empty() { 0 } else { format!("{fraction:0<9}").parse().ok()? };
    Some((n[0] * 3600 + n[1] * 60 + n.get(2).copied().unwrap_or(0), nanos, offset))
}

fn zoned_timestamp(text: &str, to: i64) -> Result<String, String> {
    let bad = || format!("{text:?} is not an ISO offset date-time");
    let (date, time) = text.split_once('T').ok_or_else(bad)?;
    let d: Vec<i64> = date.rsplitn(3, '-').map(|p| p.parse().ok()).collect::<Option<Vec<_>>>().ok_or_else(bad)?;
    let [day, month, year] = d[..] else { return Err(bad()) };
    let (seconds, nanos, from) = parse_time_and_offset(time).ok_or_else(bad)?;
    let epoch = days_from_civil(year, month, day) * 86_400 + seconds - from + to;
    let (y, m, dd) = civil_from_days(epoch.div_euclid(86_400));
    let year = if (0..10_000).contains(&y) { format!("{y:04}") } else { format!("{y:+05}") };
    Ok(format!("{year}-{m:02}-{dd:02}T{}{}", local_time(epoch.rem_euclid(86_400), nanos), offset_id(to)))
}

fn zoned_time(text: &str, to: i64) -> Result<String, String> {
    let (seconds, nanos, from) = parse_time_and_offset(text).ok_or_else(|| format!("{text:?} is not an ISO offset time"))?;
    Ok(format!("{}{}", local_time((seconds - from + to).rem_euclid(86_400), nanos), offset_id(to)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::envelope::schema::{ConnectSchema, SchemaType};
    use crate::transform::config::{TransformKind, TransformsConfig};
    use crate::transform::record::Data;

    fn converter(options: &[(&str, &str)]) -> TimezoneConverter {
        let mut props: std::collections::BTreeMap<String, String> =
            [("transforms", "tz"), ("transforms.tz.type", "io.debezium.transforms.TimezoneConverter"), ("transforms.tz.converted.timezone", "+01:00")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        for (k, v) in options {
            props.insert(format!("transforms.tz.{k}"), v.to_string());
        }
        match TransformsConfig::parse(&props).unwrap().transforms.remove(0).kind {
            TransformKind::TimezoneConverter(c) => TimezoneConverter::new(c),
            _ => unreachable!(),
        }
    }

    /// A change event of `table` whose rows have two `io.debezium.time.Timestamp`
    /// fields `a` and `b` (both 3 600 000) and whose source has `ts` (the same).
    fn event(table: &str) -> ConnectRecord {
        let ts = || ConnectSchema::new(SchemaType::Int64).named("io.debezium.time.Timestamp", Some(1)).optional(true);
        let row = ConnectSchema::structure(vec![("a".into(), ts()), ("b".into(), ts())]).optional(true);
        let source = ConnectSchema::structure(vec![("table".into(), ConnectSchema::new(SchemaType::String)), ("ts".into(), ts())]);
        let envelope = ConnectSchema::structure(vec![("before".into(), row.clone()), ("after".into(), row), ("source".into(), source)]).named("t.Envelope", None);
        let hour = || Value::Int(3_600_000);
        ConnectRecord {
            topic: format!("srv.db.{table}"),
            key: Data::null(),
            value: Data::new(
                Arc::new(envelope),
                Value::Struct(vec![Value::Null, Value::Struct(vec![hour(), hour()]), Value::Struct(vec![Value::String(table.into()), hour()])]),
            ),
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// (after.a, after.b, source.ts) once converted.
    fn converted(tz: &mut TimezoneConverter, table: &str) -> (i64, i64, i64) {
        let out = tz.apply(event(table)).unwrap().unwrap();
        let Value::Struct(members) = out.value.value else { panic!() };
        let int = |v: &Value| if let Value::Int(i) = v { *i } else { panic!() };
        match (&members[1], &members[2]) {
            (Value::Struct(after), Value::Struct(source)) => (int(&after[0]), int(&after[1]), int(&source[1])),
            _ => panic!(),
        }
    }

    #[test]
    fn include_and_exclude_lists_pick_events_and_fields() {
        let (h, moved) = (3_600_000, 0);
        assert_eq!(converted(&mut converter(&[]), "t"), (moved, moved, h), "all row fields, not source");
        let mut include = converter(&[("include.list", "source:t:a,source:t:source.ts")]);
        assert_eq!(converted(&mut include, "t"), (moved, h, moved), "a row field and a source field");
        assert_eq!(converted(&mut include, "u"), (h, h, h), "other tables are left alone");
        let mut exclude = converter(&[("exclude.list", "topic:srv.db.t:b")]);
        assert_eq!(converted(&mut exclude, "t"), (moved, h, h));
        assert_eq!(converted(&mut exclude, "u"), (moved, moved, h));
        let mut whole = converter(&[("exclude.list", "source:t")]);
        assert_eq!(converted(&mut whole, "t"), (h, h, h));
    }

    #[test]
    fn zoned_strings_move_to_the_offset() {
        assert_eq!(zoned_timestamp("2024-01-02T03:04:05.678Z", 19_800).unwrap(), "2024-01-02T08:34:05.678+05:30");
        assert_eq!(zoned_timestamp("2024-01-01T01:00:00Z", -28_800).unwrap(), "2023-12-31T17:00:00-08:00");
        assert_eq!(zoned_timestamp("2024-01-01T01:00:00.120000+01:00", 0).unwrap(), "2024-01-01T00:00:00.12Z");
        assert_eq!(zoned_time("23:30:00Z", 3600).unwrap(), "00:30:00+01:00");
        assert_eq!(parse_offset("+05:30"), Some(19_800));
        assert_eq!(parse_offset("Asia/Kolkata"), None);
    }
}
