//! A client polling a follower's `GET /connectors/{name}/status` while the
//! connector's owner is SIGKILLed: every answer is a 200, and the states
//! go RUNNING (old worker) → UNASSIGNED or RUNNING → RUNNING on a new
//! worker, never FAILED. A real MariaDB, the broker and three real nodes.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cluster_tests::broker::Broker;
use cluster_tests::cluster::Cluster;
use cluster_tests::connectors;
use cluster_tests::mariadb::MariaDb;
use cluster_tests::wait::wait_until;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_on_a_follower_never_errors_across_an_owner_kill() {
    let db = MariaDb::start(&[]).await;
    db.sql(&["CREATE DATABASE inventory", "CREATE TABLE inventory.t (id INT PRIMARY KEY)"]).await;
    let broker = Broker::start().await;
    let cluster = Cluster::builder().kafka(broker.bootstrap()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let first = connectors::create_streaming(&cluster, leader, &db, "inv", 6201, &[]).await;
    let owner = first.owner_node_id.expect("an owner") as usize;
    let watcher = cluster.nodes().into_iter().find(|n| *n != owner).unwrap();
    let rest = cluster.rest(watcher);
    // GET / reports the broker's own cluster id once it has answered.
    let cluster_id = wait_until(Duration::from_secs(30), "GET / reports the Kafka cluster id", || {
        let rest = rest.clone();
        async move {
            let root = rest.get("/").await.map_err(|e| e.to_string())?;
            root.json["kafka_cluster_id"].as_str().map(str::to_string).ok_or(root.text)
        }
    })
    .await;
    assert!(!cluster_id.is_empty() && cluster_id != "raftcdc", "{cluster_id}");
    let old_worker = cluster.rest_url(owner);
    let status = rest.get("/connectors/inv/status").await.unwrap();
    assert_eq!(status.json["tasks"][0]["state"], "RUNNING", "{}", status.text);
    assert_eq!(status.json["tasks"][0]["worker_id"], old_worker.as_str());

    // Poll the follower every 50 ms from before the kill until after the
    // takeover.
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let (rest, done) = (rest.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen: Vec<Result<(String, String), String>> = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let answer = rest.get("/connectors/inv/status").await;
                seen.push(match answer {
                    Ok(a) if a.status == 200 => Ok((
                        a.json["tasks"][0]["state"].as_str().unwrap_or("?").to_string(),
                        a.json["tasks"][0]["worker_id"].as_str().unwrap_or("?").to_string(),
                    )),
                    Ok(a) => Err(format!("{} {}", a.status, a.text)),
                    Err(e) => Err(e),
                });
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen
        })
    };
    cluster.kill(owner);
    wait_until(Duration::from_secs(60), "the task runs on a new worker", || async {
        let a = rest.get("/connectors/inv/status").await?;
        let task = &a.json["tasks"][0];
        if task["state"] == "RUNNING" && task["worker_id"] != old_worker.as_str() {
            Ok(())
        } else {
            Err(a.text)
        }
    })
    .await;
    // A few more polls after the takeover.
    tokio::time::sleep(Duration::from_millis(300)).await;
    done.store(true, Ordering::Relaxed);
    let seen = poller.await.unwrap();

    let errors: Vec<&String> = seen.iter().filter_map(|s| s.as_ref().err()).collect();
    assert!(errors.is_empty(), "status errored during the failover: {errors:?}");
    let states: Vec<(String, String)> = seen.into_iter().map(Result::unwrap).collect();
    let mut compact: Vec<(String, String)> = states.clone();
    compact.dedup();
    assert_eq!(compact.first().unwrap(), &("RUNNING".to_string(), old_worker.clone()), "{compact:?}");
    let last = compact.last().unwrap();
    assert!(last.0 == "RUNNING" && last.1 != old_worker, "{compact:?}");
    for (state, _) in &compact {
        assert!(state == "RUNNING" || state == "UNASSIGNED", "unexpected state {state} in {compact:?}");
    }
    eprintln!("status sequence seen on node {watcher}: {compact:?}");

    // Active topics: the new owner records the table's topic once its
    // records are committed; a reset (202) empties the list until the
    // connector writes to the topic again.
    let has_table_topic = |rest: &cluster_tests::rest::RestClient| {
        let rest = rest.clone();
        async move {
            let a = rest.get("/connectors/inv/topics").await.map_err(|e| e.to_string())?;
            let topics = a.json["inv"]["topics"].as_array().cloned().unwrap_or_default();
            if topics.iter().any(|t| t == "dbserver1.inventory.t") { Ok(topics) } else { Err(a.text) }
        }
    };
    db.sql(&["INSERT INTO inventory.t VALUES (1001)"]).await;
    wait_until(Duration::from_secs(30), "the table's topic is listed", || has_table_topic(&rest)).await;
    assert_eq!(rest.request("PUT", "/connectors/inv/topics/reset", None).await.unwrap().status, 202);
    let after_reset = rest.get("/connectors/inv/topics").await.unwrap();
    assert_eq!(after_reset.json, serde_json::json!({"inv": {"topics": []}}), "reset empties the list");
    db.sql(&["INSERT INTO inventory.t VALUES (1002)"]).await;
    let topics = wait_until(Duration::from_secs(30), "the topic is listed again", || has_table_topic(&rest)).await;
    assert_eq!(topics, [serde_json::json!("dbserver1.inventory.t")], "only topics written since the reset");
}
