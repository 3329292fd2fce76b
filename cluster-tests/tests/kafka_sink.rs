//! The Kafka sink against a real transactional broker (one private noida-db
//! per test, see `cluster_tests::broker`): batches commit atomically with
//! their progress record, a newer owner fences an older one, aborted and
//! abandoned transactions stay invisible, keyed records land where the Java
//! client would put them, a broker crash between deliveries loses and
//! doubles nothing, and configuration errors name the property.
//!
//! Every check reads the topics back with the harness's own
//! `read_committed` consumer, never with the sink's code. librdkafka's mock
//! cluster is never used: it cannot prove anything about transactions.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cluster_tests::broker::{Broker, Consumed};
use raftcdc::sink::kafka::{DeliveryGuarantee, KafkaSink, KafkaSinkConfig, Progress, SinkError};
use raftcdc::source::Record;
use serde_json::json;

const CLUSTER: &str = "test";
const CONNECTOR: &str = "inventory";
/// The connector incarnation every test's progress records carry.
const INCARNATION: &str = "incarnation-1";

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}

/// A name unique to this test run, so the suite can also run against a
/// shared external cluster (`KAFKA_BOOTSTRAP`).
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

fn config(broker: &Broker, cluster: &str, props: &[(&str, &str)]) -> KafkaSinkConfig {
    let props: BTreeMap<String, String> = props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    KafkaSinkConfig::from_properties(cluster, CONNECTOR, broker.bootstrap(), &props).expect("valid sink config")
}

fn record(topic: &str, key: Option<&str>, value: Option<&str>, position: &str) -> Record {
    Record {
        topic: topic.to_string(),
        key: key.map(|k| k.as_bytes().to_vec()),
        value: value.map(|v| v.as_bytes().to_vec()),
        headers: vec![
            ("raftcdc.position".to_string(), position.as_bytes().to_vec()),
            ("raftcdc.empty".to_string(), Vec::new()),
        ],
        schemas: None,
        layout: None,
        change_event: false,
    }
}

/// `count` records for `topic`, keys `{"id":<start..>}`.
fn batch(topic: &str, start: usize, count: usize) -> Vec<Record> {
    (start..start + count)
        .map(|i| {
            let key = format!("{{\"id\":{i}}}");
            let value = format!("{{\"after\":{{\"id\":{i},\"name\":\"row {i}\"}}}}");
            record(
                topic,
                Some(&key),
                Some(&value),
                &format!("mysql-bin.000001:{}", 1000 + i),
            )
        })
        .collect()
}

fn progress(epoch: u64, pos: u64) -> Progress {
    Progress {
        connector: CONNECTOR.to_string(),
        incarnation: Some(INCARNATION.to_string()),
        epoch,
        offset: json!({"file": "mysql-bin.000001", "pos": pos}),
        snapshot: None,
    }
}

/// What a record looks like once consumed (topic aside): key, value,
/// headers.
type View = (Option<Vec<u8>>, Option<Vec<u8>>, Vec<(String, Vec<u8>)>);

fn consumed_view(records: &[Record]) -> Vec<View> {
    records
        .iter()
        .map(|r| (r.key.clone(), r.value.clone(), r.headers.clone()))
        .collect()
}

fn view(consumed: &[Consumed]) -> Vec<View> {
    consumed
        .iter()
        .map(|c| (c.key.clone(), c.value.clone(), c.headers.clone()))
        .collect()
}

fn keys(consumed: &[Consumed]) -> Vec<String> {
    consumed
        .iter()
        .map(|c| String::from_utf8_lossy(c.key.as_deref().unwrap_or(b"<null>")).into_owned())
        .collect()
}

fn record_keys(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(r.key.as_deref().unwrap_or(b"<null>")).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_commit_in_order_with_headers_and_progress() {
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("order");
    let (orders, customers) = (
        unique("dbserver1.inventory.orders"),
        unique("dbserver1.inventory.customers"),
    );
    let mut sink = KafkaSink::open(config(&broker, &cluster, &[])).await.expect("open");
    assert_eq!(sink.read_progress(CONNECTOR, INCARNATION).await.expect("read progress"), None);
    assert!(broker.read_committed(&orders).await.is_empty(), "no topic yet");

    let mut batches = [batch(&orders, 0, 5), batch(&orders, 5, 3), batch(&orders, 8, 4)];
    // Tombstones, null keys and a second topic in the middle batch.
    batches[1].push(record(&orders, Some("{\"id\":5}"), None, "mysql-bin.000001:2000"));
    batches[1].push(record(
        &customers,
        None,
        Some("{\"no\":\"key\"}"),
        "mysql-bin.000001:2001",
    ));
    batches[1].extend(batch(&customers, 100, 2));
    for (i, records) in batches.iter().enumerate() {
        sink.deliver(records, &progress(7, 100 * (i as u64 + 1)))
            .await
            .expect("deliver");
    }

    let want_orders: Vec<Record> = batches
        .iter()
        .flatten()
        .filter(|r| r.topic == orders)
        .cloned()
        .collect();
    let want_customers: Vec<Record> = batches
        .iter()
        .flatten()
        .filter(|r| r.topic == customers)
        .cloned()
        .collect();
    assert_eq!(view(&broker.read_committed(&orders).await), consumed_view(&want_orders));
    assert_eq!(
        view(&broker.read_committed(&customers).await),
        consumed_view(&want_customers)
    );
    assert_eq!(sink.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(7, 300)));
    assert_eq!(sink.read_progress("another-connector", INCARNATION).await.unwrap(), None);

    // The offsets topic holds exactly the three progress records, and a
    // new owner (after init_transactions) reads the last one.
    let offsets = broker.read_committed(&sink.config().offsets_topic).await;
    let values: Vec<serde_json::Value> = offsets
        .iter()
        .map(|c| serde_json::from_slice(c.value.as_deref().unwrap()).unwrap())
        .collect();
    assert_eq!(values.len(), 3, "{values:?}");
    assert_eq!(
        values[2],
        json!({"connector": CONNECTOR, "incarnation": INCARNATION, "epoch": 7, "offset": {"file": "mysql-bin.000001", "pos": 300}})
    );
    drop(sink);
    let reopened = KafkaSink::open(config(&broker, &cluster, &[])).await.expect("reopen");
    assert_eq!(reopened.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(7, 300)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_owner_fences_the_older_one() {
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("fence");
    let topic = unique("fence.topic");
    let mut a = KafkaSink::open(config(&broker, &cluster, &[])).await.expect("open A");
    a.deliver(&batch(&topic, 0, 3), &progress(1, 10))
        .await
        .expect("A delivers while it owns");

    let mut b = KafkaSink::open(config(&broker, &cluster, &[])).await.expect("open B");
    let fenced = a
        .deliver(&batch(&topic, 3, 3), &progress(1, 20))
        .await
        .expect_err("A is deposed");
    assert!(fenced.is_fenced(), "expected fenced, got: {fenced:?}");
    // A stays fenced: it never retries into B's output.
    let again = a
        .deliver(&batch(&topic, 3, 3), &progress(1, 20))
        .await
        .expect_err("A is still deposed");
    assert!(again.is_fenced(), "expected fenced, got: {again:?}");
    assert_eq!(
        keys(&broker.read_committed(&topic).await),
        record_keys(&batch(&topic, 0, 3))
    );

    assert_eq!(b.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(1, 10)));
    b.deliver(&batch(&topic, 3, 3), &progress(2, 20))
        .await
        .expect("B delivers");
    assert_eq!(
        keys(&broker.read_committed(&topic).await),
        record_keys(&batch(&topic, 0, 6))
    );
    assert_eq!(b.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(2, 20)));
    drop(a);
    b.deliver(&batch(&topic, 6, 1), &progress(2, 30))
        .await
        .expect("dropping A does not disturb B");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_and_abandoned_transactions_stay_invisible() {
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("abort");
    let topic = unique("abort.topic");
    let mut sink = KafkaSink::open(config(&broker, &cluster, &[])).await.expect("open");
    sink.deliver(&batch(&topic, 0, 2), &progress(1, 10))
        .await
        .expect("deliver");

    // 1. Every record acknowledged inside an open transaction, then aborted.
    sink.deliver_without_commit(&batch(&topic, 100, 5), &progress(1, 20))
        .await
        .expect("produce");
    let uncommitted = broker.read_uncommitted(&topic).await;
    assert_eq!(
        uncommitted.len(),
        7,
        "the aborted records are in the log: {:?}",
        keys(&uncommitted)
    );
    assert_eq!(
        keys(&broker.read_committed(&topic).await),
        record_keys(&batch(&topic, 0, 2))
    );
    sink.abort().await.expect("abort");
    assert_eq!(
        keys(&broker.read_committed(&topic).await),
        record_keys(&batch(&topic, 0, 2))
    );
    assert_eq!(sink.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(1, 10)));
    sink.deliver(&batch(&topic, 2, 2), &progress(1, 30))
        .await
        .expect("deliver after abort");
    assert_eq!(
        keys(&broker.read_committed(&topic).await),
        record_keys(&batch(&topic, 0, 4))
    );

    // 2. Abandoned: the owner dies with its transaction open; the next
    //    owner's init_transactions aborts it.
    sink.deliver_without_commit(&batch(&topic, 200, 5), &progress(1, 40))
        .await
        .expect("produce");
    drop(sink);
    let mut next = KafkaSink::open(config(&broker, &cluster, &[])).await.expect("reopen");
    assert_eq!(next.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(1, 30)));
    next.deliver(&batch(&topic, 4, 1), &progress(2, 50))
        .await
        .expect("deliver");
    assert_eq!(
        keys(&broker.read_committed(&topic).await),
        record_keys(&batch(&topic, 0, 5))
    );

    // 3. Fenced mid-flight: a new owner opens while the old one's
    //    transaction holds acknowledged records.
    next.deliver_without_commit(&batch(&topic, 300, 5), &progress(2, 60))
        .await
        .expect("produce");
    let mut newest = KafkaSink::open(config(&broker, &cluster, &[]))
        .await
        .expect("fencing open");
    let aborted = next.abort().await;
    assert!(
        aborted.as_ref().is_err_and(SinkError::is_fenced),
        "the old owner cannot even abort: {aborted:?}"
    );
    let fenced = next
        .deliver(&batch(&topic, 300, 5), &progress(2, 60))
        .await
        .expect_err("deposed");
    assert!(fenced.is_fenced(), "{fenced:?}");
    assert_eq!(newest.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(2, 50)));
    newest
        .deliver(&batch(&topic, 5, 1), &progress(3, 70))
        .await
        .expect("deliver");
    let committed = broker.read_committed(&topic).await;
    assert_eq!(keys(&committed), record_keys(&batch(&topic, 0, 6)));
    assert_eq!(broker.read_uncommitted(&topic).await.len(), 2 + 5 + 2 + 5 + 1 + 5 + 1);
}

/// A `deliver` cancelled while librdkafka still holds records of its
/// transaction: `abort` purges them, and their purge reports do not fail
/// the next transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_delivery_is_aborted_and_the_next_one_commits() {
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("cancel");
    let topic = unique("cancel.topic");
    // librdkafka's queue holds 8 records and sends them 3 at a time,
    // holding back a rest of 2 for half a minute: whenever the sink waits
    // for room, most of the batch waits in the sink and 2 records wait in
    // librdkafka, which the abort purges (without forgetting their purge
    // reports, the next delivery would fail with them).
    let props = [
        ("producer.override.queue.buffering.max.messages", "8"),
        ("producer.override.batch.num.messages", "3"),
        ("producer.override.linger.ms", "30000"),
    ];
    let mut sink = KafkaSink::open(config(&broker, &cluster, &props)).await.expect("open");
    sink.deliver(&batch(&topic, 0, 2), &progress(1, 10))
        .await
        .expect("deliver");
    {
        let (large, large_progress) = (batch(&topic, 100, 50_000), progress(1, 20));
        let delivering = sink.deliver(&large, &large_progress);
        tokio::pin!(delivering);
        let under_way = async {
            while broker.read_uncommitted(&topic).await.len() < 2 + 8 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::select! {
            result = &mut delivering => panic!("50,000 records through a queue of 8 were delivered before any was seen: {result:?}"),
            () = under_way => {}
        }
        // Dropped here: the transaction stays open, records still queued.
    }
    sink.abort().await.expect("abort");
    sink.deliver(&batch(&topic, 2, 2), &progress(1, 30))
        .await
        .expect("the next delivery commits");
    assert_eq!(
        keys(&broker.read_committed(&topic).await),
        record_keys(&batch(&topic, 0, 4))
    );
    assert_eq!(sink.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(1, 30)));
}

/// Java's `Utils.murmur2`, the reference for keyed partitioning.
fn java_murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The Java producer's default partition for a keyed record.
fn java_partition(key: &[u8], partitions: i32) -> i32 {
    (java_murmur2(key) & 0x7fff_ffff) % partitions
}

#[test]
fn reference_murmur2_matches_kafkas_test_vectors() {
    // From Kafka's UtilsTest.testMurmur2.
    for (input, expected) in [
        ("21", -973932308),
        ("foobar", -790332482),
        ("a-little-bit-long-string", -985981536),
        ("a-little-bit-longer-string", -1486304829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        ("abc", 479470107),
    ] {
        assert_eq!(java_murmur2(input.as_bytes()), expected, "{input}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_land_where_the_java_client_puts_them() {
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("partition");
    let topic = unique("partition.topic");
    let mut sink = KafkaSink::open(config(&broker, &cluster, &[("topic.creation.default.partitions", "6")]))
        .await
        .expect("open");
    let records = batch(&topic, 0, 300);
    sink.deliver(&records, &progress(1, 1)).await.expect("deliver");

    let consumed = broker.read_committed(&topic).await;
    assert_eq!(consumed.len(), records.len());
    let used: std::collections::BTreeSet<i32> = consumed.iter().map(|c| c.partition).collect();
    assert_eq!(used.len(), 6, "300 keys spread over all 6 partitions: {used:?}");
    for c in &consumed {
        let key = c.key.as_deref().unwrap();
        assert_eq!(
            c.partition,
            java_partition(key, 6),
            "key {} went to partition {}",
            String::from_utf8_lossy(key),
            c.partition
        );
    }
    // Per-key order within the partition is the batch order.
    for p in 0..6 {
        let got: Vec<&[u8]> = consumed
            .iter()
            .filter(|c| c.partition == p)
            .map(|c| c.key.as_deref().unwrap())
            .collect();
        let want: Vec<&[u8]> = records
            .iter()
            .map(|r| r.key.as_deref().unwrap())
            .filter(|k| java_partition(k, 6) == p)
            .collect();
        assert_eq!(got, want, "partition {p}");
    }

    // Five of six partitions empty: readers do not wait on them.
    let sparse = unique("partition.sparse");
    sink.deliver(&batch(&sparse, 7, 1), &progress(1, 2))
        .await
        .expect("deliver");
    assert_eq!(
        keys(&broker.read_committed(&sparse).await),
        record_keys(&batch(&sparse, 7, 1))
    );
    assert_eq!(sink.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(1, 2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_larger_than_the_producer_queue_is_delivered_whole() {
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("queue");
    let topic = unique("queue.topic");
    // librdkafka's queue holds 8 records: the sink must wait for
    // acknowledgements inside the transaction instead of failing.
    let mut sink = KafkaSink::open(config(
        &broker,
        &cluster,
        &[("producer.override.queue.buffering.max.messages", "8")],
    ))
    .await
    .expect("open");
    sink.deliver(&batch(&topic, 0, 200), &progress(1, 10))
        .await
        .expect("deliver");
    assert_eq!(
        keys(&broker.read_committed(&topic).await),
        record_keys(&batch(&topic, 0, 200))
    );
    assert_eq!(sink.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(1, 10)));
}

/// The producer's queue bound given as Kafka Connect's `buffer.memory`
/// (1 MiB, translated to librdkafka's KiB): a transaction holding 6 MiB
/// of records waits for acknowledgements inside it and is delivered whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_larger_than_buffer_memory_is_delivered_whole() {
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("memory");
    let topic = unique("memory.topic");
    let config = config(&broker, &cluster, &[("producer.override.buffer.memory", "1048576")]);
    assert_eq!(config.producer_queue_kbytes, 1024);
    let mut sink = KafkaSink::open(config).await.expect("open");
    let mut records = batch(&topic, 0, 60);
    for record in &mut records {
        record.value = Some(vec![b'x'; 100_000]);
    }
    sink.deliver(&records, &progress(1, 60)).await.expect("deliver");
    let committed = broker.read_committed(&topic).await;
    assert_eq!(keys(&committed), record_keys(&records));
    assert!(committed.iter().all(|r| r.value.as_ref().map(Vec::len) == Some(100_000)));
    assert_eq!(sink.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(1, 60)));
}

/// Delivers like the pipeline does: on a transient error, reopen, read the
/// committed progress, and deliver again unless the batch committed.
async fn deliver_with_recovery(
    sink: &mut KafkaSink,
    config: &KafkaSinkConfig,
    records: &[Record],
    progress: &Progress,
) -> usize {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut transient_errors = 0;
    loop {
        match sink.deliver(records, progress).await {
            Ok(()) => return transient_errors,
            Err(e) if e.is_transient() && Instant::now() < deadline => {
                transient_errors += 1;
                loop {
                    match KafkaSink::open(config.clone()).await {
                        Ok(reopened) => {
                            *sink = reopened;
                            break;
                        }
                        Err(e) if e.is_transient() && Instant::now() < deadline => {
                            tokio::time::sleep(Duration::from_millis(200)).await
                        }
                        Err(e) => panic!("reopen: {e:?}"),
                    }
                }
                if sink.read_progress(CONNECTOR, INCARNATION).await.expect("read progress").as_ref() == Some(progress) {
                    return transient_errors;
                }
            }
            Err(e) => panic!("deliver: {e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_or_outage_loses_and_doubles_nothing() {
    init_tracing();
    let mut broker = Broker::start().await;
    if !broker.is_private() {
        eprintln!("skipped: KAFKA_BOOTSTRAP points at a broker this test cannot restart");
        return;
    }
    let cluster = unique("restart");
    let topic = unique("restart.topic");
    // A short transaction timeout bounds how long a delivery waits for a
    // broker that is down (librdkafka caps message.timeout.ms at it).
    let config = config(
        &broker,
        &cluster,
        &[("producer.override.transaction.timeout.ms", "5000")],
    );
    let mut sink = KafkaSink::open(config.clone()).await.expect("open");
    sink.deliver(&batch(&topic, 0, 10), &progress(1, 10))
        .await
        .expect("deliver");

    // A restart between deliveries.
    broker.restart().await;
    let transient = deliver_with_recovery(&mut sink, &config, &batch(&topic, 10, 10), &progress(1, 20)).await;
    eprintln!("transient errors across the restart: {transient}");

    // An outage during a delivery: a transient error, then reopen and
    // resume once the broker is back.
    broker.stop().await;
    let error = sink
        .deliver(&batch(&topic, 20, 10), &progress(1, 30))
        .await
        .expect_err("the broker is down");
    assert!(error.is_transient(), "{error:?}");
    let again = sink
        .deliver(&batch(&topic, 20, 10), &progress(1, 30))
        .await
        .expect_err("spent");
    assert!(matches!(again, SinkError::MustReopen { .. }), "{again:?}");
    broker.restart().await;
    deliver_with_recovery(&mut sink, &config, &batch(&topic, 20, 10), &progress(1, 30)).await;
    deliver_with_recovery(&mut sink, &config, &batch(&topic, 30, 10), &progress(1, 40)).await;

    assert_eq!(
        keys(&broker.read_committed(&topic).await),
        record_keys(&batch(&topic, 0, 40))
    );
    let reopened = KafkaSink::open(config.clone()).await.expect("reopen");
    assert_eq!(reopened.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(1, 40)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_the_broker_refuses_is_a_definite_error_and_leaves_nothing() {
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("large");
    let topic = unique("large.topic");
    let mut sink = KafkaSink::open(config(
        &broker,
        &cluster,
        &[("producer.override.message.max.bytes", "10000")],
    ))
    .await
    .expect("open");
    let mut records = batch(&topic, 0, 3);
    records[1].value = Some(vec![b'x'; 20_000]);
    let error = sink.deliver(&records, &progress(1, 10)).await.expect_err("too large");
    assert!(error.is_definite(), "{error:?}");
    assert!(broker.read_committed(&topic).await.is_empty());
    assert_eq!(sink.read_progress(CONNECTOR, INCARNATION).await.unwrap(), None);

    let mut sink = KafkaSink::open(config(&broker, &cluster, &[])).await.expect("reopen");
    let error = sink
        .deliver(&batch("not a valid topic!", 0, 1), &progress(1, 10))
        .await
        .expect_err("invalid topic name");
    assert!(error.is_definite(), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_delivers_records_then_progress() {
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("alo");
    let topic = unique("alo.topic");
    let config = config(&broker, &cluster, &[("delivery.guarantee", "at_least_once")]);
    assert_eq!(config.delivery, DeliveryGuarantee::AtLeastOnce);
    let mut sink = KafkaSink::open(config).await.expect("open");
    sink.deliver(&batch(&topic, 0, 4), &progress(1, 10))
        .await
        .expect("deliver");
    sink.deliver(&batch(&topic, 4, 4), &progress(1, 20))
        .await
        .expect("deliver");
    assert_eq!(
        keys(&broker.read_committed(&topic).await),
        record_keys(&batch(&topic, 0, 8))
    );
    assert_eq!(sink.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(1, 20)));
}

#[test]
fn configuration_errors_name_the_property() {
    let parse = |pairs: &[(&str, &str)]| {
        let props: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        KafkaSinkConfig::from_properties(CLUSTER, CONNECTOR, "127.0.0.1:9092", &props)
    };
    let e = parse(&[("delivery.guarantee", "twice")]).unwrap_err();
    assert_eq!(e.property, "delivery.guarantee");
    assert_eq!(
        e.to_string(),
        "config.delivery.guarantee: \"twice\" is not one of exactly_once, at_least_once"
    );
    let e = parse(&[("producer.override.transactional.id", "mine")]).unwrap_err();
    assert_eq!(e.property, "producer.override.transactional.id");
    assert!(
        e.to_string()
            .starts_with("config.producer.override.transactional.id: raftcdc sets transactional.id itself"),
        "{e}"
    );
    let e = parse(&[("producer.override.enable.idempotence", "false")]).unwrap_err();
    assert_eq!(e.property, "producer.override.enable.idempotence");
    let e = parse(&[("producer.override.no.such.thing", "1")]).unwrap_err();
    assert_eq!(e.property, "producer.override.no.such.thing");
    let ok = parse(&[
        ("producer.override.linger.ms", "10"),
        ("topic.creation.default.partitions", "3"),
    ])
    .unwrap();
    assert_eq!(ok.transactional_id, "raftcdc-test-inventory");
    assert_eq!(ok.topic_partitions, 3);
}

fn config_for(broker: &Broker, cluster: &str, connector: &str) -> KafkaSinkConfig {
    KafkaSinkConfig::from_properties(cluster, connector, broker.bootstrap(), &BTreeMap::new()).expect("valid sink config")
}

/// A connector's takeover never depends on another connector's Kafka
/// transactions: while `beta` holds a transaction open (its owner died
/// mid-batch and its successor has not called `init_transactions` yet, or
/// it is paused), `alpha`'s new owner still reads `alpha`'s newest
/// progress, not an older one, and does not wait for `beta`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_connectors_open_transaction_never_hides_progress() {
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("isolation");
    let topic = unique("isolation.topic");
    let progress_of = |connector: &str, pos: u64| Progress {
        connector: connector.to_string(),
        incarnation: Some(INCARNATION.to_string()),
        epoch: 1,
        offset: json!({"file": "mysql-bin.000001", "pos": pos}),
        snapshot: None,
    };
    let mut alpha = KafkaSink::open(config_for(&broker, &cluster, "alpha")).await.expect("open alpha");
    let mut beta = KafkaSink::open(config_for(&broker, &cluster, "beta")).await.expect("open beta");
    alpha.deliver(&batch(&topic, 0, 1), &progress_of("alpha", 10)).await.expect("alpha delivers");
    beta.deliver_without_commit(&batch(&topic, 100, 1), &progress_of("beta", 10))
        .await
        .expect("beta leaves a transaction open");
    alpha.deliver(&batch(&topic, 1, 1), &progress_of("alpha", 20)).await.expect("alpha delivers again");
    drop(alpha);

    let next = KafkaSink::open(config_for(&broker, &cluster, "alpha")).await.expect("reopen alpha");
    assert_eq!(
        next.read_progress("alpha", INCARNATION).await.expect("read progress"),
        Some(progress_of("alpha", 20)),
        "alpha's newest progress, committed after beta's transaction opened"
    );
    drop(beta);
}

/// Fills `topic` with `records` plain progress records of `incarnation`
/// at positions `0..records`, as an idle connector's progress transactions
/// pile up over days.
async fn fill_progress(broker: &Broker, topic: &str, incarnation: &str, records: u64) {
    let incarnation = incarnation.to_string();
    broker
        .fill(topic, 0, records, move |pos| {
            let progress = Progress {
                connector: CONNECTOR.to_string(),
                incarnation: Some(incarnation.clone()),
                epoch: 1,
                offset: json!({"file": "mysql-bin.000001", "pos": pos}),
                snapshot: None,
            };
            (CONNECTOR.as_bytes().to_vec(), progress.to_json())
        })
        .await;
}

/// A delete and re-create under the same name is a new incarnation: the
/// new connector does not resume from its predecessor's progress (it
/// starts fresh, with its initial snapshot), and each incarnation reads
/// only its own records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recreated_connector_ignores_its_predecessors_progress() {
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("incarnation");
    let topic = unique("incarnation.topic");
    let of = |incarnation: &str, epoch: u64, pos: u64| Progress {
        incarnation: Some(incarnation.to_string()),
        ..progress(epoch, pos)
    };
    let mut old = KafkaSink::open(config(&broker, &cluster, &[])).await.expect("open");
    old.deliver(&batch(&topic, 0, 1), &of("old", 5, 10)).await.expect("deliver");
    drop(old);

    let mut new = KafkaSink::open(config(&broker, &cluster, &[])).await.expect("open the new incarnation");
    assert_eq!(new.read_progress(CONNECTOR, "new").await.unwrap(), None, "a new incarnation starts fresh");
    new.deliver(&batch(&topic, 1, 1), &of("new", 2, 3)).await.expect("deliver");
    assert_eq!(
        new.read_progress(CONNECTOR, "new").await.unwrap(),
        Some(of("new", 2, 3)),
        "its own record, though the old one has a higher epoch and a later position"
    );
    assert_eq!(new.read_progress(CONNECTOR, "old").await.unwrap(), Some(of("old", 5, 10)));
}

/// The takeover read does not grow with the progress topic: with 50,000
/// progress records in it, it reads one window from the end; with the
/// tail full of another incarnation's records it widens its window until
/// it finds this incarnation's newest record, and still reads a bounded
/// amount.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_read_is_bounded_however_long_the_topic() {
    use raftcdc::sink::kafka::progress::{read_latest, FIRST_WINDOW, READ_TIMEOUT};
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("bounded");
    let topic = unique("bounded.topic");
    let mut sink = KafkaSink::open(config(&broker, &cluster, &[])).await.expect("open");
    let progress_topic = sink.config().offsets_topic.clone();
    fill_progress(&broker, &progress_topic, INCARNATION, 50_000).await;
    sink.deliver(&batch(&topic, 0, 1), &progress(2, 1_000_000)).await.expect("deliver");

    let id = sink.config().transactional_id.clone();
    let read = |incarnation: &'static str| {
        let (bootstrap, id, progress_topic) = (broker.bootstrap().to_string(), id.clone(), progress_topic.clone());
        tokio::task::spawn_blocking(move || {
            read_latest(&bootstrap, &Default::default(), &id, &progress_topic, CONNECTOR, incarnation, READ_TIMEOUT)
                .expect("read")
        })
    };
    let found = read(INCARNATION).await.unwrap();
    assert_eq!(found.progress, Some(progress(2, 1_000_000)));
    assert!(found.records_read <= FIRST_WINDOW as u64, "read {} records", found.records_read);

    // 1,000 records of another incarnation after it: 64 + 128 + ... until
    // the window reaches past them, i.e. well under 4,000 records.
    fill_progress(&broker, &progress_topic, "another", 1_000).await;
    let found = read(INCARNATION).await.unwrap();
    assert_eq!(found.progress, Some(progress(2, 1_000_000)));
    assert!(found.records_read < 4 * 1_000, "read {} records", found.records_read);
}

/// Owners replaced one after another, each dying with a transaction open
/// after many committed ones: every next owner reads the newest committed
/// progress, never one from before an earlier owner's aborted transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_takeover_in_a_row_reads_the_newest_progress() {
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("takeovers");
    let topic = unique("takeovers.topic");
    let mut pos = 0;
    for owner in 1..=4u64 {
        let mut sink = KafkaSink::open(config(&broker, &cluster, &[])).await.expect("open");
        let expected = (owner > 1).then(|| progress(owner - 1, pos));
        assert_eq!(sink.read_progress(CONNECTOR, INCARNATION).await.unwrap(), expected, "owner {owner}");
        for _ in 0..40 {
            pos += 1;
            sink.deliver(&batch(&topic, pos as usize, 2), &progress(owner, pos)).await.expect("deliver");
        }
        sink.deliver_without_commit(&batch(&topic, 10_000 + pos as usize, 3), &progress(owner, pos + 1000))
            .await
            .expect("leave a transaction open");
        // The owner dies here.
    }
}


/// A progress topic with more than one partition (pre-created by someone
/// else, or grown): progress is written to and read from partition 0
/// only, so a record another partition holds (say, with a higher epoch)
/// can never win a tie or override the newest one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_lives_in_partition_zero_of_a_multi_partition_topic() {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    init_tracing();
    let broker = Broker::start().await;
    let cluster = unique("partitions");
    let topic = unique("partitions.topic");
    let progress_topic = config(&broker, &cluster, &[]).offsets_topic;
    let admin: AdminClient<_> = rdkafka::ClientConfig::new().set("bootstrap.servers", broker.bootstrap()).create().expect("admin");
    admin
        .create_topics([&NewTopic::new(&progress_topic, 3, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .expect("create the progress topic with 3 partitions");
    let stray = progress(9, 1);
    broker.fill(&progress_topic, 2, 1, move |_| (CONNECTOR.as_bytes().to_vec(), stray.to_json())).await;

    let mut sink = KafkaSink::open(config(&broker, &cluster, &[])).await.expect("open");
    sink.deliver(&batch(&topic, 0, 1), &progress(1, 500)).await.expect("deliver");
    assert_eq!(sink.read_progress(CONNECTOR, INCARNATION).await.unwrap(), Some(progress(1, 500)));
}
