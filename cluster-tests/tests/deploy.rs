//! What the deployments in `deploy/` rely on, checked against real
//! `raftcdc` processes:
//!
//! - a node answers `grpc.health.v1` with SERVING, for the whole server and
//!   for `raftcdc.v1.Control`, as soon as it listens and before the cluster
//!   is formed: the Kubernetes `grpc:` probes (deploy/kubernetes) ask exactly
//!   that, and the init Job can only reach pods that are ready;
//! - `raftcdc config check` refuses what `serve` refuses, with the same
//!   message and exit code, and accepts what `serve` starts with: the
//!   systemd unit's `ExecStartPre` and `scripts/check-deploy.sh` depend on it.
//!
//! Run with `cargo build --bin raftcdc && cargo test -p cluster-tests --test deploy`.
use std::time::Duration;

use cluster_tests::process::{raftcdc_bin, serve_until_exit};
use cluster_tests::Cluster;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_serving_before_the_cluster_is_formed() {
    let cluster = Cluster::start(1).await;
    let channel = tonic::transport::Endpoint::from_shared(cluster.endpoint(1))
        .unwrap()
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("connect to the node's control port");
    let mut health = HealthClient::new(channel);
    for service in ["", "raftcdc.v1.Control"] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|e| panic!("health check of {service:?}: {e}"))
            .into_inner();
        assert_eq!(reply.status, ServingStatus::Serving as i32, "service {service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    let status = cluster.cli(1, &["cluster", "-o", "json", "status"]).await;
    assert!(status.status.success());
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("\"leader_id\": null"),
        "not formed yet"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_agrees_with_serve() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = cluster_tests::config::quoted(&dir.path().join("data").to_string_lossy());
    let rest = format!("listen = \"127.0.0.1:1\"\npeer_listen = \"127.0.0.1:2\"\ndata_dir = {data_dir}\n");
    let cases = [
        ("unknown-field", format!("[node]\nid = 1\nfoo = 1\n{rest}")),
        ("missing-id", format!("[node]\n{rest}")),
        ("id-zero", format!("[node]\nid = 0\n{rest}")),
        ("not-toml", "[node\nid = 1\n".to_string()),
        (
            "timeouts",
            format!("[node]\nid = 1\n{rest}[raft]\nelection_timeout_min_ms = 50\n"),
        ),
        (
            "unknown-section",
            format!("[node]\nid = 1\n{rest}[bogus]\nlisten = \"0.0.0.0:7201\"\n"),
        ),
    ];
    for (case, toml) in cases {
        let path = dir.path().join(format!("{case}.toml"));
        std::fs::write(&path, toml).unwrap();
        let check = check_config(&path).await;
        let serve = serve_until_exit(&path, Duration::from_secs(15))
            .await
            .unwrap_or_else(|| panic!("{case}: serve kept running"));
        assert_eq!(check.status.code(), Some(2), "{case}: config check exit code");
        assert_eq!(serve.status.code(), Some(2), "{case}: serve exit code");
        assert_eq!(
            String::from_utf8_lossy(&check.stderr),
            String::from_utf8_lossy(&serve.stderr),
            "{case}: the two must print the same error"
        );
    }

    let good = dir.path().join("good.toml");
    std::fs::write(&good, format!("[node]\nid = 7\n{rest}")).unwrap();
    let check = check_config(&good).await;
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stdout).contains("node.id = 7\n"));
    assert!(
        !dir.path().join("data").exists(),
        "config check must not create the data directory"
    );
}

async fn check_config(path: &std::path::Path) -> std::process::Output {
    tokio::process::Command::new(raftcdc_bin())
        .args(["config", "check"])
        .arg(path)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run raftcdc config check")
}
