//! Binlog column type codes (MySQL `enum_field_types`), as written in a
//! `TABLE_MAP` event's column types and in MySQL binary JSON opaques.
//!
//! The values are the server's and never change; the table map, the
//! decode plans, the snapshot's information_schema reading and the JSON
//! opaque renderer all name types through these constants.

pub(crate) const T_DECIMAL: u8 = 0;
pub(crate) const T_TINY: u8 = 1;
pub(crate) const T_SHORT: u8 = 2;
pub(crate) const T_LONG: u8 = 3;
pub(crate) const T_FLOAT: u8 = 4;
pub(crate) const T_DOUBLE: u8 = 5;
pub(crate) const T_NULL: u8 = 6;
pub(crate) const T_TIMESTAMP: u8 = 7;
pub(crate) const T_LONGLONG: u8 = 8;
pub(crate) const T_INT24: u8 = 9;
pub(crate) const T_DATE: u8 = 10;
pub(crate) const T_TIME: u8 = 11;
pub(crate) const T_DATETIME: u8 = 12;
pub(crate) const T_YEAR: u8 = 13;
pub(crate) const T_NEWDATE: u8 = 14;
pub(crate) const T_VARCHAR: u8 = 15;
pub(crate) const T_BIT: u8 = 16;
pub(crate) const T_TIMESTAMP2: u8 = 17;
pub(crate) const T_DATETIME2: u8 = 18;
pub(crate) const T_TIME2: u8 = 19;
pub(crate) const T_JSON: u8 = 245;
pub(crate) const T_NEWDECIMAL: u8 = 246;
pub(crate) const T_ENUM: u8 = 247;
pub(crate) const T_SET: u8 = 248;
pub(crate) const T_TINY_BLOB: u8 = 249;
pub(crate) const T_MEDIUM_BLOB: u8 = 250;
pub(crate) const T_LONG_BLOB: u8 = 251;
pub(crate) const T_BLOB: u8 = 252;
pub(crate) const T_VAR_STRING: u8 = 253;
pub(crate) const T_STRING: u8 = 254;
pub(crate) const T_GEOMETRY: u8 = 255;
