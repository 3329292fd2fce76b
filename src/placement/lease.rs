//! Every node's lease renewal (see [`super`] for why leases): every
//! quarter of `placement.lease_timeout_ms` it proposes `RenewLease`
//! through the leader, carrying the events/s of each connector it runs
//! (measured from this node's delivered-rows counters). Before the first
//! renewal, and whenever the replicated record differs from this node's
//! `[node]` settings, it proposes `RegisterNode` (capacity, labels,
//! worker).
//!
//! A renewal that fails (no leader yet, this node cut off) is simply tried
//! again at the next period: the lease lapsing is exactly what should
//! happen to a node that cannot reach a quorum.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crate::error::error_chain;
use crate::node::Node;
use crate::raft::command::{Command, LoadReport};

/// Events/s are reported in steps of this much (a finer value would only
/// add noise to the replicated state).
const RATE_STEP: f64 = 10.0;

pub async fn run(node: Arc<Node>) {
    let period = node.config.placement.lease_timeout / 4;
    let mut last: BTreeMap<String, (u64, Instant)> = BTreeMap::new();
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if !node.raft.is_initialized().await.unwrap_or(false) {
            continue;
        }
        let config = &node.config;
        let registered = node
            .read_state(|s| {
                s.nodes
                    .get(&node.id)
                    .is_some_and(|r| r.capacity == config.capacity && r.labels == config.labels && r.worker == config.worker)
            })
            .await;
        if !registered {
            let command = Command::RegisterNode {
                node_id: node.id,
                capacity: config.capacity,
                labels: config.labels.clone(),
                worker: config.worker,
            };
            if let Err(error) = node.propose(command).await {
                tracing::debug!(error = %error_chain(&error), "cannot register this node for placement yet");
                continue;
            }
        }
        let loads = measure(&node, &mut last).await;
        if let Err(error) = node.propose(Command::RenewLease { node_id: node.id, loads }).await {
            tracing::debug!(error = %error_chain(&error), "cannot renew this node's lease");
        }
    }
}

/// The events/s of each connector this node owns, since the last call;
/// only connectors whose rate changed by a step are reported.
async fn measure(node: &Node, last: &mut BTreeMap<String, (u64, Instant)>) -> Vec<LoadReport> {
    let owned: Vec<(String, u64, f64)> = node
        .select_connectors(|c| (c.owner == Some(node.id)).then(|| (c.name.clone(), c.epoch, c.events_per_sec)))
        .await;
    let rows = node.registry.source_rows();
    let now = Instant::now();
    let mut reports = Vec::new();
    for (name, epoch, reported) in owned {
        let total = rows.get(&name).copied().unwrap_or(0);
        let Some((before, at)) = last.insert(name.clone(), (total, now)) else { continue };
        let seconds = now.saturating_duration_since(at).as_secs_f64();
        if seconds <= 0.0 {
            continue;
        }
        let rate = ((total.saturating_sub(before) as f64 / seconds) / RATE_STEP).round() * RATE_STEP;
        if (rate - reported).abs() >= RATE_STEP {
            reports.push(LoadReport {
                name,
                epoch,
                events_per_sec: rate,
            });
        }
    }
    last.retain(|name, _| rows.contains_key(name));
    reports
}
