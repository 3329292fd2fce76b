//! A connector's placement properties, `raftcdc.placement.node` and
//! `raftcdc.placement.labels`: parsed here once, for the front door
//! ([`crate::connector::ConnectorConfig::parse`] refuses bad values at
//! create) and for the policy (which reads stored configs, already valid).
use std::collections::BTreeMap;

use crate::raft::NodeId;

/// Pins the connector to one node id.
pub const NODE: &str = "raftcdc.placement.node";
/// Labels the owner must carry, `key=value[,key=value...]`.
pub const LABELS: &str = "raftcdc.placement.labels";

/// Where a connector may run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlacementConstraints {
    pub node: Option<NodeId>,
    pub labels: BTreeMap<String, String>,
}

/// A refused placement property: which, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config.{property}: {reason}")]
pub struct ConstraintError {
    pub property: &'static str,
    pub reason: String,
}

impl PlacementConstraints {
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<PlacementConstraints, ConstraintError> {
        let node = match props.get(NODE).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => None,
            Some(text) => match text.parse::<NodeId>() {
                Ok(id) if id >= 1 => Some(id),
                _ => {
                    return Err(ConstraintError {
                        property: NODE,
                        reason: format!("\"{text}\" is not a node id (a whole number, at least 1)"),
                    })
                }
            },
        };
        let labels = match props.get(LABELS) {
            None => BTreeMap::new(),
            Some(text) => parse_labels(text).map_err(|reason| ConstraintError { property: LABELS, reason })?,
        };
        Ok(PlacementConstraints { node, labels })
    }
}

/// `key=value[,key=value...]`; keys and values are non-empty and made of
/// letters, digits, `.`, `_` and `-`.
pub fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("\"{pair}\" must be key=value"))?;
        let (key, value) = (key.trim(), value.trim());
        let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok(key) || !ok(value) {
            return Err(format!("\"{pair}\": keys and values are letters, digits, '.', '_' or '-'"));
        }
        if labels.insert(key.to_string(), value.to_string()).is_some() {
            return Err(format!("label \"{key}\" appears twice"));
        }
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<PlacementConstraints, ConstraintError> {
        PlacementConstraints::from_properties(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn values_are_checked_and_errors_name_the_property() {
        assert_eq!(parse(&[]).unwrap(), PlacementConstraints::default());
        let c = parse(&[(NODE, "2"), (LABELS, "zone=a, disk=ssd")]).unwrap();
        assert_eq!(c.node, Some(2));
        assert_eq!(c.labels.len(), 2);
        for (key, value) in [(NODE, "0"), (NODE, "two"), (LABELS, "zone"), (LABELS, "zone=a,zone=b"), (LABELS, "z one=a")] {
            let error = parse(&[(key, value)]).unwrap_err();
            assert!(error.to_string().starts_with(&format!("config.{key}: ")), "{error}");
        }
    }
}
