//! The `raftcdc` command line: `serve` runs a node; every other subcommand
//! is a client of the control API and works against any node.
//!
//! Output is a human table by default, or with `--output json` a stable JSON
//! document (documented in README.md, "CLI JSON output") that scripts can
//! rely on. Errors go to stderr as `error: <CODE>: <message>`; with
//! `--output json` a `{"error": {"code", "message"}}` document is also
//! printed to stdout. Exit codes: 0 success, 1 the server refused or failed,
//! 2 bad usage or unreadable input.
//!
//! `https://` endpoints are verified against `--ca-cert` (the system's
//! roots are not used); `--client-cert`/`--client-key` answer nodes that
//! require client certificates, and `--token-file` sends the control API's
//! bearer token. Each file is read once per connection, before dialling.
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api::client::{ControlClient, ControlDialer};
use crate::api::ApiError;
use crate::config::security::{self, ClientTls, MaterialError};
use crate::connector::ConnectorSpec;
use crate::proto::{self};

/// `println!` for client output that ends the process quietly when stdout
/// is closed (`raftcdc connector status x | head`) instead of panicking.
/// It shadows the prelude's `println!` in the modules declared below.
macro_rules! println {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(error) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if error.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

pub mod config;
pub mod output;
pub mod tail;

#[derive(Parser, Debug)]
#[command(name = "raftcdc", version, about = "Highly available MySQL/MariaDB CDC to Kafka, coordinated by Raft")]
pub struct Cli {
    #[command(subcommand)]
    pub command: TopCommand,
}

#[derive(Subcommand, Debug)]
pub enum TopCommand {
    /// Run a node.
    Serve {
        /// The node's TOML config file.
        #[arg(long, short)]
        config: PathBuf,
        /// Log format on stderr.
        #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "RAFTCDC_LOG_FORMAT")]
        log_format: LogFormat,
    },
    /// Cluster membership and status.
    Cluster {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Placement controls of one node: cordon, uncordon, drain.
    Node {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: NodeCommand,
    },
    /// Connectors.
    Connector {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: ConnectorCommand,
    },
    /// Node config files, offline (no node is contacted).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print committed change events of a topic as they arrive
    /// (read_committed, like any exactly-once consumer).
    Tail(tail::TailArgs),
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Load and validate a node config file exactly as `serve` does, then
    /// print the resolved settings (exit 0) or the error naming the field
    /// (exit 2). Creates no data directory and binds no port.
    Check {
        /// The node's TOML config file.
        file: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// Control endpoint of any node.
    #[arg(long, global = true, env = "RAFTCDC_ENDPOINT", default_value = "http://127.0.0.1:7001")]
    pub endpoint: String,
    /// Output format.
    #[arg(long, short, global = true, value_enum, env = "RAFTCDC_OUTPUT", default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Per-call timeout in seconds.
    #[arg(long, global = true, default_value_t = 60)]
    pub timeout: u64,
    /// Connection timeout in seconds.
    #[arg(long, global = true, default_value_t = 5)]
    pub connect_timeout: u64,
    /// File holding the control API's bearer token (`[auth] token_file`).
    #[arg(long, global = true, env = "RAFTCDC_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// PEM CA certificate that https:// endpoints are verified against.
    #[arg(long, global = true, env = "RAFTCDC_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate, for nodes that require one
    /// (`[tls.control] client_ca`); needs --client-key.
    #[arg(long, global = true, env = "RAFTCDC_CLIENT_CERT")]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of --client-cert.
    #[arg(long, global = true, env = "RAFTCDC_CLIENT_KEY")]
    pub client_key: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Form a cluster from uninitialised nodes.
    Init {
        /// Control endpoints of all initial members (comma separated),
        /// including the node named by --endpoint. Empty: a one-node cluster.
        #[arg(long, value_delimiter = ',')]
        members: Vec<String>,
    },
    /// Members, leader, term, log indexes and reachability.
    Status,
    /// Add a node (learner first, then voter).
    AddNode {
        /// The new node's control endpoint.
        node_endpoint: String,
        /// Keep it a non-voting learner.
        #[arg(long)]
        learner: bool,
    },
    /// Remove a node by id.
    RemoveNode { node_id: u64 },
    /// Move leadership to another voter.
    TransferLeader { node_id: u64 },
}

#[derive(Subcommand, Debug)]
pub enum NodeCommand {
    /// Take no new connectors on the node (the ones it owns stay).
    Cordon { node_id: u64 },
    /// Clear the node's cordon and drain marks.
    Uncordon { node_id: u64 },
    /// Cordon the node and move its connectors away one at a time; waits
    /// until it owns none.
    Drain {
        node_id: u64,
        /// Give up waiting after this many seconds (the drain goes on).
        #[arg(long, default_value_t = 600)]
        timeout_secs: u64,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConnectorCommand {
    /// Move the connector to another node now (a new epoch; the placement
    /// policy may balance it again later unless it is pinned).
    Move {
        name: String,
        /// The node to move it to.
        #[arg(long)]
        to: u64,
    },
    /// Create a connector from a Debezium REST payload file
    /// (`{"name": ..., "config": {...}}`); `-` reads stdin.
    Create {
        #[arg(long, short)]
        file: PathBuf,
        /// Create it paused.
        #[arg(long)]
        paused: bool,
    },
    /// Replace a connector's config from a Debezium REST payload file.
    Update {
        #[arg(long, short)]
        file: PathBuf,
    },
    /// List connectors.
    List,
    /// Show one connector (config redacted).
    Get { name: String },
    /// State, owner, epoch, offset and errors of one connector.
    Status { name: String },
    Pause { name: String },
    Resume { name: String },
    /// Stop the connector (Kafka Connect's STOPPED): no task runs and its
    /// offsets may be replaced; `resume` starts it again.
    Stop { name: String },
    /// Restart the task under a new epoch.
    Restart { name: String },
    Delete { name: String },
    /// Committed source offsets.
    Offsets {
        #[command(subcommand)]
        command: OffsetsCommand,
    },
    /// Snapshot tables while streaming continues (incremental snapshot), or
    /// pause, resume or stop the running one.
    Snapshot {
        name: String,
        /// Captured tables, `db.table[,db.table...]`.
        #[arg(long, value_delimiter = ',', required_unless_present_any = ["pause", "resume", "stop"])]
        tables: Vec<String>,
        /// Only rows matching this SQL condition, e.g. "id > 1000".
        #[arg(long, requires = "tables")]
        filter: Option<String>,
        /// Pause the running incremental snapshot.
        #[arg(long, conflicts_with_all = ["tables", "resume", "stop"])]
        pause: bool,
        /// Resume a paused incremental snapshot.
        #[arg(long, conflicts_with_all = ["tables", "stop"])]
        resume: bool,
        /// Stop the incremental snapshot for good.
        #[arg(long, conflicts_with = "tables")]
        stop: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum OffsetsCommand {
    Get { name: String },
    /// Replace the offset (the connector must be paused or stopped).
    Set {
        name: String,
        /// The offset JSON object, e.g. '{"file":"mysql-bin.000003","pos":4}'.
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        offset: Option<String>,
        /// A file holding the offset JSON object.
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

/// A client-side failure, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{code:?}: {message}")]
    Server { code: tonic::Code, message: String },
    #[error("cannot connect to {endpoint}")]
    Connect {
        endpoint: String,
        #[source]
        source: ApiError,
    },
    #[error("{field}: {reason}")]
    Input { field: String, reason: String },
    /// A certificate, key or token file named by a flag is unusable.
    #[error("{flag}")]
    Material {
        flag: &'static str,
        #[source]
        source: MaterialError,
    },
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Server { .. } | CliError::Connect { .. } => 1,
            CliError::Input { .. } | CliError::Material { .. } => 2,
        }
    }
}

impl From<tonic::Status> for CliError {
    fn from(status: tonic::Status) -> CliError {
        CliError::Server {
            code: status.code(),
            message: status.message().to_string(),
        }
    }
}

/// The dialer `args` describe, with its files read.
fn dialer(args: &ClientArgs) -> Result<ControlDialer, CliError> {
    let material = |flag: &'static str| move |source| CliError::Material { flag, source };
    let roots = match &args.ca_cert {
        Some(path) => vec![security::read_certificates(path).map_err(material("--ca-cert"))?],
        None => Vec::new(),
    };
    let identity = match (&args.client_cert, &args.client_key) {
        (Some(cert), Some(key)) => Some(security::read_identity(cert, key).map_err(
            |(which, source)| CliError::Material {
                flag: if which == "cert" {
                    "--client-cert"
                } else {
                    "--client-key"
                },
                source,
            },
        )?),
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => {
            return Err(CliError::Input {
                field: "--client-cert".into(),
                reason: "--client-cert and --client-key go together".into(),
            })
        }
    };
    let token = args
        .token_file
        .as_deref()
        .map(security::read_token)
        .transpose()
        .map_err(material("--token-file"))?;
    Ok(ControlDialer {
        tls: ClientTls::new(roots, identity),
        token,
        connect_timeout: Duration::from_secs(args.connect_timeout),
        timeout: Duration::from_secs(args.timeout),
    })
}

async fn connect(args: &ClientArgs, endpoint: &str) -> Result<ControlClient, CliError> {
    match dialer(args)?.connect(endpoint).await {
        Ok(client) => Ok(client),
        Err(ApiError::Url { .. }) => Err(CliError::Input {
            field: "--endpoint".into(),
            reason: format!("\"{endpoint}\" is not a URL such as http://127.0.0.1:7001"),
        }),
        Err(ApiError::NoCa { .. }) => Err(CliError::Input {
            field: "--ca-cert".into(),
            reason: format!(
                "{endpoint} is https: give the CA certificate that signed the node's certificate"
            ),
        }),
        Err(source) => Err(CliError::Connect {
            endpoint: endpoint.to_string(),
            source,
        }),
    }
}

fn read_input(path: &PathBuf, field: &str) -> Result<String, CliError> {
    let result = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    };
    result.map_err(|e| CliError::Input {
        field: field.into(),
        reason: format!("cannot read {}: {e}", path.display()),
    })
}

fn read_spec(path: &PathBuf) -> Result<ConnectorSpec, CliError> {
    let text = read_input(path, "--file")?;
    ConnectorSpec::from_rest_json(&text).map_err(|e| CliError::Input {
        field: format!("{} {}", path.display(), e.field),
        reason: e.reason,
    })
}

/// Runs a call against `--endpoint`; if that node answers UNAVAILABLE and
/// names the leader, runs it once more against the leader.
macro_rules! call {
    ($args:expr, |$client:ident| $body:expr) => {{
        let mut $client = connect($args, &$args.endpoint).await?;
        match $body.await {
            Err(status) if status.code() == tonic::Code::Unavailable => {
                let leader = status
                    .metadata()
                    .get(crate::api::status::LEADER_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                match leader {
                    Some(leader) if leader != $args.endpoint => {
                        let mut $client = connect($args, &leader).await?;
                        $body.await.map(|r| r.into_inner()).map_err(CliError::from)
                    }
                    _ => Err(CliError::from(status)),
                }
            }
            other => other.map(|r| r.into_inner()).map_err(CliError::from),
        }
    }};
}

/// Runs a client subcommand, printing its result.
pub async fn run_cluster(args: ClientArgs, command: ClusterCommand) -> Result<(), CliError> {
    let status = match command {
        ClusterCommand::Init { members } => {
            let request = proto::InitClusterRequest {
                member_endpoints: members,
            };
            call!(&args, |c| c.init_cluster(request.clone()))?
        }
        ClusterCommand::Status => call!(&args, |c| c.get_cluster_status(proto::GetClusterStatusRequest {}))?,
        ClusterCommand::AddNode { node_endpoint, learner } => {
            let request = proto::AddNodeRequest {
                endpoint: node_endpoint,
                learner_only: learner,
            };
            call!(&args, |c| c.add_node(request.clone()))?
        }
        ClusterCommand::RemoveNode { node_id } => {
            call!(&args, |c| c.remove_node(proto::RemoveNodeRequest { node_id }))?
        }
        ClusterCommand::TransferLeader { node_id } => {
            call!(&args, |c| c.transfer_leader(proto::TransferLeaderRequest { to_node_id: node_id }))?
        }
    };
    output::cluster_status(args.output, &status);
    Ok(())
}

/// Runs a node subcommand; a drain waits until the node owns no
/// connector, printing each move it sees.
pub async fn run_node(args: ClientArgs, command: NodeCommand) -> Result<(), CliError> {
    let status = match command {
        NodeCommand::Cordon { node_id } => call!(&args, |c| c.cordon_node(proto::NodeRef { node_id }))?,
        NodeCommand::Uncordon { node_id } => call!(&args, |c| c.uncordon_node(proto::NodeRef { node_id }))?,
        NodeCommand::Drain { node_id, timeout_secs } => {
            let mut status = call!(&args, |c| c.drain_node(proto::NodeRef { node_id }))?;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout_secs);
            let mut last = None;
            loop {
                let owned = status
                    .placement
                    .iter()
                    .find(|p| p.node_id == node_id)
                    .map_or(0, |p| p.connectors.len());
                if last != Some(owned) {
                    eprintln!("node {node_id}: {owned} connector(s) left");
                    last = Some(owned);
                }
                if owned == 0 {
                    break status;
                }
                if std::time::Instant::now() > deadline {
                    return Err(CliError::Input {
                        field: "--timeout-secs".into(),
                        reason: format!("node {node_id} still owns {owned} connector(s); the drain goes on (is there an eligible node with room?)"),
                    });
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                status = call!(&args, |c| c.get_cluster_status(proto::GetClusterStatusRequest {}))?;
            }
        }
    };
    output::cluster_status(args.output, &status);
    Ok(())
}

pub async fn run_connector(args: ClientArgs, command: ConnectorCommand) -> Result<(), CliError> {
    let by_name = |name: &String| proto::ConnectorRef { name: name.clone() };
    match command {
        ConnectorCommand::Move { name, to } => {
            let request = proto::MoveConnectorRequest { name, to_node_id: to };
            let connector = call!(&args, |c| c.move_connector(request.clone()))?;
            output::connector(args.output, &connector);
        }
        ConnectorCommand::Create { file, paused } => {
            let spec = read_spec(&file)?;
            let request = proto::CreateConnectorRequest {
                name: spec.name,
                config: spec.config.into_iter().collect(),
                paused,
            };
            let connector = call!(&args, |c| c.create_connector(request.clone()))?;
            output::connector(args.output, &connector);
        }
        ConnectorCommand::Update { file } => {
            let spec = read_spec(&file)?;
            let request = proto::UpdateConnectorRequest {
                name: spec.name,
                config: spec.config.into_iter().collect(),
            };
            let connector = call!(&args, |c| c.update_connector(request.clone()))?;
            output::connector(args.output, &connector);
        }
        ConnectorCommand::List => {
            let list = call!(&args, |c| c.list_connectors(proto::ListConnectorsRequest {}))?;
            output::connector_list(args.output, &list.connectors);
        }
        ConnectorCommand::Get { name } | ConnectorCommand::Status { name } => {
            let connector = call!(&args, |c| c.get_connector(by_name(&name)))?;
            output::connector(args.output, &connector);
        }
        ConnectorCommand::Pause { name } => {
            let connector = call!(&args, |c| c.pause_connector(by_name(&name)))?;
            output::connector(args.output, &connector);
        }
        ConnectorCommand::Resume { name } => {
            let connector = call!(&args, |c| c.resume_connector(by_name(&name)))?;
            output::connector(args.output, &connector);
        }
        ConnectorCommand::Stop { name } => {
            let connector = call!(&args, |c| c.stop_connector(by_name(&name)))?;
            output::connector(args.output, &connector);
        }
        ConnectorCommand::Restart { name } => {
            let connector = call!(&args, |c| c.restart_connector(by_name(&name)))?;
            output::connector(args.output, &connector);
        }
        ConnectorCommand::Delete { name } => {
            let deleted = call!(&args, |c| c.delete_connector(by_name(&name)))?;
            output::deleted(args.output, &deleted.name);
        }
        ConnectorCommand::Snapshot {
            name,
            tables,
            filter,
            pause,
            resume,
            stop,
        } => {
            let connector = if pause || resume || stop {
                let action = match (pause, resume) {
                    (true, _) => proto::SnapshotAction::Pause,
                    (_, true) => proto::SnapshotAction::Resume,
                    _ => proto::SnapshotAction::Stop,
                };
                let request = proto::ControlSnapshotRequest { name, action: action as i32 };
                call!(&args, |c| c.control_snapshot(request.clone()))?
            } else {
                let request = proto::StartSnapshotRequest { name, tables, filter };
                call!(&args, |c| c.start_snapshot(request.clone()))?
            };
            output::connector(args.output, &connector);
        }
        ConnectorCommand::Offsets { command } => {
            let offsets = match command {
                OffsetsCommand::Get { name } => call!(&args, |c| c.get_offsets(by_name(&name)))?,
                OffsetsCommand::Set { name, offset, file } => {
                    let offset_json = match (offset, file) {
                        (Some(offset), _) => offset,
                        (None, Some(file)) => read_input(&file, "--file")?,
                        (None, None) => unreachable!("clap requires one of --offset and --file"),
                    };
                    let request = proto::SetOffsetsRequest { name, offset_json };
                    call!(&args, |c| c.set_offsets(request.clone()))?
                }
            };
            output::offsets(args.output, &offsets);
        }
    }
    Ok(())
}
