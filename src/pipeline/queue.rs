//! The owner's queue between the source (and the transform chain) and the
//! delivery loop, bounded by records (`max.queue.size`) *and* by bytes
//! (`max.queue.size.in.bytes`), as Debezium's change-event queue is.
//!
//! # What is bounded, and why memory stays flat
//! A batch passes a [`gate`] before the delivery loop sees it: the gate
//! takes permits for the batch's records and bytes from two semaphores and
//! waits while the queue is full. The permits travel with the batch
//! ([`Held`]) and are given back only when the batch's Kafka transaction
//! is over (delivered or abandoned), so the bound covers every batch
//! queued *and* every batch pending in the transaction being built. The
//! channels before the gate hold one batch each. While the gate waits, the
//! source waits too: a slow broker stops the binlog reader or the
//! snapshot instead of growing memory.
//!
//! A batch larger than the whole bound (one 16 MiB row, or a source
//! transaction of more records than `max.queue.size`) takes the whole
//! bound rather than waiting forever: it passes alone.
//!
//! # The transform chain
//! A connector with transforms runs its chain on batches past the gate
//! ([`transform_batches`]), on its own thread, so transforming one batch
//! overlaps the Kafka transaction of the one before; the batches keep
//! their permits through it, so the gate's bound covers them there too.
//!
//! # What a batch's size is
//! What its records hold in memory ([`Record::bytes`]): the allocated
//! capacity of their keys, values, header names and values and topic
//! names, plus each record's and each header's fixed size. Counting
//! capacity rather than length keeps the bound honest for a record that
//! carries spare capacity (the encoder allocates exactly, see
//! [`crate::envelope`], but a transform may not), and like Debezium's
//! `max.queue.size.in.bytes` (which estimates each record's size in the
//! JVM) the bound is on memory, not on bytes on the wire.
use std::sync::Arc;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::error::error_chain;
use crate::source::{AbortOnDrop, Batch, Record};
use crate::transform::TransformChain;

/// The queue's two bounds.
#[derive(Debug, Clone, Copy)]
pub struct QueueBounds {
    /// `max.queue.size`: records.
    pub records: usize,
    /// `max.queue.size.in.bytes`: bytes; `None` for no byte bound (0).
    pub bytes: Option<usize>,
}

/// Batches past the gate, each with its permits.
pub type Gated = mpsc::UnboundedReceiver<(Batch, Held)>;

/// The permits a queued batch holds until its transaction is over.
#[derive(Debug)]
pub struct Held {
    _records: OwnedSemaphorePermit,
    _bytes: Option<OwnedSemaphorePermit>,
    bytes: usize,
}

impl Held {
    /// The batch's size in bytes (as counted against the bound).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// One permit stands for this many bytes, so a bound of up to 16 TiB fits
/// in a semaphore's `u32` acquisitions.
const BYTES_PER_PERMIT: usize = 4096;

/// Starts the gate: batches from `rx` come out of the returned receiver
/// with their permits, never more than `bounds` at once.
pub fn gate(mut rx: mpsc::Receiver<Batch>, bounds: QueueBounds) -> (Gated, AbortOnDrop<()>) {
    let (tx, out) = mpsc::unbounded_channel();
    let record_limit = bounds.records.clamp(1, u32::MAX as usize);
    let records = Arc::new(Semaphore::new(record_limit));
    let byte_limit = bounds.bytes.map(|b| b.div_ceil(BYTES_PER_PERMIT).clamp(1, u32::MAX as usize));
    let bytes = byte_limit.map(|limit| Arc::new(Semaphore::new(limit)));
    let task = tokio::spawn(async move {
        while let Some(batch) = rx.recv().await {
            let size: usize = batch.records.iter().map(Record::bytes).sum();
            let wanted = batch.records.len().clamp(1, record_limit) as u32;
            let Ok(record_permit) = records.clone().acquire_many_owned(wanted).await else { return };
            let byte_permit = match (&bytes, byte_limit) {
                (Some(semaphore), Some(limit)) => {
                    let wanted = size.div_ceil(BYTES_PER_PERMIT).clamp(1, limit) as u32;
                    let Ok(permit) = semaphore.clone().acquire_many_owned(wanted).await else { return };
                    Some(permit)
                }
                _ => None,
            };
            let held = Held {
                _records: record_permit,
                _bytes: byte_permit,
                bytes: size,
            };
            if tx.send((batch, held)).is_err() {
                return;
            }
        }
    });
    (out, AbortOnDrop(task))
}

/// Runs the transform chain over every batch from the source, in order,
/// on a blocking-pool thread (it is CPU work), and hands the transformed
/// batches on. A batch keeps its offset whatever the chain drops. The
/// thread ends when the source's channel closes (the attempt dropped the
/// source) or nobody reads its output; a record the chain cannot
/// transform ends it too, with the error left in the returned slot (the
/// output then closes, and the delivery loop reports it).
pub fn transform_batches(
    mut chain: TransformChain,
    mut input: Gated,
) -> (Gated, Arc<std::sync::Mutex<Option<String>>>) {
    // Unbounded: the batches still hold their queue permits (the gate
    // before the chain bounds them).
    let (tx, rx) = mpsc::unbounded_channel();
    let failure = Arc::new(std::sync::Mutex::new(None));
    let slot = failure.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        while let Some((mut batch, held)) = input.blocking_recv() {
            match chain.apply(std::mem::take(&mut batch.records)) {
                Ok(records) => {
                    batch.records = records;
                    if tx.send((batch, held)).is_err() {
                        return;
                    }
                }
                Err(error) => {
                    if let Ok(mut slot) = slot.lock() {
                        *slot = Some(error_chain(&error));
                    }
                    return;
                }
            }
        }
    });
    (rx, failure)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A batch of `records` records with values of `bytes_each` bytes.
    pub(in crate::pipeline) fn batch(records: usize, bytes_each: usize) -> Batch {
        Batch {
            records: (0..records)
                .map(|_| Record {
                    topic: String::new(),
                    key: None,
                    value: Some(vec![0; bytes_each]),
                    headers: Vec::new(),
                    schemas: None,
                    layout: None,
                    change_event: false,
                })
                .collect(),
            offset: serde_json::Value::Null,
            schema_history: Vec::new(),
            ends_transaction: true,
            snapshot: None,
            signals: Vec::new(),
        }
    }

    #[tokio::test]
    async fn batches_wait_while_the_bytes_are_held_and_an_oversized_one_passes_alone() {
        let (tx, rx) = mpsc::channel(1);
        let (mut out, _gate) = gate(rx, QueueBounds { records: 1000, bytes: Some(64 * 1024) });
        // Records of exactly 16 KiB each, as the bound counts them.
        let value = 16 * 1024 - std::mem::size_of::<Record>();
        tx.send(batch(2, value)).await.unwrap();
        tx.send(batch(2, value)).await.unwrap();
        let (_, first) = out.recv().await.unwrap();
        let (_, second) = out.recv().await.unwrap();
        assert_eq!(first.bytes() + second.bytes(), 64 * 1024);
        // The bound is full: a third batch waits until one is released.
        tx.send(batch(1, 1024)).await.unwrap();
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), out.recv()).await;
        assert!(waited.is_err(), "a batch passed a full queue");
        drop(first);
        let (third, _) = out.recv().await.unwrap();
        assert_eq!(third.records.len(), 1);
        drop(second);
        // Larger than the whole bound: it waits for everything, then passes.
        tx.send(batch(1, 1024 * 1024)).await.unwrap();
        let (huge, held) = out.recv().await.unwrap();
        assert_eq!((huge.records.len(), held.bytes()), (1, 1024 * 1024 + std::mem::size_of::<Record>()));
    }

    /// The bound counts what a record holds: spare capacity, header
    /// entries and the record itself, not only the bytes written.
    #[test]
    fn a_record_counts_what_it_holds() {
        let mut value = Vec::with_capacity(1000);
        value.extend_from_slice(&[1; 600]);
        let record = Record {
            topic: "t".into(),
            key: Some(vec![2; 10]),
            value: Some(value),
            headers: vec![("h".into(), vec![3; 5])],
            schemas: None,
            layout: None,
            change_event: false,
        };
        let fixed = std::mem::size_of::<Record>() + std::mem::size_of::<(String, Vec<u8>)>();
        assert_eq!(record.bytes(), fixed + 1 + 10 + 1000 + 1 + 5);
    }

    #[tokio::test]
    async fn the_record_bound_holds_without_a_byte_bound() {
        let (tx, rx) = mpsc::channel(1);
        let (mut out, _gate) = gate(rx, QueueBounds { records: 3, bytes: None });
        tx.send(batch(2, 1)).await.unwrap();
        let (_, first) = out.recv().await.unwrap();
        tx.send(batch(2, 1)).await.unwrap();
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), out.recv()).await.is_err());
        drop(first);
        assert!(out.recv().await.is_some());
        // More records than the bound: passes alone.
        tx.send(batch(10, 1)).await.unwrap();
        assert!(out.recv().await.is_some());
    }
}
