//! The web console in a real browser: Debian's headless Chromium, driven
//! by playwright-core (`cluster-tests/browser/console.mjs`). The page,
//! served by a node that does not own the connector, shows the connector
//! and its owner; after the owner (the leader) is SIGKILLed it shows the
//! new owner and leader within two seconds of the cluster knowing them;
//! and its Pause button pauses the connector, with the cluster's bearer
//! token. The test asserts on the page; no screenshot is kept.
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use cluster_tests::cluster::{Cluster, Security};
use cluster_tests::connectors;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_shows_a_connector_follows_an_owner_kill_and_pauses_it() {
    let browser_dir = repo().join("cluster-tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists() && std::path::Path::new("/usr/bin/chromium").exists(),
        "chromium or playwright-core is missing: run scripts/services.sh"
    );
    let cluster = Cluster::builder().security(Security { token: true, ..Security::default() }).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let created = cluster.rest(leader).send("POST", "/connectors", &connectors::rest_payload("ui")).await.unwrap();
    assert_eq!(created.status, 201, "{}", created.text);
    let owner = cluster
        .wait_connector(&[leader], "ui", "owned", |_, c| c.owner_node_id.map(|_| ()).ok_or_else(|| "no owner".into()))
        .await[0]
        .owner_node_id
        .unwrap() as usize;
    let viewer = cluster.nodes().into_iter().find(|n| *n != owner).unwrap();
    let token = cluster.rest(viewer).token.unwrap_or_default();

    let mut child = tokio::process::Command::new("node")
        .arg(browser_dir.join("console.mjs"))
        .arg(format!("{}/ui", cluster.rest_url(viewer)))
        .arg(&token)
        .arg("ui")
        .current_dir(&browser_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node");
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || {
        let line = tokio::time::timeout(Duration::from_secs(60), out.next_line())
            .await
            .expect("the browser answers within a minute")
            .unwrap()
            .unwrap_or_default();
        assert!(!line.starts_with("error") && !line.is_empty(), "browser: {line:?}");
        line
    };

    assert_eq!(next().await, format!("owner node {owner}"));
    cluster.kill(owner);
    let survivors: Vec<usize> = cluster.nodes().into_iter().filter(|n| *n != owner).collect();
    let new_leader = cluster.wait_leader(&survivors).await;
    let moved = cluster
        .wait_connector(&[viewer], "ui", "moved to a survivor", |_, c| match c.owner_node_id {
            Some(o) if o as usize != owner => Ok(()),
            _ => Err("not moved".into()),
        })
        .await;
    let new_owner = moved[0].owner_node_id.unwrap();
    stdin
        .write_all(format!("expect node {new_owner} node {new_leader}\n").as_bytes())
        .await
        .unwrap();
    let line = next().await;
    assert!(line.starts_with("moved in "), "{line}");
    eprintln!("console: owner {owner} -> {new_owner}, leader -> {new_leader}: {line}");
    assert_eq!(next().await, "paused");
    let paused = cluster.connector(viewer, "ui").await.unwrap();
    assert_eq!(paused.desired_state, raftcdc::proto::DesiredState::Paused as i32);
    assert!(child.wait().await.unwrap().success());
}
