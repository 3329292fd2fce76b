//! Binlog retention headroom: how much binlog the server still holds behind
//! the connector's position, and a warning before a purge overtakes it.
//!
//! # What is measured
//! On its own connection, at stream start and every
//! `raftcdc.binlog.retention.check.interval.ms`: `SHOW BINARY LOGS` (each
//! file and its size, oldest first), the server's age-based purge setting
//! (`binlog_expire_logs_seconds`, else `expire_logs_days`), and the time of
//! the oldest file's first event, read with a non-blocking binlog dump of
//! that file under server id 0 (which registers no replica, so it never
//! takes over the connector's own stream). From the connector's current
//! position (`file`, `pos`):
//!
//! - `headroom_files`: files before the connector's file;
//! - `headroom_bytes`: their sizes plus `pos`, the binlog the server can
//!   purge before it reaches the connector;
//! - `warning`: the headroom is under `raftcdc.binlog.retention.warn.bytes`
//!   and the connector's file is not the newest. The file the server writes
//!   is never purged, so a connector that keeps up with a server that
//!   rotates rarely is not warned about; one that reads an older file with
//!   little binlog before it is one purge away from losing its position.
//!
//! # Why it is correct
//! The measure is advisory: it never changes what is streamed. A failed
//! measurement is logged and tried again at the next interval; the stream
//! itself is what fails (with `BinlogNotAvailable`) if a purge does take
//! the connector's position.
use futures::StreamExt;
use mysql_async::BinlogStreamRequest;
use tokio::sync::{mpsc, watch};

use super::config::MySqlSourceConfig;
use super::error::SourceError;
use super::validate;
use crate::source::{BinlogRetention, SourceReport};

/// The headroom for a connector at `file`:`pos`, given the server's binlog
/// files (name and size, oldest first).
pub fn headroom(files: &[(String, u64)], file: &str, pos: u64, warn_bytes: u64) -> BinlogRetention {
    let oldest_file = files.first().map(|(name, _)| name.clone()).unwrap_or_default();
    let newest = files.last().is_some_and(|(name, _)| name == file);
    match files.iter().position(|(name, _)| name == file) {
        Some(index) => {
            let headroom_bytes = files[..index].iter().map(|(_, size)| size).sum::<u64>() + pos;
            BinlogRetention {
                headroom_bytes,
                headroom_files: index as u64,
                oldest_file,
                warning: !newest && headroom_bytes < warn_bytes,
                ..BinlogRetention::default()
            }
        }
        // Purged already (or not yet written): no headroom at all.
        None => BinlogRetention {
            oldest_file,
            warning: true,
            ..BinlogRetention::default()
        },
    }
}

/// Seconds the server keeps binlogs by age (0: it does not purge by age).
pub fn expire_seconds(binlog_expire_logs_seconds: Option<&str>, expire_logs_days: Option<&str>) -> u64 {
    let seconds = binlog_expire_logs_seconds.and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
    if seconds > 0 {
        return seconds;
    }
    let days = expire_logs_days.and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(0.0);
    (days * 86_400.0).round().max(0.0) as u64
}

/// One measurement at `file`:`pos`.
pub async fn measure(config: &MySqlSourceConfig, file: &str, pos: u64) -> Result<BinlogRetention, SourceError> {
    let mut conn = validate::connect(config).await?;
    let rows: Vec<mysql_async::Row> = validate::query(&mut conn, "SHOW BINARY LOGS", config).await?;
    let files: Vec<(String, u64)> = rows
        .into_iter()
        .filter_map(|mut row| Some((row.take::<String, _>(0)?, row.take::<u64, _>(1)?)))
        .collect();
    let vars: Vec<(String, String)> = validate::query(
        &mut conn,
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('binlog_expire_logs_seconds', 'expire_logs_days')",
        config,
    )
    .await?;
    let _ = conn.disconnect().await;
    let var = |name: &str| vars.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let mut retention = headroom(&files, file, pos, config.retention_warn_bytes);
    retention.expire_seconds = expire_seconds(var("binlog_expire_logs_seconds"), var("expire_logs_days"));
    if let Some((oldest, _)) = files.first() {
        retention.oldest_event_ts = first_event_time(config, oldest).await;
    }
    Ok(retention)
}

/// The timestamp of `file`'s first event (its format description), read
/// with a non-blocking dump under server id 0; `None` if it cannot be read
/// within the connect timeout.
async fn first_event_time(config: &MySqlSourceConfig, file: &str) -> Option<u64> {
    let read = async {
        let conn = validate::connect(config).await.ok()?;
        let request = BinlogStreamRequest::new(0)
            .with_non_blocking()
            .with_filename(file.as_bytes())
            .with_pos(4u64);
        let mut stream = conn.get_binlog_stream(request).await.ok()?;
        // The first event is the fake ROTATE (time 0); the next is the
        // file's format description, written when the file was created.
        while let Some(event) = stream.next().await {
            let timestamp = event.ok()?.header().timestamp();
            if timestamp > 0 {
                return Some(u64::from(timestamp));
            }
        }
        None
    };
    tokio::time::timeout(config.connect_timeout, read).await.ok().flatten()
}

/// Measures at the position `position` holds, at once and then every
/// `raftcdc.binlog.retention.check.interval.ms`, reporting each result and
/// logging a warning whenever the headroom falls under the threshold.
/// Runs until `reports` is closed.
pub(super) async fn follow(
    config: std::sync::Arc<MySqlSourceConfig>,
    mut position: watch::Receiver<(String, u64)>,
    reports: mpsc::Sender<SourceReport>,
) {
    let mut warned = false;
    loop {
        let (file, pos) = position.borrow_and_update().clone();
        match measure(&config, &file, pos).await {
            Ok(retention) => {
                if retention.warning && !warned {
                    tracing::warn!(
                        headroom_bytes = retention.headroom_bytes,
                        headroom_files = retention.headroom_files,
                        oldest_file = %retention.oldest_file,
                        position = %format!("{file}:{pos}"),
                        warn_bytes = config.retention_warn_bytes,
                        "source: the server's binlog retention is close to the connector's position; a purge (binlog_expire_logs_seconds, PURGE BINARY LOGS) can overtake it"
                    );
                } else if !retention.warning && warned {
                    tracing::info!(headroom_bytes = retention.headroom_bytes, "source: binlog retention headroom is back above the threshold");
                }
                warned = retention.warning;
                if reports.send(SourceReport::Retention(retention)).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                tracing::debug!(error = %crate::error::error_chain(&error), "source: cannot measure binlog retention; trying again later");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(config.retention_check_interval) => {}
            _ = reports.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<(String, u64)> {
        vec![("b.000003".into(), 1000), ("b.000004".into(), 500), ("b.000005".into(), 200)]
    }

    #[test]
    fn headroom_counts_the_files_before_the_position() {
        let r = headroom(&files(), "b.000004", 120, 10_000);
        assert_eq!((r.headroom_files, r.headroom_bytes, r.oldest_file.as_str()), (1, 1120, "b.000003"));
        assert!(r.warning, "an older file, under the threshold");
        assert!(!headroom(&files(), "b.000004", 120, 1000).warning, "above the threshold");
        // The file the server writes is never purged.
        let r = headroom(&files(), "b.000005", 4, 10_000);
        assert_eq!((r.headroom_files, r.headroom_bytes, r.warning), (2, 1504, false));
        // Purged: nothing left.
        let r = headroom(&files(), "b.000002", 4, 0);
        assert_eq!((r.headroom_bytes, r.warning), (0, true));
    }

    #[test]
    fn expiry_from_either_setting() {
        assert_eq!(expire_seconds(Some("3600"), Some("10")), 3600);
        assert_eq!(expire_seconds(Some("0"), Some("0.5")), 43_200);
        assert_eq!(expire_seconds(None, Some("2")), 172_800);
        assert_eq!(expire_seconds(Some("0"), Some("0")), 0);
    }
}
