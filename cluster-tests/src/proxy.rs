//! Network partitions between nodes, made by a TCP proxy in front of each
//! node's peer port.
//!
//! # Mechanism
//!
//! Node `i` listens for peers on its real `peer_listen`, but advertises
//! (`peer_advertise`) the address of a proxy that the harness runs as tokio
//! tasks in the test process. Every node binds its outgoing peer connections
//! to its own IP (`peer_source_addr = 127.A.B.j`, see [`crate::subnet`]), so
//! when a connection reaches node `i`'s proxy, its source IP says which node
//! `j` opened it. The proxy forwards the bytes of link `j → i` unless the
//! harness has cut the pair `{i, j}`:
//!
//! - [`Partitions::cut`] drops every established connection of the link at
//!   once, and from then on accepts new connections on it but never forwards
//!   a byte: reads are discarded and nothing is ever answered. To the node it
//!   looks like a real partition, a silent drop where requests time out,
//!   rather than a refused connection that fails fast.
//! - [`Partitions::heal_all`] forwards again. Connections that were accepted
//!   while the link was cut are closed at that moment, so the node's client
//!   reconnects promptly instead of waiting for its own timeout on a
//!   connection that was never forwarded.
//! - Connections from addresses outside the subnet (the test process itself,
//!   calling a peer port directly) are always forwarded.
//!
//! Control-API traffic from the tests goes straight to each node's `listen`
//! address and never passes a proxy, so a test can always observe every
//! node, including an isolated one.
//!
//! # Why this mechanism
//!
//! - **No privileges.** iptables/nftables rules, network namespaces and
//!   `tc` need root (or `CAP_NET_ADMIN`) and leave state behind when a test
//!   dies; a proxy needs nothing and vanishes with the test process.
//! - **Per-link control.** A cut is about an unordered pair of nodes, both
//!   directions at once, which is what Raft partition scenarios need
//!   (isolating a leader, splitting a majority), independently for every
//!   cluster running in parallel.
//! - **Works anywhere loopback works**, including containers and CI runners.
//!
//! # Correctness
//!
//! The set of cut pairs lives in a `tokio::sync::watch` channel. A forwarding
//! task subscribes before it checks the set and then waits on
//! `wait_for(link is cut)` alongside the byte copy, so a cut made at any
//! moment (even while the task is still connecting upstream) ends the
//! connection; a blackholed connection likewise waits for `!cut`. All
//! connection tasks of a proxy live in a `JoinSet` owned by its accept task,
//! and dropping a [`PeerProxy`] aborts that task, so nothing outlives the
//! cluster.
use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::subnet::Subnet;

/// An unordered pair of node numbers, stored as `(smaller, larger)`.
type Link = (usize, usize);

fn link(a: usize, b: usize) -> Link {
    (a.min(b), a.max(b))
}

/// The harness's switchboard: which links between nodes are cut. Cheap to
/// clone; every proxy of a cluster shares one.
#[derive(Clone, Debug)]
pub struct Partitions {
    cut: Arc<watch::Sender<BTreeSet<Link>>>,
}

impl Default for Partitions {
    fn default() -> Self {
        Partitions { cut: Arc::new(watch::Sender::new(BTreeSet::new())) }
    }
}

impl Partitions {
    /// Blackholes traffic between nodes `a` and `b`, both directions.
    pub fn cut(&self, a: usize, b: usize) {
        assert_ne!(a, b, "a node cannot be cut from itself");
        self.cut.send_modify(|cut| {
            cut.insert(link(a, b));
        });
    }

    /// Restores traffic between `a` and `b`.
    pub fn heal(&self, a: usize, b: usize) {
        self.cut.send_modify(|cut| {
            cut.remove(&link(a, b));
        });
    }

    /// Cuts `node` from each of `others` (itself is skipped).
    pub fn isolate(&self, node: usize, others: impl IntoIterator<Item = usize>) {
        self.cut.send_modify(|cut| {
            cut.extend(others.into_iter().filter(|&o| o != node).map(|o| link(node, o)));
        });
    }

    /// Restores every link.
    pub fn heal_all(&self) {
        self.cut.send_modify(BTreeSet::clear);
    }

    /// Whether traffic between `a` and `b` is currently blackholed.
    pub fn is_cut(&self, a: usize, b: usize) -> bool {
        self.cut.borrow().contains(&link(a, b))
    }

    /// The cut links, for diagnostics.
    pub fn cut_links(&self) -> Vec<(usize, usize)> {
        self.cut.borrow().iter().copied().collect()
    }
}

/// The proxy in front of one node's peer port. Its listening address is
/// fixed for the proxy's life, so it can be the node's `peer_advertise`
/// across restarts of the node.
#[derive(Debug)]
pub struct PeerProxy {
    listen: SocketAddr,
    accept_task: JoinHandle<()>,
}

impl PeerProxy {
    /// Binds a free port on `node`'s IP and starts forwarding connections to
    /// `upstream` (the node's real `peer_listen`). Must be called inside a
    /// tokio runtime; the proxy runs on it until dropped.
    pub async fn start(
        subnet: Subnet,
        node: usize,
        upstream: SocketAddr,
        partitions: Partitions,
    ) -> io::Result<PeerProxy> {
        let listener = TcpListener::bind((subnet.node_ip(node), 0)).await?;
        let listen = listener.local_addr()?;
        let route = Route { node, upstream, partitions };
        let accept_task = tokio::spawn(accept_loop(listener, route, subnet));
        Ok(PeerProxy { listen, accept_task })
    }

    /// The address peers dial to reach the node.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }
}

impl Drop for PeerProxy {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

/// Where a proxy forwards to and whose links it obeys.
#[derive(Clone, Debug)]
struct Route {
    node: usize,
    upstream: SocketAddr,
    partitions: Partitions,
}

async fn accept_loop(listener: TcpListener, route: Route, subnet: Subnet) {
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connection tasks so the set does not grow forever.
        while connections.try_join_next().is_some() {}
        let (inbound, from) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                // Transient (e.g. out of file descriptors): back off briefly
                // rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let source = subnet.node_of(from.ip());
        connections.spawn(relay(inbound, source, route.clone()));
    }
}

/// Handles one connection from `source` (a node number, or `None` for a
/// connection from outside the cluster, which is never cut).
async fn relay(mut inbound: TcpStream, source: Option<usize>, route: Route) {
    let Some(source) = source.filter(|&s| s != route.node) else {
        // Not subject to partitions.
        forward(inbound, &route, None).await;
        return;
    };
    let mut cut = route.partitions.cut.subscribe();
    let this_link = link(source, route.node);
    if cut.borrow_and_update().contains(&this_link) {
        blackhole(&mut inbound, &mut cut, this_link).await;
        // Closed on heal: the node reconnects and gets a forwarded link.
        return;
    }
    forward(inbound, &route, Some((cut, this_link))).await;
}

/// Copies bytes both ways between `inbound` and the node until either side
/// closes or, when `watch` is given, the link is cut.
async fn forward(
    mut inbound: TcpStream,
    route: &Route,
    watch: Option<(watch::Receiver<BTreeSet<Link>>, Link)>,
) {
    let copy = async {
        // A refused upstream (the node is down) just closes the connection,
        // which the dialling node sees as it would a refusal.
        let Ok(mut upstream) = TcpStream::connect(route.upstream).await else {
            return;
        };
        let _ = inbound.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upstream).await;
    };
    match watch {
        None => copy.await,
        Some((mut cut, this_link)) => {
            tokio::select! {
                () = copy => {}
                // Cut (or the cluster went away): dropping both sockets ends
                // the connection for both nodes.
                _ = cut.wait_for(|cut| cut.contains(&this_link)) => {}
            }
        }
    }
}

/// Holds a connection of a cut link: reads and discards whatever the node
/// sends, never answers, and returns once the link is healed (or the node
/// closes the connection, or the cluster went away).
async fn blackhole(
    inbound: &mut TcpStream,
    cut: &mut watch::Receiver<BTreeSet<Link>>,
    this_link: Link,
) {
    let mut sink = vec![0u8; 16 * 1024];
    let drain = async {
        loop {
            match inbound.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        () = drain => {}
        _ = cut.wait_for(|cut| !cut.contains(&this_link)) => {}
    }
}
