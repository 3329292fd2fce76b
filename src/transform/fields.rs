//! Kafka's struct-shaping transforms, in their `$Key` and `$Value` forms:
//! `ReplaceField`, `InsertField`, `MaskField`, `ValueToKey`,
//! `ExtractField`, `HoistField`, `Flatten`, `SetSchemaMetadata`, and the
//! header transforms `InsertHeader` and `DropHeaders`.
//!
//! Each follows its class in Kafka Connect 3.x
//! (`org.apache.kafka.connect.transforms.*`), with schemas (the records
//! raftcdc produces always have them):
//! - new struct schemas copy the input's name, version, doc, parameters
//!   and optional flag (`SchemaUtil.copySchemaBasics`), and are cached per
//!   input schema object, as Kafka caches them per `Schema`;
//! - a null key or value passes `InsertField` unchanged, makes
//!   `ReplaceField` produce a null with no schema, and `ExtractField` a
//!   null with the field's schema, as in Kafka;
//! - `InsertField`'s `partition.field` and `timestamp.field` are null: a
//!   source record has no partition yet and Debezium sets no record
//!   timestamp (so they are added as optional fields).
use std::collections::HashMap;
use std::sync::Arc;

use super::config::{FieldOp, Side};
use super::record::{copy_basics, struct_fields, ConnectRecord, Data, Header, SchemaRef, Value};
use crate::envelope::schema::{ConnectSchema, SchemaType};

/// One field transform with its schema cache.
pub(super) struct FieldTransform {
    side: Side,
    op: FieldOp,
    cache: HashMap<usize, (SchemaRef, SchemaRef)>,
}

impl FieldTransform {
    pub(super) fn new(side: Side, op: FieldOp) -> FieldTransform {
        FieldTransform { side, op, cache: HashMap::new() }
    }

    /// The output schema for an input schema, built once.
    fn schema(&mut self, input: &SchemaRef, build: impl FnOnce(&ConnectSchema) -> Result<ConnectSchema, String>) -> Result<SchemaRef, String> {
        let key = Arc::as_ptr(input) as usize;
        if let Some((_, out)) = self.cache.get(&key) {
            return Ok(out.clone());
        }
        if self.cache.len() >= 1024 {
            self.cache.clear();
        }
        let out = Arc::new(build(input)?);
        self.cache.insert(key, (input.clone(), out.clone()));
        Ok(out)
    }

    /// Whether this transform reads nothing but headers (InsertHeader,
    /// DropHeaders).
    pub(super) fn touches_headers_only(&self) -> bool {
        matches!(self.op, FieldOp::InsertHeader { .. } | FieldOp::DropHeaders(_))
    }

    pub(super) fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, String> {
        match &self.op {
            FieldOp::InsertHeader { header, value } => {
                record.headers.push(Header::raw(header.clone(), value.clone().into_bytes()));
                return Ok(Some(record));
            }
            FieldOp::DropHeaders(names) => {
                record.headers.retain(|h| !names.contains(&h.key));
                return Ok(Some(record));
            }
            FieldOp::ValueToKey(fields) => {
                if record.value.is_null() {
                    return Ok(Some(record));
                }
                let value_schema = record.value.schema.clone().ok_or("ValueToKey needs a value schema")?;
                let names = fields.clone();
                let key_schema = self.schema(&value_schema, |schema| {
                    let mut out = Vec::new();
                    for name in &names {
                        let field = struct_fields(schema).iter().find(|(n, _)| n == name).ok_or(format!("field `{name}` is not in the value"))?;
                        out.push(field.clone());
                    }
                    Ok(ConnectSchema::new(SchemaType::Struct(out)))
                })?;
                let (fields_in, values) = match (&value_schema.kind, &record.value.value) {
                    (SchemaType::Struct(f), Value::Struct(v)) => (f, v),
                    _ => return Err("ValueToKey needs a struct value".into()),
                };
                let key_values = names
                    .iter()
                    .map(|n| fields_in.iter().position(|(f, _)| f == n).map(|i| values[i].clone()).unwrap_or(Value::Null))
                    .collect();
                record.key = Data::new(key_schema, Value::Struct(key_values));
                return Ok(Some(record));
            }
            _ => {}
        }
        let side = self.side;
        let data = match side {
            Side::Key => std::mem::replace(&mut record.key, Data::null()),
            Side::Value => std::mem::replace(&mut record.value, Data::null()),
        };
        let topic = record.topic.clone();
        let out = self.apply_data(data, &topic)?;
        match side {
            Side::Key => record.key = out,
            Side::Value => record.value = out,
        }
        Ok(Some(record))
    }

    fn apply_data(&mut self, data: Data, topic: &str) -> Result<Data, String> {
        let op = self.op.clone();
        let Some(schema) = data.schema.clone() else {
            // No schema: only a null (a tombstone, a null key) gets here.
            return Ok(data);
        };
        match op {
            FieldOp::Replace { exclude, include, renames } => {
                if data.is_null() {
                    return Ok(Data::null());
                }
                let keep = |name: &str| !exclude.iter().any(|e| e == name) && (include.is_empty() || include.iter().any(|i| i == name));
                let rename = |name: &str| renames.iter().find(|(from, _)| from == name).map(|(_, to)| to.clone()).unwrap_or_else(|| name.to_owned());
                let out = self.schema(&schema, |s| {
                    let fields = struct_fields(s).iter().filter(|(n, _)| keep(n)).map(|(n, f)| (rename(n), f.clone())).collect();
                    Ok(copy_basics(s, SchemaType::Struct(fields)))
                })?;
                let Value::Struct(values) = data.value else { return Err("ReplaceField needs a struct".into()) };
                let kept = struct_fields(&schema).iter().zip(values).filter(|((n, _), _)| keep(n)).map(|(_, v)| v).collect();
                Ok(Data::new(out, Value::Struct(kept)))
            }
            FieldOp::Insert(insert) => {
                if data.is_null() {
                    return Ok(data);
                }
                let out = self.schema(&schema, |s| {
                    let mut fields = struct_fields(s).to_vec();
                    for (name, optional, kind) in insert.fields() {
                        let mut field = ConnectSchema::new(kind.schema_type()).optional(optional);
                        if kind == InsertKind::Timestamp {
                            field = field.named("org.apache.kafka.connect.data.Timestamp", Some(1));
                        }
                        fields.push((name.to_owned(), field));
                    }
                    Ok(copy_basics(s, SchemaType::Struct(fields)))
                })?;
                let Value::Struct(mut values) = data.value else { return Err("InsertField needs a struct".into()) };
                for (name, optional, kind) in insert.fields() {
                    let value = match kind {
                        InsertKind::Topic => Value::String(topic.to_owned()),
                        InsertKind::Static => insert.static_value.clone().map(Value::String).unwrap_or(Value::Null),
                        InsertKind::Partition | InsertKind::Timestamp => Value::Null,
                    };
                    if value.is_null() && !optional {
                        return Err(format!("InsertField: `{name}` is required (`!`) but the record has no value for it"));
                    }
                    values.push(value);
                }
                Ok(Data::new(out, Value::Struct(values)))
            }
            FieldOp::Mask { fields, replacement } => {
                let Value::Struct(mut values) = data.value else { return Ok(data) };
                for (i, (name, field_schema)) in struct_fields(&schema).iter().enumerate() {
                    if fields.contains(name) && !values[i].is_null() {
                        values[i] = masked(field_schema, replacement.as_deref()).map_err(|e| format!("MaskField `{name}`: {e}"))?;
                    }
                }
                Ok(Data::new(schema, Value::Struct(values)))
            }
            FieldOp::Extract(name) => {
                let (index, field_schema) = struct_fields(&schema)
                    .iter()
                    .enumerate()
                    .find(|(_, (n, _))| *n == name)
                    .map(|(i, (_, s))| (i, s.clone()))
                    .ok_or(format!("ExtractField: unknown field `{name}`"))?;
                let out = self.schema(&schema, |_| Ok(field_schema))?;
                let value = match data.value {
                    Value::Struct(mut values) => std::mem::replace(&mut values[index], Value::Null),
                    _ => Value::Null,
                };
                Ok(Data::new(out, value))
            }
            FieldOp::Hoist(name) => {
                let out = self.schema(&schema, |s| Ok(ConnectSchema::new(SchemaType::Struct(vec![(name.clone(), s.clone())]))))?;
                Ok(Data::new(out, Value::Struct(vec![data.value])))
            }
            FieldOp::Flatten(delimiter) => {
                if data.is_null() {
                    return Ok(data);
                }
                let out = self.schema(&schema, |s| {
                    let mut fields = Vec::new();
                    flatten_schema(s, "", false, &delimiter, &mut fields);
                    Ok(copy_basics(s, SchemaType::Struct(fields)))
                })?;
                let mut values = Vec::new();
                flatten_value(&schema, &data.value, &mut values);
                Ok(Data::new(out, Value::Struct(values)))
            }
            FieldOp::SetSchemaMetadata { name, version } => {
                let out = self.schema(&schema, |s| {
                    let mut copy = s.clone();
                    if name.is_some() {
                        copy.name = name.clone();
                    }
                    if version.is_some() {
                        copy.version = version;
                    }
                    Ok(copy)
                })?;
                Ok(Data::new(out, data.value))
            }
            FieldOp::InsertHeader { .. } | FieldOp::DropHeaders(_) | FieldOp::ValueToKey(_) => Ok(data),
        }
    }
}

/// What `InsertField` inserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertKind {
    Topic,
    Partition,
    Timestamp,
    Static,
}

impl InsertKind {
    fn schema_type(self) -> SchemaType {
        match self {
            InsertKind::Topic | InsertKind::Static => SchemaType::String,
            InsertKind::Partition => SchemaType::Int32,
            InsertKind::Timestamp => SchemaType::Int64,
        }
    }
}

/// `InsertField`'s options: each field is `(name, optional)`.
#[derive(Debug, Clone, Default)]
pub struct InsertFields {
    pub topic: Option<(String, bool)>,
    pub partition: Option<(String, bool)>,
    pub timestamp: Option<(String, bool)>,
    pub static_field: Option<(String, bool)>,
    pub static_value: Option<String>,
}

impl InsertFields {
    /// In Kafka's order: topic, partition, (offset), timestamp, static.
    fn fields(&self) -> Vec<(&str, bool, InsertKind)> {
        [
            (&self.topic, InsertKind::Topic),
            (&self.partition, InsertKind::Partition),
            (&self.timestamp, InsertKind::Timestamp),
            (&self.static_field, InsertKind::Static),
        ]
        .into_iter()
        .filter_map(|(f, kind)| f.as_ref().map(|(name, optional)| (name.as_str(), *optional, kind)))
        .collect()
    }
}

/// `MaskField`'s replacement for a value of this schema: the type's zero,
/// or `replacement` parsed as the type.
fn masked(schema: &ConnectSchema, replacement: Option<&str>) -> Result<Value, String> {
    let decimal = schema.name.as_deref() == Some("org.apache.kafka.connect.data.Decimal");
    Ok(match (&schema.kind, replacement) {
        (SchemaType::String, r) => Value::String(r.unwrap_or("").to_owned()),
        (SchemaType::Boolean, None) => Value::Boolean(false),
        (SchemaType::Boolean, Some(r)) => Value::Boolean(r.parse().map_err(|_| format!("{r:?} is not a boolean"))?),
        (SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64, None) => Value::Int(0),
        (SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64, Some(r)) => {
            Value::Int(r.parse().map_err(|_| format!("{r:?} is not an integer"))?)
        }
        (SchemaType::Float32, r) => Value::Float32(r.map(str::parse).transpose().map_err(|_| "not a number".to_string())?.unwrap_or(0.0)),
        (SchemaType::Float64, r) => Value::Float64(r.map(str::parse).transpose().map_err(|_| "not a number".to_string())?.unwrap_or(0.0)),
        (SchemaType::Bytes, None) if decimal => Value::Bytes(vec![0]),
        (kind, _) => return Err(format!("cannot mask a value of type {kind:?}")),
    })
}

fn flatten_schema(schema: &ConnectSchema, prefix: &str, parent_optional: bool, delimiter: &str, out: &mut Vec<(String, ConnectSchema)>) {
    for (name, field) in struct_fields(schema) {
        let full = if prefix.is_empty() { name.clone() } else { format!("{prefix}{delimiter}{name}") };
        match &field.kind {
            SchemaType::Struct(_) => flatten_schema(field, &full, parent_optional || field.optional, delimiter, out),
            _ => {
                let mut copy = field.clone();
                copy.optional = parent_optional || field.optional;
                out.push((full, copy));
            }
        }
    }
}

fn flatten_value(schema: &ConnectSchema, value: &Value, out: &mut Vec<Value>) {
    let values = match value {
        Value::Struct(values) => Some(values),
        _ => None,
    };
    for (i, (_, field)) in struct_fields(schema).iter().enumerate() {
        let member = values.and_then(|v| v.get(i)).unwrap_or(&Value::Null);
        match &field.kind {
            SchemaType::Struct(_) => flatten_value(field, member, out),
            _ => out.push(member.clone()),
        }
    }
}
