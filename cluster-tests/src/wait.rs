//! Polling with a deadline: the only way the harness waits for anything.
//!
//! A distributed system gives no callback when "a leader has been elected"
//! or "the connector moved", so tests observe the cluster until a condition
//! holds. This module owns that loop and nothing else. It is correct because:
//!
//! - **No fixed sleeps as synchronisation.** A condition is re-checked every
//!   [`POLL_INTERVAL`]; a test proceeds as soon as the condition holds and
//!   fails only when the whole deadline has passed.
//! - **A hung probe cannot outlive the deadline.** Each probe runs under the
//!   time that is left, so a call to a frozen (`SIGSTOP`ped) node that never
//!   answers is abandoned when the deadline passes instead of blocking the
//!   test forever.
//! - **Failures explain themselves.** A probe answers `Err(observation)` while
//!   the condition does not hold yet; on timeout the panic message carries the
//!   description of what was awaited *and* the last observation, which is
//!   usually enough to see what the cluster was doing instead.
use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is re-checked.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The deadline tests use for anything a healthy cluster should do in a few
/// seconds (elections, replication, process start). It is a correctness
/// bound for slow, shared CI machines, not a performance assertion.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

/// Why [`poll_until`] gave up.
#[derive(Debug)]
pub struct WaitTimeout {
    /// What was being waited for.
    pub description: String,
    /// How long was waited.
    pub waited: Duration,
    /// `Debug` rendering of the last `Err` the probe answered, or a note
    /// that the last probe itself did not finish in time.
    pub last_observed: String,
}

impl std::fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "timed out after {:.1?} waiting for: {}\n  last observed: {}",
            self.waited, self.description, self.last_observed
        )
    }
}

impl std::error::Error for WaitTimeout {}

/// Calls `probe` every [`POLL_INTERVAL`] until it answers `Ok`, and returns
/// that value; panics with `description` and the last observation when
/// `deadline` passes first.
///
/// ```ignore
/// let leader = wait_until(DEFAULT_DEADLINE, "node 1 knows a leader", || async {
///     let status = cluster.status(1).await.map_err(|e| e.to_string())?;
///     status.leader_id.ok_or_else(|| format!("no leader yet: {status:?}"))
/// })
/// .await;
/// ```
pub async fn wait_until<T, E, F, Fut>(deadline: Duration, description: &str, probe: F) -> T
where
    E: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    match poll_until(deadline, description, probe).await {
        Ok(value) => value,
        Err(timeout) => panic!("{timeout}"),
    }
}

/// Like [`wait_until`] but answers the timeout as an error instead of
/// panicking, for callers (the benchmark) that want to report it themselves.
pub async fn poll_until<T, E, F, Fut>(
    deadline: Duration,
    description: &str,
    mut probe: F,
) -> Result<T, WaitTimeout>
where
    E: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let give_up_at = started + deadline;
    let mut last_observed = String::from("(the condition was never checked)");
    loop {
        let left = give_up_at.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, probe()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(observed)) => last_observed = format!("{observed:?}"),
            Err(_) => {
                last_observed = format!("the last check itself did not finish; before it: {last_observed}")
            }
        }
        if Instant::now() + POLL_INTERVAL >= give_up_at {
            return Err(WaitTimeout {
                description: description.to_owned(),
                waited: started.elapsed(),
                last_observed,
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
