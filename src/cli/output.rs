//! Rendering of CLI results: human tables, or the stable JSON contract
//! documented in README.md ("CLI JSON output"). Field names here are part
//! of that contract: add fields freely, never rename or remove one.
use serde_json::{json, Value};

use super::OutputFormat;
use crate::proto;

fn print_json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).expect("JSON values always serialise"));
}

fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let text: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:width$}", c, width = widths[i]))
            .collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row.clone());
    }
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

pub fn cluster_status_json(status: &proto::ClusterStatus) -> Value {
    json!({
        "cluster_name": status.cluster_name,
        "reporting_node_id": status.reporting_node_id,
        "leader_id": status.leader_id,
        "leader_api_addr": status.leader_api_addr,
        "term": status.term,
        "last_log_index": status.last_log_index,
        "committed_index": status.committed_index,
        "last_applied_index": status.last_applied_index,
        "members": status.members.iter().map(|m| json!({
            "node_id": m.node_id,
            "api_addr": m.api_addr,
            "raft_addr": m.raft_addr,
            "voter": m.voter,
            "reachable": m.reachable,
            "role": m.role,
            "term": m.term,
            "last_log_index": m.last_log_index,
            "last_applied_index": m.last_applied_index,
            "matched_index": m.matched_index,
            "snapshot_index": m.snapshot_index,
            "purged_index": m.purged_index,
            "error": (!m.error.is_empty()).then_some(&m.error),
            "probe_ms": m.probe_ms,
            "lag": m.lag,
        })).collect::<Vec<_>>(),
        "placement_policy": status.placement_policy,
        "placement": status.placement.iter().map(|p| json!({
            "node_id": p.node_id,
            "connectors": p.connectors,
            "load": p.load,
            "capacity": p.capacity,
            "cordoned": p.cordoned,
            "draining": p.draining,
            "labels": p.labels,
            "eligible": p.eligible,
        })).collect::<Vec<_>>(),
    })
}

pub fn cluster_status(format: OutputFormat, status: &proto::ClusterStatus) {
    if format == OutputFormat::Json {
        return print_json(&cluster_status_json(status));
    }
    println!(
        "cluster {}  leader {}  term {}  commit {}  (as seen by node {})",
        status.cluster_name,
        opt(status.leader_id),
        status.term,
        opt(status.committed_index),
        status.reporting_node_id
    );
    let rows: Vec<Vec<String>> = status
        .members
        .iter()
        .map(|m| {
            vec![
                m.node_id.to_string(),
                m.api_addr.clone(),
                m.role.clone(),
                if m.voter { "yes" } else { "no" }.into(),
                if m.reachable { "yes".into() } else { format!("NO ({})", m.error.rsplit(": ").next().unwrap_or_default()) },
                m.probe_ms.map(|ms| format!("{ms}ms")).unwrap_or_else(|| "-".into()),
                opt(m.lag),
                opt(m.last_log_index),
                opt(m.last_applied_index),
                opt(m.matched_index),
            ]
        })
        .collect();
    table(
        &["ID", "ADDRESS", "ROLE", "VOTER", "REACHABLE", "CONTACT", "LAG", "LAST LOG", "APPLIED", "MATCHED"],
        &rows,
    );
    if status.placement.is_empty() {
        return;
    }
    println!();
    println!("placement: {}", status.placement_policy);
    let rows: Vec<Vec<String>> = status
        .placement
        .iter()
        .map(|p| {
            let mut labels: Vec<String> = p.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            let schedule = match (p.eligible, p.draining, p.cordoned) {
                (false, _, _) => "not a worker",
                (_, true, _) => "draining",
                (_, _, true) => "cordoned",
                _ => "schedulable",
            };
            vec![
                p.node_id.to_string(),
                schedule.into(),
                p.connectors.len().to_string(),
                format!("{:.1}", p.load),
                p.capacity.map(|c| c.to_string()).unwrap_or_else(|| "-".into()),
                if labels.is_empty() { "-".into() } else { labels.join(",") },
                p.connectors.join(","),
            ]
        })
        .collect();
    table(&["NODE", "SCHEDULE", "CONNECTORS", "LOAD", "CAPACITY", "LABELS", "OWNS"], &rows);
}

fn desired_name(desired: i32) -> &'static str {
    match proto::DesiredState::try_from(desired) {
        Ok(proto::DesiredState::Running) => "running",
        Ok(proto::DesiredState::Paused) => "paused",
        Ok(proto::DesiredState::Stopped) => "stopped",
        _ => "unknown",
    }
}

fn offset_value(offset: &Option<proto::Offset>) -> Value {
    offset
        .as_ref()
        .map(|o| serde_json::from_str(&o.offset_json).unwrap_or(Value::String(o.offset_json.clone())))
        .unwrap_or(Value::Null)
}

/// How far behind the source the last committed offset was when it was
/// committed (its binlog event time against its commit time), in ms.
fn lag_ms(c: &proto::Connector) -> Option<i64> {
    let offset = c.offset.as_ref()?;
    let ts_sec = offset_value(&c.offset)["ts_sec"].as_i64().filter(|t| *t > 0)?;
    Some((offset.committed_ms - ts_sec * 1000).max(0))
}

pub fn connector_json(c: &proto::Connector) -> Value {
    let task = c.task.clone().unwrap_or_default();
    json!({
        "name": c.name,
        "config": c.config.iter().collect::<std::collections::BTreeMap<_, _>>(),
        "desired_state": desired_name(c.desired_state),
        "state": task.state,
        "owner": c.owner_node_id,
        "epoch": c.epoch,
        "task": {
            "state": task.state,
            "node_id": task.node_id,
            "epoch": task.epoch,
            "error": (!task.error.is_empty()).then_some(&task.error),
            "remedy": (!task.remedy.is_empty()).then_some(&task.remedy),
            "updated_ms": task.updated_ms,
        },
        "offset": offset_value(&c.offset),
        "offset_epoch": c.offset.as_ref().map(|o| o.epoch),
        "offset_committed_ms": c.offset.as_ref().map(|o| o.committed_ms),
        "schema_history_entries": c.schema_history_entries,
        "lag_ms": lag_ms(c),
        "snapshot": c.snapshot.as_ref().map(|s| json!({
            "tables_total": s.tables_total,
            "tables_done": s.tables_done,
            "rows_read": s.rows_read,
            "current_table": s.current_table,
            "last_key": serde_json::from_str::<Value>(&s.last_key_json).unwrap_or(Value::Null),
            "completed": s.completed,
            "incremental": s.incremental,
        })),
        "incremental_snapshot": c.incremental_snapshot.as_ref().map(|r| json!({
            "id": r.id,
            "tables": r.tables,
            "filter": r.filter,
            "state": r.state,
            "requested_ms": r.requested_ms,
        })),
        "warnings": c.warnings,
        "source_server": c.source_server.as_ref().map(|s| json!({
            "address": s.address,
            "server_id": s.server_id,
            "since_ms": s.since_ms,
        })),
        "binlog_retention": c.binlog_retention.as_ref().map(|r| json!({
            "headroom_bytes": r.headroom_bytes,
            "headroom_files": r.headroom_files,
            "oldest_file": r.oldest_file,
            "oldest_event_ts": r.oldest_event_ts,
            "expire_seconds": r.expire_seconds,
            "warning": r.warning,
            "measured_ms": r.measured_ms,
        })),
    })
}

/// `12.0 MiB in 3 files before the connector (oldest mysql-bin.000004, first event 2.0 h ago; expire after 7.0 d)`
pub fn retention_line(r: &proto::BinlogRetention, now_s: u64) -> String {
    let mib = r.headroom_bytes as f64 / (1024.0 * 1024.0);
    let age = match r.oldest_event_ts {
        Some(ts) => format!(", first event {} ago", duration_text(now_s.saturating_sub(ts))),
        None => String::new(),
    };
    let expire = match r.expire_seconds {
        0 => "no purge by age".to_string(),
        s => format!("expire after {}", duration_text(s)),
    };
    let warning = if r.warning { "  WARNING: a purge can overtake the connector" } else { "" };
    format!("{mib:.1} MiB in {} files before the connector (oldest {}{age}; {expire}){warning}", r.headroom_files, r.oldest_file)
}

fn duration_text(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7_200 => format!("{:.1} min", s as f64 / 60.0),
        s if s < 172_800 => format!("{:.1} h", s as f64 / 3_600.0),
        s => format!("{:.1} d", s as f64 / 86_400.0),
    }
}

/// `[#########-----------]  45%  12,000 rows  table 2/4 db.t`
pub fn snapshot_line(s: &proto::SnapshotProgress) -> String {
    const WIDTH: u64 = 24;
    let fraction = if s.completed || s.tables_total == 0 { 1.0 } else { s.tables_done as f64 / s.tables_total as f64 };
    let filled = ((fraction * WIDTH as f64).round() as u64).min(WIDTH);
    let bar: String = (0..WIDTH).map(|i| if i < filled { '#' } else { '-' }).collect();
    let kind = if s.incremental { "incremental" } else { "initial" };
    let place = if s.completed {
        "completed".to_string()
    } else {
        format!("table {}/{} {}", (s.tables_done + 1).min(s.tables_total), s.tables_total, s.current_table)
    };
    format!("[{bar}] {:>3.0}%  {} rows  {place}  ({kind})", fraction * 100.0, s.rows_read)
}

pub fn connector(format: OutputFormat, c: &proto::Connector) {
    if format == OutputFormat::Json {
        return print_json(&connector_json(c));
    }
    let task = c.task.clone().unwrap_or_default();
    println!("name:     {}", c.name);
    println!("state:    {} (desired: {})", task.state, desired_name(c.desired_state));
    println!("owner:    {}  epoch: {}", opt(c.owner_node_id), c.epoch);
    println!("offset:   {}", offset_value(&c.offset));
    if let (Some(lag), Some(offset)) = (lag_ms(c), &c.offset) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let age = (now_ms - offset.committed_ms).max(0);
        println!(
            "lag:      {:.1}s behind the source at the last commit ({:.1}s ago)",
            lag as f64 / 1000.0,
            age as f64 / 1000.0
        );
    }
    if let Some(snapshot) = &c.snapshot {
        println!("snapshot: {}", snapshot_line(snapshot));
    }
    if let Some(server) = &c.source_server {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        println!(
            "server:   {} (server_id {}) read for {}",
            server.address,
            server.server_id,
            duration_text(((now_ms - server.since_ms).max(0) / 1000) as u64)
        );
    }
    if let Some(retention) = &c.binlog_retention {
        let now_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        println!("binlog:   {}", retention_line(retention, now_s));
    }
    if let Some(request) = &c.incremental_snapshot {
        let filter = request.filter.as_deref().map(|f| format!(" where {f}")).unwrap_or_default();
        println!("incremental snapshot #{}: {} of {}{filter}", request.id, request.state, request.tables.join(", "));
    }
    if !task.error.is_empty() {
        println!("error:    {}", task.error);
        if !task.remedy.is_empty() {
            println!("remedy:   {}", task.remedy);
        }
    }
    for warning in &c.warnings {
        println!("warning:  {warning}");
    }
    println!("config:");
    let mut keys: Vec<_> = c.config.keys().collect();
    keys.sort();
    for key in keys {
        println!("  {key} = {}", c.config[key]);
    }
}

pub fn connector_list(format: OutputFormat, connectors: &[proto::Connector]) {
    if format == OutputFormat::Json {
        return print_json(&json!({ "connectors": connectors.iter().map(connector_json).collect::<Vec<_>>() }));
    }
    let rows: Vec<Vec<String>> = connectors
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.task.clone().unwrap_or_default().state,
                opt(c.owner_node_id),
                c.epoch.to_string(),
                offset_value(&c.offset).to_string(),
            ]
        })
        .collect();
    table(&["NAME", "STATE", "OWNER", "EPOCH", "OFFSET"], &rows);
}

pub fn offsets(format: OutputFormat, o: &proto::Offsets) {
    let value = json!({
        "name": o.name,
        "epoch": o.epoch,
        "offset": offset_value(&o.offset),
        "offset_epoch": o.offset.as_ref().map(|x| x.epoch),
        "committed_ms": o.offset.as_ref().map(|x| x.committed_ms),
    });
    if format == OutputFormat::Json {
        return print_json(&value);
    }
    println!("{}: {}", o.name, value["offset"]);
}

pub fn deleted(format: OutputFormat, name: &str) {
    if format == OutputFormat::Json {
        return print_json(&json!({ "name": name, "deleted": true }));
    }
    println!("deleted {name}");
}

pub fn error(format: OutputFormat, code: &str, message: &str) {
    eprintln!("error: {code}: {message}");
    if format == OutputFormat::Json {
        print_json(&json!({ "error": { "code": code, "message": message } }));
    }
}

#[cfg(test)]
mod retention_line_tests {
    use super::*;

    #[test]
    fn headroom_age_expiry_and_warning() {
        let r = proto::BinlogRetention {
            headroom_bytes: 3 * 1024 * 1024,
            headroom_files: 2,
            oldest_file: "mysql-bin.000004".into(),
            oldest_event_ts: Some(1_000),
            expire_seconds: 7 * 86_400,
            warning: true,
            measured_ms: 0,
        };
        assert_eq!(
            retention_line(&r, 8_200),
            "3.0 MiB in 2 files before the connector (oldest mysql-bin.000004, first event 2.0 h ago; expire after 7.0 d)  WARNING: a purge can overtake the connector"
        );
        let r = proto::BinlogRetention { oldest_event_ts: None, expire_seconds: 0, warning: false, ..r };
        assert!(retention_line(&r, 0).ends_with("(oldest mysql-bin.000004; no purge by age)"));
    }
}

#[cfg(test)]
mod snapshot_line_tests {
    use super::*;

    #[test]
    fn progress_bar_follows_tables_done() {
        let mut s = proto::SnapshotProgress {
            tables_total: 4,
            tables_done: 1,
            rows_read: 1200,
            current_table: "db.t2".into(),
            incremental: true,
            ..Default::default()
        };
        assert_eq!(snapshot_line(&s), "[######------------------]  25%  1200 rows  table 2/4 db.t2  (incremental)");
        s.completed = true;
        s.incremental = false;
        assert!(snapshot_line(&s).starts_with("[########################] 100%"));
        assert!(snapshot_line(&s).ends_with("completed  (initial)"));
    }
}
