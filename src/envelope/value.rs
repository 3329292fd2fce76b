//! Column → Connect field: the per-column schema and the conversion of a
//! [`ColumnValue`] into its Debezium JSON representation.
//!
//! Owns the type mapping of Debezium's MySQL/MariaDB connectors
//! (<https://debezium.io/documentation/reference/stable/connectors/mysql.html#mysql-data-types>),
//! implemented after the code that produces it in Debezium 3.6.1.Final:
//! `JdbcValueConverters`, `BinlogValueConverters`, `MariaDbValueConverters`,
//! the binlog client deserializers in `RowDeserializers`, and the
//! `io.debezium.time`/`io.debezium.data` schema classes. Each rule below
//! names its source.
//!
//! | MySQL | schema | source |
//! |---|---|---|
//! | TINYINT, SMALLINT | int16 | DDL parser maps both to `SMALLINT` |
//! | TINYINT UNSIGNED | int16 | `BinlogValueConverters.schemaBuilder` |
//! | SMALLINT UNSIGNED, MEDIUMINT (any), INT | int32 | same |
//! | INT UNSIGNED, BIGINT | int64 | same |
//! | BIGINT UNSIGNED | int64 (`long`, wraps) or Decimal(20,0) (`precise`) | `bigint.unsigned.handling.mode` |
//! | BOOLEAN | boolean | DDL only |
//! | DECIMAL | Decimal bytes / double / string | `decimal.handling.mode`, `SpecialValueDecimal` |
//! | FLOAT | float32; DOUBLE: float64 | `schemaBuilder` (FLOAT with no scale, length ≤ 24) |
//! | FLOAT(M,D) | float64, the stored float widened | `schemaBuilder` (a scaled FLOAT is `Types.FLOAT`) |
//! | BIT(1) | boolean; BIT(n) `io.debezium.data.Bits` little-endian bytes | `JdbcValueConverters.convertBits` |
//! | CHAR, VARCHAR, TEXT, ENUM, SET, JSON | string (+ `Enum`/`EnumSet`/`Json` names) | |
//! | BINARY, VARBINARY, BLOB | bytes / base64 / base64-url-safe / hex string, BINARY(n) zero-padded | `binary.handling.mode`, DBZ-254 |
//! | DATE | int32 `io.debezium.time.Date` / `org.apache.kafka.connect.data.Date` | `time.precision.mode` |
//! | TIME | int64 `MicroTime` / int32 `org.apache.kafka.connect.data.Time` | same |
//! | DATETIME(0-3) / (4-6) | int64 `Timestamp` ms / `MicroTimestamp` µs; connect: `org.apache.kafka.connect.data.Timestamp` ms | same |
//! | TIMESTAMP | string `io.debezium.time.ZonedTimestamp`, UTC, `Z`, exactly fsp fraction digits if fsp > 0 | `ZonedTimestamp.toIsoString` |
//! | YEAR | int32 `io.debezium.time.Year` | `convertYearToInt` |
//! | GEOMETRY…/POINT | struct `io.debezium.data.geometry.Geometry` / `Point` | `BinlogGeometry` |
//! | UUID (MariaDB connector) | string `io.debezium.data.Uuid` | `MariaDbValueConverters` |
//! | INET6 (MariaDB) | string, the address as MariaDB prints it | none: Debezium's DDL parser refuses the type |
//!
//! Special values, as Debezium emits them while streaming:
//! - zero dates (`year`, `month` or `day` 0) and the zero TIMESTAMP are
//!   null (`RowDeserializers`), so an optional column emits `null` and a
//!   required one its default or the type's fallback (epoch `0`,
//!   `"1970-01-01T00:00:00Z"`, ...; `JdbcValueConverters.convertValue`);
//! - a `YEAR` of `0000` is emitted as `0`. (Debezium's binlog client
//!   builds `Year.of(1900 + byte)` and streams `1900`, while its snapshot
//!   reads `0` over JDBC; raftcdc emits the stored value in both.)
//! - DATE and DATETIME years 0001..=0099 are shifted into 1970..=2069
//!   (`enable.time.adjuster=true`, the default: `adjustTemporal`);
//! - an ENUM index 0 (the invalid value) is `""`; members containing a
//!   comma are emitted with it escaped as `\,`, as in the `allowed`
//!   parameter (`MySqlAntlrDdlParser.escapeOption`);
//! - an empty binary JSON value is `null`/`"{}"` (`convertJson`);
//! - values Debezium cannot convert (connect-mode TIME outside
//!   `00:00:00..=24:00:00`, an ENUM index past its members, a non-POINT in
//!   a POINT column) become null under the default
//!   `event.converting.failure.handling.mode=warn`, which fails in the
//!   converter for required fields; here they are `null` or
//!   [`EncodeError::Unconvertible`];
//! - impossible calendar dates (`2021-02-30`) fail the connector in Debezium
//!   (`event.processing.failure.handling.mode=fail`); here they are
//!   [`EncodeError::InvalidTemporal`], and the source fails or skips their
//!   rows event as that property says
//!   ([`crate::source::mysql::event_failure`]).
//!
//! `null` handling follows `JsonConverter` with
//! `replace.null.with.default=true` (its default): a null in a field whose
//! schema has a default is written as the default.

use super::column_mappers::{hash_hex, truncate_utf16, ValueMapping};
use super::json::{write_base64, write_escaped, write_f32, write_f64, write_hex, write_i64, write_str};
use super::schema::{ConnectSchema, SchemaType};
use super::{
    BigintUnsignedHandlingMode, BinaryHandlingMode, DecimalHandlingMode, EncodeError, EncodingOptions,
    TimePrecisionMode,
};
use crate::source::mysql::column::{ColumnSchema, ColumnType, ColumnValue, GeometryKind};

/// How one field's value is written.
#[derive(Debug, Clone)]
pub(crate) enum FieldKind {
    Integer,
    UnsignedPrecise,
    Boolean,
    Float32,
    Float64,
    DecimalPrecise,
    DecimalDouble,
    DecimalString,
    Bit1,
    Bits,
    Text,
    Binary(BinaryHandlingMode),
    Date,
    TimeMicros,
    TimeMillis,
    DateTimeMillis,
    DateTimeMicros,
    ZonedTimestamp { fsp: u8 },
    Year,
    Enum(Vec<String>),
    Set(Vec<String>),
    Json,
    Uuid,
    /// MariaDB `INET6` as its text form ([`inet6_text`]).
    Inet6,
    Geometry,
    Point,
}

/// A precomputed field: how to write it and what to write for null.
#[derive(Debug, Clone)]
pub(crate) struct FieldPlan {
    pub column: String,
    pub kind: FieldKind,
    pub optional: bool,
    /// The schema default, JSON-encoded.
    pub default: Option<Vec<u8>>,
    /// What Debezium writes for a null in a required column without default.
    pub fallback: Option<Vec<u8>>,
    /// A column mapper applied after conversion (value fields only).
    pub mapping: Option<ValueMapping>,
}

/// Debezium's escaping of ENUM/SET members (`escapeOption`): commas
/// become `\,`, so the comma-joined `allowed` list stays splittable.
fn escape_member(member: &str) -> String {
    member.replace(',', "\\,")
}

/// The field schema and write plan for a column.
pub(crate) fn plan_column(column: &ColumnSchema, options: &EncodingOptions) -> (ConnectSchema, FieldPlan) {
    use SchemaType as S;
    let optional = column.nullable;
    let prim = |kind: SchemaType| ConnectSchema::new(kind);
    let (schema, kind, fallback): (ConnectSchema, FieldKind, Option<Vec<u8>>) = match &column.column_type {
        ColumnType::TinyInt { .. } | ColumnType::SmallInt { unsigned: false } => {
            (prim(S::Int16), FieldKind::Integer, Some(b"0".to_vec()))
        }
        ColumnType::SmallInt { unsigned: true }
        | ColumnType::MediumInt { .. }
        | ColumnType::Int { unsigned: false } => (prim(S::Int32), FieldKind::Integer, Some(b"0".to_vec())),
        ColumnType::Int { unsigned: true } | ColumnType::BigInt { unsigned: false } => {
            (prim(S::Int64), FieldKind::Integer, Some(b"0".to_vec()))
        }
        ColumnType::BigInt { unsigned: true } => match options.bigint_unsigned {
            BigintUnsignedHandlingMode::Long => (prim(S::Int64), FieldKind::Integer, Some(b"0".to_vec())),
            BigintUnsignedHandlingMode::Precise => (
                decimal_schema(0, 20),
                FieldKind::UnsignedPrecise,
                Some(b"\"AA==\"".to_vec()),
            ),
        },
        ColumnType::Boolean => (prim(S::Boolean), FieldKind::Boolean, Some(b"false".to_vec())),
        ColumnType::Decimal { precision, scale, .. } => match options.decimal {
            DecimalHandlingMode::Precise => (
                decimal_schema(*scale, *precision),
                FieldKind::DecimalPrecise,
                Some(b"\"AA==\"".to_vec()),
            ),
            DecimalHandlingMode::Double => (prim(S::Float64), FieldKind::DecimalDouble, Some(b"0.0".to_vec())),
            DecimalHandlingMode::String => {
                let zero = if *scale == 0 {
                    "0".to_owned()
                } else {
                    format!("0.{}", "0".repeat(usize::from(*scale)))
                };
                (
                    prim(S::String),
                    FieldKind::DecimalString,
                    Some(format!("\"{zero}\"").into_bytes()),
                )
            }
        },
        // `BinlogValueConverters.schemaBuilder`: a FLOAT with a declared
        // scale is Types.FLOAT, which `JdbcValueConverters` maps to
        // float64; the stored float is widened (1234.567 → 1234.5670166015625).
        ColumnType::Float { scaled: true, .. } => (prim(S::Float64), FieldKind::Float64, Some(b"0.0".to_vec())),
        ColumnType::Float { .. } => (prim(S::Float32), FieldKind::Float32, Some(b"0.0".to_vec())),
        ColumnType::Double { .. } => (prim(S::Float64), FieldKind::Float64, Some(b"0.0".to_vec())),
        ColumnType::Bit { bits } if *bits <= 1 => (prim(S::Boolean), FieldKind::Bit1, Some(b"false".to_vec())),
        ColumnType::Bit { bits } => (
            prim(S::Bytes)
                .named("io.debezium.data.Bits", Some(1))
                .param("length", bits.to_string()),
            FieldKind::Bits,
            Some(b"\"\"".to_vec()),
        ),
        ColumnType::Char { .. } | ColumnType::VarChar { .. } | ColumnType::Text { .. } => {
            (prim(S::String), FieldKind::Text, Some(b"\"\"".to_vec()))
        }
        ColumnType::Binary { .. } | ColumnType::VarBinary { .. } | ColumnType::Blob { .. } => binary_field(options.binary),
        // Debezium has no INET6 mapping (its DDL parser refuses the type):
        // raftcdc writes the address as MariaDB prints it.
        ColumnType::Inet6 => (prim(S::String), FieldKind::Inet6, Some(b"\"::\"".to_vec())),
        // Only a DDL-aware schema layer produces `Uuid`, and only MariaDB has
        // the type, whose connector maps it so.
        ColumnType::Uuid => (
            prim(S::String).named("io.debezium.data.Uuid", Some(1)),
            FieldKind::Uuid,
            Some(b"\"\"".to_vec()),
        ),
        ColumnType::Date => match options.time_precision {
            TimePrecisionMode::AdaptiveTimeMicroseconds => (
                prim(S::Int32).named("io.debezium.time.Date", Some(1)),
                FieldKind::Date,
                Some(b"0".to_vec()),
            ),
            TimePrecisionMode::Connect => (
                prim(S::Int32).named("org.apache.kafka.connect.data.Date", Some(1)),
                FieldKind::Date,
                Some(b"0".to_vec()),
            ),
        },
        ColumnType::Time { .. } => match options.time_precision {
            TimePrecisionMode::AdaptiveTimeMicroseconds => (
                prim(S::Int64).named("io.debezium.time.MicroTime", Some(1)),
                FieldKind::TimeMicros,
                Some(b"0".to_vec()),
            ),
            TimePrecisionMode::Connect => (
                prim(S::Int32).named("org.apache.kafka.connect.data.Time", Some(1)),
                FieldKind::TimeMillis,
                Some(b"0".to_vec()),
            ),
        },
        ColumnType::DateTime { fsp } => match options.time_precision {
            TimePrecisionMode::AdaptiveTimeMicroseconds if *fsp <= 3 => (
                prim(S::Int64).named("io.debezium.time.Timestamp", Some(1)),
                FieldKind::DateTimeMillis,
                Some(b"0".to_vec()),
            ),
            TimePrecisionMode::AdaptiveTimeMicroseconds => (
                prim(S::Int64).named("io.debezium.time.MicroTimestamp", Some(1)),
                FieldKind::DateTimeMicros,
                Some(b"0".to_vec()),
            ),
            TimePrecisionMode::Connect => (
                prim(S::Int64).named("org.apache.kafka.connect.data.Timestamp", Some(1)),
                FieldKind::DateTimeMillis,
                Some(b"0".to_vec()),
            ),
        },
        ColumnType::Timestamp { fsp } => (
            prim(S::String).named("io.debezium.time.ZonedTimestamp", Some(1)),
            FieldKind::ZonedTimestamp { fsp: *fsp },
            Some(b"\"1970-01-01T00:00:00Z\"".to_vec()),
        ),
        ColumnType::Year => (
            prim(S::Int32).named("io.debezium.time.Year", Some(1)),
            FieldKind::Year,
            Some(b"0".to_vec()),
        ),
        ColumnType::Enum { values, .. } => {
            let members: Vec<String> = values.iter().map(|v| escape_member(v)).collect();
            (
                prim(S::String)
                    .named("io.debezium.data.Enum", Some(1))
                    .param("allowed", members.join(",")),
                FieldKind::Enum(members),
                Some(b"\"\"".to_vec()),
            )
        }
        ColumnType::Set { values, .. } => {
            let members: Vec<String> = values.iter().map(|v| escape_member(v)).collect();
            (
                prim(S::String)
                    .named("io.debezium.data.EnumSet", Some(1))
                    .param("allowed", members.join(",")),
                FieldKind::Set(members),
                Some(b"\"\"".to_vec()),
            )
        }
        ColumnType::Json | ColumnType::JsonText { .. } => (
            prim(S::String).named("io.debezium.data.Json", Some(1)),
            FieldKind::Json,
            Some(b"\"{}\"".to_vec()),
        ),
        ColumnType::Geometry {
            kind: GeometryKind::Point,
        } => (
            ConnectSchema::structure(vec![
                ("x".into(), prim(S::Float64)),
                ("y".into(), prim(S::Float64)),
                ("wkb".into(), prim(S::Bytes).optional(true)),
                ("srid".into(), prim(S::Int32).optional(true)),
            ])
            .named("io.debezium.data.geometry.Point", Some(1))
            .doc("Geometry (POINT)"),
            FieldKind::Point,
            None,
        ),
        ColumnType::Geometry { .. } => (
            ConnectSchema::structure(vec![
                ("wkb".into(), prim(S::Bytes)),
                ("srid".into(), prim(S::Int32).optional(true)),
            ])
            .named("io.debezium.data.geometry.Geometry", Some(1))
            .doc("Geometry")
            .optional(true),
            FieldKind::Geometry,
            Some(b"{\"wkb\":\"AQcAAAAAAAAA\",\"srid\":null}".to_vec()),
        ),
    };
    // Geometry's builder is optional regardless of the column.
    let optional = optional || schema.optional;
    let mut schema = schema.optional(optional);
    if let Some(comment) = &column.comment {
        schema = schema.doc(comment.clone());
    }
    let mut plan = FieldPlan {
        column: column.name.clone(),
        kind,
        optional,
        default: None,
        fallback,
        mapping: None,
    };
    if let Some(default) = column.default.as_ref().filter(|d| !d.is_null()) {
        let mut encoded = Vec::new();
        if plan.write(&mut encoded, default).is_ok() && encoded != b"null" {
            plan.default = Some(encoded.clone());
            schema.default = Some(encoded);
        }
    }
    (schema, plan)
}

fn decimal_schema(scale: u8, precision: u8) -> ConnectSchema {
    ConnectSchema::new(SchemaType::Bytes)
        .named("org.apache.kafka.connect.data.Decimal", Some(1))
        .param("scale", scale.to_string())
        .param("connect.decimal.precision", precision.to_string())
}

fn binary_field(mode: BinaryHandlingMode) -> (ConnectSchema, FieldKind, Option<Vec<u8>>) {
    let kind = match mode {
        BinaryHandlingMode::Bytes => SchemaType::Bytes,
        _ => SchemaType::String,
    };
    (
        ConnectSchema::new(kind),
        FieldKind::Binary(mode),
        Some(b"\"\"".to_vec()),
    )
}

/// An `INET6` value as MariaDB prints it (`Inet6::to_string`): lower-case
/// hex words without leading zeros, the first longest run of zero words
/// (even a single one) written `::`, and the IPv4-compatible
/// (`::1.2.3.4`) and IPv4-mapped (`::ffff:1.2.3.4`) forms in dotted quad.
pub(crate) fn inet6_text(raw: &[u8; 16]) -> String {
    use std::fmt::Write;
    let words: Vec<u16> = raw.chunks(2).map(|w| u16::from_be_bytes([w[0], w[1]])).collect();
    let (mut gap_pos, mut gap_len) = (usize::MAX, 0);
    let mut i = 0;
    while i < 8 {
        let run = words[i..].iter().take_while(|w| **w == 0).count();
        if run > gap_len {
            (gap_pos, gap_len) = (i, run);
        }
        i += run.max(1);
    }
    if gap_pos == 0 && (gap_len == 6 || (gap_len == 5 && words[5] == 0xffff)) {
        let prefix = if gap_len == 6 { "::" } else { "::ffff:" };
        return format!("{prefix}{}.{}.{}.{}", raw[12], raw[13], raw[14], raw[15]);
    }
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if i == gap_pos {
            out.push_str("::");
            i += gap_len;
            continue;
        }
        if !out.is_empty() && !out.ends_with(':') {
            out.push(':');
        }
        let _ = write!(out, "{:x}", words[i]);
        i += 1;
    }
    out
}

/// Outcome of converting one value.
enum Converted {
    Written,
    /// Debezium delivers null (zero dates, empty JSON).
    Null,
    /// Debezium cannot convert it (see module docs).
    Unconvertible(&'static str),
}

impl FieldPlan {
    /// Writes the JSON for `value` (a null, default, fallback or value),
    /// through the column's mapper if it has one.
    pub(crate) fn write(&self, out: &mut Vec<u8>, value: &ColumnValue) -> Result<(), EncodeError> {
        let Some(mapping) = &self.mapping else {
            return self.write_converted(out, value);
        };
        match mapping {
            // Debezium's mask replaces every value, null included.
            ValueMapping::Mask(mask) => {
                write_str(out, mask);
                Ok(())
            }
            ValueMapping::Truncate(n) => {
                if let (FieldKind::Binary(BinaryHandlingMode::Bytes), ColumnValue::Bytes(b)) = (&self.kind, value) {
                    write_binary(out, BinaryHandlingMode::Bytes, &b[..b.len().min(*n)]);
                    return Ok(());
                }
                self.write_mapped_string(out, value, |s| truncate_utf16(s, *n).to_owned())
            }
            ValueMapping::Hash { algorithm, salt, v2, cut_to } => {
                self.write_mapped_string(out, value, |s| hash_hex(*algorithm, salt, *v2, s, *cut_to))
            }
        }
    }

    /// Writes `value` converted, then, if that is a (non-null) string,
    /// `map` of it instead.
    fn write_mapped_string(&self, out: &mut Vec<u8>, value: &ColumnValue, map: impl FnOnce(&str) -> String) -> Result<(), EncodeError> {
        if value.is_null() {
            return self.write_converted(out, value);
        }
        let mut converted = Vec::new();
        self.write_converted(&mut converted, value)?;
        match serde_json::from_slice::<String>(&converted) {
            Ok(s) => write_str(out, &map(&s)),
            Err(_) => out.extend_from_slice(&converted),
        }
        Ok(())
    }

    /// Writes the JSON for `value` as Debezium's converter gives it.
    fn write_converted(&self, out: &mut Vec<u8>, value: &ColumnValue) -> Result<(), EncodeError> {
        let mark = out.len();
        match self.convert(out, value)? {
            Converted::Written => Ok(()),
            Converted::Null => {
                out.truncate(mark);
                self.write_null(out)
            }
            Converted::Unconvertible(reason) => {
                out.truncate(mark);
                if self.optional {
                    self.write_null(out)
                } else {
                    Err(EncodeError::Unconvertible {
                        column: self.column.clone(),
                        reason,
                    })
                }
            }
        }
    }

    fn write_null(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.optional {
            match &self.default {
                // JsonConverter's replace.null.with.default (default true).
                Some(d) => out.extend_from_slice(d),
                _ => out.extend_from_slice(b"null"),
            }
            return Ok(());
        }
        match self.default.as_ref().or(self.fallback.as_ref()) {
            Some(d) => {
                out.extend_from_slice(d);
                Ok(())
            }
            None => Err(EncodeError::Unconvertible {
                column: self.column.clone(),
                reason: "null in a required field",
            }),
        }
    }

    fn mismatch(&self, value: &ColumnValue) -> EncodeError {
        // The kind only: values may be sensitive and end up in logs.
        EncodeError::TypeMismatch {
            column: self.column.clone(),
            value: value.kind_name(),
        }
    }

    fn convert(&self, out: &mut Vec<u8>, value: &ColumnValue) -> Result<Converted, EncodeError> {
        use ColumnValue as V;
        if value.is_null() {
            return Ok(Converted::Null);
        }
        match (&self.kind, value) {
            (FieldKind::Integer, V::Int(v)) => write_i64(out, *v),
            // `long` mode for BIGINT UNSIGNED reinterprets the bits, as Debezium does.
            (FieldKind::Integer, V::UInt(v)) => write_i64(out, *v as i64),
            (FieldKind::Integer, V::Year(y)) => write_i64(out, i64::from(*y)),
            (FieldKind::UnsignedPrecise, V::UInt(v)) => write_unscaled(out, false, &v.to_be_bytes()),
            (FieldKind::UnsignedPrecise, V::Int(v)) => write_unscaled(out, false, &(*v as u64).to_be_bytes()),
            (FieldKind::Boolean, V::Int(v)) => out.extend_from_slice(if *v != 0 { b"true" } else { b"false" }),
            (FieldKind::Boolean, V::UInt(v)) => out.extend_from_slice(if *v != 0 { b"true" } else { b"false" }),
            (FieldKind::Float32, V::Float(v)) => write_f32(out, *v),
            (FieldKind::Float32, V::Double(v)) => write_f32(out, *v as f32),
            (FieldKind::Float64, V::Double(v)) => write_f64(out, *v),
            (FieldKind::Float64, V::Float(v)) => write_f64(out, f64::from(*v)),
            (FieldKind::DecimalPrecise, V::Decimal(s)) => {
                // Up to 38 digits fit an u128; DECIMAL(65) needs the slow path.
                let digits = s.bytes().filter(u8::is_ascii_digit).count();
                let fast = (digits <= 38).then(|| {
                    let negative = s.starts_with('-');
                    let mut v: u128 = 0;
                    for b in s.bytes().filter(u8::is_ascii_digit) {
                        v = v * 10 + u128::from(b - b'0');
                    }
                    (negative, v)
                });
                match fast {
                    Some((negative, v)) => write_unscaled(out, negative, &v.to_be_bytes()),
                    None => {
                        let (negative, magnitude) = decimal_magnitude(s).ok_or_else(|| self.mismatch(value))?;
                        write_unscaled(out, negative, &magnitude);
                    }
                }
            }
            (FieldKind::DecimalDouble, V::Decimal(s)) => {
                write_f64(out, s.parse::<f64>().map_err(|_| self.mismatch(value))?)
            }
            (FieldKind::DecimalString, V::Decimal(s)) => write_str(out, s),
            (FieldKind::Bit1, V::Bit(bytes)) => {
                let set = bytes.last().is_some_and(|b| b & 1 != 0);
                out.extend_from_slice(if set { b"true" } else { b"false" });
            }
            (FieldKind::Bits, V::Bit(bytes)) => {
                // Big-endian as stored → little-endian as Debezium emits.
                let reversed: Vec<u8> = bytes.iter().rev().copied().collect();
                out.push(b'"');
                write_base64(out, &reversed, false);
                out.push(b'"');
            }
            // MariaDB JSON (text): an empty value is null/"{}" as for binary JSON.
            (FieldKind::Json, V::Text(s)) if s.is_empty() => return Ok(Converted::Null),
            (FieldKind::Text | FieldKind::Json, V::Text(s)) => write_str(out, s),
            (FieldKind::Text, V::Bytes(b)) => write_str(out, &String::from_utf8_lossy(b)),
            (FieldKind::Json, V::Json(s)) => {
                if s.is_empty() {
                    return Ok(Converted::Null);
                }
                write_str(out, s)
            }
            (FieldKind::Binary(mode), V::Bytes(b)) => write_binary(out, *mode, b),
            (FieldKind::Binary(mode), V::Text(s)) => write_binary(out, *mode, s.as_bytes()),
            (FieldKind::Date, V::Date { year, month, day }) => {
                if *year == 0 || *month == 0 || *day == 0 {
                    return Ok(Converted::Null);
                }
                let days = epoch_days(*year, *month, *day).ok_or_else(|| self.invalid_temporal(value))?;
                write_i64(out, days + year_adjustment_days(*year, *month, *day));
            }
            (
                FieldKind::TimeMicros,
                V::Time {
                    negative,
                    hours,
                    minutes,
                    seconds,
                    micros,
                },
            ) => {
                let abs = time_micros(*hours, *minutes, *seconds, *micros);
                write_i64(out, if *negative { -abs } else { abs });
            }
            (
                FieldKind::TimeMillis,
                V::Time {
                    negative,
                    hours,
                    minutes,
                    seconds,
                    micros,
                },
            ) => {
                let abs = time_micros(*hours, *minutes, *seconds, *micros);
                if (*negative && abs != 0) || abs > 86_400_000_000 {
                    return Ok(Converted::Unconvertible(
                        "TIME outside 00:00:00..=24:00:00 in connect mode",
                    ));
                }
                write_i64(out, abs / 1000);
            }
            (
                FieldKind::DateTimeMillis | FieldKind::DateTimeMicros,
                V::DateTime {
                    year,
                    month,
                    day,
                    hour,
                    minute,
                    second,
                    micros,
                },
            ) => {
                if *year == 0 || *month == 0 || *day == 0 {
                    return Ok(Converted::Null);
                }
                if *hour > 23 || *minute > 59 || *second > 59 || *micros > 999_999 {
                    return Err(self.invalid_temporal(value));
                }
                let days = epoch_days(*year, *month, *day).ok_or_else(|| self.invalid_temporal(value))?
                    + year_adjustment_days(*year, *month, *day);
                let secs = days * 86_400 + i64::from(*hour) * 3600 + i64::from(*minute) * 60 + i64::from(*second);
                let total_micros = secs * 1_000_000 + i64::from(*micros);
                if matches!(self.kind, FieldKind::DateTimeMillis) {
                    write_i64(out, total_micros.div_euclid(1000));
                } else {
                    write_i64(out, total_micros);
                }
            }
            (FieldKind::ZonedTimestamp { fsp }, V::Timestamp { secs, micros }) => {
                if *secs == 0 && *micros == 0 {
                    return Ok(Converted::Null);
                }
                out.push(b'"');
                write_zoned_timestamp(out, *secs, *micros, *fsp);
                out.push(b'"');
            }
            (FieldKind::Year, V::Year(y)) => write_i64(out, i64::from(*y)),
            (FieldKind::Year, V::Int(y)) => write_i64(out, *y),
            (FieldKind::Enum(members), V::Enum(index)) => {
                if *index == 0 {
                    write_str(out, "");
                } else {
                    match members.get(usize::from(*index) - 1) {
                        Some(m) => write_str(out, m),
                        None => return Ok(Converted::Unconvertible("ENUM index past its members")),
                    }
                }
            }
            (FieldKind::Enum(_) | FieldKind::Set(_), V::Text(s)) => write_str(out, s),
            (FieldKind::Set(members), V::Set(mask)) => {
                // `BinlogValueConverters.convertSetValue`, including its
                // separator for bits past the member list.
                out.push(b'"');
                let mut first = true;
                for index in 0..64 {
                    if mask >> index == 0 {
                        break;
                    }
                    if mask & (1 << index) != 0 {
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        if let Some(m) = members.get(index) {
                            write_escaped(out, m);
                        }
                    }
                }
                out.push(b'"');
            }
            (FieldKind::Inet6, V::Bytes(b)) => {
                let mut raw = [0u8; 16];
                let tail = &b[b.len().saturating_sub(16)..];
                raw[16 - tail.len()..].copy_from_slice(tail);
                out.push(b'"');
                out.extend_from_slice(inet6_text(&raw).as_bytes());
                out.push(b'"');
            }
            (FieldKind::Uuid, V::Bytes(b)) => {
                let mut raw = [0u8; 16];
                let tail = &b[b.len().saturating_sub(16)..];
                raw[16 - tail.len()..].copy_from_slice(tail);
                let mut hex = Vec::with_capacity(32);
                write_hex(&mut hex, &raw);
                out.push(b'"');
                for (i, range) in [0..8, 8..12, 12..16, 16..20, 20..32].into_iter().enumerate() {
                    if i > 0 {
                        out.push(b'-');
                    }
                    out.extend_from_slice(&hex[range]);
                }
                out.push(b'"');
            }
            (FieldKind::Geometry, V::Geometry(bytes)) => {
                let (srid, wkb) = split_geometry(bytes).ok_or_else(|| self.mismatch(value))?;
                out.extend_from_slice(b"{\"wkb\":\"");
                write_base64(out, wkb, false);
                out.extend_from_slice(b"\",\"srid\":");
                write_srid(out, srid);
                out.push(b'}');
            }
            (FieldKind::Point, V::Geometry(bytes)) => {
                let (srid, wkb) = split_geometry(bytes).ok_or_else(|| self.mismatch(value))?;
                let Some((x, y)) = parse_wkb_point(wkb) else {
                    return Ok(Converted::Unconvertible("not a POINT"));
                };
                out.extend_from_slice(b"{\"x\":");
                write_f64(out, x);
                out.extend_from_slice(b",\"y\":");
                write_f64(out, y);
                out.extend_from_slice(b",\"wkb\":\"");
                write_base64(out, wkb, false);
                out.extend_from_slice(b"\",\"srid\":");
                write_srid(out, srid);
                out.push(b'}');
            }
            _ => return Err(self.mismatch(value)),
        }
        Ok(Converted::Written)
    }

    fn invalid_temporal(&self, value: &ColumnValue) -> EncodeError {
        EncodeError::InvalidTemporal {
            column: self.column.clone(),
            value: value.to_string(),
        }
    }
}

fn write_binary(out: &mut Vec<u8>, mode: BinaryHandlingMode, bytes: &[u8]) {
    out.push(b'"');
    match mode {
        BinaryHandlingMode::Bytes | BinaryHandlingMode::Base64 => write_base64(out, bytes, false),
        BinaryHandlingMode::Base64UrlSafe => write_base64(out, bytes, true),
        BinaryHandlingMode::Hex => write_hex(out, bytes),
    }
    out.push(b'"');
}

fn write_srid(out: &mut Vec<u8>, srid: Option<i32>) {
    match srid {
        Some(s) => write_i64(out, i64::from(s)),
        None => out.extend_from_slice(b"null"),
    }
}

/// MySQL's geometry storage: 4-byte little-endian SRID, then WKB. SRID 0
/// is emitted as null (`BinlogGeometry.fromBytes`).
fn split_geometry(bytes: &[u8]) -> Option<(Option<i32>, &[u8])> {
    let (srid, wkb) = bytes.split_at_checked(4)?;
    let srid = i32::from_le_bytes([srid[0], srid[1], srid[2], srid[3]]);
    Some(((srid != 0).then_some(srid), wkb))
}

/// `Point.parseWKBPoint`: exactly 21 bytes, byte order, type 1, x, y.
fn parse_wkb_point(wkb: &[u8]) -> Option<(f64, f64)> {
    if wkb.len() != 21 {
        return None;
    }
    let little = wkb[0] != 0;
    let word = |b: &[u8]| -> [u8; 8] { [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]] };
    let ty = if little {
        u32::from_le_bytes([wkb[1], wkb[2], wkb[3], wkb[4]])
    } else {
        u32::from_be_bytes([wkb[1], wkb[2], wkb[3], wkb[4]])
    };
    if ty != 1 {
        return None;
    }
    let read = |b: &[u8]| {
        if little {
            f64::from_le_bytes(word(b))
        } else {
            f64::from_be_bytes(word(b))
        }
    };
    Some((read(&wkb[5..13]), read(&wkb[13..21])))
}

/// Debezium's time adjuster (`enable.time.adjuster=true`, the default;
/// `BinlogValueConverters.adjustTemporal`): years 0001..=0069 become
/// 2001..=2069 and 0070..=0099 become 1970..=1999, for DATE and DATETIME.
/// Returns the shift in days (0 for other years). Leap days survive the
/// shift: `y` and `y + 2000` (or `y + 1900` for 70..=99) are both leap or
/// both not.
fn year_adjustment_days(year: u16, month: u8, day: u8) -> i64 {
    let shifted = match year {
        1..=69 => year + 2000,
        70..=99 => year + 1900,
        _ => return 0,
    };
    match (epoch_days(shifted, month, day), epoch_days(year, month, day)) {
        (Some(to), Some(from)) => to - from,
        _ => 0,
    }
}

fn time_micros(hours: u16, minutes: u8, seconds: u8, micros: u32) -> i64 {
    (i64::from(hours) * 3600 + i64::from(minutes) * 60 + i64::from(seconds)) * 1_000_000 + i64::from(micros)
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date.
pub(crate) fn epoch_days(year: u16, month: u8, day: u8) -> Option<i64> {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// (year, month, day) of days since the epoch.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `ZonedTimestamp.toIsoString` for a UTC instant: `yyyy-MM-ddTHH:mm:ss`,
/// then for fsp > 0 exactly fsp fraction digits (truncated), for fsp 0 the
/// ISO formatter's minimal fraction (none for whole seconds), then `Z`.
pub(crate) fn write_zoned_timestamp(out: &mut Vec<u8>, secs: i64, micros: u32, fsp: u8) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        push_digits(out, y as u32, 4);
    } else {
        // ISO_LOCAL_DATE: sign and at least 4 digits outside 0000..=9999.
        out.extend_from_slice(if y < 0 { b"-" } else { b"+" });
        write_i64(out, y.abs());
    }
    out.push(b'-');
    push_digits(out, m, 2);
    out.push(b'-');
    push_digits(out, d, 2);
    out.push(b'T');
    push_digits(out, sod / 3600, 2);
    out.push(b':');
    push_digits(out, sod / 60 % 60, 2);
    out.push(b':');
    push_digits(out, sod % 60, 2);
    let micros = micros.min(999_999);
    if fsp > 0 {
        // Exactly fsp digits of the fraction (Java formats nanoseconds, so
        // widths past 6 are zeros).
        out.push(b'.');
        let width = u32::from(fsp.min(9));
        let nanos_digits = u64::from(micros) * 1000;
        push_digits(out, (nanos_digits / 10u64.pow(9 - width)) as u32, width as usize);
    } else if micros != 0 {
        let mut frac = micros;
        let mut width = 6;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        out.push(b'.');
        push_digits(out, frac, width);
    }
    out.push(b'Z');
}

/// `v` in decimal, zero-padded to at least `width` digits.
fn push_digits(out: &mut Vec<u8>, v: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut i = buf.len();
    let mut v = v;
    while v > 0 {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let start = i.min(buf.len() - width.min(buf.len()));
    out.extend_from_slice(&buf[start..]);
}

/// Sign and big-endian magnitude bytes of a canonical decimal's unscaled
/// value (`"-12.50"` → (true, 1250)).
fn decimal_magnitude(s: &str) -> Option<(bool, Vec<u8>)> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut magnitude: Vec<u8> = Vec::with_capacity(digits.len() / 2 + 1);
    for c in digits.bytes() {
        if c == b'.' {
            continue;
        }
        if !c.is_ascii_digit() {
            return None;
        }
        // magnitude = magnitude * 10 + digit, big-endian.
        let mut carry = u32::from(c - b'0');
        for byte in magnitude.iter_mut().rev() {
            let x = u32::from(*byte) * 10 + carry;
            *byte = (x & 0xFF) as u8;
            carry = x >> 8;
        }
        while carry > 0 {
            magnitude.insert(0, (carry & 0xFF) as u8);
            carry >>= 8;
        }
    }
    Some((negative, magnitude))
}

/// Writes `BigInteger.toByteArray()` of ±magnitude (minimal big-endian
/// two's complement) as a base64 JSON string — Connect's Decimal encoding.
fn write_unscaled(out: &mut Vec<u8>, negative: bool, magnitude: &[u8]) {
    let start = magnitude.iter().position(|&b| b != 0).unwrap_or(magnitude.len());
    let magnitude = &magnitude[start..];
    let mut bytes: Vec<u8> = Vec::with_capacity(magnitude.len() + 1);
    if magnitude.is_empty() {
        bytes.push(0);
    } else if !negative {
        if magnitude[0] & 0x80 != 0 {
            bytes.push(0);
        }
        bytes.extend_from_slice(magnitude);
    } else {
        bytes.extend(magnitude.iter().map(|b| !b));
        for byte in bytes.iter_mut().rev() {
            let (v, overflow) = byte.overflowing_add(1);
            *byte = v;
            if !overflow {
                break;
            }
        }
        if bytes[0] & 0x80 == 0 {
            bytes.insert(0, 0xFF);
        }
    }
    out.push(b'"');
    write_base64(out, &bytes, false);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unscaled(s: &str) -> String {
        let (neg, mag) = decimal_magnitude(s).expect("valid");
        let mut out = Vec::new();
        write_unscaled(&mut out, neg, &mag);
        String::from_utf8(out).expect("ascii")
    }

    #[test]
    fn decimal_unscaled_two_complement() {
        // BigInteger.valueOf(n).toByteArray(), base64.
        assert_eq!(unscaled("0.00"), "\"AA==\"");
        assert_eq!(unscaled("1.00"), "\"ZA==\""); // 100 = 0x64
        assert_eq!(unscaled("1.28"), "\"AIA=\""); // 128 = 0x00 0x80
        assert_eq!(unscaled("-1.28"), "\"gA==\""); // -128 = 0x80
        assert_eq!(unscaled("-1.29"), "\"/38=\""); // -129 = 0xFF 0x7F
        assert_eq!(unscaled("-0.01"), "\"/w==\""); // -1
        assert_eq!(unscaled("-2.56"), "\"/wA=\""); // -256 = 0xFF 0x00
        assert_eq!(unscaled("12345678901234567890.0123456789"), {
            // 123456789012345678900123456789 = 0x018EE90FF6C373E0EE4E3F0AD2 ... check via u128
            let v: u128 = 123_456_789_012_345_678_900_123_456_789;
            let be = v.to_be_bytes();
            let start = be.iter().position(|&b| b != 0).expect("nonzero");
            let mut bytes = be[start..].to_vec();
            if bytes[0] & 0x80 != 0 {
                bytes.insert(0, 0);
            }
            let mut out = b"\"".to_vec();
            write_base64(&mut out, &bytes, false);
            out.push(b'"');
            String::from_utf8(out).expect("ascii")
        });
        let mut out = Vec::new();
        write_unscaled(&mut out, false, &u64::MAX.to_be_bytes());
        assert_eq!(out, b"\"AP//////////\"");
    }

    #[test]
    fn epoch_day_conversions() {
        assert_eq!(epoch_days(1970, 1, 1), Some(0));
        assert_eq!(epoch_days(2018, 6, 20), Some(17_702));
        assert_eq!(epoch_days(1969, 12, 31), Some(-1));
        assert_eq!(epoch_days(1000, 1, 1), Some(-354_285));
        assert_eq!(epoch_days(2024, 2, 29), Some(19_782));
        assert_eq!(epoch_days(2023, 2, 29), None);
        assert_eq!(epoch_days(2021, 13, 1), None);
        for days in [-354_285i64, -1, 0, 17_702, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(epoch_days(y as u16, m as u8, d as u8), Some(days));
        }
    }

    #[test]
    fn zoned_timestamps() {
        let fmt = |secs, micros, fsp| {
            let mut out = Vec::new();
            write_zoned_timestamp(&mut out, secs, micros, fsp);
            String::from_utf8(out).expect("ascii")
        };
        assert_eq!(fmt(1_529_476_623, 0, 0), "2018-06-20T06:37:03Z");
        assert_eq!(fmt(1_529_476_623, 0, 3), "2018-06-20T06:37:03.000Z");
        assert_eq!(fmt(1_529_476_623, 120_000, 2), "2018-06-20T06:37:03.12Z");
        assert_eq!(fmt(1_529_476_623, 123_456, 6), "2018-06-20T06:37:03.123456Z");
        assert_eq!(fmt(1, 0, 0), "1970-01-01T00:00:01Z");
        assert_eq!(fmt(2_147_483_647, 999_999, 6), "2038-01-19T03:14:07.999999Z");
    }

    #[test]
    fn wkb_points() {
        let mut wkb = vec![1, 1, 0, 0, 0];
        wkb.extend_from_slice(&1.0f64.to_le_bytes());
        wkb.extend_from_slice(&2.0f64.to_le_bytes());
        assert_eq!(parse_wkb_point(&wkb), Some((1.0, 2.0)));
        assert_eq!(parse_wkb_point(&wkb[..20]), None);
        let mut with_srid = 4326u32.to_le_bytes().to_vec();
        with_srid.extend_from_slice(&wkb);
        assert_eq!(split_geometry(&with_srid), Some((Some(4326), &wkb[..])));
        assert_eq!(split_geometry(&[0, 0]), None);
    }
}
