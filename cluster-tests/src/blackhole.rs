//! A TCP forwarder between a client (raftcdc) and a server (MariaDB) that
//! the test can tell to silently stop forwarding: a dead link as a crashed
//! host or a dropped route makes it, where no FIN or RST ever arrives.
//!
//! # Mechanism
//!
//! [`Blackhole::start`] listens on a free loopback port and forwards every
//! accepted connection to the upstream address, byte for byte, in both
//! directions. [`Blackhole::cut`] makes every connection, established or
//! new, silent: bytes that arrive are read and dropped, nothing is written
//! and no connection is closed, so the client sees exactly what a dead
//! link looks like (its reads wait). New connections are accepted (the
//! kernel would complete the handshake of a frozen peer too) but never
//! forwarded. [`Blackhole::heal`] forwards again; connections that were
//! silenced are closed at that moment (their bytes are lost, so they could
//! never carry on), and new ones are forwarded.
//!
//! # Correctness
//!
//! The cut flag lives in a `tokio::sync::watch` channel; each connection
//! task subscribes before it looks at the flag and then waits on the flag's
//! change alongside its copy, so a cut at any moment silences it. Every
//! connection task lives in a `JoinSet` owned by the accept task, which
//! dropping the [`Blackhole`] aborts: nothing outlives the test.
//! [`Blackhole::accepted`] counts accepted connections, so a test can wait
//! for the client's reconnect as the sign that it noticed the dead link.
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// A forwarder in front of one upstream address; stops on drop.
pub struct Blackhole {
    pub addr: SocketAddr,
    cut: Arc<watch::Sender<bool>>,
    accepted: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Blackhole {
    /// Listens on a free port of `127.0.0.1` and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Blackhole {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind a free port");
        let addr = listener.local_addr().expect("local address");
        let cut = Arc::new(watch::Sender::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(accept(listener, upstream, cut.clone(), accepted.clone()));
        Blackhole { addr, cut, accepted, task }
    }

    /// Silences every connection, established or new, without closing any.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Forwards again; silenced connections are closed.
    pub fn heal(&self) {
        self.cut.send_replace(false);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, cut: Arc<watch::Sender<bool>>, accepted: Arc<AtomicU64>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            incoming = listener.accept() => {
                let Ok((client, _)) = incoming else { continue };
                accepted.fetch_add(1, Ordering::SeqCst);
                connections.spawn(connection(client, upstream, cut.subscribe()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One connection: forwarded while not cut; once cut, silent until healed,
/// then closed.
async fn connection(mut client: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<bool>) {
    if *cut.borrow_and_update() {
        swallow(&mut client, &mut cut).await;
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let mut up = [0u8; 16 * 1024];
    let mut down = [0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = client_read.read(&mut up) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if server_write.write_all(&up[..n]).await.is_err() { return },
            },
            read = server_read.read(&mut down) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if client_write.write_all(&down[..n]).await.is_err() { return },
            },
            _ = until(&mut cut, true) => break,
        }
    }
    // Cut: the server's side stays open but unread (a frozen route); the
    // client's bytes are dropped until the link heals.
    let _keep_server_open = server;
    swallow(&mut client, &mut cut).await;
}

/// Reads and drops the client's bytes until the link heals.
async fn swallow(client: &mut TcpStream, cut: &mut watch::Receiver<bool>) {
    let mut sink = [0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = client.read(&mut sink) => if matches!(read, Ok(0) | Err(_)) { return },
            _ = until(cut, false) => return,
        }
    }
}

/// Until the cut flag is `value` (the flag's `Ref` is not `Send`, so it is
/// dropped in here).
async fn until(cut: &mut watch::Receiver<bool>, value: bool) {
    let _ = cut.wait_for(|cut| *cut == value).await;
}
