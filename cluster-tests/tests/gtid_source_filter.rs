//! `gtid.source.includes` / `gtid.source.excludes` /
//! `gtid.source.filter.dml.events` against a real MariaDB server: one
//! session writes in GTID domain 0 (server 1), another in domain 7 as
//! server 9, on the same captured table, so MariaDB's GTID sources are
//! `0-1` and `7-9`. Every source reads the same binlog from the same
//! offset: a filtered source's rows are not emitted, its DDL still is
//! (and a later row decodes with the altered table), and resuming from any
//! committed offset filters exactly the same events.
mod source_harness;

use cluster_tests::mariadb::MariaDb;
use mysql_async::prelude::Queryable;
use serde_json::{json, Value};
use source_harness::*;

/// Connector properties a case adds.
type Properties = &'static [(&'static str, &'static str)];

/// The schema change topic and the data topics.
fn data_or_ddl(topic: &str) -> bool {
    data(topic) || topic == "dbserver1"
}

/// What a record says, in a line: `c 1 d0`, `u 1 d7x`, `ddl ALTER ...`.
fn summary(event: &Event) -> String {
    if event.topic == "dbserver1" {
        let ddl = event.value["ddl"].as_str().unwrap_or_default();
        return format!("ddl {}", ddl.split_whitespace().take(4).collect::<Vec<_>>().join(" "));
    }
    let after = &event.value["after"];
    format!("{} {} {}", event.value["op"].as_str().unwrap(), after["id"], after["who"].as_str().unwrap())
}

/// Writes the two domains' transactions after `offset` (taken before):
/// domain 0, then domain 7 (a single insert, a multi-statement
/// transaction, an ALTER, an insert with the new column), then domain 0
/// again, into the altered table.
async fn write_two_domains(db: &MariaDb) {
    let mut zero = db.conn().await;
    zero.query_drop("USE inventory").await.unwrap();
    let mut seven = db.conn().await;
    for s in ["USE inventory", "SET SESSION gtid_domain_id = 7", "SET SESSION server_id = 9"] {
        seven.query_drop(s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    zero.query_drop("INSERT INTO t VALUES (1, 'd0')").await.unwrap();
    for s in [
        "INSERT INTO t VALUES (2, 'd7')",
        "BEGIN",
        "INSERT INTO t VALUES (3, 'd7')",
        "UPDATE t SET who = 'd7x' WHERE id = 1",
        "COMMIT",
        "ALTER TABLE t ADD COLUMN extra INT DEFAULT 5",
        "INSERT INTO t VALUES (4, 'd7', 6)",
    ] {
        seven.query_drop(s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    zero.query_drop("INSERT INTO t VALUES (5, 'd0', 7)").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gtid_source_filters_skip_dml_of_left_out_sources_but_not_their_ddl() {
    let db = MariaDb::start(&[]).await;
    setup(&db, &["CREATE TABLE t (id INT PRIMARY KEY, who VARCHAR(10))"]).await;
    // An offset before the writes: the first progress batch of a source
    // started at the end of the binlog.
    let offset: Value = {
        let mut probe = start(config(&db, &[("poll.interval.ms", "50")]), None);
        probe.ready().await.offset
    };
    write_two_domains(&db).await;
    let binlog_pos = db.gtid_binlog_pos().await;
    assert!(binlog_pos.contains("7-9-"), "domain 7 written as server 9: {binlog_pos}");

    let only_domain_zero = ["c 1 d0", "ddl ALTER TABLE t ADD", "c 5 d0"];
    let everything = ["c 1 d0", "c 2 d7", "c 3 d7", "u 1 d7x", "ddl ALTER TABLE t ADD", "c 4 d7", "c 5 d0"];
    let cases: [(Properties, &[&str]); 4] = [
        (&[("gtid.source.includes", "0-.*")], &only_domain_zero),
        (&[("gtid.source.excludes", "7-.*")], &only_domain_zero),
        (&[("gtid.source.excludes", "7-.*"), ("gtid.source.filter.dml.events", "false")], &everything),
        (&[], &everything),
    ];
    for (extra, expected) in cases {
        let mut extra = extra.to_vec();
        extra.push(("poll.interval.ms", "50"));
        let config = config(&db, &extra);
        let mut source = start(config.clone(), Some(offset.clone()));
        let (events, batches) = source.collect(expected.len(), data_or_ddl).await;
        drop(source);
        let seen: Vec<String> = events.iter().map(summary).collect();
        assert_eq!(seen, expected, "{extra:?}");
        // The domain-0 insert after domain 7's ALTER decodes with its column.
        let last = events.last().unwrap();
        assert_eq!(last.value["after"], json!({"id": 5, "who": "d0", "extra": 7}), "{extra:?}");
        // The ALTER is in the schema history whatever the filter.
        let history: Vec<&Value> = batches.iter().flat_map(|b| &b.schema_history).collect();
        assert!(
            history.iter().any(|h| h["ddl"].as_str().unwrap_or_default().starts_with("ALTER TABLE t ADD")),
            "{extra:?}: {history:?}"
        );

        // Resuming from every committed offset filters exactly the same
        // events (what a new owner does).
        let mut delivered = 0;
        for batch in batches.iter().filter(|b| b.records.iter().any(|r| data_or_ddl(&r.topic))) {
            delivered += batch.records.iter().filter(|r| data_or_ddl(&r.topic)).count();
            if delivered == expected.len() {
                break;
            }
            let mut resumed = start(config.clone(), Some(batch.offset.clone()));
            let (rest, _) = resumed.collect(expected.len() - delivered, data_or_ddl).await;
            let rest: Vec<String> = rest.iter().map(summary).collect();
            assert_eq!(rest, expected[delivered..], "{extra:?}: resumed from {}", batch.offset);
        }
    }
}
