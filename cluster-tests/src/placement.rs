//! Many connectors on one MariaDB, for the placement tests and the
//! placement benchmark: each connector captures its own one-row table
//! (`inventory.tNN`) under its own topic prefix and `database.server.id`,
//! so thirty of them stay cheap; and the views the tests judge placement
//! by (who owns what, in which state, at which epoch).
use std::collections::BTreeMap;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use raftcdc::proto::{Connector, CreateConnectorRequest};

use crate::cluster::Cluster;
use crate::mariadb::MariaDb;
use crate::wait::wait_until;

/// Deadline for many connectors to (re)start on a shared 2-core machine:
/// a correctness bound, not a performance figure.
pub const MANY_DEADLINE: Duration = Duration::from_secs(180);

/// Name of connector `i`.
pub fn name(i: usize) -> String {
    format!("c{i:02}")
}

/// Creates tables `inventory.tNN` and connectors `cNN` for every `NN` in
/// `which` (streaming, no snapshot) through node `node`; does not wait for
/// them to run.
pub async fn create_many(cluster: &Cluster, node: usize, db: &MariaDb, which: std::ops::Range<usize>, server_id_base: u32) {
    let mut statements = vec!["CREATE DATABASE IF NOT EXISTS inventory".to_string()];
    for i in which.clone() {
        statements.push(format!("CREATE TABLE IF NOT EXISTS inventory.t{i:02} (id BIGINT PRIMARY KEY, v INT)"));
    }
    let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
    db.sql(&refs).await;
    for i in which {
        create_one(cluster, node, db, i, server_id_base, &[]).await;
    }
}

/// Creates connector `cNN` on table `inventory.tNN` (which must exist),
/// with `extra` properties; does not wait for it to run.
pub async fn create_one(cluster: &Cluster, node: usize, db: &MariaDb, i: usize, server_id_base: u32, extra: &[(&str, &str)]) {
    let table = format!("inventory.t{i:02}");
    let prefix = format!("p{i:02}");
    let mut properties = vec![("table.include.list", table.as_str())];
    properties.extend_from_slice(extra);
    let config = crate::connectors::capturing_config(db, server_id_base + i as u32, &prefix, &properties);
    cluster
        .client(node)
        .create_connector(CreateConnectorRequest { name: name(i), config: config.into_iter().collect(), paused: false })
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", name(i)));
}

/// Inserts row `id` into every table `t00..`.
pub async fn insert_everywhere(db: &MariaDb, count: usize, id: i64) {
    let mut conn = db.conn().await;
    for i in 0..count {
        conn.query_drop(format!("INSERT INTO inventory.t{i:02} VALUES ({id}, {id})")).await.unwrap();
    }
}

/// Every connector node `node` knows, by name.
pub async fn by_name(cluster: &Cluster, node: usize) -> Result<BTreeMap<String, Connector>, String> {
    let list = cluster.connectors(node).await.map_err(|e| format!("node {node}: {e}"))?;
    Ok(list.into_iter().map(|c| (c.name.clone(), c)).collect())
}

pub fn state(c: &Connector) -> &str {
    c.task.as_ref().map_or("?", |t| t.state.as_str())
}

/// Connectors per owner among `nodes` (nodes owning none count 0).
pub fn counts(connectors: &BTreeMap<String, Connector>, nodes: &[usize]) -> BTreeMap<u64, usize> {
    let mut counts: BTreeMap<u64, usize> = nodes.iter().map(|n| (*n as u64, 0)).collect();
    for c in connectors.values() {
        if let Some(owner) = c.owner_node_id {
            *counts.entry(owner).or_default() += 1;
        }
    }
    counts
}

/// Every connector is RUNNING on one of `nodes`, and the owners are spread
/// within one connector of even.
pub fn running_and_spread(connectors: &BTreeMap<String, Connector>, nodes: &[usize]) -> Result<(), String> {
    for c in connectors.values() {
        if state(c) != "RUNNING" || !c.owner_node_id.is_some_and(|o| nodes.contains(&(o as usize))) {
            return Err(format!("{} is {} on {:?}", c.name, state(c), c.owner_node_id));
        }
    }
    let counts = counts(connectors, nodes);
    let (min, max) = (counts.values().min().copied().unwrap_or(0), counts.values().max().copied().unwrap_or(0));
    if max - min > 1 {
        return Err(format!("not spread within one of even: {counts:?}"));
    }
    Ok(())
}

/// Waits until node `node` sees every connector RUNNING on `nodes`, spread
/// within one of even; answers that view.
pub async fn wait_spread(cluster: &Cluster, node: usize, nodes: &[usize], description: &str) -> BTreeMap<String, Connector> {
    wait_until(MANY_DEADLINE, description, || async {
        let connectors = by_name(cluster, node).await?;
        running_and_spread(&connectors, nodes).map(|()| connectors)
    })
    .await
}

/// Inserts row `id` everywhere and waits until every connector committed
/// an offset under its current epoch: each owner delivers.
pub async fn wait_delivering(cluster: &Cluster, node: usize, db: &MariaDb, count: usize, id: i64) {
    insert_everywhere(db, count, id).await;
    wait_until(MANY_DEADLINE, "every connector commits under its current epoch", || async {
        let connectors = by_name(cluster, node).await?;
        for c in connectors.values() {
            if c.offset.as_ref().is_none_or(|o| o.epoch != c.epoch) {
                return Err(format!("{} has not committed under epoch {} (owner {:?}, {})", c.name, c.epoch, c.owner_node_id, state(c)));
            }
        }
        Ok(())
    })
    .await
}

/// Waits until node `node` sees every connector RUNNING; answers that view.
pub async fn wait_until_all_running(cluster: &Cluster, node: usize) -> BTreeMap<String, Connector> {
    wait_until(MANY_DEADLINE, "every connector runs", || async {
        let connectors = by_name(cluster, node).await?;
        match connectors.values().find(|c| state(c) != "RUNNING") {
            Some(c) => Err(format!("{} is {}", c.name, state(c))),
            None => Ok(connectors),
        }
    })
    .await
}
