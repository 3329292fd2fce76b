//! The public control service (`raftcdc.v1.Control`).
//!
//! Each handler validates its request (naming the field on error), then
//! reads the local replicated state or writes through [`Node`]. Handlers
//! never panic on input: every failure is a [`NodeError`] turned into a
//! status in [`super::status`]. Configs leave this service redacted.
use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::connector::{ConnectorConfig, ConnectorSpec};
use crate::node::{Node, NodeError};
use crate::proto::{self, control_server::Control};
use crate::raft::command::Command;
use crate::raft::network::ForwardRequest;
use crate::raft::state::{ConnectorRecord, DesiredState, IncrementalState};

pub struct ControlService {
    pub node: Arc<Node>,
}

/// The wire form of a connector, with secrets redacted.
pub fn connector_to_proto(record: &ConnectorRecord) -> proto::Connector {
    proto::Connector {
        name: record.name.clone(),
        config: ConnectorSpec::redacted(&record.config).into_iter().collect(),
        desired_state: match record.desired {
            DesiredState::Running => proto::DesiredState::Running,
            DesiredState::Paused => proto::DesiredState::Paused,
            DesiredState::Stopped => proto::DesiredState::Stopped,
        } as i32,
        owner_node_id: record.owner,
        epoch: record.epoch,
        task: Some(proto::TaskStatus {
            state: record.effective_task_state().as_str().to_string(),
            node_id: record.task.node_id,
            epoch: record.task.epoch,
            error: record.task.error.clone().unwrap_or_default(),
            remedy: record.task.remedy.clone().unwrap_or_default(),
            updated_ms: record.task.updated_ms,
        }),
        offset: offset_to_proto(record),
        schema_history_entries: record.schema_history.len() as u64,
        snapshot: record.snapshot.as_ref().map(|s| proto::SnapshotProgress {
            tables_total: s.tables_total,
            tables_done: s.tables_done,
            rows_read: s.rows_read,
            current_table: s.current_table.clone(),
            last_key_json: s.last_key.to_string(),
            completed: s.completed,
            incremental: s.incremental,
        }),
        incremental_snapshot: record.incremental.as_ref().map(|r| proto::IncrementalSnapshot {
            id: r.id,
            tables: r.tables.clone(),
            filter: r.filter.clone(),
            state: match (r.state, record.snapshot.as_ref()) {
                // The source reports completion through its progress.
                (IncrementalState::Running, Some(s)) if s.incremental && s.completed => "COMPLETED".to_string(),
                (state, _) => state.as_str().to_string(),
            },
            requested_ms: r.requested_ms,
        }),
        warnings: ConnectorConfig::warnings(&record.config)
            .iter()
            .map(ToString::to_string)
            .chain(record.signals.warnings.iter().map(|w| format!("signal: {}: {}", w.signal, w.reason)))
            .chain(unmodelled_ddl(&record.schema_history))
            .chain(skipped_events(record))
            .collect(),
        binlog_retention: record.binlog_retention.as_ref().map(|r| proto::BinlogRetention {
            headroom_bytes: r.headroom_bytes,
            headroom_files: r.headroom_files,
            oldest_file: r.oldest_file.clone(),
            oldest_event_ts: r.oldest_event_ts,
            expire_seconds: r.expire_seconds,
            warning: r.warning,
            measured_ms: r.measured_ms,
        }),
        source_server: record.source_server.as_ref().map(|s| proto::SourceServer {
            address: s.address.clone(),
            server_id: s.server_id,
            since_ms: s.since_ms,
        }),
    }
}

/// Checks an incremental snapshot request against the connector's config:
/// every table is `db.table` and captured, the filter one condition.
pub(crate) fn validate_snapshot_request(record: &ConnectorRecord, tables: &[String], filter: Option<&str>) -> Result<(), NodeError> {
    let invalid = |field: String, reason: String| NodeError::Invalid { field, reason };
    if tables.is_empty() {
        return Err(invalid("tables".into(), "name at least one table as db.table".into()));
    }
    let config = ConnectorConfig::parse(&record.config)
        .map_err(|e| invalid("name".into(), format!("the connector's config is invalid: {e}")))?
        .source;
    for (i, table) in tables.iter().enumerate() {
        let field = format!("tables[{i}]");
        let Some((db, name)) = table.split_once('.').filter(|(d, t)| !d.is_empty() && !t.is_empty() && !t.contains('.')) else {
            return Err(invalid(field, format!("\"{table}\" is not of the form db.table")));
        };
        if !config.filters.captures_table(db, name) {
            return Err(invalid(
                field,
                format!("\"{table}\" is not captured by this connector (see its database/table include and exclude lists)"),
            ));
        }
    }
    if let Some(filter) = filter {
        if filter.trim().is_empty() || filter.contains(';') {
            return Err(invalid("filter".into(), "must be one non-empty SQL condition, without `;`".into()));
        }
    }
    Ok(())
}

fn offset_to_proto(record: &ConnectorRecord) -> Option<proto::Offset> {
    record.offset.as_ref().map(|o| proto::Offset {
        offset_json: o.offset.to_string(),
        epoch: o.epoch,
        committed_ms: o.committed_ms,
    })
}

fn required_name(name: &str) -> Result<(), NodeError> {
    if name.is_empty() {
        return Err(NodeError::Invalid {
            field: "name".into(),
            reason: "is required".into(),
        });
    }
    Ok(())
}

fn required_endpoint(endpoint: &str) -> Result<(), NodeError> {
    if endpoint.is_empty() {
        return Err(NodeError::Invalid {
            field: "endpoint".into(),
            reason: "is required (the new node's control endpoint, e.g. http://host:7001)".into(),
        });
    }
    Ok(())
}

fn required_node_id(field: &str, node_id: u64) -> Result<(), NodeError> {
    if node_id == 0 {
        return Err(NodeError::Invalid {
            field: field.into(),
            reason: "is required".into(),
        });
    }
    Ok(())
}

/// `SetOffsets.offset_json`: parsed, then checked by the source's own
/// offset validator, before anything is proposed.
fn parse_offset_json(text: &str) -> Result<serde_json::Value, NodeError> {
    let offset: serde_json::Value = serde_json::from_str(text).map_err(|e| NodeError::Invalid {
        field: "offset_json".into(),
        reason: format!("offset is not valid JSON: {e}"),
    })?;
    crate::source::mysql::position::validate_operator_offset(&offset).map_err(|e| NodeError::Invalid {
        field: "offset".into(),
        reason: e.0,
    })?;
    Ok(offset)
}

impl ControlService {
    /// Proposes a command that must answer with the connector.
    async fn write(&self, command: Command) -> Result<Response<proto::Connector>, Status> {
        let name = command.connector().unwrap_or_default().to_string();
        let record = match self.node.propose(command).await? {
            Some(record) => record,
            None => self.node.connector(&name).await?,
        };
        Ok(Response::new(connector_to_proto(&record)))
    }

    /// Checks that `node_id` is a member (the error names `field`).
    fn member(&self, field: &str, node_id: u64) -> Result<(), NodeError> {
        let metrics = self.node.metrics();
        if metrics.membership_config.membership().get_node(&node_id).is_none() {
            return Err(NodeError::Invalid {
                field: field.into(),
                reason: format!("node {node_id} is not a member of the cluster"),
            });
        }
        Ok(())
    }

    /// Sets a node's cordon and drain marks.
    async fn schedule(&self, node_id: u64, cordoned: bool, draining: bool) -> Result<Response<proto::ClusterStatus>, Status> {
        required_node_id("node_id", node_id)?;
        self.member("node_id", node_id)?;
        self.node
            .propose(Command::SetNodeSchedule {
                node_id,
                cordoned,
                draining,
            })
            .await?;
        Ok(self.cluster_status().await)
    }

    async fn cluster_status(&self) -> Response<proto::ClusterStatus> {
        Response::new(self.node.cluster_status().await.into())
    }
}

#[tonic::async_trait]
impl Control for ControlService {
    async fn init_cluster(
        &self,
        request: Request<proto::InitClusterRequest>,
    ) -> Result<Response<proto::ClusterStatus>, Status> {
        let mut members = Vec::new();
        for endpoint in request.into_inner().member_endpoints {
            let identity = super::cluster::identity_at(&self.node.config, &endpoint).await?;
            members.push((endpoint, identity));
        }
        self.node.init_cluster(members).await?;
        Ok(self.cluster_status().await)
    }

    async fn add_node(&self, request: Request<proto::AddNodeRequest>) -> Result<Response<proto::ClusterStatus>, Status> {
        let request = request.into_inner();
        required_endpoint(&request.endpoint)?;
        let identity = super::cluster::identity_at(&self.node.config, &request.endpoint).await?;
        self.node.add_node(&request.endpoint, identity, request.learner_only).await?;
        Ok(self.cluster_status().await)
    }

    async fn remove_node(
        &self,
        request: Request<proto::RemoveNodeRequest>,
    ) -> Result<Response<proto::ClusterStatus>, Status> {
        let node_id = request.into_inner().node_id;
        required_node_id("node_id", node_id)?;
        self.node.execute(ForwardRequest::RemoveNode { node_id }).await?;
        Ok(self.cluster_status().await)
    }

    async fn transfer_leader(
        &self,
        request: Request<proto::TransferLeaderRequest>,
    ) -> Result<Response<proto::ClusterStatus>, Status> {
        let to = request.into_inner().to_node_id;
        required_node_id("to_node_id", to)?;
        self.node.execute(ForwardRequest::TransferLeader { to }).await?;
        Ok(self.cluster_status().await)
    }

    async fn get_cluster_status(
        &self,
        _request: Request<proto::GetClusterStatusRequest>,
    ) -> Result<Response<proto::ClusterStatus>, Status> {
        Ok(self.cluster_status().await)
    }

    async fn cordon_node(&self, request: Request<proto::NodeRef>) -> Result<Response<proto::ClusterStatus>, Status> {
        self.schedule(request.into_inner().node_id, true, false).await
    }

    async fn uncordon_node(&self, request: Request<proto::NodeRef>) -> Result<Response<proto::ClusterStatus>, Status> {
        self.schedule(request.into_inner().node_id, false, false).await
    }

    async fn drain_node(&self, request: Request<proto::NodeRef>) -> Result<Response<proto::ClusterStatus>, Status> {
        self.schedule(request.into_inner().node_id, true, true).await
    }

    async fn move_connector(&self, request: Request<proto::MoveConnectorRequest>) -> Result<Response<proto::Connector>, Status> {
        let request = request.into_inner();
        required_name(&request.name)?;
        required_node_id("to_node_id", request.to_node_id)?;
        self.member("to_node_id", request.to_node_id)?;
        let record = self.node.connector(&request.name).await?;
        if record.owner == Some(request.to_node_id) {
            return Ok(Response::new(connector_to_proto(&record)));
        }
        self.write(Command::AssignOwner {
            name: request.name,
            node_id: request.to_node_id,
            expected_epoch: record.epoch,
        })
        .await
    }

    async fn get_node_info(
        &self,
        _request: Request<proto::GetNodeInfoRequest>,
    ) -> Result<Response<proto::NodeInfo>, Status> {
        Ok(Response::new(self.node.info().await.into()))
    }

    async fn create_connector(
        &self,
        request: Request<proto::CreateConnectorRequest>,
    ) -> Result<Response<proto::Connector>, Status> {
        let request = request.into_inner();
        let spec = ConnectorSpec::new(request.name, request.config.into_iter().collect()).map_err(NodeError::from)?;
        self.write(Command::create_connector(spec.name, spec.config, request.paused))
            .await
    }

    async fn update_connector(
        &self,
        request: Request<proto::UpdateConnectorRequest>,
    ) -> Result<Response<proto::Connector>, Status> {
        let request = request.into_inner();
        let spec = ConnectorSpec::new(request.name, request.config.into_iter().collect()).map_err(NodeError::from)?;
        self.write(Command::UpdateConnector {
            name: spec.name,
            config: spec.config,
        })
        .await
    }

    async fn delete_connector(
        &self,
        request: Request<proto::ConnectorRef>,
    ) -> Result<Response<proto::DeleteConnectorResponse>, Status> {
        let name = request.into_inner().name;
        required_name(&name)?;
        self.node.propose(Command::DeleteConnector { name: name.clone() }).await?;
        Ok(Response::new(proto::DeleteConnectorResponse { name }))
    }

    async fn get_connector(&self, request: Request<proto::ConnectorRef>) -> Result<Response<proto::Connector>, Status> {
        let name = request.into_inner().name;
        required_name(&name)?;
        Ok(Response::new(connector_to_proto(&self.node.connector(&name).await?)))
    }

    async fn list_connectors(
        &self,
        _request: Request<proto::ListConnectorsRequest>,
    ) -> Result<Response<proto::ListConnectorsResponse>, Status> {
        let connectors = self.node.connectors().await.iter().map(connector_to_proto).collect();
        Ok(Response::new(proto::ListConnectorsResponse { connectors }))
    }

    async fn pause_connector(&self, request: Request<proto::ConnectorRef>) -> Result<Response<proto::Connector>, Status> {
        let name = request.into_inner().name;
        required_name(&name)?;
        self.write(Command::SetDesiredState {
            name,
            state: DesiredState::Paused,
        })
        .await
    }

    async fn resume_connector(&self, request: Request<proto::ConnectorRef>) -> Result<Response<proto::Connector>, Status> {
        let name = request.into_inner().name;
        required_name(&name)?;
        self.write(Command::SetDesiredState {
            name,
            state: DesiredState::Running,
        })
        .await
    }

    async fn stop_connector(&self, request: Request<proto::ConnectorRef>) -> Result<Response<proto::Connector>, Status> {
        let name = request.into_inner().name;
        required_name(&name)?;
        self.write(Command::SetDesiredState {
            name,
            state: DesiredState::Stopped,
        })
        .await
    }

    async fn restart_connector(&self, request: Request<proto::ConnectorRef>) -> Result<Response<proto::Connector>, Status> {
        let name = request.into_inner().name;
        required_name(&name)?;
        self.write(Command::RestartConnector { name }).await
    }

    async fn start_snapshot(&self, request: Request<proto::StartSnapshotRequest>) -> Result<Response<proto::Connector>, Status> {
        let request = request.into_inner();
        required_name(&request.name)?;
        let record = self.node.connector(&request.name).await?;
        validate_snapshot_request(&record, &request.tables, request.filter.as_deref())?;
        self.write(Command::RequestSnapshot {
            name: request.name,
            tables: request.tables,
            filter: request.filter,
        })
        .await
    }

    async fn control_snapshot(
        &self,
        request: Request<proto::ControlSnapshotRequest>,
    ) -> Result<Response<proto::Connector>, Status> {
        let request = request.into_inner();
        required_name(&request.name)?;
        let state = match proto::SnapshotAction::try_from(request.action) {
            Ok(proto::SnapshotAction::Pause) => IncrementalState::Paused,
            Ok(proto::SnapshotAction::Resume) => IncrementalState::Running,
            Ok(proto::SnapshotAction::Stop) => IncrementalState::Stopped,
            _ => {
                return Err(NodeError::Invalid {
                    field: "action".into(),
                    reason: "must be PAUSE, RESUME or STOP".into(),
                }
                .into())
            }
        };
        self.write(Command::SetSnapshotState { name: request.name, state }).await
    }

    async fn get_offsets(&self, request: Request<proto::ConnectorRef>) -> Result<Response<proto::Offsets>, Status> {
        let name = request.into_inner().name;
        required_name(&name)?;
        let record = self.node.connector(&name).await?;
        Ok(Response::new(proto::Offsets {
            offset: offset_to_proto(&record),
            epoch: record.epoch,
            name,
        }))
    }

    async fn set_offsets(&self, request: Request<proto::SetOffsetsRequest>) -> Result<Response<proto::Offsets>, Status> {
        let request = request.into_inner();
        required_name(&request.name)?;
        let offset = parse_offset_json(&request.offset_json)?;
        let record = match self
            .node
            .propose(Command::SetOperatorOffset {
                name: request.name.clone(),
                offset,
            })
            .await?
        {
            Some(record) => record,
            None => self.node.connector(&request.name).await?,
        };
        Ok(Response::new(proto::Offsets {
            offset: offset_to_proto(&record),
            epoch: record.epoch,
            name: request.name,
        }))
    }
}

/// The rows events skipped under `event.processing.failure.handling.mode`
/// (warn or skip), as one status warning: the committed offset counts them
/// (see [`crate::source::mysql::event_failure`]).
fn skipped_events(record: &ConnectorRecord) -> Option<String> {
    let offset = &record.offset.as_ref()?.offset;
    crate::source::mysql::event_failure::skipped_in_offset(offset)?.status_warning()
}

/// The last DDL statements the table model could not read (schema change
/// events without `tableChanges`), as status warnings: the schema history
/// marks them (`unparsed`).
fn unmodelled_ddl(history: &[serde_json::Value]) -> impl Iterator<Item = String> + '_ {
    const SHOWN: usize = 5;
    let unparsed: Vec<&serde_json::Value> = history.iter().filter(|e| e.get("unparsed").is_some()).collect();
    let skip = unparsed.len().saturating_sub(SHOWN);
    unparsed.into_iter().skip(skip).map(|e| {
        let ddl: String = e["ddl"].as_str().unwrap_or_default().chars().take(200).collect();
        format!(
            "DDL not in the table model (its schema change event has no tableChanges): {} ({})",
            ddl,
            e["unparsed"].as_str().unwrap_or_default()
        )
    })
}

#[cfg(test)]
mod property_tests {
    //! The handlers' request checks, with arbitrary input: they never panic,
    //! and every refusal is `INVALID_ARGUMENT` whose message starts with the
    //! request field (as README.md promises clients).
    use super::*;
    use proptest::prelude::*;
    use tonic::Code;

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<u64>().prop_map(|n| serde_json::json!(n)),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            any::<String>().prop_map(serde_json::Value::String),
        ];
        let key = prop_oneof![
            proptest::sample::select(vec![
                "file",
                "pos",
                "gtids",
                "row",
                "event",
                "server_id",
                "snapshot",
                "snapshot_completed"
            ])
            .prop_map(str::to_string),
            ".{0,8}",
        ];
        leaf.prop_recursive(2, 10, 5, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(key.clone(), inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// `fields` are message prefixes: `name` stands for `name: `, while
    /// `config.` (ending in a dot) stands for any property under it.
    fn refused_naming(error: NodeError, fields: &[&str]) -> Result<(), TestCaseError> {
        let status = Status::from(error);
        prop_assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
        prop_assert!(
            fields.iter().any(|f| {
                let prefix = if f.ends_with('.') {
                    f.to_string()
                } else {
                    format!("{f}: ")
                };
                status.message().starts_with(&prefix)
            }),
            "{} does not start with one of {:?}",
            status.message(),
            fields
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn offset_json_from_arbitrary_text(text in any::<String>()) {
            if let Err(e) = parse_offset_json(&text) {
                refused_naming(e, &["offset_json", "offset"])?;
            }
        }

        #[test]
        fn offset_json_from_arbitrary_json(value in json_value()) {
            match parse_offset_json(&value.to_string()) {
                Ok(parsed) => {
                    prop_assert_eq!(&parsed, &value);
                    prop_assert!(crate::source::mysql::position::validate_operator_offset(&parsed).is_ok());
                }
                Err(e) => refused_naming(e, &["offset"])?,
            }
        }

        #[test]
        fn names_endpoints_and_ids(name in any::<String>(), endpoint in any::<String>(), id in prop_oneof![Just(0u64), any::<u64>()]) {
            match required_name(&name) {
                Ok(()) => prop_assert!(!name.is_empty()),
                Err(e) => refused_naming(e, &["name"])?,
            }
            match required_endpoint(&endpoint) {
                Ok(()) => prop_assert!(!endpoint.is_empty()),
                Err(e) => refused_naming(e, &["endpoint"])?,
            }
            match required_node_id("to_node_id", id) {
                Ok(()) => prop_assert!(id != 0),
                Err(e) => refused_naming(e, &["to_node_id"])?,
            }
        }

        /// What create / update do with a request before proposing it.
        #[test]
        fn connector_requests(
            name in prop_oneof![Just("inventory".to_string()), "[a-z.-]{0,10}", any::<String>()],
            config in proptest::collection::hash_map(
                prop_oneof![Just("topic.prefix".to_string()), Just("connector.class".to_string()), any::<String>()],
                any::<String>(),
                0..5,
            ),
        ) {
            if let Err(e) = ConnectorSpec::new(name, config.into_iter().collect()) {
                refused_naming(NodeError::from(e), &["name", "config", "config."])?;
            }
        }
    }
}


#[cfg(test)]
mod tests {
    use super::unmodelled_ddl;

    #[test]
    fn unreadable_ddl_in_the_history_is_a_status_warning() {
        let mut history = vec![serde_json::json!({"database": "shop", "ddl": "CREATE TABLE t (id INT)"})];
        for i in 0..7 {
            history.push(serde_json::json!({"database": "shop", "ddl": format!("ALTER TABLE t COMMENT = '{i}'"), "unparsed": "f:4: cannot"}));
        }
        let warnings: Vec<String> = unmodelled_ddl(&history).collect();
        assert_eq!(warnings.len(), 5, "the last five");
        assert!(warnings[4].contains("ALTER TABLE t COMMENT = '6'") && warnings[4].contains("f:4: cannot"), "{warnings:?}");
        assert!(warnings[0].contains("'2'"));
    }

    /// The skipped rows events the committed offset counts are one status
    /// warning; none without them.
    #[test]
    fn skipped_events_in_the_offset_are_a_status_warning() {
        use crate::raft::state::{ConnectorRecord, OffsetRecord, TaskState};
        let mut record = ConnectorRecord::for_tests(Default::default(), 1, 1, TaskState::Running);
        assert!(super::connector_to_proto(&record).warnings.is_empty());
        let offset = serde_json::json!({"file": "mysql-bin.000002", "pos": 4, "skipped_events": {"count": 3,
            "last": {"file": "mysql-bin.000002", "pos": 1234, "gtid": "0-1-9", "table": "inventory.t", "reason": "column `d`: invalid date/time 2021-02-30"}}});
        record.offset = Some(OffsetRecord { offset, epoch: 1, committed_ms: 0, set_by_operator: false });
        let warnings = super::connector_to_proto(&record).warnings;
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("event.processing.failure.handling.mode: 3 binlog rows events skipped")
                && warnings[0].contains("last at mysql-bin.000002:1234 (GTID 0-1-9), table inventory.t: column `d`"),
            "{warnings:?}"
        );
    }
}
