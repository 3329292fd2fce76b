//! Kafka Connect REST API contract tests against a real three-node cluster:
//! status codes, bodies, `expand`, errors, follower writes, the token, and
//! bad requests that change nothing. Written from Kafka Connect's REST
//! documentation and `ConnectorsResource` behaviour (201 + Location on
//! create, 409 on a duplicate, 202 for pause/resume, 204 for stop, delete
//! and a plain restart, `{"error_code", "message"}` errors).
//!
//! No database or broker runs here: the connectors' tasks fail (the nodes
//! have no Kafka), which the status shows as a FAILED task with a trace.
use cluster_tests::cluster::{Cluster, Security};
use cluster_tests::connectors;
use cluster_tests::rest::RestClient;
use cluster_tests::wait::wait_until;
use cluster_tests::DEFAULT_DEADLINE;
use serde_json::{json, Value};

const MYSQL: &str = "io.debezium.connector.mysql.MySqlConnector";

async fn three_nodes() -> (Cluster, usize, usize) {
    let cluster = Cluster::start(3).await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let follower = cluster.nodes().into_iter().find(|n| *n != leader).unwrap();
    (cluster, leader, follower)
}

fn error_body(answer: &cluster_tests::rest::Answer, code: u16) {
    assert_eq!(answer.status, code, "{}", answer.text);
    assert_eq!(answer.json["error_code"], json!(code), "{}", answer.text);
    assert!(answer.json["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", answer.text);
}

/// Waits until `path` on `rest` answers a JSON body `check` accepts.
async fn wait_json(rest: &RestClient, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let check = &check;
    wait_until(DEFAULT_DEADLINE, what, || async move {
        let answer = rest.get(path).await?;
        if answer.status == 200 && check(&answer.json) {
            Ok(answer.json)
        } else {
            Err(format!("{} {}", answer.status, answer.text))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_connect_shapes_and_status_codes_with_writes_on_a_follower() {
    let (cluster, _leader, follower) = three_nodes().await;
    let rest = cluster.rest(follower);

    let root = rest.get("/").await.unwrap();
    assert_eq!(root.status, 200);
    for field in ["version", "commit"] {
        assert!(root.json[field].is_string(), "{field}: {}", root.text);
    }
    // No broker runs here: the id is null until one answers.
    assert!(root.json["kafka_cluster_id"].is_null(), "{}", root.text);
    assert_eq!(rest.get("/connectors").await.unwrap().json, json!([]));

    // Create on a follower: served there (forwarded through Raft).
    let created = rest.send("POST", "/connectors", &connectors::rest_payload("inv")).await.unwrap();
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("location"), Some("/connectors/inv"));
    assert_eq!(created.json["name"], "inv");
    assert_eq!(created.json["type"], "source");
    assert_eq!(created.json["tasks"], json!([{"connector": "inv", "task": 0}]));
    assert_eq!(created.json["config"]["name"], "inv");
    assert_eq!(created.json["config"]["connector.class"], MYSQL);
    assert_eq!(created.json["config"]["database.password"], "********", "secrets are masked");
    // Every node sees it.
    for node in cluster.nodes() {
        wait_json(&cluster.rest(node), "/connectors", "the connector is listed", |v| *v == json!(["inv"])).await;
    }

    let duplicate = rest.send("POST", "/connectors", &connectors::rest_payload("inv")).await.unwrap();
    error_body(&duplicate, 409);
    assert_eq!(duplicate.json["message"], "Connector inv already exists");

    // expand=status, expand=info, and both.
    let status = rest.get("/connectors?expand=status").await.unwrap().json;
    assert_eq!(status["inv"]["status"]["name"], "inv");
    assert!(status["inv"].get("info").is_none());
    let info = rest.get("/connectors?expand=info").await.unwrap().json;
    assert_eq!(info["inv"]["info"]["tasks"], json!([{"connector": "inv", "task": 0}]));
    assert!(info["inv"].get("status").is_none());
    let both = rest.get("/connectors?expand=status&expand=info").await.unwrap().json;
    assert!(both["inv"]["status"].is_object() && both["inv"]["info"].is_object(), "{both}");

    let info = rest.get("/connectors/inv").await.unwrap();
    assert_eq!(info.json, created.json);
    let config = rest.get("/connectors/inv/config").await.unwrap();
    assert_eq!(config.json, created.json["config"]);

    // Status: connector and task 0 with the owner's REST address.
    let status = wait_json(&rest, "/connectors/inv/status", "the task has an owner", |v| {
        v["tasks"][0]["state"] != "UNASSIGNED"
    })
    .await;
    assert_eq!(status["name"], "inv");
    assert_eq!(status["type"], "source");
    assert_eq!(status["connector"]["state"], "RUNNING");
    assert_eq!(status["tasks"][0]["id"], 0);
    let owner = cluster.connector(follower, "inv").await.unwrap().owner_node_id.unwrap() as usize;
    assert_eq!(status["tasks"][0]["worker_id"], json!(cluster.rest_url(owner)), "{status}");
    assert_eq!(status["connector"]["worker_id"], json!(cluster.rest_url(owner)));
    // Without Kafka the task fails, and the trace says why and what to do.
    let status = wait_json(&rest, "/connectors/inv/status", "the task fails without Kafka", |v| {
        v["tasks"][0]["state"] == "FAILED"
    })
    .await;
    assert!(status["tasks"][0]["trace"].as_str().unwrap().contains("Remedy:"), "{status}");
    let task = rest.get("/connectors/inv/tasks/0/status").await.unwrap();
    assert_eq!(task.json, status["tasks"][0]);
    error_body(&rest.get("/connectors/inv/tasks/1/status").await.unwrap(), 404);
    let tasks = rest.get("/connectors/inv/tasks").await.unwrap().json;
    assert_eq!(tasks[0]["id"], json!({"connector": "inv", "task": 0}));
    assert_eq!(tasks[0]["config"]["topic.prefix"], "inv");
    assert_eq!(rest.get("/connectors/inv/topics").await.unwrap().json, json!({"inv": {"topics": []}}));
    assert_eq!(rest.request("PUT", "/connectors/inv/topics/reset", None).await.unwrap().status, 202);

    // PUT config: 200 for an existing connector (the masked password sent
    // back keeps the stored one), 201 for a new one.
    let epoch = cluster.connector(follower, "inv").await.unwrap().epoch;
    let mut changed = config.json.clone();
    changed["snapshot.mode"] = json!("no_data");
    let put = rest.send("PUT", "/connectors/inv/config", &changed).await.unwrap();
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.json["config"]["snapshot.mode"], "no_data");
    assert!(cluster.connector(follower, "inv").await.unwrap().epoch > epoch, "an update restarts the task");
    let mismatched = rest.send("PUT", "/connectors/inv/config", &json!({"name": "other"})).await.unwrap();
    error_body(&mismatched, 400);
    let mut fresh = connectors::rest_payload("inv2")["config"].clone();
    fresh["name"] = json!("inv2");
    let put = rest.send("PUT", "/connectors/inv2/config", &fresh).await.unwrap();
    assert_eq!(put.status, 201, "{}", put.text);
    // PATCH merges; null removes.
    let patch = rest
        .send("PATCH", "/connectors/inv/config", &json!({"snapshot.mode": null, "poll.interval.ms": 250}))
        .await
        .unwrap();
    assert_eq!(patch.status, 200, "{}", patch.text);
    assert!(patch.json["config"].get("snapshot.mode").is_none(), "{}", patch.text);
    assert_eq!(patch.json["config"]["poll.interval.ms"], "250");
    error_body(&rest.send("PATCH", "/connectors/nope/config", &json!({"a": "b"})).await.unwrap(), 404);

    // Restarts: plain 204; with includeTasks 202 and the status body.
    let epoch = cluster.connector(follower, "inv").await.unwrap().epoch;
    assert_eq!(rest.request("POST", "/connectors/inv/restart", None).await.unwrap().status, 204);
    let restart = rest.request("POST", "/connectors/inv/restart?includeTasks=true", None).await.unwrap();
    assert_eq!(restart.status, 202, "{}", restart.text);
    assert_eq!(restart.json["tasks"][0]["state"], "RESTARTING");
    assert_eq!(rest.request("POST", "/connectors/inv/tasks/0/restart", None).await.unwrap().status, 204);
    error_body(&rest.request("POST", "/connectors/inv/tasks/3/restart", None).await.unwrap(), 404);
    assert!(cluster.connector(follower, "inv").await.unwrap().epoch >= epoch + 3);

    // Pause 202, resume 202, stop 204.
    assert_eq!(rest.request("PUT", "/connectors/inv/pause", None).await.unwrap().status, 202);
    let paused = rest.get("/connectors/inv/status").await.unwrap().json;
    assert_eq!(paused["connector"]["state"], "PAUSED");
    assert_eq!(paused["tasks"][0]["state"], "PAUSED");
    assert_eq!(rest.request("PUT", "/connectors/inv/resume", None).await.unwrap().status, 202);
    assert_eq!(rest.get("/connectors/inv/status").await.unwrap().json["connector"]["state"], "RUNNING");

    // KIP-875 offsets: only a STOPPED connector's may change.
    assert_eq!(rest.get("/connectors/inv/offsets").await.unwrap().json, json!({"offsets": []}));
    let offsets = json!({"offsets": [{"partition": {"server": "inv"}, "offset": {"file": "mysql-bin.000003", "pos": 154}}]});
    let refused = rest.send("PATCH", "/connectors/inv/offsets", &offsets).await.unwrap();
    error_body(&refused, 400);
    assert!(refused.json["message"].as_str().unwrap().contains("STOPPED"), "{}", refused.text);
    error_body(&rest.request("DELETE", "/connectors/inv/offsets", None).await.unwrap(), 400);
    assert_eq!(rest.request("PUT", "/connectors/inv/stop", None).await.unwrap().status, 204);
    let stopped = rest.get("/connectors/inv/status").await.unwrap().json;
    assert_eq!(stopped["connector"]["state"], "STOPPED");
    assert_eq!(stopped["tasks"], json!([]));
    assert_eq!(rest.get("/connectors/inv").await.unwrap().json["tasks"], json!([]));
    let wrong_partition = json!({"offsets": [{"partition": {"server": "x"}, "offset": {"file": "f", "pos": 4}}]});
    error_body(&rest.send("PATCH", "/connectors/inv/offsets", &wrong_partition).await.unwrap(), 400);
    let altered = rest.send("PATCH", "/connectors/inv/offsets", &offsets).await.unwrap();
    assert_eq!(altered.status, 200, "{}", altered.text);
    assert!(altered.json["message"].is_string());
    assert_eq!(rest.get("/connectors/inv/offsets").await.unwrap().json, offsets);
    let grpc = cluster.connector(follower, "inv").await.unwrap();
    assert_eq!(grpc.desired_state, raftcdc::proto::DesiredState::Stopped as i32, "gRPC shows STOPPED too");
    let reset = rest.request("DELETE", "/connectors/inv/offsets", None).await.unwrap();
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(rest.get("/connectors/inv/offsets").await.unwrap().json, json!({"offsets": []}));

    // Plugins and validation, from the same validator as create.
    let plugins = rest.get("/connector-plugins").await.unwrap().json;
    assert_eq!(plugins[0]["class"], MYSQL);
    assert_eq!(plugins[0]["type"], "source");
    assert_eq!(plugins[0]["version"], raftcdc::envelope::DEBEZIUM_VERSION, "the version the records' source.version carries");
    assert_eq!(plugins.as_array().unwrap().len(), 1, "connectors only by default");
    let all = rest.get("/connector-plugins?connectorsOnly=false").await.unwrap().json;
    let listed = |class: &str, kind: &str| all.as_array().unwrap().iter().any(|p| p["class"] == class && p["type"] == kind);
    assert!(listed("io.debezium.transforms.ExtractNewRecordState", "transformation"), "{all}");
    assert!(listed("org.apache.kafka.connect.transforms.predicates.TopicNameMatches", "predicate"), "{all}");
    let mut config = connectors::rest_payload("v")["config"].clone();
    let valid = rest.send("PUT", &format!("/connector-plugins/{MYSQL}/config/validate"), &config).await.unwrap();
    assert_eq!(valid.status, 200, "{}", valid.text);
    assert_eq!(valid.json["error_count"], 0, "{}", valid.text);
    config["database.port"] = json!("not-a-port");
    config["tombstones.on.delete"] = json!("sometimes");
    let invalid = rest.send("PUT", "/connector-plugins/MySqlConnector/config/validate", &config).await.unwrap();
    assert_eq!(invalid.json["error_count"], 2, "every refused property is reported: {}", invalid.text);
    let port = invalid.json["configs"].as_array().unwrap().iter().find(|c| c["value"]["name"] == "database.port").unwrap();
    assert_eq!(port["value"]["errors"].as_array().unwrap().len(), 1, "{port}");
    let password = invalid.json["configs"].as_array().unwrap().iter().find(|c| c["value"]["name"] == "database.password").unwrap();
    assert_eq!(password["value"]["value"], "********");
    error_body(&rest.send("PUT", "/connector-plugins/Nope/config/validate", &config).await.unwrap(), 404);

    // Delete: 204, then 404 everywhere.
    assert_eq!(rest.request("DELETE", "/connectors/inv", None).await.unwrap().status, 204);
    error_body(&rest.get("/connectors/inv").await.unwrap(), 404);
    error_body(&rest.request("DELETE", "/connectors/inv", None).await.unwrap(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_kafka_errors_and_change_nothing() {
    let (cluster, _leader, follower) = three_nodes().await;
    let rest = cluster.rest(follower);
    let created = rest.send("POST", "/connectors", &connectors::rest_payload("keep")).await.unwrap();
    assert_eq!(created.status, 201, "{}", created.text);
    // Once owned, only an operator's change moves its epoch.
    let before = cluster
        .wait_connector(&[follower], "keep", "owned", |_, c| c.owner_node_id.map(|_| ()).ok_or_else(|| "no owner".into()))
        .await
        .remove(0);

    let mut invalid = connectors::rest_payload("bad");
    invalid["config"]["database.port"] = json!("70000");
    let huge = vec![b'x'; 2 * 1024 * 1024];
    let cases: Vec<(&str, String, Option<Vec<u8>>, u16)> = vec![
        ("POST", "/connectors".into(), Some(b"{not json".to_vec()), 400),
        ("POST", "/connectors".into(), Some(Vec::new()), 400),
        ("POST", "/connectors".into(), Some(b"[1,2]".to_vec()), 400),
        ("POST", "/connectors".into(), Some(b"{\"config\": {}}".to_vec()), 400),
        ("POST", "/connectors".into(), Some(invalid.to_string().into_bytes()), 400),
        ("POST", "/connectors".into(), Some(huge.clone()), 413),
        ("PUT", "/connectors/keep/config".into(), Some(huge), 413),
        ("PUT", "/connectors/keep/config".into(), Some(b"{\"database.port\": \"x\"}".to_vec()), 400),
        ("PUT", "/connectors/keep/config".into(), Some(b"\"text\"".to_vec()), 400),
        ("PATCH", "/connectors/keep/config".into(), Some(b"{\"database.port\": {\"a\": 1}}".to_vec()), 400),
        ("GET", "/connectors/missing".into(), None, 404),
        ("GET", "/connectors/missing/status".into(), None, 404),
        ("PUT", "/connectors/missing/pause".into(), None, 404),
        ("DELETE", "/connectors/missing".into(), None, 404),
        ("PATCH", "/connectors/keep/offsets".into(), Some(b"{\"offsets\": []}".to_vec()), 400),
        ("DELETE", "/connectors/keep/offsets".into(), None, 400),
        ("GET", "/connectors/..%2F..%2Fetc%2Fpasswd/status".into(), None, 404),
        ("GET", "/connectors/../../etc/passwd".into(), None, 404),
        ("GET", "/ui/../../../etc/passwd".into(), None, 404),
        ("GET", "/connectors/keep/tasks/0/..%2F..%2F..%2Fconfig".into(), None, 404),
        ("POST", "/connectors/keep/pause".into(), None, 405),
        ("GET", "/no/such/thing".into(), None, 404),
    ];
    for (method, path, body, code) in cases {
        let answer = rest.request(method, &path, body.as_deref()).await.unwrap();
        assert_eq!(answer.status, code, "{method} {path}: {}", answer.text);
        assert_eq!(answer.json["error_code"], json!(code), "{method} {path}: {}", answer.text);
        assert!(answer.json["message"].is_string(), "{method} {path}: {}", answer.text);
    }
    // Nothing changed: same connectors, same epoch and config.
    assert_eq!(rest.get("/connectors").await.unwrap().json, json!(["keep"]));
    let after = cluster.connector(follower, "keep").await.unwrap();
    assert_eq!((after.epoch, after.config, after.desired_state), (before.epoch, before.config, before.desired_state));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_guards_the_api_but_not_metrics_or_the_console_page() {
    let cluster = Cluster::builder().security(Security { token: true, ..Security::default() }).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let with = cluster.rest(leader);
    let without = RestClient::new(&cluster.rest_url(leader));
    let wrong = RestClient::new(&cluster.rest_url(leader)).with_token(Some("not-the-token".into()));
    for client in [&without, &wrong] {
        for (method, path) in [("GET", "/connectors"), ("GET", "/"), ("POST", "/connectors"), ("GET", "/raftcdc/cluster")] {
            let answer = client.request(method, path, Some(b"{}")).await.unwrap();
            error_body(&answer, 401);
            assert!(!answer.text.contains("not-the-token"), "{}", answer.text);
        }
    }
    assert_eq!(with.get("/connectors").await.unwrap().status, 200);
    let created = with.send("POST", "/connectors", &connectors::rest_payload("t")).await.unwrap();
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(without.get("/metrics").await.unwrap().status, 200);
    let page = without.get("/ui").await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<title>raftcdc console</title>"));
}

/// `curl` against a node's REST API with `extra` arguments: the HTTP
/// status and body.
async fn curl(url: &str, extra: &[&std::ffi::OsStr]) -> (u16, String) {
    let output = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "-w", "\n%{http_code}"])
        .args(extra)
        .arg(url)
        .output()
        .await
        .expect("run curl");
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// With `[tls.control]` (and its `client_ca`) the REST listener speaks
/// HTTPS with the same certificate and requires a client certificate from
/// the same CA, plus the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_takes_the_control_apis_tls_client_certificates_and_token() {
    let cluster = Cluster::builder().security(Security::all()).start().await;
    cluster.init().await;
    let leader = cluster.wait_leader(&cluster.nodes()).await;
    let url = cluster.rest_url(leader);
    assert!(url.starts_with("https://"), "{url}");
    let credentials = cluster.credentials();
    let ca = credentials.ca_cert.clone().unwrap();
    let client = credentials.client_cert.clone().unwrap();
    let token = cluster.rest(leader).token.unwrap();
    let header = format!("Authorization: Bearer {token}");
    let ok: Vec<&std::ffi::OsStr> = vec![
        "--cacert".as_ref(),
        ca.as_os_str(),
        "--cert".as_ref(),
        client.cert.as_os_str(),
        "--key".as_ref(),
        client.key.as_os_str(),
        "-H".as_ref(),
        header.as_ref(),
    ];
    let (code, body) = curl(&format!("{url}/connectors"), &ok).await;
    assert_eq!((code, body.as_str()), (200, "[]"));
    // The status of a connector created over HTTPS names an https worker.
    let payload = connectors::rest_payload("tls").to_string();
    let mut create = ok.clone();
    for arg in ["-X", "POST", "-H", "Content-Type: application/json", "--data", payload.as_str()] {
        create.push(std::ffi::OsStr::new(arg));
    }
    let (code, body) = curl(&format!("{url}/connectors"), &create).await;
    assert_eq!(code, 201, "{body}");
    // No client certificate: the handshake is refused.
    let (code, _) = curl(&format!("{url}/connectors"), &ok[..2]).await;
    assert_eq!(code, 0, "a client without a certificate got an HTTP answer");
    // Certificate but no token: 401 in Kafka's form.
    let (code, body) = curl(&format!("{url}/connectors"), &ok[..6]).await;
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("\"error_code\":401"), "{body}");
    // Plain HTTP on the TLS port gets no answer.
    let (code, _) = curl(&format!("{}/connectors", url.replace("https://", "http://")), &[]).await;
    assert_ne!(code, 200);
}
