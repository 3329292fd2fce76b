//! Debezium properties a pasted connector config carries, end to end with
//! every real part (a private MariaDB, the Kafka-protocol broker, a
//! one-node raftcdc cluster): what each one changes shows in the records
//! `read_committed` consumers get.
use std::time::Duration;

use cluster_tests::broker::{Broker, Consumed};
use cluster_tests::cluster::Cluster;
use cluster_tests::connectors;
use cluster_tests::mariadb::{MariaDb, CDC_USER};
use cluster_tests::wait::wait_until;
use serde_json::{json, Value};

const DEADLINE: Duration = Duration::from_secs(60);

fn json_of(bytes: &Option<Vec<u8>>) -> Value {
    bytes.as_ref().map_or(Value::Null, |b| serde_json::from_slice(b).expect("JSON"))
}

/// Waits until `topic` holds at least `count` committed records.
async fn records(broker: &Broker, topic: &str, count: usize) -> Vec<Consumed> {
    wait_until(DEADLINE, &format!("{count} records on {topic}"), || async {
        let got = broker.read_committed(topic).await;
        if got.len() >= count {
            Ok(got)
        } else {
            Err(format!("{} so far", got.len()))
        }
    })
    .await
}

async fn one_node(broker: &Broker) -> (Cluster, usize) {
    let cluster = Cluster::builder().nodes(1).kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    (cluster, leader)
}

/// `topic.delimiter` joins every topic name Debezium joins (data change,
/// transaction, and the record schema names, which are the topic's);
/// `SchemaTopicNamingStrategy` leaves the database out on MySQL/MariaDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_delimiter_and_naming_strategy_name_the_topics() {
    let db = MariaDb::start(&[]).await;
    db.sql(&["CREATE DATABASE inventory", "CREATE TABLE inventory.t (id INT PRIMARY KEY, v INT)"]).await;
    let broker = Broker::start().await;
    let (cluster, node) = one_node(&broker).await;
    connectors::create_capturing(&cluster, node, &db, "delimited", 6201, "dbserver1", &[
        ("topic.delimiter", "_"),
        ("provide.transaction.metadata", "true"),
        ("value.converter.schemas.enable", "true"),
    ])
    .await;
    connectors::create_capturing(&cluster, node, &db, "by-schema", 6202, "schemanamed", &[(
        "topic.naming.strategy",
        "io.debezium.schema.SchemaTopicNamingStrategy",
    )])
    .await;
    db.sql(&["INSERT INTO inventory.t VALUES (1, 10)"]).await;

    let delimited = records(&broker, "dbserver1_inventory_t", 1).await;
    let value = json_of(&delimited[0].value);
    assert_eq!(value["schema"]["name"], "dbserver1_inventory_t.Envelope");
    assert_eq!(value["schema"]["fields"][0]["name"], "dbserver1_inventory_t.Value");
    assert_eq!(value["payload"]["after"], json!({"id": 1, "v": 10}));
    let transactions = records(&broker, "dbserver1_transaction", 2).await;
    assert_eq!(json_of(&transactions[0].value)["payload"]["status"], "BEGIN");

    let by_schema = records(&broker, "schemanamed.t", 1).await;
    assert_eq!(json_of(&by_schema[0].value)["after"], json!({"id": 1, "v": 10}));
    assert_eq!(json_of(&by_schema[0].key), json!({"id": 1}));
}

/// `skip.messages.without.change` with `column.exclude.list`: an update of
/// only an excluded column emits nothing; one of a captured column does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_without_a_captured_change_are_skipped() {
    let db = MariaDb::start(&[]).await;
    db.sql(&["CREATE DATABASE inventory", "CREATE TABLE inventory.t (id INT PRIMARY KEY, v INT, noise INT)"]).await;
    let broker = Broker::start().await;
    let (cluster, node) = one_node(&broker).await;
    connectors::create_streaming(&cluster, node, &db, "skipping", 6203, &[
        ("skip.messages.without.change", "true"),
        ("column.exclude.list", "inventory\\.t\\.noise"),
    ])
    .await;
    db.sql(&[
        "INSERT INTO inventory.t VALUES (1, 10, 0)",
        "UPDATE inventory.t SET noise = 1 WHERE id = 1",
        "UPDATE inventory.t SET v = 11, noise = 2 WHERE id = 1",
        "INSERT INTO inventory.t VALUES (2, 20, 0)",
    ])
    .await;
    let got = records(&broker, "dbserver1.inventory.t", 3).await;
    let values: Vec<Value> = got.iter().map(|r| json_of(&r.value)).collect();
    let ops: Vec<&str> = values.iter().map(|v| v["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["c", "u", "c"], "{values:?}");
    assert_eq!(values[1]["before"], json!({"id": 1, "v": 10}));
    assert_eq!(values[1]["after"], json!({"id": 1, "v": 11}));
    assert_eq!(values[2]["after"], json!({"id": 2, "v": 20}));
}

/// Column mappers on a real stream: a masked name, a hashed email (SHA-1,
/// v1: the JDK's value for this salt and address, cut to VARCHAR(10)), a
/// truncated note; the key is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masked_hashed_and_truncated_columns() {
    let db = MariaDb::start(&[]).await;
    db.sql(&[
        "CREATE DATABASE inventory",
        "CREATE TABLE inventory.people (id INT PRIMARY KEY, name VARCHAR(50), email VARCHAR(10), note TEXT)",
    ])
    .await;
    let broker = Broker::start().await;
    let (cluster, node) = one_node(&broker).await;
    connectors::create_streaming(&cluster, node, &db, "masking", 6204, &[
        ("column.mask.with.4.chars", "inventory\\.people\\.(id|name)"),
        ("column.mask.hash.SHA-1.with.salt.salt", "inventory\\.people\\.email"),
        ("column.truncate.to.5.chars", "inventory\\.people\\.note"),
    ])
    .await;
    db.sql(&["INSERT INTO inventory.people VALUES (1, 'Alice', 'alice@exa', 'a long note')"]).await;
    let got = records(&broker, "dbserver1.inventory.people", 1).await;
    assert_eq!(json_of(&got[0].key), json!({"id": 1}));
    let after = &json_of(&got[0].value)["after"];
    assert_eq!(after["id"], 1);
    assert_eq!(after["name"], "****");
    assert_eq!(after["note"], "a lon");
    // The JDK's SHA-1 over "salt" and the Java serialization of the
    // string, in hex, cut to the column's 10 characters.
    assert_eq!(after["email"], "aed40acd34");
}

/// `database.initial.statements` run, in order and in one session, on the
/// connections raftcdc opens for queries (here they write a row the
/// connector then captures, once, whether by the snapshot or the stream;
/// `;;` is a literal `;`); a statement the server refuses stops the
/// connector with a definite error naming the property.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_statements_run_on_query_connections() {
    let db = MariaDb::start(&[]).await;
    db.sql(&[
        "CREATE DATABASE inventory",
        "CREATE TABLE inventory.conn_log (v VARCHAR(20) PRIMARY KEY)",
        &format!("GRANT INSERT ON inventory.conn_log TO '{CDC_USER}'@'%'"),
    ])
    .await;
    let broker = Broker::start().await;
    let (cluster, node) = one_node(&broker).await;
    connectors::create_streaming(&cluster, node, &db, "initial", 6205, &[
        ("snapshot.mode", "initial"),
        (
            "database.initial.statements",
            "SET @opened = 'opened'; INSERT IGNORE INTO inventory.conn_log VALUES (@opened);INSERT IGNORE INTO inventory.conn_log VALUES ('a;;b')",
        ),
    ])
    .await;
    let got = records(&broker, "dbserver1.inventory.conn_log", 2).await;
    let mut rows: Vec<Value> = got.iter().map(|r| json_of(&r.value)["after"].clone()).collect();
    rows.sort_by_key(|r| r.to_string());
    assert_eq!(rows, [json!({"v": "a;b"}), json!({"v": "opened"})]);

    let config = connectors::capturing_config(&db, 6206, "refused", &[("database.initial.statements", "SET SESSION no_such_variable = 1")]);
    cluster
        .client(node)
        .create_connector(raftcdc::proto::CreateConnectorRequest { name: "refused".into(), config: config.into_iter().collect(), paused: false })
        .await
        .expect("created: the statement is only run against the server");
    cluster
        .wait_connector(&[node], "refused", "failed on its initial statement", |_, c| {
            let task = c.task.as_ref().ok_or("no task")?;
            if task.state == "FAILED" && task.error.contains("database.initial.statements") {
                Ok(())
            } else {
                Err(format!("{} {}", task.state, task.error))
            }
        })
        .await;
}

/// `heartbeat.action.query` runs with every heartbeat: its writes to a
/// captured table stream like any other change (Debezium's use: keep the
/// offset of a quiet database moving).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_action_query_runs_with_each_heartbeat() {
    let db = MariaDb::start(&[]).await;
    db.sql(&[
        "CREATE DATABASE inventory",
        "CREATE TABLE inventory.beats (id INT AUTO_INCREMENT PRIMARY KEY)",
        &format!("GRANT INSERT ON inventory.beats TO '{CDC_USER}'@'%'"),
    ])
    .await;
    let broker = Broker::start().await;
    let (cluster, node) = one_node(&broker).await;
    connectors::create_streaming(&cluster, node, &db, "beating", 6207, &[
        ("heartbeat.interval.ms", "200"),
        ("heartbeat.action.query", "INSERT INTO inventory.beats VALUES ()"),
    ])
    .await;
    let beats = records(&broker, "dbserver1.inventory.beats", 2).await;
    assert_eq!(json_of(&beats[0].value)["op"], "c");
    assert_eq!(json_of(&beats[1].value)["after"]["id"], json_of(&beats[0].value)["after"]["id"].as_i64().unwrap() + 1);
    let heartbeats = records(&broker, "__debezium-heartbeat.dbserver1", 1).await;
    assert_eq!(json_of(&heartbeats[0].key), json!({"serverName": "dbserver1"}));
}

/// `errors.max.retries` bounds the retries of a transient source error (a
/// database that refuses connections); the connector then fails, saying
/// so. The delays come from `errors.retry.delay.*`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_source_errors_stop_after_errors_max_retries() {
    let db = MariaDb::start(&[]).await;
    let broker = Broker::start().await;
    let (cluster, node) = one_node(&broker).await;
    // A port nothing listens on: every connection attempt is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed = closed.to_string();
    let config = connectors::capturing_config(&db, 6208, "retrying", &[
        ("database.port", closed.as_str()),
        ("errors.max.retries", "2"),
        ("errors.retry.delay.initial.ms", "50"),
        ("errors.retry.delay.max.ms", "100"),
    ]);
    cluster
        .client(node)
        .create_connector(raftcdc::proto::CreateConnectorRequest { name: "retrying".into(), config: config.into_iter().collect(), paused: false })
        .await
        .expect("create");
    cluster
        .wait_connector(&[node], "retrying", "failed after its retries", |_, c| {
            let task = c.task.as_ref().ok_or("no task")?;
            if task.state == "FAILED" && task.error.contains("gave up after 2 retries (errors.max.retries=2)") {
                Ok(())
            } else {
                Err(format!("{} {}", task.state, task.error))
            }
        })
        .await;
}

/// `snapshot.include.collection.list`: the initial snapshot reads the rows
/// of the listed tables only; the others are captured from the stream on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_reads_only_the_included_collections() {
    let db = MariaDb::start(&[]).await;
    db.sql(&[
        "CREATE DATABASE inventory",
        "CREATE TABLE inventory.a (id INT PRIMARY KEY)",
        "CREATE TABLE inventory.b (id INT PRIMARY KEY)",
        "INSERT INTO inventory.a VALUES (1), (2)",
        "INSERT INTO inventory.b VALUES (1), (2)",
    ])
    .await;
    let broker = Broker::start().await;
    let (cluster, node) = one_node(&broker).await;
    connectors::create_streaming(&cluster, node, &db, "partial", 6209, &[
        ("snapshot.mode", "initial"),
        ("snapshot.include.collection.list", "inventory\\.a"),
    ])
    .await;
    db.sql(&["INSERT INTO inventory.b VALUES (3)", "INSERT INTO inventory.a VALUES (3)"]).await;
    let a: Vec<Value> = records(&broker, "dbserver1.inventory.a", 3).await.iter().map(|r| json_of(&r.value)).collect();
    let ops: Vec<&str> = a.iter().map(|v| v["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["r", "r", "c"]);
    let b: Vec<Value> = records(&broker, "dbserver1.inventory.b", 1).await.iter().map(|r| json_of(&r.value)).collect();
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0]["op"], "c");
    assert_eq!(b[0]["after"], json!({"id": 3}));
}

/// `snapshot.select.statement.overrides`: the snapshot reads a table with
/// the user's SELECT (here: no soft-deleted rows), still chunked by key
/// (`snapshot.fetch.size=1` makes every row its own chunk).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_select_statement_overrides_filter_the_rows() {
    let db = MariaDb::start(&[]).await;
    db.sql(&[
        "CREATE DATABASE inventory",
        "CREATE TABLE inventory.orders (id INT PRIMARY KEY, deleted TINYINT NOT NULL)",
        "INSERT INTO inventory.orders VALUES (1, 0), (2, 1), (3, 0), (4, 1), (5, 0)",
    ])
    .await;
    let broker = Broker::start().await;
    let (cluster, node) = one_node(&broker).await;
    connectors::create_streaming(&cluster, node, &db, "overridden", 6210, &[
        ("snapshot.mode", "initial"),
        ("snapshot.fetch.size", "1"),
        ("snapshot.select.statement.overrides", "inventory.orders"),
        ("snapshot.select.statement.overrides.inventory.orders", "SELECT * FROM inventory.orders WHERE deleted = 0 ORDER BY id DESC"),
    ])
    .await;
    db.sql(&["INSERT INTO inventory.orders VALUES (6, 1)"]).await;
    let got: Vec<Value> = records(&broker, "dbserver1.inventory.orders", 4).await.iter().map(|r| json_of(&r.value)).collect();
    let seen: Vec<(String, i64)> = got.iter().map(|v| (v["op"].as_str().unwrap().to_string(), v["after"]["id"].as_i64().unwrap())).collect();
    assert_eq!(seen, [("r".into(), 1), ("r".into(), 3), ("r".into(), 5), ("c".into(), 6)]);
}
