//! Golden values of DATE, TIME, DATETIME, TIMESTAMP and YEAR under
//! `time.precision.mode` adaptive and connect, and impossible dates.

use super::*;

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
