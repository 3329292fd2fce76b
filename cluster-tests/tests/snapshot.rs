//! Initial snapshots through real raftcdc processes, a real broker and a
//! real MariaDB: a table of 200k rows (plus a small one) snapshotted while
//! writes continue, with the owner SIGKILLed three times mid-snapshot. At
//! the end, what `read_committed` consumers see must be exact:
//!
//! - no row is read twice (no chunk is in the committed output twice);
//! - every key's last record is the row as the table has it now (so the
//!   topic, compacted, equals the table);
//! - the snapshot never restarted from zero: committed progress only grew
//!   across the kills, and the cursor records each resume.
//!
//! And the parallel snapshot (`snapshot.max.threads=4`) of four tables
//! under four writers, with the owner killed twice mid-snapshot (the
//! second owner frozen as soon as it continues, so that its kill still
//! finds the snapshot unfinished however fast it reads): the chaos
//! checker proves every row read exactly once per table and every
//! streamed change after its read exactly once, and the snapshot markers
//! (`first` and `last` once each) follow the emitted order.
//!
//! And an owner killed between the Kafka transaction that completed the
//! snapshot and its Raft commit (frozen there by a fault point): the
//! successor, resuming past the snapshot, still shows it completed.
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use cluster_tests::broker::Broker;
use cluster_tests::chaos::{self, Expected, Snapshot, Workload, Writer};
use cluster_tests::cluster::{Cluster, FREEZE_AFTER_SNAPSHOT_DELIVERED};
use cluster_tests::connectors;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::wait::wait_until;
use mysql_async::prelude::Queryable;
use raftcdc::proto::CreateConnectorRequest;
use serde_json::Value;

const ROWS: u64 = 200_000;
const TOPIC: &str = "dbserver1.inventory.chaos";

/// Updates on existing keys, as fast as one connection goes: each walks
/// the keys in order (so updates keep landing in the chunk being read) and
/// touches a second key elsewhere.
struct Updater {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Updater {
    fn start(db: &MariaDb, keys: u64) -> Updater {
        let opts = db.root_opts();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let mut conn = mysql_async::Conn::new(opts).await.expect("updater connection");
            let mut id = 1u64;
            while !*stopped.borrow_and_update() {
                id = id % keys + 1;
                let other = (id * 7919 + 13) % keys + 1;
                let _ = conn
                    .query_drop(format!("UPDATE inventory.chaos SET v = 'updated', seq = seq + 1 WHERE id IN ({id}, {other})"))
                    .await;
            }
        });
        Updater { stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.expect("the updater panicked");
    }
}

/// `id → (seq, v)` of every row of the table now.
async fn table_rows(db: &MariaDb) -> BTreeMap<i64, (i64, String)> {
    let mut conn = db.conn().await;
    conn.query::<(i64, i64, String), _>("SELECT id, seq, v FROM inventory.chaos")
        .await
        .unwrap()
        .into_iter()
        .map(|(id, seq, v)| (id, (seq, v)))
        .collect()
}

fn snapshot_rows(c: &raftcdc::proto::Connector) -> u64 {
    c.snapshot.as_ref().map(|s| s.rows_read).unwrap_or(0)
}

/// Connector `name` as `node` sees it once its snapshot has read
/// `threshold` rows, or completed.
async fn progress_reached(cluster: &Cluster, node: usize, name: &str, threshold: u64) -> raftcdc::proto::Connector {
    cluster
        .wait_connector(&[node], name, "snapshot progress before the kill", |_, c| {
            if snapshot_rows(c) >= threshold || c.snapshot.as_ref().is_some_and(|s| s.completed) {
                Ok(())
            } else {
                Err(format!("{} rows", snapshot_rows(c)))
            }
        })
        .await
        .remove(0)
}

fn resumed(c: &raftcdc::proto::Connector) -> u64 {
    c.offset
        .as_ref()
        .and_then(|o| serde_json::from_str::<Value>(&o.offset_json).ok())
        .and_then(|o| o["snapshot_cursor"]["resumed"].as_u64())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_survives_owner_kills_and_output_is_exact() {
    let db = MariaDb::start(&[]).await;
    db.sql(&[
        "CREATE DATABASE inventory",
        chaos::CREATE_TABLE,
        "CREATE TABLE inventory.small (id INT PRIMARY KEY, v VARCHAR(10))",
        &format!("INSERT INTO inventory.chaos SELECT seq, seq, 'loaded' FROM inventory.seq_1_to_{ROWS}"),
        "INSERT INTO inventory.small VALUES (1, 'a'), (2, 'b'), (3, 'c')",
    ])
    .await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let writer = Writer::start(&db, 7, ROWS as i64 + 1, ROWS as i64 + 1);
    // Updates racing the snapshot on keys it reads.
    let updater = Updater::start(&db, ROWS);
    connectors::create_streaming(&cluster, leader, &db, "snap", 6301, &[
        ("snapshot.mode", "initial"),
        ("snapshot.fetch.size", "4000"),
    ])
    .await;

    let mut owner = leader;
    let mut progress_before = 0;
    for kill in 1..=3u64 {
        // Let the snapshot get somewhere, then kill its owner.
        let threshold = progress_before + ROWS / 8;
        let seen = progress_reached(&cluster, owner, "snap", threshold).await;
        assert!(!seen.snapshot.as_ref().unwrap().completed, "the snapshot finished before kill {kill}: make the table larger");
        progress_before = snapshot_rows(&seen);
        let epoch = seen.epoch;
        cluster.kill(owner);
        let survivors: Vec<usize> = cluster.nodes().into_iter().filter(|n| *n != owner).collect();
        let killed = owner;
        owner = cluster.wait_leader(&survivors).await;
        // The new owner resumes: progress moves on from where it was, never from zero.
        cluster
            .wait_connector(&[owner], "snap", "the new owner continues the snapshot", |_, c| {
                let rows = snapshot_rows(c);
                if c.epoch <= epoch {
                    return Err("not taken over yet".into());
                }
                if rows < progress_before {
                    panic!("snapshot progress went back from {progress_before} to {rows}");
                }
                if rows > progress_before && (resumed(c) >= kill || c.snapshot.as_ref().is_some_and(|s| s.completed)) {
                    Ok(())
                } else {
                    Err(format!("{rows} rows, resumed {}", resumed(c)))
                }
            })
            .await;
        cluster.restart(killed);
        cluster.wait_ready(killed).await;
    }
    cluster
        .wait_connector(&[owner], "snap", "the snapshot completes", |_, c| {
            if c.snapshot.as_ref().is_some_and(|s| s.completed) { Ok(()) } else { Err(format!("{} rows", snapshot_rows(c))) }
        })
        .await;
    updater.stop().await;
    let _ = writer.stop().await;

    // The table as it is now.
    let table = table_rows(&db).await;
    wait_until(Duration::from_secs(120), "the topic's final state equals the table", || async {
        let mut last: BTreeMap<i64, Option<(i64, String)>> = BTreeMap::new();
        let mut reads: HashMap<i64, usize> = HashMap::new();
        for record in broker.read_committed(TOPIC).await {
            let Some(value) = record.value else { continue };
            let value: Value = serde_json::from_slice(&value).map_err(|e| e.to_string())?;
            let op = value["op"].as_str().unwrap_or_default();
            let row = if op == "d" { &value["before"] } else { &value["after"] };
            let id = row["id"].as_i64().ok_or("no id")?;
            if op == "r" {
                *reads.entry(id).or_default() += 1;
            }
            let state = (op != "d").then(|| (row["seq"].as_i64().unwrap_or(-1), row["v"].as_str().unwrap_or("").to_string()));
            last.insert(id, state);
        }
        if let Some((id, n)) = reads.iter().find(|(_, n)| **n > 1) {
            panic!("id {id} was read {n} times: a chunk is in the committed output twice");
        }
        if reads.len() < ROWS as usize / 2 {
            return Err(format!("only {} snapshot reads so far", reads.len()));
        }
        let topic: BTreeMap<i64, (i64, String)> = last.into_iter().filter_map(|(id, s)| s.map(|s| (id, s))).collect();
        if topic != table {
            let differing = table.iter().filter(|(id, row)| topic.get(id) != Some(row)).count()
                + topic.keys().filter(|id| !table.contains_key(id)).count();
            return Err(format!("{differing} keys differ ({} in the topic, {} in the table)", topic.len(), table.len()));
        }
        Ok(())
    })
    .await;
    let small = broker.read_committed("dbserver1.inventory.small").await;
    assert_eq!(small.len(), 3, "the small table is read once");
}

/// An incremental snapshot (started, paused and resumed with the CLI)
/// racing heavy updates on the very keys it reads: streaming never stops,
/// and every key's last committed record is the row's final value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_snapshot_racing_updates_ends_with_every_key_correct() {
    const KEYS: u64 = 20_000;
    let db = MariaDb::start(&[]).await;
    db.sql(&[
        "CREATE DATABASE inventory",
        chaos::CREATE_TABLE,
        &format!("INSERT INTO inventory.chaos SELECT seq, seq, 'loaded' FROM inventory.seq_1_to_{KEYS}"),
    ])
    .await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    // Streaming only (no_data): the loaded rows are not in Kafka yet.
    connectors::create_streaming(&cluster, leader, &db, "inc", 6311, &[]).await;

    // Bad requests name the field and change nothing.
    let out = cluster.cli(leader, &["connector", "snapshot", "inc", "--tables", "mysql.user"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tables[0]"), "{out:?}");
    let out = cluster.cli(leader, &["connector", "snapshot", "inc", "--pause"]).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("no incremental snapshot"), "{out:?}");

    let updater = Updater::start(&db, KEYS);
    let out = cluster.cli(leader, &["connector", "snapshot", "inc", "--tables", "inventory.chaos", "--filter", "id > 0"]).await;
    assert!(out.status.success(), "{out:?}");
    let incremental = |c: &raftcdc::proto::Connector| c.snapshot.clone().filter(|s| s.incremental);
    cluster
        .wait_connector(&[leader], "inc", "the incremental snapshot reads rows", |_, c| {
            if incremental(c).is_some_and(|s| s.rows_read > 0) { Ok(()) } else { Err("no rows yet".into()) }
        })
        .await;
    let out = cluster.cli(leader, &["connector", "snapshot", "inc", "--pause"]).await;
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("PAUSED"), "{out:?}");
    let out = cluster.cli(leader, &["connector", "snapshot", "inc", "--resume"]).await;
    assert!(out.status.success(), "{out:?}");
    cluster
        .wait_connector(&[leader], "inc", "the incremental snapshot completes", |_, c| match incremental(c) {
            Some(s) if s.completed => Ok(()),
            other => Err(format!("{other:?}")),
        })
        .await;
    let status = cluster.cli(leader, &["connector", "status", "inc"]).await;
    assert!(String::from_utf8_lossy(&status.stdout).contains("completed  (incremental)"), "{status:?}");
    updater.stop().await;

    let table = table_rows(&db).await;
    wait_until(Duration::from_secs(120), "every key's last record is its final row", || async {
        let mut last: BTreeMap<i64, (i64, String)> = BTreeMap::new();
        let mut reads = 0;
        for record in broker.read_committed(TOPIC).await {
            let Some(value) = record.value else { continue };
            let value: Value = serde_json::from_slice(&value).map_err(|e| e.to_string())?;
            if value["op"] == "r" {
                assert_eq!(value["source"]["snapshot"], "incremental");
                reads += 1;
            }
            let row = &value["after"];
            let id = row["id"].as_i64().ok_or("no id")?;
            last.insert(id, (row["seq"].as_i64().unwrap_or(-1), row["v"].as_str().unwrap_or("").to_string()));
        }
        if last != table {
            let differing = table.iter().filter(|(id, row)| last.get(id) != Some(row)).count();
            return Err(format!("{differing} of {} keys differ ({reads} snapshot reads)", table.len()));
        }
        Ok(())
    })
    .await;
}

/// Rows preloaded into each of the parallel snapshot's tables.
const PARALLEL_ROWS: i64 = 30_000;
const PARALLEL_TABLES: usize = 4;

/// The node owning `name` and its epoch, as `node` sees it.
async fn owner_of(cluster: &Cluster, node: usize, name: &str) -> (usize, u64) {
    let seen = cluster
        .wait_connector(&[node], name, "has an owner", |_, c| if c.owner_node_id.is_some() { Ok(()) } else { Err("no owner".into()) })
        .await;
    (seen[0].owner_node_id.unwrap() as usize, seen[0].epoch)
}

/// `snapshot.max.threads=4` over four tables while a writer changes each,
/// the owner killed twice mid-snapshot: per table, every row is read
/// exactly once and followed by exactly its later changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_snapshot_of_four_tables_survives_owner_kills_exactly() {
    let tables: Vec<String> = (0..PARALLEL_TABLES).map(|i| format!("inventory.p{i}")).collect();
    let db = MariaDb::start(&[]).await;
    let mut setup = vec!["CREATE DATABASE inventory".to_string()];
    for table in &tables {
        setup.push(chaos::create_table(table));
        setup.push(chaos::preload_sql(table, PARALLEL_ROWS));
    }
    db.sql(&setup.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let writers: Vec<Writer> = tables
        .iter()
        .enumerate()
        .map(|(i, table)| {
            let workload = Workload {
                preloaded: PARALLEL_ROWS,
                first_id: PARALLEL_ROWS + 1,
                pause: Duration::from_millis(10),
                ..Workload::new(table)
            };
            workload.start(&db, 40 + i as u64)
        })
        .collect();
    for writer in &writers {
        writer.progress(10).await;
    }
    connectors::create_capturing(&cluster, leader, &db, "par", 6321, "par", &[
        ("snapshot.mode", "initial"),
        ("snapshot.max.threads", "4"),
        ("snapshot.fetch.size", "1000"),
        ("table.include.list", "inventory\\.p[0-9]"),
    ])
    .await;

    let total = PARALLEL_ROWS as u64 * PARALLEL_TABLES as u64;
    let mut progress_before = 0;
    // Kill 1 comes once a quarter of the rows is read. Kill 2 must also
    // find the snapshot unfinished, but its owner reads the rest in about
    // the time the first victim takes to restart (which the cluster needs
    // back before a second kill): so the successor is frozen as soon as it
    // continues the snapshot, and killed once the first victim is back.
    let mut frozen: Option<(usize, u64, raftcdc::proto::Connector)> = None;
    for kill in 1..=2u64 {
        let (owner, epoch, seen) = match frozen.take() {
            Some(frozen) => frozen,
            None => {
                let leader = cluster.wait_leader(&cluster.nodes()).await;
                let threshold = total * kill / 4;
                let seen = progress_reached(&cluster, leader, "par", threshold).await;
                let (owner, epoch) = owner_of(&cluster, leader, "par").await;
                (owner, epoch, seen)
            }
        };
        let progress = seen.snapshot.clone().unwrap();
        assert!(!progress.completed, "the snapshot finished before kill {kill}: make the tables larger");
        // Several tables are in flight: the committed cursor holds those
        // after the lowest one.
        let cursor = seen.offset.as_ref().and_then(|o| serde_json::from_str::<Value>(&o.offset_json).ok()).unwrap_or_default();
        let ahead = cursor["snapshot_cursor"]["ahead"].as_array().map_or(0, Vec::len);
        assert!(ahead > 0, "no table ahead of the lowest one in flight at kill {kill}: {cursor}");
        progress_before = progress_before.max(progress.rows_read);
        cluster.kill(owner);
        let survivors: Vec<usize> = cluster.nodes().into_iter().filter(|n| *n != owner).collect();
        let leader = cluster.wait_leader(&survivors).await;
        let continued = cluster
            .wait_connector(&[leader], "par", "the new owner continues the snapshot", |_, c| {
                let rows = snapshot_rows(c);
                if c.epoch <= epoch {
                    return Err("not taken over yet".into());
                }
                if rows < progress_before {
                    panic!("snapshot progress went back from {progress_before} to {rows}");
                }
                if rows > progress_before && (resumed(c) >= kill || c.snapshot.as_ref().is_some_and(|s| s.completed)) {
                    Ok(())
                } else {
                    Err(format!("{rows} rows, resumed {}", resumed(c)))
                }
            })
            .await
            .remove(0);
        if kill == 1 {
            let successor = continued.owner_node_id.expect("owned") as usize;
            cluster.freeze(successor);
            frozen = Some((successor, continued.epoch, continued));
        }
        cluster.restart(owner);
        cluster.wait_ready(owner).await;
    }
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let done = cluster
        .wait_connector(&[leader], "par", "the snapshot completes", |_, c| {
            if c.snapshot.as_ref().is_some_and(|s| s.completed) { Ok(()) } else { Err(format!("{} rows", snapshot_rows(c))) }
        })
        .await
        .remove(0);
    let progress = done.snapshot.unwrap();
    assert_eq!((progress.tables_done, progress.tables_total), (PARALLEL_TABLES as u64, PARALLEL_TABLES as u64));
    for writer in &writers {
        writer.progress(10).await;
    }
    let mut expected = Vec::new();
    for (writer, table) in writers.into_iter().zip(&tables) {
        let log = writer.stop().await;
        expected.push(Expected {
            snapshot: Snapshot::Initial,
            preloaded: PARALLEL_ROWS,
            ..Expected::streamed(&format!("par.{table}"), None, &log)
        });
    }
    chaos::settle(&broker, &expected).await;

    // Markers over the whole snapshot, in the committed output.
    let mut markers: BTreeMap<String, usize> = BTreeMap::new();
    for table in &tables {
        for record in broker.read_committed(&format!("par.{table}")).await {
            let Some(value) = record.value else { continue };
            let value: Value = serde_json::from_slice(&value).unwrap();
            if value["op"] == "r" {
                *markers.entry(value["source"]["snapshot"].as_str().unwrap_or("?").to_string()).or_default() += 1;
            }
        }
    }
    assert_eq!(markers.get("first"), Some(&1), "{markers:?}");
    assert_eq!(markers.get("last"), Some(&1), "{markers:?}");
    assert_eq!(markers.get("first_in_data_collection"), Some(&(PARALLEL_TABLES - 1)), "{markers:?}");
    assert_eq!(markers.get("last_in_data_collection"), Some(&(PARALLEL_TABLES - 1)), "{markers:?}");
}

/// The owner is frozen right after the Kafka transaction that completed
/// the snapshot, before its offset and snapshot progress reach Raft, then
/// SIGKILLed. Its successor resumes from Kafka's progress record, past
/// the snapshot, and streams; the snapshot must still show as completed
/// (Kafka's progress record carries the progress Raft did not get), and
/// every row is in the output once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_completed_in_kafka_only_shows_completed_after_takeover() {
    const TABLES: usize = 2;
    const TABLE_ROWS: i64 = 3_000;
    let tables: Vec<String> = (0..TABLES).map(|i| format!("inventory.q{i}")).collect();
    let db = MariaDb::start(&[]).await;
    let mut setup = vec!["CREATE DATABASE inventory".to_string()];
    for table in &tables {
        setup.push(chaos::create_table(table));
        setup.push(chaos::preload_sql(table, TABLE_ROWS));
    }
    db.sql(&setup.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).fault_points().start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    // Whichever node owns it freezes at the snapshot's last delivery.
    for node in cluster.nodes() {
        cluster.arm_fault(node, FREEZE_AFTER_SNAPSHOT_DELIVERED, "done");
    }
    let config = connectors::capturing_config(&db, 6324, "done", &[
        ("snapshot.mode", "initial"),
        ("snapshot.max.threads", "2"),
        ("snapshot.fetch.size", "500"),
        ("table.include.list", "inventory\\.q[0-9]"),
    ]);
    cluster
        .client(leader)
        .create_connector(CreateConnectorRequest { name: "done".into(), config: config.into_iter().collect(), paused: false })
        .await
        .expect("create the connector");
    // The owner may be the node asked: find it by its freeze.
    let owner = wait_until(Duration::from_secs(60), "the owner freezes after the snapshot's last delivery", || async {
        cluster.nodes().into_iter().find(|n| cluster.is_stopped(*n)).ok_or("no node stopped yet")
    })
    .await;
    let survivors: Vec<usize> = cluster.nodes().into_iter().filter(|n| *n != owner).collect();
    let c = cluster.connector(survivors[0], "done").await.unwrap();
    assert_eq!(c.owner_node_id, Some(owner as u64));
    let epoch = c.epoch;
    assert!(
        !c.snapshot.as_ref().is_some_and(|s| s.completed),
        "the completion reached Raft before the freeze: {:?}",
        c.snapshot
    );
    cluster.kill(owner);
    let leader = cluster.wait_leader(&survivors).await;
    let done = cluster
        .wait_connector(&[leader], "done", "the successor shows the snapshot completed", |_, c| {
            if c.epoch <= epoch {
                return Err("not taken over yet".into());
            }
            match &c.snapshot {
                Some(s) if s.completed => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await
        .remove(0);
    let progress = done.snapshot.unwrap();
    assert_eq!((progress.tables_done, progress.tables_total), (TABLES as u64, TABLES as u64));
    assert_eq!(progress.rows_read, TABLES as u64 * TABLE_ROWS as u64);
    let offset: Value = serde_json::from_str(&done.offset.unwrap().offset_json).unwrap();
    assert!(offset.get("snapshot_cursor").is_none(), "{offset}");
    for table in &tables {
        let topic = format!("done.{table}");
        wait_until(Duration::from_secs(60), &format!("every row of {table} once in {topic}"), || async {
            let mut ids: BTreeMap<i64, usize> = BTreeMap::new();
            for record in broker.read_committed(&topic).await {
                let Some(value) = record.value else { continue };
                let value: Value = serde_json::from_slice(&value).unwrap();
                if value["op"] == "r" {
                    *ids.entry(value["after"]["id"].as_i64().unwrap()).or_default() += 1;
                }
            }
            let once = ids.values().all(|n| *n == 1);
            if once && ids.len() == TABLE_ROWS as usize { Ok(()) } else { Err(format!("{} keys, all once: {once}", ids.len())) }
        })
        .await;
    }
}
