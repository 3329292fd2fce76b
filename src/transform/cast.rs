//! Kafka's `org.apache.kafka.connect.transforms.Cast$Key`/`$Value`:
//! casts the whole key or value, or named struct fields, to a primitive
//! type.
//!
//! Follows Kafka Connect 3.x `Cast`: the target types are `int8`,
//! `int16`, `int32`, `int64`, `float32`, `float64`, `boolean` and `string`;
//! a cast field gets a plain schema of the target type (name and parameters
//! dropped) that keeps the field's optional flag and its default, cast too.
//! Numbers narrow as Java's `Number.byteValue()`..`longValue()` do
//! (wrapping), booleans become 1/0, strings are parsed (a string that is
//! not a number fails the record); to `boolean`, a number is `!= 0` and a
//! string is Java's `Boolean.parseBoolean`; to `string`, numbers and
//! booleans are written as Java writes them and bytes as base64. A
//! `Decimal` (a logical type) is not cast: the record fails, naming it.
use std::collections::HashMap;
use std::sync::Arc;

use super::codec::{write_value, Reader};
use super::config::{CastTarget, CastSpec, Side};
use super::record::{copy_basics, struct_fields, ConnectRecord, Data, SchemaRef, Value};
use crate::envelope::json::{java_double_to_string, java_float_to_string, push_base64};
use crate::envelope::schema::{ConnectSchema, SchemaType};

pub(super) struct Cast {
    side: Side,
    spec: CastSpec,
    cache: HashMap<usize, (SchemaRef, SchemaRef)>,
}

impl CastTarget {
    fn schema_type(self) -> SchemaType {
        match self {
            CastTarget::Int8 => SchemaType::Int8,
            CastTarget::Int16 => SchemaType::Int16,
            CastTarget::Int32 => SchemaType::Int32,
            CastTarget::Int64 => SchemaType::Int64,
            CastTarget::Float32 => SchemaType::Float32,
            CastTarget::Float64 => SchemaType::Float64,
            CastTarget::Boolean => SchemaType::Boolean,
            CastTarget::String => SchemaType::String,
        }
    }
}

/// Casts one value of schema `from` to `target`.
fn cast(from: &ConnectSchema, value: Value, target: CastTarget) -> Result<Value, String> {
    if from.name.as_deref() == Some("org.apache.kafka.connect.data.Decimal") {
        return Err("casting a Decimal is not supported".into());
    }
    let as_i64 = |v: &Value| -> Result<i64, String> {
        Ok(match v {
            Value::Int(i) => *i,
            Value::Float32(f) => *f as i64,
            Value::Float64(f) => *f as i64,
            Value::Boolean(b) => i64::from(*b),
            Value::String(s) => s.trim().parse::<i64>().map_err(|_| format!("{s:?} is not an integer"))?,
            other => return Err(format!("cannot cast {other:?} to a number")),
        })
    };
    let as_f64 = |v: &Value| -> Result<f64, String> {
        Ok(match v {
            Value::Int(i) => *i as f64,
            Value::Float32(f) => f64::from(*f),
            Value::Float64(f) => *f,
            Value::Boolean(b) => f64::from(u8::from(*b)),
            Value::String(s) => s.trim().parse::<f64>().map_err(|_| format!("{s:?} is not a number"))?,
            other => return Err(format!("cannot cast {other:?} to a number")),
        })
    };
    if value.is_null() {
        return Ok(Value::Null);
    }
    Ok(match target {
        CastTarget::Int8 => Value::Int(i64::from(as_i64(&value)? as i8)),
        CastTarget::Int16 => Value::Int(i64::from(as_i64(&value)? as i16)),
        CastTarget::Int32 => Value::Int(i64::from(as_i64(&value)? as i32)),
        CastTarget::Int64 => Value::Int(as_i64(&value)?),
        CastTarget::Float32 => Value::Float32(as_f64(&value)? as f32),
        CastTarget::Float64 => Value::Float64(as_f64(&value)?),
        CastTarget::Boolean => Value::Boolean(match &value {
            Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
            Value::Boolean(b) => *b,
            other => as_f64(other)? != 0.0,
        }),
        CastTarget::String => Value::String(match value {
            Value::String(s) => s,
            Value::Int(i) => i.to_string(),
            Value::Float32(f) => java_float_to_string(f),
            Value::Float64(f) => java_double_to_string(f),
            Value::Boolean(b) => b.to_string(),
            Value::Bytes(b) => {
                let mut s = String::new();
                push_base64(&mut s, &b, false);
                s
            }
            other => return Err(format!("cannot cast {other:?} to a string")),
        }),
    })
}

/// The cast schema of a field: the target type, the optional flag, the
/// default cast too.
fn cast_schema(from: &ConnectSchema, target: CastTarget) -> Result<ConnectSchema, String> {
    let mut schema = ConnectSchema::new(target.schema_type()).optional(from.optional);
    if let Some(default) = &from.default {
        let json = Reader::new(default).value().map_err(|e| e.to_string())?;
        let value = super::codec::value_from_json(from, json).map_err(|e| e.to_string())?;
        let cast_default = cast(from, value, target)?;
        let mut bytes = Vec::new();
        write_value(&mut bytes, Some(&schema), &cast_default);
        schema.default = Some(bytes);
    }
    Ok(schema)
}

impl Cast {
    pub(super) fn new(side: Side, spec: CastSpec) -> Cast {
        Cast { side, spec, cache: HashMap::new() }
    }

    pub(super) fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, String> {
        let slot = match self.side {
            Side::Key => &mut record.key,
            Side::Value => &mut record.value,
        };
        let data = std::mem::replace(slot, Data::null());
        let Some(schema) = data.schema.clone() else {
            *slot = data;
            return Ok(Some(record));
        };
        let key = Arc::as_ptr(&schema) as usize;
        let out = match self.cache.get(&key) {
            Some((_, out)) => out.clone(),
            None => {
                let built = Arc::new(match &self.spec {
                    CastSpec::Whole(target) => cast_schema(&schema, *target)?,
                    CastSpec::Fields(fields) => {
                        let mut out = Vec::new();
                        for (name, field) in struct_fields(&schema) {
                            match fields.iter().find(|(n, _)| n == name) {
                                Some((_, target)) => out.push((name.clone(), cast_schema(field, *target).map_err(|e| format!("field `{name}`: {e}"))?)),
                                None => out.push((name.clone(), field.clone())),
                            }
                        }
                        copy_basics(&schema, SchemaType::Struct(out))
                    }
                });
                if self.cache.len() >= 1024 {
                    self.cache.clear();
                }
                self.cache.insert(key, (schema.clone(), built.clone()));
                built
            }
        };
        let value = match (&self.spec, data.value) {
            (CastSpec::Whole(target), value) => cast(&schema, value, *target)?,
            (CastSpec::Fields(fields), Value::Struct(values)) => Value::Struct(
                struct_fields(&schema)
                    .iter()
                    .zip(values)
                    .map(|((name, field), value)| match fields.iter().find(|(n, _)| n == name) {
                        Some((_, target)) => cast(field, value, *target).map_err(|e| format!("field `{name}`: {e}")),
                        None => Ok(value),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            (CastSpec::Fields(_), other) => other,
        };
        *slot = Data::new(out, value);
        Ok(Some(record))
    }
}
