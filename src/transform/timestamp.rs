//! Kafka's `org.apache.kafka.connect.transforms.TimestampConverter$Key`/
//! `$Value`, and the Java `SimpleDateFormat` patterns it and
//! `TimestampRouter` format with ([`JavaDateFormat`]).
//!
//! # TimestampConverter, as Kafka 3.x does it
//! The whole key/value, or its struct field `field`, is read as a point in
//! time by its schema: `org.apache.kafka.connect.data.Timestamp`, `Date`
//! and `Time` by their logical names, any other `string` with `format`,
//! any other `int64` as a Unix time in `unix.precision` (so Debezium's
//! `io.debezium.time.Timestamp` is `unix` in milliseconds and
//! `MicroTimestamp` `unix` in microseconds). It is written as
//! `target.type`: `string` (with `format`), `unix` (in `unix.precision`,
//! truncated), or Connect's `Date` (the day), `Time` (the time of day) or
//! `Timestamp`, each with a schema that keeps the field's optional flag;
//! the struct around it is copied as Kafka's `copySchemaBasics` copies
//! (name, version, doc, parameters; required).
//! Everything is in UTC, as Kafka's converter works. A null stays null
//! (the field's default first, with `replace.null.with.default`). Other
//! types fail the record, naming the schema, as Kafka's does.
//!
//! # Patterns
//! `G y M d H k K h m s S E a D u z Z X` and quoted text, as
//! `SimpleDateFormat` reads and writes them (numbers padded to the letter
//! count, `yy` two digits, `MMM`/`MMMM` and `E`/`EEEE` English names, zones
//! always UTC: `z` → `UTC`, `Z` → `+0000`, `X` → `Z`). Other letters are
//! refused at create. Dates use the proleptic Gregorian calendar (Java
//! switches to the Julian one before 1582-10-15).
use std::sync::Arc;

use super::config::{error, Options, Side, TransformConfigError};
use super::record::{struct_fields, ConnectRecord, Data, SchemaRef, Value};
use crate::envelope::schema::{ConnectSchema, SchemaType};

const DAY_MS: i64 = 86_400_000;
/// A two-digit year (`yy`) is read into 1947..=2046. Java reads it into
/// the 100 years around the current date; a fixed window keeps the
/// transform deterministic.
const TWO_DIGIT_YEARS_END: i64 = 2046;
const MONTHS: [&str; 12] = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(super) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
pub(super) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// One element of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Field(char, usize),
}

/// A Java `SimpleDateFormat` pattern, always in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaDateFormat {
    parts: Vec<Part>,
}

/// The broken-down UTC time of a millisecond instant.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    milli: i64,
    weekday: usize,
    day_of_year: i64,
}

impl Civil {
    fn of(ms: i64) -> Civil {
        let days = ms.div_euclid(DAY_MS);
        let in_day = ms.rem_euclid(DAY_MS);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: in_day / 3_600_000,
            minute: in_day / 60_000 % 60,
            second: in_day / 1000 % 60,
            milli: in_day % 1000,
            // 1970-01-01 was a Thursday.
            weekday: (days + 3).rem_euclid(7) as usize,
            day_of_year: days - days_from_civil(year, 1, 1) + 1,
        }
    }
}

fn padded(out: &mut String, n: i64, width: usize) {
    if n < 0 {
        out.push('-');
    }
    out.push_str(&format!("{:0width$}", n.abs()));
}

impl JavaDateFormat {
    /// Parses a pattern, refusing letters this implementation lacks.
    pub fn parse(pattern: &str) -> Result<JavaDateFormat, String> {
        let mut parts = Vec::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                let mut text = String::new();
                i += 1;
                if chars.get(i) == Some(&'\'') {
                    parts.push(Part::Literal("'".into()));
                    i += 1;
                    continue;
                }
                loop {
                    match chars.get(i) {
                        None => return Err(format!("{pattern:?}: unterminated quote")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            text.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            text.push(*ch);
                            i += 1;
                        }
                    }
                }
                parts.push(Part::Literal(text));
            } else if c.is_ascii_alphabetic() {
                if !"GyMdHkKhmsSEaDuzZX".contains(c) {
                    return Err(format!("{pattern:?}: pattern letter '{c}' is not supported"));
                }
                let mut n = 1;
                while chars.get(i + n) == Some(&c) {
                    n += 1;
                }
                parts.push(Part::Field(c, n));
                i += n;
            } else {
                parts.push(Part::Literal(c.to_string()));
                i += 1;
            }
        }
        Ok(JavaDateFormat { parts })
    }

    /// `format(new Date(ms))` in UTC.
    pub fn format_millis(&self, ms: i64) -> String {
        let t = Civil::of(ms);
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Field(c, n) => {
                    let n = *n;
                    match c {
                        'G' => out.push_str(if t.year > 0 { "AD" } else { "BC" }),
                        'y' if n == 2 => padded(&mut out, (if t.year > 0 { t.year } else { 1 - t.year }) % 100, 2),
                        'y' => padded(&mut out, if t.year > 0 { t.year } else { 1 - t.year }, n),
                        'M' if n >= 4 => out.push_str(MONTHS[(t.month - 1) as usize]),
                        'M' if n == 3 => out.push_str(&MONTHS[(t.month - 1) as usize][..3]),
                        'M' => padded(&mut out, t.month, n),
                        'd' => padded(&mut out, t.day, n),
                        'H' => padded(&mut out, t.hour, n),
                        'k' => padded(&mut out, if t.hour == 0 { 24 } else { t.hour }, n),
                        'K' => padded(&mut out, t.hour % 12, n),
                        'h' => padded(&mut out, if t.hour % 12 == 0 { 12 } else { t.hour % 12 }, n),
                        'm' => padded(&mut out, t.minute, n),
                        's' => padded(&mut out, t.second, n),
                        'S' => padded(&mut out, t.milli, n),
                        'E' if n >= 4 => out.push_str(DAYS[t.weekday]),
                        'E' => out.push_str(&DAYS[t.weekday][..3]),
                        'a' => out.push_str(if t.hour < 12 { "AM" } else { "PM" }),
                        'D' => padded(&mut out, t.day_of_year, n),
                        'u' => padded(&mut out, t.weekday as i64 + 1, n),
                        'z' => out.push_str(if n >= 4 { "Coordinated Universal Time" } else { "UTC" }),
                        'Z' => out.push_str("+0000"),
                        'X' => out.push('Z'),
                        _ => unreachable!("refused at parse"),
                    }
                }
            }
        }
        out
    }

    /// `parse(text)` in UTC (lenient: out-of-range fields roll over).
    pub fn parse_millis(&self, text: &str) -> Result<i64, String> {
        let fail = || format!("Could not parse timestamp: value ({text}) does not match pattern");
        let s = text.as_bytes();
        let mut at = 0;
        let (mut year, mut month, mut day, mut hour, mut minute, mut second, mut milli, mut pm, mut hour12) = (1970, 1, 1, 0, 0, 0, 0, None, false);
        let mut offset_ms = 0i64;
        let numeric = |p: &Part| matches!(p, Part::Field(c, n) if "ydHkKhmsSDu".contains(*c) || (*c == 'M' && *n < 3));
        for (index, part) in self.parts.iter().enumerate() {
            match part {
                Part::Literal(lit) => {
                    if !text[at..].starts_with(lit.as_str()) {
                        return Err(fail());
                    }
                    at += lit.len();
                }
                Part::Field(c, n) if numeric(part) => {
                    let abutting = self.parts.get(index + 1).is_some_and(numeric);
                    let start = at;
                    if s.get(at) == Some(&b'-') {
                        at += 1;
                    }
                    while at < s.len() && s[at].is_ascii_digit() && (!abutting || at - start < *n) {
                        at += 1;
                    }
                    let v: i64 = text[start..at].parse().map_err(|_| fail())?;
                    match c {
                        'y' if *n <= 2 && at - start == 2 => year = if 2000 + v > TWO_DIGIT_YEARS_END { 1900 + v } else { 2000 + v },
                        'y' => year = v,
                        'M' => month = v,
                        'd' => day = v,
                        'H' | 'k' => hour = if *c == 'k' && v == 24 { 0 } else { v },
                        'K' | 'h' => {
                            hour = if *c == 'h' && v == 12 { 0 } else { v };
                            hour12 = true;
                        }
                        'm' => minute = v,
                        's' => second = v,
                        'S' => milli = v,
                        _ => {}
                    }
                }
                Part::Field('M', _) => {
                    let rest = &text[at..];
                    let found = MONTHS.iter().enumerate().find_map(|(i, m)| {
                        if rest.starts_with(m) {
                            Some((i, m.len()))
                        } else if rest.starts_with(&m[..3]) {
                            Some((i, 3))
                        } else {
                            None
                        }
                    });
                    let (i, len) = found.ok_or_else(fail)?;
                    month = i as i64 + 1;
                    at += len;
                }
                Part::Field('E', _) => {
                    let rest = &text[at..];
                    let len = DAYS.iter().find_map(|d| if rest.starts_with(d) { Some(d.len()) } else if rest.starts_with(&d[..3]) { Some(3) } else { None }).ok_or_else(fail)?;
                    at += len;
                }
                Part::Field('a', _) => {
                    let rest = &text[at..];
                    pm = Some(if rest.starts_with("PM") { true } else if rest.starts_with("AM") { false } else { return Err(fail()) });
                    at += 2;
                }
                Part::Field('G', _) => at += 2,
                Part::Field(_, _) => {
                    // Zones: UTC, GMT, Z, or a numeric offset.
                    let rest = &text[at..];
                    if let Some(tail) = ["Coordinated Universal Time", "UTC", "GMT", "Z"].iter().find(|z| rest.starts_with(**z)) {
                        at += tail.len();
                    }
                    let rest = &text[at..];
                    if rest.starts_with('+') || rest.starts_with('-') {
                        let digits: String = rest[1..].chars().filter(|c| *c != ':').take(4).collect();
                        let consumed = rest[1..].chars().take_while(|c| c.is_ascii_digit() || *c == ':').count();
                        let (h, m) = (digits.get(..2).unwrap_or("0").parse::<i64>().map_err(|_| fail())?, digits.get(2..4).unwrap_or("0").parse::<i64>().unwrap_or(0));
                        offset_ms = (h * 60 + m) * 60_000 * if rest.starts_with('-') { -1 } else { 1 };
                        at += 1 + consumed;
                    }
                }
            }
        }
        if hour12 && pm == Some(true) {
            hour += 12;
        }
        // Lenient: months roll into years, the rest adds up.
        let months = year * 12 + (month - 1);
        let days = days_from_civil(months.div_euclid(12), months.rem_euclid(12) + 1, 1) + day - 1;
        Ok(days * DAY_MS + hour * 3_600_000 + minute * 60_000 + second * 1000 + milli - offset_ms)
    }
}

/// `target.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

/// `unix.precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnixPrecision {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

/// TimestampConverter's options.
#[derive(Debug, Clone)]
pub struct TimestampConverterConfig {
    pub field: Option<String>,
    pub target: TimestampType,
    pub format: Option<JavaDateFormat>,
    pub precision: UnixPrecision,
    pub replace_null_with_default: bool,
}

pub(super) fn parse_converter(o: &mut Options<'_>) -> Result<TimestampConverterConfig, TransformConfigError> {
    let field = o.take("field").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let target = match o.required("target.type")?.trim() {
        "string" => TimestampType::String,
        "unix" => TimestampType::Unix,
        "Date" => TimestampType::Date,
        "Time" => TimestampType::Time,
        "Timestamp" => TimestampType::Timestamp,
        other => return Err(error(o.property("target.type"), format!("{other:?} is not one of string, unix, Date, Time, Timestamp"))),
    };
    let property = o.property("format");
    let format = match o.take("format").filter(|f| !f.trim().is_empty()) {
        Some(f) => Some(JavaDateFormat::parse(f).map_err(|e| error(&property, e))?),
        None if target == TimestampType::String => {
            return Err(error(property, "TimestampConverter requires format option to be specified when using string timestamps"))
        }
        None => None,
    };
    let precision = match o.take("unix.precision").map(|p| p.trim().to_owned()).as_deref() {
        None | Some("milliseconds") => UnixPrecision::Milliseconds,
        Some("seconds") => UnixPrecision::Seconds,
        Some("microseconds") => UnixPrecision::Microseconds,
        Some("nanoseconds") => UnixPrecision::Nanoseconds,
        Some(other) => return Err(error(o.property("unix.precision"), format!("{other:?} is not one of seconds, milliseconds, microseconds, nanoseconds"))),
    };
    if let Some(v) = o.take("field.syntax.version") {
        if !v.trim().eq_ignore_ascii_case("v1") {
            return Err(error(o.property("field.syntax.version"), format!("{v:?}: only V1 (plain field names) is supported")));
        }
    }
    Ok(TimestampConverterConfig { field, target, format, precision, replace_null_with_default: o.boolean("replace.null.with.default", true)? })
}

const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
const DATE: &str = "org.apache.kafka.connect.data.Date";
const TIME: &str = "org.apache.kafka.connect.data.Time";

/// The schema of a `target.type`, optional or not.
fn target_schema(target: TimestampType, optional: bool) -> ConnectSchema {
    let schema = match target {
        TimestampType::String => ConnectSchema::new(SchemaType::String),
        TimestampType::Unix => ConnectSchema::new(SchemaType::Int64),
        TimestampType::Date => ConnectSchema::new(SchemaType::Int32).named(DATE, Some(1)),
        TimestampType::Time => ConnectSchema::new(SchemaType::Int32).named(TIME, Some(1)),
        TimestampType::Timestamp => ConnectSchema::new(SchemaType::Int64).named(TIMESTAMP, Some(1)),
    };
    schema.optional(optional)
}

pub(super) struct TimestampConverter {
    side: Side,
    config: TimestampConverterConfig,
    cache: std::collections::HashMap<usize, (SchemaRef, SchemaRef)>,
}

impl TimestampConverter {
    pub(super) fn new(side: Side, config: TimestampConverterConfig) -> TimestampConverter {
        TimestampConverter { side, config, cache: Default::default() }
    }

    fn source_type(schema: &ConnectSchema) -> Result<TimestampType, String> {
        Ok(match (schema.name.as_deref(), &schema.kind) {
            (Some(TIMESTAMP), _) => TimestampType::Timestamp,
            (Some(DATE), _) => TimestampType::Date,
            (Some(TIME), _) => TimestampType::Time,
            (_, SchemaType::String) => TimestampType::String,
            (_, SchemaType::Int64) => TimestampType::Unix,
            (_, kind) => return Err(format!("Schema {kind:?} does not correspond to a known timestamp type format")),
        })
    }

    /// Converts one value read as `from`.
    fn convert(&self, value: &Value, from: TimestampType) -> Result<Value, String> {
        let c = &self.config;
        let ms = match (from, value) {
            (_, Value::Null) => return Ok(Value::Null),
            (TimestampType::String, Value::String(s)) => c.format.as_ref().ok_or("TimestampConverter requires format option to be specified when using string timestamps")?.parse_millis(s)?,
            (TimestampType::Unix, Value::Int(n)) => match c.precision {
                UnixPrecision::Seconds => n * 1000,
                UnixPrecision::Milliseconds => *n,
                UnixPrecision::Microseconds => n / 1000,
                UnixPrecision::Nanoseconds => n / 1_000_000,
            },
            (TimestampType::Date, Value::Int(days)) => days * DAY_MS,
            (TimestampType::Time | TimestampType::Timestamp, Value::Int(ms)) => *ms,
            (from, other) => return Err(format!("a {from:?} timestamp holds {other:?}")),
        };
        Ok(match c.target {
            TimestampType::String => Value::String(c.format.as_ref().expect("checked at create").format_millis(ms)),
            TimestampType::Unix => Value::Int(match c.precision {
                UnixPrecision::Seconds => ms / 1000,
                UnixPrecision::Milliseconds => ms,
                UnixPrecision::Microseconds => ms * 1000,
                UnixPrecision::Nanoseconds => ms * 1_000_000,
            }),
            TimestampType::Date => Value::Int(ms.div_euclid(DAY_MS)),
            TimestampType::Time => Value::Int(ms.rem_euclid(DAY_MS)),
            TimestampType::Timestamp => Value::Int(ms),
        })
    }

    pub(super) fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, String> {
        let data = match self.side {
            Side::Key => &mut record.key,
            Side::Value => &mut record.value,
        };
        let Some(schema) = data.schema.clone() else {
            if data.is_null() {
                return Ok(Some(record));
            }
            return Err("TimestampConverter needs a schema".into());
        };
        let Some(field) = self.config.field.clone() else {
            let value = self.convert(&data.value, Self::source_type(&schema)?)?;
            *data = Data::new(Arc::new(target_schema(self.config.target, schema.optional)), value);
            return Ok(Some(record));
        };
        if data.value.is_null() {
            return Ok(Some(record));
        }
        let fields = struct_fields(&schema);
        let index = fields.iter().position(|(n, _)| *n == field);
        let key = Arc::as_ptr(&schema) as usize;
        let new_schema = match self.cache.get(&key) {
            Some((_, new)) => new.clone(),
            None => {
                // Kafka's `SchemaUtil.copySchemaBasics`: the copy is
                // required whatever the original's optional flag (as
                // Debezium 3.6.3's bundled Kafka writes it).
                let mut copy = (*schema).clone();
                copy.optional = false;
                if let (SchemaType::Struct(fields), Some(index)) = (&mut copy.kind, index) {
                    let optional = fields[index].1.optional;
                    fields[index].1 = target_schema(self.config.target, optional);
                }
                let new = Arc::new(copy);
                if self.cache.len() >= 1024 {
                    self.cache.clear();
                }
                self.cache.insert(key, (schema.clone(), new.clone()));
                new
            }
        };
        // A struct without the field gets the copied schema only.
        let Some(index) = index else {
            data.schema = Some(new_schema);
            return Ok(Some(record));
        };
        let from = Self::source_type(&fields[index].1)?;
        let Value::Struct(values) = &mut data.value else { return Err("the value is not a struct".into()) };
        let mut current = std::mem::replace(&mut values[index], Value::Null);
        if current.is_null() && self.config.replace_null_with_default {
            if let Some(default) = fields[index].1.default.as_deref() {
                let mut reader = super::codec::Reader::new(default);
                current = reader.value_for(&fields[index].1).map_err(|e| e.to_string())?;
            }
        }
        values[index] = self.convert(&current, from)?;
        data.schema = Some(new_schema);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_format_and_parse_in_utc() {
        let f = JavaDateFormat::parse("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").unwrap();
        assert_eq!(f.format_millis(1_704_164_645_678), "2024-01-02T03:04:05.678Z");
        assert_eq!(f.parse_millis("2024-01-02T03:04:05.678Z").unwrap(), 1_704_164_645_678);
        let f = JavaDateFormat::parse("yyyyMMdd").unwrap();
        assert_eq!(f.format_millis(0), "19700101");
        assert_eq!(f.parse_millis("20240229").unwrap(), days_from_civil(2024, 2, 29) * DAY_MS);
        let f = JavaDateFormat::parse("EEE, d MMM yy hh:mm a Z").unwrap();
        assert_eq!(f.format_millis(1_704_164_645_678), "Tue, 2 Jan 24 03:04 AM +0000");
        assert_eq!(JavaDateFormat::parse("yyyy-MM-dd HH:mm:ssXXX").unwrap().parse_millis("2024-01-02 08:34:05+05:30").unwrap(), 1_704_164_645_000);
        assert!(JavaDateFormat::parse("yyyy-ww").is_err());
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
