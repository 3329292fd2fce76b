//! Avro-compatible names: Debezium's `schema.name.adjustment.mode` and
//! `field.name.adjustment.mode` (`none`, `avro`, `avro_unicode`).
//!
//! Owns the renaming of the Connect schema names of a table's records
//! (`<topic>.Key`, `.Value`, `.Envelope`) and of the row structs' field
//! names (the column names, in keys and values alike). The table encoder
//! asks here once per table; every name it writes, in schemas and in
//! payloads, comes from the same call, so the two always agree.
//!
//! # Why it matches Debezium
//!
//! The rules are those of Debezium 3.6's `SchemaNameAdjuster.validFullname`
//! with its four replacement functions (`ReplacementFunction`'s
//! underscore, `UnicodeReplacementFunction`,
//! `FieldNameUnderscoreReplacementFunction`,
//! `FieldNameUnicodeReplacementFunction`), checked against Debezium's own
//! output (`cluster-tests/fixtures/debezium/names-*.jsonl`):
//!
//! - names are walked as Java walks a `String`: by UTF-16 code unit, so a
//!   character outside the Basic Multilingual Plane is two invalid units
//!   (`__`, or `_ud83d_ude00`);
//! - a valid first unit is an ASCII letter, or `_` in the `avro` modes; a
//!   valid later unit also an ASCII digit, and `.` in schema names (a
//!   schema name is checked as one string: a dotted segment starting
//!   with a digit is left as it is);
//! - `avro` replaces an invalid unit by `_`; when the first unit is a
//!   digit (`Character.isDigit`, any Unicode decimal digit) the digit is
//!   kept after the `_` (`1st` becomes `_1st`, `١x` becomes `_١x`);
//! - `avro_unicode` replaces it by `_u` and `Integer.toHexString` of the
//!   unit, lower case, with `00` put in front of one or two digits only:
//!   `$` is `_u0024`, `ĉ` (U+0109) is `_u109`, `名` is `_u540d`. `_` is
//!   not valid there (it is the escape), so `_` itself becomes `_u005f`.
//!
//! The connector's fixed schemas (`io.debezium.connector.mysql.Source`,
//! `event.block`, the schema change, transaction and heartbeat schemas)
//! go through the same adjuster in Debezium, but their names are valid
//! under every mode, so they are written as they are. Column names inside
//! a schema change event's `tableChanges` are values, not field names:
//! Debezium's `ConnectTableChangeSerializer` writes them as the DDL has
//! them, and so does raftcdc.

use std::borrow::Cow;
use std::fmt::Write;

use super::{FieldNameAdjustmentMode, SchemaNameAdjustmentMode};

/// What an invalid UTF-16 unit becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replacement {
    /// `_` (a leading digit is kept after it).
    Underscore,
    /// `_u` and the unit's hexadecimal code.
    Unicode,
}

/// One of Debezium's four replacement functions.
#[derive(Debug, Clone, Copy)]
struct Rules {
    replacement: Replacement,
    /// `.` is valid after the first unit (schema full names).
    dot_valid: bool,
}

impl SchemaNameAdjustmentMode {
    /// The schema name `name` as Debezium writes it under this mode.
    pub fn adjust<'a>(self, name: &'a str) -> Cow<'a, str> {
        let replacement = match self {
            SchemaNameAdjustmentMode::None => return Cow::Borrowed(name),
            SchemaNameAdjustmentMode::Avro => Replacement::Underscore,
            SchemaNameAdjustmentMode::AvroUnicode => Replacement::Unicode,
        };
        adjust(name, Rules { replacement, dot_valid: true })
    }
}

impl FieldNameAdjustmentMode {
    /// The field (column) name `name` as Debezium writes it under this mode.
    pub fn adjust<'a>(self, name: &'a str) -> Cow<'a, str> {
        let replacement = match self {
            FieldNameAdjustmentMode::None => return Cow::Borrowed(name),
            FieldNameAdjustmentMode::Avro => Replacement::Underscore,
            FieldNameAdjustmentMode::AvroUnicode => Replacement::Unicode,
        };
        adjust(name, Rules { replacement, dot_valid: false })
    }
}

fn is_valid(unit: u16, first: bool, rules: Rules) -> bool {
    let Ok(c) = u8::try_from(unit) else {
        return false;
    };
    c.is_ascii_alphabetic()
        || (c == b'_' && rules.replacement == Replacement::Underscore)
        || (!first && (c.is_ascii_digit() || (c == b'.' && rules.dot_valid)))
}

fn adjust(name: &str, rules: Rules) -> Cow<'_, str> {
    let all_valid = name.encode_utf16().enumerate().all(|(i, unit)| is_valid(unit, i == 0, rules));
    if all_valid {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for (i, unit) in name.encode_utf16().enumerate() {
        if is_valid(unit, i == 0, rules) {
            // Valid units are ASCII.
            out.push(char::from(unit as u8));
            continue;
        }
        match rules.replacement {
            Replacement::Underscore => {
                out.push('_');
                if i == 0 && is_java_digit(unit) {
                    // A digit is never a surrogate, so it is a whole char.
                    out.extend(char::from_u32(u32::from(unit)));
                }
            }
            Replacement::Unicode => {
                out.push_str("_u");
                if unit <= 0xff {
                    out.push_str("00");
                }
                let _ = write!(out, "{unit:x}");
            }
        }
    }
    Cow::Owned(out)
}

/// The first code point of each run of ten decimal digits (Unicode
/// category `Nd`) in the Basic Multilingual Plane: what Java's
/// `Character.isDigit(char)` accepts.
const DECIMAL_DIGIT_ZEROS: [u16; 37] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6,
    0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40,
    0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
];

fn is_java_digit(unit: u16) -> bool {
    DECIMAL_DIGIT_ZEROS.iter().any(|&zero| unit >= zero && unit - zero < 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_under_each_mode() {
        for (name, avro, unicode) in [
            ("id", "id", "id"),
            ("1st col", "_1st_col", "_u0031st_u0020col"),
            ("price$", "price_", "price_u0024"),
            ("naïve", "na_ve", "na_u00efve"),
            ("_x", "_x", "_u005fx"),
            ("a.b", "a_b", "a_u002eb"),
            ("ĉ", "_", "_u109"),
            ("名前", "__", "_u540d_u524d"),
            ("١x", "_١x", "_u661x"),
            ("x😀", "x__", "x_ud83d_ude00"),
            ("", "", ""),
        ] {
            assert_eq!(FieldNameAdjustmentMode::None.adjust(name), name);
            assert_eq!(FieldNameAdjustmentMode::Avro.adjust(name), avro, "{name}");
            assert_eq!(FieldNameAdjustmentMode::AvroUnicode.adjust(name), unicode, "{name}");
        }
    }

    #[test]
    fn schema_names_are_checked_as_one_dotted_string() {
        for (name, avro, unicode) in [
            ("dbserver1.my-db.order_items.Value", "dbserver1.my_db.order_items.Value", "dbserver1.my_u002ddb.order_u005fitems.Value"),
            ("srv.1db.t.Key", "srv.1db.t.Key", "srv.1db.t.Key"),
            ("1srv.db.t.Key", "_1srv.db.t.Key", "_u0031srv.db.t.Key"),
            ("io.debezium.connector.mysql.Source", "io.debezium.connector.mysql.Source", "io.debezium.connector.mysql.Source"),
            (".x", "_x", "_u002ex"),
        ] {
            assert_eq!(SchemaNameAdjustmentMode::None.adjust(name), name);
            assert_eq!(SchemaNameAdjustmentMode::Avro.adjust(name), avro, "{name}");
            assert_eq!(SchemaNameAdjustmentMode::AvroUnicode.adjust(name), unicode, "{name}");
        }
    }

    #[test]
    fn valid_names_are_borrowed() {
        assert!(matches!(FieldNameAdjustmentMode::Avro.adjust("a_1"), Cow::Borrowed(_)));
        assert!(matches!(SchemaNameAdjustmentMode::AvroUnicode.adjust("a.b1"), Cow::Borrowed(_)));
    }
}
