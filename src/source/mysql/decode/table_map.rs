//! The `TABLE_MAP` event body, parsed into the column descriptions
//! ([`RawColumn`]s) a [`TableDecoder`] is built from: schema and table
//! names, column types and their metadata bytes, nullability, and the
//! optional metadata (`binlog_row_metadata=FULL`: signedness, charsets,
//! column names, ENUM/SET members, geometry types, primary key).
//!
//! # Why it is correct
//!
//! The table map is re-read from its own serialization (mysql_common keeps
//! the fields private) and parsed here, which keeps every byte of the
//! format under test and lets malformed input become a [`DecodeError`]
//! instead of a panic: mysql_common indexes metadata slices unchecked in
//! places. The optional metadata is indexed per kind of column (numeric,
//! character, ENUM/SET, geometry) by the *real* type, as the server writes
//! it, and TLVs this decoder does not need are skipped by their length.
//!
//! # What is refused
//!
//! A table map without column names means `binlog_row_metadata` is not
//! `FULL`: that is a configuration error ([`DecodeError::MissingFullMetadata`])
//! rather than something to guess around (signedness would be unknown too).

use std::io;

use super::charset::decode_text;
use super::cursor::Cursor;
use super::type_codes::*;
use super::{DecodeError, RawColumn, TableDecoder};
use crate::source::mysql::column::collation_charset;

impl TableDecoder {
    /// Parses a table-map event body (post-header + payload, no checksum).
    pub(super) fn from_table_map_body(body: &[u8]) -> Result<TableDecoder, DecodeError> {
        let bad = |what: &str| DecodeError::MalformedTableMap(what.to_owned());
        let mut cur = Cursor::new(body);
        let table_id = cur.uint_le(6).ok_or_else(|| bad("table id"))?;
        cur.take(2).ok_or_else(|| bad("flags"))?;
        let db_len = usize::from(cur.u8().ok_or_else(|| bad("schema name"))?);
        let db = String::from_utf8_lossy(cur.take(db_len).ok_or_else(|| bad("schema name"))?).into_owned();
        cur.u8().ok_or_else(|| bad("schema name terminator"))?;
        let table_len = usize::from(cur.u8().ok_or_else(|| bad("table name"))?);
        let table = String::from_utf8_lossy(cur.take(table_len).ok_or_else(|| bad("table name"))?).into_owned();
        cur.u8().ok_or_else(|| bad("table name terminator"))?;
        let count =
            usize::try_from(cur.lenenc().ok_or_else(|| bad("column count"))?).map_err(|_| bad("column count"))?;
        let types = cur.take(count).ok_or_else(|| bad("column types"))?;
        let meta_block = cur.lenenc_bytes().ok_or_else(|| bad("column metadata"))?;
        let null_bits = cur.take(count.div_ceil(8)).ok_or_else(|| bad("null bitmap"))?;
        let optional = OptionalMeta::parse(cur.rest()).map_err(|reason| DecodeError::OptionalMetadata {
            db: db.clone(),
            table: table.clone(),
            source: io::Error::new(io::ErrorKind::InvalidData, reason),
        })?;

        let names = match optional.names {
            Some(ref names) if names.len() == count => names,
            _ => return Err(DecodeError::MissingFullMetadata { db, table }),
        };

        // Split the metadata block per column, and find each column's real type.
        let mut meta_cur = Cursor::new(meta_block);
        let mut raw: Vec<(u8, [u8; 2])> = Vec::with_capacity(count);
        for (i, &type_code) in types.iter().enumerate() {
            let len = metadata_len(type_code).ok_or_else(|| DecodeError::UnsupportedType {
                column: names[i].clone(),
                type_code,
            })?;
            let bytes = meta_cur.take(len).ok_or_else(|| bad("column metadata"))?;
            let mut meta = [0u8; 2];
            meta[..len].copy_from_slice(bytes);
            let real_type = if type_code == T_STRING && meta[0] != 0 {
                if meta[0] & 0x30 != 0x30 {
                    meta[0] | 0x30
                } else {
                    meta[0]
                }
            } else {
                type_code
            };
            raw.push((real_type, meta));
        }

        let mut numeric_index = 0usize;
        let mut character_index = 0usize;
        let mut enum_set_index = 0usize;
        let mut enum_index = 0usize;
        let mut set_index = 0usize;
        let mut geometry_index = 0usize;
        let mut described = Vec::with_capacity(count);
        for (i, &(real_type, meta)) in raw.iter().enumerate() {
            let unsigned = if is_numeric(real_type) {
                numeric_index += 1;
                optional.unsigned.get(numeric_index - 1).copied().unwrap_or(false)
            } else {
                false
            };
            let collation = if is_character(real_type) {
                character_index += 1;
                OptionalMeta::collation(
                    optional.default_charset,
                    &optional.charset_overrides,
                    optional.column_charsets.as_ref(),
                    character_index - 1,
                )
            } else if real_type == T_ENUM || real_type == T_SET {
                enum_set_index += 1;
                OptionalMeta::collation(
                    optional.enum_set_default_charset,
                    &optional.enum_set_charset_overrides,
                    optional.enum_set_column_charsets.as_ref(),
                    enum_set_index - 1,
                )
            } else {
                None
            };
            // Without charset metadata, character columns are treated as utf8mb4.
            let collation = collation.unwrap_or(45);
            let charset = collation_charset(collation).0;
            let members = |lists: &[Vec<Vec<u8>>], index: usize| -> Vec<String> {
                lists
                    .get(index)
                    .map(|m| m.iter().map(|v| decode_text(charset, v)).collect())
                    .unwrap_or_default()
            };
            let members = match real_type {
                T_ENUM => {
                    enum_index += 1;
                    members(&optional.enum_values, enum_index - 1)
                }
                T_SET => {
                    set_index += 1;
                    members(&optional.set_values, set_index - 1)
                }
                _ => Vec::new(),
            };
            let geometry = if real_type == T_GEOMETRY {
                geometry_index += 1;
                optional.geometry_types.get(geometry_index - 1).copied()
            } else {
                None
            };
            described.push(RawColumn {
                name: names[i].clone(),
                real_type,
                meta,
                unsigned,
                collation,
                members,
                geometry,
                nullable: null_bits.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0),
            });
        }
        let primary_key = optional.primary_key.iter().copied().filter(|&i| i < count).collect();
        TableDecoder::from_columns(table_id, db, table, described, primary_key)
    }
}

/// Bytes of table-map metadata per binlog type, or `None` if unsupported.
fn metadata_len(type_code: u8) -> Option<usize> {
    match type_code {
        T_DECIMAL | T_TINY | T_SHORT | T_LONG | T_NULL | T_TIMESTAMP | T_LONGLONG | T_INT24 | T_DATE | T_TIME
        | T_DATETIME | T_YEAR | T_NEWDATE => Some(0),
        T_FLOAT | T_DOUBLE | T_TINY_BLOB | T_MEDIUM_BLOB | T_LONG_BLOB | T_BLOB | T_GEOMETRY | T_JSON
        | T_TIMESTAMP2 | T_DATETIME2 | T_TIME2 => Some(1),
        T_VARCHAR | T_VAR_STRING | T_BIT | T_NEWDECIMAL | T_ENUM | T_SET | T_STRING => Some(2),
        _ => None,
    }
}

/// Numeric columns get a signedness bit (MySQL and MariaDB count YEAR too,
/// as do mysql_common and Debezium's binlog client).
fn is_numeric(type_code: u8) -> bool {
    matches!(
        type_code,
        T_TINY | T_SHORT | T_INT24 | T_LONG | T_LONGLONG | T_NEWDECIMAL | T_FLOAT | T_DOUBLE | T_YEAR
    )
}

/// Columns that get a charset in `DEFAULT_CHARSET`/`COLUMN_CHARSET`
/// (by *real* type, so ENUM/SET are excluded).
fn is_character(real_type: u8) -> bool {
    matches!(
        real_type,
        T_STRING | T_VAR_STRING | T_VARCHAR | T_BLOB | T_TINY_BLOB | T_MEDIUM_BLOB | T_LONG_BLOB
    )
}

/// The parsed optional metadata of a table map.
#[derive(Default)]
struct OptionalMeta {
    unsigned: Vec<bool>,
    default_charset: Option<u16>,
    charset_overrides: Vec<(usize, u16)>,
    column_charsets: Option<Vec<u16>>,
    enum_set_default_charset: Option<u16>,
    enum_set_charset_overrides: Vec<(usize, u16)>,
    enum_set_column_charsets: Option<Vec<u16>>,
    names: Option<Vec<String>>,
    set_values: Vec<Vec<Vec<u8>>>,
    enum_values: Vec<Vec<Vec<u8>>>,
    geometry_types: Vec<u64>,
    primary_key: Vec<usize>,
}

impl OptionalMeta {
    fn parse(data: &[u8]) -> Result<OptionalMeta, String> {
        let mut meta = OptionalMeta::default();
        let mut cur = Cursor::new(data);
        let short = || "optional metadata field truncated".to_owned();
        while !cur.is_empty() {
            let field_type = cur.u8().ok_or_else(short)?;
            let value = cur.lenenc_bytes().ok_or_else(short)?;
            let mut v = Cursor::new(value);
            match field_type {
                // SIGNEDNESS: one bit per numeric column, most significant first.
                1 => {
                    meta.unsigned = value
                        .iter()
                        .flat_map(|byte| (0..8).rev().map(move |bit| byte & (1 << bit) != 0))
                        .collect();
                }
                // DEFAULT_CHARSET / ENUM_AND_SET_DEFAULT_CHARSET.
                2 | 10 => {
                    let default = v.lenenc().ok_or_else(short)? as u16;
                    let mut overrides = Vec::new();
                    while !v.is_empty() {
                        let index = v.lenenc().ok_or_else(short)? as usize;
                        let collation = v.lenenc().ok_or_else(short)? as u16;
                        overrides.push((index, collation));
                    }
                    if field_type == 2 {
                        meta.default_charset = Some(default);
                        meta.charset_overrides = overrides;
                    } else {
                        meta.enum_set_default_charset = Some(default);
                        meta.enum_set_charset_overrides = overrides;
                    }
                }
                // COLUMN_CHARSET / ENUM_AND_SET_COLUMN_CHARSET.
                3 | 11 => {
                    let mut all = Vec::new();
                    while !v.is_empty() {
                        all.push(v.lenenc().ok_or_else(short)? as u16);
                    }
                    if field_type == 3 {
                        meta.column_charsets = Some(all);
                    } else {
                        meta.enum_set_column_charsets = Some(all);
                    }
                }
                // COLUMN_NAME.
                4 => {
                    let mut names = Vec::new();
                    while !v.is_empty() {
                        let raw = v.lenenc_bytes().ok_or_else(short)?;
                        names.push(String::from_utf8_lossy(raw).into_owned());
                    }
                    meta.names = Some(names);
                }
                // SET_STR_VALUE / ENUM_STR_VALUE.
                5 | 6 => {
                    let mut columns = Vec::new();
                    while !v.is_empty() {
                        let count = v.lenenc().ok_or_else(short)?;
                        let mut members = Vec::new();
                        for _ in 0..count {
                            members.push(v.lenenc_bytes().ok_or_else(short)?.to_vec());
                        }
                        columns.push(members);
                    }
                    if field_type == 5 {
                        meta.set_values = columns;
                    } else {
                        meta.enum_values = columns;
                    }
                }
                // GEOMETRY_TYPE.
                7 => {
                    while !v.is_empty() {
                        meta.geometry_types.push(v.lenenc().ok_or_else(short)?);
                    }
                }
                // SIMPLE_PRIMARY_KEY.
                8 => {
                    while !v.is_empty() {
                        meta.primary_key.push(v.lenenc().ok_or_else(short)? as usize);
                    }
                }
                // PRIMARY_KEY_WITH_PREFIX: (index, prefix length) pairs.
                9 => {
                    while !v.is_empty() {
                        meta.primary_key.push(v.lenenc().ok_or_else(short)? as usize);
                        v.lenenc().ok_or_else(short)?;
                    }
                }
                // COLUMN_VISIBILITY, VECTOR_DIMENSIONALITY and anything newer:
                // not needed to decode or describe.
                _ => {}
            }
        }
        Ok(meta)
    }

    /// The collation of the `index`-th column of a kind (character columns,
    /// or ENUM/SET columns), from either the default+overrides or the
    /// per-column representation.
    fn collation(
        default: Option<u16>,
        overrides: &[(usize, u16)],
        per_column: Option<&Vec<u16>>,
        index: usize,
    ) -> Option<u16> {
        if let Some(all) = per_column {
            return all.get(index).copied();
        }
        overrides.iter().find(|(i, _)| *i == index).map(|(_, c)| *c).or(default)
    }
}
