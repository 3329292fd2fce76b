//! Sinks: where delivered batches go.
//!
//! The pipeline hands a sink the [`crate::source::Batch`]es of one
//! connector owner and, with each, the progress to record atomically with
//! it. raftcdc has one sink, [`kafka`]: a transactional Kafka producer that
//! commits every batch together with its progress record, so output is
//! exactly once for `read_committed` readers, and a deposed owner is fenced
//! at the broker as well as in Raft. The module docs of [`kafka`] argue why.
pub mod kafka;
