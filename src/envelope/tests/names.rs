//! Adjusted names (`schema.name.adjustment.mode`,
//! `field.name.adjustment.mode`): whole keys and values of table
//! `my-db`.`order items` under each mode, with schemas and without, the
//! refusal of two columns that become one field, and schema change
//! events, which keep the DDL's column names. The expected names are
//! Debezium 3.6.3's for the same table
//! (`cluster-tests/fixtures/debezium/names-avro*.jsonl`).

use super::*;

/// `my-db`.`order items`: `1st col` INT NOT NULL, `price$` INT,
/// `naïve` VARCHAR(20), `_x` INT NOT NULL, primary key (`1st col`, `_x`).
fn order_items() -> Vec<ColumnSchema> {
    let varchar = ColumnType::VarChar { collation: 45, max_bytes: 80 };
    let int = || ColumnType::Int { unsigned: false };
    let mut first = col("1st col", 0, int(), false);
    first.in_primary_key = true;
    let mut x = col("_x", 3, int(), false);
    x.in_primary_key = true;
    vec![first, col("price$", 1, int(), true), col("naïve", 2, varchar, true), x]
}

fn options(schema: SchemaNameAdjustmentMode, field: FieldNameAdjustmentMode, schemas: bool) -> EncodingOptions {
    EncodingOptions {
        schema_name_adjustment: schema,
        field_name_adjustment: field,
        key_schemas_enable: schemas,
        value_schemas_enable: schemas,
        ..EncodingOptions::default()
    }
}

/// The key and the insert value of row (1, 999, 'café', 7).
fn encode(options: EncodingOptions) -> (String, String) {
    let encoder = TableEncoder::new("srv", "my-db", "order items", &order_items(), None, options).expect("encoder");
    assert_eq!(encoder.topic(), "srv.my-db.order_items");
    let row = vec![V::Int(1), V::Int(999), V::Text("café".into()), V::Int(7)];
    let key = utf8(encoder.key(&row).expect("key").expect("has key"));
    let value = utf8(encoder.value(Op::Create, None, Some(&row), &source(), 1_700_000_000_000, None).expect("value"));
    (key, value)
}

/// The expected key and value with the given field names (`1st col`,
/// `price$`, `naïve`, `_x`) and schema name prefix (`<topic>`).
fn expected(fields: [&str; 4], prefix: &str, schemas: bool) -> (String, String) {
    let [first, price, naive, x] = fields;
    let key_payload = format!(r#"{{"{first}":1,"{x}":7}}"#);
    let row = format!(r#"{{"{first}":1,"{price}":999,"{naive}":"café","{x}":7}}"#);
    let value_payload = format!(
        r#"{{"before":null,"after":{row},"source":{SOURCE_PAYLOAD},"transaction":null,"op":"c","ts_ms":1700000000000,"ts_us":1700000000000000,"ts_ns":1700000000000000000}}"#
    );
    if !schemas {
        return (key_payload, value_payload);
    }
    let key_schema = format!(
        r#"{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"{first}"}},{{"type":"int32","optional":false,"field":"{x}"}}],"optional":false,"name":"{prefix}.Key"}}"#
    );
    let row_schema = |field: &str| {
        format!(
            r#"{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"{first}"}},{{"type":"int32","optional":true,"field":"{price}"}},{{"type":"string","optional":true,"field":"{naive}"}},{{"type":"int32","optional":false,"field":"{x}"}}],"optional":true,"name":"{prefix}.Value","field":"{field}"}}"#
        )
    };
    let envelope = format!(
        r#"{{"type":"struct","fields":[{},{},{SOURCE_SCHEMA},{TX_SCHEMA},{{"type":"string","optional":false,"field":"op"}},{{"type":"int64","optional":true,"field":"ts_ms"}},{{"type":"int64","optional":true,"field":"ts_us"}},{{"type":"int64","optional":true,"field":"ts_ns"}}],"optional":false,"name":"{prefix}.Envelope","version":2}}"#,
        row_schema("before"),
        row_schema("after")
    );
    (
        format!(r#"{{"schema":{key_schema},"payload":{key_payload}}}"#),
        format!(r#"{{"schema":{envelope},"payload":{value_payload}}}"#),
    )
}

const AS_IS: [&str; 4] = ["1st col", "price$", "naïve", "_x"];
const AVRO: [&str; 4] = ["_1st_col", "price_", "na_ve", "_x"];
const AVRO_UNICODE: [&str; 4] = ["_u0031st_u0020col", "price_u0024", "na_u00efve", "_u005fx"];

#[test]
fn keys_and_values_under_each_mode_with_and_without_schemas() {
    use FieldNameAdjustmentMode as F;
    use SchemaNameAdjustmentMode as S;
    for schemas in [true, false] {
        for (schema_mode, field_mode, fields, prefix) in [
            (S::None, F::None, AS_IS, "srv.my-db.order_items"),
            (S::Avro, F::Avro, AVRO, "srv.my_db.order_items"),
            (S::AvroUnicode, F::AvroUnicode, AVRO_UNICODE, "srv.my_u002ddb.order_u005fitems"),
            // The two modes are independent.
            (S::Avro, F::None, AS_IS, "srv.my_db.order_items"),
            (S::None, F::AvroUnicode, AVRO_UNICODE, "srv.my-db.order_items"),
        ] {
            let (key, value) = encode(options(schema_mode, field_mode, schemas));
            let (want_key, want_value) = expected(fields, prefix, schemas);
            let case = format!("schema {schema_mode}, field {field_mode}, schemas {schemas}");
            assert_eq!(key, want_key, "key: {case}");
            assert_eq!(value, want_value, "value: {case}");
            serde_json::from_str::<serde_json::Value>(&value).expect("valid JSON");
        }
    }
}

/// The schemas a transform chain reads are the adjusted ones.
#[test]
fn schemas_by_reference_carry_the_adjusted_names() {
    let by_reference = EncodingOptions {
        schemas_by_reference: true,
        ..options(SchemaNameAdjustmentMode::Avro, FieldNameAdjustmentMode::Avro, true)
    };
    let encoder = TableEncoder::new("srv", "my-db", "order items", &order_items(), None, by_reference).expect("encoder");
    let schemas = encoder.record_schemas(Connector::Mysql).expect("by reference");
    let (want_key, want_value) = expected(AVRO, "srv.my_db.order_items", true);
    let key: serde_json::Value = serde_json::from_str(&want_key).expect("json");
    let value: serde_json::Value = serde_json::from_str(&want_value).expect("json");
    let parse = |bytes: Vec<u8>| serde_json::from_slice::<serde_json::Value>(&bytes).expect("json");
    assert_eq!(parse(schemas.key.as_ref().expect("key schema").to_json()), key["schema"]);
    assert_eq!(parse(schemas.value.to_json()), value["schema"]);
    let row = vec![V::Int(1), V::Int(999), V::Text("café".into()), V::Int(7)];
    assert_eq!(parse(encoder.key(&row).expect("key").expect("has key")), key["payload"]);
}

#[test]
fn two_columns_that_become_one_field_are_refused() {
    let int = || ColumnType::Int { unsigned: false };
    let columns = vec![col("a b", 0, int(), true), col("a_b", 1, int(), true)];
    assert!(TableEncoder::new("srv", "shop", "t", &columns, Some(&[]), opts()).is_ok());
    let err = TableEncoder::new("srv", "shop", "t", &columns, Some(&[]), options(SchemaNameAdjustmentMode::None, FieldNameAdjustmentMode::Avro, true))
        .expect_err("a duplicate field");
    assert!(matches!(&err, EncodeError::DuplicateField { field, first, second, .. } if field == "a_b" && first == "a b" && second == "a_b"), "{err}");
    // Escaping `_` keeps them apart.
    let unicode = options(SchemaNameAdjustmentMode::None, FieldNameAdjustmentMode::AvroUnicode, true);
    assert!(TableEncoder::new("srv", "shop", "t", &columns, Some(&[]), unicode).is_ok());
}

/// `tableChanges` describes the table as the DDL has it: Debezium's
/// `ConnectTableChangeSerializer` writes column names unadjusted.
#[test]
fn schema_change_events_keep_the_ddl_column_names() {
    let columns = order_items();
    let change = TableChange {
        kind: TableChangeKind::Create,
        db: "my-db",
        table: "order items",
        columns: &columns,
        primary_key: &[0, 3],
        default_charset: Some("utf8mb4"),
        comment: None,
    };
    let encoder = ConnectorEncoder::new(
        "srv",
        Connector::Mysql,
        options(SchemaNameAdjustmentMode::AvroUnicode, FieldNameAdjustmentMode::AvroUnicode, true),
    );
    let value = utf8(encoder.schema_change_value(&source(), 99, Some("my-db"), None, Some("CREATE TABLE ..."), &[change]));
    let parsed: serde_json::Value = serde_json::from_str(&value).expect("valid JSON");
    let table = &parsed["payload"]["tableChanges"][0]["table"];
    assert_eq!(table["primaryKeyColumnNames"], serde_json::json!(["1st col", "_x"]));
    let names: Vec<&str> = table["columns"].as_array().expect("columns").iter().map(|c| c["name"].as_str().expect("name")).collect();
    assert_eq!(names, AS_IS);
    assert_eq!(parsed["schema"]["name"], "io.debezium.connector.mysql.SchemaChangeValue");
}

#[test]
fn modes_parse_and_unknown_values_name_the_property() {
    let props = |k: &'static str, v: &'static str| move |key: &str| (key == k).then_some(v);
    let o = EncodingOptions::from_properties(props("schema.name.adjustment.mode", "AVRO_UNICODE")).expect("parses");
    assert_eq!(o.schema_name_adjustment, SchemaNameAdjustmentMode::AvroUnicode);
    let o = EncodingOptions::from_properties(props("field.name.adjustment.mode", "avro")).expect("parses");
    assert_eq!(o.field_name_adjustment, FieldNameAdjustmentMode::Avro);
    let err = EncodingOptions::from_properties(props("field.name.adjustment.mode", "unicode")).expect_err("refused");
    assert_eq!(err.option, "field.name.adjustment.mode");
    assert_eq!(err.valid, "none, avro, avro_unicode");
}
