//! Golden values of the non-temporal type families (integers, decimals,
//! floats, bits, strings, binary, ENUM/SET, JSON, geometry, UUID,
//! INET6) under each relevant mode, and defaults replacing nulls.

use super::*;

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
