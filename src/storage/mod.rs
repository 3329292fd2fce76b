//! The storage seam: the only module that touches sled.
//!
//! Everything raftcdc keeps on disk lives in one sled database under
//! `<data_dir>/sled`, split into typed key spaces (one sled tree each):
//!
//! | key space | key | value |
//! |---|---|---|
//! | [`LOGS`] | log index, big-endian `u64` (so sled's order is log order) | JSON `openraft::Entry` |
//! | [`RAFT_META`] | `vote`, `committed`, `last_purged` | JSON |
//! | [`SNAPSHOT`] | `current` | JSON snapshot (meta + state image) |
//! | [`FORMAT`] | `version` | on-disk format version, checked at open |
//!
//! # Durability
//! openraft may treat a log entry or a vote as persisted only once it is on
//! stable storage. sled 0.34.7's `flush` writes its log with `pwrite` and then
//! calls `sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)` on Linux
//! (`src/pagecache/iobuf.rs`). `sync_file_range(2)` documents that it flushes
//! neither file metadata (so an append that grew the file may be lost) nor
//! the drive's volatile write cache: it gives no durability guarantee across
//! power loss. [`Store::flush`] therefore calls sled's flush and then
//! `fdatasync` on sled's data file through a descriptor of our own; `fsync`
//! acts on the inode, so this makes everything sled wrote durable, including
//! the file size. Every write that openraft must see as durable goes through
//! [`Store::flush`] before it is acknowledged.
//!
//! sled is an implementation detail: callers see bytes in named key spaces
//! and a [`StoreError`]. Replacing sled (as Databend eventually did for its
//! Raft log) means rewriting this file only.
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// On-disk format version written by this build.
pub const FORMAT_VERSION: u64 = 1;

/// Raft log entries by index.
pub const LOGS: KeySpace = KeySpace("logs");
/// Raft vote, committed log id and last purged log id.
pub const RAFT_META: KeySpace = KeySpace("raft_meta");
/// The latest state-machine snapshot.
pub const SNAPSHOT: KeySpace = KeySpace("snapshot");
/// The format header.
const FORMAT: KeySpace = KeySpace("format");

/// A named key space: one sled tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpace(pub &'static str);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sled error in key space {space}")]
    Sled {
        space: &'static str,
        #[source]
        source: sled::Error,
    },
    #[error("cannot sync {path} to disk")]
    Sync {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "data directory {path} has on-disk format version {found}; this build reads version {supported}"
    )]
    UnsupportedVersion { path: PathBuf, found: u64, supported: u64 },
    #[error("corrupt value in key space {space}")]
    Corrupt {
        space: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("background sync task failed")]
    Join(#[source] tokio::task::JoinError),
}

/// A handle to the node's database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    /// sled 0.34's single data file, fdatasync'ed by [`Store::flush`].
    data_file: PathBuf,
    dir: PathBuf,
}

impl Store {
    /// Opens (or creates) the database under `data_dir`, checking the
    /// on-disk format version.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let dir = data_dir.join("sled");
        let db = sled::Config::new()
            .path(&dir)
            // Flushing is ours to do (see the module docs); sled's periodic
            // background flush stays on as a harmless extra.
            .open()
            .map_err(|source| StoreError::Sled { space: "open", source })?;
        let store = Store {
            inner: Arc::new(Inner {
                db,
                data_file: dir.join("db"),
                dir,
            }),
        };
        match store.get(FORMAT, b"version")? {
            None => {
                store.put(FORMAT, b"version", &FORMAT_VERSION)?;
            }
            Some(found) if found == FORMAT_VERSION => {}
            Some(found) => {
                return Err(StoreError::UnsupportedVersion {
                    path: store.inner.dir.clone(),
                    found,
                    supported: FORMAT_VERSION,
                })
            }
        }
        Ok(store)
    }

    fn tree(&self, space: KeySpace) -> Result<sled::Tree, StoreError> {
        self.inner
            .db
            .open_tree(space.0)
            .map_err(|source| StoreError::Sled { space: space.0, source })
    }

    /// Reads and decodes one value.
    pub fn get<V: serde::de::DeserializeOwned>(
        &self,
        space: KeySpace,
        key: &[u8],
    ) -> Result<Option<V>, StoreError> {
        let raw = self
            .tree(space)?
            .get(key)
            .map_err(|source| StoreError::Sled { space: space.0, source })?;
        raw.map(|bytes| {
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt { space: space.0, source })
        })
        .transpose()
    }

    /// Encodes and writes one value (not yet durable: call [`Store::flush`]).
    pub fn put<V: serde::Serialize>(&self, space: KeySpace, key: &[u8], value: &V) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|source| StoreError::Corrupt { space: space.0, source })?;
        self.tree(space)?
            .insert(key, bytes)
            .map_err(|source| StoreError::Sled { space: space.0, source })?;
        Ok(())
    }

    /// Writes many `(index, value)` pairs of an index-keyed space in one batch.
    pub fn put_indexed<V: serde::Serialize>(
        &self,
        space: KeySpace,
        items: impl IntoIterator<Item = (u64, V)>,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (index, value) in items {
            let bytes =
                serde_json::to_vec(&value).map_err(|source| StoreError::Corrupt { space: space.0, source })?;
            batch.insert(&index.to_be_bytes(), bytes);
        }
        self.tree(space)?
            .apply_batch(batch)
            .map_err(|source| StoreError::Sled { space: space.0, source })
    }

    /// Decodes the values of an index-keyed space within `range`, in order.
    pub fn range_indexed<V: serde::de::DeserializeOwned>(
        &self,
        space: KeySpace,
        range: impl RangeBounds<u64>,
    ) -> Result<Vec<V>, StoreError> {
        let start = match range.start_bound() {
            Bound::Included(i) => Bound::Included(i.to_be_bytes()),
            Bound::Excluded(i) => Bound::Excluded(i.to_be_bytes()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let end = match range.end_bound() {
            Bound::Included(i) => Bound::Included(i.to_be_bytes()),
            Bound::Excluded(i) => Bound::Excluded(i.to_be_bytes()),
            Bound::Unbounded => Bound::Unbounded,
        };
        self.tree(space)?
            .range::<[u8; 8], _>((start, end))
            .map(|item| {
                let (_, bytes) = item.map_err(|source| StoreError::Sled { space: space.0, source })?;
                serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt { space: space.0, source })
            })
            .collect()
    }

    /// The value with the highest index in an index-keyed space.
    pub fn last_indexed<V: serde::de::DeserializeOwned>(&self, space: KeySpace) -> Result<Option<V>, StoreError> {
        let last = self
            .tree(space)?
            .last()
            .map_err(|source| StoreError::Sled { space: space.0, source })?;
        last.map(|(_, bytes)| {
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt { space: space.0, source })
        })
        .transpose()
    }

    /// Removes every index in `range` from an index-keyed space.
    pub fn remove_indexed(&self, space: KeySpace, range: impl RangeBounds<u64>) -> Result<(), StoreError> {
        let tree = self.tree(space)?;
        let mut batch = sled::Batch::default();
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        for key in tree.range(start.to_be_bytes()..).keys() {
            let key = key.map_err(|source| StoreError::Sled { space: space.0, source })?;
            let index = u64::from_be_bytes(key.as_ref().try_into().unwrap_or([0xff; 8]));
            if !range.contains(&index) {
                break;
            }
            batch.remove(key);
        }
        tree.apply_batch(batch)
            .map_err(|source| StoreError::Sled { space: space.0, source })
    }

    /// Makes every write so far durable: sled's flush, then `fdatasync` of
    /// sled's data file (see the module docs for why both).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.inner
            .db
            .flush_async()
            .await
            .map_err(|source| StoreError::Sled { space: "flush", source })?;
        let path = self.inner.data_file.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::File::open(&path)
                .and_then(|file| file.sync_data())
                .map_err(|source| StoreError::Sync { path, source })
        })
        .await
        .map_err(StoreError::Join)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn indexed_ranges_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.put_indexed(LOGS, (1..=10u64).map(|i| (i, i * 10))).unwrap();
            let mid: Vec<u64> = store.range_indexed(LOGS, 3..=5).unwrap();
            assert_eq!(mid, vec![30, 40, 50]);
            store.remove_indexed(LOGS, 8..).unwrap();
            store.remove_indexed(LOGS, ..=2).unwrap();
            assert_eq!(store.last_indexed::<u64>(LOGS).unwrap(), Some(70));
            store.put(RAFT_META, b"vote", &"v").unwrap();
            store.flush().await.unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let all: Vec<u64> = store.range_indexed(LOGS, ..).unwrap();
        assert_eq!(all, vec![30, 40, 50, 60, 70]);
        assert_eq!(store.get::<String>(RAFT_META, b"vote").unwrap().as_deref(), Some("v"));
    }

    #[tokio::test]
    async fn refuses_unknown_format_version() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.put(FORMAT, b"version", &99u64).unwrap();
            store.flush().await.unwrap();
        }
        match Store::open(dir.path()) {
            Err(StoreError::UnsupportedVersion { found: 99, .. }) => {}
            other => panic!("expected UnsupportedVersion, got {:?}", other.err()),
        }
    }
}
