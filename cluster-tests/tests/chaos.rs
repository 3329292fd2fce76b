//! The exactly-once chaos suite: continuous workloads against MariaDB,
//! three real raftcdc processes, a real broker, and faults in the middle;
//! at the end the checker ([`cluster_tests::chaos`]) compares everything
//! `read_committed` consumers see with the database's history (no loss,
//! no duplicate, per-key order, snapshot reads at most once, transaction
//! metadata complete and atomic).
//!
//! What the scenarios cover:
//!
//! - **Process faults** of the owner under load: `SIGKILL` (repeatedly),
//!   `SIGSTOP` (also with a Kafka transaction provably open and the
//!   committed progress inside a split source transaction, checked while
//!   the owner is frozen), a network partition, the whole cluster, the
//!   broker and MariaDB restarting; a **database failover** to a promoted
//!   GTID replica, followed by an owner kill.
//! - **A zombie frozen between its Raft claim and `init_transactions`**,
//!   through the product's fault point (`RAFTCDC_FAULT_FREEZE_AFTER_CLAIM`):
//!   its late `init_transactions` must not let it commit anything, also
//!   when it wakes up cut off from its peers.
//! - **Ten connectors spread over every node** by placement, with the
//!   owners of random connectors (followers and leaders) killed under load.
//! - **Five connectors at once**, each with its own table, topic prefix and
//!   server id, with owners killed while their transactions are open, and
//!   with connectors restarted one at a time; and, deterministically,
//!   **another connector's transaction held open in a topic this connector
//!   writes too** (as its owner leaves it when frozen mid-transaction on
//!   another node) across a takeover and a restart: a takeover reads only
//!   the connector's own progress topic, which no other producer writes.
//! - **Hard workloads**: source transactions larger than `max.batch.size`,
//!   several writer connections, primary-key changes, DDL mid-stream.
//! - **Snapshots under faults**: an initial and an incremental snapshot of
//!   100k rows with the owner killed mid-snapshot.
//! - **Lifecycle under load**: `offsets set`, config update, pause/resume,
//!   delete and re-create.
//!
//! Every scenario waits for the writers to commit work between faults
//! (which also spaces the faults out) and checks at the end.
//!
//! Scale: `CHAOS_KILLS` (default 3) is the number of kills in the
//! repeated-kill scenarios (one connector and five; the five-connector
//! restart scenario does twice as many restarts); CI runs the default, a
//! soak sets it higher. `CHAOS_SEED` fixes the random choice of which
//! owner to kill (the seed is printed).
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cluster_tests::broker::Broker;
use cluster_tests::chaos::{self, Expected, Log, Snapshot, Workload, Writer};
use cluster_tests::cluster::Cluster;
use cluster_tests::connectors;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::wait::{wait_until, DEFAULT_DEADLINE};
use raftcdc::proto::{ConnectorRef, CreateConnectorRequest, SetOffsetsRequest, StartSnapshotRequest, UpdateConnectorRequest};

/// Transactions the writers commit between two faults (and before the
/// first, and after the last).
const BETWEEN_FAULTS: u64 = 20;

fn kills() -> usize {
    std::env::var("CHAOS_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(3)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A database, a broker and a three-node cluster with a leader.
struct Rig {
    db: MariaDb,
    broker: Broker,
    cluster: Cluster,
}

impl Rig {
    /// Runs `setup` (after `CREATE DATABASE inventory`) and starts the rest;
    /// `fault_points` arms nothing yet, it only lets the test do so.
    async fn start(setup: &[String], fault_points: bool) -> Rig {
        let db = MariaDb::start(&[]).await;
        let mut statements = vec!["CREATE DATABASE inventory"];
        statements.extend(setup.iter().map(String::as_str));
        db.sql(&statements).await;
        let broker = Broker::start().await;
        let mut builder = Cluster::builder().kafka(broker.bootstrap());
        if fault_points {
            builder = builder.fault_points();
        }
        let cluster = builder.start().await;
        cluster.init().await;
        cluster.wait_leader(&cluster.nodes()).await;
        Rig { db, broker, cluster }
    }

    async fn leader(&self) -> usize {
        self.cluster.wait_leader(&self.cluster.nodes()).await
    }

    fn others(&self, node: usize) -> Vec<usize> {
        self.cluster.nodes().into_iter().filter(|n| *n != node).collect()
    }

    /// The node that owns `feed` now, as the leader sees it.
    async fn owner(&self, feed: &Feed) -> (usize, u64) {
        let leader = self.leader().await;
        let views = self
            .cluster
            .wait_connector(&[leader], &feed.name, "has an owner", |_, c| {
                if c.owner_node_id.is_some() { Ok(()) } else { Err("no owner".into()) }
            })
            .await;
        (views[0].owner_node_id.unwrap() as usize, views[0].epoch)
    }

    /// Waits until `feed` is owned by one of `among` under an epoch above
    /// `old_epoch`, and that owner has committed an offset since `since_ms`.
    async fn taken_over(&self, feed: &Feed, among: &[usize], old_epoch: u64, since_ms: i64) -> usize {
        let leader = self.cluster.wait_leader(among).await;
        let views = self
            .cluster
            .wait_connector(&[leader], &feed.name, "taken over and committing", |_, c| match c.owner_node_id {
                Some(owner) if among.contains(&(owner as usize)) && c.epoch > old_epoch => {
                    if c.offset.as_ref().is_some_and(|o| o.committed_ms > since_ms) { Ok(()) } else { Err("no new offset yet".into()) }
                }
                _ => Err("not taken over yet".into()),
            })
            .await;
        views[0].owner_node_id.unwrap() as usize
    }

    /// The feeds `node` owns, with their epochs.
    async fn owned_by<'f>(&self, node: usize, feeds: &'f [Feed]) -> Vec<(&'f Feed, u64)> {
        let mut owned = Vec::new();
        for feed in feeds {
            let (owner, epoch) = self.owner(feed).await;
            if owner == node {
                owned.push((feed, epoch));
            }
        }
        owned
    }

    /// Kills `node` (running or frozen), waits until every feed in `owned`
    /// is owned elsewhere and committing again, then restarts it.
    async fn kill_and_replace_owner_of(&self, node: usize, owned: Vec<(&Feed, u64)>) {
        let killed_ms = now_ms();
        self.cluster.kill(node);
        for (feed, epoch) in owned {
            self.taken_over(feed, &self.others(node), epoch, killed_ms).await;
        }
        self.cluster.restart(node);
        self.cluster.wait_ready(node).await;
    }

    /// Kills `node`, waits until every feed it owned is owned elsewhere
    /// and committing again, then restarts it.
    async fn kill_and_replace(&self, node: usize, feeds: &[Feed]) {
        let owned = self.owned_by(node, feeds).await;
        self.kill_and_replace_owner_of(node, owned).await;
    }

    /// [`Rig::kill_and_replace`] right after seeing a transaction open in
    /// `topic` (its last stable offset behind its end).
    async fn kill_mid_transaction(&self, topic: &str, node: usize, feeds: &[Feed]) {
        wait_until(DEFAULT_DEADLINE, &format!("a transaction is open in {topic}"), || async {
            if self.broker.has_open_transaction(topic).await { Ok(()) } else { Err("none open") }
        })
        .await;
        self.kill_and_replace(node, feeds).await;
    }

    /// Freezes `node`, the owner of `feed`, at a moment when its Kafka
    /// transaction is open *and* its last committed progress record lies
    /// inside a source transaction (a split one): checked while it is
    /// frozen, so nothing can change it; otherwise thaws it and tries
    /// again. The takeover must then resume in the middle of a source
    /// transaction.
    async fn freeze_mid_source_transaction(&self, node: usize, feed: &Feed, writer: &Writer) {
        let topic = feed.topic();
        for attempt in 1..=50 {
            wait_until(DEFAULT_DEADLINE, "the owner has a Kafka transaction open", || async {
                if self.broker.has_open_transaction(&topic).await { Ok(()) } else { Err("none open") }
            })
            .await;
            self.cluster.freeze(node);
            if self.broker.has_open_transaction(&topic).await && self.progress_inside_a_transaction(feed).await {
                eprintln!("froze node {node} mid source transaction, its Kafka transaction open (attempt {attempt})");
                return;
            }
            self.cluster.thaw(node);
            writer.progress(1).await;
        }
        panic!("never caught node {node} with a Kafka transaction open and its progress inside a source transaction");
    }

    /// Whether `feed`'s last committed progress record (the resume point
    /// of the next owner) names a position inside a source transaction.
    async fn progress_inside_a_transaction(&self, feed: &Feed) -> bool {
        let records = self.broker.read_committed(&self.progress_topic(feed)).await;
        let last = records.iter().rev().find(|r| r.key.as_deref() == Some(feed.name.as_bytes()));
        let progress = last.and_then(|r| r.value.as_deref()).and_then(|v| serde_json::from_slice::<serde_json::Value>(v).ok());
        progress.is_some_and(|p| p["offset"]["event"].as_u64().unwrap_or(0) + p["offset"]["row"].as_u64().unwrap_or(0) > 0)
    }

    /// The connector's own progress topic.
    fn progress_topic(&self, feed: &Feed) -> String {
        raftcdc::sink::kafka::progress::progress_topic(self.cluster.cluster_name(), &feed.name)
    }

    async fn pause(&self, feed: &Feed) {
        let leader = self.leader().await;
        self.cluster.client(leader).pause_connector(feed.by_ref()).await.expect("pause");
        self.cluster
            .wait_connector(&[leader], &feed.name, "paused", |_, c| {
                if c.task.as_ref().is_some_and(|t| t.state == "PAUSED") { Ok(()) } else { Err("not yet".into()) }
            })
            .await;
    }

    async fn resume(&self, feed: &Feed) {
        let leader = self.leader().await;
        self.cluster.client(leader).resume_connector(feed.by_ref()).await.expect("resume");
    }
}

/// One connector and the table it captures.
struct Feed {
    name: String,
    prefix: String,
    /// `inventory.<table>`.
    table: String,
    server_id: u32,
    /// `provide.transaction.metadata`.
    metadata: bool,
}

impl Feed {
    fn new(name: &str, prefix: &str, table: &str, server_id: u32) -> Feed {
        Feed { name: name.into(), prefix: prefix.into(), table: table.into(), server_id, metadata: true }
    }

    /// The classic single connector on [`chaos::TABLE`].
    fn classic() -> Feed {
        Feed::new("chaos", "dbserver1", chaos::TABLE, 6201)
    }

    fn topic(&self) -> String {
        format!("{}.{}", self.prefix, self.table)
    }

    fn transaction_topic(&self) -> Option<String> {
        self.metadata.then(|| format!("{}.transaction", self.prefix))
    }

    fn by_ref(&self) -> ConnectorRef {
        ConnectorRef { name: self.name.clone() }
    }

    fn config(&self, db: &MariaDb, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let metadata = if self.metadata { "true" } else { "false" };
        let mut all = vec![("table.include.list", self.table.as_str()), ("provide.transaction.metadata", metadata)];
        all.extend_from_slice(extra);
        connectors::capturing_config(db, self.server_id, &self.prefix, &all).into_iter().collect()
    }

    /// Creates it through the leader and waits until it streams (or, with
    /// an initial snapshot, has committed its first chunk).
    async fn create(&self, rig: &Rig, extra: &[(&str, &str)]) {
        let leader = rig.leader().await;
        let config = self.config(&rig.db, extra);
        rig.cluster
            .client(leader)
            .create_connector(CreateConnectorRequest { name: self.name.clone(), config: config.into_iter().collect(), paused: false })
            .await
            .expect("create the connector");
        rig.cluster
            .wait_connector(&[leader], &self.name, "first offset committed", |_, c| {
                if c.offset.is_some() { Ok(()) } else { Err("no offset yet".into()) }
            })
            .await;
    }

    /// Streaming only: the output must be exactly `log`.
    fn streamed(&self, log: &Log) -> Expected {
        Expected::streamed(&self.topic(), self.transaction_topic().as_deref(), log)
    }

    async fn settle(&self, rig: &Rig, expected: &Expected, log: &Log) {
        assert!(log.len() as u64 >= 2 * BETWEEN_FAULTS, "{}: the writers committed only {} transactions", self.name, log.len());
        chaos::settle(&rig.broker, std::slice::from_ref(expected)).await;
    }
}

/// The classic rig: one table, one connector streaming it.
async fn classic(fault_points: bool) -> (Rig, Feed) {
    let rig = Rig::start(&[chaos::CREATE_TABLE.to_string()], fault_points).await;
    let feed = Feed::classic();
    feed.create(&rig, &[]).await;
    (rig, feed)
}

/// A workload whose transactions outgrow a `max.batch.size` of 8: 1-12
/// statements of up to 10 rows each, with key changes.
fn large_transactions(table: &str) -> Workload {
    Workload { max_statements: 12, max_rows: 10, key_changes: true, pause: Duration::from_millis(5), ..Workload::new(table) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_the_owner_repeatedly_under_load() {
    let (rig, feed) = classic(false).await;
    let writer = Workload::new(chaos::TABLE).start(&rig.db, 1);
    for _ in 0..kills() {
        writer.progress(BETWEEN_FAULTS).await;
        let (owner, _) = rig.owner(&feed).await;
        rig.kill_and_replace(owner, std::slice::from_ref(&feed)).await;
    }
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    feed.settle(&rig, &feed.streamed(&log), &log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_owner_that_wakes_up_commits_nothing() {
    let (rig, feed) = classic(false).await;
    let writer = Workload::new(chaos::TABLE).start(&rig.db, 2);
    writer.progress(BETWEEN_FAULTS).await;
    let (owner, epoch) = rig.owner(&feed).await;
    let frozen_ms = now_ms();
    rig.cluster.freeze(owner);
    let new = rig.taken_over(&feed, &rig.others(owner), epoch, frozen_ms).await;
    writer.progress(BETWEEN_FAULTS).await;
    rig.cluster.thaw(owner);
    // The zombie learns it was deposed: it follows the new leader.
    rig.leader().await;
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    feed.settle(&rig, &feed.streamed(&log), &log).await;
    assert_eq!(rig.owner(&feed).await.0, new);
}

/// `SIGSTOP` exactly while a Kafka transaction of the owner is open (the
/// topic's last stable offset is behind its end) and its committed
/// progress lies inside a source transaction split across several Kafka
/// transactions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_frozen_mid_transaction_commits_nothing() {
    let rig = Rig::start(&[chaos::CREATE_TABLE.to_string()], false).await;
    let feed = Feed::classic();
    feed.create(&rig, &[("max.batch.size", "8")]).await;
    let writer = large_transactions(chaos::TABLE).start(&rig.db, 9);
    writer.progress(BETWEEN_FAULTS).await;
    let (owner, epoch) = rig.owner(&feed).await;
    rig.freeze_mid_source_transaction(owner, &feed, &writer).await;
    let frozen_ms = now_ms();
    rig.taken_over(&feed, &rig.others(owner), epoch, frozen_ms).await;
    writer.progress(BETWEEN_FAULTS).await;
    rig.cluster.thaw(owner);
    rig.leader().await;
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    feed.settle(&rig, &feed.streamed(&log), &log).await;
}

/// The fault point freezes the owner right after its Raft claim, before
/// `init_transactions`; the others take over and commit; then the zombie
/// wakes up and runs its `init_transactions` and whatever follows. With
/// `cut_off`, it wakes up cut off from its peers (not from MariaDB or the
/// broker), so Raft cannot tell it that it was deposed until the links
/// heal: only Kafka fencing and its failing Raft writes can stop it.
/// With `freeze_successor` as well, the new owner is frozen while the
/// zombie wakes up, so it cannot fence the zombie back at once: a zombie
/// whose late `init_transactions` let it produce would commit for as long
/// as the successor is frozen, and the successor, resuming from its own
/// (newer-epoch) Raft offset, would then repeat that output.
async fn zombie_after_claim(cut_off: bool, freeze_successor: bool, seed: u64) {
    let (rig, feed) = classic(true).await;
    let writer = Workload::new(chaos::TABLE).start(&rig.db, seed);
    writer.progress(BETWEEN_FAULTS).await;
    let (owner, _) = rig.owner(&feed).await;
    rig.cluster.arm_freeze_after_claim(owner, &feed.name);
    // A restart raises the epoch; the same node claims it again and stops.
    let restarted = rig.cluster.client(owner).restart_connector(feed.by_ref()).await.expect("restart").into_inner();
    rig.cluster.wait_stopped(owner).await;
    let frozen_ms = now_ms();
    // The zombie's claim is at least the restart's epoch; any survivor
    // owning the connector under a later one has replaced it.
    rig.taken_over(&feed, &rig.others(owner), restarted.epoch, frozen_ms).await;
    writer.progress(BETWEEN_FAULTS).await;
    // Asked of a survivor: the frozen zombie answers nobody.
    let survivor = rig.others(owner)[0];
    let successor = rig.cluster.connector(survivor, &feed.name).await.expect("connector").owner_node_id.expect("owned") as usize;
    if cut_off {
        rig.cluster.isolate(owner);
    }
    if freeze_successor {
        rig.cluster.freeze(successor);
    }
    rig.cluster.thaw(owner);
    writer.progress(BETWEEN_FAULTS).await;
    if freeze_successor {
        // Long enough for a zombie that produces to commit several batches.
        writer.progress(BETWEEN_FAULTS).await;
        rig.cluster.thaw(successor);
    }
    if cut_off {
        writer.progress(BETWEEN_FAULTS).await;
        rig.cluster.heal_all();
    }
    rig.leader().await;
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    feed.settle(&rig, &feed.streamed(&log), &log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zombie_frozen_between_claim_and_init_transactions_commits_nothing() {
    zombie_after_claim(false, false, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_zombie_frozen_between_claim_and_init_transactions_commits_nothing() {
    zombie_after_claim(true, false, 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_zombie_whose_successor_is_frozen_commits_nothing() {
    zombie_after_claim(true, true, 19).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_owner_is_replaced_and_commits_nothing() {
    let (rig, feed) = classic(false).await;
    let writer = Workload::new(chaos::TABLE).start(&rig.db, 3);
    writer.progress(BETWEEN_FAULTS).await;
    let (owner, epoch) = rig.owner(&feed).await;
    // Cut off from its peers, but not from MariaDB or the broker.
    let cut_ms = now_ms();
    rig.cluster.isolate(owner);
    rig.taken_over(&feed, &rig.others(owner), epoch, cut_ms).await;
    writer.progress(BETWEEN_FAULTS).await;
    rig.cluster.heal_all();
    rig.leader().await;
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    feed.settle(&rig, &feed.streamed(&log), &log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_every_node_at_once() {
    let (rig, feed) = classic(false).await;
    let writer = Workload::new(chaos::TABLE).start(&rig.db, 4);
    writer.progress(BETWEEN_FAULTS).await;
    for node in rig.cluster.nodes() {
        rig.cluster.kill(node);
    }
    let restarted_ms = now_ms();
    for node in rig.cluster.nodes() {
        rig.cluster.restart(node);
    }
    for node in rig.cluster.nodes() {
        rig.cluster.wait_ready(node).await;
    }
    let leader = rig.leader().await;
    rig.cluster
        // The owner may be the same node under the same epoch (its previous
        // process is dead); what matters is that offsets move again.
        .wait_connector(&[leader], &feed.name, "committing offsets again after the restart", |_, c| {
            if c.offset.as_ref().is_some_and(|o| o.committed_ms > restarted_ms) { Ok(()) } else { Err("not yet".into()) }
        })
        .await;
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    feed.settle(&rig, &feed.streamed(&log), &log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_the_broker() {
    let (mut rig, feed) = classic(false).await;
    let writer = Workload::new(chaos::TABLE).start(&rig.db, 5);
    writer.progress(BETWEEN_FAULTS).await;
    // The test broker can lose a topic created in the instant before its
    // SIGTERM (seen: UnknownTopicOrPartition after the restart for a topic
    // created a millisecond earlier; docs/test-services.md), which Kafka
    // never does: restart it once the feed's topics hold committed records.
    let topics: Vec<String> = std::iter::once(feed.topic()).chain(feed.transaction_topic()).collect();
    wait_until(DEFAULT_DEADLINE, "the feed's topics hold committed records", || async {
        for topic in &topics {
            if rig.broker.read_committed(topic).await.is_empty() {
                return Err(format!("{topic} is empty"));
            }
        }
        Ok(())
    })
    .await;
    rig.broker.restart().await;
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    feed.settle(&rig, &feed.streamed(&log), &log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_mariadb() {
    let (mut rig, feed) = classic(false).await;
    let writer = Workload::new(chaos::TABLE).start(&rig.db, 6);
    writer.progress(BETWEEN_FAULTS).await;
    let mut log = writer.stop().await;
    rig.db.restart().await; // SIGKILL, then start on the same datadir
    let writer = Workload { first_id: 50_000_000, ..Workload::new(chaos::TABLE) }.start(&rig.db, 7);
    writer.progress(BETWEEN_FAULTS).await;
    log.extend(writer.stop().await);
    feed.settle(&rig, &feed.streamed(&log), &log).await;
}

/// Database failover under load: a primary and a GTID replica, both in
/// `database.hostname`; transactions larger than `max.batch.size` on the
/// primary, then the primary is killed, the replica promoted and the
/// writers moved to it; then the owner node is killed too, so a new owner
/// resumes on the new server from an offset read there. The checker sees
/// every change exactly once, in order per key, with complete transaction
/// metadata; the connector's status names the replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_failover_to_a_promoted_replica() {
    let primary = MariaDb::start(&[]).await;
    let replica = MariaDb::start(&["--server-id=2", "--log-slave-updates"]).await;
    replica.replicate_from(&primary).await;
    primary.sql(&["CREATE DATABASE inventory", chaos::CREATE_TABLE]).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    cluster.wait_leader(&cluster.nodes()).await;
    let mut rig = Rig { db: primary, broker, cluster };
    let feed = Feed::classic();
    let hosts = format!("{}:{},{}:{}", rig.db.host, rig.db.port, replica.host, replica.port);
    feed.create(
        &rig,
        &[
            ("database.hostname", &hosts),
            ("max.batch.size", "8"),
            ("raftcdc.binlog.read.timeout.ms", "2000"),
            ("connect.timeout.ms", "3000"),
        ],
    )
    .await;
    let writer = large_transactions(chaos::TABLE).start(&rig.db, 30);
    writer.progress(BETWEEN_FAULTS).await;
    let mut log = writer.stop().await;

    replica.wait_caught_up(&rig.db).await;
    rig.db.kill();
    replica.promote().await;
    let writer = Workload { first_id: 50_000_000, ..large_transactions(chaos::TABLE) }.start(&replica, 31);
    writer.progress(BETWEEN_FAULTS / 2).await;
    let leader = rig.leader().await;
    let replica_address = format!("{}:{}", replica.host, replica.port);
    rig.cluster
        .wait_connector(&[leader], &feed.name, "reads the promoted replica", |_, c| match &c.source_server {
            Some(s) if s.address == replica_address && s.server_id == 2 => Ok(()),
            other => Err(format!("{other:?}")),
        })
        .await;
    let (owner, _) = rig.owner(&feed).await;
    rig.kill_and_replace(owner, std::slice::from_ref(&feed)).await;
    writer.progress(BETWEEN_FAULTS / 2).await;
    log.extend(writer.stop().await);
    feed.settle(&rig, &feed.streamed(&log), &log).await;
    drop(replica);
}

/// Five connectors side by side, each with its own table, topic prefix,
/// server id and writer, all with transactions larger than their
/// `max.batch.size` (so their Kafka transactions, each holding a progress
/// record in the one shared offsets topic, are open most of the time).
struct Fleet {
    rig: Rig,
    feeds: Vec<Feed>,
    writers: Vec<Writer>,
    rng: u64,
}

impl Fleet {
    /// Five connectors.
    async fn start() -> Fleet {
        Self::start_sized(5).await
    }

    /// `size` connectors.
    async fn start_sized(size: u32) -> Fleet {
        let feeds: Vec<Feed> = (1..=size)
            .map(|i| Feed::new(&format!("c{i}"), &format!("p{i}"), &format!("inventory.t{i}"), 6400 + i))
            .collect();
        let rig = Rig::start(&feeds.iter().map(|f| chaos::create_table(&f.table)).collect::<Vec<_>>(), false).await;
        for feed in &feeds {
            feed.create(&rig, &[("max.batch.size", "8")]).await;
        }
        let writers = feeds
            .iter()
            .enumerate()
            .map(|(i, f)| {
                Workload { max_statements: 6, max_rows: 4, pause: Duration::from_millis(20), ..large_transactions(&f.table) }
                    .start(&rig.db, 20 + i as u64)
            })
            .collect();
        let seed = std::env::var("CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(now_ms() as u64) | 1;
        eprintln!("CHAOS_SEED={seed}");
        Fleet { rig, feeds, writers, rng: seed }
    }

    /// Every writer commits a few more transactions.
    async fn progress(&self) {
        for writer in &self.writers {
            writer.progress(BETWEEN_FAULTS / 4).await;
        }
    }

    /// A connector picked at random.
    fn pick(&mut self) -> usize {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % self.feeds.len() as u64) as usize
    }

    /// Stops the writers and checks every connector's output.
    async fn settle(self, faults: usize) {
        let mut logs = Vec::new();
        for writer in self.writers {
            logs.push(writer.stop().await);
        }
        for (feed, log) in self.feeds.iter().zip(&logs) {
            let least = BETWEEN_FAULTS / 4 * (faults as u64 + 1);
            assert!(log.len() as u64 >= least, "{}: only {} transactions", feed.name, log.len());
        }
        let expected: Vec<Expected> = self.feeds.iter().zip(&logs).map(|(feed, log)| feed.streamed(log)).collect();
        chaos::settle(&self.rig.broker, &expected).await;
    }
}

/// Each kill picks a random connector and kills its owner while that
/// connector's transaction is open (the others' are open most of the time
/// too: every connector of the killed node takes over at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_connectors_with_owner_kills_mid_transaction() {
    let mut fleet = Fleet::start().await;
    for _ in 0..kills() {
        fleet.progress().await;
        let victim = fleet.pick();
        let (owner, _) = fleet.rig.owner(&fleet.feeds[victim]).await;
        eprintln!("killing node {owner}, the owner of {}", fleet.feeds[victim].name);
        let progress = fleet.rig.progress_topic(&fleet.feeds[victim]);
        fleet.rig.kill_mid_transaction(&progress, owner, &fleet.feeds).await;
    }
    fleet.progress().await;
    fleet.settle(kills()).await;
}

/// Ten connectors spread over the three nodes by placement, under load;
/// each kill SIGKILLs the owner of a random connector, leader or follower,
/// so every kill moves that node's share (about a third) at once, and the
/// checker runs for every connector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_spread_connectors_with_random_owner_kills() {
    let mut fleet = Fleet::start_sized(10).await;
    let leader = fleet.rig.leader().await;
    let mut owners = std::collections::BTreeSet::new();
    for feed in &fleet.feeds {
        owners.insert(fleet.rig.owner(feed).await.0);
    }
    assert!(owners.len() > 1, "placement put all ten connectors on {owners:?} (leader {leader})");
    for _ in 0..kills() {
        fleet.progress().await;
        let victim = fleet.pick();
        let (owner, _) = fleet.rig.owner(&fleet.feeds[victim]).await;
        eprintln!("killing node {owner}, the owner of {}", fleet.feeds[victim].name);
        fleet.rig.kill_and_replace(owner, &fleet.feeds).await;
    }
    fleet.progress().await;
    fleet.settle(kills()).await;
}

/// Random connectors restarted one at a time (each reads its progress back
/// while the others keep transactions open), twice `CHAOS_KILLS` restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_connectors_restarted_one_at_a_time_under_load() {
    let mut fleet = Fleet::start().await;
    let restarts = 2 * kills();
    for _ in 0..restarts {
        fleet.progress().await;
        let picked = fleet.pick();
        let feed = &fleet.feeds[picked];
        let leader = fleet.rig.leader().await;
        let restarted_ms = now_ms();
        // A restart raises the epoch and leaves the owner; its task starts
        // again under the raised epoch, and only it can commit offsets.
        let raised = fleet.rig.cluster.client(leader).restart_connector(feed.by_ref()).await.expect("restart").into_inner();
        fleet.rig.taken_over(feed, &fleet.rig.cluster.nodes(), raised.epoch - 1, restarted_ms).await;
    }
    fleet.progress().await;
    fleet.settle(restarts).await;
}

/// Another connector's Kafka transaction left open in a topic this
/// connector writes too (what its owner leaves there when it is frozen
/// mid-transaction on another node, until Kafka times it out; when progress
/// records shared one topic, this hid every later progress record) while
/// this connector's owner is killed, and then while the connector is
/// restarted: each takeover must still resume exactly where this
/// connector's committed output ends, and must not wait for the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_connectors_open_transaction_hides_no_progress() {
    let (rig, feed) = classic(false).await;
    let writer = Workload::new(chaos::TABLE).start(&rig.db, 17);
    writer.progress(BETWEEN_FAULTS).await;
    let other = "frozen-elsewhere";
    let held = rig
        .broker
        .open_transaction(
            &format!("raftcdc-{}-{other}", rig.cluster.cluster_name()),
            &feed.topic(),
            other,
            &format!(r#"{{"connector":"{other}","epoch":1,"offset":{{}}}}"#),
        )
        .await;
    // This connector's records from here on are behind the open
    // transaction for read_committed readers of its data topic.
    writer.progress(BETWEEN_FAULTS).await;
    let (owner, _) = rig.owner(&feed).await;
    rig.kill_and_replace(owner, std::slice::from_ref(&feed)).await;
    writer.progress(BETWEEN_FAULTS).await;
    let leader = rig.leader().await;
    let restarted_ms = now_ms();
    let raised = rig.cluster.client(leader).restart_connector(feed.by_ref()).await.expect("restart").into_inner();
    rig.taken_over(&feed, &rig.cluster.nodes(), raised.epoch - 1, restarted_ms).await;
    writer.progress(BETWEEN_FAULTS).await;
    drop(held);
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    feed.settle(&rig, &feed.streamed(&log), &log).await;
}

/// Three writer connections with transactions far larger than
/// `max.batch.size` (split into several Kafka transactions), primary-key
/// changes, and `ALTER TABLE … ADD COLUMN` twice mid-stream, with the
/// owner killed twice in between, each time frozen first at a moment when
/// its Kafka transaction is open and its committed progress lies inside a
/// split source transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_transactions_concurrent_writers_key_changes_and_ddl() {
    let rig = Rig::start(&[chaos::CREATE_TABLE.to_string()], false).await;
    let feed = Feed::classic();
    feed.create(&rig, &[("max.batch.size", "8")]).await;
    let writer = Workload { writers: 3, max_rows: 6, pause: Duration::from_millis(25), ..large_transactions(chaos::TABLE) }.start(&rig.db, 11);
    writer.progress(BETWEEN_FAULTS).await;
    rig.db.sql(&["ALTER TABLE inventory.chaos ADD COLUMN extra1 INT NULL"]).await;
    writer.progress(BETWEEN_FAULTS).await;
    for _ in 0..2 {
        let (owner, _) = rig.owner(&feed).await;
        let owned = rig.owned_by(owner, std::slice::from_ref(&feed)).await;
        rig.freeze_mid_source_transaction(owner, &feed, &writer).await;
        rig.kill_and_replace_owner_of(owner, owned).await;
        writer.progress(BETWEEN_FAULTS).await;
    }
    rig.db.sql(&["ALTER TABLE inventory.chaos ADD COLUMN extra2 VARCHAR(8) NULL"]).await;
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    let changes: usize = log.transactions.iter().map(|t| t.changes.len()).sum();
    assert!(changes > 8 * log.len() / 2, "transactions too small to be split: {changes} changes in {}", log.len());
    feed.settle(&rig, &feed.streamed(&log), &log).await;
}

/// Rows bulk-loaded before the snapshots.
const ROWS: i64 = 100_000;

fn snapshot_rows(c: &raftcdc::proto::Connector) -> u64 {
    c.snapshot.as_ref().map(|s| s.rows_read).unwrap_or(0)
}

/// Waits until the snapshot (`incremental` or not) of `feed` has read
/// `rows` rows; fails if it completed first.
async fn snapshot_reaches(rig: &Rig, feed: &Feed, incremental: bool, rows: u64) {
    let leader = rig.leader().await;
    let seen = rig
        .cluster
        .wait_connector(&[leader], &feed.name, &format!("the snapshot reads {rows} rows"), |_, c| match &c.snapshot {
            Some(s) if s.incremental == incremental && (s.rows_read >= rows || s.completed) => Ok(()),
            _ => Err(format!("{} rows", snapshot_rows(c))),
        })
        .await;
    assert!(!seen[0].snapshot.as_ref().unwrap().completed, "the snapshot finished before the fault: make the table larger");
}

async fn snapshot_completes(rig: &Rig, feed: &Feed, incremental: bool) {
    let leader = rig.leader().await;
    rig.cluster
        .wait_connector(&[leader], &feed.name, "the snapshot completes", |_, c| match &c.snapshot {
            Some(s) if s.incremental == incremental && s.completed => Ok(()),
            _ => Err(format!("{} rows", snapshot_rows(c))),
        })
        .await;
}

/// An initial snapshot of 100k rows while a writer updates and deletes
/// them, with the owner killed mid-snapshot: every row read at most once,
/// every key's streamed changes after its read exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_snapshot_of_100k_rows_with_an_owner_kill() {
    let rig = Rig::start(&[chaos::CREATE_TABLE.to_string(), chaos::preload_sql(chaos::TABLE, ROWS)], false).await;
    let feed = Feed::classic();
    let workload = Workload { preloaded: ROWS, first_id: ROWS + 1, pause: Duration::from_millis(5), ..Workload::new(chaos::TABLE) };
    let writer = workload.start(&rig.db, 12);
    writer.progress(BETWEEN_FAULTS).await;
    feed.create(&rig, &[("snapshot.mode", "initial"), ("snapshot.fetch.size", "4000")]).await;
    snapshot_reaches(&rig, &feed, false, ROWS as u64 / 4).await;
    let (owner, _) = rig.owner(&feed).await;
    rig.kill_and_replace(owner, std::slice::from_ref(&feed)).await;
    snapshot_completes(&rig, &feed, false).await;
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    let expected = Expected {
        snapshot: Snapshot::Initial,
        preloaded: ROWS,
        // Transactions before the snapshot are in its reads, not streamed.
        transactions: None,
        ..feed.streamed(&log)
    };
    feed.settle(&rig, &expected, &log).await;
}

/// An incremental snapshot of 100k rows (requested over gRPC) while a
/// writer streams changes to them, with the owner killed mid-snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_snapshot_of_100k_rows_with_an_owner_kill() {
    let rig = Rig::start(&[chaos::CREATE_TABLE.to_string(), chaos::preload_sql(chaos::TABLE, ROWS)], false).await;
    let feed = Feed::classic();
    feed.create(&rig, &[]).await;
    let workload = Workload { preloaded: ROWS, first_id: ROWS + 1, pause: Duration::from_millis(5), ..Workload::new(chaos::TABLE) };
    let writer = workload.start(&rig.db, 13);
    writer.progress(BETWEEN_FAULTS).await;
    let leader = rig.leader().await;
    rig.cluster
        .client(leader)
        .start_snapshot(StartSnapshotRequest { name: feed.name.clone(), tables: vec![chaos::TABLE.into()], filter: None })
        .await
        .expect("start the incremental snapshot");
    snapshot_reaches(&rig, &feed, true, ROWS as u64 / 4).await;
    let (owner, _) = rig.owner(&feed).await;
    rig.kill_and_replace(owner, std::slice::from_ref(&feed)).await;
    snapshot_completes(&rig, &feed, true).await;
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    let expected = Expected { snapshot: Snapshot::Incremental, preloaded: ROWS, ..feed.streamed(&log) };
    feed.settle(&rig, &expected, &log).await;
}

/// The GTID sequence number a committed offset names (domain 0).
fn offset_gtid(offset_json: &str) -> u64 {
    let offset: serde_json::Value = serde_json::from_str(offset_json).expect("offset JSON");
    offset["gtids"]
        .as_str()
        .and_then(|g| g.split(',').find(|p| p.trim().starts_with("0-")))
        .and_then(|g| g.rsplit('-').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no domain-0 GTID in {offset_json}"))
}

/// `offsets set` on a paused connector under load. What the checker
/// expects:
///
/// - set to the offset it has committed: nothing is delivered again;
/// - set to an earlier offset (naming GTID `g`): every transaction after
///   `g` is delivered once more, in order, after everything delivered
///   before the pause. So each key shows its history up to the pause,
///   then its changes from the transactions after `g` (including those
///   committed later), each exactly once.
///
/// Transaction metadata is off: a rewound connector emits `BEGIN`/`END`
/// again for the transactions it re-delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_set_to_the_committed_and_an_earlier_offset_under_load() {
    let rig = Rig::start(&[chaos::CREATE_TABLE.to_string()], false).await;
    let feed = Feed { metadata: false, ..Feed::classic() };
    feed.create(&rig, &[]).await;
    let writer = Workload::new(chaos::TABLE).start(&rig.db, 14);
    writer.progress(BETWEEN_FAULTS).await;
    let leader = rig.leader().await;
    let earlier = rig.cluster.client(leader).get_offsets(feed.by_ref()).await.expect("offsets").into_inner();
    let earlier = earlier.offset.expect("an offset").offset_json;
    writer.progress(BETWEEN_FAULTS).await;

    // The committed offset, set back as it is.
    rig.pause(&feed).await;
    let leader = rig.leader().await;
    let current = rig.cluster.client(leader).get_offsets(feed.by_ref()).await.expect("offsets").into_inner();
    let current = current.offset.expect("an offset").offset_json;
    rig.cluster
        .client(leader)
        .set_offsets(SetOffsetsRequest { name: feed.name.clone(), offset_json: current })
        .await
        .expect("set the committed offset");
    rig.resume(&feed).await;
    writer.progress(BETWEEN_FAULTS).await;

    // An earlier offset: the transactions after it come again.
    rig.pause(&feed).await;
    let leader = rig.leader().await;
    let paused = rig.cluster.client(leader).get_offsets(feed.by_ref()).await.expect("offsets").into_inner();
    let delivered = offset_gtid(&paused.offset.expect("an offset").offset_json);
    rig.cluster
        .client(leader)
        .set_offsets(SetOffsetsRequest { name: feed.name.clone(), offset_json: earlier.clone() })
        .await
        .expect("set an earlier offset");
    rig.resume(&feed).await;
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;

    let before_pause = Log { transactions: log.transactions.iter().filter(|t| t.gtid_seq <= delivered).cloned().collect() };
    let mut history = before_pause.history();
    chaos::merge(&mut history, log.after_gtid(offset_gtid(&earlier)));
    let expected = Expected { history, ..feed.streamed(&log) };
    feed.settle(&rig, &expected, &log).await;
}

/// A config update (a restart under a new epoch with the new config) and
/// a pause/resume under load: nothing lost, nothing repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updating_pausing_and_resuming_the_connector_under_load() {
    let (rig, feed) = classic(false).await;
    let writer = Workload::new(chaos::TABLE).start(&rig.db, 8);
    writer.progress(BETWEEN_FAULTS).await;
    let leader = rig.leader().await;
    let before = rig.cluster.connector(leader, &feed.name).await.expect("connector").epoch;
    let config = feed.config(&rig.db, &[("poll.interval.ms", "50"), ("max.batch.size", "16")]);
    rig.cluster
        .client(leader)
        .update_connector(UpdateConnectorRequest { name: feed.name.clone(), config: config.into_iter().collect() })
        .await
        .expect("update");
    let updated_ms = now_ms();
    rig.taken_over(&feed, &rig.cluster.nodes(), before, updated_ms).await;
    writer.progress(BETWEEN_FAULTS).await;
    rig.pause(&feed).await;
    writer.progress(BETWEEN_FAULTS).await;
    rig.resume(&feed).await;
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    feed.settle(&rig, &feed.streamed(&log), &log).await;
}

/// A connector deleted under load and created again with the same name
/// (and `snapshot.mode=initial`, on a new topic prefix so its output can
/// be checked alone) must start fresh: an initial snapshot of the table
/// as it is then, then streaming; never the old connector's progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_and_recreated_connector_starts_fresh() {
    let (rig, old) = classic(false).await;
    let writer = Workload { key_changes: true, ..Workload::new(chaos::TABLE) }.start(&rig.db, 15);
    writer.progress(BETWEEN_FAULTS).await;
    let leader = rig.leader().await;
    rig.pause(&old).await;
    let deleted_at = rig.cluster.connector(leader, &old.name).await.expect("connector").offset.map(|o| o.offset_json);
    rig.cluster.client(leader).delete_connector(old.by_ref()).await.expect("delete");
    wait_until(DEFAULT_DEADLINE, "the connector is gone", || async {
        match rig.cluster.connector(leader, &old.name).await {
            Err(status) if status.code() == tonic::Code::NotFound => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    writer.progress(BETWEEN_FAULTS).await;
    let new = Feed { prefix: "dbserver2".into(), server_id: 6202, ..Feed::classic() };
    new.create(&rig, &[("snapshot.mode", "initial")]).await;
    // Its first committed offset must be a snapshot's, not the deleted
    // connector's streaming position.
    let leader = rig.leader().await;
    let first = rig.cluster.connector(leader, &new.name).await.expect("connector");
    assert!(
        first.snapshot.is_some(),
        "the re-created connector streams from {:?} without an initial snapshot (the deleted one had reached {deleted_at:?})",
        first.offset.map(|o| o.offset_json)
    );
    snapshot_completes(&rig, &new, false).await;
    writer.progress(BETWEEN_FAULTS).await;
    let log = writer.stop().await;
    let expected = Expected { snapshot: Snapshot::Initial, transactions: None, ..new.streamed(&log) };
    new.settle(&rig, &expected, &log).await;
}
