//! The chaos suite's workload and checker.
//!
//! # The workload
//! A [`Workload`] describes what is written to one table: how many writer
//! connections, how large each transaction is (statements, rows per
//! `INSERT`), whether primary keys change, and which rows were bulk-loaded
//! before. [`Workload::start`] runs it and answers a [`Writer`]; every
//! insert and update stamps the row with a unique `seq`.
//!
//! The history it records is exact even with several connections: writer
//! `w` owns the keys `first_id + w * ID_SPAN ..` (and the preloaded keys
//! `id % writers == w`), and only ever touches its own keys, including
//! the targets of its primary-key changes. The changes of one key are
//! therefore made by one connection, which commits in order, so its log
//! *is* the database's history of that key. Every transaction also
//! records its GTID (`@@last_gtid`), so a test that rewinds a connector to
//! an earlier offset knows exactly which transactions must come again
//! ([`Log::after_gtid`]). [`Writer::progress`] waits until the writers have
//! committed more transactions, which both spaces out faults and proves
//! that work was done in every interval between them.
//!
//! # The checker
//! [`check`] reads every committed record of the table's topic (and of the
//! transaction topic) with `read_committed` and compares them with the
//! history, key by key:
//!
//! - **Streaming**: the exact list of changes (`c`/`u` with their `seq`,
//!   `d`, and the tombstone after every delete, including the delete and
//!   tombstone of the old key of a key change) must match, which proves
//!   no loss, no duplicate and per-key order at once.
//! - **Initial snapshot** ([`Snapshot::Initial`]): a key is read (`r`) at
//!   most once, before any streamed change of it, and the read shows a
//!   `seq` the key really had; after it come exactly the key's changes
//!   after that `seq`. A key never read was either created after the
//!   snapshot (its whole history is streamed) or gone before it.
//! - **Incremental snapshot** ([`Snapshot::Incremental`]): streaming never
//!   stops, so without its read the key's records are exactly its
//!   history; the read (at most one) sits where DBLog's watermarks put it,
//!   so it shows the `seq` of the last change streamed before it (or the
//!   preloaded row).
//! - In every mode, the key's last record leaves it as the history does
//!   (present with the same `seq`, or deleted).
//! - **Transactions** (with a transaction topic): every source transaction
//!   has exactly one `BEGIN` and one `END`, `BEGIN`/`END` alternate (one
//!   transaction at a time, as the binlog orders them), their GTIDs rise,
//!   every data event's transaction has both, and the events carrying a
//!   transaction's id have `total_order` exactly `1..=event_count` of its
//!   `END`, with the per-table counts of `data_collections`. A missing
//!   `END` fails the check as surely as a wrong one. The transaction
//!   topic is read before the data topic, so an `END` the checker sees
//!   always has all its events in the data it reads next.
//!
//! - **Unwrapped output** ([`Expected::unwrapped`]): a topic written through
//!   Debezium's `ExtractNewRecordState` with
//!   `delete.tombstone.handling.mode=rewrite` and `add.fields=op` holds
//!   flat rows (`{"id","seq","v","__deleted","__op",..}`); they are read as
//!   the same changes (a delete is its `before` row with `__op: "d"`), and
//!   the expected history has no tombstones (rewrite drops them).
//!
//! A key whose committed records are not a prefix of what is expected can
//! never become right (committed records are final), so [`check`] calls
//! that [`Verdict::Broken`] and [`settle`] stops waiting for it; a missing
//! tail is [`Verdict::Pending`] until the deadline. [`settle`] checks every
//! connector of a scenario to the end and reports all that failed, so a
//! metadata defect in one does not hide duplicates in another.
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use serde_json::Value;

use crate::broker::Broker;
use crate::mariadb::MariaDb;
use crate::wait::wait_until;

/// The table the single-table scenarios write.
pub const TABLE: &str = "inventory.chaos";
/// Its DDL.
pub const CREATE_TABLE: &str = "CREATE TABLE inventory.chaos (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, v VARCHAR(32))";

/// The DDL of a workload table `name` (`db.table`).
pub fn create_table(name: &str) -> String {
    format!("CREATE TABLE {name} (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, v VARCHAR(32))")
}

/// Bulk-loads `rows` rows `id = seq = 1..=rows` into `table` with the
/// SEQUENCE engine (one statement, seconds for 100k rows).
pub fn preload_sql(table: &str, rows: i64) -> String {
    format!("INSERT INTO {table} (id, seq, v) SELECT seq, seq, 'loaded' FROM inventory.seq_1_to_{rows}")
}

/// Keys (and `seq` numbers) each writer connection owns: writer `w`
/// numbers from `first + w * ID_SPAN`.
pub const ID_SPAN: i64 = 100_000_000;

/// One committed change, as the checker expects to see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create(i64),
    Update(i64),
    Delete,
    /// The null-valued record after a delete (`tombstones.on.delete`).
    Tombstone,
    /// A snapshot read (`op: r`) showing this `seq`; never in a history.
    Read(i64),
}

impl Change {
    /// The `seq` the row has after this change, if it exists after it.
    fn seq(self) -> Option<i64> {
        match self {
            Change::Create(s) | Change::Update(s) | Change::Read(s) => Some(s),
            Change::Delete | Change::Tombstone => None,
        }
    }
}

/// Per key, its changes in order.
pub type History = BTreeMap<i64, Vec<Change>>;

/// One committed source transaction.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The sequence number of its MariaDB GTID (`domain-server-seq`).
    pub gtid_seq: u64,
    /// Its changes, in the order the database applied them.
    pub changes: Vec<(i64, Change)>,
}

/// Everything the writers committed.
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// In commit (GTID) order.
    pub transactions: Vec<Committed>,
}

impl Log {
    /// The per-key history of every transaction.
    pub fn history(&self) -> History {
        self.history_of(|_| true)
    }

    /// The per-key history of the transactions after GTID sequence `seq`:
    /// what a connector rewound to an offset naming `seq` delivers again.
    pub fn after_gtid(&self, seq: u64) -> History {
        self.history_of(|t| t.gtid_seq > seq)
    }

    fn history_of(&self, keep: impl Fn(&Committed) -> bool) -> History {
        let mut history = History::new();
        for txn in self.transactions.iter().filter(|t| keep(t)) {
            for (id, change) in &txn.changes {
                history.entry(*id).or_default().push(*change);
            }
        }
        history
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.transactions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }

    /// Appends a later writer's log.
    pub fn extend(&mut self, later: Log) {
        self.transactions.extend(later.transactions);
        self.transactions.sort_by_key(|t| t.gtid_seq);
    }
}

/// Appends `more` to `into`, key by key.
pub fn merge(into: &mut History, more: History) {
    for (id, changes) in more {
        into.entry(id).or_default().extend(changes);
    }
}

/// What to write. See the module documentation.
#[derive(Debug, Clone)]
pub struct Workload {
    /// `db.table`, created with [`create_table`].
    pub table: String,
    /// Writer connections, each with its own keys.
    pub writers: usize,
    /// Statements per transaction: 1 to this many.
    pub max_statements: u64,
    /// Rows per `INSERT`: 1 to this many (one rows event with them all).
    pub max_rows: u64,
    /// Whether updates sometimes change the primary key.
    pub key_changes: bool,
    /// Ids `1..=preloaded` exist already with `seq = id` (see
    /// [`preload_sql`]); the writers update and delete them too.
    pub preloaded: i64,
    /// First id and `seq` of writer 0 (the next writer starts
    /// [`ID_SPAN`] later); must not reach into the preloaded ids.
    pub first_id: i64,
    /// Pause between one writer's transactions.
    pub pause: Duration,
}

impl Workload {
    /// One connection, 1-4 single-row statements per transaction, on
    /// [`TABLE`].
    pub fn new(table: &str) -> Workload {
        Workload {
            table: table.to_string(),
            writers: 1,
            max_statements: 4,
            max_rows: 1,
            key_changes: false,
            preloaded: 0,
            first_id: 1,
            pause: Duration::from_millis(2),
        }
    }

    /// Starts the writers; `seed` makes the op mix reproducible.
    pub fn start(&self, db: &MariaDb, seed: u64) -> Writer {
        assert!(self.first_id > self.preloaded, "writer ids must not collide with preloaded ones");
        let stop = Arc::new(AtomicBool::new(false));
        let committed = Arc::new(AtomicU64::new(0));
        let tasks = (0..self.writers)
            .map(|w| {
                let me = WriterState {
                    workload: self.clone(),
                    next_id: self.first_id + w as i64 * ID_SPAN,
                    next_seq: self.first_id + w as i64 * ID_SPAN,
                    live: (1..=self.preloaded).filter(|id| id % self.writers as i64 == w as i64).collect(),
                    rng: (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (w as u64 + 1)) | 1,
                };
                tokio::spawn(me.run(db.root_opts(), stop.clone(), committed.clone()))
            })
            .collect();
        Writer { stop, committed, tasks }
    }
}

/// One writer connection's own keys and numbering.
struct WriterState {
    workload: Workload,
    next_id: i64,
    next_seq: i64,
    live: Vec<i64>,
    rng: u64,
}

impl WriterState {
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn seq(&mut self) -> i64 {
        self.next_seq += 1;
        self.next_seq - 1
    }

    /// Picks one of this writer's live keys; `take` removes it.
    fn target(&mut self, take: bool) -> i64 {
        let index = (self.next() % self.live.len() as u64) as usize;
        if take { self.live.swap_remove(index) } else { self.live[index] }
    }

    /// One statement and the changes it makes.
    fn statement(&mut self, changes: &mut Vec<(i64, Change)>) -> String {
        let table = self.workload.table.clone();
        let choice = self.next() % 20;
        if self.live.is_empty() || choice < 9 {
            let rows = 1 + self.next() % self.workload.max_rows;
            let mut values = Vec::new();
            for _ in 0..rows {
                let (id, seq) = (self.next_id, self.seq());
                self.next_id += 1;
                values.push(format!("({id}, {seq}, 'v{seq}')"));
                changes.push((id, Change::Create(seq)));
                self.live.push(id);
            }
            format!("INSERT INTO {table} (id, seq, v) VALUES {}", values.join(", "))
        } else if choice < 15 || (choice < 17 && !self.workload.key_changes) {
            let (target, seq) = (self.target(false), self.seq());
            changes.push((target, Change::Update(seq)));
            format!("UPDATE {table} SET seq = {seq}, v = 'u{seq}' WHERE id = {target}")
        } else if choice < 17 {
            // A primary-key change: Debezium's delete + tombstone of the
            // old key, then a create of the new one.
            let (old, seq, new) = (self.target(true), self.seq(), self.next_id);
            self.next_id += 1;
            self.live.push(new);
            changes.extend([(old, Change::Delete), (old, Change::Tombstone), (new, Change::Create(seq))]);
            format!("UPDATE {table} SET id = {new}, seq = {seq}, v = 'k{seq}' WHERE id = {old}")
        } else {
            let target = self.target(true);
            changes.extend([(target, Change::Delete), (target, Change::Tombstone)]);
            format!("DELETE FROM {table} WHERE id = {target}")
        }
    }

    async fn run(mut self, opts: mysql_async::Opts, stop: Arc<AtomicBool>, committed: Arc<AtomicU64>) -> Log {
        let mut conn = mysql_async::Conn::new(opts).await.expect("writer connection");
        let mut log = Log::default();
        while !stop.load(Ordering::Relaxed) {
            let statements = 1 + self.next() % self.workload.max_statements;
            let mut changes = Vec::new();
            let mut sql = vec!["BEGIN".to_string()];
            for _ in 0..statements {
                sql.push(self.statement(&mut changes));
            }
            sql.push("COMMIT".to_string());
            for statement in &sql {
                conn.query_drop(statement).await.unwrap_or_else(|e| panic!("writer: {statement}: {e}"));
            }
            let gtid: Option<String> = conn.query_first("SELECT @@last_gtid").await.expect("@@last_gtid");
            let gtid_seq = gtid
                .as_deref()
                .and_then(|g| g.rsplit('-').next())
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("writer: @@last_gtid is {gtid:?}"));
            log.transactions.push(Committed { gtid_seq, changes });
            committed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.workload.pause).await;
        }
        let _ = conn.disconnect().await;
        log
    }
}

/// A running workload; [`Writer::stop`] answers what it committed.
pub struct Writer {
    stop: Arc<AtomicBool>,
    committed: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<Log>>,
}

impl Writer {
    /// One connection on [`TABLE`] with ids and `seq` from `next_id` and
    /// `next_seq` (which must be equal or unused), the classic mix.
    pub fn start(db: &MariaDb, seed: u64, next_id: i64, next_seq: i64) -> Writer {
        assert_eq!(next_id, next_seq, "a writer numbers ids and seq from one counter");
        Workload { first_id: next_id, ..Workload::new(TABLE) }.start(db, seed)
    }

    /// Transactions committed so far by all writers.
    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Relaxed)
    }

    /// Waits until the writers have committed `txns` more transactions:
    /// the spacing between faults, and the proof that work was done in
    /// every interval. Fails if a writer died or stalls for a minute.
    pub async fn progress(&self, txns: u64) {
        let target = self.committed() + txns;
        wait_until(Duration::from_secs(60), &format!("the writers commit {txns} more transactions"), || async move {
            if self.tasks.iter().any(|t| t.is_finished()) {
                panic!("a writer stopped on its own (see its panic above)");
            }
            let now = self.committed();
            if now >= target { Ok(()) } else { Err(format!("{now} of {target}")) }
        })
        .await
    }

    /// Stops after the current transactions; everything committed, in
    /// GTID order.
    pub async fn stop(self) -> Log {
        self.stop.store(true, Ordering::Relaxed);
        let mut log = Log::default();
        for task in self.tasks {
            log.extend(task.await.expect("a writer panicked"));
        }
        log
    }
}

/// How snapshot reads may appear in the topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snapshot {
    /// None may: streaming only.
    None,
    /// An initial (blocking) snapshot before streaming.
    Initial,
    /// An incremental (DBLog) snapshot while streaming.
    Incremental,
}

/// What one connector's output must be.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The table's topic, `<prefix>.<db>.<table>`.
    pub topic: String,
    /// `<prefix>.transaction`, for connectors with
    /// `provide.transaction.metadata`.
    pub transaction_topic: Option<String>,
    /// The history streamed changes must show.
    pub history: History,
    /// How snapshot reads may appear.
    pub snapshot: Snapshot,
    /// Ids `1..=preloaded` existed with `seq = id` before the connector.
    pub preloaded: i64,
    /// The exact number of source transactions (`BEGIN` records), when
    /// every committed transaction touched the table after the connector
    /// began streaming.
    pub transactions: Option<usize>,
}

impl Expected {
    /// A streaming-only connector writing `topic` (and, if given, its
    /// transaction topic) that must show exactly `log`.
    pub fn streamed(topic: &str, transaction_topic: Option<&str>, log: &Log) -> Expected {
        Expected {
            topic: topic.to_string(),
            transaction_topic: transaction_topic.map(str::to_string),
            history: log.history(),
            snapshot: Snapshot::None,
            preloaded: 0,
            transactions: transaction_topic.map(|_| log.len()),
        }
    }
}

impl Expected {
    /// A streaming-only connector whose `topic` is written through
    /// `ExtractNewRecordState` (`delete.tombstone.handling.mode=rewrite`,
    /// `add.fields=op`, perhaps routed): exactly `log`, without tombstones.
    pub fn unwrapped(topic: &str, log: &Log) -> Expected {
        let mut expected = Expected::streamed(topic, None, log);
        for changes in expected.history.values_mut() {
            changes.retain(|c| *c != Change::Tombstone);
        }
        expected
    }
}

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Something may still arrive (the output lags behind).
    Pending(String),
    /// Committed output is wrong and can never become right (a duplicate,
    /// a reordering, a change the database never made).
    Broken(String),
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Pending(why) => write!(f, "incomplete: {why}"),
            Verdict::Broken(why) => write!(f, "wrong: {why}"),
        }
    }
}

/// One connector's committed data records, per key, and the transaction
/// blocks of its events (`id → total_order list`, per-topic counts).
struct Observed {
    keys: History,
    orders: HashMap<String, Vec<i64>>,
}

fn key_id(key: &[u8]) -> Option<i64> {
    let key: Value = serde_json::from_slice(key).ok()?;
    key["id"].as_i64().or(key["payload"]["id"].as_i64())
}

async fn observe(broker: &Broker, topic: &str) -> Result<Observed, String> {
    let mut keys = History::new();
    let mut orders: HashMap<String, Vec<i64>> = HashMap::new();
    for record in broker.read_committed(topic).await {
        let Some(value) = record.value else {
            let id = record.key.as_deref().and_then(key_id).ok_or("a tombstone without an id key")?;
            keys.entry(id).or_default().push(Change::Tombstone);
            continue;
        };
        let value: Value = serde_json::from_slice(&value).map_err(|e| e.to_string())?;
        let value = if value["payload"].is_object() { value["payload"].clone() } else { value };
        if let Some(op) = value["__op"].as_str() {
            // A flat row from ExtractNewRecordState (rewrite, add.fields=op).
            let seq = || value["seq"].as_i64().ok_or_else(|| format!("no seq in {value}"));
            let change = match (op, value["__deleted"].as_str()) {
                ("c", Some("false")) => Change::Create(seq()?),
                ("u", Some("false")) => Change::Update(seq()?),
                ("r", Some("false")) => Change::Read(seq()?),
                ("d", Some("true")) => Change::Delete,
                other => return Err(format!("unexpected __op/__deleted {other:?} in {value}")),
            };
            let id = value["id"].as_i64().ok_or("no id")?;
            keys.entry(id).or_default().push(change);
            continue;
        }
        let seq = || value["after"]["seq"].as_i64().ok_or_else(|| format!("no seq in {value}"));
        let change = match value["op"].as_str() {
            Some("c") => Change::Create(seq()?),
            Some("u") => Change::Update(seq()?),
            Some("r") => Change::Read(seq()?),
            Some("d") => Change::Delete,
            other => return Err(format!("unexpected op {other:?} in {value}")),
        };
        let id = value["after"]["id"].as_i64().or(value["before"]["id"].as_i64()).ok_or("no id")?;
        keys.entry(id).or_default().push(change);
        if let Some(txid) = value["transaction"]["id"].as_str() {
            let order = value["transaction"]["total_order"].as_i64().ok_or("no total_order")?;
            orders.entry(txid.to_string()).or_default().push(order);
        }
    }
    Ok(Observed { keys, orders })
}

/// Compares one key's committed records with what it must be.
fn check_key(id: i64, seen: &[Change], history: &[Change], mode: Snapshot, preloaded: bool) -> Result<(), Verdict> {
    let describe = |why: &str| format!("id {id}: {why}: database {history:?}, kafka {seen:?}");
    let reads: Vec<usize> = seen.iter().enumerate().filter(|(_, c)| matches!(c, Change::Read(_))).map(|(i, _)| i).collect();
    if reads.len() > 1 {
        return Err(Verdict::Broken(describe(&format!("read {} times by one snapshot", reads.len()))));
    }
    let loaded = preloaded.then_some(Change::Create(id));
    // What must be streamed for the key, with its preloaded row first
    // when an initial snapshot may show it.
    let full: Vec<Change> = match mode {
        Snapshot::Initial => loaded.into_iter().chain(history.iter().copied()).collect(),
        _ => history.to_vec(),
    };
    let expected: Vec<Change> = match (mode, reads.first()) {
        (Snapshot::None, Some(_)) => return Err(Verdict::Broken(describe("a snapshot read in a streaming-only run"))),
        (Snapshot::None, None) => full,
        // A preloaded row nobody changed can only reach the topic by its read.
        (Snapshot::Incremental, None) if preloaded && history.is_empty() => vec![Change::Read(id)],
        (Snapshot::Incremental, None) => full,
        (Snapshot::Initial, None) => {
            // Created after the snapshot (all streamed), or gone before it.
            let gone = matches!(full.last(), Some(Change::Tombstone));
            if seen.is_empty() && gone {
                return Ok(());
            }
            if preloaded && !seen.is_empty() {
                return Err(Verdict::Broken(describe("streamed changes of a row its snapshot never read")));
            }
            full
        }
        (Snapshot::Initial, Some(&at)) => {
            if at != 0 {
                return Err(Verdict::Broken(describe("streamed changes before its snapshot read")));
            }
            let shown = seen[0].seq();
            let Some(from) = full.iter().rposition(|c| matches!(c, Change::Create(_) | Change::Update(_)) && c.seq() == shown) else {
                return Err(Verdict::Broken(describe("the snapshot read shows a seq the row never had")));
            };
            if seen.get(1).is_some_and(|next| next.seq() == shown) {
                return Err(Verdict::Broken(describe("the change its snapshot read already shows is streamed again")));
            }
            std::iter::once(seen[0]).chain(full[from + 1..].iter().copied()).collect()
        }
        (Snapshot::Incremental, Some(&at)) => {
            let before = history[..at.min(history.len())].iter().rev().find(|c| !matches!(c, Change::Tombstone));
            let state = match before {
                Some(change) => change.seq(),
                None => preloaded.then_some(id),
            };
            if seen[at].seq() != state || state.is_none() {
                return Err(Verdict::Broken(describe(&format!(
                    "the incremental snapshot read is not the row as streamed before it (seq {state:?})"
                ))));
            }
            let mut with_read = full;
            with_read.insert(at.min(with_read.len()), seen[at]);
            with_read
        }
    };
    if seen == expected.as_slice() {
        Ok(())
    } else if expected.starts_with(seen) {
        Err(Verdict::Pending(describe("changes missing")))
    } else {
        Err(Verdict::Broken(describe("duplicate, reordered or unknown changes")))
    }
}

/// Checks one connector's committed output. See the module documentation.
pub async fn check(broker: &Broker, expected: &Expected) -> Result<(), Verdict> {
    // The transaction topic first: an END that is visible then has all its
    // events visible in the data read after it, while events read after
    // their END was (not yet) read only make a transaction pending.
    let markers = match &expected.transaction_topic {
        Some(topic) => Some(broker.read_committed(topic).await),
        None => None,
    };
    let observed = observe(broker, &expected.topic).await.map_err(Verdict::Broken)?;
    let mut broken = Vec::new();
    let mut pending = Vec::new();
    let preloaded_ids = 1..=expected.preloaded;
    let mut ids: Vec<i64> = expected.history.keys().chain(observed.keys.keys()).copied().collect();
    if expected.snapshot != Snapshot::None {
        ids.extend(preloaded_ids.clone());
    }
    ids.sort_unstable();
    ids.dedup();
    let empty = Vec::new();
    for id in ids {
        let seen = observed.keys.get(&id).unwrap_or(&empty);
        let history = expected.history.get(&id).unwrap_or(&empty);
        match check_key(id, seen, history, expected.snapshot, preloaded_ids.contains(&id)) {
            Ok(()) => {}
            Err(Verdict::Broken(why)) => broken.push(why),
            Err(Verdict::Pending(why)) => pending.push(why),
        }
    }
    let summary = |list: &[String]| {
        format!("{} keys, e.g. {}", list.len(), list.iter().take(4).cloned().collect::<Vec<_>>().join("; "))
    };
    let data = if !broken.is_empty() {
        Err(Verdict::Broken(format!("{}: {}", expected.topic, summary(&broken))))
    } else if !pending.is_empty() {
        Err(Verdict::Pending(format!("{}: {}", expected.topic, summary(&pending))))
    } else {
        Ok(())
    };
    let transactions = match (&expected.transaction_topic, markers) {
        (Some(transaction_topic), Some(markers)) => {
            check_transactions(markers, transaction_topic, &expected.topic, &observed, expected.transactions)
        }
        _ => Ok(()),
    };
    // Both verdicts. Wrong data is final; data still arriving is waited
    // for even when the metadata is already wrong, so a failure never
    // reports changes as missing that were only late.
    match (data, transactions) {
        (Ok(()), other) | (other, Ok(())) => other,
        (Err(Verdict::Broken(a)), Err(b)) => Err(Verdict::Broken(format!("wrong: {a}; {b}"))),
        (Err(Verdict::Pending(a)), Err(b)) => Err(Verdict::Pending(format!("{a}; {b}"))),
    }
}

/// The transaction-metadata rules of the module documentation.
fn check_transactions(
    markers: Vec<crate::broker::Consumed>,
    transaction_topic: &str,
    topic: &str,
    observed: &Observed,
    transactions: Option<usize>,
) -> Result<(), Verdict> {
    let broken = |why: String| Err(Verdict::Broken(format!("{transaction_topic}: {why}")));
    let pending = |why: String| Err(Verdict::Pending(format!("{transaction_topic}: {why}")));
    let mut open: Option<String> = None;
    let mut begun: HashMap<String, usize> = HashMap::new();
    let mut ended: HashMap<String, (usize, BTreeMap<String, usize>)> = HashMap::new();
    let mut last_gtid: Option<(String, u64)> = None;
    for record in markers {
        let Some(value) = record.value else { continue };
        let value: Value = serde_json::from_slice(&value).map_err(|e| Verdict::Broken(e.to_string()))?;
        let value = if value["payload"].is_object() { value["payload"].clone() } else { value };
        let id = value["id"].as_str().unwrap_or_default().to_string();
        match value["status"].as_str() {
            Some("BEGIN") => {
                if let Some(other) = &open {
                    return broken(format!("BEGIN {id} while {other} has no END"));
                }
                if begun.contains_key(&id) {
                    return broken(format!("a second BEGIN of {id}"));
                }
                let seq = id.rsplit('-').next().and_then(|s| s.parse::<u64>().ok());
                if let (Some(seq), Some((before, last))) = (seq, &last_gtid) {
                    if seq <= *last {
                        return broken(format!("BEGIN {id} after BEGIN {before}: transactions out of commit order"));
                    }
                }
                if let Some(seq) = seq {
                    last_gtid = Some((id.clone(), seq));
                }
                begun.insert(id.clone(), record.offset as usize);
                open = Some(id);
            }
            Some("END") => {
                if open.as_deref() != Some(id.as_str()) {
                    return broken(format!("END {id} while the open transaction is {open:?}"));
                }
                open = None;
                let count = value["event_count"].as_u64().unwrap_or(0) as usize;
                let collections = value["data_collections"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| (c["data_collection"].as_str().unwrap_or_default().to_string(), c["event_count"].as_u64().unwrap_or(0) as usize))
                    .collect();
                ended.insert(id, (count, collections));
            }
            other => return broken(format!("a transaction record with status {other:?}")),
        }
    }
    if let Some(id) = open {
        return pending(format!("transaction {id} has a BEGIN and no END"));
    }
    for (id, orders) in &observed.orders {
        let Some((count, collections)) = ended.get(id) else {
            return pending(format!("transaction {id} has {} visible events and no END", orders.len()));
        };
        let mut sorted = orders.clone();
        sorted.sort_unstable();
        if sorted != (1..=*count as i64).collect::<Vec<_>>() {
            return broken(format!(
                "transaction {id}: END says {count} events, the {} visible ones have total_order {sorted:?}",
                sorted.len()
            ));
        }
        let table = collections.get(topic).copied().unwrap_or(0);
        let total: usize = collections.values().sum();
        if table != orders.len() || total != *count {
            return broken(format!("transaction {id}: data_collections {collections:?} do not match its {count} events"));
        }
    }
    for id in ended.keys() {
        if !observed.orders.contains_key(id) {
            return broken(format!("transaction {id}: an END, no visible events"));
        }
    }
    if let Some(expected) = transactions {
        if begun.len() > expected {
            return broken(format!("{} transactions, the database committed {expected}", begun.len()));
        }
        if begun.len() < expected {
            return pending(format!("{} of {expected} transactions", begun.len()));
        }
    }
    Ok(())
}

/// With `CHAOS_DUMP=<dir>`, writes what `read_committed` consumers see of
/// every checked topic to `<dir>/<topic>.jsonl` (one record per line:
/// partition, offset, key, value), for reading a failure after the broker
/// is gone.
async fn dump(broker: &Broker, expected: &[Expected]) {
    let Some(dir) = std::env::var_os("CHAOS_DUMP").map(std::path::PathBuf::from) else { return };
    let _ = std::fs::create_dir_all(&dir);
    for topic in expected.iter().flat_map(|e| std::iter::once(&e.topic).chain(&e.transaction_topic)) {
        let lines: Vec<String> = broker
            .read_committed(topic)
            .await
            .into_iter()
            .map(|c| {
                let text = |b: &Option<Vec<u8>>| b.as_deref().map(|b| String::from_utf8_lossy(b).into_owned());
                serde_json::json!({"partition": c.partition, "offset": c.offset, "key": text(&c.key), "value": text(&c.value)}).to_string()
            })
            .collect();
        let path = dir.join(format!("{topic}.jsonl"));
        let _ = std::fs::write(&path, lines.join("\n"));
        eprintln!("dumped {} records of {topic} to {}", lines.len(), path.display());
    }
}

/// How long [`settle`] waits for the output to catch up.
pub const SETTLE: Duration = Duration::from_secs(90);

/// Waits until [`check`] passes for every connector in `expected`, and
/// fails listing each one that did not: at once when all that are not
/// right are [`Verdict::Broken`], else at [`SETTLE`] with the last
/// observations. Every connector is checked to the end, so one failure
/// does not hide another's.
pub async fn settle(broker: &Broker, expected: &[Expected]) {
    let started = std::time::Instant::now();
    let mut verdicts: Vec<Option<Result<(), Verdict>>> = vec![None; expected.len()];
    loop {
        for (verdict, expected) in verdicts.iter_mut().zip(expected) {
            if matches!(verdict, Some(Ok(())) | Some(Err(Verdict::Broken(_)))) {
                continue;
            }
            *verdict = Some(check(broker, expected).await);
        }
        let settled = verdicts.iter().all(|v| !matches!(v, Some(Err(Verdict::Pending(_)))));
        if settled || started.elapsed() >= SETTLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let failures: Vec<String> = verdicts
        .into_iter()
        .zip(expected)
        .filter_map(|(verdict, expected)| match verdict {
            Some(Ok(())) => None,
            Some(Err(Verdict::Broken(why))) => Some(why),
            Some(Err(Verdict::Pending(why))) => Some(format!("still incomplete at the deadline: {why}")),
            None => Some(format!("{}: never checked", expected.topic)),
        })
        .collect();
    let changes: usize = expected.iter().flat_map(|e| e.history.values()).map(Vec::len).sum();
    if !failures.is_empty() {
        dump(broker, expected).await;
    }
    assert!(
        failures.is_empty(),
        "the output of {} of {} connectors is not exactly the {changes} changes committed (after {:.0?}):\n{}",
        failures.len(),
        expected.len(),
        started.elapsed(),
        failures.join("\n")
    );
}

#[cfg(test)]
mod tests {
    //! The per-key rules on hand-made histories: each kind of wrong output
    //! is caught, and as the right kind of verdict.
    use super::Change::{Create as C, Delete as D, Read as R, Tombstone as T, Update as U};
    use super::*;

    fn verdict(seen: &[Change], history: &[Change], mode: Snapshot, preloaded: bool) -> Result<(), Verdict> {
        check_key(7, seen, history, mode, preloaded)
    }

    fn broken(result: Result<(), Verdict>) -> bool {
        matches!(result, Err(Verdict::Broken(_)))
    }

    #[test]
    fn streaming_is_exact() {
        let history = [C(1), U(2), D, T];
        assert_eq!(verdict(&history, &history, Snapshot::None, false), Ok(()));
        assert!(matches!(verdict(&[C(1)], &history, Snapshot::None, false), Err(Verdict::Pending(_))));
        assert!(broken(verdict(&[C(1), C(1), U(2), D, T], &history, Snapshot::None, false)), "duplicate");
        assert!(broken(verdict(&[C(1), D, T], &history, Snapshot::None, false)), "a lost middle change");
        assert!(broken(verdict(&[C(1), U(2), T], &history, Snapshot::None, false)), "a lost delete");
        assert!(broken(verdict(&[R(1)], &[C(1)], Snapshot::None, false)), "a read while streaming only");
    }

    #[test]
    fn an_initial_snapshot_reads_each_key_once_then_streams_the_rest() {
        assert_eq!(verdict(&[R(7)], &[], Snapshot::Initial, true), Ok(()));
        assert_eq!(verdict(&[R(7), U(9)], &[U(9)], Snapshot::Initial, true), Ok(()));
        assert_eq!(verdict(&[R(9)], &[U(9)], Snapshot::Initial, true), Ok(()));
        assert_eq!(verdict(&[], &[D, T], Snapshot::Initial, true), Ok(()), "gone before the snapshot");
        assert_eq!(verdict(&[C(3), U(4)], &[C(3), U(4)], Snapshot::Initial, false), Ok(()), "created after it");
        assert!(broken(verdict(&[R(7), R(7)], &[], Snapshot::Initial, true)), "read twice");
        assert!(broken(verdict(&[R(7), U(9), U(9)], &[U(9)], Snapshot::Initial, true)), "streamed twice");
        assert!(broken(verdict(&[R(8)], &[U(9)], Snapshot::Initial, true)), "a seq the row never had");
        assert!(broken(verdict(&[U(9), R(9)], &[U(9)], Snapshot::Initial, true)), "streamed before its read");
        assert!(broken(verdict(&[R(9), U(9)], &[U(9)], Snapshot::Initial, true)), "read, then streamed again");
        assert!(broken(verdict(&[D, T], &[D, T], Snapshot::Initial, true)), "deleted, never read");
        assert!(matches!(verdict(&[], &[], Snapshot::Initial, true), Err(Verdict::Pending(_))), "never read");
    }

    #[test]
    fn an_incremental_read_shows_the_row_as_streamed_before_it() {
        assert_eq!(verdict(&[R(7)], &[], Snapshot::Incremental, true), Ok(()));
        assert_eq!(verdict(&[U(9), R(9), U(10)], &[U(9), U(10)], Snapshot::Incremental, true), Ok(()));
        assert_eq!(verdict(&[R(7), U(9)], &[U(9)], Snapshot::Incremental, true), Ok(()));
        assert_eq!(verdict(&[U(9)], &[U(9)], Snapshot::Incremental, true), Ok(()), "not read (changed in its window)");
        assert!(broken(verdict(&[U(9), R(7)], &[U(9)], Snapshot::Incremental, true)), "a stale read");
        assert!(broken(verdict(&[U(9), D, T, R(9)], &[U(9), D, T], Snapshot::Incremental, true)), "a read of a deleted row");
        assert!(broken(verdict(&[R(7), U(9), U(9)], &[U(9)], Snapshot::Incremental, true)), "streamed twice");
        assert!(matches!(verdict(&[], &[], Snapshot::Incremental, true), Err(Verdict::Pending(_))), "never read");
    }
}
