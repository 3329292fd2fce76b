//! The column model: what a MySQL/MariaDB column *is* ([`ColumnSchema`],
//! [`ColumnType`]) and what one decoded cell *holds* ([`ColumnValue`]).
//!
//! This module owns the vocabulary shared by the binlog decoder
//! ([`super::decode`]) and the Debezium encoder ([`crate::envelope`]). It has
//! no knowledge of either wire format: the decoder builds [`ColumnSchema`]s
//! from a `TABLE_MAP` event and fills [`Row`]s, the encoder turns both into
//! Debezium JSON.
//!
//! # Where the schema comes from, and why that is enough
//!
//! With `binlog_row_metadata=FULL` every `TABLE_MAP` event carries, besides
//! the per-column binlog type and its metadata bytes, the column names, the
//! signedness of numeric columns, the collation of character, ENUM and SET
//! columns, the ENUM/SET member strings, the geometry sub-type and the
//! primary key. Together with the nullability bitmask that every table map
//! has, that describes the table *as of the row events that follow it*,
//! which is the property that matters: a schema read from
//! `information_schema` describes the table as of *now* and silently
//! mis-decodes events written before an `ALTER TABLE` (see
//! `docs/test-services.md`). Hence the decoder refuses table maps without
//! column names instead of guessing.
//!
//! # What the binlog alone cannot tell apart
//!
//! The table map records the *storage* type, not the type the user declared.
//! Debezium derives its mapping from the DDL text, so for these declarations
//! the binlog alone yields a different (storage-level) [`ColumnType`] than
//! Debezium would use. Each has a refined variant that a schema layer which
//! has parsed the DDL can set on [`ColumnSchema::column_type`]; the decoder's
//! output does not change, only the encoder's interpretation of it:
//!
//! | declared | binlog says | from the binlog | refined variant |
//! |---|---|---|---|
//! | `BOOL`/`BOOLEAN` | `TINY` | `TinyInt` (int16) | [`ColumnType::Boolean`] |
//! | MariaDB `JSON` | `BLOB`, utf8mb4 | `Text` (string) | [`ColumnType::JsonText`] |
//! | MariaDB `UUID` | `STRING(16)`, binary | `Binary{len:16}` | [`ColumnType::Uuid`] |
//! | MariaDB `INET6` | `STRING(16)`, binary | `Binary{len:16}` | [`ColumnType::Inet6`] |
//! | `FLOAT(M,D)` | `FLOAT` | `Float` (float32) | `Double` (Debezium: float64) |
//! | `REAL` (= `DOUBLE`) | `DOUBLE` | `Double` (float64) | `Float` (Debezium: float32) |
//!
//! Display widths (`INT(11)`), whether an fsp was written explicitly
//! (`DATETIME` vs `DATETIME(0)`, which Debezium treats alike), column
//! defaults and comments are not in the binlog either; [`ColumnSchema`] has
//! fields for defaults and comments that stay `None` unless a schema layer
//! fills them.
//!
//! # Values
//!
//! [`ColumnValue`] is the *decoded* value, faithful to what the server
//! stored (a `YEAR` of `0000` is `Year(0)`, a zero date is
//! `Date{0,0,0}`, an ENUM is its 1-based index). Mapping these to what
//! Debezium emits (null for zero dates in nullable columns, epoch for
//! required ones, 1900 for `YEAR 0000`, ...) is the encoder's job, so that
//! the decoder stays usable for other sinks.

use std::fmt;

/// A decoded row: one [`ColumnValue`] per table column, by column index.
/// Columns absent from a partial row image are [`ColumnValue::Null`].
pub type Row = Vec<ColumnValue>;

/// How large a BLOB/TEXT column is, from the number of bytes of its length
/// prefix in the row image (the table-map metadata byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlobSize {
    /// `TINYBLOB`/`TINYTEXT`: 1-byte length.
    Tiny,
    /// `BLOB`/`TEXT`: 2-byte length.
    Regular,
    /// `MEDIUMBLOB`/`MEDIUMTEXT`: 3-byte length.
    Medium,
    /// `LONGBLOB`/`LONGTEXT`: 4-byte length.
    Long,
}

impl BlobSize {
    /// From the table-map metadata byte (length-prefix width 1..=4).
    pub fn from_prefix_len(len: u8) -> Option<BlobSize> {
        match len {
            1 => Some(BlobSize::Tiny),
            2 => Some(BlobSize::Regular),
            3 => Some(BlobSize::Medium),
            4 => Some(BlobSize::Long),
            _ => None,
        }
    }

    /// Width in bytes of the length prefix in the row image.
    pub fn prefix_len(self) -> u8 {
        match self {
            BlobSize::Tiny => 1,
            BlobSize::Regular => 2,
            BlobSize::Medium => 3,
            BlobSize::Long => 4,
        }
    }

    /// Maximum length in bytes (`2^(8 * prefix) - 1`).
    pub fn max_len(self) -> u64 {
        (1u64 << (8 * u32::from(self.prefix_len()))) - 1
    }
}

/// The sub-type of a spatial column (binlog `GEOMETRY_TYPE` metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GeometryKind {
    Geometry,
    Point,
    LineString,
    Polygon,
    MultiPoint,
    MultiLineString,
    MultiPolygon,
    GeometryCollection,
}

impl GeometryKind {
    /// From the binlog code (MySQL/MariaDB `Field::geometry_type`).
    pub fn from_code(code: u64) -> GeometryKind {
        match code {
            1 => GeometryKind::Point,
            2 => GeometryKind::LineString,
            3 => GeometryKind::Polygon,
            4 => GeometryKind::MultiPoint,
            5 => GeometryKind::MultiLineString,
            6 => GeometryKind::MultiPolygon,
            7 => GeometryKind::GeometryCollection,
            _ => GeometryKind::Geometry,
        }
    }

    /// The SQL type name (`POINT`, `GEOMETRY`, ...).
    pub fn type_name(self) -> &'static str {
        match self {
            GeometryKind::Geometry => "GEOMETRY",
            GeometryKind::Point => "POINT",
            GeometryKind::LineString => "LINESTRING",
            GeometryKind::Polygon => "POLYGON",
            GeometryKind::MultiPoint => "MULTIPOINT",
            GeometryKind::MultiLineString => "MULTILINESTRING",
            GeometryKind::MultiPolygon => "MULTIPOLYGON",
            GeometryKind::GeometryCollection => "GEOMETRYCOLLECTION",
        }
    }
}

/// A character set, as far as decoding bytes to text is concerned.
///
/// The binlog gives collation ids; [`Charset::from_collation`] maps them.
/// Character sets outside this list are decoded as UTF-8 (lossily), which is
/// a documented gap: Debezium would use the Java charset of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    Utf8mb4,
    Utf8mb3,
    /// MySQL's `latin1` is Windows-1252 (Java: `Cp1252`).
    Latin1,
    Ascii,
    /// `binary`: the column holds bytes, not text.
    Binary,
    Ucs2,
    Utf16,
    Utf16le,
    Utf32,
    /// Anything else; decoded as UTF-8 with replacement characters.
    Other,
}

/// Collation id → (charset, charset name). Covers MySQL's ids (via
/// mysql_common's table) and MariaDB's own ranges (extra UCA collations at
/// 576..=767, `_nopad_` variants at id + 1024, UCA-14 collations from 2048).
pub fn collation_charset(collation: u16) -> (Charset, &'static str) {
    use mysql_common::collations::{Collation, CollationId};

    fn by_name(name: &str) -> Option<(Charset, &'static str)> {
        Some(match name {
            "utf8mb4" => (Charset::Utf8mb4, "utf8mb4"),
            "utf8" | "utf8mb3" => (Charset::Utf8mb3, "utf8mb3"),
            "latin1" => (Charset::Latin1, "latin1"),
            "ascii" => (Charset::Ascii, "ascii"),
            "binary" => (Charset::Binary, "binary"),
            "ucs2" => (Charset::Ucs2, "ucs2"),
            "utf16" => (Charset::Utf16, "utf16"),
            "utf16le" => (Charset::Utf16le, "utf16le"),
            "utf32" => (Charset::Utf32, "utf32"),
            _ => return None,
        })
    }

    fn mysql(collation: u16) -> Option<(Charset, &'static str)> {
        let id = CollationId::from(collation);
        if id == CollationId::UNKNOWN_COLLATION_ID {
            return None;
        }
        let resolved = Collation::resolve(id);
        Some(by_name(resolved.charset).unwrap_or((Charset::Other, resolved.charset)))
    }

    if collation == 63 {
        return (Charset::Binary, "binary");
    }
    if let Some(found) = mysql(collation) {
        return found;
    }
    let mariadb = match collation {
        576..=607 => Some((Charset::Utf8mb3, "utf8mb3")),
        608..=639 => Some((Charset::Utf8mb4, "utf8mb4")),
        640..=671 => Some((Charset::Ucs2, "ucs2")),
        672..=703 => Some((Charset::Utf16, "utf16")),
        704..=735 => Some((Charset::Utf16le, "utf16le")),
        736..=767 => Some((Charset::Utf32, "utf32")),
        1024..=2047 => mysql(collation - 1024),
        2048..=2303 => Some((Charset::Utf8mb3, "utf8mb3")),
        2304..=2559 => Some((Charset::Utf8mb4, "utf8mb4")),
        2560..=2815 => Some((Charset::Ucs2, "ucs2")),
        2816..=3071 => Some((Charset::Utf16, "utf16")),
        3072..=3327 => Some((Charset::Utf32, "utf32")),
        _ => None,
    };
    mariadb.unwrap_or((Charset::Other, "utf8mb4"))
}

impl Charset {
    /// Maximum bytes per character (`MAXLEN`), used to turn byte lengths
    /// from the table map into declared character lengths.
    pub fn max_bytes_per_char(self) -> u32 {
        match self {
            Charset::Utf8mb4 | Charset::Utf16 | Charset::Utf16le | Charset::Utf32 => 4,
            Charset::Utf8mb3 => 3,
            Charset::Ucs2 => 2,
            Charset::Latin1 | Charset::Ascii | Charset::Binary => 1,
            Charset::Other => 1,
        }
    }
}

/// The normalized type of a column. See the module docs for which variants
/// only a DDL-aware schema layer can produce (`Boolean`, `JsonText`, `Uuid`,
/// `Inet6`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnType {
    TinyInt {
        unsigned: bool,
    },
    SmallInt {
        unsigned: bool,
    },
    MediumInt {
        unsigned: bool,
    },
    Int {
        unsigned: bool,
    },
    BigInt {
        unsigned: bool,
    },
    /// `BOOL`/`BOOLEAN` (stored as `TINYINT(1)`); only from DDL.
    Boolean,
    Decimal {
        precision: u8,
        scale: u8,
        unsigned: bool,
    },
    /// `FLOAT`; `scaled` when declared `FLOAT(M,D)` (only from DDL:
    /// the binlog stores both alike).
    Float {
        unsigned: bool,
        scaled: bool,
    },
    Double {
        unsigned: bool,
    },
    Bit {
        bits: u16,
    },
    /// `CHAR(n)`: `max_bytes` is `n * mbmaxlen`.
    Char {
        collation: u16,
        max_bytes: u32,
    },
    /// `VARCHAR(n)`: `max_bytes` is `n * mbmaxlen`.
    VarChar {
        collation: u16,
        max_bytes: u32,
    },
    /// `TINYTEXT`..`LONGTEXT`.
    Text {
        collation: u16,
        size: BlobSize,
    },
    /// `BINARY(len)`; the binlog strips trailing zero bytes, the decoder
    /// pads them back.
    Binary {
        len: u32,
    },
    VarBinary {
        max_len: u32,
    },
    /// `TINYBLOB`..`LONGBLOB`.
    Blob {
        size: BlobSize,
    },
    Date,
    Time {
        fsp: u8,
    },
    DateTime {
        fsp: u8,
    },
    Timestamp {
        fsp: u8,
    },
    Year,
    Enum {
        values: Vec<String>,
        collation: u16,
    },
    Set {
        values: Vec<String>,
        collation: u16,
    },
    /// MySQL's native (binary) JSON type.
    Json,
    /// JSON stored as text (MariaDB's `JSON` alias for `LONGTEXT`); only
    /// from DDL.
    JsonText {
        collation: u16,
    },
    Geometry {
        kind: GeometryKind,
    },
    /// MariaDB `UUID` (16 bytes); only from DDL.
    Uuid,
    /// MariaDB `INET6` (16 bytes); only from DDL.
    Inet6,
}

impl ColumnType {
    /// Whether the column is an unsigned numeric type.
    pub fn is_unsigned(&self) -> bool {
        match *self {
            ColumnType::TinyInt { unsigned }
            | ColumnType::SmallInt { unsigned }
            | ColumnType::MediumInt { unsigned }
            | ColumnType::Int { unsigned }
            | ColumnType::BigInt { unsigned }
            | ColumnType::Decimal { unsigned, .. }
            | ColumnType::Float { unsigned, .. }
            | ColumnType::Double { unsigned } => unsigned,
            _ => false,
        }
    }

    /// The collation id of a character, ENUM or SET column.
    pub fn collation(&self) -> Option<u16> {
        match *self {
            ColumnType::Char { collation, .. }
            | ColumnType::VarChar { collation, .. }
            | ColumnType::Text { collation, .. }
            | ColumnType::Enum { collation, .. }
            | ColumnType::Set { collation, .. }
            | ColumnType::JsonText { collation } => Some(collation),
            _ => None,
        }
    }

    /// The MySQL type name as Debezium reports it (`typeName` in schema
    /// history, `__debezium.source.column.type`): upper case, without
    /// length, with ` UNSIGNED` for unsigned numerics (`INT UNSIGNED`).
    pub fn type_name(&self) -> String {
        let base = match self {
            ColumnType::TinyInt { .. } => "TINYINT",
            ColumnType::SmallInt { .. } => "SMALLINT",
            ColumnType::MediumInt { .. } => "MEDIUMINT",
            ColumnType::Int { .. } => "INT",
            ColumnType::BigInt { .. } => "BIGINT",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Decimal { .. } => "DECIMAL",
            ColumnType::Float { .. } => "FLOAT",
            ColumnType::Double { .. } => "DOUBLE",
            ColumnType::Bit { .. } => "BIT",
            ColumnType::Char { .. } => "CHAR",
            ColumnType::VarChar { .. } => "VARCHAR",
            ColumnType::Text { size, .. } => match size {
                BlobSize::Tiny => "TINYTEXT",
                BlobSize::Regular => "TEXT",
                BlobSize::Medium => "MEDIUMTEXT",
                BlobSize::Long => "LONGTEXT",
            },
            ColumnType::Binary { .. } => "BINARY",
            ColumnType::VarBinary { .. } => "VARBINARY",
            ColumnType::Blob { size } => match size {
                BlobSize::Tiny => "TINYBLOB",
                BlobSize::Regular => "BLOB",
                BlobSize::Medium => "MEDIUMBLOB",
                BlobSize::Long => "LONGBLOB",
            },
            ColumnType::Date => "DATE",
            ColumnType::Time { .. } => "TIME",
            ColumnType::DateTime { .. } => "DATETIME",
            ColumnType::Timestamp { .. } => "TIMESTAMP",
            ColumnType::Year => "YEAR",
            ColumnType::Enum { .. } => "ENUM",
            ColumnType::Set { .. } => "SET",
            ColumnType::Json | ColumnType::JsonText { .. } => "JSON",
            ColumnType::Geometry { kind } => kind.type_name(),
            ColumnType::Uuid => "UUID",
            ColumnType::Inet6 => "INET6",
        };
        if self.is_unsigned() {
            format!("{base} UNSIGNED")
        } else {
            base.to_owned()
        }
    }

    /// The `java.sql.Types` code Debezium's MySQL DDL parser assigns
    /// (`jdbcType` in schema history): e.g. `TINYINT` → `SMALLINT` (5),
    /// `TEXT` → `VARCHAR` (12), `TIMESTAMP` → `TIMESTAMP_WITH_TIMEZONE`
    /// (2014), `ENUM`/`SET` → `CHAR` (1), `JSON`/spatial → `OTHER` (1111).
    pub fn jdbc_type(&self) -> i32 {
        match self {
            ColumnType::TinyInt { .. } | ColumnType::SmallInt { .. } => 5,
            ColumnType::MediumInt { .. } | ColumnType::Int { .. } | ColumnType::Year => 4,
            ColumnType::BigInt { .. } => -5,
            ColumnType::Boolean => 16,
            ColumnType::Decimal { .. } => 3,
            ColumnType::Float { .. } => 6,
            ColumnType::Double { .. } => 8,
            ColumnType::Bit { .. } => -7,
            ColumnType::Char { .. } | ColumnType::Enum { .. } | ColumnType::Set { .. } => 1,
            ColumnType::VarChar { .. } | ColumnType::Text { .. } => 12,
            ColumnType::Binary { .. } => -2,
            ColumnType::VarBinary { .. } => -3,
            ColumnType::Blob { .. } => 2004,
            ColumnType::Date => 91,
            ColumnType::Time { .. } => 92,
            ColumnType::DateTime { .. } => 93,
            ColumnType::Timestamp { .. } => 2014,
            ColumnType::Json
            | ColumnType::JsonText { .. }
            | ColumnType::Geometry { .. }
            | ColumnType::Uuid
            | ColumnType::Inet6 => 1111,
        }
    }

    /// The character set of a character, ENUM or SET column.
    pub fn charset(&self) -> Option<(Charset, &'static str)> {
        self.collation().map(collation_charset)
    }

    /// The declared length, as far as the binlog allows: characters for
    /// CHAR/VARCHAR, bytes for BINARY/VARBINARY, precision for DECIMAL, bits
    /// for BIT, fsp for temporal types with a non-zero fsp.
    pub fn length(&self) -> Option<u32> {
        let chars = |collation: u16, bytes: u32| bytes / collation_charset(collation).0.max_bytes_per_char().max(1);
        match *self {
            ColumnType::Decimal { precision, .. } => Some(u32::from(precision)),
            ColumnType::Bit { bits } => Some(u32::from(bits)),
            ColumnType::Char { collation, max_bytes } | ColumnType::VarChar { collation, max_bytes } => {
                Some(chars(collation, max_bytes))
            }
            ColumnType::Binary { len } => Some(len),
            ColumnType::VarBinary { max_len } => Some(max_len),
            ColumnType::Time { fsp } | ColumnType::DateTime { fsp } | ColumnType::Timestamp { fsp } if fsp > 0 => {
                Some(u32::from(fsp))
            }
            _ => None,
        }
    }

    /// The scale of a DECIMAL column.
    pub fn scale(&self) -> Option<u32> {
        match *self {
            ColumnType::Decimal { scale, .. } => Some(u32::from(scale)),
            _ => None,
        }
    }

    /// ENUM/SET member strings.
    pub fn enum_values(&self) -> Option<&[String]> {
        match self {
            ColumnType::Enum { values, .. } | ColumnType::Set { values, .. } => Some(values),
            _ => None,
        }
    }
}

/// Everything known about one column: enough to decode it (the raw binlog
/// type and metadata) and to describe it (name, normalized type,
/// nullability, key membership).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSchema {
    /// Column name (decoded as UTF-8; MySQL stores identifiers in utf8mb3).
    pub name: String,
    /// 0-based ordinal position in the table (and in the row image).
    pub position: usize,
    /// The normalized type. A schema layer may refine it (see module docs).
    pub column_type: ColumnType,
    /// Whether the column accepts NULL (table-map null bitmask).
    pub nullable: bool,
    /// Whether the column is part of the primary key.
    pub in_primary_key: bool,
    /// The binlog column type byte (the *real* type for ENUM/SET, which the
    /// table map sends as `STRING`).
    pub binlog_type: u8,
    /// The column's table-map metadata (0..=2 bytes, zero-padded).
    pub binlog_meta: [u8; 2],
    /// Default value, if a schema layer knows it (not in the binlog).
    pub default: Option<ColumnValue>,
    /// Column comment, if a schema layer knows it (not in the binlog).
    pub comment: Option<String>,
    /// `AUTO_INCREMENT`, if a schema layer knows it (not in the binlog).
    pub auto_increment: bool,
    /// Generated column, if a schema layer knows it (not in the binlog).
    pub generated: bool,
}

impl ColumnSchema {
    /// The MySQL type name (see [`ColumnType::type_name`]).
    pub fn type_name(&self) -> String {
        self.column_type.type_name()
    }

    /// The character set name of a character, ENUM or SET column.
    pub fn charset_name(&self) -> Option<&'static str> {
        self.column_type.charset().map(|(_, name)| name)
    }
}

/// One decoded cell. Independent of Debezium: it holds what the server
/// stored, including values Debezium cannot represent (zero dates).
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValue {
    Null,
    /// Signed integer columns (TINYINT..BIGINT), already sign-extended.
    Int(i64),
    /// Unsigned integer columns.
    UInt(u64),
    Float(f32),
    Double(f64),
    /// DECIMAL in canonical plain notation: optional `-`, integer digits
    /// without leading zeros (at least one), then `.` and exactly `scale`
    /// digits if the scale is non-zero (`"-0.50"`, `"12"`, `"0.000"`).
    Decimal(String),
    /// Binary strings and BLOBs (BINARY already padded to its length).
    Bytes(Vec<u8>),
    /// Character strings, decoded from the column's character set.
    Text(String),
    /// DATE; zero dates (`0000-00-00`, `2020-00-00`) are kept as stored.
    Date {
        year: u16,
        month: u8,
        day: u8,
    },
    /// TIME: `-838:59:59.000000` ..= `838:59:59.000000`.
    Time {
        negative: bool,
        hours: u16,
        minutes: u8,
        seconds: u8,
        micros: u32,
    },
    /// DATETIME, kept as stored (no time zone).
    DateTime {
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        micros: u32,
    },
    /// TIMESTAMP: seconds since the epoch (UTC); `0`/`0` is the zero value.
    Timestamp {
        secs: i64,
        micros: u32,
    },
    /// YEAR; `0` is `0000`.
    Year(u16),
    /// ENUM: the 1-based member index; `0` is the invalid-value `''`.
    Enum(u16),
    /// SET: member bitmask, bit `i` = member `i`.
    Set(u64),
    /// JSON as text. MySQL binary JSON is rendered the way Debezium's binlog
    /// client does; MariaDB JSON (text) arrives as [`ColumnValue::Text`].
    Json(String),
    /// BIT(n): `ceil(n/8)` bytes, big-endian, as stored.
    Bit(Vec<u8>),
    /// Spatial value in MySQL's internal format: 4-byte little-endian SRID
    /// followed by WKB.
    Geometry(Vec<u8>),
}

impl ColumnValue {
    pub fn is_null(&self) -> bool {
        matches!(self, ColumnValue::Null)
    }

    /// The variant name, for error messages that must not carry data.
    pub fn kind_name(&self) -> &'static str {
        match self {
            ColumnValue::Null => "Null",
            ColumnValue::Int(_) => "Int",
            ColumnValue::UInt(_) => "UInt",
            ColumnValue::Float(_) => "Float",
            ColumnValue::Double(_) => "Double",
            ColumnValue::Decimal(_) => "Decimal",
            ColumnValue::Bytes(_) => "Bytes",
            ColumnValue::Text(_) => "Text",
            ColumnValue::Date { .. } => "Date",
            ColumnValue::Time { .. } => "Time",
            ColumnValue::DateTime { .. } => "DateTime",
            ColumnValue::Timestamp { .. } => "Timestamp",
            ColumnValue::Year(_) => "Year",
            ColumnValue::Enum(_) => "Enum",
            ColumnValue::Set(_) => "Set",
            ColumnValue::Json(_) => "Json",
            ColumnValue::Bit(_) => "Bit",
            ColumnValue::Geometry(_) => "Geometry",
        }
    }
}

impl fmt::Display for ColumnValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnValue::Null => f.write_str("NULL"),
            ColumnValue::Int(v) => write!(f, "{v}"),
            ColumnValue::UInt(v) => write!(f, "{v}"),
            ColumnValue::Float(v) => write!(f, "{v}"),
            ColumnValue::Double(v) => write!(f, "{v}"),
            ColumnValue::Decimal(v) | ColumnValue::Text(v) | ColumnValue::Json(v) => f.write_str(v),
            ColumnValue::Bytes(v) | ColumnValue::Bit(v) | ColumnValue::Geometry(v) => {
                f.write_str("0x")?;
                v.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            ColumnValue::Date { year, month, day } => write!(f, "{year:04}-{month:02}-{day:02}"),
            ColumnValue::Time {
                negative,
                hours,
                minutes,
                seconds,
                micros,
            } => write!(
                f,
                "{}{hours:02}:{minutes:02}:{seconds:02}.{micros:06}",
                if *negative { "-" } else { "" }
            ),
            ColumnValue::DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                micros,
            } => write!(
                f,
                "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}.{micros:06}"
            ),
            ColumnValue::Timestamp { secs, micros } => write!(f, "@{secs}.{micros:06}"),
            ColumnValue::Year(v) => write!(f, "{v:04}"),
            ColumnValue::Enum(v) => write!(f, "enum#{v}"),
            ColumnValue::Set(v) => write!(f, "set#{v:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collation_ids_map_to_charsets() {
        assert_eq!(collation_charset(45), (Charset::Utf8mb4, "utf8mb4"));
        assert_eq!(collation_charset(255), (Charset::Utf8mb4, "utf8mb4"));
        assert_eq!(collation_charset(33), (Charset::Utf8mb3, "utf8mb3"));
        assert_eq!(collation_charset(8), (Charset::Latin1, "latin1"));
        assert_eq!(collation_charset(63), (Charset::Binary, "binary"));
        assert_eq!(collation_charset(11), (Charset::Ascii, "ascii"));
        // MariaDB-only ids.
        assert_eq!(collation_charset(1069), (Charset::Utf8mb4, "utf8mb4"));
        assert_eq!(collation_charset(1032), (Charset::Latin1, "latin1"));
        assert_eq!(collation_charset(608), (Charset::Utf8mb4, "utf8mb4"));
        assert_eq!(collation_charset(2304), (Charset::Utf8mb4, "utf8mb4"));
    }

    #[test]
    fn type_names_follow_debezium() {
        assert_eq!(ColumnType::Int { unsigned: true }.type_name(), "INT UNSIGNED");
        assert_eq!(ColumnType::BigInt { unsigned: false }.type_name(), "BIGINT");
        assert_eq!(
            ColumnType::Text {
                collation: 45,
                size: BlobSize::Long
            }
            .type_name(),
            "LONGTEXT"
        );
        assert_eq!(
            ColumnType::Geometry {
                kind: GeometryKind::Point
            }
            .type_name(),
            "POINT"
        );
        assert_eq!(ColumnType::Timestamp { fsp: 3 }.jdbc_type(), 2014);
        assert_eq!(ColumnType::TinyInt { unsigned: false }.jdbc_type(), 5);
    }

    #[test]
    fn lengths_are_in_characters() {
        let v = ColumnType::VarChar {
            collation: 45,
            max_bytes: 1020,
        };
        assert_eq!(v.length(), Some(255));
        let c = ColumnType::Char {
            collation: 8,
            max_bytes: 10,
        };
        assert_eq!(c.length(), Some(10));
        assert_eq!(ColumnType::DateTime { fsp: 0 }.length(), None);
        assert_eq!(ColumnType::DateTime { fsp: 6 }.length(), Some(6));
    }

    #[test]
    fn blob_sizes() {
        assert_eq!(BlobSize::from_prefix_len(3), Some(BlobSize::Medium));
        assert_eq!(BlobSize::from_prefix_len(5), None);
        assert_eq!(BlobSize::Tiny.max_len(), 255);
        assert_eq!(BlobSize::Long.max_len(), u64::from(u32::MAX));
    }
}
