//! `raftcdc config check FILE`: validates a node config file offline.
//!
//! It owns nothing but the report. Correctness rests on reuse: the file is
//! loaded with [`NodeConfig::load`] and turned into openraft's config with
//! [`NodeConfig::openraft`], the same two calls `raftcdc serve` makes
//! before it touches the data directory, so a file this command accepts is
//! one `serve` accepts, and a refused file gets the very error `serve` would
//! print (naming the field). It reads only the file: no data directory is
//! created and no port is bound, so it is safe on a live node, in CI and in
//! packaging scripts.
use std::path::Path;

use crate::config::NodeConfig;
use crate::error::error_chain;

/// Loads and validates `path` as `serve` does. On success returns the
/// resolved settings, one `key = value` per line (defaults filled in); on
/// failure the error with its cause chain, starting with the file and field.
pub fn check(path: &Path) -> Result<String, String> {
    let config = NodeConfig::load(path).map_err(|e| error_chain(&e))?;
    config
        .openraft()
        .map_err(|e| format!("{}: raft: {}", path.display(), error_chain(&e)))?;
    Ok(summary(&config))
}

fn on_off(on: bool) -> String {
    if on { "(loaded)" } else { "(not set)" }.to_string()
}

fn summary(config: &NodeConfig) -> String {
    let optional = |value: Option<String>| value.unwrap_or_else(|| "(not set)".to_string());
    [
        ("node.id", config.id.to_string()),
        ("node.cluster_name", config.cluster_name.clone()),
        ("node.listen", config.listen.to_string()),
        ("node.advertise", config.advertise.clone()),
        ("node.peer_listen", config.peer_listen.to_string()),
        ("node.peer_advertise", config.peer_advertise.clone()),
        (
            "node.peer_source_addr",
            optional(config.peer_source_addr.map(|ip| ip.to_string())),
        ),
        ("node.data_dir", config.data_dir.display().to_string()),
        ("node.capacity", optional(config.capacity.map(|c| c.to_string()))),
        (
            "node.labels",
            if config.labels.is_empty() {
                "(not set)".to_string()
            } else {
                config.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
            },
        ),
        ("node.worker", config.worker.to_string()),
        ("placement.policy", config.placement.policy.as_str().to_string()),
        ("placement.lease_timeout_ms", config.placement.lease_timeout.as_millis().to_string()),
        ("placement.settle_ms", config.placement.settle.as_millis().to_string()),
        (
            "kafka.bootstrap_servers",
            optional(config.kafka_bootstrap_servers.clone()),
        ),
        ("metrics.listen", optional(config.metrics_listen.map(|a| a.to_string()))),
        ("rest.listen", optional(config.rest.as_ref().map(|r| r.listen.to_string()))),
        ("rest.advertise", optional(config.rest.as_ref().map(|r| r.advertise.clone()))),
        ("tls.control", on_off(config.security.control.is_some())),
        ("tls.peer", on_off(config.security.peer.is_some())),
        // Whether a token is configured; never the token itself.
        ("auth.token_file", on_off(config.security.token.is_some())),
    ]
    .iter()
    .map(|(key, value)| format!("{key} = {value}\n"))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_serve_accepts_and_names_the_field_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        let good = "[node]\nid = 2\nlisten = \"0.0.0.0:7001\"\nadvertise = \"http://n2:7001\"\n\
                    peer_listen = \"127.0.0.1:7101\"\ndata_dir = \"/var/lib/raftcdc\"\n";
        std::fs::write(&path, good).unwrap();
        let report = check(&path).unwrap();
        assert!(report.contains("node.id = 2\n"), "{report}");
        assert!(report.contains("node.peer_advertise = 127.0.0.1:7101\n"), "{report}");
        assert!(report.contains("kafka.bootstrap_servers = (not set)\n"), "{report}");
        assert!(report.contains("placement.policy = spread\n"), "{report}");
        assert!(!dir.path().join("var").exists());

        std::fs::write(&path, good.replace("id = 2", "id = 0")).unwrap();
        let error = check(&path).unwrap_err();
        assert!(error.contains("node.toml: node.id: must be at least 1"), "{error}");

        let missing = check(&dir.path().join("absent.toml")).unwrap_err();
        assert!(missing.contains("cannot read config file"), "{missing}");
    }
}
