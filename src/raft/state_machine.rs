//! The Raft state machine (openraft's [`RaftStateMachine`]): applies
//! committed entries to the in-memory [`ClusterState`], and builds, stores
//! and installs snapshots.
//!
//! # Why it is correct
//! The state lives in memory and is made durable by snapshots plus the Raft
//! log, the "persistent snapshot" strategy openraft documents for
//! `RaftStateMachine::apply`: every snapshot is written and flushed (sled
//! flush + `fdatasync`) before it is reported built or installed, and at
//! start-up the state is rebuilt from the last snapshot; openraft then
//! re-applies the committed log after it. Applying is deterministic (see
//! [`super::state`]), so the rebuilt state equals the lost one.
//!
//! A snapshot is a consistent cut: the builder takes a copy of the state and
//! of `last_applied`/membership under one lock, so the image always matches
//! its metadata.
//!
//! Every apply bumps a watch channel, so the pipeline supervisor and the
//! leader's assigner react to state changes without polling.
use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{AnyError, EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, RwLock};

use super::command::CommandReply;
use super::state::ClusterState;
use super::typ::{Entry, LogId, Snapshot, SnapshotMeta, StorageError, StoredMembership};
use super::TypeConfig;
use crate::storage::{Store, SNAPSHOT};

/// What is shared between the state machine and readers.
#[derive(Debug, Default)]
pub struct Applied {
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    pub state: ClusterState,
}

/// A snapshot as kept on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta,
    /// JSON of [`ClusterState`].
    data: Vec<u8>,
}

#[derive(Clone)]
pub struct StateMachineStore {
    applied: Arc<RwLock<Applied>>,
    store: Store,
    changes: Arc<watch::Sender<u64>>,
    snapshot_seq: u64,
    /// Snapshots built or installed since open (for metrics).
    snapshots: Arc<AtomicU64>,
}

impl StateMachineStore {
    /// Opens the state machine, restoring the last stored snapshot.
    pub async fn open(store: Store) -> Result<StateMachineStore, StorageError> {
        let sm = StateMachineStore {
            applied: Arc::new(RwLock::new(Applied::default())),
            store,
            changes: Arc::new(watch::channel(0).0),
            snapshot_seq: 0,
            snapshots: Arc::default(),
        };
        if let Some(stored) = sm.load()? {
            sm.restore(&stored).await?;
        }
        Ok(sm)
    }

    /// A read handle on the applied state.
    pub fn applied(&self) -> Arc<RwLock<Applied>> {
        self.applied.clone()
    }

    /// The number of snapshots built or installed since open.
    pub fn snapshot_count(&self) -> Arc<AtomicU64> {
        self.snapshots.clone()
    }

    /// A channel that changes whenever something is applied.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn load(&self) -> Result<Option<StoredSnapshot>, StorageError> {
        self.store
            .get(SNAPSHOT, b"current")
            .map_err(|e| StorageIOError::read_snapshot(None, AnyError::new(&e)).into())
    }

    async fn save(&self, stored: &StoredSnapshot) -> Result<(), StorageError> {
        let sig = Some(stored.meta.signature());
        self.store
            .put(SNAPSHOT, b"current", stored)
            .map_err(|e| StorageIOError::write_snapshot(sig.clone(), AnyError::new(&e)))?;
        self.store
            .flush()
            .await
            .map_err(|e| StorageIOError::write_snapshot(sig, AnyError::new(&e)))?;
        Ok(())
    }

    async fn restore(&self, stored: &StoredSnapshot) -> Result<(), StorageError> {
        let state: ClusterState = serde_json::from_slice(&stored.data)
            .map_err(|e| StorageIOError::read_snapshot(Some(stored.meta.signature()), AnyError::new(&e)))?;
        let mut applied = self.applied.write().await;
        applied.state = state;
        applied.last_applied = stored.meta.last_log_id;
        applied.membership = stored.meta.last_membership.clone();
        drop(applied);
        self.changes.send_modify(|v| *v += 1);
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let (data, last_log_id, last_membership) = {
            let applied = self.applied.read().await;
            let data = serde_json::to_vec(&applied.state)
                .map_err(|e| StorageIOError::read_state_machine(AnyError::new(&e)))?;
            (data, applied.last_applied, applied.membership.clone())
        };
        let snapshot_id = match last_log_id {
            Some(id) => format!("{}-{}-{}", id.leader_id, id.index, self.snapshot_seq),
            None => format!("--{}", self.snapshot_seq),
        };
        let meta = SnapshotMeta {
            last_log_id,
            last_membership,
            snapshot_id,
        };
        let stored = StoredSnapshot { meta: meta.clone(), data };
        self.save(&stored).await?;
        self.snapshots.fetch_add(1, Ordering::Relaxed);
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = StateMachineStore;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let applied = self.applied.read().await;
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<CommandReply>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut replies = Vec::new();
        let mut applied = self.applied.write().await;
        for entry in entries {
            applied.last_applied = Some(entry.log_id);
            let reply = match entry.payload {
                EntryPayload::Blank => CommandReply::Applied { connector: None },
                EntryPayload::Normal(ref proposal) => {
                    let reply = applied.state.apply(proposal);
                    if let CommandReply::Rejected(ref error) = reply {
                        tracing::debug!(index = entry.log_id.index, %error, "command rejected");
                    }
                    reply
                }
                EntryPayload::Membership(ref membership) => {
                    applied.membership = StoredMembership::new(Some(entry.log_id), membership.clone());
                    CommandReply::Applied { connector: None }
                }
            };
            replies.push(reply);
        }
        drop(applied);
        self.changes.send_modify(|v| *v += 1);
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.snapshot_seq += 1;
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data: snapshot.into_inner(),
        };
        // Decode before persisting: a corrupt image must not replace a good one.
        self.restore(&stored).await?;
        self.save(&stored).await?;
        self.snapshots.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        Ok(self.load()?.map(|stored| Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use openraft::testing::{StoreBuilder, Suite};

    use super::*;
    use crate::raft::log_store::LogStore;

    struct SledBuilder;

    impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, tempfile::TempDir> for SledBuilder {
        async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), StorageError> {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Store::open(dir.path()).expect("open store");
            let sm = StateMachineStore::open(store.clone()).await?;
            Ok((dir, LogStore::new(store), sm))
        }
    }

    /// openraft's storage conformance suite against the sled log store and
    /// state machine.
    #[test]
    fn openraft_storage_suite() -> Result<(), StorageError> {
        Suite::test_all(SledBuilder)
    }
}
