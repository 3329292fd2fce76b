//! Source high availability against real MariaDB servers (private servers
//! per test):
//!
//! - a dead link (a TCP forwarder that silently stops forwarding) and a
//!   frozen server (`SIGSTOP`) are noticed by the read timeout: the source
//!   reconnects by itself, and once the link or the server is back every
//!   change arrives exactly once, in order.
mod source_harness;

use std::net::SocketAddr;

use cluster_tests::blackhole::Blackhole;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::{wait_until, DEFAULT_DEADLINE};
use source_harness::*;

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
    wait_until(DEFAULT_DEADLINE, "the source notices the silent link and reconnects", || async {
        let now = proxy.accepted();
        if now > before {
            Ok(())
        } else {
            Err(format!("{now} connections"))
        }
    })
    .await;
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
