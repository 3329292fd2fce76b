//! Debezium's `io.debezium.transforms.ExtractNewRecordState` ("unwrap"):
//! the change-event envelope becomes the flat row.
//!
//! Follows `ExtractNewRecordState.doApply`, `AbstractExtractNewRecordState`
//! (`FieldReference`, `makeHeaders`) and `DefaultDeleteHandlingStrategy` of
//! Debezium 3.x, step for step:
//! 1. headers from `add.headers` go on every envelope and every tombstone
//!    (a tombstone gets only `op`, as `"d"`);
//! 2. tombstones: kept only by `rewrite-with-tombstone` (legacy:
//!    `drop.tombstones=false`);
//! 3. a value that is not an envelope (schema name not ending in
//!    `.Envelope`: heartbeats, schema changes, transaction metadata) passes
//!    unchanged;
//! 4. truncates (no `before`, no `after`) are dropped;
//! 5. deletes: `drop` drops; `tombstone` emits a null value *with* the row
//!    schema (what `ExtractField` gives; `JsonConverter` writes
//!    `{"schema":..,"payload":null}`), `delete-to-tombstone` a real
//!    tombstone, `rewrite*` the `before` row plus `__deleted: "true"`;
//!    then `route.by.field` (from `before`), the drop-fields header, and
//!    `add.fields` when there is a value;
//! 6. other events: the `after` row (`__deleted: "false"` in rewrite
//!    modes), `route.by.field`, `add.fields`, the drop-fields header.
//!
//! Schemas are built as Kafka's `InsertField`/`SchemaUtil.copySchemaBasics`
//! build them: the row schema's name, version, doc, parameters and
//! optional flag, its fields, then `__deleted` (optional string), then the
//! added fields, each an optional copy of its source field's schema
//! without the default. They are cached per envelope schema.
use std::collections::HashMap;
use std::sync::Arc;

use super::config::{DeleteTombstoneHandling, FieldReference, LegacyDeleteHandling, UnwrapConfig};
use super::record::{copy_basics, struct_fields, ConnectRecord, Data, Header, SchemaRef, Value};
use crate::envelope::schema::{ConnectSchema, SchemaType};

const DELETED_FIELD: &str = "__deleted";

/// What a delete becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DeleteAction {
    Drop,
    NullValue,
    Tombstone,
    Rewrite,
}

/// Which output schema of an envelope schema.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    /// `after`/`before` as they are.
    Row,
    /// With `__deleted` and the added fields.
    Extended,
}

pub(super) struct Unwrap {
    config: UnwrapConfig,
    keep_tombstones: bool,
    deletes: DeleteAction,
    rewrite: bool,
    /// (envelope schema, shape) → (the envelope schema, kept alive, and
    /// the output schema).
    schemas: HashMap<(usize, Shape), (SchemaRef, SchemaRef)>,
}

impl Unwrap {
    pub(super) fn new(config: UnwrapConfig) -> Unwrap {
        use DeleteTombstoneHandling as M;
        let (keep_tombstones, deletes, rewrite) = match config.handling {
            M::Drop => (false, DeleteAction::Drop, false),
            M::Tombstone => (false, DeleteAction::NullValue, false),
            M::Rewrite => (false, DeleteAction::Rewrite, true),
            M::RewriteWithTombstone => (true, DeleteAction::Rewrite, true),
            M::DeleteToTombstone => (false, DeleteAction::Tombstone, false),
            M::Legacy { deletes, drop_tombstones } => match deletes {
                LegacyDeleteHandling::None => (!drop_tombstones, DeleteAction::NullValue, false),
                LegacyDeleteHandling::Drop => (!drop_tombstones, DeleteAction::Drop, false),
                LegacyDeleteHandling::Rewrite => (!drop_tombstones, DeleteAction::Rewrite, true),
            },
        };
        Unwrap {
            config,
            keep_tombstones,
            deletes,
            rewrite,
            schemas: HashMap::new(),
        }
    }

    pub(super) fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, String> {
        let tombstone = record.value.is_null();
        let envelope = record
            .value
            .schema
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .is_some_and(|n| n.ends_with(".Envelope"));
        if (envelope || tombstone) && !self.config.add_headers.is_empty() {
            let headers = make_headers(&self.config.add_headers, if tombstone { None } else { Some(&record.value) });
            record.headers.extend(headers);
        }
        if tombstone {
            return Ok(self.keep_tombstones.then_some(record));
        }
        if !envelope {
            return Ok(Some(record));
        }
        let original = record.value.clone();
        let envelope_schema = original.schema.clone().ok_or("an envelope without a schema")?;
        let (after_schema, after) = original.field("after").ok_or("the envelope has no `after` field")?;
        let (_, before) = original.field("before").ok_or("the envelope has no `before` field")?;
        if after.is_null() && before.is_null() {
            return Ok(None);
        }
        let deleted = after.is_null();
        let row = if deleted { before } else { after };
        if deleted {
            match self.deletes {
                DeleteAction::Drop => return Ok(None),
                DeleteAction::Tombstone => {
                    record.value = Data::null();
                }
                DeleteAction::NullValue => {
                    let schema = self.schema(&envelope_schema, Shape::Row, || after_schema.clone());
                    record.value = Data::new(schema, Value::Null);
                }
                DeleteAction::Rewrite => {}
            }
        }
        if let Some(field) = &self.config.route_by_field {
            let index = struct_fields(after_schema).iter().position(|(n, _)| n == field);
            let value = match (index, row) {
                (Some(i), Value::Struct(values)) => values.get(i),
                _ => None,
            };
            match value {
                Some(Value::String(topic)) if !topic.trim().is_empty() => record.topic = topic.clone(),
                Some(Value::String(_) | Value::Null) => {}
                Some(_) => return Err(format!("route.by.field `{field}` is not a string field")),
                None => return Err(format!("route.by.field `{field}` is not a field of the row")),
            }
        }
        let produce_row = !deleted || self.deletes == DeleteAction::Rewrite;
        if produce_row {
            let rewrite = self.rewrite;
            let add_fields = std::mem::take(&mut self.config.add_fields);
            let schema = self.schema(&envelope_schema, Shape::Extended, || {
                extended_schema(after_schema, rewrite, &add_fields, envelope_schema.as_ref())
            });
            self.config.add_fields = add_fields;
            let Value::Struct(mut values) = row.clone() else {
                return Err("the row is not a struct".into());
            };
            if self.rewrite {
                values.push(Value::String(if deleted { "true" } else { "false" }.into()));
            }
            for reference in &self.config.add_fields {
                if let Some((_, value)) = lookup(reference, &original) {
                    values.push(value);
                }
            }
            record.value = Data::new(schema, Value::Struct(values));
        }
        if let Some(header) = &self.config.drop_fields_header {
            if record.value.schema.is_some() && !record.value.is_null() {
                drop_fields(&mut record, header, &self.config);
            }
        }
        Ok(Some(record))
    }

    fn schema(&mut self, envelope: &SchemaRef, shape: Shape, build: impl FnOnce() -> ConnectSchema) -> SchemaRef {
        let key = (Arc::as_ptr(envelope) as usize, shape);
        if let Some((_, schema)) = self.schemas.get(&key) {
            return schema.clone();
        }
        if self.schemas.len() >= 1024 {
            self.schemas.clear();
        }
        let schema = Arc::new(build());
        self.schemas.insert(key, (envelope.clone(), schema.clone()));
        schema
    }
}

/// The row schema plus `__deleted` (rewrite modes) and the added fields.
fn extended_schema(row: &ConnectSchema, rewrite: bool, add_fields: &[FieldReference], envelope: &ConnectSchema) -> ConnectSchema {
    let mut fields = struct_fields(row).to_vec();
    if rewrite {
        fields.push((DELETED_FIELD.to_owned(), ConnectSchema::new(SchemaType::String).optional(true)));
    }
    let envelope_data = Data::new(Arc::new(envelope.clone()), Value::Null);
    for reference in add_fields {
        if let Some(schema) = reference_schema(reference, &envelope_data) {
            fields.push((reference.new_name.clone(), schema));
        }
    }
    copy_basics(row, SchemaType::Struct(fields))
}

/// The schema of a referenced field: an optional copy of its basics
/// (`FieldReference.getSchema`), or `None` if the event has no such field.
fn reference_schema(reference: &FieldReference, envelope: &Data) -> Option<ConnectSchema> {
    let schema = envelope.schema.as_deref()?;
    let top = struct_fields(schema);
    let in_parent = reference.parent.as_ref().and_then(|parent| {
        let (_, parent_schema) = top.iter().find(|(n, _)| n == parent)?;
        struct_fields(parent_schema).iter().find(|(n, _)| *n == reference.field).map(|(_, s)| s)
    });
    let found = match &reference.parent {
        None => top.iter().find(|(n, _)| *n == reference.field).map(|(_, s)| s),
        Some(_) => in_parent.or_else(|| top.iter().find(|(n, _)| *n == reference.field).map(|(_, s)| s)),
    }?;
    Some(copy_basics(found, found.kind.clone()).optional(true))
}

/// The referenced field's schema and value (without defaults), or `None`
/// if the event has no such field.
fn lookup(reference: &FieldReference, envelope: &Data) -> Option<(ConnectSchema, Value)> {
    let schema = reference_schema(reference, envelope)?;
    let (fields, values) = envelope.as_struct()?;
    let top_value = |name: &str| fields.iter().position(|(n, _)| n == name).map(|i| values[i].clone());
    let value = match &reference.parent {
        None => top_value(&reference.field).unwrap_or(Value::Null),
        Some(parent) => {
            let parent_index = fields.iter().position(|(n, _)| n == parent);
            match parent_index.map(|i| (&fields[i].1, &values[i])) {
                Some((parent_schema, Value::Struct(members))) => {
                    match struct_fields(parent_schema).iter().position(|(n, _)| *n == reference.field) {
                        Some(i) => without_default(parent, &reference.field, &struct_fields(parent_schema)[i].1, members[i].clone()),
                        None => top_value(&reference.field).unwrap_or(Value::Null),
                    }
                }
                _ => Value::Null,
            }
        }
    };
    Some((schema, value))
}

/// `Struct.getWithoutDefault`: Debezium leaves `source.snapshot` unset
/// outside snapshots, and the encoder writes the schema default for it,
/// so the default read back here means "unset".
fn without_default(parent: &str, field: &str, schema: &ConnectSchema, value: Value) -> Value {
    if parent == "source" && field == "snapshot" {
        if let (Some(default), Value::String(s)) = (&schema.default, &value) {
            if default.len() == s.len() + 2 && default[1..default.len() - 1] == *s.as_bytes() {
                return Value::Null;
            }
        }
    }
    value
}

/// `makeHeaders`: one header per reference found in the event.
fn make_headers(references: &[FieldReference], envelope: Option<&Data>) -> Vec<Header> {
    let mut out = Vec::new();
    for reference in references {
        match envelope {
            None => {
                if reference.parent.is_none() && reference.field == "op" {
                    out.push(Header::string(reference.new_name.clone(), "d"));
                }
            }
            Some(envelope) => {
                if let Some((schema, value)) = lookup(reference, envelope) {
                    out.push(Header {
                        key: reference.new_name.clone(),
                        schema: Some(Arc::new(schema)),
                        value,
                    });
                }
            }
        }
    }
    out
}

/// `drop.fields.header.name`: removes the fields the header lists from the
/// value (and the key with `drop.fields.from.key`); with
/// `drop.fields.keep.schema.compatible` only optional fields go.
fn drop_fields(record: &mut ConnectRecord, header: &str, config: &UnwrapConfig) {
    let names: Vec<String> = match record.header(header).map(|h| &h.value) {
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        Some(Value::Bytes(raw)) => match serde_json::from_slice::<Vec<String>>(raw) {
            Ok(names) => names,
            Err(_) => String::from_utf8_lossy(raw).split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
        },
        Some(Value::String(s)) => s.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
        _ => return,
    };
    if names.is_empty() {
        return;
    }
    let keep_compatible = config.drop_fields_keep_schema_compatible;
    if config.drop_fields_from_key && !record.key.is_null() {
        record.key = exclude(&record.key, &names, keep_compatible);
    }
    record.value = exclude(&record.value, &names, keep_compatible);
}

/// `ReplaceField` with `exclude`: the struct without the named fields.
pub(super) fn exclude(data: &Data, names: &[String], only_optional: bool) -> Data {
    let Some(schema) = &data.schema else { return data.clone() };
    let fields = struct_fields(schema);
    let keep: Vec<bool> = fields
        .iter()
        .map(|(n, s)| !(names.contains(n) && (!only_optional || s.optional)))
        .collect();
    if keep.iter().all(|k| *k) {
        return data.clone();
    }
    let new_fields = fields.iter().zip(&keep).filter(|(_, k)| **k).map(|(f, _)| f.clone()).collect();
    let value = match &data.value {
        Value::Struct(values) => Value::Struct(values.iter().zip(&keep).filter(|(_, k)| **k).map(|(v, _)| v.clone()).collect()),
        other => other.clone(),
    };
    Data::new(Arc::new(copy_basics(schema, SchemaType::Struct(new_fields))), value)
}
