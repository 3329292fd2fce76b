//! The outbox router's `table.expand.json.payload`: a payload column
//! holding JSON text becomes a struct with a schema inferred from that
//! text, as Debezium's `JsonSchemaData` infers it.
//!
//! # Why the output is Debezium's
//! The rules are `JsonSchemaData.toConnectSchema`/`toConnectData`'s, step
//! for step:
//! - an object is an optional struct named by its path (`payload`,
//!   `payload.customer`, ...), its fields in the text's order; a field
//!   whose value is `null` (unless `table.json.payload.null.behavior` is
//!   `optional_bytes`) or an empty array has no schema and is left out, as
//!   is a repeated name;
//! - strings, booleans are optional `string`/`boolean`; an integer is an
//!   optional `int32` if it fits, else `int64`; any other number is an
//!   optional `float64` (Jackson reads it as a double);
//! - an array is an optional array of its first non-null element's schema;
//!   its non-null elements must all be of that JSON type (numbers: of the
//!   same width), and an array of objects has the merge of its elements'
//!   struct schemas (the first's fields, then each new name in order);
//! - values are read by the schema: a member the schema does not have is
//!   left out, and one whose type differs from the schema's (an `int64`
//!   field holding a small number, a string where a struct was inferred)
//!   fails, as Connect's `Struct.put` validation fails it.
//!
//! Text that does not start with `{` or `[`, or is not JSON, is kept as
//! the string (Debezium logs a warning and keeps it). What Debezium's
//! transform fails on later (a top-level array, an integer beyond `int64`,
//! a value that does not fit the inferred schema) fails the record here,
//! naming the reason.
use super::codec::{Json, Reader};
use super::record::{Value, struct_fields};
use crate::envelope::schema::{ConnectSchema, SchemaType};

/// An expanded payload: its schema and its value.
pub(super) struct Expanded {
    pub schema: ConnectSchema,
    pub value: Value,
}

/// Expands `text`; `Ok(None)` keeps the string (not JSON).
pub(super) fn expand(key: &str, text: &str, null_as_bytes: bool) -> Result<Option<Expanded>, String> {
    if !(text.starts_with('{') || text.starts_with('[')) {
        return Ok(None);
    }
    let mut reader = Reader::new(text.as_bytes());
    let Ok(json) = reader.value() else { return Ok(None) };
    let inference = Inference { null_as_bytes };
    match (&json, inference.schema(Some(key), &json)) {
        // Debezium keeps the string when inference throws.
        (_, Err(_)) => Ok(None),
        (Json::Obj(_), Ok(Some(schema))) => {
            let value = data(&json, &schema)?;
            Ok(Some(Expanded { schema, value }))
        }
        _ => Err("the JSON payload is an array; only an object can be expanded".into()),
    }
}

/// The Java class Jackson gives a JSON number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Number {
    Int,
    Long,
    Double,
    Big,
}

fn number_kind(text: &str) -> Number {
    if text.contains(['.', 'e', 'E']) {
        return Number::Double;
    }
    match text.parse::<i64>() {
        Ok(n) if i32::try_from(n).is_ok() => Number::Int,
        Ok(_) => Number::Long,
        Err(_) => Number::Big,
    }
}

fn optional(kind: SchemaType) -> ConnectSchema {
    ConnectSchema::new(kind).optional(true)
}

struct Inference {
    null_as_bytes: bool,
}

impl Inference {
    /// `toConnectSchema`: `None` for a value with no schema (null, empty
    /// array).
    fn schema(&self, key: Option<&str>, json: &Json<'_>) -> Result<Option<ConnectSchema>, String> {
        Ok(match json {
            Json::Str(_) => Some(optional(SchemaType::String)),
            Json::Bool(_) => Some(optional(SchemaType::Boolean)),
            Json::Num(n) => Some(optional(match number_kind(n) {
                Number::Int => SchemaType::Int32,
                Number::Long => SchemaType::Int64,
                Number::Double | Number::Big => SchemaType::Float64,
            })),
            Json::Arr(items) if items.is_empty() => None,
            Json::Arr(items) => Some(optional(SchemaType::Array(Box::new(self.element_schema(key, items)?)))),
            Json::Obj(members) => {
                let mut fields: Vec<(String, ConnectSchema)> = Vec::new();
                for (i, (name, _)) in members.iter().enumerate() {
                    if members[..i].iter().any(|(n, _)| n == name) {
                        continue;
                    }
                    // Jackson keeps a repeated name's last value.
                    let value = &members.iter().rev().find(|(n, _)| n == name).expect("present").1;
                    let path = format!("{}.{name}", key.unwrap_or("null"));
                    if let Some(schema) = self.schema(Some(&path), value)? {
                        fields.push((name.to_string(), schema));
                    }
                }
                let mut schema = optional(SchemaType::Struct(fields));
                schema.name = key.map(str::to_owned);
                Some(schema)
            }
            Json::Null => self.null_as_bytes.then(|| optional(SchemaType::Bytes)),
        })
    }

    /// `toConnectSchemaWithCycles`: an array's element schema.
    fn element_schema(&self, key: Option<&str>, items: &[Json<'_>]) -> Result<ConnectSchema, String> {
        let mut sample: Option<&Json<'_>> = None;
        let mut sample_number = None;
        for item in items.iter().filter(|i| !matches!(i, Json::Null)) {
            let first = *sample.get_or_insert(item);
            if std::mem::discriminant(first) != std::mem::discriminant(item) {
                return Err("the JSON payload has an array of mixed types".into());
            }
            if let Json::Num(n) = item {
                let kind = number_kind(n);
                let width = |k| if k == Number::Big { Number::Double } else { k };
                if *sample_number.get_or_insert(width(kind)) != width(kind) {
                    return Err("the JSON payload has an array of numbers of different types".into());
                }
            }
        }
        match sample {
            Some(Json::Obj(_)) => {
                let mut merged: Option<ConnectSchema> = None;
                let mut seen: Vec<ConnectSchema> = Vec::new();
                for item in items.iter().filter(|i| matches!(i, Json::Obj(_))) {
                    let Some(schema) = self.schema(key, item)? else { continue };
                    if seen.contains(&schema) {
                        continue;
                    }
                    seen.push(schema.clone());
                    merged = Some(match merged {
                        None => schema,
                        Some(left) => merge(left, &schema),
                    });
                }
                merged.ok_or_else(|| "the JSON payload has an array with no element schema".into())
            }
            Some(item) => self.schema(None, item)?.ok_or_else(|| "the JSON payload has an array with no element schema".into()),
            None => self.schema(None, &Json::Null)?.ok_or_else(|| "the JSON payload has an array of nulls".into()),
        }
    }
}

/// `mergeSchema`: `left`'s fields, then `right`'s new ones; a `bytes`
/// field (from a null) gives way to a typed one. Debezium merges the
/// distinct element schemas in a hash set's order; this merges them in the
/// order they first appear.
fn merge(left: ConnectSchema, right: &ConnectSchema) -> ConnectSchema {
    let mut fields: Vec<(String, ConnectSchema)> = struct_fields(&left).to_vec();
    for (name, schema) in struct_fields(right) {
        match fields.iter_mut().find(|(n, _)| n == name) {
            None => fields.push((name.clone(), schema.clone())),
            Some((_, old)) => {
                if old != schema && old.kind == SchemaType::Bytes && schema.kind != SchemaType::Bytes {
                    *old = schema.clone();
                }
            }
        }
    }
    // Required, as `copySchemaBasics` makes it (Debezium's output shows it).
    super::record::copy_basics(&left, SchemaType::Struct(fields))
}

/// `toConnectData`: the value of `json` read by `schema`, failing where
/// Connect's `Struct.put` validation would.
fn data(json: &Json<'_>, schema: &ConnectSchema) -> Result<Value, String> {
    let SchemaType::Struct(fields) = &schema.kind else {
        return Err("an object where the inferred schema is not a struct".into());
    };
    let Json::Obj(members) = json else {
        return Err(format!("a JSON {} where the inferred schema is a struct", kind_name(json)));
    };
    fields
        .iter()
        .map(|(name, field)| match members.iter().rev().find(|(k, _)| k == name) {
            Some((_, value)) => member(value, field),
            None => Ok(Value::Null),
        })
        .collect::<Result<_, _>>()
        .map(Value::Struct)
}

fn kind_name(json: &Json<'_>) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Num(_) => "number",
        Json::Str(_) => "string",
        Json::Arr(_) => "array",
        Json::Obj(_) => "object",
    }
}

/// `getStructFieldValue` plus the type check `Struct.put` makes.
fn member(json: &Json<'_>, schema: &ConnectSchema) -> Result<Value, String> {
    let mismatch = || format!("a JSON {} does not fit the inferred schema {:?}", kind_name(json), schema.kind);
    Ok(match (json, &schema.kind) {
        (Json::Null, _) => Value::Null,
        (Json::Str(s), SchemaType::String) => Value::String(s.to_string()),
        (Json::Bool(b), SchemaType::Boolean) => Value::Boolean(*b),
        (Json::Num(n), kind) => match (number_kind(n), kind) {
            (Number::Int, SchemaType::Int32) | (Number::Long, SchemaType::Int64) => Value::Int(n.parse().map_err(|_| mismatch())?),
            (Number::Double, SchemaType::Float64) => Value::Float64(n.parse().map_err(|_| mismatch())?),
            _ => return Err(mismatch()),
        },
        (Json::Arr(items), SchemaType::Array(element)) => Value::Array(items.iter().map(|i| member(i, element)).collect::<Result<_, _>>()?),
        (Json::Obj(_), SchemaType::Struct(_)) => data(json, schema)?,
        _ => return Err(mismatch()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_arrays_and_numbers_infer_as_debezium_does() {
        let e = expand("payload", r#"{"id":1,"big":12345678901,"f":1.5,"s":"x","n":null,"e":[],"l":[{"a":1},{"a":2,"b":"y"}],"t":["p"],"o":{"d":true}}"#, false)
            .unwrap()
            .unwrap();
        let names: Vec<&str> = struct_fields(&e.schema).iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["id", "big", "f", "s", "l", "t", "o"]);
        assert_eq!(e.schema.name.as_deref(), Some("payload"));
        let fields = struct_fields(&e.schema);
        assert_eq!(fields[1].1.kind, SchemaType::Int64);
        let SchemaType::Array(lines) = &fields[4].1.kind else { panic!() };
        assert_eq!(lines.name.as_deref(), Some("payload.l"));
        assert_eq!(struct_fields(lines).len(), 2);
        assert_eq!(fields[6].1.name.as_deref(), Some("payload.o"));
        let Value::Struct(values) = &e.value else { panic!() };
        assert_eq!(values[0], Value::Int(1));
        assert_eq!(values[4], Value::Array(vec![Value::Struct(vec![Value::Int(1), Value::Null]), Value::Struct(vec![Value::Int(2), Value::String("y".into())])]));
    }

    #[test]
    fn text_that_is_not_json_is_kept_and_arrays_fail() {
        assert!(expand("payload", "not json", false).unwrap().is_none());
        assert!(expand("payload", "", false).unwrap().is_none());
        assert!(expand("payload", "{broken", false).unwrap().is_none());
        assert!(expand("payload", "[1,2]", false).is_err());
        assert!(expand("payload", r#"{"a":[1,"x"]}"#, false).unwrap().is_none(), "inference failure keeps the string");
        assert!(expand("payload", "[1,\"x\"]", false).unwrap().is_none());
        assert!(expand("payload", r#"{"a":[{"b":1},{"b":"x"}]}"#, false).is_err(), "a value that does not fit fails");
        let nulls = expand("payload", r#"{"n":null}"#, true).unwrap().unwrap();
        assert_eq!(struct_fields(&nulls.schema)[0].1.kind, SchemaType::Bytes);
    }
}
