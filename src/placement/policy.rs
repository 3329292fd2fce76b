//! The placement policy: a pure function from what the replicated state
//! says (plus the leader's view of which nodes are alive) to the moves to
//! make now. No clock, no I/O: [`plan`] is tested without processes,
//! including property tests over random clusters.
//!
//! # The default policy (`spread`)
//! Each connector has a *weight*: 1, plus its recent events/s in steps of
//! [`EVENTS_PER_WEIGHT_STEP`] (each step adds 0.5, at most
//! [`MAX_EXTRA_WEIGHT`]); a node's *load* is the sum of the weights of the
//! connectors it owns, divided by its capacity when it has one. The
//! quantised weight is the first piece of hysteresis: small swings in
//! traffic do not change any load.
//!
//! A node is *eligible* for a connector when it is alive, settled (alive
//! for the settle time, see [`super`]), neither cordoned nor draining,
//! below its capacity, carries every label the connector asks for, and is
//! the node the connector is pinned to, if it is pinned.
//!
//! Moves, in order:
//! 1. **Forced**, any number at once: a runnable connector with no owner,
//!    or whose owner is gone (not alive, or no longer a member). These
//!    connectors run nowhere, so moving them costs nothing. Each goes to
//!    the least-loaded eligible node (ties: the leader, which holds the
//!    freshest state and needs no forwarding hop, then the lowest node
//!    id); with none eligible it waits.
//! 2. **Voluntary**, at most one, and only when no forced move is planned
//!    and no earlier move is still settling (`move_in_flight`): the first
//!    of: a connector on a draining node; a connector on a node over its
//!    capacity; a connector pinned elsewhere or on a node lacking one of
//!    its labels, when an eligible node exists; and finally the imbalance
//!    rule: from the most to the least loaded node, when the difference
//!    exceeds the moved connector's weight on both sides plus
//!    [`IMBALANCE_MARGIN`], so that a move strictly narrows the gap and the
//!    next round cannot move it back (equal weights end within one
//!    connector of even).
//!
//! A connector whose task FAILED definitively is never moved voluntarily
//! (it stays FAILED on its node, where the operator finds it): only its
//! node's death, or a drain, moves it.
//!
//! # The `leader` policy
//! Every runnable connector not owned by the leader moves to the leader at
//! once: raftcdc's behaviour before placement existed.
use std::collections::BTreeMap;

use crate::raft::NodeId;

/// Events/s that add one weight step.
pub const EVENTS_PER_WEIGHT_STEP: f64 = 500.0;
/// Most a connector's traffic adds to its weight.
pub const MAX_EXTRA_WEIGHT: f64 = 4.0;
/// How much a move must narrow the gap between two nodes' loads.
pub const IMBALANCE_MARGIN: f64 = 0.25;

/// Which policy decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Spread by load (the default).
    Spread,
    /// The leader owns every connector.
    Leader,
}

impl Policy {
    /// Its name in `[placement] policy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Spread => "spread",
            Policy::Leader => "leader",
        }
    }
}

/// A node as placement sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    pub id: NodeId,
    /// Most connectors it may own; `None` = no limit.
    pub capacity: Option<u32>,
    pub labels: BTreeMap<String, String>,
    /// Takes no new connectors.
    pub cordoned: bool,
    /// Takes no new connectors and gives its own away, one at a time.
    pub draining: bool,
    /// Alive by the leader's lease table.
    pub alive: bool,
    /// Alive long enough to receive voluntary moves.
    pub settled: bool,
}

/// A connector as placement sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorView {
    pub name: String,
    pub owner: Option<NodeId>,
    pub epoch: u64,
    /// Desired RUNNING (only those are placed).
    pub runnable: bool,
    /// Its task failed definitively under the current epoch.
    pub failed: bool,
    /// Recent events/s its owner reported.
    pub events_per_sec: f64,
    /// `raftcdc.placement.node`.
    pub pinned_to: Option<NodeId>,
    /// `raftcdc.placement.labels`.
    pub labels: BTreeMap<String, String>,
}

/// Why a connector moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveReason {
    /// It had no owner, or its owner is gone.
    Unowned,
    /// Its owner is draining.
    Drain,
    /// Its owner owns more than its capacity.
    OverCapacity,
    /// It is pinned to, or labelled for, another node.
    Constraint,
    /// The load difference between two nodes exceeded the threshold.
    Balance,
    /// The `leader` policy.
    Leader,
}

impl MoveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveReason::Unowned => "unowned",
            MoveReason::Drain => "drain",
            MoveReason::OverCapacity => "over_capacity",
            MoveReason::Constraint => "constraint",
            MoveReason::Balance => "balance",
            MoveReason::Leader => "leader",
        }
    }

    /// Forced moves are not limited to one at a time.
    pub fn is_forced(self) -> bool {
        matches!(self, MoveReason::Unowned | MoveReason::Leader)
    }

    pub const ALL: [MoveReason; 6] = [
        MoveReason::Unowned,
        MoveReason::Drain,
        MoveReason::OverCapacity,
        MoveReason::Constraint,
        MoveReason::Balance,
        MoveReason::Leader,
    ];
}

/// One ownership change: `AssignOwner { name, node_id: to, expected_epoch }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    pub name: String,
    pub from: Option<NodeId>,
    pub to: NodeId,
    pub expected_epoch: u64,
    pub reason: MoveReason,
}

/// Everything [`plan`] decides from.
#[derive(Debug, Clone)]
pub struct PlacementInput {
    pub policy: Policy,
    /// The node deciding (the leader).
    pub leader: NodeId,
    /// Nodes that may own connectors (voters, and learners that are workers).
    pub nodes: Vec<NodeView>,
    pub connectors: Vec<ConnectorView>,
    /// An earlier voluntary move has not settled yet.
    pub move_in_flight: bool,
}

/// A connector's weight (see the module docs).
pub fn weight(events_per_sec: f64) -> f64 {
    let steps = (events_per_sec.max(0.0) / EVENTS_PER_WEIGHT_STEP).floor();
    1.0 + (steps * 0.5).min(MAX_EXTRA_WEIGHT)
}

/// Per node: owned connectors and summed weight.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    count: u32,
    weight: f64,
}

struct Plan<'a> {
    leader: NodeId,
    nodes: BTreeMap<NodeId, &'a NodeView>,
    tally: BTreeMap<NodeId, Tally>,
}

impl<'a> Plan<'a> {
    fn load(&self, id: NodeId) -> f64 {
        let tally = self.tally.get(&id).copied().unwrap_or_default();
        match self.nodes.get(&id).and_then(|n| n.capacity) {
            Some(capacity) => tally.weight / f64::from(capacity.max(1)),
            None => tally.weight,
        }
    }

    fn has_room(&self, id: NodeId) -> bool {
        let count = self.tally.get(&id).map_or(0, |t| t.count);
        self.nodes.get(&id).and_then(|n| n.capacity).is_none_or(|c| count < c)
    }

    fn fits(node: &NodeView, connector: &ConnectorView) -> bool {
        connector.pinned_to.is_none_or(|p| p == node.id)
            && connector.labels.iter().all(|(k, v)| node.labels.get(k) == Some(v))
    }

    /// Eligible for a *new* connector (module docs).
    fn eligible(&self, node: &NodeView, connector: &ConnectorView) -> bool {
        node.alive && node.settled && !node.cordoned && !node.draining && self.has_room(node.id) && Self::fits(node, connector)
    }

    /// The least-loaded eligible node, other than `except`.
    fn target(&self, connector: &ConnectorView, except: Option<NodeId>) -> Option<NodeId> {
        self.nodes
            .values()
            .filter(|n| Some(n.id) != except && self.eligible(n, connector))
            .map(|n| (n.id, self.load(n.id)))
            .min_by(|a, b| {
                a.1.total_cmp(&b.1)
                    .then((a.0 != self.leader).cmp(&(b.0 != self.leader)))
                    .then(a.0.cmp(&b.0))
            })
            .map(|(id, _)| id)
    }

    fn shift(&mut self, from: Option<NodeId>, to: NodeId, w: f64) {
        if let Some(from) = from {
            let t = self.tally.entry(from).or_default();
            t.count = t.count.saturating_sub(1);
            t.weight -= w;
        }
        let t = self.tally.entry(to).or_default();
        t.count += 1;
        t.weight += w;
    }
}

/// The moves to make now (see the module docs). Every move names the
/// epoch it expects, so the leader proposes it as compare-and-set.
pub fn plan(input: &PlacementInput) -> Vec<Move> {
    let runnable: Vec<&ConnectorView> = input.connectors.iter().filter(|c| c.runnable).collect();
    if input.policy == Policy::Leader {
        return runnable
            .iter()
            .filter(|c| c.owner != Some(input.leader))
            .map(|c| Move {
                name: c.name.clone(),
                from: c.owner,
                to: input.leader,
                expected_epoch: c.epoch,
                reason: MoveReason::Leader,
            })
            .collect();
    }
    let mut plan = Plan {
        leader: input.leader,
        nodes: input.nodes.iter().map(|n| (n.id, n)).collect(),
        tally: BTreeMap::new(),
    };
    let alive: std::collections::BTreeSet<NodeId> = input.nodes.iter().filter(|n| n.alive).map(|n| n.id).collect();
    let alive_owner = |c: &ConnectorView| c.owner.filter(|o| alive.contains(o));
    for c in &runnable {
        if let Some(owner) = alive_owner(c) {
            let t = plan.tally.entry(owner).or_default();
            t.count += 1;
            t.weight += weight(c.events_per_sec);
        }
    }

    // 1. Forced.
    let mut moves = Vec::new();
    for c in &runnable {
        if alive_owner(c).is_some() {
            continue;
        }
        if let Some(to) = plan.target(c, None) {
            plan.shift(None, to, weight(c.events_per_sec));
            moves.push(Move {
                name: c.name.clone(),
                from: c.owner,
                to,
                expected_epoch: c.epoch,
                reason: MoveReason::Unowned,
            });
        }
    }
    if !moves.is_empty() || input.move_in_flight {
        return moves;
    }

    // 2. Voluntary: at most one.
    let owned = |c: &&&ConnectorView| alive_owner(c).is_some();
    let voluntary = |plan: &Plan, c: &ConnectorView, reason: MoveReason| {
        let from = c.owner;
        plan.target(c, from).map(|to| Move {
            name: c.name.clone(),
            from,
            to,
            expected_epoch: c.epoch,
            reason,
        })
    };
    let on = |c: &ConnectorView, pred: &dyn Fn(&NodeView) -> bool| c.owner.and_then(|o| plan.nodes.get(&o)).is_some_and(|n| pred(n));
    for c in runnable.iter().filter(owned) {
        if on(c, &|n| n.draining) {
            if let Some(m) = voluntary(&plan, c, MoveReason::Drain) {
                return vec![m];
            }
        }
    }
    for c in runnable.iter().filter(owned).filter(|c| !c.failed) {
        let over_capacity = |n: &NodeView| n.capacity.is_some_and(|cap| plan.tally.get(&n.id).map_or(0, |t| t.count) > cap);
        if on(c, &over_capacity) {
            if let Some(m) = voluntary(&plan, c, MoveReason::OverCapacity) {
                return vec![m];
            }
        }
    }
    for c in runnable.iter().filter(owned).filter(|c| !c.failed) {
        if on(c, &|n| !Plan::fits(n, c)) {
            if let Some(m) = voluntary(&plan, c, MoveReason::Constraint) {
                return vec![m];
            }
        }
    }
    balance_move(&plan, &runnable, &alive_owner).into_iter().collect()
}

/// The imbalance rule: the one move from the most loaded node to a less
/// loaded one that narrows their gap by more than [`IMBALANCE_MARGIN`].
fn balance_move(plan: &Plan, runnable: &[&ConnectorView], alive_owner: &dyn Fn(&ConnectorView) -> Option<NodeId>) -> Option<Move> {
    let mut sources: Vec<(NodeId, f64)> = plan
        .nodes
        .values()
        .filter(|n| n.alive)
        .map(|n| (n.id, plan.load(n.id)))
        .collect();
    sources.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    for (from, from_load) in sources {
        let mut best: Option<(f64, Move)> = None;
        for c in runnable.iter().filter(|c| alive_owner(c) == Some(from) && !c.failed) {
            let w = weight(c.events_per_sec);
            let Some(to) = plan.target(c, Some(from)) else { continue };
            let to_load = plan.load(to);
            let per = |id: NodeId| match plan.nodes.get(&id).and_then(|n| n.capacity) {
                Some(cap) => w / f64::from(cap.max(1)),
                None => w,
            };
            let gap = from_load - to_load;
            let after = ((from_load - per(from)) - (to_load + per(to))).abs();
            if gap - after > IMBALANCE_MARGIN && best.as_ref().is_none_or(|(a, _)| after < *a) {
                best = Some((
                    after,
                    Move {
                        name: c.name.clone(),
                        from: Some(from),
                        to,
                        expected_epoch: c.epoch,
                        reason: MoveReason::Balance,
                    },
                ));
            }
        }
        if let Some((_, m)) = best {
            return Some(m);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn node(id: NodeId) -> NodeView {
        NodeView {
            id,
            capacity: None,
            labels: BTreeMap::new(),
            cordoned: false,
            draining: false,
            alive: true,
            settled: true,
        }
    }

    fn connector(i: usize, owner: Option<NodeId>) -> ConnectorView {
        ConnectorView {
            name: format!("c{i:02}"),
            owner,
            epoch: i as u64 * 10,
            runnable: true,
            failed: false,
            events_per_sec: 0.0,
            pinned_to: None,
            labels: BTreeMap::new(),
        }
    }

    fn input(nodes: Vec<NodeView>, connectors: Vec<ConnectorView>) -> PlacementInput {
        PlacementInput {
            policy: Policy::Spread,
            leader: 1,
            nodes,
            connectors,
            move_in_flight: false,
        }
    }

    /// Applies moves the way the state machine would (compare-and-set on
    /// the epoch, a fresh epoch per move).
    fn apply(input: &mut PlacementInput, moves: &[Move], next_epoch: &mut u64) {
        for m in moves {
            let c = input.connectors.iter_mut().find(|c| c.name == m.name).unwrap();
            assert_eq!(c.epoch, m.expected_epoch);
            *next_epoch += 1;
            c.epoch = *next_epoch;
            c.owner = Some(m.to);
        }
    }

    /// Plans and applies until nothing moves; returns the rounds it took.
    fn settle(input: &mut PlacementInput) -> usize {
        let mut epoch = 10_000;
        for round in 0..1000 {
            let moves = plan(input);
            if moves.is_empty() {
                return round;
            }
            apply(input, &moves, &mut epoch);
        }
        panic!("placement never settles");
    }

    fn counts(input: &PlacementInput) -> BTreeMap<NodeId, usize> {
        let mut counts: BTreeMap<NodeId, usize> = input.nodes.iter().map(|n| (n.id, 0)).collect();
        for c in &input.connectors {
            *counts.entry(c.owner.unwrap()).or_default() += 1;
        }
        counts
    }

    #[test]
    fn thirty_new_connectors_spread_evenly_in_one_round() {
        let mut input = input((1..=3).map(node).collect(), (0..30).map(|i| connector(i, None)).collect());
        assert_eq!(plan(&input).len(), 30, "unowned connectors are placed at once");
        settle(&mut input);
        assert!(counts(&input).values().all(|n| *n == 10), "{:?}", counts(&input));
    }

    #[test]
    fn a_new_node_gets_connectors_one_move_at_a_time() {
        let mut input = input((1..=3).map(node).collect(), (0..30).map(|i| connector(i, Some(1 + i as u64 % 3))).collect());
        assert!(plan(&input).is_empty(), "balanced: nothing moves");
        input.nodes.push(node(4));
        let moves = plan(&input);
        assert_eq!(moves.len(), 1);
        assert_eq!(moves[0].to, 4);
        input.move_in_flight = true;
        assert!(plan(&input).is_empty(), "one voluntary move at a time");
        input.move_in_flight = false;
        settle(&mut input);
        let counts = counts(&input);
        assert!(counts.values().max().unwrap() - counts.values().min().unwrap() <= 1, "{counts:?}");
    }

    #[test]
    fn a_dead_owner_loses_all_its_connectors_at_once_and_a_flapping_node_gets_none_back() {
        let mut input = input((1..=3).map(node).collect(), (0..30).map(|i| connector(i, Some(1 + i as u64 % 3))).collect());
        input.nodes[1].alive = false;
        input.nodes[1].settled = false;
        let moves = plan(&input);
        assert_eq!(moves.len(), 10);
        assert!(moves.iter().all(|m| m.from == Some(2) && m.to != 2 && m.reason == MoveReason::Unowned));
        let mut epoch = 1000;
        apply(&mut input, &moves, &mut epoch);
        // Back, but not settled yet: nothing moves to it.
        input.nodes[1].alive = true;
        assert!(plan(&input).is_empty());
        input.nodes[1].settled = true;
        assert_eq!(plan(&input).len(), 1);
    }

    #[test]
    fn drain_moves_one_at_a_time_and_cordon_takes_nothing_new() {
        let mut input = input((1..=3).map(node).collect(), (0..9).map(|i| connector(i, Some(1 + i as u64 % 3))).collect());
        input.nodes[2].cordoned = true;
        assert!(plan(&input).is_empty(), "cordon alone moves nothing");
        input.connectors.push(connector(20, None));
        let moves = plan(&input);
        assert_eq!(moves.len(), 1);
        assert_ne!(moves[0].to, 3);
        input.connectors.pop();
        input.nodes[2].draining = true;
        let moves = plan(&input);
        assert_eq!(moves.len(), 1);
        assert_eq!((moves[0].from, moves[0].reason), (Some(3), MoveReason::Drain));
        settle(&mut input);
        assert_eq!(counts(&input)[&3], 0);
    }

    #[test]
    fn pins_labels_and_capacity() {
        let mut nodes: Vec<NodeView> = (1..=3).map(node).collect();
        nodes[0].labels.insert("zone".into(), "a".into());
        nodes[1].capacity = Some(2);
        let mut connectors: Vec<ConnectorView> = (0..9).map(|i| connector(i, None)).collect();
        connectors[0].pinned_to = Some(3);
        connectors[1].labels.insert("zone".into(), "a".into());
        let mut input = input(nodes, connectors);
        settle(&mut input);
        assert_eq!(input.connectors[0].owner, Some(3));
        assert_eq!(input.connectors[1].owner, Some(1));
        assert!(counts(&input)[&2] <= 2);
        // A pin to a node that cannot take it leaves the connector unowned.
        input.connectors.push(ConnectorView { pinned_to: Some(9), ..connector(30, None) });
        assert!(plan(&input).is_empty());
    }

    #[test]
    fn a_node_over_its_capacity_gives_connectors_away_one_at_a_time() {
        let mut input = input((1..=2).map(node).collect(), (0..4).map(|i| connector(i, Some(1))).collect());
        input.nodes[0].capacity = Some(1);
        input.nodes[1].capacity = Some(3);
        let moves = plan(&input);
        assert_eq!(moves.len(), 1);
        assert_eq!((moves[0].from, moves[0].to, moves[0].reason), (Some(1), 2, MoveReason::OverCapacity));
        settle(&mut input);
        assert_eq!(counts(&input), BTreeMap::from([(1, 1), (2, 3)]));
    }

    #[test]
    fn failed_connectors_stay_put() {
        let mut input = input((1..=2).map(node).collect(), (0..4).map(|i| ConnectorView { failed: true, ..connector(i, Some(1)) }).collect());
        assert!(plan(&input).is_empty(), "a failed connector is not rebalanced");
        input.nodes[0].draining = true;
        assert_eq!(plan(&input).len(), 1, "but a drain moves it");
    }

    #[test]
    fn traffic_weighs_in_but_small_swings_do_not() {
        assert_eq!(weight(0.0), weight(499.0));
        assert!(weight(5_000.0) > weight(0.0));
        let mut connectors: Vec<ConnectorView> = (0..4).map(|i| connector(i, Some(1 + i as u64 % 2))).collect();
        connectors[0].events_per_sec = 4_000.0; // on node 1, with c02
        let mut input = input((1..=2).map(node).collect(), connectors);
        settle(&mut input);
        let heavy_owner = input.connectors[0].owner;
        assert_eq!(input.connectors.iter().filter(|c| c.owner == heavy_owner).count(), 1, "{:?}", input.connectors);
    }

    #[test]
    fn leader_policy_keeps_the_old_behaviour() {
        let mut input = input((1..=3).map(node).collect(), (0..5).map(|i| connector(i, Some(2))).collect());
        input.policy = Policy::Leader;
        let moves = plan(&input);
        assert_eq!(moves.len(), 5);
        assert!(moves.iter().all(|m| m.to == 1));
    }

    fn arbitrary_input() -> impl Strategy<Value = PlacementInput> {
        let nodes = prop::collection::vec((prop::option::of(1u32..6), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), prop::option::of(0u8..2)), 1..6);
        let connectors = prop::collection::vec((prop::option::of(1u64..8), any::<bool>(), any::<bool>(), 0.0f64..5_000.0, prop::option::of(1u64..7), prop::option::of(0u8..2)), 0..40);
        (nodes, connectors, any::<bool>(), any::<bool>()).prop_map(|(nodes, connectors, in_flight, leader_policy)| {
            let zone = |z: Option<u8>| z.map(|z| BTreeMap::from([("zone".to_string(), z.to_string())])).unwrap_or_default();
            PlacementInput {
                policy: if leader_policy { Policy::Leader } else { Policy::Spread },
                leader: 1,
                nodes: nodes
                    .into_iter()
                    .enumerate()
                    .map(|(i, (capacity, cordoned, draining, alive, settled, z))| NodeView {
                        id: i as u64 + 1,
                        capacity,
                        labels: zone(z),
                        cordoned,
                        draining,
                        alive,
                        settled: alive && settled,
                    })
                    .collect(),
                connectors: connectors
                    .into_iter()
                    .enumerate()
                    .map(|(i, (owner, runnable, failed, eps, pin, z))| ConnectorView {
                        name: format!("c{i}"),
                        owner,
                        epoch: i as u64,
                        runnable,
                        failed,
                        events_per_sec: eps,
                        pinned_to: pin,
                        labels: zone(z),
                    })
                    .collect(),
                move_in_flight: in_flight,
            }
        })
    }

    proptest! {
        /// Never two owners at one epoch: each move names a distinct
        /// connector at the epoch it has, so compare-and-set lets each win
        /// once and every win takes a fresh epoch.
        #[test]
        fn moves_are_compare_and_set_on_distinct_connectors(input in arbitrary_input()) {
            let moves = plan(&input);
            let mut seen = std::collections::BTreeSet::new();
            for m in &moves {
                prop_assert!(seen.insert(m.name.clone()), "{} moved twice in one plan", m.name);
                let c = input.connectors.iter().find(|c| c.name == m.name).unwrap();
                prop_assert_eq!(c.epoch, m.expected_epoch);
                prop_assert!(c.runnable);
                prop_assert_ne!(Some(m.to), m.from);
            }
        }

        /// Moves are bounded: forced moves only for connectors that run
        /// nowhere, at most one voluntary move and none while one settles.
        #[test]
        fn moves_are_bounded(input in arbitrary_input()) {
            let moves = plan(&input);
            let voluntary = moves.iter().filter(|m| !m.reason.is_forced()).count();
            prop_assert!(voluntary <= 1);
            if voluntary == 1 {
                prop_assert_eq!(moves.len(), 1);
                prop_assert!(!input.move_in_flight);
            }
            if input.policy == Policy::Spread {
                for m in moves.iter().filter(|m| m.reason == MoveReason::Unowned) {
                    let alive = m.from.and_then(|o| input.nodes.iter().find(|n| n.id == o)).is_some_and(|n| n.alive);
                    prop_assert!(!alive, "{} moved away from a live owner as unowned", m.name);
                }
            }
        }

        /// Capacity, cordon, labels and pins are respected by every move
        /// of the spread policy, and settling ends.
        #[test]
        fn targets_respect_capacity_and_constraints(input in arbitrary_input()) {
            prop_assume!(input.policy == Policy::Spread);
            let mut input = input;
            input.move_in_flight = false;
            let mut epoch = 1_000;
            for _ in 0..200 {
                let moves = plan(&input);
                if moves.is_empty() {
                    return Ok(());
                }
                for m in &moves {
                    let node = input.nodes.iter().find(|n| n.id == m.to).unwrap();
                    let c = input.connectors.iter().find(|c| c.name == m.name).unwrap();
                    prop_assert!(node.alive && node.settled && !node.cordoned && !node.draining);
                    prop_assert!(c.pinned_to.is_none_or(|p| p == node.id));
                    prop_assert!(c.labels.iter().all(|(k, v)| node.labels.get(k) == Some(v)));
                }
                apply(&mut input, &moves, &mut epoch);
                for node in &input.nodes {
                    if let Some(cap) = node.capacity {
                        let newly = moves.iter().filter(|m| m.to == node.id).count();
                        let owned = input.connectors.iter().filter(|c| c.runnable && c.owner == Some(node.id)).count();
                        prop_assert!(newly == 0 || owned as u32 <= cap, "node {} owns {owned} > {cap}", node.id);
                    }
                }
            }
            prop_assert!(false, "placement did not settle in 200 rounds");
        }
    }
}
