//! raftcdc's records compared with Debezium's own, captured once from
//! Debezium 3.6.3 for the same SQL on the same MariaDB (the golden files in
//! `cluster-tests/fixtures/debezium/`, made by `scripts/debezium/capture.sh`
//! as their README says; this test needs no Java).
//!
//! Every record is compared in full, keys and values with their schemas,
//! except the fields that differ between any two runs of anything: the
//! wall-clock times (`ts_ms`, `ts_us`, `ts_ns`), the binlog coordinates
//! (`file`, `pos`, `gtid`, `thread`, `server_id`) and `source.version`
//! (3.6.3.Final there, raftcdc writes the version it follows).
//!
//! Schema change records are compared in full too: `tableChanges` (the
//! table model, `src/source/mysql/ddl/`) and `source.table`. The parity
//! capture ran with `include.schema.comments=true`, so comments are
//! compared.
//!
//! The transform goldens: Debezium's embedded engine applied a transform
//! chain (`<name>.properties`, the same file this test parses) to the
//! events of a fixture; raftcdc's chain is applied to its own source
//! records of the same SQL and compared in full, with schemas (Debezium's
//! `JsonConverter` output) and without (the payloads of that output).
mod source_harness;

use std::collections::BTreeMap;
use std::path::Path;

use cluster_tests::mariadb::MariaDb;
use raftcdc::transform::{OutputFormat, TransformChain, TransformsConfig};
use serde_json::Value;
use source_harness::*;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/debezium").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixture's statements (one per `;`-terminated line group).
fn statements(sql: &str) -> Vec<String> {
    sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()).map(|s| s.trim_end_matches(';').to_string()).collect()
}

/// Removes what differs between any two runs (see the module docs).
fn normalize(record: Value) -> Value {
    normalize_at(record, "/value/payload")
}

/// [`normalize`] for a value at `pointer` (`/value` without schemas).
fn normalize_at(mut record: Value, pointer: &str) -> Value {
    if let Some(payload) = record.pointer_mut(pointer).and_then(Value::as_object_mut) {
        for field in ["ts_ms", "ts_us", "ts_ns"] {
            payload.remove(field);
        }
        if let Some(source) = payload.get_mut("source").and_then(Value::as_object_mut) {
            for field in ["ts_ms", "ts_us", "ts_ns", "file", "pos", "gtid", "thread", "server_id", "version"] {
                source.remove(field);
            }
        }
    }
    record
}

/// Debezium's records of the fixture, in order: those after the marker
/// table's schema event (the capture's own setup).
fn golden(name: &str) -> Vec<Value> {
    let all: Vec<Value> = fixture(name).lines().map(|l| serde_json::from_str(l).expect("golden line")).collect();
    let start = all
        .iter()
        .position(|r| r["value"]["payload"]["ddl"].as_str().is_some_and(|d| d.starts_with("CREATE TABLE `marker`")))
        .expect("marker table event")
        + 1;
    all[start..].iter().cloned().map(normalize).collect()
}

/// raftcdc's source records for a fixture (schemas on, schema changes
/// included, plus `extra` properties as the capture had them), up to the
/// end mark, on a fresh database.
async fn source_records(db: &MariaDb, fixture_sql: &str, extra: &[(&str, &str)]) -> Vec<raftcdc::source::Record> {
    setup(db, &["CREATE TABLE marker (id INT PRIMARY KEY)"]).await;
    let mut properties = vec![
        ("connector.class", "io.debezium.connector.mysql.MySqlConnector"),
        ("key.converter.schemas.enable", "true"),
        ("value.converter.schemas.enable", "true"),
        ("include.schema.changes", "true"),
        ("skipped.operations", "none"),
    ];
    properties.extend_from_slice(extra);
    let mut source = streaming(db, &properties).await;
    let mut sql = statements(&fixture(fixture_sql));
    // The end mark: everything before it has been read once it arrives.
    sql.push("INSERT INTO marker VALUES (1)".into());
    exec(db, &sql.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let mut got = Vec::new();
    loop {
        let batch = tokio::time::timeout(DEADLINE, source.rx.recv()).await.expect("records in time").expect("source runs");
        for record in batch.records {
            if record.topic == "dbserver1.inventory.marker" {
                return got;
            }
            got.push(record);
        }
    }
}

fn as_json(record: &raftcdc::source::Record) -> Value {
    let parse = |bytes: &Option<Vec<u8>>| bytes.as_ref().map_or(Value::Null, |b| serde_json::from_slice(b).unwrap());
    serde_json::json!({"topic": record.topic, "key": parse(&record.key), "value": parse(&record.value)})
}

/// Every difference between two record lists, described.
fn differences(got: &[Value], want: &[Value]) -> Vec<String> {
    let mut differences = Vec::new();
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g != w {
            differences.push(format!("record {i}:\n  raftcdc:  {g}\n  debezium: {w}"));
        }
    }
    for extra in got.iter().skip(want.len()) {
        differences.push(format!("raftcdc only: {extra}"));
    }
    for missing in want.iter().skip(got.len()) {
        differences.push(format!("debezium only: {missing}"));
    }
    differences
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_match_debeziums_for_floats_keyless_tables_truncate_and_ddl() {
    let want = golden("parity.jsonl");
    let db = MariaDb::start(&[]).await;
    let got: Vec<Value> = source_records(&db, "parity.sql", &[("include.schema.comments", "true")]).await.iter().map(|r| normalize(as_json(r))).collect();
    let differences = differences(&got, &want);
    assert!(differences.is_empty(), "{} of {} records differ:\n{}", differences.len(), want.len(), differences.join("\n"));

    // The snapshot reads the same columns the same way: each row's
    // snapshot image and schema equal Debezium's last streamed image of it.
    let mut snapshot = start(
        config(
            &db,
            &[
                ("connector.class", "io.debezium.connector.mysql.MySqlConnector"),
                ("snapshot.mode", "initial_only"),
                ("table.include.list", "inventory.floats"),
                ("value.converter.schemas.enable", "true"),
            ],
        ),
        None,
    );
    let (reads, _) = snapshot.collect(2, |t| t == "dbserver1.inventory.floats").await;
    for read in reads {
        let id = &read.value["payload"]["after"]["id"];
        let last = want
            .iter()
            .rev()
            .find(|w| w["topic"] == "dbserver1.inventory.floats" && w["value"]["payload"]["after"]["id"] == *id)
            .expect("Debezium streamed the row");
        assert_eq!(read.value["payload"]["after"], last["value"]["payload"]["after"], "row {id}");
        assert_eq!(read.value["schema"]["fields"][1], last["value"]["schema"]["fields"][1], "after's schema");
    }
    drop(snapshot);

    // The snapshot's schema change event describes the table from `SHOW
    // CREATE TABLE` as Debezium's does (`int(11)`: length 11).
    let dbz_marker: Value = fixture("parity.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["value"]["payload"]["ddl"].as_str().is_some_and(|d| d.starts_with("CREATE TABLE `marker`")))
        .expect("Debezium's marker table event");
    let mut snapshot = start(
        config(
            &db,
            &[
                ("snapshot.mode", "initial_only"),
                ("table.include.list", "inventory.marker"),
                ("include.schema.changes", "true"),
            ],
        ),
        None,
    );
    let (events, _) = snapshot.collect(1, |t| t == "dbserver1").await;
    let marker = &events[0].value;
    assert_eq!(marker["ddl"], dbz_marker["value"]["payload"]["ddl"]);
    assert_eq!(marker["tableChanges"], dbz_marker["value"]["payload"]["tableChanges"]);
    assert_eq!(marker["source"]["table"], "marker");
}

/// A DDL statement the parser cannot read (sqlparser's MySQL dialect has
/// no table options in `ALTER TABLE`) still streams: its schema change
/// event has no `tableChanges`, rows keep coming, and the table model is
/// as before, so the next readable DDL describes the table fully.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_ddl_streams_with_empty_table_changes() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE marker (id INT PRIMARY KEY)"]).await;
    let mut source = streaming(&db, &[("include.schema.changes", "true")]).await;
    exec(
        &db,
        &[
            "CREATE TABLE t (id INT PRIMARY KEY, a INT)",
            "ALTER TABLE t COMMENT = 'not for this parser'",
            "INSERT INTO t VALUES (1, 2)",
            "ALTER TABLE t ADD COLUMN b INT",
            "INSERT INTO marker VALUES (1)",
        ],
    )
    .await;
    let mut got = Vec::new();
    'read: loop {
        let batch = tokio::time::timeout(DEADLINE, source.rx.recv()).await.expect("records in time").expect("source runs");
        for record in &batch.records {
            if record.topic == "dbserver1.inventory.marker" {
                break 'read;
            }
            let value: Value = record.value.as_ref().map_or(Value::Null, |v| serde_json::from_slice(v).unwrap());
            got.push((record.topic.clone(), value));
        }
    }
    let ddl = |text: &str| {
        got.iter()
            .find(|(topic, v)| topic == "dbserver1" && v["ddl"].as_str().is_some_and(|d| d.starts_with(text)))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no schema change event for {text}: {got:?}"))
    };
    let unreadable = ddl("ALTER TABLE t COMMENT");
    assert_eq!(unreadable["tableChanges"], serde_json::json!([]));
    assert_eq!(unreadable["source"]["table"], Value::Null);
    let row = got.iter().find(|(topic, _)| topic == "dbserver1.inventory.t").expect("the row after it streams");
    assert_eq!(row.1["after"], serde_json::json!({"id": 1, "a": 2}));
    let next = ddl("ALTER TABLE t ADD");
    let columns: Vec<&str> =
        next["tableChanges"][0]["table"]["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(columns, ["id", "a", "b"]);
    assert_eq!(next["source"]["table"], "t");
}

/// A new owner describes tables as the old one did: the table model is
/// rebuilt from the replicated schema history, not from today's
/// `SHOW CREATE TABLE` (which would print `INTEGER` as `int(11)`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_owner_rebuilds_the_table_model_from_the_schema_history() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE marker (id INT PRIMARY KEY)"]).await;
    let mut first = streaming(&db, &[("include.schema.changes", "true")]).await;
    exec(&db, &["CREATE TABLE t (id INTEGER PRIMARY KEY)", "INSERT INTO marker VALUES (1)"]).await;
    let (_, batches) = first.collect(1, |t| t == "dbserver1.inventory.marker").await;
    let history: Vec<Value> = batches.iter().flat_map(|b| b.schema_history.clone()).collect();
    assert!(history.iter().any(|e| e["ddl"] == "CREATE TABLE t (id INTEGER PRIMARY KEY)"), "{history:?}");
    let offset = batches.last().unwrap().offset.clone();
    drop(first);

    exec(&db, &["ALTER TABLE t ADD COLUMN b INT"]).await;
    let config = config(&db, &[("include.schema.changes", "true"), ("poll.interval.ms", "50")]);
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let task = tokio::spawn(async move {
        raftcdc::source::mysql::replication::MySqlSource::new(config, false).with_schema_history(history).run(Some(offset), tx).await
    });
    let mut second = Running { rx, task };
    let (events, _) = second.collect(1, |t| t == "dbserver1").await;
    let change = &events[0].value["tableChanges"][0];
    assert_eq!(events[0].value["ddl"], "ALTER TABLE t ADD COLUMN b INT");
    assert_eq!(change["table"]["columns"][0]["typeName"], "INTEGER", "{change}");
    assert_eq!(change["table"]["columns"][0]["length"], Value::Null, "{change}");
    assert_eq!(change["table"]["columns"][1]["name"], "b");
}

/// A golden's transform chain: the `transforms*`/`predicates*` lines of
/// `<name>.properties` (the file `capture.sh` was given with `@`).
fn chain_properties(name: &str) -> BTreeMap<String, String> {
    fixture(&format!("{name}.properties"))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("key=value");
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// `{schema, payload}` → payload (what `schemas.enable=false` writes).
fn payload_only(data: &Value) -> Value {
    match data {
        Value::Object(o) if o.contains_key("schema") && o.contains_key("payload") => o["payload"].clone(),
        other => other.clone(),
    }
}

/// raftcdc's chain over `records`, compared with Debezium's golden, with
/// schemas on and off.
fn compare_chain(name: &str, records: &[raftcdc::source::Record]) {
    let config = TransformsConfig::parse(&chain_properties(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = golden(&format!("{name}.jsonl"));
    for schemas in [true, false] {
        let format = OutputFormat { key_schemas_enable: schemas, value_schemas_enable: schemas };
        let mut chain = TransformChain::new(&config, format);
        let out = chain.apply(records.to_vec()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<Value> = out
            .iter()
            .map(|r| if schemas { normalize(as_json(r)) } else { normalize_at(as_json(r), "/value") })
            .collect();
        let want: Vec<Value> = if schemas {
            want.clone()
        } else {
            want.iter()
                .map(|w| serde_json::json!({"topic": w["topic"], "key": payload_only(&w["key"]), "value": payload_only(&w["value"])}))
                .collect()
        };
        let differences = differences(&got, &want);
        assert!(
            differences.is_empty(),
            "{name} (schemas {schemas}): {} of {} records differ:\n{}",
            differences.len(),
            want.len(),
            differences.join("\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_event_router_matches_debeziums() {
    let db = MariaDb::start(&[]).await;
    let records = source_records(&db, "outbox.sql", &[]).await;
    compare_chain("outbox-expand", &records);
    compare_chain("outbox-versioned", &records);
}

/// `TimestampRouter` needs a record timestamp: the outbox router's, from
/// a column (Debezium's other records have none, which is why the chain
/// keeps it off the schema change records with a predicate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamp_router_after_the_outbox_router_matches_debeziums() {
    let db = MariaDb::start(&[]).await;
    let records = source_records(&db, "outbox-dated.sql", &[]).await;
    compare_chain("timestamp-router", &records);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logical_table_router_and_header_to_value_match_debeziums() {
    let db = MariaDb::start(&[]).await;
    let records = source_records(&db, "routing.sql", &[]).await;
    compare_chain("logical-router", &records);
    compare_chain("header-to-value", &records);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timezone_and_timestamp_converters_match_debeziums_and_kafkas() {
    let db = MariaDb::start(&[]).await;
    let records = source_records(&db, "times.sql", &[]).await;
    compare_chain("timezone-converter", &records);
    compare_chain("timestamp-converter", &records);
}

/// `schema.name.adjustment.mode` and `field.name.adjustment.mode`:
/// tables and columns whose names are not Avro names (`my-db`.`order
/// items` with `1st col`, `price$`, `naïve`, `_x`; characters beyond
/// Latin-1, a dot, a leading Arabic-Indic digit) give Debezium's schema
/// names, keys and values under `avro` and `avro_unicode`, while the
/// schema change events keep the DDL's names; a transform chain sees the
/// adjusted names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjusted_schema_and_field_names_match_debeziums() {
    for (name, mode) in [("names-avro", "avro"), ("names-avro-unicode", "avro_unicode")] {
        let want = golden(&format!("{name}.jsonl"));
        let db = MariaDb::start(&[]).await;
        let properties = [
            ("database.include.list", "inventory,my-db"),
            ("schema.name.adjustment.mode", mode),
            ("field.name.adjustment.mode", mode),
        ];
        let records = source_records(&db, "names.sql", &properties).await;
        let got: Vec<Value> = records.iter().map(|r| normalize(as_json(r))).collect();
        let differences = differences(&got, &want);
        assert!(differences.is_empty(), "{mode}: {} of {} records differ:\n{}", differences.len(), want.len(), differences.join("\n"));
        if mode == "avro_unicode" {
            unwrapped_names_match(&records);
        }
    }
}

/// `ExtractNewRecordState` over the `avro_unicode` records
/// (`names-unwrap.properties`): the rows it extracts carry the adjusted
/// field and schema names, keys and payloads (and schemas) as Debezium's.
fn unwrapped_names_match(records: &[raftcdc::source::Record]) {
    let config = TransformsConfig::parse(&chain_properties("names-unwrap")).expect("names-unwrap chain");
    let want = golden("names-unwrap.jsonl");
    let format = OutputFormat { key_schemas_enable: true, value_schemas_enable: true };
    let out = TransformChain::new(&config, format).apply(records.to_vec()).expect("chain applies");
    let got: Vec<Value> = out.iter().map(|r| normalize(as_json(r))).collect();
    let differences = differences(&got, &want);
    assert!(differences.is_empty(), "names-unwrap: {} of {} records differ:\n{}", differences.len(), want.len(), differences.join("\n"));
    assert!(got.iter().any(|r| r["value"]["payload"]["na_u00efve"] == "café"), "the unwrapped row has the adjusted names");
}
