//! Connector definitions the tests create.
//!
//! Owns the one valid Debezium MySQL connector shape used throughout the
//! tests, in the three forms they need: the config map of a gRPC request,
//! the REST payload that `raftcdc connector create --file` reads, and a
//! ready `CreateConnectorRequest`. Each connector gets its own
//! `topic.prefix` (its name) and `database.server.id` (derived from its
//! name), so any number of them are valid side by side even if the node
//! checks that those are unique. MySQL is never contacted by these tests.
use std::collections::HashMap;

use raftcdc::proto::CreateConnectorRequest;

/// The `config` of a valid MySQL connector named `name`.
pub fn mysql_config(name: &str) -> HashMap<String, String> {
    let server_id = 5401 + name.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 10_000;
    [
        ("connector.class", "io.debezium.connector.mysql.MySqlConnector".to_owned()),
        ("database.hostname", "127.0.0.1".to_owned()),
        ("database.port", "3306".to_owned()),
        ("database.user", "cdc".to_owned()),
        ("database.password", "secret".to_owned()),
        ("database.server.id", server_id.to_string()),
        ("topic.prefix", name.to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

/// Debezium's REST payload, `{"name": …, "config": {…}}`.
pub fn rest_payload(name: &str) -> serde_json::Value {
    serde_json::json!({ "name": name, "config": mysql_config(name) })
}

/// A request creating a running (or, with `paused`, paused) connector.
pub fn create_request(name: &str, paused: bool) -> CreateConnectorRequest {
    CreateConnectorRequest { name: name.to_owned(), config: mysql_config(name), paused }
}

/// Creates connector `name` streaming `db`'s `inventory` database (no
/// snapshot, payload-only JSON, 100 ms batching deadline, plus `extra`)
/// under topic prefix `dbserver1` through node `node`, and waits until it
/// has committed its first offset, i.e. it streams and every later change
/// will be captured.
pub async fn create_streaming(
    cluster: &crate::cluster::Cluster,
    node: usize,
    db: &crate::mariadb::MariaDb,
    name: &str,
    server_id: u32,
    extra: &[(&str, &str)],
) -> raftcdc::proto::Connector {
    create_capturing(cluster, node, db, name, server_id, "dbserver1", extra).await
}

/// [`create_streaming`] under topic prefix `prefix`: connectors side by
/// side each need their own prefix and server id (and usually a
/// `table.include.list` in `extra`).
pub async fn create_capturing(
    cluster: &crate::cluster::Cluster,
    node: usize,
    db: &crate::mariadb::MariaDb,
    name: &str,
    server_id: u32,
    prefix: &str,
    extra: &[(&str, &str)],
) -> raftcdc::proto::Connector {
    let config = capturing_config(db, server_id, prefix, extra);
    cluster
        .client(node)
        .create_connector(CreateConnectorRequest { name: name.into(), config: config.into_iter().collect(), paused: false })
        .await
        .expect("create the connector");
    cluster
        .wait_connector(&[node], name, "streaming (first offset committed)", |_, c| {
            if c.offset.is_some() { Ok(()) } else { Err("no offset yet".into()) }
        })
        .await
        .remove(0)
}

/// The config [`create_capturing`] creates a connector with.
pub fn capturing_config(
    db: &crate::mariadb::MariaDb,
    server_id: u32,
    prefix: &str,
    extra: &[(&str, &str)],
) -> std::collections::BTreeMap<String, String> {
    let mut config = db.connector_config(server_id, prefix);
    for (k, v) in [
        ("snapshot.mode", "no_data"),
        ("database.include.list", "inventory"),
        ("value.converter.schemas.enable", "false"),
        ("key.converter.schemas.enable", "false"),
        ("poll.interval.ms", "100"),
    ]
    .iter()
    .chain(extra)
    {
        config.insert(k.to_string(), v.to_string());
    }
    config
}
