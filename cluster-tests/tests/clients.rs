//! Independent Kafka Connect clients against a three-node cluster: the
//! `kafka-connect-py` client from PyPI (installed in `.venv-clients/` by
//! `scripts/services.sh`) creates, inspects, pauses, resumes, restarts and
//! deletes a connector, each call on a different node.
use std::path::PathBuf;

use cluster_tests::cluster::Cluster;
use cluster_tests::connectors;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_connect_py_drives_a_connector_through_every_node() {
    let python = repo().join(".venv-clients/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/services.sh", python.display());
    let cluster = Cluster::start(3).await;
    cluster.init().await;
    cluster.wait_leader(&cluster.nodes()).await;
    let mut command = tokio::process::Command::new(python);
    command
        .arg(repo().join("cluster-tests/clients/kafka_connect_py.py"))
        .arg(connectors::rest_payload("pyclient").to_string());
    for node in cluster.nodes() {
        command.arg(cluster.rest_url(node));
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), command.output())
        .await
        .expect("the client finishes within 2 minutes")
        .expect("run the client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "client failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("delete worked"), "{stdout}");
}
