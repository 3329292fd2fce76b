//! The `raftcdc` binary: `serve` runs a node, the other subcommands are the
//! control CLI (see [`raftcdc::cli`]).
use std::process::ExitCode;

use clap::Parser;
use raftcdc::cli::{self, Cli, LogFormat, TopCommand};
use raftcdc::config::NodeConfig;
use raftcdc::error::error_chain;
use raftcdc::node::Node;
use tracing_subscriber::EnvFilter;

/// Cross-thread frees (source task → rdkafka threads) are cheap in
/// mimalloc; glibc's allocator spent a fifth of the owner's CPU on them.
/// It is built without transparent huge pages (`no_thp`, and see
/// [`disable_transparent_huge_pages`]).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keeps the kernel from backing this process's memory with transparent
/// huge pages. mimalloc v3 asked for them on its arenas (`MADV_HUGEPAGE`;
/// the `no_thp` feature drops that), and where the system's THP setting is
/// `always` the kernel uses them unasked: either way every 2 MiB region the
/// allocator touches becomes resident in full. Measured in the end-to-end
/// benchmark, that was 45–55 MiB of RSS per node (an idle follower 72 MiB
/// instead of 26 MiB) for no measurable speed. Called before the runtime
/// starts, so no allocation precedes it but the few made by `std` itself.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag
    // on this process's memory map; failure (an old kernel) is harmless.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,openraft=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("can install a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn serve(config_path: std::path::PathBuf) -> ExitCode {
    let config = match NodeConfig::load(&config_path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: invalid config: {}", error_chain(&e));
            return ExitCode::from(2);
        }
    };
    tracing::info!(node = config.id, cluster = %config.cluster_name, data_dir = %config.data_dir.display(), "starting");
    let node = match Node::start(config).await {
        Ok(node) => node,
        Err(e) => {
            tracing::error!(error = %error_chain(&e), "cannot start");
            eprintln!("error: cannot start: {}", error_chain(&e));
            return ExitCode::from(1);
        }
    };
    // `[metrics] listen` and `[rest] listen` are served with the gRPC
    // listeners by `api::serve` (all bound before anything is served).
    let mut tasks = raftcdc::pipeline::spawn(node.clone());
    tasks.extend(raftcdc::placement::spawn(node.clone()));
    let result = raftcdc::api::serve(node.clone(), shutdown_signal()).await;
    for task in tasks {
        task.abort();
    }
    let _ = node.raft.shutdown().await;
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %error_chain(&e), "server failed");
            eprintln!("error: {}", error_chain(&e));
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    disable_transparent_huge_pages();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts");
    runtime.block_on(run())
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let (format, result) = match cli.command {
        TopCommand::Serve { config, log_format } => {
            init_tracing(log_format);
            return serve(config).await;
        }
        TopCommand::Config {
            command: cli::ConfigCommand::Check { file },
        } => {
            // Reading the file is blocking I/O: keep it off the runtime.
            let checked = tokio::task::spawn_blocking(move || cli::config::check(&file)).await;
            return match checked.unwrap_or_else(|e| Err(format!("config check failed: {e}"))) {
                Ok(report) => {
                    print!("{report}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: invalid config: {error}");
                    ExitCode::from(2)
                }
            };
        }
        TopCommand::Cluster { client, command } => (client.output, cli::run_cluster(client, command).await),
        TopCommand::Node { client, command } => (client.output, cli::run_node(client, command).await),
        TopCommand::Connector { client, command } => (client.output, cli::run_connector(client, command).await),
        TopCommand::Tail(args) => (cli::OutputFormat::Table, cli::tail::run(args).await),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = match &error {
                cli::CliError::Server { code, .. } => code_name(&format!("{code:?}")),
                cli::CliError::Connect { .. } => "UNAVAILABLE".to_string(),
                cli::CliError::Input { .. } | cli::CliError::Material { .. } => {
                    "INVALID_ARGUMENT".to_string()
                }
            };
            let message = match &error {
                cli::CliError::Server { message, .. } => message.clone(),
                other => error_chain(other),
            };
            cli::output::error(format, &code, &message);
            ExitCode::from(error.exit_code() as u8)
        }
    }
}

/// `InvalidArgument` -> `INVALID_ARGUMENT`.
fn code_name(debug: &str) -> String {
    let mut out = String::new();
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 && !out.ends_with('_') {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}
