//! The node processes: finding the `raftcdc` binary, starting `raftcdc serve`,
//! and the signals that tests use as failures.
//!
//! Each [`NodeProcess`] owns at most one running child and the paths that
//! outlive it (config and log), so a node can be killed and started again on
//! the same config and data directory. It is correct because:
//!
//! - **Kills are synchronous.** [`NodeProcess::kill`] sends `SIGKILL` and
//!   reaps the child before returning, so when it returns the node's ports
//!   and its data directory's locks are released and a restart cannot race
//!   the dying process. `SIGKILL` also ends a `SIGSTOP`ped process.
//! - **Logs survive restarts.** stdout and stderr go to one file opened in
//!   append mode, and the harness writes a marker line before every start
//!   and signal, so a log reads as the node's whole life with the test's
//!   actions interleaved.
//! - **Fault points are per node.** Environment variables set with
//!   [`NodeProcess::set_env`] (the product's `RAFTCDC_FAULT_*` points,
//!   each naming a file of this node's own) apply to every later start, so
//!   a restarted node is armed the same way.
//! - **Nothing is leaked.** Dropping a `NodeProcess` kills it. On Linux the
//!   child also gets `PR_SET_PDEATHSIG = SIGKILL`, so even a test process
//!   that is itself `SIGKILL`ed (where no destructor runs) takes its nodes
//!   with it. That signal fires when the *thread* that spawned the child
//!   exits, so nodes must be started from a thread that lives as long as the
//!   cluster: the test's own thread (a `#[tokio::test]` body runs on it) or
//!   a runtime worker, never a `spawn_blocking` thread.
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

/// The `raftcdc` binary under test: `$RAFTCDC_BIN`, else
/// `<target dir>/debug/raftcdc`, where the target dir is
/// `$CARGO_TARGET_DIR` or the workspace's `target/`.
///
/// # Panics
///
/// When the binary does not exist, with the command that builds it. Cargo
/// does not build another package's binary for this crate's tests, so run
/// `cargo build --bin raftcdc` before `cargo test -p cluster-tests` (and
/// after every change to the node, or the tests run a stale binary).
pub fn raftcdc_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("RAFTCDC_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "RAFTCDC_BIN={} does not exist; build it with `cargo build --bin raftcdc`",
            path.display()
        );
        return path;
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    let path = target_dir.join("debug").join("raftcdc");
    assert!(
        path.is_file(),
        "the node binary {} does not exist: run `cargo build --bin raftcdc` first \
         (or point RAFTCDC_BIN at a built binary)",
        path.display()
    );
    path
}

/// One node's `raftcdc serve` process across its starts and kills.
#[derive(Debug)]
pub struct NodeProcess {
    number: usize,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    starts: u32,
    env: Vec<(String, PathBuf)>,
}

impl NodeProcess {
    /// A node that is not started yet.
    pub fn new(number: usize, config: PathBuf, log: PathBuf) -> NodeProcess {
        NodeProcess { number, config, log, child: None, starts: 0, env: Vec::new() }
    }

    /// Sets an environment variable (a path, such as a fault point's file)
    /// for every later start of this node.
    pub fn set_env(&mut self, key: &str, value: PathBuf) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value));
    }

    /// Starts `raftcdc serve --config <config>`, appending its output to the
    /// log. A previous child that exited on its own is reaped first.
    ///
    /// # Panics
    ///
    /// If the node is still running: a second process would fight the first
    /// over its ports and data directory.
    pub fn start(&mut self) -> io::Result<()> {
        assert!(
            !self.is_running(),
            "node {} is already running; kill it before starting it again",
            self.number
        );
        if let Some(mut exited) = self.child.take() {
            // Reap a child that died on its own so it leaves no zombie.
            let _ = exited.wait();
        }
        self.starts += 1;
        let log = self.open_log()?;
        let bin = raftcdc_bin();
        let mut command = Command::new(&bin);
        command
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        die_with_parent(&mut command);
        self.annotate(&format!(
            "starting node {} (start #{}): {} serve --config {}",
            self.number,
            self.starts,
            bin.display(),
            self.config.display()
        ));
        self.child = Some(command.spawn()?);
        Ok(())
    }

    /// `SIGKILL`s the node and reaps it. Does nothing if it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) {
                self.annotate(&format!("SIGKILL node {} (pid {})", self.number, child.id()));
                // Fails only if the child already exited, which is fine.
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }

    /// `SIGSTOP`s the node: it keeps its sockets but runs no code, like a
    /// process stuck in a long GC pause or a VM that was suspended.
    pub fn freeze(&mut self) {
        self.signal(libc::SIGSTOP, "SIGSTOP");
    }

    /// `SIGCONT`s a frozen node.
    pub fn thaw(&mut self) {
        self.signal(libc::SIGCONT, "SIGCONT");
    }

    fn signal(&mut self, signal: libc::c_int, name: &str) {
        let pid = self
            .pid()
            .unwrap_or_else(|| panic!("cannot {name} node {}: it is not running", self.number));
        self.annotate(&format!("{name} node {} (pid {pid})", self.number));
        let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
        // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our
        // own unreaped child, so it cannot name a recycled process.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "{name} node {}: {}", self.number, io::Error::last_os_error());
    }

    /// The pid of the running child.
    pub fn pid(&mut self) -> Option<u32> {
        self.is_running().then(|| self.child.as_ref().map(Child::id)).flatten()
    }

    /// Whether the child is stopped by a signal (state `T` in
    /// `/proc/<pid>/stat`): frozen by the harness or by a fault point.
    pub fn is_stopped(&mut self) -> bool {
        let Some(pid) = self.pid() else { return false };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state follows the parenthesised command name, which may itself
        // contain spaces or parentheses.
        stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) == Some("T")
    }

    /// Whether the child is alive (a frozen child counts as alive).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// How the node exited, if it was started and has exited on its own.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// Resident set size in KiB (`VmRSS` from `/proc/<pid>/status`).
    pub fn rss_kib(&mut self) -> Option<u64> {
        self.status_kib("VmRSS:")
    }

    /// The node's peak resident set size since it started or since the
    /// last [`Self::reset_peak_rss`], in KiB.
    pub fn peak_rss_kib(&mut self) -> Option<u64> {
        self.status_kib("VmHWM:")
    }

    /// Starts a new peak RSS measurement (`/proc/<pid>/clear_refs`, `5`).
    pub fn reset_peak_rss(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        }
    }

    fn status_kib(&mut self, field: &str) -> Option<u64> {
        let pid = self.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The node's log file (all starts appended).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The node's config file.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    fn open_log(&self) -> io::Result<File> {
        OpenOptions::new().create(true).append(true).open(&self.log)
    }

    /// Writes a harness marker line into the node's log.
    fn annotate(&self, what: &str) {
        if let Ok(mut log) = self.open_log() {
            let _ = writeln!(log, "=== harness: {what} ===");
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `lines` lines of a log file (or a note that it cannot be read).
pub fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// Runs `raftcdc serve --config <config>` expecting it to exit by itself
/// (a config it must refuse). Answers its output, or `None` if it was still
/// running after `deadline` (then it is killed).
pub async fn serve_until_exit(config: &Path, deadline: Duration) -> Option<Output> {
    let mut command = tokio::process::Command::new(raftcdc_bin());
    command
        .arg("serve")
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("spawn raftcdc serve");
    tokio::time::timeout(deadline, child.wait_with_output())
        .await
        .ok()
        .map(|output| output.expect("wait for raftcdc serve"))
}

/// Asks the kernel to `SIGKILL` the child when the spawning thread dies, so
/// a test process that is itself killed leaks no node, broker or database.
#[cfg(target_os = "linux")]
pub(crate) fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and only makes the
    // async-signal-safe prctl(2) system call; it touches no memory of the
    // parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn die_with_parent(_command: &mut Command) {}
