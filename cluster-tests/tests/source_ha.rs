//! Source high availability against real MariaDB servers (private servers
//! per test):
//!
//! - a dead link (a TCP forwarder that silently stops forwarding) and a
//!   frozen server (`SIGSTOP`) are noticed by the read timeout: the source
//!   reconnects by itself, and once the link or the server is back every
//!   change arrives exactly once, in order;
//! - binlog retention: a purge that leaves the connector's position in the
//!   oldest file, with little binlog before it, is reported as a warning,
//!   which clears once the connector reads the newest file.
mod source_harness;

use std::net::SocketAddr;

use cluster_tests::blackhole::Blackhole;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::{wait_until, DEFAULT_DEADLINE};
use mysql_async::prelude::Queryable;
use raftcdc::source::mysql::replication::MySqlSource;
use raftcdc::source::{BinlogRetention, SourceReport};
use serde_json::Value;
use source_harness::*;
use tokio::sync::mpsc;

/// A source reading `db` through `proxy`, with a short read timeout so the
/// tests do not wait the default 6 s.
async fn through(db: &MariaDb, proxy: &Blackhole) -> Running {
    let port = proxy.addr.port().to_string();
    let mut running = start(
        config(
            db,
            &[
                ("database.hostname", "127.0.0.1"),
                ("database.port", &port),
                ("raftcdc.binlog.read.timeout.ms", "1500"),
                ("connect.timeout.ms", "2000"),
                ("poll.interval.ms", "50"),
            ],
        ),
        None,
    );
    running.ready().await;
    running
}

async fn insert(db: &MariaDb, ids: std::ops::RangeInclusive<i64>) {
    for id in ids {
        exec(db, &[&format!("INSERT INTO seq VALUES ({id})")]).await;
    }
}

/// The ids of `events`, in order.
fn ids(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.value["after"]["id"].as_i64().expect("an id")).collect()
}

/// Waits until the source opened a new connection through `proxy` after
/// `before` connections: it noticed that the old one went silent.
async fn reconnects(proxy: &Blackhole, before: u64) {
    let since = std::time::Instant::now();
    wait_until(DEFAULT_DEADLINE, "the source notices the silent link and reconnects", || async {
        let now = proxy.accepted();
        if now > before {
            Ok(())
        } else {
            Err(format!("{now} connections"))
        }
    })
    .await;
    // A figure for the report, never asserted on.
    eprintln!("noticed the silent link and reconnected after {} ms (read timeout 1500 ms)", since.elapsed().as_millis());
}

/// A link that silently stops forwarding (no FIN, no RST) while the
/// server keeps taking writes: the source notices within its read timeout
/// and reconnects (through the dead link, again and again, each attempt
/// bounded); once the link heals it streams on, and the changes made
/// during the outage arrive once each, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silently_dead_link_is_noticed_and_nothing_is_lost_or_repeated() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE seq (id INT PRIMARY KEY)"]).await;
    let proxy = Blackhole::start(SocketAddr::from((db.host, db.port))).await;
    let mut source = through(&db, &proxy).await;
    insert(&db, 1..=20).await;
    let (mut events, _) = source.collect(20, data).await;

    let before = proxy.accepted();
    proxy.cut();
    insert(&db, 21..=40).await;
    reconnects(&proxy, before).await;
    proxy.heal();
    insert(&db, 41..=60).await;
    events.extend(source.collect(40, data).await.0);
    assert_eq!(ids(&events), (1..=60).collect::<Vec<_>>());
}

/// A frozen server (`SIGSTOP`: its sockets stay open, nothing answers) is
/// noticed the same way; after `SIGCONT` the stream resumes exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_is_noticed_and_the_stream_resumes_exactly() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE seq (id INT PRIMARY KEY)"]).await;
    // The forwarder only counts the source's connections here.
    let proxy = Blackhole::start(SocketAddr::from((db.host, db.port))).await;
    let mut source = through(&db, &proxy).await;
    insert(&db, 1..=20).await;
    let (mut events, _) = source.collect(20, data).await;

    let before = proxy.accepted();
    db.freeze();
    reconnects(&proxy, before).await;
    db.thaw();
    insert(&db, 21..=40).await;
    events.extend(source.collect(20, data).await.0);
    assert_eq!(ids(&events), (1..=40).collect::<Vec<_>>());
}

/// The next retention report that satisfies `want`.
async fn retention_until(reports: &mut mpsc::Receiver<SourceReport>, what: &str, want: impl Fn(&BinlogRetention) -> bool) -> BinlogRetention {
    let mut last = None;
    let found = tokio::time::timeout(DEADLINE, async {
        while let Some(report) = reports.recv().await {
            let SourceReport::Retention(r) = report else { continue };
            if want(&r) {
                return Some(r);
            }
            last = Some(r);
        }
        None
    })
    .await;
    match found {
        Ok(Some(r)) => r,
        other => panic!("no retention report where {what}: {other:?}; last: {last:?}"),
    }
}

/// `PURGE BINARY LOGS` up to the connector's file while it is behind: the
/// next measurement shows no file and little headroom before it, the
/// server's expiry setting and the oldest event's age, and warns; once
/// the connector has caught up into the newest file the warning clears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_close_to_the_connector_is_warned_about() {
    let db = MariaDb::start(&["--binlog-expire-logs-seconds=86400"]).await;
    setup(&db, &["CREATE TABLE seq (id INT PRIMARY KEY)"]).await;
    exec(&db, &["FLUSH BINARY LOGS"]).await;
    // An offset in the file the server writes now.
    let mut first = streaming(&db, &[]).await;
    insert(&db, 1..=1).await;
    let (_, batches) = first.collect(1, data).await;
    let offset: Value = batches.last().expect("a batch").offset.clone();
    drop(first);
    let file = offset["file"].as_str().expect("a file").to_string();
    // 200 transactions after it in the same file (more than the source
    // can hand over while nobody reads), then newer files.
    insert(&db, 2..=201).await;
    exec(&db, &["FLUSH BINARY LOGS", "FLUSH BINARY LOGS"]).await;
    insert(&db, 202..=202).await;
    db.wait_no_replicas().await;
    exec(&db, &[&format!("PURGE BINARY LOGS TO '{file}'")]).await;
    let mut conn = db.conn().await;
    let oldest: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await.unwrap();
    assert_eq!(oldest[0].0, file, "purged up to the connector's file");

    let (reports_tx, mut reports) = mpsc::channel(16);
    let config = config(&db, &[("raftcdc.binlog.retention.check.interval.ms", "200"), ("poll.interval.ms", "50")]);
    let (tx, mut rx) = mpsc::channel(64);
    let task = tokio::spawn(async move { MySqlSource::new(config, false).with_reports(reports_tx).run(Some(offset), tx).await });
    let _abort = raftcdc::source::AbortOnDrop(task);
    let warned = retention_until(&mut reports, "it warns", |r| r.warning).await;
    assert_eq!((warned.headroom_files, warned.oldest_file.as_str()), (0, file.as_str()), "{warned:?}");
    assert!(warned.headroom_bytes < 1 << 20, "{warned:?}");
    assert_eq!(warned.expire_seconds, 86_400);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let oldest_ts = warned.oldest_event_ts.expect("the oldest event's time");
    assert!(oldest_ts <= now && oldest_ts + 3_600 > now, "{oldest_ts} vs {now}");

    // Read everything: the connector reaches the newest file.
    let mut seen = 0;
    while seen < 201 {
        let batch = tokio::time::timeout(DEADLINE, rx.recv()).await.expect("batches").expect("the source runs");
        seen += batch.records.iter().filter(|r| data(&r.topic)).count();
    }
    let cleared = retention_until(&mut reports, "the warning clears", |r| !r.warning).await;
    assert_eq!(cleared.headroom_files, 2, "{cleared:?}");
}
