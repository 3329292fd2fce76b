//! The supervisor: runs exactly the tasks this node should run.
//!
//! After every applied entry or Raft metrics change it computes the wanted
//! set — connectors owned by this node, desired running, whether or not
//! this node leads (placement, in [`crate::placement`], decides owners) —
//! keyed by name and epoch, and reconciles the running tasks with it.
//!
//! A task that ended by itself under a still-current epoch stays down
//! until the epoch changes: a definitive failure stays FAILED on this node
//! (placement does not move failed connectors around), and transient
//! failures are retried with backoff inside the task, in place. Each
//! connector is its own task, so one failing connector never stops the
//! others on the node.
//!
//! # Stopping without stalling
//! A task whose epoch is no longer wanted is told to stop, and its
//! successor on this node starts only after it has ended: two tasks of one
//! connector never run side by side in one process, and a stopping task
//! finishes its `init_transactions` before it ends (see
//! [`super::task`]), so it cannot fence its successor afterwards. The wait
//! is per connector: a stopping task is kept aside and the supervisor goes
//! on reconciling every other connector, so one task stuck in a slow
//! Kafka call delays only its own connector's restart.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::task::{self, TaskContext};
use crate::node::Node;
use crate::raft::state::DesiredState;

struct Running {
    epoch: u64,
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

/// What the replicated state says a wanted task runs with.
struct Wanted {
    epoch: u64,
    incarnation: String,
    config: BTreeMap<String, String>,
}

pub async fn run(node: Arc<Node>) {
    let mut changes = node.subscribe_changes();
    let mut metrics = node.raft.metrics();
    let mut running: HashMap<String, Running> = HashMap::new();
    let mut stopping: HashMap<String, Running> = HashMap::new();
    // Every task says when it ends, so its successor starts at once.
    let (ended_tx, mut ended) = mpsc::unbounded_channel::<()>();
    loop {
        reconcile(&node, &mut running, &mut stopping, &ended_tx).await;
        tokio::select! {
            r = changes.changed() => if r.is_err() { break },
            r = metrics.changed() => if r.is_err() { break },
            _ = ended.recv() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    for (_, task) in running.drain().chain(stopping.drain()) {
        let _ = task.stop.send(true);
        let _ = task.handle.await;
    }
}

async fn reconcile(
    node: &Arc<Node>,
    running: &mut HashMap<String, Running>,
    stopping: &mut HashMap<String, Running>,
    ended: &mpsc::UnboundedSender<()>,
) {
    let wanted: HashMap<String, Wanted> = node
        .select_connectors(|c| {
            (c.owner == Some(node.id) && c.desired == DesiredState::Running).then(|| {
                let wanted = Wanted {
                    epoch: c.epoch,
                    incarnation: c.incarnation.clone(),
                    config: c.config.clone().into_inner(),
                };
                (c.name.clone(), wanted)
            })
        })
        .await
        .into_iter()
        .collect();

    // Stopped tasks that have ended make room for their successors.
    stopping.retain(|name, task| {
        let done = task.handle.is_finished();
        if done {
            tracing::info!(connector = %name, epoch = task.epoch, "stopped task");
        }
        !done
    });
    // A task whose epoch is no longer wanted stops. A task that ended by
    // itself (deposed, failed) under a still-current epoch stays down until
    // the epoch changes.
    let stale: Vec<String> = running
        .iter()
        .filter(|(name, task)| wanted.get(*name).map(|w| w.epoch) != Some(task.epoch))
        .map(|(name, _)| name.clone())
        .collect();
    for name in stale {
        if let Some(task) = running.remove(&name) {
            let _ = task.stop.send(true);
            // No successor starts while a task is stopping, so a connector
            // never has two tasks in `stopping`.
            stopping.insert(name, task);
        }
    }
    for (name, wanted) in wanted {
        if running.contains_key(&name) || stopping.contains_key(&name) {
            continue;
        }
        let (stop, stopped) = watch::channel(false);
        let epoch = wanted.epoch;
        tracing::info!(connector = %name, epoch, "starting task");
        // Everything the task logs (and the source it spawns) carries the
        // connector and epoch; the metrics show the task running until its
        // future ends, however it ends.
        let span = tracing::info_span!("connector", connector = %name, epoch);
        let running_guard = node.registry.connector(&name).task_running();
        let context = TaskContext {
            node: node.clone(),
            name: name.clone(),
            incarnation: wanted.incarnation,
            epoch,
            config: wanted.config,
            stopped,
        };
        let ended = ended.clone();
        running.insert(
            name,
            Running {
                epoch,
                stop,
                handle: tokio::spawn(
                    async move {
                        let _running = running_guard;
                        task::run(context).await;
                        let _ = ended.send(());
                    }
                    .instrument(span),
                ),
            },
        );
    }
}
