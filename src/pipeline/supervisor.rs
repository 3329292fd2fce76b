//! The supervisor: runs exactly the tasks this node should run.
//!
//! After every applied entry or Raft metrics change it computes the wanted
//! set — connectors owned by this node, desired running, while this node
//! leads (the placement policy) — keyed by name and epoch, and reconciles
//! the running tasks with it: a task whose epoch is no longer current is
//! stopped before its successor starts.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
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

pub async fn run(node: Arc<Node>) {
    let mut changes = node.subscribe_changes();
    let mut metrics = node.raft.metrics();
    let mut running: HashMap<String, Running> = HashMap::new();
    loop {
        reconcile(&node, &mut running).await;
        tokio::select! {
            r = changes.changed() => if r.is_err() { break },
            r = metrics.changed() => if r.is_err() { break },
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    for (_, task) in running.drain() {
        let _ = task.stop.send(true);
        let _ = task.handle.await;
    }
}

async fn reconcile(node: &Arc<Node>, running: &mut HashMap<String, Running>) {
    let leads = node.is_leader();
    let wanted: HashMap<String, (u64, std::collections::BTreeMap<String, String>)> = node
        .select_connectors(|c| {
            (leads && c.owner == Some(node.id) && c.desired == DesiredState::Running)
                .then(|| (c.name.clone(), (c.epoch, c.config.clone().into_inner())))
        })
        .await
        .into_iter()
        .collect();

    // A task whose epoch is no longer wanted stops. A task that ended by
    // itself (deposed, failed) under a still-current epoch stays down until
    // the epoch changes.
    let stale: Vec<String> = running
        .iter()
        .filter(|(name, task)| wanted.get(*name).map(|(epoch, _)| *epoch) != Some(task.epoch))
        .map(|(name, _)| name.clone())
        .collect();
    for name in stale {
        if let Some(task) = running.remove(&name) {
            let _ = task.stop.send(true);
            let _ = task.handle.await;
            tracing::info!(connector = %name, epoch = task.epoch, "stopped task");
        }
    }
    for (name, (epoch, config)) in wanted {
        if running.contains_key(&name) {
            continue;
        }
        let (stop, stopped) = watch::channel(false);
        tracing::info!(connector = %name, epoch, "starting task");
        // Everything the task logs (and the source it spawns) carries the
        // connector and epoch; the metrics show the task running until its
        // future ends, however it ends.
        let span = tracing::info_span!("connector", connector = %name, epoch);
        let running_guard = node.registry.connector(&name).task_running();
        let context = TaskContext {
            node: node.clone(),
            name: name.clone(),
            epoch,
            config,
            stopped,
        };
        running.insert(
            name,
            Running {
                epoch,
                stop,
                handle: tokio::spawn(
                    async move {
                        let _running = running_guard;
                        task::run(context).await
                    }
                    .instrument(span),
                ),
            },
        );
    }
}
