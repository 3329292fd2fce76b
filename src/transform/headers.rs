//! Debezium's `io.debezium.transforms.HeaderToValue`: named headers become
//! fields of the value (`operation=copy` keeps the headers, `move` removes
//! them).
//!
//! # As Debezium 3.x does it
//! The value must be a struct (a tombstone or a null value fails the
//! record, as Debezium's `requireStruct` does; exclude them with a
//! predicate). The new schema is a copy of the value's (Kafka's
//! `copySchemaBasics`: name, version, doc and parameters, *not* the
//! optional flag, so the result is required) with each present header
//! added, in `headers` order, as a field named by the matching `fields`
//! entry with the header's schema. A dotted field (`source.xid`) goes into
//! that nested struct instead (the struct is rebuilt the same way); a null
//! parent struct gets nothing. A header that is absent adds no field.
//!
//! # Where it differs, and why
//! Debezium builds the new schema from the *first* record of each value
//! schema and reuses it, so a later record whose headers differ fails or
//! loses fields; here each record's own headers decide, so the output does
//! not depend on what an owner read before a failover. A header without a
//! schema (the source's raw headers, such as `__debezium.oldkey`) fails
//! the record: the value would need a schema for it.
use std::sync::Arc;

use super::config::{error, required_list, Options, TransformConfigError};
use super::record::{ConnectRecord, Header, SchemaRef, Value};
use crate::envelope::schema::{ConnectSchema, SchemaType};

/// HeaderToValue's options.
#[derive(Debug, Clone)]
pub struct HeaderToValueConfig {
    /// (header, destination path) pairs, in order.
    pub pairs: Vec<(String, Vec<String>)>,
    pub remove: bool,
}

pub(super) fn parse(o: &mut Options<'_>) -> Result<HeaderToValueConfig, TransformConfigError> {
    let headers = required_list(o, "headers")?;
    let fields = required_list(o, "fields")?;
    if headers.len() != fields.len() {
        return Err(error(o.property("fields"), format!("must have as many entries as {} ({} vs {})", o.property("headers"), fields.len(), headers.len())));
    }
    for (option, list) in [("headers", &headers), ("fields", &fields)] {
        if list.iter().any(|f| f.contains(' ')) {
            return Err(error(o.property(option), "an entry contains a space"));
        }
    }
    let remove = match o.required("operation")?.trim() {
        "move" => true,
        "copy" => false,
        other => return Err(error(o.property("operation"), format!("{other:?} is not one of move, copy"))),
    };
    let pairs = headers.into_iter().zip(fields).map(|(h, f)| (h, f.split('.').map(str::to_owned).collect())).collect();
    Ok(HeaderToValueConfig { pairs, remove })
}

pub(super) struct HeaderToValue {
    config: HeaderToValueConfig,
}

/// The fields to add at `path` (the struct's path from the value root).
fn additions<'h>(pairs: &[(String, Vec<String>)], found: &[Option<&'h Header>], path: &[String]) -> Vec<(String, &'h Header)> {
    pairs
        .iter()
        .zip(found)
        .filter_map(|((_, dest), header)| {
            let header = (*header)?;
            (dest.len() == path.len() + 1 && dest[..path.len()] == *path).then(|| (dest[path.len()].clone(), header))
        })
        .collect()
}

impl HeaderToValue {
    pub(super) fn new(config: HeaderToValueConfig) -> HeaderToValue {
        HeaderToValue { config }
    }

    /// Rebuilds the struct at `path` (schema and value) with its additions.
    fn rebuild(&self, schema: &ConnectSchema, value: Value, found: &[Option<&Header>], path: &mut Vec<String>) -> Result<(ConnectSchema, Value), String> {
        let SchemaType::Struct(fields) = &schema.kind else { return Ok((schema.clone(), value)) };
        let mut values = match value {
            Value::Struct(values) => values,
            Value::Null => vec![Value::Null; fields.len()],
            _ => return Err("the value is not a struct".into()),
        };
        let mut new_fields = Vec::with_capacity(fields.len());
        for (i, (name, field)) in fields.iter().enumerate() {
            let nested = self.config.pairs.iter().any(|(_, dest)| dest.len() > path.len() + 1 && dest[..path.len()] == path[..] && dest[path.len()] == *name);
            if nested && matches!(field.kind, SchemaType::Struct(_)) {
                path.push(name.clone());
                let present = !values[i].is_null();
                let (schema, value) = self.rebuild(field, std::mem::replace(&mut values[i], Value::Null), found, path)?;
                path.pop();
                new_fields.push((name.clone(), schema));
                values[i] = if present { value } else { Value::Null };
            } else {
                new_fields.push((name.clone(), field.clone()));
            }
        }
        for (name, header) in additions(&self.config.pairs, found, path) {
            let schema = header.schema.as_ref().ok_or_else(|| format!("header `{}` has no schema", header.key))?;
            new_fields.push((name, (**schema).clone()));
            values.push(header.value.clone());
        }
        Ok((super::record::copy_basics(schema, SchemaType::Struct(new_fields)), Value::Struct(values)))
    }

    pub(super) fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, String> {
        let Some(schema) = record.value.schema.clone().filter(|s| matches!(s.kind, SchemaType::Struct(_)) && !record.value.is_null()) else {
            return Err("Only Struct objects supported for [Header field insertion]".into());
        };
        let headers = std::mem::take(&mut record.headers);
        let found: Vec<Option<&Header>> = self
            .config
            .pairs
            .iter()
            .map(|(name, _)| {
                let mut matching = headers.iter().filter(|h| h.key == *name);
                let first = matching.next();
                match matching.next() {
                    Some(_) => Err(format!("header `{name}` appears more than once")),
                    None => Ok(first),
                }
            })
            .collect::<Result<_, _>>()?;
        let value = std::mem::replace(&mut record.value.value, Value::Null);
        let (new_schema, new_value) = self.rebuild(&schema, value, &found, &mut Vec::new())?;
        record.value.schema = Some(SchemaRef::from(Arc::new(new_schema)));
        record.value.value = new_value;
        record.headers = if self.config.remove {
            headers.into_iter().filter(|h| !self.config.pairs.iter().any(|(name, _)| *name == h.key)).collect()
        } else {
            headers
        };
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::record::{struct_fields, Data};

    fn record() -> ConnectRecord {
        let source = ConnectSchema::structure(vec![("x".into(), ConnectSchema::new(SchemaType::Int32))]).named("Source", None).optional(true);
        let schema = ConnectSchema::structure(vec![("id".into(), ConnectSchema::new(SchemaType::Int32)), ("source".into(), source)]).named("V", None).optional(true);
        ConnectRecord {
            topic: "t".into(),
            key: Data::null(),
            value: Data::new(Arc::new(schema), Value::Struct(vec![Value::Int(1), Value::Struct(vec![Value::Int(2)])])),
            headers: vec![Header::string("h1", "one"), Header::string("h2", "two"), Header::raw("raw".into(), b"x".to_vec())],
            timestamp: None,
        }
    }

    fn config(headers: &[&str], fields: &[&str], remove: bool) -> HeaderToValueConfig {
        HeaderToValueConfig {
            pairs: headers.iter().zip(fields).map(|(h, f)| (h.to_string(), f.split('.').map(str::to_owned).collect())).collect(),
            remove,
        }
    }

    #[test]
    fn headers_become_top_level_and_nested_fields() {
        let mut transform = HeaderToValue::new(config(&["h1", "h2", "absent"], &["first", "source.second", "never"], true));
        let out = transform.apply(record()).unwrap().unwrap();
        let schema = out.value.schema.as_ref().unwrap();
        assert!(!schema.optional, "copySchemaBasics makes the copy required");
        let names: Vec<&str> = struct_fields(schema).iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["id", "source", "first"]);
        let nested: Vec<&str> = struct_fields(&struct_fields(schema)[1].1).iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(nested, ["x", "second"]);
        assert_eq!(
            out.value.value,
            Value::Struct(vec![Value::Int(1), Value::Struct(vec![Value::Int(2), Value::String("two".into())]), Value::String("one".into())])
        );
        let keys: Vec<&str> = out.headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, ["raw"], "moved headers are removed");

        let mut copy = HeaderToValue::new(config(&["h1"], &["first"], false));
        assert_eq!(copy.apply(record()).unwrap().unwrap().headers.len(), 3, "copied headers stay");
        let mut schemaless = HeaderToValue::new(config(&["raw"], &["raw"], false));
        assert!(schemaless.apply(record()).unwrap_err().contains("has no schema"));
        let mut tombstone = record();
        tombstone.value = Data::null();
        assert!(HeaderToValue::new(config(&["h1"], &["first"], false)).apply(tombstone).is_err());
    }
}
