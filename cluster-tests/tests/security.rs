//! Security scenarios: TLS on both listeners, peer mutual TLS and the
//! control API's bearer token, with real `raftcdc` processes and throwaway
//! certificates made by `openssl` ([`cluster_tests::pki`]).
//!
//! Every wait polls the cluster until a condition holds; a refusal is shown
//! by what the cluster reports (membership, replication, the member's probe
//! error), never by waiting a fixed time and finding nothing happened.
//!
//! Run with `cargo build --bin raftcdc && cargo test -p cluster-tests --test security`.
use std::process::Output;
use std::time::Duration;

use cluster_tests::pki::TestCa;
use cluster_tests::process::serve_until_exit;
use cluster_tests::{wait_until, Cluster, Credentials, Security, DEFAULT_DEADLINE};
use raftcdc::config::security::{read_certificates, read_identity, ClientTls};
use raftcdc::proto::{AddNodeRequest, ClusterStatus, ListConnectorsRequest, MemberStatus};
use raftcdc::raft::network::{probe, PeerDialer};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

/// (a, b) A cluster with peer mTLS, control TLS with client certificates
/// and a token forms and elects a leader; the CLI with the right
/// credentials works, without the token or with a wrong one it is refused
/// with `UNAUTHENTICATED`; health answers without a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cluster_forms_and_refuses_calls_without_the_token() {
    let cluster = Cluster::builder().security(Security::all()).start().await;
    assert!(
        cluster.endpoint(1).starts_with("https://"),
        "{}",
        cluster.endpoint(1)
    );
    cluster.init().await;
    let leader = cluster.wait_leader(&[1, 2, 3]).await;

    // Every member is a voter and the leader reaches each one over peer mTLS.
    wait_until(DEFAULT_DEADLINE, "three reachable voters", || async {
        let status = cluster.status(leader).await.map_err(|e| e.to_string())?;
        let ok = status.members.len() == 3 && status.members.iter().all(|m| m.voter && m.reachable);
        ok.then_some(())
            .ok_or_else(|| format!("{:?}", status.members))
    })
    .await;

    let status = cluster
        .cli(2, &["cluster", "status", "--output", "json"])
        .await;
    assert_success(
        &status,
        "cluster status with the token, CA and client certificate",
    );
    let parsed: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON status");
    assert_eq!(parsed["leader_id"], leader as u64, "{parsed}");
    let list = cluster.cli(3, &["connector", "list"]).await;
    assert_success(&list, "connector list with the token");

    // Without the token, and with a wrong one: UNAUTHENTICATED, exit 1.
    let no_token = Credentials {
        token_file: None,
        ..cluster.credentials().clone()
    };
    let wrong_file = cluster.dir().join("wrong-token");
    std::fs::write(&wrong_file, "not-the-token\n").unwrap();
    let wrong_token = Credentials {
        token_file: Some(wrong_file),
        ..cluster.credentials().clone()
    };
    for (what, credentials) in [("no token", &no_token), ("a wrong token", &wrong_token)] {
        for args in [&["connector", "list"][..], &["cluster", "status"][..]] {
            let output = cluster.cli_as(1, credentials, args).await;
            assert_eq!(
                output.status.code(),
                Some(1),
                "`{}` with {what}: {}",
                args.join(" "),
                describe(&output)
            );
            assert!(
                text(&output.stderr).contains("UNAUTHENTICATED"),
                "`{}` with {what}: {}",
                args.join(" "),
                describe(&output)
            );
        }
    }
    let refused = no_token
        .dialer()
        .connect_lazy(&cluster.endpoint(1))
        .unwrap()
        .list_connectors(ListConnectorsRequest {})
        .await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);

    // Without a client certificate the TLS handshake itself fails.
    let no_cert = Credentials {
        client_cert: None,
        ..cluster.credentials().clone()
    };
    let output = cluster.cli_as(1, &no_cert, &["connector", "list"]).await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "without a client certificate: {}",
        describe(&output)
    );

    // Health needs no token (TLS and the client certificate still apply).
    let channel = no_token
        .dialer()
        .endpoint(&cluster.endpoint(1))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let health = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health without a token");
    assert_eq!(health.into_inner().status(), ServingStatus::Serving);
}

/// (c) A node whose peer certificate is signed by another CA cannot join:
/// the leader refuses its certificate, so it never receives the log and
/// never becomes a voter; and a client presenting such a certificate is
/// refused by the peer listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_with_a_certificate_from_another_ca_is_refused() {
    let security = Security {
        peer_tls: true,
        control_tls: true,
        client_certs: false,
        token: true,
    };
    let mut cluster = Cluster::builder().security(security).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&[1, 2, 3]).await;

    let rogue = cluster.spawn_rogue_node().await;
    cluster.wait_ready(rogue).await;
    // Adding it blocks until it catches up, which it never does: let the
    // call run and observe the cluster instead.
    let adding = {
        let mut client = cluster.client_with_timeout(leader, Duration::from_secs(120));
        let endpoint = cluster.endpoint(rogue);
        tokio::spawn(async move {
            client
                .add_node(AddNodeRequest {
                    endpoint,
                    learner_only: false,
                })
                .await
        })
    };
    let mut adding = AbortOnDrop(adding);
    let refused = wait_until(
        DEFAULT_DEADLINE,
        "the leader's probe of the rogue node fails on its certificate",
        || async {
            let status = cluster.status(leader).await.map_err(|e| e.to_string())?;
            let member = member(&status, rogue)
                .ok_or_else(|| format!("not a member yet: {:?}", status.members))?
                .clone();
            let certificate_error =
                !member.reachable && member.error.to_lowercase().contains("certificate");
            certificate_error
                .then_some(member.clone())
                .ok_or_else(|| format!("{member:?}"))
        },
    )
    .await;
    assert!(
        !refused.voter,
        "the rogue node must not be a voter: {refused:?}"
    );
    assert_eq!(
        refused.matched_index, None,
        "nothing may be replicated to the rogue node: {refused:?}"
    );
    let rogue_view = cluster
        .status(rogue)
        .await
        .expect("the rogue node's own status");
    assert_eq!(
        rogue_view.last_log_index, None,
        "the rogue node received log entries: {rogue_view:?}"
    );
    assert_eq!(
        rogue_view.leader_id, None,
        "the rogue node heard from a leader: {rogue_view:?}"
    );
    if adding.0.is_finished() {
        let result = (&mut adding.0).await.expect("the add-node task");
        assert!(
            result.is_err(),
            "adding the rogue node must not succeed: {result:?}"
        );
    }
    for node in [1, 2, 3] {
        let voters = voters(&cluster.status(node).await.unwrap());
        assert_eq!(voters, vec![1, 2, 3], "node {node}'s voters");
    }

    // The peer listener itself: a client certificate from the rogue CA, or
    // none, is refused; one from the cluster's CA is accepted.
    let pki = cluster.pki().expect("a TLS cluster has a PKI");
    let ca = read_certificates(pki.ca.cert()).unwrap();
    let dialer = |identity| PeerDialer {
        cluster_name: cluster.cluster_name().to_owned(),
        source_addr: None,
        connect_timeout: Duration::from_secs(2),
        tls: Some(ClientTls::new(vec![ca.clone()], identity)),
    };
    let rogue_client = pki.rogue.issue("rogue-client", &[]).await;
    let good_client = pki.ca.issue("peer-client", &[]).await;
    let rogue_identity = read_identity(&rogue_client.cert, &rogue_client.key).unwrap();
    let good_identity = read_identity(&good_client.cert, &good_client.key).unwrap();
    let peer = cluster.peer_addr(leader);
    let timeout = Duration::from_secs(5);
    let with_rogue = probe(&dialer(Some(rogue_identity)), &peer, 99, timeout).await;
    assert!(
        with_rogue.is_err(),
        "a rogue client certificate was accepted: {with_rogue:?}"
    );
    let without = probe(&dialer(None), &peer, 99, timeout).await;
    assert!(
        without.is_err(),
        "a peer call without a client certificate was accepted: {without:?}"
    );
    let good = probe(&dialer(Some(good_identity)), &peer, 99, timeout).await;
    assert!(
        good.is_ok(),
        "a client certificate from the cluster's CA was refused: {good:?}"
    );
}

/// (d) A certificate and key that do not belong together stop `serve` at
/// once, naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mismatched_key_is_refused_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::create(dir.path(), "ca").await;
    let a = ca.issue("a", &[]).await;
    let b = ca.issue("b", &[]).await;
    let quoted = |p: &std::path::Path| cluster_tests::config::quoted(&p.to_string_lossy());
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nid = 1\nlisten = \"127.0.0.1:1\"\npeer_listen = \"127.0.0.1:2\"\ndata_dir = {}\n\n\
             [tls.peer]\ncert = {}\nkey = {}\nca = {}\n",
            quoted(&dir.path().join("data")),
            quoted(&a.cert),
            quoted(&b.key),
            quoted(ca.cert()),
        ),
    )
    .unwrap();
    let output = serve_until_exit(&config, Duration::from_secs(15))
        .await
        .expect("serve exits on a bad config");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        text(&output.stderr).contains("tls.peer.key"),
        "{}",
        describe(&output)
    );
}

/// Aborts a task when the test ends, however it ends.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn member(status: &ClusterStatus, node: usize) -> Option<&MemberStatus> {
    status.members.iter().find(|m| m.node_id == node as u64)
}

fn voters(status: &ClusterStatus) -> Vec<u64> {
    let mut ids: Vec<u64> = status
        .members
        .iter()
        .filter(|m| m.voter)
        .map(|m| m.node_id)
        .collect();
    ids.sort_unstable();
    ids
}

fn assert_success(output: &Output, what: &str) {
    assert!(output.status.success(), "{what}: {}", describe(output));
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
