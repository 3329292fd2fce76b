//! Database failover against real MariaDB servers: a primary and a GTID
//! replica (`MASTER_USE_GTID=slave_pos`, `log_slave_updates`), both named
//! in `database.hostname`.
//!
//! - The primary dies, the replica is promoted and the writer moves to it:
//!   the source switches by itself, reports the new server, and every
//!   change arrives exactly once, in order.
//! - Reading a replica from the start, then that replica dies: the source
//!   moves to the primary, exactly once again.
//! - A replica that lacks delivered transactions is refused naming them;
//!   one with an errant transaction (a write on the replica itself, below
//!   the delivered position) is refused naming it; a replica that does not
//!   log what it replicates is refused naming `log_slave_updates`.
mod source_harness;

use cluster_tests::mariadb::MariaDb;
use raftcdc::source::mysql::error::{DefiniteError, SourceError};
use raftcdc::source::mysql::replication::MySqlSource;
use raftcdc::source::{Batch, SourceReport};
use serde_json::Value;
use source_harness::*;
use tokio::sync::mpsc;

const REPLICA: &[&str] = &["--server-id=2", "--log-slave-updates"];

/// A primary with `inventory.seq`, and a replica of it.
async fn pair(replica_flags: &[&str]) -> (MariaDb, MariaDb) {
    let primary = MariaDb::start(&[]).await;
    let replica = MariaDb::start(replica_flags).await;
    replica.replicate_from(&primary).await;
    setup(&primary, &["CREATE TABLE seq (id INT PRIMARY KEY)"]).await;
    replica.wait_caught_up(&primary).await;
    (primary, replica)
}

fn address(db: &MariaDb) -> String {
    format!("{}:{}", db.host, db.port)
}

struct Source {
    running: Running,
    reports: mpsc::Receiver<SourceReport>,
}

/// A source reading `hosts` (in that order) from `offset`.
fn source(db: &MariaDb, hosts: &[&MariaDb], offset: Option<Value>) -> Source {
    let hosts: Vec<String> = hosts.iter().map(|db| address(db)).collect();
    let config = config(
        db,
        &[
            ("database.hostname", &hosts.join(",")),
            ("raftcdc.binlog.read.timeout.ms", "1500"),
            ("connect.timeout.ms", "2000"),
            ("poll.interval.ms", "50"),
        ],
    );
    let (reports_tx, reports) = mpsc::channel(256);
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(async move { MySqlSource::new(config, false).with_reports(reports_tx).run(offset, tx).await });
    Source { running: Running { rx, task }, reports }
}

async fn insert(db: &MariaDb, ids: std::ops::RangeInclusive<i64>) {
    for id in ids {
        exec(db, &[&format!("INSERT INTO seq VALUES ({id})")]).await;
    }
}

fn ids(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.value["after"]["id"].as_i64().expect("an id")).collect()
}

/// The next server the source reports reading from.
async fn server_read(reports: &mut mpsc::Receiver<SourceReport>, server_id: u32) -> String {
    let found = tokio::time::timeout(DEADLINE, async {
        while let Some(report) = reports.recv().await {
            if let SourceReport::Server { address, server_id: id } = report {
                if id == server_id {
                    return Some(address);
                }
            }
        }
        None
    })
    .await;
    found.ok().flatten().unwrap_or_else(|| panic!("the source never reported reading server_id {server_id}"))
}

/// Kill the primary, promote the replica, write there: the source follows
/// by itself, nothing is lost or repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_follows_a_promoted_replica_exactly_once() {
    let (mut primary, replica) = pair(REPLICA).await;
    let mut source = source(&primary, &[&primary, &replica], None);
    source.running.ready().await;
    assert_eq!(server_read(&mut source.reports, 1).await, address(&primary));
    insert(&primary, 1..=30).await;
    let (mut events, _) = source.running.collect(30, data).await;

    replica.wait_caught_up(&primary).await;
    let killed = std::time::Instant::now();
    primary.kill();
    replica.promote().await;
    insert(&replica, 31..=60).await;
    assert_eq!(server_read(&mut source.reports, 2).await, address(&replica));
    // A figure for the report, never asserted on.
    eprintln!("reading the promoted replica {} ms after the primary was killed", killed.elapsed().as_millis());
    events.extend(source.running.collect(30, data).await.0);
    assert_eq!(ids(&events), (1..=60).collect::<Vec<_>>());
}

/// Reading the replica first (it is listed first), then it dies: the
/// source moves to the primary, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_moves_from_a_dead_replica_to_the_primary() {
    let (primary, mut replica) = pair(REPLICA).await;
    let mut source = source(&primary, &[&replica, &primary], None);
    source.running.ready().await;
    assert_eq!(server_read(&mut source.reports, 2).await, address(&replica));
    insert(&primary, 1..=30).await;
    let (mut events, _) = source.running.collect(30, data).await;

    replica.kill();
    insert(&primary, 31..=60).await;
    assert_eq!(server_read(&mut source.reports, 1).await, address(&primary));
    events.extend(source.running.collect(30, data).await.0);
    assert_eq!(ids(&events), (1..=60).collect::<Vec<_>>());
}

/// The offset after `ids` were streamed from `primary`.
async fn offset_from(primary: &MariaDb, ids: std::ops::RangeInclusive<i64>) -> Value {
    let count = ids.clone().count();
    let mut running = streaming(primary, &[]).await;
    insert(primary, ids).await;
    let (_, batches): (_, Vec<Batch>) = running.collect(count, data).await;
    batches.last().expect("a batch").offset.clone()
}

/// The definite error a source reading only `replica` from `offset` stops with.
async fn refusal(primary: &MariaDb, replica: &MariaDb, offset: Value) -> DefiniteError {
    let mut source = source(primary, &[replica], Some(offset));
    match tokio::time::timeout(DEADLINE, &mut source.running.task).await {
        Ok(Ok(Err(SourceError::Definite(error)))) => error,
        other => panic!("expected a definite error, got {other:?}"),
    }
}

/// A replica that stopped replicating lacks what was delivered from the
/// primary since: refused, naming the GTIDs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_replica_is_refused_naming_the_missing_gtids() {
    let (primary, replica) = pair(REPLICA).await;
    replica.sql(&["STOP SLAVE"]).await;
    let has = replica.gtid_binlog_pos().await;
    let offset = offset_from(&primary, 1..=5).await;
    let error = refusal(&primary, &replica, offset.clone()).await;
    let committed = offset["gtids"].as_str().expect("gtids").to_string();
    match &error {
        DefiniteError::MissingTransactions { missing, .. } => {
            assert!(missing.contains(&format!("to {committed}")), "{error}");
            assert!(missing.contains(&format!("(it has {has})")), "{error}");
        }
        other => panic!("{other}"),
    }
    assert!(error.remedy().contains("catch up"), "{}", error.remedy());
}

/// A write on the replica itself, then more from the primary: the
/// replica's own transaction sits below the delivered position, where the
/// stream would skip it: refused, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_with_an_errant_transaction_is_refused_naming_it() {
    let (primary, replica) = pair(REPLICA).await;
    exec(&replica, &["INSERT INTO seq VALUES (1000)"]).await;
    let errant = replica.gtid_binlog_pos().await;
    assert!(errant.starts_with("0-2-"), "{errant}");
    let offset = offset_from(&primary, 1..=5).await;
    replica.wait_caught_up(&primary).await;
    let error = refusal(&primary, &replica, offset).await;
    match &error {
        DefiniteError::ErrantTransactions { errant: named, .. } => assert_eq!(named, &errant),
        other => panic!("{other}"),
    }
}

/// A replica without `log_slave_updates` has none of the replicated
/// changes in its binlog: refused, naming the setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_without_log_slave_updates_is_refused() {
    let (primary, replica) = pair(&["--server-id=2", "--log-slave-updates=OFF"]).await;
    let offset = offset_from(&primary, 1..=3).await;
    replica.wait_caught_up(&primary).await;
    match refusal(&primary, &replica, offset).await {
        DefiniteError::InvalidSystemSetting { setting, .. } => assert_eq!(setting, "log_slave_updates"),
        other => panic!("{other}"),
    }
}
