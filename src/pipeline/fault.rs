//! Fault-injection points for the chaos suite; inert unless armed.
//!
//! Some takeover races need an owner stopped at one exact step, which no
//! outside signal can hit reliably: a zombie frozen between its Raft claim
//! and `init_transactions`, for instance, is what lets a late
//! `init_transactions` fence the next owner. A point is armed by an
//! environment variable that names a file (`RAFTCDC_FAULT_<POINT>=<path>`).
//! When a task reaches the point and the file exists and names this
//! connector (or is empty), the file is removed, so the point fires once,
//! and the whole process stops itself with `SIGSTOP`, exactly as
//! `kill -STOP` from outside would; the test resumes it with `SIGCONT`.
//!
//! Production never sets these variables; an unarmed point costs one
//! environment lookup per task attempt.
use std::path::PathBuf;

/// A place in the task where the chaos suite may freeze the process.
#[derive(Debug, Clone, Copy)]
pub enum Point {
    /// After the task's Raft claim succeeded, before `init_transactions`.
    AfterClaim,
    /// After a batch's signals were applied through Raft, before the
    /// batch's Kafka transaction (an owner that dies here leaves the next
    /// owner to read the signals again).
    AfterSignal,
    /// After the Kafka transaction of a batch that completed the initial
    /// snapshot, before its offset and snapshot progress reach Raft (an
    /// owner that dies here leaves the next owner to commit the
    /// completion from Kafka's progress record).
    AfterSnapshotDelivered,
}

impl Point {
    fn variable(self) -> &'static str {
        match self {
            Point::AfterClaim => "RAFTCDC_FAULT_FREEZE_AFTER_CLAIM",
            Point::AfterSignal => "RAFTCDC_FAULT_FREEZE_AFTER_SIGNAL",
            Point::AfterSnapshotDelivered => "RAFTCDC_FAULT_FREEZE_AFTER_SNAPSHOT_DELIVERED",
        }
    }
}

/// Freezes the process here if `point` is armed for `connector`.
pub fn reached(point: Point, connector: &str) {
    let Some(path) = std::env::var_os(point.variable()).map(PathBuf::from) else { return };
    let Ok(target) = std::fs::read_to_string(&path) else { return };
    let target = target.trim();
    if !target.is_empty() && target != connector {
        return;
    }
    if std::fs::remove_file(&path).is_err() {
        return;
    }
    tracing::warn!(connector, point = ?point, "fault point reached: stopping the process (SIGSTOP)");
    // SAFETY: raise() is async-signal-safe and only delivers a signal.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
}
