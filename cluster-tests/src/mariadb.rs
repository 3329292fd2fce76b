//! A private MariaDB server per test: own datadir, own port, row binlog
//! with full images and full row metadata (what raftcdc requires), started
//! from nothing with `mariadb-install-db` + `mariadbd`, killed on drop.
//!
//! The machine's default server (port 3306) is never touched. Each
//! instance binds a random loopback address and a free port, so tests run
//! in parallel. Extra server flags (for example a wrong
//! `--binlog-row-metadata` to test validation) can be given at start, and
//! [`MariaDb::kill`] / [`MariaDb::restart`] simulate a server crash on the
//! same data directory.
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

/// Flags every instance gets (MARIADB.md: what the binlog stream needs).
pub const BINLOG_FLAGS: &[&str] = &[
    "--log-bin=mysql-bin",
    "--binlog-format=ROW",
    "--binlog-row-image=FULL",
    "--binlog-row-metadata=FULL",
    "--server-id=1",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
];

/// User the connector connects as (created with the privileges Debezium
/// documents for its MySQL connector).
pub const CDC_USER: &str = "raftcdc";
pub const CDC_PASSWORD: &str = "raftcdc-secret";

pub struct MariaDb {
    dir: tempfile::TempDir,
    pub host: Ipv4Addr,
    pub port: u16,
    extra: Vec<String>,
    child: Option<Child>,
}

fn mariadbd() -> PathBuf {
    for candidate in ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"] {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    PathBuf::from("mariadbd")
}

impl MariaDb {
    /// Installs a fresh datadir and starts the server with [`BINLOG_FLAGS`]
    /// plus `extra` (later flags win).
    pub async fn start(extra: &[&str]) -> MariaDb {
        let dir = tempfile::Builder::new().prefix("raftcdc-mariadb").tempdir().expect("temp dir");
        // A private tmpdir: concurrent bootstraps in a shared /tmp collide on
        // their temporary table names ("Unknown table 'mysql.tmp_user_sys'").
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("tmp dir");
        let status = Command::new("mariadb-install-db")
            .env("TMPDIR", &tmp)
            .args(["--no-defaults", "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(format!("--tmpdir={}", tmp.display()))
            .arg(format!("--datadir={}", dir.path().join("data").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mariadb-install-db runs (scripts/services.sh installs it)");
        assert!(status.success(), "mariadb-install-db failed");
        let host = Ipv4Addr::new(127, 0, 0, 1);
        let port = TcpListener::bind((host, 0)).expect("free port").local_addr().unwrap().port();
        let mut db = MariaDb {
            dir,
            host,
            port,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        db.spawn().await;
        db.sql(&[
            &format!("CREATE USER '{CDC_USER}'@'%' IDENTIFIED BY '{CDC_PASSWORD}'"),
            &format!("GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO '{CDC_USER}'@'%'"),
        ])
        .await;
        db
    }

    async fn spawn(&mut self) {
        let data = self.dir.path().join("data");
        let mut command = Command::new(mariadbd());
        crate::process::die_with_parent(&mut command);
        let child = command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", self.dir.path().join("sock").display()))
            .arg(format!("--pid-file={}", self.dir.path().join("pid").display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--bind-address={}", self.host))
            .arg(format!("--log-error={}", self.dir.path().join("err.log").display()))
            .arg(format!("--tmpdir={}", self.dir.path().join("tmp").display()))
            .arg("--user=root")
            .arg("--skip-name-resolve=0")
            .args(BINLOG_FLAGS)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut conn) = mysql_async::Conn::new(self.root_opts()).await {
                let _ = conn.query_drop("SELECT 1").await;
                let _ = conn.disconnect().await;
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("mariadbd exited with {status}: {}", self.error_log_tail());
            }
            assert!(Instant::now() < deadline, "mariadbd did not accept connections: {}", self.error_log_tail());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn error_log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("err.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Root connection options (TCP).
    pub fn root_opts(&self) -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(self.host.to_string())
            .tcp_port(self.port)
            .user(Some("root"))
            .prefer_socket(false)
            .into()
    }

    /// Runs statements as root, panicking on failure.
    pub async fn sql(&self, statements: &[&str]) {
        let mut conn = mysql_async::Conn::new(self.root_opts()).await.expect("root connection");
        for statement in statements {
            conn.query_drop(*statement)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        let _ = conn.disconnect().await;
    }

    /// Waits until no replica (binlog dump thread) is connected, e.g.
    /// before `PURGE BINARY LOGS`, which skips files a replica still reads.
    pub async fn wait_no_replicas(&self) {
        let mut conn = self.conn().await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let dumps: Vec<u64> = conn
                .query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
                .await
                .expect("processlist");
            if dumps.first() == Some(&0) {
                return;
            }
            assert!(Instant::now() < deadline, "a binlog reader is still connected");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A root connection for a test's own queries.
    pub async fn conn(&self) -> mysql_async::Conn {
        mysql_async::Conn::new(self.root_opts()).await.expect("root connection")
    }

    /// Debezium connector properties pointing at this server.
    pub fn connector_config(&self, server_id: u32, topic_prefix: &str) -> std::collections::BTreeMap<String, String> {
        [
            ("connector.class", "io.debezium.connector.mysql.MySqlConnector".to_string()),
            ("database.hostname", self.host.to_string()),
            ("database.port", self.port.to_string()),
            ("database.user", CDC_USER.to_string()),
            ("database.password", CDC_PASSWORD.to_string()),
            ("database.server.id", server_id.to_string()),
            ("topic.prefix", topic_prefix.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The server process's id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// SIGKILLs the server (a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Makes this server a GTID replica of `primary` (`MASTER_USE_GTID=
    /// slave_pos`), from the primary's current position, as a replica built
    /// from a backup of it would be: its own binlog and GTID state are
    /// reset first, so it holds only what it replicates. Start it with
    /// `--server-id=<another>` and `--log-slave-updates` to read from it.
    pub async fn replicate_from(&self, primary: &MariaDb) {
        let pos = primary.gtid_binlog_pos().await;
        self.sql(&[
            "STOP SLAVE",
            "RESET MASTER",
            &format!("SET GLOBAL gtid_slave_pos = '{pos}'"),
            &format!(
                "CHANGE MASTER TO MASTER_HOST='{}', MASTER_PORT={}, MASTER_USER='{CDC_USER}', MASTER_PASSWORD='{CDC_PASSWORD}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
                primary.host, primary.port
            ),
            "START SLAVE",
        ])
        .await;
    }

    /// `@@gtid_binlog_pos`.
    pub async fn gtid_binlog_pos(&self) -> String {
        let mut conn = self.conn().await;
        let pos: Option<String> = conn.query_first("SELECT @@gtid_binlog_pos").await.expect("gtid_binlog_pos");
        let _ = conn.disconnect().await;
        pos.unwrap_or_default()
    }

    /// Waits until this replica applied everything `primary` has written.
    pub async fn wait_caught_up(&self, primary: &MariaDb) {
        let target = primary.gtid_binlog_pos().await;
        let mut conn = self.conn().await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let pos: Option<String> = conn.query_first("SELECT @@gtid_slave_pos").await.expect("gtid_slave_pos");
            if pos.as_deref() == Some(target.as_str()) {
                return;
            }
            assert!(Instant::now() < deadline, "the replica is at {pos:?}, the primary at {target}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Promotes a replica: replication stopped and forgotten, writable.
    pub async fn promote(&self) {
        self.sql(&["STOP SLAVE", "RESET SLAVE ALL"]).await;
    }

    /// `SIGSTOP`s the server: it keeps its sockets and answers nothing (a
    /// frozen host). [`MariaDb::thaw`] lets it run again.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// `SIGCONT`s a frozen server.
    pub fn thaw(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: i32) {
        let child = self.child.as_ref().expect("the server runs");
        let rc = unsafe { libc::kill(child.id() as i32, signal) };
        assert_eq!(rc, 0, "kill({signal}) failed: {}", std::io::Error::last_os_error());
    }

    /// Starts the server again on the same datadir and port.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.kill();
    }
}
