//! Addresses for one test cluster: a private loopback subnet and its ports.
//!
//! Every cluster gets its own `127.A.B.0/24` (Linux routes all of
//! `127.0.0.0/8` to the loopback device, so no setup is needed) and node `i`
//! lives on `127.A.B.i`. This buys three things:
//!
//! - **Parallel tests never collide.** Ports are chosen by binding a random
//!   port below the ephemeral range on the node's own IP ([`free_ports`]).
//!   Nothing else on the machine binds that IP, and no outgoing connection
//!   takes such a port, so a port found free stays free until the node
//!   binds it, and stays
//!   free while a killed node is down, which lets a node restart on the same
//!   ports (its addresses are recorded in the Raft membership).
//! - **A subnet is claimed, not just guessed.** A random `A.B` could in
//!   principle repeat across concurrently running test processes, so the
//!   cluster holds a listener on `127.A.B.254:`[`CLAIM_PORT`] for its whole
//!   life. A second claimant's bind fails and it draws another subnet; the
//!   kernel releases the claim when the process exits, however it exits.
//! - **Connections identify their sender.** Nodes bind outgoing peer
//!   connections to their own IP (`peer_source_addr`), so the partition
//!   proxy ([`crate::proxy`]) can tell from a connection's source address
//!   which node opened it.
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};

/// Fixed port of the claim listener on `127.A.B.254`. Any port works as
/// long as every harness instance uses the same one.
pub const CLAIM_PORT: u16 = 47_254;

/// The last octet of the claim address; node numbers must stay below it.
const CLAIM_HOST: u8 = 254;

/// A `127.A.B.0/24` and its numbering: node `i` is `127.A.B.i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subnet {
    a: u8,
    b: u8,
}

/// A [`Subnet`] claimed for this process until dropped.
#[derive(Debug)]
pub struct SubnetClaim {
    subnet: Subnet,
    _listener: TcpListener,
}

impl SubnetClaim {
    /// Draws random subnets until one can be claimed.
    pub fn claim() -> io::Result<SubnetClaim> {
        let mut last_error = None;
        for _ in 0..64 {
            let r = random_u64();
            let a = (r % 250) as u8 + 1; // 1..=250, never 127.0.x.x
            let b = (r >> 8) as u8;
            let claim_addr = SocketAddr::from((Ipv4Addr::new(127, a, b, CLAIM_HOST), CLAIM_PORT));
            match TcpListener::bind(claim_addr) {
                Ok(listener) => {
                    return Ok(SubnetClaim { subnet: Subnet { a, b }, _listener: listener })
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no loopback subnet could be claimed")))
    }

    /// The claimed subnet.
    pub fn subnet(&self) -> Subnet {
        self.subnet
    }
}

impl Subnet {
    /// `127.A.B.i`, the IP of node `i` (1-based).
    pub fn node_ip(&self, node: usize) -> Ipv4Addr {
        assert!(
            (1..usize::from(CLAIM_HOST)).contains(&node),
            "node number {node} is outside 1..{CLAIM_HOST}"
        );
        Ipv4Addr::new(127, self.a, self.b, node as u8)
    }

    /// Which node an address belongs to, if it is inside this subnet.
    pub fn node_of(&self, ip: IpAddr) -> Option<usize> {
        match ip {
            IpAddr::V4(v4) => {
                let [first, a, b, host] = v4.octets();
                (first == 127 && a == self.a && b == self.b && host != 0 && host < CLAIM_HOST)
                    .then_some(usize::from(host))
            }
            IpAddr::V6(_) => None,
        }
    }

    /// A short tag for names: `A-B`.
    pub fn tag(&self) -> String {
        format!("{}-{}", self.a, self.b)
    }
}

/// Listening ports are drawn from below Linux's ephemeral range (which
/// starts at 32768 by default): a port from that range, once released,
/// can be taken by any outgoing connection that has `ip` as its source
/// (seen: a node's REST port taken between the choice and the node's own
/// bind), while a port below it is only ever taken by a bind.
const LISTEN_PORTS: std::ops::Range<u16> = 20_000..32_768;

/// `count` distinct free ports on `ip`, from [`LISTEN_PORTS`]. The
/// listeners are held until all ports are chosen, so the ports differ
/// from each other, and then released for the node to bind.
pub fn free_ports(ip: Ipv4Addr, count: usize) -> io::Result<Vec<u16>> {
    let span = u64::from(LISTEN_PORTS.end - LISTEN_PORTS.start);
    let mut listeners = Vec::with_capacity(count);
    let mut attempts = 0;
    while listeners.len() < count {
        attempts += 1;
        let port = LISTEN_PORTS.start + (random_u64() % span) as u16;
        match TcpListener::bind((ip, port)) {
            Ok(listener) => listeners.push(listener),
            Err(e) if attempts > 1000 => return Err(e),
            Err(_) => {}
        }
    }
    listeners.iter().map(|l| l.local_addr().map(|a| a.port())).collect()
}

/// A random number without a `rand` dependency: std's per-process random
/// hash keys, mixed with the clock, the pid and a counter so that two calls,
/// and two processes started in the same nanosecond, still differ.
pub(crate) fn random_u64() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    hasher.finish()
}
