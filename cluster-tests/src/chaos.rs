//! The chaos suite's workload and checker.
//!
//! [`Writer`] applies a continuous workload to MariaDB through one
//! connection — inserts, updates, deletes and multi-row transactions —
//! where every insert and update stamps the row with a unique, increasing
//! `seq`. Because one connection commits in order, the writer's log of
//! committed changes *is* the database's history of the table.
//!
//! [`check`] reads every committed record of the table's topic (and the
//! transaction topic) with `read_committed` and compares them with that
//! history, key by key: the exact list of `(op, seq)` must match, which
//! proves no loss, no duplicate and per-key order at once; and every
//! source transaction's events must be all visible or none (its `END`
//! record's `event_count` equals the events that carry its id).
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use serde_json::Value;

use crate::broker::Broker;
use crate::mariadb::MariaDb;

/// The table the workload writes.
pub const TABLE: &str = "inventory.chaos";
/// Its DDL.
pub const CREATE_TABLE: &str = "CREATE TABLE inventory.chaos (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, v VARCHAR(32))";

/// One committed change, as the checker expects to see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create(i64),
    Update(i64),
    Delete,
}

/// The database's history of the table: per id, its changes in order.
pub type History = BTreeMap<i64, Vec<Change>>;

/// A running workload; [`Writer::stop`] returns the committed history.
pub struct Writer {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(History, u64)>,
}

impl Writer {
    /// Starts writing. `seed` makes the op mix reproducible; `next_id`
    /// and `next_seq` continue a previous writer's numbering.
    pub fn start(db: &MariaDb, seed: u64, next_id: i64, next_seq: i64) -> Writer {
        let opts = db.root_opts();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut conn = mysql_async::Conn::new(opts).await.expect("writer connection");
            let mut history = History::new();
            let mut live: Vec<i64> = Vec::new();
            let (mut id, mut seq, mut rng, mut txns) = (next_id, next_seq, seed | 1, 0u64);
            let mut next = move || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng
            };
            while !flag.load(Ordering::Relaxed) {
                let statements = 1 + (next() % 4) as usize;
                let mut sql = vec!["BEGIN".to_string()];
                let mut changes = Vec::new();
                for _ in 0..statements {
                    let choice = next() % 10;
                    if live.is_empty() || choice < 5 {
                        sql.push(format!("INSERT INTO {TABLE} VALUES ({id}, {seq}, 'v{seq}')"));
                        changes.push((id, Change::Create(seq)));
                        live.push(id);
                        id += 1;
                        seq += 1;
                    } else if choice < 8 {
                        let target = live[(next() % live.len() as u64) as usize];
                        sql.push(format!("UPDATE {TABLE} SET seq = {seq}, v = 'u{seq}' WHERE id = {target}"));
                        changes.push((target, Change::Update(seq)));
                        seq += 1;
                    } else {
                        let index = (next() % live.len() as u64) as usize;
                        let target = live.swap_remove(index);
                        sql.push(format!("DELETE FROM {TABLE} WHERE id = {target}"));
                        changes.push((target, Change::Delete));
                    }
                }
                sql.push("COMMIT".to_string());
                for statement in &sql {
                    conn.query_drop(statement).await.unwrap_or_else(|e| panic!("writer: {statement}: {e}"));
                }
                for (id, change) in changes {
                    history.entry(id).or_default().push(change);
                }
                txns += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let _ = conn.disconnect().await;
            (history, txns)
        });
        Writer { stop, task }
    }

    /// Stops after the current transaction; the committed history and the
    /// number of transactions.
    pub async fn stop(self) -> (History, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the writer panicked")
    }
}

/// Merges histories of consecutive writers.
pub fn merge(into: &mut History, more: History) {
    for (id, changes) in more {
        into.entry(id).or_default().extend(changes);
    }
}

/// What the topic shows per id, or why it cannot be read.
pub async fn observed(broker: &Broker, topic: &str) -> Result<(History, HashMap<String, usize>), String> {
    let mut seen = History::new();
    let mut per_txn: HashMap<String, usize> = HashMap::new();
    for record in broker.read_committed(topic).await {
        let Some(value) = record.value else { continue }; // tombstone
        let value: Value = serde_json::from_slice(&value).map_err(|e| e.to_string())?;
        let change = match value["op"].as_str() {
            Some("c") => Change::Create(value["after"]["seq"].as_i64().ok_or("no seq")?),
            Some("u") => Change::Update(value["after"]["seq"].as_i64().ok_or("no seq")?),
            Some("d") => Change::Delete,
            other => return Err(format!("unexpected op {other:?}")),
        };
        let id = value["after"]["id"].as_i64().or(value["before"]["id"].as_i64()).ok_or("no id")?;
        seen.entry(id).or_default().push(change);
        if let Some(txid) = value["transaction"]["id"].as_str() {
            *per_txn.entry(txid.to_string()).or_default() += 1;
        }
    }
    Ok((seen, per_txn))
}

/// Checks the topic against the history: equal per key (no loss, no
/// duplicate, order), and every ended transaction complete.
pub async fn check(broker: &Broker, topic: &str, transaction_topic: &str, history: &History) -> Result<(), String> {
    let (seen, per_txn) = observed(broker, topic).await?;
    if &seen != history {
        let mut diffs = Vec::new();
        for id in history.keys().chain(seen.keys()) {
            if history.get(id) != seen.get(id) {
                diffs.push(format!("id {id}: database {:?}, kafka {:?}", history.get(id), seen.get(id)));
            }
            if diffs.len() > 5 {
                break;
            }
        }
        return Err(format!("kafka differs from the database history: {}", diffs.join("; ")));
    }
    for record in broker.read_committed(transaction_topic).await {
        let Some(value) = record.value else { continue };
        let value: Value = serde_json::from_slice(&value).map_err(|e| e.to_string())?;
        if value["status"] != "END" {
            continue;
        }
        let id = value["id"].as_str().unwrap_or_default();
        let expected = value["event_count"].as_u64().unwrap_or(0) as usize;
        let visible = per_txn.get(id).copied().unwrap_or(0);
        if visible != expected {
            return Err(format!("transaction {id}: END says {expected} events, {visible} are visible"));
        }
    }
    Ok(())
}
