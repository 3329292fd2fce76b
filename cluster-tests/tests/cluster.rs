//! Cluster scenarios: each test starts its own cluster of real `raftcdc`
//! processes on its own loopback subnet, fails it in one way, and checks
//! what an operator would see through the control API and the CLI.
//!
//! The tests own no timing assumptions beyond generous deadlines: every
//! wait polls the cluster until a condition holds ([`wait_until`]), so a
//! fast machine finishes quickly and a slow CI machine still passes. They
//! are independent of each other and safe to run in parallel and
//! repeatedly (each cluster claims a fresh subnet and temporary directory).
//!
//! Run with `cargo build --bin raftcdc && cargo test -p cluster-tests`.
use std::collections::BTreeMap;
use std::time::Duration;

use cluster_tests::connectors::{create_request, mysql_config, rest_payload};
use cluster_tests::process::serve_until_exit;
use cluster_tests::{wait_until, Cluster, DEFAULT_DEADLINE};
use raftcdc::proto::{
    AddNodeRequest, ClusterStatus, Connector, ConnectorRef, CreateConnectorRequest, DesiredState,
    RemoveNodeRequest, SetOffsetsRequest, UpdateConnectorRequest,
};
use raftcdc::raft::command::{Command, CommandError, CommandReply};
use raftcdc::raft::network::{propose_via, ForwardError, PeerError};
use serde_json::json;
use tonic::Code;

/// (a) A connector created through a follower with the CLI is replicated to
/// every node and owned by the leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_created_with_the_cli_reaches_every_node() {
    let (cluster, leader) = initialised_cluster(3).await;

    let file = cluster.dir().join("inventory.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&rest_payload("inventory")).unwrap()).unwrap();
    let created = cluster.cli(2, &["connector", "create", "--file", file.to_str().unwrap()]).await;
    assert_cli_success(&created, "connector create --file through node 2");

    let views = cluster
        .wait_connector(&[1, 2, 3], "inventory", "owned by the leader at epoch >= 1", |_, c| {
            owned_by(c, leader)?;
            (c.epoch >= 1).then_some(()).ok_or_else(|| "epoch is 0".into())
        })
        .await;
    for view in &views {
        assert_eq!(view.name, "inventory");
        assert_eq!(view.config.get("topic.prefix").map(String::as_str), Some("inventory"));
        assert_ne!(
            view.config.get("database.password").map(String::as_str),
            Some("secret"),
            "the control API must not echo secrets"
        );
        assert_eq!(view.desired_state, DesiredState::Running as i32);
    }

    let got = cluster.cli(3, &["connector", "get", "inventory", "--output", "json"]).await;
    assert_cli_success(&got, "connector get --output json");
    let parsed: serde_json::Value = serde_json::from_slice(&got.stdout)
        .unwrap_or_else(|e| panic!("`connector get --output json` is not JSON ({e}): {}", text(&got.stdout)));
    assert_eq!(parsed["name"], "inventory", "JSON output: {parsed}");
}

/// (b) Killing the leader: the survivors elect a new leader, which takes the
/// connector over under a higher epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_leader_is_replaced_and_the_connector_moves() {
    let (cluster, old_leader) = initialised_cluster(3).await;
    let before = create_owned_connector(&cluster, "inventory", old_leader).await;

    cluster.kill(old_leader);
    let survivors = others(&cluster, old_leader);
    let new_leader = cluster.wait_leader(&survivors).await;
    assert_ne!(new_leader, old_leader);

    cluster
        .wait_connector(&survivors, "inventory", "owned by the new leader at a higher epoch", |_, c| {
            owned_by(c, new_leader)?;
            epoch_above(c, before.epoch)
        })
        .await;
}

/// (c) A frozen leader is replaced; when it resumes it steps down, and a
/// write under its old epoch, sent through it, is fenced off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_leader_steps_down_and_its_stale_writes_are_rejected() {
    let (cluster, old_leader) = initialised_cluster(3).await;
    let before = create_owned_connector(&cluster, "inventory", old_leader).await;

    cluster.freeze(old_leader);
    let survivors = others(&cluster, old_leader);
    let new_leader = cluster.wait_leader(&survivors).await;
    let moved = cluster
        .wait_connector(&survivors, "inventory", "owned by the new leader at a higher epoch", |_, c| {
            owned_by(c, new_leader)?;
            epoch_above(c, before.epoch)
        })
        .await;
    let new_epoch = moved[0].epoch;

    cluster.thaw(old_leader);
    wait_until(DEFAULT_DEADLINE, "the thawed leader follows the new leader", || async {
        let status = cluster.status(old_leader).await.map_err(|e| e.to_string())?;
        follows(&status, old_leader, new_leader)
    })
    .await;

    // The deposed owner commits an offset under its old epoch, entering
    // through its own node's peer port. raft.proto says a node executes a
    // `Forward` only while it is the leader, so the old leader may answer
    // `NotLeader` naming the new leader; the write then follows that
    // redirect, exactly as the node's own forwarding does. Either way the
    // write reaches the log and must be refused there.
    let stale = Command::CommitOffset {
        name: "inventory".into(),
        epoch: before.epoch,
        offset: json!({"file": "mysql-bin.000001", "pos": 4}),
        schema_history: vec![json!({"ddl": "DROP TABLE customers"})],
        snapshot: None,
    };
    let old_peer = cluster.peer_addr(old_leader);
    let reply = wait_until(DEFAULT_DEADLINE, "the stale CommitOffset is answered", || async {
        match propose_via(&old_peer, cluster.cluster_name(), stale.clone()).await {
            Ok(reply) => Ok(reply),
            Err(PeerError::Forward(ForwardError::NotLeader { leader: Some(leader), .. }))
                if leader == new_leader as u64 =>
            {
                let leader_peer = cluster.peer_addr(new_leader);
                propose_via(&leader_peer, cluster.cluster_name(), stale.clone())
                    .await
                    .map_err(|e| format!("via the new leader: {e:?}"))
            }
            Err(e) => Err(format!("via the old leader: {e:?}")),
        }
    })
    .await;
    assert!(
        matches!(&reply, CommandReply::Rejected(CommandError::StaleEpoch { given, .. }) if *given == before.epoch),
        "a write under a deposed epoch must be rejected as StaleEpoch, got {reply:?}"
    );

    // Every node has applied the rejected entry: nothing changed.
    wait_applied_everywhere(&cluster, &cluster.nodes(), new_leader).await;
    for node in cluster.nodes() {
        let c = cluster.connector(node, "inventory").await.unwrap();
        assert_eq!(c.offset, None, "node {node}: the stale offset must not be recorded");
        assert_eq!(c.schema_history_entries, 0, "node {node}: the stale schema history must not be recorded");
        assert_eq!(c.epoch, new_epoch, "node {node}: the stale write must not change the epoch");
    }
}

/// (d) Stopping every node at once loses nothing: connectors, configs,
/// desired states, offsets and epochs survive a full restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_restart_keeps_all_state() {
    let (cluster, leader) = initialised_cluster(3).await;
    let mut client = cluster.client(leader);
    client.create_connector(create_request("orders", false)).await.expect("create orders");
    client.create_connector(create_request("inventory", false)).await.expect("create inventory");
    client.pause_connector(by_name("inventory")).await.expect("pause inventory");
    let offset = json!({"file": "mysql-bin.000003", "pos": 154});
    client
        .set_offsets(SetOffsetsRequest { name: "inventory".into(), offset_json: offset.to_string() })
        .await
        .expect("set offsets on the paused connector");

    wait_applied_everywhere(&cluster, &[1, 2, 3], leader).await;
    let before = by_name_map(cluster.connectors(leader).await.unwrap());
    assert_eq!(before.keys().collect::<Vec<_>>(), ["inventory", "orders"]);
    assert_eq!(parsed_offset(&before["inventory"]), Some(offset.clone()));

    for node in cluster.nodes() {
        cluster.kill(node);
    }
    for node in cluster.nodes() {
        cluster.restart(node);
    }
    for node in cluster.nodes() {
        cluster.wait_ready(node).await;
    }
    cluster.wait_leader(&[1, 2, 3]).await;

    for node in cluster.nodes() {
        wait_until(DEFAULT_DEADLINE, &format!("node {node} has all connectors back"), || async {
            let after = by_name_map(cluster.connectors(node).await.map_err(|e| e.to_string())?);
            same_state(&before, &after)
        })
        .await;
    }
}

/// (e) A leader that has compacted its log brings a new node up to date by
/// snapshot; membership changes (add, remove) keep the cluster writable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_node_catches_up_by_snapshot_and_membership_changes() {
    let mut cluster = Cluster::builder()
        .nodes(3)
        .snapshot_logs_since_last(20)
        .max_in_snapshot_log_to_keep(0)
        .start()
        .await;
    cluster.init().await;
    let leader = cluster.wait_leader(&[1, 2, 3]).await;

    // 10 creates + 90 updates: several snapshots' worth of log. Paused, so
    // the only log traffic is ours.
    let names: Vec<String> = (0..10).map(|k| format!("snap-{k:02}")).collect();
    let mut client = cluster.client(1);
    for name in &names {
        client.create_connector(create_request(name, true)).await.expect("create");
    }
    for round in 1..=9 {
        for name in &names {
            let mut config = mysql_config(name);
            config.insert("database.user".into(), format!("cdc{round}"));
            client
                .update_connector(UpdateConnectorRequest { name: name.clone(), config })
                .await
                .expect("update");
        }
    }
    wait_until(DEFAULT_DEADLINE, "the leader has snapshotted and purged its log", || async {
        let status = cluster.status(leader).await.map_err(|e| e.to_string())?;
        let row = member(&status, leader).ok_or_else(|| format!("no row for the leader: {status:?}"))?;
        match (row.snapshot_index, row.purged_index) {
            (Some(s), Some(p)) if s > 0 && p > 0 => Ok(()),
            _ => Err(format!("leader row: {row:?}")),
        }
    })
    .await;

    let added = cluster.spawn_node().await;
    cluster.wait_ready(added).await;
    cluster
        .client_with_timeout(leader, Duration::from_secs(60))
        .add_node(AddNodeRequest { endpoint: cluster.endpoint(added), learner_only: false })
        .await
        .unwrap_or_else(|status| panic!("AddNode {added}: {status:?}"));

    wait_until(DEFAULT_DEADLINE, "the new node reports a snapshot and is a voter", || async {
        let status = cluster.status(added).await.map_err(|e| e.to_string())?;
        let row = member(&status, added).ok_or_else(|| format!("node {added} has no row for itself: {status:?}"))?;
        let by_snapshot = row.snapshot_index.unwrap_or(0) > 0 || row.purged_index.unwrap_or(0) > 0;
        if by_snapshot && row.voter && status.leader_id == Some(leader as u64) {
            Ok(())
        } else {
            Err(format!("node {added} status: {status:?}"))
        }
    })
    .await;
    wait_until(DEFAULT_DEADLINE, "the new node has every connector at its last config", || async {
        let connectors = cluster.connectors(added).await.map_err(|e| e.to_string())?;
        let seen: Vec<_> = connectors
            .iter()
            .map(|c| (c.name.clone(), c.config.get("database.user").cloned()))
            .collect();
        let expected: Vec<_> = names.iter().map(|n| (n.clone(), Some("cdc9".to_string()))).collect();
        (seen == expected).then_some(()).ok_or_else(|| format!("node {added} has {seen:?}"))
    })
    .await;

    let removed = (1..=3).find(|&n| n != leader).unwrap();
    cluster
        .client_with_timeout(leader, Duration::from_secs(30))
        .remove_node(RemoveNodeRequest { node_id: removed as u64 })
        .await
        .unwrap_or_else(|status| panic!("RemoveNode {removed}: {status:?}"));
    let remaining: Vec<usize> = cluster.nodes().into_iter().filter(|&n| n != removed).collect();
    wait_until(DEFAULT_DEADLINE, "the membership has 3 members without the removed node", || async {
        let status = cluster.status(leader).await.map_err(|e| e.to_string())?;
        let mut ids: Vec<u64> = status.members.iter().map(|m| m.node_id).collect();
        ids.sort_unstable();
        let expected: Vec<u64> = remaining.iter().map(|&n| n as u64).collect();
        (ids == expected).then_some(()).ok_or_else(|| format!("members {ids:?}"))
    })
    .await;

    cluster
        .client(leader)
        .create_connector(create_request("after-remove", true))
        .await
        .expect("a write after removing a node");
    cluster.wait_connector(&remaining, "after-remove", "replicated to the remaining members", |_, _| Ok(())).await;
}

/// (f, part 1) A bad config stops `serve` at once, with the field named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configs_are_refused_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = cluster_tests::config::quoted(&dir.path().join("data").to_string_lossy());
    let valid_rest = format!("listen = \"127.0.0.1:1\"\npeer_listen = \"127.0.0.1:2\"\ndata_dir = {data_dir}\n");
    let cases = [
        ("unknown field", format!("[node]\nid = 1\nfoo = 1\n{valid_rest}"), "node.foo"),
        ("missing id", format!("[node]\n{valid_rest}"), "node.id"),
        ("id zero", format!("[node]\nid = 0\n{valid_rest}"), "node.id"),
        (
            "malformed listen",
            format!("[node]\nid = 1\nlisten = \"not an address\"\npeer_listen = \"127.0.0.1:2\"\ndata_dir = {data_dir}\n"),
            "node.listen",
        ),
    ];
    let mut wrong = Vec::new();
    for (case, toml, field) in cases {
        let path = dir.path().join(format!("{}.toml", case.replace(' ', "-")));
        std::fs::write(&path, toml).unwrap();
        let Some(output) = serve_until_exit(&path, Duration::from_secs(15)).await else {
            wrong.push(format!("{case}: `raftcdc serve` kept running with a bad config"));
            continue;
        };
        let stderr = text(&output.stderr);
        if output.status.success() {
            wrong.push(format!("{case}: `raftcdc serve` exited 0; stderr: {stderr}"));
        } else if !stderr.contains(field) {
            wrong.push(format!("{case}: stderr does not name `{field}`: {stderr}"));
        }
    }
    assert!(wrong.is_empty(), "bad configs not refused as expected:\n{}", wrong.join("\n"));
}

/// (f, part 2) Bad requests get the documented status codes, name the
/// field, and leave the cluster unharmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_by_name() {
    let (cluster, _leader) = initialised_cluster(3).await;
    cluster.client(1).create_connector(create_request("inventory", false)).await.expect("a valid create");
    cluster.client(1).create_connector(create_request("paused-one", true)).await.expect("a valid paused create");

    let empty_name = cluster.client(2).create_connector(CreateConnectorRequest { name: String::new(), ..create_request("x", false) }).await;
    assert_refused(empty_name, Code::InvalidArgument, "name", "empty name");

    let duplicate = cluster.client(3).create_connector(create_request("inventory", false)).await;
    assert_refused(duplicate, Code::AlreadyExists, "inventory", "duplicate name");

    let mut no_prefix = create_request("no-prefix", false);
    no_prefix.config.remove("topic.prefix");
    let missing = cluster.client(2).create_connector(no_prefix).await;
    assert_refused(missing, Code::InvalidArgument, "topic.prefix", "config without topic.prefix");

    // Accepted properties without effect are shown as warnings.
    let mut warned = create_request("warned", true);
    warned.config.insert("tasks.max".into(), "1".into());
    let warned = cluster.client(2).create_connector(warned).await.expect("tasks.max=1 is accepted").into_inner();
    assert!(
        warned.warnings.iter().any(|w| w.starts_with("config.tasks.max: accepted, has no effect")),
        "{:?}",
        warned.warnings
    );

    // Sink settings are refused at create, not when the task starts.
    let mut twice = create_request("twice", false);
    twice.config.insert("delivery.guarantee".into(), "twice".into());
    let twice = cluster.client(2).create_connector(twice).await;
    assert_refused(twice, Code::InvalidArgument, "config.delivery.guarantee", "delivery.guarantee=twice");
    let mut acks = create_request("acks", false);
    acks.config.insert("producer.override.acks".into(), "1".into());
    let acks = cluster.client(3).create_connector(acks).await;
    assert_refused(acks, Code::InvalidArgument, "config.producer.override.acks", "an override of a sink-owned key");

    let unknown = cluster.client(3).get_connector(by_name("no-such-connector")).await;
    assert_refused(unknown, Code::NotFound, "no-such-connector", "get of an unknown connector");

    let running = cluster
        .client(2)
        .set_offsets(SetOffsetsRequest { name: "inventory".into(), offset_json: r#"{"file":"f","pos":4}"#.into() })
        .await;
    assert_refused(running, Code::FailedPrecondition, "inventory", "set offsets while running");

    let not_object = cluster
        .client(1)
        .set_offsets(SetOffsetsRequest { name: "paused-one".into(), offset_json: "[1, 2]".into() })
        .await;
    assert_refused(not_object, Code::InvalidArgument, "offset", "set offsets to a JSON array");

    // The CLI reports the same refusals through its exit codes.
    let cli_unknown = cluster.cli(1, &["connector", "get", "no-such-connector"]).await;
    assert_eq!(cli_unknown.status.code(), Some(1), "CLI server error: {}", text(&cli_unknown.stderr));
    let cli_usage = cluster.cli(1, &["connector", "no-such-subcommand"]).await;
    assert_eq!(cli_usage.status.code(), Some(2), "CLI usage error: {}", text(&cli_usage.stderr));

    wait_until(DEFAULT_DEADLINE, "every node lists exactly the valid connectors", || async {
        for node in cluster.nodes() {
            let names: Vec<String> = cluster
                .connectors(node)
                .await
                .map_err(|e| format!("node {node}: {e}"))?
                .into_iter()
                .map(|c| c.name)
                .collect();
            if names != ["inventory", "paused-one", "warned"] {
                return Err(format!("node {node} lists {names:?}"));
            }
        }
        Ok(())
    })
    .await;
    for node in cluster.nodes() {
        cluster.status(node).await.unwrap_or_else(|e| panic!("node {node} stopped answering: {e}"));
    }
}

/// (g) A leader cut off from its peers by a network partition is replaced;
/// after the partition heals it rejoins as a follower.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_leader_is_replaced_and_rejoins_as_follower() {
    let (cluster, old_leader) = initialised_cluster(3).await;
    let before = create_owned_connector(&cluster, "inventory", old_leader).await;

    cluster.isolate(old_leader);
    let majority = others(&cluster, old_leader);
    let new_leader = cluster.wait_leader(&majority).await;
    let moved = cluster
        .wait_connector(&majority, "inventory", "owned by the new leader at a higher epoch", |_, c| {
            owned_by(c, new_leader)?;
            epoch_above(c, before.epoch)
        })
        .await;

    cluster.heal_all();
    wait_until(DEFAULT_DEADLINE, "the old leader follows the new leader", || async {
        let status = cluster.status(old_leader).await.map_err(|e| e.to_string())?;
        follows(&status, old_leader, new_leader)
    })
    .await;
    assert_eq!(cluster.wait_leader(&[1, 2, 3]).await, new_leader);
    cluster
        .wait_connector(&[old_leader], "inventory", "the old leader sees the move", |_, c| {
            owned_by(c, new_leader)?;
            (c.epoch >= moved[0].epoch).then_some(()).ok_or_else(|| "epoch not caught up".into())
        })
        .await;
}

// ----- scenario building blocks ------------------------------------------

/// Starts `size` nodes, initialises them and waits for a leader.
async fn initialised_cluster(size: usize) -> (Cluster, usize) {
    let cluster = Cluster::start(size).await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    (cluster, leader)
}

/// Creates a running connector and waits until every node sees it owned by
/// `leader`; answers the leader's view.
async fn create_owned_connector(cluster: &Cluster, name: &str, leader: usize) -> Connector {
    cluster.client(leader).create_connector(create_request(name, false)).await.expect("create connector");
    let views = cluster
        .wait_connector(&cluster.nodes(), name, "owned by the leader", |_, c| {
            owned_by(c, leader)?;
            (c.epoch >= 1).then_some(()).ok_or_else(|| "epoch is 0".into())
        })
        .await;
    views.into_iter().nth(leader - 1).expect("the leader's view")
}

/// Waits until each of `nodes` has applied everything `leader` had
/// committed when this was called.
async fn wait_applied_everywhere(cluster: &Cluster, nodes: &[usize], leader: usize) {
    let committed = cluster.status(leader).await.expect("leader status").committed_index.unwrap_or(0);
    for &node in nodes {
        wait_until(DEFAULT_DEADLINE, &format!("node {node} applies up to index {committed}"), || async {
            let status = cluster.status(node).await.map_err(|e| e.to_string())?;
            let applied = status.last_applied_index.unwrap_or(0);
            (applied >= committed).then_some(()).ok_or_else(|| format!("applied {applied}"))
        })
        .await;
    }
}

fn others(cluster: &Cluster, excluded: usize) -> Vec<usize> {
    cluster.nodes().into_iter().filter(|&n| n != excluded).collect()
}

fn by_name(name: &str) -> ConnectorRef {
    ConnectorRef { name: name.to_owned() }
}

fn member(status: &ClusterStatus, node: usize) -> Option<&raftcdc::proto::MemberStatus> {
    status.members.iter().find(|m| m.node_id == node as u64)
}

/// `Ok` when `status` (reported by `node`) names `leader` and calls `node`
/// a follower.
fn follows(status: &ClusterStatus, node: usize, leader: usize) -> Result<(), String> {
    let role = member(status, node).map(|m| m.role.as_str());
    if status.leader_id == Some(leader as u64) && role == Some("follower") {
        Ok(())
    } else {
        Err(format!("leader_id {:?}, own role {role:?}", status.leader_id))
    }
}

fn owned_by(c: &Connector, node: usize) -> Result<(), String> {
    (c.owner_node_id == Some(node as u64))
        .then_some(())
        .ok_or_else(|| format!("owner is {:?}, not {node}", c.owner_node_id))
}

fn epoch_above(c: &Connector, floor: u64) -> Result<(), String> {
    (c.epoch > floor).then_some(()).ok_or_else(|| format!("epoch {} is not above {floor}", c.epoch))
}

fn by_name_map(connectors: Vec<Connector>) -> BTreeMap<String, Connector> {
    connectors.into_iter().map(|c| (c.name.clone(), c)).collect()
}

fn parsed_offset(c: &Connector) -> Option<serde_json::Value> {
    c.offset.as_ref().map(|o| serde_json::from_str(&o.offset_json).expect("offset_json is JSON"))
}

/// `Ok` when `after` holds the same connectors as `before`, with the same
/// config, desired state and offset, and epochs that did not go down.
fn same_state(before: &BTreeMap<String, Connector>, after: &BTreeMap<String, Connector>) -> Result<(), String> {
    if before.keys().ne(after.keys()) {
        return Err(format!("names {:?}, expected {:?}", after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>()));
    }
    for (name, was) in before {
        let now = &after[name];
        if now.config != was.config {
            return Err(format!("{name}: config {:?}, was {:?}", now.config, was.config));
        }
        if now.desired_state != was.desired_state {
            return Err(format!("{name}: desired state {}, was {}", now.desired_state, was.desired_state));
        }
        if parsed_offset(now) != parsed_offset(was) {
            return Err(format!("{name}: offset {:?}, was {:?}", now.offset, was.offset));
        }
        if now.epoch < was.epoch {
            return Err(format!("{name}: epoch went down from {} to {}", was.epoch, now.epoch));
        }
    }
    Ok(())
}

fn assert_refused<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, tonic::Status>,
    code: Code,
    mentions: &str,
    case: &str,
) {
    match result {
        Ok(reply) => panic!("{case}: expected {code:?}, got success: {reply:?}"),
        Err(status) => {
            assert_eq!(status.code(), code, "{case}: {status:?}");
            assert!(status.message().contains(mentions), "{case}: message does not mention `{mentions}`: {status:?}");
        }
    }
}

fn assert_cli_success(output: &std::process::Output, what: &str) {
    assert!(
        output.status.success(),
        "`raftcdc {what}` failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
