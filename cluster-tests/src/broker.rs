//! A private Kafka-protocol broker per test: noida-db (see
//! `docs/test-services.md`), own data directory, own port, killed on drop.
//!
//! noida-db is the only broker installable here that implements
//! transactions faithfully (commit, abort, `read_committed` hiding aborted
//! records, fencing by transactional.id); librdkafka's mock cluster does
//! not, so it never stands in for an exactly-once check. The binary is run
//! directly from `.venv-kafka/` (which `scripts/services.sh` creates), not
//! through its Python wrapper, whose forked child would outlive a kill of
//! the wrapper.
//!
//! Each instance binds 127.0.0.1 on a free port with a fresh data
//! directory, so tests run in parallel. [`Broker::stop`] (`SIGTERM`),
//! [`Broker::kill`] (`SIGKILL`, a crash) and [`Broker::restart`] (a clean
//! stop, then start on the same data directory and port) take the broker
//! away under a running client. A restart is clean on purpose: noida-db
//! writes its state to disk about once a second, so a `SIGKILL` loses
//! records it has already acknowledged — a broker defect, not something the
//! sink can or should survive, so tests that check "everything exactly
//! once" across a restart must not cause it. Readiness is observed, never
//! slept for: start polls a metadata request until the broker answers it.
//!
//! [`Broker::open_transaction`] holds a transaction open in a topic, as a
//! producer frozen mid-transaction does, and [`Broker::has_open_transaction`]
//! sees whether one is (the last stable offset is behind the end), so the
//! chaos suite can fault an owner exactly while its transaction is open.
//!
//! The readers here ([`Broker::read_committed`], [`Broker::read_uncommitted`])
//! are independent of the sink's own progress reader, so tests check the
//! sink's output with code that did not write it. They read every partition
//! from the beginning up to the end librdkafka reports for the isolation
//! level (the last stable offset for `read_committed`, so an open
//! transaction cannot make them wait), and raise `receive.message.max.bytes`
//! because noida-db ignores fetch size limits.
//!
//! With `KAFKA_BOOTSTRAP` set, [`Broker::start`] uses that cluster instead
//! of starting one (so the suite runs unchanged against Apache Kafka or
//! Redpanda), and [`Broker::stop`] / [`Broker::kill`] / [`Broker::restart`] panic: tests that
//! need them check [`Broker::is_private`] first.
use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// How long a broker may take to accept connections.
pub const START_DEADLINE: Duration = Duration::from_secs(60);
/// How long a read of a test-sized topic may take.
pub const READ_DEADLINE: Duration = Duration::from_secs(60);

pub struct Broker {
    /// `None` for an external cluster (`KAFKA_BOOTSTRAP`).
    dir: Option<tempfile::TempDir>,
    pub host: Ipv4Addr,
    pub port: u16,
    bootstrap: String,
    child: Option<Child>,
}

/// One consumed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
}

/// The noida-db binary inside `<workspace>/.venv-kafka`.
///
/// # Panics
///
/// When it is not there, with the command that installs it.
pub fn noida_db_bin() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(".venv-kafka");
    let found = std::fs::read_dir(venv.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("site-packages").join("noida_db").join("noida-db"))
        .find(|path| path.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "noida-db is not installed under {}: run scripts/services.sh",
            venv.display()
        )
    })
}

impl Broker {
    /// Starts a private noida-db on 127.0.0.1 (or uses `KAFKA_BOOTSTRAP`)
    /// and waits until it answers a metadata request.
    pub async fn start() -> Broker {
        if let Ok(bootstrap) = std::env::var("KAFKA_BOOTSTRAP") {
            let mut broker = Broker {
                dir: None,
                host: Ipv4Addr::UNSPECIFIED,
                port: 0,
                bootstrap,
                child: None,
            };
            broker.wait_ready().await;
            return broker;
        }
        let dir = tempfile::Builder::new()
            .prefix("raftcdc-noida")
            .tempdir()
            .expect("temp dir");
        let host = Ipv4Addr::new(127, 0, 0, 1);
        let port = TcpListener::bind((host, 0))
            .expect("free port")
            .local_addr()
            .unwrap()
            .port();
        let mut broker = Broker {
            dir: Some(dir),
            host,
            port,
            bootstrap: format!("{host}:{port}"),
            child: None,
        };
        broker.spawn().await;
        broker
    }

    /// The broker process's id while this harness runs it (`None` with
    /// `KAFKA_BOOTSTRAP`).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The private broker's directory (its `data/` and `noida.log`).
    pub fn dir_path(&self) -> &Path {
        self.dir()
    }

    /// Whether this broker is a private process the test may kill.
    pub fn is_private(&self) -> bool {
        self.dir.is_some()
    }

    fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("an external KAFKA_BOOTSTRAP cluster cannot be killed or restarted")
            .path()
    }

    async fn spawn(&mut self) {
        let dir = self.dir().to_path_buf();
        let log = File::options()
            .create(true)
            .append(true)
            .open(dir.join("noida.log"))
            .expect("noida-db log file");
        let mut command = Command::new(noida_db_bin());
        command
            .arg("start")
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args([
                "--host",
                &self.host.to_string(),
                "--only",
                "kafka",
                "--kafka-port",
                &self.port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        crate::process::die_with_parent(&mut command);
        self.child = Some(command.spawn().expect("noida-db starts"));
        self.wait_ready().await;
    }

    /// Polls a metadata request until the broker answers it.
    async fn wait_ready(&mut self) {
        let bootstrap = self.bootstrap.clone();
        let client: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("reconnect.backoff.ms", "50")
            .set("reconnect.backoff.max.ms", "200")
            .create()
            .expect("metadata client");
        let client = std::sync::Arc::new(client);
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let probe = client.clone();
            let answered = tokio::task::spawn_blocking(move || probe.fetch_metadata(None, Duration::from_millis(500)))
                .await
                .expect("metadata probe");
            match answered {
                Ok(_) => return,
                Err(error) => {
                    if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                        panic!("noida-db exited with {status}:\n{}", self.log_tail());
                    }
                    assert!(
                        Instant::now() < deadline,
                        "the broker at {bootstrap} did not answer a metadata request within {START_DEADLINE:?}: {error}\n{}",
                        self.log_tail()
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of the broker's log.
    pub fn log_tail(&self) -> String {
        let Some(dir) = &self.dir else {
            return String::new();
        };
        let text = std::fs::read_to_string(dir.path().join("noida.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGKILLs the broker (a crash) and reaps it. noida-db rewrites its
    /// data file about once a second, so a crash loses what it acknowledged
    /// in the last second or so (Kafka would not: its log lives in the OS
    /// page cache, which outlives the process). Use [`Broker::stop`] or
    /// [`Broker::restart`] where the test needs acknowledged data to
    /// survive.
    pub fn kill(&mut self) {
        self.dir();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the broker cleanly (SIGTERM; noida-db saves its state and
    /// exits) and reaps it; SIGKILL if it has not exited within
    /// [`START_DEADLINE`].
    pub async fn stop(&mut self) {
        self.dir();
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: kill(2) on the pid of a child we have not reaped yet.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + START_DEADLINE;
        while child.try_wait().expect("wait for noida-db").is_none() {
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("noida-db ignored SIGTERM for {START_DEADLINE:?}:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the broker cleanly if it runs, then starts it again on the same
    /// data directory and port, and waits until it answers.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.spawn().await;
    }

    /// Kills the broker, deletes everything it stored and starts it again,
    /// empty, on the same port. For benchmarks: noida-db slows down as it
    /// fills (it keeps everything in memory), so figures that are compared
    /// must be taken on brokers that hold the same (nothing).
    pub async fn wipe(&mut self) {
        self.kill();
        let data = self.dir().join("data");
        if data.exists() {
            std::fs::remove_dir_all(&data).expect("remove the broker's data");
        }
        self.spawn().await;
    }

    /// Every committed record of `topic`, per partition in offset order
    /// (partitions ascending), read with `isolation.level=read_committed`;
    /// none if the topic does not exist (yet).
    pub async fn read_committed(&self, topic: &str) -> Vec<Consumed> {
        self.read(topic, "read_committed").await
    }

    /// Every record of `topic`, including those of open and aborted
    /// transactions (`read_uncommitted`).
    pub async fn read_uncommitted(&self, topic: &str) -> Vec<Consumed> {
        self.read(topic, "read_uncommitted").await
    }

    /// Produces `count` plain (non-transactional, so at once visible to
    /// `read_committed`) records to `partition` of `topic`, record `i`
    /// being `record(i)` as `(key, value)`; returns when all are
    /// acknowledged. For filling topics the way days of traffic would.
    pub async fn fill(&self, topic: &str, partition: i32, count: u64, record: impl Fn(u64) -> (Vec<u8>, Vec<u8>) + Send + 'static) {
        let (bootstrap, topic) = (self.bootstrap.clone(), topic.to_string());
        tokio::task::spawn_blocking(move || {
            use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
            let producer: BaseProducer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("linger.ms", "20")
                .set("queue.buffering.max.messages", "1000000")
                .create()
                .expect("filling producer");
            for i in 0..count {
                let (key, value) = record(i);
                let mut next = BaseRecord::to(&topic).partition(partition).key(&key[..]).payload(&value[..]);
                loop {
                    match producer.send(next) {
                        Ok(()) => break,
                        Err((KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull), back)) => {
                            producer.poll(Duration::from_millis(10));
                            next = back;
                        }
                        Err((e, _)) => panic!("fill {topic}: {e}"),
                    }
                }
            }
            producer.flush(Duration::from_secs(300)).expect("fill: flush");
        })
        .await
        .expect("filling thread");
    }

    /// `(key, value)` of every committed record of `topic`.
    pub async fn committed_pairs(&self, topic: &str) -> Vec<(Option<Vec<u8>>, Option<Vec<u8>>)> {
        self.read_committed(topic)
            .await
            .into_iter()
            .map(|c| (c.key, c.value))
            .collect()
    }

    /// Writes `(key, value)` to `topic` in a transaction of its own
    /// (transactional.id `transactional_id`) and leaves it open until the
    /// answer is dropped, which aborts it: what a producer frozen
    /// mid-transaction leaves in a topic it shares with others. noida-db
    /// never times such a transaction out; Kafka would after
    /// `transaction.timeout.ms` (60 s here).
    pub async fn open_transaction(&self, transactional_id: &str, topic: &str, key: &str, value: &str) -> OpenTransaction {
        let bootstrap = self.bootstrap.clone();
        let (id, topic, key, value) = (transactional_id.to_string(), topic.to_string(), key.to_string(), value.to_string());
        let producer = tokio::task::spawn_blocking(move || {
            let producer: BaseProducer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("transactional.id", &id)
                .set("transaction.timeout.ms", "60000")
                .create()
                .map_err(|e| format!("producer {id}: {e}"))?;
            producer.init_transactions(READ_DEADLINE).map_err(|e| format!("init_transactions {id}: {e}"))?;
            producer.begin_transaction().map_err(|e| format!("begin_transaction {id}: {e}"))?;
            producer
                .send(BaseRecord::to(&topic).key(&key).payload(&value))
                .map_err(|(e, _)| format!("send to {topic}: {e}"))?;
            producer.flush(READ_DEADLINE).map_err(|e| format!("flush to {topic}: {e}"))?;
            Ok::<_, String>(producer)
        })
        .await
        .expect("producer thread")
        .unwrap_or_else(|e| panic!("{e}"));
        OpenTransaction { producer: Some(producer) }
    }

    /// Whether some transaction that wrote to `topic` is still open: the
    /// end a `read_committed` consumer sees (the last stable offset) is
    /// behind the high watermark in some partition.
    pub async fn has_open_transaction(&self, topic: &str) -> bool {
        let bootstrap = self.bootstrap.clone();
        let topic = topic.to_string();
        tokio::task::spawn_blocking(move || {
            let stable = end_offsets(&bootstrap, &topic, "read_committed")?;
            let high = end_offsets(&bootstrap, &topic, "read_uncommitted")?;
            Ok::<_, String>(stable.iter().zip(&high).any(|(s, h)| s < h))
        })
        .await
        .expect("watermark thread")
        .unwrap_or_else(|e| panic!("{e}"))
    }

    async fn read(&self, topic: &str, isolation: &str) -> Vec<Consumed> {
        let bootstrap = self.bootstrap.clone();
        let topic = topic.to_string();
        let isolation = isolation.to_string();
        tokio::task::spawn_blocking(move || read_topic(&bootstrap, &topic, &isolation))
            .await
            .expect("reader thread")
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// A transaction [`Broker::open_transaction`] holds open; dropping it
/// aborts it.
pub struct OpenTransaction {
    producer: Option<BaseProducer>,
}

impl Drop for OpenTransaction {
    fn drop(&mut self) {
        if let Some(producer) = self.producer.take() {
            let _ = producer.abort_transaction(Duration::from_secs(10));
        }
    }
}

/// The end offset of every partition of `topic` (partitions ascending)
/// that a consumer with `isolation` sees; none if the topic does not exist.
fn end_offsets(bootstrap: &str, topic: &str, isolation: &str) -> Result<Vec<i64>, String> {
    let consumer: BaseConsumer<ReaderContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "raftcdc-test-reader")
        .set("isolation.level", isolation)
        .set("allow.auto.create.topics", "false")
        .create_with_context(ReaderContext)
        .map_err(|e| format!("watermark client for {topic}: {e}"))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), READ_DEADLINE)
        .map_err(|e| format!("metadata of {topic}: {e}"))?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic && t.error().is_none()) else {
        return Ok(Vec::new());
    };
    let mut ids: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
    ids.sort_unstable();
    ids.into_iter()
        .map(|partition| {
            consumer
                .fetch_watermarks(topic, partition, READ_DEADLINE)
                .map(|(_, high)| high)
                .map_err(|e| format!("watermarks of {topic} [{partition}]: {e}"))
        })
        .collect()
}

/// Reads every partition of `topic` from the beginning to its end.
fn read_topic(bootstrap: &str, topic: &str, isolation: &str) -> Result<Vec<Consumed>, String> {
    let deadline = Instant::now() + READ_DEADLINE;
    let consumer: BaseConsumer<ReaderContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        // librdkafka's assign() needs a group.id; nothing is ever committed.
        .set("group.id", "raftcdc-test-reader")
        .set("isolation.level", isolation)
        .set("enable.partition.eof", "true")
        .set("enable.auto.commit", "false")
        .set("allow.auto.create.topics", "false")
        .set("receive.message.max.bytes", "1000000000")
        .create_with_context(ReaderContext)
        .map_err(|e| format!("reader for {topic}: {e}"))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), READ_DEADLINE)
        .map_err(|e| format!("metadata of {topic}: {e}"))?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Ok(Vec::new());
    };
    match found.error().map(rdkafka::types::RDKafkaErrorCode::from) {
        None => {}
        // Not created yet: nothing committed, which a polling test expects.
        Some(rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition) => return Ok(Vec::new()),
        Some(code) => return Err(format!("metadata of {topic}: {code}")),
    }
    let mut assignment = TopicPartitionList::new();
    let mut unfinished = Vec::new();
    for partition in found.partitions() {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition.id(), READ_DEADLINE)
            .map_err(|e| format!("watermarks of {topic} [{}]: {e}", partition.id()))?;
        if high <= low {
            continue;
        }
        assignment
            .add_partition_offset(topic, partition.id(), Offset::Beginning)
            .map_err(|e| e.to_string())?;
        unfinished.push(partition.id());
    }
    if unfinished.is_empty() {
        return Ok(Vec::new());
    }
    consumer
        .assign(&assignment)
        .map_err(|e| format!("assign {topic}: {e}"))?;
    let mut records = Vec::new();
    while !unfinished.is_empty() {
        if Instant::now() >= deadline {
            return Err(format!(
                "reading {topic} ({isolation}) did not reach the end of partitions {unfinished:?} within {READ_DEADLINE:?}"
            ));
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(partition))) => unfinished.retain(|p| *p != partition),
            Some(Err(e)) => return Err(format!("reading {topic}: {e}")),
            Some(Ok(message)) => records.push(Consumed {
                partition: message.partition(),
                offset: message.offset(),
                key: message.key().map(<[u8]>::to_vec),
                value: message.payload().map(<[u8]>::to_vec),
                headers: message
                    .headers()
                    .map(|headers| {
                        headers
                            .iter()
                            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec).unwrap_or_default()))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
        }
    }
    records.sort_by_key(|r| (r.partition, r.offset));
    Ok(records)
}

/// The readers' context: librdkafka also reports the end-of-partition
/// events the readers ask for as client errors; those are not worth a log
/// line.
struct ReaderContext;

impl ClientContext for ReaderContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(error, KafkaError::PartitionEOF(_))
            && error.rdkafka_error_code() != Some(rdkafka::types::RDKafkaErrorCode::PartitionEOF)
        {
            eprintln!("test reader: {error}: {reason}");
        }
    }
}

impl ConsumerContext for ReaderContext {}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
