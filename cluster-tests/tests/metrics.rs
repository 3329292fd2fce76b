//! The Prometheus endpoint of real nodes: Raft metrics agree with the
//! cluster's own status on every node, and per-connector counters rise as
//! rows flow from a private MariaDB through the cluster to the broker.
//! Every wait polls the scrape; nothing sleeps.
use cluster_tests::broker::Broker;
use cluster_tests::cluster::Cluster;
use cluster_tests::connectors;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::scrape::{self, Scrape};
use cluster_tests::wait::{wait_until, DEFAULT_DEADLINE};
use mysql_async::prelude::Queryable;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_metrics_on_every_node_agree_with_the_cluster() {
    let cluster = Cluster::builder().snapshot_logs_since_last(10).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let status = cluster.status(leader).await.unwrap();

    for node in cluster.nodes() {
        let description = format!("node {node}'s /metrics shows leader {leader}");
        let scrape = wait_until(DEFAULT_DEADLINE, &description, || async {
            let s = cluster.scrape(node).await?;
            let leader_id = s.value("raftcdc_raft_leader_id", &[])?;
            let applied = s.value("raftcdc_raft_last_applied_index", &[])?;
            if leader_id == leader as f64 && applied >= 1.0 {
                Ok(s)
            } else {
                Err(format!("leader_id {leader_id}, applied {applied}"))
            }
        })
        .await;
        let v = |name: &str| scrape.value(name, &[]).unwrap_or_else(|e| panic!("node {node}: {e}"));
        assert!(v("raftcdc_raft_term") >= 1.0);
        assert!(v("raftcdc_raft_term") >= status.term as f64, "terms only rise");
        assert_eq!(
            v("raftcdc_raft_is_leader"),
            if node == leader { 1.0 } else { 0.0 },
            "node {node}"
        );
        assert!(v("raftcdc_raft_last_log_index") >= v("raftcdc_raft_last_applied_index"));
        assert!(v("raftcdc_raft_committed_index") >= 1.0);
        assert!(v("raftcdc_raft_log_entries") >= 1.0);
        assert!(v("raftcdc_raft_apply_lag_entries") >= 0.0);
        assert_eq!(
            v("raftcdc_raft_snapshots_total"),
            0.0,
            "no snapshot after the first few entries"
        );
        assert_eq!(scrape.types["raftcdc_raft_snapshots_total"], "counter");
        let id = node.to_string();
        assert_eq!(
            scrape
                .value(
                    "raftcdc_node_info",
                    &[("node_id", &id), ("cluster", cluster.cluster_name())]
                )
                .unwrap(),
            1.0
        );
        if node == leader {
            assert!(scrape.value("raftcdc_raft_quorum_ack_age_seconds", &[]).is_ok());
        }
    }

    // Only /metrics is served.
    let (code, _) = scrape::get(cluster.metrics_addr(leader), "/nope").await.unwrap();
    assert_eq!(code, 404);

    // Enough entries for a snapshot on every node (paused connectors: the
    // only log traffic is ours).
    let mut client = cluster.client(leader);
    for k in 0..12 {
        client
            .create_connector(connectors::create_request(&format!("snap-{k:02}"), true))
            .await
            .expect("create");
    }
    for node in cluster.nodes() {
        let description = format!("node {node} counts the snapshot it built");
        wait_until(DEFAULT_DEADLINE, &description, || async {
            let s = cluster.scrape(node).await?;
            let taken = s.value("raftcdc_raft_snapshots_total", &[])?;
            let index = s.value("raftcdc_raft_snapshot_index", &[])?;
            if taken >= 1.0 && index >= 1.0 {
                Ok(())
            } else {
                Err(format!("snapshots_total {taken}, snapshot_index {index}"))
            }
        })
        .await;
    }

    // `cluster status`: the health columns, and the JSON fields behind them.
    let table = cluster.cli(leader, &["cluster", "status"]).await;
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success(), "{text}");
    let header = text.lines().nth(1).unwrap_or_default();
    for column in ["ID", "ADDRESS", "ROLE", "VOTER", "REACHABLE", "CONTACT", "LAG"] {
        assert!(header.contains(column), "no {column} column in:\n{text}");
    }
    let json = cluster.cli(leader, &["cluster", "status", "--output", "json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON status");
    let members = json["members"].as_array().expect("members");
    assert_eq!(members.len(), 3);
    for member in members {
        assert_eq!(member["reachable"], true, "{member}");
        assert!(member["probe_ms"].is_u64() && member["lag"].is_u64(), "{member}");
    }
}

/// The text without terminal colour sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn connector_value(s: &Scrape, name: &str) -> Result<f64, String> {
    s.value(name, &[("connector", "inventory")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_counters_rise_as_rows_are_delivered() {
    let db = MariaDb::start(&[]).await;
    db.sql(&[
        "CREATE DATABASE inventory",
        "CREATE TABLE inventory.seq (id BIGINT PRIMARY KEY, v INT)",
    ])
    .await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let connector = connectors::create_streaming(&cluster, leader, &db, "inventory", 6201, &[]).await;

    // The owner runs the task; its counters exist from the first delivery.
    let before = wait_until(DEFAULT_DEADLINE, "the owner reports its running task", || async {
        let s = cluster.scrape(leader).await?;
        let running = connector_value(&s, "raftcdc_connector_task_running")?;
        if running == 1.0 {
            Ok(s)
        } else {
            Err(format!("task_running {running}"))
        }
    })
    .await;
    let base = |name: &str| connector_value(&before, name).unwrap_or(0.0);
    let (rows0, records0, bytes0) = (
        base("raftcdc_connector_source_rows_total"),
        base("raftcdc_connector_records_delivered_total"),
        base("raftcdc_connector_delivered_bytes_total"),
    );

    let mut conn = db.conn().await;
    for id in 1..=20 {
        conn.query_drop(format!("INSERT INTO inventory.seq VALUES ({id}, {})", id * 10))
            .await
            .unwrap();
    }
    drop(conn);

    let after = wait_until(DEFAULT_DEADLINE, "the owner's counters count the 20 rows", || async {
        let s = cluster.scrape(leader).await?;
        let rows = connector_value(&s, "raftcdc_connector_source_rows_total")?;
        if rows >= rows0 + 20.0 {
            Ok(s)
        } else {
            Err(format!("source_rows_total {rows} (was {rows0})"))
        }
    })
    .await;
    let v = |name: &str| connector_value(&after, name).unwrap_or_else(|e| panic!("{e}"));
    assert!(v("raftcdc_connector_records_delivered_total") >= records0 + 20.0);
    assert!(v("raftcdc_connector_delivered_bytes_total") > bytes0);
    let transactions = v("raftcdc_connector_kafka_transaction_duration_seconds_count");
    assert!(transactions >= 1.0);
    let inf = after
        .value(
            "raftcdc_connector_kafka_transaction_duration_seconds_bucket",
            &[("connector", "inventory"), ("le", "+Inf")],
        )
        .unwrap();
    assert_eq!(inf, transactions, "+Inf bucket equals the count");
    assert!(v("raftcdc_connector_kafka_transaction_duration_seconds_sum") > 0.0);
    let commits = v("raftcdc_connector_kafka_commit_duration_seconds_count");
    assert!(commits >= 1.0 && commits <= transactions, "{commits} commits, {transactions} deliveries");
    let behind = v("raftcdc_connector_milliseconds_behind_source");
    assert!(
        (0.0..120_000.0).contains(&behind),
        "milliseconds_behind_source {behind}"
    );
    assert!(v("raftcdc_connector_offset_age_seconds") >= 0.0);
    assert_eq!(v("raftcdc_connector_epoch"), connector.epoch as f64);
    assert_eq!(v("raftcdc_connector_owner_node_id"), leader as f64);
    assert_eq!(
        after
            .value(
                "raftcdc_connector_state",
                &[("connector", "inventory"), ("state", "RUNNING")]
            )
            .unwrap(),
        1.0
    );
    for kind in ["transient", "definite", "fenced"] {
        let errors = after.value(
            "raftcdc_connector_errors_total",
            &[("connector", "inventory"), ("kind", kind)],
        );
        assert_eq!(errors.unwrap(), 0.0, "{kind} errors");
    }

    // Logs: the task, and the source task it spawns, run inside the
    // connector's span.
    let log = strip_ansi(&std::fs::read_to_string(cluster.log_path(leader)).unwrap());
    let span = format!("connector{{connector=inventory epoch={}}}", connector.epoch);
    for message in ["task starting", "source: streaming"] {
        assert!(
            log.lines().any(|l| l.contains(&span) && l.contains(message)),
            "no {message:?} line inside {span}:\n{log}"
        );
    }

    // The replicated view is the same on every node; only the owner works.
    for node in cluster.nodes().into_iter().filter(|n| *n != leader) {
        let description = format!("node {node} shows the owner and no task of its own");
        wait_until(DEFAULT_DEADLINE, &description, || async {
            let s = cluster.scrape(node).await?;
            let owner = connector_value(&s, "raftcdc_connector_owner_node_id")?;
            let running = connector_value(&s, "raftcdc_connector_task_running")?;
            let rows = connector_value(&s, "raftcdc_connector_source_rows_total").unwrap_or(0.0);
            if owner == leader as f64 && running == 0.0 && rows == 0.0 {
                Ok(())
            } else {
                Err(format!("owner {owner}, task_running {running}, rows {rows}"))
            }
        })
        .await;
    }

    // Binlog retention, measured by the owner as it starts streaming and
    // replicated: every node's metrics and `connector status` show it, with
    // no warning (the connector reads the file the server writes).
    for node in cluster.nodes() {
        let description = format!("node {node} shows the binlog retention headroom");
        wait_until(DEFAULT_DEADLINE, &description, || async {
            let s = cluster.scrape(node).await?;
            let bytes = connector_value(&s, "raftcdc_source_binlog_headroom_bytes")?;
            let files = connector_value(&s, "raftcdc_source_binlog_headroom_files")?;
            let age = connector_value(&s, "raftcdc_source_binlog_oldest_event_age_seconds")?;
            let expire = connector_value(&s, "raftcdc_source_binlog_expire_seconds")?;
            let warning = connector_value(&s, "raftcdc_source_binlog_retention_warning")?;
            if bytes > 0.0 && files == 0.0 && age >= 0.0 && expire == 0.0 && warning == 0.0 {
                Ok(())
            } else {
                Err(format!("headroom {bytes} B in {files} files, oldest {age} s, expire {expire}, warning {warning}"))
            }
        })
        .await;
        let server = format!("{}:{}", db.host, db.port);
        let s = cluster.scrape(node).await.unwrap();
        assert_eq!(
            s.value("raftcdc_source_server_info", &[("connector", "inventory"), ("address", &server), ("server_id", "1")]),
            Ok(1.0),
            "node {node}"
        );
        let status = cluster.cli(node, &["connector", "status", "inventory"]).await;
        let text = String::from_utf8_lossy(&status.stdout);
        assert!(text.contains(&format!("server:   {server} (server_id 1) read for")), "node {node}:\n{text}");
        assert!(
            text.lines().any(|l| l.starts_with("binlog:") && l.contains("0 files before the connector") && !l.contains("WARNING")),
            "node {node}:\n{text}"
        );
    }
}
