//! Golden tests: full JSON, as Debezium 3.6.1.Final + `JsonConverter`
//! would write it, for every type family under each relevant mode.

use super::*;
use crate::source::mysql::column::{BlobSize, ColumnType, ColumnValue as V, GeometryKind};

const SOURCE_SCHEMA: &str = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":true,"field":"table"},{"type":"int64","optional":false,"field":"server_id"},{"type":"string","optional":true,"field":"gtid"},{"type":"string","optional":false,"field":"file"},{"type":"int64","optional":false,"field":"pos"},{"type":"int32","optional":false,"field":"row"},{"type":"int64","optional":true,"field":"thread"},{"type":"string","optional":true,"field":"query"}],"optional":false,"name":"io.debezium.connector.mysql.Source","version":1,"field":"source"}"#;

const TX_SCHEMA: &str = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"}"#;

const SOURCE_PAYLOAD: &str = r#"{"version":"3.6.1.Final","connector":"mysql","name":"srv","ts_ms":1529476623000,"snapshot":"false","db":"shop","sequence":null,"ts_us":1529476623000000,"ts_ns":1529476623000000000,"table":"t","server_id":223344,"gtid":null,"file":"mysql-bin.000003","pos":154,"row":0,"thread":7,"query":null}"#;

fn source() -> SourceInfo<'static> {
    SourceInfo {
        connector: Connector::Mysql,
        name: "srv",
        ts_ms: 0,
        ts_us: 0,
        ts_ns: 0,
        snapshot: Snapshot::False,
        db: "shop",
        sequence: None,
        table: Some("t"),
        server_id: 223344,
        gtid: None,
        file: "mysql-bin.000003",
        pos: 154,
        row: 0,
        thread: Some(7),
        query: None,
    }
    .with_time_us(1_529_476_623_000_000)
}

fn col(name: &str, position: usize, column_type: ColumnType, nullable: bool) -> ColumnSchema {
    ColumnSchema {
        name: name.into(),
        position,
        column_type,
        nullable,
        in_primary_key: false,
        binlog_type: 0,
        binlog_meta: [0, 0],
        default: None,
        comment: None,
        auto_increment: false,
        generated: false,
    }
}

fn payload_only() -> EncodingOptions {
    EncodingOptions {
        key_schemas_enable: false,
        value_schemas_enable: false,
        ..EncodingOptions::default()
    }
}

fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("utf8")
}

/// The full insert payload for a one-column table `c` with value `field`.
fn insert_payload(field: &str) -> String {
    format!(
        r#"{{"before":null,"after":{{"c":{field}}},"source":{SOURCE_PAYLOAD},"transaction":null,"op":"c","ts_ms":1700000000000,"ts_us":1700000000000000,"ts_ns":1700000000000000000}}"#
    )
}

/// Encodes one value of a one-column table and returns (value payload,
/// the column's field schema as it appears in the envelope's `after`).
fn encode_one(
    column_type: ColumnType,
    nullable: bool,
    options: EncodingOptions,
    value: V,
) -> Result<(String, String), EncodeError> {
    let columns = vec![col("c", 0, column_type, nullable)];
    let mut with_schema = options.clone();
    with_schema.value_schemas_enable = true;
    let schema_encoder = TableEncoder::new("srv", "shop", "t", &columns, Some(&[]), with_schema)?;
    let encoder = TableEncoder::new(
        "srv",
        "shop",
        "t",
        &columns,
        Some(&[]),
        EncodingOptions {
            value_schemas_enable: false,
            ..options
        },
    )?;
    let row = vec![value];
    let payload = utf8(encoder.value(Op::Create, None, Some(&row), &source(), 1_700_000_000_000, None)?);
    // Extract the field schema from the envelope schema: it sits between
    // `"fields":[` and `],"optional":true,"name":"srv.shop.t.Value"`.
    let schema = utf8(schema_encoder.value_schema_json(Connector::Mysql).to_vec());
    let marker = "\"fields\":[{\"type\":\"struct\",\"fields\":[";
    let start = schema.find(marker).expect("envelope") + marker.len();
    let end = schema
        .find("],\"optional\":true,\"name\":\"srv.shop.t.Value\"")
        .expect("value schema");
    Ok((payload, schema[start..end].to_owned()))
}

/// Asserts the value payload and the field schema of one case.
#[track_caller]
fn case(column_type: ColumnType, nullable: bool, options: &EncodingOptions, value: V, field: &str, field_schema: &str) {
    let (payload, schema) = encode_one(column_type, nullable, options.clone(), value).expect("encodes");
    assert_eq!(payload, insert_payload(field));
    assert_eq!(schema, field_schema);
}

fn opts() -> EncodingOptions {
    EncodingOptions::default()
}

#[test]
fn integers() {
    let o = opts();
    let s16 = r#"{"type":"int16","optional":true,"field":"c"}"#;
    let s32 = r#"{"type":"int32","optional":true,"field":"c"}"#;
    let s64 = r#"{"type":"int64","optional":true,"field":"c"}"#;
    case(
        ColumnType::TinyInt { unsigned: false },
        true,
        &o,
        V::Int(-128),
        "-128",
        s16,
    );
    case(
        ColumnType::TinyInt { unsigned: true },
        true,
        &o,
        V::UInt(255),
        "255",
        s16,
    );
    case(
        ColumnType::SmallInt { unsigned: false },
        true,
        &o,
        V::Int(-32768),
        "-32768",
        s16,
    );
    case(
        ColumnType::SmallInt { unsigned: true },
        true,
        &o,
        V::UInt(65535),
        "65535",
        s32,
    );
    case(
        ColumnType::MediumInt { unsigned: false },
        true,
        &o,
        V::Int(-8_388_608),
        "-8388608",
        s32,
    );
    case(
        ColumnType::MediumInt { unsigned: true },
        true,
        &o,
        V::UInt(16_777_215),
        "16777215",
        s32,
    );
    case(
        ColumnType::Int { unsigned: false },
        true,
        &o,
        V::Int(i64::from(i32::MIN)),
        "-2147483648",
        s32,
    );
    case(
        ColumnType::Int { unsigned: true },
        true,
        &o,
        V::UInt(4_294_967_295),
        "4294967295",
        s64,
    );
    case(
        ColumnType::BigInt { unsigned: false },
        true,
        &o,
        V::Int(i64::MIN),
        "-9223372036854775808",
        s64,
    );
    case(ColumnType::BigInt { unsigned: false }, true, &o, V::Null, "null", s64);
    case(
        ColumnType::Int { unsigned: false },
        false,
        &o,
        V::Int(0),
        "0",
        r#"{"type":"int32","optional":false,"field":"c"}"#,
    );
    // bigint.unsigned.handling.mode=long reinterprets the bits (Debezium's Long).
    case(
        ColumnType::BigInt { unsigned: true },
        true,
        &o,
        V::UInt(u64::MAX),
        "-1",
        s64,
    );
    let precise = EncodingOptions {
        bigint_unsigned: BigintUnsignedHandlingMode::Precise,
        ..opts()
    };
    let dec20 = r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0","connect.decimal.precision":"20"},"field":"c"}"#;
    case(
        ColumnType::BigInt { unsigned: true },
        true,
        &precise,
        V::UInt(u64::MAX),
        r#""AP//////////""#,
        dec20,
    );
    case(
        ColumnType::BigInt { unsigned: true },
        true,
        &precise,
        V::UInt(0),
        r#""AA==""#,
        dec20,
    );
    case(
        ColumnType::Boolean,
        true,
        &o,
        V::Int(1),
        "true",
        r#"{"type":"boolean","optional":true,"field":"c"}"#,
    );
}

#[test]
fn decimals_in_each_mode() {
    let t = || ColumnType::Decimal {
        precision: 10,
        scale: 2,
        unsigned: false,
    };
    let precise = r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"c"}"#;
    case(
        t(),
        true,
        &opts(),
        V::Decimal("-12345678.91".into()),
        r#""tmn9LQ==""#,
        precise,
    );
    case(t(), true, &opts(), V::Decimal("1.00".into()), r#""ZA==""#, precise);
    case(t(), true, &opts(), V::Decimal("0.00".into()), r#""AA==""#, precise);
    let double = EncodingOptions {
        decimal: DecimalHandlingMode::Double,
        ..opts()
    };
    let s_double = r#"{"type":"double","optional":true,"field":"c"}"#;
    case(
        t(),
        true,
        &double,
        V::Decimal("-12345678.91".into()),
        "-1.234567891E7",
        s_double,
    );
    case(t(), true, &double, V::Decimal("0.50".into()), "0.5", s_double);
    let string = EncodingOptions {
        decimal: DecimalHandlingMode::String,
        ..opts()
    };
    let s_string = r#"{"type":"string","optional":true,"field":"c"}"#;
    case(
        t(),
        true,
        &string,
        V::Decimal("-12345678.91".into()),
        r#""-12345678.91""#,
        s_string,
    );
    case(t(), true, &string, V::Decimal("0.00".into()), r#""0.00""#, s_string);
    case(t(), true, &string, V::Null, "null", s_string);
}

#[test]
fn floating_point() {
    let f = r#"{"type":"float","optional":true,"field":"c"}"#;
    let d = r#"{"type":"double","optional":true,"field":"c"}"#;
    case(
        ColumnType::Float { unsigned: false, scaled: false },
        true,
        &opts(),
        V::Float(1.1),
        "1.1",
        f,
    );
    case(
        ColumnType::Float { unsigned: false, scaled: false },
        true,
        &opts(),
        V::Float(3.402_823_5e38),
        "3.4028235E38",
        f,
    );
    case(
        ColumnType::Float { unsigned: false, scaled: false },
        true,
        &opts(),
        V::Float(-0.0),
        "-0.0",
        f,
    );
    case(
        ColumnType::Double { unsigned: false },
        true,
        &opts(),
        V::Double(-2.25),
        "-2.25",
        d,
    );
    case(
        ColumnType::Double { unsigned: false },
        true,
        &opts(),
        V::Double(1e300),
        "1.0E300",
        d,
    );
    case(
        ColumnType::Double { unsigned: false },
        true,
        &opts(),
        V::Double(100.0),
        "100.0",
        d,
    );
}

#[test]
fn bits() {
    let b1 = r#"{"type":"boolean","optional":true,"field":"c"}"#;
    case(ColumnType::Bit { bits: 1 }, true, &opts(), V::Bit(vec![1]), "true", b1);
    case(ColumnType::Bit { bits: 1 }, true, &opts(), V::Bit(vec![0]), "false", b1);
    let b10 = r#"{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"10"},"field":"c"}"#;
    // Stored big-endian [0x02, 0x01] (0x201) → emitted little-endian [0x01, 0x02].
    case(
        ColumnType::Bit { bits: 10 },
        true,
        &opts(),
        V::Bit(vec![0x02, 0x01]),
        r#""AQI=""#,
        b10,
    );
    case(ColumnType::Bit { bits: 10 }, true, &opts(), V::Null, "null", b10);
}

#[test]
fn strings() {
    let s = r#"{"type":"string","optional":true,"field":"c"}"#;
    let t = || ColumnType::VarChar {
        collation: 45,
        max_bytes: 1020,
    };
    case(
        t(),
        true,
        &opts(),
        V::Text("héllo 😀\n\"\\\u{1}".into()),
        r#""héllo 😀\n\"\\\u0001""#,
        s,
    );
    case(t(), true, &opts(), V::Text(String::new()), r#""""#, s);
    case(
        ColumnType::Char {
            collation: 8,
            max_bytes: 5,
        },
        true,
        &opts(),
        V::Text("ab".into()),
        r#""ab""#,
        s,
    );
    case(
        ColumnType::Text {
            collation: 45,
            size: BlobSize::Long,
        },
        false,
        &opts(),
        V::Null,
        r#""""#,
        r#"{"type":"string","optional":false,"field":"c"}"#,
    );
}

#[test]
fn binary_in_each_mode() {
    let value = || V::Bytes(vec![0xAB, 0xCD, 0, 0]);
    let t = || ColumnType::Binary { len: 4 };
    case(
        t(),
        true,
        &opts(),
        value(),
        r#""q80AAA==""#,
        r#"{"type":"bytes","optional":true,"field":"c"}"#,
    );
    let string = r#"{"type":"string","optional":true,"field":"c"}"#;
    let b64 = EncodingOptions {
        binary: BinaryHandlingMode::Base64,
        ..opts()
    };
    case(t(), true, &b64, value(), r#""q80AAA==""#, string);
    let url = EncodingOptions {
        binary: BinaryHandlingMode::Base64UrlSafe,
        ..opts()
    };
    case(
        ColumnType::VarBinary { max_len: 10 },
        true,
        &url,
        V::Bytes(vec![0xFB, 0xFF]),
        r#""-_8=""#,
        string,
    );
    let hex = EncodingOptions {
        binary: BinaryHandlingMode::Hex,
        ..opts()
    };
    case(
        ColumnType::Blob {
            size: BlobSize::Regular,
        },
        true,
        &hex,
        value(),
        r#""abcd0000""#,
        string,
    );
    case(
        ColumnType::Blob {
            size: BlobSize::Regular,
        },
        true,
        &hex,
        V::Bytes(vec![]),
        r#""""#,
        string,
    );
}

#[test]
fn dates_and_times_adaptive() {
    let o = opts();
    let date = r#"{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"c"}"#;
    case(
        ColumnType::Date,
        true,
        &o,
        V::Date {
            year: 2018,
            month: 6,
            day: 20,
        },
        "17702",
        date,
    );
    case(
        ColumnType::Date,
        true,
        &o,
        V::Date {
            year: 1969,
            month: 12,
            day: 31,
        },
        "-1",
        date,
    );
    // Two-digit years are adjusted as Debezium's default time adjuster does.
    case(
        ColumnType::Date,
        true,
        &o,
        V::Date {
            year: 69,
            month: 1,
            day: 1,
        },
        "36160",
        date,
    );
    case(
        ColumnType::Date,
        true,
        &o,
        V::Date {
            year: 70,
            month: 1,
            day: 1,
        },
        "0",
        date,
    );
    case(
        ColumnType::Date,
        true,
        &o,
        V::Date {
            year: 100,
            month: 1,
            day: 1,
        },
        "-683003",
        date,
    );
    // Zero dates: null when optional, epoch when required.
    case(
        ColumnType::Date,
        true,
        &o,
        V::Date {
            year: 0,
            month: 0,
            day: 0,
        },
        "null",
        date,
    );
    case(
        ColumnType::Date,
        true,
        &o,
        V::Date {
            year: 2020,
            month: 0,
            day: 15,
        },
        "null",
        date,
    );
    case(
        ColumnType::Date,
        false,
        &o,
        V::Date {
            year: 0,
            month: 0,
            day: 0,
        },
        "0",
        r#"{"type":"int32","optional":false,"name":"io.debezium.time.Date","version":1,"field":"c"}"#,
    );
    let time = r#"{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1,"field":"c"}"#;
    case(
        ColumnType::Time { fsp: 3 },
        true,
        &o,
        V::Time {
            negative: true,
            hours: 838,
            minutes: 59,
            seconds: 59,
            micros: 999_000,
        },
        "-3020399999000",
        time,
    );
    case(
        ColumnType::Time { fsp: 0 },
        true,
        &o,
        V::Time {
            negative: false,
            hours: 12,
            minutes: 34,
            seconds: 56,
            micros: 0,
        },
        "45296000000",
        time,
    );
    let ts_ms = r#"{"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","version":1,"field":"c"}"#;
    let dt = |micros| V::DateTime {
        year: 2018,
        month: 6,
        day: 20,
        hour: 6,
        minute: 37,
        second: 3,
        micros,
    };
    case(
        ColumnType::DateTime { fsp: 3 },
        true,
        &o,
        dt(123_000),
        "1529476623123",
        ts_ms,
    );
    case(ColumnType::DateTime { fsp: 0 }, true, &o, dt(0), "1529476623000", ts_ms);
    case(
        ColumnType::DateTime { fsp: 3 },
        true,
        &o,
        V::DateTime {
            year: 1969,
            month: 12,
            day: 31,
            hour: 23,
            minute: 59,
            second: 59,
            micros: 999_000,
        },
        "-1",
        ts_ms,
    );
    let ts_us = r#"{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"c"}"#;
    case(
        ColumnType::DateTime { fsp: 6 },
        true,
        &o,
        dt(123_456),
        "1529476623123456",
        ts_us,
    );
    case(
        ColumnType::DateTime { fsp: 6 },
        true,
        &o,
        V::DateTime {
            year: 18,
            month: 6,
            day: 20,
            hour: 6,
            minute: 37,
            second: 3,
            micros: 1,
        },
        "1529476623000001",
        ts_us,
    );
    case(
        ColumnType::DateTime { fsp: 6 },
        true,
        &o,
        V::DateTime {
            year: 0,
            month: 0,
            day: 0,
            hour: 0,
            minute: 0,
            second: 0,
            micros: 0,
        },
        "null",
        ts_us,
    );
    let zoned = r#"{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"c"}"#;
    case(
        ColumnType::Timestamp { fsp: 0 },
        true,
        &o,
        V::Timestamp {
            secs: 1_529_476_623,
            micros: 0,
        },
        r#""2018-06-20T06:37:03Z""#,
        zoned,
    );
    case(
        ColumnType::Timestamp { fsp: 2 },
        true,
        &o,
        V::Timestamp {
            secs: 1_529_476_623,
            micros: 120_000,
        },
        r#""2018-06-20T06:37:03.12Z""#,
        zoned,
    );
    case(
        ColumnType::Timestamp { fsp: 6 },
        true,
        &o,
        V::Timestamp {
            secs: 1_529_476_623,
            micros: 0,
        },
        r#""2018-06-20T06:37:03.000000Z""#,
        zoned,
    );
    case(
        ColumnType::Timestamp { fsp: 6 },
        true,
        &o,
        V::Timestamp { secs: 0, micros: 0 },
        "null",
        zoned,
    );
    case(
        ColumnType::Timestamp { fsp: 0 },
        false,
        &o,
        V::Timestamp { secs: 0, micros: 0 },
        r#""1970-01-01T00:00:00Z""#,
        r#"{"type":"string","optional":false,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"c"}"#,
    );
    let year = r#"{"type":"int32","optional":true,"name":"io.debezium.time.Year","version":1,"field":"c"}"#;
    case(ColumnType::Year, true, &o, V::Year(0), "0", year);
    case(ColumnType::Year, true, &o, V::Year(2155), "2155", year);
}

#[test]
fn dates_and_times_connect() {
    let o = EncodingOptions {
        time_precision: TimePrecisionMode::Connect,
        ..opts()
    };
    case(
        ColumnType::Date,
        true,
        &o,
        V::Date {
            year: 2018,
            month: 6,
            day: 20,
        },
        "17702",
        r#"{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"c"}"#,
    );
    let time =
        r#"{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Time","version":1,"field":"c"}"#;
    case(
        ColumnType::Time { fsp: 3 },
        true,
        &o,
        V::Time {
            negative: false,
            hours: 12,
            minutes: 34,
            seconds: 56,
            micros: 789_000,
        },
        "45296789",
        time,
    );
    // Outside 00:00:00..=24:00:00: Debezium cannot convert; null when optional.
    case(
        ColumnType::Time { fsp: 0 },
        true,
        &o,
        V::Time {
            negative: true,
            hours: 1,
            minutes: 0,
            seconds: 0,
            micros: 0,
        },
        "null",
        time,
    );
    let err = encode_one(
        ColumnType::Time { fsp: 0 },
        false,
        o.clone(),
        V::Time {
            negative: false,
            hours: 25,
            minutes: 0,
            seconds: 0,
            micros: 0,
        },
    )
    .expect_err("required and unconvertible");
    assert!(matches!(err, EncodeError::Unconvertible { .. }), "{err}");
    case(
        ColumnType::DateTime { fsp: 6 },
        true,
        &o,
        V::DateTime {
            year: 2018,
            month: 6,
            day: 20,
            hour: 6,
            minute: 37,
            second: 3,
            micros: 123_456,
        },
        "1529476623123",
        r#"{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"c"}"#,
    );
    // TIMESTAMP is ZonedTimestamp in every mode.
    case(
        ColumnType::Timestamp { fsp: 3 },
        true,
        &o,
        V::Timestamp { secs: 1, micros: 5_000 },
        r#""1970-01-01T00:00:01.005Z""#,
        r#"{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"c"}"#,
    );
}

#[test]
fn invalid_calendar_dates_are_errors() {
    let err = encode_one(
        ColumnType::Date,
        true,
        opts(),
        V::Date {
            year: 2021,
            month: 2,
            day: 30,
        },
    )
    .expect_err("invalid");
    assert!(matches!(err, EncodeError::InvalidTemporal { .. }), "{err}");
}

#[test]
fn enums_and_sets() {
    let e = ColumnType::Enum {
        values: vec!["a".into(), "b,c".into()],
        collation: 45,
    };
    let schema = r#"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"a,b\\,c"},"field":"c"}"#;
    case(e.clone(), true, &opts(), V::Enum(1), r#""a""#, schema);
    case(e.clone(), true, &opts(), V::Enum(2), r#""b\\,c""#, schema);
    case(e.clone(), true, &opts(), V::Enum(0), r#""""#, schema);
    // An index past the members: Debezium's converter fails → null.
    case(e, true, &opts(), V::Enum(9), "null", schema);
    let s = ColumnType::Set {
        values: vec!["x".into(), "y".into(), "z".into()],
        collation: 45,
    };
    let schema = r#"{"type":"string","optional":true,"name":"io.debezium.data.EnumSet","version":1,"parameters":{"allowed":"x,y,z"},"field":"c"}"#;
    case(s.clone(), true, &opts(), V::Set(0b101), r#""x,z""#, schema);
    case(s.clone(), true, &opts(), V::Set(0), r#""""#, schema);
    case(s, true, &opts(), V::Set(0b1001), r#""x,""#, schema);
}

#[test]
fn json_columns() {
    let schema = r#"{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,"field":"c"}"#;
    case(
        ColumnType::Json,
        true,
        &opts(),
        V::Json(r#"{"k":[1,2.5,"v"]}"#.into()),
        r#""{\"k\":[1,2.5,\"v\"]}""#,
        schema,
    );
    case(ColumnType::Json, true, &opts(), V::Json(String::new()), "null", schema);
    case(
        ColumnType::JsonText { collation: 45 },
        true,
        &opts(),
        V::Text(String::new()),
        "null",
        schema,
    );
    case(
        ColumnType::Json,
        false,
        &opts(),
        V::Json(String::new()),
        r#""{}""#,
        r#"{"type":"string","optional":false,"name":"io.debezium.data.Json","version":1,"field":"c"}"#,
    );
    // MariaDB JSON (text), once a schema layer marks it as JSON.
    case(
        ColumnType::JsonText { collation: 45 },
        true,
        &opts(),
        V::Text(r#"{"a": 1}"#.into()),
        r#""{\"a\": 1}""#,
        schema,
    );
}

#[test]
fn geometry_and_uuid() {
    let mut point = vec![0, 0, 0, 0, 1, 1, 0, 0, 0];
    point.extend_from_slice(&1.0f64.to_le_bytes());
    point.extend_from_slice(&2.0f64.to_le_bytes());
    case(
        ColumnType::Geometry {
            kind: GeometryKind::Point,
        },
        true,
        &opts(),
        V::Geometry(point),
        r#"{"x":1.0,"y":2.0,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA","srid":null}"#,
        r#"{"type":"struct","fields":[{"type":"double","optional":false,"field":"x"},{"type":"double","optional":false,"field":"y"},{"type":"bytes","optional":true,"field":"wkb"},{"type":"int32","optional":true,"field":"srid"}],"optional":true,"name":"io.debezium.data.geometry.Point","version":1,"doc":"Geometry (POINT)","field":"c"}"#,
    );
    let mut line = 4326u32.to_le_bytes().to_vec();
    line.extend_from_slice(&[1, 2, 0, 0, 0, 2, 0, 0, 0]);
    for v in [0.0f64, 0.0, 1.0, 1.0] {
        line.extend_from_slice(&v.to_le_bytes());
    }
    case(
        ColumnType::Geometry {
            kind: GeometryKind::LineString,
        },
        false,
        &opts(),
        V::Geometry(line),
        r#"{"wkb":"AQIAAAACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAPA/AAAAAAAA8D8=","srid":4326}"#,
        r#"{"type":"struct","fields":[{"type":"bytes","optional":false,"field":"wkb"},{"type":"int32","optional":true,"field":"srid"}],"optional":true,"name":"io.debezium.data.geometry.Geometry","version":1,"doc":"Geometry","field":"c"}"#,
    );
    case(
        ColumnType::Uuid,
        true,
        &opts(),
        V::Bytes((0u8..16).map(|i| i * 0x11).collect()),
        r#""00112233-4455-6677-8899-aabbccddeeff""#,
        r#"{"type":"string","optional":true,"name":"io.debezium.data.Uuid","version":1,"field":"c"}"#,
    );
}

#[test]
fn defaults_replace_nulls() {
    let mut c = col("c", 0, ColumnType::Int { unsigned: false }, true);
    c.default = Some(V::Int(5));
    c.comment = Some("the c".into());
    let encoder = TableEncoder::new("srv", "shop", "t", std::slice::from_ref(&c), Some(&[]), opts()).expect("encoder");
    let schema = utf8(encoder.value_schema_json(Connector::Mysql).to_vec());
    assert!(
        schema.contains(r#"{"type":"int32","optional":true,"doc":"the c","default":5,"field":"c"}"#),
        "{schema}"
    );
    let payload_encoder = TableEncoder::new("srv", "shop", "t", &[c], Some(&[]), payload_only()).expect("encoder");
    let out = utf8(
        payload_encoder
            .value(
                Op::Create,
                None,
                Some(&vec![V::Null]),
                &source(),
                1_700_000_000_000,
                None,
            )
            .expect("value"),
    );
    assert_eq!(out, insert_payload("5"));
}

/// The complete key and value, schemas enabled, for a small table.
#[test]
fn full_messages_with_schemas() {
    let mut id = col("id", 0, ColumnType::Int { unsigned: false }, false);
    id.in_primary_key = true;
    let columns = vec![
        id,
        col(
            "name",
            1,
            ColumnType::VarChar {
                collation: 45,
                max_bytes: 1020,
            },
            true,
        ),
    ];
    let encoder = TableEncoder::new("srv", "shop", "t", &columns, None, opts()).expect("encoder");
    assert_eq!(encoder.topic(), "srv.shop.t");
    let before = vec![V::Int(1), V::Text("old".into())];
    let after = vec![V::Int(1), V::Text("new".into())];
    let key = utf8(encoder.key(&after).expect("key").expect("has key"));
    assert_eq!(
        key,
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"srv.shop.t.Key"},"payload":{"id":1}}"#
    );
    let tx = TransactionInfo {
        id: "0-1-20",
        total_order: 3,
        data_collection_order: 2,
    };
    let value = utf8(
        encoder
            .value(
                Op::Update,
                Some(&before),
                Some(&after),
                &source(),
                1_700_000_000_123,
                Some(&tx),
            )
            .expect("value"),
    );
    let row_schema = |field: &str| {
        format!(
            r#"{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}},{{"type":"string","optional":true,"field":"name"}}],"optional":true,"name":"srv.shop.t.Value","field":"{field}"}}"#
        )
    };
    let expected = format!(
        r#"{{"schema":{{"type":"struct","fields":[{},{},{SOURCE_SCHEMA},{TX_SCHEMA},{{"type":"string","optional":false,"field":"op"}},{{"type":"int64","optional":true,"field":"ts_ms"}},{{"type":"int64","optional":true,"field":"ts_us"}},{{"type":"int64","optional":true,"field":"ts_ns"}}],"optional":false,"name":"srv.shop.t.Envelope","version":2}},"payload":{{"before":{{"id":1,"name":"old"}},"after":{{"id":1,"name":"new"}},"source":{SOURCE_PAYLOAD},"transaction":{{"id":"0-1-20","total_order":3,"data_collection_order":2}},"op":"u","ts_ms":1700000000123,"ts_us":1700000000123000,"ts_ns":1700000000123000000}}}}"#,
        row_schema("before"),
        row_schema("after")
    );
    assert_eq!(value, expected);
    // It is valid JSON, too.
    serde_json::from_str::<serde_json::Value>(&value).expect("valid JSON");

    // Schemas by reference: payload-only bytes, the same schema objects
    // (whose JSON is the inline schema), and a key header with its schema
    // inline as before.
    let by_reference = TableEncoder::new("srv", "shop", "t", &columns, None, EncodingOptions { schemas_by_reference: true, ..opts() })
        .expect("encoder");
    assert!(encoder.record_schemas(Connector::Mariadb).is_none());
    let schemas = by_reference.record_schemas(source().connector).expect("schemas by reference");
    let ref_key = by_reference.key(&after).expect("key").expect("has key");
    assert_eq!(utf8(ref_key.clone()), r#"{"id":1}"#);
    assert_eq!(utf8(by_reference.key_with_inline_schema(&ref_key)), key);
    assert_eq!(schemas.key.as_ref().expect("a key schema").to_json(), encoder.key_schema_json().expect("inline key schema"));
    assert_eq!(schemas.value.to_json(), encoder.value_schema_json(source().connector));
    let ref_value = utf8(
        by_reference
            .value(Op::Update, Some(&before), Some(&after), &source(), 1_700_000_000_123, Some(&tx))
            .expect("value"),
    );
    let payload_at = expected.find(",\"payload\":").expect("payload") + ",\"payload\":".len();
    assert_eq!(ref_value, expected[payload_at..expected.len() - 1]);

    // Delete, schemas disabled; a snapshot read.
    let plain = TableEncoder::new("srv", "shop", "t", &columns, None, payload_only()).expect("encoder");
    assert_eq!(utf8(plain.key(&before).expect("key").expect("has key")), r#"{"id":1}"#);
    let mut snap = source();
    snap.snapshot = Snapshot::Last;
    snap.thread = None;
    let read = utf8(
        plain
            .value(Op::Read, None, Some(&after), &snap, 5, None)
            .expect("value"),
    );
    assert!(read.contains(r#""snapshot":"last","db":"shop""#), "{read}");
    assert!(read.contains(r#""thread":null,"query":null}"#), "{read}");
    assert!(
        read.ends_with(r#""op":"r","ts_ms":5,"ts_us":5000,"ts_ns":5000000}"#),
        "{read}"
    );

    // Tables without a key have a null key.
    let keyless = TableEncoder::new("srv", "shop", "t", &columns, Some(&[]), opts()).expect("encoder");
    assert_eq!(keyless.key(&after).expect("key"), None);
    assert!(keyless.key_schema_json().is_none());
    // A wrong row length is an error.
    assert!(matches!(
        plain.key(&vec![V::Int(1)]),
        Err(EncodeError::RowLength { .. })
    ));
}

#[test]
fn mariadb_source_and_topic_names() {
    let columns = vec![col("c", 0, ColumnType::Int { unsigned: false }, true)];
    let encoder = TableEncoder::new("my server", "shop-1", "t$x", &columns, Some(&[]), opts()).expect("encoder");
    assert_eq!(encoder.topic(), "my_server.shop-1.t_x");
    let schema = utf8(encoder.value_schema_json(Connector::Mariadb).to_vec());
    assert!(schema.contains(r#""name":"io.debezium.connector.mariadb.Source","version":1,"field":"source""#));
    assert!(schema.ends_with(r#""name":"my_server.shop-1.t_x.Envelope","version":2}"#));
    let mut src = source();
    src.connector = Connector::Mariadb;
    src.name = "my server";
    let value = utf8(
        encoder
            .value(Op::Create, None, Some(&vec![V::Int(1)]), &src, 0, None)
            .expect("value"),
    );
    assert!(value.contains(r#""source":{"version":"3.6.1.Final","connector":"mariadb","name":"my server","#));
}

#[test]
fn options_parse_with_helpful_errors() {
    assert_eq!(
        "precise".parse::<DecimalHandlingMode>(),
        Ok(DecimalHandlingMode::Precise)
    );
    assert_eq!("STRING".parse::<DecimalHandlingMode>(), Ok(DecimalHandlingMode::String));
    assert_eq!(
        "base64-url-safe".parse::<BinaryHandlingMode>(),
        Ok(BinaryHandlingMode::Base64UrlSafe)
    );
    assert_eq!("connect".parse::<TimePrecisionMode>(), Ok(TimePrecisionMode::Connect));
    let err = "adaptive"
        .parse::<TimePrecisionMode>()
        .expect_err("MySQL refuses adaptive");
    assert_eq!(
        err.to_string(),
        "invalid value 'adaptive' for time.precision.mode; valid values: adaptive_time_microseconds, connect"
    );
    let err = "big".parse::<BigintUnsignedHandlingMode>().expect_err("invalid");
    assert!(err.to_string().ends_with("valid values: long, precise"), "{err}");
    let props = [
        ("decimal.handling.mode", "string"),
        ("value.converter.schemas.enable", "false"),
    ];
    let o = EncodingOptions::from_properties(|k| props.iter().find(|(p, _)| *p == k).map(|(_, v)| *v)).expect("valid");
    assert_eq!(o.decimal, DecimalHandlingMode::String);
    assert!(!o.value_schemas_enable && o.key_schemas_enable);
}

#[test]
fn heartbeat_and_transaction_records() {
    let c = ConnectorEncoder::new("srv", Connector::Mysql, opts());
    assert_eq!(c.heartbeat_topic("__debezium-heartbeat"), "__debezium-heartbeat.srv");
    assert_eq!(c.transaction_topic("transaction"), "srv.transaction");
    assert_eq!(
        utf8(c.heartbeat_key()),
        r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"serverName"}],"optional":false,"name":"io.debezium.connector.common.ServerNameKey","version":1},"payload":{"serverName":"srv"}}"#
    );
    assert_eq!(
        utf8(c.heartbeat_value(1_700_000_000_000)),
        r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.Heartbeat","version":1},"payload":{"ts_ms":1700000000000}}"#
    );
    assert_eq!(
        utf8(c.transaction_key("0-1-20")),
        r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"}],"optional":false,"name":"io.debezium.connector.common.TransactionMetadataKey","version":1},"payload":{"id":"0-1-20"}}"#
    );
    let tx_value_schema = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"status"},{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":true,"field":"event_count"},{"type":"array","items":{"type":"struct","fields":[{"type":"string","optional":false,"field":"data_collection"},{"type":"int64","optional":false,"field":"event_count"}],"optional":true,"name":"event.collection","version":1},"optional":true,"field":"data_collections"},{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.TransactionMetadataValue","version":1}"#;
    assert_eq!(
        utf8(c.transaction_begin("0-1-20", 10)),
        format!(
            r#"{{"schema":{tx_value_schema},"payload":{{"status":"BEGIN","id":"0-1-20","event_count":null,"data_collections":null,"ts_ms":10}}}}"#
        )
    );
    let plain = ConnectorEncoder::new("srv", Connector::Mysql, payload_only());
    assert_eq!(
        utf8(plain.transaction_end("0-1-20", 11, 3, &[("shop.t", 2), ("shop.u", 1)])),
        r#"{"status":"END","id":"0-1-20","event_count":3,"data_collections":[{"data_collection":"shop.t","event_count":2},{"data_collection":"shop.u","event_count":1}],"ts_ms":11}"#
    );
    assert_eq!(utf8(plain.heartbeat_key()), r#"{"serverName":"srv"}"#);
}

#[test]
fn schema_change_records() {
    let mut id = col("id", 0, ColumnType::Int { unsigned: true }, false);
    id.in_primary_key = true;
    id.auto_increment = true;
    let columns = vec![
        id,
        col(
            "e",
            1,
            ColumnType::Enum {
                values: vec!["a".into(), "it's".into()],
                collation: 45,
            },
            true,
        ),
        col(
            "p",
            2,
            ColumnType::Decimal {
                precision: 10,
                scale: 2,
                unsigned: false,
            },
            true,
        ),
    ];
    let plain = ConnectorEncoder::new("srv", Connector::Mysql, payload_only());
    let mut src = source();
    src.table = Some("t");
    let ddl = "CREATE TABLE t (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, e ENUM('a','it''s'), p DECIMAL(10,2))";
    let change = TableChange {
        kind: TableChangeKind::Create,
        db: "shop",
        table: "t",
        columns: &columns,
        primary_key: &[0],
        default_charset: Some("utf8mb4"),
        comment: None,
    };
    let value = utf8(plain.schema_change_value(&src, 99, Some("shop"), None, Some(ddl), &[change]));
    let expected = format!(
        r#"{{"source":{SOURCE_PAYLOAD},"ts_ms":99,"databaseName":"shop","schemaName":null,"ddl":"CREATE TABLE t (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, e ENUM('a','it''s'), p DECIMAL(10,2))","tableChanges":[{{"type":"CREATE","id":"\"shop\".\"t\"","table":{{"defaultCharsetName":"utf8mb4","primaryKeyColumnNames":["id"],"columns":[{{"name":"id","jdbcType":4,"nativeType":null,"typeName":"INT UNSIGNED","typeExpression":"INT UNSIGNED","charsetName":null,"length":null,"scale":null,"position":1,"optional":false,"autoIncremented":true,"generated":false,"comment":null,"defaultValueExpression":null,"enumValues":null}},{{"name":"e","jdbcType":1,"nativeType":null,"typeName":"ENUM","typeExpression":"ENUM","charsetName":"utf8mb4","length":null,"scale":null,"position":2,"optional":true,"autoIncremented":false,"generated":false,"comment":null,"defaultValueExpression":null,"enumValues":["'a'","'it''s'"]}},{{"name":"p","jdbcType":3,"nativeType":null,"typeName":"DECIMAL","typeExpression":"DECIMAL","charsetName":null,"length":10,"scale":2,"position":3,"optional":true,"autoIncremented":false,"generated":false,"comment":null,"defaultValueExpression":null,"enumValues":null}}],"comment":null}}}}]}}"#
    );
    assert_eq!(value, expected);
    assert_eq!(utf8(plain.schema_change_key("shop")), r#"{"databaseName":"shop"}"#);
    let with_schema = ConnectorEncoder::new("srv", Connector::Mysql, opts());
    let full = utf8(with_schema.schema_change_value(&src, 99, Some("shop"), None, Some(ddl), &[change]));
    let parsed: serde_json::Value = serde_json::from_str(&full).expect("valid JSON");
    assert_eq!(
        parsed["schema"]["name"],
        "io.debezium.connector.mysql.SchemaChangeValue"
    );
    assert_eq!(
        parsed["schema"]["fields"][5]["items"]["name"],
        "io.debezium.connector.schema.Change"
    );
    assert_eq!(
        parsed["payload"]["tableChanges"][0]["table"]["columns"][1]["charsetName"],
        "utf8mb4"
    );
    let key = utf8(with_schema.schema_change_key("shop"));
    assert!(key.starts_with(r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"databaseName"}],"optional":false,"name":"io.debezium.connector.mysql.SchemaChangeKey","version":1}"#));
}

/// Encoding speed for 9-column rows. `cargo test --release --lib
/// encode_benchmark -- --ignored --nocapture`.
#[test]
#[ignore]
fn encode_benchmark() {
    let mut id = col("id", 0, ColumnType::BigInt { unsigned: false }, false);
    id.in_primary_key = true;
    let columns = vec![
        id,
        col("a", 1, ColumnType::Int { unsigned: false }, true),
        col(
            "name",
            2,
            ColumnType::VarChar {
                collation: 45,
                max_bytes: 1020,
            },
            true,
        ),
        col(
            "email",
            3,
            ColumnType::VarChar {
                collation: 45,
                max_bytes: 1020,
            },
            true,
        ),
        col(
            "price",
            4,
            ColumnType::Decimal {
                precision: 10,
                scale: 2,
                unsigned: false,
            },
            true,
        ),
        col("created", 5, ColumnType::DateTime { fsp: 0 }, true),
        col("updated", 6, ColumnType::Timestamp { fsp: 6 }, true),
        col("score", 7, ColumnType::Double { unsigned: false }, true),
        col("flag", 8, ColumnType::TinyInt { unsigned: false }, true),
    ];
    let row = vec![
        V::Int(123_456_789),
        V::Int(42),
        V::Text("Jane Smith".into()),
        V::Text("jane@example.com".into()),
        V::Decimal("123.45".into()),
        V::DateTime {
            year: 2024,
            month: 5,
            day: 17,
            hour: 12,
            minute: 30,
            second: 1,
            micros: 0,
        },
        V::Timestamp {
            secs: 1_715_949_001,
            micros: 123_456,
        },
        V::Double(3.25),
        V::Int(1),
    ];
    for (label, options) in [("schemas enabled", opts()), ("payload only", payload_only())] {
        let encoder = TableEncoder::new("srv", "shop", "t", &columns, None, options).expect("encoder");
        let n = 500_000;
        let start = std::time::Instant::now();
        let mut bytes = 0usize;
        let mut buf = Vec::new();
        for i in 0..n {
            let mut src = source();
            src.row = i % 100;
            buf.clear();
            encoder
                .value_into(&mut buf, Op::Create, None, Some(&row), &src, 1_700_000_000_000, None)
                .expect("value");
            bytes += buf.len();
            bytes += encoder.key(&row).expect("key").map_or(0, |k| k.len());
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{label}: {n} events in {secs:.3}s = {:.0} events/s, {:.0} MB/s",
            n as f64 / secs,
            bytes as f64 / secs / 1e6
        );
    }
}

/// Debezium's column mappers: values are masked, hashed or truncated, the
/// field schemas carry `masked`/`truncateLength`, keys are untouched, and
/// a null stays null when hashed but is masked by a mask.
#[test]
fn column_mappers_change_values_not_keys() {
    let varchar = |chars: u32| ColumnType::VarChar { collation: 45, max_bytes: chars * 4 };
    let mut id = col("id", 0, ColumnType::Int { unsigned: false }, false);
    id.in_primary_key = true;
    let columns = vec![
        id,
        col("name", 1, varchar(255), true),
        col("email", 2, varchar(10), true),
        col("note", 3, ColumnType::Text { collation: 45, size: BlobSize::Long }, true),
        col("code", 4, varchar(3), true),
        col("raw", 5, ColumnType::VarBinary { max_len: 100 }, true),
        col("nothing", 6, varchar(20), true),
        col("tag", 7, varchar(20), true),
    ];
    let mappers = ColumnMappers::from_properties([
        ("column.mask.with.3.chars", "shop\\.t\\.(id|name|nothing)"),
        ("column.mask.hash.SHA-1.with.salt.salt", "shop\\.t\\.email"),
        ("column.mask.hash.v2.SHA-256.with.salt.salt", "shop\\.t\\.tag"),
        ("column.truncate.to.4.chars", "shop\\.t\\.(note|code|raw)"),
    ])
    .expect("mappers");
    let options = EncodingOptions { column_mappers: mappers, ..opts() };
    let encoder = TableEncoder::new("srv", "shop", "t", &columns, None, options).expect("encoder");
    let row = vec![
        V::Int(7),
        V::Text("Alice".into()),
        V::Text("alice@example.com".into()),
        V::Text("h\u{e9}llo world".into()),
        V::Text("abc".into()),
        V::Bytes(vec![1, 2, 3, 4, 5]),
        V::Null,
        V::Text("alice@example.com".into()),
    ];
    let key = utf8(encoder.key(&row).expect("key").expect("has key"));
    assert!(key.ends_with(r#""payload":{"id":7}}"#), "{key}");
    let value: serde_json::Value = serde_json::from_slice(&encoder.value(Op::Create, None, Some(&row), &source(), 1, None).expect("value")).unwrap();
    assert_eq!(
        value["payload"]["after"],
        serde_json::json!({
            "id": 7,
            "name": "***",
            // SHA-1 v1 (JDK golden in column_mappers), cut to VARCHAR(10).
            "email": "337e27dfb0",
            "note": "h\u{e9}ll",
            "code": "abc",
            "raw": "AQIDBA==",
            "nothing": "***",
            // SHA-256 of "salt" + UTF-8, as the JDK computes it, cut to
            // VARCHAR(20).
            "tag": "109f0b7ded1d94140eda",
        })
    );
    let fields: Vec<String> = value["schema"]["fields"][1]["fields"].as_array().unwrap().iter().map(|f| f.to_string()).collect();
    assert_eq!(
        fields,
        [
            r#"{"field":"id","optional":false,"parameters":{"masked":"true"},"type":"int32"}"#,
            r#"{"field":"name","optional":true,"parameters":{"masked":"true"},"type":"string"}"#,
            r#"{"field":"email","optional":true,"parameters":{"masked":"true"},"type":"string"}"#,
            r#"{"field":"note","optional":true,"parameters":{"truncateLength":"4"},"type":"string"}"#,
            r#"{"field":"code","optional":true,"type":"string"}"#,
            r#"{"field":"raw","optional":true,"parameters":{"truncateLength":"4"},"type":"bytes"}"#,
            r#"{"field":"nothing","optional":true,"parameters":{"masked":"true"},"type":"string"}"#,
            r#"{"field":"tag","optional":true,"parameters":{"masked":"true"},"type":"string"}"#,
        ]
    );
    // A hashed null stays null.
    let mut null_email = row.clone();
    null_email[2] = V::Null;
    let value: serde_json::Value = serde_json::from_slice(&encoder.value(Op::Create, None, Some(&null_email), &source(), 1, None).expect("value")).unwrap();
    assert_eq!(value["payload"]["after"]["email"], serde_json::Value::Null);
}

/// `column.propagate.source.type` / `datatype.propagate.source.type`: the
/// `__debezium.source.column.*` parameters after the type's own, in
/// Debezium's order (type, length, scale, comment, name).
#[test]
fn source_type_parameters() {
    let mut price = col("p", 0, ColumnType::Decimal { precision: 10, scale: 2, unsigned: false }, true);
    price.comment = Some("price".into());
    let columns = vec![
        price,
        col("name", 1, ColumnType::VarChar { collation: 45, max_bytes: 1020 }, true),
        col("n", 2, ColumnType::Int { unsigned: true }, true),
    ];
    let mappers = ColumnMappers::from_properties([
        ("column.propagate.source.type", "shop\\.t\\.p"),
        ("datatype.propagate.source.type", ".+\\.varchar,.+\\.INT UNSIGNED"),
    ])
    .expect("mappers");
    let options = EncodingOptions { column_mappers: mappers, ..opts() };
    let encoder = TableEncoder::new("srv", "shop", "t", &columns, None, options).expect("encoder");
    let row = vec![V::Decimal("1.50".into()), V::Text("x".into()), V::UInt(3)];
    let value: serde_json::Value = serde_json::from_slice(&encoder.value(Op::Create, None, Some(&row), &source(), 1, None).expect("value")).unwrap();
    let parameters: Vec<String> =
        value["schema"]["fields"][1]["fields"].as_array().unwrap().iter().map(|f| f["parameters"].to_string()).collect();
    assert_eq!(
        parameters,
        [
            r#"{"__debezium.source.column.comment":"price","__debezium.source.column.length":"10","__debezium.source.column.name":"p","__debezium.source.column.scale":"2","__debezium.source.column.type":"DECIMAL","connect.decimal.precision":"10","scale":"2"}"#,
            r#"{"__debezium.source.column.length":"255","__debezium.source.column.name":"name","__debezium.source.column.type":"VARCHAR"}"#,
            r#"{"__debezium.source.column.name":"n","__debezium.source.column.type":"INT UNSIGNED"}"#,
        ]
    );
    // The order as written (serde_json sorts keys above).
    let text = String::from_utf8(encoder.value(Op::Create, None, Some(&row), &source(), 1, None).unwrap()).unwrap();
    assert!(text.contains(r#""parameters":{"scale":"2","connect.decimal.precision":"10","__debezium.source.column.type":"DECIMAL","__debezium.source.column.length":"10","__debezium.source.column.scale":"2","__debezium.source.column.comment":"price","__debezium.source.column.name":"p"}"#), "{text}");
    assert_eq!(value["payload"]["after"]["p"], "AJY=");
}

/// MariaDB 10.11's own text for each address (`SELECT CAST(x AS INET6)`).
#[test]
fn inet6_is_written_as_mariadb_prints_it() {
    let cases = [
        ("::1.2.3.4", "::1.2.3.4"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::1", "::1"),
        ("::", "::"),
        ("2001:db8::ff00:42:8329", "2001:db8::ff00:42:8329"),
        ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
        ("::0.0.1.2", "::102"),
        ("2001:0:0:1::", "2001:0:0:1::"),
        ("::ffff:0:1.2.3.4", "::ffff:0:102:304"),
        ("1:0:1:1:1:1:1:1", "1::1:1:1:1:1:1"),
        ("1:0:0:1:0:0:1:1", "1::1:0:0:1:1"),
        ("::ffff:0.0.0.0", "::ffff:0.0.0.0"),
        ("0:0:0:0:0:1:0:0", "::1:0:0"),
        ("ABCD::00FF", "abcd::ff"),
    ];
    for (input, mariadb) in cases {
        let address: std::net::Ipv6Addr = input.parse().unwrap();
        assert_eq!(super::value::inet6_text(&address.octets()), mariadb, "{input}");
    }
}
