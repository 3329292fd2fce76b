//! The leader's view of which nodes are alive and settled (see
//! [`super`]): when it last saw each node's lease renewal or replication
//! progress, on its own monotonic clock. Kept in the leader's memory only;
//! a new leader starts afresh ([`Liveness::new`]).
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::raft::NodeId;

#[derive(Debug)]
pub struct Liveness {
    me: NodeId,
    timeout: Duration,
    settle: Duration,
    /// Last sign of life, and since when the node has been alive without
    /// interruption.
    seen: BTreeMap<NodeId, (Instant, Instant)>,
    /// The last lease renewal count and replication index seen per node.
    marks: BTreeMap<NodeId, (u64, Option<u64>)>,
}

impl Liveness {
    /// A view for a node that became leader at `now`: every node but
    /// `former_leader` gets one timeout to show a sign of life and counts
    /// as settled; the former leader is gone until it shows one.
    pub fn new(me: NodeId, former_leader: Option<NodeId>, members: impl Iterator<Item = NodeId>, timeout: Duration, settle: Duration, now: Instant) -> Liveness {
        let since = now.checked_sub(settle).unwrap_or(now);
        let seen = members
            .filter(|id| Some(*id) != former_leader || *id == me)
            .map(|id| (id, (now, since)))
            .collect();
        Liveness {
            me,
            timeout,
            settle,
            seen,
            marks: BTreeMap::new(),
        }
    }

    /// Records a node's lease renewal count and replication index as of
    /// `now`; a change is a sign of life. The first observation only sets
    /// the mark.
    pub fn observe(&mut self, id: NodeId, renewals: u64, replicated: Option<u64>, now: Instant) {
        let mark = (renewals, replicated);
        match self.marks.insert(id, mark) {
            Some(old) if old.0 != renewals || (replicated.is_some() && old.1 < replicated) => self.saw(id, now),
            _ => {}
        }
    }

    fn saw(&mut self, id: NodeId, now: Instant) {
        let alive = self.alive(id, now);
        let entry = self.seen.entry(id).or_insert((now, now));
        entry.0 = now;
        if !alive {
            entry.1 = now;
        }
    }

    pub fn alive(&self, id: NodeId, now: Instant) -> bool {
        id == self.me || self.seen.get(&id).is_some_and(|(last, _)| now.saturating_duration_since(*last) < self.timeout)
    }

    pub fn settled(&self, id: NodeId, now: Instant) -> bool {
        id == self.me
            || (self.alive(id, now) && self.seen.get(&id).is_some_and(|(_, since)| now.saturating_duration_since(*since) >= self.settle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_millis(1000);
    const S: Duration = Duration::from_millis(5000);

    #[test]
    fn a_new_leader_gives_followers_a_timeout_and_the_former_leader_none() {
        let start = Instant::now();
        let mut view = Liveness::new(1, Some(2), [1, 2, 3].into_iter(), T, S, start);
        assert!(view.alive(3, start) && view.settled(3, start));
        assert!(!view.alive(2, start));
        let later = start + T + Duration::from_millis(1);
        assert!(!view.alive(3, later), "no sign of life within the timeout");
        view.observe(3, 1, None, later);
        view.observe(3, 2, None, later);
        assert!(view.alive(3, later));
        assert!(!view.settled(3, later), "back after a gap: settles again");
        assert!(view.alive(1, later + S * 10), "the leader itself is always alive");
    }

    #[test]
    fn replication_progress_counts_as_life() {
        let start = Instant::now();
        let mut view = Liveness::new(1, None, [1, 2].into_iter(), T, S, start);
        view.observe(2, 0, Some(5), start);
        let later = start + T * 2;
        view.observe(2, 0, Some(5), later);
        assert!(!view.alive(2, later), "no progress");
        view.observe(2, 0, Some(6), later);
        assert!(view.alive(2, later));
    }
}
