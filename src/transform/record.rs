//! The structured record the transforms operate on: Kafka Connect's
//! `ConnectRecord` (topic, key and key schema, value and value schema,
//! headers, timestamp) with Connect's data model.
//!
//! Owns [`ConnectRecord`], [`Data`], [`Value`] and [`Header`], and the
//! schema helpers transforms share (field lookup, copying a schema's
//! basics the way Kafka's `SchemaUtil.copySchemaBasics` does).
//!
//! # Why this shape
//! - Schemas are [`ConnectSchema`] (the encoder's own model: type, ordered
//!   fields, `optional`, `name`, `version`, `doc`, ordered `parameters`,
//!   `default`), shared behind an [`Arc`]. One table's records share one
//!   schema object, so a transform can cache its output schema per input
//!   schema by pointer, as Kafka's SMTs cache per `Schema` (the caches keep
//!   the input `Arc` alive, so a pointer is never reused while cached).
//! - A struct value is `Value::Struct(Vec<Value>)`, positional: field `i`
//!   of the value is field `i` of its schema. Field order is therefore the
//!   schema's, as Connect's `Struct` keeps it.
//! - A row that no step of the chain reads inside stays the encoder's
//!   JSON text ([`Value::RawStruct`]): the common unwrap + route chain
//!   then neither parses nor re-writes the row's columns.
//! - A null struct member is [`Value::Null`]; writing it applies the
//!   field's default as `JsonConverter` does (`replace.null.with.default`),
//!   so a transform never needs to know about defaults unless its Kafka
//!   counterpart does.
//! - A tombstone is a [`Data`] with neither schema nor value; a value with a
//!   schema but a null payload is *not* a tombstone (`JsonConverter` writes
//!   it as `{"schema":..,"payload":null}` or `null`), which is exactly the
//!   difference between ExtractNewRecordState's `tombstone` and
//!   `delete-to-tombstone` modes.
use std::sync::Arc;

use crate::envelope::schema::{ConnectSchema, SchemaType};

/// A Connect value. Integers of every width are `Int`; the schema says
/// which width is written.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int(i64),
    Float32(f32),
    Float64(f64),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    /// Members in the order of the schema's fields.
    Struct(Vec<Value>),
    /// A struct whose first members are still the encoder's JSON object
    /// text (`json`, exactly as `JsonConverter` writes them for the
    /// schema's first fields), followed by members `more` for the
    /// schema's remaining fields. Only a chain that never reads inside a
    /// row keeps rows so ([`crate::transform`]: ExtractNewRecordState in
    /// front, then only routing, header and filter steps); writing it
    /// copies the text.
    RawStruct { json: Vec<u8>, more: Vec<Value> },
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// A struct schema's fields, in order.
pub type Fields = [(String, ConnectSchema)];

/// A schema shared by many records.
pub type SchemaRef = Arc<ConnectSchema>;

/// A key or value: its schema (if any) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

impl Data {
    /// No schema and no value: a null key, or a tombstone's value.
    pub fn null() -> Data {
        Data { schema: None, value: Value::Null }
    }

    pub fn new(schema: SchemaRef, value: Value) -> Data {
        Data { schema: Some(schema), value }
    }

    /// A null value (with or without a schema).
    pub fn is_null(&self) -> bool {
        self.value.is_null()
    }
}

/// A Connect header: key, optional schema, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub key: String,
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

impl Header {
    /// A header as the source wrote it: bytes without a schema.
    pub fn raw(key: String, bytes: Vec<u8>) -> Header {
        Header { key, schema: None, value: Value::Bytes(bytes) }
    }

    pub fn string(key: impl Into<String>, value: impl Into<String>) -> Header {
        Header {
            key: key.into(),
            schema: Some(Arc::new(ConnectSchema::new(SchemaType::String))),
            value: Value::String(value.into()),
        }
    }
}

/// One record, as a Kafka Connect transform sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectRecord {
    pub topic: String,
    pub key: Data,
    pub value: Data,
    pub headers: Vec<Header>,
    /// The record timestamp (ms); `None` lets the producer set it, as for
    /// Debezium's source records.
    pub timestamp: Option<i64>,
}

impl ConnectRecord {
    /// Kafka Connect's tombstone test: the value is null.
    pub fn is_tombstone(&self) -> bool {
        self.value.is_null()
    }

    pub fn header(&self, key: &str) -> Option<&Header> {
        self.headers.iter().find(|h| h.key == key)
    }
}

/// A copy of `schema`'s name, version, doc and parameters on a new type,
/// as Kafka's `SchemaUtil.copySchemaBasics` makes it: neither the
/// optional flag nor the default is copied, so the copy is required
/// unless the caller says otherwise (Kafka's SMTs build their updated
/// struct schemas so).
pub fn copy_basics(schema: &ConnectSchema, kind: SchemaType) -> ConnectSchema {
    let mut copy = ConnectSchema::new(kind);
    copy.name = schema.name.clone();
    copy.version = schema.version;
    copy.doc = schema.doc.clone();
    copy.parameters = schema.parameters.clone();
    copy
}

/// The fields of a struct schema (empty for other types).
pub fn struct_fields(schema: &ConnectSchema) -> &Fields {
    match &schema.kind {
        SchemaType::Struct(fields) => fields,
        _ => &[],
    }
}
