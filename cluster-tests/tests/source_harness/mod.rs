//! What the real-MariaDB source tests share: a source run in-process from
//! an offset (or none), its batches collected with a deadline, and a
//! private `inventory` database.
#![allow(dead_code)]
use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster_tests::mariadb::MariaDb;
use mysql_async::prelude::Queryable;
use raftcdc::source::mysql::config::MySqlSourceConfig;
use raftcdc::source::mysql::error::SourceError;
use raftcdc::source::mysql::replication::MySqlSource;
use raftcdc::source::Batch;
use serde_json::Value;
use tokio::sync::mpsc;

pub const DEADLINE: Duration = Duration::from_secs(60);

pub struct Running {
    pub rx: mpsc::Receiver<Batch>,
    pub task: tokio::task::JoinHandle<Result<(), SourceError>>,
}

pub fn config(db: &MariaDb, extra: &[(&str, &str)]) -> Arc<MySqlSourceConfig> {
    let mut props = db.connector_config(5400 + (db.port % 500) as u32, "dbserver1");
    props.insert("snapshot.mode".into(), "no_data".into());
    props.insert("key.converter.schemas.enable".into(), "false".into());
    props.insert("value.converter.schemas.enable".into(), "false".into());
    props.insert("database.include.list".into(), "inventory".into());
    for (k, v) in extra {
        props.insert(k.to_string(), v.to_string());
    }
    Arc::new(MySqlSourceConfig::from_properties(&props).expect("valid connector config"))
}

pub fn start(config: Arc<MySqlSourceConfig>, offset: Option<Value>) -> Running {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(async move { MySqlSource::new(config, true).run(offset, tx).await });
    Running { rx, task }
}

impl Drop for Running {
    /// A source outlives its receiver until its next send; stop it now.
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A record as the tests look at it.
#[derive(Debug, Clone)]
pub struct Event {
    pub topic: String,
    pub key: Value,
    pub value: Value,
}

impl Running {
    /// Receives batches until `want` records (progress-only batches have
    /// none) have arrived on topics accepted by `filter`.
    pub async fn collect(&mut self, want: usize, filter: impl Fn(&str) -> bool) -> (Vec<Event>, Vec<Batch>) {
        let deadline = Instant::now() + DEADLINE;
        let mut events = Vec::new();
        let mut batches = Vec::new();
        while events.len() < want {
            let left = deadline.saturating_duration_since(Instant::now());
            let batch = match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(batch)) => batch,
                Ok(None) => {
                    let result = (&mut self.task).await;
                    panic!("source stopped after {} of {want} events: {result:?}", events.len());
                }
                Err(_) => panic!("timed out after {} of {want} events: {events:#?}", events.len()),
            };
            for record in &batch.records {
                if filter(&record.topic) {
                    events.push(Event {
                        topic: record.topic.clone(),
                        key: record.key.as_ref().map(|k| serde_json::from_slice(k).unwrap()).unwrap_or(Value::Null),
                        value: record.value.as_ref().map(|v| serde_json::from_slice(v).unwrap()).unwrap_or(Value::Null),
                    });
                }
            }
            batches.push(batch);
        }
        (events, batches)
    }

    /// Waits until the source has connected and passed a progress point
    /// (its first batch, possibly empty).
    pub async fn ready(&mut self) -> Batch {
        match tokio::time::timeout(DEADLINE, self.rx.recv()).await {
            Ok(Some(batch)) => batch,
            other => panic!("source did not start: {other:?} {:?}", self.task.is_finished()),
        }
    }
}

pub fn data(topic: &str) -> bool {
    topic.starts_with("dbserver1.inventory.")
}

pub async fn setup(db: &MariaDb, statements: &[&str]) {
    let mut all = vec!["CREATE DATABASE inventory", "USE inventory"];
    all.extend_from_slice(statements);
    let mut conn = db.conn().await;
    for s in all {
        conn.query_drop(s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

pub async fn exec(db: &MariaDb, statements: &[&str]) {
    let mut conn = db.conn().await;
    conn.query_drop("USE inventory").await.unwrap();
    for s in statements {
        conn.query_drop(*s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

/// Starts a source at the current end of the binlog and waits until it streams.
pub async fn streaming(db: &MariaDb, extra: &[(&str, &str)]) -> Running {
    let mut extra = extra.to_vec();
    extra.push(("poll.interval.ms", "50"));
    let mut running = start(config(db, &extra), None);
    running.ready().await;
    running
}

pub fn afters(events: &[Event]) -> Vec<Value> {
    events.iter().map(|e| e.value["after"].clone()).collect()
}
