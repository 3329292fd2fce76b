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
//! build them: the row schema's name, version, doc and parameters
//! (required), its fields, then `__deleted` (optional string), then the
//! added fields, each an optional copy of its source field's schema
//! without the default. They are cached per envelope schema.
use std::collections::HashMap;
use std::sync::Arc;

use super::codec::Projection;
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

pub(super) struct Unwrap {
    config: UnwrapConfig,
    keep_tombstones: bool,
    deletes: DeleteAction,
    rewrite: bool,
    /// Envelope schema (by pointer) → (the schema, kept alive so the
    /// pointer is not reused, and its plan).
    plans: HashMap<usize, (SchemaRef, Arc<Plan>)>,
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
            plans: HashMap::new(),
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
        let envelope_schema = record.value.schema.clone().ok_or("an envelope without a schema")?;
        let plan = self.plan(&envelope_schema)?;
        let Value::Struct(mut members) = std::mem::replace(&mut record.value.value, Value::Null) else {
            return Err("the envelope is not a struct".into());
        };
        let after = std::mem::replace(&mut members[plan.after], Value::Null);
        let before = std::mem::replace(&mut members[plan.before], Value::Null);
        if after.is_null() && before.is_null() {
            return Ok(None);
        }
        let deleted = after.is_null();
        let row = if deleted { before } else { after };
        record.value = Data::null();
        if deleted {
            match self.deletes {
                DeleteAction::Drop => return Ok(None),
                DeleteAction::Tombstone => {}
                DeleteAction::NullValue => record.value = Data::new(plan.row.clone(), Value::Null),
                DeleteAction::Rewrite => {}
            }
        }
        if let Some(field) = &self.config.route_by_field {
            let value = match (plan.route_by, &row) {
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
        if !deleted || self.deletes == DeleteAction::Rewrite {
            let extend = |values: &mut Vec<Value>| {
                values.reserve(plan.added.len() + 1);
                if self.rewrite {
                    values.push(Value::String(if deleted { "true" } else { "false" }.into()));
                }
                for path in &plan.added {
                    values.push(path.read(&members));
                }
            };
            let row = match row {
                Value::Struct(mut values) => {
                    extend(&mut values);
                    Value::Struct(values)
                }
                Value::RawStruct { json, mut more } => {
                    extend(&mut more);
                    Value::RawStruct { json, more }
                }
                _ => return Err("the row is not a struct".into()),
            };
            record.value = Data::new(plan.extended.clone(), row);
        }
        if let Some(header) = &self.config.drop_fields_header {
            if record.value.schema.is_some() && !record.value.is_null() {
                drop_fields(&mut record, header, &self.config);
            }
        }
        Ok(Some(record))
    }

    /// The plan for an envelope schema (cached per schema object).
    /// What this transform reads of a record with value schema `schema`,
    /// when it is the chain's first step: of an envelope, `before`,
    /// `after` and the fields `add.fields`/`add.headers` name (each also
    /// as a top-level field, where [`resolve`] falls back to); `None` for
    /// a record that is not an envelope (it passes unchanged, so all of
    /// it is read). The rest of an envelope is never read by anything
    /// after this step: its output is built from those parts only.
    ///
    /// With `raw_rows` (nothing after this step reads inside a row, see
    /// [`Unwrap::keeps_rows_whole`]), `before` and `after` stay JSON text.
    pub(super) fn envelope_projection(&self, schema: &ConnectSchema, raw_rows: bool) -> Option<Projection> {
        if !schema.name.as_deref().is_some_and(|n| n.ends_with(".Envelope")) {
            return None;
        }
        let fields = struct_fields(schema);
        let position = |name: &str| fields.iter().position(|(n, _)| n == name);
        let mut members: Vec<Option<Projection>> = vec![None; fields.len()];
        let keep = |name: &str, members: &mut Vec<Option<Projection>>| {
            if let Some(i) = position(name) {
                members[i] = Some(Projection::All);
            }
        };
        keep("before", &mut members);
        keep("after", &mut members);
        if raw_rows {
            for name in ["before", "after"] {
                if let Some(i) = position(name) {
                    members[i] = Some(Projection::Raw);
                }
            }
        }
        for reference in self.config.add_fields.iter().chain(&self.config.add_headers) {
            keep(&reference.field, &mut members);
            let Some(parent) = reference.parent.as_deref().and_then(position) else { continue };
            let children = struct_fields(&fields[parent].1);
            let Some(child) = children.iter().position(|(n, _)| *n == reference.field) else { continue };
            match &mut members[parent] {
                Some(Projection::All | Projection::Raw) => {}
                Some(Projection::Members(read)) => read[child] = Some(Projection::All),
                slot @ None => {
                    let mut read = vec![None; children.len()];
                    read[child] = Some(Projection::All);
                    *slot = Some(Projection::Members(read));
                }
            }
        }
        Some(Projection::Members(members))
    }

    /// Whether this step's output rows are its input rows plus added
    /// members, never read inside: no `route.by.field` (reads a column),
    /// no `drop.fields.header.name` (removes columns), and nulls keep the
    /// defaults the encoder wrote (`replace.null.with.default`).
    pub(super) fn keeps_rows_whole(&self) -> bool {
        self.config.route_by_field.is_none() && self.config.drop_fields_header.is_none() && self.config.replace_null_with_default
    }

    fn plan(&mut self, envelope: &SchemaRef) -> Result<Arc<Plan>, String> {
        let key = Arc::as_ptr(envelope) as usize;
        if let Some((_, plan)) = self.plans.get(&key) {
            return Ok(plan.clone());
        }
        if self.plans.len() >= 1024 {
            self.plans.clear();
        }
        let fields = struct_fields(envelope);
        let index = |name: &str| fields.iter().position(|(n, _)| n == name).ok_or(format!("the envelope has no `{name}` field"));
        let (after, before) = (index("after")?, index("before")?);
        let row_schema = &fields[after].1;
        let envelope_data = Data::new(envelope.clone(), Value::Null);
        let mut added = Vec::new();
        let mut extended_fields = struct_fields(row_schema).to_vec();
        if self.rewrite {
            extended_fields.push((DELETED_FIELD.to_owned(), ConnectSchema::new(SchemaType::String).optional(true)));
        }
        for reference in &self.config.add_fields {
            if let Some((schema, path)) = resolve(reference, &envelope_data) {
                extended_fields.push((reference.new_name.clone(), schema));
                added.push(path);
            }
        }
        let plan = Arc::new(Plan {
            after,
            before,
            row: Arc::new(row_schema.clone()),
            // Required, as `copySchemaBasics` makes it (Debezium 3.6's
            // captured output), though the envelope's `after` is optional.
            extended: Arc::new(copy_basics(row_schema, SchemaType::Struct(extended_fields))),
            added,
            route_by: self
                .config
                .route_by_field
                .as_ref()
                .and_then(|f| struct_fields(row_schema).iter().position(|(n, _)| n == f)),
        });
        self.plans.insert(key, (envelope.clone(), plan.clone()));
        Ok(plan)
    }
}

/// What unwrap does with one envelope schema, worked out once.
struct Plan {
    after: usize,
    before: usize,
    /// The row schema (`after`'s).
    row: SchemaRef,
    /// The row schema plus `__deleted` and the added fields.
    extended: SchemaRef,
    /// Where each added field's value is.
    added: Vec<Path>,
    /// The index of `route.by.field` in the row.
    route_by: Option<usize>,
}

/// Where a referenced field lives in the envelope.
#[derive(Debug, Clone, Copy)]
enum Path {
    Top(usize),
    /// `parent.child`. `snapshot_default` marks `source.snapshot`:
    /// Debezium leaves it unset outside snapshots (`getWithoutDefault`
    /// gives null) and the encoder writes its default, `"false"`, so that
    /// value read back means unset.
    Nested { parent: usize, child: usize, snapshot_default: bool },
}

impl Path {
    fn read(&self, members: &[Value]) -> Value {
        match *self {
            Path::Top(i) => members[i].clone(),
            Path::Nested { parent, child, snapshot_default } => match &members[parent] {
                Value::Struct(values) => {
                    let value = values.get(child).cloned().unwrap_or(Value::Null);
                    if snapshot_default && value.as_str() == Some("false") {
                        Value::Null
                    } else {
                        value
                    }
                }
                _ => Value::Null,
            },
        }
    }
}

/// The schema of a referenced field (an optional copy of its basics,
/// `FieldReference.getSchema`) and where it is, or `None` if the event
/// has no such field.
fn resolve(reference: &FieldReference, envelope: &Data) -> Option<(ConnectSchema, Path)> {
    let top = struct_fields(envelope.schema.as_deref()?);
    let top_field = || top.iter().position(|(n, _)| *n == reference.field).map(|i| (&top[i].1, Path::Top(i)));
    let found = match &reference.parent {
        None => top_field(),
        Some(parent) => {
            let nested = top.iter().position(|(n, _)| n == parent).and_then(|p| {
                let children = struct_fields(&top[p].1);
                children.iter().position(|(n, _)| *n == reference.field).map(|c| {
                    let snapshot_default = parent == "source" && reference.field == "snapshot" && children[c].1.default.is_some();
                    (&children[c].1, Path::Nested { parent: p, child: c, snapshot_default })
                })
            });
            nested.or_else(top_field)
        }
    }?;
    Some((copy_basics(found.0, found.0.kind.clone()).optional(true), found.1))
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
                let Value::Struct(members) = &envelope.value else { continue };
                if let Some((schema, path)) = resolve(reference, envelope) {
                    out.push(Header {
                        key: reference.new_name.clone(),
                        schema: Some(Arc::new(schema)),
                        value: path.read(members),
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
