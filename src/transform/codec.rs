//! Between the encoder's bytes and the structured [`ConnectRecord`]: the
//! read side (`JsonConverter.toConnectData` with `schemas.enable=true`)
//! and the write side (`JsonConverter.fromConnectData`, schemas on or off).
//!
//! # Why records are read back from the encoder's bytes
//! The source writes every record (data changes, tombstones, schema
//! changes, transaction metadata, heartbeats) through the byte-exact
//! encoder in `envelope`, which never builds a tree: that is what keeps a
//! connector without transforms fast. A connector *with* transforms has
//! its source hand over each record's schemas (whatever the user's
//! `*.converter.schemas.enable`), and this module turns each record into
//! the model by reading its JSON back guided by its schema, exactly as a
//! Kafka Connect consumer's `JsonConverter` would. So the model is built
//! from the encoder only when there are transforms, every kind of record
//! takes the same path, and the source needs no second encoder to keep in
//! step.
//!
//! # Why it is exact
//! The schema says each value's type, so integers stay integers (their
//! text is parsed as `i64`), floats are re-parsed from their own shortest
//! digits into the same `f32`/`f64` (so writing them again gives the same
//! text), bytes are base64-decoded and re-encoded with the same alphabet,
//! and strings are unescaped and re-escaped with Jackson's rules. The
//! writer is the encoder's own (`envelope::json`, `ConnectSchema::
//! write_json`). The round trip of every encoder output is byte-identical
//! (tested in `tests.rs` for the envelope's type families, schemas on and
//! off).
//!
//! # Why it is fast enough
//! The owner of a connector with transforms asks the encoder for schemas
//! *by reference* (`EncodingOptions::schemas_by_reference`): a data-change
//! record's key and value are then payload-only JSON, and the record
//! carries the encoder's own schema objects ([`Record::schemas`]), so
//! its schema is neither written, compared nor parsed per record. Records
//! the source writes with the schema inline (schema changes, transaction
//! metadata, heartbeats: few) are parsed once per distinct schema:
//! [`SchemaCache`] remembers, per topic, the exact schema bytes it has seen
//! and hands back the same [`SchemaRef`] without parsing (one `memcmp`).
//! Either way a record costs one payload parse and one write.
//!
//! A change event by reference also comes with its [`EnvelopeLayout`]
//! (where each member of the envelope and of its `source` block is), so a
//! chain that reads only part of an envelope (ExtractNewRecordState in
//! front: [`Projection`]) reads those parts where they are and never
//! scans the rest; a row it keeps as text is copied without being
//! scanned. Names of struct members are checked in place, in schema
//! order, and strings end where SIMD `memchr` finds their quote.
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use super::record::{ConnectRecord, Data, Header, SchemaRef, Value};
use super::TransformError;
use crate::envelope::json::{write_base64, write_f32, write_f64, write_i64, write_str};
use crate::envelope::schema::{ConnectSchema, SchemaType};
use crate::envelope::{EnvelopeLayout, Span, ENVELOPE_MEMBERS, SOURCE_MEMBERS};
use crate::source::Record;

/// A parsed JSON value; objects keep their key order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    /// The number's text, as written.
    Num(&'a str),
    Str(Cow<'a, str>),
    Arr(Vec<Json<'a>>),
    Obj(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Writes the value back as JSON (Jackson's escaping; numbers as read).
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Json::Num(n) => out.extend_from_slice(n.as_bytes()),
            Json::Str(s) => write_str(out, s),
            Json::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Json::Obj(members) => {
                out.push(b'{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, k);
                    out.push(b':');
                    v.write(out);
                }
                out.push(b'}');
            }
        }
    }
}

/// Which parts of a value a reader builds: a chain whose first step reads
/// only some members of a record (ExtractNewRecordState reads an
/// envelope's `before`, `after` and the fields it adds) has the rest
/// skipped instead of built, and left null.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Projection {
    /// The whole value.
    All,
    /// Of a struct, member `i` as `members[i]` says (`None`: skipped).
    Members(Vec<Option<Projection>>),
    /// A struct kept as its JSON text ([`Value::RawStruct`]).
    Raw,
}

/// A JSON reader over bytes. Only the text it hands out (strings,
/// numbers) is checked to be UTF-8: what it skips or keeps as raw JSON
/// is copied as the encoder wrote it.
pub(crate) struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

fn bad(what: &str) -> TransformError {
    TransformError::Json(what.to_owned())
}

impl<'a> Reader<'a> {
    /// A reader over `s` (JSON text).
    pub(crate) fn new(s: &'a [u8]) -> Reader<'a> {
        Reader { s, i: 0 }
    }

    /// The input from `start` to the reader's position, as text.
    fn text_from(&self, start: usize) -> Result<&'a str, TransformError> {
        std::str::from_utf8(&self.s[start..self.i]).map_err(|_| bad("invalid UTF-8"))
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }

    fn expect(&mut self, literal: &[u8]) -> Result<(), TransformError> {
        self.ws();
        if self.s[self.i..].starts_with(literal) {
            self.i += literal.len();
            Ok(())
        } else {
            Err(bad(&format!("expected {} at byte {}", String::from_utf8_lossy(literal), self.i)))
        }
    }

    /// How far the reader got, in bytes.
    #[cfg(test)]
    pub(crate) fn position(&self) -> usize {
        self.i
    }

    pub(crate) fn at_end(&mut self) -> bool {
        self.ws();
        self.i >= self.s.len()
    }

    pub(crate) fn value(&mut self) -> Result<Json<'a>, TransformError> {
        self.ws();
        let Some(&c) = self.s.get(self.i) else { return Err(bad("unexpected end")) };
        match c {
            b'n' => self.expect(b"null").map(|_| Json::Null),
            b't' => self.expect(b"true").map(|_| Json::Bool(true)),
            b'f' => self.expect(b"false").map(|_| Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'-' | b'0'..=b'9' => self.number().map(Json::Num),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(bad("expected , or ]")),
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(members));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.expect(b":")?;
                    members.push((key, self.value()?));
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(members));
                        }
                        _ => return Err(bad("expected , or }")),
                    }
                }
            }
            _ => Err(bad(&format!("unexpected byte at {}", self.i))),
        }
    }

    fn number(&mut self) -> Result<&'a str, TransformError> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && matches!(self.s[self.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
            self.i += 1;
        }
        self.text_from(start)
    }

    /// Skips one value without building it (strings are scanned, not
    /// unescaped).
    pub(crate) fn skip(&mut self) -> Result<(), TransformError> {
        self.ws();
        let mut depth = 0usize;
        loop {
            let Some(&c) = self.s.get(self.i) else { return Err(bad("unexpected end")) };
            match c {
                b'"' => self.skip_string()?,
                b'{' | b'[' => {
                    depth += 1;
                    self.i += 1;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1).ok_or_else(|| bad("unbalanced brackets"))?;
                    self.i += 1;
                }
                b',' | b':' | b' ' | b'\n' | b'\r' | b'\t' if depth > 0 => self.i += 1,
                _ => {
                    // A number or literal: up to the next delimiter.
                    let start = self.i;
                    while self.s.get(self.i).is_some_and(|b| !matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t' | b':')) {
                        self.i += 1;
                    }
                    if self.i == start {
                        return Err(bad(&format!("unexpected byte at {}", self.i)));
                    }
                }
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }

    /// Skips the string that starts at the reader's position, to just
    /// after its closing quote.
    fn skip_string(&mut self) -> Result<(), TransformError> {
        self.i += 1;
        loop {
            let Some(at) = memchr::memchr2(b'"', b'\\', &self.s[self.i.min(self.s.len())..]) else {
                return Err(bad("unterminated string"));
            };
            self.i += at;
            if self.s[self.i] == b'"' {
                self.i += 1;
                return Ok(());
            }
            self.i += 2;
        }
    }

    /// Whether the next member's name is `name` (written without escapes,
    /// as the encoder writes a name that needs none): if so the reader
    /// moves past it and its colon. `false` leaves the reader where it was
    /// (a name that is written with escapes is then read the slow way). A
    /// name with a backslash is never matched in place: its bytes could
    /// be the escaped start of a longer name.
    fn member_named(&mut self, name: &str) -> bool {
        let rest = &self.s[self.i..];
        let n = name.len();
        if rest.len() > n + 2
            && rest[0] == b'"'
            && &rest[1..=n] == name.as_bytes()
            && rest[n + 1] == b'"'
            && rest[n + 2] == b':'
            && !name.contains('\\')
        {
            self.i += n + 3;
            true
        } else {
            false
        }
    }

    /// Reads a payload straight into a Connect value, guided by its
    /// schema (`JsonConverter.convertToConnect`), without a tree.
    pub(crate) fn value_for(&mut self, schema: &ConnectSchema) -> Result<Value, TransformError> {
        self.value_projected(schema, &Projection::All)
    }

    /// [`Reader::value_for`], reading of a struct only the members
    /// `projection` keeps (the others are skipped and left null).
    fn value_projected(&mut self, schema: &ConnectSchema, projection: &Projection) -> Result<Value, TransformError> {
        self.ws();
        let Some(&c) = self.s.get(self.i) else { return Err(bad("unexpected end")) };
        if c == b'n' {
            self.expect(b"null")?;
            return Ok(Value::Null);
        }
        if *projection == Projection::Raw && c == b'{' && matches!(schema.kind, SchemaType::Struct(_)) {
            let start = self.i;
            self.skip()?;
            return Ok(Value::RawStruct { json: self.s[start..self.i].to_vec(), more: Vec::new() });
        }
        Ok(match &schema.kind {
            SchemaType::Boolean => match c {
                b't' => self.expect(b"true").map(|_| Value::Boolean(true))?,
                _ => self.expect(b"false").map(|_| Value::Boolean(false))?,
            },
            SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64 => {
                let n = self.number()?;
                Value::Int(n.parse().map_err(|_| bad(&format!("{n} is not an integer")))?)
            }
            SchemaType::Float32 if c == b'"' => Value::Float32(java_special(&self.string()?)? as f32),
            SchemaType::Float64 if c == b'"' => Value::Float64(java_special(&self.string()?)?),
            SchemaType::Float32 => Value::Float32(self.number()?.parse().map_err(|_| bad("float"))?),
            SchemaType::Float64 => Value::Float64(self.number()?.parse().map_err(|_| bad("double"))?),
            SchemaType::String => Value::String(self.string()?.into_owned()),
            SchemaType::Bytes => Value::Bytes(base64_decode(&self.string()?).ok_or_else(|| bad("invalid base64"))?),
            SchemaType::Array(_) | SchemaType::Map(..) => return value_from_json(schema, self.value()?),
            SchemaType::Struct(fields) => {
                self.expect(b"{")?;
                // Members come in schema order (the encoder writes them
                // so): push them; fill by index only if one is out of order.
                let mut values: Vec<Value> = Vec::with_capacity(fields.len());
                let mut next = 0;
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    values.resize(fields.len(), Value::Null);
                    return Ok(Value::Struct(values));
                }
                loop {
                    self.ws();
                    // The encoder writes members in schema order: the next
                    // field's name is checked in place, without reading it.
                    let index = if fields.get(next).is_some_and(|(n, _)| self.member_named(n)) {
                        Some(next)
                    } else {
                        let key = self.string()?;
                        self.expect(b":")?;
                        fields.iter().position(|(n, _)| *n == *key)
                    };
                    let member = |i: usize| match projection {
                        Projection::All | Projection::Raw => Some(&Projection::All),
                        Projection::Members(members) => members.get(i).and_then(Option::as_ref),
                    };
                    match index {
                        Some(i) => {
                            let value = match member(i) {
                                Some(projection) => self.value_projected(&fields[i].1, projection)?,
                                None => {
                                    self.skip()?;
                                    Value::Null
                                }
                            };
                            if i == values.len() {
                                values.push(value);
                            } else {
                                if values.len() < fields.len() {
                                    values.resize(fields.len(), Value::Null);
                                }
                                values[i] = value;
                            }
                            next = i + 1;
                        }
                        None => self.skip()?,
                    }
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            values.resize(fields.len(), Value::Null);
                            return Ok(Value::Struct(values));
                        }
                        _ => return Err(bad("expected , or }")),
                    }
                }
            }
        })
    }

    fn string(&mut self) -> Result<Cow<'a, str>, TransformError> {
        if self.s.get(self.i) != Some(&b'"') {
            return Err(bad("expected a string"));
        }
        self.i += 1;
        let start = self.i;
        if let Some(at) = memchr::memchr2(b'"', b'\\', &self.s[start..]) {
            self.i = start + at;
            if self.s[self.i] == b'"' {
                // Quotes are ASCII, so both ends are character boundaries.
                let text = self.text_from(start)?;
                self.i += 1;
                return Ok(Cow::Borrowed(text));
            }
        } else {
            self.i = self.s.len();
        }
        // Escapes: decode into an owned string.
        let mut out: Vec<u8> = self.s[start..self.i].to_vec();
        while self.i < self.s.len() {
            let b = self.s[self.i];
            self.i += 1;
            match b {
                b'"' => return String::from_utf8(out).map(Cow::Owned).map_err(|_| bad("invalid UTF-8")),
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or_else(|| bad("escape"))?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut code = self.hex4()?;
                            if (0xD800..0xDC00).contains(&code) && self.s[self.i..].starts_with(b"\\u") {
                                self.i += 2;
                                let low = self.hex4()?;
                                code = 0x10000 + ((code - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            let c = char::from_u32(code).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(bad("escape")),
                    }
                }
                _ => out.push(b),
            }
        }
        Err(bad("unterminated string"))
    }

    fn hex4(&mut self) -> Result<u32, TransformError> {
        let digits = self.s.get(self.i..self.i + 4).ok_or_else(|| bad("\\u escape"))?;
        self.i += 4;
        let text = std::str::from_utf8(digits).map_err(|_| bad("\\u escape"))?;
        u32::from_str_radix(text, 16).map_err(|_| bad("\\u escape"))
    }
}

/// Reads a schema as `JsonConverter.asConnectSchema` does.
pub(crate) fn schema_from_json(json: &Json<'_>) -> Result<ConnectSchema, TransformError> {
    let text = |key: &str| json.get(key).and_then(|v| if let Json::Str(s) = v { Some(s.to_string()) } else { None });
    let kind = match text("type").as_deref() {
        Some("boolean") => SchemaType::Boolean,
        Some("int8") => SchemaType::Int8,
        Some("int16") => SchemaType::Int16,
        Some("int32") => SchemaType::Int32,
        Some("int64") => SchemaType::Int64,
        Some("float") => SchemaType::Float32,
        Some("double") => SchemaType::Float64,
        Some("string") => SchemaType::String,
        Some("bytes") => SchemaType::Bytes,
        Some("struct") => {
            let mut fields = Vec::new();
            if let Some(Json::Arr(items)) = json.get("fields") {
                for item in items {
                    let name = match item.get("field") {
                        Some(Json::Str(s)) => s.to_string(),
                        _ => return Err(bad("struct field without a name")),
                    };
                    fields.push((name, schema_from_json(item)?));
                }
            }
            SchemaType::Struct(fields)
        }
        Some("array") => SchemaType::Array(Box::new(schema_from_json(json.get("items").ok_or_else(|| bad("array without items"))?)?)),
        Some("map") => SchemaType::Map(
            Box::new(schema_from_json(json.get("keys").ok_or_else(|| bad("map without keys"))?)?),
            Box::new(schema_from_json(json.get("values").ok_or_else(|| bad("map without values"))?)?),
        ),
        other => return Err(bad(&format!("unknown schema type {other:?}"))),
    };
    let mut schema = ConnectSchema::new(kind);
    schema.optional = matches!(json.get("optional"), Some(Json::Bool(true)));
    schema.name = text("name");
    schema.version = match json.get("version") {
        Some(Json::Num(n)) => n.parse().ok(),
        _ => None,
    };
    schema.doc = text("doc");
    if let Some(Json::Obj(parameters)) = json.get("parameters") {
        for (k, v) in parameters {
            if let Json::Str(v) = v {
                schema.parameters.push((k.to_string(), v.to_string()));
            }
        }
    }
    if let Some(default) = json.get("default") {
        let mut bytes = Vec::new();
        default.write(&mut bytes);
        schema.default = Some(bytes);
    }
    Ok(schema)
}

/// Standard base64 (with padding) back to bytes; the URL-safe alphabet is
/// accepted too.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= sextet(c)? << (18 - 6 * i);
        }
        let b = n.to_be_bytes();
        match chunk.len() {
            4 => out.extend_from_slice(&b[1..4]),
            3 => out.extend_from_slice(&b[1..3]),
            2 => out.push(b[1]),
            _ => return None,
        }
    }
    Some(out)
}

/// A JSON payload to a Connect value, guided by its schema
/// (`JsonConverter.convertToConnect`).
pub(crate) fn value_from_json(schema: &ConnectSchema, json: Json<'_>) -> Result<Value, TransformError> {
    Ok(match (&schema.kind, json) {
        (_, Json::Null) => Value::Null,
        (SchemaType::Boolean, Json::Bool(b)) => Value::Boolean(b),
        (SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64, Json::Num(n)) => {
            Value::Int(n.parse().map_err(|_| bad(&format!("{n} is not an integer")))?)
        }
        (SchemaType::Float32, Json::Num(n)) => Value::Float32(n.parse().map_err(|_| bad("float"))?),
        (SchemaType::Float64, Json::Num(n)) => Value::Float64(n.parse().map_err(|_| bad("double"))?),
        (SchemaType::Float32, Json::Str(s)) => Value::Float32(java_special(&s)? as f32),
        (SchemaType::Float64, Json::Str(s)) => Value::Float64(java_special(&s)?),
        (SchemaType::String, Json::Str(s)) => Value::String(s.into_owned()),
        (SchemaType::Bytes, Json::Str(s)) => Value::Bytes(base64_decode(&s).ok_or_else(|| bad("invalid base64"))?),
        (SchemaType::Array(items), Json::Arr(values)) => {
            Value::Array(values.into_iter().map(|v| value_from_json(items, v)).collect::<Result<_, _>>()?)
        }
        (SchemaType::Map(_, values), Json::Obj(members)) => Value::Map(
            members
                .into_iter()
                .map(|(k, v)| Ok((Value::String(k.into_owned()), value_from_json(values, v)?)))
                .collect::<Result<_, TransformError>>()?,
        ),
        (SchemaType::Map(keys, values), Json::Arr(pairs)) => Value::Map(
            pairs
                .into_iter()
                .map(|pair| match pair {
                    Json::Arr(mut kv) if kv.len() == 2 => {
                        let v = kv.pop().unwrap_or(Json::Null);
                        let k = kv.pop().unwrap_or(Json::Null);
                        Ok((value_from_json(keys, k)?, value_from_json(values, v)?))
                    }
                    _ => Err(bad("map entry")),
                })
                .collect::<Result<_, TransformError>>()?,
        ),
        (SchemaType::Struct(fields), Json::Obj(mut members)) => {
            let mut values = Vec::with_capacity(fields.len());
            // The encoder writes members in schema order: take them in
            // order, searching only when a name differs.
            let mut next = 0;
            for (name, field_schema) in fields {
                let found = if members.get(next).is_some_and(|(k, _)| k == name) {
                    Some(next)
                } else {
                    members.iter().position(|(k, _)| k == name)
                };
                match found {
                    Some(i) => {
                        let json = std::mem::replace(&mut members[i].1, Json::Null);
                        values.push(value_from_json(field_schema, json)?);
                        next = i + 1;
                    }
                    None => values.push(Value::Null),
                }
            }
            Value::Struct(values)
        }
        (kind, json) => return Err(bad(&format!("a {json:?} payload does not fit a {kind:?} schema"))),
    })
}

fn java_special(s: &str) -> Result<f64, TransformError> {
    match s {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => Err(bad("floating-point string")),
    }
}

/// Writes a value as `JsonConverter.convertToJson` does: a null member
/// takes its schema's default.
pub(crate) fn write_value(out: &mut Vec<u8>, schema: Option<&ConnectSchema>, value: &Value) {
    let Some(schema) = schema else {
        return write_schemaless(out, value);
    };
    match value {
        Value::Null => match &schema.default {
            Some(default) => out.extend_from_slice(default),
            None => out.extend_from_slice(b"null"),
        },
        Value::RawStruct { json, more } => write_raw_struct(out, schema, json, more),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => write_i64(out, *i),
        Value::Float32(f) => write_f32(out, *f),
        Value::Float64(f) => write_f64(out, *f),
        Value::String(s) => write_str(out, s),
        Value::Bytes(b) => {
            out.push(b'"');
            write_base64(out, b, false);
            out.push(b'"');
        }
        Value::Array(items) => {
            let item_schema = match &schema.kind {
                SchemaType::Array(items) => Some(&**items),
                _ => None,
            };
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item_schema, item);
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let (keys, values) = match &schema.kind {
                SchemaType::Map(k, v) => (Some(&**k), Some(&**v)),
                _ => (None, None),
            };
            let string_keys = keys.is_some_and(|k| matches!(k.kind, SchemaType::String));
            write_map(out, entries, string_keys, keys, values);
        }
        Value::Struct(values) => {
            let fields = match &schema.kind {
                SchemaType::Struct(fields) => &fields[..],
                _ => &[],
            };
            out.push(b'{');
            for (i, (name, field_schema)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, name);
                out.push(b':');
                write_value(out, Some(field_schema), values.get(i).unwrap_or(&Value::Null));
            }
            out.push(b'}');
        }
    }
}

fn write_map(out: &mut Vec<u8>, entries: &[(Value, Value)], string_keys: bool, keys: Option<&ConnectSchema>, values: Option<&ConnectSchema>) {
    if string_keys {
        out.push(b'{');
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, k.as_str().unwrap_or_default());
            out.push(b':');
            write_value(out, values, v);
        }
        out.push(b'}');
    } else {
        out.push(b'[');
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            write_value(out, keys, k);
            out.push(b',');
            write_value(out, values, v);
            out.push(b']');
        }
        out.push(b']');
    }
}

/// A value without a schema (`JsonConverter` infers from the Java type).
/// A [`Value::RawStruct`]: its JSON text, then its further members as the
/// schema's last fields.
fn write_raw_struct(out: &mut Vec<u8>, schema: &ConnectSchema, json: &[u8], more: &[Value]) {
    if more.is_empty() {
        out.extend_from_slice(json);
        return;
    }
    let fields = match &schema.kind {
        SchemaType::Struct(fields) => &fields[..],
        _ => &[],
    };
    let first = fields.len().saturating_sub(more.len());
    // The object without its closing brace; `{}` has no members to follow.
    out.extend_from_slice(&json[..json.len().saturating_sub(1)]);
    let mut empty = json.len() <= 2;
    for (k, value) in more.iter().enumerate() {
        let Some((name, field_schema)) = fields.get(first + k) else { break };
        if !empty {
            out.push(b',');
        }
        empty = false;
        write_str(out, name);
        out.push(b':');
        write_value(out, Some(field_schema), value);
    }
    out.push(b'}');
}

fn write_schemaless(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Map(entries) => {
            let string_keys = entries.iter().all(|(k, _)| matches!(k, Value::String(_)));
            write_map(out, entries, string_keys, None, None);
        }
        Value::Struct(_) | Value::RawStruct { .. } => out.extend_from_slice(b"null"),
        other => {
            // Primitives and arrays write the same with or without a schema.
            let schema = ConnectSchema::new(SchemaType::String);
            write_value(out, Some(&schema), other);
        }
    }
}

/// Writes a key or value as `JsonConverter.fromConnectData` does; `None`
/// for no schema and no value (a null key, a tombstone).
pub(crate) fn write_data(data: &Data, schemas_enable: bool, schema_json: impl FnOnce(&SchemaRef) -> Arc<Vec<u8>>) -> Option<Vec<u8>> {
    if data.schema.is_none() && data.value.is_null() {
        return None;
    }
    // Written into the thread's scratch buffer and copied out at its exact
    // size, as the encoder's records are: a record holds no spare capacity.
    let written = crate::envelope::exact_copy(|out| {
        if schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match data.schema.as_ref().map(schema_json) {
                Some(json) => out.extend_from_slice(&json),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
        }
        write_value(out, data.schema.as_deref(), &data.value);
        if schemas_enable {
            out.push(b'}');
        }
        Ok::<(), std::convert::Infallible>(())
    });
    let Ok(written) = written;
    Some(written)
}

/// Header values as Kafka Connect's default `SimpleHeaderConverter` writes
/// them: strings as UTF-8, numbers and booleans as their text, raw bytes
/// as they are, anything structured as JSON; a null value as empty bytes
/// (the sink's headers cannot carry a null).
pub(crate) fn header_bytes(header: &Header) -> Vec<u8> {
    match &header.value {
        Value::Null => Vec::new(),
        Value::Bytes(b) if header.schema.is_none() => b.clone(),
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Boolean(b) => b.to_string().into_bytes(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float32(f) => crate::envelope::json::java_float_to_string(*f).into_bytes(),
        Value::Float64(f) => crate::envelope::json::java_double_to_string(*f).into_bytes(),
        other => {
            let mut out = Vec::new();
            write_value(&mut out, header.schema.as_deref(), other);
            out
        }
    }
}

/// Parsed schemas by the exact bytes the encoder wrote, per topic, and
/// serialized schemas per schema object; both bounded.
#[derive(Default)]
pub(crate) struct SchemaCache {
    parsed: HashMap<String, Vec<(Vec<u8>, SchemaRef)>>,
    parsed_count: usize,
    serialized: HashMap<usize, (SchemaRef, Arc<Vec<u8>>)>,
}

const CACHE_LIMIT: usize = 4096;

impl SchemaCache {
    /// `JsonConverter` schema JSON of `schema` (cached by object).
    pub(crate) fn json(&mut self, schema: &SchemaRef) -> Arc<Vec<u8>> {
        let key = Arc::as_ptr(schema) as usize;
        if let Some((_, json)) = self.serialized.get(&key) {
            return json.clone();
        }
        if self.serialized.len() >= CACHE_LIMIT {
            self.serialized.clear();
        }
        let json = Arc::new(schema.to_json());
        self.serialized.insert(key, (schema.clone(), json.clone()));
        json
    }

    /// Reads `{"schema":S,"payload":P}` into data.
    pub(crate) fn read(&mut self, topic: &str, bytes: &[u8]) -> Result<Data, TransformError> {
        const HEAD: &[u8] = b"{\"schema\":";
        const MID: &[u8] = b",\"payload\":";
        let rest = bytes.strip_prefix(HEAD).ok_or_else(|| bad("the record is not {\"schema\",\"payload\"} JSON"))?;
        let known = self.parsed.get(topic).and_then(|candidates| {
            candidates.iter().find_map(|(raw, schema)| {
                (rest.len() > raw.len() && rest.starts_with(raw) && rest[raw.len()..].starts_with(MID))
                    .then(|| (raw.len(), schema.clone()))
            })
        });
        let (schema, payload_at) = match known {
            Some((len, schema)) => (schema, HEAD.len() + len + MID.len()),
            None => {
                let mut reader = Reader::new(rest);
                let json = reader.value()?;
                let end = reader.i;
                if !rest[end..].starts_with(MID) {
                    return Err(bad("expected \"payload\" after \"schema\""));
                }
                if matches!(json, Json::Null) {
                    // A schemaless payload: not produced by the encoder.
                    return Err(bad("a record without a schema"));
                }
                let schema = Arc::new(schema_from_json(&json)?);
                if self.parsed_count >= CACHE_LIMIT {
                    self.parsed.clear();
                    self.parsed_count = 0;
                }
                self.parsed_count += 1;
                self.parsed.entry(topic.to_owned()).or_default().push((rest[..end].to_vec(), schema.clone()));
                (schema, HEAD.len() + end + MID.len())
            }
        };
        let body = bytes.get(payload_at..bytes.len().saturating_sub(1)).ok_or_else(|| bad("truncated record"))?;
        read_payload(&schema, body, &Projection::All)
    }
}

/// Reads (the `projection` of) a payload written for `schema` into data.
fn read_payload(schema: &SchemaRef, body: &[u8], projection: &Projection) -> Result<Data, TransformError> {
    let mut reader = Reader::new(body);
    let value = reader.value_projected(schema, projection)?;
    if !reader.at_end() {
        return Err(bad("trailing bytes after the payload"));
    }
    Ok(Data::new(schema.clone(), value))
}

/// Reads (the `projection` of) an envelope value whose parts `layout`
/// locates: each member the projection keeps is read from its own bytes,
/// the others are not looked at. A value or projection of another shape
/// is read whole ([`read_payload`]).
fn read_laid_out(schema: &SchemaRef, body: &[u8], projection: &Projection, layout: &EnvelopeLayout) -> Result<Data, TransformError> {
    let (SchemaType::Struct(fields), Projection::Members(keep)) = (&schema.kind, projection) else {
        return read_payload(schema, body, projection);
    };
    if fields.len() != ENVELOPE_MEMBERS {
        return read_payload(schema, body, projection);
    }
    let mut values = Vec::with_capacity(fields.len());
    for (i, (name, field_schema)) in fields.iter().enumerate() {
        let Some(member) = keep.get(i).and_then(Option::as_ref) else {
            values.push(Value::Null);
            continue;
        };
        let bytes = span_of(body, layout.members[i])?;
        let value = match (name.as_str(), member, &field_schema.kind) {
            ("source", Projection::Members(keep_source), SchemaType::Struct(source_fields))
                if source_fields.len() == SOURCE_MEMBERS && keep_source.len() == SOURCE_MEMBERS =>
            {
                let mut source = Vec::with_capacity(SOURCE_MEMBERS);
                for (j, (_, source_schema)) in source_fields.iter().enumerate() {
                    source.push(match &keep_source[j] {
                        Some(projection) => read_member(source_schema, span_of(body, layout.source[j])?, projection)?,
                        None => Value::Null,
                    });
                }
                Value::Struct(source)
            }
            _ => read_member(field_schema, bytes, member)?,
        };
        values.push(value);
    }
    Ok(Data::new(schema.clone(), Value::Struct(values)))
}

/// The bytes of `span` in `body`.
fn span_of(body: &[u8], (start, end): Span) -> Result<&[u8], TransformError> {
    body.get(start as usize..end as usize).ok_or_else(|| bad("a member outside its record"))
}

/// One member's value, all of its bytes: a row kept as text is copied
/// without being scanned (its bytes are exactly the row's JSON).
fn read_member(schema: &ConnectSchema, bytes: &[u8], projection: &Projection) -> Result<Value, TransformError> {
    if *projection == Projection::Raw && bytes.first() == Some(&b'{') && matches!(schema.kind, SchemaType::Struct(_)) {
        return Ok(Value::RawStruct { json: bytes.to_vec(), more: Vec::new() });
    }
    let mut reader = Reader::new(bytes);
    let value = reader.value_projected(schema, projection)?;
    if !reader.at_end() {
        return Err(bad("trailing bytes after a member"));
    }
    Ok(value)
}

/// The user's `key.converter.schemas.enable` / `value.converter.schemas.enable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputFormat {
    pub key_schemas_enable: bool,
    pub value_schemas_enable: bool,
}

/// Headers whose value the source writes as an encoded key (Debezium's
/// primary-key-change headers); their bytes follow the key converter.
const KEY_HEADERS: &[&str] = &["__debezium.newkey", "__debezium.oldkey"];

/// A source record (encoded with schemas on, inline or by reference) as
/// a [`ConnectRecord`].
/// `value_projection` applies to a value whose schema travels by reference.
pub(crate) fn decode(cache: &mut SchemaCache, record: Record, value_projection: &Projection) -> Result<ConnectRecord, TransformError> {
    let (key, value) = match record.schemas.as_deref() {
        // The encoder's own schema objects: only the payloads are read.
        Some(schemas) => (
            match (&record.key, &schemas.key) {
                (Some(bytes), Some(schema)) => read_payload(schema, bytes, &Projection::All)?,
                (Some(_), None) => return Err(bad("a key without a key schema")),
                (None, _) => Data::null(),
            },
            match (&record.value, record.layout.as_deref()) {
                (Some(bytes), Some(layout)) => read_laid_out(&schemas.value, bytes, value_projection, layout)?,
                (Some(bytes), None) => read_payload(&schemas.value, bytes, value_projection)?,
                (None, _) => Data::null(),
            },
        ),
        None => (
            match &record.key {
                Some(bytes) => cache.read(&record.topic, bytes)?,
                None => Data::null(),
            },
            match &record.value {
                Some(bytes) => cache.read(&record.topic, bytes)?,
                None => Data::null(),
            },
        ),
    };
    let headers = record.headers.into_iter().map(|(k, v)| Header::raw(k, v)).collect();
    Ok(ConnectRecord {
        topic: record.topic,
        key,
        value,
        headers,
        timestamp: None,
    })
}

/// A [`ConnectRecord`] as the Kafka record `JsonConverter` would produce.
pub(crate) fn encode(cache: &mut SchemaCache, record: ConnectRecord, format: OutputFormat) -> Record {
    let key = write_data(&record.key, format.key_schemas_enable, |s| cache.json(s));
    let value = write_data(&record.value, format.value_schemas_enable, |s| cache.json(s));
    let headers = record
        .headers
        .into_iter()
        .map(|h| {
            let mut bytes = match (h.schema.is_none(), h.value) {
                (true, Value::Bytes(raw)) => raw,
                (_, value) => header_bytes(&Header { key: String::new(), schema: h.schema, value }),
            };
            if !format.key_schemas_enable && KEY_HEADERS.contains(&h.key.as_str()) {
                bytes = strip_envelope(&bytes).unwrap_or(bytes);
            }
            (h.key, bytes)
        })
        .collect();
    Record {
        topic: record.topic,
        key,
        value,
        headers,
        schemas: None,
        layout: None,
        change_event: false,
    }
}

/// The payload of `{"schema":..,"payload":P}`, as bytes.
fn strip_envelope(bytes: &[u8]) -> Option<Vec<u8>> {
    let rest = bytes.strip_prefix(b"{\"schema\":")?;
    let mut reader = Reader::new(rest);
    reader.value().ok()?;
    let after = rest.get(reader.i..)?.strip_prefix(b",\"payload\":")?;
    Some(after.get(..after.len().checked_sub(1)?)?.to_vec())
}
