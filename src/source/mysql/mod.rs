//! The MySQL/MariaDB source: from a live binlog to Debezium-compatible
//! change events, in transaction-aligned batches (see [`crate::source`]).
//!
//! - [`config`]: Debezium's connector properties, validated once.
//! - [`validate`]: server checks before streaming (definite errors that say
//!   what to change), the current binlog position.
//! - [`position`]: GTID sets of both flavours and the committed offset.
//! - [`failover`]: several hosts; what must hold before reading from
//!   another server than the offset's (everything delivered, nothing
//!   skipped, `log_slave_updates`).
//! - [`replication`]: the binlog stream and its loop; [`reader`], each
//!   event → batches with exact offsets (transactions, splits, rollbacks);
//!   [`events`], what each event type and logged statement means.
//! - [`snapshot`]: the initial snapshot (consistent, chunked, resumable
//!   on another node), and [`table_schema`], its SQL view of a table in
//!   the binlog decoder's terms; [`snapshot_cursor`], where it stands in
//!   the committed offset; [`snapshot_parallel`], several tables read at
//!   once over connections sharing one view (`snapshot.max.threads`);
//!   [`chunk_keys`], chunk-key order and the
//!   cursor's key values; [`snapshot_views`], the views a resumed
//!   snapshot read at and the changes each key still needs;
//!   [`incremental`], ad-hoc snapshots
//!   interleaved with streaming (DBLog watermarks).
//! - [`column`], [`decode`]: the column model and per-table row decoding;
//!   [`compressed`], MariaDB's compressed events inflated.
//! - [`records`]: decoded rows → Kafka records via [`crate::envelope`].
//! - [`retention`]: how much binlog the server still holds behind the
//!   connector's position, and the warning before a purge overtakes it.
//! - [`error`]: transient vs definite errors; [`event_failure`], what a
//!   rows event that cannot be processed does (fail, warn, skip) and the
//!   skipped events the offset counts.
//! - [`tls`]: `database.ssl.*`, TLS to the server with PEM files.
pub mod chunk_keys;
pub mod column;
pub mod compressed;
pub mod config;
pub mod ddl;
pub mod decode;
pub mod error;
pub mod event_failure;
pub mod events;
pub mod failover;
pub mod incremental;
pub mod position;
pub mod reader;
pub mod records;
pub mod replication;
pub mod retention;
pub mod signal;
pub mod snapshot;
pub mod snapshot_cursor;
pub mod snapshot_parallel;
pub mod snapshot_scan;
pub mod snapshot_views;
pub mod table_schema;
pub mod tls;
pub mod validate;
