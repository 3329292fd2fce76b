//! raftcdc: highly available MySQL/MariaDB change-data-capture to Kafka,
//! coordinated by Raft. See README.md for the architecture.

// openraft's error types (carried, with their source chains, in the node's
// error enum) are large by design; openraft's own examples allow this too.
#![allow(clippy::result_large_err)]
pub mod api;
pub mod cli;
pub mod config;
pub mod connector;
pub mod envelope;
pub mod error;
pub mod metrics;
pub mod node;
pub mod pipeline;
pub mod placement;
pub mod raft;
pub mod signal;
pub mod sink;
pub mod source;
pub mod storage;
pub mod transform;

/// Generated gRPC code for `proto/raftcdc/v1`.
pub mod proto {
    tonic::include_proto!("raftcdc.v1");

    /// Encoded file descriptors, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("raftcdc_descriptor");
}
