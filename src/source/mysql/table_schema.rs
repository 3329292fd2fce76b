//! A table's schema and rows as the snapshot reads them with SQL, in the
//! streaming path's terms.
//!
//! # What it owns
//! - [`table_decoder`]: information_schema → the same [`TableDecoder`] a
//!   `TABLE_MAP` event of the table produces, so snapshot records (`op: r`)
//!   and streamed records of one table have identical key and value
//!   schemas. Each column is described as the table map describes it
//!   (binlog type, metadata bytes, signedness, collation, ENUM/SET members,
//!   geometry kind) and built by [`TableDecoder::from_columns`], the one
//!   place either path turns such a description into a column type.
//! - [`refinements`] / [`refine`]: what only the DDL says (MariaDB's
//!   `UUID`, `INET6` and `JSON` types, a `FLOAT(M,D)`'s scale), shared
//!   with streaming.
//! - [`chunk_key`]: the columns a chunked read follows (primary key, or
//!   a unique NOT NULL index; never `message.key.columns`).
//! - [`column_value`]: a value read over the binary protocol → the
//!   [`ColumnValue`] the binlog decoder would have produced for it.
//!
//! # Why the values match the binlog's
//! The snapshot connection runs with `time_zone='+00:00'` (so `TIMESTAMP`
//! values arrive as UTC wall-clock times and convert back to the stored
//! epoch seconds exactly) and `utf8mb4` results (so character columns
//! arrive as the same text the binlog decoder gets by decoding the column's
//! charset). The binary protocol carries integers, floats, dates and times
//! typed (no text round trip loses float precision); DECIMAL arrives in
//! the server's canonical text, which is the decoder's form too. `ENUM`
//! and `SET` arrive as member names and map back to index/bitmask through
//! the members the table map would list; `UUID`/`INET6` arrive as text and
//! are parsed back to their 16 stored bytes. `BINARY(n)` arrives padded,
//! as the decoder pads it.
use std::net::Ipv6Addr;

use mysql_async::prelude::Queryable;
use mysql_async::Value;

use super::column::{ColumnSchema, ColumnType, ColumnValue};
use super::decode::*;
use super::error::{DefiniteError, SourceError};

/// A DDL-only type (see [`TableDecoder::refine_column_type`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refinement {
    Uuid,
    Inet6,
    Json,
    /// `FLOAT(M,D)`: Debezium declares it `double` (its DDL parser gives
    /// it a scale, and `JdbcValueConverters` maps a scaled float so).
    ScaledFloat,
}

fn quote_literal(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

/// `` `name` `` with backticks doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn query_error(sql: &str) -> impl Fn(mysql_async::Error) -> SourceError + '_ {
    move |source| {
        DefiniteError::Query {
            query: sql.to_string(),
            source,
        }
        .into()
    }
}

/// Reads the MariaDB types the binlog cannot tell apart from plain ones:
/// `UUID`/`INET6` (sent as `BINARY(16)`), `JSON` (sent as `LONGTEXT`,
/// recognised by its `json_valid` check constraint) and `FLOAT(M,D)`
/// (sent as `FLOAT`; information_schema gives it a `NUMERIC_SCALE`,
/// plain `FLOAT` none).
///
/// information_schema describes the table *now*, which may be later than
/// the event being decoded; that is safe because a refinement is applied
/// only where the binlog's own type is the one the refined type is stored
/// as, so at worst a column altered since is labelled with its new type.
pub async fn refinements(
    conn: &mut mysql_async::Conn,
    db: &str,
    table: &str,
) -> Result<Vec<(String, Refinement)>, SourceError> {
    let columns_sql = format!(
        "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{}' \
         AND (DATA_TYPE IN ('uuid', 'inet6') OR (DATA_TYPE = 'float' AND NUMERIC_SCALE IS NOT NULL))",
        quote_literal(db),
        quote_literal(table)
    );
    let typed: Vec<(String, String)> = conn.query(&columns_sql).await.map_err(query_error(&columns_sql))?;
    let mut out: Vec<(String, Refinement)> = typed
        .into_iter()
        .map(|(name, data_type)| {
            let kind = match data_type.to_ascii_lowercase().as_str() {
                "uuid" => Refinement::Uuid,
                "float" => Refinement::ScaledFloat,
                _ => Refinement::Inet6,
            };
            (name, kind)
        })
        .collect();
    let checks_sql = format!(
        "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = '{}' AND TABLE_NAME = '{}'",
        quote_literal(db),
        quote_literal(table)
    );
    let checks: Vec<(String, String)> = conn.query(&checks_sql).await.map_err(query_error(&checks_sql))?;
    for (name, clause) in checks {
        let normalized = clause.replace('`', "");
        if normalized.eq_ignore_ascii_case(&format!("json_valid({name})")) {
            out.push((name, Refinement::Json));
        }
    }
    Ok(out)
}

/// Applies refinements read by [`refinements`] to a decoder.
pub fn refine(decoder: &mut TableDecoder, refined: &[(String, Refinement)]) {
    for (name, kind) in refined {
        let Some(index) = decoder.columns().iter().position(|c| &c.name == name) else { continue };
        let column_type = match kind {
            Refinement::Uuid => ColumnType::Uuid,
            Refinement::Inet6 => ColumnType::Inet6,
            Refinement::Json => match decoder.columns()[index].column_type {
                ColumnType::Text { collation, .. } => ColumnType::JsonText { collation },
                _ => continue,
            },
            Refinement::ScaledFloat => match decoder.columns()[index].column_type {
                ColumnType::Float { unsigned, .. } => ColumnType::Float { unsigned, scaled: true },
                _ => continue,
            },
        };
        decoder.refine_column_type(index, column_type);
    }
}

/// Members of an `enum('a','b''c')` / `set(...)` column type.
fn parse_members(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else { return Vec::new() };
    let body = &column_type[open + 1..column_type.rfind(')').unwrap_or(column_type.len())];
    let mut members = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut member = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    member.push('\'');
                }
                '\'' => break,
                '\\' => {
                    if let Some(next) = chars.next() {
                        member.push(next);
                    }
                }
                other => member.push(other),
            }
        }
        members.push(member);
    }
    members
}

/// `CHAR`/`BINARY` table-map metadata for a byte length (MySQL's packing
/// of the high length bits into the real-type byte).
fn string_meta(real_type: u8, max: u32) -> [u8; 2] {
    [real_type ^ (((max & 0x300) >> 4) as u8), (max & 0xff) as u8]
}

/// One information_schema.COLUMNS row.
struct InfoColumn {
    name: String,
    data_type: String,
    column_type: String,
    nullable: bool,
    precision: Option<u64>,
    scale: Option<u64>,
    datetime_precision: Option<u64>,
    octet_length: Option<u64>,
    collation: Option<u64>,
}

/// Describes a column as its table map would.
fn raw_column(column: InfoColumn) -> Result<RawColumn, DecodeError> {
    let unsupported = |type_code| DecodeError::UnsupportedType {
        column: column.name.clone(),
        type_code,
    };
    let unsigned = column.column_type.to_ascii_lowercase().contains("unsigned");
    let octets = column.octet_length.unwrap_or(0).min(u64::from(u32::MAX)) as u32;
    let fsp = column.datetime_precision.unwrap_or(0).min(6) as u8;
    let collation = column.collation.map(|c| c as u16);
    let binary = collation.is_none();
    let blob_prefix = |data_type: &str| match data_type {
        t if t.starts_with("tiny") => 1,
        t if t.starts_with("medium") => 3,
        t if t.starts_with("long") => 4,
        _ => 2,
    };
    let data_type = column.data_type.to_ascii_lowercase();
    let (real_type, meta) = match data_type.as_str() {
        "tinyint" => (T_TINY, [0, 0]),
        "smallint" => (T_SHORT, [0, 0]),
        "mediumint" => (T_INT24, [0, 0]),
        "int" | "integer" => (T_LONG, [0, 0]),
        "bigint" => (T_LONGLONG, [0, 0]),
        "float" => (T_FLOAT, [4, 0]),
        "double" | "real" | "double precision" => (T_DOUBLE, [8, 0]),
        "decimal" | "numeric" => (
            T_NEWDECIMAL,
            [column.precision.unwrap_or(10) as u8, column.scale.unwrap_or(0) as u8],
        ),
        "bit" => {
            let bits = column.precision.unwrap_or(1) as u16;
            (T_BIT, [(bits % 8) as u8, (bits / 8) as u8])
        }
        "year" => (T_YEAR, [0, 0]),
        "date" => (T_DATE, [0, 0]),
        "time" => (T_TIME2, [fsp, 0]),
        "datetime" => (T_DATETIME2, [fsp, 0]),
        "timestamp" => (T_TIMESTAMP2, [fsp, 0]),
        "varchar" | "varbinary" => (T_VARCHAR, (octets as u16).to_le_bytes()),
        "char" | "binary" => (T_STRING, string_meta(T_STRING, octets)),
        // MariaDB's UUID and INET6 are BINARY(16) in the binlog.
        "uuid" | "inet6" => (T_STRING, string_meta(T_STRING, 16)),
        t @ ("tinytext" | "text" | "mediumtext" | "longtext" | "tinyblob" | "blob" | "mediumblob" | "longblob") => {
            (T_BLOB, [blob_prefix(t), 0])
        }
        "json" => (T_JSON, [4, 0]),
        "enum" => {
            let count = parse_members(&column.column_type).len();
            (T_ENUM, [0, if count > 255 { 2 } else { 1 }])
        }
        "set" => {
            let count = parse_members(&column.column_type).len();
            let bytes = match count.div_ceil(8) {
                0 | 1 => 1,
                2 => 2,
                3 => 3,
                4 => 4,
                _ => 8,
            };
            (T_SET, [0, bytes])
        }
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring" | "multipolygon"
        | "geometrycollection" => (T_GEOMETRY, [4, 0]),
        _ => return Err(unsupported(0)),
    };
    let geometry_code = match data_type.as_str() {
        "point" => 1,
        "linestring" => 2,
        "polygon" => 3,
        "multipoint" => 4,
        "multilinestring" => 5,
        "multipolygon" => 6,
        "geometrycollection" => 7,
        _ => 0,
    };
    let geometry = (real_type == T_GEOMETRY).then_some(geometry_code);
    let members = if matches!(real_type, T_ENUM | T_SET) { parse_members(&column.column_type) } else { Vec::new() };
    let is_uuid_like = matches!(data_type.as_str(), "uuid" | "inet6");
    Ok(RawColumn {
        name: column.name,
        real_type,
        meta,
        unsigned,
        collation: if binary || is_uuid_like { 63 } else { collation.unwrap_or(45) },
        members,
        geometry,
        nullable: column.nullable,
    })
}

/// The decoder for `db.table` as it is now, refined like streaming's
/// (`None` if the table no longer exists).
pub async fn table_decoder(
    conn: &mut mysql_async::Conn,
    db: &str,
    table: &str,
    mariadb: bool,
) -> Result<Option<TableDecoder>, SourceError> {
    let sql = format!(
        "SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE, c.NUMERIC_PRECISION, c.NUMERIC_SCALE, \
         c.DATETIME_PRECISION, c.CHARACTER_OCTET_LENGTH, co.ID \
         FROM information_schema.COLUMNS c LEFT JOIN information_schema.COLLATIONS co ON co.COLLATION_NAME = c.COLLATION_NAME \
         WHERE c.TABLE_SCHEMA = '{}' AND c.TABLE_NAME = '{}' ORDER BY c.ORDINAL_POSITION",
        quote_literal(db),
        quote_literal(table)
    );
    let rows: Vec<mysql_async::Row> = conn.query(&sql).await.map_err(query_error(&sql))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut described = Vec::with_capacity(rows.len());
    for row in rows {
        let text = |i: usize| -> String { row.get::<Option<String>, _>(i).flatten().unwrap_or_default() };
        let number = |i: usize| -> Option<u64> { row.get::<Option<u64>, _>(i).flatten() };
        let column = InfoColumn {
            name: text(0),
            data_type: text(1),
            column_type: text(2),
            nullable: text(3).eq_ignore_ascii_case("YES"),
            precision: number(4),
            scale: number(5),
            datetime_precision: number(6),
            octet_length: number(7),
            collation: number(8),
        };
        let position = format!("information_schema.COLUMNS of `{db}`.`{table}`");
        described.push(raw_column(column).map_err(|source| DefiniteError::Decode { position, source })?);
    }
    let pk_sql = format!(
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{}' \
         AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
        quote_literal(db),
        quote_literal(table)
    );
    let pk_names: Vec<String> = conn.query(&pk_sql).await.map_err(query_error(&pk_sql))?;
    let primary_key = pk_names
        .iter()
        .filter_map(|name| described.iter().position(|c| &c.name == name))
        .collect();
    let mut decoder = TableDecoder::from_columns(0, db.to_string(), table.to_string(), described, primary_key)
        .map_err(|source| DefiniteError::Decode {
            position: format!("information_schema of `{db}`.`{table}`"),
            source,
        })?;
    if mariadb {
        let refined = refinements(conn, db, table).await?;
        refine(&mut decoder, &refined);
    }
    Ok(Some(decoder))
}

/// The columns that order and resume a chunked read of `db.table`: the
/// primary key, or else the first unique index (by name) whose columns are
/// all NOT NULL. Empty when the table has neither: no `WHERE key > last`
/// can then continue a read without skipping or repeating rows, so such a
/// table is read in one pass (see [`super::snapshot`]).
///
/// Never `message.key.columns`: those shape the Kafka key only, and need
/// not be unique or NOT NULL (a chunk ending inside a run of equal values
/// would skip the rest of the run, and `> NULL` matches nothing).
pub async fn chunk_key(
    conn: &mut mysql_async::Conn,
    db: &str,
    table: &str,
    columns: &[ColumnSchema],
) -> Result<Vec<usize>, SourceError> {
    let sql = format!(
        "SELECT INDEX_NAME, COLUMN_NAME, NULLABLE FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{}' AND NON_UNIQUE = 0 \
         ORDER BY INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX",
        quote_literal(db),
        quote_literal(table)
    );
    let rows: Vec<(String, String, Option<String>)> = conn.query(&sql).await.map_err(query_error(&sql))?;
    Ok(first_unique_not_null(&rows, columns))
}

/// [`chunk_key`]'s choice among `(index, column, NULLABLE)` rows, in the
/// order the query gives them (the primary key first).
fn first_unique_not_null(rows: &[(String, String, Option<String>)], columns: &[ColumnSchema]) -> Vec<usize> {
    let mut start = 0;
    while start < rows.len() {
        let index = &rows[start].0;
        let end = start + rows[start..].iter().take_while(|(i, ..)| i == index).count();
        let parts = &rows[start..end];
        let not_null = parts.iter().all(|(_, _, nullable)| !nullable.as_deref().is_some_and(|n| n.eq_ignore_ascii_case("YES")));
        let positions: Vec<usize> = parts
            .iter()
            .filter_map(|(_, name, _)| columns.iter().position(|c| &c.name == name))
            .collect();
        if not_null && positions.len() == parts.len() {
            return positions;
        }
        start = end;
    }
    Vec::new()
}

/// Why a value read over the protocol does not fit its column.
#[derive(Debug, thiserror::Error)]
#[error("column `{column}` ({column_type}): cannot read a {found} value")]
pub struct ValueError {
    pub column: String,
    pub column_type: String,
    /// The protocol value's kind (never the data).
    pub found: &'static str,
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::NULL => "NULL",
        Value::Bytes(_) => "bytes",
        Value::Int(_) => "signed integer",
        Value::UInt(_) => "unsigned integer",
        Value::Float(_) => "float",
        Value::Double(_) => "double",
        Value::Date(..) => "date",
        Value::Time(..) => "time",
    }
}

fn integer(value: &Value) -> Option<i128> {
    match value {
        Value::Int(i) => Some(i128::from(*i)),
        Value::UInt(u) => Some(i128::from(*u)),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// A protocol value → what the binlog decoder yields for the column.
pub fn column_value(column: &ColumnSchema, value: Value) -> Result<ColumnValue, ValueError> {
    let found = kind(&value);
    let fail = || ValueError {
        column: column.name.clone(),
        column_type: column.type_name(),
        found,
    };
    if value == Value::NULL {
        return Ok(ColumnValue::Null);
    }
    // By value: bytes move into the result without a copy.
    let converted = match (&column.column_type, value) {
        (
            ColumnType::TinyInt { unsigned }
            | ColumnType::SmallInt { unsigned }
            | ColumnType::MediumInt { unsigned }
            | ColumnType::Int { unsigned }
            | ColumnType::BigInt { unsigned },
            v,
        ) => {
            let n = integer(&v);
            if *unsigned {
                n.and_then(|n| u64::try_from(n).ok()).map(ColumnValue::UInt)
            } else {
                n.and_then(|n| i64::try_from(n).ok()).map(ColumnValue::Int)
            }
        }
        (ColumnType::Boolean, v) => integer(&v).and_then(|n| i64::try_from(n).ok()).map(ColumnValue::Int),
        (ColumnType::Year, v) => integer(&v).and_then(|n| u16::try_from(n).ok()).map(ColumnValue::Year),
        (ColumnType::Decimal { .. }, Value::Bytes(b)) => String::from_utf8(b).ok().map(ColumnValue::Decimal),
        (ColumnType::Float { .. }, Value::Float(f)) => Some(ColumnValue::Float(f)),
        (ColumnType::Float { .. }, Value::Double(d)) => Some(ColumnValue::Float(d as f32)),
        (ColumnType::Double { .. }, Value::Double(d)) => Some(ColumnValue::Double(d)),
        (ColumnType::Double { .. }, Value::Float(f)) => Some(ColumnValue::Double(f64::from(f))),
        (ColumnType::Bit { .. }, Value::Bytes(b)) => Some(ColumnValue::Bit(b)),
        (ColumnType::Bit { bits }, v) => integer(&v).map(|n| {
            let bytes = usize::from(bits.div_ceil(8));
            ColumnValue::Bit((n as u64).to_be_bytes()[8 - bytes..].to_vec())
        }),
        (
            ColumnType::Char { .. } | ColumnType::VarChar { .. } | ColumnType::Text { .. } | ColumnType::JsonText { .. },
            Value::Bytes(b),
        ) => Some(ColumnValue::Text(text(b))),
        (ColumnType::Binary { .. } | ColumnType::VarBinary { .. } | ColumnType::Blob { .. }, Value::Bytes(b)) => {
            Some(ColumnValue::Bytes(b))
        }
        (ColumnType::Json, Value::Bytes(b)) => Some(ColumnValue::Json(text(b))),
        (ColumnType::Geometry { .. }, Value::Bytes(b)) => Some(ColumnValue::Geometry(b)),
        (ColumnType::Uuid, Value::Bytes(b)) => std::str::from_utf8(&b).ok().and_then(parse_uuid).map(ColumnValue::Bytes),
        (ColumnType::Inet6, Value::Bytes(b)) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.parse::<Ipv6Addr>().ok())
            .map(|a| ColumnValue::Bytes(a.octets().to_vec())),
        (ColumnType::Enum { values, .. }, Value::Bytes(b)) => {
            let name = String::from_utf8_lossy(&b);
            let index = values.iter().position(|m| *m == name).map(|i| i + 1).unwrap_or(0);
            Some(ColumnValue::Enum(index as u16))
        }
        (ColumnType::Set { values, .. }, Value::Bytes(b)) => {
            let text = String::from_utf8_lossy(&b);
            let mask = text
                .split(',')
                .filter(|m| !m.is_empty())
                .filter_map(|m| values.iter().position(|v| v == m))
                .fold(0u64, |mask, i| mask | (1 << i));
            Some(ColumnValue::Set(mask))
        }
        (ColumnType::Date, Value::Date(year, month, day, ..)) => Some(ColumnValue::Date {
            year,
            month,
            day,
        }),
        (ColumnType::DateTime { .. }, Value::Date(year, month, day, hour, minute, second, micros)) => {
            Some(ColumnValue::DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                micros,
            })
        }
        (ColumnType::Timestamp { .. }, Value::Date(year, month, day, hour, minute, second, micros)) => {
            if year == 0 && month == 0 && day == 0 {
                Some(ColumnValue::Timestamp { secs: 0, micros: 0 })
            } else {
                crate::envelope::epoch_days(year, month, day).map(|days| ColumnValue::Timestamp {
                    secs: days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second),
                    micros,
                })
            }
        }
        (ColumnType::Time { .. }, Value::Time(negative, days, hours, minutes, seconds, micros)) => {
            Some(ColumnValue::Time {
                negative,
                hours: (days as u16) * 24 + u16::from(hours),
                minutes,
                seconds,
                micros,
            })
        }
        _ => None,
    };
    converted.ok_or_else(fail)
}

/// Text the server sent as utf8mb4 (see the module docs), without a copy
/// when it is valid UTF-8.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` → 16 bytes.
fn parse_uuid(text: &str) -> Option<Vec<u8>> {
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    hex.chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_members_parse_with_quotes() {
        assert_eq!(parse_members("enum('a','b''c','')"), vec!["a", "b'c", ""]);
        assert_eq!(parse_members("set('x,y','z')"), vec!["x,y", "z"]);
    }

    #[test]
    fn char_metadata_round_trips_through_the_decoder() {
        for max in [1u32, 255, 256, 300, 1020] {
            let raw = RawColumn {
                name: "c".into(),
                real_type: T_STRING,
                meta: string_meta(T_STRING, max),
                unsigned: false,
                collation: 45,
                members: Vec::new(),
                geometry: None,
                nullable: true,
            };
            let decoder = TableDecoder::from_columns(0, "d".into(), "t".into(), vec![raw], vec![]).unwrap();
            assert_eq!(decoder.columns()[0].column_type, ColumnType::Char { collation: 45, max_bytes: max });
        }
    }

    #[test]
    fn chunk_key_is_the_primary_key_or_a_unique_not_null_index() {
        let column = |name: &str| RawColumn {
            name: name.into(),
            real_type: T_LONG,
            meta: [0, 0],
            unsigned: false,
            collation: 63,
            members: Vec::new(),
            geometry: None,
            nullable: true,
        };
        let decoder = TableDecoder::from_columns(0, "d".into(), "t".into(), vec![column("a"), column("b"), column("c")], vec![]).unwrap();
        let columns = decoder.columns();
        let row = |index: &str, column: &str, nullable: &str| (index.to_string(), column.to_string(), Some(nullable.to_string()));
        // The primary key comes first from the query and wins.
        let rows = vec![row("PRIMARY", "c", ""), row("u_a", "a", "")];
        assert_eq!(first_unique_not_null(&rows, columns), vec![2]);
        // A unique index with a nullable column is passed over.
        let rows = vec![row("u_ab", "a", ""), row("u_ab", "b", "YES"), row("u_cb", "c", ""), row("u_cb", "a", "")];
        assert_eq!(first_unique_not_null(&rows, columns), vec![2, 0]);
        assert_eq!(first_unique_not_null(&rows[..2], columns), Vec::<usize>::new());
        assert_eq!(first_unique_not_null(&[], columns), Vec::<usize>::new());
    }

    #[test]
    fn uuid_text_parses_to_bytes() {
        let bytes = parse_uuid("123e4567-e89b-12d3-a456-426614174000").unwrap();
        assert_eq!(bytes[0], 0x12);
        assert_eq!(bytes.len(), 16);
        assert!(parse_uuid("nope").is_none());
    }
}
