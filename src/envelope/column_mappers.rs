//! Debezium's column mappers: `column.truncate.to.<N>.chars`,
//! `column.mask.with.<N>.chars` and
//! `column.mask.hash[.v2].<ALGORITHM>.with.salt.<SALT>`.
//!
//! What Debezium does (`ColumnMappers`, `TruncateColumn`, `MaskStrings` in
//! debezium-connector-common), and so what this module does:
//!
//! - The rules are tried in this order, and the first whose column list
//!   (comma-separated anchored regexes over `db.table.column`) matches
//!   decides the column: every truncate property, every mask-with-chars
//!   property, every v1 hash property, every v2 hash property (within one
//!   kind, raftcdc takes the properties in name order; Debezium's order
//!   there is its config map's).
//! - Mappers change the *value* only, never the key, and run on the value
//!   as Debezium's converter produced it (a Java `String` for character
//!   columns, ENUM, SET, DECIMAL as string, TIMESTAMP, JSON and binary in
//!   base64/hex modes; a byte buffer for binary in `bytes` mode).
//! - Truncate: when the column's length is unknown or larger than `N`, the
//!   field schema gets the parameter `truncateLength=N`, strings longer
//!   than `N` UTF-16 units keep their first `N` (a cut inside a surrogate
//!   pair keeps the pair out) and byte buffers their first `N` bytes.
//! - Mask with chars and hash: the field schema gets `masked=true`; only
//!   character columns (CHAR, VARCHAR, TEXT, ENUM, SET: JDBC CHAR/VARCHAR)
//!   are changed. Mask writes `N` asterisks for every value, null included.
//!   Hash writes the lowercase hex of `ALGORITHM(salt || bytes)`, where the
//!   salt is the UTF-8 of `SALT` and `bytes` is Java's serialization of the
//!   string (v1: `ObjectOutputStream.writeObject`, i.e. `AC ED 00 05`,
//!   `TC_STRING` and modified UTF-8) or its UTF-8 (v2); a null stays null;
//!   the hex is cut to the column's length when it has one (VARCHAR(n)).
//!
//! Algorithms are Java `MessageDigest` names (case-insensitive): MD5,
//! SHA-1 (SHA, SHA1), SHA-224, SHA-256, SHA-384, SHA-512, SHA-512/224,
//! SHA-512/256; any other is refused when the connector is created.
use regex::Regex;
use sha1::Digest;

use super::value::FieldKind;
use crate::source::mysql::column::ColumnType;

/// One column mapper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnMapper {
    /// `column.truncate.to.<N>.chars`.
    Truncate(usize),
    /// `column.mask.with.<N>.chars`: the mask itself.
    Mask(String),
    /// `column.mask.hash[.v2].<ALGORITHM>.with.salt.<SALT>`.
    Hash { algorithm: HashAlgorithm, salt: Vec<u8>, v2: bool },
    /// `column.propagate.source.type` (matched against `db.table.column`)
    /// or `datatype.propagate.source.type` (against `db.table.TYPE`): the
    /// `__debezium.source.column.*` schema parameters, values unchanged.
    PropagateSourceType,
}

/// The hash algorithms of `column.mask.hash.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha512_224,
    Sha512_256,
}

impl HashAlgorithm {
    fn from_java_name(name: &str) -> Option<HashAlgorithm> {
        Some(match name.to_ascii_uppercase().as_str() {
            "MD5" => HashAlgorithm::Md5,
            "SHA" | "SHA1" | "SHA-1" => HashAlgorithm::Sha1,
            "SHA-224" | "SHA224" => HashAlgorithm::Sha224,
            "SHA-256" | "SHA256" => HashAlgorithm::Sha256,
            "SHA-384" | "SHA384" => HashAlgorithm::Sha384,
            "SHA-512" | "SHA512" => HashAlgorithm::Sha512,
            "SHA-512/224" | "SHA512/224" => HashAlgorithm::Sha512_224,
            "SHA-512/256" | "SHA512/256" => HashAlgorithm::Sha512_256,
            _ => return None,
        })
    }

    fn digest(self, salt: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<D: Digest>(salt: &[u8], data: &[u8]) -> Vec<u8> {
            let mut d = D::new();
            d.update(salt);
            d.update(data);
            d.finalize().to_vec()
        }
        match self {
            HashAlgorithm::Md5 => run::<md5::Md5>(salt, data),
            HashAlgorithm::Sha1 => run::<sha1::Sha1>(salt, data),
            HashAlgorithm::Sha224 => run::<sha2::Sha224>(salt, data),
            HashAlgorithm::Sha256 => run::<sha2::Sha256>(salt, data),
            HashAlgorithm::Sha384 => run::<sha2::Sha384>(salt, data),
            HashAlgorithm::Sha512 => run::<sha2::Sha512>(salt, data),
            HashAlgorithm::Sha512_224 => run::<sha2::Sha512_224>(salt, data),
            HashAlgorithm::Sha512_256 => run::<sha2::Sha512_256>(salt, data),
        }
    }
}

/// A connector's column mapper rules, in Debezium's order.
#[derive(Debug, Clone, Default)]
pub struct ColumnMappers {
    /// Patterns, mapper, and whether the patterns match `db.table.TYPE`
    /// (`datatype.propagate.source.type`) rather than `db.table.column`.
    rules: Vec<(Vec<Regex>, ColumnMapper, bool)>,
    /// The properties the rules came from (for equality).
    source: Vec<(String, String)>,
}

impl PartialEq for ColumnMappers {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for ColumnMappers {}

/// A parsed rule with the property it came from, before ordering.
type PendingRule = (Vec<Regex>, ColumnMapper, String, String, bool);

/// Whether `key` is a column mapper property this module reads.
pub fn is_column_mapper_property(key: &str) -> bool {
    key.starts_with("column.truncate.")
        || key.starts_with("column.mask.")
        || key == COLUMN_PROPAGATE
        || key == DATATYPE_PROPAGATE
}

const COLUMN_PROPAGATE: &str = "column.propagate.source.type";
const DATATYPE_PROPAGATE: &str = "datatype.propagate.source.type";

impl ColumnMappers {
    /// Builds the rules from `column.truncate.*` and `column.mask.*`
    /// properties (others are ignored); a malformed name, algorithm or
    /// regex is `Err((property, reason))`.
    pub fn from_properties<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<ColumnMappers, (String, String)> {
        // Debezium's order: truncate, mask with chars, propagate by column,
        // propagate by data type, hash v1, hash v2.
        let mut by_kind: [Vec<PendingRule>; 6] = Default::default();
        for (key, value) in props {
            if !is_column_mapper_property(key) {
                continue;
            }
            let bad = |reason: &str| (key.to_string(), reason.to_string());
            let (kind, mapper) = if let Some(n) = key.strip_prefix("column.truncate.to.").and_then(|r| r.strip_suffix(".chars")) {
                let n: usize = n.parse().map_err(|_| bad("must be column.truncate.to.<N>.chars with N a non-negative integer"))?;
                (0, ColumnMapper::Truncate(n))
            } else if let Some(n) = key.strip_prefix("column.mask.with.").and_then(|r| r.strip_suffix(".chars")) {
                let n: usize = n
                    .parse()
                    .ok()
                    .filter(|n| *n <= 1_000_000)
                    .ok_or_else(|| bad("must be column.mask.with.<N>.chars with N an integer from 0 to 1000000"))?;
                (1, ColumnMapper::Mask("*".repeat(n)))
            } else if key == COLUMN_PROPAGATE {
                (2, ColumnMapper::PropagateSourceType)
            } else if key == DATATYPE_PROPAGATE {
                (3, ColumnMapper::PropagateSourceType)
            } else if let Some(rest) = key.strip_prefix("column.mask.hash.") {
                let (v2, rest) = match rest.strip_prefix("v2.") {
                    Some(rest) => (true, rest),
                    None => (false, rest),
                };
                let (algorithm, salt) = rest
                    .split_once(".with.salt.")
                    .filter(|(a, s)| !a.is_empty() && !a.contains('.') && !s.is_empty())
                    .ok_or_else(|| bad("must be column.mask.hash[.v2].<ALGORITHM>.with.salt.<SALT>"))?;
                let algorithm = HashAlgorithm::from_java_name(algorithm).ok_or_else(|| {
                    bad(&format!(
                        "\"{algorithm}\" is not a supported hash algorithm; use MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA-512/224 or SHA-512/256"
                    ))
                })?;
                (if v2 { 5 } else { 4 }, ColumnMapper::Hash { algorithm, salt: salt.as_bytes().to_vec(), v2 })
            } else {
                return Err(bad("is not a column mapper: use column.truncate.to.<N>.chars, column.mask.with.<N>.chars or column.mask.hash[.v2].<ALGORITHM>.with.salt.<SALT>"));
            };
            let mut patterns = Vec::new();
            for pattern in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                // Debezium's Predicates.includes: anchored, case-insensitive.
                let regex = Regex::new(&format!("(?i)^(?:{pattern})$"))
                    .map_err(|e| bad(&format!("\"{pattern}\" is not a valid regular expression: {e}")))?;
                patterns.push(regex);
            }
            by_kind[kind].push((patterns, mapper, key.to_string(), value.to_string(), kind == 3));
        }
        let mut mappers = ColumnMappers::default();
        for kind in by_kind {
            for (patterns, mapper, key, value, by_type) in kind {
                mappers.rules.push((patterns, mapper, by_type));
                mappers.source.push((key, value));
            }
        }
        Ok(mappers)
    }

    /// The mapper of column `db.table.column` of type `type_name` (as
    /// [`ColumnType::type_name`] gives it), if any.
    pub fn mapper_for(&self, db: &str, table: &str, column: &str, type_name: &str) -> Option<&ColumnMapper> {
        let id = format!("{db}.{table}.{column}");
        let typed = format!("{db}.{table}.{type_name}");
        self.rules
            .iter()
            .find(|(patterns, _, by_type)| {
                let subject = if *by_type { &typed } else { &id };
                patterns.iter().any(|p| p.is_match(subject))
            })
            .map(|(_, mapper, _)| mapper)
    }
}

/// A mapper bound to one column: what [`super::value::FieldPlan`] applies
/// after converting a value.
#[derive(Debug, Clone)]
pub(crate) enum ValueMapping {
    /// Strings (or, for binary in bytes mode, bytes) cut to this length.
    Truncate(usize),
    Mask(String),
    Hash { algorithm: HashAlgorithm, salt: Vec<u8>, v2: bool, cut_to: Option<usize> },
}

impl ColumnMapper {
    /// The schema parameter Debezium adds, and the value mapping for a
    /// column of `column_type` written as `kind` (`None`: values pass
    /// through unchanged).
    pub(crate) fn bind(&self, column_type: &ColumnType, kind: &FieldKind) -> (Vec<(&'static str, String)>, Option<ValueMapping>) {
        let character = matches!(
            column_type,
            ColumnType::Char { .. } | ColumnType::VarChar { .. } | ColumnType::Text { .. } | ColumnType::Enum { .. } | ColumnType::Set { .. }
        );
        match self {
            ColumnMapper::Truncate(n) => {
                if column_type.length().is_some_and(|len| len as usize <= *n) {
                    return (Vec::new(), None);
                }
                let truncatable = matches!(
                    kind,
                    FieldKind::Text
                        | FieldKind::Json
                        | FieldKind::Enum(_)
                        | FieldKind::Set(_)
                        | FieldKind::DecimalString
                        | FieldKind::ZonedTimestamp { .. }
                        | FieldKind::Uuid
                        | FieldKind::Binary(_)
                );
                (vec![("truncateLength", n.to_string())], truncatable.then_some(ValueMapping::Truncate(*n)))
            }
            ColumnMapper::Mask(mask) => (vec![("masked", "true".into())], character.then(|| ValueMapping::Mask(mask.clone()))),
            ColumnMapper::PropagateSourceType => (Vec::new(), None),
            ColumnMapper::Hash { algorithm, salt, v2 } => (
                vec![("masked", "true".into())],
                character.then(|| ValueMapping::Hash {
                    algorithm: *algorithm,
                    salt: salt.clone(),
                    v2: *v2,
                    cut_to: column_type.length().filter(|len| *len > 0).map(|len| len as usize),
                }),
            ),
        }
    }
}

/// Debezium's `PropagateSourceMetadataToSchemaParameter`: the type name
/// upper-cased, the length and scale when the column has them, the comment
/// when it is not empty, and the column name.
pub(crate) fn source_type_parameters(
    column_type: &ColumnType,
    comment: Option<&str>,
    name: &str,
) -> Vec<(&'static str, String)> {
    let mut parameters = vec![("__debezium.source.column.type", column_type.type_name().to_uppercase())];
    if let Some(length) = column_type.length() {
        parameters.push(("__debezium.source.column.length", length.to_string()));
    }
    if let Some(scale) = column_type.scale() {
        parameters.push(("__debezium.source.column.scale", scale.to_string()));
    }
    if let Some(comment) = comment.filter(|c| !c.is_empty()) {
        parameters.push(("__debezium.source.column.comment", comment.to_string()));
    }
    parameters.push(("__debezium.source.column.name", name.to_string()));
    parameters
}

/// Java's `String.substring(0, n)` in UTF-16 units (a cut inside a
/// surrogate pair leaves the pair out).
pub(crate) fn truncate_utf16(s: &str, n: usize) -> &str {
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > n {
            return &s[..i];
        }
    }
    s
}

/// The pseudonym of `value`: lowercase hex of the digest, cut to `cut_to`.
pub(crate) fn hash_hex(algorithm: HashAlgorithm, salt: &[u8], v2: bool, value: &str, cut_to: Option<usize>) -> String {
    let bytes = if v2 { value.as_bytes().to_vec() } else { java_serialized_string(value) };
    let mut hex: String = algorithm.digest(salt, &bytes).iter().map(|b| format!("{b:02x}")).collect();
    if let Some(n) = cut_to {
        hex.truncate(n.min(hex.len()));
    }
    hex
}

/// `new ObjectOutputStream(bos).writeObject(s)`: the stream header, then
/// `TC_STRING` with a 2-byte length (or `TC_LONGSTRING` with 8 bytes past
/// 65535) and Java's modified UTF-8.
fn java_serialized_string(s: &str) -> Vec<u8> {
    let mut utf = Vec::with_capacity(s.len());
    for unit in s.encode_utf16() {
        match unit {
            0x0001..=0x007F => utf.push(unit as u8),
            0x0000 | 0x0080..=0x07FF => {
                utf.push(0xC0 | (unit >> 6) as u8);
                utf.push(0x80 | (unit & 0x3F) as u8);
            }
            _ => {
                utf.push(0xE0 | (unit >> 12) as u8);
                utf.push(0x80 | ((unit >> 6) & 0x3F) as u8);
                utf.push(0x80 | (unit & 0x3F) as u8);
            }
        }
    }
    let mut out = vec![0xAC, 0xED, 0x00, 0x05];
    if utf.len() <= 0xFFFF {
        out.push(0x74);
        out.extend_from_slice(&(utf.len() as u16).to_be_bytes());
    } else {
        out.push(0x7C);
        out.extend_from_slice(&(utf.len() as u64).to_be_bytes());
    }
    out.extend_from_slice(&utf);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_serialization_of_strings() {
        assert_eq!(java_serialized_string("ab"), [0xAC, 0xED, 0, 5, 0x74, 0, 2, b'a', b'b']);
        // NUL and supplementary characters in modified UTF-8.
        assert_eq!(
            java_serialized_string("\0\u{1F600}"),
            [0xAC, 0xED, 0, 5, 0x74, 0, 8, 0xC0, 0x80, 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]
        );
        assert_eq!(java_serialized_string(&"x".repeat(70_000))[4..13], [0x7C, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    }

    /// Golden values computed with the JDK (MessageDigest over the salt's
    /// bytes, then ObjectOutputStream.writeObject(value) for v1 or
    /// value.getBytes() for v2), as Debezium's MaskStrings does.
    #[test]
    fn hashes_match_the_jdk() {
        let cases: &[(HashAlgorithm, &str, bool, &str, &str)] = &[
            (HashAlgorithm::Sha256, "CzQMA0cB5K", false, "hello world", "b332a6249fec0b473c46ffde9a1bfd5a560388c5bb4dfa2247643dd42d6b002d"),
            (HashAlgorithm::Sha256, "s", false, "\0\u{1F600}\u{e9}", "e0b8f5a297751ce0df532e013133ce589526505ce470dcee9aee9f8cbb3bea8d"),
            (HashAlgorithm::Sha512_256, "s", true, "h\u{e9}", "1aa9086aa282ee2fd02b5f6b4001f360fec642ac1d00bd04c6f8597812b8c358"),
            (HashAlgorithm::Sha1, "salt", false, "alice@example.com", "337e27dfb056073177de9ccaac71677cf3bc33c8"),
            (HashAlgorithm::Sha256, "salt", true, "alice@example.com", "109f0b7ded1d94140eda40c1286befd64aec56290dba9e6642f3d096e9fc3b05"),
        ];
        for (algorithm, salt, v2, value, hex) in cases {
            assert_eq!(hash_hex(*algorithm, salt.as_bytes(), *v2, value, None), *hex, "{value:?}");
        }
        assert_eq!(hash_hex(HashAlgorithm::Md5, b"s", false, &"x".repeat(70_000), None), "f8551e707da84572eed91b623d5c4c5f");
        assert_eq!(hash_hex(HashAlgorithm::Sha1, b"salt", false, "alice@example.com", Some(8)), "337e27df");
    }

    #[test]
    fn utf16_truncation() {
        assert_eq!(truncate_utf16("héllo", 2), "hé");
        assert_eq!(truncate_utf16("a\u{1F600}b", 2), "a");
        assert_eq!(truncate_utf16("a\u{1F600}b", 3), "a\u{1F600}");
        assert_eq!(truncate_utf16("ab", 5), "ab");
    }

    #[test]
    fn rules_in_debezium_order_and_refusals_by_property() {
        let m = ColumnMappers::from_properties([
            ("column.mask.with.3.chars", "db\\.t\\.a, db\\.t\\.b"),
            ("column.truncate.to.2.chars", "db\\.t\\.b"),
            ("column.mask.hash.SHA-256.with.salt.s1", "db\\.t\\.c"),
            ("column.mask.hash.v2.md5.with.salt.s2", "db\\.t\\..*"),
        ])
        .unwrap();
        assert_eq!(m.mapper_for("db", "t", "a", "INT"), Some(&ColumnMapper::Mask("***".into())));
        assert_eq!(m.mapper_for("db", "t", "b", "INT"), Some(&ColumnMapper::Truncate(2)));
        assert!(matches!(m.mapper_for("db", "t", "c", "INT"), Some(ColumnMapper::Hash { v2: false, .. })));
        assert!(matches!(m.mapper_for("DB", "T", "D", "INT"), Some(ColumnMapper::Hash { v2: true, algorithm: HashAlgorithm::Md5, .. })));
        assert_eq!(m.mapper_for("db", "u", "a", "INT"), None);
        // Propagation comes before hashing; by data type matches db.table.TYPE.
        let m = ColumnMappers::from_properties([
            ("column.mask.hash.SHA-256.with.salt.s1", ".*"),
            ("datatype.propagate.source.type", ".+\\.varchar"),
        ])
        .unwrap();
        assert_eq!(m.mapper_for("db", "t", "a", "VARCHAR"), Some(&ColumnMapper::PropagateSourceType));
        assert!(matches!(m.mapper_for("db", "t", "a", "INT"), Some(ColumnMapper::Hash { .. })));
        for key in ["column.mask.hash.SHA3-999.with.salt.x", "column.mask.with.x.chars", "column.truncate.to.-1.chars", "column.mask.other"] {
            assert_eq!(ColumnMappers::from_properties([(key, "db.t.c")]).unwrap_err().0, key);
        }
        assert_eq!(ColumnMappers::from_properties([("column.mask.with.1.chars", "(")]).unwrap_err().0, "column.mask.with.1.chars");
    }
}
