//! Multi-process cluster tests for raftcdc: real nodes, real signals, real
//! partitions.
//!
//! This crate owns the harness that the scenario tests in `tests/` and the
//! failover benchmark (`raftcdc-bench-failover`) drive. It starts real
//! `raftcdc serve` processes (the binary built by
//! `cargo build --bin raftcdc`), fails them the way production fails
//! (`SIGKILL`, `SIGSTOP`/`SIGCONT`, restarts on the same data directory,
//! network partitions), and observes them only through their public control
//! API and CLI, so the tests check what an operator would see.
//!
//! - [`cluster`]: [`Cluster`], one test cluster and every action on it.
//! - [`process`]: the node processes, their logs and signals.
//! - [`proxy`]: per-node TCP proxies that cut links between nodes.
//! - [`blackhole`]: a TCP forwarder to a database that can silently stop
//!   forwarding (a dead link).
//! - [`subnet`]: a private loopback subnet and ports per cluster, so tests
//!   run in parallel without colliding.
//! - [`config`]: the node config files the harness writes.
//! - [`pki`]: throwaway CAs and certificates for TLS clusters (`openssl`).
//! - [`connectors`]: valid connector definitions for the tests.
//! - [`placement`]: many small connectors on one MariaDB, and the views
//!   placement tests judge by.
//! - [`broker`], [`mariadb`]: a private Kafka-protocol broker and MariaDB
//!   server per test.
//! - [`chaos`]: the chaos suite's workload (writers whose log is the
//!   database's exact history) and its exactly-once checker.
//! - [`rest`]: an HTTP client for the nodes' Kafka Connect REST API.
//! - [`scrape`]: a node's Prometheus `/metrics`, fetched and parsed.
//! - [`wait`]: polling with a deadline, the only way the harness waits.
//! - [`bench`]: the benchmark binaries' command-line flags.
//! - [`cpu`]: CPU time per process over a benchmark section.
//! - [`sink_limits`]: what the end-to-end benchmark sets raftcdc's rates
//!   beside (a plain producer's limits, a bare `SELECT` → produce pipeline).
//! - [`debezium`]: Debezium's MySQL connector, run beside raftcdc in the
//!   benchmarks.
//!
//! Typical use:
//!
//! ```ignore
//! let cluster = Cluster::start(3).await;
//! cluster.init().await;
//! let leader = cluster.wait_leader(&[1, 2, 3]).await;
//! cluster.kill(leader);
//! ```
//!
//! Environment: `RAFTCDC_BIN` overrides the node binary's path;
//! `RAFTCDC_KEEP_TEST_DIR` keeps a failed test's directory (configs, data,
//! full logs) instead of deleting it.
pub mod bench;
pub mod blackhole;
pub mod broker;
pub mod chaos;
pub mod cluster;
pub mod mariadb;
pub mod config;
pub mod connectors;
pub mod cpu;
pub mod debezium;
pub mod pki;
pub mod placement;
pub mod process;
pub mod proxy;
pub mod rest;
pub mod scrape;
pub mod sink_limits;
pub mod subnet;
pub mod wait;

pub use cluster::{Cluster, ClusterBuilder, Credentials, Security};
pub use wait::{poll_until, wait_until, DEFAULT_DEADLINE};
